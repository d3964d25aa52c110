"""A tracking run stopped (Cancel) and gone on with what it kept in memory (``TrackMemo``) gives the
unbroken run's masks and flags, bit for bit; anything changed in between releases what was kept."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from app.core.errors import Cancelled
from app.core.jobs import CancelToken
from app.core.segment import GrabCutSegmenter, iter_track, track
from app.core.segment.base import Candidate, Segmenter
from app.core.segment.track import TrackMemo, TrackParams, _rng_draws_since, _rng_go_on
from tests.core.test_track import make_clip

import cv2

N = 26  # (over the plate's 21-frame window, so that it slides)


def clip():
    """The textured disc over a panning background, with noise (GrabCut's k-means then depends on its draws)."""
    frames, masks = make_clip(n=N, w=200, textured=True)
    rng = np.random.default_rng(0)
    frames = [np.clip(f + rng.normal(0, 16, f.shape), 0, 255).astype(np.uint8) for f in frames]
    square = np.zeros_like(masks[0])
    square[60:84, 150:176] = True  # a patch of the panning background, as a second object
    return frames, masks, square


def unbroken(frames, keys, seg=None, **kw):
    return track(lambda i: frames[i], len(frames), keys, seg or GrabCutSegmenter(seed=0), rng_seed=0, **kw)


def stopped(frames, keys, after: int, memo: TrackMemo, seg=None, read=None, **kw) -> list[int]:
    """The run stopped once frame ``after`` is done (Cancel pressed then); returns the frames it did."""
    cancel, did = CancelToken(), []
    with pytest.raises(Cancelled):
        for step in iter_track(read or (lambda i: frames[i]), len(frames), keys, seg or GrabCutSegmenter(seed=0),
                               cancel=cancel, keep=memo, rng_seed=0, **kw):
            did.append(step.index)
            if step.index == after:
                cancel.cancel()
    return did


def went_on(frames, keys, resume, memo, seg=None, **kw) -> dict:
    steps = {}
    for step in iter_track(lambda i: frames[i], len(frames), keys, seg or GrabCutSegmenter(seed=0), resume=resume,
                           keep=memo, rng_seed=0, **kw):
        steps[step.index] = step
    return steps


def differing(steps: dict, whole) -> list[int]:
    return [i for i, s in steps.items() if s.flag != "keyframe"
            and (not np.array_equal(s.mask, whole.mask(i)) or s.flag != whole.flags[i])]


def test_the_generator_is_taken_up_where_it_was():
    cv2.setRNGSeed(3)
    first = np.empty((1, 100), np.float32)
    cv2.randu(first, 0, 1)  # (as GrabCut's k-means draws)
    assert _rng_draws_since(3) == 100  # (reading it makes two draws)
    later = np.empty((1, 5), np.float32)
    cv2.randu(later, 0, 1)
    _rng_go_on(3, 100)  # where it was after the first 100 draws
    again = np.empty((1, 7), np.float32)
    cv2.randu(again, 0, 1)
    assert np.array_equal(again[0, 2:], later[0]) and _rng_draws_since(3) == 107
    cv2.setRNGSeed(5)  # (seeded otherwise: not found)
    assert _rng_draws_since(3) is None


@pytest.mark.parametrize("keys, after, runs", [
    ("one", 8, [list(range(9, N))]),
    ("inside", 16, [list(range(17, N))]),  # keyframe 12: its run back to 0 was done before the stop
    ("two", 8, [list(range(9, N))]),  # two objects, followed on threads
])
def test_a_run_stopped_and_gone_on_from_what_it_kept_gives_the_unbroken_runs_masks(keys, after, runs):
    frames, masks, square = clip()
    keys = {"one": {0: masks[0]}, "inside": {12: masks[12]}, "two": {0: [masks[0], square]}}[keys]
    whole = unbroken(frames, keys)
    memo = TrackMemo()
    did = stopped(frames, keys, after, memo)
    resume = memo.resume()
    assert did[-1] == after and memo and sorted(resume) == sorted(keys) and resume[next(iter(keys))][0] == after
    steps = went_on(frames, keys, resume, memo)
    assert not memo  # (taken: gone on from once)
    assert [i for i in steps if i not in keys] == runs[0]  # the frames done before the stop are not done again
    assert differing(steps, whole) == []
    # without what was kept (the project reopened), the run goes on from the seed's masks alone: the
    # colour model's updates, the search's state and GrabCut's draws before the stop are not replayed
    assert differing(went_on(frames, keys, resume, None), whole), "the clip no longer tells the two ways apart"


def test_cancel_pressed_during_a_step_stops_after_it_with_a_run_that_goes_on_exactly(monkeypatch):
    """Cancel pressed as frame 11's step begins: the plate's frames for it (up to frame 21, not read
    yet) were read before the step, so the step does not stop half-way on that read (leaving the
    object's state half updated); the run stops after frame 11 and goes on as the unbroken run."""
    track_mod = sys.modules["app.core.segment.track"]  # (the package's ``track`` is the function)
    frames, masks, _ = clip()
    keys = {0: masks[0]}
    whole = unbroken(frames, keys)
    cancel, memo, real, read = CancelToken(), TrackMemo(), track_mod._step_cues, []

    def step_cues(prev_rgb, prev_mask, cur_rgb, *a, **k):
        if cur_rgb is frames[11]:
            cancel.cancel()
        return real(prev_rgb, prev_mask, cur_rgb, *a, **k)

    monkeypatch.setattr(track_mod, "_step_cues", step_cues)
    did = []
    with pytest.raises(Cancelled):
        for step in iter_track(lambda i: read.append(i) or frames[i], N, keys, GrabCutSegmenter(seed=0),
                               cancel=cancel, keep=memo, rng_seed=0):
            did.append(step.index)
    assert did[-1] == 11 and memo.resume()[0][0] == 11 and 21 in read
    monkeypatch.setattr(track_mod, "_step_cues", real)
    assert differing(went_on(frames, keys, memo.resume(), memo), whole) == []


class Checking(Segmenter):
    """A segmenter whose image preparation is stopped by ``check`` every time (as SAM's, between its
    encoder's blocks), answering the prior mask."""

    def set_image(self, rgb, index=None, check=None):
        if check is not None:
            check()
        super().set_image(rgb, index)

    def _embed(self, rgb):
        return None

    def _restore(self, state):
        pass

    def _predict(self, points, box, prior, previous):
        return [Candidate(prior.copy(), 1.0)]


def test_a_stop_inside_a_step_keeps_nothing_half_done():
    """Cancel pressed inside the second object's step (its segmenter stops), the first one done with
    the frame: nothing is kept, and a Track after goes on from the seed's masks as before."""
    frames, masks, square = clip()
    keys = {0: [masks[0], square]}
    calls, cancel, memo = [], CancelToken(), TrackMemo()
    seg = Checking()
    real = seg.set_image

    def set_image(rgb, index=None, check=None):
        calls.append(index)
        if calls.count(5) == 2:  # frame 5, the second object
            cancel.cancel()
        real(rgb, index, check)

    seg.set_image = set_image
    did = []
    with pytest.raises(Cancelled):
        for step in iter_track(lambda i: frames[i], N, keys, seg, cancel=cancel, keep=memo, rng_seed=0):
            did.append(step.index)
    assert did[-1] == 4 and not memo


def test_anything_changed_after_the_stop_releases_what_was_kept():
    frames, masks, _ = clip()
    keys = {0: masks[0]}
    cases = {
        "the seed's mask edited": lambda r: ({0: (r[0][0], [cv2.dilate(r[0][1][0].astype(np.uint8),
                                                                        np.ones((3, 3), np.uint8)) > 0])}, keys, {}),
        "the keyframe's mask edited": lambda r: (r, {0: np.roll(masks[0], 1, axis=1)}, {}),
        "another parameter": lambda r: (r, keys, {"params": TrackParams(w_motion=1.5)}),
        "another segmenter seed": lambda r: (r, keys, {"rng_seed": 1}),
    }
    for what, change in cases.items():
        memo = TrackMemo()
        stopped(frames, keys, 8, memo)
        resume, given, kw = change(memo.resume())
        rng = kw.pop("rng_seed", 0)
        got = {s.index: s for s in iter_track(lambda i: frames[i], N, given, GrabCutSegmenter(seed=0), resume=resume,
                                              keep=memo, rng_seed=rng, **kw)}
        assert not memo, what  # released
        alone = {s.index: s for s in iter_track(lambda i: frames[i], N, given, GrabCutSegmenter(seed=0),
                                                resume=resume, rng_seed=rng, **kw)}
        assert sorted(got) == sorted(alone) and all(np.array_equal(got[i].mask, alone[i].mask)
                                                    and got[i].flag == alone[i].flag for i in got), what
    # the frames of another video (or read otherwise): released, gone on from the seed's mask
    memo = TrackMemo()
    stopped(frames, keys, 8, memo)
    other = [f.copy() for f in frames]
    other[8][0, 0] ^= 1
    list(iter_track(lambda i: other[i], N, keys, GrabCutSegmenter(seed=0), resume=memo.resume(), keep=memo,
                    rng_seed=0))
    assert not memo


class Shrinking(Checking):
    """Answers the prior mask less its edge: the object shrinks a little each frame."""

    def _predict(self, points, box, prior, previous):
        return [Candidate(cv2.erode(prior.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0, 1.0)]


def test_without_the_cue_tracker_a_run_gone_on_from_the_masks_flags_as_the_unbroken_run():
    """With a segmenter of its own (SAM) the tracker carries nothing but the last mask, and going on
    from the masks gives the unbroken run's masks and flags: the object's scale stays 1, as there
    (it was set from the mask's spread, and the shrunk flags came later than the unbroken run's)."""
    frames, masks, _ = clip()
    keys = {0: masks[0]}
    whole = track(lambda i: frames[i], 16, keys, Shrinking())
    assert "shrunk" in whole.flags
    went = {s.index: s for s in iter_track(lambda i: frames[i], 16, keys, Shrinking(), resume={0: (4, whole.mask(4))})}
    assert [(i, s.flag) for i, s in went.items() if i > 4] == [(i, whole.flags[i]) for i in range(5, 16)]
    assert all(np.array_equal(went[i].mask, whole.mask(i)) for i in range(5, 16))


def test_a_run_going_on_that_is_stopped_before_its_first_frame_still_has_what_was_kept():
    """Cancel pressed again before the run going on did a frame (as the keyframes are reported, or as the
    frame it goes on from is read again): what was kept is there still, and goes on exactly later."""
    frames, masks, _ = clip()
    keys = {0: masks[0]}
    whole = unbroken(frames, keys)
    memo = TrackMemo()
    stopped(frames, keys, 8, memo)
    resume = memo.resume()
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):  # (at the keyframe)
        list(iter_track(lambda i: frames[i], N, keys, GrabCutSegmenter(seed=0), cancel=cancel, resume=resume,
                        keep=memo, rng_seed=0))
    assert memo.resume()[0][0] == 8
    cancel = CancelToken()

    def read(i):  # (the frame it goes on from, read again with the plate's frames around it)
        if i == 8:
            cancel.cancel()
        return frames[i]

    with pytest.raises(Cancelled):
        list(iter_track(read, N, keys, GrabCutSegmenter(seed=0), cancel=cancel, resume=resume, keep=memo, rng_seed=0))
    assert memo.resume()[0][0] == 8
    assert differing(went_on(frames, keys, resume, memo), whole) == []
