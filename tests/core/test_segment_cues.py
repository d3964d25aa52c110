"""Weight-free cues (camera motion, motion logit, colour model, superpixels) and the click-and-track
path on a synthetic clip: a textured square moving over a textured background while the camera pans."""
from __future__ import annotations

import cv2
import numpy as np

from app.core.segment import GrabCutSegmenter, TrackParams, click_motion, mask_iou, track
from app.core.segment.cues import ColourModel, camera_motion, motion_logit, superpixels, texture_weight


def panning_clip(n=12, h=120, w=160, side=36, pan=3, speed=(4, 1), seed=3):
    """Frames RGB uint8 and bool square masks: the background pans ``pan`` px/frame left, the
    square (its own texture, other colours) moves ``speed`` px/frame over it."""
    rng = np.random.default_rng(seed)
    big_w = w + pan * n + 16
    tex = cv2.resize(rng.integers(0, 140, (h // 6 + 2, big_w // 6 + 2, 3), dtype=np.uint8), (big_w, h + 12),
                     interpolation=cv2.INTER_CUBIC)
    tex[..., 0] //= 2
    obj = cv2.resize(rng.integers(0, 90, (side // 4, side // 4, 3), dtype=np.uint8), (side, side),
                     interpolation=cv2.INTER_CUBIC).astype(np.int16)
    obj = np.clip(obj + np.array((150, 40, 60), np.int16), 0, 255).astype(np.uint8)
    frames, masks = [], []
    for i in range(n):
        img = np.ascontiguousarray(tex[:h, pan * i:pan * i + w])
        x0, y0 = 40 + speed[0] * i, 40 + speed[1] * i
        img[y0:y0 + side, x0:x0 + side] = obj
        m = np.zeros((h, w), bool)
        m[y0:y0 + side, x0:x0 + side] = True
        frames.append(img)
        masks.append(m)
    return frames, masks


def test_camera_motion_recovers_a_pan_and_leaves_the_object_in_the_residual():
    frames, masks = panning_clip(n=3)
    from app.core.segment import Flow

    flow = Flow()(frames[0], frames[1])  # frame0(x) ~ frame1(x + flow)
    hom, res = camera_motion(flow)
    assert hom is not None
    speed = np.hypot(res[..., 0], res[..., 1])
    inner = cv2.erode(masks[0].astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    far = cv2.dilate(masks[0].astype(np.uint8), np.ones((21, 21), np.uint8)) == 0
    assert np.median(speed[far]) < 0.5  # background: camera motion removed
    assert np.median(speed[inner]) > 2.5  # the square moves 4 px against a 3 px pan
    ml = motion_logit(res, np.median(res[inner], axis=0))
    assert ml[inner].mean() > 1.0 and ml[far].mean() < -1.0
    assert motion_logit(res, (0.1, 0.0)) is None  # an object moving with the camera: no cue


def test_colour_model_and_superpixels_and_texture_weight():
    frames, masks = panning_clip(n=1)
    img, m = frames[0], masks[0]
    cm = ColourModel()
    cm.fit(img, m, ~m)
    lg = cm.logit(img)
    assert lg[m].mean() > 1.0 and lg[~m].mean() < 0.0
    cm.update(img, m, ~m)
    assert cm.ready
    sp = superpixels(np.ascontiguousarray(img[..., ::-1]), 12)
    assert sp.shape == m.shape and sp.min() >= 1 and len(np.unique(sp)) > 50
    tw = texture_weight(np.zeros_like(img))
    assert tw.max() == 0.0 and texture_weight(img).mean() > 0.3


def test_one_click_with_motion_finds_the_square_on_a_panning_clip():
    frames, masks = panning_clip()
    seg = GrabCutSegmenter()
    seg.set_image(frames[0], index=0)
    flows = click_motion(lambda i: frames[i], 0, len(frames))
    assert isinstance(flows, list) and len(flows) == 3
    seg.set_motion(flows)
    best = seg.predict([(58, 58, 1)])[0].mask
    assert mask_iou(best, masks[0]) > 0.8
    single = click_motion(lambda i: frames[i], 0, len(frames), step=1)
    assert isinstance(single, np.ndarray) and single.shape == (*masks[0].shape, 2)
    assert click_motion(lambda i: frames[i], 0, 1) == []


def test_click_then_track_through_the_panning_clip():
    frames, masks = panning_clip()
    seg = GrabCutSegmenter()
    seg.set_image(frames[0], index=0)
    seg.set_motion(click_motion(lambda i: frames[i], 0, len(frames)))
    key = seg.predict([(58, 58, 1)])[0].mask
    res = track(lambda i: frames[i], len(frames), {0: key}, GrabCutSegmenter())
    ious = [mask_iou(res.mask(i), masks[i]) for i in range(len(frames))]
    assert min(ious) > 0.8, ious
    # the cue tracker is the default for GrabCut; the plain re-segmentation path still works
    plain = track(lambda i: frames[i], len(frames), {0: masks[0]}, GrabCutSegmenter(),
                  params=TrackParams(cues=False))
    assert np.mean([mask_iou(plain.mask(i), masks[i]) for i in range(len(frames))]) > 0.6
