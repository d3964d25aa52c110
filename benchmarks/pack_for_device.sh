#!/usr/bin/env bash
# Prepare what a GPU lease needs beside the working tree, inside the 64 MiB the device tool carries:
#   .devav/av.tar.xz   PyAV 18.1.0 for CPython 3.12 (the device has torch but not PyAV), with its
#                      H.265, SVT-AV1, VP8/VP9, dav1d, Opus, MP3 and GnuTLS libraries replaced by stubs (the benchmarks
#                      read and write H.264 and AAC only; with them the carry is over 64 MiB once models/ is
#                      in the tree)
#   .devdata/clips     the clips bench_gpu.py reads (schoolgirls + masks, running_car + logo mask);
#                      CLIPS="name ..." copies those of ../shared/data/clips instead (a name's
#                      .mp4 or frame folder, and its *_mask folder or *_mask_*.png)
#   .devdata/generator_73b5b3f.py   the pre-layout generator for `--only layout` (no .git travels)
# Both folders must be git-ignored (.git/info/exclude). Then, on the device:
#   mkdir -p /tmp/site && tar xJf .devav/av.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site &&
#   BASELINE_FILE=.devdata/generator_73b5b3f.py bash benchmarks/gpu_session.sh .devdata $OUT 0
# with carry [".devav", ".devdata"].
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d "$work/whl" av==18.1.0
mkdir -p "$work/av" && (cd "$work/av" && unzip -q "$work"/whl/av-*.whl)
libs="$work/av/av.libs"
x265=$(basename "$(ls "$libs"/libx265-*)")
# The stubs export what libavcodec imports from each (nm -D --undefined-only libavcodec-*.so*).
echo 'void *x265_api_get_216(int bits) { (void)bits; return 0; }' >"$work/x265.c"
gcc -shared -fPIC -O2 -Wl,-soname,"$x265" -o "$libs/$x265" "$work/x265.c"
for pair in libSvtAv1Enc:svt_ libvpx:vpx_ libdav1d:dav1d_ libopus:opus_ libmp3lame:lame_; do
  lib=$(basename "$(ls "$libs/${pair%%:*}"-*)")
  {
    echo '#define STUB(n) int n(void) { return -1; }'
    nm -D --undefined-only "$libs"/libavcodec-*.so* | awk -v p=" ${pair#*:}" 'index($0, p) {print "STUB(" $2 ")"}'
  } >"$work/stub.c"
  gcc -shared -fPIC -O2 -Wl,-soname,"$lib" -o "$libs/$lib" "$work/stub.c"
done
# GnuTLS (https:// in libavformat, versioned symbols) and the libraries only it needs
gnutls=$(basename "$(ls "$libs"/libgnutls-*)")
nm -D --undefined-only "$libs"/libavformat-*.so* | awk '/ gnutls_/ {split($2, a, "@"); print a[2]}' | sort -u \
  | awk '{print $1 " { global: *; };"}' >"$work/gnutls.ver"
{
  echo '#define STUB(n) int n(void) { return -1; }'
  nm -D --undefined-only "$libs"/libavformat-*.so* | awk '/ gnutls_/ {split($2, a, "@"); print "STUB(" a[1] ")"}'
} >"$work/stub.c"
gcc -shared -fPIC -O2 -Wl,-soname,"$gnutls" -Wl,--version-script="$work/gnutls.ver" -o "$libs/$gnutls" "$work/stub.c"
rm -f "$libs"/libhogweed-* "$libs"/libnettle-* "$libs"/libgmp-* "$libs"/libunistring-*
mkdir -p .devav .devdata/clips
(cd "$work/av" && tar cf - . | xz -9 -T0 >"$OLDPWD/.devav/av.tar.xz")
if [ -n "${CLIPS:-}" ]; then
  for c in $CLIPS; do
    cp -r "$SHARED"/data/clips/"$c"* .devdata/clips/
  done
else
  cp -r "$SHARED"/data/clips/schoolgirls.mp4 "$SHARED"/data/clips/schoolgirls_mask \
        "$SHARED"/data/clips/running_car.mp4 "$SHARED"/data/clips/running_car_mask_logo.png .devdata/clips/
fi
git show 73b5b3f:app/core/sttn/generator.py >.devdata/generator_73b5b3f.py
du -sh .devav .devdata
