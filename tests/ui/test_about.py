"""Help > About says which version this is and where the log a bug report wants is kept."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def test_about_names_the_version_and_the_log_folder(window, monkeypatch):
    from app import __version__
    from app.core.paths import user_log_dir

    said = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: said.append(text)))
    window.about_action.trigger()
    assert len(said) == 1
    assert f"STTN Inpaint {__version__}" in said[0] and str(user_log_dir()) in said[0], said[0]
