"""Masks this application exports import back whatever they cover. A mask over half the frame with
its whole edge (a big foreground object, "remove all but this") was refused on import as inverted,
even the application's own file; now its PNGs carry a tEXt mark (white = remove, and how many pixels
are white) and a marked file skips that guess. Unmarked files, and marked ones edited since, are
checked as before. Real PNG files, read by OpenCV and through ``load_masks``, the CLI's ``inpaint
--mask`` and ``track --keyframe``."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.errors import MaskError
from app.core.masks import MaskStore, is_own_mask, load_masks, mask_png, read_mask_image
from app.core.video import VideoReader, write_test_clip
from conftest import make_frames

W, H, N = 96, 64, 4


def all_but_a_box() -> np.ndarray:
    """Everything but a box in the middle: 90% of the frame, its whole edge included."""
    m = np.ones((H, W), bool)
    m[20:40, 30:60] = False
    return m


def chunks(png: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(type, data, CRC right) of each chunk of a PNG's bytes."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(png):
        length, kind = struct.unpack(">I", png[at:at + 4])[0], png[at + 4:at + 8]
        data = png[at + 8:at + 8 + length]
        crc = struct.unpack(">I", png[at + 8 + length:at + 12 + length])[0]
        out.append((kind, data, crc == zlib.crc32(kind + data)))
        at += 12 + length
    return out


def exported(tmp_path: Path, mask: np.ndarray, n: int = N) -> Path:
    """The folder File > Export masks as PNGs… writes (``MaskStore.save_pngs``) with ``mask`` on every frame."""
    store = MaskStore(n, W, H)
    store.set_many(range(n), mask)
    folder = tmp_path / "exported"
    assert len(store.save_pngs(folder)) == n
    return folder


def test_an_exported_mask_over_most_of_the_frame_and_its_edge_imports_back(tmp_path):
    m = all_but_a_box()
    folder = exported(tmp_path, m)
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:05d}.png" for i in range(N)]  # (no temp left)
    source = load_masks(folder, N, W, H)  # the folder, as Import mask folder… and inpaint --mask read it
    assert all(np.array_equal(source.get(i), m) for i in range(N))
    one = folder / "00002.png"  # one of its files, as Import mask image… reads it
    assert np.array_equal(load_masks(one, N, W, H).get(0), m)
    assert is_own_mask(one, read_mask_image(one))


def test_the_same_pixels_without_the_mark_are_still_refused_as_inverted(tmp_path):
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), all_but_a_box().astype(np.uint8) * 255)
    with pytest.raises(MaskError, match="looks inverted") as refused:
        load_masks(plain, N, W, H)
    assert "\n" not in str(refused.value)
    folder = tmp_path / "plain_folder"
    folder.mkdir()
    for i in range(N):
        cv2.imwrite(str(folder / f"{i:05d}.png"), all_but_a_box().astype(np.uint8) * 255)
    with pytest.raises(MaskError, match="looks inverted"):
        load_masks(folder, N, W, H)


def test_a_marked_file_is_the_same_image_for_opencv_with_a_valid_text_chunk(tmp_path):
    m = all_but_a_box()
    png = mask_png(m)
    ok, plain = cv2.imencode(".png", m.astype(np.uint8) * 255)
    assert ok
    read = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint8 and read.shape == (H, W)
    assert np.array_equal(read, cv2.imdecode(plain, cv2.IMREAD_UNCHANGED))
    assert np.array_equal(read > 0, m) and set(np.unique(read)) == {0, 255}  # white = remove
    found = chunks(png)
    assert [k for k, _, _ in found][:2] == [b"IHDR", b"tEXt"] and all(right for _, _, right in found)
    text = found[1][1]
    assert text.startswith(b"Software\0") and b"mask: white = remove" in text
    assert f"{int(m.sum())} of {m.size} px white".encode() in text


def test_a_marked_file_edited_since_is_checked_like_any_other(tmp_path):
    """An editor that keeps the text chunk while inverting the picture: the mark no longer fits the
    pixels, so the file is guessed at as a stranger's (and refused as inverted)."""
    box = ~all_but_a_box()
    mark = next(data for kind, data, _ in chunks(mask_png(box)) if kind == b"tEXt")
    ok, inverted = cv2.imencode(".png", (~box).astype(np.uint8) * 255)
    chunk = struct.pack(">I", len(mark)) + b"tEXt" + mark + struct.pack(">I", zlib.crc32(b"tEXt" + mark))
    path = tmp_path / "edited.png"
    path.write_bytes(inverted.tobytes()[:33] + chunk + inverted.tobytes()[33:])
    assert not is_own_mask(path, read_mask_image(path))
    with pytest.raises(MaskError, match="looks inverted"):
        load_masks(path, N, W, H)


def test_a_marked_mask_over_the_whole_frame_is_still_refused(tmp_path):
    path = tmp_path / "all.png"
    path.write_bytes(mask_png(np.ones((H, W), bool)))
    with pytest.raises(MaskError, match="whole frame"):
        load_masks(path, N, W, H)
    with pytest.raises(MaskError, match="another shape"):  # (and a file of another shape, as before)
        load_masks(exported(tmp_path, all_but_a_box()) / "00000.png", N, W, W)


def test_inpaint_takes_an_exported_mask_over_most_of_the_frame(tmp_path, capsys):
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(N, W, H))
    folder = exported(tmp_path, all_but_a_box())
    for mask in (folder, folder / "00001.png"):
        out = tmp_path / f"out_{mask.stem}.mp4"
        assert main(["inpaint", str(clip), "--mask", str(mask), "-o", str(out), "--fill", "telea"]) == 0, \
            capsys.readouterr().err
        with VideoReader(out) as r:
            assert len(r) == N
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), all_but_a_box().astype(np.uint8) * 255)
    assert main(["inpaint", str(clip), "--mask", str(plain), "-o", str(tmp_path / "no.mp4"), "--fill", "telea"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "looks inverted" in err[0]


def test_track_takes_an_exported_mask_as_keyframe_and_writes_marked_masks(tmp_path, capsys):
    """``track --keyframe`` takes the application's own large mask (a plain copy of it is refused),
    and the folder it writes is marked too: ``inpaint --mask`` and the GUI take it back."""
    clip = write_test_clip(tmp_path / "clip.mp4", make_frames(N, W, H))
    key = exported(tmp_path, all_but_a_box()) / "00000.png"
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), all_but_a_box().astype(np.uint8) * 255)
    assert main(["track", str(clip), "--keyframe", str(plain), "-o", str(tmp_path / "refused")]) == 2
    assert "inverted" in capsys.readouterr().err and not (tmp_path / "refused").exists()
    out = tmp_path / "tracked"
    assert main(["track", str(clip), "--keyframe", str(key), "-o", str(out)]) == 0, capsys.readouterr().err
    files = sorted(out.glob("*.png"))
    assert len(files) == N
    first = read_mask_image(files[0])
    assert np.array_equal(first > 0, all_but_a_box()) and is_own_mask(files[0], first)
    assert all(is_own_mask(f, read_mask_image(f)) for f in files)
    assert np.array_equal(load_masks(out, N, W, H).get(0), all_but_a_box())
