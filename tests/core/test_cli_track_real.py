"""`track` on real footage, clicked as a user would: does the mask stay on the object?

The clips are the shared training clips (never copied into the repository); where they are absent
(CI) these tests skip. VR_TRAIN_DATA points elsewhere. Each run tracks a short stretch on the CPU,
a few seconds here. The expected-failure tests record what a user meets today (brief h107's report);
when a tracker change fixes one, strict xfail turns it red: drop its marker then.
"""
import os
from pathlib import Path

import cv2
import pytest

from app.cli import main

DATA = Path(os.environ.get("VR_TRAIN_DATA", "/work/shared/data/train"))


def real_clip(name):
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not here (real footage is not in the repository)")
    return path


def tracked(tmp_path, clip, *args):
    out = tmp_path / "masks"
    assert main(["track", str(clip), *args, "-o", str(out)]) == 0
    return out


def mask(folder, frame):
    m = cv2.imread(str(folder / f"{frame:05d}.png"), cv2.IMREAD_GRAYSCALE)
    assert m is not None, frame
    return m > 127


def test_the_paraglider_stays_selected_as_he_runs_off_and_takes_off(tmp_path):
    # one click on the pilot's back, the first candidate (pilot, harness and legs); he runs downhill,
    # lifts off and shrinks to a third of his size by frame 79
    out = tracked(tmp_path, real_clip("cotracker_paragliding-launch.mp4"), "--click", "400,260", "--candidate", "1",
                  "--end", "80")
    first, last = mask(out, 0), mask(out, 79)
    assert 14000 < first.sum() < 24000  # the pilot, not the slope (the 3rd candidate takes the grass too)
    # frame 79: the pilot hangs at about (422, 327), 45 x 50 px; the mask covers him and not much more
    assert last[300:350, 400:445].mean() > 0.8
    assert 3000 < last.sum() < 9000


@pytest.mark.xfail(strict=True, reason="h107: the teddy's head leaves the mask on frames 10-11 (and 20, 22, 43, 49); "
                                       "inpainting then pastes the head back into neighbouring frames")
def test_the_teddy_keeps_its_head_when_it_is_lifted(tmp_path):
    # the bear held in both hands: a click on its shirt and one on each foot, the hands said not to be it
    out = tracked(tmp_path, real_clip("cotracker_teddy.mp4"), "--click", "215,270", "--click", "215,365",
                  "--click", "278,360", "--not", "178,300", "--not", "290,300", "--candidate", "1", "--end", "12")
    assert mask(out, 0)[165:190, 205:230].mean() > 0.9  # the head is in the frame-0 selection
    for frame in (10, 11):  # the head is then at about (217, 177), in plain view
        assert mask(out, frame)[165:190, 205:230].mean() > 0.8, frame


@pytest.mark.xfail(strict=True, reason="h107: the bottle is lost behind the wrestler's hair at frames 52-59 and "
                                       "never found again, in plain view from frame 61")
def test_the_bottle_is_found_again_after_the_hair_passes_in_front(tmp_path):
    # mmaction_demo: a water bottle on the table behind two arm wrestlers; the camera sways
    out = tracked(tmp_path, real_clip("mmaction_demo.mp4"), "--click", "241,152", "--click", "241,128",
                  "--click", "240,113", "--box", "226,106,256,173", "--candidate", "1", "--end", "66")
    assert mask(out, 40).sum() > 300  # found again after the first pass of the hair (frames 25-27)
    assert mask(out, 65)[100:125, 258:272].mean() > 0.5  # its label at about (265, 112)
