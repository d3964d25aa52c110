"""Permanent status-bar fields: device, weights in use, memory of this process."""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from app.core.engine import resolve_device
from app.core.errors import InpaintError


def rss_bytes() -> int:
    """Resident memory now (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class StatusFields:
    def __init__(self, bar: QStatusBar, settings):
        self.settings = settings
        self.device = QLabel()
        self.weights = QLabel()
        self.memory = QLabel()
        for w in (self.device, self.weights, self.memory):
            w.setObjectName("StatusField")
            bar.addPermanentWidget(w)
        self.timer = QTimer(bar)
        self.timer.timeout.connect(self.update_memory)
        self.timer.start(2000)
        self.refresh()

    def refresh(self) -> None:
        try:
            device = str(resolve_device(self.settings.device)).upper()
        except InpaintError:
            device = f"{self.settings.device} (unavailable)"
        self.device.setText(f"Device: {device}")
        w = self.settings.weights_path()
        self.weights.setText(f"Weights: {w.name}" if w else "Weights: none (classic fill)")
        self.weights.setToolTip(str(w) if w else "Choose a weights file in Settings > General")
        self.update_memory()

    def update_memory(self) -> None:
        self.memory.setText(f"Memory: {rss_bytes() / 2**20:.0f} MB")
