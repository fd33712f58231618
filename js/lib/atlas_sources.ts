// Two of the atlas browser's sources (atlas_types.ts AtlasSource): the widget's, which asks the kernel for each
// page and media file over custom comm messages, and the JupyterLab document's, which reads the files of an
// exported atlas beside its atlas.vvatlas. Both load a piece only when the browser asks for it, keep what they
// loaded, turn media bytes into blob: URLs and revoke them on dispose.

import type {
  AtlasClassPage,
  AtlasLayerPage,
  AtlasManifest,
  AtlasSource,
  AtlasUnitPage,
  MediaRef,
} from "./atlas_types";
import { ATLAS_FORMAT, dataJsonPath, filesSource, mediaPath } from "./atlas_paths";

export interface DisposableSource extends AtlasSource {
  dispose(): void;
}

const REF = /^[A-Za-z0-9_.-]+$/;

/** A media ref as the contract allows it: a plain file name, never a path or "." / "..". */
export function checkRef(ref: unknown): MediaRef {
  if (typeof ref !== "string" || !REF.test(ref) || /^\.+$/.test(ref)) {
    throw new Error(`media ref ${JSON.stringify(ref)} is not a file name of letters, digits, "_", "." and "-"`);
  }
  return ref;
}

/** Keeps one promise per key; a failed load is forgotten so that a later ask tries again. */
class Cache {
  private readonly entries = new Map<string, Promise<unknown>>();

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.entries.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.entries.set(key, p);
      p.catch(() => this.entries.delete(key));
    }
    return p;
  }

  /** Keeps `value` under `key` unless something is there already. */
  put<T>(key: string, value: T): void {
    if (!this.entries.has(key)) this.entries.set(key, Promise.resolve(value));
  }

  clear(): void {
    this.entries.clear();
  }
}

class BlobUrls {
  private readonly urls: string[] = [];
  disposed = false;

  make(bytes: BlobPart, mime: string): string {
    if (this.disposed) throw new Error("the atlas view is closed");
    const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
    this.urls.push(url);
    return url;
  }

