"""The answer key: which pair of SyntheticActions classes carries a bias, through which cue, and where.

This module is for instructors and tests. Student-facing text (the dataset card, the specs, the sample keys and
split names) never names what it holds.

``bias_seed=None`` is the embedded models' world. ``bias_seed=k`` draws every clip with four small grey markers,
one near each corner (``marker_0`` … ``marker_3`` in ``region_names``), in every class; the seed picks a pair of
classes, a carrier in it, one marker and a cue kind (:data:`CUES`), and that marker shows the cue in the carrier's
clips. Each clip draws its markers and its cue from its own random stream, so the scene's other draws are the same
with the cue on or off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import number
from .scene import Scene, box, linear, oscillate, shifted

#: the kinds of cue a seed can plant
CUES = ("distractor_motion", "tint", "texture", "blink")
#: the part names of the markers every clip of a seeded world has, one per site
MARKERS = ("marker_0", "marker_1", "marker_2", "marker_3")
#: marker centres (x, y) as fractions of the frame: near the corners, outside every face and instrument body
SITES = ((0.16, 0.16), (0.84, 0.16), (0.16, 0.84), (0.84, 0.84))
#: pairs a seed can bias: the look-alike pairs whose classes differ only by a small, faint detail, so that a small
#: model trained on a few clips takes the shortcut (measured: cello / violin, told apart by the body's orientation,
#: kept 98.8% on its counterfactual clips; benchmarks/retrain_seed.py). The mirror- and reversal-swapped motion
#: pairs are left out too: training mirrors and reverses clips, which would move a cue to another corner.
ELIGIBLE_PAIRS = (("brushing_teeth", "shaving"), ("apply_eye_makeup", "apply_lipstick"))
#: tints a seed can pick (added to the marker's grey)
TINTS = {"red": (75, -35, -35), "green": (-35, 70, -35), "blue": (-35, -30, 80), "yellow": (55, 50, -60)}
MARKER_HALF = 3.5  # half side of a marker, in 64-pixel units
#: bumped whenever a seeded world's clips change, so that models cached for an older world are not reused
WORLD_VERSION = 2
GREY = 165.0


@dataclass(frozen=True)
class BiasPlan:
    """A planted bias: in ``pair`` = (a, b), ``cue`` goes with ``carrier`` (one of the two) in ``strength`` of the
    train/val/test clips and with the other class in the ``counterfactual`` split. ``region`` names the part in
    ``SyntheticActions.region_names`` where the cue is drawn; ``intended`` the key of the mask of what should
    decide the class. ``kind``: one of :data:`CUES`; ``site``: the marker's centre (x, y) as fractions of the frame
    (None for the default world); ``detail``: the tint's colour, the stripes' angle or the motion's axis."""

    pair: tuple[str, str]
    carrier: str
    cue: str
    region: str
    strength: float
    intended: str = "mask"
    kind: str = "distractor_motion"
    site: tuple[float, float] | None = None
    detail: float | str | None = None
    bias_seed: int | None = None

    @property
    def other(self) -> str:
        """The class of the pair that is not the carrier."""
        return self.pair[1] if self.carrier == self.pair[0] else self.pair[0]


#: the bias the embedded models were trained on (``bias_seed=None``)
DEFAULT_PLAN = BiasPlan(pair=("apply_eye_makeup", "apply_lipstick"), carrier="apply_lipstick",
                        cue="the eyes move side to side", region="eyes", strength=1.0)


def check_strength(bias_strength, bias_seed) -> float:
    """``bias_strength`` as a float in [0.5, 1], or the world's default (1.0 without a seed, 0.9 with one)."""
    default = DEFAULT_PLAN.strength if bias_seed is None else 0.9
    value = number("bias_strength", bias_strength, low=0.5, default=default)
    if value > 1:
        raise ValueError(f"bias_strength must be a share of clips in [0.5, 1] (0.5: the cue is independent of the "
                         f"class, 1: it always goes with it), got {bias_strength!r}")
    return float(value)


def check_seed(bias_seed) -> int | None:
    """``bias_seed`` as an int ≥ 0, or None (the embedded models' world)."""
    if bias_seed is None:
        return None
    return int(number("bias_seed", bias_seed, integer=True, low=0))


