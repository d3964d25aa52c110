"""Weight-free GrabCut segmenter on a synthetic image: a coloured disc on a textured background."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.core.segment import GrabCutSegmenter, mask_iou


def scene(h=96, w=128, centre=(60, 45), r=16, seed=0, disc=True):
    """RGB uint8 (h, w, 3) textured background with a red disc; returns (image, bool disc mask)."""
    rng = np.random.default_rng(seed)
    tex = rng.integers(0, 160, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    tex[..., 0] //= 3  # little red in the background
    img = cv2.resize(tex, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img.astype(np.int16) + rng.integers(-12, 12, img.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, centre, r, 1, -1)
    mask = mask.astype(bool)
    if disc:
        img[mask] = (220, 60, 50)
    return img, mask


def test_one_click_finds_the_disc():
    img, gt = scene()
    seg = GrabCutSegmenter()
    seg.set_image(img, index=0)
    cands = seg.predict([(60, 45, 1)])
    assert cands and cands[0].mask.shape == gt.shape and cands[0].mask.dtype == bool
    assert mask_iou(cands[0].mask, gt) > 0.8
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)


def test_a_cut_that_keeps_only_the_click_itself_is_no_candidate():
    """A click deep inside a large even object: the smallest box's cut finds no edge and keeps only
    the click's own disk (54 px beside the 31,000-px object): offered, it was an empty thumbnail
    to cycle past. Beside cuts over 100 times its size it is left out; alone it stays."""
    rng = np.random.default_rng(0)
    h, w = 240, 320
    img = np.full((h, w, 3), (60, 120, 60), np.uint8) + rng.integers(0, 20, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    obj = (xx - 160) ** 2 / 110 ** 2 + (yy - 120) ** 2 / 90 ** 2 <= 1
    img[obj] = (150, 90, 40) + rng.integers(0, 20, (int(obj.sum()), 3), dtype=np.uint8)
    seg = GrabCutSegmenter(seed=0)
    seg.set_image(img, index=0)
    disk = np.pi * seg._disk_radius() ** 2
    cands = seg.predict([(160, 120, 1)])
    assert cands and mask_iou(cands[0].mask, obj) > 0.9
    assert all(c.mask.sum() > 1.5 * disk for c in cands), [int(c.mask.sum()) for c in cands]
    flat = np.full((h, w, 3), 90, np.uint8)  # nothing to cut at all: the click's disk is still offered
    seg.set_image(flat, index=1)
    assert len(seg.predict([(160, 120, 1)])) >= 1


def test_off_centre_click_and_box_and_negative_click():
    img, gt = scene(centre=(40, 60), r=14, seed=3)
    seg = GrabCutSegmenter()
    seg.set_image(img)
    assert mask_iou(seg.predict([(46, 55, 1)])[0].mask, gt) > 0.8
    boxed = seg.predict([], box=(20, 40, 60, 80))[0].mask
    assert mask_iou(boxed, gt) > 0.8
    # a negative click on the background keeps that spot out
    neg = seg.predict([(40, 60, 1), (20, 40, 0)], box=(10, 30, 70, 90))[0].mask
    assert not neg[40, 20] and mask_iou(neg, gt) > 0.8


def test_prior_mask_is_refined_onto_the_object():
    img, gt = scene()
    prior = np.roll(gt, (3, -4), axis=(0, 1))  # a slightly misplaced previous-frame mask
    seg = GrabCutSegmenter()
    seg.set_image(img)
    out = seg.predict([], prior=prior)[0].mask
    assert mask_iou(out, gt) > max(0.85, mask_iou(prior, gt))


def test_large_frames_are_downscaled_and_answered_at_full_size():
    img, gt = scene(h=480, w=640, centre=(300, 220), r=80)
    seg = GrabCutSegmenter(max_side=200)
    seg.set_image(img, index=5)
    m = seg.predict([(300, 220, 1)])[0].mask
    assert m.shape == (480, 640) and mask_iou(m, gt) > 0.8


def test_a_click_on_a_large_frame_cuts_at_most_cut_pixels_and_still_finds_the_object(monkeypatch):
    """GrabCut's time grows faster than its pixel count: a click's box cuts on a big frame run on
    scaled copies of at most ``cut_pixels`` pixels, and the answer comes back at full size."""
    img, gt = scene(h=360, w=640, centre=(330, 170), r=90, seed=2)
    sizes = []
    run = GrabCutSegmenter._run

    def counting(self, lab, crop):
        sizes.append(lab.size)
        assert crop.shape[:2] == lab.shape
        return run(self, lab, crop)

    monkeypatch.setattr(GrabCutSegmenter, "_run", counting)
    seg = GrabCutSegmenter(cut_pixels=20_000)
    seg.set_image(img, index=0)
    cands = seg.predict([(330, 170, 1)])
    assert max(sizes) <= 20_000 * 1.02 and len(sizes) >= 4
    assert cands[0].mask.shape == gt.shape and mask_iou(cands[0].mask, gt) > 0.85
    # unscaled (a budget that holds the whole frame): the same object, on crops over the small budget
    sizes.clear()
    seg = GrabCutSegmenter(cut_pixels=640 * 360)
    seg.set_image(img, index=0)
    full = seg.predict([(330, 170, 1)])[0].mask
    assert max(sizes) > 20_000 and mask_iou(full, gt) > 0.85


def test_the_same_click_gives_the_same_candidates_and_leaves_opencvs_random_state_alone():
    img, _ = scene(h=120, w=160, centre=(80, 60), r=22, seed=4)
    seg = GrabCutSegmenter()
    seg.set_image(img, index=0)
    cv2.setRNGSeed(123)
    first = seg.predict([(80, 60, 1)])
    after = cv2.randu(np.zeros((4, 1), np.int32), 0, 1 << 30).ravel().tolist()
    cv2.setRNGSeed(123)
    expected = cv2.randu(np.zeros((4, 1), np.int32), 0, 1 << 30).ravel().tolist()
    assert after == expected  # the cuts ran on their own threads' generators
    cv2.setRNGSeed(999)  # a different global state changes nothing either
    again = seg.predict([(80, 60, 1)])
    assert len(again) == len(first)
    assert all(np.array_equal(a.mask, b.mask) and a.score == b.score for a, b in zip(first, again))


def test_motion_grows_a_click_over_a_two_coloured_moving_object():
    """A click on one colour of a moving two-colour disc: the shared motion brings in the other half."""
    from app.core.segment import Flow

    h, w, r = 96, 128, 18
    rng = np.random.default_rng(5)
    tex = cv2.resize(rng.integers(0, 160, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8), (w + 16, h + 16),
                     interpolation=cv2.INTER_CUBIC)
    # the object is textured too (flow needs texture), red on top, blue below
    obj = cv2.resize(rng.integers(0, 70, (12, 12), dtype=np.uint8), (48, 48), interpolation=cv2.INTER_CUBIC)
    tint = np.zeros((48, 48, 3), np.int16)
    tint[:24] = (180, 20, 20)
    tint[24:] = (20, 40, 180)
    obj_rgb = np.clip(tint + obj[..., None], 0, 255).astype(np.uint8)
    frames, masks = [], []
    for i in range(2):
        img = np.ascontiguousarray(tex[:h, i:i + w])  # background pans 1 px
        m = np.zeros((h, w), np.uint8)
        cx = 55 + 5 * i  # disc moves 5 px
        cv2.circle(m, (cx, 48), r, 1, -1)
        m = m.astype(bool)
        patch = np.zeros_like(img)
        patch[24:72, cx - 24:cx + 24] = obj_rgb
        img[m] = patch[m]
        frames.append(img)
        masks.append(m)
    seg = GrabCutSegmenter()
    seg.set_image(frames[0], index=0)
    seg.set_motion(Flow()(frames[0], frames[1]))
    best = seg.predict([(55, 38, 1)])[0].mask
    assert mask_iou(best, masks[0]) > 0.8
    seg.set_motion(None)
    assert seg.predict([(55, 38, 1)])[0].mask.shape == (h, w)
    with pytest.raises(ValueError):
        seg.set_motion(np.zeros((10, 10, 2), np.float32))


def two_discs(seed=7):
    """A red disc (the object) touching a green disc (a neighbour), on a textured background."""
    img, red = scene(centre=(50, 48), r=15, seed=seed)
    green = np.zeros(red.shape, np.uint8)
    cv2.circle(green, (80, 48), 15, 1, -1)
    green = green.astype(bool) & ~red
    img[green] = (60, 200, 70)
    return img, red, green


def test_negative_click_edits_the_shown_mask_and_leaves_the_rest():
    """The user's mask took in the neighbour: one negative click on it removes the neighbour only."""
    img, red, green = two_discs()
    seg = GrabCutSegmenter()
    seg.set_image(img, index=0)
    shown = red | green
    out = seg.predict([(50, 48, 1), (84, 48, 0)], previous=shown)[0].mask
    assert mask_iou(out, red) > 0.85
    assert np.count_nonzero(out & green) < 0.1 * np.count_nonzero(green)
    assert not out[48, 84]


