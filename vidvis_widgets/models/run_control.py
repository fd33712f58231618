"""Run control: how a measurement or an optimization stops, answers a Ctrl-C, and holds the model still.

A Stop (a ``threading.Event``) and a Ctrl-C become one :class:`Halt` that every phase of a run checks
(:func:`check_stop` between steps, :func:`stoppable` between layers), so a run ends at its next check with the
best results so far and reports how it ended (:func:`ended`, :func:`stop_status`). :func:`frozen` holds a model in
eval mode without weight gradients for the run, and :func:`device_of` says where it runs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

import torch
from torch import nn

from .probe import each_module


class Stopped(Exception):
    """A measurement ended early because its stop event was set (see :func:`check_stop`); ``status`` is
    "interrupted" when the stop was a Ctrl-C (see :class:`Halt`), else "stopped"."""

    def __init__(self, status: str = "stopped"):
        super().__init__(status)
        self.status = status


class Halt:
    """A Stop or a Ctrl-C as one flag that every phase of a run checks, so both are answered the same way at
    the next check wherever they arrive (a KeyboardInterrupt raised between two phases' handlers would escape
    the call). ``is_set()`` once the user's ``stop`` event is set or SIGINT arrived under :func:`ctrl_c_stops`;
    ``status`` says which."""

    def __init__(self, stop: threading.Event | None = None):
        self.stop, self.interrupted = stop, False

    def is_set(self) -> bool:
        return self.interrupted or (self.stop is not None and self.stop.is_set())

    @property
    def status(self) -> str:
        return "interrupted" if self.interrupted else "stopped"


def stop_status(stop) -> str:
    """The status of a run that ended because ``stop`` was set: "interrupted" for a Ctrl-C, else "stopped"."""
    return stop.status if isinstance(stop, Halt) else "stopped"


def ended(err: BaseException) -> str:
    """The status of a run ended by ``err``: a :class:`Stopped` (a Stop, or a Ctrl-C under :func:`ctrl_c_stops`)
    or a KeyboardInterrupt (a Ctrl-C elsewhere, or the second one)."""
    return err.status if isinstance(err, Stopped) else "interrupted"


@contextlib.contextmanager
def ctrl_c_stops(stop: threading.Event | None) -> Iterator[Halt]:
    """Yields a :class:`Halt` over ``stop``. In the main thread, a Ctrl-C (SIGINT: Jupyter's interrupt
    button too) sets it instead of raising, so the run ends at its next check with the results so far; a
    second Ctrl-C raises KeyboardInterrupt as usual, for a pass that will not end. Elsewhere (a background
    thread, where no Ctrl-C reaches the run) the Halt is ``stop`` alone. Nested calls share the outer Halt."""
    if isinstance(stop, Halt):
        yield stop
        return
    halt = Halt(stop)

    def on_sigint(_signum, _frame):
        if halt.interrupted:
            raise KeyboardInterrupt
        halt.interrupted = True

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        yield halt
        return
    try:
        yield halt
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def check_stop(stop: threading.Event | Halt | None) -> None:
    """Raises :class:`Stopped` when ``stop`` is set: the check the measurement loops make between steps."""
    if stop is not None and stop.is_set():
        raise Stopped(stop_status(stop))


@contextlib.contextmanager
def stoppable(model: nn.Module, stop: threading.Event | None) -> Iterator[nn.Module]:
    """Every submodule checks ``stop`` before it runs, so a long forward pass ends within one layer of a Stop
    (and a pending Ctrl-C is raised there too, since Python runs between the layers)."""
    if stop is None:
        yield model
        return
    with each_module(model, lambda *_: check_stop(stop), pre=True, named_only=False):
        yield model


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no weight gradients for the duration; the model's own flags are restored after."""
    # only the flags that change are set and restored: a model already in eval mode (as a loaded one is) costs
    # two walks over its modules and parameters, not a write per module
    grads = [p for p in model.parameters() if p.requires_grad]
    modes = [m for m in model.modules() if m.training]
    for p in grads:
        p.requires_grad_(False)
    if modes:
        model.eval()
    try:
        yield model
    finally:
        for p in grads:
            p.requires_grad_(True)
        for m in modes:
            m.training = True


def device_of(model: nn.Module, device: torch.device | str | None = None) -> torch.device:
    """``device`` if given, else where the model's weights are (the CPU for a model without any)."""
    if device is not None:
        return torch.device(device)
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
