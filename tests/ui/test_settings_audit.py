"""Settings > General and the stored settings, as a new user meets them: weights files that are no
STTN generator, a weights file deleted after it was chosen, a GPU device carried over from another
computer, an ini file written by an older version or edited by hand."""
import json
import shutil

import pytest
import torch
from PySide6.QtCore import QSettings

from app.core.paths import default_weights
from app.core.sttn.discriminator import Discriminator
from uihelpers import square_mask


def one_line(text):
    return "\n" not in text and "Traceback" not in text


def text_file(folder, good):
    (folder / "notes.pth").write_text("not weights\n")
    return folder / "notes.pth"


def cut_short(folder, good):
    data = good.read_bytes()
    (folder / "cut.pth").write_bytes(data[:len(data) // 2])
    return folder / "cut.pth"


def sam_like(folder, good):  # a Segment Anything checkpoint: a bare state_dict of another network
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(8, 3, 16, 16)}, folder / "sam_vit_b.pth")
    return folder / "sam_vit_b.pth"


def discriminator(folder, good):
    torch.save({"netD": Discriminator().state_dict()}, folder / "dis.pth")
    return folder / "dis.pth"


def missing(folder, good):
    return folder / "gone.pth"


@pytest.mark.parametrize("make, said", [
    (text_file, "damaged or another kind of file"), (cut_short, "damaged or another kind of file"),
    (sam_like, "is not an STTN generator"), (discriminator, "has no generator state_dict"),
    (missing, "does not exist (moved, deleted"),
])
def test_a_file_that_is_no_sttn_generator_is_refused_at_ok_and_the_working_choice_stays(
        window, dialogs, tmp_path, settings, make, said):
    """OK stored any path: the working weights were gone, the fault came up at the next Inpaint."""
    working = settings.weights
    d = window.show_settings()
    d.device.setCurrentIndex(d.device.findData("auto"))
    bad = make(tmp_path, settings.weights_path())
    d.weights_edit.setText(str(bad))
    d.weights_file.setChecked(True)
    d.accept()
    kind, text = dialogs[-1]
    assert kind == "warning" and said in text and str(bad) in text and one_line(text)
    assert "--weights" not in text
    assert d.isVisible() and settings.weights == working and settings.device == "cpu"  # nothing stored
    assert "tiny.pth" in window.status.weights.text()
    d.close()


def test_weights_file_without_a_path_is_refused_while_bundled_weights_exist(window, dialogs, settings):
    d = window.show_settings()
    d.weights_edit.setText("")
    d.weights_file.setChecked(True)  # (the bundled file is in models/)
    d.accept()
    assert dialogs[-1] == ("warning", "Choose a weights file with Browse…, or choose Bundled weights.")
    assert d.isVisible() and settings.weights.endswith("tiny.pth")
    d.weights_bundled.setChecked(True)
    d.accept()
    assert not d.isVisible() and settings.weights == ""


def test_the_authors_layout_is_taken(window, dialogs, settings, fixture_weights):
    d = window.show_settings()
    d.weights_edit.setText(str(fixture_weights))  # {'netG': state_dict}, float16, no metadata
    d.weights_file.setChecked(True)
    d.accept()
    assert not d.isVisible() and settings.weights == str(fixture_weights) and not dialogs
    assert window.status.weights.text() == "Weights: sttn_ref_seed7.pth"


def test_a_non_ascii_path_is_taken_and_runs(window, dialogs, tmp_path, settings, clip, qtbot, tiny_weights):
    named = tmp_path / "Gewichte ünï 名前" / "feinabgestimmt.pth"
    named.parent.mkdir()
    shutil.copy(tiny_weights, named)
    settings.weights = ""  # the bundled weights in use
    d = window.show_settings()
    d.weights_edit.setText(str(named))
    d.weights_file.setChecked(True)
    d.accept()
    assert not d.isVisible() and settings.weights == str(named) and not dialogs
    assert window.status.weights.text() == "Weights: feinabgestimmt.pth"
    window.open_path(clip)
    window.project.set_range(0, 4)
    window.project.edit_mask(square_mask(), "range")
    window.project.set_engine_settings({**window.project.engine_settings, "fill": "sttn"})
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000) as blocker:
        window.controller.inpaint()
    assert blocker.args[1]["fill"] == "sttn" and window.project.results.indices() == [0, 1, 2, 3]


