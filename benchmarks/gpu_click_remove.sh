#!/usr/bin/env bash
# Click-to-remove end to end on a lent GPU host, inside one device call: for each benchmark clip,
# one click at the centre of every object on frame 0 (the ground truth's deepest point, as
# bench_segment.py does), `main.py track` (the weight-free tracker; OpenCV on the host's cores),
# then `main.py inpaint --mask MASKS --device cuda` (flow propagation + the bundled STTN), timed;
# then bench_segment.py (one click, and the true first mask) to check that the IoU figures of the
# 2-core CPU repeat on another machine.
#
#   bash benchmarks/gpu_click_remove.sh CLIPS_DIR OUT_DIR
#
# CLIPS_DIR holds the clips and their *_mask folders (a copy of ../shared/data/clips: bmx-trees,
# tennis, schoolgirls.mp4, dogs_jump.mp4; those missing are left out: the device's 64 MiB carry
# holds schoolgirls and dogs_jump beside PyAV). PyAV must import: on the device
#   CLIPS="schoolgirls dogs_jump" bash benchmarks/pack_for_device.sh   (here, once)
#   mkdir -p /tmp/site && tar xJf .devav/av.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site &&
#   bash benchmarks/gpu_click_remove.sh .devdata/clips $OUT      (carry [".devav", ".devdata"])
# END=N tracks and inpaints only frames 0..N-1 (a dry run on a CPU: DEVICE=cpu END=4 ...).
set -u
CLIPS=${1:?clips folder}
OUT=${2:?output folder}
DEVICE=${DEVICE:-cuda}
END=${END:-}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
W=${WORK:-/tmp/click-remove}
LOG="$OUT/log.txt"
mkdir -p "$W" "$OUT"
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
{
  date -u
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
  echo "cores $(nproc); $($PY -c 'import sys, torch, cv2, av; print("python", sys.version.split()[0], "torch", torch.__version__, "opencv", cv2.__version__, "av", av.__version__)')"
  present=()
  for clip in bmx-trees tennis schoolgirls dogs_jump; do
    src="$CLIPS/$clip"
    [ -d "$src" ] || src="$CLIPS/$clip.mp4"
    [ -e "$src" ] || continue
    present+=("$clip")
    clicks=$($PY - "$CLIPS" "$clip" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from bench_segment import centre_click, load_objects
objects = load_objects(Path(sys.argv[1]), sys.argv[2])
print(" ".join(f"--click {x},{y},0#{k + 1}" for k, (x, y) in
               enumerate(centre_click(masks[0]) for masks in objects.values())))
EOF
)
    range=()
    [ -n "$END" ] && range=(--end "$END")
    echo "== $clip: track $clicks"
    t=$(date +%s%N)
    $PY main.py track "$src" $clicks "${range[@]}" -o "$W/$clip-masks" --json "$W/$clip-track.json" \
      || echo "track failed"
    echo "$clip track: $(ms "$t") ms, $(ls "$W/$clip-masks" | wc -l) masks"
    t=$(date +%s%N)
    $PY main.py inpaint "$src" --mask "$W/$clip-masks" --dilate 8 --device "$DEVICE" "${range[@]}" \
      -o "$OUT/$clip-removed.mp4" || echo "inpaint failed"
    echo "$clip inpaint (load included): $(ms "$t") ms"
  done
  if [ -z "$END" ]; then
    echo "== bench_segment.py, one click"
    $PY benchmarks/bench_segment.py --clips "$CLIPS" --only "${present[@]}" --json "$OUT/seg_click.json"
    echo "== bench_segment.py, true first mask"
    $PY benchmarks/bench_segment.py --clips "$CLIPS" --only "${present[@]}" --keyframe gt --json "$OUT/seg_gt.json"
  fi
  date -u
} >>"$LOG" 2>&1
cat "$LOG"
