"""Beside Steps the fine-tune page says how long that many steps take: on a CPU with no run yet at
least a minute a step (it said "On a CPU a step takes a minute or more: give tens" beside the 500 it
starts at, about 8 hours, and left the sum to the user), and after a run from the time its steps
took here, as Steps changes; on a CPU, with the minutes that reading and scoring the footage take
besides (a 2-step run took 12 min where the page said 2)."""
import json

from app.ui.jobbar import format_about


def test_beside_steps_the_page_says_how_long_they_take(window, make_clip, qtbot):
    page, jobs = window.finetune, window.controller.training
    dialog = window.show_settings()
    dialog.tabs.setCurrentWidget(page)
    assert page.steps.value() == 500
    assert page.steps_hint.text() == "On a CPU: 8 h 20 min or more + a few min to read and score the footage; give tens"
    page.steps.setValue(30)
    # (as the value changes; tens given already)
    assert page.steps_hint.text() == "On a CPU: 30 min or more + a few min to read and score the footage"
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(2)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    times = sorted(json.loads(line)["sec_per_step"] for line in (page.running or page.output.parent).joinpath(
        "metrics.jsonl").read_text().splitlines() if "sec_per_step" in line)
    assert len(times) == 2
    dialog.hide()  # (Settings opened again: the page reads the last run's time)
    window.show_finetune()
    page.steps.setValue(500)
    median = times[1]
    assert page.steps_hint.text() == (f"About {format_about(500 * median)[1:]} ({median:.3g} s a step in the last "
                                      "run on this CPU) + a few min to read and score the footage")
    assert page.steps_hint.isVisible()
