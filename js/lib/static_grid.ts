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
}

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

/** Validates a saved grid document and turns its base64 sheets into bytes the player decodes. */
export function parseStaticGrid(raw: unknown): StaticGrid {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new PayloadError(`a saved clip grid must be a JSON object, got ${raw === null ? "null" : typeof raw}`);
  }
  const doc = raw as Record<string, unknown>;
  if (doc.version !== 1) {
    throw new PayloadError(`saved clip grid version ${JSON.stringify(doc.version)} is not supported (this viewer reads version 1); update vidvis-widgets`);
  }
  if (!Array.isArray(doc.clips)) throw new PayloadError(`"clips" must be a list, got ${typeof doc.clips}`);
  const clips = doc.clips.map((c, i) => {
    if (c === null || c === undefined) return null;
    if (typeof c !== "object") return c; // parseClip reports it with the clip's index
    const entry = c as Record<string, unknown>;
    if (typeof entry.data !== "string") return entry; // and a missing or non-text sheet too
    return { ...entry, data: base64Bytes(entry.data, `clip ${i}`) };
  });
  return {
    content: {
      clips,
      captions: strings(doc.captions, "captions"),
      rows: num(doc.rows, 1),
      cols: num(doc.cols, clips.length),
      rowHeaders: strings(doc.row_headers, "row_headers"),
      colHeaders: strings(doc.col_headers, "col_headers"),
    },
    fps: num(doc.fps, 10),
    loop: doc.loop === undefined ? true : Boolean(doc.loop),
    zoom: num(doc.zoom, 0),
    playing: doc.playing === undefined ? true : Boolean(doc.playing),
    note: typeof doc.note === "string" ? doc.note : "",
  };
}

/** Mounts a player for a saved grid in `host`; a bad document shows its error in place of the clips. */
export async function mountStaticGrid(host: HTMLElement, raw: unknown): Promise<ClipGridPlayer> {
  const player = new ClipGridPlayer({
    onUserState() {},
    onUserSettings(s) {
      if (s.fps !== undefined) player.setFps(s.fps);
      if (s.loop !== undefined) player.setLoop(s.loop);
      if (s.zoom !== undefined) player.setZoom(s.zoom);
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
  player.setFps(grid.fps);
  player.setLoop(grid.loop);
  player.setZoom(grid.zoom);
  player.setPlaying(grid.playing);
  await player.setContent(grid.content);
  return player;
}
