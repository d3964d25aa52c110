"""Per-frame masks: reading them from files, fitting them to the video, storing them compactly.

A mask is a bool array (H, W) at the video's size, True = remove. Sources:
one image for every frame (a stationary watermark), a folder of per-frame images
(sorted by name), or a mask video; any non-zero pixel means remove. Every source and
the editable ``MaskStore`` answer ``get(i)`` and ``is_empty(i)``.
"""
from __future__ import annotations

import os
import re
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Optional, Protocol

import cv2
import numpy as np

from .errors import MaskError, OutputError, VideoError
from .fsutil import make_temp_beside
from .jobs import ProgressClock
from .video import IMAGE_EXTS, frame_number, image_files, open_video

ASPECT_TOLERANCE = 0.05


class MaskSource(Protocol):
    width: int
    height: int
    scaled_from: Optional[tuple[int, int]]

    def __len__(self) -> int: ...

    def get(self, index: int) -> np.ndarray: ...

    def is_empty(self, index: int) -> bool: ...


def dilate(mask: np.ndarray, iterations: int) -> np.ndarray:
    """Grow a bool mask by ``iterations`` steps of a 3x3 cross (the authors' test uses 4)."""
    if iterations <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return cv2.dilate(mask.astype(np.uint8), kernel, iterations=int(iterations)).astype(bool)


def shrink_mask(mask: np.ndarray, size) -> np.ndarray:
    """A bool mask resized to ``size`` = (width, height) where any coverage of a target pixel marks
    it, so thin masks survive downscaling; a mask already that size is returned as it is."""
    h, w = mask.shape[:2]
    if (w, h) == tuple(size):
        return mask.astype(bool, copy=False)
    return cv2.resize(mask.astype(np.float32), tuple(size), interpolation=cv2.INTER_AREA) > 0


