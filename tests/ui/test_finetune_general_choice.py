"""The fine-tune page starts from the weights the settings dialog's General page shows, also before
OK: it said "bundled on the General page" while that page showed another file, and Start trained
from the bundled one; a file there that is not a generator is refused as the run starts, in one line."""
import torch

from app.core.sttn import InpaintGenerator, save_generator
from conftest import TINY


def _choose_on_general_page(dialog, path):
    dialog.tabs.setCurrentIndex(0)
    dialog.weights_file.setChecked(True)
    dialog.weights_edit.setText(str(path))


def test_the_page_starts_from_the_file_the_general_page_shows_before_ok(window, make_clip, tmp_path, settings):
    other = tmp_path / "mine.pth"
    torch.manual_seed(1)
    save_generator(InpaintGenerator(TINY), other)
    page = window.finetune
    dialog = window.show_settings()
    _choose_on_general_page(dialog, other)
    dialog.tabs.setCurrentWidget(page)
    assert page.source.text().startswith("mine.pth (chosen on the General page"), page.source.text()
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    assert page.make_config().init_weights == str(other)
    assert settings.weights != str(other)  # (nothing stored before OK)


def test_a_file_on_the_general_page_that_is_not_a_generator_fails_the_start_in_one_line(window, make_clip, tmp_path,
                                                                                         qtbot):
    bad = tmp_path / "notgen.pth"
    torch.save({"foo": torch.zeros(3)}, bad)
    page = window.finetune
    dialog = window.show_settings()
    _choose_on_general_page(dialog, bad)
    dialog.tabs.setCurrentWidget(page)
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    with qtbot.waitSignal(window.controller.training.failed, timeout=120_000):
        page.start_button.click()
    assert "notgen.pth is not an STTN generator" in page.status.text(), page.status.text()
    assert not window.controller.training.busy
