"""Export after a mask edit inpaints the frames the edit reached, then encodes: one progress bar over
both, never starting again, the words beside it naming the step."""
from __future__ import annotations

import pytest

from app.core.video import probe, write_test_clip
from test_audit_results import export, paint, run_inpaint
from test_export_copy import GOP10, panning
from uihelpers import square_mask


@pytest.mark.parametrize("copy", [True, False])
def test_a_partial_exports_bar_runs_once_to_full_naming_each_step(window, qtbot, tmp_path, copy):
    """40 frames, a keyframe every 10, the range 10..19: the frame edited is inpainted, then with *Copy
    unchanged parts* the range's GOP is encoded and the other three copied (three steps), else all 40
    are encoded (two)."""
    window.open_path(write_test_clip(tmp_path / "clip.mp4", panning(40, 96, 64), codec_options=GOP10))
    window.settings.copy_unchanged = copy
    p, c = paint(window, 10, 20)
    run_inpaint(window, qtbot)
    p.set_current(14)
    p.edit_mask(square_mask(box=(10, 8, 60, 50)), "frame")  # telea: this frame alone is out of date
    assert p.outdated_results(10, 20) == [14]
    bar, label = window.job_bar.bar, window.job_bar.label
    seen = []  # (value, maximum, words) as the job bar shows them after each report
    c.engine.progress.connect(lambda job, _: seen.append((bar.value(), bar.maximum(), label.text())))
    out = tmp_path / "out.mp4"
    export(window, qtbot, out)
    assert probe(out)["frames"] == 40
    values = [v for v, _, _ in seen]
    assert values == sorted(values), values  # (it ran 0..1 for the frame, then 0..24 for the encoding)
    assert {m for _, m, _ in seen} == {1000} and values[-1] == 1000
    words = [w for _, _, w in seen]
    assert any(w.startswith("Export: Inpainting 1 changed frame… 1/1 written · ETA") for w in words), words
    assert any(w.startswith(f"Export: Encoding… {10 if copy else 40}/{10 if copy else 40} ") for w in words), words
    steps = ("Inpainting", "Encoding") + (("Copying the unchanged frames… 40/40",) if copy else ())
    firsts = [next((i for i, w in enumerate(words) if w.startswith(f"Export: {s}")), None) for s in steps]
    assert None not in firsts and firsts == sorted(firsts), words
    assert bar.format() == "%p%"


@pytest.mark.parametrize("copy", [True, False])
def test_an_export_without_a_result_runs_its_bar_once(window, qtbot, tmp_path, copy):
    """No Inpaint before: the export inpaints while it encodes, then (*Copy unchanged parts*) copies
    the GOPs the mask does not reach. The core counts the two from 0 each, as the command line shows
    them; the window's bar runs once over both."""
    window.open_path(write_test_clip(tmp_path / "clip.mp4", panning(40, 96, 64), codec_options=GOP10))
    window.settings.copy_unchanged = copy
    paint(window, 10, 20)
    bar, label = window.job_bar.bar, window.job_bar.label
    seen = []
    window.controller.engine.progress.connect(lambda job, _: seen.append((bar.value(), bar.maximum(), label.text())))
    out = tmp_path / "out.mp4"
    export(window, qtbot, out)
    assert probe(out)["frames"] == 40
    values = [v for v, _, _ in seen]
    assert values == sorted(values), values  # (it ran 0..n for the inpainting, then 0..n for the copy)
    assert {m for _, m, _ in seen} == {1000} and values[-1] == 1000
    words = [w for _, _, w in seen]
    assert any(w.startswith("Export: Encoding (inpainting 10 frames)…") for w in words), words
    assert any(w.startswith("Export: Copying the unchanged frames…") for w in words) == copy, words
