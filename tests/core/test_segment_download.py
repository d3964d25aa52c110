"""SAM checkpoint download against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import hashlib

import pytest

from app.core.errors import Cancelled, SegmentError
from app.core.jobs import CancelToken
from app.core.segment.download import download_file, download_sam_checkpoint, models_dir, user_data_dir
from httpserve import PayloadHandler, serve

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class Handler(PayloadHandler):
    def do_GET(self):
        if self.path.startswith("/error"):
            self.send_error(500, "Internal Server Error")
            return
        self.send_payload(PAYLOAD)


@pytest.fixture(scope="module")
def server():
    with serve(Handler) as url:
        yield url


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_digest_passes(server, tmp_path):
    seen = []
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    path = download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/sam.pth", sha256=digest, progress=seen.append)
    assert path == tmp_path / "sam_vit_b_01ec64.pth"
    assert path.read_bytes() == PAYLOAD
    assert seen[-1].done == seen[-1].total == len(PAYLOAD)
    assert leftovers(tmp_path) == ["sam_vit_b_01ec64.pth"]
    # present and verified: reused without a download (the URL would fail)
    assert download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/error", sha256=digest) == path


def test_bad_digest_raises_and_leaves_no_file(server, tmp_path):
    with pytest.raises(SegmentError, match="corrupt"):
        download_sam_checkpoint("vit_l", tmp_path, url=f"{server}/sam.pth", sha256="0" * 64)
    assert leftovers(tmp_path) == []


def test_cancel_leaves_no_file(server, tmp_path):
    token = CancelToken()

    def progress(p):
        if p.done >= 65536:
            token.cancel()

    with pytest.raises(Cancelled):
        download_file(f"{server}/sam.pth", tmp_path / "x.pth", progress=progress, cancel=token, chunk=16384)
    assert leftovers(tmp_path) == []


def test_server_error_is_clear(server, tmp_path):
    with pytest.raises(SegmentError, match="HTTP 500") as exc:
        download_sam_checkpoint("vit_h", tmp_path, url=f"{server}/error")
    assert "sam_vit_h_4b8939.pth" in str(exc.value)
    assert leftovers(tmp_path) == []


def test_unreachable_server_is_clear(tmp_path):
    with pytest.raises(SegmentError, match="cannot reach"):
        download_file("http://127.0.0.1:9/none.pth", tmp_path / "n.pth", timeout=2)


def test_data_dir_follows_xdg(monkeypatch, tmp_path):
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_DATA_HOME applies on Linux only")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert user_data_dir() == tmp_path / "sttn-inpaint"
    assert models_dir() == tmp_path / "sttn-inpaint" / "models"


def test_cli_download_sam_saves_into_the_models_folder(server, tmp_path, monkeypatch, capsys):
    """`main.py download-sam`: the file lands under its official name in the user's models folder
    (where the GUI finds it), a second run reuses it; a wrong --sha256 or a server error is one
    line and leaves no file."""
    import sys

    from app.cli import main

    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    else:
        monkeypatch.setattr("app.core.segment.download.models_dir", lambda: tmp_path / "data" / "sttn-inpaint" / "models")
    folder = tmp_path / "data" / "sttn-inpaint" / "models"
    assert main(["download-sam", "--url", f"{server}/sam.pth"]) == 0
    out = capsys.readouterr()
    assert (folder / "sam_vit_b_01ec64.pth").read_bytes() == PAYLOAD
    assert "Saved" in out.out and "sam_vit_b_01ec64.pth" in out.err
    assert main(["download-sam", "--url", f"{server}/error"]) == 0  # present: nothing fetched
    other = tmp_path / "elsewhere"
    code = main(["download-sam", "--model", "vit_l", "--dest", str(other), "--url", f"{server}/sam.pth",
                 "--sha256", "0" * 64])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and err[-1].startswith("error: Downloaded sam_vit_l_0b3195.pth is corrupt")
    assert leftovers(other) == []
    code = main(["download-sam", "--model", "vit_h", "--dest", str(other), "--url", f"{server}/error"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and "HTTP 500" in err[-1] and leftovers(other) == []
