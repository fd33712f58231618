"""Reading and writing video files with the ffmpeg that imageio-ffmpeg ships.

torchvision no longer decodes video, and this ffmpeg carries libx264 and VP9,
so every machine reads and writes the same formats.
"""

from __future__ import annotations

import math
import numbers
import re
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Sequence

import imageio_ffmpeg
import numpy as np
from PIL import Image

from ._atomic import atomic_path, check_target
from ._memory import check_fits
from .checks import number
from .media.clips import as_clip_list
from .media.flow import FlowMode
from .media.grid import tile_clips

VIDEO_SUFFIXES = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".gif")
WRITE_SUFFIXES = (".mp4", ".webm", ".gif")
#: encoder, highest CRF it takes, and its other output options, per written suffix
ENCODERS = {
    ".mp4": ("libx264", 51, ["-preset", "medium", "-movflags", "+faststart"]),
    # cpu-used 5 encodes in half the time of libvpx's default (0.05 s vs 0.10 s for 10 frames of 64², a file 0.5%
    # smaller); bitexact: the same frames give the same bytes (the muxer's track UIDs are otherwise random)
    ".webm": ("libvpx-vp9", 63, ["-b:v", "0", "-row-mt", "1", "-deadline", "good", "-cpu-used", "5",
                                 "-fflags", "+bitexact", "-flags", "+bitexact"]),
}
#: GIF frame delays are whole hundredths of a second, at most 65535; browsers play delays under 2 (above
#: 50 fps) at 10 fps, so the frame rates a GIF can carry are these
GIF_FPS_RANGE = (100 / 65535, 50.0)


class VideoReadError(ValueError):
    """A video file that is missing, empty or cannot be decoded."""


class VideoWriteError(RuntimeError):
    """ffmpeg failed to encode a video; the message carries ffmpeg's own, and the file at the path is unchanged."""


def check_size(size, name: str = "size") -> int | tuple[int, int]:
    """``size`` as a positive int (the shorter side) or an (height, width) pair of positive ints, or a
    ValueError naming ``name``."""
    def positive_int(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1

    if positive_int(size):
        return int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2 and all(positive_int(v) for v in size):
        return int(size[0]), int(size[1])
    raise ValueError(f"{name} must be a positive integer (the shorter side) or a (height, width) pair of positive "
                     f"integers, got {size!r}")


@dataclass(frozen=True)
class VideoInfo:
    """``width`` × ``height`` are the stored pixels; ``sar`` the sample (pixel) aspect ratio, so a frame is shown
    ``display_width`` = width × sar wide (1 for square pixels, and where the file does not say)."""
    path: Path
    num_frames: int
    fps: float
    width: int
    height: int
    sar: Fraction = Fraction(1)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0

    @property
    def display_width(self) -> float:
        return self.width * float(self.sar)

    @property
    def display_aspect(self) -> float:
        """Width over height as the frame is shown (storage aspect × sar)."""
        return self.display_width / self.height


_SAR = re.compile(r"\bSAR (\d+):(\d+)")


def sample_aspect_ratio(path: str | Path) -> Fraction:
    """A video's sample (pixel) aspect ratio, from its first video stream as ffmpeg reports it; 1 for square
    pixels, or where the file does not say (ffmpeg's SAR 0:1)."""
    p = _check_file(path)
    try:
        said = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(p)],
                              capture_output=True, timeout=60).stderr.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired) as err:
        raise VideoReadError(f"{p}: cannot read its stream header ({err})") from None
    for line in said.splitlines():
        if line.lstrip().startswith("Stream ") and " Video: " in line:
            m = _SAR.search(line)
            num, den = (int(m[1]), int(m[2])) if m else (0, 1)
            return Fraction(num, den) if num > 0 and den > 0 else Fraction(1)
    return Fraction(1)


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise VideoReadError(f"{p}: no such video file")
    if not p.is_file():
        raise VideoReadError(f"{p}: is not a file")
    if p.stat().st_size == 0:
        raise VideoReadError(f"{p}: the file is empty (0 bytes)")
    return p