def test_positive_click_adds_the_missed_part_and_keeps_the_mask():
    img, red, green = two_discs()
    seg = GrabCutSegmenter()
    seg.set_image(img, index=0)
    half = red.copy()
    half[:, 50:] = False  # the shown mask misses the red disc's right half
    out = seg.predict([(44, 48, 1), (58, 48, 1)], previous=half)[0].mask
    added = out & ~half
    assert mask_iou(out, red) > mask_iou(half, red) + 0.15  # the part around the click comes in
    assert np.count_nonzero(added & red) >= 0.9 * np.count_nonzero(added)  # and no background with it
    assert (out & half).sum() >= 0.95 * half.sum()  # what was right stays
    # a second click on what is still missing adds that too
    out2 = seg.predict([(44, 48, 1), (58, 48, 1), (56, 38, 1), (56, 58, 1)][:3], previous=out)[0].mask
    out3 = seg.predict([(44, 48, 1), (58, 48, 1), (56, 38, 1), (56, 58, 1)], previous=out2)[0].mask
    assert mask_iou(out3, red) > max(0.85, mask_iou(out, red))


def test_edit_far_from_the_click_changes_nothing():
    """An edit is local: a second object in the shown mask, far from the click, is kept as it was."""
    img, red, green = two_discs()
    far = np.zeros(red.shape, bool)
    far[5:15, 5:15] = True  # e.g. a separate part the user kept on purpose
    seg = GrabCutSegmenter()
    seg.set_image(img, index=0)
    out = seg.predict([(50, 48, 1), (84, 48, 0)], previous=red | green | far)[0].mask
    assert out[far].all()


