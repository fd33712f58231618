// Stylesheets imported as text by the bundles that inject them themselves (static HTML, JupyterLab).
declare module "*.css" {
  const text: string;
  export default text;
}
