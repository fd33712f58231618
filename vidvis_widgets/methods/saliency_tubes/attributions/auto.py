"""``method="auto"``: CAM where the layer's head is pool → linear (checked on each batch's logits), Grad-CAM
elsewhere. It only chooses: a result records the strategy chosen."""

from __future__ import annotations

from .base import Attribution, LayerRun, register, registered_strategy


class Auto(Attribution):
    name = "auto"
    title = "CAM where the head allows it, else Grad-CAM"

    def choose(self, run: LayerRun) -> Attribution:
        cam = registered_strategy("cam")
        return cam if cam.why_not(run) is None else registered_strategy("grad")


register(Auto())
