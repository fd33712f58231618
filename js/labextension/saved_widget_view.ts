// A trusted notebook output holds the live widget's view (ipywidgets' widget-view mimetype) and, beside it,
// our saved copy. JupyterLab prefers the widget view, whose renderer shows "Loading widget..." while there is
// no kernel and "Error displaying widget: model not found" with a fresh one. This wraps that renderer, per
// notebook: an output that also carries the saved copy shows it at once, and the widget's own view takes its
// place only when the widget really renders (its model exists: the cell ran again, or its state was restored).
// Outputs without a saved copy show the widget renderer as they always did.

import { Panel, Widget } from "@lumino/widgets";
import { CLIPS_MIME, mountStaticGrid } from "../lib/static_grid";
import { addStyle } from "./style";

export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";

export interface MimeModel {
  data: Record<string, unknown>;
}

export interface Renderer extends Widget {
  renderModel(model: MimeModel): Promise<void>;
}

export interface RendererOptions {
  mimeType: string;
}

export interface RendererFactory {
  safe: boolean;
  mimeTypes: readonly string[];
  defaultRank?: number;
  createRenderer(options: RendererOptions): Renderer;
}

/** The part of JupyterLab's IRenderMimeRegistry used here. */
export interface RenderMimeRegistry {
  getFactory(mimeType: string): RendererFactory | undefined;
  getRank(mimeType: string): number | undefined;
  addFactory(factory: RendererFactory, rank?: number): void;
}

type PlayerHost = HTMLElement & { __vvPlayer?: { destroy(): void } };

/** With a widget manager, how long an output waits for the live view before it shows the saved copy instead. */
const PATIENCE_MS = 3000;

function modelId(model: MimeModel | null): unknown {
  const view = model?.data[WIDGET_VIEW_MIME];
  return view && typeof view === "object" ? (view as Record<string, unknown>).model_id : undefined;
}

export class SavedWidgetView extends Panel {
  private readonly saved = new Widget();
  private inner: Renderer | null = null;
  private observer: MutationObserver | null = null;
  private model: MimeModel | null = null;
  private live = false;

  constructor(
    private readonly options: RendererOptions,
    private factory: RendererFactory,
    private readonly views: Set<SavedWidgetView>,
    /** whether the factory's renderers have a widget manager (ipywidgets replaced its placeholder) */
    private bound: boolean,
  ) {
    super();
    this.addClass("vv-saved-widget-view");
    this.saved.addClass("vv-clips-output");
    this.saved.addClass("vv-saved-copy");
    this.addWidget(this.saved);
    this.saved.hide();
    views.add(this);
  }

  /** What this output shows: "saved" (our copy), "live" (the widget's view), "waiting" (for the live view, at
   * most PATIENCE_MS) or "widget" (no saved copy: the widget renderer alone). */
  get shows(): string {
    return this.node.dataset.vvShows ?? "";
  }

  async renderModel(model: MimeModel): Promise<void> {
    const previous = this.model;
    this.model = model;
    const clips = model.data[CLIPS_MIME];
    if (clips === undefined) {
      this.setShows("widget");
      this.saved.hide();
      this.renderInner(model, true);
      return;
    }
    // an update of the saved copy (its display refreshed) while the live view shows: the view is already current
    if (this.live && modelId(previous) === modelId(model)) return;
    this.live = false;
    this.saved.hide();
    const rendered = this.renderInner(model, false);
    if (this.bound) {
      // a widget manager is there: the live view usually comes at once; the saved copy only if it does not
      this.setShows("waiting");
      await Promise.race([rendered, new Promise((resolve) => setTimeout(resolve, PATIENCE_MS))]);
      if (this.hasView()) this.goLive();
      if (this.live || this.model !== model || this.isDisposed) return;
    }
    this.setShows("saved");
    this.saved.show();
    addStyle();
    const host = this.saved.node as PlayerHost;
    host.__vvPlayer?.destroy();
    host.textContent = "";
    await mountStaticGrid(host, clips);
  }

  /** The notebook's widget renderer changed (its widget manager arrived with a kernel): render through it. */
  rebind(factory: RendererFactory): void {
    this.factory = factory;
    this.bound = true;
    if (this.live || !this.model) return;
    const model = this.model;
    this.renderInner(model, model.data[CLIPS_MIME] === undefined, true);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.views.delete(this);
    this.observer?.disconnect();
    (this.saved.node as PlayerHost).__vvPlayer?.destroy();
    super.dispose();
  }

  private hasView(): boolean {
    return !!this.inner && Array.from(this.inner.node.childNodes).some((n) => n instanceof Element);
  }

  private renderInner(model: MimeModel, visible: boolean, fresh = false): Promise<void> {
    if (fresh || !this.inner) {
      this.observer?.disconnect();
      this.inner?.dispose();
      this.inner = this.factory.createRenderer(this.options);
      this.addWidget(this.inner);
      const inner = this.inner;
      // the widget renderer adds the view's node once the view exists; its messages are text only
      this.observer = new MutationObserver(() => {
        if (inner === this.inner && this.hasView()) this.goLive();
      });
      this.observer.observe(inner.node, { childList: true });
    }
    if (visible) this.inner.show();
    else this.inner.hide();
    return this.inner.renderModel(model).catch((err) => console.error("vidvis-widgets: the widget view failed", err));
  }

  private goLive(): void {
    if (this.live || !this.inner || (this.shows !== "saved" && this.shows !== "waiting")) return;
    this.live = true;
    this.setShows("live");
    this.inner.show();
    this.saved.hide();
    const host = this.saved.node as PlayerHost;
    host.__vvPlayer?.destroy();
    host.__vvPlayer = undefined;
    host.textContent = "";
  }

  private setShows(what: string): void {
    this.node.dataset.vvShows = what;
  }
}

const hooked = new WeakSet<object>();
const ours = new WeakSet<RendererFactory>();

/** Puts the wrapper over a notebook's widget renderer, now and whenever the renderer is replaced. */
export function wrapWidgetViews(rendermime: RenderMimeRegistry): void {
  if (hooked.has(rendermime)) return;
  hooked.add(rendermime);
  const views = new Set<SavedWidgetView>();
  const addFactory = rendermime.addFactory.bind(rendermime);
  const wrapped = (inner: RendererFactory, bound: boolean): RendererFactory => {
    const factory: RendererFactory = {
      safe: inner.safe,
      mimeTypes: [WIDGET_VIEW_MIME],
      defaultRank: inner.defaultRank,
      createRenderer: (options) => new SavedWidgetView(options, inner, views, bound),
    };
    ours.add(factory);
    return factory;
  };
  rendermime.addFactory = (factory: RendererFactory, rank?: number) => {
    const isView = factory.mimeTypes.length === 1 && factory.mimeTypes[0] === WIDGET_VIEW_MIME;
    if (!isView || ours.has(factory)) return addFactory(factory, rank);
    addFactory(wrapped(factory, true), rank);
    for (const view of Array.from(views)) view.rebind(factory);
  };
  // the notebook's renderer when it opens: ipywidgets' placeholder, with no widget manager until a kernel is ready
  const current = rendermime.getFactory(WIDGET_VIEW_MIME);
  if (current && !ours.has(current)) addFactory(wrapped(current, false), rendermime.getRank(WIDGET_VIEW_MIME));
}
