// The player's stylesheet, added to the page once by whichever part of the extension renders first.

import css from "../clip_player.css";

export function addStyle(): void {
  if (document.getElementById("vv-static-style")) return;
  const style = document.createElement("style");
  style.id = "vv-static-style";
  style.textContent = css;
  document.head.append(style);
}
