// The text/html fallback of a saved clip grid: a classic script placed right after the grid's JSON. It
// mounts the player in the element before the JSON, so nbconvert's HTML plays offline, with no widget
// manager and no CDN. Each output carries its own copy; the style is added once per page.

import { CLIPS_MIME, mountStaticGrid } from "./lib/static_grid";
import css from "./clip_player.css";

const me = document.currentScript;
const data = me?.previousElementSibling;
const host = data?.previousElementSibling as HTMLElement | null | undefined;
if (data && host && data.getAttribute("type") === CLIPS_MIME) {
  if (!document.getElementById("vv-static-style")) {
    const style = document.createElement("style");
    style.id = "vv-static-style";
    style.textContent = css;
    document.head.append(style);
  }
  host.textContent = "";
  void mountStaticGrid(host, JSON.parse(data.textContent ?? "null"));
}
