"""AtlasView: browse a model atlas in a notebook, each page and media file loaded from the kernel when shown."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import anywidget
import traitlets

from .. import _frontend

#: the custom messages between the page (js/lib/atlas_sources.ts messageSource) and the kernel
REQUEST = "vv-atlas-request"
REPLY = "vv-atlas-reply"
_REF = re.compile(r"[A-Za-z0-9_.-]+")
_READER = ("manifest", "layer_page", "unit_page", "class_page", "media")


def _json_clean(value: Any) -> Any:
    """``value`` with non-finite floats as None (JSON has no NaN) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(v) for v in value]
    return value


def _jsonable(page: Any, what: str) -> dict:
    if not isinstance(page, dict):
        raise TypeError(f"the atlas's {what} page is a {type(page).__name__}, expected a dict")
    try:
        json.dumps(page, allow_nan=False)
        return page
    except ValueError:  # NaN or infinity somewhere: JSON's null instead
        return _json_clean(page)


class AtlasView(anywidget.AnyWidget):
    """The atlas browser (layers → unit grid → unit page with its γ sweep, histogram and top clips; class pages)
    for an :class:`~vidvis_widgets.atlas.Atlas`, or any object with its reader methods (``manifest()``,
    ``layer_page(layer)``, ``unit_page(layer, unit)``, ``class_page(cls)``, ``media(ref) -> (bytes, mime)``).

    Only the manifest goes to the page when the view opens; the page asks the kernel for each layer, unit and
    class page and each media file when it shows them, so an atlas of thousands of units opens at once. Media
    travel as binary message buffers and become ``blob:`` URLs, released when the view closes. A piece the atlas
    cannot give (a missing unit, a failed read) comes back as an error message the page shows in its place.
    A layer page comes with its sprite sheets in the same message (its grid needs them at once). The kernel
    answers between cells: while a cell runs (a build, say), the page waits for it, and says so after 60 s.
    ``requests_served`` lists what the page was sent, as ``(what, key)`` pairs, in order.
    """

    _esm = _frontend.esm("atlas_view.js")

    _manifest = traitlets.Dict().tag(sync=True)

    def __init__(self, atlas: Any, **kwargs: Any) -> None:
        missing = [m for m in _READER if not callable(getattr(atlas, m, None))]
        if missing:
            raise TypeError(f"atlas must be a vidvis_widgets.atlas.Atlas (or have its reader methods "
                            f"{', '.join(_READER)}); {type(atlas).__name__} lacks {', '.join(missing)}")
        manifest = _jsonable(atlas.manifest(), "manifest")
        if not isinstance(manifest.get("layers"), list):
            raise ValueError(f"atlas.manifest() has no 'layers' list (keys: {sorted(manifest)}); "
                             "see AtlasManifest in js/lib/atlas_types.ts for the expected form")
        self.atlas = atlas
        self.requests_served: list[tuple[str, Any]] = []
        super().__init__(**kwargs)
        self._manifest = manifest
        self.on_msg(self._on_request)

    def __repr__(self) -> str:
        """Also what a saved notebook shows in the view's place with no kernel to answer its requests."""
        m = self._manifest
        units = sum(len(i.get("units", [])) for i in m["layers"] if i.get("kind") == "units")
        classes = sum(len(i.get("units", [])) for i in m["layers"] if i.get("kind") == "classes")
        return (f"AtlasView({m.get('model', '?')} atlas {m.get('name', '?')!r}: {len(m['layers'])} layers, {units} "
                f"units, {classes} classes; browsing asks the kernel for each page, so without one open the site "
                "atlas.export(folder) writes, or its atlas.vvatlas in JupyterLab)")

    def answer(self, request: dict) -> tuple[dict, list[bytes]]:
        """The reply's content (without type and id) and buffers for one request of the page:
        ``{"what": "manifest" | "layer" | "unit" | "class" | "media", "layer", "unit", "cls", "ref"}``."""
        what = request.get("what")
        if what == "manifest":
            return {"page": self._manifest}, []
        if what == "layer":
            page = _jsonable(self.atlas.layer_page(self._text(request, "layer")), "layer")
            media, buffers = self._sprites(page)
            return {"page": page, "media": media}, buffers
        if what == "unit":
            layer, unit = self._text(request, "layer"), request.get("unit")
            if isinstance(unit, bool) or not isinstance(unit, int) or unit < 0:
                raise ValueError(f"unit must be a unit index (an int ≥ 0), got {unit!r}")
            return {"page": _jsonable(self.atlas.unit_page(layer, unit), "unit")}, []
        if what == "class":
            cls = self._text(request, "cls")
            return {"page": _jsonable(self.atlas.class_page(cls), "class")}, []
        if what == "media":
            ref = self._text(request, "ref")
            if not _REF.fullmatch(ref) or set(ref) == {"."}:
                raise ValueError(f"media ref {ref!r} is not a file name of letters, digits, '_', '.' and '-'")
            data, mime = self.atlas.media(ref)
            return {"mime": str(mime)}, [bytes(data)]
        raise ValueError(f"unknown request {what!r}; expected manifest, layer, unit, class or media")

    def _sprites(self, page: dict) -> tuple[list[dict], list[bytes]]:
        """A layer page's sprite sheets, sent with it: its grid shows nothing until they come, and a second round
        trip would only delay them. One that cannot be read is left out; the page then asks for it itself and
        shows the error."""
        media: list[dict] = []
        buffers: list[bytes] = []
        for sprite in page.get("sprites") or []:
            ref = sprite.get("ref") if isinstance(sprite, dict) else None
            if not isinstance(ref, str) or not _REF.fullmatch(ref) or set(ref) == {"."}:
                continue
            try:
                data, mime = self.atlas.media(ref)
            except Exception:  # noqa: BLE001 - asked for again on its own, its error shown then
                continue
            media.append({"ref": ref, "mime": str(mime), "buffer": len(buffers)})
            buffers.append(bytes(data))
        return media, buffers

    @staticmethod
    def _text(request: dict, key: str) -> str:
        value = request.get(key)
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {value!r}")
        return value

    def _on_request(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != REQUEST:
            return
        rid = content.get("id")
        what = content.get("what")
        key = {"unit": (content.get("layer"), content.get("unit")), "layer": content.get("layer"),
               "class": content.get("cls"), "media": content.get("ref")}.get(what)
        self.requests_served.append((what, key))
        try:
            reply, buffers = self.answer(content)
        except Exception as e:  # noqa: BLE001 - any failure is the page's to show, the kernel goes on
            message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            self.send({"type": REPLY, "id": rid, "ok": False, "error": f"{type(e).__name__}: {message}"})
            return
        self.requests_served.extend(("media", m["ref"]) for m in reply.get("media", ()))
        self.send({**reply, "type": REPLY, "id": rid, "ok": True}, buffers=buffers or None)
