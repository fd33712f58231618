"""The terms of LEAPS model inversion (Stergiou & Deligiannis, ICCV 2023, eqs. 1–3) and of the 3D
DeepDream baseline, batched: every function returns one value per synthesized video (N,), so videos
with different targets, stimuli and term weights share one forward and backward pass.

A variant's loss is written as the paper writes it, a :class:`~..core.objectives.Loss` of these terms
(``ce() + prim() + r * (coh() + feat())``, eq. 4); a job maximizes its objective, the loss negated with the job's
class in L_CE (:func:`job_objective`), evaluated by the same :class:`~..core.objectives.BatchedObjective` as AM's,
with this module's :data:`EVALUATORS`. Each term keeps its own name: ``tv_l2`` is DeepDream's mean squared
total variation, not AM's R_TV(κ, γ) (``tv``).

Representations are taken in space-time form N×C×T×S (S: the flattened spatial positions), whatever
the architecture: :func:`spacetime` reshapes a 3D CNN's N×C×T×H×W, a channels-last Video Swin stage
and an MViT block's class-token-plus-patches sequence alike, as the paper's Sec. 3.2 asks for
transformers.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ...models.probe import LayerLayout, as_maps
from ..core.objectives import Loss, Objective, Slot, Term, TermInputs
from ..core.targets import Target

#: the terms a LEAPS loss is made of, in the order its history keeps them
TERMS = ("ce", "prim", "coh", "feat", "tv_l2", "l2")


def _term(op: str, *params) -> Loss:
    return Loss([Term(op, "video", 1.0, tuple(params))])


def ce(cls: int | None = None) -> Loss:
    """L_CE: the cross-entropy of the inverted model's logits against the job's target class (``cls``, an index,
    which a job's objective gives it)."""
    return _term("ce", *([("class", int(cls))] if cls is not None else []))


def prim() -> Loss:
    """L_prim (eq. 1): the priming layers' space-time means against the stimulus's, by JVS, weighted per layer."""
    return _term("prim")


def coh() -> Loss:
    """R_coh (eq. 2): temporal coherence of the deepest priming layer that still has time in it."""
    return _term("coh")


def feat() -> Loss:
    """R_feat (eq. 3): the verifier's BatchNorm input statistics against its running statistics."""
    return _term("feat")


def tv_l2() -> Loss:
    """The 3D DeepDream baseline's total-variation prior: the mean squared difference of neighbouring pixels
    (:func:`total_variation_l2`; AM's R_TV(κ, γ) is ``tv``)."""
    return _term("tv_l2")


def l2() -> Loss:
    """The 3D DeepDream baseline's l2 norm of the video."""
    return _term("l2")


#: the variants' losses, minimized (a job maximizes the loss negated, :func:`job_objective`): eq. 4 of the paper
#: and its ablations (Table 3), and 3D DeepDream; ``r`` scales the regularizers, ``tv_weight`` and ``l2_weight``
#: DeepDream's image priors
VARIANTS: dict[str, Callable[..., Loss]] = {
    "deepdream": lambda r, tv_weight, l2_weight: ce() + tv_weight * tv_l2() + l2_weight * l2(),
    "prim": lambda r, tv_weight, l2_weight: ce() + prim(),
    "prim+coh": lambda r, tv_weight, l2_weight: ce() + prim() + r * coh(),
    "prim+feat": lambda r, tv_weight, l2_weight: ce() + prim() + r * feat(),
    "leaps": lambda r, tv_weight, l2_weight: ce() + prim() + r * (coh() + feat()),
}


def job_objective(loss: Loss, target: int | Target) -> Objective:
    """What a job maximizes: its variant's ``loss`` negated, with the job's class in L_CE, or, for a
    :class:`~..core.targets.Target`, the target's value in place of L_CE's negation (weighted as L_CE is). Terms of
    weight 0 are left out (nothing weighs them)."""
    w_ce = term_weights(loss)["ce"]
    rest = Loss([t for t in loss.terms if t.op != "ce"])
    head = w_ce * target if isinstance(target, Target) else -(w_ce * ce(target))
    return (head - rest).without_zeros()


def term_weights(loss: Objective) -> dict[str, float]:
    """A loss's weight on each of :data:`TERMS` (0 where it lacks the term)."""
    weights = dict.fromkeys(TERMS, 0.0)
    for t in loss.terms:
        if t.op not in weights:
            raise ValueError(f"a LEAPS loss is made of {', '.join(TERMS)}; got a {t.op!r} term")
        weights[t.op] += t.weight
    return weights


def spacetime(out, channels_last: bool = False) -> torch.Tensor:
    """A layer's output as N×C×T×S (see :func:`~vidvis_widgets.models.probe.as_maps`)."""
    z = as_maps(out, LayerLayout(channels_last=channels_last))
    if z.dim() != 5:
        raise ValueError(f"expected space-time features N×C×T×H×W (or a transformer's tokens with their T×H×W); "
                         f"got {tuple(z.shape)}")
    return z.flatten(3)


def space_time_mean(z: torch.Tensor) -> torch.Tensor:
    """μ(z): the C-length space-time mean of N×C×T×S features, (N, C)."""
    return z.float().mean((2, 3))


def jvs(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Jaccard vector similarity (Fernando & Herath, CVPR 2021) of the rows of a and b (N×C):
    mean_c 2 a_c b_c / (a_c² + b_c²), each component taken as (2 a_c b_c + ε) / (a_c² + b_c² + ε). It weighs
    both the angle and the magnitude of each component, unlike the cosine (angle only) or an l_p distance
    (magnitude only), and is exactly 1 where a = b: a component that is 0 in both (a channel a ReLU keeps off
    on both videos) counts as identical, similarity 1, not 0, and ε (in both numerator and denominator) keeps
    its value and gradient finite there (the gradient is 0 wherever a_c = b_c). (N,)."""
    return ((2 * a * b + eps) / (a.square() + b.square() + eps)).mean(1)


def jvs_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 − JVS, in [0, 2]: the priming distance of eq. 1. (N,)."""
    return 1 - jvs(a, b)


def priming_loss(means_x: list[torch.Tensor], means_v: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    """Eq. 1: (1/L) Σ_l λ_l JVS-distance(μ(z_l(x*)), μ(z_l(v))). ``means_*``: per layer (N, C_l);
    ``weights``: λ_l, (L,) or per video (N, L). (N,)."""
    d = torch.stack([jvs_distance(x, v) for x, v in zip(means_x, means_v)], 1)  # N×L
    return (d * weights).mean(1)


def temporal_coherence(z: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Eq. 2 on N×C×T×S features, over every pair of temporal positions t1 < t2: the l1 distance of
    consecutive positions, max(0, δ − distance) for the others; averaged over the pairs.

    The l1 distance is taken per element (mean |z_t1 − z_t2| over C×S) so that δ = 1 (the paper's, after
    Mobahi et al.) means the same on layers of any width and resolution. (N,)."""
    T = z.shape[2]
    if T < 2:
        raise ValueError(f"temporal coherence needs at least 2 temporal positions at the last priming layer; "
                         f"it has {T}. Synthesize more frames or choose an earlier last layer")
    z = z.float()
    d = (z.unsqueeze(3) - z.unsqueeze(2)).abs().mean((1, 4))  # N×T×T pairwise distances
    i, j = torch.triu_indices(T, T, 1, device=z.device)
    pairs = d[:, i, j]
    consecutive = (j - i) == 1
    return torch.where(consecutive, pairs, (delta - pairs).clamp_min(0)).mean(1)


def batchnorm_layers(model: nn.Module) -> list[tuple[str, nn.modules.batchnorm._BatchNorm]]:
    """The BatchNorm layers that carry running statistics, in order."""
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None]


def feature_statistics(inputs: list[torch.Tensor], bns: list[nn.modules.batchnorm._BatchNorm],
                       pool: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 3: Σ_k ‖μ(a_k(x*)) − running_mean_k‖₂ + ‖σ²(a_k(x*)) − running_var_k‖₂, with a_k the input of
    BatchNorm layer k of the verifier (what its running statistics describe).

    μ and σ² are taken over the space-time positions of all the videos pooled together, as in DeepInversion
    [64], whose statistics eq. 3 borrows, and in the reference code: the running statistics describe a
    dataset of many classes, variance between videos included, which a batch of syntheses of several classes
    can match but one video cannot without distorting itself. ``pool``: N×N, row i the weights of the videos
    pooled with video i (1/n for each of its n group members; :func:`pooling`); default: the whole batch.
    Each video gets its pool's value, so summing over the batch weighs the term once per video. (N,)."""
    n = inputs[0].shape[0]
    if pool is None:
        pool = torch.full((n, n), 1.0 / n, device=inputs[0].device)
    total = 0
    for a, bn in zip(inputs, bns):
        a = a.float().flatten(2)  # N×C×positions
        mu = pool @ a.mean(2)  # each video's pooled mean, N×C
        var = pool @ (a - mu.unsqueeze(2)).square().mean(2)  # around the pooled mean: between-video spread counts
        total = total + (mu - bn.running_mean).norm(dim=1) + (var - bn.running_var).norm(dim=1)
    return total


def pooling(groups: list, device=None) -> torch.Tensor:
    """The ``pool`` matrix of :func:`feature_statistics` for videos labelled with ``groups`` (any hashable
    labels): videos with equal labels are pooled, each with weight 1/(group size)."""
    same = torch.tensor([[a == b for b in groups] for a in groups], dtype=torch.float32, device=device)
    return same / same.sum(1, keepdim=True)


def total_variation_l2(x: torch.Tensor) -> torch.Tensor:
    """DeepDream's smoothness prior: the mean squared difference of neighbouring pixels along H, W and T
    of N×C×T×H×W videos. (N,)."""
    parts = [x.diff(dim=d).square().flatten(1).mean(1) for d in (2, 3, 4) if x.shape[d] > 1]
    return sum(parts)


def l2_norm(x: torch.Tensor) -> torch.Tensor:
    """DeepDream's magnitude prior: the mean squared value. (N,)."""
    return x.square().flatten(1).mean(1)


# -- the terms' evaluators, for :class:`~..core.objectives.BatchedObjective` --------------------------------------
# each reads one pass's ``context``: "logits" (N×K), "features" (the priming layers' N×C×T×S, :func:`spacetime`),
# "stimulus_means" (each job's stimulus's μ(z_l(v)), per layer N×C_l), "priming_weights" (λ_l), "delta" (δ), and
# where R_feat is used "bn_inputs", "bns" (the verifier's BatchNorm inputs and layers) and "pool"
def _ce(slot: Slot, p: TermInputs) -> torch.Tensor:
    return F.cross_entropy(p.context["logits"].float(), slot.params["class"], reduction="none")


def _prim(slot: Slot, p: TermInputs) -> torch.Tensor:
    c = p.context
    return priming_loss([space_time_mean(f) for f in c["features"]], c["stimulus_means"], c["priming_weights"])


def _coh(slot: Slot, p: TermInputs) -> torch.Tensor:
    z = p.context["features"]
    # the last layer that still has time in it (a 3D ResNet at 8 frames pools it away by layer4)
    return temporal_coherence(next((f for f in reversed(z) if f.shape[2] >= 2), z[-1]), p.context["delta"])


def _feat(slot: Slot, p: TermInputs) -> torch.Tensor:
    return feature_statistics(p.context["bn_inputs"], p.context["bns"], p.context["pool"])


def _tv_l2(slot: Slot, p: TermInputs) -> torch.Tensor:
    return total_variation_l2(p.streams[slot.target])


def _l2(slot: Slot, p: TermInputs) -> torch.Tensor:
    return l2_norm(p.streams[slot.target])


#: LEAPS' and DeepDream's operations, for :class:`~..core.objectives.BatchedObjective`
EVALUATORS = {"ce": _ce, "prim": _prim, "coh": _coh, "feat": _feat, "tv_l2": _tv_l2, "l2": _l2}
