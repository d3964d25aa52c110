"""Several objects in one keyframe mask (a user clicked two people, or painted a logo as well):
each object is followed on its own, and what is painted on every frame is not followed."""
from __future__ import annotations

import importlib
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.errors import Cancelled
from app.core.jobs import CancelToken

from app.core.segment import (GrabCutSegmenter, TrackParams, mask_iou, objects_in, split_objects, track,
                              without_static)
from app.core.video import open_video


def discs(h, w, *circles):
    m = np.zeros((h, w), np.uint8)
    for x, y, r in circles:
        cv2.circle(m, (x, y), r, 1, -1)
    return m.astype(bool)


def flat_discs_clip(h, w, n, seed, where):
    """``n`` frames of a smooth colour texture with flat discs painted on: ``where(i)`` gives
    [((x, y, r), RGB)] for frame ``i``."""
    rng = np.random.default_rng(seed)
    bg = cv2.resize(rng.integers(0, 150, (h // 8, w // 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(n):
        f = bg.copy()
        for circle, colour in where(i):
            f[discs(h, w, circle)] = colour
        frames.append(f)
    return frames


def test_split_objects_groups_parts_by_distance_and_folds_specks_in():
    two = discs(96, 128, (30, 40, 12), (95, 50, 14))
    parts = split_objects(two, gap=5)
    assert len(parts) == 2 and sum(int(p.sum()) for p in parts) == int(two.sum())
    assert not (parts[0] & parts[1]).any()
    # parts closer than the gap (a racket splitting an arm) stay one object
    assert len(split_objects(discs(96, 128, (30, 40, 12), (46, 40, 3)), gap=5)) == 1
    # a speck far away is not an object of its own: it joins the nearest one
    speck = two | discs(96, 128, (120, 90, 1))
    parts = split_objects(speck, gap=5)
    assert len(parts) == 2 and sum(int(p.sum()) for p in parts) == int(speck.sum())
    # many objects (scattered paint), an empty mask, or a lone object: the mask as it is
    many = discs(96, 128, *[(10 + 12 * i, 10 + 9 * (i % 2), 3) for i in range(10)])
    assert len(split_objects(many, gap=3)) == 1
    assert len(split_objects(np.zeros((8, 8), bool), gap=3)) == 1
    assert np.array_equal(split_objects(two, gap=5, max_objects=1)[0], two)


def test_without_static_drops_what_every_other_frame_has():
    logo = np.zeros((40, 60), bool)
    logo[2:8, 40:58] = True
    obj = discs(40, 60, (20, 25, 6))
    paint = {i: logo | discs(40, 60, (20 + i, 25, 6)) if i % 3 else logo.copy() for i in range(1, 9)}
    got = without_static({0: obj | logo, 9: logo}, paint.get, range(1, 9))
    assert np.array_equal(got[0], obj) and not got[9].any()
    # without other frames to compare with, nothing is taken away
    assert np.array_equal(without_static({0: obj | logo}, paint.get, [])[0], obj | logo)


def test_without_static_drops_paint_from_some_frame_onwards_but_not_an_object_painted_beside():
    """A logo that appears at frame 10 and is painted from there onwards, an object selected on
    frame 14 (keyframe) and painted by hand, a little further on, on frame 15: the logo is not
    followed, the object is, whole. (Compared with every frame, the logo is not on frames 0-9,
    so before it was followed as an object: its mask slid with the camera onto every frame.)"""
    logo = np.zeros((40, 60), bool)
    logo[2:8, 40:58] = True
    obj = discs(40, 60, (20, 25, 6))
    paint = {i: (logo.copy() if i >= 10 else np.zeros_like(logo)) for i in range(30)}
    paint[15] = paint[15] | discs(40, 60, (22, 25, 6))
    reads = []

    def read(i):
        reads.append(i)
        return paint[i]

    others = [i for i in range(30) if i not in (5, 14)]
    got = without_static({5: obj, 14: obj | logo}, read, others)
    assert np.array_equal(got[14], obj) and np.array_equal(got[5], obj)
    assert len(reads) == len(set(reads)), "each frame's paint is read once"
    # a side needs `near` frames: near the range's end one frame alone is no evidence
    got = without_static({27: obj | logo}, read, [5, 26, 28])
    assert np.array_equal(got[27], obj | logo)


def _dogs(clips_dir, n):
    with open_video(clips_dir / "dogs_jump.mp4") as reader:
        frames = list(reader.iter_frames(0, n))
    labels = [np.array(Image.open(f)) for f in sorted((clips_dir / "dogs_jump_mask").glob("*.png"))[:n]]
    return frames, labels


def test_two_objects_clicked_on_one_frame_are_followed_each_on_its_own(clips_dir):
    """dogs_jump's big dog and the woman, selected on frame 0 (true masks), tracked together: the
    tracked union stays as close to theirs as tracking each alone does. Followed as one blob (the
    tracker before, ``object_gap=0``) the two objects' different motions and colours blur into
    one model and the masks drift (0.69 against 0.84 over these 20 frames, measured)."""
    n = 20
    frames, labels = _dogs(clips_dir, n)
    truth = [np.isin(lab, (2, 3)) for lab in labels]
    assert len(split_objects(truth[0], round(0.02 * 240))) == 2

    def run(key, **kw):
        cv2.setRNGSeed(0)
        res = track(lambda i: frames[i], n, {0: key}, GrabCutSegmenter(seed=0), params=TrackParams(**kw))
        return [res.mask(i) for i in range(n)]

    def score(masks, gt):
        return float(np.mean([mask_iou(m, g) for m, g in zip(masks[1:], gt[1:])]))

    together = score(run(truth[0]), truth)
    alone = [run(labels[0] == k) for k in (2, 3)]
    separate = score([a | b for a, b in zip(*alone)], truth)
    as_one = score(run(truth[0], object_gap=0), truth)
    assert together > 0.78 and together > separate - 0.03, (together, separate)
    assert together > as_one + 0.08, (together, as_one)


def test_two_objects_between_two_keyframes_and_one_left_out_of_the_second():
    """Two textured discs moving apart, both on keyframes 0 and 8: every frame between has both.
    With only the left disc on keyframe 8 (the user took the right one out there), the frames
    nearer to 8 follow that keyframe's word: the left disc alone."""
    n, h, w = 9, 96, 160
    rng = np.random.default_rng(4)
    big = cv2.resize(rng.integers(0, 150, (h // 8 + 1, (w + 2 * n) // 8 + 1, 3), dtype=np.uint8),
                     ((w + 2 * n) // 8 * 8 + 8, h + 8), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:h, :w]
    frames, left, right = [], [], []
    for i in range(n):
        img = np.ascontiguousarray(big[:h, i:i + w])
        a, b = discs(h, w, (40 - 2 * i, 48, 13)), discs(h, w, (110 + 2 * i, 44, 13))
        for m, c in ((a, (210, 50, 40)), (b, (40, 60, 220))):
            s = (30 * np.sin(xx / 2.0) * np.cos(yy / 3.0)).astype(np.int16)
            img[m] = np.clip(np.array(c, np.int16) + s[m][:, None], 0, 255).astype(np.uint8)
        frames.append(img)
        left.append(a)
        right.append(b)
    cv2.setRNGSeed(0)
    res = track(lambda i: frames[i], n, {0: left[0] | right[0], 8: left[8] | right[8]}, GrabCutSegmenter())
    for i in range(1, 8):
        got = res.mask(i)
        assert mask_iou(got & (xx < 80), left[i]) > 0.8, i
        assert mask_iou(got & (xx >= 80), right[i]) > 0.8, i
    res = track(lambda i: frames[i], n, {0: left[0] | right[0], 8: left[8]}, GrabCutSegmenter())
    for i in range(1, 8):
        got = res.mask(i)
        assert mask_iou(got & (xx < 80), left[i]) > 0.8, i
        assert mask_iou(got & (xx >= 80), right[i]) > 0.8 if i <= 4 else not (got & (xx >= 80)).any(), i


def test_objects_in_keeps_the_users_selections_apart():
    a = discs(60, 120, (30, 30, 12))
    b = discs(60, 120, (52, 30, 11))  # touching a: split_objects alone would make them one
    stroke = discs(60, 120, (30, 44, 3))  # brushed onto a's edge
    far = discs(60, 120, (100, 30, 8))
    mask = a | b | stroke | far
    assert len(split_objects(mask, 3)) == 2
    got = objects_in(mask, [a, b], 3)
    assert len(got) == 3
    assert np.array_equal(got[0], (a | stroke) & ~b) and np.array_equal(got[1], b) and np.array_equal(got[2], far)
    # a selection the user took away again (erased) is left out; one selected again is not doubled
    assert len(objects_in(a, [a, b], 3)) == 1
    assert len(objects_in(a | b, [a, b, b], 3)) == 2
    # nothing known: as split_objects
    assert len(objects_in(mask, [], 3)) == 2


def test_touching_objects_selected_one_by_one_are_followed_each_on_its_own(clips_dir):
    """dogs_jump's woman and the small dog at her feet touch on frame 0: as one mask they are one
    group and followed as one blob, which the dog's jump tears apart (0.27-0.45 over 30 frames
    with OpenCV seeds 0-2, measured; 0.61 as two); given as two objects (the GUI remembers each
    selection) each is followed alone."""
    n = 30
    frames, labels = _dogs(clips_dir, n)
    truth = [np.isin(lab, (1, 3)) for lab in labels]
    assert len(split_objects(truth[0], round(0.02 * 240))) == 1

    def score(key):
        cv2.setRNGSeed(0)
        res = track(lambda i: frames[i], n, {0: key}, GrabCutSegmenter(seed=0))
        return float(np.mean([mask_iou(res.mask(i), g) for i, g in zip(range(1, n), truth[1:])]))

    as_one, as_two = score(truth[0]), score([labels[0] == 1, labels[0] == 3])
    assert as_two > 0.55 and as_two > as_one + 0.1, (as_two, as_one)


def test_objects_followed_side_by_side_give_the_same_masks_every_time(clips_dir):
    """Several objects run on threads (``TrackParams.threads``), each step seeded by frame and
    object: two runs give identical masks, close to following them one after another."""
    n = 8
    frames, labels = _dogs(clips_dir, n)
    objs = [labels[0] == k for k in (1, 2, 3)]

    def run(threads):
        cv2.setRNGSeed(0)
        res = track(lambda i: frames[i], n, {0: objs}, GrabCutSegmenter(), params=TrackParams(threads=threads))
        return [res.mask(i) for i in range(n)]

    a, b, one = run(2), run(2), run(1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    truth = [np.isin(lab, (1, 2, 3)) for lab in labels]
    side, seq = (float(np.mean([mask_iou(m, g) for m, g in zip(r[1:], truth[1:])])) for r in (a, one))
    assert side > 0.75 and abs(side - seq) < 0.05, (side, seq)


def test_objects_share_each_frames_flow_warp_colour_bins_and_texture(monkeypatch):
    """What every object's step computes alike on a frame (the flow, the previous frame warped by
    it, the colour bins, the texture weight) is computed once a frame, however many objects,
    on threads or not, and the masks are those of objects tracked one by one."""
    tr = importlib.import_module("app.core.segment.track")  # the package's ``track`` is the function
    h, w, n = 72, 128, 6
    frames = flat_discs_clip(h, w, n, 7, lambda i: [((22 + 2 * i, 24, 8), (220, 60, 50)),
                                                    ((100 - 2 * i, 24, 8), (50, 60, 220)),
                                                    ((60, 52 - i, 8), (60, 200, 60))])
    key = [discs(h, w, (22, 24, 8)), discs(h, w, (100, 24, 8)), discs(h, w, (60, 52, 8))]
    calls = {"bins": 0, "texture": 0, "warp": 0}
    for name, fn in (("bins", tr.colour_bins), ("texture", tr.texture_weight), ("warp", tr.warp)):
        def counted(*a, _fn=fn, _name=name, **k):
            calls[_name] += 1
            return _fn(*a, **k)
        monkeypatch.setattr(tr, {"bins": "colour_bins", "texture": "texture_weight", "warp": "warp"}[name], counted)

    def run(objs, threads):
        cv2.setRNGSeed(0)
        res = track(lambda i: frames[i], n, {0: objs}, GrabCutSegmenter(), params=TrackParams(threads=threads))
        return [res.mask(i) for i in range(n)]

    together = run(key, 3)
    steps = n - 1
    # per frame: the new frame's bins and texture once; the previous frame's warp once, and each
    # object's own mask warp; the keyframe's bins and texture once more (colour fit, texture gate)
    assert calls["bins"] <= steps + 1 and calls["texture"] <= steps + 1, calls
    assert calls["warp"] <= steps * (1 + len(key)), calls
    alone = [run([o], 1) for o in key]
    union = [np.logical_or.reduce([a[i] for a in alone]) for i in range(n)]
    assert all(mask_iou(a, b) > 0.97 for a, b in zip(together, union))


def test_cancel_stops_objects_followed_side_by_side_and_their_threads():
    h, w, n = 72, 128, 12
    frames = flat_discs_clip(h, w, n, 5, lambda i: [((20 + 2 * i, 36, 9), (220, 60, 50)),
                                                    ((100 - 2 * i, 36, 9), (50, 60, 220))])
    before = threading.active_count()
    token, seen = CancelToken(), []

    def get_frame(i):
        seen.append(i)
        if len(seen) == 4:
            token.cancel()
        return frames[i]

    key = [discs(h, w, (20, 36, 9)), discs(h, w, (100, 36, 9))]
    with pytest.raises(Cancelled):
        track(get_frame, n, {0: key}, GrabCutSegmenter(), cancel=token, params=TrackParams(threads=2))
    assert len(seen) <= 5  # stopped at the next frame boundary
    assert threading.active_count() == before  # the worker threads are gone


def test_a_keyframe_list_with_an_empty_object_or_mixed_sizes():
    h, w, n = 60, 80, 4
    frames = flat_discs_clip(h, w, n, 6, lambda i: [((20 + 2 * i, 30, 8), (220, 60, 50))])
    key = [discs(h, w, (20, 30, 8)), np.zeros((h, w), bool)]  # the second: a selection erased since
    res = track(lambda i: frames[i], n, {0: key}, GrabCutSegmenter())
    assert res.flagged() == [] and all(mask_iou(res.mask(i), discs(h, w, (20 + 2 * i, 30, 8))) > 0.8 for i in range(n))
    with pytest.raises(ValueError, match="differ in size"):
        track(lambda i: frames[i], n, {0: [key[0], np.zeros((10, 10), bool)]}, GrabCutSegmenter())
