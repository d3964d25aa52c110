"""A job of several steps reports one progress (``jobs.Phases``): each step its share of the bar by
its expected cost, the bar never going back, the step's own words and count passed on."""
import time

import pytest

from app.core.jobs import Phases, Progress, ProgressClock


def _run(clock_progress, total, sleep=0.0):
    clock = ProgressClock(clock_progress, total, "inner")
    clock.report(0)
    for k in range(1, total + 1):
        time.sleep(sleep)
        clock.report(k)


def test_steps_share_one_bar_by_their_cost_and_say_which_step_runs():
    seen = []
    steps = Phases(seen.append, [("Inpainting 4 changed frames…", 4 * 3.0), ("Encoding…", 12 * 1.0)])
    _run(steps.step("Inpainting 4 changed frames…"), 4)
    _run(steps.step("Encoding…"), 12)
    done = [p.done for p in seen]
    assert done == sorted(done) and done[-1] == Phases.SCALE and {p.total for p in seen} == {Phases.SCALE}
    # the inpainting took half the bar (4 frames x 3 against 12 x 1), and the bar went on from there
    first = [p for p in seen if p.stage.startswith("Inpainting")]
    assert first[-1].done == 500 and first[-1].info["step"] == (4, 4) and first[1].info["step"] == (1, 4)
    second = [p for p in seen if p.stage == "Encoding…"]
    assert second[0].done == 500 and second[0].info["step"] == (0, 12) and second[3].done == 500 + round(3 / 12 * 500)


def test_the_eta_runs_on_where_one_step_hands_over():
    """Elapsed time and fraction done are the whole job's: at the change of step the ETA stays where it
    was (a step's own count would start it again from nothing)."""
    seen = []
    steps = Phases(seen.append, [("a", 3.0), ("b", 3.0)])
    _run(steps.step("a"), 3, sleep=0.02)
    _run(steps.step("b"), 3, sleep=0.02)
    end_a = [p for p in seen if p.stage == "a"][-1]
    start_b = [p for p in seen if p.stage == "b"][0]
    assert end_a.done == start_b.done == 500
    # (the same fraction done: the ETA moves on by the time between the two reports and no more, however
    # long a loaded machine took between them; it was held under 0.02 s)
    assert start_b.eta - end_a.eta == pytest.approx(start_b.elapsed - end_a.elapsed, abs=1e-9)
    assert 0.05 < start_b.eta < 1.0  # (the time step a took: 0.06 s or more)


def test_a_step_of_steps_passes_its_own_words_on_and_a_count_that_starts_over_holds_the_bar():
    seen = []
    outer = Phases(seen.append, [("Inpainting…", 1.0), ("Writing", 1.0)])
    _run(outer.step("Inpainting…"), 2)
    inner = Phases(outer.step("Writing"), [("Encoding…", 3.0), ("Copying…", 1.0)])
    _run(inner.step("Encoding…"), 3)
    copy = inner.step("Copying…")
    copy(Progress(5, 10, "copy"))
    copy(Progress(2, 10, "export"))  # (a check failed: encoded again from the start)
    assert seen[-1].done == seen[-2].done == 500 + round((0.75 + 0.25 * 0.5) * 500)
    assert [p.stage for p in seen[-2:]] == ["Copying…", "Copying…"] and seen[-1].info["step"] == (2, 10)
    assert any(p.stage == "Encoding…" and p.info["step"] == (3, 3) for p in seen)
    outer.finish()
    assert seen[-1].done == Phases.SCALE and seen[-1].stage == "Copying…"
    done = [p.done for p in seen]
    assert done == sorted(done)


def test_a_jobs_label_leaves_out_a_stage_that_only_repeats_its_name():
    from app.core.jobs import job_label

    assert job_label("Track", "tracking") == "Track"
    assert job_label("track", "tracking") == "track"
    assert job_label("Inpaint", "inpaint") == "Inpaint"
    assert job_label("Export", "copy") == "Export (copy)"
    assert job_label("", "copy") == "copy" and job_label("Export", "") == "Export"
