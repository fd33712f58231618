"""LeapsView in a real JupyterLab: the stimulus and seeds update live from the background thread, the
loss curves grow, and Stop from the browser keeps each seed's best video."""

import pytest

from .harness import assert_inside_output, pixel_spread

pytestmark = pytest.mark.e2e

VIEW = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import ModelInversion, class_stimuli
from vidvis_widgets.models import load_model
(stimulus,), _ = class_stimuli(SyntheticActions("val"), [2])
view = vv.LeapsView(ModelInversion(load_model("tiny_r3d"), load_model("tiny_verifier")), 2, stimulus,
                    seeds=(0, 1), steps=5000, every=2, stages=2500, stimulus_label=2)
view
"""


def test_leaps_view_updates_live_and_stops_from_the_button(open_notebook):
    nb = open_notebook("leaps_view.ipynb", [VIEW])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=90_000)
    nb.execute("view.start()")
    page.wait_for_function("() => /step \\d+ \\/ 5000/.test(document.body.innerText)", timeout=90_000)
    page.wait_for_function("() => /seed 1 · step \\d+/.test(document.body.innerText)", timeout=90_000)
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot .scatterlayer path.js-line');"
        " return p && p.getAttribute('d') && p.getAttribute('d').split('L').length > 3; }", timeout=90_000)
    assert page.locator(".vv-player").first.locator("canvas").count() == 3  # stimulus + two seeds
    # the stimulus and both synthesized videos are drawn: none is a flat canvas
    assert min(pixel_spread(page, 0, 0)) > 20
    # the stages hold the first seed every other step; wait for more than fit in one row of the output
    page.wait_for_function("() => document.querySelectorAll('.vv-player')[1].querySelectorAll('canvas').length >= 8",
                           timeout=60_000)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => /stopped after \\d+ steps/.test(document.body.innerText)", timeout=60_000)
    state = nb.python_value("[view.running, [r.status for r in view.result], view.result[0].settings['steps'],"
                            " len(view.result[0].history['total'])]")
    assert state[0] is False and state[1] == ["stopped", "stopped"] and 0 < state[2] < 5000 and state[3] == state[2]
    assert "best (step" in page.locator(".vv-player").first.inner_text()
    # however many stages there are, the last one is on screen: the stages wrap into rows
    assert page.locator(".vv-player").nth(1).locator("canvas").count() >= 8
    assert_inside_output(page.locator(".vv-player").nth(1).locator("canvas").last)
    nb.screenshot("leaps_view")
    assert not page.page_errors
