"""The command-line modules and the core files they lean on carry no unused imports or names
(pyflakes): ``app/cli_train.py`` imported ``InpaintError`` and never used it."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ["app/cli.py", "app/cliutil.py", "app/cli_cache.py", "app/cli_eval.py", "app/cli_segment.py",
         "app/cli_train.py", "app/core/video.py", "app/core/masks.py", "app/core/fsutil.py", "app/core/errors.py"]


@pytest.mark.parametrize("name", FILES)
def test_no_unused_imports_or_undefined_names(name):
    api = pytest.importorskip("pyflakes.api", reason="pyflakes is not installed")
    from pyflakes.reporter import Reporter

    class Collect(Reporter):
        def __init__(self):
            self.found = []

        def unexpectedError(self, filename, msg):
            self.found.append(f"{filename}: {msg}")

        def syntaxError(self, filename, msg, lineno, offset, text):
            self.found.append(f"{filename}:{lineno}: {msg}")

        def flake(self, message):
            self.found.append(str(message))

    reporter = Collect()
    api.checkPath(str(ROOT / name), reporter)
    assert reporter.found == [], reporter.found
