"""A clip with non-square pixels (sample aspect ratio 128:117, as PAL-derived video has) is framed by its display
aspect: a disc drawn round on screen comes out round, and fitting uses 1.337, not the storage 1.222."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import imageio_ffmpeg
import numpy as np
import pytest

from vidvis_widgets.data import VideoFolder
from vidvis_widgets.io import read_video, video_info, write_video

W, H, SAR = 176, 144, Fraction(128, 117)  # stored 1.222, shown 176·128/117 / 144 = 1.337
RADIUS = 40  # display pixels


def anamorphic_disc(frames: int = 6) -> np.ndarray:
    """A grey frame with a white disc that is round once each pixel is shown SAR times as wide as tall."""
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    inside = ((xx - W / 2) * float(SAR)) ** 2 + (yy - H / 2) ** 2 <= RADIUS ** 2
    frame = np.full((H, W, 3), 90, np.uint8)
    frame[inside] = 235
    return np.broadcast_to(frame, (frames, H, W, 3)).copy()


def disc_aspect(frame: np.ndarray) -> float:
    """Width over height of the bright disc."""
    mask = frame.astype(float).mean(-1) > 160
    return mask.any(0).sum() / mask.any(1).sum()


def content_box(frame: np.ndarray) -> tuple[int, int]:
    """(height, width) of the part of a letterboxed frame that is not black bars."""
    mask = frame.astype(float).mean(-1) > 40
    return int(mask.any(1).sum()), int(mask.any(0).sum())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("sar")
    (root / "discs").mkdir()
    video = anamorphic_disc()  # (setsar's default max=100 would store 128/117 as 93:85)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{W}x{H}", "-r", "8", "-i", "-", "-vf", f"setsar=sar={SAR.numerator}/{SAR.denominator}:max=1000",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", str(root / "discs" / "pal.mp4")]
    subprocess.run(cmd, input=video.tobytes(), check=True)
    return root


def test_video_info_reads_the_sample_aspect_ratio(folder, tmp_path):
    info = video_info(folder / "discs" / "pal.mp4")
    assert (info.width, info.height, info.sar) == (W, H, SAR)
    assert info.display_aspect == pytest.approx(1.337, abs=1e-3) and W / H == pytest.approx(1.222, abs=1e-3)
    square = write_video(tmp_path / "square.mp4", np.zeros((2, 16, 24, 3), np.uint8), fps=8)
    assert video_info(square).sar == 1 and video_info(square).display_aspect == 1.5


def test_read_video_gives_square_pixels(folder):
    path = folder / "discs" / "pal.mp4"
    clip = read_video(path)
    assert clip.shape == (6, H, 193, 3)  # 176 × 128/117 = 192.5 display pixels wide
    assert disc_aspect(clip[0]) == pytest.approx(1.0, abs=0.04)
    assert read_video(path, size=72).shape == (6, 72, 96, 3)  # the shorter side of the display frame
    stored = read_video(path, square_pixels=False)
    assert stored.shape == (6, H, W, 3) and disc_aspect(stored[0]) == pytest.approx(117 / 128, abs=0.04)


def test_video_folder_frames_by_the_display_aspect(folder):
    box = VideoFolder(folder, num_frames=4, size=128, fit="letterbox", flow=None)[0]["rgb"][0]
    h, w = content_box(box)
    assert w == 128 and w / h == pytest.approx(1.337, abs=0.02)  # 96 rows; the storage aspect would give 105
    assert disc_aspect(box) == pytest.approx(1.0, abs=0.05)
    crop = VideoFolder(folder, num_frames=4, size=(96, 96), flow=None)[0]["rgb"][0]
    assert disc_aspect(crop) == pytest.approx(1.0, abs=0.05)
    wide = VideoFolder(folder, num_frames=4, size=(72, 128), flow=None, check=False)[0]["rgb"][0]
    assert disc_aspect(wide) == pytest.approx(1.0, abs=0.05)
