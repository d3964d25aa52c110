"""A frame folder given as the video: its numbers are checked as a mask folder's are."""
import cv2
import numpy as np
import pytest

from app.cli import main
from app.core.errors import VideoError
from app.core.video import open_video
from conftest import make_frames

W, H = 64, 48


def write_folder(folder, numbers, ext=".png"):
    folder.mkdir(exist_ok=True)
    frames = make_frames(max(numbers) + 1, W, H)
    for k in numbers:
        cv2.imwrite(str(folder / f"frame_{k:05d}{ext}"), cv2.cvtColor(frames[k], cv2.COLOR_RGB2BGR))
    return folder


def test_a_gap_in_the_numbers_is_said_in_one_line_naming_it(tmp_path):
    """frame_00003.png missing: frame 4 was read as frame 3 and every later one a place early, with no
    word (a mask folder with such a gap is refused); a mask folder numbered for the frames would land
    one frame late from there on."""
    folder = write_folder(tmp_path / "frames", [0, 1, 2, 4, 5, 6])
    with open_video(folder) as reader:
        assert len(reader) == 6
        assert reader.notice == (
            "Frame folder frames has no image for frame number 3 (its files run from frame_00000.png to "
            "frame_00006.png): the frames after that are read in the missing ones' places, so masks numbered by "
            "frame would land on the wrong frames there; add the missing frames if that matters."), reader.notice


def test_several_gaps_are_named_up_to_five(tmp_path):
    folder = write_folder(tmp_path / "frames", [0, 2, 4, 6, 8, 10, 12, 14])
    with open_video(folder) as reader:
        assert "has no image for frame numbers 1, 3, 5, 7, 9 and 2 more (its files run" in reader.notice


def test_two_images_for_one_frame_are_refused(tmp_path):
    """frame_00002.png and frame_00002.jpg were read as two frames, shifting every later one."""
    folder = write_folder(tmp_path / "frames", [0, 1, 2, 3])
    write_folder(folder, [2], ext=".jpg")
    with pytest.raises(VideoError) as exc:
        open_video(folder)
    assert str(exc.value) == (f"Frame folder {folder} has two images for one frame (frame_00002.jpg and "
                              "frame_00002.png are both frame 2); keep one for each frame."), str(exc.value)


@pytest.mark.parametrize("numbers", [[1, 2, 3], [0, 1, 2, 3]])
def test_numbers_without_a_gap_say_nothing(tmp_path, numbers):
    with open_video(write_folder(tmp_path / "frames", numbers)) as reader:
        assert reader.notice is None


def test_names_without_numbers_are_not_checked(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name, f in zip(["a.png", "b.png", "c.png"], make_frames(3, W, H)):
        cv2.imwrite(str(folder / name), f)
    with open_video(folder) as reader:
        assert len(reader) == 3 and reader.notice is None


def test_info_warns_of_the_gap(tmp_path, capsys):
    folder = write_folder(tmp_path / "frames", [0, 1, 3])
    assert main(["info", str(folder)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: Frame folder frames has no image for frame number 2 (its files run from frame_00000.png "
                   "to frame_00003.png): the frames after that are read in the missing ones' places, so masks "
                   "numbered by frame would land on the wrong frames there; add the missing frames if that "
                   "matters."], err
