// Grid geometry shared by every grid-shaped view: clip i sits at row
// floor(i / cols), column i % cols; optional headers take the first row/column.

export interface GridSpec {
  count: number;
  rows: number;
  cols: number;
  rowHeaders: readonly string[];
  colHeaders: readonly string[];
}

export interface Placement {
  /** 1-based CSS grid line numbers */
  gridRow: number;
  gridColumn: number;
}

export interface GridLayout {
  templateColumns: string;
  cells: Placement[];
  rowHeaders: Placement[];
  colHeaders: Placement[];
}

export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}

export function gridLayout(spec: GridSpec): GridLayout {
  const { count, rows, cols, rowHeaders, colHeaders } = spec;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new LayoutError(`grid must be at least 1x1, got ${rows}x${cols}`);
  }
  if (count > rows * cols) {
    throw new LayoutError(`${count} clips do not fit a ${rows}x${cols} grid`);
  }
  if (rowHeaders.length !== 0 && rowHeaders.length !== rows) {
    throw new LayoutError(`${rowHeaders.length} row headers for ${rows} rows`);
  }
  if (colHeaders.length !== 0 && colHeaders.length !== cols) {
    throw new LayoutError(`${colHeaders.length} column headers for ${cols} columns`);
  }
  const r0 = colHeaders.length ? 1 : 0;
  const c0 = rowHeaders.length ? 1 : 0;
  const cells: Placement[] = [];
  for (let i = 0; i < count; i++) {
    cells.push({ gridRow: r0 + Math.floor(i / cols) + 1, gridColumn: c0 + (i % cols) + 1 });
  }
  return {
    templateColumns: `${c0 ? "max-content " : ""}repeat(${cols}, max-content)`,
    cells,
    rowHeaders: rowHeaders.map((_, r) => ({ gridRow: r0 + r + 1, gridColumn: 1 })),
    colHeaders: colHeaders.map((_, c) => ({ gridRow: 1, gridColumn: c0 + c + 1 })),
  };
}

/** Integer zoom that makes the largest clip at least `target` CSS pixels wide/high. */
export function autoZoom(maxSide: number, target = 128, maxZoom = 8): number {
  if (maxSide <= 0) return 1;
  return Math.max(1, Math.min(maxZoom, Math.floor(target / maxSide)));
}
