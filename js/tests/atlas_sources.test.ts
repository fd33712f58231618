import { describe, expect, it } from "vitest";
import { checkRef, exportSource, messageSource, parseAtlasFile, REPLY, REQUEST, type MessageModel } from "../lib/atlas_sources";
import { filesUrl, folderOf, serverFiles } from "../labextension/atlas_files";

const manifest = {
  version: 1, name: "a", model: "m", weights: "w", streams: ["video"], classes: ["run", "jump"],
  layers: [{ name: "conv1", kind: "units", channels: 4, receptive_field: null, stride: null, units: [0, 1, 2] }],
  presets: [], thumb_preset: 0, has: { leaps: false, tubes: false, histograms: true },
};

/** A model that answers like AtlasView in Python, after `answer` decides, and records what was sent. */
function fakeModel(answer: (req: Record<string, unknown>) => { content: Record<string, unknown>; buffers?: DataView[] } | null,
  state: Record<string, unknown> = {}) {
  const listeners = new Set<(msg: unknown, buffers: DataView[]) => void>();
  const sent: Record<string, unknown>[] = [];
  const model: MessageModel = {
    get: (k) => state[k],
    send: (content) => {
      const req = content as Record<string, unknown>;
      sent.push(req);
      const reply = answer(req);
      if (reply) queueMicrotask(() => listeners.forEach((l) => l({ type: REPLY, id: req.id, ...reply.content }, reply.buffers ?? [])));
    },
    on: (_e, cb) => void listeners.add(cb),
    off: (_e, cb) => void listeners.delete(cb),
  };
  return { model, sent, listeners };
}

describe("messageSource", () => {
  it("takes the manifest from the synced state and asks the kernel for nothing up front", async () => {
    const { model, sent } = fakeModel(() => null, { _manifest: manifest });
    const source = messageSource(model);
    expect((await source.manifest()).layers[0].name).toBe("conv1");
    expect(sent).toEqual([]);
  });

  it("asks once per page with its own request ids and matches replies by id", async () => {
    const { model, sent, listeners } = fakeModel((req) =>
      req.what === "unit" ? { content: { ok: true, page: { layer: req.layer, unit: req.unit } } } : null);
    const source = messageSource(model);
    // another view's reply (same kinds of messages, foreign id) is ignored
    listeners.forEach((l) => l({ type: REPLY, id: "other-0", ok: true, page: { unit: 99 } }, []));
    const [a, b, again] = await Promise.all([source.unitPage("conv1", 1), source.unitPage("conv1", 2), source.unitPage("conv1", 1)]);
    expect([a.unit, b.unit, again.unit]).toEqual([1, 2, 1]);
    expect(sent.map((m) => [m.type, m.what, m.layer, m.unit])).toEqual([[REQUEST, "unit", "conv1", 1], [REQUEST, "unit", "conv1", 2]]);
    expect(new Set(sent.map((m) => m.id)).size).toBe(2);
  });

  it("rejects with the kernel's error and asks again on the next visit", async () => {
    let fail = true;
    const { model, sent } = fakeModel((req) =>
      fail ? { content: { ok: false, error: "KeyError: no unit 7" } } : { content: { ok: true, page: { unit: req.unit } } });
    const source = messageSource(model);
    await expect(source.unitPage("conv1", 7)).rejects.toThrow("KeyError: no unit 7");
    fail = false;
    expect((await source.unitPage("conv1", 7)).unit).toBe(7);
    expect(sent.length).toBe(2);
  });

  it("turns media bytes into blob URLs that dispose revokes", async () => {
    const bytes = new Uint8Array([0, 137, 80, 78, 71, 9]);
    const { model, listeners } = fakeModel(() => ({ content: { ok: true, mime: "image/png" }, buffers: [new DataView(bytes.buffer, 1, 4)] }));
    const source = messageSource(model);
    const url = await source.mediaUrl("sprite-0.png");
    expect(url.startsWith("blob:")).toBe(true);
    const blob = await (await fetch(url)).blob();
    expect(blob.type).toBe("image/png");
    expect(Array.from(new Uint8Array(await blob.arrayBuffer()))).toEqual([137, 80, 78, 71]);
    source.dispose();
    await expect(fetch(url)).rejects.toThrow(); // revoked
    expect(listeners.size).toBe(0);
    await expect(source.layerPage("conv1")).rejects.toThrow("closed");
  });

  it("keeps the media sent along with a layer page, so the grid's sprite needs no second request", async () => {
    const png = new Uint8Array([137, 80, 78, 71, 1, 2]);
    const { model, sent } = fakeModel((req) => req.what === "layer"
      ? { content: { ok: true, page: { layer: "conv1", sprites: [] }, media: [
          { ref: "s-app.png", mime: "image/png", buffer: 0 }, { ref: "../bad.png", mime: "image/png", buffer: 0 },
          { ref: "missing.png", mime: "image/png", buffer: 5 }] }, buffers: [new DataView(png.buffer)] }
      : { content: { ok: false, error: "not sent" } });
    const source = messageSource(model);
    expect((await source.layerPage("conv1")).layer).toBe("conv1");
    const url = await source.mediaUrl("s-app.png");
    expect(Array.from(new Uint8Array(await (await (await fetch(url)).blob()).arrayBuffer()))).toEqual(Array.from(png));
    expect(sent.map((m) => m.what)).toEqual(["layer"]);
    await expect(source.mediaUrl("missing.png")).rejects.toThrow("not sent"); // asked for on its own
    expect(sent.map((m) => m.what)).toEqual(["layer", "media"]);
  });

  it("refuses a media ref that is a path before asking the kernel", async () => {
    const { model, sent } = fakeModel(() => null);
    const source = messageSource(model);
    for (const bad of ["../x.png", "a/b.png", "..", "", "x y.png"]) await expect(source.mediaUrl(bad)).rejects.toThrow(/media ref/);
    expect(sent).toEqual([]);
    expect(checkRef("clip_3.unit-2.webm")).toBe("clip_3.unit-2.webm");
  });

  it("gives up on a kernel that does not answer, naming the wait", async () => {
    const { model } = fakeModel(() => null);
    const source = messageSource(model, { timeoutMs: 20 });
    await expect(source.classPage("run")).rejects.toThrow(/no answer from the kernel/);
  });
});

