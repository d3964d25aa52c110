"""Playback in the compare views: frames a second reached with the inpainted results shown.

Makes a clip (1920x1080, 25 fps, 75 frames; or takes VIDEO), stores a result for every frame
(the inverted frame), then plays 3 s in the real main window (offscreen) in each view and
counts the playhead's frames, the original pictures decoded for it, and the distinct results shown
(playback proxies while playing); then stops and says whether the paused frame shown is the exact result.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_compare_playback.py [VIDEO]

Figures go to docs/LOAD.md ("Playback in the compare views").
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_hd_clip(path: Path, n: int = 75) -> Path:
    """A 1920x1080 25 fps clip of ``n`` frames: a smooth texture panning 2 px a frame (tests/conftest.py's
    make_frames at 1080p)."""
    import cv2
    import numpy as np

    from app.core.video import write_test_clip

    small = np.random.default_rng(0).integers(0, 255, (1080 // 8 + 2, (1920 + 2 * n) // 8 + 2, 3), np.uint8)
    big = cv2.resize(small, (small.shape[1] * 8, small.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    frames = [np.ascontiguousarray(big[:1080, 2 * i: 2 * i + 1920]) for i in range(n)]
    write_test_clip(path, frames, fps=25, crf=23)
    return path


def main() -> None:
    import numpy as np
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    os.environ["STTN_INPAINT_DATA"] = str(tmp / "data")
    app = QApplication.instance() or QApplication([])
    import app.ui.preview as preview
    from app.ui.appsettings import AppSettings
    from app.ui.main_window import MainWindow

    clip = Path(sys.argv[1]) if len(sys.argv) > 1 else tmp / "hd.mp4"
    if not clip.exists():
        make_hd_clip(clip)
    shown_results: list[int] = []
    real = preview.ResultView.set_frames

    def set_frames(view, original, result, *a, **k):
        if result is not None:
            shown_results.append(hash(result[::97, ::97].tobytes()))
        return real(view, original, result, *a, **k)

    preview.ResultView.set_frames = set_frames

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    w = MainWindow(AppSettings())
    w.resize(1400, 900)
    w.show()
    w.open_path(clip)
    p = w.project
    for i in range(p.n_frames):
        p.results.put(i, 255 - p.reader[i])
    print(f"{clip.name}: {p.reader.width}x{p.reader.height}, {p.fps:g} fps, {p.n_frames} frames")
    for mode in ("original", "side", "split"):
        w.compare.set_mode(mode)
        p.set_current(0)
        wait(1000)
        ticks, pictures = set(), []
        shown_results.clear()
        on_tick = ticks.add
        on_picture = lambda i: pictures.append(i) if i == p.current else None  # noqa: E731
        w.timeline.currentChanged.connect(on_tick)
        p.frameReady.connect(on_picture)
        t0 = time.monotonic()
        w.timeline.play()
        wait(3000)
        s, results = time.monotonic() - t0, len(set(shown_results))
        w.timeline.stop()
        w.timeline.currentChanged.disconnect(on_tick)
        p.frameReady.disconnect(on_picture)
        shown = w.result_view.result_rgb  # stopped: the exact result, not a playback proxy
        exact = "" if mode == "original" else \
            f"  paused frame exact: {shown is not None and np.array_equal(shown, p.results.get(p.current))}"
        print(f"{mode:9} playhead {len(ticks) / s:5.1f}/s  pictures {len(pictures) / s:5.1f}/s  "
              f"results {results / s:5.1f}/s{exact}")
    p.undo.setClean()
    p._dirty = False
    w.close()


if __name__ == "__main__":
    main()
