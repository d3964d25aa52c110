"""Click-to-segment and mask tracking (headless; no Qt).

* ``Segmenter`` / ``Candidate``: prompted segmentation with a per-frame embedding cache.
* ``GrabCutSegmenter``: needs no learned weights (the offline default).
* ``SamSegmenter``: Segment Anything (ViT-B/L/H) from a local checkpoint.
* ``track`` / ``iter_track``: propagate keyframe masks through a video with optical flow.
* ``download_sam_checkpoint``: fetch an official SAM checkpoint with progress and cancel.
"""
from .base import Box, Candidate, Point, Segmenter, mask_box, mask_iou
from .grabcut import GrabCutSegmenter
from .track import (CHECK, FALLBACK, KEYFRAME, LOST, OK, SHRUNK, Flow, changed_spans, click_motion, TrackParams,
                    PLATE_SIDE, TrackResult, TrackStep, click_plate, iter_track, motion_frames, objects_in, plan_runs,
                    plate_copy, prepare_click, prompts_from_mask, resume_spans, split_objects, track, warp, without_static)

__all__ = [
    "Box", "Candidate", "Point", "Segmenter", "mask_box", "mask_iou", "GrabCutSegmenter",
    "CHECK", "FALLBACK", "KEYFRAME", "LOST", "OK", "SHRUNK", "Flow", "changed_spans", "click_motion", "TrackParams",
    "PLATE_SIDE", "TrackResult", "TrackStep", "click_plate", "iter_track", "motion_frames", "objects_in", "plan_runs",
    "plate_copy", "prepare_click",
    "prompts_from_mask", "resume_spans",
    "split_objects", "track", "warp", "without_static",
]
