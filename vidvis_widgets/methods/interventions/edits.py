"""The edits an intervention makes inside a region, as values: :func:`freeze`, :func:`blur`, :func:`occlude`,
:func:`paste`. Each edits frames (N×T×H×W×3 floats in [0, 1], on any device) inside a bool N×T×H×W region and gives
the rule its optical flow follows (:mod:`.flow`).

- ``freeze()``: the region repeats its first frame. A region that changes over time (a track, a moving mask) is
  frozen over its footprint, every pixel it covers on any frame, so what moved inside it stands still.
- ``blur(sigma=3)``: a Gaussian blur of each frame (σ in pixels) inside the region.
- ``occlude(fill="mean")``: the region painted with one colour: ``"mean"`` (each clip's mean colour), ``"black"``,
  or ``(r, g, b)`` on 0–255.
- ``paste(from_class)``: the region copied in from a clip of another class (paired by index, see
  :class:`~.call.Interventions`), over the region of both clips (the recipient's own part is covered too).

The strings ``"freeze"``, ``"blur"`` and ``"occlude"`` name the edits with their defaults.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

FILLS = ("mean", "black")


@dataclass(frozen=True)
class Edit:
    """One edit of a region (see the module doc). ``verb``: its name; :meth:`label` a short text;
    :meth:`to_json` what a store key and a saved file record; :meth:`area` the pixels it changes;
    :meth:`replacement` what replaces them; :meth:`frames` the edited frames."""

    verb: ClassVar[str] = ""

    def label(self) -> str:
        return self.verb

    def to_json(self) -> dict:
        return {"edit": self.verb}

    def area(self, m: torch.Tensor, donor_m: torch.Tensor | None = None) -> torch.Tensor:
        """The pixels the edit changes, bool N×T×H×W, for region masks ``m`` (and a donor's, for a paste)."""
        return m

    def replacement(self, rgb: torch.Tensor, donor: torch.Tensor | None = None) -> torch.Tensor:
        """What replaces the region: frames broadcastable to ``rgb`` (N×T×H×W×3), whatever the region, so one clip
        batch makes it once for all its regions."""
        raise NotImplementedError  # pragma: no cover - the interface

    def frames(self, rgb: torch.Tensor, area: torch.Tensor, donor: torch.Tensor | None = None,
               fill: torch.Tensor | None = None) -> torch.Tensor:
        """The edited frames: :meth:`replacement` (or ``fill``, made already) inside ``area``, ``rgb`` outside."""
        return torch.where(area[..., None], self.replacement(rgb, donor) if fill is None else fill, rgb)

    def __str__(self) -> str:
        return self.label()


@dataclass(frozen=True)
class Freeze(Edit):
    verb: ClassVar[str] = "freeze"

    def area(self, m, donor_m=None):
        return m.any(1, keepdim=True).expand_as(m)

    def replacement(self, rgb, donor=None):
        return rgb[:, :1]


@dataclass(frozen=True)
class Blur(Edit):
    sigma: float = 3.0
    verb: ClassVar[str] = "blur"

    def label(self) -> str:
        return f"blur σ={self.sigma:g}"

    def to_json(self) -> dict:
        return {"edit": self.verb, "sigma": self.sigma}

    def replacement(self, rgb, donor=None):
        return gaussian(rgb.movedim(-1, 2), self.sigma).movedim(2, -1)  # N×T×3×H×W for the filter


@dataclass(frozen=True)
class Occlude(Edit):
    fill: str | tuple[float, float, float] = "mean"
    verb: ClassVar[str] = "occlude"

    def label(self) -> str:
        if self.fill == "mean":
            return "occlude"
        return f"occlude {self.fill}" if isinstance(self.fill, str) else "occlude rgb({:g}, {:g}, {:g})".format(*self.fill)

    def to_json(self) -> dict:
        return {"edit": self.verb, "fill": self.fill if isinstance(self.fill, str) else list(self.fill)}

    def colour(self, rgb: torch.Tensor) -> torch.Tensor:
        """The fill colour per clip, N×3 in [0, 1]."""
        if self.fill == "mean":
            return rgb.mean((1, 2, 3))
        value = (0.0, 0.0, 0.0) if self.fill == "black" else tuple(v / 255.0 for v in self.fill)
        return torch.tensor(value, dtype=rgb.dtype, device=rgb.device).expand(len(rgb), 3)

    def replacement(self, rgb, donor=None):
        return self.colour(rgb)[:, None, None, None]


@dataclass(frozen=True)
class Paste(Edit):
    from_class: int | str = 0
    verb: ClassVar[str] = "paste"

    def label(self) -> str:
        return f"paste from {self.from_class}"

    def to_json(self) -> dict:
        return {"edit": self.verb, "from_class": self.from_class}

    def area(self, m, donor_m=None):
        return m if donor_m is None else m | donor_m

    def replacement(self, rgb, donor=None):
        return donor


def freeze() -> Freeze:
    """The region repeats its first frame (over its footprint, where it changes over time)."""
    return Freeze()


def blur(sigma: float = 3) -> Blur:
    """A Gaussian blur of σ ``sigma`` pixels inside the region."""
    if not isinstance(sigma, numbers.Real) or isinstance(sigma, bool) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number of pixels (e.g. blur(sigma=3)), got {sigma!r}")
    return Blur(float(sigma))


def occlude(fill="mean") -> Occlude:
    """The region painted with ``fill``: ``"mean"`` (each clip's mean colour), ``"black"`` or (r, g, b) on 0–255."""
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {', '.join(map(repr, FILLS))} or (r, g, b) on 0–255, got {fill!r}")
        return Occlude(fill)
    try:
        rgb = tuple(float(v) for v in fill)
    except (TypeError, ValueError):
        raise ValueError(f"fill must be one of {', '.join(map(repr, FILLS))} or (r, g, b) on 0–255, got {fill!r}") from None
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"fill must be (r, g, b), three numbers on 0–255, got {fill!r}")
    return Occlude(rgb)


