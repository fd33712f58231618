// anywidget entry of vidvis_widgets.RegionPicker: one frame of a clip, boxes drawn on it by dragging, synced
// to Python as fractions of the frame. Names only ever reach the page through textContent.

import type { RenderProps } from "@anywidget/types";
import { h } from "./lib/dom";
import { decodeSheet, frameRect, parseClip, type ClipPayload } from "./lib/payload";
import "./clip_player.css";

export interface Box {
  name: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

interface PickerModel {
  _clip: unknown;
  frame: number;
  boxes: Box[];
  zoom: number;
}

const FIT = 320; // CSS pixels the longer side gets at zoom 0
const MIN_DRAG = 3; // CSS pixels: a shorter drag is a click, not a box

/** The box spanned by two points (fractions), clamped to the frame and ordered. */
export function spanned(ax: number, ay: number, bx: number, by: number): Omit<Box, "name"> {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return { x0: c(Math.min(ax, bx)), y0: c(Math.min(ay, by)), x1: c(Math.max(ax, bx)), y1: c(Math.max(ay, by)) };
}

/** The first "box k" not taken. */
export function nextName(boxes: readonly Box[]): string {
  const taken = new Set(boxes.map((b) => b.name));
  let k = boxes.length + 1;
  while (taken.has(`box ${k}`)) k += 1;
  return `box ${k}`;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(4)}%`;
}

function render({ model, el }: RenderProps<PickerModel>): () => void {
  const root = h("div", { class: "vv-region-picker", "data-ready": "false" });
  root.style.display = "inline-block";
  const stage = h("div", { class: "vv-rp-stage" });
  stage.style.cssText = "position:relative;display:inline-block;line-height:0;cursor:crosshair;user-select:none;touch-action:none";
  const canvas = h("canvas", { class: "vv-rp-frame" });
  canvas.style.imageRendering = "pixelated";
  const overlay = h("div", { class: "vv-rp-overlay" });
  overlay.style.cssText = "position:absolute;inset:0";
  stage.append(canvas, overlay);
  const bar = h("div", { class: "vv-toolbar" });
  const scrub = h("input", { type: "range", min: "0", max: "0", step: "1", value: "0", class: "vv-scrub", "aria-label": "Frame" });
  const label = h("span", { class: "vv-frame-label" }, "");
  bar.append(scrub, label);
  const list = h("ol", { class: "vv-rp-list" });
  list.style.cssText = "margin:4px 0;padding-left:1.5em;font:12px sans-serif;line-height:1.6";
  const error = h("div", { class: "vv-error" });
  error.hidden = true;
  root.append(stage, bar, list, error);
  el.append(root);

  let clip: ClipPayload | null = null;
  let image: ImageBitmap | null = null;
  let drawing: { ax: number; ay: number; el: HTMLDivElement } | null = null;
  let destroyed = false;

  const zoomOf = (c: ClipPayload) => {
    const z = model.get("zoom");
    return z > 0 ? z : Math.max(1, Math.floor(FIT / Math.max(c.width, c.height)));
  };

  function drawFrame(): void {
    if (!clip || !image) return;
    const t = Math.max(0, Math.min(clip.frames - 1, model.get("frame") | 0));
    const r = frameRect(clip, t);
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, r.sx, r.sy, r.sw, r.sh, 0, 0, clip.width, clip.height);
    scrub.value = String(t);
    label.textContent = `frame ${t + 1} / ${clip.frames}`;
    root.dataset.frame = String(t);
  }

  function layout(): void {
    if (!clip) return;
    const z = zoomOf(clip);
    canvas.width = clip.width;
    canvas.height = clip.height;
    canvas.style.width = `${clip.width * z}px`;
    canvas.style.height = `${clip.height * z}px`;
    scrub.max = String(clip.frames - 1);
    scrub.disabled = clip.frames < 2;
  }

  function boxElement(b: Omit<Box, "name">, name: string | null): HTMLDivElement {
    const d = h("div", { class: "vv-rp-box" });
    d.style.cssText = `position:absolute;box-sizing:border-box;border:2px solid #ffd400;background:rgba(255,212,0,0.12);` +
      `left:${pct(b.x0)};top:${pct(b.y0)};width:${pct(b.x1 - b.x0)};height:${pct(b.y1 - b.y0)};pointer-events:none`;
    if (name !== null) {
      const tag = h("span", { class: "vv-rp-name" }, name);
      tag.style.cssText = "position:absolute;left:0;top:0;font:11px/1.3 sans-serif;color:#000;background:#ffd400;padding:0 3px;white-space:nowrap";
      d.append(tag);
    }
    return d;
  }

  function showBoxes(): void {
    const boxes = model.get("boxes") ?? [];
    overlay.replaceChildren(...boxes.map((b) => boxElement(b, b.name)));
    list.replaceChildren(...boxes.map((b, i) => {
      const li = h("li", { class: "vv-rp-item" });
      const name = h("span", {}, `${b.name}: (${b.x0.toFixed(3)}, ${b.y0.toFixed(3)}) – (${b.x1.toFixed(3)}, ${b.y1.toFixed(3)})`);
      const remove = h("button", { type: "button", class: "vv-btn", title: `Remove ${b.name}`, "aria-label": `Remove ${b.name}` }, "×");
      remove.addEventListener("click", (e) => {
        e.stopPropagation();
        const now = [...(model.get("boxes") ?? [])];
        now.splice(i, 1);
        model.set("boxes", now);
        model.save_changes();
      });
      li.append(name, " ", remove);
      return li;
    }));
    root.dataset.boxes = String(boxes.length);
  }

  async function load(): Promise<void> {
    try {
      const c = parseClip(model.get("_clip"), 0);
      if (!c) return;
      const img = await decodeSheet(c, 0, (bytes, mime) => createImageBitmap(new Blob([bytes as BlobPart], { type: mime })));
      if (destroyed) return;
      image?.close();
      clip = c;
      image = img;
      error.textContent = "";
      error.hidden = true;
      layout();
      drawFrame();
      showBoxes();
      root.dataset.ready = "true";
    } catch (err) {
      error.textContent = String(err);
      error.hidden = false;
    }
  }

  const at = (e: PointerEvent) => {
    const r = overlay.getBoundingClientRect();
    return { x: (e.clientX - r.left) / Math.max(r.width, 1), y: (e.clientY - r.top) / Math.max(r.height, 1) };
  };
  overlay.addEventListener("pointerdown", (e) => {
    if (!clip || e.button !== 0) return;
    e.preventDefault();
    overlay.setPointerCapture?.(e.pointerId);
    const p = at(e);
    const d = boxElement(spanned(p.x, p.y, p.x, p.y), null);
    d.style.borderStyle = "dashed";
    overlay.append(d);
    drawing = { ax: p.x, ay: p.y, el: d };
  });
  overlay.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e);
    const b = spanned(drawing.ax, drawing.ay, p.x, p.y);
    Object.assign(drawing.el.style, { left: pct(b.x0), top: pct(b.y0), width: pct(b.x1 - b.x0), height: pct(b.y1 - b.y0) });
  });
  const finish = (e: PointerEvent) => {
    if (!drawing) return;
    const p = at(e);
    const b = spanned(drawing.ax, drawing.ay, p.x, p.y);
    drawing.el.remove();
    drawing = null;
    const r = overlay.getBoundingClientRect();
    if ((b.x1 - b.x0) * r.width < MIN_DRAG || (b.y1 - b.y0) * r.height < MIN_DRAG) return;
    const boxes = model.get("boxes") ?? [];
    model.set("boxes", [...boxes, { name: nextName(boxes), ...b }]);
    model.save_changes();
  };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", () => {
    drawing?.el.remove();
    drawing = null;
  });
  scrub.addEventListener("input", () => {
    model.set("frame", Number(scrub.value));
    model.save_changes();
    drawFrame();
  });

  const onClip = () => void load();
  const onFrame = () => drawFrame();
  const onBoxes = () => showBoxes();
  const onZoom = () => {
    layout();
    drawFrame();
  };
  model.on("change:_clip", onClip);
  model.on("change:frame", onFrame);
  model.on("change:boxes", onBoxes);
  model.on("change:zoom", onZoom);
  void load();
  return () => {
    destroyed = true;
    model.off("change:_clip", onClip);
    model.off("change:frame", onFrame);
    model.off("change:boxes", onBoxes);
    model.off("change:zoom", onZoom);
    image?.close();
  };
}

export default { render };
