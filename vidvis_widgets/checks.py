"""Checks for numeric settings, shared by every room of the package: a bad value fails where it is given, by name,
instead of as a NaN objective or a silently substituted default hundreds of steps later."""

from __future__ import annotations

import math
import numbers


_REQUIRED = object()


def number(name: str, value, *, low: float | None = None, strict: bool = False, integer: bool = False,
           default=_REQUIRED):
    """``value`` as a float (int with ``integer``), or a ValueError naming ``name`` and the expected form:
    finite, and ≥ ``low`` (> ``low`` with ``strict``). With ``default``, ``None`` means "use the default",
    which is returned unchecked (so 0 is refused rather than silently replaced, as ``value or default`` did)."""
    if value is None and default is not _REQUIRED:
        return default
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if not ok:
        expected = "an integer" if integer else "a finite number"
        if low is not None:
            expected += f" {'>' if strict else '≥'} {low:g}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value) if integer else float(value)
