"""RegionPicker in a real JupyterLab in headless Chromium: the frame's pixels, a box dragged with the mouse read
back in the kernel as a region, boxes from Python drawn on the page, names shown as text, removal from the page."""

import pytest

pytestmark = pytest.mark.e2e

SETUP = """
import numpy as np
from vidvis_widgets.widgets.region_picker import RegionPicker
from vidvis_widgets.media.samples import moving_square
rgb, flow = moving_square(16, 32, velocity=(2, 0), side=8)
picker = RegionPicker(rgb, image_format="png", zoom=8)
picker
"""

RED = [230, 60, 40]


def test_drag_a_box_and_read_it_back_as_a_region(open_notebook):
    nb = open_notebook("region_picker.ipynb", [SETUP])
    nb.run_all()
    page = nb.page
    page.wait_for_selector('.vv-region-picker[data-ready="true"]', timeout=60_000)
    # the frame is drawn: the square of frame 0 spans columns 12..19 of row 16
    row = page.evaluate("""() => { const c = document.querySelector('.vv-region-picker canvas');
        const d = c.getContext('2d').getImageData(0, 16, c.width, 1).data;
        return Array.from({length: c.width}, (_, x) => Array.from(d.slice(4 * x, 4 * x + 3))); }""")
    assert [x for x, p in enumerate(row) if p == RED] == list(range(12, 20))

    # drag from clip pixel (4, 8) to (20, 24) at zoom 8: a box of fractions (0.125, 0.25) – (0.625, 0.75)
    stage = page.locator(".vv-rp-overlay").bounding_box()
    assert stage["width"] == pytest.approx(256, abs=1) and stage["height"] == pytest.approx(256, abs=1)
    page.mouse.move(stage["x"] + 4 * 8, stage["y"] + 8 * 8)
    page.mouse.down()
    page.mouse.move(stage["x"] + 12 * 8, stage["y"] + 16 * 8, steps=4)
    page.mouse.move(stage["x"] + 20 * 8, stage["y"] + 24 * 8, steps=4)
    page.mouse.up()
    page.wait_for_selector('.vv-region-picker[data-boxes="1"]', timeout=10_000)
    nb.wait_value("len(picker.regions)", 1)
    region = nb.python_value("[picker.regions[0].name, list(picker.regions[0].box)]")
    assert region[0] == "box 1"
    assert region[1] == pytest.approx([0.125, 0.25, 0.625, 0.75], abs=1e-3)
    # the region is the drawn rectangle at the clip's size: rows 8..23, columns 4..19
    mask = nb.python_value("picker.regions[0].masks(1, 1, 32, 32)[0, 0].nonzero()[0].tolist()[:1]"
                           " + picker.regions[0].masks(1, 1, 32, 32)[0, 0].nonzero()[1].tolist()[:1]"
                           " + [int(picker.regions[0].masks(1, 1, 32, 32).sum())]")
    assert mask == [8, 4, 16 * 16]

    # a click (no drag) draws nothing; a box from Python appears, its name as text, never markup
    page.mouse.click(stage["x"] + 100, stage["y"] + 30)
    nb.execute("picker.add_box(0.5, 0, 1, 0.25, name='<b>eyes</b>')")
    page.wait_for_selector('.vv-region-picker[data-boxes="2"]', timeout=10_000)
    names = page.locator(".vv-rp-name")
    assert names.count() == 2 and names.nth(1).text_content() == "<b>eyes</b>"
    assert page.locator(".vv-region-picker b").count() == 0
    assert nb.python_value("[r.name for r in picker.regions]") == ["box 1", "<b>eyes</b>"]

    # removing a box on the page removes it in the kernel
    page.get_by_role("button", name="Remove box 1").click()
    nb.wait_value("[r.name for r in picker.regions]", ["<b>eyes</b>"])
    # the frame follows the kernel
    nb.execute("picker.frame = 5")
    page.wait_for_function("() => document.querySelector('.vv-region-picker').dataset.frame === '5'", timeout=10_000)
    nb.screenshot("region_picker")
    assert not page.page_errors
