"""A picture given as a mask (a frame of the video, a photo) is refused; real masks are not."""
import cv2
import numpy as np
import pytest
from conftest import make_frames

from app.cli import main
from app.core.errors import MaskError
from app.core.masks import load_masks
from app.core.video import write_test_clip

W, H = 96, 64


@pytest.fixture
def clip(tmp_path):
    return write_test_clip(tmp_path / "clip.mp4", make_frames(4, W, H), fps=10)


def test_a_frame_of_the_video_given_as_the_mask_is_refused(clip, tmp_path, capsys):
    """A frame saved from the video and given as --mask (measured: 81 % mid-tones, 256 levels) marked
    66 % of the frame and was inpainted without a word."""
    frame = tmp_path / "frame0.png"
    cv2.imwrite(str(frame), make_frames(1, W, H)[0][..., ::-1])
    assert main(["inpaint", str(clip), "--mask", str(frame), "-o", str(tmp_path / "o.mp4"), "--fill", "telea"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: Mask {frame} looks like a picture, not a mask: "), err
    assert not (tmp_path / "o.mp4").exists()
    assert main(["track", str(clip), "--keyframe", f"{frame},0", "-o", str(tmp_path / "m")]) == 2
    assert "looks like a picture, not a mask" in capsys.readouterr().err


def _masks():
    """Masks that must still load: (name, image)."""
    yy, xx = np.mgrid[:H, :W]
    blob = ((xx - 48) ** 2 + (yy - 32) ** 2 <= 20 ** 2).astype(np.uint8) * 255
    palette = np.zeros((H, W, 3), np.uint8)  # (DAVIS: three objects in dark reds over 60 % of the frame)
    palette[:, :20], palette[:, 20:40], palette[:, 40:58] = (0, 0, 128), (0, 0, 64), (0, 0, 192)
    ok, jpeg = cv2.imencode(".jpg", blob, [cv2.IMWRITE_JPEG_QUALITY, 40])
    return [("binary", blob), ("feathered", cv2.GaussianBlur(blob, (0, 0), 6)), ("palette", palette),
            ("jpeg", cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)), ("labels 0/1", (blob > 0).astype(np.uint8)),
            ("16-bit", blob.astype(np.uint16) * 257)]


@pytest.mark.parametrize("name, image", _masks(), ids=[n for n, _ in _masks()])
def test_masks_with_mid_tones_or_many_levels_still_load(name, image, tmp_path):
    path = tmp_path / "mask.png"
    cv2.imwrite(str(path), image)
    masks = load_masks(path, 4, W, H)
    assert masks.get(0).any() and not masks.get(0).all()


def test_a_picture_first_in_a_mask_folder_is_refused(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    for i, frame in enumerate(make_frames(4, W, H)):
        cv2.imwrite(str(folder / f"{i:05d}.png"), frame)
    with pytest.raises(MaskError, match="looks like a picture, not a mask"):
        load_masks(folder, 4, W, H)


def test_another_video_given_as_the_mask_video_is_refused(clip, tmp_path):
    """A video of the same size and length given as --mask (dogs_jump's first 10 frames for a 10-frame
    clip: 89 % mid-tones) was read as a mask video and inpainted without a word; a mask video passes."""
    other = write_test_clip(tmp_path / "other.mp4", make_frames(4, W, H, seed=5), fps=10)
    with pytest.raises(MaskError, match=r"Mask video .*other\.mp4 \(its first frame\) looks like a picture, not a "):
        load_masks(other, 4, W, H)
    yy, xx = np.mgrid[:H, :W]
    frames = [np.repeat((((xx - 30 - 5 * i) ** 2 + (yy - 32) ** 2 <= 15 ** 2) * 255).astype(np.uint8)[..., None], 3, 2)
              for i in range(4)]
    masks = load_masks(write_test_clip(tmp_path / "masks.mp4", frames, fps=10), 4, W, H)
    assert masks.get(3).any() and not masks.get(3).all()


def test_a_video_and_mask_the_wrong_way_round_are_said_to_be(clip, tmp_path, capsys):
    """`inpaint mask.png --mask clip.mp4` said only "Mask video clip.mp4 has 4 frames but the video has 1"."""
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 20:50] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    assert main(["inpaint", str(tmp_path / "mask.png"), "--mask", str(clip), "-o", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: Mask video {clip} has 4 frames but the video has 1 (the video is one image: are the video "
                   "and the mask the wrong way round?); the mask video must match frame for frame."], err


def test_a_mask_folder_with_one_image_too_many_names_it(tmp_path):
    """"Mask folder masks has 11 images but the video has 10 frames" left the user to find the extra
    one among the ten (an image with no number in its name, or two files for one frame)."""
    folder = tmp_path / "masks"
    folder.mkdir()
    blank = np.zeros((H, W), np.uint8)
    for i in range(4):
        cv2.imwrite(str(folder / f"{i:05d}.png"), blank)
    cv2.imwrite(str(folder / "extra.png"), blank)
    with pytest.raises(MaskError, match=r"has 5 images but the video has 4 frames \(extra\.png has no frame "
                                        r"number\); give one mask per frame"):
        load_masks(folder, 4, W, H)
    (folder / "extra.png").unlink()
    with pytest.raises(MaskError, match=r"has 4 images but the video has 6 frames; give"):  # (nothing to name)
        load_masks(folder, 6, W, H)


def test_two_images_for_one_frame_are_refused_even_when_the_count_matches(tmp_path):
    """00001.png and 00001.jpg with 00003.png missing: 4 images for 4 frames, so the count matched, and
    the masks from there on landed one frame late without a word."""
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in (0, 1, 2):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.zeros((H, W), np.uint8))
    cv2.imwrite(str(folder / "00001.jpg"), np.zeros((H, W), np.uint8))
    with pytest.raises(MaskError, match=r"^Mask folder .*masks has two images for one frame \(00001\.jpg and "
                                        r"00001\.png are both frame 1\); keep one for each frame\.$"):
        load_masks(folder, 4, W, H)
