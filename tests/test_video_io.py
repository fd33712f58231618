"""Video files really encoded with ffmpeg and decoded back."""

import re

import numpy as np
import pytest

from vidvis_widgets import io as vio
from vidvis_widgets.media.samples import moving_square

RGB, FLOW = moving_square(num_frames=24, size=64, velocity=(2, 1))


@pytest.mark.parametrize("suffix, max_mean_error", [(".mp4", 2.5), (".webm", 2.5), (".gif", 1.0)])
def test_write_read_round_trip(tmp_path, suffix, max_mean_error):
    path = vio.write_video(tmp_path / f"clip{suffix}", RGB, fps=12)
    back = vio.read_video(path)
    assert back.shape == RGB.shape and back.dtype == np.uint8
    assert np.abs(back.astype(float) - RGB).mean() < max_mean_error
    info = vio.video_info(path)
    assert (info.num_frames, info.width, info.height) == (24, 64, 64)
    if suffix != ".gif":  # GIF stores delays in centiseconds
        assert info.fps == pytest.approx(12)


def test_webm_of_the_same_frames_is_the_same_bytes(tmp_path):
    """An exported atlas (its media are WebM) is reproducible: before, each encode drew new track UIDs."""
    a = vio.write_video(tmp_path / "a.webm", RGB, fps=8).read_bytes()
    b = vio.write_video(tmp_path / "b.webm", RGB, fps=8).read_bytes()
    assert a == b and len(a) > 1000
    assert vio.write_video(tmp_path / "c.webm", RGB[::-1], fps=8).read_bytes() != a


def test_mp4_is_browser_playable_h264_yuv420p(tmp_path):
    import subprocess

    import imageio_ffmpeg

    path = vio.write_video(tmp_path / "odd.mp4", RGB[:, :63, :61], fps=8)
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                           capture_output=True, text=True).stderr
    assert "h264" in probe and "yuv420p" in probe
    assert vio.read_video(path).shape == (24, 64, 62, 3)  # padded to even sizes


def test_sampling_and_resizing(tmp_path):
    path = vio.write_video(tmp_path / "c.mp4", RGB, fps=8)
    clip = vio.read_video(path, num_frames=5, stride=3, start=2, size=(32, 48))
    assert clip.shape == (5, 32, 48, 3)
    full = vio.read_video(path)
    # frame k of the sample is frame 2 + 3k of the video: compare a downsampled frame
    sampled = vio.read_video(path, num_frames=5, stride=3, start=2)
    np.testing.assert_array_equal(sampled, full[2:15:3])
    assert vio.read_video(path, size=32).shape == (24, 32, 32, 3)


def test_grid_of_clips_and_flow(tmp_path):
    path = vio.write_video(tmp_path / "grid.mp4", [RGB, FLOW, RGB, FLOW], rows=2, cols=2, fps=8)
    assert vio.read_video(path).shape == (24, 64 * 2 + 2, 64 * 2 + 2, 3)


