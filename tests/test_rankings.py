"""The pair rankings beside "most confused": over-confident look-alikes and 2D-vs-temporal pairs, on hand-built
evaluations whose answer is known by construction, and on a random library model over a folder of real videos,
checked against the test's own forward pass and its own loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidvis_widgets.models import rankings
from vidvis_widgets.models.evaluation import Evaluation
from vidvis_widgets.models.rankings import frame_vs_temporal_pairs, look_alikes, over_confident_pairs

NAMES = tuple("abcdef")


def hand_built(rows: list[list[list[float]]], jitter: float = 0.3, seed: int = 0) -> Evaluation:
    """rows[c]: logit rows of class c's clips (each row K long), jittered a little."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([[c] * len(r) for c, r in enumerate(rows)]).astype(np.int64)
    logits = np.concatenate([np.asarray(r, np.float64) for r in rows])
    return Evaluation(NAMES[: logits.shape[1]], labels, logits + rng.uniform(-jitter, jitter, logits.shape))


def clips(n: int, **logits: float) -> list[list[float]]:
    row = [logits.get(name, 0.0) for name in NAMES]
    return [row[:] for _ in range(n)]


def test_a_perfect_large_margin_look_alike_pair_ranks_first_and_unrelated_or_confused_pairs_are_left_out():
    ev = hand_built([
        clips(10, a=12, b=2, d=-3),   # a: b is always second, 10 apart
        clips(10, b=12, a=2, d=-3),
        clips(10, c=3, d=1),          # c ↔ d: look-alikes, 2 apart
        clips(10, d=3, c=1, a=-10),   # a ↔ d: 13 apart on d's clips, but neither is the other's look-alike
        clips(5, e=6, f=2) + clips(5, f=6, e=2),    # e ↔ f: confused half the time, confidently
        clips(9, f=10, e=1) + clips(1, e=10, f=0),  # f: one confident error in ten
    ])
    assert list(look_alikes(ev)) == [1, 0, 3, 2, 5, 4]
    ranked = over_confident_pairs(ev, k=5)
    assert [(a, b) for a, b, *_ in ranked] == [(0, 1), (2, 3)]  # (e, f): 14 of 20 right, under 0.8
    (a, b, score, acc, margin), second = ranked
    assert acc == 1.0 and abs(margin - 10) < 0.7 and abs(second[4] - 2) < 0.7
    # the score: each listed margin as a z-score against every candidate pair's margin, the confused one included
    medians = [margin, second[4], np.median(np.abs(rankings.pair_margins(ev, 4, 5)))]
    assert score == pytest.approx((medians[0] - np.mean(medians)) / np.std(medians), rel=1e-6)
    assert over_confident_pairs(ev, k=1) == ranked[:1]


def test_a_pair_with_a_few_confident_errors_is_still_listed():
    """A pair right on 19 clips of 20 by a wide margin and wrong on the last by as wide a one (what a cue that
    comes with the label most of the time gives) is "nearly perfect": listed first, with its accuracy."""
    ev = hand_built([clips(10, a=4, b=2), clips(10, b=4, a=2),
                     clips(9, c=11, d=1) + clips(1, d=11, c=1), clips(10, d=11, c=1)])
    ranked = over_confident_pairs(ev)
    assert [(a, b) for a, b, *_ in ranked] == [(2, 3), (0, 1)]
    assert ranked[0][3] == pytest.approx(0.95) and abs(ranked[0][4] - 10) < 0.7


def test_frame_vs_temporal_pairs_lists_what_the_2d_model_confuses_and_the_3d_one_does_not():
    base = [clips(10, a=5), clips(10, b=5), clips(10, c=5), clips(10, d=5)]
    flat = hand_built(base)

    def with_errors(errors: dict[tuple[int, int], int]) -> Evaluation:
        logits = flat.logits.copy()
        for (true, wrong), n in errors.items():
            rows = np.flatnonzero(flat.labels == true)[:n]
            logits[rows, wrong] = 9
        return Evaluation(flat.classes, flat.labels, logits)

    ev_2d = with_errors({(0, 1): 4, (1, 0): 2, (2, 3): 2, (3, 0): 1})
    ev_3d = with_errors({(2, 3): 3})
    assert frame_vs_temporal_pairs(ev_2d, ev_3d) == [(0, 1, 6 / 20, 6, 0), (0, 3, 1 / 20, 1, 0)]
    assert frame_vs_temporal_pairs(ev_3d, ev_2d) == [(2, 3, 1 / 20, 3, 2)]
    with pytest.raises(ValueError, match="ev_2d and ev_3d must cover the same clips"):
        frame_vs_temporal_pairs(ev_2d, Evaluation(flat.classes, flat.labels[::-1].copy(), flat.logits))
    with pytest.raises(ValueError, match="same classes"):
        frame_vs_temporal_pairs(ev_2d, Evaluation(tuple("wxyz"), flat.labels, flat.logits))


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_k_must_be_a_positive_int(k):
    ev = hand_built([clips(2, a=1), clips(2, b=1)])
    with pytest.raises(ValueError, match="k must be a positive int"):
        over_confident_pairs(ev, k)
    with pytest.raises(ValueError, match="k must be a positive int"):
        frame_vs_temporal_pairs(ev, ev, k)


