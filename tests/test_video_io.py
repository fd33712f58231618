"""Video files really encoded with ffmpeg and decoded back."""

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
