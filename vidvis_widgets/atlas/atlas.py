"""The atlas reader: pages and media from the result store, with no model and no dataset needed.

Pages are JSON-able dicts with the keys of ``js/lib/atlas_types.ts`` (AtlasManifest, AtlasLayerPage,
AtlasUnitPage, AtlasClassPage); media are ``(bytes, MIME)`` for a ref a page names, encoded on demand (PNG for a
single frame or a sprite, VP9 WebM for a clip) and kept in memory once encoded.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict

import numpy as np

from ..store import as_store
from . import pieces as P
from .media import check_ref, encode

_UNIT = re.compile(r"u([0-9a-f]{10})-(\d+)-(\d+)-(app|mot|vid)\.(png|webm)")
_CLASS = re.compile(r"c(\d+)-(\d+)-(app|mot|vid)\.(png|webm)")
_CLIP = re.compile(r"v(\d+)-(app|mot|vid)\.(png|webm)")
_SPRITE = re.compile(r"s([0-9a-f]{10})-(app|mot|vid)\.png")
_EXTRA = re.compile(r"([lt])(\d+)-(\w+)\.(png|webm)")


class Atlas:
    """A built atlas in a result store. ``manifest()``, ``layer_page(layer)``, ``unit_page(layer, unit)``,
    ``class_page(cls)`` give its pages; ``media(ref)`` a file a page names; ``export(folder)`` a static site;
    ``show()`` the AtlasView widget. ``stats``: what the build that returned it (for an atlas reopened with
    :func:`open_atlas`, the last build of it) computed and loaded, with the time of each phase."""

    def __init__(self, store, weights: str, name: str = "atlas", *, stats: dict | None = None,
                 manifest: dict | None = None):
        self.store = as_store(store, "store")
        self.weights, self.name = weights, name
        hit = self.store.get(weights, P.MANIFEST, {"name": name})
        if hit is None:
            raise KeyError(f"no atlas named {name!r} for weights {weights[:12]}… in {self.store.root}")
        self._meta = hit[1]
        self.sig = self._meta["sig"]
        self.dataset = self._meta["dataset"]
        self._tokens = self._meta["tokens"]
        self.stats = stats if stats is not None else self._meta.get("stats")
        self._media: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    # -- pages --------------------------------------------------------------------------------------------------
    def manifest(self) -> dict:
        return copy.deepcopy(self._meta["manifest"])

    def _layer(self, layer: str) -> dict:
        for info in self._meta["manifest"]["layers"]:
            if info["name"] == layer:
                return info
        names = ", ".join(i["name"] for i in self._meta["manifest"]["layers"])
        raise KeyError(f"layer {layer!r} is not in atlas {self.name!r}; its layers: {names}")

    def layer_page(self, layer: str) -> dict:
        info = self._layer(layer)
        return self._get(P.LAYER, P.layer_params(self.sig, layer, info["units"]))[1]["page"]

    def unit_page(self, layer: str, unit: int) -> dict:
        info = self._layer(layer)
        if int(unit) not in info["units"]:
            raise KeyError(f"unit {unit} of layer {layer!r} is not in atlas {self.name!r}; its units there: "
                           f"{info['units']}")
        if info["kind"] == "classes":
            return self._get(P.CLASS, P.class_params(self.sig, unit))[1]["unit_page"]
        return self._get(P.UNIT, P.unit_params(self.sig, layer, unit))[1]["page"]

    def class_page(self, cls: int | str) -> dict:
        return self._get(P.CLASS, P.class_params(self.sig, self.class_index(cls)))[1]["page"]

    def class_index(self, cls: int | str) -> int:
        classes = self._meta["manifest"]["classes"]
        built = next((i["units"] for i in self._meta["manifest"]["layers"] if i["kind"] == "classes"), [])
        k = classes.index(cls) if isinstance(cls, str) and cls in classes else cls
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and int(k) in built:
            return int(k)
        raise KeyError(f"class {cls!r} has no page in atlas {self.name!r}; expected one of its classes "
                       f"({', '.join(classes[i] for i in built[:6])}{', …' if len(built) > 6 else ''}) or its index")

    def _get(self, method: str, params: dict):
        hit = self.store.get(self.weights, method, params)
        if hit is None:
            raise KeyError(f"atlas {self.name!r}: the piece {method} {params} is not in {self.store.root} "
                           "(removed from the store? rebuild with build_atlas)")
        return hit

    # -- media --------------------------------------------------------------------------------------------------
    def media(self, ref: str) -> tuple[bytes, str]:
        """(bytes, MIME) of a media ref named in a page."""
        check_ref(ref)
        if ref in self._media:
            self._media.move_to_end(ref)
            return self._media[ref]
        out = self._encode(ref)
        self._media[ref] = out
        if len(self._media) > 256:
            self._media.popitem(last=False)
        return out

    def _encode(self, ref: str) -> tuple[bytes, str]:
        m = _SPRITE.fullmatch(ref)
        if m and m[1] in self._tokens:
            layer = self._tokens[m[1]]
            arrays = self._get(P.LAYER, P.layer_params(self.sig, layer, self._layer(layer)["units"]))[0]
            return bytes(arrays[f"sprite_{m[2]}"]), "image/png"
        m = _UNIT.fullmatch(ref)
        if m and m[1] in self._tokens:
            arrays = self._get(P.UNIT, P.unit_params(self.sig, self._tokens[m[1]], int(m[2])))[0]
            return self._frames(arrays, f"{m[4]}{m[3]}", ref)
        m = _CLASS.fullmatch(ref)
        if m:
            arrays = self._get(P.CLASS, P.class_params(self.sig, int(m[1])))[0]
            return self._frames(arrays, f"{m[3]}{m[2]}", ref)
        m = _CLIP.fullmatch(ref)
        if m:
            arrays = self._get(P.CLIP, P.clip_params(self.dataset, int(m[1])))[0]
            return self._frames(arrays, "flow" if m[2] == "mot" else "rgb", ref)
        m = _EXTRA.fullmatch(ref)
        if m:
            arrays = self._get(P.CLASS, P.class_params(self.sig, int(m[2])))[0]
            return self._frames(arrays, f"{'leaps' if m[1] == 'l' else 'tube'}_{m[3]}", ref)
        raise KeyError(f"media ref {ref!r} is not one of atlas {self.name!r}'s")

    @staticmethod
    def _frames(arrays: dict, key: str, ref: str) -> tuple[bytes, str]:
        if key not in arrays:
            raise KeyError(f"media ref {ref!r} names no stored input")
        return encode(arrays[key])

    # -- elsewhere ----------------------------------------------------------------------------------------------
    def export(self, folder, progress=None):
        """A static site of the atlas in ``folder`` (see :mod:`.export`); ``progress``: a bar over the pages."""
        from .export import export_site

        return export_site(self, folder, progress=progress)

    def show(self):
        from ..widgets.atlas_view import AtlasView

        return AtlasView(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:  # IPython's display protocol, as Displayable results use it
            return self.show()._repr_mimebundle_(include=include, exclude=exclude)
        except ImportError:
            return {"text/plain": repr(self)}

    def __repr__(self) -> str:
        m = self._meta["manifest"]
        units = sum(len(i["units"]) for i in m["layers"] if i["kind"] == "units")
        return (f"Atlas({self.name!r}: {m['model']}, {len(m['layers'])} layers, {units} units, "
                f"{len(next((i['units'] for i in m['layers'] if i['kind'] == 'classes'), []))} classes, "
                f"store {str(self.store.root)!r})")


def open_atlas(store, model_or_weights_hash=None, name: str = "atlas") -> Atlas:
    """The atlas ``name`` in ``store`` (a ResultStore or its folder). ``model_or_weights_hash``: the model (or its
    weights' SHA-256) whose atlas to open; None opens the one atlas of that name in the store (the newest when
    several models have one). No model is needed to browse."""
    from ..store import weights_hash

    store = as_store(store, "store")
    if store is None:
        raise ValueError("store must be a ResultStore or the folder of one")
    if model_or_weights_hash is None:
        import json

        rows = [e for e in store.entries() if e["method"] == P.MANIFEST and json.loads(e["params"]) == {"name": name}]
        if not rows:
            raise KeyError(f"no atlas named {name!r} in {store.root}; build one with build_atlas(model, data, "
                           f"store=..., name={name!r})")
        weights = rows[-1]["weights"]
    elif isinstance(model_or_weights_hash, str):
        weights = model_or_weights_hash
    else:
        weights = weights_hash(model_or_weights_hash)
    return Atlas(store, weights, name)
