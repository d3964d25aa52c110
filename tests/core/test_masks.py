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
    assert src.scaled_from == (216, 120)  # (the window says so)
    assert load_masks(_png(tmp_path / "same.png", got), 7, 432, 240).scaled_from is None


def test_folder_is_sorted_and_counted(tmp_path):
    for i in range(3):
        m = np.zeros((24, 32), bool)
        m[i, i] = True
        _png(tmp_path / f"m{i:02d}.png", m)
    src = load_masks(tmp_path, 3, 32, 24)
    assert isinstance(src, MaskFolder) and src.scaled_from is None
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
    assert src.scaled_from == (64, 48)
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


def _moving_disc(i, h=120, w=200):
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (30 + 5 * i, 60), 20, 1, -1)
    return m > 0


@pytest.mark.parametrize("threads", [1, 4])
def test_edit_adds_and_erases_on_every_frame_and_reports_what_changed(threads):
    """A stroke applied to every frame of a tracked clip (each frame its own mask): each frame
    gets the stroke and keeps its own mask; frames sharing a blob still share one; the changes
    are what undo needs, and the frames whose mask the paint landed on are named."""
    n = 20
    store = MaskStore(n, 200, 120)
    for i in range(10):
        store.set(i, _moving_disc(i))           # tracked: a blob per frame
    shared = _moving_disc(0)
    store.set_many(range(10, 18), shared)     # painted on 8 frames at once: one blob
    band = np.zeros((120, 200), bool)
    band[50:70, :] = True
    erase = np.zeros((120, 200), bool)
    erase[:, :40] = True
    before = {i: store.blob(i) for i in range(n)}
    over: list[int] = []
    changes = store.edit(range(n), band, erase, threads=threads, overlapped=over)
    for i in range(n):
        own = _moving_disc(i) if i < 10 else shared if i < 18 else np.zeros_like(band)
        assert np.array_equal(store.get(i), (own | band) & ~erase), i
    assert sorted(changes) == list(range(n)) and all(changes[i] == (before[i], store.blob(i)) for i in range(n))
    assert len({id(store.blob(i)) for i in range(10, 18)}) == 1  # still one blob for the eight
    assert sorted(over) == list(range(18))  # the empty frames held none of it
    again = store.edit(range(n), band, erase, threads=threads)
    assert again == {}  # nothing left to change: no step for undo
    emptied = store.edit([18], None, band)
    assert list(emptied) == [18] and store.is_empty(18) and emptied[18][1] is None


def test_masks_of_older_projects_still_load():
    """Blobs were 8-bit PNGs before masks were stored as 1-bit ones (4x smaller, 5x faster to
    encode at 1080p); a project saved then holds them and must read the same."""
    m = _moving_disc(3)
    ok, old = cv2.imencode(".png", m.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    store = MaskStore(2, 200, 120)
    store.set_blob(0, old.tobytes())
    store.set(1, m)
    assert np.array_equal(store.get(0), m) and np.array_equal(store.get(1), m)
    assert len(store.blob(1)) < len(old.tobytes())
    changes = store.edit([0], None, _moving_disc(4))  # editing an old blob works as well
    assert np.array_equal(store.get(0), m & ~_moving_disc(4)) and changes[0][0] == old.tobytes()


def test_any_mask_comes_back_bit_for_bit_at_any_size():
    rng = np.random.default_rng(1)
    for h, w in [(61, 97), (1, 1), (7, 13), (240, 433)]:  # widths that are no multiple of 8 too
        m = rng.random((h, w)) < 0.5
        store = MaskStore(1, w, h)
        store.set(0, m)
        assert np.array_equal(store.get(0), m), (h, w)