def mask_box(mask: np.ndarray):
    """(x0, y0, x1, y1) of a bool mask's bounding box (exclusive ends), or None if it is empty."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


#: an image whose brightest pixel is at least this is read as intensities: a pixel is to be removed
#: where it is over half the brightest (a quarter in a colour image, ``binarise``; a JPEG's ringing,
#: an anti-aliased brush edge's faint pixels stay out); a darker one (a 0/1 mask, a label map 1..k) is read as labels: any non-zero pixel
NOISE_PEAK = 16
#: a mask marking more of the frame than this, its whole edge included, is taken for an inverted one
INVERTED_COVER = 0.5
#: an image with more than this share of mid-tone pixels (between 15 % and 85 % of its brightest) in
#: more than ``PICTURE_LEVELS`` levels is a picture, not a mask: a frame of the video given as --mask
#: (measured: 81 % mid-tones, 256 levels) marked 66 % of the frame and was inpainted without a word.
#: Masks have few mid-tones (a JPEG's ringing, an anti-aliased edge: under 1 % here) or few levels
#: (a DAVIS palette's objects, dark reds, are mid-tones: 2-10 levels)
PICTURE_MIDTONES = 0.5
PICTURE_LEVELS = 64


def binarise(mask: np.ndarray) -> np.ndarray:
    """A mask image's pixels to remove (bool), see ``NOISE_PEAK``. A colour image (a palette PNG
    read as its colours: DAVIS's objects are (128, 0, 0), (64, 0, 0), (192, 0, 0) ...) is read by
    its brightest channel over a quarter of the brightest, so that every object's colour counts."""
    share = 2
    if mask.ndim == 3:
        if mask.shape[2] > 1 and not (mask == mask[..., :1]).all():
            share = 4
        mask = mask.max(axis=2)
    peak = int(mask.max()) if mask.size else 0
    return mask > (peak // share if peak >= NOISE_PEAK else 0)


def fit_mask(mask: np.ndarray, width: int, height: int, name: str = "mask") -> np.ndarray:
    """Binarise (``binarise``) and resize with nearest neighbour to (height, width)."""
    mask = binarise(mask)
    h, w = mask.shape[:2]
    if (w, h) != (width, height):
        if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise MaskError(
                f"{name} is {w}x{h} but the video is {width}x{height} (another shape); "
                "draw the mask on a frame of this video."
            )
        mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return mask


def check_not_inverted(mask: np.ndarray, name: str, own: bool = False) -> np.ndarray:
    """``mask`` (bool), refused when it marks the whole frame (nothing left to fill it from) or looks
    inverted: over ``INVERTED_COVER`` of the frame and all of its edge marked, what to keep a hole
    inside (a mask drawn black on white). ``own``: the file says its polarity (``is_own_mask``), so a
    large mask reaching the edge (a big foreground object, all but a region) is taken as it is."""
    if mask.size and mask.all():
        raise MaskError(f"{name} marks the whole frame for removal, which leaves nothing to fill it from; "
                        "make only what to remove white and the rest black.")
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    if not own and mask.mean() > INVERTED_COVER and edge.all():
        raise MaskError(f"{name} marks {mask.mean():.0%} of the frame, its whole edge included, for removal: it "
                        "looks inverted (white background); invert it so that only what to remove is white.")
    return mask


def check_is_mask(image: np.ndarray, name: str) -> np.ndarray:
    """Refuse a mask image that is a picture (a frame of the video, a photo): mostly mid-tones in many
    levels (``PICTURE_MIDTONES``); a mask is black with white where to remove."""
    grey = image.max(axis=2) if image.ndim == 3 else image
    peak = int(grey.max()) if grey.size else 0
    if peak < NOISE_PEAK:  # (a label map: any non-zero pixel counts)
        return image
    mid = float(((grey > peak * 0.15) & (grey < peak * 0.85)).mean())
    if mid > PICTURE_MIDTONES and np.unique(grey[::4, ::4]).size > PICTURE_LEVELS:
        raise MaskError(f"{name} looks like a picture, not a mask: {mid:.0%} of its pixels are mid-tones; a mask is "
                        "black, with white where to remove: give the mask drawn for this video.")
    return image


def read_mask_image(path) -> np.ndarray:
    path = Path(path)
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MaskError(f"Cannot read mask image {path}; use a PNG/JPG where white (non-zero) marks what to remove.")
    if img.ndim == 3 and img.shape[2] == 4:
        # A transparent PNG: paint is where alpha is set, if anything is transparent at all.
        alpha = img[..., 3]
        img = alpha if alpha.min() < 255 else img[..., :3]
    return img


# A mask PNG this application writes (``mask_png``) says so in a tEXt chunk after its header, with
# the count of its white pixels: "STTN Inpaint mask: white = remove, 5120 of 6144 px white". Reading
# it back, the inverted-mask check is skipped (the polarity is known); a copy edited elsewhere (say,
# inverted, with the chunk kept) no longer has that count and is checked like any other file. Image
# programs ignore the chunk: the pixels read the same.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MARK_KEY = b"Software"
_MARK = "STTN Inpaint mask: white = remove, {} of {} px white"
_MARK_READ = re.compile(rb"Software\0[^\0]*mask: white = remove, (\d+) of (\d+) px white")


def mask_png(mask: np.ndarray) -> bytes:
    """A bool mask as the PNG bytes of an exported mask: 8-bit grey, white (255) = remove, marked as
    this application's (see ``is_own_mask``). The caller writes them (to a temporary name, renamed)."""
    mask = np.asarray(mask, bool)
    png = _png(mask.astype(np.uint8) * 255, (cv2.IMWRITE_PNG_COMPRESSION, 3))
    data = _MARK_KEY + b"\0" + _MARK.format(int(mask.sum()), mask.size).encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    end = 8 + 8 + 13 + 4  # the signature and the IHDR chunk, which must come first
    assert png[:8] == _PNG_SIGNATURE and png[12:16] == b"IHDR"
    return png[:end] + chunk + png[end:]


def _stated_count(path: Path) -> Optional[tuple[int, int]]:
    """(white pixels, pixels) as the mark of a ``mask_png`` file states them; None for any other file."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != _PNG_SIGNATURE:
                return None
            for _ in range(32):  # (the mark follows the header; a few chunks are looked at, no more)
                head = f.read(8)
                if len(head) < 8 or head[4:] in (b"IDAT", b"IEND"):
                    return None
                length = struct.unpack(">I", head[:4])[0]
                if head[4:] == b"tEXt" and length < 200:
                    found = _MARK_READ.fullmatch(f.read(length))
                    if found:
                        return int(found[1]), int(found[2])
                    f.seek(4, os.SEEK_CUR)
                else:
                    f.seek(length + 4, os.SEEK_CUR)
    except OSError:
        return None
    return None


def is_own_mask(path, image: np.ndarray) -> bool:
    """Whether ``image``, read from ``path``, is a mask this application wrote (``mask_png``) as it
    was written: its mark is there and its white pixels are as many as the mark says."""
    stated = _stated_count(Path(path))
    return stated is not None and stated == (int(binarise(image).sum()), image.shape[0] * image.shape[1])


class StationaryMask:
    """One mask for every frame (a watermark or logo that does not move)."""

    scaled_from: Optional[tuple[int, int]] = None  # (width, height) drawn at, when not the video's (load_masks)

    def __init__(self, mask: np.ndarray, n_frames: int):
        self.mask = mask.astype(bool)
        self.height, self.width = self.mask.shape
        self.n_frames = n_frames

    def __len__(self):
        return self.n_frames

    def get(self, index: int) -> np.ndarray:
        return self.mask

    def is_empty(self, index: int) -> bool:
        return not self.mask.any()


class MaskFolder:
    """Per-frame mask images, sorted by name; read lazily."""

    scaled_from: Optional[tuple[int, int]] = None  # (width, height) drawn at, when not the video's (load_masks)

    def __init__(self, files: list[Path], width: int, height: int):
        self.files = files
        self.width, self.height = width, height

    def __len__(self):
        return len(self.files)

    def get(self, index: int) -> np.ndarray:
        return fit_mask(read_mask_image(self.files[index]), self.width, self.height, f"Mask {self.files[index].name}")

    def is_empty(self, index: int) -> bool:
        return not self.get(index).any()


class MaskVideo:
    """A video whose frames are masks (bright = remove)."""

    scaled_from: Optional[tuple[int, int]] = None  # (width, height) drawn at, when not the video's (load_masks)

    def __init__(self, path, width: int, height: int):
        self.reader = open_video(path)
        self.width, self.height = width, height

    def __len__(self):
        return len(self.reader)

    def get(self, index: int) -> np.ndarray:
        frame = self.reader[index]
        return fit_mask((frame.max(axis=2) > 127).astype(np.uint8), self.width, self.height, "Mask video")

    def is_empty(self, index: int) -> bool:
        return not self.get(index).any()


def mask_files(folder: Path) -> list[Path]:
    """The mask images of ``folder`` in frame order: names sorted with their numbers as numbers; hidden
    files (macOS's ._ copies, editors' backups) left out. Numbered files that skip a number are
    refused: the masks after the gap would land on the wrong frames."""
    files = image_files(folder)
    numbers = [frame_number(p) for p in files]
    if len(files) > 1 and None not in numbers and len(set(numbers)) != len(numbers):
        # (two files for one frame: with a frame missing elsewhere the count matched, and every mask
        # after the pair landed one frame late without a word)
        raise MaskError(f"Mask folder {folder} has two images for one frame{_odd_ones(files)}; "
                        "keep one for each frame.")
    if len(files) > 1 and None not in numbers:
        have = set(numbers)
        missing = [k for k in range(min(have), max(have)) if k not in have]
        if missing:
            shown = ", ".join(str(k) for k in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise MaskError(f"Mask folder {folder} has no image for frame number {shown} (its files run from "
                            f"{files[0].name} to {files[-1].name}); add one for each (all black where nothing is "
                            "removed), so that every mask lands on its frame.")
    return files


def _odd_ones(files: list[Path]) -> str:
    """The files that make a folder's count wrong, when its names tell: " (extra.png has no frame
    number; 00001.png and 00001.jpg are both frame 1)"; "" when they do not. The count alone left
    the user to find an extra image among hundreds."""
    numbers = [frame_number(p) for p in files]
    if all(k is None for k in numbers):
        return ""
    said = []
    bare = [p.name for p, k in zip(files, numbers) if k is None]
    if bare:
        said.append(f"{', '.join(bare[:3])}{' ...' if len(bare) > 3 else ''} "
                    f"{'has' if len(bare) == 1 else 'have'} no frame number")
    seen: dict[int, list[str]] = {}
    for p, k in zip(files, numbers):
        if k is not None:
            seen.setdefault(k, []).append(p.name)
    twice = [(k, names) for k, names in seen.items() if len(names) > 1]
    if twice:
        said.append("; ".join(f"{' and '.join(names)} are both frame {k}" for k, names in twice[:2])
                    + (" ..." if len(twice) > 2 else ""))
    return f" ({'; '.join(said)})" if said else ""


def load_masks(spec, n_frames: int, width: int, height: int) -> MaskSource:
    """Open a mask image, folder of images, or mask video for a video of ``n_frames`` frames.
    The source's ``scaled_from`` is the (width, height) its masks were drawn at when that is not
    the video's (they are scaled to it): the user is told."""
    source = _open_masks(spec, n_frames, width, height)
    if source.scaled_from == (width, height):
        source.scaled_from = None
    return source


