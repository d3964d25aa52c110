"""Footage the fine-tune page can tell at once is unusable (nothing chosen, a path that is not
there, a file that is not a video) is refused on the page's line before a run starts: no run
folder is made, no model loaded, and the words are the window's (Folder…, Video…), not the
command line's ("pass videos or folders", seconds later, after loading the model)."""
from __future__ import annotations

from PIL import Image


def test_footage_that_cannot_be_used_is_refused_before_a_run_starts(window, tmp_path, qtbot, dialogs):
    from app.ui.dialogs.finetune import runs_root

    page, jobs = window.finetune, window.controller.training
    still = tmp_path / "logo.png"
    Image.new("L", (32, 24)).save(still)
    started = []
    jobs.busyChanged.connect(lambda busy: busy and started.append(True))
    for footage, expected in (("", "Choose the footage to fine-tune on"),
                              (str(tmp_path / "gone"), "does not exist"),
                              (str(still), "logo.png is not a video")):
        page.footage.setText(footage)
        page.start_button.click()
        qtbot.wait(50)
        text = page.status.text()
        assert expected in text and "Folder…" in text and "Video…" in text, text
        assert "pass " not in text and "\n" not in text, text
        assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    assert not started and not jobs.busy and not dialogs
    assert not runs_root().exists() or not any(runs_root().iterdir())  # no run folder made for them