def reference_over_confident(logits: np.ndarray, labels: np.ndarray, k: int) -> list[tuple[int, int, float, float]]:
    """The definition written out with plain loops: (a, b, accuracy, margin) of each class and its most frequent
    runner-up, by margin; no accuracy floor."""
    K = logits.shape[1]
    near = {}
    for c in range(K):
        count = [0] * K
        for row in logits[labels == c]:
            order = [j for j in np.argsort(-row, kind="stable") if j != c]
            count[order[0]] += 1
        near[c] = max((j for j in range(K) if j != c), key=lambda j: (count[j], -j)) if (labels == c).any() else None
    out = []
    for a, b in sorted({tuple(sorted((c, n))) for c, n in near.items() if n is not None}):
        if not ((labels == a).any() and (labels == b).any()):
            continue
        m = [row[a] - row[b] for row in logits[labels == a]] + [row[b] - row[a] for row in logits[labels == b]]
        out.append((a, b, float(np.mean(np.array(m) > 0)), float(np.median(np.abs(m)))))
    return sorted(out, key=lambda r: -r[3])[:k]


def test_rankings_of_a_random_library_model_on_a_folder_of_real_videos(tmp_path, monkeypatch):
    """Not designed here: torchvision's R3D and MC3 (their own default heads, random weights, 5 classes) on three
    classes of real MP4s; the evaluation's logits match the test's own forward pass, and both rankings match the
    definitions written out with loops over those logits."""
    from vidvis_widgets.data import VideoFolder
    from vidvis_widgets.models import evaluate

    from .test_model_matrix import _build, _forward
    from .test_your_videos import shapes_folder

    folder = shapes_folder(tmp_path / "videos", per_class=4, frames=8)
    r3d, mc3 = _build("r3d"), _build("mc3")
    data = VideoFolder(folder, model=r3d, flow=None)
    arrays = {"rgb": np.stack([data[i]["rgb"] for i in range(len(data))]),
              "label": np.array([data[i]["label"] for i in range(len(data))])}
    evs = {name: evaluate(m, arrays) for name, m in (("r3d", r3d), ("mc3", mc3))}
    info = r3d.vidvis_adapter
    (x,) = info.prepare({"rgb": arrays["rgb"]}, torch.device("cpu"))  # the adapter's pixels, our own forward
    with torch.no_grad():
        own = _forward(r3d, x).numpy()
    np.testing.assert_allclose(evs["r3d"].logits, own, rtol=1e-4, atol=1e-5)
    assert evs["r3d"].logits.shape == (12, 5)
    monkeypatch.setattr(rankings, "SEPARATED", 0.0)  # random weights separate nothing: list every candidate
    for ev in evs.values():
        got = over_confident_pairs(ev, k=10)
        want = reference_over_confident(ev.logits, ev.labels, 10)
        assert [(a, b) for a, b, *_ in got] == [(a, b) for a, b, *_ in want] and got
        np.testing.assert_allclose([g[3:] for g in got], [w[2:] for w in want], rtol=1e-6)
    # 2D vs temporal over the same clips: errors counted from the predictions with loops
    p2, p3, y = evs["mc3"].predictions, evs["r3d"].predictions, arrays["label"]
    want = []
    for a in range(5):
        for b in range(a + 1, 5):
            e2 = sum((t, p) in ((a, b), (b, a)) for t, p in zip(y, p2))
            e3 = sum((t, p) in ((a, b), (b, a)) for t, p in zip(y, p3))
            n = int(np.isin(y, (a, b)).sum())
            if e2 > e3:
                want.append((a, b, (e2 - e3) / n, e2, e3))
    got = frame_vs_temporal_pairs(evs["mc3"], evs["r3d"], k=10)
    assert sorted(got) == sorted(want)
    assert [g[2] for g in got] == sorted((g[2] for g in got), reverse=True)
