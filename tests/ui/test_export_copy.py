"""Export's "Copy unchanged parts as they are": shown from settings, saved, and honoured by both export jobs."""
from __future__ import annotations

import av
import numpy as np

from app.core.jobs import CancelToken
from app.core.masks import MaskStore
from app.core.video import open_video, write_test_clip
from app.ui.appsettings import AppSettings
from app.ui.dialogs.export import ExportDialog
from app.ui.workers import EngineHost, export_inpaint_job, export_results_job
from app.core.engine import EngineConfig

GOP10 = {"x264-params": "keyint=10:min-keyint=10:scenecut=0"}


def panning(n=40, w=64, h=48):
    scene = np.random.default_rng(0).integers(0, 255, (h, w + 2 * n, 3), dtype=np.uint8)
    return [np.ascontiguousarray(scene[:, 2 * i:2 * i + w]) for i in range(n)]


def run(fn):
    host = EngineHost()
    try:
        return fn(host, lambda p: None, CancelToken())
    finally:
        host.close()


def packets(path) -> dict:
    with av.open(str(path)) as c:
        return {p.pts: bytes(p) for p in c.demux(video=0) if p.dts is not None}


def test_both_export_jobs_copy_the_gops_without_a_change(tmp_path):
    src = write_test_clip(tmp_path / "clip.mp4", panning(), audio=True, codec_options=GOP10)
    with open_video(src) as r:
        black = np.zeros_like(r[12])
    res = run(export_results_job(src, {12: black}, tmp_path / "results.mp4", 18, True))
    assert res["copied"] == 30
    source, out = packets(src), packets(tmp_path / "results.mp4")
    assert sum(out[p] == source[p] for p in source) == 30
    with open_video(tmp_path / "results.mp4") as r:
        assert len(r) == 40 and r.has_audio and r[12].mean() < 10
    res = run(export_results_job(src, {12: black}, tmp_path / "all.mp4", 18, True, copy_unchanged=False))
    assert "copied" not in res and not any(packets(tmp_path / "all.mp4")[p] == source[p] for p in source)

    masks = MaskStore(40, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    masks.set(25, m)
    res = run(export_inpaint_job(src, masks, tmp_path / "inpainted.mp4", 0, 40, None, EngineConfig(fill="telea"),
                                 18, True))
    assert res["copied"] == 30
    res = run(export_inpaint_job(src, masks, tmp_path / "inpainted_all.mp4", 0, 40, None, EngineConfig(fill="telea"),
                                 18, True, copy_unchanged=False))
    assert res["copied"] == 0


def test_a_copy_that_fails_its_check_is_said_not_only_logged(tmp_path, monkeypatch):
    """When the merged file fails its check, every frame is encoded again: the export is whole but
    slow, and only the log said why; the job's warnings (the window's messages) say it now."""
    from app.core.smartrender import SmartRenderError, SmartWriter

    def broken(self, merged):
        raise SmartRenderError("as if the merged file were wrong")

    monkeypatch.setattr(SmartWriter, "_check", broken)
    src = write_test_clip(tmp_path / "clip.mp4", panning(), audio=True, codec_options=GOP10)
    with open_video(src) as r:
        black = np.zeros_like(r[12])
    res = run(export_results_job(src, {12: black}, tmp_path / "results.mp4", 18, True))
    assert res["copied"] == 0
    assert len(res["warnings"]) == 1 and "every frame was encoded again" in res["warnings"][0]
    with open_video(tmp_path / "results.mp4") as r:
        assert len(r) == 40 and r[12].mean() < 10


def test_the_dialog_offers_it_and_the_window_remembers_it(window, clip, monkeypatch, qtbot):
    assert AppSettings().copy_unchanged
    window.open_path(clip)
    d = window.export_dialog_show()
    assert d.copy_unchanged.isChecked() and "bit for bit" in d.copy_unchanged.toolTip()
    submitted = []
    monkeypatch.setattr(window.controller, "export", lambda options: submitted.append(options))
    d.copy_unchanged.setChecked(False)
    d.export_button.click()
    assert [o.copy_unchanged for o in submitted] == [False] and not AppSettings().copy_unchanged
    d.close()
    d = window.export_dialog_show()
    assert not d.copy_unchanged.isChecked()
    d.job_started()
    d._on_finished(type("Job", (), {"data": {"kind": "export"}})(), {"output": "x.mp4", "frames": 40, "copied": 30})
    assert d.status.text() == "Wrote x.mp4 (30 of 40 frames copied as they were)"
    d.close()


def test_a_dialog_made_without_the_setting_copies(qtbot, tmp_path):
    d = ExportDialog(tmp_path / "out.mp4", 18, True, False, "summary")
    qtbot.addWidget(d)
    assert d.options().copy_unchanged
