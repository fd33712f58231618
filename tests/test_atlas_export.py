"""The atlas's static site: the files export_site writes, what it refuses, and that a failed export keeps the
previous one (the browser test, tests/e2e/test_atlas_site_e2e.py, browses the result)."""

from __future__ import annotations

import json

import pytest

from vidvis_widgets import _frontend
from vidvis_widgets.atlas.export import export_site

from .atlas_fake import HOSTILE, FakeAtlas


def _jsonp(text: str) -> tuple[str, dict]:
    head, _, rest = text.partition("(")
    assert head == "vvAtlasData" and rest.endswith(");\n"), text[:80]
    name, _, body = rest[:-3].partition(",")
    return json.loads(name), json.loads(body)


def test_export_writes_every_page_as_json_and_jsonp_and_every_named_media_file(tmp_path):
    atlas = FakeAtlas(units=5)
    out = export_site(atlas, tmp_path / "site")
    assert out == tmp_path / "site"
    assert sorted(p.name for p in out.iterdir()) == ["atlas.js", "atlas.vvatlas", "data", "index.html", "media"]
    manifest = atlas.manifest()
    names = ["manifest", "layer-0", "layer-1"] + [f"unit-0-{u}" for u in range(5)] + \
            [f"unit-1-{u}" for u in range(3)] + [f"class-{c}" for c in range(3)]
    assert sorted(p.name for p in (out / "data").iterdir()) == sorted([f"{n}.json" for n in names] +
                                                                      [f"{n}.js" for n in names])
    for n in names:
        page = json.loads((out / "data" / f"{n}.json").read_text())
        name, same = _jsonp((out / "data" / f"{n}.js").read_text())
        assert (name, same) == (n, page)
    assert json.loads((out / "data" / "unit-0-3.json").read_text()) == atlas.unit_page("conv1<b>", 3)
    assert json.loads((out / "data" / "class-1.json").read_text()) == atlas.class_page(HOSTILE)
    # NaN is not JSON: it is written as null
    assert json.loads((out / "data" / "manifest.json").read_text())["presets"][1]["gamma"] is None
    doc = json.loads((out / "atlas.vvatlas").read_text())
    assert (doc["format"], doc["version"], doc["name"], doc["classes"]) == ("vidvis-atlas", 1, HOSTILE, manifest["classes"])
    # every media file a page names, once each, with the atlas's bytes
    media = sorted(p.name for p in (out / "media").iterdir())
    assert media == sorted(set(atlas.media_calls)) and len(atlas.media_calls) == len(media)
    assert {"sprite-0-appearance.png", "sprite-1-motion.png", "clip-10.webm", "tube-10.webm",
            "am-0-4-1-motion.png", "am-leaps-2-appearance.png"} <= set(media)
    for ref in ("clip-10.webm", "sprite-0-motion.png"):
        assert (out / "media" / ref).read_bytes() == atlas.media(ref)[0]
    assert (out / "atlas.js").read_text() == _frontend.read_asset("atlas_site.js")


def test_user_strings_never_reach_the_page_as_markup(tmp_path):
    out = export_site(FakeAtlas(), tmp_path / "site")
    index = (out / "index.html").read_text()
    assert "<img" not in index and "&lt;img src=x" in index
    assert '<script src="atlas.js"></script>' in index
    for f in (out / "data").iterdir():  # a '<' in a JSONP file could end the script that loads it
        assert "<" not in f.read_text() and ">" not in f.read_text(), f.name


