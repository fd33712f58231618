"""RegularizerSweep: the layout of the papers' Figs. 7, 8, 10 and 12 on the ClipPlayer grid.

Rows are units; columns are the appearance input, then the motion input under each regularizer
setting (γ ∈ {10, 5, 1, 0}, or the κ sweep). Every cell plays in sync from one clock.
"""

from __future__ import annotations

from ..methods.activation_maximization.am import PRESETS, ActivationMaximization, AMResults, sweep
from ..methods.core.calls import as_seeds
from .clip_player import ClipPlayer


def _setting(job) -> str:
    if job.kappa == 1.0:
        return f"γ={job.gamma:g}"
    return f"κ=γ={job.kappa:g}" if job.kappa == job.gamma else f"κ={job.kappa:g} γ={job.gamma:g}"


def sweep_row(results) -> tuple[list, list[str], list[str]]:
    """One unit's results across regularizer settings as a row of cells: (clips, captions, column headers).
    A two-stream row starts with the appearance image, then the motion input per setting; a multi-pathway
    model's (SlowFast's) shows its fastest pathway per setting, the one the temporal weight γ shapes most."""
    has_motion = results[0].motion is not None
    if results[0].pathways:
        fastest = results[0].stream_names[-1]
        return ([r.clips()[-1] for r in results], [r.activation_caption for r in results],
                [f"{fastest} {_setting(r.job)}" for r in results])
    clips = [r.motion_clip() if has_motion else r.appearance_clip() for r in results]
    captions = [r.activation_caption for r in results]
    headers = [f"{'motion' if has_motion else 'video'} {_setting(r.job)}" for r in results]
    if has_motion:
        clips, captions, headers = [results[0].appearance_clip()] + clips, captions[:1] + captions, \
            ["appearance"] + headers
    return clips, captions, headers


class RegularizerSweep(ClipPlayer):
    """A grid of AM results: one row per unit, one column per regularizer setting.

        sweep = RegularizerSweep.run(model, [unit("conv5_fusion", 3), unit("fc8", 0)], preset="anisotropic")

    ``results`` must hold, for each target (and seed) in order, one result per setting of ``preset`` (what
    :meth:`run` produces). The settings all run as one batch.
    """

    def __init__(self, results: AMResults, preset: str = "anisotropic", **kw):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        per_unit = len(PRESETS[preset])
        if not results or len(results) % per_unit:
            raise ValueError(f"expected {per_unit} results per unit for preset {preset!r}, got {len(results)}")
        self.results = AMResults(results)
        rows = [results[i:i + per_unit] for i in range(0, len(results), per_unit)]
        clips, captions = [], []
        for row in rows:
            c, cap, col_headers = sweep_row(row)
            clips += c
            captions += cap
        seeds = {r.job.seed for r in results}
        row_headers = [row[0].job.unit + (f" · seed {row[0].job.seed}" if len(seeds) > 1 else "") for row in rows]
        kw.setdefault("fps", 6.0)
        super().__init__(clips, captions=captions, rows=len(rows), cols=len(col_headers), row_headers=row_headers,
                         col_headers=col_headers, **kw)

    @classmethod
    def run(cls, model_or_am, target, preset: str = "anisotropic", *, seeds=0, steps: int | None = None,
            callback=None, stop=None, **am_kwargs) -> "RegularizerSweep":
        """Runs ``preset``'s settings (:func:`sweep`) for every target (a unit, ``unit(layer, channel)``, a class, or
        a list of them) and seed as one batch, and lays the results out, a row per target and seed."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        am = model_or_am if isinstance(model_or_am, ActivationMaximization) else ActivationMaximization(
            model_or_am, **am_kwargs)
        targets = list(target) if isinstance(target, (list, tuple)) else [target]
        jobs = [j for t in targets for s in as_seeds(seeds) for j in sweep(t, preset, s)]
        return cls(am(jobs, steps=steps, callback=callback, stop=stop), preset)
