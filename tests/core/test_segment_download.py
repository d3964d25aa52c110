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
        if self.path.startswith("/nolength"):  # no Content-Length: the size shows only at the end
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PAYLOAD)
            return
        self.send_payload(PAYLOAD, delay=0.05 if self.path.startswith("/slow") else 0.0)


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


def test_cancel_while_checking_a_present_file_stops_and_keeps_it(tmp_path):
    """Checking ViT-H's 2.56 GB takes seconds: Cancel did nothing and closing the dialog waited."""
    path = tmp_path / "sam_vit_b_01ec64.pth"
    path.write_bytes(PAYLOAD)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        download_sam_checkpoint("vit_b", tmp_path, url="http://127.0.0.1:9/none",
                                sha256=hashlib.sha256(PAYLOAD).hexdigest(), cancel=token)
    assert path.read_bytes() == PAYLOAD


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
    monkeypatch.delenv("STTN_INPAINT_DATA", raising=False)  # (the suite sets it: tests keep out of the user's folders)
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
        monkeypatch.delenv("STTN_INPAINT_DATA", raising=False)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    else:
        monkeypatch.setattr("app.core.segment.download.models_dir", lambda: tmp_path / "data" / "sttn-inpaint" / "models")
    folder = tmp_path / "data" / "sttn-inpaint" / "models"
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert main(["download-sam", "--url", f"{server}/sam.pth", "--sha256", digest]) == 0
    out = capsys.readouterr()
    assert (folder / "sam_vit_b_01ec64.pth").read_bytes() == PAYLOAD
    assert "Saved" in out.out and "sam_vit_b_01ec64.pth" in out.err
    assert "The GUI's click tool finds it there" in out.out
    assert main(["download-sam", "--url", f"{server}/error", "--sha256", digest]) == 0  # present: nothing fetched
    other = tmp_path / "elsewhere"
    code = main(["download-sam", "--model", "vit_l", "--dest", str(other), "--url", f"{server}/sam.pth",
                 "--sha256", "0" * 64])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and err[-1].startswith("error: Downloaded sam_vit_l_0b3195.pth is corrupt")
    assert leftovers(other) == []
    # another folder: the GUI does not look there, and the line says what to do instead
    assert main(["download-sam", "--dest", str(other / "mine"), "--url", f"{server}/sam.pth", "--sha256", digest]) == 0
    assert "The GUI does not look in" in capsys.readouterr().out
    code = main(["download-sam", "--model", "vit_h", "--dest", str(other), "--url", f"{server}/error"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and "HTTP 500" in err[-1] and leftovers(other) == ["mine"]


def test_the_official_files_have_their_digests_and_sizes():
    from app.core.segment.sam import SAM_CHECKPOINTS

    for ck in SAM_CHECKPOINTS.values():
        assert len(ck.sha256) == 64 and int(ck.sha256, 16) >= 0, ck.model_type
        assert 300e6 < ck.size < 3e9, ck.model_type
    assert len({ck.sha256 for ck in SAM_CHECKPOINTS.values()}) == 3


@pytest.fixture
def known(monkeypatch):
    """The table's ViT-B entry made to describe PAYLOAD (digest and size), as it describes Meta's file."""
    from dataclasses import replace

    from app.core.segment import sam

    entry = replace(sam.SAM_CHECKPOINTS["vit_b"], sha256=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD))
    monkeypatch.setitem(sam.SAM_CHECKPOINTS, "vit_b", entry)
    return entry


def test_a_mirror_is_checked_against_the_known_digest(server, tmp_path, known, monkeypatch):
    """A mirror URL (no --sha256) must serve the official bytes: the table's digest and size apply."""
    path = download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/sam.pth")
    assert path.read_bytes() == PAYLOAD
    # a file of the wrong size in the folder is fetched again, not taken
    path.write_bytes(PAYLOAD[:-1])
    assert download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/sam.pth").read_bytes() == PAYLOAD
    # a server without Content-Length that sends other bytes of the same length: the digest says so
    from dataclasses import replace

    from app.core.segment import sam

    monkeypatch.setitem(sam.SAM_CHECKPOINTS, "vit_b", replace(known, sha256="1" * 64))
    with pytest.raises(SegmentError, match="corrupt"):
        download_sam_checkpoint("vit_b", tmp_path / "other", url=f"{server}/nolength")
    assert leftovers(tmp_path / "other") == []


def test_a_server_offering_another_size_is_refused_before_the_download(server, tmp_path, known, monkeypatch):
    import time
    from dataclasses import replace

    from app.core.segment import sam

    monkeypatch.setitem(sam.SAM_CHECKPOINTS, "vit_b", replace(known, size=375_042_383))
    t0 = time.monotonic()
    with pytest.raises(SegmentError, match="is not sam_vit_b_01ec64.pth: the server offers 1,048,576 bytes"):
        download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/slow/sam.pth")
    assert time.monotonic() - t0 < 0.5  # (the whole payload takes 0.8 s to come)
    assert leftovers(tmp_path) == []


def test_without_content_length_the_known_size_is_the_progress_total(server, tmp_path, known):
    seen = []
    download_sam_checkpoint("vit_b", tmp_path, url=f"{server}/nolength", progress=seen.append)
    assert seen[-1].total == len(PAYLOAD) == seen[-1].done
