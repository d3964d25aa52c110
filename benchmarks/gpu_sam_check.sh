#!/usr/bin/env bash
# The SAM path on a lent GPU, inside one device call: embedding and click times for ViT-B on CUDA,
# and `main.py track --sam ... --device cuda` end to end on frames of a shared clip.
#
#   bash benchmarks/gpu_sam_check.sh DATA_DIR OUT_DIR [FRAMES]
#
# DATA_DIR holds segment_anything/ (the package folder, pure Python: the device lacks it) and
# dogs_jump.mp4. No SAM checkpoint can be had here, so the model has random weights (built from
# segment_anything's own ViT-B registry entry, saved under the official file name): the times are
# those of the real network, the masks mean nothing. As in gpu_train_more.sh the clip is decoded
# with OpenCV into a frame folder and an empty stand-in for `av` lets app.core.video import.
# Prepare here:
#   mkdir -p .devdata && cp -r .venv/lib/python3.11/site-packages/segment_anything .devdata/ \
#       && cp ../shared/data/clips/dogs_jump.mp4 .devdata/
# Check it on the CPU first: DEVICE=cpu bash benchmarks/gpu_sam_check.sh .devdata /tmp/gsc 2
set -u
DATA=${1:?data folder}
OUT=${2:?output folder}
N=${3:-12}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
W=${WORK:-/tmp/sam-check}
LOG="$OUT/log.txt"
mkdir -p "$W/noav/av" "$W/frames" "$OUT"
printf 'class error:\n    class FFmpegError(Exception):\n        pass\n' >"$W/noav/av/__init__.py"
export PYTHONPATH="$DATA:$W/noav${PYTHONPATH:+:$PYTHONPATH}"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null
  $PY - "$DATA/dogs_jump.mp4" "$W/frames" "$N" "$W/sam_vit_b_01ec64.pth" <<'EOF'
import sys
import cv2, torch
from segment_anything import sam_model_registry
video, dst, n, ckpt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cap = cv2.VideoCapture(video)
for i in range(n):
    ok, f = cap.read()
    if not ok:
        break
    cv2.imwrite(f"{dst}/{i:05d}.png", f)
torch.manual_seed(0)
torch.save(sam_model_registry["vit_b"]().state_dict(), ckpt)
print("torch", torch.__version__, "frames", i + 1, "random ViT-B checkpoint written")
EOF
  echo "== embedding and click times (SamSegmenter on $DEVICE)"
  $PY - "$W/frames" "$W/sam_vit_b_01ec64.pth" "$DEVICE" <<'EOF'
import statistics, sys, time
from pathlib import Path
import cv2, torch
from app.core.segment.sam import SamSegmenter
frames = [cv2.imread(str(p))[..., ::-1].copy() for p in sorted(Path(sys.argv[1]).glob("*.png"))]
dev = sys.argv[3]
t = time.perf_counter()
seg = SamSegmenter.from_checkpoint(sys.argv[2], device=dev)
print(f"load {time.perf_counter() - t:.2f} s")
def sync():
    if dev == "cuda":
        torch.cuda.synchronize()
emb, click, cached = [], [], []
for i, f in enumerate(frames):
    sync(); t = time.perf_counter(); seg.set_image(f, index=i); sync(); emb.append(time.perf_counter() - t)
    t = time.perf_counter(); c = seg.predict([(200, 120, 1)]); sync(); click.append(time.perf_counter() - t)
    assert c[0].mask.shape == f.shape[:2]
sync(); t = time.perf_counter(); seg.set_image(frames[-1], index=len(frames) - 1); sync(); cached.append(time.perf_counter() - t)
print(f"embedding: first {emb[0]:.3f} s, median of the next {len(emb) - 1}: {statistics.median(emb[1:] or emb):.3f} s")
print(f"click (prompt encoder + decoder): median {statistics.median(click):.4f} s; cached frame set_image {cached[0]:.4f} s")
if dev == "cuda":
    print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
EOF
  echo "== track --sam --device $DEVICE"
  t0=$(date +%s%N)
  $PY main.py track "$W/frames" --sam "$W/sam_vit_b_01ec64.pth" --device "$DEVICE" --click 200,120 \
      -o "$W/masks" --json "$OUT/track.json"
  echo "track exit $? in $(( ($(date +%s%N) - t0) / 1000000 )) ms; masks: $(ls "$W/masks" | wc -l)"
  date -u
} >>"$LOG" 2>&1
cat "$LOG"
