"""A displayed widget's notebook outputs, kept current: the saved copy follows the widget.

Each output of a ClipPlayer or an analysis view holds, beside the live widget's view, static copies of what it
shows (:mod:`.static`), which are what a saved notebook keeps. :func:`display_followed` displays a widget with
a display id (one per widget, shared by all its outputs) and watches what its static copy is made of: a
player's clips, captions, layout and settings; a plot's data and layout; which players and plots a view holds.
When one changes, the whole output (live view and static copies) is rebuilt and sent again under that id:

- off the caller's thread, at most once per :data:`REBUILD_EVERY` seconds per widget, and never more often than
  keeps rebuilding under :data:`MAX_SHARE` of the time (a rebuild that took 1.5 s waits 15 s for the next, so a
  run being watched is not slowed by its own saved copy); the last change always lands (a change while a rebuild
  is pending or running is covered by it, or by one more after it);
- at once at the end of each cell that changed it, so an executed notebook (nbclient, nbconvert) saves it too;
- at once at the end of an optimization run (:func:`refresh_outputs`), also after Stop, Ctrl-C or an error.

A widget that was never displayed is not watched; nothing is rebuilt for it.
"""

from __future__ import annotations

import threading
import time
import uuid
import warnings
import weakref
from typing import Callable

#: seconds between two rebuilds of one widget's outputs while it keeps changing
REBUILD_EVERY = 1.5
#: the largest share of the time that one widget's rebuilds may take while it keeps changing
MAX_SHARE = 0.1
#: a player's traits its static copy is made of (not ``frame`` or ``playing``, which change as it plays)
PLAYER_TRAITS = ("_clips", "captions", "rows", "cols", "row_headers", "col_headers", "fps", "loop", "zoom")
#: a plotly FigureWidget's traits that carry a change of its data or layout, from Python or from the page
FIGURE_TRAITS = ("_widget_data", "_widget_layout", "_py2js_addTraces", "_py2js_restyle", "_py2js_relayout",
                 "_py2js_update", "_py2js_deleteTraces", "_py2js_moveTraces", "_py2js_removeTraceProps",
                 "_js2py_restyle", "_js2py_relayout", "_js2py_update")

_followed: "weakref.WeakKeyDictionary[object, _Outputs]" = weakref.WeakKeyDictionary()
#: cells run since the first display (counted by IPython's pre_run_cell event), and whether one is running
_cells = {"count": 0, "running": False, "hooked": False}


def _watched_traits(part) -> tuple[str, ...]:
    names = set(getattr(part, "trait_names", lambda: ())())
    if {"_clips", "fps", "captions"} <= names:  # a ClipPlayer
        return PLAYER_TRAITS
    if "_widget_data" in names:  # a plotly FigureWidget
        return tuple(n for n in FIGURE_TRAITS if n in names)
    return ("children",) if "children" in names else ()


