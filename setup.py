"""Ships resources/ and models/ inside the wheel as app/_data/ (app/core/paths.py looks there first).

Everything else about the project is declared in pyproject.toml. Editable installs skip the copy:
paths.py then finds the folders at the repository root, so edits show up without reinstalling.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("resources", "models")
IGNORE = shutil.ignore_patterns("__pycache__", "*.py[co]", "*.py", ".*")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "app" / "_data"
        shutil.rmtree(dest, ignore_errors=True)  # an in-tree build/ may hold files deleted since
        for name in DATA_DIRS:
            src = HERE / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithData})
