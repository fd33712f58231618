"""Attribution strategies of Saliency Tubes, one file each: CAM (:mod:`.cam`), Grad-CAM (:mod:`.gradcam`),
Grad-CAM++ (:mod:`.gradcam_plus_plus`), the ``"auto"`` choice between the first two (:mod:`.auto`), and any
Captum layer attribution as a source (:mod:`.captum_source`, Captum imported only when one runs). See :mod:`.base` for
what a strategy declares and how to add one, and :mod:`.resolve` for which strategy a ``method=`` names."""

from .base import Attribution, LayerRun, register, registered
from .cam import CAM
from .gradcam import GradCAM
from .gradcam_plus_plus import GradCAMPlusPlus
from .auto import Auto
from .captum_source import CaptumSource
from .resolve import attribution_of

__all__ = ["Attribution", "LayerRun", "attribution_of", "register", "registered", "CAM", "GradCAM",
           "GradCAMPlusPlus", "Auto", "CaptumSource"]
