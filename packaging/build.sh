#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle into dist/sttn-inpaint/ and smoke-test it headless.
#
#   packaging/build.sh            # CPU bundle (drops GPU-only CUDA libraries, see the spec)
#   STTN_BUNDLE_CUDA=1 packaging/build.sh   # keep every CUDA library (GPU machines)
#   SKIP_SMOKE=1 packaging/build.sh         # build only
#
# Uses the project's .venv (created by the README's first command); installs PyInstaller into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { echo "error: $PY not found; create the venv first (see README.md)" >&2; exit 1; }

"$PY" -m pip install -q "pyinstaller>=6.11"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/sttn_inpaint.spec
end=$(date +%s)
echo "build: $((end - start)) s; bundle: $(du -sh dist/sttn-inpaint | cut -f1) in dist/sttn-inpaint/"

if [ "${SKIP_SMOKE:-0}" != "1" ]; then
    exe=dist/sttn-inpaint/sttn-inpaint
    [ -x "$exe" ] || exe=dist/sttn-inpaint/sttn-inpaint.exe
    out=$(mktemp -d)/demo.mp4
    # From an unrelated folder, with no display: resources must come from the bundle.
    (cd / && env -u DISPLAY -u WAYLAND_DISPLAY "$OLDPWD/$exe" --version && \
        env -u DISPLAY -u WAYLAND_DISPLAY "$OLDPWD/$exe" demo -o "$out")
    [ -s "$out" ] || { echo "smoke: FAILED, no $out" >&2; exit 1; }
    echo "smoke: OK, wrote $out ($(du -h "$out" | cut -f1))"
fi
