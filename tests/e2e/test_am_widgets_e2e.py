"""OptimizationMonitor and RegularizerSweep in a real JupyterLab: live updates, Stop from the browser."""

import pytest

pytestmark = pytest.mark.e2e

MONITOR = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.models import load_model
from vidvis_widgets.methods import ActivationMaximization, AMJob, unit
am = ActivationMaximization(load_model("tiny_two_stream"))
monitor = vv.OptimizationMonitor(am, [AMJob(unit("fc8", 0), gamma=1), AMJob(unit("fc8", 1), gamma=1)], steps=5000, every=3)
monitor
"""


def test_monitor_updates_live_and_stops_from_the_button(open_notebook):
    nb = open_notebook("monitor.ipynb", [MONITOR])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=90_000)
    nb.execute("monitor.start()")
    # the kernel is free while the loop runs: the status text and the curve update from the thread
    page.wait_for_function("() => /step \\d+ \\/ 5000/.test(document.body.innerText)", timeout=90_000)
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot .scatterlayer path.js-line');"
        " return p && p.getAttribute('d') && p.getAttribute('d').split('L').length > 3; }", timeout=90_000)
    assert nb.python_value("monitor.running") is True
    assert page.locator(".vv-player canvas").count() == 4  # appearance + motion for each of two jobs
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => /stopped after \\d+ steps/.test(document.body.innerText)", timeout=60_000)
    state = nb.python_value("[monitor.running, [r.status for r in monitor.result], monitor.result[0].settings['steps'],"
                            " bool(monitor.result[0].objective.size == monitor.result[0].settings['steps'])]")
    assert state[0] is False and state[1] == ["stopped", "stopped"] and 0 < state[2] < 5000 and state[3]
    assert page.get_by_role("button", name="Stop").is_disabled()
    nb.screenshot("optimization_monitor")
    assert not page.page_errors


SWEEP = """
import torch
import vidvis_widgets as vv
from vidvis_widgets.methods import unit
from vidvis_widgets.models import load_model
sweep = vv.RegularizerSweep.run(load_model("tiny_two_stream"), [unit("conv5_fusion", 3), unit("fc8", 1)], steps=4)
sweep
"""


def test_regularizer_sweep_grid(open_notebook):
    nb = open_notebook("sweep.ipynb", [SWEEP])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=120_000)
    assert page.locator(".vv-player canvas").count() == 10
    headers = page.locator(".vv-player").inner_text()
    for h in ("appearance", "motion γ=10", "motion γ=0", "conv5_fusion c3", "fc8 c1"):
        assert h in headers
    # every motion cell shows a min–max scaled flow: not a flat image
    spread = page.evaluate("""() => Array.from(document.querySelectorAll('.vv-player canvas')).map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lo = 255, hi = 0; for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
        return hi - lo; })""")
    assert len(spread) == 10 and min(spread) > 50, spread
    assert not page.page_errors
