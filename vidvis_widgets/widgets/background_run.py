"""A widget that runs an optimization with a Stop button: in a background thread (``start()``), so the
kernel stays free and the button's click reaches Python, or in the foreground (``run()``), where
interrupting the kernel stops it. Either way the run ends with each job's best result so far."""

from __future__ import annotations

import html
import threading
import time

import ipywidgets as W

from .outputs import refresh_outputs


class BackgroundRun:
    """Mixin for the live views: subclasses implement ``_call(callback, stop)`` (the optimization) and
    ``_finished(result, seconds)`` (the final display); progress arrives through ``_on_progress``."""

    _thread_name = "vidvis-optimization"

    def _init_controls(self, tooltip: str) -> W.HBox:
        self.result = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._optimized = threading.Event()  # set when the run's optimization has ended
        self._thread: threading.Thread | None = None
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="danger", tooltip=tooltip)
        self.stop_button.on_click(lambda _b: self.stop())
        self.status = W.HTML("ready")
        return W.HBox([self.stop_button, self.status])

    def start(self):
        """Runs in a background thread and returns at once; the Stop button ends the run."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this view is already running; press Stop or wait() for it first")
        self._stop.clear()
        self._optimized.clear()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def run(self):
        """Runs in the foreground (interrupt the kernel to stop); returns the results."""
        self._stop.clear()
        self._optimized.clear()
        self._run()
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self) -> None:
        self._stop.set()
        self.status.value = "stopping…"

    def halt(self, timeout: float | None = None) -> None:
        """Stops a background run and waits until it has ended (its best results so far shown); nothing when none
        runs. Raises TimeoutError when it has not ended within ``timeout`` seconds."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        if thread is threading.current_thread():
            raise RuntimeError("a run cannot halt itself from its own thread; press Stop instead")
        self.stop()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the run did not end within {timeout} s of Stop")

    def restart(self, timeout: float | None = None):
        """Stops the running background run, if any, waits for it to end, and starts a new one; returns at once.
        What the new run does is whatever ``_call`` reads when it begins (e.g. the next pair a view was given)."""
        self.halt(timeout)
        return self.start()

    def wait(self, timeout: float | None = None):
        """Blocks until a background run ends; returns the results."""
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():  # a run that ended between cells: its saved copy, sent from here
                refresh_outputs(self, only_if_stale=True)
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def running(self) -> bool:
        """Whether the optimization is still going (the saved copy sent after it is not part of the run)."""
        return self._thread is not None and self._thread.is_alive() and not self._optimized.is_set()

    def _run(self) -> None:
        try:
            self._optimize()
        finally:  # the saved copy shows how the run ended, also after Stop, Ctrl-C or an error
            self._optimized.set()
            refresh_outputs(self)

    def _optimize(self) -> None:
        self.error = None
        self.stop_button.disabled = False
        self.status.value = "running…"
        start = time.perf_counter()
        try:
            self.result = self._call(self._on_progress, self._stop)
        except BaseException as err:  # reported in the widget, re-raised by run() / wait()
            self.error = err
            self.status.value = f"<b>failed</b>: {html.escape(str(err))}"
            return
        finally:
            self.stop_button.disabled = True
        self._finished(self.result, time.perf_counter() - start)
