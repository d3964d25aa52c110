"""On the device: SamSegmenter's stoppable embedding (block by block) equals SamPredictor's on CUDA,
full-size ViT-B with random weights; times both; and a stop mid-pass."""
import sys, time, json
import numpy as np, torch
sys.path.insert(0, ".")
from segment_anything import sam_model_registry
from app.core.segment.sam import SamSegmenter
from app.core.jobs import CancelToken
from app.core.errors import Cancelled
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
model = sam_model_registry["vit_b"]().to(dev).eval()
rng = np.random.default_rng(0)
img = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
seg = SamSegmenter(model, cache_size=0)
out = {"device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"}
for _ in range(2):  # warm-up
    seg._embed(img); seg._embed_checked(img, lambda: None)
def t(f, n=5):
    ts = []
    for _ in range(n):
        if dev == "cuda": torch.cuda.synchronize()
        t0 = time.perf_counter(); r = f()
        if dev == "cuda": torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), r
ta, a = t(lambda: seg._embed(img))
tb, b = t(lambda: seg._embed_checked(img, lambda: None))
out["equal_features"] = bool(torch.equal(a[0], b[0])) and a[1:] == b[1:]
out["max_abs_diff"] = float((a[0] - b[0]).abs().max())
out["embed_s_predictor"], out["embed_s_blockwise"] = round(ta, 4), round(tb, 4)
tok, calls = CancelToken(), []
def check():
    calls.append(1)
    if len(calls) == 6: tok.cancel()
    tok.check()
try:
    seg.set_image(img, index=1, check=check); out["stopped"] = False
except Cancelled:
    out["stopped"] = True
out["blocks_before_stop"] = len(calls) - 1
print(json.dumps(out))
