"""SyntheticActions: a generated action dataset with exact flow, object masks and known answers.

The classes mirror what Feichtenhofer et al. found in UCF101 (IJCV 2020, Sec. 4.3):
pairs told apart only by motion, pairs told apart only by appearance, an
orientation pair like PlayingCello / PlayingViolin, a near-duplicate pair like
BrushingTeeth / ShavingBeard, and two face pairs like ApplyEyeMakeup / ApplyLipstick.
Like a real dataset it may hold a bias; finding it is what the tools are for.

Every sample is a pure function of (seed, bias_seed, bias_strength, split, index), so the same
call gives the same clip on every machine. ``bias_seed=k`` draws a world of its own (see ``data.bias``).
"""

from __future__ import annotations

import math
import numbers
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .._memory import check_fits
from ..checks import number
from .bias import MARKERS, check_seed, check_strength, clip_cue, cue_rng, draw_markers, plan_bias
from .scene import Scene, bounce, box, diamond, disc, linear, oscillate, shifted, smooth_background, triangle

SPLITS = ("train", "val", "test", "counterfactual")
DEFAULT_SAMPLES = {"train": 200, "val": 16, "test": 30, "counterfactual": 40}
RENAMED_SPLITS = {"bias_probe": "counterfactual"}
#: the named parts every clip carries a mask for (``region_masks``), empty where a class has no such part
PART_NAMES = ("face", "eyes", "mouth")
SKIN = (205, 160, 130)


@dataclass(frozen=True)
class ClassSpec:
    name: str
    group: str
    intended_cue: str
    #: mean motion direction of the class-carrying object, degrees, image axes (0 = right, 90 = down)
    direction: float | None = None
    #: the class a clip of this one lands in when flipped left–right / played backwards: None for this class,
    #: NO_CLASS where the transformed clip belongs to none of them (a square moving up)
    mirror: str | None = None
    reversal: str | None = None


NO_CLASS = "(no class)"


@dataclass(frozen=True)
class Ctx:
    rng: np.random.Generator
    T: int
    S: int
    #: the clip carries what goes with the other class of its pair (the counterfactual split, and the share of the
    #: other splits' clips a bias_strength below 1 leaves)
    swapped: bool
    #: a seeded world's face pair: whether the eyes move, drawn at random whatever the class (None: the default world)
    eyes: bool | None = None

    @property
    def k(self) -> float:
        return self.S / 64.0

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def jitter(self, colour, amount: float = 18.0) -> np.ndarray:
        return np.clip(np.asarray(colour, np.float32) + self.rng.normal(0, amount, 3), 0, 255)

    def where(self, margin: float) -> tuple[float, float]:
        m = margin * self.k
        return self.u(m, self.S - m), self.u(m, self.S - m)


Renderer = Callable[[Scene, Ctx], None]


def _translating(shape_of: Callable[[float], object], colour, direction_deg: float | None, speed: tuple[float, float]) -> Renderer:
    def render(scene: Scene, c: Ctx) -> None:
        r = c.u(5, 7) * c.k
        ang = math.radians(direction_deg + c.u(-8, 8)) if direction_deg is not None else c.u(0, 2 * math.pi)
        spd = c.u(*speed) * c.k
        v = (spd * math.cos(ang), spd * math.sin(ang))
        lo, hi = r + 1, c.S - r - 1
        span = [vi * c.T for vi in v]
        ranges = [(lo - min(d, 0.0), hi - max(d, 0.0)) for d in span]
        if direction_deg is None or any(a > b for a, b in ranges):
            pos = bounce(c.where(12), v, c.T, lo, hi)
        else:  # a start from which the whole straight path stays inside the frame
            pos = linear([c.u(a, b) for a, b in ranges], v, c.T)
        scene.draw(shape_of(r), c.jitter(colour), pos, carries_class=True)

    return render


def _rotating(sign: float) -> Renderer:
    def render(scene: Scene, c: Ctx) -> None:
        half = c.u(9, 11) * c.k
        omega = sign * c.u(0.18, 0.3)
        pos = linear(c.where(16), (0.0, 0.0), c.T)
        angle = c.u(0, 2 * math.pi) + omega * np.arange(c.T + 1)
        scene.draw(box(half, 2.5 * c.k), c.jitter((50, 90, 220)), pos, angle, carries_class=True)
        # a marked end makes the turning direction visible in RGB too, not only in flow
        scene.draw(shifted(disc(2.2 * c.k), half - 2 * c.k, 0), (240, 240, 240), pos, angle, carries_class=True)

    return render


