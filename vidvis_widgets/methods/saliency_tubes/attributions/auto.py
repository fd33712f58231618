"""``method="auto"``: CAM where the layer's head is pool → linear (checked on each batch's logits), Grad-CAM
elsewhere. It only chooses: a result records the strategy chosen."""

from __future__ import annotations

from .base import Attribution, LayerRun, attribution_of, register


class Auto(Attribution):
    name = "auto"
    title = "CAM where the head allows it, else Grad-CAM"

    def choose(self, run: LayerRun) -> Attribution:
        cam = attribution_of("cam")
        return cam if cam.why_not(run) is None else attribution_of("grad")


register(Auto())
