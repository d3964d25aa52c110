"""Encoder speed (x264 preset) in the Export dialog: shown from settings, saved, and passed to the encoder."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from app.core.config import X264_PRESETS
from app.core import video
from app.core.jobs import CancelToken
from app.core.video import open_video
from app.ui.appsettings import AppSettings
from app.ui.dialogs.export import ENCODER_SPEEDS, ExportDialog
from app.ui.workers import EngineHost, export_inpaint_job, export_results_job

from uihelpers import square_mask


@pytest.fixture
def writer_presets(monkeypatch):
    """Presets every VideoWriter was built with; the real writer still runs."""
    seen = []
    real_init = video.VideoWriter.__init__

    def spy(self, *args, preset="medium", **kwargs):
        seen.append(preset)
        real_init(self, *args, preset=preset, **kwargs)

    monkeypatch.setattr(video.VideoWriter, "__init__", spy)
    return seen


def _dialog(qtbot, tmp_path, **kw) -> ExportDialog:
    d = ExportDialog(tmp_path / "out.mp4", 18, True, False, "summary", **kw)
    qtbot.addWidget(d)
    return d


def test_offered_speeds_are_x264_presets_from_fast_to_slow():
    names = [name for name, _ in ENCODER_SPEEDS]
    assert set(names) <= set(X264_PRESETS)
    assert names == sorted(names, key=X264_PRESETS.index)
    assert {"veryfast", "faster", "medium", "slow"} <= set(names)


def test_dialog_shows_stored_preset_and_returns_the_choice(qtbot, tmp_path):
    d = _dialog(qtbot, tmp_path)
    assert d.preset.currentData() == "medium" and "default" in d.preset.currentText()
    assert "43.19" in d.preset.toolTip() and "2.6x" in d.preset.toolTip()

    d = _dialog(qtbot, tmp_path, preset="faster")
    d.show()
    qtbot.waitExposed(d)
    assert d.preset.currentData() == "faster"
    assert d.options().preset == "faster"
    d.preset.setCurrentIndex(d.preset.findData("veryfast"))
    with qtbot.waitSignal(d.exportRequested) as blocker:
        d.export_button.click()
    options = blocker.args[0]
    assert (options.preset, options.crf, options.path) == ("veryfast", 18, tmp_path / "out.mp4")

    # a valid preset outside the short list is shown, not silently replaced; garbage reads as medium
    assert _dialog(qtbot, tmp_path, preset="ultrafast").options().preset == "ultrafast"
    assert _dialog(qtbot, tmp_path, preset="warp9").options().preset == "medium"


def test_preset_setting_round_trips_and_unknown_falls_back_to_medium():
    s = AppSettings()
    assert s.preset == "medium"
    s.preset = "veryfast"
    assert AppSettings().preset == "veryfast"  # a fresh QSettings reads the ini file back
    QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "sttn-inpaint", "STTN Inpaint").setValue(
        "export/preset", "warp9")
    assert AppSettings().preset == "medium"


def test_window_export_dialog_reads_and_saves_preset(window, clip, settings, monkeypatch):
    settings.preset = "faster"
    window.open_path(clip)
    d = window.export_dialog_show()
    assert d.preset.currentData() == "faster"
    submitted = []
    monkeypatch.setattr(window.controller, "export", lambda options: submitted.append(options))
    d.preset.setCurrentIndex(d.preset.findData("slow"))
    d.export_button.click()
    assert [o.preset for o in submitted] == ["slow"]
    assert AppSettings().preset == "slow"
    d.close()


def test_export_results_job_encodes_with_the_preset(make_clip, tmp_path, writer_presets):
    src = make_clip(n=6, width=64, height=48)
    with open_video(src) as r:
        frames = [r[i] for i in range(len(r))]
    results = {2: np.zeros_like(frames[2])}  # one computed frame, black
    out = tmp_path / "fast.mp4"
    host = EngineHost()
    try:
        res = export_results_job(src, results, out, 18, False, preset="ultrafast")(host, lambda p: None,
                                                                                     CancelToken())
    finally:
        host.close()
    assert writer_presets == ["ultrafast"]
    assert res == {"output": out, "frames": 6, "encoded_all": "every GOP holds a changed frame"}  # (one GOP)
    with open_video(out) as r:
        assert (len(r), r.width, r.height) == (6, 64, 48)
        assert r[2].mean() < 10 and np.abs(r[0].astype(int) - frames[0]).mean() < 6


def test_export_inpaint_job_encodes_with_the_preset(make_clip, tmp_path, writer_presets):
    from app.core.engine import EngineConfig
    from app.core.masks import MaskStore

    src = make_clip(n=6, width=96, height=64)
    masks = MaskStore(6, 96, 64)
    masks.set(3, square_mask())
    out = tmp_path / "inpainted.mp4"
    host = EngineHost()
    try:
        job = export_inpaint_job(src, masks, out, 0, 6, None, EngineConfig(device="cpu", fill="telea"), 18, False,
                                 preset="ultrafast")
        res = job(host, lambda p: None, CancelToken())
    finally:
        host.close()
    assert writer_presets and set(writer_presets) == {"ultrafast"}
    assert res["frames"] == 6
    with open_video(out) as r, open_video(src) as s:
        assert (len(r), r.width, r.height) == (6, 96, 64)
        changed = np.abs(r[3].astype(int) - s[3].astype(int))[square_mask()].mean()
        assert changed > np.abs(r[0].astype(int) - s[0].astype(int)).mean()  # frame 3 was filled


@pytest.mark.parametrize("computed", [True, False], ids=["re-encode-result", "inpaint-while-exporting"])
def test_controller_export_passes_the_preset_to_the_encoder(window, clip, qtbot, tmp_path, writer_presets, computed):
    from app.ui.controller import ExportOptions

    window.open_path(clip)
    window.project.set_range(2, 5)
    window.project.set_current(2)
    window.project.edit_mask(square_mask(), "range")  # a mask, or the export only remuxes the file
    window.project.set_engine_settings({**window.project.engine_settings, "fill": "telea"})
    if computed:
        with qtbot.waitSignal(window.controller.engine.finished, timeout=60_000):
            window.controller.inpaint()
        assert window.controller.result_is_current(window.controller.engine_config())
    out = tmp_path / "filled.mp4"
    with qtbot.waitSignal(window.controller.exportFinished, timeout=60_000):
        window.controller.export(ExportOptions(out, keep_audio=False, preset="ultrafast"))
    assert writer_presets == ["ultrafast"]
    with open_video(out) as r:
        assert len(r) == 12