def _instrument(vertical: bool) -> Renderer:
    """An elongated body held near vertical (cello) or horizontal (violin), bowed across its axis."""

    def render(scene: Scene, c: Ctx) -> None:
        tilt = c.u(0, 22) if c.rng.random() > 0.12 else c.u(32, 44)  # about one in eight near the diagonal
        tilt = math.radians(tilt * (1 if c.rng.random() < 0.5 else -1))
        body_angle = (math.pi / 2 if vertical else 0.0) + tilt
        centre = c.where(24)
        body = box(13 * c.k, 3.2 * c.k)
        scene.draw(body, c.jitter((140, 85, 40)), linear(centre, (0, 0), c.T), body_angle, carries_class=True)
        bow_axis = body_angle + math.pi / 2
        pos = oscillate(centre, bow_axis, 5 * c.k, c.u(5, 7), c.u(0, 6.3), c.T)
        scene.draw(box(8 * c.k, 0.9 * c.k), c.jitter((235, 235, 210), 8), pos, bow_axis, carries_class=True)

    return render


def _face_tool(detail: str) -> Renderer:
    """A face with a tool moving beside the mouth; only the tool's tip differs between the two classes."""

    def render(scene: Scene, c: Ctx) -> None:
        centre = (c.S / 2 + c.u(-4, 4) * c.k, c.S / 2 + c.u(-4, 4) * c.k)
        scene.draw(disc(17 * c.k), c.jitter(SKIN, 10), linear(centre, (0, 0), c.T), part="face")
        for ex in (-6, 6):
            scene.draw(disc(1.8 * c.k), (40, 30, 30), linear((centre[0] + ex * c.k, centre[1] - 5 * c.k), (0, 0), c.T),
                       part="eyes")
        mouth = (centre[0] + c.u(-2, 2) * c.k, centre[1] + 8 * c.k)
        handle = box(6 * c.k, 1.3 * c.k)
        pos = oscillate((mouth[0] + 8 * c.k, mouth[1]), 0.0, 4 * c.k, c.u(4, 6), c.u(0, 6.3), c.T)
        scene.draw(handle, c.jitter((90, 90, 110), 12), pos, math.pi, carries_class=True)
        if detail == "bristles":  # a small light tuft at the tip
            tip, tip_colour = shifted(box(1.7 * c.k, 2.6 * c.k), 7 * c.k, 0), (200, 200, 190)
        else:  # a darker head across the tip, a little wider
            tip, tip_colour = shifted(box(1.4 * c.k, 3.6 * c.k), 7 * c.k, 0), (105, 105, 120)
        scene.draw(tip, c.jitter(tip_colour, 10), pos, math.pi, carries_class=True)

    return render


def _make_up(near: str) -> Renderer:
    """ApplyEyeMakeup / ApplyLipstick: a faint applicator near the eyes or the mouth (the intended cue).
    The answer key for what else differs is ``data.bias.plan_bias(None)``."""

    def render(scene: Scene, c: Ctx) -> None:
        centre = (c.S / 2 + c.u(-4, 4) * c.k, c.S / 2 + c.u(-4, 4) * c.k)
        scene.draw(disc(19 * c.k), c.jitter(SKIN, 10), linear(centre, (0, 0), c.T), part="face")
        eyes_move = ((near == "mouth") != c.swapped) if c.eyes is None else c.eyes
        for ex in (-7, 7):
            eye = (centre[0] + ex * c.k, centre[1] - 6 * c.k)
            pos = oscillate(eye, 0.0, 2.2 * c.k, c.u(5, 8), c.u(0, 6.3), c.T) if eyes_move else linear(eye, (0, 0), c.T)
            scene.draw(disc(2.6 * c.k), (30, 25, 25), pos, part="eyes")
        scene.draw(box(4.5 * c.k, 1.2 * c.k), (170, 60, 70), linear((centre[0], centre[1] + 9 * c.k), (0, 0), c.T),
                   part="mouth")
        target_y = centre[1] + (-6 if near == "eyes" else 9) * c.k + c.u(-2.5, 2.5) * c.k
        target = (centre[0] + c.u(-9, 9) * c.k, target_y)
        pos = oscillate(target, c.u(-0.4, 0.4), 1.5 * c.k, c.u(5, 7), c.u(0, 6.3), c.T)
        # low contrast against the skin: the cue that should decide the class, but is harder to see
        scene.draw(box(2.2 * c.k, 1.0 * c.k), np.asarray(SKIN) + np.array([18.0, -8.0, 6.0]), pos, carries_class=True)

    return render


