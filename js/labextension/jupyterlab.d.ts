// The one JupyterLab token the extension's plugin asks for. JupyterLab shares @jupyterlab/notebook with every
// extension at run time (the builder marks core packages shared and not bundled), so only its name is needed here.
declare module "@jupyterlab/notebook" {
  export const INotebookTracker: object;
}
