import { describe, expect, it } from "vitest";
import { axes, histogramBars } from "../lib/atlas_browser";
import { cellBackground, cssUrl, displaySize, orderUnits, sheetColumns, spriteBackground } from "../lib/atlas_clips";
import type { AtlasClip, AtlasUnitCell } from "../lib/atlas_types";

const cell = (unit: number, selectivity: number): AtlasUnitCell =>
  ({ unit, cell: unit, selectivity, top_class: null, value: null });

describe("unit order", () => {
  it("puts the most class-selective first, keeps ties in page order and units with none last", () => {
    const units = [cell(0, 0.1), cell(1, NaN), cell(2, 0.9), cell(3, 0.5), cell(4, 0.9), cell(5, -1)];
    expect(orderUnits(units).map((u) => u.unit)).toEqual([2, 4, 3, 0, 5, 1]);
  });
});

describe("sprite cells", () => {
  it("shows cell i at (i % columns, i / columns) of the sheet, scaled to the shown size", () => {
    const sprite = { ref: "s.png", stream: "appearance", columns: 32, cell_width: 16, cell_height: 12 };
    // cell 33: column 1, row 1; shown 4× wide and 4× high
    expect(spriteBackground(sprite, 33, 64, 48)).toEqual({ size: "2048px auto", position: "-64px -48px" });
    expect(spriteBackground(sprite, 0, 16, 12)).toEqual({ size: "512px auto", position: "0px 0px" });
    expect(cellBackground(5, 8, 10, 10, 10, 10).position).toBe("-50px 0px");
  });

  it("enlarges small clips by whole factors and shrinks large ones to the target", () => {
    expect(displaySize(16, 16, 64)).toEqual({ width: 64, height: 64 });
    expect(displaySize(28, 20, 64)).toEqual({ width: 56, height: 40 });
    expect(displaySize(256, 128, 128)).toEqual({ width: 128, height: 64 });
  });

  it("reads a frame sheet as a strip unless the clip names its columns", () => {
    const clip: AtlasClip = { ref: "a.png", mime: "image/png", width: 8, height: 8, frames: 6 };
    expect(sheetColumns(clip)).toBe(6);
    expect(sheetColumns({ ...clip, columns: 4 } as AtlasClip)).toBe(4);
  });

  it("quotes a URL for CSS so it cannot end the url()", () => {
    expect(cssUrl('media/a".png')).toBe('url("media/a%22.png")');
    expect(cssUrl("blob:x\\y\n")).toBe('url("blob:x%5Cy%0A")');
  });
});

describe("histogram", () => {
  it("scales bars to the largest value; nulls and negatives are empty", () => {
    const bars = histogramBars([1, null, 4, -2], 400, 100);
    expect(bars.map((b) => b.height)).toEqual([25, 0, 100, 0]);
    expect(bars.map((b) => b.x)).toEqual([0, 100, 200, 300]);
    expect(bars[2].y).toBe(0);
    expect(histogramBars([0, 0], 10, 10).every((b) => b.height === 0)).toBe(true);
  });

  it("writes per-axis sizes", () => {
    expect([axes([5, 7, 7]), axes(null), axes([])]).toEqual(["5×7×7", "?", "?"]);
  });
});
