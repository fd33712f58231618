"""AtlasView: only the manifest goes up front; the page's requests are answered one piece at a time, media as
binary buffers, failures as messages (the page shows them) with the kernel going on."""

from __future__ import annotations

import json
import math

import pytest
from jupyter_client.session import Session

from vidvis_widgets.widgets.atlas_view import REPLY, REQUEST, AtlasView

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class FakeAtlas:
    """The Atlas reader's surface with a 1,000-unit layer, counting what is read."""

    def __init__(self, units: int = 1000):
        self.units = units
        self.reads: list[tuple] = []

    def manifest(self) -> dict:
        self.reads.append(("manifest",))
        return {"version": 1, "name": "fake", "model": "m", "weights": "0" * 64, "streams": ["video"],
                "classes": ["run", "jump"], "presets": [{"kappa": 0.0, "gamma": 1.0}], "thumb_preset": 0,
                "has": {"leaps": False, "tubes": False, "histograms": True},
                "layers": [{"name": "conv", "kind": "units", "channels": self.units, "receptive_field": [3, 7, 7],
                            "stride": [1, 2, 2], "units": list(range(self.units))}]}

    def layer_page(self, layer: str) -> dict:
        self.reads.append(("layer", layer))
        if layer != "conv":
            raise KeyError(f"the atlas has no layer {layer!r}")
        return {"layer": layer, "receptive_field": [3, 7, 7], "stride": [1, 2, 2],
                "sprites": [{"ref": "sprite-0-video.png", "stream": "video", "columns": 32, "cell_width": 16,
                             "cell_height": 16}],
                "units": [{"unit": u, "cell": u, "selectivity": 1 - u / self.units, "top_class": "run",
                           "value": math.nan if u == 0 else 0.5} for u in range(self.units)]}

    def unit_page(self, layer: str, unit: int) -> dict:
        self.reads.append(("unit", layer, unit))
        if unit >= self.units:
            raise KeyError(f"unit {unit} of layer {layer!r} is not in the atlas")
        return {"layer": layer, "unit": unit, "top_class": "run", "selectivity": 0.5, "sweep": [],
                "histogram": {"classes": ["run", "jump"], "values": [1.0, math.inf]}, "top_clips": [], "tubes": []}

    def class_page(self, cls: str) -> dict:
        self.reads.append(("class", cls))
        return {"class": cls, "index": 0, "am": [], "leaps": None, "accuracy": 1.0, "confusions": [],
                "misclassified": [], "tubes": []}

    def media(self, ref: str) -> tuple[bytes, str]:
        self.reads.append(("media", ref))
        if ref != "sprite-0-video.png":
            raise FileNotFoundError(f"no media {ref!r} in the atlas")
        return PNG, "image/png"


def _wire(view: AtlasView) -> list[tuple[dict, list]]:
    """What the view sends to the page, as (comm data, buffers), packed as the kernel packs it."""
    sent: list[tuple[dict, list]] = []
    session = Session(key=b"0" * 32)

    def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
        msg = session.msg("comm_msg", {"data": data, "comm_id": view.comm.comm_id})
        frames = session.serialize(msg, ident=[b"x"])
        unpacked = session.deserialize(session.feed_identities(frames + list(buffers or []))[1])
        sent.append((unpacked["content"]["data"], [bytes(b) for b in unpacked["buffers"]]))

    view.comm.publish_msg = publish
    return sent


def _ask(view: AtlasView, sent: list, rid: str, **request) -> tuple[dict, list]:
    view._handle_msg({"content": {"data": {"method": "custom", "content": {"type": REQUEST, "id": rid, **request}}},
                      "buffers": []})
    data, buffers = sent[-1]
    assert data["method"] == "custom"
    assert data["content"]["type"] == REPLY and data["content"]["id"] == rid
    return data["content"], buffers


