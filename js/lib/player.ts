// The synced clip grid: decodes clip sheets, lays cells out on a CSS grid and
// draws every cell from one PlaybackClock. Widgets wrap it and map their model
// traits onto its setters.

import { autoZoom, gridLayout } from "./layout";
import { PlaybackClock, clipFrame } from "./clock";
import { decodeSheet, frameRect, parseClip, type ClipPayload } from "./payload";
import { button, h, setIcon } from "./dom";

export interface GridContent {
  clips: unknown[];
  captions: string[];
  rows: number;
  cols: number;
  rowHeaders: string[];
  colHeaders: string[];
}

export interface PlayerCallbacks {
  /** user paused/played/scrubbed/stepped; `frame` is the frame now shown */
  onUserState(state: { playing: boolean; frame: number }): void;
  onUserSettings(settings: { fps?: number; loop?: boolean; zoom?: number }): void;
}

interface Cell {
  clip: ClipPayload;
  image: ImageBitmap;
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
  shown: number;
}

export interface PlayerStats {
  firstFrameMs: number | null;
  decodeMs: number | null;
  /** number of times the global frame index advanced */
  frameAdvances: number;
  draws: number;
  /** main-thread time spent drawing frames */
  drawMs: number;
}

const ZOOMS = [0, 1, 2, 3, 4, 6, 8];
const FLOW_HINT = "optical flow: red = horizontal, green = vertical, blue = magnitude";

async function decodeBitmap(bytes: Uint8Array, mime: string): Promise<ImageBitmap> {
  return createImageBitmap(new Blob([bytes as BlobPart], { type: mime }));
}

export class ClipGridPlayer {
  readonly root: HTMLDivElement;
  readonly stats: PlayerStats = { firstFrameMs: null, decodeMs: null, frameAdvances: 0, draws: 0, drawMs: 0 };
  private readonly grid: HTMLDivElement;
  private readonly error: HTMLDivElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly scrub: HTMLInputElement;
  private readonly frameLabel: HTMLSpanElement;
  private readonly fpsInput: HTMLInputElement;
  private readonly loopBox: HTMLInputElement;
  private readonly zoomSelect: HTMLSelectElement;
  private readonly clock = new PlaybackClock(1);
  private cells: (Cell | null)[] = [];
  private frame = 0;
  private zoom = 0;
  /** what the model asks for; the clock can only run once there are frames to play */
  private wantPlaying = false;
  private generation = 0;
  private raf = 0;
  private readonly t0 = performance.now();
  private destroyed = false;

  constructor(private readonly callbacks: PlayerCallbacks) {
    this.root = h("div", { class: "vv-player", tabindex: "0", "data-lm-suppress-shortcuts": "true" });
    const bar = h("div", { class: "vv-toolbar" });
    this.playBtn = button("play", "Play/pause (space)", () => this.togglePlay());
    this.playBtn.classList.add("vv-play");
    const back = button("back", "Previous frame (←)", () => this.step(-1));
    const fwd = button("forward", "Next frame (→)", () => this.step(1));
    this.scrub = h("input", { type: "range", min: "0", max: "0", step: "1", value: "0", class: "vv-scrub", "aria-label": "Frame" });
    this.scrub.addEventListener("input", () => this.seekByUser(Number(this.scrub.value)));
    this.frameLabel = h("span", { class: "vv-frame-label" }, "0 / 0");
    this.fpsInput = h("input", { type: "number", min: "1", max: "120", step: "1", value: "10", class: "vv-fps", title: "Frames per second" });
    this.fpsInput.addEventListener("change", () => {
      const fps = Number(this.fpsInput.value);
      if (fps > 0) this.callbacks.onUserSettings({ fps });
    });
    const loopLabel = h("label", { class: "vv-loop", title: "Loop (l)" });
    this.loopBox = h("input", { type: "checkbox" });
    this.loopBox.addEventListener("change", () => this.callbacks.onUserSettings({ loop: this.loopBox.checked }));
    loopLabel.append(this.loopBox, document.createTextNode(" loop"));
    this.zoomSelect = h("select", { class: "vv-zoom", title: "Zoom (+/-)" });
    for (const z of ZOOMS) this.zoomSelect.append(h("option", { value: String(z) }, z === 0 ? "auto" : `${z}×`));
    this.zoomSelect.addEventListener("change", () => this.callbacks.onUserSettings({ zoom: Number(this.zoomSelect.value) }));
    bar.append(this.playBtn, back, fwd, this.scrub, this.frameLabel, h("span", { class: "vv-sep" }, "fps"), this.fpsInput, loopLabel, this.zoomSelect);
    this.grid = h("div", { class: "vv-grid" });
    this.error = h("div", { class: "vv-error", role: "alert" });
    this.error.hidden = true;
    this.root.append(bar, this.error, this.grid);
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    this.tick = this.tick.bind(this);
    this.raf = requestAnimationFrame(this.tick);
  }

