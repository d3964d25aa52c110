"""Screenshots of the real window for docs/GUI.md. Run under a display or Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py [--weights W]

Uses ../shared/data/clips/schoolgirls.mp4 and its mask folder (read in place, not copied), and
dogs_jump.mp4 for the click-to-remove pictures (``--only click`` makes just those; ``--only sam``
the General settings page and the SAM checkpoint download dialog; ``--only engine`` the Engine page;
``--only narrow`` the window at 560 px wide, its tool bars wrapped onto rows, with a refusal's
notice over the picture).
Settings and user data go to a temporary folder. Without --weights it uses the bundled
weights, and without those the engine's weight-free fill (flow propagation + Telea), which is
what the application does today. The fine-tune page trains a tiny generator for real; the
pictures after it are made with the weights before it again. Where pngquant is installed the PNGs
are quantized (about half the size; photographs and text alike read the same).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
CLIP = SHARED / "data" / "clips" / "schoolgirls.mp4"
MASKS = SHARED / "data" / "clips" / "schoolgirls_mask"
OUT = Path(__file__).resolve().parent
NARROW = 560  # the window's width in narrow_window.png (the tool bars wrap onto rows below 626 px)


def save(widget, name: str) -> None:
    """``widget``'s picture as docs/screenshots/``name``, quantized where pngquant is installed."""
    path = OUT / name
    widget.grab().save(str(path))
    save_quantized(path)


def save_quantized(path: Path) -> None:
    """``path`` quantized in place where pngquant is installed."""
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--quality=70-90", "--speed=1", "--strip", "--force", "--output", str(path),
                        str(path)], check=False)


def wait(app, condition, timeout=600):
    t0 = time.monotonic()
    while not condition():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("waited too long")
    for _ in range(5):
        app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights")
    parser.add_argument("--scale", type=float, help="device pixel ratio (checks HiDPI drawing): the main window's "
                        "top left corner alone, hidpi_x2_detail.png at 2")
    parser.add_argument("--only", choices=("all", "click", "objects", "sam", "engine", "narrow"), default="all",
                        help="click: only the click-to-remove pictures (click_select, tracked_flags, click_removed); "
                             "objects: only several_objects (three girls and a logo in one tracking run); "
                             "sam: only settings_general and sam_download (the SAM checkpoint dialog); "
                             "engine: only settings_engine (Settings > Engine, the default values); "
                             "narrow: only narrow_window (560 px wide: the tool bars on rows, a notice over the picture)")
    args = parser.parse_args()
    if args.scale:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    tmp = Path(tempfile.mkdtemp(prefix="sttn-shots-"))
    os.environ["STTN_INPAINT_DATA"] = str(tmp / "data")

    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from app.core.paths import default_weights
    from app.core.sttn import GeneratorConfig, InpaintGenerator, save_generator
    from app.gui import make_app
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    app = make_app([])
    settings = AppSettings()
    settings.weights = str(args.weights or default_weights() or "")
    win = MainWindow(settings)
    win.resize(1440, 900)
    win.show()
    wait(app, lambda: win.isVisible())

    if args.only == "click":
        click_to_remove(app, win)
        return
    if args.only == "objects":
        several_objects(app, win)
        return
    if args.only == "sam":
        settings.weights = ""  # the bundled weights, as after an install
        d = win.show_settings()
        d.resize(760, 620)
        wait(app, lambda: True)
        save(d, "settings_general.png")
        sam_download(app, d)
        win.close()
        return
    if args.only == "narrow":
        narrow(app, win)
        win.close()
        return
    if args.only == "engine":
        d = win.show_settings()
        d.resize(760, 620)
        d.tabs.setCurrentIndex(1)
        wait(app, lambda: True)
        save(d, "settings_engine.png")
        d.close()
        win.close()
        return
    win.open_path(CLIP)
    win.project.import_masks(MASKS)
    win.project.set_range(24, 36)
    win.project.set_current(30)
    win.tools.size_spin.setValue(18)
    # the brush cursor where a user would hover
    from PySide6.QtCore import QPointF
    win.canvas._mouse = win.canvas.to_widget(QPointF(300, 120))
    wait(app, lambda: True)
    if args.scale:  # the top left corner, as GUI.md shows it (hidpi_x2_detail.png), the whole window beside it
        path = OUT / f"main_window_x{args.scale:g}.png"
        win.grab().save(str(path))
        from PIL import Image

        Image.open(path).crop((0, 0, 1400, 420)).save(OUT / f"hidpi_x{args.scale:g}_detail.png")
        path.unlink()
        save_quantized(OUT / f"hidpi_x{args.scale:g}_detail.png")
        win.project._dirty = False
        win.project.undo.setClean()
        win.close()
        return
    save(win, "main_window_mask.png")
    win.canvas._mouse = None

    win.controller.inpaint()
    wait(app, lambda: not win.controller.engine.busy)
    win.compare.set_mode("side")
    win.project.set_current(31)
    wait(app, lambda: True)
    save(win, "side_by_side.png")
    win.compare.set_mode("split")
    win.result_view.split_at = 0.45
    wait(app, lambda: True)
    save(win, "split_view.png")
    win.compare.set_mode("original")

    dialog = win.export_dialog_show()
    dialog.path_edit.setText(str(tmp / "schoolgirls_inpainted.mp4"))
    dialog.export_button.click()
    wait(app, lambda: not dialog.running)
    save(dialog, "export_dialog.png")
    dialog.close()

    # Fine-tune for real, with a tiny generator so it finishes in a minute on a CPU.
    tiny = tmp / "tiny.pth"
    save_generator(InpaintGenerator(GeneratorConfig(channels=32, blocks=1, patch_sizes=((27, 15), (9, 5)),
                                                    width=108, height=60)), tiny)
    settings.weights = str(tiny)
    footage = tmp / "footage"
    footage.mkdir()
    for name in ("cotracker_bear.mp4", "cotracker_cat.mp4"):
        (footage / name).symlink_to(SHARED / "data" / "train" / name)
    d = win.show_settings()
    page = win.finetune
    d.tabs.setCurrentWidget(page)  # (by the page, not its place: a Storage tab came before it)
    page.footage.setText(str(footage))
    page.steps.setValue(30)
    page.start()
    wait(app, lambda: not win.controller.training.busy)
    wait(app, lambda: True)
    d.resize(760, 620)
    wait(app, lambda: True)
    save(d, "finetune_page.png")
    d.tabs.setCurrentIndex(1)
    wait(app, lambda: True)
    save(d, "settings_engine.png")
    d.tabs.setCurrentIndex(0)
    wait(app, lambda: True)
    save(d, "settings_general.png")
    sam_download(app, d)
    win.project._dirty = False  # the painted demo project is not saved: no "unsaved changes" question
    win.project.undo.setClean()
    settings.weights = str(args.weights or default_weights() or "")  # (not the tiny generator's)
    narrow(app, win)
    click_to_remove(app, win)
    print("screenshots in", OUT)


