"""The one place that finds the application's files: bundled models, resources, user data.

Works from a source tree, an installed wheel, or a PyInstaller bundle (``sys._MEIPASS``);
nothing is opened relative to the working directory.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "sttn-inpaint"
DEFAULT_WEIGHTS_NAME = "sttn_inpaint.pth"


def root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    installed = Path(__file__).resolve().parents[1] / "_data"  # a wheel: setup.py copies the folders here
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return root() / "resources"


def models_dir() -> Path:
    return root() / "models"


def user_data_dir() -> Path:
    """Per-user writable folder (downloaded checkpoints, autosaves, fine-tunes)."""
    override = os.environ.get("STTN_INPAINT_DATA")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / APP_NAME


def default_weights() -> Path | None:
    """The bundled generator, or None while the project ships none."""
    path = models_dir() / DEFAULT_WEIGHTS_NAME
    return path if path.exists() else None


def demo_clip() -> Path:
    return resources_dir() / "demo" / "demo.mp4"


def demo_mask() -> Path:
    return resources_dir() / "demo" / "demo_mask.png"
