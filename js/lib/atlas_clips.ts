// The atlas's clips on a page: a video file plays in a <video>; a frame sheet (an image holding every frame on a
// grid, `columns` frames a row, a strip when not given) plays as a CSS background stepped by a timer; a still is
// an <img>. Media are never drawn on a canvas, so a page opened from file:// (where images count as another
// origin) shows them all the same. Pure layout helpers are exported for the tests.

import type { AtlasClip, AtlasInput, AtlasSprite, AtlasUnitCell } from "./atlas_types";
import { h } from "./dom";

export interface ClipHandle {
  el: HTMLElement;
  play(): void;
  pause(): void;
  dispose(): void;
}

/** The streams of an input in the order they are shown. */
export const STREAMS = ["appearance", "motion", "video"] as const;

/** Pixels a clip is shown at: small clips are enlarged by a whole factor, large ones shrunk to `target`. */
export function displaySize(width: number, height: number, target = 128): { width: number; height: number } {
  const side = Math.max(width, height, 1);
  const scale = side >= target ? target / side : Math.max(1, Math.floor(target / side));
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** Frames a row of a sheet (a horizontal strip unless the clip says otherwise). */
export function sheetColumns(clip: AtlasClip): number {
  const c = (clip as AtlasClip & { columns?: unknown }).columns;
  return typeof c === "number" && Number.isInteger(c) && c > 0 ? c : Math.max(1, clip.frames);
}

/** CSS background size and position that show cell `cell` of a sheet with `columns` cells a row, each
 * `cellW`×`cellH` pixels, at `shownW`×`shownH` pixels. */
export function cellBackground(
  cell: number, columns: number, cellW: number, cellH: number, shownW: number, shownH: number,
): { size: string; position: string } {
  const sx = shownW / cellW;
  const sy = shownH / cellH;
  const col = cell % columns;
  const row = Math.floor(cell / columns);
  return {
    size: `${columns * cellW * sx}px auto`,
    position: `${-col * cellW * sx}px ${-row * cellH * sy}px`,
  };
}

/** The sprite cell of a unit in a layer grid. */
export function spriteBackground(sprite: AtlasSprite, cell: number, shownW: number, shownH: number) {
  return cellBackground(cell, sprite.columns, sprite.cell_width, sprite.cell_height, shownW, shownH);
}

/** Units ordered by class selectivity, highest first (a unit with none last); stable for equal values. */
export function orderUnits(units: AtlasUnitCell[]): AtlasUnitCell[] {
  const key = (u: AtlasUnitCell) => (typeof u.selectivity === "number" && Number.isFinite(u.selectivity) ? u.selectivity : -Infinity);
  return units.map((u, i) => [u, i] as const).sort((a, b) => key(b[0]) - key(a[0]) || a[1] - b[1]).map(([u]) => u);
}

/** A URL inside CSS url("…"): quotes, backslashes and newlines percent-encoded. */
export function cssUrl(url: string): string {
  return `url("${url.replace(/["\\\n\r]/g, (c) => encodeURIComponent(c))}")`;
}

function isVideo(clip: AtlasClip): boolean {
  return clip.mime.startsWith("video/");
}

/** One clip, playing (or ready to) at its display size. `data-atlas-clip` names its ref; `data-frame` the frame
 * a sheet shows now; a video's own currentTime tells where it is. */
export function clipView(clip: AtlasClip, url: string, opts: { autoplay?: boolean; target?: number } = {}): ClipHandle {
  const size = displaySize(clip.width, clip.height, opts.target);
  const attrs = {
    class: "vv-atlas-media",
    "data-atlas-clip": clip.ref,
    "data-frames": String(clip.frames),
    style: `width:${size.width}px;height:${size.height}px`,
  };
  if (isVideo(clip)) {
    const v = h("video", { ...attrs, muted: "", loop: "", playsinline: "", preload: "auto" });
    v.muted = true; // the attribute alone does not mute a video made by script, and autoplay needs it muted
    v.src = url;
    const play = () => void v.play().catch(() => undefined);
    if (opts.autoplay) play();
    return { el: v, play, pause: () => v.pause(), dispose: () => { v.pause(); v.removeAttribute("src"); v.load(); } };
  }
  if (clip.frames <= 1) {
    const img = h("img", { ...attrs, alt: "", draggable: "false" });
    img.src = url;
    return { el: img, play: () => undefined, pause: () => undefined, dispose: () => undefined };
  }
  const el = h("div", { ...attrs, role: "img", "data-frame": "0", "data-playing": "0" });
  el.style.backgroundImage = cssUrl(url);
  const columns = sheetColumns(clip);
  const show = (f: number) => {
    const bg = cellBackground(f, columns, clip.width, clip.height, size.width, size.height);
    el.style.backgroundSize = bg.size;
    el.style.backgroundPosition = bg.position;
    el.dataset.frame = String(f);
  };
  show(0);
  let timer: ReturnType<typeof setInterval> | undefined;
  let frame = 0;
  const pause = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    el.dataset.playing = "0";
  };
  const play = () => {
    if (timer !== undefined) return;
    el.dataset.playing = "1";
    timer = setInterval(() => show((frame = (frame + 1) % clip.frames)), 1000 / (clip.fps && clip.fps > 0 ? clip.fps : 10));
  };
  if (opts.autoplay) play();
  return { el, play, pause, dispose: pause };
}

/** The streams of one input side by side, each with its name; all play together. */
export function inputView(
  input: AtlasInput, mediaUrl: (ref: string) => Promise<string>, opts: { autoplay?: boolean; target?: number } = {},
): ClipHandle {
  const el = h("div", { class: "vv-atlas-input" });
  const handles: ClipHandle[] = [];
  let playing = !!opts.autoplay;
  let disposed = false;
  for (const stream of STREAMS) {
    const clip = input[stream];
    if (!clip) continue;
    const box = h("figure", { class: "vv-atlas-stream", "data-stream": stream });
    const placeholder = h("div", { class: "vv-atlas-media vv-atlas-loading" });
    const size = displaySize(clip.width, clip.height, opts.target);
    placeholder.style.width = `${size.width}px`;
    placeholder.style.height = `${size.height}px`;
    box.append(placeholder, h("figcaption", {}, stream));
    el.append(box);
    void mediaUrl(clip.ref).then(
      (url) => {
        if (disposed) return;
        const handle = clipView(clip, url, { autoplay: playing, target: opts.target });
        handles.push(handle);
        placeholder.replaceWith(handle.el);
      },
      (err) => {
        placeholder.classList.add("vv-atlas-error");
        placeholder.textContent = String(err?.message ?? err);
      },
    );
  }
  if (!el.childElementCount) el.append(h("span", { class: "vv-atlas-none" }, "no media"));
  return {
    el,
    play: () => { playing = true; handles.forEach((x) => x.play()); },
    pause: () => { playing = false; handles.forEach((x) => x.pause()); },
    dispose: () => { disposed = true; handles.forEach((x) => x.dispose()); },
  };
}
