// Small DOM builders. User data only ever goes through textContent or
// attributes, never innerHTML, so captions cannot inject markup.

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Inline SVG icons: text glyphs like ⏸ render as empty boxes where no symbol font is installed.
const ICONS: Record<string, string> = {
  play: "M4 2.5v11l9-5.5z",
  pause: "M3.5 2.5h3v11h-3zM9.5 2.5h3v11h-3z",
  back: "M3 2.5h2v11H3zM14 2.5v11L6 8z",
  forward: "M11 2.5h2v11h-2zM2 2.5v11L10 8z",
};

export type IconName = keyof typeof ICONS;

export function setIcon(el: Element, name: string): void {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  el.replaceChildren(svg);
  el.setAttribute("data-icon", name);
}

export function button(icon: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = h("button", { type: "button", title, "aria-label": title, class: "vv-btn" });
  setIcon(b, icon);
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick();
  });
  return b;
}
