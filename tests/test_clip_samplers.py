"""VideoFolder's clip samplers on real H.264 files: which frames each one takes (every frame's number is
written into its pixels and read back), a title card the default sampler looks past, and seeded random clips."""

from __future__ import annotations

import numpy as np
import pytest

from vidvis_widgets.data import VideoFolder
from vidvis_widgets.io import write_video
from vidvis_widgets.media.samples import moving_square

TOTAL = 41


def numbered(total: int = TOTAL, size: int = 32) -> np.ndarray:
    """Frame k is flat grey 10 + 5k, so its number survives the codec."""
    return np.broadcast_to((10 + 5 * np.arange(total, dtype=np.uint8))[:, None, None, None],
                           (total, size, size, 3)).copy()


def frame_numbers(rgb: np.ndarray) -> list[int]:
    return [int(round((float(f.mean()) - 10) / 5)) for f in rgb]


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    root = tmp_path_factory.mktemp("counted")
    (root / "a").mkdir()
    write_video(root / "a" / "count.mp4", numbered(), fps=8, quality=0)
    return root


@pytest.mark.parametrize("sampler, expected", [
    ("start", [0, 2, 4, 6, 8]),
    ("centre", [16, 18, 20, 22, 24]),  # a 9-frame window in 41 frames: 16 frames before it, 16 after
    ("center", [16, 18, 20, 22, 24]),
    ("uniform", [0, 10, 20, 30, 40]),  # spread over the whole video; stride does not space them
])
def test_each_sampler_takes_the_frames_it_names(counted, sampler, expected):
    ds = VideoFolder(counted, num_frames=5, stride=2, size=32, flow=None, sampler=sampler)
    item = ds[0]
    assert frame_numbers(item["rgb"]) == expected
    assert ds.clip_indices(0).tolist() == expected and ds.sampler == sampler.replace("center", "centre")


def test_with_flow_the_window_leaves_room_for_the_last_flow_frame(counted, tmp_path):
    ds = VideoFolder(counted, num_frames=5, stride=2, size=32, flow="dis", sampler="centre", cache_dir=tmp_path)
    item = ds[0]  # 5 frames and one more, stride 2: 11 frames, 15 before them and 15 after
    assert frame_numbers(item["rgb"]) == [15, 17, 19, 21, 23] and item["flow"].shape == (5, 2, 32, 32)
    ds = VideoFolder(counted, num_frames=5, stride=2, size=32, flow="dis", sampler="uniform", cache_dir=tmp_path)
    assert frame_numbers(ds[0]["rgb"]) == [0, 9, 19, 28, 38]  # ⌊linspace(0, 38, 5)⌋: frame 38 + 2 is the last


def test_random_is_reproducible_with_a_seed_and_differs_between_seeds(counted):
    def numbers(seed):
        ds = VideoFolder(counted, num_frames=5, stride=2, size=32, flow=None, sampler="random", seed=seed)
        return frame_numbers(ds[0]["rgb"]), ds.clip_indices(0).tolist()

    got = {seed: numbers(seed) for seed in range(4)}
    for seed, (decoded, indices) in got.items():
        assert decoded == indices  # the frames read are the ones drawn
        assert np.all(np.diff(indices) == 2) and 0 <= indices[0] and indices[-1] < TOTAL
    assert numbers(2) == got[2]  # a new dataset, the same seed: the same clip
    assert got[0][1] != got[1][1] and len({tuple(v[1]) for v in got.values()}) >= 3


def test_default_sampler_sees_the_action_after_a_title_card(tmp_path):
    """16 frames of a still title card, then a square moving 2 px a frame: the first frames have no motion."""
    rgb, _ = moving_square(num_frames=48, size=64, velocity=(2, 0), side=16, seed=0)
    rgb[:16] = 40
    rgb[:16, 24:40, 8:56] = 220  # the title
    (tmp_path / "v" / "a").mkdir(parents=True)
    write_video(tmp_path / "v" / "a" / "titled.mp4", rgb, fps=8, quality=12)
    ds = VideoFolder(tmp_path / "v", num_frames=8, size=64, cache_dir=tmp_path / "c")
    assert ds.sampler == "centre"
    moving = np.abs(ds[0]["flow"]).sum(1).mean()
    still = np.abs(VideoFolder(tmp_path / "v", num_frames=8, size=64, sampler="start",
                               cache_dir=tmp_path / "c")[0]["flow"]).sum(1).mean()
    assert still < 0.05 and moving > 0.3, (still, moving)
    assert len(list((tmp_path / "c").glob("*.npy"))) == 2  # each sampler's flow is its own cache entry


def test_uniform_flow_spans_stride_frames_not_the_gap_between_samples(tmp_path):
    rgb, true_flow = moving_square(num_frames=40, size=64, velocity=(1, 0), side=16, seed=0)
    (tmp_path / "v" / "a").mkdir(parents=True)
    write_video(tmp_path / "v" / "a" / "m.mp4", rgb, fps=8, quality=12)
    ds = VideoFolder(tmp_path / "v", num_frames=4, stride=2, size=64, sampler="uniform", cache_dir=tmp_path / "c")
    idx = ds.clip_indices(0)
    assert idx.tolist() == [0, 12, 24, 37]
    item = ds[0]
    inside = true_flow[idx, 0] != 0
    assert abs(np.median(item["flow"][:, 0][inside]) - 2.0) < 0.5  # 1 px a frame over stride 2, not over ~12
    nearest = [int(np.abs(rgb.astype(int) - f.astype(int)).mean(axis=(1, 2, 3)).argmin()) for f in item["rgb"]]
    assert nearest == idx.tolist()  # the clip is the sampled frames, not their flow partners


def test_cache_key_names_the_sampler_and_the_random_seed(counted):
    keys = {VideoFolder(counted, num_frames=5, size=32, flow=None, **kw).cache_key
            for kw in ({"sampler": "start"}, {"sampler": "centre"}, {"sampler": "uniform"},
                       {"sampler": "random", "seed": 0}, {"sampler": "random", "seed": 1})}
    assert len(keys) == 5
    assert (VideoFolder(counted, num_frames=5, size=32, flow=None, sampler="center").cache_key
            == VideoFolder(counted, num_frames=5, size=32, flow=None).cache_key)


def test_uniform_needs_only_distinct_frames(tmp_path):
    (tmp_path / "a").mkdir()
    write_video(tmp_path / "a" / "short.mp4", numbered(10), fps=8, quality=0)
    with pytest.warns(UserWarning, match=r"skipped 1 of 1.*has 10 frames, needs 15"):
        with pytest.raises(ValueError, match="none of the 1 videos"):
            VideoFolder(tmp_path, num_frames=8, stride=2, size=32, flow=None, sampler="start")
    ds = VideoFolder(tmp_path, num_frames=8, stride=2, size=32, flow=None, sampler="uniform")
    assert frame_numbers(ds[0]["rgb"]) == [0, 1, 2, 3, 5, 6, 7, 9]


def test_bad_sampler_and_seed_are_refused_by_name(counted):
    for kwargs, message in [({"sampler": "middle"}, r"sampler must be 'centre' \(or 'center'\), 'start', 'uniform' "
                                                    r"or 'random', got 'middle'"),
                            ({"sampler": None}, "sampler must be .* got None"),
                            ({"sampler": "random", "seed": -1}, "seed must be an integer ≥ 0"),
                            ({"sampler": "random", "seed": 1.5}, "seed must be an integer")]:
        with pytest.raises(ValueError, match=message):
            VideoFolder(counted, flow=None, check=False, **kwargs)
