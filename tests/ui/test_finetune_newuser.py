"""The fine-tune page as a new user walks it: Use these weights then OK keeps the new weights."""


def test_use_these_weights_then_ok_keeps_the_new_weights(window, make_clip, qtbot, settings):
    page, jobs = window.finetune, window.controller.training
    dialog = window.show_settings()
    dialog.tabs.setCurrentWidget(page)
    page.footage.setText(str(make_clip(n=10, width=96, height=64)))
    page.steps.setValue(1)
    with qtbot.waitSignal(jobs.finished, timeout=240_000):
        page.start_button.click()
    page.use_button.click()
    assert dialog.weights_file.isChecked() and dialog.weights_edit.text() == str(page.output)  # the General page shows it
    dialog.accept()  # OK: the dialog's General page must not put the weights it showed before back
    assert settings.weights == str(page.output)
    assert window.status.weights.text() == "Weights: finetuned.pth"

