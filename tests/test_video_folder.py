"""VideoFolder: real files, real optical-flow estimators, a disk cache, skipped files."""

import numpy as np
import pytest

from vidvis_widgets.data import VideoFolder
from vidvis_widgets.io import write_video
from vidvis_widgets.media.samples import moving_square


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "videos"
    for name, velocity in (("right", (2, 0)), ("down", (0, 2))):
        (root / name).mkdir(parents=True)
        for k in range(2):
            rgb, _ = moving_square(num_frames=12, size=64, velocity=velocity, side=16, seed=k)
            write_video(root / name / f"clip{k}.mp4", rgb, fps=8, quality=12)
    return root


@pytest.mark.parametrize("method", ["dis", "tvl1"])
def test_estimated_flow_recovers_known_motion(folder, tmp_path, method):
    ds = VideoFolder(folder, num_frames=8, size=64, flow=method, cache_dir=tmp_path / "cache")
    assert ds.classes == ["down", "right"] and len(ds) == 4
    item = ds[2]  # right
    assert item["rgb"].shape == (8, 64, 64, 3) and item["flow"].shape == (8, 2, 64, 64)
    rgb, _ = moving_square(num_frames=12, size=64, velocity=(2, 0), side=16, seed=0)
    _, true_flow = moving_square(num_frames=12, size=64, velocity=(2, 0), side=16)
    inside = true_flow[:8, 0] != 0
    u, v = item["flow"][:, 0][inside], item["flow"][:, 1][inside]
    assert abs(np.median(u) - 2.0) < 0.5 and abs(np.median(v)) < 0.5


def test_flow_is_cached_once(folder, tmp_path, monkeypatch):
    import vidvis_widgets.data.video_folder as vf

    calls = []
    real = vf.estimate_flow
    monkeypatch.setattr(vf, "estimate_flow", lambda f, m: calls.append(1) or real(f, m))
    ds = VideoFolder(folder, num_frames=4, size=32, cache_dir=tmp_path / "cache")
    first = ds[0]["flow"]
    again = VideoFolder(folder, num_frames=4, size=32, cache_dir=tmp_path / "cache")[0]["flow"]
    np.testing.assert_array_equal(first, again)
    assert len(calls) == 1 and len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert not list((tmp_path / "cache").glob(".*partial*"))  # no temporary file left behind


def test_unreadable_and_short_files_are_named_and_skipped(folder, tmp_path):
    (folder / "right" / "broken.mp4").write_bytes(b"garbage" * 50)
    (folder / "down" / "empty.avi").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"skipped 2 of 6 videos .*broken.mp4.*empty.avi|skipped 2 of 6 videos .*empty.avi.*broken.mp4"):
        ds = VideoFolder(folder, num_frames=4, size=32, cache_dir=tmp_path / "c")
    assert len(ds) == 4 and len(ds.skipped) == 2


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VideoFolder(tmp_path / "nope")
    (tmp_path / "empty" / "some_class").mkdir(parents=True)
    with pytest.raises(ValueError, match="no videos in .*expected class sub-folders"):
        VideoFolder(tmp_path / "empty")


def test_every_constructor_argument_is_checked_at_construction(folder, tmp_path):
    cases = [({"num_frames": 0}, "num_frames must be an integer ≥ 1"), ({"num_frames": "16"}, "num_frames must be"),
             ({"stride": 0}, "stride must be an integer ≥ 1"), ({"stride": 1.5}, "stride must be"),
             ({"size": 0}, "size must be a positive integer"), ({"size": (64, "64")}, "size must be"),
             ({"flow": "farneback"}, "unknown flow method 'farneback'"), ({"flow": 3}, "unknown flow method 3"),
             ({"cache_dir": 5}, "cache_dir must be a folder path"), ({"check": "no"}, "check must be True or False")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            VideoFolder(folder, **kwargs)
    with pytest.raises(ValueError, match="root must be a folder path"):
        VideoFolder(None)
    # check=False skips reading the files, so a bad setting used to surface only at ds[0]
    with pytest.raises(ValueError, match="num_frames must be"):
        VideoFolder(folder, num_frames=0, check=False)


def test_flow_cache_follows_vidvis_cache_dir(folder, tmp_path, monkeypatch):
    from vidvis_widgets.store import default_root

    monkeypatch.setenv("VIDVIS_CACHE_DIR", str(tmp_path / "cache-root"))
    monkeypatch.setenv("VIDVIS_CACHE", str(tmp_path / "old-variable"))  # no longer read
    ds = VideoFolder(folder, num_frames=4, size=32)
    assert ds.cache_dir == tmp_path / "cache-root" / "flow"
    ds[0]
    assert len(list((tmp_path / "cache-root" / "flow").glob("*.npy"))) == 1
    assert not (tmp_path / "old-variable").exists()
    assert default_root() == tmp_path / "cache-root"  # one variable for the store and the flow cache