def test_only_the_manifest_goes_up_front():
    atlas = FakeAtlas(1000)
    view = AtlasView(atlas)
    assert atlas.reads == [("manifest",)]
    state = view.get_state()
    assert state["_manifest"]["layers"][0]["units"] == list(range(1000))
    # besides the page's code, the whole state is the manifest, a few kB: no page, no sprite
    data = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
    assert len(json.dumps(data)) < len(json.dumps(atlas.manifest())) + 1000


def test_pages_and_media_are_answered_on_request():
    atlas = FakeAtlas(1000)
    view = AtlasView(atlas)
    sent = _wire(view)
    reply, buffers = _ask(view, sent, "v-0", what="layer", layer="conv")
    # the grid's sprite comes with its page, in the same message
    assert reply["ok"] is True and buffers == [PNG]
    assert reply["media"] == [{"ref": "sprite-0-video.png", "mime": "image/png", "buffer": 0}]
    units = reply["page"]["units"]
    assert len(units) == 1000 and units[1]["unit"] == 1
    assert units[0]["value"] is None  # NaN travels as JSON's null, not as invalid JSON
    reply, buffers = _ask(view, sent, "v-1", what="media", ref="sprite-0-video.png")
    assert (reply["ok"], reply["mime"], buffers) == (True, "image/png", [PNG])
    reply, _ = _ask(view, sent, "v-2", what="unit", layer="conv", unit=7)
    assert (reply["page"]["unit"], reply["page"]["histogram"]["values"]) == (7, [1.0, None])
    reply, _ = _ask(view, sent, "v-3", what="class", cls="jump")
    assert reply["page"]["class"] == "jump"
    reply, _ = _ask(view, sent, "v-4", what="manifest")
    assert reply["page"]["name"] == "fake"
    assert view.requests_served == [("layer", "conv"), ("media", "sprite-0-video.png"), ("media", "sprite-0-video.png"),
                                    ("unit", ("conv", 7)), ("class", "jump"), ("manifest", None)]
    assert atlas.reads[1:] == [("layer", "conv"), ("media", "sprite-0-video.png"), ("media", "sprite-0-video.png"),
                               ("unit", "conv", 7), ("class", "jump")]


def test_a_sprite_that_cannot_be_read_leaves_the_layer_page_alone():
    class NoSprite(FakeAtlas):
        def layer_page(self, layer):
            page = super().layer_page(layer)
            page["sprites"] = page["sprites"] + [{**page["sprites"][0], "ref": "gone.png"},
                                                 {**page["sprites"][0], "ref": "../x.png"}]
            return page

    atlas = NoSprite(5)
    view = AtlasView(atlas)
    sent = _wire(view)
    reply, buffers = _ask(view, sent, "l", what="layer", layer="conv")
    assert reply["ok"] is True and len(reply["page"]["units"]) == 5
    assert reply["media"] == [{"ref": "sprite-0-video.png", "mime": "image/png", "buffer": 0}] and buffers == [PNG]
    assert atlas.reads[1:] == [("layer", "conv"), ("media", "sprite-0-video.png"), ("media", "gone.png")]


@pytest.mark.parametrize("request_, error, reads", [
    ({"what": "layer", "layer": "nope"}, "KeyError: the atlas has no layer 'nope'", [("layer", "nope")]),
    ({"what": "unit", "layer": "conv", "unit": 5000}, "KeyError: unit 5000 of layer 'conv' is not in the atlas",
     [("unit", "conv", 5000)]),
    ({"what": "media", "ref": "missing.png"}, "FileNotFoundError: no media 'missing.png' in the atlas",
     [("media", "missing.png")]),
    # refused before the atlas is asked
    ({"what": "media", "ref": "../../etc/passwd"}, "media ref '../../etc/passwd' is not a file name", []),
    ({"what": "media", "ref": ".."}, "media ref '..' is not a file name", []),
    ({"what": "unit", "layer": "conv", "unit": "3"}, "unit must be a unit index (an int ≥ 0), got '3'", []),
    ({"what": "unit", "layer": "conv", "unit": True}, "unit must be a unit index", []),
    ({"what": "class", "cls": 3}, "cls must be a string, got 3", []),
    ({"what": "everything"}, "unknown request 'everything'", []),
])
def test_failures_come_back_as_messages(request_, error, reads):
    atlas = FakeAtlas(10)
    view = AtlasView(atlas)
    sent = _wire(view)
    reply, buffers = _ask(view, sent, "e", **request_)
    assert reply["ok"] is False and buffers == []
    assert error in reply["error"]
    assert atlas.reads[1:] == reads
    # and the view goes on answering
    reply, _ = _ask(view, sent, "after", what="class", cls="run")
    assert reply["ok"] is True


