"""ResponseHistogram, ConfusionPairView and FilterEvolutionGrid in a real JupyterLab: clicks in the
browser reach Python and the clip players show the new clips."""

import pytest

from .harness import assert_inside_output
from .harness import pixel_spread as _spread

pytestmark = pytest.mark.e2e

HISTOGRAM = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, response_statistics
from vidvis_widgets.models import load_model
model = load_model("tiny_two_stream")
test = SyntheticActions("test", samples_per_class=4)
stats = response_statistics(model, test, ["fc8"])
hist = vv.ResponseHistogram(stats, test, units=[("fc8", 1), ("fc8", 9)],
                            am=ActivationMaximization(model, activation_max=None), gammas=(5, 0), steps=3)
hist
"""


def _click_bar(page, index: int) -> None:
    box = page.locator(".js-plotly-plot .bars .point path").nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)


def test_histogram_click_plays_that_class_and_units_switch_in_place(open_notebook):
    nb = open_notebook("histogram.ipynb", [HISTOGRAM])
    nb.run_all()
    page = nb.page
    page.wait_for_function("() => document.querySelectorAll('.vv-player[data-ready=\"true\"]').length == 2",
                           timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .bars .point path", timeout=60_000)
    assert page.locator(".js-plotly-plot .bars .point path").count() == 14
    clips = page.locator(".vv-player").nth(1)
    bars = nb.python_value("list(hist.figure.data[0].x)")
    assert bars[0] in clips.inner_text()  # the unit's top class plays first
    _click_bar(page, 5)
    nb.wait_value("hist.picked_class", bars[5])
    page.wait_for_function("(c) => document.querySelectorAll('.vv-player')[1].innerText.includes(c + ' #')",
                           arg=bars[5], timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.vv-player')[1].dataset.ready === 'true'")
    cells = page.evaluate("() => document.querySelectorAll('.vv-player')[1].querySelectorAll('canvas').length")
    assert cells == 8  # four top clips of the class, RGB above flow
    # no cell is flat: an RGB frame spans the red channel, and a flow frame (a colour wheel, where one
    # frame's motions can all share a hue and so leave red nearly constant) spans at least one channel
    rgb, flow = _spread(page, 1, 0)[:4], _spread(page, 1, None)[4:]
    assert min(rgb) > 20 and min(flow) > 20, (rgb, flow)
    # switching the unit in the menu redraws the same plot and players
    page.locator("select").filter(has_text="fc8 · unit 9").select_option(label="fc8 · unit 9")
    nb.wait_value("hist.unit", ["fc8", 9])
    top = nb.python_value("hist.figure.data[0].x[0]")
    page.wait_for_function("(c) => document.querySelector('.js-plotly-plot .xtick text').textContent === c",
                           arg=top, timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 1 and page.locator(".vv-player").count() == 2
    assert "γ=5" in page.locator(".vv-player").nth(0).inner_text()
    # every AM cell is on screen: the panel wraps below the plot rather than being clipped at the output's edge
    assert_inside_output(page.locator(".vv-player").nth(0).locator("canvas").last)
    nb.screenshot("response_histogram")
    assert not page.page_errors


PAIRS = """
import torch
torch.set_num_threads(1)
import vidvis_widgets as vv
from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization
from vidvis_widgets.models import load_model
model = load_model("tiny_two_stream", weights=3)  # an early epoch: several confused pairs to pick from
view = vv.ConfusionPairView(model, SyntheticActions("test", samples_per_class=10),
                            am=ActivationMaximization(model, activation_max=None), steps=2, pairs=4)
view
"""


def test_picking_a_confusion_pair_updates_the_comparison(open_notebook):
    nb = open_notebook("pairs.ipynb", [PAIRS])
    nb.run_all()
    page = nb.page
    page.wait_for_function("() => document.querySelectorAll('.vv-player[data-ready=\"true\"]').length == 2",
                           timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer", timeout=60_000)
    first = nb.python_value("list(view.pair)")
    # the top pair's AM runs in the background: its inputs replace the blank cell when done
    page.wait_for_function("(a) => document.querySelectorAll('.vv-player')[0].innerText.includes(a)", arg=first[0],
                           timeout=60_000)
    options = nb.python_value("[list(v) for _, v in view.pair_menu.options]")
    assert len(options) >= 2, options
    label = nb.python_value("view.pair_menu.options[1][0]")
    page.locator("select").filter(has_text=label).select_option(label=label)
    nb.wait_value("list(view.pair)", options[1])
    a, b = options[1]
    page.wait_for_function(
        "([a, b]) => { const t = document.querySelectorAll('.vv-player')[0].innerText;"
        " return t.includes(a) && t.includes(b) && t.includes('γ=10'); }", arg=[a, b], timeout=60_000)
    page.wait_for_function(
        "([a, b]) => document.querySelectorAll('.vv-player')[1].innerText.includes(a + ' → predicted ' + b)",
        arg=[a, b], timeout=30_000)
    # a click on an off-diagonal heatmap cell picks that pair: cello (row 8) predicted as violin (column 9)
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 9.5 / 14, box["y"] + box["height"] * 8.5 / 14)
    nb.wait_value("list(view.pair)", ["cello", "violin"])
    page.wait_for_function("() => document.querySelectorAll('.vv-player')[0].innerText.includes('cello')",
                           timeout=60_000)
    # the pairs list stays inside the output area: it wraps below the matrix rather than running past the edge
    assert_inside_output(page.locator("select").filter(has_text=label))
    nb.screenshot("confusion_pair_view")
    assert not page.page_errors


EVOLUTION = """
import vidvis_widgets as vv
from vidvis_widgets.methods import unit
from vidvis_widgets.models import embedded_checkpoints, load_model
grid = vv.FilterEvolutionGrid.run(load_model("tiny_two_stream"), [unit("fc8", 13), unit("conv5_fusion", 3)],
                                  embedded_checkpoints("tiny_two_stream")[::3], steps=3, activation_max=None)
grid
"""


def test_filter_evolution_grid_rows_are_epochs(open_notebook):
    nb = open_notebook("evolution.ipynb", [EVOLUTION])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-player[data-ready="true"]', timeout=120_000)
    assert page.locator(".vv-player canvas").count() == 16
    rows = page.locator(".vv-row-header").all_inner_texts()
    assert rows == ["epoch 1", "epoch 4", "epoch 7", "epoch 10"]
    assert "fc8 c13 · motion" in page.locator(".vv-player").inner_text()
    spread = _spread(page, 0, 1)
    assert min(spread) > 30, spread
    nb.screenshot("filter_evolution_grid")
    assert not page.page_errors
