import cv2
import numpy as np

from app.core.maskgen import bezier_closed_contour, moving_masks, sample_masks, stationary_mask


def _components(m):
    return cv2.connectedComponents(m.astype(np.uint8), connectivity=8)[0] - 1


def _has_holes(m):
    # background pixels not connected to the border (4-connectivity of the inverse)
    padded = np.pad(1 - m, 1, constant_values=1).astype(np.uint8)
    return cv2.connectedComponents(padded, connectivity=4)[0] - 1 > 1


def test_stationary_masks_closed_connected_bounded():
    fractions = []
    for seed in range(40):
        m = stationary_mask(240, 432, np.random.default_rng(seed))
        assert m.shape == (240, 432) and m.dtype == np.uint8
        assert set(np.unique(m)) <= {0, 1}
        assert _components(m) == 1
        assert not _has_holes(m)
        fractions.append(m.mean())
    assert 0.005 < min(fractions) and max(fractions) < 0.5
    assert np.std(fractions) > 0.01  # sizes vary


def test_stationary_mask_seeded():
    a = stationary_mask(120, 216, np.random.default_rng(7))
    b = stationary_mask(120, 216, np.random.default_rng(7))
    c = stationary_mask(120, 216, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(stationary_mask(120, 216, 7), a)  # an int seed works the same


def test_bezier_contour_passes_through_control_points():
    pts = np.array([[10.0, 0.0], [0.0, 10.0], [-10.0, 0.0], [0.0, -10.0]])
    curve = bezier_closed_contour(pts, samples=8)
    assert curve.shape == (32, 2)
    assert np.allclose(curve[::8], pts)


def test_moving_masks_move_and_stay_connected():
    rng = np.random.default_rng(3)
    ms = moving_masks(8, 120, 216, rng)
    assert ms.shape == (8, 120, 216) and ms.dtype == np.uint8
    centroids = []
    for m in ms:
        assert _components(m) == 1
        ys, xs = np.nonzero(m)
        centroids.append((xs.mean(), ys.mean()))
    assert np.linalg.norm(np.subtract(centroids[-1], centroids[0])) > 2
    assert np.array_equal(ms, moving_masks(8, 120, 216, np.random.default_rng(3)))


def test_sample_masks_mixes_both_kinds():
    kinds = set()
    for seed in range(12):
        ms = sample_masks(5, 60, 108, np.random.default_rng(seed))
        assert ms.shape == (5, 60, 108) and ms.any()
        kinds.add(all(np.array_equal(ms[0], m) for m in ms))
    assert kinds == {True, False}