class _Outputs:
    """The outputs of one displayed widget: its display id, what is watched, and the throttled rebuild."""

    def __init__(self, widget, bundle: Callable):
        self.display_id = f"vidvis-{uuid.uuid4().hex}"
        self._widget = weakref.ref(widget)
        self._bundle = weakref.WeakMethod(bundle) if hasattr(bundle, "__self__") else (lambda: bundle)
        self._state = threading.Lock()  # guards the fields below; held only briefly, never while building
        self._publishing = threading.Lock()  # one rebuild at a time, so the newest state is sent last
        self._timer: threading.Timer | None = None
        self._dirty = False
        self._last = time.monotonic()
        self._cost = 0.0  # seconds the last rebuild took
        self._retried = False
        self.published_in: int | None = None  # the cell (counted by _before_cell) that sent the outputs last
        self.rebuilds = 0
        self._watching: list[tuple[object, tuple[str, ...]]] = []
        self.watch()

    # -- what is watched --------------------------------------------------------------------------------
    def watch(self) -> None:
        """Observes the widget and every part below it (again, after a view swapped its children)."""
        for part, names in self._watching:
            part.unobserve(self.changed, names=list(names))
        self._watching = []
        widget = self._widget()
        stack = [widget] if widget is not None else []
        while stack:
            part = stack.pop()
            names = _watched_traits(part)
            if names:
                part.observe(self.changed, names=list(names))
                self._watching.append((part, names))
            stack.extend(c for c in getattr(part, "children", ()) if hasattr(c, "observe"))

    def changed(self, change=None) -> None:
        """A watched trait changed: a rebuild is scheduled, unless one is pending (it will see this change)."""
        if change is not None and change.get("name") == "children":
            self.watch()
        with self._state:
            self._dirty = True
            if self._timer is None:
                self._schedule()

    def _schedule(self) -> None:  # with self._state held
        delay = max(0.0, self._last + max(REBUILD_EVERY, self._cost / MAX_SHARE) - time.monotonic())
        self._timer = threading.Timer(delay, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        try:
            self.publish(update=True)
            self._retried = False
        except Exception as err:  # a view caught halfway through an update: try once more, then say so
            if self._retried:
                warnings.warn(f"vidvis: this output's saved copy could not be updated: {err}", stacklevel=2)
            else:
                self._retried = True
                with self._state:
                    self._dirty = True
        finally:
            with self._state:
                if self._timer is threading.current_thread():  # not a newer timer that a flush let start
                    self._timer = None
                if self._dirty and self._timer is None:
                    self._schedule()

    @property
    def dirty(self) -> bool:
        return self._dirty

    # -- sending ----------------------------------------------------------------------------------------
    def publish(self, update: bool) -> None:
        """Builds the whole output from the widget as it is now and sends it under the display id."""
        from IPython.display import display, update_display

        bundle = self._bundle()
        widget = self._widget()
        if bundle is None or widget is None:
            return
        with self._publishing:
            with self._state:
                self._dirty = False
            began = time.monotonic()
            made = bundle()
            if made is None:  # a closed widget has no view any more
                made = {"text/plain": repr(widget)}
            data, metadata = made if isinstance(made, tuple) else (made, {})
            (update_display if update else display)(data, raw=True, metadata=metadata, display_id=self.display_id)
            with self._state:
                self._last = time.monotonic()
                self._cost = self._last - began
                self.published_in = _current_cell()
                self.rebuilds += int(update)

    def flush(self) -> None:
        """Sends the outputs now (in the calling thread), replacing any pending throttled rebuild."""
        with self._state:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self.publish(update=True)


def _current_cell() -> int | None:
    """The cell running now (a count from the first display), None between cells: an update sent between
    cells reaches JupyterLab, but not a notebook being executed by nbclient, which listens to one cell at a time."""
    return _cells["count"] if _cells["running"] else None


def _before_cell(*_args) -> None:
    _cells["count"] += 1
    _cells["running"] = True


def _after_cell(*_args) -> None:
    """At the end of each cell: the outputs of every widget the cell changed are sent at once."""
    try:
        for outputs in list(_followed.values()):
            if outputs.dirty:
                try:
                    outputs.flush()
                except Exception as err:
                    warnings.warn(f"vidvis: an output's saved copy could not be updated: {err}", stacklevel=2)
    finally:
        _cells["running"] = False


def display_followed(widget, bundle: Callable) -> None:
    """Displays ``widget`` (its output made by ``bundle()``: a mimebundle, or (data, metadata)) under its display
    id, and from then on keeps every output of it current. Displayed twice, both outputs share the id."""
    from IPython import get_ipython

    outputs = _followed.get(widget)
    if outputs is None:
        outputs = _followed[widget] = _Outputs(widget, bundle)
    shell = get_ipython()
    if shell is not None and not _cells["hooked"]:
        shell.events.register("pre_run_cell", _before_cell)
        shell.events.register("post_run_cell", _after_cell)
        _cells.update(hooked=True, count=1, running=True)  # displayed from inside a cell
    outputs.publish(update=False)


def outputs_of(widget) -> _Outputs | None:
    """The outputs of ``widget`` if it was displayed (its display id, rebuild count), else None."""
    return _followed.get(widget)


def refresh_outputs(widget, *, only_if_stale: bool = False) -> None:
    """Sends ``widget``'s outputs as it is now, if it was displayed (the end of a run calls this).
    ``only_if_stale``: only when they were last sent by another cell than the one running now (a run that
    ended between cells, whose update an executed notebook would have missed; outside IPython, never)."""
    outputs = _followed.get(widget)
    if outputs is None:
        return
    if only_if_stale and not (_cells["hooked"] and (outputs.dirty or outputs.published_in is None
                                                    or outputs.published_in != _current_cell())):
        return
    outputs.flush()
