"""Shared fixtures: small real clips made with PyAV, paths to ../shared material."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURE_DIR = SHARED / "fixtures" / "sttn_reference"
CLIPS = SHARED / "data" / "clips"
TRAIN_CLIPS = SHARED / "data" / "train"


@pytest.fixture(scope="session", autouse=True)
def user_data_for_the_session(tmp_path_factory):
    """User data (autosaves, downloads, the part-file journal) in tmp from the session's first fixture on.

    Session fixtures (the tiny trained weights) run before any per-test redirect; without this they
    wrote journal notes into the real ~/.local/share/sttn-inpaint/writing."""
    patch = pytest.MonkeyPatch()
    patch.setenv("STTN_INPAINT_DATA", str(tmp_path_factory.mktemp("userdata")))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def user_cache_and_logs(tmp_path_factory, monkeypatch):
    """Caches (decoded training clips, GUI results) and logs go to tmp, never the user's folders."""
    monkeypatch.setenv("STTN_INPAINT_CACHE", str(tmp_path_factory.mktemp("usercache")))
    monkeypatch.setenv("STTN_INPAINT_LOGS", str(tmp_path_factory.mktemp("userlogs")))


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch intra-op thread, restoring the previous count afterwards."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here (it comes from ../shared beside the repository)")
    return path


@pytest.fixture(scope="session")
def fixture_weights() -> Path:
    return _need(FIXTURE_DIR / "sttn_ref_seed7.pth")


@pytest.fixture(scope="session")
def fixture_arrays():
    return np.load(_need(FIXTURE_DIR / "sttn_ref_seed7.npz"))


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    return _need(CLIPS)


@pytest.fixture(scope="session")
def train_dir() -> Path:
    return _need(TRAIN_CLIPS)


def make_frames(n: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    """A textured scene panning right by 2 px per frame, RGB uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 255, (height // 8 + 2, (width + 2 * n) // 8 + 2, 3), dtype=np.uint8)
    import cv2

    big = cv2.resize(big, (big.shape[1] * 8, big.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    return [np.ascontiguousarray(big[:height, 2 * i: 2 * i + width]) for i in range(n)]


@pytest.fixture
def make_clip(tmp_path):
    """make_clip(n=8, width=96, height=64, fps=25, audio=False, name='clip.mp4') -> Path."""
    from app.core.video import write_test_clip

    def _make(n=8, width=96, height=64, fps=25, audio=False, name="clip.mp4"):
        path = tmp_path / name
        write_test_clip(path, make_frames(n, width, height), fps=fps, audio=audio)
        return path

    return _make


@pytest.fixture
def no_bundled_weights(monkeypatch):
    """A build that ships no generator in models/: fill 'auto' falls back to propagation + Telea."""
    from app.core import paths

    monkeypatch.setattr(paths, "default_weights", lambda: None)
