"""Which strategy a ``method=`` names: a registered name, an :class:`~.base.Attribution`, or a Captum layer attribution
class. Apart from :mod:`.base`, so the base knows nothing of the Captum source built on it."""

from __future__ import annotations

from .base import Attribution, registered, registered_strategy
from .captum_source import CaptumSource


def attribution_of(method) -> Attribution:
    """The strategy for ``method``: a registered name, an :class:`Attribution` (or its class), a Captum layer
    attribution class (``captum.attr.LayerGradCam``: see :class:`.captum_source.CaptumSource`) or
    ``"captum:<Name>"``."""
    if isinstance(method, Attribution):
        return method
    if isinstance(method, str) and method in registered():
        return registered_strategy(method)
    if isinstance(method, str) and method.startswith("captum:"):
        return CaptumSource(method[len("captum:"):])
    if isinstance(method, type) and issubclass(method, Attribution):
        return method()
    if isinstance(method, type) and method.__module__.split(".")[0] == "captum":
        return CaptumSource(method)
    raise ValueError(f"method must be one of {', '.join(repr(n) for n in registered())}, an Attribution, or a Captum "
                     "layer attribution class (captum.attr.LayerGradCam, LayerIntegratedGradients, …); "
                     f"got {method!r}")
