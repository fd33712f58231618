import { describe, expect, it } from "vitest";
import { parseStaticGrid } from "../lib/static_grid";
import { parseClip, PayloadError } from "../lib/payload";

const clip = { kind: "rgb", format: "png", width: 2, height: 2, frames: 3, xstride: 2, ystride: 2, sheet_cols: 3, data: btoa("\x01\x02\xff") };
const doc = (over: Record<string, unknown> = {}) => ({
  version: 1, clips: [clip, null], captions: ["a <b>", "empty"], rows: 1, cols: 2,
  row_headers: [], col_headers: ["x", "y"], fps: 12, loop: false, zoom: 2, ...over,
});

describe("parseStaticGrid", () => {
  it("turns base64 sheets into the bytes the player decodes and keeps the layout", () => {
    const g = parseStaticGrid(doc({ note: "downscaled" }));
    const first = parseClip(g.content.clips[0], 0)!;
    expect(Array.from(first.data)).toEqual([1, 2, 255]);
    expect(g.content.clips[1]).toBeNull();
    expect(g.content.captions).toEqual(["a <b>", "empty"]);
    expect(g.content.colHeaders).toEqual(["x", "y"]);
    expect([g.fps, g.loop, g.zoom, g.playing, g.note]).toEqual([12, false, 2, true, "downscaled"]);
  });

  it.each([
    [null, /JSON object/],
    [[1, 2], /JSON object/],
    [doc({ version: 2 }), /version 2 is not supported/],
    [doc({ clips: "x" }), /"clips" must be a list/],
    [doc({ captions: "abc" }), /"captions" must be a list of strings/],
    [doc({ clips: [{ ...clip, data: "!!not base64!!" }] }), /clip 0: "data" is not valid base64/],
  ])("rejects %j", (bad, message) => {
    expect(() => parseStaticGrid(bad)).toThrow(PayloadError);
    expect(() => parseStaticGrid(bad)).toThrow(message);
  });

  it("leaves a clip without a sheet for parseClip to name", () => {
    const g = parseStaticGrid(doc({ clips: [{ ...clip, data: undefined }] }));
    expect(() => parseClip(g.content.clips[0], 0)).toThrow(/clip 0: "data" must be a binary buffer/);
  });
});