def _open(p: Path):
    """A frame generator and its metadata; ffmpeg's complaint becomes a VideoReadError naming the file."""
    gen = imageio_ffmpeg.read_frames(str(p), pix_fmt="rgb24")
    try:
        meta = next(gen)
    except (RuntimeError, OSError, StopIteration) as err:
        gen.close()
        detail = str(err).strip().splitlines()
        raise VideoReadError(f"{p}: cannot decode as video ({detail[-1] if detail else 'no output from ffmpeg'})") from None
    return gen, meta


def video_info(path: str | Path) -> VideoInfo:
    """Frame count (decoded, exact), frame rate and size of a video file."""
    p = _check_file(path)
    gen, meta = _open(p)
    gen.close()
    try:
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(p))
    except (RuntimeError, OSError) as err:
        raise VideoReadError(f"{p}: cannot count frames ({err})") from None
    w, h = meta["size"]
    return VideoInfo(p, int(frames), float(meta.get("fps") or 0.0), int(w), int(h), sample_aspect_ratio(p))


def read_video(
    path: str | Path,
    num_frames: int | None = None,
    stride: int = 1,
    size: int | tuple[int, int] | None = None,
    start: int = 0,
    *,
    square_pixels: bool = True,
) -> np.ndarray:
    """Decodes frames ``start, start + stride, …`` of a video (mp4, avi, webm, …) to T×H×W×3 uint8.

    ``num_frames``: how many to take (all remaining when None). ``size``: (height, width) to resize to,
    or an int for the shorter side (aspect kept), with antialiased bilinear resampling. With ``square_pixels``
    (the default) a video whose pixels are not square (a sample aspect ratio other than 1:1, e.g. 128:117) comes
    out at its display aspect: its width is scaled by the ratio (``size=None``), or the int ``size`` is the
    shorter side of the frame as displayed. An explicit (height, width) is taken as given.
    """
    p = _check_file(path)
    if num_frames is not None:
        num_frames = number("num_frames", num_frames, integer=True, low=1)
    stride = number("stride", stride, integer=True, low=1)
    start = number("start", start, integer=True, low=0)
    size = check_size(size) if size is not None else None
    if not isinstance(square_pixels, (bool, np.bool_)):
        raise ValueError(f"square_pixels must be True or False, got {square_pixels!r}")
    sar = sample_aspect_ratio(p) if square_pixels and not isinstance(size, tuple) else Fraction(1)
    gen, meta = _open(p)
    frames: list[np.ndarray] = []
    index = -1
    try:
        w, h = meta["size"]
        out_hw = _out_size(h, w, size, sar)
        _check_read_fits(p, meta, num_frames, stride, start, out_hw)
        for index, frame in _decoded(p, gen, meta):
            if index >= start and (index - start) % stride == 0:
                frames.append(frame)
                if num_frames is not None and len(frames) == num_frames:
                    break
    finally:
        gen.close()
    if not frames:
        raise VideoReadError(f"{p}: no frames decoded from frame {start} on (the video has {index + 1} frames)")
    if num_frames is not None and len(frames) < num_frames:
        need = start + (num_frames - 1) * stride + 1
        raise VideoReadError(
            f"{p}: has {index + 1} frames, but {num_frames} frames with stride {stride} from frame {start} need {need}"
        )
    return _resize(np.stack(frames), out_hw)


