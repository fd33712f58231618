// The file names of an exported atlas (the static site and the JupyterLab document read the same folder), the
// routes as location.hash keeps them, and an AtlasSource over any loader of those files. No DOM here.
//
//   atlas.vvatlas             the manifest + {"format": "vidvis-atlas", "version": 1}
//   data/manifest.json|.js    the manifest
//   data/layer-<i>.json|.js   layer page of manifest.layers[i]
//   data/unit-<i>-<u>.json|.js  unit page of unit u of manifest.layers[i]
//   data/class-<c>.json|.js   class page of manifest.classes[c]
//   media/<ref>               a media file named by a page
// Each .js is JSONP, `vvAtlasData("<name>", {...});`, so that a page opened from file:// can load it.

import type {
  AtlasClassPage,
  AtlasLayerPage,
  AtlasManifest,
  AtlasRoute,
  AtlasSource,
  AtlasUnitPage,
  MediaRef,
} from "./atlas_types";

/** The global function each data/<name>.js calls. */
export const JSONP_CALLBACK = "vvAtlasData";
export const ATLAS_FILE = "atlas.vvatlas";
export const ATLAS_FORMAT = "vidvis-atlas";

const REF = /^[A-Za-z0-9_.-]+$/;

export class AtlasPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AtlasPathError";
  }
}

function index(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) throw new AtlasPathError(`${what} must be an integer ≥ 0, got ${value}`);
  return value;
}

export const manifestName = (): string => "manifest";
export const layerName = (layer: number): string => `layer-${index(layer, "layer index")}`;
export const unitName = (layer: number, unit: number): string =>
  `unit-${index(layer, "layer index")}-${index(unit, "unit")}`;
export const className = (cls: number): string => `class-${index(cls, "class index")}`;

export const dataJsonPath = (name: string): string => `data/${name}.json`;
export const dataJsPath = (name: string): string => `data/${name}.js`;

/** A media ref is a plain file name: [A-Za-z0-9_.-]+, not "." or "..". */
export function isMediaRef(ref: unknown): ref is MediaRef {
  return typeof ref === "string" && REF.test(ref) && !/^\.+$/.test(ref);
}

export function mediaPath(ref: MediaRef): string {
  if (!isMediaRef(ref)) throw new AtlasPathError(`media ref ${JSON.stringify(ref)} is not a plain file name ([A-Za-z0-9_.-]+)`);
  return `media/${ref}`;
}

// -- routes -------------------------------------------------------------------------------------------------

/** "#/layer/<name>", "#/unit/<layer>/<unit>", "#/class/<name>", "#/" for home; names percent-encoded. */
export function routeToHash(route: AtlasRoute): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case "layer":
      return `#/layer/${e(route.layer)}`;
    case "unit":
      return `#/unit/${e(route.layer)}/${route.unit}`;
    case "class":
      return `#/class/${e(route.cls)}`;
    default:
      return "#/";
  }
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** The route a hash names; home for an empty or unknown hash. */
export function hashToRoute(hash: string): AtlasRoute {
  const parts = hash.replace(/^#\/?/, "").split("/");
  const names = parts.slice(1).map(decode);
  if (names.some((n) => n === null || n === "")) return { page: "home" };
  const [a, b] = names as string[];
  if (parts[0] === "layer" && names.length === 1) return { page: "layer", layer: a };
  if (parts[0] === "class" && names.length === 1) return { page: "class", cls: a };
  if (parts[0] === "unit" && names.length === 2 && /^\d+$/.test(b)) return { page: "unit", layer: a, unit: Number(b) };
  return { page: "home" };
}

/** The indices of the classes that have a page: the units of the class layer (none without one). */
export function classPages(manifest: AtlasManifest): Set<number> {
  return new Set(manifest.layers.find((l) => l.kind === "classes")?.units ?? []);
}

export function sameRoute(a: AtlasRoute, b: AtlasRoute): boolean {
  return routeToHash(a) === routeToHash(b);
}

// -- a source over the export's files -------------------------------------------------------------------------

/** Loads one data file by its name ("manifest", "layer-0", ...) and gives the parsed page. */
export type DataLoader = (name: string) => Promise<unknown>;

/** An AtlasSource reading an export's files: `load` gets data/<name> (JSON by fetch, or the JSONP .js on file://),
 * `mediaBase` is the URL of the folder holding media/ ("" for a page beside it). Loads are cached. */
export function filesSource(load: DataLoader, mediaBase = ""): AtlasSource {
  const cache = new Map<string, Promise<unknown>>();
  const get = <T>(name: string): Promise<T> => {
    let p = cache.get(name);
    if (!p) {
      p = load(name);
      p.catch(() => cache.delete(name)); // a failed load is tried again on the next visit
      cache.set(name, p);
    }
    return p as Promise<T>;
  };
  const manifest = () => get<AtlasManifest>(manifestName());
  const layerIndex = async (layer: string): Promise<number> => {
    const i = (await manifest()).layers.findIndex((l) => l.name === layer);
    if (i < 0) throw new AtlasPathError(`the atlas has no layer ${JSON.stringify(layer)}`);
    return i;
  };
  const base = mediaBase && !mediaBase.endsWith("/") ? `${mediaBase}/` : mediaBase;
  return {
    manifest,
    layerPage: async (layer) => get<AtlasLayerPage>(layerName(await layerIndex(layer))),
    unitPage: async (layer, unit) => {
      const i = await layerIndex(layer);
      if (!(await manifest()).layers[i].units.includes(unit)) {
        throw new AtlasPathError(`unit ${unit} of layer ${JSON.stringify(layer)} is not in the atlas`);
      }
      return get<AtlasUnitPage>(unitName(i, unit));
    },
    classPage: async (cls) => {
      const m = await manifest();
      const c = m.classes.indexOf(cls);
      if (c < 0) throw new AtlasPathError(`the atlas has no class ${JSON.stringify(cls)}`);
      return get<AtlasClassPage>(className(c));
    },
    mediaUrl: async (ref) => base + mediaPath(ref),
  };
}
