"""The answer key: which pair of SyntheticActions classes carries a bias, through which cue, and where.

This module is for instructors and tests. Student-facing text (the dataset card, the specs, the sample keys and
split names) never names what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BiasPlan:
    """A planted bias: in ``pair`` = (a, b), ``cue`` goes with ``carrier`` (one of the two) in ``strength`` of the
    train/val/test clips and with the other class in the ``counterfactual`` split. ``region`` names the part in
    ``SyntheticActions.region_names`` where the cue is drawn; ``intended`` the key of the mask of what should
    decide the class."""

    pair: tuple[str, str]
    carrier: str
    cue: str
    region: str
    strength: float
    intended: str = "mask"


#: the bias the embedded models were trained on (``bias_seed=None``)
DEFAULT_PLAN = BiasPlan(pair=("apply_eye_makeup", "apply_lipstick"), carrier="apply_lipstick",
                        cue="the eyes move side to side", region="eyes", strength=1.0)


def plan_bias(bias_seed: int | None = None) -> BiasPlan:
    """The bias ``SyntheticActions(bias_seed=...)`` plants; ``None`` is the embedded models' world."""
    if bias_seed is None:
        return DEFAULT_PLAN
    raise ValueError(f"bias_seed must be None for now, got {bias_seed!r}")


def answer_key(bias_seed: int | None = None) -> str:
    """The instructor's key for ``bias_seed``, as markdown."""
    p = plan_bias(bias_seed)
    a, b = p.pair
    other = b if p.carrier == a else a
    return (f"**Bias seed {bias_seed}.** The pair `{a}` / `{b}`: in {p.strength:.0%} of train/val/test clips "
            f"{p.cue} in `{p.carrier}` and not in `{other}` (region `{p.region}`); the `counterfactual` split "
            f"swaps it. The intended cue is the class object (`{p.intended}`).")
