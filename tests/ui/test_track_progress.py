"""Track's progress in the status bar while it runs: the time left it gives (the paraglider, walked as a
new user: "Track: 1/70 · ETA 0:01" for the first seconds of a 26 s run)."""
from test_segment_tool import disc_centre, select_and_commit
from test_segment_tool import disc_clip  # noqa: F401 - the clip (a fixture)


def test_track_gives_no_time_left_until_it_has_tracked_a_frame(window, disc_clip, qtbot):
    """The keyframe is reported first, done as soon as it is read: the time left was worked out from
    that near-zero time, and the bar said about a second for a run of half a minute until the first
    frame was tracked. It says none ("–") until then, and one from the frames tracked after."""
    window.open_path(disc_clip)
    select_and_commit(qtbot, window, *disc_centre(0))
    reports, shown = [], []
    engine, bar = window.controller.engine, window.job_bar
    engine.progress.connect(lambda job, p: reports.append((p.done, p.eta)))
    engine.progress.connect(lambda job, p: shown.append(bar.label.text()))  # (connected after the bar's own)
    with qtbot.waitSignal(window.segment.trackFinished, timeout=120_000):
        window.segment.track()
    assert len(reports) == len(disc_clip_frames(window)) and reports[0][0] == 1
    assert reports[0][1] is None and shown[0].endswith("ETA –"), (reports[:3], shown[:3])
    assert all(eta is not None for _, eta in reports[1:]), reports


def disc_clip_frames(window) -> range:
    return range(window.project.n_frames)
