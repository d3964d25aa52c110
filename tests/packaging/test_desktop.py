"""Desktop integration files and the ``python -m app`` entry point (fast checks)."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"


def test_python_m_app_is_the_cli():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "app", "--version"], cwd=ROOT.parent, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    from app import __version__

    assert r.stdout.strip() == f"sttn-inpaint {__version__}"


def test_desktop_entry_is_well_formed():
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(LINUX / "sttn-inpaint.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "sttn-inpaint" and "%f" in entry["Exec"]
    assert entry["Icon"] == "sttn-inpaint"
    assert (LINUX / f"{entry['Icon']}.svg").is_file() and (LINUX / f"{entry['Icon']}.png").is_file()
    for key in ("Categories", "MimeType", "Keywords"):
        assert entry[key].endswith(";"), f"{key} must end with ';'"
    assert "AudioVideo" in entry["Categories"].split(";")


def test_icon_svg_renders_and_png_matches_it(qapp):
    # qapp (pytest-qt) makes the one QApplication of the session; a bare QGuiApplication made
    # here would outlive this test and make every later QWidget abort.
    pytest.importorskip("PySide6.QtSvg")
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(LINUX / "sttn-inpaint.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 256
    png = QImage(str(LINUX / "sttn-inpaint.png"))
    assert (png.width(), png.height()) == (256, 256)
    assert png.hasAlphaChannel()
    assert png.pixelColor(0, 0).alpha() == 0 and png.pixelColor(128, 128).alpha() == 255
