import { describe, expect, it } from "vitest";
import {
  AtlasPathError, classPages, className, dataJsPath, dataJsonPath, filesSource, hashToRoute, isMediaRef, layerName, mediaPath,
  routeToHash, unitName,
} from "../lib/atlas_paths";
import type { AtlasManifest, AtlasRoute } from "../lib/atlas_types";

describe("export file names", () => {
  it("names pages by layer index, unit and class index, as the Python export writes them", () => {
    expect([layerName(2), unitName(0, 17), className(13)]).toEqual(["layer-2", "unit-0-17", "class-13"]);
    expect([dataJsonPath("layer-2"), dataJsPath("unit-0-17")]).toEqual(["data/layer-2.json", "data/unit-0-17.js"]);
    expect(() => unitName(0, -1)).toThrow(AtlasPathError);
    expect(() => layerName(1.5)).toThrow(/integer/);
  });

  it("puts a media ref under media/ only when it is a plain file name", () => {
    expect(mediaPath("sprite-0_app.png")).toBe("media/sprite-0_app.png");
    for (const bad of ["..", ".", "../x.png", "a/b", "x y", "", "%2e%2e"]) {
      expect(isMediaRef(bad)).toBe(false);
      expect(() => mediaPath(bad)).toThrow(AtlasPathError);
    }
  });
});

describe("routes in location.hash", () => {
  const routes: AtlasRoute[] = [
    { page: "home" },
    { page: "layer", layer: "conv5_fusion" },
    { page: "layer", layer: "a/b #c?d%e <x>" },
    { page: "unit", layer: "blocks.3/conv", unit: 127 },
    { page: "class", cls: "Apply Eye Makeup / ü" },
  ];
  it.each(routes)("round-trips %j", (route) => {
    expect(hashToRoute(routeToHash(route))).toEqual(route);
  });

  it("writes the hashes the contract names", () => {
    expect(routeToHash({ page: "unit", layer: "conv1", unit: 3 })).toBe("#/unit/conv1/3");
    expect(routeToHash({ page: "class", cls: "a b" })).toBe("#/class/a%20b");
  });

  it.each(["", "#", "#/", "#/nope/x", "#/unit/conv1/x", "#/unit/conv1", "#/layer/%E0%A4%A", "#/layer/", "#/unit/a/1/2"])(
    "reads %j as home", (hash) => expect(hashToRoute(hash)).toEqual({ page: "home" }));
});

describe("filesSource", () => {
  const manifest = {
    version: 1, name: "m", model: "x", weights: "w", streams: ["video"], classes: ["walk", "run"], presets: [],
    thumb_preset: 0, has: { leaps: false, tubes: false, histograms: true },
    layers: [{ name: "conv1", kind: "units", channels: 8, receptive_field: null, stride: null, units: [0, 5] },
      { name: "fc", kind: "classes", channels: 2, receptive_field: null, stride: null, units: [0, 1] }],
  };
  const loader = () => {
    const calls: string[] = [];
    let failOnce = true;
    const load = async (name: string) => {
      calls.push(name);
      if (name === "class-1" && failOnce) { failOnce = false; throw new Error("flaky"); }
      return name === "manifest" ? manifest : { name };
    };
    return { calls, load };
  };

  it("maps names to the export's files and loads each once", async () => {
    const { calls, load } = loader();
    const src = filesSource(load, "base");
    expect(await src.layerPage("fc")).toEqual({ name: "layer-1" });
    expect(await src.unitPage("conv1", 5)).toEqual({ name: "unit-0-5" });
    expect(await src.unitPage("conv1", 5)).toEqual({ name: "unit-0-5" });
    expect(await src.classPage("walk")).toEqual({ name: "class-0" });
    expect(await src.mediaUrl("a.webm")).toBe("base/media/a.webm");
    expect(calls).toEqual(["manifest", "layer-1", "unit-0-5", "class-0"]);
  });

  it("names what the atlas lacks, and tries a failed load again", async () => {
    const { calls, load } = loader();
    const src = filesSource(load);
    await expect(src.layerPage("conv9")).rejects.toThrow(/no layer "conv9"/);
    await expect(src.unitPage("conv1", 3)).rejects.toThrow(/unit 3 of layer "conv1" is not in the atlas/);
    await expect(src.classPage("swim")).rejects.toThrow(/no class "swim"/);
    expect(classPages(manifest as AtlasManifest)).toEqual(new Set([0, 1]));
    await expect(src.classPage("run")).rejects.toThrow("flaky");
    expect(await src.classPage("run")).toEqual({ name: "class-1" });
    expect(calls.filter((c) => c === "class-1")).toHaveLength(2);
    expect(await src.mediaUrl("x.png")).toBe("media/x.png");
    await expect(src.mediaUrl("../x.png")).rejects.toThrow(AtlasPathError);
  });
});
