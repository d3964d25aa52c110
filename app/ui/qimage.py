"""ndarray <-> QImage conversion: the only place in the GUI that crosses between the two.

Core code works on RGB uint8 (H, W, 3) frames and bool (H, W) masks; Qt draws QImages.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """RGB uint8 (H, W, 3) -> QImage that owns its pixels (safe after ``rgb`` is freed)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Any QImage -> RGB uint8 (H, W, 3) copy."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def mask_to_qimage(mask: np.ndarray, color: QColor) -> QImage:
    """bool (H, W) -> indexed QImage: transparent where False, ``color`` where True.

    One byte per pixel and a two-entry colour table, so rebuilding it on every brush
    move stays cheap even at full HD; opacity is applied by the painter.
    """
    data = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = data.shape
    img = QImage(data.data, w, h, data.strides[0], QImage.Format.Format_Indexed8)
    img.setColorTable([0, color.rgba()])
    return img.copy()
