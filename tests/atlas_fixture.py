"""A tiny built atlas for the atlas's tests (reader, widget, site, document): the embedded two-stream model on one
clip per class, three layers (an early conv, conv5_fusion and the class layer fc8), two units each, two classes,
two (κ, γ) settings at 3 steps. Build it once per session with ``tiny_atlas(tmp_path_factory)``."""

from __future__ import annotations

#: what the tiny atlas holds
LAYERS = ["appearance.conv1_1", "conv5_fusion", "fc8"]
UNITS = 2
CLASSES = [0, 1]
STEPS = 3
#: two settings of the anisotropic sweep (γ = 5 and 0): a sweep of more than one entry at half the cost
GAMMA = [(1.0, 5.0), (1.0, 0.0)]
BATCH = 12

_BUILT: dict = {}


def tiny_data():
    from vidvis_widgets.data import SyntheticActions

    return SyntheticActions("val", samples_per_class=1)


def tiny_atlas(tmp_path_factory, **overrides):
    """The tiny atlas (an :class:`~vidvis_widgets.atlas.Atlas`), built once per session and settings into a folder
    of ``tmp_path_factory``; ``overrides`` are build_atlas's arguments (``name``, ``classes``, ``leaps``, …)."""
    from vidvis_widgets.atlas import build_atlas
    from vidvis_widgets.models import load_model

    settings = dict(layers=LAYERS, units=UNITS, classes=CLASSES, gamma=GAMMA, steps=STEPS, batch_size=BATCH,
                    progress=False)
    settings.update(overrides)
    key = repr(sorted(settings.items()))
    if key not in _BUILT:
        store = tmp_path_factory.mktemp("tiny_atlas")
        _BUILT[key] = build_atlas(load_model("tiny_two_stream"), tiny_data(), store=store, **settings)
    return _BUILT[key]
