"""Result tables: rows of named measures, shown as text and as escaped HTML, with ``to_pandas``."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from ._atomic import atomic_path


@dataclass
class Table:
    """One dict per row. Subclasses name ``COLUMNS`` (the keys, in order), ``KEY`` (the column that names a
    row), and ``HEAD`` / ``cells`` (how a row is shown). Index by column name for an array, or by a row's
    key for the row dict."""

    rows: list[dict]
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    KEY: ClassVar[str] = "key"
    HEAD: ClassVar[tuple[str, ...]] = ()
    cells: ClassVar[Callable[[dict], list[str]]]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.COLUMNS

    def __getitem__(self, key: str):
        if key in self.COLUMNS:
            return np.array([r[key] for r in self.rows])
        for r in self.rows:
            if r[self.KEY] == key:
                return r
        raise KeyError(f"{key!r} is neither a column ({', '.join(self.COLUMNS)}) nor a row "
                       f"({', '.join(str(r[self.KEY]) for r in self.rows)})")

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, list]:
        return {c: [r[c] for r in self.rows] for c in self.COLUMNS}

    def to_csv(self, path) -> Path:
        """Writes the rows, one column per key, atomically."""
        import csv

        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.COLUMNS)
            w.writerows([[r[c] for c in self.COLUMNS] for r in self.rows])
        return path

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.to_dict())

    def __str__(self) -> str:
        cells = [list(self.HEAD)] + [self.cells(r) for r in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.HEAD))]
        lines = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self.cells(r)) + "</tr>"
                       for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
