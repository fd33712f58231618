"""course_model: embedded weights for the default world, one retrain per (seed, strength, settings), reloaded from
the cache after that; bad arguments refused by name before any work. Tiny settings (a few clips, one epoch)."""

import json

import pytest
import torch

from vidvis_widgets import course, training
from vidvis_widgets.course import course_folder, course_model
from vidvis_widgets.models.registry import load_model

TINY = dict(samples_per_class=2, epochs=1, progress=False)


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = training.train_model

    def train_model(*args, **kw):
        calls.append((args, kw))
        return real(*args, **kw)

    monkeypatch.setattr(training, "train_model", train_model)
    return calls


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_trains_once_then_reloads_from_the_cache(counted, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDVIS_CACHE_DIR", str(tmp_path))
    first = course_model(4, **TINY)
    assert len(counted) == 1
    again = course_model(4, **TINY)
    assert len(counted) == 1, "the second call must load the cached model, not train"
    assert _same_weights(first, again) and not again.training
    folder = course_folder(4, 0.9)
    assert folder == tmp_path / "course" / "4" / "0.9"
    weights = list(folder.rglob("*.pt"))
    assert [p.name for p in weights] == ["model.pt"]  # per-epoch files and temporaries are gone
    record = json.loads((weights[0].parent / "train.json").read_text())
    assert record["bias_seed"] == 4 and record["bias_strength"] == 0.9 and record["samples_per_class"] == 2
    assert len(record["history"]) == 1 and record["seconds"] > 0
    # the trained model was trained on the seeded world's clips: 2 per class of its train split
    (_, splits, *_), _ = counted[0]
    assert len(splits["train"]["label"]) == 2 * 14 and splits["train"]["region_masks"].shape[1] == 7
    # decorrelated: the same world at strength 0.5, its own folder, its own training
    course_model(4, decorrelate=True, **TINY)
    assert len(counted) == 2 and (tmp_path / "course" / "4" / "0.5").is_dir()
    # another architecture of the embedded set (not the course's default) trains the same way
    r3d = course_model(4, "tiny_r3d", cache=tmp_path / "elsewhere", **TINY)
    assert len(counted) == 3 and r3d.vidvis_adapter.name == "tiny_r3d"
    assert list((tmp_path / "elsewhere" / "4" / "0.9").rglob("model.pt"))


def test_default_world_is_the_embedded_model(counted):
    model = course_model(None)
    assert not counted and _same_weights(model, load_model("tiny_two_stream"))


def test_an_interrupted_training_leaves_no_model(tmp_path, monkeypatch):
    def broken(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train_model", broken)
    with pytest.raises(KeyboardInterrupt):
        course_model(2, cache=tmp_path, **TINY)
    assert not list(tmp_path.rglob("model.pt"))


@pytest.mark.parametrize("kw, named", [
    (dict(name="resnet"), "name must be one of the embedded architectures"),
    (dict(bias_seed=-1), "bias_seed must be an integer ≥ 0, got -1"),
    (dict(bias_seed=1.5), "bias_seed must be an integer"),
    (dict(bias_strength=1.5), r"bias_strength must be a share of clips in \[0.5, 1\]"),
    (dict(bias_strength=0.3), "bias_strength must be a finite number ≥ 0.5"),
    (dict(decorrelate="yes"), "decorrelate must be True or False"),
    (dict(decorrelate=True, bias_strength=0.9), "decorrelate=True trains at bias_strength 0.5"),
    (dict(samples_per_class=0), "samples_per_class must be an integer ≥ 1, got 0"),
    (dict(epochs=0), "epochs must be an integer ≥ 1, got 0"),
    (dict(cache=3), "cache must be a folder path"),
])
def test_bad_arguments_are_refused_by_name(kw, named, counted, tmp_path):
    args = {"bias_seed": 3, **kw}
    with pytest.raises(ValueError, match=named):
        course_model(args.pop("bias_seed"), **{"cache": tmp_path, **args})
    assert not counted and not list(tmp_path.iterdir())


def test_shortcut_check_agrees_with_the_training_evaluation():
    # the embedded model of the default world, measured by training's own evaluation of the same splits
    model = load_model("tiny_two_stream")
    got = course.shortcut_check(model, None)
    want = training.evaluate_model(model, training.make_splits(splits=("test", "counterfactual")))
    assert got == {"test": want["test_accuracy"], "pair_test": want["pair_test_accuracy"],
                   "counterfactual": want["counterfactual_accuracy"]}
    assert got["pair_test"] - got["counterfactual"] > 0.5  # it took the default world's shortcut
