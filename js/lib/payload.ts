// Clip payloads as Python's serializers send them: one compressed image
// ("sheet") per clip holding every frame on a grid, plus the metadata needed
// to cut frames back out of it. Binary data arrives as DataView buffers.

export type ClipKind = "rgb" | "flow" | "image";
export type ImageFormat = "jpeg" | "png" | "webp";

export interface ClipMeta {
  kind: ClipKind;
  format: ImageFormat;
  width: number;
  height: number;
  frames: number;
  /** pixel distance between frame origins in the sheet, >= width/height */
  xstride: number;
  ystride: number;
  /** frames per sheet row */
  sheet_cols: number;
}

export interface ClipPayload extends ClipMeta {
  data: Uint8Array;
}

export interface FrameRect {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
}

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PayloadError";
  }
}

export const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
};

const KINDS: readonly ClipKind[] = ["rgb", "flow", "image"];

function positiveInt(raw: Record<string, unknown>, key: string, where: string): number {
  const v = raw[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new PayloadError(`${where}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function asBytes(v: unknown, where: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new PayloadError(`${where}: "data" must be a binary buffer, got ${v === null ? "null" : typeof v}`);
}

/** Validates one clip entry; `null` marks an intentionally empty grid cell. */
export function parseClip(raw: unknown, index: number): ClipPayload | null {
  if (raw === null || raw === undefined) return null;
  const where = `clip ${index}`;
  if (typeof raw !== "object") throw new PayloadError(`${where}: expected an object, got ${typeof raw}`);
  const r = raw as Record<string, unknown>;
  const kind = r.kind as ClipKind;
  if (!KINDS.includes(kind)) throw new PayloadError(`${where}: unknown kind ${JSON.stringify(r.kind)}`);
  const format = r.format as ImageFormat;
  if (!(format in MIME_TYPES)) throw new PayloadError(`${where}: unknown image format ${JSON.stringify(r.format)}`);
  const meta: ClipMeta = {
    kind,
    format,
    width: positiveInt(r, "width", where),
    height: positiveInt(r, "height", where),
    frames: positiveInt(r, "frames", where),
    xstride: positiveInt(r, "xstride", where),
    ystride: positiveInt(r, "ystride", where),
    sheet_cols: positiveInt(r, "sheet_cols", where),
  };
  if (meta.xstride < meta.width || meta.ystride < meta.height) {
    throw new PayloadError(`${where}: frame stride ${meta.xstride}x${meta.ystride} is smaller than the frame ${meta.width}x${meta.height}`);
  }
  const data = asBytes(r.data, where);
  if (data.byteLength === 0) throw new PayloadError(`${where}: image data is empty`);
  return { ...meta, data };
}

export function sheetSize(meta: ClipMeta): { width: number; height: number } {
  const rows = Math.ceil(meta.frames / meta.sheet_cols);
  return { width: meta.sheet_cols * meta.xstride, height: rows * meta.ystride };
}

/** Where frame `t` sits in the decoded sheet. */
export function frameRect(meta: ClipMeta, t: number): FrameRect {
  const f = Math.max(0, Math.min(meta.frames - 1, Math.floor(t)));
  return {
    sx: (f % meta.sheet_cols) * meta.xstride,
    sy: Math.floor(f / meta.sheet_cols) * meta.ystride,
    sw: meta.width,
    sh: meta.height,
  };
}

export interface DecodedImage {
  width: number;
  height: number;
}

export type ImageDecoder<I extends DecodedImage> = (bytes: Uint8Array, mime: string) => Promise<I>;

/** Decodes the sheet and checks that it has the size the metadata promised. */
export async function decodeSheet<I extends DecodedImage>(
  clip: ClipPayload,
  index: number,
  decode: ImageDecoder<I>,
): Promise<I> {
  let image: I;
  try {
    image = await decode(clip.data, MIME_TYPES[clip.format]);
  } catch (err) {
    throw new PayloadError(`clip ${index}: the ${clip.format} data could not be decoded (${String(err)})`);
  }
  const want = sheetSize(clip);
  if (image.width !== want.width || image.height !== want.height) {
    throw new PayloadError(
      `clip ${index}: decoded image is ${image.width}x${image.height}, expected ${want.width}x${want.height}`,
    );
  }
  return image;
}
