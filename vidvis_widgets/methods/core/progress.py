"""Progress bars for the long calls (activation maximization, LEAPS, Saliency Tubes over many clip batches), so
that a call without a widget or a callback still shows a sign of life.

``tqdm.auto`` draws them: a widget bar in a notebook, a text bar on stderr in a terminal. Whether a call shows
one is its ``progress=`` argument:

- ``True`` / ``False``: always / never;
- ``None`` (the default): on, unless the call has a ``callback`` (a widget or a monitor passes one, and shows the
  progress itself) or the environment variable ``VIDVIS_PROGRESS`` is ``0`` (also ``false``, ``off``, ``no``),
  which turns the default off package-wide (``VIDVIS_PROGRESS=1`` or unset leaves it on). Saliency Tubes show
  one by default only over more than one batch of clips (one batch is one forward pass).

The bar only counts: the loops call :meth:`Bar.update` once per step on the host, so it adds no host
synchronization with the device (on a GPU it counts the steps issued, which the device may finish a little later).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator

#: the environment variable that sets the package-wide default of ``progress=None``
ENV = "VIDVIS_PROGRESS"
_OFF = ("0", "false", "off", "no")


def default_on() -> bool:
    """Whether ``progress=None`` shows a bar: yes unless ``VIDVIS_PROGRESS`` is 0, false, off or no."""
    return os.environ.get(ENV, "").strip().lower() not in _OFF


def wanted(progress: bool | None, callback=None) -> bool:
    """Whether a call shows a bar: ``progress`` if given (True/False), else on unless there is a ``callback``
    (a widget or monitor showing the progress itself) or ``VIDVIS_PROGRESS`` turns the default off."""
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None (the default: a bar unless a callback is given "
                            f"or {ENV}=0); got {progress!r}")
        return progress
    return callback is None and default_on()


def count(n: int, noun: str) -> str:
    """``n`` of ``noun``, as a bar's description says it: "1 job", "3 jobs"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class Bar:
    """A counting bar: ``update(n)`` adds ``n`` steps; a disabled bar does nothing."""

    def __init__(self, total: int, desc: str, enabled: bool, unit: str = "step"):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=int(total), desc=desc, unit=unit, leave=True, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def progress_bar(total: int, desc: str, progress: bool | None = None, callback=None, unit: str = "step"
                 ) -> Iterator[Bar]:
    """A :class:`Bar` of ``total`` steps, shown where :func:`wanted` says so, closed on leaving (a Stop, a
    Ctrl-C or an error leaves it at the steps taken)."""
    bar = Bar(total, desc, wanted(progress, callback), unit)
    try:
        yield bar
    finally:
        bar.close()


@dataclass
class BatchSnapshot:
    """What a pass-only method's callback sees every ``every`` clip batches (and after the last): ``batch`` of
    ``batches`` done, ``clips_done`` of ``clips``. ``step`` / ``steps`` are the batches, under the names an
    optimization's :class:`~.loop.Snapshot` gives its progress, so one progress display serves both."""

    batch: int
    batches: int
    clips_done: int
    clips: int

    @property
    def step(self) -> int:
        return self.batch

    @property
    def steps(self) -> int:
        return self.batches
