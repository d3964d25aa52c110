"""Settings' Restore Defaults resets the General, Engine and Storage values. On the Fine-tune page it
changed nothing in sight (steps, rate and footage are no defaults of it) while the values it did
reset, out of sight, went in with the next OK: there it is not offered."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox


def restore_button(dialog):
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.RestoreDefaults)


def test_restore_defaults_is_not_offered_on_the_fine_tune_page(window, qtbot):
    d = window.show_settings()
    qtbot.waitExposed(d)
    button = restore_button(d)
    neighbours = d.engine_widgets["neighbor_radius"]
    default = neighbours.value()
    d.tabs.setCurrentIndex(1)  # Engine: a value changed, then the Fine-tune page
    neighbours.setValue(neighbours.value() + 1)
    d.tabs.setCurrentWidget(window.finetune)
    assert not button.isVisible()
    d.tabs.setCurrentIndex(1)  # back where what it resets is in sight: offered, and it works
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert neighbours.value() == default
    d.close()
    d = window.show_finetune()  # (opened straight on the page, from the status bar's run)
    assert d.tabs.currentWidget() is window.finetune and not restore_button(d).isVisible()
    d.close()
