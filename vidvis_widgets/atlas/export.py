"""An atlas as a static site: a folder that browses offline from ``file://``, with no server, kernel or network.

Layout (the JS side names the same files in ``js/lib/atlas_paths.ts``)::

    index.html                 the page; its one script is atlas.js
    atlas.js                   the atlas browser (the same one the widget and the JupyterLab document show)
    atlas.vvatlas              the manifest plus {"format": "vidvis-atlas", "version": 1}: the file JupyterLab opens
    data/manifest.json|.js     data/layer-<i>.json|.js, data/unit-<i>-<u>.json|.js, data/class-<c>.json|.js
                               (i: the layer's index in the manifest, u: the unit, c: the class's index); each .js is
                               JSONP, ``vvAtlasData("<name>", {...});``, which a page opened from file:// can load
    media/<ref>                every media file a page names

The folder is built beside the target and renamed into place at the end, so an export that fails or is stopped
leaves the previous one as it was. A folder that holds anything but a previous export is refused.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, Iterator

from .. import _frontend
from ..methods.core.progress import progress_bar
from .._atomic import writable_folder

FORMAT = "vidvis-atlas"
FORMAT_VERSION = 1
ATLAS_FILE = "atlas.vvatlas"
SITE_BUNDLE = "atlas_site.js"
JSONP_CALLBACK = "vvAtlasData"
#: what an export folder holds; a non-empty folder with anything else is not replaced
EXPORT_ENTRIES = frozenset({"index.html", "atlas.js", ATLAS_FILE, "data", "media"})
_REF = re.compile(r"[A-Za-z0-9_.-]+")
_METHODS = ("manifest", "layer_page", "unit_page", "class_page", "media")


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays as Python ones, NaN and ±inf as null (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalar or array
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def script_json(data: Any) -> str:
    """JSON safe inside a script: no '<', '>' or '&' can close the tag or open markup."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def check_ref(ref: Any, where: str) -> str:
    if not isinstance(ref, str) or not _REF.fullmatch(ref) or ref.startswith("."):
        raise ValueError(f"{where}: media ref {ref!r} is not a plain file name; expected [A-Za-z0-9_.-]+ "
                         "not starting with '.'")
    return ref


def media_refs(page: Any, where: str) -> Iterator[str]:
    """Every media ref a page names: the "ref" of each clip and sprite in it."""
    if isinstance(page, dict):
        for k, v in page.items():
            if k == "ref" and isinstance(v, str):
                yield check_ref(v, where)
            else:
                yield from media_refs(v, where)
    elif isinstance(page, list):
        for v in page:
            yield from media_refs(v, where)


