"""Click-and-track benchmark of the weight-free segmenter (or SAM, ``--sam CHECKPOINT``) on the shared clips.

For every ground-truth object of every clip: one positive click at the object's centre on
the first frame (the interior point farthest from the edge of its ground-truth mask), the
segmenter's top candidate becomes the keyframe, and the tracker propagates it through all
frames. Reports mean IoU per object, per clip (mean over its objects) and overall (mean
over clips), plus the IoU of the union of a clip's tracked objects against the union mask.

Objects: binary masks (bmx-trees, tennis) are one object; palette masks (schoolgirls,
dogs_jump) have one object per label value.

Segment Anything (``--sam sam_vit_b_01ec64.pth [--device cuda]``): SAM answers the clicks and the
tracker re-prompts it on every frame (box and points from the warped mask), as ``track --sam``
and the GUI do with a checkpoint. Its image embedding takes about 7.5 s a frame on a 2-core CPU and
0.05 s on a GPU: on a CPU try ``--only tennis --frames 10`` first.

Corrective clicks (``--clicks 5``): the protocol of interactive-segmentation benchmarks. After
the first click, each next click goes to the interior point of the largest error region (a
positive click where the object was missed, a negative one where background was taken), until
N clicks; the first-frame IoU after each click is reported and the last mask is the keyframe.

Periodic keyframes (``--keyframe-every 10``): true masks on every 10th frame from the click frame
(a user who corrects a frame every 10), the tracker fills the frames between them; the IoU is
over the frames that are not keyframes. With ``--every-by click`` those keyframes are the masks of
``--clicks`` clicks on each of them instead (a user correcting with clicks; IoU over all frames).

Flags: after the table, how the tracker's flags (the GUI's amber marks) line up with its mistakes
(``flag_quality``: flagged frames that are bad, bad frames that are flagged, runs whose failure is
flagged within 3 frames).

Coverage (``--coverage 0 4 8 16``): how much of each object the tracked mask, grown by D steps of
the engine's Dilation setting, covers (what inpainting would remove) and how much larger than the
object it is.

Objects together (``--together [objects|mask]``): a user who selects several objects on one frame
and tracks once. The objects' first masks (from their clicks, or the true ones with ``--keyframe
gt``) are one keyframe, tracked in one run; its union IoU against the union of the true masks is
printed beside the union of the objects tracked one by one. ``objects`` passes them as a list, as
the GUI passes the selections it remembers; ``mask`` as their union, one mask, whose objects the
tracker tells apart by distance (a reopened project, painted masks); with ``--param
object_gap=0`` it is followed as one blob (the tracker before).

Held-out frames (``--click-frames 5 25 45``): the click (or the true mask) is on each of those
frames instead of frame 0 and the tracker runs forward from it to the end of the clip; objects
under ``--min-area`` px on that frame are skipped. A run's IoU is over the frames it tracked
(the click frame to the end); a clip's figures are means over its runs (objects x click frames).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_segment.py [--clips DIR] [--keyframe click|gt] [--no-redetect]
        [--click-frames 5 25 45] [--clicks 5] [--keyframe-every 10] [--seeds 0 1 2] [--param NAME=VALUE]
        [--seg NAME=VALUE] [--coverage 0 4 8 16] [--json out.json] [--frames N]
        [--together [objects|mask]]
        [--sam sam_vit_b_01ec64.pth [--device auto|cpu|cuda|mps]]
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.masks import dilate  # noqa: E402
from app.core.segment import (GrabCutSegmenter, Segmenter, TrackParams, mask_iou, prepare_click,  # noqa: E402
                              track)

CLIPS = ("bmx-trees", "tennis", "schoolgirls", "dogs_jump")


def load_frames(clips: Path, name: str) -> list[np.ndarray]:
    """All frames of a clip as RGB uint8 (H, W, 3): an image folder or an .mp4 beside it."""
    folder = clips / name
    if folder.is_dir():
        return [cv2.imread(str(f))[..., ::-1].copy() for f in sorted(folder.iterdir())
                if f.suffix.lower() in (".jpg", ".png")]
    cap = cv2.VideoCapture(str(clips / f"{name}.mp4"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f[..., ::-1].copy())
    return frames


def load_objects(clips: Path, name: str) -> dict[int, list[np.ndarray]]:
    """Ground truth: {object id: [bool (H, W) per frame]}."""
    from PIL import Image

    labels = [np.array(Image.open(f)) for f in sorted((clips / f"{name}_mask").glob("*.png"))]
    ids = sorted(set(np.unique(np.stack(labels))) - {0})
    if ids == [255]:
        return {1: [m > 0 for m in labels]}
    return {int(i): [m == i for m in labels] for i in ids}


def centre_click(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of the interior point farthest from the mask's edge."""
    d = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(x), int(y)


