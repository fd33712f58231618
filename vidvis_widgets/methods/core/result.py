"""What every optimized result shares: how its run ended, which step's input it holds, and the settings.

Activation maximization's and LEAPS' results (and the jobs' starts a stopped call returns) derive from
:class:`OptimizedResult`; :meth:`~.loop.LoopOutcome.job_status` fills these fields for one job of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: how a job's run ended: ran every step; its objective turned NaN or infinite at ``diverged_at`` (it keeps
#: its last finite best); ended by a Stop; ended by a Ctrl-C
STATUSES = ("completed", "diverged", "stopped", "interrupted")


@dataclass(kw_only=True)
class OptimizedResult:
    """``best_step``: the step whose input the result holds; ``status``: one of :data:`STATUSES`;
    ``diverged_at``: the step its objective turned NaN or infinite, else None; ``settings``: every setting
    the run used (what a store keys it by, and what a reader needs to reproduce it)."""

    best_step: int
    status: str
    diverged_at: int | None
    settings: dict = field(default_factory=dict)