def _open_masks(spec, n_frames: int, width: int, height: int) -> MaskSource:
    path = Path(spec).expanduser()
    if not path.exists():
        raise MaskError(f"Mask {path} does not exist; give a mask image, a folder of mask images, or a mask video.")
    if path.is_dir():
        files = mask_files(path)
        if not files:
            raise MaskError(f"Mask folder {path} has no images; put one PNG per frame there.")
        if len(files) == 1:
            name = f"Mask {files[0]}"
            image = check_is_mask(read_mask_image(files[0]), name)
            source = StationaryMask(check_not_inverted(fit_mask(image, width, height, name), name,
                                                       is_own_mask(files[0], image)), n_frames)
            source.scaled_from = image.shape[1], image.shape[0]
            return source
        if len(files) != n_frames:
            raise MaskError(
                f"Mask folder {path} has {len(files)} images but the video has {n_frames} frames{_odd_ones(files)}; "
                "give one mask per frame, or a single image for all frames."
            )
        # fail early on a wrong shape, a picture or an inverted mask
        image = check_is_mask(read_mask_image(files[0]), f"Mask {files[0]}")
        check_not_inverted(fit_mask(image, width, height, f"Mask {files[0].name}"), f"Mask {files[0]}",
                           is_own_mask(files[0], image))
        source = MaskFolder(files, width, height)
        source.scaled_from = image.shape[1], image.shape[0]
        return source
    if path.suffix.lower() in IMAGE_EXTS:
        image = check_is_mask(read_mask_image(path), f"Mask {path}")
        source = StationaryMask(check_not_inverted(fit_mask(image, width, height, f"Mask {path.name}"),
                                                   f"Mask {path}", is_own_mask(path, image)), n_frames)
        source.scaled_from = image.shape[1], image.shape[0]
        return source
    try:
        source = MaskVideo(path, width, height)
    except VideoError as exc:
        raise MaskError(f"Cannot use {path} as a mask: {exc}") from None
    if len(source) != n_frames:
        swapped = (" (the video is one image: are the video and the mask the wrong way round?)"
                   if n_frames == 1 else "")
        raise MaskError(
            f"Mask video {path} has {len(source)} frames but the video has {n_frames}{swapped}; "
            "the mask video must match frame for frame."
        )
    check_is_mask(source.reader[0], f"Mask video {path} (its first frame)")  # (another video: a picture)
    check_not_inverted(source.get(0), f"Mask video {path} (its first frame)")
    source.scaled_from = source.reader.width, source.reader.height
    return source


