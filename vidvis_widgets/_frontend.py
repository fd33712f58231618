"""Where the built front-end bundles live, and what widgets show when they are missing."""

from __future__ import annotations

import json
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

_NOT_BUILT = (
    "The vidvis-widgets front end is not built: {path} is missing. "
    "From the repository root run `npm install && npm run build` (the README's set-up command does this)."
)


def asset_path(name: str) -> Path:
    return STATIC_DIR / name


def esm(name: str) -> str | Path:
    """The widget's ES module; a module that shows the build error in the cell if the bundle is missing."""
    path = asset_path(name)
    if path.exists():
        return path
    message = json.dumps(_NOT_BUILT.format(path=path))
    return (
        "export default { render({ el }) { const d = document.createElement('div');"
        f" d.textContent = {message}; d.style.color = '#b00020'; el.append(d); }} }};"
    )


def css(name: str) -> str | Path:
    path = asset_path(name)
    return path if path.exists() else ""


def read_asset(name: str) -> str:
    path = asset_path(name)
    if not path.exists():
        raise FileNotFoundError(_NOT_BUILT.format(path=path))
    return path.read_text(encoding="utf-8")
