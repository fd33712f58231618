// The atlas browser's style, added inside the element it is mounted in (so the widget, the static site and the
// JupyterLab document need no stylesheet of their own). Every rule is under .vv-atlas.
export const ATLAS_CSS = `
.vv-atlas { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fff;
  padding: 8px 12px; box-sizing: border-box; }
.vv-atlas * { box-sizing: border-box; }
.vv-atlas a { color: #1a5fb4; text-decoration: none; cursor: pointer; }
.vv-atlas a:hover { text-decoration: underline; }
.vv-atlas-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; border-bottom: 1px solid #ddd;
  padding-bottom: 6px; margin-bottom: 8px; }
.vv-atlas-bar .vv-atlas-title { font-weight: 600; }
.vv-atlas-crumbs span + span::before { content: "›"; margin: 0 6px; color: #888; }
.vv-atlas-back { font: inherit; padding: 1px 8px; }
.vv-atlas h2 { font-size: 16px; margin: 4px 0 8px; }
.vv-atlas h3 { font-size: 14px; margin: 14px 0 6px; }
.vv-atlas-meta { color: #555; margin: 2px 0 8px; }
.vv-atlas table { border-collapse: collapse; }
.vv-atlas th, .vv-atlas td { text-align: left; padding: 2px 10px 2px 0; border-bottom: 1px solid #eee; }
.vv-atlas-classes { display: flex; flex-wrap: wrap; gap: 4px 12px; }
.vv-atlas-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--vv-cell, 140px), 1fr));
  gap: 6px; }
.vv-atlas-cell { display: block; border: 1px solid #e3e3e3; border-radius: 4px; padding: 3px; color: inherit;
  content-visibility: auto; contain-intrinsic-size: auto var(--vv-cell-h, 100px); }
.vv-atlas-cell:hover { border-color: #1a5fb4; text-decoration: none !important; }
.vv-atlas-thumbs { display: flex; gap: 2px; }
.vv-atlas-thumb { background-repeat: no-repeat; image-rendering: pixelated; background-color: #f4f4f4; flex: none; }
.vv-atlas-cap { font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #444; }
.vv-atlas-row { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.vv-atlas-input { display: flex; gap: 4px; }
.vv-atlas-stream { margin: 0; }
.vv-atlas-stream figcaption { font-size: 11px; color: #666; }
.vv-atlas-media { display: block; background-repeat: no-repeat; image-rendering: pixelated; background-color: #f4f4f4; }
.vv-atlas-item { margin: 0; }
.vv-atlas-item figcaption, .vv-atlas-item .vv-atlas-cap { font-size: 11px; color: #444; max-width: 280px; }
.vv-atlas-pick { border: 2px solid transparent; border-radius: 4px; padding: 2px; background: none; font: inherit;
  text-align: left; cursor: pointer; }
.vv-atlas-pick:hover { border-color: #9bbbe0; }
.vv-atlas-pick.vv-atlas-active { border-color: #1a5fb4; }
.vv-atlas-stage { min-height: 40px; border: 1px dashed #ccc; border-radius: 4px; padding: 6px; margin-bottom: 6px; }
.vv-atlas-hist text { font-size: 10px; fill: #444; }
.vv-atlas-hist rect.vv-atlas-bar-top { fill: #1a5fb4; }
.vv-atlas-hist rect { fill: #8fb0d8; }
.vv-atlas-error { color: #b00020; white-space: pre-wrap; }
.vv-atlas-none, .vv-atlas-loading-text { color: #888; }
`;