def is_export(folder: Path) -> bool:
    """Whether ``folder`` holds a previous export (its atlas.vvatlas says so) and nothing else."""
    try:
        names = {p.name for p in folder.iterdir()}
        doc = json.loads((folder / ATLAS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT and names <= EXPORT_ENTRIES


def _check_folder(folder: Path) -> None:
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise NotADirectoryError(f"folder={str(folder)!r} is a file; expected a folder to write the atlas site in "
                                     "(a new one, an empty one, or a previous export to replace)")
        if any(folder.iterdir()) and not is_export(folder):
            found = sorted(p.name for p in folder.iterdir())
            raise FileExistsError(
                f"folder={str(folder)!r} is not empty and does not hold a previous atlas export (it has "
                f"{', '.join(found[:6])}{', …' if len(found) > 6 else ''}); expected a new or empty folder, or one "
                f"that a previous export wrote ({', '.join(sorted(EXPORT_ENTRIES))}), which is replaced")


def _index_html(name: str) -> str:
    title = html.escape(f"{name} · vidvis atlas")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{title}</title>\n</head>\n<body>\n<div id=\"vv-atlas\"><noscript>This atlas is browsed with "
            "JavaScript; turn it on to see it.</noscript></div>\n<script src=\"atlas.js\"></script>\n</body>\n</html>\n")


def _pages(atlas: Any, manifest: dict) -> Iterator[tuple[str, dict]]:
    """(name, page) for every page of the atlas, manifest first."""
    yield "manifest", manifest
    for i, layer in enumerate(manifest.get("layers", [])):
        name = layer["name"]
        yield f"layer-{i}", jsonable(atlas.layer_page(name))
        for u in layer.get("units", []):
            yield f"unit-{i}-{int(u)}", jsonable(atlas.unit_page(name, int(u)))
    classes = manifest.get("classes", [])
    for c in class_pages(manifest):
        yield f"class-{c}", jsonable(atlas.class_page(classes[c]))


def class_pages(manifest: dict) -> list[int]:
    """The indices of the classes that have a page: the units of the class layer (none without one)."""
    layer = next((l for l in manifest.get("layers", []) if l.get("kind") == "classes"), None)
    return [int(c) for c in layer["units"]] if layer else []


def _write_site(atlas: Any, manifest: dict, runtime: str, out: Path, bar) -> None:
    data, media = out / "data", out / "media"
    data.mkdir()
    media.mkdir()
    written: set[str] = set()
    for name, page in _pages(atlas, manifest):
        text = script_json(page)
        (data / f"{name}.json").write_text(text, encoding="utf-8")
        (data / f"{name}.js").write_text(f"{JSONP_CALLBACK}(\"{name}\",{text});\n", encoding="utf-8")
        for ref in media_refs(page, f"page {name}"):
            if ref in written:
                continue
            blob, _mime = atlas.media(ref)
            (media / ref).write_bytes(bytes(blob))
            written.add(ref)
        bar.update(1)
    (out / ATLAS_FILE).write_text(json.dumps({**manifest, "format": FORMAT, "version": FORMAT_VERSION}, indent=1,
                                             allow_nan=False), encoding="utf-8")
    (out / "atlas.js").write_text(runtime, encoding="utf-8")
    (out / "index.html").write_text(_index_html(str(manifest.get("name", "atlas"))), encoding="utf-8")


def page_count(manifest: dict) -> int:
    """Pages an export writes: the manifest, each layer, each unit, each class with a page."""
    layers = manifest.get("layers", [])
    return 1 + len(layers) + sum(len(l.get("units", [])) for l in layers) + len(class_pages(manifest))


def export_site(atlas: Any, folder: str | os.PathLike, progress: bool | None = None) -> Path:
    """Writes ``atlas`` as a static site in ``folder`` (see the module's doc for the layout) and returns the folder.
    Open ``folder/index.html`` in a browser: it needs no server, kernel or network. ``folder`` must be new, empty,
    or a previous export (which is replaced whole, only once the new one is complete). ``progress``: a bar over the
    pages (each with the media it names, encoded as it goes); None shows it unless ``VIDVIS_PROGRESS=0``."""
    missing = [m for m in _METHODS if not callable(getattr(atlas, m, None))]
    if missing:
        raise TypeError(f"atlas must be an Atlas (build_atlas or open_atlas gives one); got {type(atlas).__name__}, "
                        f"which has no {', '.join(missing)}")
    if not isinstance(folder, (str, os.PathLike)) or not str(folder):
        raise TypeError(f"folder must be a path to a folder, got {folder!r}")
    folder = Path(folder).expanduser()
    _check_folder(folder)
    runtime = _frontend.read_asset(SITE_BUNDLE)  # a missing build is told before any work
    writable_folder(folder.parent, "folder")
    manifest = jsonable(atlas.manifest())
    tmp = folder.parent / f".{folder.name}.{secrets.token_hex(6)}.partial"
    old = folder.parent / f".{folder.name}.{secrets.token_hex(6)}.old"
    try:
        tmp.mkdir()
        with progress_bar(page_count(manifest), f"exporting atlas {manifest.get('name', '')!s}", progress,
                          unit="page") as bar:
            _write_site(atlas, manifest, runtime, tmp, bar)
        _check_folder(folder)  # nothing else took the folder meanwhile
        if folder.exists():
            os.rename(folder, old)
            try:
                os.rename(tmp, folder)
            except OSError:
                os.rename(old, folder)
                raise
        else:
            os.rename(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.is_symlink():  # the folder was a link to a previous export: the link goes, what it named stays
            old.unlink()
        shutil.rmtree(old, ignore_errors=True)
    return folder
