"""The architecture's rules, checked on the source: data flows one way, one probe registers hooks, and no
module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:clips have different lengths")

import vidvis_widgets
from vidvis_widgets.media.grid import ClipGrid, Displayable

PACKAGE = Path(vidvis_widgets.__file__).parent
#: the rooms below the display: none of them may import widgets/
BELOW_DISPLAY = ("data", "media", "models", "methods")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        yield rel, ast.parse(path.read_text(), str(path))


def _imported(rel: Path, tree: ast.AST):
    """(module, names) for every import, with relative imports resolved to dotted paths in the package."""
    here = ["vidvis_widgets", *rel.with_suffix("").parts]
    if rel.name == "__init__.py":
        here = here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            yield mod, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_nothing_below_the_display_imports_widgets():
    offenders = [f"{rel} imports {mod}" for rel, tree in _modules() if rel.parts[0] in BELOW_DISPLAY
                 for mod, names in _imported(rel, tree)
                 if mod.startswith("vidvis_widgets.widgets") or (mod == "vidvis_widgets" and "widgets" in names)]
    assert offenders == []


def test_no_module_imports_another_modules_private_names():
    offenders = [f"{rel}: from {mod} import {n}" for rel, tree in _modules() for mod, names in _imported(rel, tree)
                 if mod.startswith("vidvis_widgets") for n in names if n.startswith("_") and not n.startswith("__")
                 # a package-private module (vidvis_widgets._frontend) is the package's own, not a module's name
                 and not (PACKAGE / Path(*mod.split(".")[1:]) / f"{n}.py").exists()]
    assert offenders == []


def test_only_the_probe_registers_hooks():
    hooks = ("register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook")
    users = sorted({str(rel) for rel, tree in _modules() for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and node.attr in hooks})
    assert users == ["models/probe.py"]


class _Pair(Displayable):
    def clip_grid(self, reverse: bool = False) -> ClipGrid:
        clips = [np.full((3, 8, 8, 3), 10, np.uint8), np.full((5, 8, 8, 3), 200, np.uint8)]
        return ClipGrid(clips[::-1] if reverse else clips, captions=["a", "b"][::-1] if reverse else ["a", "b"],
                        fps=4.0)


def test_a_displayable_shows_through_the_registered_player():
    from vidvis_widgets import ClipPlayer

    p = _Pair().show()
    assert isinstance(p, ClipPlayer) and p.captions == ["a", "b"] and p.fps == 4.0 and (p.rows, p.cols) == (1, 2)
    assert [c.num_frames for c in p.clips] == [3, 5]
    # grid fields change the grid, the method's own arguments reach clip_grid, the rest go to the player
    q = _Pair().show(True, cols=1, fps=12.0, image_format="png")
    assert q.captions == ["b", "a"] and (q.rows, q.cols) == (2, 1) and q.fps == 12.0
    assert all(c["format"] == "png" and c["data"][:4] == b"\x89PNG" for c in q._clips)
    assert [c.num_frames for c in _Pair().show(reverse=True).clips] == [5, 3]
    bundle = _Pair()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in (bundle[0] if isinstance(bundle, tuple) else bundle)
    with pytest.raises(TypeError):
        _Pair().show(no_such_option=1)


def _models_import_graph() -> dict[str, set[str]]:
    """models/ module → the models/ modules it imports, at the top or inside a function (a deferred import is the
    same dependency, only hidden); the package's ``__init__``, which imports them all, is left out."""
    graph = {}
    for rel, tree in _modules():
        if rel.parts[0] != "models" or len(rel.parts) != 2 or rel.name == "__init__.py":
            continue
        deps = set()
        for mod, names in _imported(rel, tree):
            parts = mod.split(".")
            if parts[:2] != ["vidvis_widgets", "models"]:
                continue
            # `from .x import y` names module x; `from . import x` (or `from vidvis_widgets.models import x`) names x
            deps |= {parts[2]} if len(parts) > 2 else {n for n in names if (PACKAGE / "models" / f"{n}.py").exists()}
        graph[rel.stem] = deps - {rel.stem}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every group of modules that import one another, directly or through others, each sorted."""
    reach = {}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        reach[start] = seen
    return sorted({tuple(sorted({m} | {n for n in reach[m] if m in reach.get(n, ())})) for m in graph
                   if m in reach[m]})


#: none left: the probe hands the adapter its Softmax bypass as it loads (``register_bypass``), so the adapter
#: imports no probe
KNOWN_CYCLES: list[tuple[str, ...]] = []


def test_the_models_modules_import_one_another_without_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}) == [("a", "b", "c"), ("e",)]
    graph = _models_import_graph()
    assert {"adapter", "probe"} <= graph["layers"] and "adapter" in graph["huggingface"]  # the walk sees imports
    assert [c for c in _cycles(graph) if c not in KNOWN_CYCLES] == []


#: the rooms that ask the adapter about a model and never branch on what kind of model it is
ASK_THE_ADAPTER = ("methods", "widgets")
#: where model classes come from: an isinstance on one of these is a branch on the model's kind
MODEL_CLASS_SOURCES = ("torchvision.models", "pytorchvideo", "transformers", "vidvis_widgets.models.tiny")
#: names under which methods hold a model (its calls go through the adapter: ``adapter.call``, ``adapter.forward``)
MODEL_NAMES = {"model", "verifier", "network", "net"}


def _kind_branches(tree: ast.AST, imported: list[tuple[str, list[str]]]) -> list[str]:
    """Where a module branches on a model's kind: a comparison on a ``kind`` (``x.kind == "two_stream"``, ``kind in
    (...)``), a ``two_stream`` flag, forward-arity sniffing (``inspect.signature(m.forward)``), an ``isinstance`` on a
    model class, or a model called directly instead of through its adapter; as "line: what"."""
    classes = {n for mod, names in imported if mod.startswith(MODEL_CLASS_SOURCES) for n in names}
    classes |= {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
                if a.name.startswith(MODEL_CLASS_SOURCES)}
    classes |= {a.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                and node.module.startswith("torchvision") for a in node.names if a.asname}

    def is_kind(e):
        return (isinstance(e, ast.Attribute) and e.attr == "kind") or (isinstance(e, ast.Name) and e.id == "kind")

    def root(e):
        while isinstance(e, ast.Attribute):
            e = e.value
        return e.id if isinstance(e, ast.Name) else None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn))
                                                 for op in node.ops) and any(map(is_kind, [node.left, *node.comparators])):
            found.append(f"{node.lineno}: compares a kind")
        elif (isinstance(node, ast.Name) and node.id == "two_stream") or (
                isinstance(node, ast.Attribute) and node.attr == "two_stream") or (
                isinstance(node, ast.arg) and node.arg == "two_stream"):
            found.append(f"{node.lineno}: a two_stream flag")
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name == "signature" and node.args and isinstance(node.args[0], ast.Attribute) \
                    and node.args[0].attr == "forward":
                found.append(f"{node.lineno}: sniffs forward's arity")
            elif name == "isinstance" and len(node.args) == 2 and any(
                    root(e) in classes for e in ast.walk(node.args[1]) if isinstance(e, (ast.Name, ast.Attribute))):
                found.append(f"{node.lineno}: isinstance on a model class")
            elif name in MODEL_NAMES:
                found.append(f"{node.lineno}: calls {name}(...) directly, not through its adapter")
    return found


def test_the_kind_branch_finder_sees_each_form():
    src = ("import inspect\nimport torchvision.models.video as tvv\nfrom vidvis_widgets.models.tiny import TinyR3D\n"
           "a = info.kind == 'two_stream'\nb = kind in ('clip',)\nself.two_stream = 1\n"
           "c = inspect.signature(model.forward)\nd = isinstance(m, tvv.MViT)\ne = isinstance(m, TinyR3D)\n"
           "self.model(x)\nf = p.kind is p.KEYWORD_ONLY\ng = isinstance(m, nn.Linear)\nadapter.call(model, x)\n")
    tree = ast.parse(src)
    assert [w.split(":")[0] for w in _kind_branches(tree, list(_imported(Path("methods/x.py"), tree)))] == \
        ["4", "5", "6", "7", "8", "9", "10"]


def test_no_method_or_widget_branches_on_a_models_kind():
    """The adapter alone knows a model's kind (models/): methods and widgets ask it, and call the model through it."""
    offenders = [f"{rel}:{w}" for rel, tree in _modules() if rel.parts[0] in ASK_THE_ADAPTER
                 for w in _kind_branches(tree, list(_imported(rel, tree)))]
    assert offenders == []
