"""Small helpers shared by the GUI tests."""
import numpy as np


def square_mask(h=64, w=96, box=(20, 16, 44, 40)) -> np.ndarray:
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


class HeldWrites:
    """Holds each autosave write (``app.ui.project.write_snapshot``) until ``release``, counting the
    writes, the most running at once and the frames each snapshot had masked."""

    def __init__(self, monkeypatch):
        import threading

        import app.ui.project as project

        self._real = project.write_snapshot
        self._open, self.entered, self._lock = threading.Event(), threading.Event(), threading.Lock()
        self.running = self.most = 0
        self.frames: list[list[int]] = []
        monkeypatch.setattr(project, "write_snapshot", self._write)

    def _write(self, snap, path):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.frames.append(snap.masks.masked_frames())
        self.entered.set()
        try:
            assert self._open.wait(30), "never released"
            return self._real(snap, path)
        finally:
            with self._lock:
                self.running -= 1

    def release(self, after_s: float = 0.0) -> None:
        """Let the writes go, now or ``after_s`` seconds from now (from another thread)."""
        import threading

        if after_s:
            threading.Timer(after_s, self._open.set).start()
        else:
            self._open.set()


def hold_jobs(monkeypatch, name: str):
    """Make the jobs that ``app.ui.segment_tool.<name>`` (``track_job``, ``segment_job``) builds
    wait, once started on their worker, until the returned Event is set; each then runs for real."""
    import threading

    from app.ui import segment_tool

    gate, real = threading.Event(), getattr(segment_tool, name)

    def held(*a, **k):
        fn = real(*a, **k)

        def run(host, progress, cancel):
            assert gate.wait(30), "never released"
            return fn(host, progress, cancel)
        return run

    monkeypatch.setattr(segment_tool, name, held)
    return gate


def show_results(window, clip):
    """Open ``clip`` with a result for every frame, the inverted frame: (project, {frame: result})."""
    window.open_path(clip)
    p = window.project
    put = {i: 255 - p.reader[i] for i in range(p.n_frames)}
    for i, rgb in put.items():
        p.results.put(i, rgb)
    return p, put


def wait_exact(window, qtbot, timeout: int = 5_000):
    """The result the compare view shows once it has read the current frame's exact result on its
    worker (``ResultLoader``; the JPEG proxy stands in until then): ``result_rgb``, or None if none."""
    view = window.result_view
    qtbot.waitUntil(lambda: view.proxy_of is None, timeout=timeout)
    return view.result_rgb


def until_cancelled(host, progress, cancel):
    """A job (for ``JobThread.submit``) that runs until it is cancelled: a job bar to look at meanwhile."""
    import time

    while not cancel.cancelled:
        time.sleep(0.01)
    cancel.check()