def test_refuses_a_folder_that_is_not_an_export_and_a_file_before_any_work(tmp_path):
    atlas = FakeAtlas()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"folder=.*mine.*not empty.*thesis\.tex"):
        export_site(atlas, mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"] and atlas.media_calls == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        export_site(atlas, tmp_path / "f")
    with pytest.raises(TypeError, match="atlas must be an Atlas.*no manifest"):
        export_site(object(), tmp_path / "x")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (export_site(atlas, empty) / "index.html").exists()  # an empty folder is taken


def test_a_failed_export_keeps_the_previous_one_and_a_good_one_replaces_it(tmp_path):
    site = tmp_path / "site"
    export_site(FakeAtlas(units=2), site)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}

    class Broken(FakeAtlas):
        def unit_page(self, layer, unit):
            if unit == 3:
                raise RuntimeError("store read failed")
            return super().unit_page(layer, unit)

    with pytest.raises(RuntimeError, match="store read failed"):
        export_site(Broken(units=5), site)
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporary folder left

    export_site(FakeAtlas(units=6), site)
    assert json.loads((site / "data" / "manifest.json").read_text())["layers"][0]["units"] == list(range(6))
    assert (site / "data" / "unit-0-5.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.parametrize("ref", ["..", "../escape.png", "a/b.png", "x y.png"])
def test_a_media_ref_that_is_not_a_plain_file_name_is_refused(tmp_path, ref):
    class Bad(FakeAtlas):
        def layer_page(self, layer):
            page = super().layer_page(layer)
            page["sprites"][0]["ref"] = ref
            return page

    with pytest.raises(ValueError, match="not a plain file name"):
        export_site(Bad(), tmp_path / "site")
    assert not (tmp_path / "site").exists() and not (tmp_path / "escape.png").exists()


def test_a_missing_site_bundle_is_told_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(_frontend, "STATIC_DIR", tmp_path / "nowhere")
    atlas = FakeAtlas()
    with pytest.raises(FileNotFoundError, match="npm run build"):
        export_site(atlas, tmp_path / "site")
    assert atlas.media_calls == [] and not (tmp_path / "site").exists()


def test_only_the_classes_of_the_class_layer_get_pages(tmp_path):
    out = export_site(FakeAtlas(units=1, classes=4, class_units=[0, 3]), tmp_path / "site")
    assert sorted(p.name for p in (out / "data").glob("class-*.json")) == ["class-0.json", "class-3.json"]
    assert sorted(p.name for p in (out / "data").glob("unit-1-*.json")) == ["unit-1-0.json", "unit-1-3.json"]


def test_the_tiny_built_atlas_exports_every_page_and_media_file_it_names(tmp_path_factory):
    from vidvis_widgets.atlas.export import jsonable, media_refs

    from .atlas_fixture import tiny_atlas

    atlas = tiny_atlas(tmp_path_factory)
    out = export_site(atlas, tmp_path_factory.mktemp("export") / "site")
    m = atlas.manifest()
    read = lambda name: json.loads((out / "data" / f"{name}.json").read_text())  # noqa: E731
    assert read("manifest") == jsonable(m)
    pages = {"manifest": m}
    for i, layer in enumerate(m["layers"]):
        pages[f"layer-{i}"] = atlas.layer_page(layer["name"])
        pages.update({f"unit-{i}-{u}": atlas.unit_page(layer["name"], u) for u in layer["units"]})
    classes = next(l["units"] for l in m["layers"] if l["kind"] == "classes")
    pages.update({f"class-{c}": atlas.class_page(m["classes"][c]) for c in classes})
    assert sorted(p.stem for p in (out / "data").glob("*.json")) == sorted(pages)
    for name, page in pages.items():
        assert read(name) == jsonable(page), name
    refs = {r for name, page in pages.items() for r in media_refs(page, name)}
    assert sorted(p.name for p in (out / "media").iterdir()) == sorted(refs)
    magic = {".webm": b"\x1a\x45\xdf\xa3", ".png": b"\x89PNG"}
    assert {p.suffix for p in (out / "media").iterdir()} == {".webm", ".png"}
    for p in (out / "media").iterdir():
        blob = p.read_bytes()
        assert blob.startswith(magic[p.suffix]) and blob == atlas.media(p.name)[0], p.name


def test_progress_counts_the_pages_as_they_are_written(tmp_path, capsys):
    export_site(FakeAtlas(units=5), tmp_path / "site", progress=True)  # manifest, 2 layers, 5 + 3 units, 3 classes
    assert "14/14" in capsys.readouterr().err
    export_site(FakeAtlas(units=5), tmp_path / "site2")  # the default follows VIDVIS_PROGRESS (0 in the tests)
    assert "/14" not in capsys.readouterr().err


def test_a_link_to_a_previous_export_is_replaced_by_the_new_export_and_leaves_nothing_behind(tmp_path):
    real = export_site(FakeAtlas(units=1), tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    out = export_site(FakeAtlas(units=2), tmp_path / "link")
    assert not out.is_symlink() and (out / "data" / "unit-0-1.json").exists()
    assert not (real / "data" / "unit-0-1.json").exists()  # what the link named is left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