def paste(from_class: int | str) -> Paste:
    """The region copied in from clips of class ``from_class`` (an index or a name), paired by index."""
    if isinstance(from_class, bool) or not isinstance(from_class, (str, numbers.Integral)):
        raise ValueError(f"from_class must be a class index or name, got {from_class!r}")
    return Paste(from_class if isinstance(from_class, str) else int(from_class))


_NAMED = {"freeze": freeze, "blur": blur, "occlude": occlude}


def as_edits(edits) -> list[Edit]:
    """``edits`` (one edit or a sequence; strings name the edits with their defaults) as a checked list, or a
    ValueError naming ``edits``."""
    if isinstance(edits, (str, Edit)):
        edits = [edits]
    if not isinstance(edits, (list, tuple)) or not edits:
        raise ValueError(f"edits must be a non-empty list of edits (freeze(), blur(sigma), occlude(fill), "
                         f"paste(from_class), or the strings {', '.join(map(repr, _NAMED))}), got {edits!r}")
    out = []
    for i, e in enumerate(edits):
        if isinstance(e, str):
            if e not in _NAMED:
                hint = " (paste needs its donor class: paste('class name'))" if e == "paste" else ""
                raise ValueError(f"edits[{i}] is {e!r}; expected one of {', '.join(map(repr, _NAMED))} or an edit value "
                                 f"such as blur(sigma=2), occlude(fill='black'), paste('class name'){hint}")
            e = _NAMED[e]()
        if not isinstance(e, Edit):
            raise ValueError(f"edits[{i}] is {e!r} ({type(e).__name__}); expected freeze(), blur(sigma), occlude(fill), "
                             "paste(from_class) or one of the strings 'freeze', 'blur', 'occlude'")
        out.append(e)
    if len({json_key(e) for e in out}) != len(out):
        raise ValueError(f"edits repeats an edit: {[e.label() for e in out]}; give each edit once")
    return out


def json_key(e: Edit) -> str:
    import json

    return json.dumps(e.to_json(), sort_keys=True)


def from_json(d: dict) -> Edit:
    """The edit of :meth:`Edit.to_json`'s dict."""
    makers = {"freeze": lambda: freeze(), "blur": lambda: blur(d["sigma"]), "paste": lambda: paste(d["from_class"]),
              "occlude": lambda: occlude(d["fill"] if isinstance(d["fill"], str) else tuple(d["fill"]))}
    if d.get("edit") not in makers:
        raise ValueError(f"unknown edit {d.get('edit')!r} in {d!r}")
    return makers[d["edit"]]()


def gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of the last two axes (H, W) of ``x`` (any leading axes), σ in pixels, the kernel
    cut at 3σ, borders replicated."""
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    shape = x.shape
    y = x.reshape(-1, 1, *shape[-2:])
    y = F.pad(y, (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, k.view(1, 1, 1, -1))
    y = F.conv2d(y, k.view(1, 1, -1, 1))
    return y.reshape(shape)
