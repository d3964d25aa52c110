"""The application's modules carry no unused imports and no undefined names (pyflakes, a test
dependency): ``app/cli_train.py`` imported ``InpaintError`` and never used it, and unused imports
had gathered in the window's and the model's modules too. A line marked ``# noqa`` (a deliberate
re-export, an import made for its side effect) is left alone, as flake8 would."""
from pathlib import Path

import pytest
from pyflakes import api
from pyflakes.reporter import Reporter

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app").rglob("*.py")) + ["main.py"]


class Collect(Reporter):
    def __init__(self):
        self.found = []

    def unexpectedError(self, filename, msg):
        self.found.append(f"{filename}: {msg}")

    def syntaxError(self, filename, msg, lineno, offset, text):
        self.found.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message):
        line = Path(message.filename).read_text(encoding="utf-8").splitlines()[message.lineno - 1]
        if "# noqa" not in line:
            self.found.append(str(message))


def test_the_whole_application_is_checked():
    assert len(FILES) > 50 and "app/cli_train.py" in FILES and "app/ui/main_window.py" in FILES


@pytest.mark.parametrize("name", FILES)
def test_no_unused_imports_or_undefined_names(name):
    reporter = Collect()
    api.checkPath(str(ROOT / name), reporter)
    assert reporter.found == [], reporter.found
