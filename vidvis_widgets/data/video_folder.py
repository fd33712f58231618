"""VideoFolder: a user's own videos, one sub-folder per class, with optical flow cached on disk."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..io import VIDEO_SUFFIXES, VideoReadError, check_size, read_video, video_info
from ..checks import number
from ..store import default_root

FLOW_METHODS = ("dis", "tvl1")


def default_cache_dir() -> Path:
    """``flow`` under the result store's folder: ``$VIDVIS_CACHE_DIR/flow``, else ``~/.cache/vidvis-widgets/flow``."""
    return default_root() / "flow"


def estimate_flow(frames: np.ndarray, method: str = "dis") -> np.ndarray:
    """Forward optical flow between consecutive frames: (T+1)×H×W×3 uint8 → T×2×H×W float32 pixels.

    ``dis``: OpenCV's DIS (fast, the default). ``tvl1``: TV-L1 (Zach et al.), as the papers used; slower.
    """
    import cv2

    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; expected one of {', '.join(FLOW_METHODS)}")
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    if method == "dis":
        est = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    else:
        est = cv2.optflow.DualTVL1OpticalFlow_create()
    flows = [est.calc(a, b, None) for a, b in zip(gray[:-1], gray[1:])]
    return np.stack(flows).transpose(0, 3, 1, 2).astype(np.float32)


class VideoFolder:
    """Videos under ``root/<class name>/*.mp4|avi|webm|…``; ``ds[i]`` is a dict like SyntheticActions'.

    Each item: ``rgb`` T×H×W×3 uint8 (``num_frames`` frames every ``stride``, resized to ``size``), ``flow``
    T×2×H×W float32 forward flow (None when ``flow=None``) and ``label``. Flow is computed once per video and
    setting, then read from ``cache_dir`` (atomic writes, so an interrupted run leaves no broken entry).
    Unreadable files are skipped with a warning naming them.
    """

    def __init__(self, root: str | Path, *, num_frames: int = 16, stride: int = 1, size: int | tuple[int, int] = 112,
                 flow: str | None = "dis", cache_dir: str | Path | None = None, check: bool = True):
        if not isinstance(root, (str, os.PathLike)):
            raise ValueError(f"root must be a folder path (str or Path), got {root!r}")
        if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
            raise ValueError(f"cache_dir must be a folder path (str or Path) or None, got {cache_dir!r}")
        num_frames = number("num_frames", num_frames, integer=True, low=1)
        stride = number("stride", stride, integer=True, low=1)
        size = check_size(size)
        if flow is not None and flow not in FLOW_METHODS:
            raise ValueError(f"unknown flow method {flow!r}; expected one of {', '.join(FLOW_METHODS)} or None")
        if not isinstance(check, (bool, np.bool_)):
            raise ValueError(f"check must be True or False, got {check!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"video folder {self.root} does not exist or is not a folder")
        self.num_frames, self.stride, self.size, self.flow = num_frames, stride, size, flow
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        files = [(p, c) for c, name in enumerate(self.classes)
                 for p in sorted((self.root / name).iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
        if not files:
            raise ValueError(f"no videos in {self.root}: expected class sub-folders holding "
                             f"{', '.join(VIDEO_SUFFIXES)} files, e.g. {self.root}/juggling/clip01.mp4")
        self.skipped: list[tuple[Path, str]] = []
        self.samples: list[tuple[Path, int]] = []
        need = (num_frames + (1 if flow else 0) - 1) * stride + 1
        for path, label in files:
            if not check:
                self.samples.append((path, label))
                continue
            try:
                info = video_info(path)
                if info.num_frames < need:
                    raise VideoReadError(f"{path}: has {info.num_frames} frames, needs {need}")
                self.samples.append((path, label))
            except VideoReadError as err:
                self.skipped.append((path, str(err)))
        if self.skipped:
            names = "; ".join(f"{p.relative_to(self.root)} ({why.split(': ', 1)[-1]})" for p, why in self.skipped)
            warnings.warn(f"skipped {len(self.skipped)} of {len(files)} videos in {self.root}: {names}", stacklevel=2)
        if not self.samples:
            raise ValueError(f"none of the {len(files)} videos in {self.root} could be read")

    def __len__(self) -> int:
        return len(self.samples)

    def _cache_path(self, path: Path) -> Path:
        st = path.stat()
        key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.num_frames}|{self.stride}|{self.size}|{self.flow}"
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"

    def _flow(self, path: Path, frames: np.ndarray) -> np.ndarray:
        cache = self._cache_path(path)
        if cache.exists():
            try:
                return np.load(cache)
            except (OSError, ValueError):
                cache.unlink(missing_ok=True)  # a damaged entry is recomputed, never trusted
        flow = estimate_flow(frames, self.flow)
        with atomic_path(cache) as tmp:
            np.save(tmp, flow)
        return flow

    def __getitem__(self, index: int) -> dict:
        path, label = self.samples[index]
        extra = 1 if self.flow else 0
        frames = read_video(path, num_frames=self.num_frames + extra, stride=self.stride, size=self.size)
        item = {"rgb": frames[: self.num_frames], "label": label, "path": str(path)}
        item["flow"] = self._flow(path, frames) if self.flow else None
        return item

    def __repr__(self) -> str:
        return f"VideoFolder({str(self.root)!r}, {len(self)} videos, {len(self.classes)} classes)"
