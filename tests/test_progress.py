"""Long calls show progress by default: activation maximization, LEAPS and Saliency Tubes over several clip batches
draw a tqdm.auto bar (text on stderr here, as in a terminal; a widget in a notebook) counting their steps, unless
``progress=False``, a callback (a widget or monitor shows its own progress) or ``VIDVIS_PROGRESS=0``. Before, a call
without a widget or a callback ran silently (AM on SlowFast R50: 128 s with no sign of life).

The test suite turns the default off (conftest sets ``VIDVIS_PROGRESS=0``); these tests set it as each needs, and
the real default is tested with the variable unset."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from vidvis_widgets.methods import AMJob, unit, ActivationMaximization, InversionJob, ModelInversion, SaliencyTubes
from vidvis_widgets.models import load_model

AM_STEPS, LEAPS_STEPS = 4, 3


@pytest.fixture(scope="module")
def r3d():
    return load_model("tiny_r3d")


@pytest.fixture(scope="module")
def am(r3d):
    return ActivationMaximization(r3d, input_shape=(3, 4, 16, 16), activation_max=None, steps=AM_STEPS)


@pytest.fixture(scope="module")
def inv(r3d):
    return ModelInversion(r3d, None, size=(4, 32, 32), steps=LEAPS_STEPS)


def bar_list(err: str) -> list[tuple[str, int, int]]:
    """Each bar on stderr, in order: its description, last drawn count and total (tqdm redraws its line after a
    '\\r' and ends it with a newline when the bar closes)."""
    out = []
    for line in err.split("\n"):
        m = re.match(r"\s*(.+?): +\d+%\|.*\| *(\d+)/(\d+) ", line.split("\r")[-1])
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def bars(err: str) -> dict[str, tuple[int, int]]:
    """Each bar by its description: its last drawn count and total."""
    return {desc: (n, total) for desc, n, total in bar_list(err)}


def run_am(am, **kw):
    return am(AMJob(unit("layer3", 2)), steps=AM_STEPS, **kw)[0]


def run_leaps(inv, **kw):
    return inv([InversionJob(1, None, 0, "deepdream"), InversionJob(2, None, 1, "deepdream")], steps=LEAPS_STEPS, **kw)


def test_the_real_default_draws_a_bar_for_am_and_leaps(am, inv, capsys, monkeypatch):
    monkeypatch.delenv("VIDVIS_PROGRESS", raising=False)  # as a user's session has it
    capsys.readouterr()
    r = run_am(am)
    assert r.status == "completed"
    assert bars(capsys.readouterr().err) == {"activation maximization (1 job)": (AM_STEPS, AM_STEPS)}
    res = run_leaps(inv)
    assert [x.status for x in res] == ["completed"] * 2
    assert bars(capsys.readouterr().err) == {"LEAPS (2 jobs)": (LEAPS_STEPS, LEAPS_STEPS)}


@pytest.mark.parametrize("env", ["0", "False"])
def test_the_environment_variable_turns_the_default_off_and_progress_true_back_on(am, capsys, monkeypatch, env):
    monkeypatch.setenv("VIDVIS_PROGRESS", env)
    capsys.readouterr()
    run_am(am)
    assert capsys.readouterr().err == ""
    run_am(am, progress=True)  # an explicit argument wins over the variable
    assert bars(capsys.readouterr().err) == {"activation maximization (1 job)": (AM_STEPS, AM_STEPS)}


def test_progress_false_or_a_callback_draws_none(am, inv, capsys, monkeypatch):
    monkeypatch.setenv("VIDVIS_PROGRESS", "1")
    capsys.readouterr()
    seen = []
    run_am(am, progress=False)
    run_leaps(inv, progress=False)
    run_am(am, callback=seen.append, every=1)  # a widget or monitor shows its own progress
    run_leaps(inv, callback=seen.append, every=1)
    assert capsys.readouterr().err == "" and len(seen) == AM_STEPS + LEAPS_STEPS


def test_a_stopped_run_leaves_its_bar_at_the_steps_taken(am, inv, capsys, monkeypatch):
    monkeypatch.setenv("VIDVIS_PROGRESS", "1")
    stop = threading.Event()

    def halt(snap):
        if snap.step >= 2:
            stop.set()

    capsys.readouterr()
    r = am(AMJob(unit("layer3", 2)), steps=10, every=1, callback=halt, stop=stop, progress=True)[0]
    assert r.status == "stopped" and r.settings["steps"] == 2
    assert bars(capsys.readouterr().err) == {"activation maximization (1 job)": (2, 10)}
    stop.clear()
    res = inv([InversionJob(1, None, 0, "deepdream")], steps=10, every=1, callback=halt, stop=stop, progress=True)
    assert res[0].status == "stopped"
    assert bars(capsys.readouterr().err) == {"LEAPS (1 job)": (2, 10)}


def test_the_leaps_am_baseline_counts_its_own_steps(inv, capsys, monkeypatch):
    monkeypatch.delenv("VIDVIS_PROGRESS", raising=False)
    capsys.readouterr()
    res = inv([InversionJob(1, None, 0, "deepdream"), InversionJob(3, None, 1, "am")], steps=LEAPS_STEPS)
    assert [x.status for x in res] == ["completed"] * 2
    assert bars(capsys.readouterr().err) == {"LEAPS (1 job)": (LEAPS_STEPS, LEAPS_STEPS),
                                             "activation maximization (1 job)": (LEAPS_STEPS, LEAPS_STEPS)}


def test_tubes_count_their_batches_when_there_are_several(r3d, capsys, monkeypatch):
    monkeypatch.delenv("VIDVIS_PROGRESS", raising=False)
    clips = np.random.default_rng(0).integers(0, 256, (5, 16, 64, 64, 3), dtype=np.uint8)
    tubes = SaliencyTubes(r3d, batch_size=2)
    capsys.readouterr()
    whole = tubes(inputs=clips)
    assert bars(capsys.readouterr().err) == {"saliency tubes (5 clips)": (3, 3)}
    single = tubes(inputs=clips[:2])  # one batch: one forward pass, no bar unless asked
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(single.logits.cpu().numpy(), whole.logits[:2].cpu().numpy())
    tubes(inputs=clips[:2], progress=True)
    assert bars(capsys.readouterr().err) == {"saliency tubes (2 clips)": (1, 1)}
    tubes(inputs=clips, progress=False)
    assert capsys.readouterr().err == ""


def test_a_progress_that_is_not_a_bool_is_refused_by_name_before_any_work(am, inv, r3d):
    for call in (lambda: run_am(am, progress="yes"), lambda: run_leaps(inv, progress=1),
                 lambda: SaliencyTubes(r3d)(inputs=np.zeros((1, 16, 64, 64, 3), np.uint8), progress="on")):
        with pytest.raises(TypeError, match=r"progress must be True, False or None"):
            call()


def test_filter_evolution_counts_the_stacked_batch_once_and_separate_checkpoints_each(r3d, tmp_path, capsys,
                                                                                      monkeypatch):
    import torch

    from vidvis_widgets.methods.activation_maximization import filter_evolution

    monkeypatch.delenv("VIDVIS_PROGRESS", raising=False)
    paths = []
    for seed in (0, 1):
        state = {k: v + 0.01 * torch.randn(v.shape, generator=torch.Generator().manual_seed(seed))
                 if v.is_floating_point() else v for k, v in r3d.state_dict().items()}
        paths.append(tmp_path / f"epoch_{seed}.pt")
        torch.save(state, paths[-1])
    common = dict(steps=2, input_shape=(3, 4, 16, 16), activation_max=None)
    capsys.readouterr()
    filter_evolution(r3d, unit("layer3", 2), paths, stack=True, **common)
    assert bar_list(capsys.readouterr().err) == [("activation maximization (2 jobs)", 2, 2)]
    filter_evolution(r3d, unit("layer3", 2), paths, stack=False, **common)
    assert bar_list(capsys.readouterr().err) == [("activation maximization (1 job)", 2, 2)] * 2
    filter_evolution(r3d, unit("layer3", 2), paths, stack=False, progress=False, **common)
    assert capsys.readouterr().err == ""
