// A saved clip grid (the vidvis mimetype's document) played by the same ClipGridPlayer the widget uses.
// The document is self-contained: each clip is one base64 image sheet, so it plays with no kernel, no
// widget manager and no network. User settings (fps, loop, zoom) apply locally; there is no model to tell.

import { ClipGridPlayer, type GridContent } from "./player";
import { PayloadError } from "./payload";
import { h } from "./dom";

export const CLIPS_MIME = "application/vnd.vidvis.clips.v1+json";

export interface StaticGrid {
  content: GridContent;
  fps: number;
  loop: boolean;
  zoom: number;
  playing: boolean;
  note: string;
  /** values of the document this viewer changed to ones it can show (shown under the player) */
  clamped: string[];
}

/** The limits a saved grid's settings are held to: the live widget's own (fps in (0, 120], zoom 0 or up to 32). */
export const MAX_FPS = 120;
export const DEFAULT_FPS = 10;
export const MAX_ZOOM = 32;
/** A saved grid's sheet (all frames of one clip) decodes to at most this many pixels: 2^25, 128 MiB as RGBA. */
export const MAX_SHEET_PIXELS = 2 ** 25;

function base64Bytes(text: string, where: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    throw new PayloadError(`${where}: "data" is not valid base64`);
  }
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function strings(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PayloadError(`"${key}" must be a list of strings, got ${typeof v}`);
  return v.map((s) => String(s));
}

function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/** What a JSON value is, in words: "a list", "an object", "null", "a string", …; a missing field says so. */
export function describeJson(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list (JSON array)";
  if (typeof v === "object") return "an object";
  return `a ${typeof v} (${JSON.stringify(v)})`;
}

/** fps as the player can play it: (0, 120]; above, 120; not a positive number, 10. Says what it changed. */
export function clampFps(v: unknown, clamped: string[]): number {
  if (v === undefined) return DEFAULT_FPS;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    clamped.push(`fps ${JSON.stringify(v)} is not a positive number; playing at ${DEFAULT_FPS} fps`);
    return DEFAULT_FPS;
  }
  if (v > MAX_FPS) {
    clamped.push(`fps ${v} is above ${MAX_FPS}; playing at ${MAX_FPS} fps`);
    return MAX_FPS;
  }
  return v;
}

/** zoom as the player can show it: 0 (auto) or a scale up to 32. Says what it changed. */
export function clampZoom(v: unknown, clamped: string[]): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    clamped.push(`zoom ${JSON.stringify(v)} is not 0 (auto) or a positive scale; zoom set to auto`);
    return 0;
  }
  if (v > MAX_ZOOM) {
    clamped.push(`zoom ${v} is above ${MAX_ZOOM}; shown at ${MAX_ZOOM}×`);
    return MAX_ZOOM;
  }
  return v;
}

function checkSheetSize(entry: Record<string, unknown>, index: number): void {
  const n = (k: string) => (typeof entry[k] === "number" && Number.isInteger(entry[k]) && (entry[k] as number) > 0 ? (entry[k] as number) : 0);
  const [frames, cols, xs, ys] = [n("frames"), n("sheet_cols"), n("xstride"), n("ystride")];
  if (!frames || !cols || !xs || !ys) return; // parseClip names what is wrong with them
  const width = cols * xs;
  const height = Math.ceil(frames / cols) * ys;
  if (width * height > MAX_SHEET_PIXELS) {
    throw new PayloadError(
      `clip ${index}: its image sheet would decode to ${width}×${height} px (${((width * height) / 1e6).toFixed(0)} megapixels); ` +
        `a saved grid's sheets are at most ${(MAX_SHEET_PIXELS / 1e6).toFixed(1)} megapixels each, so it is not decoded. ` +
        "Save the grid with fewer or smaller frames (vidvis_widgets.static_outputs(budget=...) sets the size)",
    );
  }
}

/** Validates a saved grid document and turns its base64 sheets into bytes the player decodes. */
export function parseStaticGrid(raw: unknown): StaticGrid {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new PayloadError(`a saved clip grid must be a JSON object ({"version": 1, "clips": [...], ...}), got ${describeJson(raw)}`);
  }
  const doc = raw as Record<string, unknown>;
  if (doc.version === undefined) {
    throw new PayloadError(`a saved clip grid needs a "version" field (this viewer reads version 1); it is missing`);
  }
  if (doc.version !== 1) {
    const newer = typeof doc.version === "number" && doc.version > 1;
    throw new PayloadError(
      `saved clip grid version ${JSON.stringify(doc.version)} is not supported (this viewer reads version 1)` +
        (newer ? "; update vidvis-widgets" : ""),
    );
  }
  if (!Array.isArray(doc.clips)) throw new PayloadError(`"clips" must be a list, got ${describeJson(doc.clips)}`);
  const clips = doc.clips.map((c, i) => {
    if (c === null || c === undefined) return null;
    if (typeof c !== "object") return c; // parseClip reports it with the clip's index
    const entry = c as Record<string, unknown>;
    checkSheetSize(entry, i);
    if (typeof entry.data !== "string") return entry; // and a missing or non-text sheet too
    return { ...entry, data: base64Bytes(entry.data, `clip ${i}`) };
  });
  const clamped: string[] = [];
  return {
    content: {
      clips,
      captions: strings(doc.captions, "captions"),
      rows: num(doc.rows, 1),
      cols: num(doc.cols, clips.length),
      rowHeaders: strings(doc.row_headers, "row_headers"),
      colHeaders: strings(doc.col_headers, "col_headers"),
    },
    fps: clampFps(doc.fps, clamped),
    loop: doc.loop === undefined ? true : Boolean(doc.loop),
    zoom: clampZoom(doc.zoom, clamped),
    playing: doc.playing === undefined ? true : Boolean(doc.playing),
    note: typeof doc.note === "string" ? doc.note : "",
    clamped,
  };
}

/** Mounts a player for a saved grid in `host`; a bad document shows its error in place of the clips. */
export async function mountStaticGrid(host: HTMLElement, raw: unknown): Promise<ClipGridPlayer> {
  const player = new ClipGridPlayer({
    onUserState() {},
    onUserSettings(s) {
      if (s.fps !== undefined) player.setFps(clampFps(s.fps, []));
      if (s.loop !== undefined) player.setLoop(s.loop);
      if (s.zoom !== undefined) player.setZoom(clampZoom(s.zoom, []));
    },
  });
  host.append(player.root);
  (host as unknown as { __vvPlayer: ClipGridPlayer }).__vvPlayer = player;
  let grid: StaticGrid;
  try {
    grid = parseStaticGrid(raw);
  } catch (err) {
    player.showError(err);
    return player;
  }
  if (grid.note) host.append(h("p", { class: "vv-static-note" }, grid.note));
  if (grid.clamped.length) {
    host.append(h("p", { class: "vv-static-note vv-static-clamped" }, `This saved copy's settings were out of range: ${grid.clamped.join("; ")}.`));
  }
  player.setFps(grid.fps);
  player.setLoop(grid.loop);
  player.setZoom(grid.zoom);
  player.setPlaying(grid.playing);
  await player.setContent(grid.content);
  return player;
}
