"""A model atlas: every layer's units and every class, visualized once, kept in the result store, browsable in a
notebook (AtlasView), as a static site and as a JupyterLab document.

    atlas = build_atlas(load_model("tiny_two_stream"), SyntheticActions("val"), store="atlas-store")
    atlas.unit_page("conv5_fusion", 3); atlas.export("atlas/")
    atlas = open_atlas("atlas-store")  # later, in a new kernel, with no model
"""

from .atlas import Atlas, open_atlas
from .build import build_atlas
from .plan import RECEPTIVE_DENSITY, default_layers, selectivity

__all__ = ["build_atlas", "open_atlas", "Atlas", "default_layers", "selectivity", "RECEPTIVE_DENSITY"]
