// Plays exported widgets without a kernel: reads the standard ipywidgets
// widget-state JSON that to_html() embeds, rebuilds binary buffers, and runs
// each widget's own anywidget ESM against an in-page model.

type Listener = () => void;
type Path = (string | number)[];

interface SavedModel {
  state: Record<string, unknown>;
  buffers?: { path: Path; data: string; encoding: "base64" | "hex" }[];
}

interface WidgetState {
  state: Record<string, SavedModel>;
}

function decodeBuffer(data: string, encoding: string): DataView {
  let bytes: Uint8Array;
  if (encoding === "hex") {
    bytes = new Uint8Array(data.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(data.slice(2 * i, 2 * i + 2), 16);
  } else {
    const bin = atob(data);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  return new DataView(bytes.buffer);
}

function putAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  let obj = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) obj = obj[key] as Record<string | number, unknown>;
  obj[path[path.length - 1]] = value;
}

class OfflineModel {
  private listeners = new Map<string, Set<Listener>>();
  constructor(private readonly values: Record<string, unknown>) {}
  get(key: string): unknown {
    return this.values[key];
  }
  set(key: string, value: unknown): void {
    if (this.values[key] === value) return;
    this.values[key] = value;
    this.listeners.get(`change:${key}`)?.forEach((cb) => cb());
  }
  on(event: string, cb: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(cb);
  }
  off(event?: string, cb?: Listener): void {
    if (!event) this.listeners.clear();
    else if (!cb) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }
  save_changes(): void {}
  send(): void {}
}

async function mount(el: HTMLElement, saved: SavedModel): Promise<void> {
  const values = { ...saved.state };
  for (const b of saved.buffers ?? []) putAt(values, b.path, decodeBuffer(b.data, b.encoding));
  if (typeof values._css === "string") {
    const style = document.createElement("style");
    style.textContent = values._css;
    document.head.append(style);
  }
  const url = URL.createObjectURL(new Blob([String(values._esm)], { type: "text/javascript" }));
  const mod = await import(/* @vite-ignore */ url);
  URL.revokeObjectURL(url);
  let widget = mod.default;
  if (typeof widget === "function") widget = await widget();
  const model = new OfflineModel(values);
  await widget.initialize?.({ model });
  await widget.render({ model, el });
}

async function main(): Promise<void> {
  const stateTag = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const state = JSON.parse(stateTag?.textContent ?? "{}") as WidgetState;
  for (const tag of Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))) {
    const { model_id } = JSON.parse(tag.textContent ?? "{}") as { model_id: string };
    const host = document.createElement("div");
    host.className = "vv-standalone-view";
    tag.after(host);
    const saved = state.state?.[model_id];
    try {
      if (!saved) throw new Error(`no saved state for widget ${model_id}`);
      await mount(host, saved);
    } catch (err) {
      host.textContent = `This widget could not be shown: ${String(err)}`;
      host.setAttribute("role", "alert");
    }
  }
}

void main();