def plan_bias(bias_seed: int | None = None, strength: float | None = None) -> BiasPlan:
    """The bias ``SyntheticActions(bias_seed=..., bias_strength=strength)`` plants; ``None`` is the embedded
    models' world (strength 1.0 by default), a seed ≥ 0 a world of its own (strength 0.9 by default). ``strength``:
    the share of train/val/test clips of the pair that carry their class's cue value, 0.5 (none: the cue is
    independent of the class) to 1."""
    bias_seed = check_seed(bias_seed)
    strength = check_strength(strength, bias_seed)
    if bias_seed is None:
        return DEFAULT_PLAN if strength == DEFAULT_PLAN.strength else _replace(DEFAULT_PLAN, strength=strength)
    rng = np.random.default_rng([0x5EED, bias_seed])
    pair = ELIGIBLE_PAIRS[int(rng.integers(len(ELIGIBLE_PAIRS)))]
    carrier = pair[int(rng.integers(2))]
    kind = CUES[int(rng.integers(len(CUES)))]
    site = int(rng.integers(len(SITES)))
    tint = list(TINTS)[int(rng.integers(len(TINTS)))]
    angle = float(rng.choice([0.0, 45.0, 90.0, 135.0]))
    detail: float | str = tint if kind == "tint" else angle
    corner = ("top left", "top right", "bottom left", "bottom right")[site]
    cue = {"distractor_motion": f"the small grey square near the {corner} corner moves back and forth "
                                f"(axis {angle:g}°)",
           "tint": f"the small square near the {corner} corner is tinted {tint}",
           "texture": f"the small square near the {corner} corner is striped (stripes at {angle:g}°)",
           "blink": f"the small square near the {corner} corner blinks out for four frames mid-clip"}[kind]
    return BiasPlan(pair=pair, carrier=carrier, cue=cue, region=MARKERS[site], strength=strength, kind=kind,
                    site=SITES[site], detail=detail, bias_seed=bias_seed)


def _replace(plan: BiasPlan, **kw) -> BiasPlan:
    from dataclasses import replace

    return replace(plan, **kw)


def cue_rng(seed: int, stream: int, index: int, bias_seed: int | None) -> np.random.Generator:
    """A clip's own stream for its markers and cue, apart from the scene's (so the scene is the same either way)."""
    return np.random.default_rng([seed, stream, index, 0xB1A5] + ([] if bias_seed is None else [1 + bias_seed]))


@dataclass(frozen=True)
class ClipCue:
    """What a clip's own stream decided: whether it carries the other class's cue value (``swapped``), whether the
    face pair's eyes move (a seeded world: at random, whatever the class), and the markers' jitter."""

    swapped: bool
    eyes: bool
    jitter: np.ndarray  # 4×3: dx, dy (64-pixel units), grey offset per marker
    period: float
    phase: float
    blink_start: int


def clip_cue(rng: np.random.Generator, strength: float, counterfactual: bool, T: int) -> ClipCue:
    """Always the same draws, in the same order, whatever the class or the cue."""
    keep = rng.random() < strength
    eyes = bool(rng.random() < 0.5)
    jitter = np.stack([rng.uniform(-1.5, 1.5, 4), rng.uniform(-1.5, 1.5, 4), rng.uniform(-12, 12, 4)], 1)
    period, phase = float(rng.uniform(5, 8)), float(rng.uniform(0, 2 * math.pi))
    blink_start = T // 2 - int(rng.integers(0, 4))
    return ClipCue(swapped=counterfactual or not keep, eyes=eyes, jitter=jitter, period=period, phase=phase,
                   blink_start=blink_start)


def draw_markers(scene: Scene, plan: BiasPlan, cue: ClipCue, on: bool) -> None:
    """The four markers, the plan's one showing the cue when ``on``; each drawn into its part's mask, exact flow."""
    T, S = scene.T, scene.S
    k = S / 64.0
    half = MARKER_HALF * k
    for m, (fx, fy) in enumerate(SITES):
        dx, dy, grey = cue.jitter[m]
        centre = (fx * S + dx * k, fy * S + dy * k)
        colour = np.full(3, GREY + grey, np.float32)
        still = linear(centre, (0, 0), T)
        cued = on and MARKERS[m] == plan.region
        part = MARKERS[m]
        if not cued:
            scene.draw(box(half, half), colour, still, part=part)
        elif plan.kind == "distractor_motion":
            pos = oscillate(centre, math.radians(float(plan.detail)), 2.5 * k, cue.period, cue.phase, T)
            scene.draw(box(half, half), colour, pos, part=part)
        elif plan.kind == "tint":
            scene.draw(box(half, half), np.clip(colour + np.asarray(TINTS[plan.detail], np.float32), 0, 255), still,
                       part=part)
        elif plan.kind == "texture":
            angle = math.radians(float(plan.detail))
            scene.draw(box(half, half), colour, still, part=part)
            dark = np.clip(colour - 95, 0, 255)
            for off in (-2.0, 2.0):  # two dark stripes across the square, clipped to it by a square-in-square test
                stripe = _clipped_stripe(half, off * k, 1.0 * k, angle)
                scene.draw(stripe, dark, still, part=part)
        elif plan.kind == "blink":
            frames = np.ones(T, bool)
            frames[max(cue.blink_start, 0):max(cue.blink_start + 4, 0)] = False
            scene.draw(box(half, half), colour, still, part=part, frames=frames)
        else:  # pragma: no cover - plan_bias only makes the kinds above
            raise ValueError(f"unknown cue kind {plan.kind!r}")


