import { describe, expect, it } from "vitest";
import { decodeSheet, frameRect, parseClip, PayloadError, sheetSize, type ClipPayload } from "../lib/payload";

const raw = (over: Record<string, unknown> = {}) => ({
  kind: "rgb",
  format: "jpeg",
  width: 112,
  height: 100,
  frames: 16,
  xstride: 112,
  ystride: 112,
  sheet_cols: 4,
  data: new DataView(new Uint8Array([1, 2, 3]).buffer),
  ...over,
});

describe("parseClip", () => {
  it("reads a payload and exposes the bytes of a DataView buffer", () => {
    const clip = parseClip(raw(), 0)!;
    expect(clip.frames).toBe(16);
    expect(Array.from(clip.data)).toEqual([1, 2, 3]);
  });

  it("keeps null as an empty cell", () => {
    expect(parseClip(null, 3)).toBeNull();
  });

  it.each([
    [{ kind: "depth" }, /unknown kind/],
    [{ format: "bmp" }, /unknown image format/],
    [{ frames: 0 }, /"frames" must be a positive integer/],
    [{ width: 1.5 }, /"width" must be a positive integer/],
    [{ xstride: 100 }, /smaller than the frame/],
    [{ data: [1, 2, 3] }, /must be a binary buffer/],
    [{ data: new DataView(new ArrayBuffer(0)) }, /empty/],
  ])("rejects %j with a message naming the problem", (over, message) => {
    expect(() => parseClip(raw(over), 7)).toThrow(message);
    expect(() => parseClip(raw(over), 7)).toThrow(/clip 7/);
  });
});

describe("sheet geometry", () => {
  const clip = parseClip(raw(), 0)!;

  it("lays frames row-major on the sheet", () => {
    expect(sheetSize(clip)).toEqual({ width: 448, height: 448 });
    expect(frameRect(clip, 0)).toEqual({ sx: 0, sy: 0, sw: 112, sh: 100 });
    expect(frameRect(clip, 5)).toEqual({ sx: 112, sy: 112, sw: 112, sh: 100 });
    expect(frameRect(clip, 15)).toEqual({ sx: 336, sy: 336, sw: 112, sh: 100 });
  });

  it("clamps frame indices to the clip", () => {
    expect(frameRect(clip, 99)).toEqual(frameRect(clip, 15));
    expect(frameRect(clip, -3)).toEqual(frameRect(clip, 0));
  });

  it("counts a partly filled last sheet row", () => {
    const odd = parseClip(raw({ frames: 5, sheet_cols: 2 }), 0)!;
    expect(sheetSize(odd)).toEqual({ width: 224, height: 336 });
  });
});

describe("decodeSheet", () => {
  const clip = parseClip(raw(), 2) as ClipPayload;

  it("passes the MIME type to the decoder and returns its image", async () => {
    let seen = "";
    const image = await decodeSheet(clip, 2, async (_bytes, mime) => {
      seen = mime;
      return { width: 448, height: 448 };
    });
    expect(seen).toBe("image/jpeg");
    expect(image.width).toBe(448);
  });

  it("reports an image whose size disagrees with the metadata", async () => {
    await expect(decodeSheet(clip, 2, async () => ({ width: 100, height: 448 }))).rejects.toThrow(
      /clip 2: decoded image is 100x448, expected 448x448/,
    );
  });

  it("reports undecodable data as a PayloadError", async () => {
    const failing = async () => {
      throw new Error("InvalidStateError");
    };
    await expect(decodeSheet(clip, 2, failing)).rejects.toBeInstanceOf(PayloadError);
    await expect(decodeSheet(clip, 2, failing)).rejects.toThrow(/could not be decoded/);
  });
});