def read_frames(path: str | Path, indices: Sequence[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames ``indices`` (any order, repeats allowed) of a video as len(indices)×H×W×3 uint8, decoded in one pass
    up to the last one asked for; ``size`` (height, width) resizes them (antialiased bilinear), for example to
    the display geometry :func:`video_info` gives."""
    p = _check_file(path)
    if isinstance(indices, (str, bytes)) or not hasattr(indices, "__len__") or len(indices) == 0 or not all(
            isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 0 for i in indices):
        raise ValueError(f"indices must be a non-empty list of frame numbers (integers ≥ 0), got {indices!r}")
    size = check_size(size) if size is not None else None
    if isinstance(size, int):
        raise ValueError(f"size must be a (height, width) pair of positive integers or None, got {size!r}")
    wanted = {int(i) for i in indices}
    last = max(wanted)
    gen, meta = _open(p)
    got: dict[int, np.ndarray] = {}
    index = -1
    try:
        w, h = meta["size"]
        out_hw = size or (h, w)
        _check_read_fits(p, meta, len(indices), 1, 0, out_hw)
        for index, frame in _decoded(p, gen, meta):
            if index in wanted:
                got[index] = frame
            if index == last:
                break
    finally:
        gen.close()
    if last not in got:
        raise VideoReadError(f"{p}: has {index + 1} frames, but frame {last} was asked for")
    keys = sorted(got)
    clip = _resize(np.stack([got[k] for k in keys]), out_hw)
    return clip[[keys.index(int(i)) for i in indices]]


def _decoded(p: Path, gen, meta: dict) -> Iterator[tuple[int, np.ndarray]]:
    """(index, H×W×3 frame) from an opened video; a truncated frame or ffmpeg's failure is a VideoReadError."""
    w, h = meta["size"]
    frame_bytes = w * h * 3
    index = -1
    try:
        for index, raw in enumerate(gen):
            if len(raw) != frame_bytes:
                raise VideoReadError(f"{p}: frame {index} is truncated ({len(raw)} of {frame_bytes} bytes)")
            yield index, np.frombuffer(raw, np.uint8).reshape(h, w, 3)
    except RuntimeError as err:
        raise VideoReadError(f"{p}: decoding failed after {index + 1} frames ({err})") from None


def _out_size(h: int, w: int, size: int | tuple[int, int] | None, sar: Fraction = Fraction(1)) -> tuple[int, int]:
    """(height, width) a read comes out at: ``size`` as given, or the display frame (width × sar) with ``size``
    its shorter side, or at its own height (``size=None``)."""
    if isinstance(size, tuple):
        return size
    dw = w * float(sar)
    if size is None:
        return h, max(1, round(dw))
    scale = size / min(h, dw)
    return max(1, round(h * scale)), max(1, round(dw * scale))


def _check_read_fits(p: Path, meta: dict, num_frames: int | None, stride: int, start: int,
                     out_hw: tuple[int, int]) -> None:
    """Refuses, before decoding, a read whose frames (decoded, stacked, and resized through float32) cannot fit."""
    w, h = meta["size"]
    if num_frames is None:  # every remaining frame: the count from the container's duration, an estimate
        total = math.ceil(float(meta.get("duration") or 0) * float(meta.get("fps") or 0))
        num_frames = max(1, math.ceil((total - start) / stride))
    out_h, out_w = out_hw
    need = num_frames * 3 * (2 * h * w)  # the decoded frames and their stack
    if (out_h, out_w) != (h, w):  # _resize: float32 input and output, uint8 result
        need += num_frames * 3 * (4 * h * w + 5 * out_h * out_w)
    check_fits(f"read_video({p.name!r}) of {num_frames} frame{'s' * (num_frames != 1)} at {out_h}×{out_w}", need,
               hint="Ask for fewer frames (num_frames, stride) or a smaller size.")


def _resize(clip: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    h, w = clip.shape[1:3]
    out_hw = tuple(out_hw)
    if out_hw == (h, w):
        return clip
    t = torch.from_numpy(clip).permute(0, 3, 1, 2).float()
    t = F.interpolate(t, size=out_hw, mode="bilinear", antialias=True, align_corners=False)
    return t.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # in place: one float copy


def write_video(
    path: str | Path,
    clip_or_grid: Any,
    fps: float = 10.0,
    *,
    rows: int | None = None,
    cols: int | None = None,
    flow_mode: FlowMode = "paper",
    rescale: bool = False,
    quality: int = 18,
) -> Path:
    """Writes a clip, or clips tiled on a grid, as H.264 MP4 (yuv420p, plays in browsers), VP9 WebM or GIF.

    Accepts every form :class:`vidvis_widgets.ClipPlayer` accepts; ``quality`` is the x264/VP9 CRF, an
    integer (0–51 for MP4, 0–63 for WebM; lower is better; 18 is visually lossless). A GIF stores frame
    delays in hundredths of a second, so it plays at 100 / round(100 / fps) fps, and takes fps from 100/65535
    to 50. The file is replaced only once ffmpeg has finished without error; if it fails,
    :class:`VideoWriteError` carries ffmpeg's message and the file at ``path`` is unchanged.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"{p}: cannot write {suffix or 'files without a suffix'}; expected one of {', '.join(WRITE_SUFFIXES)}")
    check_target(p, "path")  # a folder there, or a file above it: refused before any encoding
    if not p.parent.is_dir():
        raise FileNotFoundError(f"{p}: the folder {p.parent} does not exist")
    fps = number("fps", fps, low=0, strict=True)
    if suffix == ".gif" and not GIF_FPS_RANGE[0] <= fps <= GIF_FPS_RANGE[1]:
        raise ValueError(f"fps for a GIF must lie from {GIF_FPS_RANGE[0]:.6f} (100/65535) to {GIF_FPS_RANGE[1]:g}, "
                         f"got {fps:g}: GIF frame delays are whole hundredths of a second up to 65535, and browsers "
                         "play delays under 2 hundredths at 10 fps; write .mp4 or .webm for faster clips")
    codec, top, _ = ENCODERS.get(suffix, ("not used by GIF", 63, None))
    if not (isinstance(quality, numbers.Integral) and not isinstance(quality, bool) and 0 <= quality <= top):
        raise ValueError(f"quality must be an integer CRF from 0 to {top} for {suffix} ({codec}; lower is better, "
                         f"18 is visually lossless), got {quality!r}")
    clips = as_clip_list(clip_or_grid, flow_mode=flow_mode, rescale=rescale)
    video = tile_clips(clips, rows, cols) if len(clips) > 1 else clips[0].frames
    with atomic_path(p) as tmp:
        if suffix == ".gif":
            _write_gif(tmp, video, fps)
        else:
            _write_ffmpeg(tmp, video, fps, suffix, quality, p)
    return p


def _write_gif(path: Path, video: np.ndarray, fps: float) -> None:
    images = [Image.fromarray(f) for f in video]
    # Pillow stores duration // 10 hundredths: give it whole hundredths, the nearest to 1 / fps
    centis = round(100 / fps)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=10 * centis, loop=0)


def _write_ffmpeg(path: Path, video: np.ndarray, fps: float, suffix: str, crf: int, target: Path) -> None:
    """Encodes to ``path`` with ffmpeg, its errors captured: a non-zero exit status or an empty file raises
    :class:`VideoWriteError` naming ``target``, with ffmpeg's message (inside ``atomic_path``: nothing is replaced)."""
    from fractions import Fraction

    t, h, w, _ = video.shape
    # yuv420p needs even sizes; pad by repeating the edge rather than resizing, so pixels stay put
    video = np.pad(video, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    codec, _, params = ENCODERS[suffix]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo",
           "-s", f"{w + w % 2}x{h + h % 2}", "-pix_fmt", "rgb24", "-r", str(Fraction(fps).limit_denominator()),
           "-i", "-", "-an", "-vcodec", codec, "-pix_fmt", "yuv420p", "-crf", str(crf), *params,
           "-v", "error", str(path)]
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: ffmpeg can never block on a full stderr
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        try:
            try:
                for frame in video:
                    proc.stdin.write(np.ascontiguousarray(frame).data)
            except BrokenPipeError:
                pass  # ffmpeg stopped reading: its exit status and message say why
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            status = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted: stop ffmpeg, the temporary file is removed
                proc.kill()
                proc.wait()
        log.seek(0)
        message = log.read().decode(errors="replace").strip()
    problem = f"exit status {status}" if status else ("no output" if path.stat().st_size == 0 else "")
    if problem:
        lines = message.splitlines()
        said = "\n".join(lines[-12:]) if lines else "(ffmpeg printed nothing)"
        raise VideoWriteError(f"{target}: ffmpeg failed to encode {t} frames of {w}×{h} with {codec} ({problem}); "
                              f"the file already there is unchanged. ffmpeg said:\n{said}")
