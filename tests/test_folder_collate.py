"""A VideoFolder without flow batches with torch's standard DataLoader, and every reader of items takes one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vidvis_widgets.data import VideoFolder
from vidvis_widgets.data.loading import batches
from vidvis_widgets.io import write_video
from vidvis_widgets.media.dataset_clips import dataset_clips
from vidvis_widgets.media.samples import moving_square
from vidvis_widgets.methods.saliency_tubes.tubes import as_frames


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("collate")
    for name, (h, w) in {"left": (48, 80), "right": (64, 64)}.items():
        (root / name).mkdir()
        for k in range(2):
            rgb, _ = moving_square(num_frames=10, size=max(h, w), velocity=(2, 0), side=12, seed=k)
            write_video(root / name / f"c{k}.mp4", rgb[:, :h, :w], fps=8)
    return root


def test_default_collate_batches_a_folder_without_flow(folder):
    ds = VideoFolder(folder, num_frames=4, size=32, flow=None)
    assert "flow" not in ds[0]  # left out, not None: default_collate refused None
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert set(batch) == {"rgb", "label", "path"} and batch["rgb"].shape == (4, 4, 32, 32, 3)
    assert batch["rgb"].dtype == torch.uint8 and batch["label"].tolist() == [0, 0, 1, 1] and len(batch["path"]) == 4
    np.testing.assert_array_equal(batch["rgb"][3].numpy(), ds[3]["rgb"])


def test_default_collate_with_flow_and_workers(folder, tmp_path):
    ds = VideoFolder(folder, num_frames=4, size=32, flow="dis", cache_dir=tmp_path)
    batch = next(iter(DataLoader(ds, batch_size=4, num_workers=2)))
    assert batch["flow"].shape == (4, 4, 2, 32, 32) and batch["flow"].dtype == torch.float32


def test_readers_of_items_take_one_without_flow(folder):
    ds = VideoFolder(folder, num_frames=4, size=32, flow=None)
    rgb, flows = dataset_clips(ds, [0, 3])
    assert len(rgb) == 2 and flows == [None, None]
    batch = next(iter(batches(ds, 4, 0, torch.device("cpu"))))
    assert set(batch) == {"rgb", "label"} and batch["rgb"].shape == (4, 4, 32, 32, 3)
    frames, flow = as_frames(ds[1])
    assert flow is None and tuple(frames.shape) == (1, 4, 32, 32, 3)
