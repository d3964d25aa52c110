"""Track's progress in the status bar while it runs: the time left it gives (the paraglider, walked as a
new user: "Track: 1/70 · ETA 0:01" for the first seconds of a 26 s run)."""
from PySide6.QtCore import Qt

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


def test_a_correction_in_two_pieces_is_still_one_object(window, disc_clip, qtbot):
    """bmx-trees, the rider behind a tree on frame 19: two clicks on his shirt and his wheel corrected
    the tracked mask into two pieces, and Track said "Tracked 2 objects through 78 frames": each piece
    was followed on its own (49 frames flagged, 12 left empty; followed as one: 33 and 3). A
    correction of a frame's one object is that object, in as many pieces as it has."""
    from test_segment_tool import N, click, heard

    window.open_path(disc_clip)
    p, seg = window.project, window.segment
    select_and_commit(qtbot, window, *disc_centre(0))
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000):
        seg.track()
    p.set_current(4)
    click(qtbot, window, *disc_centre(4))  # on the tracked mask: a correction of it
    assert seg.tool.edits_frame
    click(qtbot, window, 112, 84)  # and a part far from it (the wheel below the tree)
    assert seg.tool.edits_frame
    import cv2

    assert cv2.connectedComponents(seg.tool.candidate.astype("uint8"))[0] - 1 >= 2  # (in pieces)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert len(p.objects_on(4)) == 1 and p.objects_on(4)[0].sum() == p.masks.get(4).sum()
    said = heard(window)
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000):
        seg.track()
    assert said[-1].startswith(f"Tracked {N - 2} frames from 2 keyframes"), said[-1]
    # on the keyframe where it was selected too: kept as that object, not said to be a second one
    p.set_current(0)
    click(qtbot, window, *disc_centre(0))
    click(qtbot, window, 112, 84)
    assert seg.tool.edits_frame
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert said[-1].startswith("Kept: "), said[-1]
    with qtbot.waitSignal(seg.trackFinished, timeout=120_000):
        seg.track()
    assert said[-1].startswith("Tracked ") and "objects" not in said[-1].split(",")[0], said[-1]
