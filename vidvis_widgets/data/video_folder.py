"""VideoFolder: a user's own videos, one sub-folder per class, with optical flow cached on disk."""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .._atomic import atomic_path, writable_folder
from ..io import VIDEO_SUFFIXES, VideoInfo, VideoReadError, check_size, read_frames, video_info
from .clip_sampling import DEFAULT_SAMPLER, check_sampler, clip_indices, frames_needed
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


FITS = ("crop", "letterbox")
SPLITS = ("train", "val", "test")


class VideoFolder:
    """Videos under ``root/<class name>/*.mp4|avi|webm|…``; ``ds[i]`` is a dict like SyntheticActions'.

    Each item: ``rgb`` T×H×W×3 uint8 (``num_frames`` frames every ``stride``), ``flow`` T×2×H×W float32 forward
    flow (from each frame to the frame ``stride`` later; the key is left out with ``flow=None``, so the standard
    ``torch.utils.data.DataLoader`` batches items), ``label`` and ``path``. Every clip comes out at ``size``: an
    int for a square (the model's input), or (height, width). ``fit="crop"`` (the default) resizes the shorter
    side to cover it and crops the centre; ``fit="letterbox"`` fits the whole frame inside and pads with black.
    So clips of any aspect ratio batch together. Frames are framed as displayed: a video with non-square pixels
    (a sample aspect ratio such as 128:117) is resized by its display aspect, so a circle stays round.

    ``sampler`` picks the frames of each clip, as PyTorchVideo's clip samplers do: ``"centre"`` (the default;
    ``"center"`` too) takes the window of ``num_frames`` frames, ``stride`` apart, from the middle of the video;
    ``"start"`` from its first frame (what every clip was before); ``"uniform"`` spreads ``num_frames`` frames
    evenly over the whole video (``stride`` is then only the gap flow spans); ``"random"`` puts the window at a
    place drawn from ``seed`` and the video's name, the same in every run and worker (another seed, another
    place). The centre is the default because it sees the action where a video opens on a title card or a still
    lead-in, and keeps the frame rate the model and the flow expect (``uniform`` changes it with each video's
    length).

    ``model``: take ``num_frames`` and ``size`` from its adapter's native input where they are not given.
    ``split``: read ``root/<split>/<class>/…`` (``train``, ``val`` or ``test`` sub-folders); ``files``: a list
    file (one path per line, relative to ``root``, its class the folder it is in; blank lines and ``#``
    comments skipped). ``classes`` are the class folder names, sorted, and labels index them; with ``model``
    whose class names include every folder's, its class list instead, so labels index its head (a Kinetics
    model on folders named after Kinetics classes); ``classes=`` gives the list. ``load_model(...,
    class_names=ds.classes)`` names a fine-tuned model's head after the folders.

    Flow is computed once per video and setting, then read from ``cache_dir`` (atomic writes, so an interrupted
    run leaves no broken entry). Unreadable files are skipped with a warning naming them. ``cache_key``
    identifies the clips in the result store: the file list, each file's size and modification time, and the
    settings.
    """

    def __init__(self, root: str | Path, *, num_frames: int | None = None, stride: int = 1,
                 size: int | tuple[int, int] | None = None, fit: str = "crop", flow: str | None = "dis",
                 cache_dir: str | Path | None = None, check: bool = True, model=None, split: str | None = None,
                 files: str | Path | None = None, classes: Sequence[str] | None = None,
                 sampler: str = DEFAULT_SAMPLER, seed: int = 0):
        if not isinstance(root, (str, os.PathLike)):
            raise ValueError(f"root must be a folder path (str or Path), got {root!r}")
        if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
            raise ValueError(f"cache_dir must be a folder path (str or Path) or None, got {cache_dir!r}")
        native = _native(model)
        if num_frames is None:
            num_frames = native[0] if native else 16
        if size is None:
            size = native[1] if native else 112
        num_frames = number("num_frames", num_frames, integer=True, low=1)
        stride = number("stride", stride, integer=True, low=1)
        size = check_size(size)
        size = (size, size) if isinstance(size, int) else size
        if fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(map(repr, FITS))}, got {fit!r}")
        if flow is not None and flow not in FLOW_METHODS:
            raise ValueError(f"unknown flow method {flow!r}; expected one of {', '.join(FLOW_METHODS)} or None")
        sampler = check_sampler(sampler)
        seed = number("seed", seed, integer=True, low=0)
        if not isinstance(check, (bool, np.bool_)):
            raise ValueError(f"check must be True or False, got {check!r}")
        if split is not None and files is not None:
            raise ValueError("give split= (a sub-folder) or files= (a list file), not both")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))} or None, got {split!r}")
        if files is not None and not isinstance(files, (str, os.PathLike)):
            raise ValueError(f"files must be the path of a list file (str or Path), got {files!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"video folder {self.root} does not exist or is not a folder")
        if split is not None:
            if not (self.root / split).is_dir():
                have = [d for d in SPLITS if (self.root / d).is_dir()]
                raise FileNotFoundError(f"no {split}/ sub-folder in {self.root}" + (
                    f"; it has {', '.join(have)}" if have else "; expected train/, val/ and test/ sub-folders, "
                    "each holding class folders"))
            self.root = self.root / split
        self.num_frames, self.stride, self.size, self.fit, self.flow = num_frames, stride, size, fit, flow
        self.sampler, self.seed = sampler, seed
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        if flow is not None:  # flow is cached there: a folder that cannot take it is refused now, not at an item
            writable_folder(self.cache_dir, "cache_dir")
        listed = _listed(self.root, Path(files)) if files is not None else None
        if listed is not None:
            folders = sorted({p.parent.name for p in listed})
            found = [(p, p.parent.name) for p in listed]
        else:
            folders = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
            found = [(p, name) for name in folders
                     for p in sorted((self.root / name).iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
        self.classes = _class_list(folders, classes, model)
        files_found = [(p, self.classes.index(name)) for p, name in found]
        if not files_found:
            hint = (" (it has train/, val/ or test/ sub-folders: pass split=)" if listed is None and any(
                (self.root / d).is_dir() for d in SPLITS) else "")
            raise ValueError(f"no videos in {self.root}: expected class sub-folders holding "
                             f"{', '.join(VIDEO_SUFFIXES)} files, e.g. {self.root}/juggling/clip01.mp4{hint}")
        self.skipped: list[tuple[Path, str]] = []
        self.samples: list[tuple[Path, int]] = []
        self._info: dict[Path, VideoInfo] = {}
        need = frames_needed(sampler, num_frames, stride, 1 if flow else 0)
        for path, label in files_found:
            if not check:
                self.samples.append((path, label))
                continue
            try:
                info = video_info(path)
                if info.num_frames < need:
                    raise VideoReadError(f"{path}: has {info.num_frames} frames, needs {need}")
                self.samples.append((path, label))
                self._info[path] = info
            except VideoReadError as err:
                self.skipped.append((path, str(err)))
        if self.skipped:
            names = "; ".join(f"{p.relative_to(self.root)} ({why.split(': ', 1)[-1]})" for p, why in self.skipped)
            warnings.warn(f"skipped {len(self.skipped)} of {len(files_found)} videos in {self.root}: {names}",
                          stacklevel=2)
        if not self.samples:
            raise ValueError(f"none of the {len(files_found)} videos in {self.root} could be read")

    @property
    def cache_key(self) -> str:
        """What identifies these clips in the result store: every file's path, label, size and modification
        time, and the settings that shape the clips."""
        h = hashlib.sha256()
        h.update(f"{self.num_frames}|{self.stride}|{self.size}|{self.fit}|{self.flow}|{self.classes}|"
                 f"{self._sampling}".encode())
        for path, label in self.samples:
            st = path.stat()
            h.update(f"|{path.relative_to(self.root)}|{label}|{st.st_size}|{st.st_mtime_ns}".encode())
        return f"videofolder/{h.hexdigest()}"

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def _sampling(self) -> str:
        return f"{self.sampler}/{self.seed}" if self.sampler == "random" else self.sampler

    def _cache_path(self, path: Path, indices: np.ndarray) -> Path:
        st = path.stat()
        key = (f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.num_frames}|{self.stride}|{self.size}|{self.fit}|"
               f"{self.flow}|{self._sampling}|{','.join(map(str, indices.tolist()))}")
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"

    def _flow(self, path: Path, indices: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Flow from frame ``indices[k]`` to the frame ``stride`` later, for each k: ``frames`` holds the clip's
        frames then one more (a window), or each frame followed by its partner (``uniform``)."""
        cache = self._cache_path(path, indices)
        if cache.exists():
            try:
                return np.load(cache)
            except (OSError, ValueError):
                cache.unlink(missing_ok=True)  # a damaged entry is recomputed, never trusted
        if len(frames) == len(indices) + 1:
            flow = estimate_flow(frames, self.flow)
        else:
            flow = np.concatenate([estimate_flow(frames[k:k + 2], self.flow) for k in range(0, len(frames), 2)])
        with atomic_path(cache) as tmp:
            np.save(tmp, flow)
        return flow

    def _video(self, path: Path) -> VideoInfo:
        if path not in self._info:
            self._info[path] = video_info(path)
        return self._info[path]

    def _read(self, path: Path, indices: np.ndarray) -> np.ndarray:
        """Frames ``indices`` at ``size``, framed by the display aspect: resized to cover it and centre-cropped,
        or fitted inside it and padded."""
        info = self._video(path)
        (src_h, src_w), (h, w) = (info.height, info.display_width), self.size
        scale = max(h / src_h, w / src_w) if self.fit == "crop" else min(h / src_h, w / src_w)
        rh = max(h, math.ceil(src_h * scale - 1e-6)) if self.fit == "crop" else min(h, max(1, round(src_h * scale)))
        rw = max(w, math.ceil(src_w * scale - 1e-6)) if self.fit == "crop" else min(w, max(1, round(src_w * scale)))
        frames = read_frames(path, indices.tolist(), size=(rh, rw))
        if self.fit == "crop":
            top, left = (rh - h) // 2, (rw - w) // 2
            return np.ascontiguousarray(frames[:, top:top + h, left:left + w])
        out = np.zeros((len(frames), h, w, 3), np.uint8)
        top, left = (h - rh) // 2, (w - rw) // 2
        out[:, top:top + rh, left:left + rw] = frames
        return out

    def clip_indices(self, index: int) -> np.ndarray:
        """The frame numbers the ``sampler`` picks for video ``index``'s clip."""
        path, _ = self.samples[index]
        total = self._video(path).num_frames
        try:
            return clip_indices(self.sampler, total, self.num_frames, self.stride, extra=1 if self.flow else 0,
                                seed=self.seed, key=path.relative_to(self.root).as_posix())
        except ValueError as err:
            raise VideoReadError(f"{path}: {err}") from None

    def __getitem__(self, index: int) -> dict:
        path, label = self.samples[index]
        indices = self.clip_indices(index)
        if not self.flow:
            return {"rgb": self._read(path, indices), "label": label, "path": str(path)}
        after = indices + self.stride
        if np.array_equal(indices[1:], after[:-1]):  # a window: the clip and one frame more
            frames = self._read(path, np.append(indices, after[-1]))
        else:  # frames spread apart: each followed by its partner
            frames = self._read(path, np.stack([indices, after], 1).ravel())
        rgb = frames[:-1] if len(frames) == len(indices) + 1 else frames[::2]
        item = {"rgb": np.ascontiguousarray(rgb), "label": label, "path": str(path)}
        item["flow"] = self._flow(path, indices, frames)
        return item

    def __repr__(self) -> str:
        return (f"VideoFolder({str(self.root)!r}, {len(self)} videos, {len(self.classes)} classes, "
                f"{self.num_frames}×{self.size[0]}×{self.size[1]} ({self.fit}))")


def _native(model) -> tuple[int, int | tuple[int, int]] | None:
    """(frames, (height, width)) of a model's native input, from its adapter; None without one."""
    if model is None:
        return None
    adapter = getattr(model, "vidvis_adapter", None)  # what load_model attaches (data does not import models)
    if adapter is None or adapter.native_shape is None:
        raise ValueError(f"model={type(model).__name__} does not say its native input (load it with load_model, or "
                         "give num_frames= and size=)")
    return adapter.num_frames, tuple(adapter.size)


def _class_list(folders: list[str], classes: Sequence[str] | None, model) -> list[str]:
    """The class list labels index: ``classes`` if given; else the model's own class names when every class
    folder is one of them (a Kinetics model on folders named after Kinetics classes); else the folders, sorted."""
    if classes is not None:
        if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise ValueError(f"classes must be a list of class names, got {classes!r}")
        missing = [f for f in folders if f not in classes]
        if missing:
            raise ValueError(f"class folders {missing[:5]} are not among the {len(classes)} classes given; "
                             "name every folder's class, or leave classes=None to take the folders as the classes")
        return list(classes)
    names = getattr(getattr(model, "vidvis_adapter", None), "class_names", None)
    if names is not None and folders and set(folders) <= set(names):
        return list(names)
    return folders


def _listed(root: Path, list_file: Path) -> list[Path]:
    """The videos a list file names, relative to ``root``; a missing one is named."""
    if not list_file.is_file():
        raise FileNotFoundError(f"list file {list_file} does not exist")
    paths = []
    lines = list_file.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        p = root / line.split()[0]
        if not p.is_file():
            raise FileNotFoundError(f"{list_file}, line {n}: {p} does not exist (paths are relative to {root})")
        if p.parent == root:
            raise ValueError(f"{list_file}, line {n}: {line!r} is not in a class folder; expected <class>/<file>")
        paths.append(p)
    if not paths:
        raise ValueError(f"files={str(list_file)!r} names no videos ({len(lines)} line{'s' * (len(lines) != 1)}, none "
                         "but blank lines and # comments); expected one video a line, its path relative to root in "
                         "its class folder: <class>/<file>, e.g. juggling/clip01.mp4")
    return paths