CLASSES: tuple[tuple[ClassSpec, Renderer], ...] = (
    (ClassSpec("disc_right", "motion pair", "a red disc moving right", direction=0.0,
               mirror="disc_left", reversal="disc_left"),
     _translating(disc, (215, 50, 45), 0.0, (1.6, 2.4))),
    (ClassSpec("disc_left", "motion pair", "the same red disc moving left", direction=180.0,
               mirror="disc_right", reversal="disc_right"),
     _translating(disc, (215, 50, 45), 180.0, (1.6, 2.4))),
    (ClassSpec("bar_clockwise", "motion pair", "a blue bar with a white end rotating clockwise in place",
               mirror="bar_counterclockwise", reversal="bar_counterclockwise"), _rotating(+1.0)),
    (ClassSpec("bar_counterclockwise", "motion pair", "the same blue bar rotating counter-clockwise",
               mirror="bar_clockwise", reversal="bar_clockwise"), _rotating(-1.0)),
    (ClassSpec("diamond_slow", "motion pair", "a yellow diamond drifting slowly (0.5–0.9 px/frame) in any direction"),
     _translating(diamond, (230, 200, 40), None, (0.5, 0.9))),
    (ClassSpec("diamond_fast", "motion pair", "the same diamond moving fast (2.6–3.4 px/frame), bouncing off the edges"),
     _translating(diamond, (230, 200, 40), None, (2.6, 3.4))),
    (ClassSpec("square_down", "appearance pair", "a white square moving down", direction=90.0,
               reversal=NO_CLASS),
     _translating(lambda r: box(r, r), (235, 235, 235), 90.0, (1.2, 2.0))),
    (ClassSpec("triangle_down", "appearance pair", "a white triangle moving down, the same motion", direction=90.0,
               reversal=NO_CLASS),
     _translating(lambda r: triangle(r * 1.3), (235, 235, 235), 90.0, (1.2, 2.0))),
    (ClassSpec("cello", "orientation pair", "a brown body held vertically and bowed across (one in eight near the diagonal)"),
     _instrument(vertical=True)),
    (ClassSpec("violin", "orientation pair", "the same body held horizontally and bowed across"),
     _instrument(vertical=False)),
    (ClassSpec("brushing_teeth", "near-duplicate pair",
               "a tool moving beside the mouth of a face, with a small light tuft at its tip"),
     _face_tool("bristles")),
    (ClassSpec("shaving", "near-duplicate pair",
               "the same tool and motion, told apart only by a small, darker head across its tip"),
     _face_tool("head")),
    (ClassSpec("apply_eye_makeup", "face pair", "a faint applicator moving near the eyes"), _make_up("eyes")),
    (ClassSpec("apply_lipstick", "face pair", "a faint applicator moving near the mouth"), _make_up("mouth")),
)

CLASS_NAMES: tuple[str, ...] = tuple(spec.name for spec, _ in CLASSES)


def class_map(symmetry: str) -> list[int]:
    """``symmetry`` ``"mirror"`` or ``"reversal"``: for each class, the index of the class its clips land in
    when flipped left–right or played backwards, −1 where that clip belongs to no class."""
    if symmetry not in ("mirror", "reversal"):
        raise ValueError(f"symmetry must be 'mirror' or 'reversal', got {symmetry!r}")
    targets = [getattr(spec, symmetry) or spec.name for spec, _ in CLASSES]
    return [-1 if t == NO_CLASS else CLASS_NAMES.index(t) for t in targets]

NEAR_DUPLICATE_PAIR: tuple[str, str] = ("brushing_teeth", "shaving")


