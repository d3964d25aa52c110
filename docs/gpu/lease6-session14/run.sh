#!/usr/bin/env bash
# fourteenth session device check: SAM stoppable embedding on CUDA, mask edit on many cores, click-remove regression
set -u
OUT=${1:?}
mkdir -p /tmp/site && tar xJf .devav/av.tar.xz -C /tmp/site
export PYTHONPATH=/tmp/site:$PWD/.devdata PYTHONUNBUFFERED=1
nproc > "$OUT/nproc.txt"
python3 -c "import PIL; print(PIL.__version__)" > "$OUT/pil.txt" 2>&1
timeout 120 python3 .devdata/sam_embed_check.py > "$OUT/sam_embed.json" 2> "$OUT/sam_embed.err"
timeout 120 python3 benchmarks/bench_mask_edit.py --clips .devdata/clips --compare > "$OUT/mask_edit.txt" 2>&1
timeout 120 python3 benchmarks/bench_mask_edit.py --clips .devdata/clips --compare --size 1280x720 >> "$OUT/mask_edit.txt" 2>&1
timeout 300 bash benchmarks/gpu_click_remove.sh .devdata/clips "$OUT/click" > "$OUT/click.out" 2>&1
tail -5 "$OUT/sam_embed.err"; cat "$OUT/sam_embed.json" "$OUT/mask_edit.txt"; tail -40 "$OUT/click/log.txt"
