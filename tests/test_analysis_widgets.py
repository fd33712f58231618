"""ResponseHistogram, ConfusionPairView and FilterEvolutionGrid in the kernel: what each part shows
against the statistics it was built from, in-place updates, and the checkpoint errors."""

import numpy as np
import pytest
import torch

from vidvis_widgets import ConfusionPairView, FilterEvolutionGrid, ResponseHistogram
from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import (ActivationMaximization, checkpoint_models, filter_evolution, response_statistics,
                                    unit)
from vidvis_widgets.models import CheckpointMismatch, embedded_checkpoints, load_model
from vidvis_widgets.models.checkpoints import save_checkpoint


@pytest.fixture(scope="module")
def model():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def test_set():
    return SyntheticActions("test", samples_per_class=4)


@pytest.fixture(scope="module")
def stats(model, test_set):
    return response_statistics(model, test_set, ["conv5_fusion", "fc8"])


def test_histogram_bars_are_the_sorted_class_maxima_and_a_click_plays_that_class(model, test_set, stats):
    w = ResponseHistogram(stats, test_set, units=[("fc8", 1), ("conv5_fusion", 7)])
    bars = w.figure.data[0]
    want = stats.unit_class_max("fc8", 1)
    assert list(bars.y) == sorted(want, reverse=True)
    assert [stats.classes.index(c) for c in bars.x] == list(np.argsort(-want, kind="stable"))
    assert w.picked_class == bars.x[0]  # the class the unit fires most for plays first
    labels = test_set.labels
    w.select_class("violin")
    shown = [int(c.split("#")[1].split(" ")[0]) for c in w.clip_player.captions[:4]]
    assert all(labels[i] == stats.classes.index("violin") for i in shown)
    assert [i for i, _ in stats.class_top_videos("fc8", 1, "violin")] == shown
    first = w.clip_player.clips[0].frames
    np.testing.assert_array_equal(first, test_set[shown[0]]["rgb"])  # the dataset's own frames
    assert w.clip_player.rows == 2 and w.clip_player.clips[4].kind == "flow"
    # switching units updates the same figure and players
    figure, player = w.figure, w.clip_player
    w.unit_menu.value = ("conv5_fusion", 7)
    assert w.figure is figure and w.clip_player is player and w.unit == ("conv5_fusion", 7)
    assert list(w.figure.data[0].y) == sorted(stats.unit_class_max("conv5_fusion", 7), reverse=True)


def test_histogram_shows_the_units_am_inputs_across_gamma(model, test_set, stats):
    am = ActivationMaximization(model, activation_max=None)
    w = ResponseHistogram(stats, test_set, units=[("fc8", 2)], am=am, gammas=(5.0, 0.0), steps=3)
    assert w.am_player.captions[0] == "appearance" and len(w.am_player.clips) == 3
    assert [r.job.gamma for r in w.am_results] == [5.0, 0.0] and w.am_player.clips[1].kind == "flow"


def test_histogram_rejects_a_different_dataset(stats):
    with pytest.raises(ValueError, match="recorded on 56"):
        ResponseHistogram(stats, SyntheticActions("test", samples_per_class=2))


def test_confusion_pair_view_ranks_pairs_and_shows_their_clips(model):
    data = SyntheticActions("test", samples_per_class=10)
    view = ConfusionPairView(model, data, am=ActivationMaximization(model, activation_max=None), steps=2,
                             gammas=(10.0, 0.0), samples=3)
    view.wait()  # the top pair's AM runs in the background
    ev = view.evaluation
    m = ev.matrix
    np.testing.assert_array_equal(view.figure.data[0].z, m)
    a, b, errors = ev.most_confused(1)[0]
    assert errors == m[a, b] + m[b, a] > 0 and view.pair == (ev.classes[a], ev.classes[b])
    # rows: samples of a, samples of b, a predicted as b, b predicted as a
    caps = view.clip_player.captions
    for cap in caps[6:9]:
        if cap:
            assert cap.endswith(f"predicted {ev.classes[b]}") and ev.labels[int(cap[1:].split(' ')[0])] == a
    assert view.am_player.row_headers == [ev.classes[a], ev.classes[b]]
    assert [r.job.target.single_unit()[1] for r in view.am_results] == [a, a, b, b]
    view.show_pair("cello", "violin", wait=True)
    assert view.pair == ("cello", "violin") and view.am_player.row_headers == ["cello", "violin"]
    view.stream.value = "flow"
    assert view.clip_player.clips[0].kind == "flow"
    with pytest.raises(ValueError, match="two different classes"):
        view.show_pair("cello", 8)


