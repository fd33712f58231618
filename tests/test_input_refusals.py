"""Inputs the second outside review (issue 41) found refused unclearly, or not at all: each now gets a clear error
naming the argument, the problem and the expected form before any long work, or works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vidvis_widgets.data import SyntheticActions
from vidvis_widgets.models import load_model
from vidvis_widgets.store import ResultStore, as_store


@pytest.fixture(scope="module")
def r3d():
    torch.manual_seed(0)
    return load_model("tiny_r3d")


# -- a store given as a path ---------------------------------------------------------------------------------
def test_response_statistics_takes_a_store_folder_as_a_path_and_finds_its_result_again(r3d, tmp_path):
    from vidvis_widgets.methods import response_statistics

    arrays = SyntheticActions("test", samples_per_class=1).arrays(range(3))
    first = response_statistics(r3d, arrays, ["layer1"], store=str(tmp_path / "folder"))
    assert len(ResultStore(tmp_path / "folder")) == 1
    again = response_statistics(r3d, arrays, ["layer1"], store=tmp_path / "folder")  # a Path finds the same entry
    np.testing.assert_array_equal(first.activation_max["layer1"], again.activation_max["layer1"])
    assert len(ResultStore(tmp_path / "folder")) == 1


def test_every_store_argument_takes_a_path_and_refuses_what_is_no_store(r3d, tmp_path):
    from vidvis_widgets.methods import ActivationMaximization, SaliencyTubes
    from vidvis_widgets.models import evaluate

    assert as_store(tmp_path / "s").root == tmp_path / "s"
    assert ActivationMaximization(r3d, store=str(tmp_path / "am")).store.root == tmp_path / "am"
    assert SaliencyTubes(r3d, store=tmp_path / "tubes").cache.store.root == tmp_path / "tubes"
    ev = evaluate(r3d, SyntheticActions("test", samples_per_class=1), store=str(tmp_path / "ev"))
    assert len(ev.labels) == 14 and len(ResultStore(tmp_path / "ev")) == 1
    with pytest.raises(TypeError, match=r"store must be None, True .*, a folder path .* or a ResultStore; got int"):
        ActivationMaximization(r3d, store=3)
    with pytest.raises(ValueError, match="store is an empty path"):
        as_store("")


def test_get_or_compute_names_what_compute_must_return(tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(TypeError, match=r"compute\(\) for method 'm' must return a pair \(arrays, meta\).*returned dict"):
        store.get_or_compute(torch.nn.Linear(2, 2), "m", {}, lambda: {"a": np.zeros(2)})
    with pytest.raises(TypeError, match="returned a 3-tuple"):
        store.get_or_compute(torch.nn.Linear(2, 2), "m", {}, lambda: ({}, {}, {}))
    assert len(store) == 0


# -- pathways="joint" on a model without pathways ---------------------------------------------------------------
def test_am_refuses_joint_pathways_on_a_single_stream_or_two_stream_model(r3d):
    from vidvis_widgets.methods import ActivationMaximization

    with pytest.raises(ValueError, match=r"pathways='joint' is for multi-pathway models.*tiny_r3d is a clip model"):
        ActivationMaximization(r3d, pathways="joint")
    with pytest.raises(ValueError, match=r"tiny_two_stream is a two-stream model, with no pathways to join"):
        ActivationMaximization(load_model("tiny_two_stream"), pathways="joint")
    assert ActivationMaximization(r3d).streams.names == ("video",)  # the default still takes it

