// The one atlas browser: the widget, the static site and the JupyterLab document each mount it on their own
// AtlasSource. Pages: home (layers, classes), a layer's unit grid (sprite-sheet cells, no fetch per cell), a
// unit (γ sweep, class histogram, top clips that play on a click, tubes) and a class (logit AM, LEAPS,
// confusions, misclassified clips, tubes). Every string from the data goes through textContent.

import type {
  AtlasClassPage, AtlasInput, AtlasLayerPage, AtlasManifest, AtlasRoute, AtlasSource, AtlasSweepEntry, AtlasTube,
  AtlasUnitPage,
} from "./atlas_types";
import { ATLAS_CSS } from "./atlas_browser_css";
import { cssUrl, displaySize, inputView, orderUnits, spriteBackground, clipView, type ClipHandle } from "./atlas_clips";
import { classPages, hashToRoute, routeToHash } from "./atlas_paths";
import { h } from "./dom";

export interface MountOptions {
  /** the first page (default: home, or the page location.hash names when `hash` is on) */
  route?: AtlasRoute;
  /** keep the route in location.hash, so the browser's back button works (the static site) */
  hash?: boolean;
  /** told each page shown */
  onRoute?: (route: AtlasRoute) => void;
  /** display size of a grid thumbnail's longer side, in pixels */
  thumb?: number;
}

export interface AtlasHandle {
  dispose(): void;
  navigate(route: AtlasRoute): void;
}

const SVG = "http://www.w3.org/2000/svg";

/** "5×7×7" for a per-axis size; "?" when unknown. */
export function axes(v: number[] | null | undefined): string {
  return v && v.length ? v.join("×") : "?";
}

function num(v: number | null | undefined, digits = 3): string {
  return typeof v === "number" && Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : "–";
}

/** Bars of a histogram in a `width`×`height` box: one per value, scaled to the largest; nulls are 0 high. */
export function histogramBars(values: (number | null)[], width: number, height: number) {
  const finite = values.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : 0));
  const top = Math.max(0, ...finite);
  const w = values.length ? width / values.length : 0;
  return finite.map((v, i) => {
    const bh = top > 0 ? (Math.max(0, v) / top) * height : 0;
    return { x: i * w, y: height - bh, width: Math.max(1, w - 1), height: bh, value: values[i] };
  });
}