def next_click(pred: np.ndarray, gt: np.ndarray):
    """(x, y, label) of the next corrective click: the interior point of the largest error region
    (label 1 where the object was missed, 0 where background was taken), or None when none is left."""
    best = None
    for err, label in ((gt & ~pred, 1), (pred & ~gt, 0)):
        n, lab, stats, _ = cv2.connectedComponentsWithStats(err.astype(np.uint8), connectivity=8)
        if n <= 1:
            continue
        j = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if best is None or stats[j, cv2.CC_STAT_AREA] > best[0]:
            best = (stats[j, cv2.CC_STAT_AREA], lab == j, label)
    if best is None:
        return None
    # farthest from the region's edge, the frame border counting as an edge
    d = cv2.distanceTransform(np.pad(best[1], 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(x), int(y), best[2]


def _prepare(seg, frames, index, plate: int = 0):
    seg.set_image(frames[index], index=index)
    # as in the GUI: the motion cue is the weight-free path's; its background plate (``plate``
    # frames either side) adds a second candidate only, which the benchmark reaches with ``--tabs``
    prepare_click(seg, lambda i: frames[i], index, len(frames), plate=plate)


def _corrective_clicks(seg, mask, gt, points, n_clicks: int, edit: bool = True):
    """Clicks at the largest error region until there are ``n_clicks`` points (or no error is
    left), each editing the shown mask (``edit``) or re-segmenting from all the clicks; returns
    (mask, [IoU after each of these clicks])."""
    ious = []
    while len(points) < n_clicks:
        c = next_click(mask, gt)
        if c is None:
            break
        points.append(c)
        mask = seg.predict(points, previous=mask if edit else None)[0].mask
        ious.append(mask_iou(mask, gt))
    return mask, ious


def click_keyframe(seg, frames, gt0, n_clicks: int = 1, edit: bool = True, index: int = 0, tabs: int = 1):
    """The segmenter's top candidate on frame ``index`` after ``n_clicks`` clicks (the first at the
    object's centre, the rest corrective; with ``edit`` each click edits the shown mask, as in the
    GUI, else the segmenter starts over from all the clicks); returns (mask, [IoU after each click]).
    ``tabs`` > 1: after the first click the user keeps the best of the first ``tabs`` candidates
    (looks, and presses Tab up to ``tabs`` - 1 times), the background plate's candidate among them
    as the GUI offers it (second, where the object moves against its background)."""
    if not gt0.any():  # the object is not on this frame: a user would leave it empty
        return np.zeros_like(gt0), [1.0]
    x, y = centre_click(gt0)
    _prepare(seg, frames, index, plate=10 if tabs > 1 else 0)
    points = [(x, y, 1)]
    shown = [c.mask for c in seg.predict(points)[:max(1, tabs)]]
    mask = max(shown, key=lambda m: mask_iou(m, gt0))  # (the first where ties: the one shown)
    first = mask_iou(mask, gt0)
    mask, more = _corrective_clicks(seg, mask, gt0, points, n_clicks, edit)
    return mask, [first] + more


def correct_mask(seg, frames, index, mask, gt, n_clicks):
    """``mask`` on frame ``index`` after ``n_clicks`` corrective clicks that edit it (each at the
    largest error region, as in the GUI when a frame's mask is corrected). An empty mask (the
    tracker lost the object) is made again from clicks, as on the first frame."""
    if not mask.any():
        return click_keyframe(seg, frames, gt, n_clicks, True, index)[0]
    _prepare(seg, frames, index)
    return _corrective_clicks(seg, mask, gt, [], n_clicks)[0]


def run_object(frames, gt, keyframe: str, params: TrackParams, seed: int = 0, start: int = 0,
               n_clicks: int = 1, every: int = 0, edit: bool = True, every_by: str = "gt",
               make_segmenter: Optional[Callable[[int], Segmenter]] = None, tabs: int = 1):
    """Keyframe on frame ``start`` (clicks on the object, or the true mask), plus on every
    ``every``-th frame after it when ``every`` > 0 the true mask (``every_by`` "gt") or the mask of
    ``n_clicks`` clicks there ("click"), tracked forward to the last frame; returns
    (masks, per-frame IoU, flagged, keyframe indices, first-frame IoU after each click) for frames
    ``start``..end (indices relative to ``start``). ``make_segmenter(seed)`` gives the object's
    segmenter (default: ``GrabCutSegmenter(seed=seed)``)."""
    frames, gt = frames[start:], gt[start:]
    # GrabCut's k-means draws from OpenCV's random state: seeding it per object (the tracker's cuts
    # use the global state, the click cuts the segmenter's seed) makes each object's figure
    # independent of the objects run before it, and reproducible
    cv2.setRNGSeed(seed)
    seg = make_segmenter(seed) if make_segmenter is not None else GrabCutSegmenter(seed=seed)
    if keyframe == "gt":
        key, click_ious = gt[0], [1.0]
    else:
        key, click_ious = click_keyframe(seg, frames, gt[0], n_clicks, edit, tabs=tabs)
    keys = {0: key}
    last = 0
    for i in range(every, len(frames), every) if every > 0 else ():
        if every_by == "gt":
            keys[i] = gt[i]
        elif every_by == "click":
            keys[i] = click_keyframe(seg, frames, gt[i], n_clicks, edit, i)[0]
        else:  # "edit": the user looks at the tracked mask on frame i and corrects it with clicks
            part = track(lambda j: frames[last + j], i - last + 1, {0: keys[last]}, seg, params=params)
            keys[i] = correct_mask(seg, frames, i, part.mask(i - last), gt[i], n_clicks)
            last = i
    res = track(lambda i: frames[i], len(frames), keys, seg, params=params)
    masks = [res.mask(i) for i in range(len(frames))]
    ious = [mask_iou(m, g) for m, g in zip(masks, gt)]
    return masks, ious, res.flagged(), sorted(keys), click_ious


def coverage(masks, gt, dilation: int) -> tuple[float, float]:
    """(share of the object's pixels inside the mask grown by ``dilation`` steps, the grown mask's
    area / the object's), means over the frames where the object is present: what inpainting with
    that dilation setting would remove of the object, and how much more than the object it fills."""
    recall, size = [], []
    for m, g in zip(masks, gt):
        n = np.count_nonzero(g)
        if n:
            md = dilate(m, dilation)
            recall.append(np.count_nonzero(md & g) / n)
            size.append(np.count_nonzero(md) / n)
    return (float(np.mean(recall)), float(np.mean(size))) if recall else (1.0, 1.0)


def flag_quality(rows, bad: float = 0.5, near: int = 3) -> dict:
    """Do the tracker's flags point at its mistakes? Over every run's frames after the first: how
    many flagged frames are bad (IoU under ``bad``: precision), how many bad frames are flagged
    (recall), how many unflagged frames are bad, and of the runs that start good and go bad, in
    how many a frame within ``near`` frames of the first bad one is flagged."""
    tp = fp = fn = tn = onsets = caught = 0
    for row in rows:
        for key, runs in row["per_frame"].items():
            for ious, flags in zip(runs, row["flagged_frames"][key]):
                flags = set(flags)
                for i, v in enumerate(ious[1:], 1):
                    b, f = v < bad, i in flags
                    tp, fp, fn, tn = tp + (b and f), fp + (f and not b), fn + (b and not f), tn + (not b and not f)
                if ious[0] >= bad:
                    t = next((i for i, v in enumerate(ious) if v < bad), None)
                    if t is not None:
                        onsets += 1
                        caught += any(j in flags for j in range(t - near, t + near + 1))
    return {"flagged": tp + fp, "precision": tp / max(1, tp + fp), "bad": tp + fn, "recall": tp / max(1, tp + fn),
            "unflagged_bad": fn / max(1, fn + tn), "onsets": onsets, "onsets_flagged": caught}


def sam_segmenters(checkpoint: Path, device: str = "auto") -> Callable[[int], Segmenter]:
    """``make_segmenter`` for ``run_object`` with Segment Anything: the model is loaded once (an
    unusable file or device stops here with one line) and each object gets its own segmenter
    (its own embedding cache) over it. The seed is not used: SAM draws no random numbers."""
    from app.core.engine import resolve_device
    from app.core.errors import InpaintError
    from app.core.segment.sam import SamSegmenter, load_sam

    try:
        model = load_sam(checkpoint, device=str(resolve_device(device)))
    except InpaintError as exc:  # SegmentError and an unavailable device
        raise SystemExit(f"error: {exc}") from None
    return lambda seed: SamSegmenter(model)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--only", nargs="*", default=list(CLIPS))
    ap.add_argument("--keyframe", choices=("click", "gt"), default="click",
                    help="first-frame mask from one click (default) or the ground truth")
    ap.add_argument("--flow", choices=("dis", "farneback"), default="dis")
    ap.add_argument("--warp-only", action="store_true",
                    help="ablation: keep the flow-warped mask, never the re-segmentation")
    ap.add_argument("--no-redetect", action="store_true",
                    help="ablation: no occlusion guard / whole-frame re-detection (the tracker before it)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0],
                    help="OpenCV random seeds (GrabCut's k-means); with several, every object is run once "
                         "per seed and the figures are means over the seeds")
    ap.add_argument("--click-frames", type=int, nargs="+", default=[0], metavar="N",
                    help="held-out check: keyframe (click or true mask) on each of these frames instead of frame 0, "
                         "tracked forward to the end, e.g. --click-frames 5 25 45")
    ap.add_argument("--min-area", type=int, default=200,
                    help="with --click-frames: skip objects smaller than this (px) on the click frame")
    ap.add_argument("--clicks", type=int, default=1, metavar="N",
                    help="N clicks on the click frame: the centre click, then corrective ones at the largest error")
    ap.add_argument("--tabs", type=int, default=1, metavar="N",
                    help="a user who looks at the first click's candidates and keeps the best of the first N "
                         "(up to N-1 Tabs; the background plate's candidate among them, as in the GUI); "
                         "default 1: the first candidate")
    ap.add_argument("--from-scratch", action="store_true",
                    help="ablation: each corrective click re-segments from all clicks instead of editing the shown mask")
    ap.add_argument("--keyframe-every", type=int, default=0, metavar="K",
                    help="also give the true mask on every K-th frame after the click frame (IoU over the other frames)")
    ap.add_argument("--every-by", choices=("gt", "click", "edit"), default="gt",
                    help="with --keyframe-every: the periodic keyframes are the true masks (default) or the masks "
                         "of --clicks clicks on those frames (a user correcting with clicks; IoU over all frames), or "
                         "(edit) the tracked mask there corrected with --clicks clicks that edit it")
    ap.add_argument("--size", type=lambda t: tuple(int(v) for v in t.lower().split("x")), metavar="WxH",
                    help="upscale the clips and masks to this size first (e.g. 1280x720: tracking speed and "
                         "quality on HD-sized frames; upscaled frames are softer than real HD footage)")
    ap.add_argument("--coverage", type=int, nargs="+", default=[], metavar="D",
                    help="also report how much of each object the tracked mask grown by D dilation steps (the "
                         "engine's Dilation setting) covers, e.g. --coverage 0 4 8 16")
    ap.add_argument("--json", type=Path, help="also write the results here (with per-frame IoU)")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a TrackParams field for an ablation, e.g. --param fb_check=False")
    ap.add_argument("--seg", action="append", default=[], metavar="NAME=VALUE",
                    help="a GrabCutSegmenter argument for an ablation, e.g. --seg cut_pixels=60000")
    ap.add_argument("--sam", type=Path, metavar="CHECKPOINT",
                    help="segment with Segment Anything from this checkpoint (sam_vit_b_01ec64.pth, ...) "
                         "instead of the weight-free segmenter")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                    help="with --sam: where SAM runs (auto: the GPU when there is one)")
    ap.add_argument("--frames", type=int, default=0, metavar="N",
                    help="only the first N frames of each clip (a quick run)")
    ap.add_argument("--together", nargs="?", const="objects", choices=("objects", "mask"),
                    help="also track all of a clip's objects from one keyframe (a user who selects several "
                         "objects on a frame, then tracks once); union IoU. objects (default): the first "
                         "masks as a list, one per object, as the GUI passes its selections; mask: their "
                         "union as one mask (a project reopened, or masks painted)")
    args = ap.parse_args(argv)
    seg_kwargs = {k: ast.literal_eval(v) for k, _, v in (item.partition("=") for item in args.seg)}
    make_segmenter = (lambda seed: GrabCutSegmenter(**{"seed": seed, **seg_kwargs}))
    if args.sam is not None:
        make_segmenter = sam_segmenters(args.sam, args.device)
    overrides = {}
    for item in args.param:
        key, _, value = item.partition("=")
        overrides[key] = ast.literal_eval(value)
    params = TrackParams(**{"flow": args.flow, "accept_iou": 1.01 if args.warp_only else TrackParams.accept_iou,
                            "redetect": not args.no_redetect, **overrides})
    t_all = time.monotonic()
    # with periodic true keyframes only the tracked frames count; clicked ones are the user's masks
    true_keys = bool(args.keyframe_every) and args.every_by == "gt"
    rows, clip_means = [], {}
    for name in args.only:
        frames = load_frames(args.clips, name)
        objects = load_objects(args.clips, name)
        if args.frames > 0:
            frames, objects = frames[:args.frames], {k: ms[:args.frames] for k, ms in objects.items()}
        if args.size:  # stand-in for HD footage: frames and masks upscaled
            frames = [cv2.resize(f, args.size, interpolation=cv2.INTER_CUBIC) for f in frames]
            objects = {k: [cv2.resize(m.astype(np.uint8), args.size, interpolation=cv2.INTER_NEAREST) > 0 for m in ms]
                       for k, ms in objects.items()}
        n_masks = len(next(iter(objects.values())))
        if n_masks != len(frames):  # a silent off-by-N would pair each frame with another's mask
            raise SystemExit(f"{name}: {len(frames)} frames but {n_masks} masks")
        t0 = time.monotonic()
        held_out = args.click_frames != [0]
        per_obj, per_frame, per_click, per_flags, union_ious, per_cov = {}, {}, {}, {}, [], {}
        together = []
        for seed in args.seeds:
            for start in args.click_frames:
                if not 0 <= start < len(frames):
                    raise SystemExit(f"{name}: click frame {start} outside 0..{len(frames) - 1}")
                run = {oid: gt for oid, gt in objects.items()
                       if not held_out or np.count_nonzero(gt[start]) >= args.min_area}
                if not run:
                    continue
                union_gt = [np.any([gt[i] for gt in run.values()], axis=0) for i in range(start, len(frames))]
                union_pred = [np.zeros(f.shape[:2], bool) for f in frames[start:]]
                firsts = []
                for oid, gt in run.items():
                    key = f"{oid}@{start}" if held_out else oid
                    masks, ious, flagged, keys, click_ious = run_object(
                        frames, gt, args.keyframe, params, seed, start, args.clicks, args.keyframe_every,
                        not args.from_scratch, args.every_by, make_segmenter, args.tabs)
                    for u, m in zip(union_pred, masks):
                        u |= m
                    firsts.append(masks[0])
                    # with periodic true keyframes only the tracked frames count (keyframe 0 is the clicked one)
                    scored = [v for i, v in enumerate(ious) if i == 0 or i not in keys] if true_keys else ious
                    per_obj.setdefault(key, []).append((float(np.mean(scored)), float(ious[0]), len(flagged)))
                    per_frame.setdefault(key, []).append([round(float(v), 4) for v in ious])
                    per_flags.setdefault(key, []).append([int(i) for i in flagged])
                    per_click.setdefault(key, []).append([round(float(v), 4) for v in click_ious])
                    if args.coverage:
                        per_cov.setdefault(key, []).append([coverage(masks, gt[start:], d) for d in args.coverage])
                    clicks_txt = (" (after each click: " + " ".join(f"{v:.3f}" for v in click_ious) + ")"
                                  if args.clicks > 1 else "")
                    print(f"{name} object {oid}{f' from frame {start}' if held_out else ''} seed {seed}: "
                          f"first-frame IoU {ious[0]:.3f}{clicks_txt}, mean IoU {np.mean(scored):.3f}, "
                          f"flagged {len(flagged)}/{len(masks)}", flush=True)
                union_ious.append(np.mean([mask_iou(a, b) for i, (a, b) in enumerate(zip(union_pred, union_gt))
                                           if not true_keys or i == 0 or i % args.keyframe_every]))
                if args.together:  # the objects' first masks as one keyframe, tracked once
                    cv2.setRNGSeed(seed)
                    key = firsts if args.together == "objects" else np.any(firsts, axis=0)
                    res = track(lambda i: frames[start + i], len(frames) - start, {0: key},
                                make_segmenter(seed), params=params)
                    together.append(np.mean([mask_iou(res.mask(i), g) for i, g in enumerate(union_gt)]))
        per_obj = {k: tuple(np.mean(v, axis=0)) for k, v in per_obj.items()}
        # first-frame IoU after 1..N clicks, mean over the clip's runs (a run that ran out of
        # errors early keeps its last figure)
        curves = [c + c[-1:] * (args.clicks - len(c)) for runs in per_click.values() for c in runs]
        click_curve = [float(v) for v in np.mean(curves, axis=0)]
        union_iou = float(np.mean(union_ious))
        mean = float(np.mean([v[0] for v in per_obj.values()]))
        clip_means[name] = mean
        secs = time.monotonic() - t0
        rows.append({"clip": name, "frames": len(frames), "objects": len(objects), "runs": len(per_obj),
                     "mean_iou": mean,
                     "first_frame_iou": float(np.mean([v[1] for v in per_obj.values()])),
                     "union_iou": union_iou, "flagged": sum(v[2] for v in per_obj.values()),
                     "seconds": secs, "per_object": {str(k): v[0] for k, v in per_obj.items()},
                     "per_frame": {str(k): v for k, v in per_frame.items()},
                     "flagged_frames": {str(k): v for k, v in per_flags.items()},
                     "per_click": {str(k): v for k, v in per_click.items()}, "click_curve": click_curve,
                     "coverage": np.mean([np.mean(v, axis=0) for v in per_cov.values()], axis=0).tolist()
                     if per_cov else [], "together_iou": float(np.mean(together)) if together else None})
        print(f"== {name}: mean IoU {mean:.3f} (union {union_iou:.3f}) in {secs:.0f} s", flush=True)
    overall = float(np.mean(list(clip_means.values())))
    total = time.monotonic() - t_all
    first = float(np.mean([r["first_frame_iou"] for r in rows]))
    runs_col = "runs" if args.click_frames != [0] else "objects"
    print(f"\n| clip | frames | {runs_col} | first-frame IoU | mean IoU | union IoU | flagged frames | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['clip']} | {r['frames']} | {r['runs'] if runs_col == 'runs' else r['objects']} "
              f"| {r['first_frame_iou']:.3f} | {r['mean_iou']:.3f} "
              f"| {r['union_iou']:.3f} | {r['flagged']:.0f} | {r['seconds']:.0f} |")
    print(f"| **overall (mean of clips)** | | | {first:.3f} | **{overall:.3f}** | | | {total:.0f} |")
    if args.together:
        print(f"\nall objects from one keyframe (--together {args.together}), union IoU: "
              + ", ".join(f"{r['clip']} {r['together_iou']:.3f} (each alone {r['union_iou']:.3f})" for r in rows)
              + f"; mean {np.mean([r['together_iou'] for r in rows]):.3f} "
              f"(each alone {np.mean([r['union_iou'] for r in rows]):.3f})")
    if args.clicks > 1:
        curve = np.mean([r["click_curve"] for r in rows], axis=0)
        print("\nfirst-frame IoU after 1.." + str(args.clicks) + " clicks (mean of clips): "
              + " ".join(f"{v:.3f}" for v in curve))
    if args.coverage:
        cov = np.mean([r["coverage"] for r in rows], axis=0)
        print("\ncoverage (mean of clips): share of the object inside the tracked mask grown by D steps, "
              "and that mask's area / the object's")
        for d, (rec, size) in zip(args.coverage, cov):
            print(f"  dilation {d}: covered {rec:.3f}, area x{size:.2f}")
    fq = flag_quality(rows)
    print(f"\nflags: {fq['flagged']} flagged frames, {fq['precision']:.2f} of them bad (IoU < 0.5); "
          f"{fq['bad']} bad frames, {fq['recall']:.2f} of them flagged; {fq['unflagged_bad']:.2f} of the "
          f"unflagged frames bad; {fq['onsets_flagged']} of {fq['onsets']} runs that went bad flagged "
          "within 3 frames of it")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "overall": overall, "seconds": total, "flags": fq,
                                         "keyframe": args.keyframe, "flow": args.flow, "seeds": args.seeds,
                                         "click_frames": args.click_frames, "params": overrides,
                                         "clicks": args.clicks, "tabs": args.tabs, "keyframe_every": args.keyframe_every,
                                         "every_by": args.every_by, "size": args.size,
                                         "segmenter": f"sam:{args.sam.name}" if args.sam else "grabcut",
                                         "segmenter_args": seg_kwargs, "frames": args.frames,
                                         "from_scratch": args.from_scratch, "together": args.together,
                                         "warp_only": args.warp_only, "redetect": not args.no_redetect}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
