// The JupyterLab atlas document's file reader: the files of an exported atlas (data/*.json, media/*) beside its
// atlas.vvatlas, fetched from the Jupyter server's files URL with the server's credentials. No @jupyterlab
// import here, so the unit tests load it as it is.

import type { FileReader } from "../lib/atlas_sources";

/** What the reader needs of JupyterLab's ServerConnection.ISettings. */
export interface ServerSettings {
  baseUrl: string;
  token?: string;
  init?: RequestInit;
  fetch?: (input: RequestInfo, init?: RequestInit) => Promise<Response>;
}

/** The folder of a file path in the server's contents ("" for the root); a drive prefix ("Drive:") is dropped. */
export function folderOf(path: string): string {
  const local = path.includes(":") ? path.slice(path.indexOf(":") + 1) : path;
  const cut = local.lastIndexOf("/");
  return cut < 0 ? "" : local.slice(0, cut);
}

/** The server's files URL of `rel` inside `folder`, each path part URL-encoded. */
export function filesUrl(baseUrl: string, folder: string, rel: string): string {
  const parts = [...folder.split("/"), ...rel.split("/")].filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new Error(`the atlas path ${JSON.stringify(rel)} leaves the atlas folder`);
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return `${base}files/${parts.map(encodeURIComponent).join("/")}`;
}

/** Reads the export beside the atlas file at `atlasPath` (a path in the server's contents). */
export function serverFiles(settings: ServerSettings, atlasPath: string): FileReader {
  const folder = folderOf(atlasPath);
  const fetcher = settings.fetch ?? ((input: RequestInfo, init?: RequestInit) => fetch(input, init));
  async function get(rel: string): Promise<Response> {
    const headers = new Headers(settings.init?.headers);
    if (settings.token) headers.set("Authorization", `token ${settings.token}`);
    const response = await fetcher(filesUrl(settings.baseUrl, folder, rel), { ...settings.init, headers, cache: "no-cache" });
    if (!response.ok) {
      const where = folder ? `${folder}/${rel}` : rel;
      throw new Error(response.status === 404
        ? `${where} is missing: the atlas file needs the data/ and media/ folders its export wrote beside it`
        : `could not read ${where}: the server answered ${response.status} ${response.statusText}`);
    }
    return response;
  }
  return {
    json: async (rel) => (await get(rel)).json(),
    bytes: async (rel) => {
      const response = await get(rel);
      const mime = response.headers.get("Content-Type")?.split(";")[0] || "application/octet-stream";
      return { bytes: await response.arrayBuffer(), mime };
    },
  };
}