# A mask is stored as a 1-bit PNG: at 1920x1080 it encodes in 2 ms instead of the 8-bit PNG's
# 10 ms, at a quarter of the size (a range stroke over a tracked clip re-encodes every frame).
# Blobs of older projects (8-bit PNG) decode alike.
_MASK_PNG = [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 1]


def _encode(mask: np.ndarray) -> bytes:
    return _png(mask.astype(np.uint8), _MASK_PNG)


def _png(img: np.ndarray, params=(cv2.IMWRITE_PNG_COMPRESSION, 1)) -> bytes:
    ok, buf = cv2.imencode(".png", img, list(params))
    assert ok
    return buf.tobytes()


def _decode(blob: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED) > 0


def encode_labels(objects) -> Optional[bytes]:
    """Several bool (H, W) masks of one frame as one label map, PNG bytes (0: none, k: the k-th
    mask; where two overlap, the later one), or None past 255 masks."""
    if not objects or len(objects) > 255:
        return None
    lab = np.zeros(np.shape(objects[0]), np.uint8)
    for k, m in enumerate(objects, 1):
        lab[np.asarray(m, bool)] = k
    return _png(lab)


def decode_labels(blob: bytes, shape) -> list[np.ndarray]:
    """The bool masks of an ``encode_labels`` blob for frames of ``shape`` (H, W); [] when the
    bytes do not decode to a label map of that shape (a damaged or foreign record)."""
    try:
        lab = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        lab = None
    if lab is None or lab.dtype != np.uint8 or lab.shape != tuple(shape):
        return []
    return [lab == k for k in range(1, int(lab.max()) + 1)]


