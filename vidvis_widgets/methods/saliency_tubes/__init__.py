"""Saliency Tubes (Stergiou et al., ICIP 2019): eqs. 1–2 and their gradient form (:mod:`.tubes`), and the
localization benchmark against the embedded world's planted cues (:mod:`.localization`)."""

from .localization import LocalizationTable, localization_benchmark
from .tubes import SaliencyTubeResults, SaliencyTubes, TubeSnapshot, saliency_tubes

__all__ = ["SaliencyTubeResults", "SaliencyTubes", "TubeSnapshot", "saliency_tubes", "LocalizationTable", "localization_benchmark"]
