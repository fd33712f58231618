// A saved grid is a file anyone can edit: numbers the player would choke on get a clear message or a stated clamp.
import { describe, expect, it, vi } from "vitest";
import { MAX_SHEET_PIXELS, parseStaticGrid } from "../lib/static_grid";
import { declaredSize, decodeSheet, parseClip, PayloadError } from "../lib/payload";

const clip = { kind: "rgb", format: "png", width: 32, height: 32, frames: 1, xstride: 32, ystride: 32, sheet_cols: 1, data: btoa("\x01") };
const doc = (over: Record<string, unknown> = {}) => ({ version: 1, clips: [clip], captions: ["a"], rows: 1, cols: 1, ...over });

/** The first 24 bytes of a PNG whose header says width × height (all a decoder reads to size its canvas). */
function pngHeader(width: number, height: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

/** A JPEG's start: SOI, an APP0 segment, then a baseline SOF0 with height and width. */
function jpegHeader(width: number, height: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return new Uint8Array([0xff, 0xd8, ...app0, ...sof, 0xff, 0xd9]);
}

describe("a saved grid's settings are clamped, and the clamp is stated", () => {
  it.each([
    [{ fps: 1e308 }, 120, /fps 1e\+308 is above 120; playing at 120 fps/],
    [{ fps: -5 }, 10, /fps -5 is not a positive number; playing at 10 fps/],
    [{ fps: "fast" }, 10, /fps "fast" is not a positive number/],
  ])("%j plays at a rate the box shows", (over, fps, message) => {
    const g = parseStaticGrid(doc(over));
    expect(g.fps).toBe(fps);
    expect(g.clamped.join("; ")).toMatch(message);
  });

  it.each([
    [{ zoom: 1e6 }, 32, /zoom 1000000 is above 32; shown at 32×/],
    [{ zoom: -2 }, 0, /zoom -2 is not 0 \(auto\) or a positive scale; zoom set to auto/],
  ])("%j is held to the player's zooms", (over, zoom, message) => {
    const g = parseStaticGrid(doc(over));
    expect(g.zoom).toBe(zoom);
    expect(g.clamped.join("; ")).toMatch(message);
  });

  it("keeps values in range, and missing ones at their defaults, without a word", () => {
    expect(parseStaticGrid(doc({ fps: 0.5, zoom: 4 }))).toMatchObject({ fps: 0.5, zoom: 4, clamped: [] });
    expect(parseStaticGrid(doc())).toMatchObject({ fps: 10, zoom: 0, clamped: [] });
  });
});

describe("messages say what the document is", () => {
  it.each([
    [[1, 2], /must be a JSON object .*got a list \(JSON array\)/],
    ["grid", /must be a JSON object .*got a string \("grid"\)/],
    [{ clips: [] }, /needs a "version" field .*it is missing/],
    [doc({ version: 2 }), /version 2 is not supported .*; update vidvis-widgets/],
    [doc({ clips: undefined }), /"clips" must be a list, got nothing \(the field is missing\)/],
    [doc({ clips: { a: 1 } }), /"clips" must be a list, got an object/],
  ])("%j", (bad, message) => {
    expect(() => parseStaticGrid(bad)).toThrow(PayloadError);
    expect(() => parseStaticGrid(bad)).toThrow(message);
  });

  it("does not tell a user with a garbled version to update", () => {
    expect(() => parseStaticGrid(doc({ version: "one" }))).toThrow(/version "one" is not supported \(this viewer reads version 1\)$/);
  });
});

describe("sheets too large to decode are refused before decoding", () => {
  it("refuses a saved sheet that would decode to 16384², naming its size and the limit", () => {
    const huge = { ...clip, width: 16384, height: 16384, xstride: 16384, ystride: 16384 };
    expect(() => parseStaticGrid(doc({ clips: [huge] }))).toThrow(/clip 0: its image sheet would decode to 16384×16384 px \(268 megapixels\); a saved grid's sheets are at most 33\.6 megapixels/);
    // the largest sheet allowed passes
    const side = Math.sqrt(MAX_SHEET_PIXELS);
    expect(() => parseStaticGrid(doc({ clips: [{ ...clip, width: side, height: side, xstride: side, ystride: side }] }))).not.toThrow();
  });

  it.each([
    ["png", pngHeader(16384, 16384)],
    ["jpeg", jpegHeader(16384, 16384)],
  ])("a small %s whose header says 16384² is refused without calling the decoder", async (format, bytes) => {
    expect(declaredSize(bytes, format as "png" | "jpeg")).toEqual({ width: 16384, height: 16384 });
    const payload = parseClip({ ...clip, format, data: bytes }, 3)!;
    const decode = vi.fn(async () => ({ width: 16384, height: 16384 }));
    await expect(decodeSheet(payload, 3, decode)).rejects.toThrow(/clip 3: the (png|jpeg) image is 16384x16384 \(from its header; not decoded\), expected 32x32/);
    expect(decode).not.toHaveBeenCalled();
  });

  it("decodes an image whose header matches", async () => {
    const payload = parseClip({ ...clip, data: pngHeader(32, 32) }, 0)!;
    const decode = vi.fn(async () => ({ width: 32, height: 32 }));
    await expect(decodeSheet(payload, 0, decode)).resolves.toEqual({ width: 32, height: 32 });
    expect(decode).toHaveBeenCalledOnce();
  });
});
