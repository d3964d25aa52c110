"""An output video inside the frame folder given as the video is refused: the folder would hold a
video, and the next run would refuse it as no frame folder."""
import cv2
import numpy as np

from app.cli import main


def test_a_video_written_into_the_input_frame_folder_is_refused(tmp_path, capsys):
    """inpaint frames/ -o frames/out.mp4 ran, and `inpaint frames/ ...` then said "Folder frames holds
    videos (out.mp4), so it is no frame folder (its 70 images are left aside)" (measured on DAVIS tennis)."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames / f"{i:05d}.png"), np.full((48, 64, 3), 60 * i, np.uint8))
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 10:30] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    argv = ["inpaint", str(frames), "--mask", str(tmp_path / "mask.png"), "--fill", "telea", "-o"]
    for name in ("out.mp4", "clean.mov"):
        assert main(argv + [str(frames / name)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: --output {frames / name} is inside the input frame folder {frames}: a video there "
                       "would make it a folder that holds videos, which is read as no frame folder the next time; "
                       "choose a path outside it."], err
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:05d}.png" for i in range(4)]
    assert main(argv + [str(tmp_path / "out.mp4")]) == 0  # (beside it: fine, and the folder reads as before)
    assert main(argv + [str(tmp_path / "again.mp4")]) == 0
