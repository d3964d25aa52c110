"""A non-editable install works away from the source tree (issue #9).

Builds the wheel from a copy of the repository, installs it with ``--no-deps`` into a fresh
virtual environment that borrows the heavy dependencies (torch, PySide6, cv2, av) from the test
interpreter's site-packages through a ``.pth`` file, and runs the ``sttn-inpaint`` console script
from an unrelated folder: the demo clip, its mask, the icons and the style sheet must come from
the installed package, never from the checkout or the working directory.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "out", "__pycache__", "*.pyc", "*.egg-info",
                                ".pytest_cache", ".cache")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], **kw)


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "DISPLAY", "WAYLAND_DISPLAY", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed in the test environment and the build cannot download it "
                    "offline (the build runs with --no-build-isolation)")
    src = tmp_path_factory.mktemp("src") / "sttn-inpaint"
    shutil.copytree(ROOT, src, ignore=IGNORE)  # in-tree builds leave build/; keep the checkout clean
    out = tmp_path_factory.mktemp("wheelhouse")
    r = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", ".", "-w", out],
             cwd=src)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stdout}\n{r.stderr}"
    wheels = list(out.glob("sttn_inpaint-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_ships_resources_inside_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("resources/demo/demo.mp4", "resources/demo/demo_mask.png", "resources/style.qss",
                "resources/icons/app.svg", "models/sttn_inpaint.pth", "models/MODEL_CARD.md"):
        assert f"app/_data/{rel}" in names, f"{rel} is not in the wheel"
    assert not [n for n in names if n.split("/")[0] in ("resources", "models", "tests", "packaging")], \
        "the wheel must not install top-level resources/, models/, tests/ or packaging/ folders"
    assert not [n for n in names if n.startswith("app/_data/") and n.endswith(".py")]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "env"
    r = _run([sys.executable, "-m", "venv", "--without-pip", venv])
    assert r.returncode == 0, r.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    r = _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel])
    assert r.returncode == 0, f"pip install failed:\n{r.stdout}\n{r.stderr}"
    # Borrow torch, PySide6, cv2, av... from the test interpreter instead of downloading gigabytes.
    # Appended after the venv's own site-packages, so `app` comes from the wheel.
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_borrowed_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv


def test_installed_package_finds_its_data(installed, tmp_path):
    python = installed / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    code = ("import app, app.core.paths as p; print(app.__file__); print(p.resources_dir()); "
            "print(p.demo_clip().is_file(), p.demo_mask().is_file(), (p.resources_dir() / 'style.qss').is_file(), "
            "(p.resources_dir() / 'icons' / 'app.svg').is_file())")
    r = _run([python, "-c", code], cwd=tmp_path, env=_clean_env())
    assert r.returncode == 0, r.stderr
    app_file, resources, flags = r.stdout.strip().splitlines()[-3:]
    assert Path(app_file).resolve().is_relative_to(installed.resolve()), f"app imported from {app_file}"
    assert Path(resources).resolve().is_relative_to(installed.resolve()), f"resources found at {resources}"
    assert flags == "True True True True"


def test_installed_package_finds_its_bundled_weights(installed, tmp_path):
    python = installed / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    code = ("import app.core.paths as p; from app.core.sttn import checkpoint_meta; w = p.default_weights(); "
            "print(w); print(checkpoint_meta(w)['steps'])")
    r = _run([python, "-c", code], cwd=tmp_path, env=_clean_env())
    assert r.returncode == 0, r.stderr
    weights, steps = r.stdout.strip().splitlines()[-2:]
    assert Path(weights).resolve().is_relative_to(installed.resolve()), f"weights found at {weights}"
    assert int(steps) > 0


def test_console_script_runs_the_demo_from_anywhere(installed, tmp_path):
    script = installed / ("Scripts/sttn-inpaint.exe" if os.name == "nt" else "bin/sttn-inpaint")
    assert script.exists()
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out = tmp_path / "x.mp4"
    # --fill telea keeps this under a minute on a loaded 2-core machine; resource lookup is the same.
    r = _run([script, "demo", "-o", out, "--fill", "telea"], cwd=cwd, env=_clean_env(), timeout=400)
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert out.is_file() and out.stat().st_size > 10_000
    assert str(ROOT) not in r.stdout, f"the demo read files from the checkout:\n{r.stdout}"
    assert str(installed.resolve()) in r.stdout or str(installed) in r.stdout
    assert list(cwd.iterdir()) == [], "nothing may be written to the working directory"
