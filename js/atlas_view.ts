// anywidget entry of vidvis_widgets.AtlasView: the one atlas browser (lib/atlas_browser.ts) on the kernel's
// messages. Only the manifest comes with the widget's state; every page and media file is asked for when shown
// (lib/atlas_sources.ts messageSource), and its blob: URLs are revoked when the view goes.

import type { RenderProps } from "@anywidget/types";
import { mountAtlas } from "./lib/atlas_browser";
import { messageSource } from "./lib/atlas_sources";
import type { AtlasManifest } from "./lib/atlas_types";

interface AtlasViewModel {
  _manifest: AtlasManifest;
}

function render({ model, el }: RenderProps<AtlasViewModel>): () => void {
  const source = messageSource(model);
  const host = document.createElement("div");
  host.className = "vv-atlas-view";
  el.append(host);
  const atlas = mountAtlas(host, source);
  // the browser tests and the first-paint benchmark drive the view through its handle
  (host as unknown as { __vvAtlas?: unknown }).__vvAtlas = atlas;
  return () => {
    atlas.dispose();
    source.dispose();
    host.remove();
  };
}

export default { render };
