"""RegularizerSweep: the layout of the papers' Figs. 7, 8, 10 and 12 on the ClipPlayer grid.

Rows are units; columns are the appearance input, then the motion input under each regularizer
setting (γ ∈ {10, 5, 1, 0}, or the κ sweep). Every cell plays in sync from one clock.
"""

from __future__ import annotations

from typing import Sequence

from ..methods.activation_maximization import PRESETS, ActivationMaximization, AMJob, AMResults
from .clip_player import ClipPlayer


def _setting(preset: str, kappa: float, gamma: float) -> str:
    return f"κ=γ={kappa:g}" if preset == "isotropic" else f"γ={gamma:g}" if preset == "anisotropic" else f"κ={kappa:g}"


class RegularizerSweep(ClipPlayer):
    """A grid of AM results: one row per unit, one column per regularizer setting.

        sweep = RegularizerSweep.run(model, [("conv5_fusion", 3), ("fc8", 0)], preset="anisotropic")

    ``results`` must hold, for each unit in order, one result per setting of ``preset`` (what
    :meth:`run` produces). The settings all run as one batch.
    """

    def __init__(self, results: AMResults, preset: str = "anisotropic", **kw):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        per_unit = len(PRESETS[preset])
        if not results or len(results) % per_unit:
            raise ValueError(f"expected {per_unit} results per unit for preset {preset!r}, got {len(results)}")
        self.results = AMResults(results)
        two_stream = results[0].motion is not None
        rows = [results[i:i + per_unit] for i in range(0, len(results), per_unit)]
        clips, captions = [], []
        for row in rows:
            if two_stream:
                clips.append(row[0].appearance_clip())
                captions.append(f"a/â {row[0].normalized_activation:.2f}")
            for r in row:
                clips.append(r.motion_clip() if two_stream else r.appearance_clip())
                captions.append(f"a/â {r.normalized_activation:.2f}")
        settings = [_setting(preset, k, g) for k, g in PRESETS[preset]]
        col_headers = (["appearance"] + [f"motion {s}" for s in settings]) if two_stream else settings
        row_headers = [f"{row[0].job.layer} c{row[0].job.channel}" for row in rows]
        kw.setdefault("fps", 6.0)
        super().__init__(clips, captions=captions, rows=len(rows), cols=len(col_headers), row_headers=row_headers,
                         col_headers=col_headers, **kw)

    @classmethod
    def run(cls, model_or_am, units: Sequence[tuple[str, int]], preset: str = "anisotropic", seed: int = 0,
            steps: int | None = None, callback=None, stop=None, **am_kwargs) -> "RegularizerSweep":
        """Runs every (unit, setting) job as one batch and lays the results out."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        am = model_or_am if isinstance(model_or_am, ActivationMaximization) else ActivationMaximization(
            model_or_am, **am_kwargs)
        jobs = [AMJob(layer, int(ch), k, g, seed) for layer, ch in units for k, g in PRESETS[preset]]
        return cls(am(jobs, steps=steps, callback=callback, stop=stop), preset)
