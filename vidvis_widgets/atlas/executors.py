"""Where an atlas's batches run: in this process (:class:`LocalExecutor`) or as Ray tasks (:class:`RayExecutor`).

Both run the same thing: ``task(shared, batch) -> result`` for each batch, ``task`` a top-level (picklable)
function and ``shared`` what every batch needs (the model and the settings). ``run`` yields ``(batch index,
result)`` as batches finish; the driver (the build) alone writes the store. An error inside a task is raised in the
driver as :class:`BatchFailed`, naming the batch, with the task's own exception as its cause.

On Ray, ``shared`` goes to the object store once (``ray.put``) and each worker process deserializes it once, not
once per batch; each batch is one task. On a cluster with GPUs each task holds one GPU (``num_gpus=1``: one task per
GPU at a time; the task finds its device with :func:`task_device`); on CPUs each holds ``threads_per_task`` CPUs (one
task per worker process, by default one per core). A worker process that dies loses only its batch, which Ray runs
again (up to ``max_retries`` times). A Stop (the ``stop`` event, or a Ctrl-C under
:func:`~vidvis_widgets.models.run_control.ctrl_c_stops`) or a KeyboardInterrupt cancels the tasks still out, and the
results that came back stay with the driver.

Every task sets ``torch.set_num_threads(threads_per_task)``, so its float reductions are those of a local run with the
same thread count, and the results are identical to a local run's. Ray is imported only when a RayExecutor runs; a
local Ray instance starts without usage statistics and without its dashboard, so nothing leaves the machine: the only
remote reach is a cluster ``address`` the user names.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Iterable, Iterator, Protocol, runtime_checkable

from ..checks import number

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "BatchFailed", "as_executor", "task_device", "task_stop"]

#: the error when Ray is asked for and not installed
MISSING_RAY = ("executor='ray' needs Ray, which is not installed: pip install 'vidvis-widgets[ray]' "
               "(or pip install ray)")
#: how often (seconds) the driver looks at the stop event while it waits for Ray tasks
POLL_S = 0.1


class BatchFailed(RuntimeError):
    """A batch's task raised (or its worker died more often than the retries allow). ``batch`` is its index;
    ``__cause__`` the task's own exception where there is one."""

    def __init__(self, batch: int, message: str):
        super().__init__(message)
        self.batch = batch


