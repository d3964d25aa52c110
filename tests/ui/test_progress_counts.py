"""The progress a user watches during Inpaint and Export: the bar follows the work the engine reports,
and a count that waits for a batch of frames (a propagation chunk, an STTN window) says it counts the
frames written, as the command line does ("inpaint: 97% (0/10 frames written)")."""
from __future__ import annotations

from app.core.jobs import Progress
from app.ui.dialogs.export import ExportDialog
from test_audit_results import export, paint, run_inpaint


def _shown(window, seen):
    """Record (the report, the bar's share, its text, the label) after each report the job bar shows."""
    bar, label = window.job_bar.bar, window.job_bar.label
    window.controller.engine.progress.connect(
        lambda job, p: seen.append((p, bar.value() / max(1, bar.maximum()), bar.text(), label.text())))


def test_inpaint_shows_the_work_on_the_bar_and_a_count_of_frames_written(window, qtbot, make_clip):
    """schoolgirls, frames 30..41, propagate+sttn on a 2-core CPU: for 53 s the bar filled to 100%
    while it read "0/12" and the label "Inpaint (propagate): 0/12 · ETA 0:04", as if nothing were being
    done; the twelve frames were written at the end of their chunk. The bar shows its percent and the
    count says it is of the frames written."""
    window.open_path(make_clip(n=12, width=96, height=64))
    paint(window, 0, 12, fill="propagate+sttn")
    seen = []
    _shown(window, seen)
    run_inpaint(window, qtbot)
    waiting = [(share, text, words) for p, share, text, words in seen if p.done == 0 and (p.work or 0) > 0]
    assert waiting, [(p.done, p.work) for p, *_ in seen]  # (the work moved before a frame was written)
    for share, text, words in waiting:
        assert text.endswith("%") and abs(int(text[:-1]) - share * 100) <= 1, (share, text)
        assert ": 0/12 written · ETA " in words, words
    assert max(share for share, _, _ in waiting) > 0.5, waiting  # (the bar moved, not the count)
    assert seen[-1][3].startswith("Inpaint (propagate): 12/12 written · ETA"), seen[-1]


def test_export_says_its_steps_count_frames_written_while_the_bar_moves(window, qtbot, make_clip, tmp_path):
    """An export with no result inpaints while it encodes: its words stood at "Encoding (inpainting
    12 frames)… 30/80 · ETA 0:07" for 40 s while the bar went from 6 to 86% (schoolgirls, frames
    30..41, propagate+sttn, CPU). In the dialog and the job bar the count says it is of frames written."""
    window.open_path(make_clip(n=12, width=96, height=64))
    paint(window, 0, 12, fill="propagate+sttn")
    seen, said = [], []
    _shown(window, seen)
    dialog_shows = window.export_dialog_show
    window.export_dialog_show = lambda: _watch(dialog_shows(), window, said)
    export(window, qtbot, tmp_path / "out.mp4")
    stuck = [(share, words) for p, share, _, words in seen if p.info.get("step") == (0, 12) and p.done > 0]
    assert stuck, [(p.done, p.info) for p, *_ in seen]  # (the bar moved before a frame was encoded)
    assert all(words.startswith("Export: Encoding (inpainting 12 frames)… 0/12 written · ETA") for _, words in stuck)
    assert said and all(" written · ETA " in status for _, status in said), said
    assert any(status.startswith("Encoding (inpainting 12 frames)… 0/12 written") and share > 0
               for share, status in said), said


def _watch(dialog, window, said):
    """Record (the dialog bar's share, its status line) after each report the dialog shows."""
    window.controller.engine.progress.connect(
        lambda job, p: said.append((dialog.progress.value() / max(1, dialog.progress.maximum()),
                                    dialog.status.text())))
    return dialog


def test_the_export_dialogs_bar_follows_the_work_reported(qtbot, tmp_path):
    """A report of the work apart from its count (``Progress.work``) set the dialog's bar by the count:
    at 97% of the work and no frame written it stood empty, "0/10 frames · ETA –"."""
    dialog = ExportDialog(tmp_path / "out.mp4", 18, False, False, "")
    qtbot.addWidget(dialog)
    dialog.job_started()
    dialog.job_progress(Progress(0, 10, "inpaint", 28.0, {}, 0.97))
    assert (dialog.progress.value(), dialog.progress.maximum()) == (970, 1000)
    assert dialog.status.text() == "0/10 frames written · ETA 0:01", dialog.status.text()
    dialog.job_progress(Progress(4, 10, "copy", 2.0))  # (a count alone: the bar and the words by it)
    assert (dialog.progress.value(), dialog.progress.maximum()) == (4, 10)
    assert dialog.status.text() == "4/10 frames · ETA 0:03", dialog.status.text()