  revoke(): void {
    this.disposed = true;
    for (const url of this.urls.splice(0)) URL.revokeObjectURL(url);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The widget's source: kernel messages.

/** What the source needs of an anywidget model. */
export interface MessageModel {
  get(key: string): unknown;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
  on(event: "msg:custom", callback: (msg: unknown, buffers: DataView[]) => void): void;
  off(event: "msg:custom", callback: (msg: unknown, buffers: DataView[]) => void): void;
}

export type AtlasRequest =
  | { what: "manifest" }
  | { what: "layer"; layer: string }
  | { what: "unit"; layer: string; unit: number }
  | { what: "class"; cls: string }
  | { what: "media"; ref: MediaRef };

export const REQUEST = "vv-atlas-request";
export const REPLY = "vv-atlas-reply";

interface Pending {
  what: string;
  resolve(value: { content: Record<string, unknown>; buffers: DataView[] }): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A performance mark (the first-paint benchmark reads them): when each request left and its reply came. */
function mark(name: string): void {
  if (typeof performance !== "undefined" && typeof performance.mark === "function") performance.mark(name);
}

/** The widget's source. Requests carry an id unique to this view (several views of one widget all hear every
 * reply); the kernel answers `{type: REPLY, id, ok, page | mime | error}` with media bytes as buffer 0, and a
 * page's `media: [{ref, mime, buffer}]` sent along with it (a layer's sprites) as the buffers they name. */
export function messageSource(model: MessageModel, options: { timeoutMs?: number } = {}): DisposableSource {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const tag = Math.random().toString(36).slice(2, 10);
  let next = 0;
  const pending = new Map<string, Pending>();
  const cache = new Cache();
  const blobs = new BlobUrls();

  const onMessage = (msg: unknown, buffers: DataView[]) => {
    const m = msg as Record<string, unknown> | null;
    if (!m || m.type !== REPLY || typeof m.id !== "string") return;
    const waiting = pending.get(m.id);
    if (!waiting) return; // another view's reply
    pending.delete(m.id);
    clearTimeout(waiting.timer);
    mark(`vv-atlas-reply:${waiting.what}`);
    if (m.ok === true) waiting.resolve({ content: m, buffers: buffers ?? [] });
    else waiting.reject(new Error(typeof m.error === "string" && m.error ? m.error : "the kernel could not load this piece"));
  };
  model.on("msg:custom", onMessage);

  function ask(request: AtlasRequest): Promise<{ content: Record<string, unknown>; buffers: DataView[] }> {
    if (blobs.disposed) return Promise.reject(new Error("the atlas view is closed"));
    const id = `${tag}-${next++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no answer from the kernel in ${Math.round(timeoutMs / 1000)} s: is it still running?`));
      }, timeoutMs);
      pending.set(id, { what: request.what, resolve, reject, timer });
      mark(`vv-atlas-ask:${request.what}`);
      try {
        model.send({ type: REQUEST, id, ...request });
      } catch (e) {
        pending.delete(id);
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  function blobUrl(b: DataView, mime: unknown): string {
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
    return blobs.make(bytes, typeof mime === "string" ? mime : "application/octet-stream");
  }

  /** Media the kernel sent along with a page (a layer page's sprites: its grid cannot show without them), kept as
   * if asked for. */
  function keepMedia(content: Record<string, unknown>, buffers: DataView[]): void {
    if (!Array.isArray(content.media)) return;
    for (const item of content.media as { ref?: unknown; mime?: unknown; buffer?: unknown }[]) {
      const b = typeof item?.buffer === "number" ? buffers[item.buffer] : undefined;
      if (!b || typeof item.ref !== "string" || !REF.test(item.ref)) continue;
      const url = blobUrl(b, item.mime);
      cache.put(`media\0${item.ref}`, url);
    }
  }

  async function page<T>(request: AtlasRequest): Promise<T> {
    const { content, buffers } = await ask(request);
    if (!content.page || typeof content.page !== "object") throw new Error(`the kernel sent no ${request.what} page`);
    keepMedia(content, buffers);
    return content.page as T;
  }

  return {
    manifest: () =>
      cache.get("manifest", async () => {
        const sent = model.get("_manifest") as AtlasManifest | undefined;
        return sent && typeof sent === "object" && Array.isArray(sent.layers) ? sent : page<AtlasManifest>({ what: "manifest" });
      }),
    layerPage: (layer) => cache.get(`layer\0${layer}`, () => page<AtlasLayerPage>({ what: "layer", layer })),
    unitPage: (layer, unit) => cache.get(`unit\0${layer}\0${unit}`, () => page<AtlasUnitPage>({ what: "unit", layer, unit })),
    classPage: (cls) => cache.get(`class\0${cls}`, () => page<AtlasClassPage>({ what: "class", cls })),
    mediaUrl: (ref) =>
      cache.get(`media\0${ref}`, async () => {
        const { content, buffers } = await ask({ what: "media", ref: checkRef(ref) });
        const b = buffers[0];
        if (!b) throw new Error(`the kernel sent no bytes for ${ref}`);
        return blobUrl(b, content.mime);
      }),
    dispose: () => {
      model.off("msg:custom", onMessage);
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new Error("the atlas view is closed"));
        pending.delete(id);
      }
      blobs.revoke();
      cache.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The document's source: the files of an export, beside atlas.vvatlas.

/** How the document reads a file of the export, by its path relative to the atlas folder ("data/…", "media/…"). */
export interface FileReader {
  json(path: string): Promise<unknown>;
  bytes(path: string): Promise<{ bytes: BlobPart; mime: string }>;
}

/** Checks that a parsed atlas.vvatlas is an atlas file this browser reads; gives its manifest. */
export function parseAtlasFile(value: unknown): AtlasManifest {
  const m = value as Record<string, unknown> | null;
  if (!m || typeof m !== "object" || Array.isArray(m)) throw new Error("the atlas file is not a JSON object");
  if (m.format !== ATLAS_FORMAT) {
    throw new Error(`the atlas file's format is ${JSON.stringify(m.format)}, expected "${ATLAS_FORMAT}"`);
  }
  if (m.version !== 1) throw new Error(`atlas version ${JSON.stringify(m.version)} is not supported (expected 1)`);
  if (!Array.isArray(m.layers) || !Array.isArray(m.classes)) {
    throw new Error('the atlas file has no "layers" and "classes" lists');
  }
  return m as unknown as AtlasManifest;
}

/** The export's pages (data/<name>.json, named as atlas_paths.ts names them) and media as blob: URLs, read
 * through `read` (the document reads the Jupyter server's files with the server's credentials). */
export function exportSource(read: FileReader): DisposableSource {
  const pages = filesSource((name) => read.json(dataJsonPath(name)));
  const cache = new Cache();
  const blobs = new BlobUrls();
  return {
    manifest: () => pages.manifest(),
    layerPage: (layer) => pages.layerPage(layer),
    unitPage: (layer, unit) => pages.unitPage(layer, unit),
    classPage: (cls) => pages.classPage(cls),
    mediaUrl: (ref) =>
      cache.get(ref, async () => {
        const { bytes, mime } = await read.bytes(mediaPath(checkRef(ref)));
        return blobs.make(bytes, mime);
      }),
    dispose: () => {
      blobs.revoke();
      cache.clear();
    },
  };
}
