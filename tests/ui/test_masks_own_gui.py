"""Mask > Export masks as PNGs… then Import mask folder… / Import mask image…: a mask over most of the
frame and its whole edge ("remove all but this", a big foreground object) comes back; the window
refused it as inverted. A plain PNG of the same pixels, not written by the application, still is."""
import cv2
import numpy as np


def _all_but_a_box(h=64, w=96):
    m = np.ones((h, w), bool)
    m[20:40, 30:60] = False
    return m


def test_an_exported_large_mask_imports_back_in_the_window(window, clip, tmp_path, dialogs, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.open_path(clip)
    p = window.project
    m = _all_but_a_box()
    p.set_current(0)
    p.edit_mask(m, "range")
    assert p.masks.masked_frames() == list(range(12))
    out = tmp_path / "exported"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    window.export_masks_action.trigger()
    assert sorted(f.name for f in out.iterdir()) == [f"{i:05d}.png" for i in range(12)]

    p.clear_masks("range")
    assert p.masks.masked_frames() == []
    window.import_folder_action.trigger()
    assert not dialogs, dialogs
    assert all(np.array_equal(p.masks.get(i), m) for i in range(12))

    p.clear_masks("range")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(out / "00007.png"), "")))
    window.import_masks_action.trigger()
    assert not dialogs, dialogs
    assert p.masks.masked_frames() == list(range(12)) and np.array_equal(p.masks.get(3), m)

    plain = tmp_path / "plain.png"  # the same pixels from another program: no mark, refused as before
    cv2.imwrite(str(plain), m.astype(np.uint8) * 255)
    p.clear_masks("range")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(plain), "")))
    window.import_masks_action.trigger()
    assert "looks inverted" in window.notice.text() and "\n" not in window.notice.text() and not dialogs
    assert p.masks.masked_frames() == []
