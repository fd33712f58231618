// The JupyterLab (and Notebook 7) plugin half of the extension: in every notebook it wraps the live widget's
// renderer so that a trusted output with a saved copy shows that copy until the live widget renders
// (see saved_widget_view.ts). The MIME half (index.ts) renders the saved copies of untrusted outputs and files.

import { INotebookTracker } from "@jupyterlab/notebook";
import { wrapWidgetViews, type RenderMimeRegistry } from "./saved_widget_view";
import { atlasDocumentPlugin } from "./atlas_document";

interface NotebookPanel {
  content: { rendermime: RenderMimeRegistry };
}

interface Tracker {
  forEach(fn: (panel: NotebookPanel) => void): void;
  widgetAdded: { connect(fn: (sender: unknown, panel: NotebookPanel) => void): void };
}

const plugin = {
  id: "vidvis-widgets:saved-widget-views",
  description: "Shows the saved copy of a vidvis output where its live widget cannot render (no kernel, no model).",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: unknown, tracker: Tracker): void => {
    tracker.forEach((panel) => wrapWidgetViews(panel.content.rendermime));
    tracker.widgetAdded.connect((_sender, panel) => wrapWidgetViews(panel.content.rendermime));
  },
};

// the atlas document (atlas_document.ts): *.vvatlas files open with the atlas browser
export default [plugin, atlasDocumentPlugin];
