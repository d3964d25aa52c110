"""Application settings persisted with QSettings (an ini file in the user's config folder).

Tests point QSettings.setPath(IniFormat, UserScope, tmp) elsewhere, so they never touch
the user's real settings.
"""
from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings

from app.core.config import X264_PRESETS
from app.core.cache import DEFAULT_LIMIT_BYTES
from app.core.engine import EngineConfig
from app.core.errors import InpaintError
from app.core.sttn.generator import ATTENTION_MODES
from app.core import paths

ORG, APP = "sttn-inpaint", "STTN Inpaint"
MAX_RECENT = 8
#: Engine fields that describe the machine, not the job: kept out of project files.
MACHINE_FIELDS = ("device",)


def _fits(value, kind) -> bool:
    """Whether a value read from JSON has the type of an EngineConfig field (bool is no int there)."""
    allowed = typing.get_args(kind) or (kind,)
    return any(value is None if t is type(None) else type(value) is t for t in allowed)


class AppSettings:
    def __init__(self):
        self.q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)

    def _get(self, key: str, default, kind=str):
        value = self.q.value(key, default)
        if kind is bool:
            return value in (True, "true", "1", 1)
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _choice(self, key: str, default: str, choices) -> str:
        value = self._get(key, default)
        return value if value in choices else default

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)
        self.q.sync()

    device = property(lambda s: s._get("device", "auto"), lambda s, v: s._set("device", v))
    #: '' means the bundled weights.
    weights = property(lambda s: s._get("weights", ""), lambda s, v: s._set("weights", str(v or "")))
    sam_checkpoint = property(lambda s: s._get("sam_checkpoint", ""), lambda s, v: s._set("sam_checkpoint", str(v or "")))
    crf = property(lambda s: s._get("export/crf", 18, int), lambda s, v: s._set("export/crf", int(v)))
    keep_audio = property(lambda s: s._get("export/keep_audio", True, bool), lambda s, v: s._set("export/keep_audio", bool(v)))
    #: x264 preset (encoder speed) of exports; a stored name that is no preset (hand-edited) reads as medium
    preset = property(lambda s: s._choice("export/preset", "medium", X264_PRESETS),
                      lambda s, v: s._set("export/preset", str(v)))
    #: exports copy the stretches between keyframes without a change instead of encoding them again
    copy_unchanged = property(lambda s: s._get("export/copy_unchanged", True, bool),
                              lambda s, v: s._set("export/copy_unchanged", bool(v)))
    last_dir = property(lambda s: s._get("last_dir", str(Path.home())), lambda s, v: s._set("last_dir", str(v)))
    #: size limit of the user cache folder (app.core.cache), in MiB
    cache_limit_mb = property(lambda s: s._get("cache/limit_mb", DEFAULT_LIMIT_BYTES >> 20, int),
                              lambda s, v: s._set("cache/limit_mb", max(1, int(v))))

    def weights_path(self) -> Optional[Path]:
        return Path(self.weights) if self.weights else paths.default_weights()

    def engine(self) -> dict:
        """Job settings (EngineConfig fields except the device), defaults filled in."""
        try:
            saved = json.loads(self._get("engine", "{}"))
        except ValueError:
            saved = {}
        base = EngineConfig().to_dict()
        # a value an older version wrote, or a hand edit, of another type or out of range keeps the default
        kinds = typing.get_type_hints(EngineConfig)
        typed = {k: v for k, v in (saved.items() if isinstance(saved, dict) else ())
                 if k in base and k not in MACHINE_FIELDS and _fits(v, kinds[k])
                 and (k != "attention" or v is None or v in ATTENTION_MODES)}
        for k, v in [(None, typed), *((k, {k: v}) for k, v in typed.items())]:  # all at once, else one by one
            try:
                EngineConfig.from_dict({**base, **v})
            except InpaintError:
                continue
            base.update(v)
            if k is None:
                break
        for k in MACHINE_FIELDS:
            base.pop(k, None)
        return base

    def set_engine(self, values: dict) -> None:
        self._set("engine", json.dumps({k: v for k, v in values.items() if k not in MACHINE_FIELDS}))

    def recent(self) -> list[str]:
        try:
            items = json.loads(self._get("recent", "[]"))
        except ValueError:
            return []
        return [p for p in items if isinstance(p, str)] if isinstance(items, list) else []

    def add_recent(self, path) -> list[str]:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.recent() if p != path]
        self._set("recent", json.dumps(items[:MAX_RECENT]))
        return self.recent()

    def remove_recent(self, path) -> list[str]:
        path = str(Path(path).resolve())
        self._set("recent", json.dumps([p for p in self.recent() if p != path]))
        return self.recent()

    def geometry(self):
        return self.q.value("window/geometry")

    def set_geometry(self, data) -> None:
        self._set("window/geometry", data)
