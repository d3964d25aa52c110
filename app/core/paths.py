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


def _home_env(name: str, *fallback: str) -> Path:
    """``$name`` when it is set to an absolute path (XDG's rule), else ``~/<fallback...>``."""
    value = os.environ.get(name, "")
    return Path(value) if value and os.path.isabs(value) else Path.home().joinpath(*fallback)


def _user_dir(override: str, linux: tuple, darwin: tuple, win: tuple) -> Path:
    """One of the per-user folders, following platformdirs' conventions (not created here).

    ``override`` names an environment variable that wins everywhere (tests, portable installs);
    each platform tuple is (environment variable, fallback under the home folder, folders under it).
    """
    value = os.environ.get(override)
    if value:
        return Path(value).expanduser()
    var, fallback, tail = win if sys.platform == "win32" else darwin if sys.platform == "darwin" else linux
    base = _home_env(var, *fallback) if var else Path.home().joinpath(*fallback)
    return base.joinpath(*tail)


_LOCAL_WIN = ("LOCALAPPDATA", ("AppData", "Local"))
_ROAMING_WIN = ("APPDATA", ("AppData", "Roaming"))
_MAC_SUPPORT = (None, ("Library", "Application Support"))


def user_data_dir() -> Path:
    """Per-user writable folder (downloaded checkpoints, autosaves, fine-tunes): $STTN_INPAINT_DATA,
    else ~/.local/share/sttn-inpaint, ~/Library/Application Support/sttn-inpaint, %APPDATA%\\sttn-inpaint."""
    return _user_dir("STTN_INPAINT_DATA", ("XDG_DATA_HOME", (".local", "share"), (APP_NAME,)),
                     (*_MAC_SUPPORT, (APP_NAME,)), (*_ROAMING_WIN, (APP_NAME,)))


def user_config_dir() -> Path:
    """Settings: $STTN_INPAINT_CONFIG, else ~/.config/sttn-inpaint (where QSettings keeps its ini on
    Linux), ~/Library/Application Support/sttn-inpaint, %APPDATA%\\sttn-inpaint."""
    return _user_dir("STTN_INPAINT_CONFIG", ("XDG_CONFIG_HOME", (".config",), (APP_NAME,)),
                     (*_MAC_SUPPORT, (APP_NAME,)), (*_ROAMING_WIN, (APP_NAME,)))


def user_cache_dir() -> Path:
    """Caches that can be deleted at any time (see ``app.core.cache``): $STTN_INPAINT_CACHE, else
    ~/.cache/sttn-inpaint, ~/Library/Caches/sttn-inpaint, %LOCALAPPDATA%\\sttn-inpaint\\Cache."""
    return _user_dir("STTN_INPAINT_CACHE", ("XDG_CACHE_HOME", (".cache",), (APP_NAME,)),
                     (None, ("Library", "Caches"), (APP_NAME,)), (*_LOCAL_WIN, (APP_NAME, "Cache")))


def user_log_dir() -> Path:
    """Log files: $STTN_INPAINT_LOGS, else ~/.local/state/sttn-inpaint/log, ~/Library/Logs/sttn-inpaint,
    %LOCALAPPDATA%\\sttn-inpaint\\Logs."""
    return _user_dir("STTN_INPAINT_LOGS", ("XDG_STATE_HOME", (".local", "state"), (APP_NAME, "log")),
                     (None, ("Library", "Logs"), (APP_NAME,)), (*_LOCAL_WIN, (APP_NAME, "Logs")))


def default_weights() -> Path | None:
    """The bundled generator, or None while the project ships none."""
    path = models_dir() / DEFAULT_WEIGHTS_NAME
    return path if path.exists() else None


def is_bundled(weights) -> bool:
    """True if ``weights`` is the generator shipped in models/."""
    bundled = default_weights()
    if weights is None or bundled is None or not isinstance(weights, (str, Path)):
        return False
    try:
        return Path(weights).expanduser().resolve() == bundled.resolve()
    except OSError:
        return False


def demo_clip() -> Path:
    return resources_dir() / "demo" / "demo.mp4"


def demo_mask() -> Path:
    return resources_dir() / "demo" / "demo_mask.png"
