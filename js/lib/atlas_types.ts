// The atlas's data, as the Python `Atlas` reader gives it (manifest(), layer_page(), unit_page(),
// class_page(), media(ref)). One browser (atlas_browser.ts) reads it from three sources: the widget
// (kernel messages), the exported static site (files beside index.html) and the JupyterLab document
// (the server's files). Every string here may come from a user (class names, layer names): render it
// with textContent, never innerHTML.

/** A media file named by a page: also its file name under media/ in an export. [A-Za-z0-9_.-]+ */
export type MediaRef = string;

/** One clip as media: a video file (webm) or a still (png), with its frame count for the player. */
export interface AtlasClip {
  ref: MediaRef;
  mime: string; // "video/webm" | "image/png" | ...
  width: number;
  height: number;
  frames: number;
  fps?: number;
}

/** The streams of one input: two-stream models give appearance + motion, one-stream models video. */
export interface AtlasInput {
  appearance?: AtlasClip;
  motion?: AtlasClip;
  video?: AtlasClip;
}

export interface AtlasLayerInfo {
  name: string;
  kind: "units" | "classes";
  channels: number;
  receptive_field: number[] | null; // per axis (t, h, w) or (h, w); null when unknown
  stride: number[] | null;
  units: number[]; // the selected units (for a class layer: class indices)
}

export interface AtlasManifest {
  version: 1;
  name: string;
  model: string;
  weights: string; // SHA-256 of the model's weights
  streams: string[]; // e.g. ["appearance", "motion"] or ["video"]
  classes: string[];
  layers: AtlasLayerInfo[];
  presets: { kappa: number; gamma: number }[]; // the regularizer settings of each unit's sweep, in order
  thumb_preset: number; // index into presets used for the grid thumbnails
  has: { leaps: boolean; tubes: boolean; histograms: boolean };
}

/** The grid thumbnails of a layer, as one sprite sheet per stream: cell i is at
 * (i % columns, floor(i / columns)) × (cell_width, cell_height). */
export interface AtlasSprite {
  ref: MediaRef; // png
  stream: string;
  columns: number;
  cell_width: number;
  cell_height: number;
}

export interface AtlasUnitCell {
  unit: number;
  cell: number; // index of this unit's thumbnail in the sprites
  selectivity: number; // class selectivity (higher first)
  top_class: string | null;
  value: number | null; // a/â of the thumbnail's input
}

export interface AtlasLayerPage {
  layer: string;
  receptive_field: number[] | null;
  stride: number[] | null;
  sprites: AtlasSprite[];
  units: AtlasUnitCell[]; // ordered by class selectivity, highest first
}

export interface AtlasTopClip {
  index: number; // dataset index
  label: string; // its class
  response: number;
  clip: AtlasInput;
}

export interface AtlasSweepEntry {
  kappa: number;
  gamma: number;
  value: number | null;
  input: AtlasInput;
}

export interface AtlasTube {
  index: number;
  label: string;
  predicted: string;
  clip: AtlasClip; // the tube rendered over the clip
}

export interface AtlasUnitPage {
  layer: string;
  unit: number;
  top_class: string | null;
  selectivity: number;
  sweep: AtlasSweepEntry[];
  histogram: { classes: string[]; values: (number | null)[] } | null;
  top_clips: AtlasTopClip[];
  tubes: AtlasTube[];
}

export interface AtlasClassPage {
  class: string;
  index: number;
  am: AtlasSweepEntry[];
  leaps: AtlasInput | null;
  accuracy: number | null;
  confusions: { class: string; count: number }[]; // most confused with, most first
  misclassified: { index: number; predicted: string; clip: AtlasInput }[];
  tubes: AtlasTube[];
}

/** Where the browser gets its data. Each source resolves the same pages. */
export interface AtlasSource {
  manifest(): Promise<AtlasManifest>;
  layerPage(layer: string): Promise<AtlasLayerPage>;
  unitPage(layer: string, unit: number): Promise<AtlasUnitPage>;
  classPage(cls: string): Promise<AtlasClassPage>;
  /** A URL the page can put in img/video src (a blob: URL, a relative file, a server URL). */
  mediaUrl(ref: MediaRef): Promise<string>;
}

/** Routes: the browser's location, also kept in location.hash by the static site ("#/layer/<name>",
 * "#/unit/<layer>/<unit>", "#/class/<name>"). */
export type AtlasRoute =
  | { page: "home" }
  | { page: "layer"; layer: string }
  | { page: "unit"; layer: string; unit: number }
  | { page: "class"; cls: string };
