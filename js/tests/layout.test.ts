import { describe, expect, it } from "vitest";
import { autoZoom, gridLayout } from "../lib/layout";

describe("gridLayout", () => {
  it("places clips row-major without headers", () => {
    const g = gridLayout({ count: 5, rows: 2, cols: 3, rowHeaders: [], colHeaders: [] });
    expect(g.templateColumns).toBe("repeat(3, max-content)");
    expect(g.cells.map((c) => [c.gridRow, c.gridColumn])).toEqual([
      [1, 1], [1, 2], [1, 3], [2, 1], [2, 2],
    ]);
  });

  it("shifts cells by one row and column when headers are present", () => {
    const g = gridLayout({ count: 4, rows: 2, cols: 2, rowHeaders: ["unit 1", "unit 2"], colHeaders: ["rgb", "γ=10"] });
    expect(g.templateColumns).toBe("max-content repeat(2, max-content)");
    expect(g.cells[0]).toEqual({ gridRow: 2, gridColumn: 2 });
    expect(g.cells[3]).toEqual({ gridRow: 3, gridColumn: 3 });
    expect(g.rowHeaders).toEqual([{ gridRow: 2, gridColumn: 1 }, { gridRow: 3, gridColumn: 1 }]);
    expect(g.colHeaders).toEqual([{ gridRow: 1, gridColumn: 2 }, { gridRow: 1, gridColumn: 3 }]);
  });

  it("lays out an 8x8 grid of 64 clips", () => {
    const g = gridLayout({ count: 64, rows: 8, cols: 8, rowHeaders: [], colHeaders: [] });
    expect(g.cells[63]).toEqual({ gridRow: 8, gridColumn: 8 });
  });

  it.each([
    [{ count: 7, rows: 2, cols: 3 }, /7 clips do not fit a 2x3 grid/],
    [{ count: 1, rows: 0, cols: 3 }, /at least 1x1/],
    [{ count: 2, rows: 1, cols: 2, rowHeaders: ["a", "b"] }, /2 row headers for 1 rows/],
    [{ count: 2, rows: 1, cols: 2, colHeaders: ["a"] }, /1 column headers for 2 columns/],
  ])("rejects %j", (spec, message) => {
    expect(() => gridLayout({ rowHeaders: [], colHeaders: [], ...spec })).toThrow(message);
  });
});

describe("autoZoom", () => {
  it("enlarges small clips by an integer factor and leaves large ones alone", () => {
    expect(autoZoom(16)).toBe(8);
    expect(autoZoom(32)).toBe(4);
    expect(autoZoom(64)).toBe(2);
    expect(autoZoom(112)).toBe(1);
    expect(autoZoom(224)).toBe(1);
  });
});