  /** Replaces the clips; cells keep playing from the current frame. */
  async setContent(content: GridContent): Promise<void> {
    const gen = ++this.generation;
    const start = performance.now();
    try {
      const parsed = content.clips.map((c, i) => parseClip(c, i));
      const layout = gridLayout({
        count: parsed.length,
        rows: content.rows,
        cols: content.cols,
        rowHeaders: content.rowHeaders,
        colHeaders: content.colHeaders,
      });
      const images = await Promise.all(parsed.map((c, i) => (c ? decodeSheet(c, i, decodeBitmap) : null)));
      if (gen !== this.generation || this.destroyed) {
        images.forEach((im) => im?.close());
        return;
      }
      this.stats.decodeMs = performance.now() - start;
      for (const cell of this.cells) cell?.image.close();
      this.grid.replaceChildren();
      this.grid.style.gridTemplateColumns = layout.templateColumns;
      content.colHeaders.forEach((text, c) => this.placeHeader(text, "vv-col-header", layout.colHeaders[c]));
      content.rowHeaders.forEach((text, r) => this.placeHeader(text, "vv-row-header", layout.rowHeaders[r]));
      this.cells = parsed.map((clip, i) => {
        const fig = h("figure", { class: "vv-cell", "data-index": String(i) });
        fig.style.gridRow = String(layout.cells[i].gridRow);
        fig.style.gridColumn = String(layout.cells[i].gridColumn);
        this.grid.append(fig);
        const caption = content.captions[i] ?? "";
        if (!clip) {
          fig.classList.add("vv-empty");
          if (caption) fig.append(h("figcaption", {}, caption));
          return null;
        }
        const canvas = h("canvas", { width: String(clip.width), height: String(clip.height), class: "vv-canvas" });
        const ctx = canvas.getContext("2d");
        if (!ctx) throw new Error("this browser gives no 2D canvas context");
        const wrap = h("div", { class: "vv-frame" });
        wrap.append(canvas);
        if (clip.kind !== "rgb") {
          wrap.append(h("span", { class: `vv-badge vv-badge-${clip.kind}`, title: clip.kind === "flow" ? FLOW_HINT : "single image" }, clip.kind));
        }
        fig.append(wrap);
        const info = clip.kind === "image" ? "image" : `${clip.frames} frames`;
        fig.append(h("figcaption", { title: `${caption ? caption + " — " : ""}${clip.width}×${clip.height}, ${info}` }, caption));
        return { clip, image: images[i] as ImageBitmap, canvas, ctx, shown: -1 };
      });
      const frames = Math.max(1, ...this.cells.map((c) => (c ? c.clip.frames : 1)));
      this.clock.setNumFrames(frames, performance.now());
      if (this.wantPlaying && !this.clock.playing) this.clock.play(performance.now());
      this.scrub.max = String(frames - 1);
      this.applyZoom();
      this.hideError();
      this.draw(true);
      if (this.stats.firstFrameMs === null) {
        this.stats.firstFrameMs = performance.now() - this.t0;
        this.root.dataset.firstFrameMs = this.stats.firstFrameMs.toFixed(1);
      }
      this.root.dataset.ready = "true";
      this.root.dataset.generation = String(gen);
    } catch (err) {
      if (gen === this.generation) this.showError(err);
    }
  }

  setPlaying(playing: boolean): void {
    this.wantPlaying = playing;
    const now = performance.now();
    if (playing) this.clock.play(now);
    else this.clock.pause(now);
    this.updateControls();
  }

  setFrame(frame: number): void {
    this.clock.seek(frame, performance.now());
    this.draw(false);
  }

  setFps(fps: number): void {
    this.clock.setFps(fps, performance.now());
    this.fpsInput.value = String(fps);
  }

  setLoop(loop: boolean): void {
    this.clock.loop = loop;
    this.loopBox.checked = loop;
  }

  setZoom(zoom: number): void {
    this.zoom = zoom;
    this.applyZoom();
  }

