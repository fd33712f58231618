"""The optical flow of edited clips.

Where the clips' flow is exact (the generator's: :class:`~vidvis_widgets.data.SyntheticActions`, or arrays with a
``flow`` entry), the edited flow is composed from it (:func:`composite`), field t (frame t → t+1) inside the pixels
the edit changes on frame t:

- ``freeze``, ``occlude``: 0 (the region stands still, or is one flat colour);
- ``blur``: the flow blurred with the same σ;
- ``paste``: the donor clip's flow.

It is exact inside a region that holds whole objects for the whole clip, and outside it. Where an object crosses
the region's border the composed flow is approximate in a band as wide as the object moves in one frame (at most
its speed in pixels per frame): a frozen object that moved out of the region on later frames shows both its frozen
copy and its moving self, and the flow keeps only the copy inside and the mover outside; a pasted object near the
border is cut there. Blurred flow is only an approximation of a blurred clip's flow anywhere.

Where the clips' flow was estimated (a :class:`~vidvis_widgets.data.VideoFolder` with ``flow="dis"`` or
``"tvl1"``), or there is none, the edited clips' flow is estimated the same way from the edited frames
(:func:`estimated`, :func:`~vidvis_widgets.data.video_folder.estimate_flow`): T frames give T−1 fields, and the
last field is the composed one (from the dataset's flow, or the last estimated field where there is none).
"""

from __future__ import annotations

import numpy as np
import torch

from .edits import Blur, Edit, Freeze, Occlude, Paste, gaussian

#: how a call gets the edited clips' flow: composed from exact flow, or estimated from the edited frames
MODES = ("auto", "exact", "estimate")


def flow_fill(edit: Edit, flow: torch.Tensor, donor_flow: torch.Tensor | None = None):
    """What replaces the flow inside the edited pixels (the rules of the module doc), broadcastable to ``flow``
    N×T×2×H×W, whatever the region: one clip batch makes it once for all its regions."""
    if isinstance(edit, (Freeze, Occlude)):
        return flow.new_zeros(())
    if isinstance(edit, Blur):
        return gaussian(flow, edit.sigma)
    if isinstance(edit, Paste):
        return donor_flow
    raise TypeError(f"no flow rule for {edit!r}")  # pragma: no cover - every edit has one


def composite(edit: Edit, flow: torch.Tensor, area: torch.Tensor, donor_flow: torch.Tensor | None = None,
              fill: torch.Tensor | None = None) -> torch.Tensor:
    """The edited flow N×T×2×H×W from the clips' flow and the edit's ``area`` (bool N×T×H×W), by the rules of the
    module doc; ``fill``: :func:`flow_fill`'s, made already."""
    return torch.where(area[:, :, None], flow_fill(edit, flow, donor_flow) if fill is None else fill, flow)


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """Frames in [0, 1] (…×H×W×3 floats) → uint8 on the host, rounded as the package rounds frames."""
    return (rgb.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def estimated(rgb: torch.Tensor, last: torch.Tensor | None, method: str) -> torch.Tensor:
    """Flow N×T×2×H×W estimated from frames N×T×H×W×3 in [0, 1] with ``method`` (``"dis"`` or ``"tvl1"``): the T−1
    fields between the frames, then ``last`` (N×2×H×W), or the last estimated field again where None. On the
    frames' device."""
    from ...data.video_folder import estimate_flow

    frames = to_uint8(rgb)
    fields = np.stack([estimate_flow(clip, method) for clip in frames]) if frames.shape[1] > 1 else \
        np.zeros((len(frames), 0, 2, *frames.shape[2:4]), np.float32)
    out = torch.as_tensor(fields, device=rgb.device)
    if last is None:
        last = out[:, -1] if out.shape[1] else torch.zeros(len(frames), 2, *frames.shape[2:4], device=rgb.device)
    return torch.cat([out, last.to(out.dtype)[:, None]], 1)
