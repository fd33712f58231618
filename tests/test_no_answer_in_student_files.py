"""No student-facing text names the dataset's bias: the shipped notebooks (sources and any saved outputs), the
README outside its "Teaching with vidvis" section and the lines that point at the instructor's folder, the dataset
card (the function and the file), the class specs' repr and the model card. The answer lives in
``vidvis_widgets.data.bias`` and ``notebooks/instructor/``; this test reads it from there, so it follows the plans."""

from __future__ import annotations

import functools
import inspect
import json
import re
from pathlib import Path

import pytest

from vidvis_widgets.data import SyntheticActions, dataset_card
from vidvis_widgets.data import bias

ROOT = Path(__file__).parent.parent
TEACHING = "## Teaching with vidvis"
#: words that name the answer, or that it is one, whatever the plan
WORDS = ("bias_probe", "bias probe", "bias-probe", "spurious", "planted", "biased_pair", "biased pair",
         "answer key", "eye make-up", "eye makeup")
#: the default plan's cue (the eyes' motion), however it is phrased
EYE_MOTION = re.compile(r"\beyes?\W+(?:\w+\W+)?(?:move|moves|moving|motion|still|static)\b"
                        r"|\b(?:moving|still|static|motionless|side.to.side)\W+eyes?\b"
                        r"|\b(?:motion|movement)\W+(?:\w+\W+){0,2}eyes?\b"
                        r"|\beye.motion\b", re.I)
#: two class names of a pair "named together with a cue" when both fall within this many characters of a cue word
WINDOW = 300


def course_seeds() -> tuple[int, ...]:
    """The seeds an instructor hands out: the module's list where it has one, else the first sixteen (they cover
    every eligible pair and every kind of cue)."""
    return tuple(getattr(bias, "COURSE_SEEDS", range(16)))


#: words that name each kind of cue
KIND_WORDS = {"distractor_motion": ("distractor", "back and forth"), "tint": ("tint",), "texture": ("texture", "stripe"),
              "blink": ("blink",)}


@functools.lru_cache(maxsize=1)
def plans():
    """(label, plan, cue pattern, pair-window pattern) of the default world and every course seed. A seeded plan's
    cue is its key's phrase; its pair is named "with its cue" beside a word of its kind of cue or its place (the
    marker's part name, the corner)."""
    out = [("default", bias.plan_bias(None), EYE_MOTION, EYE_MOTION)]
    for seed in course_seeds():
        plan = bias.plan_bias(seed)
        place = [plan.region] + re.findall(r"(?:top|bottom) (?:left|right) corner", plan.cue)
        words = [*KIND_WORDS.get(plan.kind, (plan.kind,)), *place]
        out.append((f"bias_seed={seed}", plan, re.compile(re.escape(plan.cue), re.I),
                    re.compile("|".join(re.escape(w) for w in words), re.I)))
    return out


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for mime, data in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    parts.append(data if isinstance(data, str) else json.dumps(data))
            parts.append("".join(out.get("traceback", [])))
    return "\n\n".join(parts)


def readme_for_students(text: str) -> str:
    """The README without its "Teaching with vidvis" section and without the lines that point at the
    instructor's folder."""
    start = text.find(TEACHING)
    if start < 0:
        return text
    end = text.find("\n## ", start + len(TEACHING))
    rest = text[:start] + (text[end:] if end >= 0 else "")
    return "\n".join(line for line in rest.splitlines() if "notebooks/instructor" not in line)


def _dataset_cards() -> dict[str, str]:
    cards = {"dataset_card()": dataset_card()}
    if "bias_seed" in inspect.signature(dataset_card).parameters:
        cards.update({f"dataset_card(bias_seed={k})": dataset_card(bias_seed=k) for k in course_seeds()})
    return cards


def _specs() -> dict[str, str]:
    specs = {"SyntheticActions('test').specs": repr(SyntheticActions("test").specs)}
    for k in course_seeds():
        specs[f"SyntheticActions('test', bias_seed={k}).specs"] = repr(SyntheticActions("test", bias_seed=k).specs)
    return specs


@functools.lru_cache(maxsize=1)
def student_texts() -> dict[str, str]:
    texts = {f"notebooks/{p.name}": _notebook_text(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    texts["README.md"] = readme_for_students((ROOT / "README.md").read_text())
    texts["vidvis_widgets/data/DATASET_CARD.md"] = (ROOT / "vidvis_widgets/data/DATASET_CARD.md").read_text()
    texts["vidvis_widgets/models/weights/MODEL_CARD.md"] = \
        (ROOT / "vidvis_widgets/models/weights/MODEL_CARD.md").read_text()
    texts.update(_dataset_cards())
    texts.update(_specs())
    return texts


def findings(text: str) -> list[str]:
    """Every place in ``text`` that names an answer: a word of ``WORDS``, a plan's cue, or a plan's pair named
    within ``WINDOW`` characters of its cue."""
    found = []
    low = text.lower()
    for word in WORDS:
        found += [f"{word!r}: …{text[max(0, i - 60):i + 60]}…" for i in _all(low, word)]
    for label, plan, cue, near in plans():
        for m in cue.finditer(text):
            found.append(f"{label} cue {m.group(0)!r}: …{text[max(0, m.start() - 60):m.end() + 60]}…")
        for m in re.finditer(r"|".join(re.escape(c) for c in plan.pair), text):
            window = text[max(0, m.start() - WINDOW):m.end() + WINDOW]
            if all(c in window for c in plan.pair) and near.search(window):
                found.append(f"{label} pair {plan.pair} beside its cue: …{window}…")
    return found


def _all(text: str, word: str):
    i = text.find(word)
    while i >= 0:
        yield i
        i = text.find(word, i + 1)


def test_the_checks_find_what_they_look_for():
    """The patterns catch the phrasings the old materials used, and leave the intended cues alone."""
    for caught in ("the eyes move side to side", "motion around the **eyes**", "`apply_lipstick` clips have moving"
                   " eyes", "eyes stay still", "eye motion", "the `bias_probe` split", "a planted dataset bias",
                   "share['spurious']", "eye make-up / lipstick"):
        assert findings(caught), caught
    for fine in ("a faint applicator moving near the eyes", "masks of named parts: `face`, `eyes`, `mouth`",
                 "the face pair (`apply_eye_makeup` / `apply_lipstick`)", "shortcut_scan(model, test)"):
        assert not findings(fine), fine
    for label, plan, _, _ in plans()[1:]:  # every seed's phrase, and its pair beside its place
        assert findings(f"In the test clips {plan.cue}."), label
        assert findings(f"`{plan.pair[0]}` / `{plan.pair[1]}`: look at {plan.region}"), label
        assert not findings(f"`{plan.pair[0]}` / `{plan.pair[1]}`"), label


def test_the_readme_has_a_teaching_section_and_the_rest_is_checked():
    text = (ROOT / "README.md").read_text()
    students = readme_for_students(text)
    assert TEACHING in text and TEACHING not in students
    assert len(students) > 0.9 * len(text)  # the exemption is one section, not the README


@pytest.mark.parametrize("name", sorted(student_texts()))
def test_no_student_file_names_the_answer(name):
    found = findings(student_texts()[name])
    assert not found, f"{name} names the answer:\n" + "\n".join(found)