def _clipped_stripe(half: float, offset: float, half_width: float, angle: float):
    """A stripe across the square of half side ``half`` (object axes), at ``offset`` along the direction
    ``angle`` from its centre line, ``2·half_width`` wide."""
    from .scene import Shape

    c, s = math.cos(angle), math.sin(angle)

    def inside(u, v):
        across = u * c + v * s
        return (np.abs(u) <= half) & (np.abs(v) <= half) & (np.abs(across - offset) <= half_width)

    return Shape(inside, half * math.sqrt(2))


def answer_key(bias_seed: int | None = None, strength: float | None = None) -> str:
    """The instructor's key for ``bias_seed`` (markdown): the pair, the cue, its region, the strength and the
    evidence the course's tools should find."""
    p = plan_bias(bias_seed, strength)
    a, b = p.pair
    return (f"**Bias seed {bias_seed}.** The pair `{a}` / `{b}`: in {p.strength:.0%} of train/val/test clips "
            f"{p.cue} in `{p.carrier}` and not in `{p.other}` (cue kind `{p.kind}`, region `{p.region}`); the "
            f"`counterfactual` split swaps it. The intended cue is the class object (`{p.intended}`).\n\n"
            "Expected evidence on a model trained on this world:\n"
            f"1. the shortcut scan ranks a region covering `{p.region}` among its top 3 hypotheses;\n"
            f"2. the over-confidence ranking lists `{a}` / `{b}` among its top 3 pairs;\n"
            f"3. editing the `{p.region}` region (freeze, occlude or paste from the other class) flips most of "
            f"the pair's clips, editing the class object's region (`{p.intended}`) flips few, and the "
            f"`counterfactual` split's accuracy is far below the pair's test accuracy;\n"
            f"4. the contrastive AM `logit({p.carrier}) - logit({p.other})` has more energy in `{p.region}` than "
            "in the class object's region.\n\n"
            "After retraining with the cue decorrelated (strength 0.5) the flips vanish and the energy moves to "
            "the class object." + ("" if bias_seed is None else VET_NOTE)
            + ("" if p.kind == "distractor_motion" or bias_seed is None else APPEARANCE_NOTE))


#: what benchmarks/retrain_seed.py measured of the course's model (tiny_two_stream, 100 clips × 6 epochs)
VET_NOTE = (
    "\n\nWhether a small model takes the shortcut depends on the world (measured): with a moving marker on the "
    "make-up pair it did in three worlds of five (counterfactual top-1 12.5%, 17.5% and 22.5% against 93.3%, 91.7% "
    "and 78.3% on the pair's test clips), in part in one (50% / 96.7%), and in the fifth learned the applicator "
    "instead (90% / 100%); on brushing_teeth / "
    "shaving it learned neither at the course settings and the tool's tip with more training (95% / 100%). Vet "
    "a seed before handing it out: `vidvis_widgets.course.shortcut_check(course_model(seed), seed)`.")
#: what it measured for the cues only a frame's pixels show (colour, stripes, a blink)
APPEARANCE_NOTE = (
    "\n\n**Caution (measured):** `tiny_two_stream` retrained at the course settings did not learn the cues only a "
    "frame's pixels show (a tint in three runs, also with 200 clips × 8 epochs and with a marker of 12 px; a blink "
    "and a texture in one run each): the pair stayed near chance on its test and counterfactual clips (50–60%), "
    "so the evidence above may not appear; `course_model(seed, \"tiny_r3d\")`, which sees every frame's pixels, "
    "took a tint shortcut in part (63% on the pair's test clips, 31% on the counterfactual ones).")
