#!/usr/bin/env bash
# What changed since the last GPU lease, run once on a lent GPU host inside one device call:
#   1. train  - a training step on CUDA (batch 8), with and without cuDNN's kernel search, and the
#               copy of D that each step keeps so that Stop can drop it (bench_train.py --stop-copy);
#   2. stop   - `cli_train finetune` on CUDA stopped with Ctrl-C (SIGINT) mid-run, then `--resume`
#               to a few steps further: the message, the checkpoint, the step it goes on from;
#   3. inpaint- `main.py inpaint` on CUDA: the default fill, and an H.264 copy masked on a few frames
#               only, where the smart render copies the untouched GOPs (identical frames, audio, time);
#   4. model  - bench_gpu.py's model-only default engine (the figure the second lease gave);
#   5. core   - the headless test suite on the host's Python and torch (16 cores, xdist).
#
#   bash benchmarks/gpu_recheck.sh CLIPS_DIR OUT_DIR
#
# CLIPS_DIR holds schoolgirls.mp4 and schoolgirls_mask/ (CLIPS=schoolgirls benchmarks/pack_for_device.sh);
# PyAV must import (see pack_for_device.sh). A dry run on a CPU:
#   DEVICE=cpu QUICK=1 bash benchmarks/gpu_recheck.sh ../shared/data/clips /tmp/recheck
set -u
CLIPS=${1:?clips folder}
OUT=${2:?output folder}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}          # 1: tiny sizes, for a dry run on a CPU
PY=${PY:-python3}
STAGES=${STAGES:-train,stop,inpaint,model,core}
export PYTHONUNBUFFERED=1
W=${WORK:-/tmp/gpu-recheck}
LOG="$OUT/log.txt"
rm -rf "$W"
mkdir -p "$W" "$OUT"
say() { echo "== $* ($(date -u +%T))" >>"$LOG"; }
has() { [[ ",$STAGES," == *",$1,"* ]]; }
clip="$CLIPS/schoolgirls.mp4"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  echo "cores $(nproc); $($PY -c 'import sys, torch, cv2, av; print("python", sys.version.split()[0], "torch", torch.__version__, "opencv", cv2.__version__, "av", av.__version__)' 2>&1)"
  git rev-parse --short HEAD 2>/dev/null || true
} >>"$LOG" 2>&1

if has train; then
  say "train: one step, batch 8, and the Stop copy"
  if [ "$QUICK" = 1 ]; then a=(--batch 1 --frames 2 --iters 1 --warmup 1 --stop-copy 2); else a=(--batch 8 --iters 5 --warmup 1 --stop-copy 10); fi
  for bench in on off; do  # cuDNN's kernel search (the trainer's choice on CUDA): its first step against the rest
    timeout 180 $PY benchmarks/bench_train.py --device "$DEVICE" --weights models/sttn_inpaint.pth "${a[@]}" \
      --cudnn-benchmark $bench >"$OUT/train_cudnn_$bench.json" 2>>"$LOG"
    echo "exit $?: $(cat "$OUT/train_cudnn_$bench.json")" >>"$LOG"
  done
fi

if has stop; then
  say "stop: finetune, Ctrl-C, --resume"
  if [ "$QUICK" = 1 ]; then a=(--batch-size 1 --frames 2); wait_s=${STOP_AFTER:-60}; else a=(--batch-size 4); wait_s=${STOP_AFTER:-40}; fi
  ft=($PY -m app.cli_train finetune --data "$clip" --from models/sttn_inpaint.pth --output "$W/ft.pth"
      --workdir "$W/ft" --device "$DEVICE" --log-every 1 --checkpoint-every 0 --val-every 0 "${a[@]}")
  "${ft[@]}" --steps 100000 >"$OUT/stop_run1.txt" 2>&1 &
  pid=$!
  sleep "$wait_s"
  kill -INT "$pid"
  wait "$pid"
  echo "first run: exit $? after SIGINT at ${wait_s} s" >>"$LOG"
  tail -3 "$OUT/stop_run1.txt" >>"$LOG"
  done_steps=$(wc -l <"$W/ft/metrics.jsonl" 2>/dev/null || echo 0)
  ls -la "$W/ft/checkpoints" >>"$LOG" 2>&1
  echo "metrics lines: $done_steps" >>"$LOG"
  timeout 200 "${ft[@]}" --resume --steps $((done_steps + 3)) >"$OUT/stop_run2.txt" 2>&1
  echo "resume: exit $?" >>"$LOG"
  tail -3 "$OUT/stop_run2.txt" >>"$LOG"
  $PY - "$W/ft/metrics.jsonl" >>"$LOG" 2>&1 <<'EOF'