@runtime_checkable
class Executor(Protocol):
    def run(self, task: Callable[[Any, Any], Any], shared: Any, batches: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """``task(shared, batch)`` for each batch; yields ``(batch index, result)`` as batches finish."""

    def close(self) -> None:
        """Frees what the executor holds."""


# -- what a running task knows about where it runs ---------------------------------------------------------------
_context = threading.local()


def task_device():
    """The device the running task was placed on: ``torch.device("cuda")`` in a Ray task that holds a GPU, else
    None (the task keeps the model where it is)."""
    return getattr(_context, "device", None)


def task_stop():
    """The stop (event or Halt) of the LocalExecutor run the calling task belongs to, for the task to pass on to the
    method it runs; None in a Ray task (the driver cancels Ray tasks instead) or with no stop."""
    return getattr(_context, "stop", None)


def _failure(index: int, count: int, err: BaseException) -> BatchFailed:
    return BatchFailed(index, f"batch {index} (of {count}) failed: {type(err).__name__}: {err}")


class LocalExecutor:
    """Runs every batch in this process, in order, on the caller's torch threads."""

    def run(self, task, shared, batches, stop=None) -> Iterator[tuple[int, Any]]:
        from ..models.run_control import Stopped, check_stop

        batches = list(batches)
        for index, batch in enumerate(batches):
            check_stop(stop)
            _context.stop = stop
            try:
                result = task(shared, batch)
            except Stopped:
                raise
            except Exception as err:
                raise _failure(index, len(batches), err) from err
            finally:
                _context.stop = None
            yield index, result

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "LocalExecutor()"


# -- the Ray side -------------------------------------------------------------------------------------------------
#: in a worker process: the shared value of the run it last served (object id → value), deserialized once
_worker_shared: dict[str, Any] = {}


def _in_worker(task, boxed_shared, batch, threads: int):
    """One batch in a Ray worker: the shared value (deserialized once per worker and run), the thread count, the
    device, then the task. ``boxed_shared`` is ``[ObjectRef]``: boxed, so Ray hands the reference over unresolved."""
    import ray
    import torch

    ref = boxed_shared[0]
    key = ref.hex()
    if key not in _worker_shared:
        _worker_shared.clear()  # one run at a time: the previous run's model goes
        _worker_shared[key] = ray.get(ref)
    torch.set_num_threads(threads)
    _context.device = torch.device("cuda") if ray.get_gpu_ids() else None
    try:
        return task(_worker_shared[key], batch)
    finally:
        _context.device = None


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError(MISSING_RAY) from err
    return ray


class RayExecutor:
    """Runs each batch as a Ray task.

    ``address``: a Ray cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); None starts a local
    Ray instance with ``num_cpus`` CPUs (None: all of this machine's) on first use, and :meth:`close` shuts it down.
    If Ray is already initialized in this process (``ray.init`` called by the user, or a test), that instance is used
    and left running. ``max_retries``: how often a batch whose worker process dies runs again. ``threads_per_task``:
    the torch threads (and Ray CPUs) of each task; a local run with the same thread count gives identical results.
    ``gpus_per_task``: None gives each task one GPU where the cluster has GPUs (one task per GPU at a time) and none
    elsewhere; 0 keeps the tasks on CPUs. ``runtime_env``: passed to ``ray.init`` (for a cluster whose nodes lack
    this package: ``{"pip": ["vidvis-widgets"]}``).
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3,
                 threads_per_task: int = 1, gpus_per_task: float | None = None, runtime_env: dict | None = None):
        if address is not None and not (isinstance(address, str) and address.strip()):
            raise ValueError(f"address must be a Ray cluster address such as 'auto' or 'ray://host:10001', or None "
                             f"for a local Ray instance, got {address!r}")
        if address is not None and num_cpus is not None:
            raise ValueError(f"num_cpus sizes a local Ray instance; the cluster at address={address!r} has its own "
                             f"CPUs: leave num_cpus out")
        self.address = address
        self.num_cpus = number("num_cpus", num_cpus, low=1, integer=True, default=None)
        self.max_retries = number("max_retries", max_retries, low=0, integer=True)
        self.threads_per_task = number("threads_per_task", threads_per_task, low=1, integer=True)
        self.gpus_per_task = number("gpus_per_task", gpus_per_task, low=0, default=None)
        self.runtime_env = runtime_env
        self._ray = None
        self._started = False  # whether this executor started the Ray instance (and so shuts it down)

    # -- Ray itself ------------------------------------------------------------------------------------------------
    def _connect(self):
        if self._ray is not None:
            return self._ray
        ray = _import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"runtime_env": self.runtime_env} if self.runtime_env else {}
            if self.address is None:
                # no network at run time: no usage statistics, no dashboard (and its web server)
                os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
                kwargs.update(num_cpus=self.num_cpus, include_dashboard=False)
            ray.init(address=self.address, logging_level="warning", **kwargs)
            self._started = True
        self._ray = ray
        return ray

    def resources(self) -> dict:
        """What each task asks of Ray: one GPU where the cluster has GPUs (or ``gpus_per_task``), and
        ``threads_per_task`` CPUs."""
        gpus = self.gpus_per_task
        if gpus is None:
            gpus = 1 if self._connect().cluster_resources().get("GPU", 0) > 0 else 0
        return {"num_cpus": self.threads_per_task, "num_gpus": gpus}

    def slots(self) -> int:
        """How many tasks the cluster runs at once (GPUs, or CPUs / threads_per_task)."""
        ray = self._connect()
        res = ray.cluster_resources()
        gpus = self.resources()["num_gpus"]
        if gpus > 0:
            return max(1, int(res.get("GPU", 0) / gpus))
        return max(1, int(res.get("CPU", 1)) // self.threads_per_task)

    # -- running -----------------------------------------------------------------------------------------------------
    def run(self, task, shared, batches, stop=None) -> Iterator[tuple[int, Any]]:
        from ..models.run_control import Stopped, check_stop, stop_status

        batches = list(batches)
        if not batches:
            return
        check_stop(stop)
        ray = self._connect()
        remote = ray.remote(_in_worker).options(max_retries=self.max_retries, retry_exceptions=False,
                                                **self.resources())
        boxed = [ray.put(shared)]  # once, for every batch
        pending = {remote.remote(task, boxed, batch, self.threads_per_task): i for i, batch in enumerate(batches)}
        try:
            while pending:
                stopped = stop is not None and stop.is_set()
                # on a Stop, what has come back is still handed over before the rest is cancelled
                done, _ = ray.wait(list(pending), num_returns=len(pending) if stopped else 1,
                                   timeout=0 if stopped else POLL_S)
                for ref in done:
                    index = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as err:
                        cause = err.cause if isinstance(getattr(err, "cause", None), BaseException) else err
                        raise _failure(index, len(batches), cause) from cause
                    except ray.exceptions.RayError as err:  # its worker died more often than the retries allow
                        raise BatchFailed(index, f"batch {index} (of {len(batches)}) failed after "
                                                 f"{self.max_retries} retries: {type(err).__name__}: {err}") from err
                    yield index, result
                if stopped:
                    raise Stopped(stop_status(stop))
        finally:
            # a Stop, a Ctrl-C, an error or a caller that stopped iterating: the tasks still out are cancelled
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:  # it finished meanwhile
                    pass

    def close(self) -> None:
        """Shuts down the local Ray instance this executor started (one it found running is left alone)."""
        if self._ray is not None and self._started:
            self._ray.shutdown()
        self._ray, self._started = None, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"RayExecutor(address={self.address!r}, num_cpus={self.num_cpus!r}, max_retries={self.max_retries}, "
                f"threads_per_task={self.threads_per_task})")


def as_executor(executor="local", address: str | None = None) -> Executor:
    """``"local"``, ``"ray"`` (on the cluster at ``address``, or a local instance) or an :class:`Executor` as is.
    A missing Ray is reported here, before any work, naming the extra to install."""
    if isinstance(executor, str) and executor == "local":
        if address is not None:
            raise ValueError(f"ray_address={address!r} names a Ray cluster, which only executor='ray' uses")
        return LocalExecutor()
    if isinstance(executor, str) and executor == "ray":
        _import_ray()
        return RayExecutor(address=address)
    if not isinstance(executor, str) and callable(getattr(executor, "run", None)) \
            and callable(getattr(executor, "close", None)):
        return executor
    raise ValueError(f"executor must be 'local', 'ray' or an object with run(task, shared, batches) and close(), "
                     f"got {executor!r}")
