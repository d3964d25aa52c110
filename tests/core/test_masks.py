import cv2
import numpy as np
import pytest

from app.core.errors import MaskError
from app.core.masks import MaskFolder, MaskStore, StationaryMask, decode_labels, dilate, encode_labels, load_masks


def _png(path, mask):
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255)
    return path


def test_single_image_any_size_is_resized_nearest(tmp_path):
    m = np.zeros((120, 216), bool)
    m[10:20, 100:150] = True
    src = load_masks(_png(tmp_path / "logo.png", m), 7, 432, 240)
    assert isinstance(src, StationaryMask) and len(src) == 7
    got = src.get(5)
    assert got.shape == (240, 432) and got.dtype == bool
    assert got[20:40, 200:300].all() and got.sum() == 20 * 100


def test_folder_is_sorted_and_counted(tmp_path):
    for i in range(3):
        m = np.zeros((24, 32), bool)
        m[i, i] = True
        _png(tmp_path / f"m{i:02d}.png", m)
    src = load_masks(tmp_path, 3, 32, 24)
    assert isinstance(src, MaskFolder)
    assert [np.argwhere(src.get(i))[0].tolist() for i in range(3)] == [[0, 0], [1, 1], [2, 2]]
    with pytest.raises(MaskError, match="has 3 images but the video has 5 frames"):
        load_masks(tmp_path, 5, 32, 24)


def test_wrong_shape_and_missing(tmp_path):
    with pytest.raises(MaskError, match="another shape"):
        load_masks(_png(tmp_path / "sq.png", np.ones((100, 100), bool)), 3, 432, 240)
    with pytest.raises(MaskError, match="does not exist"):
        load_masks(tmp_path / "none.png", 3, 432, 240)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(MaskError, match="Cannot read mask image"):
        load_masks(tmp_path / "broken.png", 3, 432, 240)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MaskError, match="has no images"):
        load_masks(empty, 3, 432, 240)


def test_mask_video(tmp_path):
    from app.core.video import write_test_clip

    frames = []
    for i in range(4):
        f = np.zeros((48, 64, 3), np.uint8)
        f[10:20, 10 + 5 * i:30 + 5 * i] = 255
        frames.append(f)
    write_test_clip(tmp_path / "m.mp4", frames)
    src = load_masks(tmp_path / "m.mp4", 4, 128, 96)
    assert src.get(2)[24:36, 44:76].all() and not src.get(2)[:, :10].any()
    with pytest.raises(MaskError, match="must match frame for frame"):
        load_masks(tmp_path / "m.mp4", 9, 128, 96)


def test_dilate_with_cross():
    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    d = dilate(m, 2)
    assert d.sum() == 13 and d[4, 2] and d[2, 4] and not d[2, 2]  # a diamond, as a 3x3 cross grows


def test_store_is_compact_and_shares_blobs():
    store = MaskStore(10_000, 1920, 1080)
    m = np.zeros((1080, 1920), bool)
    m[900:1000, 1600:1880] = True
    store.set_many(range(10_000), m)
    assert store.nbytes() < 20_000  # one small PNG for all frames
    assert np.array_equal(store.get(9_999), m)
    store.clear(5)
    assert store.is_empty(5) and not store.get(5).any() and len(store.masked_frames()) == 9_999
    store.set(6, np.zeros_like(m))
    assert store.is_empty(6)
    with pytest.raises(MaskError):
        store.set(1, np.zeros((10, 10), bool))
    with pytest.raises(IndexError):
        store.get(10_000)


def test_store_round_trip_pngs(tmp_path):
    store = MaskStore(3, 32, 24)
    m = np.zeros((24, 32), bool)
    m[5:9, 5:9] = True
    store.set(1, m)
    store.save_pngs(tmp_path / "out")
    again = MaskStore.from_source(load_masks(tmp_path / "out", 3, 32, 24), 3)
    assert again.masked_frames() == [1] and np.array_equal(again.get(1), m)


def test_label_maps_keep_several_masks_of_a_frame_apart():
    a = np.zeros((30, 40), bool)
    a[5:15, 5:15] = True
    b = np.zeros((30, 40), bool)
    b[10:20, 12:30] = True  # overlaps a: the later mask keeps the shared pixels
    got = decode_labels(encode_labels([a, b]), (30, 40))
    assert len(got) == 2 and np.array_equal(got[1], b) and np.array_equal(got[0], a & ~b)
    assert encode_labels([a] * 256) is None and encode_labels([]) is None
    assert decode_labels(b"junk", (30, 40)) == []  # damaged: nothing, not an error
    assert decode_labels(encode_labels([a, b]), (40, 30)) == []  # another frame size
