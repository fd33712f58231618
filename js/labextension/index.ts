// The JupyterLab MIME extension: renders saved vidvis clip grids in notebooks (declared safe, so an
// untrusted notebook with no kernel plays them) and opens exported *.vidvis.json files in a tab.

import { Widget } from "@lumino/widgets";
import { CLIPS_MIME, mountStaticGrid } from "../lib/static_grid";
import { addStyle } from "./style";

interface MimeModel {
  data: Record<string, unknown>;
}

export class ClipsRenderer extends Widget {
  constructor(private readonly mimeType: string) {
    super();
    this.addClass("vv-clips-output");
  }

  async renderModel(model: MimeModel): Promise<void> {
    addStyle();
    const old = (this.node as unknown as { __vvPlayer?: { destroy(): void } }).__vvPlayer;
    old?.destroy();
    this.node.textContent = "";
    let data = model.data[this.mimeType];
    if (typeof data === "string") data = JSON.parse(data); // a file opened as a document arrives as text
    await mountStaticGrid(this.node, data);
  }
}

const extension = {
  id: "vidvis-widgets:clips",
  rendererFactory: {
    safe: true,
    mimeTypes: [CLIPS_MIME],
    createRenderer: (options: { mimeType: string }) => new ClipsRenderer(options.mimeType),
  },
  // below the live widget (rank 0), above text/html (50) and images (90)
  rank: 10,
  dataType: "json",
  fileTypes: [{ name: "vidvis-clips", mimeTypes: [CLIPS_MIME], extensions: [".vidvis.json"], fileFormat: "text" }],
  documentWidgetFactoryOptions: {
    name: "vidvis clips",
    primaryFileType: "vidvis-clips",
    fileTypes: ["vidvis-clips"],
    defaultFor: ["vidvis-clips"],
  },
};

export default extension;