describe("the JupyterLab document's files", () => {
  it("names the server's files URL beside the atlas file", () => {
    expect(folderOf("a b/atlas/atlas.vvatlas")).toBe("a b/atlas");
    expect(folderOf("atlas.vvatlas")).toBe("");
    expect(folderOf("Drive:x/atlas.vvatlas")).toBe("x");
    expect(filesUrl("/user/me/", "a b/atlas", "media/u#1.png")).toBe("/user/me/files/a%20b/atlas/media/u%231.png");
    expect(filesUrl("/", "", "data/manifest.json")).toBe("/files/data/manifest.json");
    expect(() => filesUrl("/", "x", "../secret")).toThrow(/leaves the atlas folder/);
  });

  it("reads pages and media through the server with its token; a missing file says what is missing", async () => {
    const files: Record<string, [string, string]> = {
      "/base/files/sub/data/manifest.json": [JSON.stringify(manifest), "application/json"],
      "/base/files/sub/data/layer-0.json": [JSON.stringify({ layer: "conv1", units: [] }), "application/json"],
      "/base/files/sub/data/class-1.json": [JSON.stringify({ class: "jump" }), "application/json"],
      "/base/files/sub/media/clip.webm": ["WEBM", "video/webm; charset=binary"],
    };
    const asked: [string, string | null][] = [];
    const fakeFetch = async (input: RequestInfo, init?: RequestInit) => {
      const url = String(input);
      asked.push([url, new Headers(init?.headers).get("Authorization")]);
      const hit = files[url];
      return hit ? new Response(hit[0], { headers: { "Content-Type": hit[1] } }) : new Response("no", { status: 404, statusText: "Not Found" });
    };
    const source = exportSource(serverFiles({ baseUrl: "/base", token: "t0k", fetch: fakeFetch }, "sub/atlas.vvatlas"));
    expect((await source.manifest()).classes).toEqual(["run", "jump"]);
    expect((await source.layerPage("conv1")).layer).toBe("conv1");
    expect((await source.classPage("jump")).class).toBe("jump");
    const url = await source.mediaUrl("clip.webm");
    const blob = await (await fetch(url)).blob();
    expect([blob.type, await blob.text()]).toEqual(["video/webm", "WEBM"]);
    await expect(source.mediaUrl("gone.png")).rejects.toThrow("sub/media/gone.png is missing");
    expect(asked.every(([, auth]) => auth === "token t0k")).toBe(true);
    source.dispose();
    await expect(fetch(url)).rejects.toThrow();
  });

  it("checks the atlas file's format and version", () => {
    expect(parseAtlasFile({ ...manifest, format: "vidvis-atlas" }).name).toBe("a");
    expect(() => parseAtlasFile({ ...manifest, format: "other" })).toThrow(/expected "vidvis-atlas"/);
    expect(() => parseAtlasFile({ ...manifest, format: "vidvis-atlas", version: 2 })).toThrow(/version 2/);
    expect(() => parseAtlasFile([1])).toThrow(/JSON object/);
  });
});
