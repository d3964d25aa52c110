#!/usr/bin/env bash
# One lease of a GPU machine, planned to fit one call: a time-boxed training run that
# produces the bundled generator, then the GPU benchmarks with those weights.
#
#   bash benchmarks/gpu_session.sh DATA_DIR OUT_DIR [TRAIN_SECONDS]
#
# benchmarks/pack_for_device.sh prepares DATA_DIR (.devdata) and PyAV (.devav) for the device tool.
# TRAIN_SECONDS=0 skips training and benchmarks $WEIGHTS_FILE (default: the bundled generator).
# BASELINE_FILE: the 73b5b3f generator.py copied out, for a machine without the git history.
#
# DATA_DIR holds train/ (clips to train on) and clips/ (schoolgirls.mp4 + schoolgirls_mask/,
# running_car.mp4 + running_car_mask_logo.png, dogs_jump.mp4 for validation). Results in
# OUT_DIR: log.txt, metrics.jsonl, sample.png, bench_gpu.json, profile.txt and the float16
# generator split into weights.part.* (join with `cat weights.part.* > sttn_inpaint.pth`).
set -u
DATA=${1:?data folder}
OUT=${2:?output folder}
TRAIN_S=${3:-240}
DEVICE=${DEVICE:-cuda}          # DEVICE=cpu TRAIN_ARGS="--channels 16 --blocks 1 --batch-size 1" for a smoke test
TRAIN_ARGS=${TRAIN_ARGS:---batch-size 8}
PY=${PY:-python3}
BENCH_ARGS=${BENCH_ARGS:-}       # e.g. "--frames 10 --runs 1" for a smoke test
# e2e-profile: where the end-to-end time goes on the GPU host (decode, paste-back, encode, model)
STAGES=${STAGES:-model,e2e,e2e-profile,profile,length}
E2E_ARGS=${E2E_ARGS:---e2e-variants e2e-default,e2e-veryfast,e2e-ultrafast,e2e-veryfast-crop,e2e-no-io-threads,e2e-fill-auto}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-260}
COMPILE_TIMEOUT=${COMPILE_TIMEOUT:-120}   # LAYOUT=0 / COMPILE=0 skip those stages
export PYTHONUNBUFFERED=1
LOG="$OUT/log.txt"
W=/tmp/sttn-gpu
mkdir -p "$W" "$OUT"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  $PY -c "import torch, av, cv2, numpy; print('torch', torch.__version__, 'av', av.__version__, 'cv2', cv2.__version__, 'numpy', numpy.__version__)"
  nproc
} >>"$LOG" 2>&1

if [ "$TRAIN_S" -gt 0 ]; then
echo "== train ($TRAIN_S s)" >>"$LOG"
t0=$(date +%s)
timeout $((TRAIN_S + 150)) $PY -m app.cli_train train --data "$DATA/train" --val "$DATA/clips/dogs_jump.mp4" \
  --output "$W/sttn_inpaint.pth" --workdir "$W/run" --cache-dir "$W/cache" --device "$DEVICE" \
  $TRAIN_ARGS --frames 5 --lr 2e-4 --adv-weight 0 --steps 1000000 --time-limit "${TRAIN_S}s" \
  --val-every 200 --val-frames 10 --checkpoint-every 0 --log-every 20 >>"$LOG" 2>&1
echo "train exit $? after $(( $(date +%s) - t0 )) s" >>"$LOG"
cp "$W/run/metrics.jsonl" "$OUT/" 2>>"$LOG"
last=$(ls "$W/run/samples/"*_00_*.png 2>/dev/null | tail -1)
[ -n "$last" ] && cp "$last" "$OUT/sample.png"
if [ -f "$W/sttn_inpaint.pth" ]; then
  split -b 12M "$W/sttn_inpaint.pth" "$OUT/weights.part."
  sha256sum "$W/sttn_inpaint.pth" >>"$LOG"
  WEIGHTS=(--weights "$W/sttn_inpaint.pth")
else
  WEIGHTS=()
fi
else
  WEIGHTS=(--weights "${WEIGHTS_FILE:-models/sttn_inpaint.pth}")
fi

echo "== bench" >>"$LOG"
timeout "$BENCH_TIMEOUT" $PY benchmarks/bench_gpu.py --data "$DATA/clips" --device "$DEVICE" "${WEIGHTS[@]}" $BENCH_ARGS \
  $E2E_ARGS --json "$OUT/bench_gpu.json" --out-dir "$OUT" --only "$STAGES" >>"$LOG" 2>&1
echo "bench exit $?" >>"$LOG"
if [ "${LAYOUT:-1}" = 1 ]; then
echo "== layout (attention re-layouts: the generator of 73b5b3f against this one, same weights)" >>"$LOG"
timeout 120 $PY benchmarks/bench_gpu.py --device "$DEVICE" --only layout --runs 5 --baseline-rev 73b5b3f \
  ${BASELINE_FILE:+--baseline-file "$BASELINE_FILE"} --precisions bf16,fp32 --json "$OUT/bench_layout.json" >>"$LOG" 2>&1
echo "layout exit $? (needs the repository's .git for --baseline-rev)" >>"$LOG"
fi
if [ "${COMPILE:-1}" = 1 ]; then
echo "== compile" >>"$LOG"
timeout "$COMPILE_TIMEOUT" $PY benchmarks/bench_gpu.py --data "$DATA/clips" --device "$DEVICE" "${WEIGHTS[@]}" $BENCH_ARGS --only compile \
  --json "$OUT/bench_compile.json" >>"$LOG" 2>&1
echo "compile exit $?" >>"$LOG"
fi
date -u >>"$LOG"
tail -c 6000 "$LOG"