export function mountAtlas(el: HTMLElement, source: AtlasSource, opts: MountOptions = {}): AtlasHandle {
  const root = h("div", { class: "vv-atlas", "data-testid": "atlas" });
  const style = h("style", {}, ATLAS_CSS);
  const bar = h("div", { class: "vv-atlas-bar" });
  const backBtn = h("button", { type: "button", class: "vv-atlas-back", "data-testid": "atlas-back" }, "← back");
  const title = h("span", { class: "vv-atlas-title" }, "atlas");
  const crumbs = h("span", { class: "vv-atlas-crumbs" });
  const main = h("div", { class: "vv-atlas-page", "data-testid": "atlas-page" });
  bar.append(backBtn, title, crumbs);
  root.append(style, bar, main);
  el.append(root);

  const useHash = !!opts.hash && typeof location !== "undefined";
  const history: AtlasRoute[] = [];
  let current: AtlasRoute = opts.route ?? (useHash ? hashToRoute(location.hash) : { page: "home" });
  let generation = 0;
  let clips: ClipHandle[] = [];
  let disposed = false;
  let manifest: Promise<AtlasManifest> | null = null;
  const getManifest = () => {
    manifest ??= source.manifest();
    manifest.catch(() => (manifest = null));
    return manifest;
  };
  backBtn.hidden = useHash;
  backBtn.disabled = true;
  backBtn.addEventListener("click", () => {
    const prev = history.pop();
    if (prev) show(prev);
  });

  /** A link to a route: a real hash link on the site; elsewhere a click that never touches the host's URL. */
  function link(route: AtlasRoute, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
    const a = h("a", { href: routeToHash(route), ...attrs }, text);
    a.addEventListener("click", (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      navigate(route);
    });
    return a;
  }

  /** A class's name, a link where the class has a page. */
  let pages = new Set<number>();
  let classNames: string[] = [];
  function classRef(cls: string | null): HTMLElement | string {
    if (cls === null) return "–";
    return pages.has(classNames.indexOf(cls)) ? link({ page: "class", cls }, cls, { "data-atlas-class": cls })
      : h("span", { class: "vv-atlas-nopage" }, cls);
  }

  function track(handle: ClipHandle): HTMLElement {
    clips.push(handle);
    return handle.el;
  }

  const mediaUrl = (ref: string) => source.mediaUrl(ref);

  function navigate(route: AtlasRoute): void {
    if (disposed) return;
    if (useHash) {
      const hash = routeToHash(route);
      if (location.hash !== hash) {
        location.hash = hash; // the hashchange handler shows it
        return;
      }
    } else if (routeToHash(route) !== routeToHash(current)) {
      history.push(current);
    }
    show(route);
  }

  const onHash = () => show(hashToRoute(location.hash));
  if (useHash) window.addEventListener("hashchange", onHash);

  function setCrumbs(route: AtlasRoute): void {
    const parts: HTMLElement[] = [h("span", {}, "")];
    parts[0].append(link({ page: "home" }, "home"));
    if (route.page === "layer" || route.page === "unit") {
      const s = h("span");
      s.append(link({ page: "layer", layer: route.layer }, route.layer));
      parts.push(s);
    }
    if (route.page === "unit") parts.push(h("span", {}, `unit ${route.unit}`));
    if (route.page === "class") parts.push(h("span", {}, `class ${route.cls}`));
    crumbs.replaceChildren(...parts);
  }

  async function show(route: AtlasRoute): Promise<void> {
    if (disposed) return;
    const g = ++generation;
    current = route;
    backBtn.disabled = history.length === 0;
    clips.forEach((c) => c.dispose());
    clips = [];
    setCrumbs(route);
    main.dataset.page = route.page;
    main.dataset.state = "loading";
    main.replaceChildren(h("div", { class: "vv-atlas-loading-text" }, "loading…"));
    try {
      const m = await getManifest();
      title.textContent = m.name;
      pages = classPages(m);
      classNames = m.classes;
      let page: HTMLElement;
      if (route.page === "layer") page = await layerPage(m, await source.layerPage(route.layer));
      else if (route.page === "unit") page = unitPage(await source.unitPage(route.layer, route.unit));
      else if (route.page === "class") page = classPage(await source.classPage(route.cls));
      else page = homePage(m);
      if (g !== generation) return;
      main.replaceChildren(page);
      main.dataset.state = "ready";
    } catch (err) {
      if (g !== generation) return;
      main.replaceChildren(h("div", { class: "vv-atlas-error", "data-testid": "atlas-error" },
        `Could not load this page: ${String((err as Error)?.message ?? err)}`));
      main.dataset.state = "error";
    }
    opts.onRoute?.(route);
  }

  // -- pages ---------------------------------------------------------------------------------------------------
  function homePage(m: AtlasManifest): HTMLElement {
    const page = h("div", { class: "vv-atlas-home" });
    page.append(h("h2", {}, m.name),
      h("div", { class: "vv-atlas-meta" }, `model ${m.model} · streams ${m.streams.join(", ")} · weights ${m.weights.slice(0, 12)}`));
    const table = h("table", { "data-testid": "atlas-layers" });
    const head = h("tr");
    for (const t of ["layer", "kind", "channels", "receptive field", "stride", "units shown"]) head.append(h("th", {}, t));
    table.append(head);
    for (const l of m.layers) {
      const tr = h("tr");
      const name = h("td");
      name.append(link({ page: "layer", layer: l.name }, l.name, { "data-atlas-layer": l.name }));
      tr.append(name, h("td", {}, l.kind), h("td", {}, String(l.channels)), h("td", {}, axes(l.receptive_field)),
        h("td", {}, axes(l.stride)), h("td", {}, String(l.units.length)));
      table.append(tr);
    }
    page.append(h("h3", {}, "Layers"), table);
    if (m.classes.length) {
      const list = h("div", { class: "vv-atlas-classes", "data-testid": "atlas-classes" });
      m.classes.forEach((c) => list.append(classRef(c)));
      page.append(h("h3", {}, "Classes"), list);
    }
    return page;
  }

  async function layerPage(m: AtlasManifest, p: AtlasLayerPage): Promise<HTMLElement> {
    const page = h("div", { class: "vv-atlas-layer" });
    const info = m.layers.find((l) => l.name === p.layer);
    page.append(h("h2", {}, p.layer), h("div", { class: "vv-atlas-meta" },
      `receptive field ${axes(p.receptive_field)} · stride ${axes(p.stride)} · ${p.units.length} units` +
      (info ? ` of ${info.channels}` : "") + " · ordered by class selectivity"));
    const urls = await Promise.all(p.sprites.map((s) => source.mediaUrl(s.ref)));
    const target = opts.thumb ?? 64;
    const shown = p.sprites.map((s) => displaySize(s.cell_width, s.cell_height, target));
    const gridW = shown.reduce((a, s) => a + s.width + 2, 6);
    const gridH = Math.max(0, ...shown.map((s) => s.height)) + 22;
    const grid = h("div", { class: "vv-atlas-grid", "data-testid": "atlas-grid" });
    grid.style.setProperty("--vv-cell", `${Math.max(150, gridW)}px`);
    grid.style.setProperty("--vv-cell-h", `${gridH}px`);
    // one background image per stream, shared by every cell: styles written once, no layout read in the loop
    const frag = document.createDocumentFragment();
    const isClasses = info?.kind === "classes";
    for (const u of orderUnits(p.units)) {
      const route: AtlasRoute = { page: "unit", layer: p.layer, unit: u.unit };
      const cell = h("a", { class: "vv-atlas-cell", href: routeToHash(route), "data-atlas-unit": String(u.unit) });
      const thumbs = h("div", { class: "vv-atlas-thumbs" });
      p.sprites.forEach((s, k) => {
        const bg = spriteBackground(s, u.cell, shown[k].width, shown[k].height);
        const t = h("div", { class: "vv-atlas-thumb", "data-stream": s.stream, title: s.stream });
        t.style.cssText = `width:${shown[k].width}px;height:${shown[k].height}px;background-image:${cssUrl(urls[k])};` +
          `background-size:${bg.size};background-position:${bg.position}`;
        thumbs.append(t);
      });
      const name = isClasses && m.classes[u.unit] !== undefined ? m.classes[u.unit] : `#${u.unit}`;
      cell.append(thumbs, h("div", { class: "vv-atlas-cap" }, `${name} · ${u.top_class ?? "–"} · ${num(u.selectivity, 2)}`));
      cell.title = `unit ${u.unit}; top class ${u.top_class ?? "none"}; selectivity ${num(u.selectivity)}; a/â ${num(u.value)}`;
      frag.append(cell);
    }
    grid.addEventListener("click", (e) => { // one listener for the whole grid
      const a = (e.target as Element).closest?.("a[data-atlas-unit]") as HTMLAnchorElement | null;
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      navigate({ page: "unit", layer: p.layer, unit: Number(a.dataset.atlasUnit) });
    });
    grid.append(frag);
    page.append(grid);
    return page;
  }

  function sweepRow(entries: AtlasSweepEntry[], testid: string): HTMLElement {
    const row = h("div", { class: "vv-atlas-row", "data-testid": testid });
    for (const e of entries) {
      const fig = h("figure", { class: "vv-atlas-item", "data-atlas-sweep": `${e.kappa},${e.gamma}` });
      fig.append(track(inputView(e.input, mediaUrl, { autoplay: true })),
        h("figcaption", {}, `κ=${num(e.kappa)} γ=${num(e.gamma)} · a/â=${num(e.value)}`));
      row.append(fig);
    }
    if (!entries.length) row.append(h("span", { class: "vv-atlas-none" }, "none"));
    return row;
  }

  /** Clips as buttons; a click plays that clip on the stage above them. */
  function pickRow(items: { input: AtlasInput; caption: string; key: string }[], testid: string, attr: string) {
    const wrap = h("div", { "data-testid": testid });
    const stage = h("div", { class: "vv-atlas-stage", "data-testid": `${testid}-stage` });
    stage.append(h("span", { class: "vv-atlas-none" }, "click a clip below to play it here"));
    const row = h("div", { class: "vv-atlas-row" });
    let playing: ClipHandle | null = null;
    for (const it of items) {
      const b = h("button", { type: "button", class: "vv-atlas-pick", [attr]: it.key });
      b.append(track(inputView(it.input, mediaUrl, { target: 64 })), h("div", { class: "vv-atlas-cap" }, it.caption));
      b.addEventListener("click", () => {
        playing?.dispose();
        clips = clips.filter((c) => c !== playing);
        playing = inputView(it.input, mediaUrl, { autoplay: true, target: 160 });
        track(playing);
        stage.dataset.playing = it.key;
        stage.replaceChildren(playing.el, h("div", { class: "vv-atlas-cap" }, it.caption));
        row.querySelectorAll(".vv-atlas-active").forEach((x) => x.classList.remove("vv-atlas-active"));
        b.classList.add("vv-atlas-active");
      });
      row.append(b);
    }
    wrap.append(stage, row);
    if (!items.length) wrap.replaceChildren(h("span", { class: "vv-atlas-none" }, "none"));
    return wrap;
  }

  function tubesRow(tubes: AtlasTube[]): HTMLElement {
    const row = h("div", { class: "vv-atlas-row", "data-testid": "atlas-tubes" });
    for (const t of tubes) {
      const fig = h("figure", { class: "vv-atlas-item", "data-atlas-tube": String(t.index) });
      const view = h("div");
      void mediaUrl(t.clip.ref).then((url) => { if (!disposed) view.append(track(clipView(t.clip, url, { autoplay: true }))); });
      fig.append(view, h("figcaption", {}, `clip ${t.index}: ${t.label} → predicted ${t.predicted}`));
      row.append(fig);
    }
    if (!tubes.length) row.append(h("span", { class: "vv-atlas-none" }, "none"));
    return row;
  }

  function histogram(hist: NonNullable<AtlasUnitPage["histogram"]>): SVGSVGElement {
    const W = Math.max(240, hist.classes.length * 22), H = 110, label = 60;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "vv-atlas-hist");
    svg.setAttribute("data-testid", "atlas-histogram");
    svg.setAttribute("width", String(W + label)); // room for the last slanted label
    svg.setAttribute("height", String(H + label));
    const bars = histogramBars(hist.values, W, H);
    const best = bars.reduce((b, x, i) => ((x.height > bars[b].height) ? i : b), 0);
    bars.forEach((b, i) => {
      const r = document.createElementNS(SVG, "rect");
      for (const [k, v] of Object.entries({ x: b.x, y: b.y, width: b.width, height: b.height })) r.setAttribute(k, String(v));
      if (i === best && b.height > 0) r.setAttribute("class", "vv-atlas-bar-top");
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = `${hist.classes[i]}: ${num(b.value)}`;
      r.append(tip);
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("transform", `translate(${b.x + b.width / 2 + 3},${H + 4}) rotate(60)`);
      const name = hist.classes[i] ?? "";
      t.textContent = name.length > 12 ? `${name.slice(0, 11)}…` : name;
      svg.append(r, t);
    });
    return svg;
  }

  function unitPage(p: AtlasUnitPage): HTMLElement {
    const page = h("div", { class: "vv-atlas-unit" });
    const meta = h("div", { class: "vv-atlas-meta" }, `selectivity ${num(p.selectivity)} · top class `);
    meta.append(classRef(p.top_class));
    page.append(h("h2", {}, `${p.layer} · unit ${p.unit}`), meta, h("h3", {}, "γ sweep"), sweepRow(p.sweep, "atlas-sweep"));
    if (p.histogram) page.append(h("h3", {}, "Response by class"), histogram(p.histogram));
    page.append(h("h3", {}, "Top clips"), pickRow(p.top_clips.map((c) => ({
      input: c.clip, key: String(c.index), caption: `clip ${c.index} · ${c.label} · ${num(c.response)}`,
    })), "atlas-top-clips", "data-atlas-clip-index"));
    if (p.tubes.length) page.append(h("h3", {}, "Saliency tubes"), tubesRow(p.tubes));
    return page;
  }

  function classPage(p: AtlasClassPage): HTMLElement {
    const page = h("div", { class: "vv-atlas-class" });
    page.append(h("h2", {}, p.class), h("div", { class: "vv-atlas-meta" },
      `class ${p.index} · accuracy ${p.accuracy === null ? "–" : `${num(p.accuracy * 100)}%`}`),
    h("h3", {}, "Logit activation maximization"), sweepRow(p.am, "atlas-class-am"));
    if (p.leaps) {
      const fig = h("figure", { class: "vv-atlas-item", "data-testid": "atlas-leaps" });
      fig.append(track(inputView(p.leaps, mediaUrl, { autoplay: true })));
      page.append(h("h3", {}, "LEAPS synthesis"), fig);
    }
    const conf = h("div", { class: "vv-atlas-classes", "data-testid": "atlas-confusions" });
    for (const c of p.confusions) {
      const s = h("span");
      s.append(classRef(c.class), ` ×${c.count}`);
      conf.append(s);
    }
    if (!p.confusions.length) conf.append(h("span", { class: "vv-atlas-none" }, "none"));
    page.append(h("h3", {}, "Most confused with"), conf, h("h3", {}, "Misclassified clips"),
      pickRow(p.misclassified.map((c) => ({ input: c.clip, key: String(c.index), caption: `clip ${c.index} → ${c.predicted}` })),
        "atlas-misclassified", "data-atlas-clip-index"));
    if (p.tubes.length) page.append(h("h3", {}, "Saliency tubes"), tubesRow(p.tubes));
    return page;
  }

  void show(current);
  return {
    navigate,
    dispose() {
      disposed = true;
      generation++;
      clips.forEach((c) => c.dispose());
      clips = [];
      if (useHash) window.removeEventListener("hashchange", onHash);
      root.remove();
    },
  };
}
