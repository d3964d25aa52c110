"""The fine-tune page's validation PSNR curve has its points where a validation ran, live as after
Continue (which reads them from metrics.jsonl). Each report of a step carries the last validation's
score, and the page drew it at every step: a flat staircase between validations, and at the end a
vertical jump where the step before's stale score and the last validation's met at one step."""
import json

import pytest

from test_finetune_newuser import _stopped_run


def _validations(page) -> list:
    lines = (page.output.parent / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], pytest.approx(r["val_psnr"], abs=1e-3))  # (reports round it to 3 decimals)
            for r in map(json.loads, lines) if "val_psnr" in r]


def test_the_psnr_curve_has_a_point_at_each_validation_live_and_after_continue(window, make_clip, qtbot):
    page, jobs = window.finetune, window.controller.training
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(12)  # (validated before the first step, at step 10 and after the last)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    drawn = page.plot.points["val_psnr"]
    assert [s for s, _ in drawn] == [0, 10, 12] and drawn == [(s, v) for s, v in _validations(page)]
    assert [s for s, _ in page.plot.points["loss"]] == list(range(1, 13))
    stopped = _stopped_run(page, jobs, qtbot, steps=12)  # another run, stopped, then carried on
    assert stopped["stopped"] and 2 <= stopped["step"] < 10
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.continue_button.click()
    drawn = page.plot.points["val_psnr"]
    assert [s for s, _ in drawn] == [0, 10, 12] and drawn == [(s, v) for s, v in _validations(page)]


def test_after_a_run_the_page_s_lines_do_not_overlap_the_plot(window, make_clip, qtbot):
    """A run ended: its two-line status (the weights' path) and the line saying why its run stays were
    drawn over the plot's step axis, the plot keeping 200 px in a dialog that does not grow for them."""
    page, jobs = window.finetune, window.controller.training
    dialog = window.show_finetune()
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(2)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    qtbot.wait(200)  # (laid out again for the new lines)
    status, held, plot = page.status, page.held_label, page.plot
    assert held.isVisible() and status.height() >= status.heightForWidth(status.width()) > status.fontMetrics().height()
    assert held.geometry().bottom() < plot.geometry().top() and plot.geometry().bottom() < status.geometry().top()
    assert status.geometry().bottom() <= page.height() and dialog.height() <= 520


def test_a_series_of_one_value_is_labelled_with_that_value_alone(qtbot):
    """After the first validation (31.54 dB) and the first step (loss 0.2605) the axes read 15.77 to
    47.31 dB and 0.1302 to 0.3907: bounds padded by half the value, which the run never had."""
    from app.ui.dialogs.finetune import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.clear(2)
    plot.add(0, {"val_psnr": 31.54})
    plot.add(1, {"loss": 0.2605, "val_psnr": 31.54})
    assert plot.span("val_psnr")[1] == [("31.54", 0.5)] and plot.span("loss")[1] == [("0.2605", 0.5)]
    plot.add(2, {"loss": 0.3543, "val_psnr": 31.3})
    assert plot.span("val_psnr")[1] == [("31.54", 1.0), ("31.3", 0.0)]
    plot.resize(400, 200)
    plot.grab()  # (painted with them)
