#!/usr/bin/env bash
# Install the PyInstaller bundle for the current user (no root): the folder to ~/.local/opt,
# the launcher to ~/.local/bin, the desktop entry and icon to ~/.local/share.
#   packaging/linux/install-user.sh [dist/sttn-inpaint]      uninstall: add --uninstall
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/sttn-inpaint
bin=$HOME/.local/bin
if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$opt" "$bin/sttn-inpaint" "$data/applications/sttn-inpaint.desktop" \
        "$data/icons/hicolor/256x256/apps/sttn-inpaint.png" "$data/icons/hicolor/scalable/apps/sttn-inpaint.svg"
    echo "uninstalled"; exit 0
fi
src=${1:-$here/../../dist/sttn-inpaint}
[ -x "$src/sttn-inpaint" ] || { echo "error: no bundle at $src (run packaging/build.sh first)" >&2; exit 1; }
mkdir -p "$opt" "$bin" "$data/applications" "$data/icons/hicolor/256x256/apps" "$data/icons/hicolor/scalable/apps"
rm -rf "$opt" && cp -a "$src" "$opt"
ln -sf "$opt/sttn-inpaint" "$bin/sttn-inpaint"
install -m 644 "$here/sttn-inpaint.png" "$data/icons/hicolor/256x256/apps/sttn-inpaint.png"
install -m 644 "$here/sttn-inpaint.svg" "$data/icons/hicolor/scalable/apps/sttn-inpaint.svg"
install -m 644 "$here/sttn-inpaint.desktop" "$data/applications/sttn-inpaint.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
echo "installed: $opt (launcher $bin/sttn-inpaint; make sure $bin is on PATH)"