def sam_download(app, settings_dialog) -> None:
    """The SAM checkpoint dialog as Settings > General > Download… opens it (no network here)."""
    dialog = settings_dialog.download_sam()
    wait(app, lambda: dialog.isVisible())
    save(dialog, "sam_download.png")
    dialog.close()
    settings_dialog.close()


def narrow(app, win) -> None:
    """The window at 560 px wide (under 626 px each tool bar's last buttons and fields move to a row
    of their own under it, all in sight) after Preview this frame on a frame with no mask: the
    notice over the picture."""
    win.open_path(CLIP)
    win.project.import_masks(MASKS)
    win.project.set_current(30)
    win.project.clear_masks("frame")
    win.resize(NARROW, 640)
    wait(app, lambda: win.width() == NARROW)
    win.preview()
    wait(app, lambda: win.notice.isVisible())
    save(win, "narrow_window.png")
    win.notice.dismiss()
    win.resize(1440, 900)
    wait(app, lambda: win.width() == 1440)
    win.project._dirty = False
    win.project.undo.setClean()


DOG = 2  # dogs_jump's object labels: 1 the small dog, 2 the big dog, 3 the woman


def click_to_remove(app, win) -> None:
    """Click a dog on dogs_jump's first frame (the weight-free segmenter unless a SAM checkpoint is
    set), commit, track through frames 0-29, go to the first frame the tracker flagged, inpaint."""
    import cv2
    import numpy as np
    from PIL import Image

    win.open_path(SHARED / "data" / "clips" / "dogs_jump.mp4")
    p, seg = win.project, win.segment
    p.set_range(0, 30)
    p.set_current(0)
    seg.tool_action.trigger()
    # the click a user would make: the middle of the big dog (the ground truth's deepest point)
    gt = np.array(Image.open(SHARED / "data" / "clips" / "dogs_jump_mask" / "00000.png"))  # palette indices
    dog = (gt == DOG).astype("uint8")
    d = cv2.distanceTransform(dog, cv2.DIST_L2, 5)
    y, x = divmod(int(d.argmax()), d.shape[1])
    seg.add_point(x, y, 1)
    wait(app, lambda: seg.tool.candidate is not None, timeout=120)
    win.canvas._mouse = None
    save(win, "click_select.png")
    seg.commit()
    seg.track()
    wait(app, lambda: not win.controller.engine.busy, timeout=900)
    seg.go_to_flagged(1)
    wait(app, lambda: win.canvas.frame_index == p.current)  # the picture is decoded after the mask shows
    save(win, "tracked_flags.png")
    p.set_current(15)
    win.controller.inpaint()
    wait(app, lambda: not win.controller.engine.busy, timeout=1800)
    win.compare.set_mode("side")
    wait(app, lambda: True)
    save(win, "click_removed.png")
    p._dirty = False
    p.undo.setClean()
    win.close()


def several_objects(app, win) -> None:
    """Paint a logo for all frames, click three girls on schoolgirls' first frame (one commit each),
    track frames 0-29 once, and show frame 20: each girl followed on its own, the logo in place."""
    import cv2
    import numpy as np
    from PIL import Image

    win.open_path(CLIP)
    p, seg = win.project, win.segment
    p.set_range(0, 30)
    p.set_current(0)
    logo = np.zeros((p.masks.height, p.masks.width), bool)
    logo[8:30, p.masks.width - 110:p.masks.width - 10] = True
    p.edit_mask(logo, "range")
    seg.tool_action.trigger()
    gt = np.array(Image.open(MASKS / "00000.png"))  # palette indices, one per girl
    for girl in (1, 5, 6):
        d = cv2.distanceTransform((gt == girl).astype("uint8"), cv2.DIST_L2, 5)
        y, x = divmod(int(d.argmax()), d.shape[1])
        seg.add_point(x, y, 1, new=True)  # Shift+click: a new object even beside the last one
        wait(app, lambda: seg.tool.candidate is not None, timeout=120)
        seg.commit()
    seg.track()
    wait(app, lambda: not win.controller.engine.busy, timeout=900)
    p.set_current(20)
    win.canvas._mouse = None
    wait(app, lambda: win.canvas.frame_index == 20)  # the picture is decoded after the mask shows
    save(win, "several_objects.png")
    p._dirty = False
    p.undo.setClean()
    win.close()


if __name__ == "__main__":
    main()