def test_missing_empty_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(vio.VideoReadError, match="nope.mp4: no such video file"):
        vio.read_video(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(vio.VideoReadError, match="empty.mp4: the file is empty"):
        vio.read_video(tmp_path / "empty.mp4")
    (tmp_path / "junk.avi").write_bytes(b"this is not a video" * 100)
    with pytest.raises(vio.VideoReadError, match="junk.avi: cannot decode as video"):
        vio.read_video(tmp_path / "junk.avi")


def test_truncated_file_and_too_few_frames(tmp_path):
    path = vio.write_video(tmp_path / "c.mp4", RGB, fps=8)
    with pytest.raises(vio.VideoReadError, match="has 24 frames, but 16 frames with stride 2 from frame 0 need 31"):
        vio.read_video(path, num_frames=16, stride=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(vio.VideoReadError, match="cut.mp4"):
        vio.read_video(cut)


def test_write_errors(tmp_path):
    with pytest.raises(ValueError, match="expected one of .mp4, .webm, .gif"):
        vio.write_video(tmp_path / "c.avi", RGB)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        vio.write_video(tmp_path / "no" / "c.mp4", RGB)


@pytest.mark.parametrize("suffix, top", [(".mp4", 51), (".webm", 63)])
def test_quality_is_an_integer_crf_in_the_codec_range(tmp_path, suffix, top):
    good = vio.write_video(tmp_path / f"good{suffix}", RGB[:4], fps=8)
    before = good.read_bytes()
    for bad in ("best", "high", top + 1, -1, 18.5, True, None):
        with pytest.raises(ValueError, match=rf"quality must be an integer CRF from 0 to {top} for {suffix}.*got {bad!r}"):
            vio.write_video(good, RGB[:4], fps=8, quality=bad)
    assert good.read_bytes() == before
    assert vio.read_video(vio.write_video(tmp_path / f"top{suffix}", RGB[:4], fps=8, quality=top)).shape == (4, 64, 64, 3)


@pytest.mark.parametrize("suffix, width, ffmpeg_says", [(".mp4", 20000, "invalid width x height"),
                                                         (".webm", 70000, "g_w out of range")])
def test_failed_encode_raises_ffmpegs_message_and_keeps_the_old_file(tmp_path, suffix, width, ffmpeg_says):
    """Frames wider than the encoder takes pass every argument check and fail inside ffmpeg for real."""
    good = vio.write_video(tmp_path / f"good{suffix}", RGB[:4], fps=8)
    before = good.read_bytes()
    wide = np.zeros((2, 2, width, 3), np.uint8)
    with pytest.raises(vio.VideoWriteError, match=rf"(?s)good{suffix}: ffmpeg failed.*exit status.*unchanged.*{ffmpeg_says}") as err:
        vio.write_video(good, wide, fps=8)
    assert "unchanged" in str(err.value)
    assert good.read_bytes() == before and len(before) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"good{suffix}"]  # no partial file left


def test_gif_frame_rate_must_be_representable(tmp_path):
    from PIL import Image

    for fps in (1e9, 51, 100, 0.0015):
        with pytest.raises(ValueError, match=r"fps for a GIF must lie from 0\.0015\d* \(100/65535\) to 50, got"):
            vio.write_video(tmp_path / "a.gif", RGB[:3], fps=fps)
    for fps in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"fps must be a finite number > 0"):
            vio.write_video(tmp_path / "a.gif", RGB[:3], fps=fps)
    assert not list(tmp_path.iterdir())
    # the delay is stored in whole hundredths of a second: 50 fps → 2, 12 fps → 8 (12.5 fps), 100/65535 fps → 65535
    for fps, centis in ((50, 2), (12, 8), (100 / 65535, 65535)):
        path = vio.write_video(tmp_path / f"{fps:.4f}.gif", RGB[:3], fps=fps)
        with Image.open(path) as im:
            assert im.info["duration"] == centis * 10


@pytest.mark.parametrize("fps", ["ten", None, True, [10]])
def test_fps_must_be_a_number(tmp_path, fps):
    for suffix in (".mp4", ".gif"):
        with pytest.raises(ValueError, match=rf"fps must be a finite number > 0.*got {re.escape(repr(fps))}"):
            vio.write_video(tmp_path / f"a{suffix}", RGB[:3], fps=fps)


def test_read_arguments_are_checked_by_name(tmp_path):
    path = vio.write_video(tmp_path / "c.mp4", RGB[:6], fps=8)
    for kwargs, name in (({"num_frames": "16"}, "num_frames"), ({"num_frames": 0}, "num_frames"),
                         ({"num_frames": 2.0}, "num_frames"), ({"stride": 0}, "stride"), ({"stride": "2"}, "stride"),
                         ({"start": -1}, "start"), ({"start": 1.5}, "start"), ({"num_frames": True}, "num_frames")):
        with pytest.raises(ValueError, match=rf"{name} must be an integer"):
            vio.read_video(path, **kwargs)
    for size in (0, -3, (0, 32), (32, -1), (1e5, 1e5), "64", (32,), (32, 32, 3), True, 32.0):
        with pytest.raises(ValueError, match=r"size must be a positive integer .*or a \(height, width\) pair"):
            vio.read_video(path, size=size)
    assert vio.read_video(path, size=[16, 24]).shape == (6, 16, 24, 3)
    assert vio.read_video(path, size=np.int64(8)).shape == (6, 8, 8, 3)


def test_size_that_cannot_fit_is_refused_before_decoding(tmp_path):
    from vidvis_widgets._memory import InsufficientMemory

    path = vio.write_video(tmp_path / "c.mp4", RGB, fps=8)
    with pytest.raises(InsufficientMemory, match=r"read_video.*100000×100000.*needs about [\d.]+ TB .*available"):
        vio.read_video(path, size=(100_000, 100_000))
    with pytest.raises(InsufficientMemory, match="needs about"):
        vio.read_video(path, num_frames=2, size=10**6)  # the shorter side: the frames are 10⁶×10⁶
