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

/** The pixel size an image's header declares (PNG, JPEG, WebP), read without decoding; null if not found. */
export function declaredSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const b = bytes;
  const u16 = (i: number) => (b[i] << 8) | b[i + 1];
  const u32 = (i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
  const le16 = (i: number) => b[i] | (b[i + 1] << 8);
  const le24 = (i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
  if (format === "png") {
    // 8-byte signature, then the IHDR chunk: length, "IHDR", width, height
    if (b.length < 24 || b[0] !== 0x89 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return null;
    return { width: u32(16), height: u32(20) };
  }
  if (format === "jpeg") {
    if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) { i += 1; continue; } // fill byte
      // a start-of-frame marker (SOF0–SOF15 but DHT, JPG and DAC) holds the frame's height and width
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: u16(i + 7), height: u16(i + 5) };
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
      i += 2 + u16(i + 2);
    }
    return null;
  }
  // WebP: "RIFF" size "WEBP" then a VP8 , VP8L or VP8X chunk
  if (b.length < 30 || String.fromCharCode(b[8], b[9], b[10], b[11]) !== "WEBP") return null;
  const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (chunk === "VP8 ") return { width: le16(26) & 0x3fff, height: le16(28) & 0x3fff };
  if (chunk === "VP8L") {
    const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") return { width: le24(24) + 1, height: le24(27) + 1 };
  return null;
}

/** Decodes the sheet and checks that it has the size the metadata promised: first from the image's header,
 * so that a small file that would decode to a huge image is refused before it is decoded. */
export async function decodeSheet<I extends DecodedImage>(
  clip: ClipPayload,
  index: number,
  decode: ImageDecoder<I>,
): Promise<I> {
  const want = sheetSize(clip);
  const declared = declaredSize(clip.data, clip.format);
  if (declared && (declared.width !== want.width || declared.height !== want.height)) {
    throw new PayloadError(
      `clip ${index}: the ${clip.format} image is ${declared.width}x${declared.height} (from its header; not decoded), ` +
        `expected ${want.width}x${want.height} from the clip's frames and strides`,
    );
  }
  let image: I;
  try {
    image = await decode(clip.data, MIME_TYPES[clip.format]);
  } catch (err) {
    throw new PayloadError(`clip ${index}: the ${clip.format} data could not be decoded (${String(err)})`);
  }
  if (image.width !== want.width || image.height !== want.height) {
    throw new PayloadError(
      `clip ${index}: decoded image is ${image.width}x${image.height}, expected ${want.width}x${want.height}`,
    );
  }
  return image;
}
