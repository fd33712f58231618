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

export function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = h("button", { type: "button", title, "aria-label": title, class: "vv-btn" }, label);
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick();
  });
  return b;
}
