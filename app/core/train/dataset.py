"""Training data: clips found in folders, decoded once into an on-disk cache, sampled reproducibly.

* ``find_clips(paths)``: video files and frame folders under the given paths (mask folders
  such as ``foo_mask/`` are skipped).
* ``FrameCache``: decodes a clip once, resized to the training resolution, into a raw uint8
  file ``<cache>/<name>-<key>.u8`` of shape (N, H, W, 3) plus a JSON sidecar; later runs memory-map
  it. The key hashes the source path, its modification time and size, and the resolution, so
  an edited source is decoded again.
* ``load_clips(...)``: the two above plus clear ``DataError`` messages (no clips, unreadable
  files, clips shorter than a sample).
* ``ClipSampler``: draws (frames, masks) samples from one ``numpy.random.Generator`` whose
  state is saved in training checkpoints, so a resumed run sees exactly the same samples.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import Cancelled, DataError, InpaintError, VideoError
from ..fsutil import atomic_path
from ..iothreads import Producer
from ..maskgen import sample_masks
from ..video import VIDEO_EXTS, image_files, open_video, video_files

log = logging.getLogger(__name__)

#: names skipped when searching folders (mask folders and mask images that sit beside clips)
DEFAULT_EXCLUDE = ("*_mask", "*_masks", "*_mask_*", "*_mask.*", "masks", "mask")
CACHE_VERSION = 1


def _excluded(name: str, exclude) -> bool:
    return any(fnmatch.fnmatch(name.lower(), pat.lower()) for pat in exclude)


def _has_images(folder: Path) -> bool:
    """Whether ``folder`` is a frame folder: images (a folder of macOS ._ copies alone is not a clip)
    and no videos (a footage folder with a thumbnail or two beside its clips is read for the clips)."""
    try:
        return bool(image_files(folder)) and not video_files(folder)
    except OSError:
        return False


def find_clips(paths, exclude=DEFAULT_EXCLUDE) -> list[Path]:
    """Video files and frame folders (folders holding images) in ``paths``, searched recursively.

    A path that is itself a video or a frame folder is taken as given. Raises DataError when a
    path does not exist or nothing usable is found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[Path] = []
    for raw in paths:
        root = Path(raw).expanduser()
        if not root.exists():
            raise DataError(f"Footage {root} does not exist; pass a folder of videos or frame folders.")
        if root.is_file():
            if root.suffix.lower() not in VIDEO_EXTS:
                raise DataError(f"{root} is not a video file ({', '.join(sorted(VIDEO_EXTS))}); pass videos or folders.")
            found.append(root)
            continue
        if _has_images(root):
            found.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _excluded(d, exclude))
            here = Path(dirpath)
            for d in list(dirnames):
                if _has_images(here / d):
                    found.append(here / d)
            for f in sorted(filenames):
                if Path(f).suffix.lower() in VIDEO_EXTS and not f.startswith(".") and not _excluded(f, exclude):
                    found.append(here / f)
    found = sorted(dict.fromkeys(p.resolve() for p in found))
    if not found:
        listed = ", ".join(str(p) for p in paths)
        raise DataError(f"No videos or frame folders found in {listed}; add video files (.mp4, .avi, ...) "
                        "or folders of frame images.")
    return found


def _source_signature(src: Path) -> str:
    src = src.resolve()
    if src.is_dir():
        files = image_files(src)  # (the frames open_video reads, in its order)
        stats = [p.stat() for p in files]
        sig = f"dir|{len(files)}|{sum(s.st_size for s in stats)}|{max((s.st_mtime_ns for s in stats), default=0)}"
    else:
        st = src.stat()
        sig = f"file|{st.st_size}|{st.st_mtime_ns}"
    return f"{src}|{sig}"


def _resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(frame)
    interp = cv2.INTER_AREA if w * h > width * height else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


