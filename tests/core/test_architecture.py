"""The dependency arrow points from ui to core only: the headless core never imports Qt."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import app.core

ROOT = Path(__file__).resolve().parents[2]


def test_core_imports_no_qt():
    modules = [m.name for m in pkgutil.walk_packages(app.core.__path__, "app.core.")]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'qtpy', 'superqt', 'app'))\n"
        "print('\\n'.join(m for m in bad if not m.startswith('app.core') and m != 'app'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"app.core pulled in: {proc.stdout}"


def test_core_sources_do_not_mention_qt():
    for path in (ROOT / "app" / "core").rglob("*.py"):
        text = path.read_text()
        for name in ("PySide6", "PyQt", "qtpy", "superqt", "app.ui"):
            assert f"import {name}" not in text and f"from {name}" not in text, f"{path} imports {name}"
