// The parts of JupyterLab's document registry the atlas document uses. JupyterLab shares these core packages
// with every extension at run time (the builder marks them shared and not bundled), so only their shapes are
// declared here.
declare module "@jupyterlab/docregistry" {
  import type { Widget } from "@lumino/widgets";

  export namespace DocumentRegistry {
    interface IContext {
      readonly path: string;
      readonly localPath?: string;
      readonly ready: Promise<void>;
      readonly model: { toString(): string };
    }
    interface IFileType {
      name: string;
      displayName?: string;
      extensions: string[];
      mimeTypes: string[];
      fileFormat: "text" | "base64" | "json" | null;
      contentType: string;
      iconClass?: string;
    }
    interface IWidgetFactoryOptions {
      name: string;
      label?: string;
      fileTypes: string[];
      defaultFor?: string[];
      readOnly?: boolean;
      modelName?: string;
      preferKernel?: boolean;
      canStartKernel?: boolean;
    }
  }

  export class DocumentWidget<T extends Widget = Widget> extends Widget {
    constructor(options: { content: T; context: DocumentRegistry.IContext });
    readonly content: T;
    readonly context: DocumentRegistry.IContext;
  }

  export abstract class ABCWidgetFactory<T extends Widget = Widget> {
    constructor(options: DocumentRegistry.IWidgetFactoryOptions);
    readonly name: string;
    protected abstract createNewWidget(context: DocumentRegistry.IContext): T;
  }
}
