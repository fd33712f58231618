"""FilterEvolutionGrid: rows are training epochs, columns the units' inputs, every cell a synced clip
(IJCV 2020, Fig. 9)."""

from __future__ import annotations

from ..methods.activation_maximization.filter_evolution import FilterEvolution, filter_evolution
from .clip_player import ClipPlayer


class FilterEvolutionGrid(ClipPlayer):
    """The same units, seed and settings optimized on each checkpoint, one row per checkpoint.

        FilterEvolutionGrid.run(load_model("tiny_two_stream"), [unit("conv5_fusion", 3), unit("fc8", 12)])

    With no ``checkpoints`` an embedded model uses its shipped per-epoch checkpoints. A two-stream
    model shows each unit's appearance and motion input side by side, a multi-pathway model each pathway's.
    """

    def __init__(self, evolution: FilterEvolution, **kw):
        self.evolution = evolution
        clips, captions = [], []
        for row in evolution.results:
            for r in row:
                cell = r.clips()  # each input (appearance and motion, or each pathway): the caption under the first
                clips += cell
                captions += [r.activation_caption] + [""] * (len(cell) - 1)
        units = [j.unit for j in evolution.jobs]
        names = evolution.results[0][0].stream_names
        col_headers = [f"{u} · {s}" for u in units for s in names] if len(names) > 1 else units
        kw.setdefault("fps", 6.0)
        super().__init__(clips, captions=captions, rows=len(evolution.results), cols=len(col_headers),
                         row_headers=evolution.labels, col_headers=col_headers, **kw)

    @classmethod
    def run(cls, model, target, checkpoints=None, *, seeds=0, kappa: float = 1.0, gamma: float = 5.0,
            steps: int | None = None, store=None, **am_kwargs):
        """:func:`filter_evolution`'s run (``target``: a unit, a class, a list of them, or AMJobs) as a grid."""
        return cls(filter_evolution(model, target, checkpoints, seeds=seeds, kappa=kappa, gamma=gamma, steps=steps,
                                    store=store, **am_kwargs))
