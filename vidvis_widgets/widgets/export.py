"""Standalone HTML export of widgets.

The page carries the standard ipywidgets widget-state JSON (so tools that read
ipywidgets embeds understand it) plus a small inline runtime that runs each
widget's own bundled ES module against that state. Nothing is fetched from a
CDN, so the page works offline and without a kernel.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Sequence

from ipywidgets import Widget
from ipywidgets.embed import dependency_state

from .. import _frontend
from .._atomic import atomic_path, check_target

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def script_json(data: object) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' can close the tag or open markup."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def standalone_html(widgets: Sequence[Widget], title: str) -> str:
    # defaults must stay: the offline runtime has no widget classes to fill them in
    state = {
        "version_major": 2,
        "version_minor": 0,
        "state": dependency_state(list(widgets), drop_defaults=False),
    }
    views = "\n".join(
        f'<script type="{WIDGET_VIEW_MIME}">{script_json(w.get_view_spec())}</script>' for w in widgets
    )
    runtime = _frontend.read_asset("standalone.js").replace("</script", "<\\/script")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 16px; }}</style>
</head>
<body>
<h1 style="font-size: 16px">{html.escape(title)}</h1>
<script type="{WIDGET_STATE_MIME}">{script_json(state)}</script>
{views}
<script type="module">{runtime}</script>
</body>
</html>
"""


def write_standalone_html(widgets: Sequence[Widget], path: str | Path, title: str) -> Path:
    path = check_target(path, "path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    with atomic_path(path) as tmp:
        tmp.write_text(standalone_html(widgets, title), encoding="utf-8")
    return path