  showError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.error.textContent = `vidvis-widgets could not show these clips: ${message}`;
    this.error.hidden = false;
    this.root.dataset.error = message;
    this.root.dataset.ready = "error";
  }

  destroy(): void {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    for (const cell of this.cells) cell?.image.close();
    this.cells = [];
  }

  private hideError(): void {
    this.error.hidden = true;
    this.error.textContent = "";
    delete this.root.dataset.error;
  }

  private placeHeader(text: string, cls: string, at: { gridRow: number; gridColumn: number }): void {
    const el = h("div", { class: cls }, text);
    el.style.gridRow = String(at.gridRow);
    el.style.gridColumn = String(at.gridColumn);
    this.grid.append(el);
  }

  private applyZoom(): void {
    const maxSide = Math.max(0, ...this.cells.map((c) => (c ? Math.max(c.clip.width, c.clip.height) : 0)));
    const z = this.zoom > 0 ? this.zoom : autoZoom(maxSide);
    for (const cell of this.cells) {
      if (!cell) continue;
      cell.canvas.style.width = `${cell.clip.width * z}px`;
      cell.canvas.style.height = `${cell.clip.height * z}px`;
    }
    this.zoomSelect.value = String(ZOOMS.includes(this.zoom) ? this.zoom : 0);
    this.root.dataset.zoom = String(z);
  }

  private tick(): void {
    if (this.destroyed) return;
    const wasPlaying = this.clock.playing;
    this.draw(false);
    if (wasPlaying && !this.clock.playing) {
      // reached the end of a non-looping clip
      this.updateControls();
      this.callbacks.onUserState({ playing: false, frame: this.frame });
    }
    this.raf = requestAnimationFrame(this.tick);
  }

  private draw(force: boolean): void {
    const start = performance.now();
    const frame = this.clock.frameAt(start);
    if (frame !== this.frame) this.stats.frameAdvances++;
    this.frame = frame;
    for (const cell of this.cells) {
      if (!cell) continue;
      const f = clipFrame(frame, cell.clip.frames);
      if (!force && f === cell.shown) continue;
      const r = frameRect(cell.clip, f);
      cell.ctx.clearRect(0, 0, r.sw, r.sh);
      cell.ctx.drawImage(cell.image, r.sx, r.sy, r.sw, r.sh, 0, 0, r.sw, r.sh);
      cell.shown = f;
      this.stats.draws++;
    }
    this.updateControls();
    this.stats.drawMs += performance.now() - start;
  }

  private updateControls(): void {
    const n = this.clock.numFrames;
    const icon = this.clock.playing ? "pause" : "play";
    if (this.playBtn.getAttribute("data-icon") !== icon) setIcon(this.playBtn, icon);
    this.root.dataset.playing = String(this.clock.playing);
    this.root.dataset.frame = String(this.frame);
    const label = `${this.frame + 1} / ${n}`;
    if (this.frameLabel.textContent !== label) this.frameLabel.textContent = label;
    if (this.scrub.value !== String(this.frame)) this.scrub.value = String(this.frame);
  }

  private togglePlay(): void {
    this.setPlaying(!this.clock.playing);
    this.wantPlaying = this.clock.playing;
    this.draw(false);
    this.callbacks.onUserState({ playing: this.clock.playing, frame: this.frame });
  }

  private step(delta: number): void {
    this.clock.step(delta, performance.now());
    this.draw(false);
    this.callbacks.onUserState({ playing: false, frame: this.frame });
  }

  private seekByUser(frame: number): void {
    this.clock.pause(performance.now());
    this.clock.seek(frame, performance.now());
    this.draw(false);
    this.callbacks.onUserState({ playing: false, frame: this.frame });
  }

  private onKey(e: KeyboardEvent): void {
    const actions: Record<string, () => void> = {
      " ": () => this.togglePlay(),
      k: () => this.togglePlay(),
      ArrowLeft: () => this.step(-1),
      ",": () => this.step(-1),
      ArrowRight: () => this.step(1),
      ".": () => this.step(1),
      Home: () => this.seekByUser(0),
      End: () => this.seekByUser(this.clock.numFrames - 1),
      l: () => this.callbacks.onUserSettings({ loop: !this.clock.loop }),
      "+": () => this.zoomBy(1),
      "=": () => this.zoomBy(1),
      "-": () => this.zoomBy(-1),
    };
    const action = actions[e.key];
    if (!action || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    e.preventDefault();
    e.stopPropagation();
    action();
  }

  private zoomBy(delta: number): void {
    const current = Number(this.root.dataset.zoom ?? "1");
    const steps = ZOOMS.filter((z) => z > 0);
    const i = steps.findIndex((z) => z >= current);
    const next = steps[Math.max(0, Math.min(steps.length - 1, (i < 0 ? steps.length - 1 : i) + delta))];
    this.callbacks.onUserSettings({ zoom: next });
  }
}