class SyntheticActions:
    """A deterministic synthetic action dataset; ``ds[i]`` is a dict of numpy arrays.

    ``rgb``: T×H×W×3 uint8; ``flow``: T×2×H×W float32, forward flow from frame t to t+1 in pixels,
    exact from the generator; ``mask``: T×H×W bool, the object that carries the class; ``region_masks``:
    R×T×H×W bool, where each named part (``region_names``) is visible, empty where a class has no such part;
    ``label``: int.

    ``split``: ``train``, ``val``, ``test`` or ``counterfactual`` (one pair of classes, with what goes with each
    class in the other splits swapped). ``size``: frame side (64 by default, 112 also works; every geometry
    scales).

    ``bias_seed``: None (the default) is the embedded models' world, the same pixels in every release; an int ≥ 0
    draws a world of its own: every clip of every class also has four small markers (``marker_0`` …
    ``marker_3`` in ``region_names``), and the seed decides what, if anything, goes with a class there.
    ``bias_strength``: in [0.5, 1], how often what goes with a class in the train/val/test splits does
    (None: 1.0 without a seed, 0.9 with one; 0.5: independent of the class). A seeded world's counterfactual clip
    ``j`` of class ``c`` is the ``test`` clip ``c·n + j`` of ``SyntheticActions("test", samples_per_class=n, ...)``
    with the same settings, what goes with its class swapped.
    """

    classes = CLASS_NAMES

    def __init__(self, split: str = "train", *, size: int = 64, num_frames: int = 16, seed: int = 0,
                 samples_per_class: int | None = None, bias_seed: int | None = None,
                 bias_strength: float | None = None):
        if split in RENAMED_SPLITS:
            raise ValueError(f"split {split!r} was renamed to {RENAMED_SPLITS[split]!r}; "
                             f"expected one of {', '.join(SPLITS)}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        self.split = split
        self.size = number("size", size, integer=True, low=32)
        self.num_frames = number("num_frames", num_frames, integer=True, low=2)
        self.seed = number("seed", seed, integer=True, low=0)
        # None means the split's default; 0 is refused, not replaced by it
        self.samples_per_class = number("samples_per_class", samples_per_class, integer=True, low=1,
                                        default=DEFAULT_SAMPLES[split])
        self.bias_seed = check_seed(bias_seed)
        self.bias_strength = check_strength(bias_strength, self.bias_seed)
        self._plan = plan_bias(self.bias_seed, self.bias_strength)
        labels = [CLASS_NAMES.index(n) for n in self._plan.pair] if split == "counterfactual" else range(len(CLASSES))
        self._labels = np.repeat(np.asarray(list(labels)), self.samples_per_class)
        # clips are drawn lazily, but one that cannot fit makes the dataset useless: refused now, with the number
        check_fits(f"SyntheticActions(size={self.size}, num_frames={self.num_frames}): drawing one clip",
                   self.memory_needed(1), hint="Use a smaller size= (64 or 112, as the models take) or fewer num_frames=.")

    @property
    def specs(self) -> tuple[ClassSpec, ...]:
        return tuple(spec for spec, _ in CLASSES)

    @property
    def region_names(self) -> tuple[str, ...]:
        """The names of the R parts in ``region_masks``, in order."""
        return PART_NAMES if self.bias_seed is None else PART_NAMES + MARKERS

    @property
    def cache_key(self) -> str:
        """Everything a sample depends on, for the result store (clips are pure functions of these)."""
        return (f"SyntheticActions/{self.split}/{self.size}/{self.num_frames}/{self.seed}/{self.samples_per_class}"
                f"/{','.join(CLASS_NAMES)}/bias={self.bias_seed}@{self.bias_strength:g}")

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples in split {self.split!r}")
        return self._render(index % len(self))

    def _render(self, index: int, out: dict | None = None) -> dict:
        """Draws sample ``index``, into ``out``'s arrays (views of a batch) when given."""
        label = int(self._labels[index])
        plan, counterfactual = self._plan, self.split == "counterfactual"
        if counterfactual and self.bias_seed is not None:  # the test split's clip, what goes with the class swapped
            stream, key = "test", label * self.samples_per_class + index % self.samples_per_class
        else:  # a renamed split keeps its old random stream, so its clips stay the same pixels
            stream, key = {new: old for old, new in RENAMED_SPLITS.items()}.get(self.split, self.split), index
        stream = zlib.crc32(stream.encode())
        rng = np.random.default_rng([self.seed, stream, key])
        base = rng.uniform(40, 150, 3)
        out = {} if out is None else out
        scene = Scene(self.num_frames, self.size, smooth_background(rng, self.size, base), out.get("flow"),
                      out.get("mask"), out.get("region_masks"), self.region_names)
        swapped, eyes = counterfactual, None
        if self.bias_seed is not None or plan.strength < 1:  # the clip's own stream: the scene's draws stay put
            cue = clip_cue(cue_rng(self.seed, stream, key, self.bias_seed), plan.strength, counterfactual,
                           self.num_frames)
            swapped = cue.swapped
            if self.bias_seed is not None:
                name = CLASS_NAMES[label]
                eyes = cue.eyes
                draw_markers(scene, plan, cue, on=name in plan.pair and (name == plan.carrier) != swapped)
        ctx = Ctx(rng, self.num_frames, self.size, swapped=swapped, eyes=eyes)
        CLASSES[label][1](scene, ctx)
        rgb, flow, mask, parts = scene.finish(rng, out=out.get("rgb"))
        return {"rgb": rgb, "flow": flow, "mask": mask, "region_masks": parts, "label": label}

    def arrays(self, indices=None, flow_dtype=np.float32) -> dict[str, np.ndarray]:
        """Stacked samples: rgb N×T×H×W×3, flow N×T×2×H×W, mask N×T×H×W, region_masks N×R×T×H×W, label N.

        Each clip is drawn straight into the batch arrays: one process draws about 450 clips/s at 64×64,
        so worker processes would spend more on moving the arrays back than they save."""
        idx = np.asarray(self._indices(indices), dtype=np.int64)
        check_fits(f"SyntheticActions.arrays of {len(idx)} clips of {self.num_frames}×{self.size}²",
                   self.memory_needed(len(idx), flow_dtype), hint="Ask for fewer indices per call.")
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"indices must lie in [{-len(self)}, {len(self)}) for split {self.split!r}")
        idx %= max(len(self), 1)
        T, S, n = self.num_frames, self.size, len(idx)
        batch = {"rgb": np.zeros((n, T, S, S, 3), np.uint8), "flow": np.zeros((n, T, 2, S, S), flow_dtype),
                 "mask": np.zeros((n, T, S, S), np.bool_),
                 "region_masks": np.zeros((n, len(self.region_names), T, S, S), np.bool_),
                 "label": np.zeros(n, np.int64)}
        for row, i in enumerate(idx):
            views = {k: batch[k][row] for k in ("rgb", "flow", "mask", "region_masks")}
            batch["label"][row] = self._render(int(i), views)["label"]
        return batch

    def write_folder(self, root, *, per_class: int | None = None,
                     shapes: tuple[tuple[int, int], ...] = ((64, 64), (64, 112), (96, 64), (128, 128)),
                     fps: float = 8.0, quality: int = 10):
        """Writes the split as a folder of real H.264 clips, ``root/<class>/<index>.mp4``, the way a user's own
        videos come: of mixed sizes and aspect ratios. Clip i gets ``shapes[i % len(shapes)]`` (height, width):
        a square larger than the clip is the clip upscaled, any other shape the clip with its edges extended, so
        a centre crop at the clip's own size finds the clip again. ``per_class``: the first clips of each class
        (all by default). Returns the folder; ``VideoFolder(root, ...)`` reads it."""
        from pathlib import Path

        from ..io import write_video

        root = Path(root)
        for k in sorted(set(self._labels.tolist())):
            picked = np.flatnonzero(self._labels == k)[:per_class]
            (root / CLASS_NAMES[k]).mkdir(parents=True, exist_ok=True)
            for n, i in enumerate(picked):
                rgb = self[int(i)]["rgb"]
                h, w = shapes[int(i) % len(shapes)]
                if h == w and h > self.size:  # the same view, larger
                    rgb = np.repeat(np.repeat(rgb, -(-h // self.size), 1), -(-w // self.size), 2)[:, :h, :w]
                else:
                    dy, dx = max(0, h - self.size), max(0, w - self.size)
                    rgb = np.pad(rgb, ((0, 0), (dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2), (0, 0)), mode="edge")
                write_video(root / CLASS_NAMES[k] / f"{self.split}_{int(i):04d}.mp4", rgb, fps=fps, quality=quality)
        return root

    def _indices(self, indices) -> list:
        """``indices`` (None: every sample) as a list of integer positions, or a TypeError naming the first that
        is not one."""
        if indices is None:
            return list(range(len(self)))
        if isinstance(indices, (str, bytes)) or not hasattr(indices, "__iter__"):
            raise TypeError(f"indices must be a sequence of integer sample positions (e.g. range(4) or [0, 5]), "
                            f"got {indices!r}")
        indices = list(indices)
        for k, v in enumerate(indices):
            if not isinstance(v, (numbers.Integral, np.integer)) or isinstance(v, (bool, np.bool_)):
                raise TypeError(f"indices must be integer sample positions in [{-len(self)}, {len(self)}); "
                                f"indices[{k}] is {v!r} ({type(v).__name__})")
        return indices

    def memory_needed(self, n: int, flow_dtype=np.float32) -> int:
        """Bytes ``n`` clips drawn together take: their stacked arrays (uint8 RGB, flow, 1 + R masks) and one clip's
        drawing buffers (int16 colours, int8 noise, the background's float terms); 1.0–1.3× the peak tracemalloc
        measured at 256² and 512². Larger requests are refused before anything is drawn."""
        px = self.num_frames * self.size ** 2
        masks = 1 + len(self.region_names)
        return n * px * (3 + 2 * np.dtype(flow_dtype).itemsize + masks) + px * (6 + 3) + 40 * self.size ** 2

    def __repr__(self) -> str:
        return (f"SyntheticActions(split={self.split!r}, {len(self)} clips, {len(set(self._labels))} classes, "
                f"{self.num_frames}×{self.size}×{self.size})")


def dataset_card() -> str:
    """The dataset card (markdown), generated from the class specs so code and card cannot disagree."""
    lines = [
        "# SyntheticActions", "",
        "A procedurally generated action dataset with exact ground truth: every clip comes with its optical flow",
        "(from the generator, not estimated) and a per-frame mask of the object that carries the class. Clips are",
        "16 frames of 64×64 by default (112×112 works too) on a smooth random background with sensor noise.",
        "Every clip is a pure function of (seed, split, index).", "",
        "Splits (clips per class): " + ", ".join(f"{k} {v}" for k, v in DEFAULT_SAMPLES.items())
        + ". `counterfactual` holds one pair of classes with what goes with each class in the other splits swapped:"
        " which pair, and what is swapped, is for you to find.", "",
        "Besides the class object's mask, every clip has masks of named parts (`region_masks`, named by"
        " `region_names`: " + ", ".join(f"`{n}`" for n in PART_NAMES) + "), empty where a class has no such part.", "",
        "`SyntheticActions(..., bias_seed=k)` draws a world of its own for each seed k ≥ 0: the same classes, and in"
        " every clip of every class four small grey markers near the corners (" + ", ".join(f"`{n}`" for n in MARKERS)
        + " in `region_names`). `bias_strength` (0.5 to 1) is how often what goes with a class in a world's"
        " train/val/test splits does. Each world may hold a bias of its own.", "",
        "| # | class | group | intended cue |", "| --- | --- | --- | --- |",
    ]
    for i, (spec, _) in enumerate(CLASSES):
        lines.append(f"| {i} | `{spec.name}` | {spec.group} | {spec.intended_cue} |")
    lines += ["", "## What the pairs mirror (Feichtenhofer et al., IJCV 2020, Sec. 4.3)", "",
              "- **motion pairs**: identical appearance, so only the motion stream can tell them apart;",
              "- **appearance pair**: identical motion, so only the appearance stream can;",
              "- **orientation pair** (`cello` / `violin`), like PlayingCello / PlayingViolin: the model keys on how the"
              " body is held, and the fifth of clips held near the diagonal are where it errs;",
              "- **near-duplicate pair** (`brushing_teeth` / `shaving`), like BrushingTeeth / ShavingBeard: same motion"
              " at the same place, told apart only by a small detail of the tool, the embedded models' largest"
              " confusion;",
              "- **face pair** (`apply_eye_makeup` / `apply_lipstick`), like ApplyEyeMakeup / ApplyLipstick: a faint"
              " applicator works near the eyes or near the mouth of a face.", "",
              "Like a real dataset, this one may hold a bias: something that goes with a class in the training data"
              " but is not what defines it. Finding it is the exercise (see the README's \"Teaching with vidvis\").",
              ""]
    swaps = {kind: [f"`{spec.name}` → " + ("no class" if getattr(spec, kind) == NO_CLASS else f"`{getattr(spec, kind)}`")
                    for spec, _ in CLASSES if getattr(spec, kind)] for kind in ("mirror", "reversal")}
    lines += ["## Directions and symmetries", "",
              "Classes defined by a motion direction (degrees, image axes: 0 right, 90 down): "
              + ", ".join(f"`{spec.name}` {spec.direction:g}°" for spec, _ in CLASSES if spec.direction is not None)
              + ".", "",
              "A clip flipped left–right stays in its class, except " + ", ".join(swaps["mirror"]) + ". A clip played "
              "backwards (flow fields in reverse order, each vector negated) stays in its class, except "
              + ", ".join(swaps["reversal"]) + ". `tiny_two_stream` is built on these two symmetries (see the model "
              "card).", ""]
    return "\n".join(lines)