def test_other_messages_are_left_alone():
    view = AtlasView(FakeAtlas(3))
    sent = _wire(view)
    view._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "something-else", "id": "x"}}},
                      "buffers": []})
    assert sent == [] and view.requests_served == []


def test_bad_atlas_is_refused_with_what_it_lacks():
    class Half:
        def manifest(self):
            return {}

    with pytest.raises(TypeError, match=r"atlas must be a vidvis_widgets.atlas.Atlas .*Half lacks layer_page, "
                                        r"unit_page, class_page, media"):
        AtlasView(Half())

    class NoLayers(FakeAtlas):
        def manifest(self):
            return {"version": 1}

    with pytest.raises(ValueError, match=r"atlas.manifest\(\) has no 'layers' list"):
        AtlasView(NoLayers())


def test_exported_from_the_package():
    import vidvis_widgets

    assert vidvis_widgets.AtlasView is AtlasView


# -- the real atlas (the tiny built one) ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from .atlas_fixture import tiny_atlas

    return tiny_atlas(tmp_path_factory)


def test_a_built_atlas_answers_every_page_and_media_it_names(tiny):
    from vidvis_widgets.atlas.export import media_refs

    view = tiny.show()
    assert isinstance(view, AtlasView) and view.atlas is tiny
    bundle = tiny._repr_mimebundle_()  # anywidget gives (data, metadata)
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    # what a saved notebook shows with no kernel: what the atlas holds and where to browse it without one
    assert data["text/plain"].startswith("AtlasView(tiny_two_stream atlas 'atlas': 3 layers, 4 units, 2 classes;")
    assert "atlas.export(folder)" in data["text/plain"]
    sent = _wire(view)
    manifest = view.get_state()["_manifest"]
    assert manifest == json.loads(json.dumps(tiny.manifest()))
    pages, n = [], 0
    for layer in manifest["layers"]:
        reply, _ = _ask(view, sent, f"l{n}", what="layer", layer=layer["name"])
        pages.append(reply["page"])
        assert [c["unit"] for c in reply["page"]["units"]] and \
            sorted(c["unit"] for c in reply["page"]["units"]) == sorted(layer["units"])
        for unit in layer["units"]:
            n += 1
            reply, _ = _ask(view, sent, f"u{n}", what="unit", layer=layer["name"], unit=unit)
            assert (reply["page"]["layer"], reply["page"]["unit"]) == (layer["name"], unit)
            pages.append(reply["page"])
    for cls in [manifest["classes"][k] for k in next(l["units"] for l in manifest["layers"] if l["kind"] == "classes")]:
        reply, _ = _ask(view, sent, f"c{cls}", what="class", cls=cls)
        assert reply["page"]["class"] == cls
        pages.append(reply["page"])
    refs = sorted({r for page in pages for r in media_refs(page, "page")})
    assert any(r.endswith(".webm") for r in refs) and any(r.endswith(".png") for r in refs)
    for ref in refs:
        reply, buffers = _ask(view, sent, ref, what="media", ref=ref)
        data, mime = tiny.media(ref)
        assert reply["ok"] and reply["mime"] == mime and buffers == [data]
        assert data[:4] in (b"\x89PNG", b"\x1aE\xdf\xa3")  # a PNG or a WebM (EBML) file
