"""Render packaging/linux/sttn-inpaint.svg to PNG (256 px for the desktop entry) with Qt's SVG renderer.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/linux/render_icon.py [--ico] [--icns]

--ico also writes packaging/windows/sttn-inpaint.ico, --icns packaging/macos/sttn-inpaint.icns
(Qt's image plugins write both); the spec uses them when they exist.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent
SVG = HERE / "sttn-inpaint.svg"


def render(size: int) -> QImage:
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"error: {SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def save(image: QImage, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), fmt):
        raise SystemExit(f"error: Qt could not write {path} ({fmt})")
    print(f"wrote {path}")


def main(argv: list[str]) -> int:
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 - QImage text/fonts need it
    save(render(256), HERE / "sttn-inpaint.png", "PNG")
    if "--ico" in argv:
        save(render(256), HERE.parent / "windows" / "sttn-inpaint.ico", "ICO")
    if "--icns" in argv:
        save(render(512), HERE.parent / "macos" / "sttn-inpaint.icns", "ICNS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