def test_filter_evolution_rows_are_epochs_with_the_same_start():
    model = load_model("tiny_two_stream")
    paths = embedded_checkpoints("tiny_two_stream")[::4]
    grid = FilterEvolutionGrid.run(model, [unit("fc8", 12), unit("conv5_fusion", 2)], paths, steps=3, activation_max=None)
    assert grid.row_headers == ["epoch 1", "epoch 5", "epoch 9"] and grid.cols == 4
    assert grid.col_headers[:2] == ["fc8 c12 · appearance", "fc8 c12 · motion"]
    res = grid.evolution.results
    # each cell captions its appearance input only, and a raw activation is not called a ratio
    assert grid.captions[:4] == [res[0][0].activation_caption, "", res[0][1].activation_caption, ""]
    assert grid.captions[0].endswith("(â unknown)")
    assert all(r.job.seed == 0 and r.job.gamma == 5.0 for row in res for r in row)
    # the same start and jitter, different weights: different inputs per epoch
    assert not np.allclose(res[0][0].motion, res[2][0].motion)
    # and each row is what that checkpoint alone gives
    alone = ActivationMaximization(load_model("tiny_two_stream", weights=paths[1]), activation_max=None)(
        grid.evolution.jobs, steps=3)
    np.testing.assert_allclose(alone[1].appearance, res[1][1].appearance, rtol=1e-4, atol=1e-3)


def test_checkpoint_errors_name_the_files_and_keys(tmp_path):
    model = load_model("tiny_two_stream")
    with pytest.raises(FileNotFoundError, match=r"2 of 3 checkpoint files do not exist: .*nope1\.pt, .*nope2\.pt"):
        checkpoint_models(model, [embedded_checkpoints("tiny_two_stream")[0], tmp_path / "nope1.pt",
                                  tmp_path / "nope2.pt"])
    other = tmp_path / "r3d.pt"
    save_checkpoint(other, load_model("tiny_r3d", weights=None), {"epoch": 1})
    with pytest.raises(CheckpointMismatch, match=r"missing keys: appearance\..*unexpected keys: fc\.bias"):
        filter_evolution(model, unit("fc8", 0), [other], steps=1)
    from vidvis_widgets.models import TinyTwoStream

    fewer = tmp_path / "ten_classes.pt"
    save_checkpoint(fewer, TinyTwoStream(num_classes=10), {"epoch": 2})
    with pytest.raises(CheckpointMismatch, match=r"shape mismatches: fc8\.bias: checkpoint \(10,\) vs model \(14,\)"):
        checkpoint_models(model, [embedded_checkpoints("tiny_two_stream")[0], fewer])
    with pytest.raises(ValueError, match="no embedded per-epoch checkpoints"):
        checkpoint_models(load_model("torchvision:r3d_18", weights=None))
    assert torch.equal(model.fc8.weight, load_model("tiny_two_stream").fc8.weight)  # nothing changed


def test_stacked_checkpoints_give_what_each_checkpoint_gives_alone():
    model = load_model("tiny_two_stream")
    paths = embedded_checkpoints("tiny_two_stream")[1::4]
    units = [unit("fc8", 13), unit("conv5_fusion", 3), unit("motion.conv3_1", 5)]
    # grouped convolutions round differently from plain ones; over enough steps a rounding difference can tip
    # a ReLU or the jitter-shifted bound at its kink and move one pixel by a whole Adam step (at 8 steps, one
    # motion value of one of these 9 jobs moved 0.97 px), so the check stops at 6 steps, where none has
    stacked = filter_evolution(model, units, paths, steps=6, stack=True)
    alone = filter_evolution(model, units, paths, steps=6, stack=False)
    for row_s, row_a in zip(stacked.results, alone.results):
        for s, a in zip(row_s, row_a):
            assert s.status == "completed" and s.activation_max == a.activation_max  # each checkpoint's own â
            np.testing.assert_allclose(s.normalized_activation, a.normalized_activation, rtol=1e-3, atol=1e-4)
            np.testing.assert_allclose(s.motion, a.motion, atol=0.05)
            np.testing.assert_allclose(s.appearance, a.appearance, atol=0.5)