import json, sys
steps = [json.loads(l).get("step") for l in open(sys.argv[1]) if l.strip()]
print("metrics steps:", steps[:3], "...", steps[-5:], "strictly increasing:", all(a < b for a, b in zip(steps, steps[1:])))
EOF
  ls -la "$W/ft.pth" >>"$LOG" 2>&1
fi

if has inpaint; then
  say "inpaint: CLI on $DEVICE"
  end=()
  [ "$QUICK" = 1 ] && end=(--end 12)
  t0=$(date +%s%N)
  timeout 240 $PY main.py inpaint "$clip" --mask "$CLIPS/schoolgirls_mask" -o "$W/full.mp4" --device "$DEVICE" "${end[@]}" \
    >"$OUT/inpaint_full.txt" 2>&1
  echo "default fill, whole clip: exit $?, $(( ($(date +%s%N) - t0) / 1000000 )) ms" >>"$LOG"
  tail -4 "$OUT/inpaint_full.txt" >>"$LOG"
  # schoolgirls.mp4 is MPEG-4 Part 2: an H.264 copy (GOP 12, AAC tone) with its masks on frames 30-39
  # only, where the smart render encodes the GOPs 24-47 and copies the others bit for bit
  $PY - "$clip" "$CLIPS/schoolgirls_mask" "$W/sg264.mp4" "$W/part_mask" >>"$LOG" 2>&1 <<'EOF2'
import sys
from pathlib import Path
import av, cv2, numpy as np
from app.core.video import write_test_clip
with av.open(sys.argv[1]) as c:
    frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
write_test_clip(sys.argv[3], frames, fps=24, audio=True, crf=18, codec_options={"g": "12", "keyint_min": "12"})
src, dst = Path(sys.argv[2]), Path(sys.argv[4])
dst.mkdir(parents=True, exist_ok=True)
files = sorted(src.glob("*.png"))
for i, f in enumerate(files):
    m = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(dst / f.name), m if 30 <= i < 40 else np.zeros_like(m))
print("H.264 copy:", len(frames), "frames; part masks: masked 30-39")
EOF2
  t0=$(date +%s%N)
  timeout 240 $PY main.py inpaint "$W/sg264.mp4" --mask "$W/part_mask" -o "$W/part.mp4" --device "$DEVICE" --fill sttn \
    >"$OUT/inpaint_part.txt" 2>&1
  echo "STTN fill, masks on 30-39: exit $?, $(( ($(date +%s%N) - t0) / 1000000 )) ms" >>"$LOG"
  tail -4 "$OUT/inpaint_part.txt" >>"$LOG"
  $PY - "$W/sg264.mp4" "$W/part.mp4" >>"$LOG" 2>&1 <<'EOF2'
import sys
import av, numpy as np
def frames(p):
    with av.open(p) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], len(c.streams.audio)
(src, _), (out, audio) = frames(sys.argv[1]), frames(sys.argv[2])
same = [i for i, (a, b) in enumerate(zip(src, out)) if np.array_equal(a, b)]
print("part.mp4:", len(out), "of", len(src), "frames,", audio, "audio stream(s); identical to the source:",
      len(same), "frames, first changed", min(set(range(len(out))) - set(same), default=None),
      "last changed", max(set(range(len(out))) - set(same), default=None))
EOF2
fi

if has model; then
  say "model-only, engine defaults"
  if [ "$QUICK" = 1 ]; then a=(--frames 10 --runs 1 --tiny); else a=(--runs 3 --weights models/sttn_inpaint.pth); fi
  timeout 150 $PY benchmarks/bench_gpu.py --data "$CLIPS" --device "$DEVICE" "${a[@]}" --only model --no-authors \
    --variants engine-default --json "$OUT/model.json" >>"$LOG" 2>&1
  echo "exit $?" >>"$LOG"
fi

if has core; then
  say "tests/core"
  n=()
  $PY -c "import xdist" 2>/dev/null && n=(-n 8)
  k=()
  [ -n "${CORE_K:-}" ] && k=(-k "$CORE_K")  # e.g. CORE_K="not 10_bit and not hdr" where x265 is stubbed out
  timeout "${CORE_TIMEOUT:-200}" $PY -m pytest tests/core -q -p no:cacheprovider "${n[@]}" "${k[@]}" >"$OUT/core.txt" 2>&1
  echo "exit $?" >>"$LOG"
  tail -15 "$OUT/core.txt" >>"$LOG"
fi
date -u >>"$LOG"
tail -c 8000 "$LOG"
