"""Reading and writing video files with the ffmpeg that imageio-ffmpeg ships.

torchvision no longer decodes video, and this ffmpeg carries libx264 and VP9,
so every machine reads and writes the same formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import imageio_ffmpeg
import numpy as np
from PIL import Image

from ._atomic import atomic_path
from .media.clips import as_clip_list
from .media.flow import FlowMode
from .media.grid import tile_clips

VIDEO_SUFFIXES = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".gif")
WRITE_SUFFIXES = (".mp4", ".webm", ".gif")


class VideoReadError(ValueError):
    """A video file that is missing, empty or cannot be decoded."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    num_frames: int
    fps: float
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0


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
    return VideoInfo(p, int(frames), float(meta.get("fps") or 0.0), int(w), int(h))


def read_video(
    path: str | Path,
    num_frames: int | None = None,
    stride: int = 1,
    size: int | tuple[int, int] | None = None,
    start: int = 0,
) -> np.ndarray:
    """Decodes frames ``start, start + stride, …`` of a video (mp4, avi, webm, …) to T×H×W×3 uint8.

    ``num_frames``: how many to take (all remaining when None). ``size``: (height, width) to resize to,
    or an int for the shorter side (aspect kept), with antialiased bilinear resampling.
    """
    p = _check_file(path)
    if stride < 1 or start < 0 or (num_frames is not None and num_frames < 1):
        raise ValueError(f"{p}: need stride ≥ 1, start ≥ 0 and num_frames ≥ 1; got stride={stride}, "
                         f"start={start}, num_frames={num_frames}")
    gen, meta = _open(p)
    w, h = meta["size"]
    frame_bytes = w * h * 3
    frames: list[np.ndarray] = []
    index = -1
    try:
        for index, raw in enumerate(gen):
            if len(raw) != frame_bytes:
                raise VideoReadError(f"{p}: frame {index} is truncated ({len(raw)} of {frame_bytes} bytes)")
            if index >= start and (index - start) % stride == 0:
                frames.append(np.frombuffer(raw, np.uint8).reshape(h, w, 3))
                if num_frames is not None and len(frames) == num_frames:
                    break
    except RuntimeError as err:
        raise VideoReadError(f"{p}: decoding failed after {index + 1} frames ({err})") from None
    finally:
        gen.close()
    if not frames:
        raise VideoReadError(f"{p}: no frames decoded from frame {start} on (the video has {index + 1} frames)")
    if num_frames is not None and len(frames) < num_frames:
        need = start + (num_frames - 1) * stride + 1
        raise VideoReadError(
            f"{p}: has {index + 1} frames, but {num_frames} frames with stride {stride} from frame {start} need {need}"
        )
    clip = np.stack(frames)
    return _resize(clip, size) if size is not None else clip


def _resize(clip: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    h, w = clip.shape[1:3]
    if isinstance(size, int):
        scale = size / min(h, w)
        out_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
    else:
        out_hw = (int(size[0]), int(size[1]))
    if out_hw == (h, w):
        return clip
    t = torch.from_numpy(clip).permute(0, 3, 1, 2).float()
    t = F.interpolate(t, size=out_hw, mode="bilinear", antialias=True, align_corners=False)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


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

    Accepts every form :class:`vidvis_widgets.ClipPlayer` accepts; ``quality`` is the x264/VP9 CRF
    (lower is better; 18 is visually lossless).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"{p}: cannot write {suffix or 'files without a suffix'}; expected one of {', '.join(WRITE_SUFFIXES)}")
    if not p.parent.is_dir():
        raise FileNotFoundError(f"{p}: the folder {p.parent} does not exist")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    clips = as_clip_list(clip_or_grid, flow_mode=flow_mode, rescale=rescale)
    video = tile_clips(clips, rows, cols) if len(clips) > 1 else clips[0].frames
    with atomic_path(p) as tmp:
        if suffix == ".gif":
            _write_gif(tmp, video, fps)
        else:
            _write_ffmpeg(tmp, video, fps, suffix, quality)
    return p


def _write_gif(path: Path, video: np.ndarray, fps: float) -> None:
    images = [Image.fromarray(f) for f in video]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)


def _write_ffmpeg(path: Path, video: np.ndarray, fps: float, suffix: str, crf: int) -> None:
    t, h, w, _ = video.shape
    # yuv420p needs even sizes; pad by repeating the edge rather than resizing, so pixels stay put
    video = np.pad(video, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    codec: Sequence[str]
    if suffix == ".mp4":
        codec, params = "libx264", ["-crf", str(crf), "-preset", "medium", "-movflags", "+faststart"]
    else:
        codec, params = "libvpx-vp9", ["-crf", str(crf), "-b:v", "0", "-row-mt", "1"]
    writer = imageio_ffmpeg.write_frames(
        str(path), (w + w % 2, h + h % 2), fps=fps, codec=codec, pix_fmt_out="yuv420p",
        macro_block_size=1, output_params=params, ffmpeg_log_level="error",
    )
    writer.send(None)
    for frame in video:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
