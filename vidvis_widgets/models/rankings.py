"""Rankings of class pairs beyond "most confused": where to look for a shortcut.

A shortcut that predicts the label perfectly causes no confusion, so the confusion ranking never lists its pair.
Two other rankings can:

- :func:`over_confident_pairs`: pairs of look-alike classes (each class and the class most often second in its
  clips' logits) that the model separates (nearly) perfectly with margins unusually large among look-alikes.
- :func:`frame_vs_temporal_pairs`: pairs that a frame-wise 2D model confuses and a temporal model separates: what
  tells them apart moves, so the temporal model may have learned the motion that should matter, or one that
  happens to come with the label.

Both read only :class:`~vidvis_widgets.models.evaluation.Evaluation` values (logits and labels). They are leads
to check, not findings: a large margin is also what a well-learnt real difference looks like; an intervention on
the suspected cue (:mod:`vidvis_widgets.methods.interventions`) tells the two apart.
"""

from __future__ import annotations

import numpy as np

from .evaluation import Evaluation

#: a pair is "separated" when at least this share of its clips has the larger logit on its own class
SEPARATED = 0.8


def pair_margins(ev: Evaluation, a: int, b: int) -> np.ndarray:
    """Each clip of class ``a`` or ``b``: its own class's logit minus the other one's (positive: told apart)."""
    z, y = ev.logits, ev.labels
    ia, ib = y == a, y == b
    return np.concatenate([z[ia, a] - z[ia, b], z[ib, b] - z[ib, a]])


def look_alikes(ev: Evaluation) -> np.ndarray:
    """Each class's nearest other class in the model's eyes (K): the class most often second in its clips'
    logits (ties: the lower index; a class without clips: the next class)."""
    K, y = len(ev.classes), ev.labels
    second = np.zeros((K, K))
    for c in range(K):
        z = ev.logits[y == c].copy()
        if len(z):
            z[:, c] = -np.inf
            second[c] = np.bincount(z.argmax(1), minlength=K)
        else:
            second[c, (c + 1) % K] = 1
    np.fill_diagonal(second, -1)
    return second.argmax(1)


def over_confident_pairs(ev: Evaluation, k: int = 5) -> list[tuple[int, int, float, float, float]]:
    """Look-alike pairs the model tells apart (nearly) perfectly with unusually large margins, most first:
    ``(class a, class b, score, accuracy, margin)``.

    The candidates are each class with its look-alike (:func:`look_alikes`: the class most often second in its
    clips' logits). For each, ``margin`` is the median over the pair's clips of |own logit − other's logit| (a
    confident error counts as confident), ``accuracy`` the share of its clips on the right side; ``score`` is the
    margin as a z-score against all candidates' margins. Only pairs with accuracy ≥ 0.8 are listed."""
    _check_k(k)
    y, near = ev.labels, look_alikes(ev)
    pairs = sorted({tuple(sorted((c, int(near[c])))) for c in range(len(ev.classes))})
    pairs = [(a, b) for a, b in pairs if (y == a).any() and (y == b).any()]
    if not pairs:
        return []
    m = [pair_margins(ev, a, b) for a, b in pairs]
    margin = np.array([np.median(np.abs(x)) for x in m])
    acc = np.array([(x > 0).mean() for x in m])
    score = (margin - margin.mean()) / (margin.std() + 1e-9)
    keep = [i for i in np.argsort(-margin, kind="stable") if acc[i] >= SEPARATED]
    return [(pairs[i][0], pairs[i][1], float(score[i]), float(acc[i]), float(margin[i])) for i in keep[:k]]


def frame_vs_temporal_pairs(ev_2d: Evaluation, ev_3d: Evaluation, k: int = 5) -> list[tuple[int, int, float, int, int]]:
    """Pairs a frame-wise (2D) model confuses and a temporal (3D) model separates, most first:
    ``(class a, class b, score, errors 2D, errors 3D)``; errors between the two classes in either direction, score
    the difference of the two error rates over the pair's clips. Only pairs with more 2D than 3D errors are listed.
    Both evaluations must cover the same clips with the same classes."""
    _check_k(k)
    if tuple(ev_2d.classes) != tuple(ev_3d.classes):
        raise ValueError("ev_2d and ev_3d must name the same classes in the same order; got "
                         f"{len(ev_2d.classes)} and {len(ev_3d.classes)} classes that differ")
    if not np.array_equal(ev_2d.labels, ev_3d.labels):
        raise ValueError(f"ev_2d and ev_3d must cover the same clips (same labels in the same order); got "
                         f"{len(ev_2d.labels)} and {len(ev_3d.labels)} labels that differ")
    m2, m3 = ev_2d.matrix + ev_2d.matrix.T, ev_3d.matrix + ev_3d.matrix.T
    count = np.bincount(ev_2d.labels, minlength=len(ev_2d.classes))
    rows = []
    for a in range(len(count)):
        for b in range(a + 1, len(count)):
            n = count[a] + count[b]
            if n and m2[a, b] > m3[a, b]:
                rows.append((a, b, float((m2[a, b] - m3[a, b]) / n), int(m2[a, b]), int(m3[a, b])))
    return sorted(rows, key=lambda r: (-r[2], -r[3], r[0], r[1]))[:k]


def _check_k(k) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int (how many pairs to list), got {k!r}")