class FrameCache:
    """Decoded clips at one resolution, stored as raw uint8 (N, H, W, 3) files under ``root``."""

    def __init__(self, root, width: int, height: int):
        self.root = Path(root).expanduser()
        self.width, self.height = int(width), int(height)

    def entry(self, src) -> tuple[Path, Path]:
        src = Path(src)
        key = hashlib.sha1(f"v{CACHE_VERSION}|{_source_signature(src)}|{self.width}x{self.height}".encode()).hexdigest()[:16]
        stem = f"{src.stem[:40]}-{key}"
        return self.root / f"{stem}.u8", self.root / f"{stem}.json"

    def cached(self, src) -> bool:
        data, meta = self.entry(src)
        return data.exists() and meta.exists()

    def get(self, src, cancel=None) -> np.ndarray:
        """Frames of ``src`` as a read-only memmap (N, H, W, 3) uint8, decoding on the first call.

        Raises VideoError (from the reader) for unreadable or truncated sources; nothing is
        left in the cache then.
        """
        data, meta = self.entry(src)
        if not (data.exists() and meta.exists()):
            self._build(Path(src), data, meta, cancel)
        info = json.loads(meta.read_text())
        n = int(info["frames"])
        return np.memmap(data, dtype=np.uint8, mode="r", shape=(n, self.height, self.width, 3))

    def _build(self, src: Path, data: Path, meta: Path, cancel=None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        n = 0
        with atomic_path(data) as tmp, open(tmp, "wb") as f, open_video(src) as reader:
            try:
                for frame in reader:
                    if cancel is not None:
                        cancel.check()
                    f.write(_resize(frame, self.width, self.height).tobytes())
                    n += 1
            except VideoError as exc:
                if n == 0:
                    raise
                # A file cut short (a few frames missing at the end) still trains on what it holds.
                log.warning("using the first %d frames of %s: %s", n, src, exc)
            else:
                notice = getattr(reader, "notice", None)
                if notice:  # (cut off or damaged: the reader counted only the frames that read)
                    log.warning("using the first %d frames of %s: %s", n, src, notice)
            f.flush()
        info = {"source": str(src.resolve()), "frames": n, "width": self.width, "height": self.height,
                "version": CACHE_VERSION}
        with atomic_path(meta) as tmp:
            tmp.write_text(json.dumps(info))


@dataclass
class Clip:
    """One decoded clip: ``frames`` is (N, H, W, 3) uint8 (usually a memmap)."""

    path: Path
    frames: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def load_clips(paths, cache_dir, width: int, height: int, min_frames: int, exclude=DEFAULT_EXCLUDE,
               skip_unreadable: bool = True, what: str = "training", cancel=None, progress=None) -> list[Clip]:
    """Find, decode (once, into ``cache_dir``) and return the clips of ``paths``.

    Unreadable sources are skipped with a warning (or raise DataError if ``skip_unreadable`` is
    False); clips with fewer than ``min_frames`` frames are skipped with a warning. Raises
    DataError if no clip is left. ``progress(i, n, path)`` is called before each clip.
    """
    sources = find_clips(paths, exclude)
    cache = FrameCache(cache_dir, width, height)
    clips, bad, short = [], [], []
    for i, src in enumerate(sources):
        if progress is not None:
            progress(i, len(sources), src)
        try:
            frames = cache.get(src, cancel)
        except Cancelled:
            raise
        except InpaintError as exc:
            if not skip_unreadable:
                raise DataError(f"Cannot use {what} clip {src}: {exc}") from None
            log.warning("skipping unreadable %s clip %s: %s", what, src, exc)
            bad.append(src)
            continue
        if len(frames) < min_frames:
            log.warning("skipping %s clip %s: %d frames, a sample needs %d", what, src, len(frames), min_frames)
            short.append(src)
            continue
        clips.append(Clip(src, frames))
    if not clips:
        reasons = []
        if bad:
            reasons.append(f"{len(bad)} unreadable (e.g. {bad[0].name})")
        if short:
            reasons.append(f"{len(short)} shorter than {min_frames} frames (e.g. {short[0].name})")
        raise DataError(f"No usable {what} clips among {len(sources)} found ({'; '.join(reasons)}); "
                        f"add readable clips with at least {min_frames} frames.")
    return clips


def describe_clips(clips: list[Clip]) -> str:
    """One line for metadata and logs, e.g. '3 clips, 412 frames: a.mp4, b.mp4, frames/'."""
    names = ", ".join(c.path.name for c in clips[:5]) + (", ..." if len(clips) > 5 else "")
    return f"{len(clips)} clips, {sum(len(c) for c in clips)} frames: {names}"


class ClipSampler:
    """Random training samples from clips, reproducible from the state of one generator.

    Each sample: a clip chosen uniformly; ``t`` frame indices, consecutive (random start) or
    spread over the whole clip (sorted random subset) with equal probability; with
    probability 0.5 (if ``flip``) mirrored left-right; masks from ``maskgen.sample_masks``.
    """

    def __init__(self, clips: list[Clip], t: int, seed, flip: bool = True, p_moving: float = 0.5):
        if not clips:
            raise DataError("No training clips to sample from; add videos to the data folder.")
        self.clips = clips
        self.t = int(t)
        self.flip = flip
        self.p_moving = p_moving
        self.rng = np.random.default_rng(seed)

    def indices(self, n: int) -> np.ndarray:
        if self.rng.random() < 0.5:
            start = int(self.rng.integers(0, n - self.t + 1))
            return np.arange(start, start + self.t)
        return np.sort(self.rng.choice(n, size=self.t, replace=False))

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """-> frames (T, H, W, 3) uint8, masks (T, H, W) uint8 (1 = missing)."""
        clip = self.clips[int(self.rng.integers(0, len(self.clips)))]
        frames = np.asarray(clip.frames[self.indices(len(clip))])
        if self.flip and self.rng.random() < 0.5:
            frames = frames[:, :, ::-1]
        t, h, w, _ = frames.shape
        masks = sample_masks(t, h, w, self.rng, self.p_moving)
        return np.ascontiguousarray(frames), masks

    def batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """-> frames (B, T, 3, H, W) float32 in [-1, 1], masks (B, T, 1, H, W) float32."""
        fs, ms = zip(*(self.sample() for _ in range(b)))
        frames = torch.from_numpy(np.stack(fs)).permute(0, 1, 4, 2, 3).float().div_(127.5).sub_(1.0)
        masks = torch.from_numpy(np.stack(ms)).unsqueeze(2).float()
        return frames, masks

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


class BatchPrefetcher(Producer):
    """Batches of a ``ClipSampler`` drawn on a thread, ``depth`` ahead of the training step.

    Mask generation and frame gathering then overlap the GPU's work. Each batch comes with
    the sampler's state right after it was drawn, so a checkpoint taken after consuming it
    resumes with exactly the next batch (the batches queued ahead are simply drawn again).
    """

    def __init__(self, sampler: ClipSampler, batch_size: int, depth: int = 2, pin_memory: bool = False):
        self._sampler, self._b, self._pin = sampler, int(batch_size), pin_memory
        super().__init__(depth, "batch-prefetch")

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                frames, masks = self._sampler.batch(self._b)
                if self._pin:
                    frames, masks = frames.pin_memory(), masks.pin_memory()
                item = (frames, masks, self._sampler.state_dict())
            except BaseException as exc:  # noqa: BLE001 - raised in the training thread
                item = exc
            if not self._put(item) or isinstance(item, BaseException):
                return

    def next(self) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """-> frames, masks (as ``ClipSampler.batch``) and the sampler state after this batch."""
        return self._get()