def test_weights_deleted_after_choosing_say_so_in_the_bar_and_at_inpaint(window, dialogs, tmp_path, clip, qtbot,
                                                                         tiny_weights):
    chosen = tmp_path / "finetuned.pth"
    shutil.copy(tiny_weights, chosen)
    window.settings.weights = str(chosen)
    window.status.refresh()
    assert window.status.weights.text() == "Weights: finetuned.pth"
    chosen.unlink()
    window.status.refresh()
    assert window.status.weights.text() == "Weights: finetuned.pth (missing)"
    assert "Settings > General" in window.status.weights.toolTip()
    window.open_path(clip)
    window.project.set_range(0, 4)
    window.project.edit_mask(square_mask(), "range")
    with qtbot.waitSignal(window.controller.engine.failed, timeout=60_000):
        window.controller.inpaint()
    kind, text = dialogs[-1]
    assert kind == "critical" and one_line(text) and str(chosen) in text
    assert "choose it again in Settings > General" in text and "--weights" not in text


def test_a_gpu_device_carried_over_is_shown_as_unavailable_not_as_automatic(window, dialogs, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    window.settings.device = "cuda"  # (settings copied from a computer with a GPU)
    window.status.refresh()
    assert window.status.device.text() == "Device: cuda (unavailable)"
    d = window.show_settings()
    assert d.device.currentData() == "cuda" and "not available on this computer" in d.device.currentText()
    d.reject()
    assert window.settings.device == "cuda"
    d = window.show_settings()  # shown once, not once per opening
    assert [d.device.itemData(i) for i in range(d.device.count())].count("cuda") == 1
    d.device.setCurrentIndex(d.device.findData("cpu"))
    d.accept()
    assert window.settings.device == "cpu" and window.status.device.text() == "Device: CPU"
    d = window.show_settings()
    assert "cuda" not in [d.device.itemData(i) for i in range(d.device.count())]
    d.close()


def test_ok_refused_for_an_engine_value_stores_nothing(window, dialogs, settings):
    """The device, weights and SAM path were stored before the engine values were checked, so
    Cancel after the warning kept half of the changes."""
    d = window.show_settings()
    d.device.setCurrentIndex(d.device.findData("auto"))
    d.sam_edit.setText("/elsewhere/sam_vit_b.pth")
    d.engine_widgets["window_step"].setValue(99)  # more than 2n+1
    d.accept()
    assert dialogs[-1][0] == "warning" and d.isVisible()
    d.reject()
    assert (settings.device, settings.sam_checkpoint) == ("cpu", "")


@pytest.mark.parametrize("stored", [
    "[1, 2]",  # not an object
    json.dumps({"neighbor_radius": "3", "fill": "bogus", "crop_to_mask": "yes", "window_step": "x",
                "attention": "fancy", "dilate": -2, "max_refs": 4, "unknown": 1}),
])
def test_engine_settings_of_an_older_version_start_with_defaults_for_what_does_not_fit(
        qtbot, settings, dialogs, stored):
    """A list started the window with a traceback; values of another type reached the dialog (an
    int() traceback) or the first Inpaint ('fill must be one of ...')."""
    from app.core.engine import EngineConfig
    from app.ui.main_window import MainWindow

    settings.q.setValue("engine", stored)
    settings.q.setValue("recent", json.dumps({"a": 1}))
    settings.q.sync()
    w = MainWindow(settings)
    qtbot.addWidget(w)
    values = w.project.engine_settings
    defaults = EngineConfig().to_dict()
    assert values == {**{k: v for k, v in defaults.items() if k != "device"},
                      **({"max_refs": 4} if "max_refs" in stored else {})}
    EngineConfig.from_dict(values)
    assert settings.recent() == []
    d = w.show_settings()
    assert d.engine_values()["fill"] == "auto" and d.engine_widgets["max_refs"].value() == values["max_refs"]
    d.close()
    w.close()
    assert not dialogs


def test_restore_defaults_resets_the_cache_limit_too_and_cancel_keeps_everything(window, dialogs, settings):
    from app.core.cache import DEFAULT_LIMIT_BYTES

    settings.cache_limit_mb = 700
    d = window.show_settings()
    d.engine_widgets["neighbor_radius"].setValue(2)
    d.accept()
    d = window.show_settings()
    assert d.cache_limit.value() == 700
    d.restore_defaults()
    assert d.cache_limit.value() == DEFAULT_LIMIT_BYTES >> 20 and d.device.currentData() == "auto"
    assert d.engine_values()["neighbor_radius"] == 5 and d.weights_edit.text() == settings.weights
    d.reject()  # Cancel: nothing applied
    assert (settings.cache_limit_mb, settings.device, settings.engine()["neighbor_radius"]) == (700, "cpu", 2)
    assert window.project.engine_settings["neighbor_radius"] == 2
    d = window.show_settings()
    assert d.cache_limit.value() == 700 and d.engine_values()["neighbor_radius"] == 2
    d.restore_defaults()
    d.accept()
    assert (settings.cache_limit_mb, settings.device) == (DEFAULT_LIMIT_BYTES >> 20, "auto")
    assert window.project.engine_settings["neighbor_radius"] == 5


def test_ok_while_an_inpaint_runs_leaves_that_run_as_it_started(window, dialogs, tmp_path, clip, qtbot, monkeypatch,
                                                                 tiny_weights):
    import threading

    from app.ui import controller

    gate, real = threading.Event(), controller.inpaint_job

    def held(*a, **k):
        fn = real(*a, **k)
        return lambda host, progress, cancel: gate.wait(30) and fn(host, progress, cancel)

    monkeypatch.setattr(controller, "inpaint_job", held)
    other = tmp_path / "other.pth"
    shutil.copy(tiny_weights, other)
    window.open_path(clip)
    window.project.set_range(0, 3)
    window.project.edit_mask(square_mask(), "range")
    window.project.set_engine_settings({**window.project.engine_settings, "fill": "sttn"})
    job = window.controller.inpaint()
    d = window.show_settings()
    d.weights_edit.setText(str(other))
    d.engine_widgets["fill"].setCurrentIndex(d.engine_widgets["fill"].findData("telea"))
    d.accept()
    assert window.settings.weights == str(other) and window.controller.engine.current is job
    with qtbot.waitSignal(window.controller.engine.finished, timeout=120_000) as blocker:
        gate.set()
    assert blocker.args[1]["fill"] == "sttn"  # the run's own settings and weights
    assert window.controller.engine._worker.host._model_key[0] == tiny_weights.resolve()
    assert window.project.results.indices() == [0, 1, 2]


def test_the_fill_list_says_which_mode_is_quick(window):
    """Settings > Engine > Fill listed bare mode names (auto, sttn, propagate+sttn, propagate+telea,
    telea): a user on a CPU who wanted the quick fill had to know that telea is it, and that sttn
    costs about 15 times as long there."""
    box = window.show_settings().engine_widgets["fill"]
    texts = {box.itemData(i): box.itemText(i) for i in range(box.count())}
    assert texts["telea"] == "telea (quickest, frame by frame)"
    assert texts["propagate+telea"] == "propagate+telea (about 2x telea's time on a CPU)"
    assert texts["sttn"] == "sttn (about 15x telea's time on a CPU)"
    assert texts["auto"] == "auto (by weights and device)" and "auto: propagate+sttn, or" in box.toolTip()
    window.settings_dialog.close()


def test_the_weights_field_says_when_the_chosen_fill_uses_no_model(window, tmp_path, tiny_weights, monkeypatch):
    """A fill that runs no model (telea, propagate+telea, auto with the bundled weights on a CPU) says
    so beside the weights' name: 'Weights: sttn_inpaint.pth' beside a telea fill read as if the model
    filled the hole."""
    chosen = tmp_path / "mine.pth"
    shutil.copy(tiny_weights, chosen)
    window.settings.weights = str(chosen)
    window.settings.device = "cpu"
    project, field = window.project, window.status.weights
    project.set_engine_settings({**project.engine_settings, "fill": "telea"})
    assert field.text() == "Weights: mine.pth (unused by the telea fill)"
    assert "Settings > Engine" in field.toolTip()
    project.set_engine_settings({**project.engine_settings, "fill": "propagate+sttn"})
    assert field.text() == "Weights: mine.pth"
    project.set_engine_settings({**project.engine_settings, "fill": "auto"})
    assert field.text() == "Weights: mine.pth"  # (auto runs chosen weights everywhere)
    window.settings.weights = ""  # the bundled model: auto on a CPU runs propagate+telea
    window.status.refresh()
    assert field.text() == "Weights: sttn_inpaint.pth (unused on a CPU)"  # (short: the bar's messages need room)
    assert "Auto fills with propagate+telea on a CPU" in field.toolTip()
    window.settings.weights = str(default_weights())  # the same file chosen by its path: the same fill
    window.status.refresh()
    assert field.text() == "Weights: sttn_inpaint.pth (unused on a CPU)"
    assert window.controller.fill_mode(window.controller.engine_config()) == "propagate+telea"
