// The JupyterLab atlas document: a *.vvatlas file (written by atlas.export beside its data/ and media/ folders)
// opens in a tab with the one atlas browser, reading the export's files through the Jupyter server.

import { ABCWidgetFactory, DocumentWidget, type DocumentRegistry } from "@jupyterlab/docregistry";
import { Widget } from "@lumino/widgets";
import { mountAtlas, type AtlasHandle } from "../lib/atlas_browser";
import { exportSource, parseAtlasFile, type DisposableSource } from "../lib/atlas_sources";
import { serverFiles, type ServerSettings } from "./atlas_files";

export const ATLAS_FILE_TYPE = "vidvis-atlas";
export const ATLAS_FACTORY = "vidvis atlas";

/** The tab's content: the browser, mounted once the atlas file is read. */
class AtlasPanel extends Widget {
  private atlas: AtlasHandle | null = null;
  private source: DisposableSource | null = null;

  constructor(context: DocumentRegistry.IContext, settings: ServerSettings) {
    super();
    this.addClass("vv-atlas-document");
    this.node.style.overflow = "auto";
    this.node.style.padding = "8px";
    void context.ready.then(() => this.open(context, settings), (err) => this.fail(err));
  }

  private open(context: DocumentRegistry.IContext, settings: ServerSettings): void {
    if (this.isDisposed) return;
    try {
      parseAtlasFile(JSON.parse(context.model.toString()));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.source = exportSource(serverFiles(settings, context.localPath || context.path));
    this.atlas = mountAtlas(this.node, this.source);
    (this.node as unknown as { __vvAtlas?: AtlasHandle }).__vvAtlas = this.atlas;
  }

  private fail(err: unknown): void {
    if (this.isDisposed) return;
    const box = document.createElement("div");
    box.className = "vv-atlas-error";
    box.style.color = "#b00020";
    box.textContent = `Could not open this atlas: ${String((err as Error)?.message ?? err)}`;
    this.node.replaceChildren(box);
  }

  dispose(): void {
    this.atlas?.dispose();
    this.source?.dispose();
    this.atlas = this.source = null;
    super.dispose();
  }
}

class AtlasFactory extends ABCWidgetFactory<DocumentWidget<AtlasPanel>> {
  constructor(private readonly settings: ServerSettings) {
    super({ name: ATLAS_FACTORY, label: "Model atlas", fileTypes: [ATLAS_FILE_TYPE], defaultFor: [ATLAS_FILE_TYPE],
      readOnly: true, modelName: "text", preferKernel: false, canStartKernel: false });
  }

  protected createNewWidget(context: DocumentRegistry.IContext): DocumentWidget<AtlasPanel> {
    const widget = new DocumentWidget({ content: new AtlasPanel(context, this.settings), context });
    widget.addClass("vv-atlas-document-tab");
    return widget;
  }
}

interface App {
  docRegistry: {
    addFileType(fileType: Partial<DocumentRegistry.IFileType>): unknown;
    addWidgetFactory(factory: unknown): unknown;
  };
  serviceManager: { serverSettings: ServerSettings };
}

export const atlasDocumentPlugin = {
  id: "vidvis-widgets:atlas-document",
  description: "Opens a model atlas (*.vvatlas, written by atlas.export) as a document with the atlas browser.",
  autoStart: true,
  activate: (app: App): void => {
    app.docRegistry.addFileType({
      name: ATLAS_FILE_TYPE, displayName: "Model atlas", extensions: [".vvatlas"],
      mimeTypes: ["application/x-vidvis-atlas+json"], fileFormat: "text", contentType: "file",
      iconClass: "jp-MaterialIcon jp-ImageIcon",
    });
    app.docRegistry.addWidgetFactory(new AtlasFactory(app.serviceManager.serverSettings));
  },
};
