"""SaliencyTubeView in a real JupyterLab: the clip, heat and focus tubes are drawn, and picking another class
in the browser redraws the heat tube from Python without re-running the model."""

import pytest

pytestmark = pytest.mark.e2e

VIEW = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.models import load_model
model = load_model("tiny_r3d")
calls = []
view = vv.SaliencyTubeView(model, SyntheticActions("test").arrays([0, 30]), top_k=3)
model.register_forward_pre_hook(lambda *_: calls.append(1))
view
"""

# the mean of the red channel of each canvas of the first player: the heat tube's colours move with the class
_MEAN_RED = """() => Array.from(document.querySelectorAll('.vv-player')[0].querySelectorAll('canvas')).map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s / (d.length / 4); })"""


def test_class_picked_in_the_browser_redraws_the_tubes(open_notebook):
    nb = open_notebook("saliency_tubes_view.ipynb", [VIEW])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=90_000)
    assert page.locator(".vv-player").first.locator("canvas").count() == 3
    menu = page.locator("select").filter(has_text="—")  # the class menu: "name — p=…"
    assert "disc_right — p=" in menu.inner_text().replace("\xa0", " ")
    before = page.evaluate(_MEAN_RED)
    # focus tube: the frames dimmed where the model does not look, so darker on average than the clip
    assert before[2] < before[0] - 10, before
    second = menu.locator("option").nth(1).inner_text()
    menu.select_option(label=second)
    page.wait_for_function("(c) => document.body.innerText.replace(/\\u00a0/g, ' ').includes('heat · ' + c + ', τ=')",
                           arg=second.replace("\xa0", " ").split(" — ")[0], timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.vv-player')[0].dataset.ready === 'true'")
    page.wait_for_timeout(500)
    after = page.evaluate(_MEAN_RED)
    assert abs(after[1] - before[1]) > 1 or abs(after[2] - before[2]) > 1, (before, after)
    assert abs(after[0] - before[0]) < 1  # the clip itself is the same
    assert nb.python_value("len(calls)") == 0
    nb.screenshot("saliency_tube_view")
    assert not page.page_errors
