"""Settings > General > SAM checkpoint: the segmenter status line and the Download dialog,
against a real HTTP server on 127.0.0.1 (tests/httpserve.py, as in the core's download tests)."""
import pytest

from app.core.segment import download
from app.core.segment.sam import SAM_CHECKPOINTS
from httpserve import PayloadHandler, serve

PAYLOAD = bytes(range(256)) * 4096 * 4  # 4 MiB: the downloader reads 1 MiB at a time
VIT_B = SAM_CHECKPOINTS["vit_b"].filename


class Handler(PayloadHandler):
    """/<file name>: the payload at once; /slow/<file name>: 64 KiB every 20 ms; /other/<file
    name>: another file (twice the size); else 404."""

    def do_GET(self):
        if self.path.rsplit("/", 1)[-1] != VIT_B:
            self.send_error(404, "Not Found")
        elif self.path.startswith("/slow/"):
            self.send_payload(PAYLOAD, delay=0.02)
        elif self.path.startswith("/other/"):
            self.send_payload(PAYLOAD * 2)
        else:
            self.send_payload(PAYLOAD)


@pytest.fixture(scope="module")
def server():
    with serve(Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def official(monkeypatch):
    """The table's ViT-B entry describes PAYLOAD (its SHA-256 and size), as it describes Meta's file."""
    import hashlib
    from dataclasses import replace

    entry = replace(SAM_CHECKPOINTS["vit_b"], sha256=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD))
    monkeypatch.setitem(SAM_CHECKPOINTS, "vit_b", entry)


@pytest.fixture
def general(qtbot, settings):
    """The Settings dialog on its General page; the SAM field empty, no checkpoint anywhere."""
    from app.ui.dialogs.settings import SettingsDialog

    d = SettingsDialog(settings, {})
    qtbot.addWidget(d)
    d.show()
    yield d
    d.close()


def open_download(d, url, dest, sha256=None):
    dialog = d.download_sam(dest, sha256)
    dialog.url.setText(url)
    return dialog


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_status_line_says_which_segmenter(general, tmp_path):
    assert general.sam_status.text().startswith("None found: the click tool uses the weight-free segmenter")
    ck = download.models_dir() / VIT_B  # (the conftest's user data folder, in tmp)
    ck.parent.mkdir(parents=True)
    ck.write_bytes(PAYLOAD[:1000])  # a download cut short: the official name, not the official size
    general.load_general()
    assert general.sam_status.text() == (f"The click tool uses SAM: {VIT_B}, but it has 1,000 of the official "
                                         "file's 4,194,304 bytes: if a click fails to read it, Download… fetches it "
                                         "again.")
    ck.write_bytes(PAYLOAD)
    general.load_general()
    assert general.sam_status.text().endswith(f"uses SAM: {VIT_B}.")
    general.sam_edit.setText(str(tmp_path / "gone.pth"))
    assert general.sam_status.text().startswith("The file above does not exist")


def test_download_fills_the_settings_field(general, server, tmp_path, qtbot):
    dest = tmp_path / "models"
    dialog = open_download(general, f"{server}/{VIT_B}", dest)
    assert dialog.isVisible() and dialog.isModal()
    assert dialog.model_type == "vit_b" and str(dest) in dialog.folder.text()
    with qtbot.waitSignal(dialog.downloaded, timeout=10_000) as blocker:
        dialog.download_button.click()
        assert not dialog.download_button.isEnabled() and dialog.cancel_button.isEnabled()
    path = dest / VIT_B
    assert blocker.args == [str(path)] and path.read_bytes() == PAYLOAD
    p = dialog.last_progress
    assert p.done == p.total == len(PAYLOAD)
    assert dialog.bar.value() == dialog.bar.maximum() and "4.2 of 4.2 MB" in dialog.bar.format()
    assert general.sam_edit.text() == str(path)
    assert general.sam_status.text().endswith(f"uses SAM: {VIT_B}.")
    assert dialog.download_button.isEnabled() and not dialog.cancel_button.isEnabled()
    # present and complete: used without a download (the URL would answer 404)
    dialog.url.setText(f"{server}/missing")
    with qtbot.waitSignal(dialog.downloaded, timeout=10_000):
        dialog.download_button.click()
    assert "already in" in dialog.status.text()
    dialog.close_button.click()
    general.accept()
    assert general.settings.sam_checkpoint == str(path)


@pytest.mark.parametrize("how", ["cancel", "close"])
def test_cancel_or_close_leaves_no_file(general, server, tmp_path, qtbot, how):
    dest = tmp_path / "models"
    dialog = open_download(general, f"{server}/slow/{VIT_B}", dest)
    with qtbot.waitSignal(dialog.jobs.progress, timeout=10_000):
        dialog.download_button.click()
    if how == "cancel":
        with qtbot.waitSignal(dialog.jobs.cancelled, timeout=10_000):
            dialog.cancel_button.click()
        assert "Cancelled" in dialog.status.text() and dialog.download_button.isEnabled()
        dialog.close()
    else:
        dialog.close()  # waits for the worker: the download is cancelled, the thread ends
        assert not dialog.jobs._thread.isRunning()
    assert files(dest) == []
    assert general.sam_edit.text() == ""


def test_not_found_shows_one_line_and_allows_a_retry(general, server, tmp_path, qtbot):
    dest = tmp_path / "models"
    dialog = open_download(general, f"{server}/nothing/here.pth", dest)
    with qtbot.waitSignal(dialog.jobs.failed, timeout=10_000):
        dialog.download_button.click()
    text = dialog.status.text()
    assert "HTTP 404" in text and VIT_B in text and "\n" not in text and "Traceback" not in text
    assert files(dest) == [] and general.sam_edit.text() == ""
    dialog.url.setText(f"{server}/{VIT_B}")  # a mirror that has it
    with qtbot.waitSignal(dialog.downloaded, timeout=10_000):
        dialog.download_button.click()
    assert files(dest) == [VIT_B]
    dialog.close()


@pytest.mark.parametrize("path, sha256, said", [
    (f"/{VIT_B}", "0" * 64, ("is corrupt", "nothing was saved")),  # the digest given does not match
    (f"/other/{VIT_B}", None, (f"is not {VIT_B}: the server offers 8,388,608 bytes, the file has 4,194,304",)),
])
def test_a_wrong_file_is_refused_in_one_line_and_leaves_nothing(general, server, tmp_path, qtbot, path, sha256,
                                                                said):
    dest = tmp_path / "models"
    dialog = open_download(general, server + path, dest, sha256=sha256)
    with qtbot.waitSignal(dialog.jobs.failed, timeout=10_000):
        dialog.download_button.click()
    text = dialog.status.text()
    assert all(part in text for part in said) and "\n" not in text
    assert files(dest) == [] and general.sam_edit.text() == ""
    dialog.close()


def test_model_choice_sets_the_official_url(general, tmp_path):
    dialog = general.download_sam(tmp_path)
    for model_type, ck in SAM_CHECKPOINTS.items():
        dialog.model.setCurrentIndex(dialog.model.findData(model_type))
        assert dialog.url.text() == ck.url and ck.filename in dialog.model.currentText()
    assert "1.25 GB" in dialog.model.itemText(1) and "2.56 GB" in dialog.model.itemText(2)
    assert "CPU" in dialog.speed.text() or "GPU" in dialog.speed.text()
    dialog.close()
