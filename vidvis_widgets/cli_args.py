"""argparse ``type=`` parsers the `vidvis` commands share (the top command and its subcommands, such as
``vidvis atlas``): each refuses what is not its form with a usage error naming it."""

from __future__ import annotations

import argparse
import math


def _integer(low: int):
    """An argparse ``type=``: an integer ≥ ``low``; anything else is a usage error naming the form."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {low}, got {text!r}")
        return value
    return parse


positive_int, non_negative_int = _integer(1), _integer(0)


def non_negative_float(text: str) -> float:
    """An argparse ``type=``: a finite number ≥ 0 (not NaN, not inf)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number ≥ 0, got {text!r}")
    return value