class MaskStore:
    """Editable per-frame masks for the GUI and the tracker, kept compressed.

    Each frame's mask is held as 1-bit PNG bytes (a few KB for a typical mask); frames given
    the same mask at once share one blob, so a watermark painted over 10,000 frames
    costs one encoding. Frames without an entry are empty. ``blob``/``set_blob`` expose
    the raw bytes so that undo can store changes without decoding them.
    """

    def __init__(self, n_frames: int, width: int, height: int):
        self.n_frames, self.width, self.height = int(n_frames), int(width), int(height)
        self._blobs: dict[int, bytes] = {}
        self._cache: tuple[Optional[bytes], Optional[np.ndarray]] = (None, None)

    def __len__(self) -> int:
        return self.n_frames

    def _check(self, index: int) -> None:
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} is outside 0..{self.n_frames - 1}")

    def get(self, index: int) -> np.ndarray:
        self._check(index)
        blob = self._blobs.get(index)
        if blob is None:
            return np.zeros((self.height, self.width), bool)
        if self._cache[0] is not blob:
            self._cache = (blob, _decode(blob))
        return self._cache[1].copy()

    def is_empty(self, index: int) -> bool:
        return index not in self._blobs

    def set(self, index: int, mask: np.ndarray) -> None:
        self.set_many([index], mask)

    def set_many(self, indices: Iterable[int], mask: np.ndarray) -> None:
        mask = np.asarray(mask, bool)
        if mask.shape != (self.height, self.width):
            raise MaskError(f"Mask is {mask.shape[1]}x{mask.shape[0]}, the video is {self.width}x{self.height}.")
        blob = _encode(mask) if mask.any() else None
        for i in indices:
            self.set_blob(i, blob)

    def clear(self, index: int) -> None:
        self.set_blob(index, None)

    def edit(self, indices: Iterable[int], added: Optional[np.ndarray] = None,
             removed: Optional[np.ndarray] = None, threads: Optional[int] = None,
             overlapped: Optional[list] = None) -> dict:
        """Add ``added`` to and erase ``removed`` from the mask of each frame in ``indices``; returns
        ``{frame: (blob before, blob after)}`` for the frames that changed (what undo keeps).
        ``overlapped``: a list to which the frames whose mask already held part of ``added`` are added.

        Frames that share one blob are decoded and encoded once. The decoding and encoding (PNG,
        outside the GIL) run on a pool of ``threads`` (default: the cores) when many frames have
        masks of their own, as after tracking: a stroke applied to every frame of a tracked clip."""
        groups: dict[int, tuple] = {}
        for i in indices:
            self._check(i)
            blob = self._blobs.get(i)
            groups.setdefault(id(blob), (blob, []))[1].append(i)
        if added is not None and not added.any():
            added = None
        if removed is not None and not removed.any():
            removed = None
        if added is None and removed is None:
            return {}
        # only the box around the paint can change: the per-frame work outside decoding and
        # encoding stays small however large the frame
        x0, y0, x1, y1 = mask_box(removed if added is None else added if removed is None else added | removed)
        a = None if added is None else added[y0:y1, x0:x1]
        r = None if removed is None else removed[y0:y1, x0:x1]

        def edited(blob):  # (the group's new blob, or False when it stays as it was; overlaps added)
            mask = np.zeros((self.height, self.width), bool) if blob is None else _decode(blob)
            before = mask[y0:y1, x0:x1]
            after = before if a is None else before | a
            over = blob is not None and a is not None and bool((before & a).any())
            if r is not None:
                after = after & ~r
            if np.array_equal(before, after):
                return False, over
            mask[y0:y1, x0:x1] = after
            return (_encode(mask) if mask.any() else None), over

        work = list(groups.values())
        threads = threads or min(8, os.cpu_count() or 1)
        if threads > 1 and len(work) >= 8:
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(lambda g: edited(g[0]), work))
        else:
            results = [edited(blob) for blob, _ in work]
        changes = {}
        for (blob, frames), (new, over) in zip(work, results):
            if over and overlapped is not None:
                overlapped += frames
            if new is not False:
                for i in frames:
                    self.set_blob(i, new)
                    changes[i] = (blob, new)
        return changes

    def blob(self, index: int) -> Optional[bytes]:
        return self._blobs.get(index)

    def set_blob(self, index: int, blob: Optional[bytes]) -> None:
        self._check(index)
        if blob is None:
            self._blobs.pop(index, None)
        else:
            self._blobs[index] = blob

    def masked_frames(self) -> list[int]:
        return sorted(self._blobs)

    def copy(self) -> "MaskStore":
        """Another store holding the same masks, for a worker thread (a save, a job): blobs are
        immutable bytes, so the dict of references is copied (~1 ms at 20,000 masked frames)."""
        other = MaskStore(self.n_frames, self.width, self.height)
        other._blobs = dict(self._blobs)
        return other

    def nbytes(self) -> int:
        return sum(len(b) for b in {id(b): b for b in self._blobs.values()}.values())

    @classmethod
    def from_source(cls, source: MaskSource, n_frames: int, progress=None, cancel=None) -> "MaskStore":
        """The masks of ``source`` for ``n_frames`` frames; a folder or a mask video is read frame by
        frame, with ``progress(Progress)`` after each and ``cancel.check()`` before each (2,000
        PNGs at 1080p take about 15 s on a 2-core CPU)."""
        store = cls(n_frames, source.width, source.height)
        if isinstance(source, StationaryMask):
            store.set_many(range(n_frames), source.mask)
            return store
        total = min(n_frames, len(source))
        clock = ProgressClock(progress, total, "read masks")
        for i in range(total):
            if cancel is not None:
                cancel.check()
            m = source.get(i)
            if m.any():
                store.set(i, m)
            clock.report(i + 1)
        return store

    def save_pngs(self, folder, progress=None, cancel=None) -> list[Path]:
        """Write one PNG per frame (``mask_png``: white = remove, marked as ours, so that a large mask
        imports back), named by frame number, each to a hidden name renamed when whole, into ``folder``,
        which must hold no images: none of the user's is overwritten, and the folder imports back as
        these masks (left over from a longer video, the count would not match). Frames sharing a mask share
        its encoding (a watermark over 3,000 1080p frames: one encoding, not 30 s of them);
        ``progress(Progress)`` after each frame, ``cancel.check()`` before each."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            held = image_files(folder)
        except OSError as exc:
            raise MaskError(f"Cannot write to {folder} ({exc.strerror or exc}); choose a writable folder.") from None
        if held:
            raise MaskError(f"{folder} already holds {len(held)} image{'s' if len(held) > 1 else ''} ({held[0].name}"
                            f"{', ...' if len(held) > 1 else ''}); choose an empty folder for the masks, so that "
                            "none is overwritten.")
        clock = ProgressClock(progress, self.n_frames, "write masks")
        pngs: dict[int, bytes] = {}
        paths = []
        for i in range(self.n_frames):
            if cancel is not None:
                cancel.check()
            blob = self._blobs.get(i)
            if id(blob) not in pngs:
                pngs[id(blob)] = mask_png(self.get(i))
            p, tmp = folder / f"{i:05d}.png", None
            try:  # (renamed when whole: a full disk leaves no cut PNG, a kill a hidden file the next start sweeps)
                tmp = make_temp_beside(p, "tmp")
                tmp.write_bytes(pngs[id(blob)])
                os.replace(tmp, p)
            except (OSError, OutputError) as exc:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                raise MaskError(f"Cannot write {p} ({getattr(exc, 'strerror', None) or exc}); choose a writable folder "
                                "with space left.") from None
            paths.append(p)
            clock.report(i + 1)
        return paths
