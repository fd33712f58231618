// The exported atlas site's script (atlas.js beside index.html). It reads the export's data/<name>.js files as
// JSONP script tags, so the folder browses from file:// with no server, no kernel and no network, and keeps the
// page in location.hash so the back button works.

import { mountAtlas } from "./lib/atlas_browser";
import { JSONP_CALLBACK, dataJsPath, filesSource } from "./lib/atlas_paths";

type Waiting = { resolve: (v: unknown) => void; reject: (e: Error) => void };
const waiting = new Map<string, Waiting[]>();

(window as unknown as Record<string, unknown>)[JSONP_CALLBACK] = (name: string, data: unknown) => {
  const list = waiting.get(name);
  waiting.delete(name);
  list?.forEach((w) => w.resolve(data));
};

function loadScript(name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const list = waiting.get(name);
    if (list) {
      list.push({ resolve, reject });
      return;
    }
    waiting.set(name, [{ resolve, reject }]);
    const s = document.createElement("script");
    s.src = dataJsPath(name);
    const fail = (why: string) => {
      const l = waiting.get(name);
      waiting.delete(name);
      l?.forEach((w) => w.reject(new Error(why)));
    };
    s.onerror = () => fail(`${dataJsPath(name)} is missing from the exported folder`);
    s.onload = () => {
      s.remove();
      if (waiting.has(name)) fail(`${dataJsPath(name)} did not hold the page "${name}"`);
    };
    document.head.append(s);
  });
}

const host = document.getElementById("vv-atlas") ?? document.body;
host.textContent = "";
const atlas = mountAtlas(host, filesSource(loadScript, ""), { hash: true });
(window as unknown as Record<string, unknown>).vvAtlas = atlas;