def test_previous_of_the_wrong_size_is_refused():
    img, red, _ = two_discs()
    seg = GrabCutSegmenter()
    seg.set_image(img)
    with pytest.raises(ValueError, match="previous mask"):
        seg.predict([(50, 48, 1)], previous=np.ones((5, 5), bool))


def test_reaches_tells_whether_a_click_can_correct_a_mask():
    """``reaches``: inside the mask or within the edit window of it (0.5 sqrt(area), at least 3 %
    of the short side) a click corrects the mask; farther away it selects something new."""
    from app.core.segment.base import Segmenter

    seg = GrabCutSegmenter()
    m = np.zeros((100, 200), bool)
    m[40:60, 40:60] = True  # area 400: reach 10 px
    assert seg.reaches(m, 50, 50) and seg.reaches(m, 68, 50) and seg.reaches(m, 50, 33)
    assert not seg.reaches(m, 75, 50) and not seg.reaches(m, 150, 90)
    assert not seg.reaches(np.zeros_like(m), 50, 50)
    assert Segmenter.reaches(seg, m, 50, 50) is False  # the default: segmenters that only refine their own answers


def test_the_reach_is_sized_by_the_piece_near_the_click():
    """A large painted logo elsewhere on the frame does not widen a small object's reach: each piece
    of the frame's mask has its own edit window, so a click meant for a new object beside the small
    one selects anew, while clicks on or near either piece still correct the mask."""
    seg = GrabCutSegmenter()
    m = np.zeros((240, 432), bool)
    m[40:60, 40:60] = True      # the tracked object: area 400, reach 10 px (7.2 px floor)
    m[150:230, 250:420] = True  # a painted logo: area 13,600, reach 58 px
    assert seg.reaches(m, 68, 50) and seg.reaches(m, 50, 50)       # at the object
    assert not seg.reaches(m, 90, 50)  # 30 px away: a new object (the whole mask's window would be 60 px)
    assert seg.reaches(m, 250 - 50, 190) and seg.reaches(m, 300, 200)  # near or on the logo
    both = m.copy()
    both[60:200, 40:44] = True    # joined by a strip that runs down and across, away from the click:
    both[196:200, 40:256] = True  # one piece, so the whole mask's window (62 px) applies again
    assert seg.reaches(both, 90, 50)
