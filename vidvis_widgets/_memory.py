"""Memory checks made before a long or large call allocates anything: a request that cannot fit is refused
with the estimate and what the device has, instead of being killed by the kernel's out-of-memory killer
(which in a notebook takes the kernel, and every result in it, with it)."""

from __future__ import annotations

import contextlib
import math
from typing import Callable

import torch


class InsufficientMemory(MemoryError, ValueError):
    """A request whose estimated memory exceeds what its device has available."""


def format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def available_bytes(device: torch.device | str = "cpu") -> int:
    """Memory the process can still allocate on ``device``: free GPU memory for CUDA (what the caching
    allocator holds but does not use counts too), ``MemAvailable`` (capped by a cgroup limit) on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    avail = math.inf
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    for path, used_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        with contextlib.suppress(OSError, ValueError):
            with open(path) as f, open(used_path) as g:
                limit, used = f.read().strip(), int(g.read().strip())
            if limit != "max" and int(limit) < 1 << 60:
                avail = min(avail, int(limit) - used)
    if avail == math.inf:  # not Linux: ask nothing, refuse nothing
        return 1 << 62
    return int(avail)


def check_fits(what: str, need: float, device: torch.device | str = "cpu", *, hint: str = "",
               headroom: float = 0.9) -> None:
    """Raises :class:`InsufficientMemory` when ``need`` bytes exceed ``headroom`` × what ``device`` has;
    the message names the call, the estimate, what is available and ``hint`` (what to change)."""
    avail = available_bytes(device)
    if need > headroom * avail:
        raise InsufficientMemory(
            f"{what} needs about {format_bytes(need)} on {torch.device(device)}, but {format_bytes(avail)} is "
            f"available; refused before allocating anything.{' ' + hint if hint else ''}")


def saved_activation_bytes(run: Callable[[], torch.Tensor]) -> int:
    """The bytes autograd keeps for the backward pass of ``run()`` (a forward pass on inputs that require
    grad), measured with :func:`torch.autograd.graph.saved_tensors_hooks` on a small probe input: scale it by
    the ratio of input sizes to estimate a large call without making it. Storages are counted once."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        with contextlib.suppress(RuntimeError):
            s = t.untyped_storage()
            seen[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = run()
    del out
    return sum(seen.values())
