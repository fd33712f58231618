"""ConfusionPairView in a real JupyterLab: a pick in the list runs the pair's AM in the background, so the kernel
answers while it runs and the page counts the steps; another pick stops it and starts the next; Stop ends it."""

import pytest

pytestmark = pytest.mark.e2e

VIEW = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization
from vidvis_widgets.models import load_model
model = load_model("tiny_two_stream", weights=3)  # an early epoch: several confused pairs to pick from
view = vv.ConfusionPairView(model, SyntheticActions("test", samples_per_class=6), steps=5000, every=2,
                            am=ActivationMaximization(model, activation_max=None), gammas=(10.0, 0.0), pairs=4,
                            autostart=False)
view
"""


def test_the_kernel_stays_free_while_a_pair_optimizes_and_picks_switch_and_stop(open_notebook):
    nb = open_notebook("pair_view.ipynb", [VIEW])
    nb.run_all()
    page = nb.page
    page.wait_for_function("() => document.querySelectorAll('.vv-player[data-ready=\"true\"]').length == 2",
                           timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=60_000)
    options = nb.python_value("[[t, list(v)] for t, v in view.pair_menu.options]")
    assert len(options) >= 2 and nb.python_value("view.running") is False  # shown, nothing optimizing yet
    (label_a, first), (label_b, second) = options[:2]
    menu = page.locator("select").filter(has_text=label_a)
    menu.select_option(label=label_a)
    nb.wait_value("[list(view.pair), view.running]", [first, True])
    page.wait_for_function("() => /step \\d+ \\/ 5000/.test(document.body.innerText)", timeout=90_000)
    # the kernel answers while the run goes on: 1 + 1, and the run still running in the same cell
    assert nb.execute("print(1 + 1, view.running)").split() == ["2", "True"]
    # the page's step count moves on as the run does
    step = lambda: int(page.evaluate("() => document.body.innerText.match(/step (\\d+) \\/ 5000/)[1]"))  # noqa: E731
    seen = step()
    page.wait_for_function("(s) => +document.body.innerText.match(/step (\\d+) \\/ 5000/)[1] > s", arg=seen,
                           timeout=60_000)
    # another pick stops the first pair's run (its best inputs so far shown) and starts the second's
    menu.select_option(label=label_b)
    # (the switch waits for the first run to end: its last step, then its saved copy)
    nb.wait_value("[list(view.pair), list(view.am_pair or ()), view.running]", [second, first, True], timeout_s=60)
    state = nb.python_value("[view.am_results[0].status, view.am_results[0].settings['steps']]")
    assert state[0] == "stopped" and 0 < state[1] < 5000, state
    page.wait_for_function("(b) => document.body.innerText.includes(b + ': step ')", arg=second[1], timeout=60_000)
    page.wait_for_function(
        "([a, b]) => { const t = document.querySelectorAll('.vv-player')[0].innerText;"
        " return t.includes(a) && t.includes(b) && t.includes('γ=10'); }", arg=first, timeout=60_000)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => /AM stopped after \\d+ steps/.test(document.body.innerText)", timeout=60_000)
    state = nb.python_value("[view.running, list(view.am_pair), [r.status for r in view.am_results]]")
    assert state == [False, second, ["stopped"] * 4], state
    page.wait_for_function(
        "([a, b]) => { const t = document.querySelectorAll('.vv-player')[0].innerText;"
        " return t.includes(a) && t.includes(b); }", arg=second, timeout=60_000)
    assert page.get_by_role("button", name="Stop").is_disabled()
    nb.screenshot("confusion_pair_view_background")
    assert not page.page_errors
