"""GPU speed and memory: the authors' test procedure against this engine, model-only and end to end.

Model-only: decoded frames already in memory (432x240 schoolgirls, 80 frames, its object
masks), composited frames back in memory; no file I/O. End to end: ``inpaint_video`` on
running_car.mp4 (972x540, 292 frames, audio) with its logo mask: decode, model, paste-back,
H.264 encode and audio mux. Times are medians of ``--runs`` runs after one warm-up, with
the GPU synchronised; peak CUDA memory from torch's allocator statistics.

    python benchmarks/bench_gpu.py --data DIR --weights W.pth --json out.json [--only model,e2e,length,profile,compile]

DIR holds schoolgirls.mp4, schoolgirls_mask/, running_car.mp4 and running_car_mask_logo.png
(../shared/data/clips by default). Without --weights a generator with seeded random weights
is used (speed does not depend on the weights; the bf16-vs-fp32 PSNR does a little).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from app.core.config import EngineConfig  # noqa: E402
from app.core.engine import InpaintEngine, inpaint_video  # noqa: E402
from app.core.masks import dilate, fit_mask, read_mask_image  # noqa: E402
from app.core.sttn import InpaintGenerator, load_generator  # noqa: E402
from app.core.video import open_video  # noqa: E402
from authors_schedule import authors_inpaint  # noqa: E402  (benchmarks/ is on sys.path as the script's folder)

MODEL_SIZE = (432, 240)  # (width, height) of the generator; --tiny makes it 108x60 for a smoke test
TINY = None


class MemoryReader:
    """Frames held in memory, indexed modulo their count (a looped clip of any length)."""

    def __init__(self, frames, length=None):
        self.frames = frames
        self.height, self.width = frames[0].shape[:2]
        self._n = length or len(frames)

    def __len__(self):
        return self._n

    def read(self, i):
        return self.frames[i % len(self.frames)]

    def iter_frames(self, start=0, end=None):
        for i in range(start, self._n if end is None else end):
            yield self.read(i)

    def reopen(self):
        return self

    def close(self):
        pass


class MemoryMasks:
    def __init__(self, masks, length=None):
        self.masks = masks
        self.height, self.width = masks[0].shape
        self._n = length or len(masks)

    def __len__(self):
        return self._n

    def get(self, i):
        return self.masks[i % len(self.masks)]

    def is_empty(self, i):
        return False


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_clip(data: Path, n: int):
    W, H = MODEL_SIZE
    with open_video(data / "schoolgirls.mp4") as r:
        frames = [cv2.resize(f, (W, H)) if f.shape[:2] != (H, W) else f for f in r.iter_frames(0, n)]
    files = sorted((data / "schoolgirls_mask").iterdir())[:len(frames)]
    masks = [fit_mask(read_mask_image(p), W, H) > 0 for p in files]
    return frames, masks


def authors_model_only(model, frames, masks, device):
    """researchmm/STTN test.py's schedule on in-memory frames (float32, as the paper timed it)."""
    return authors_inpaint(model, frames, masks, device)


def engine_model_only(engine, frames, masks, length=None):
    out = {}
    reader, ms = MemoryReader(frames, length), MemoryMasks(masks, length)
    engine.run(reader, ms, lambda i, f: out.__setitem__(i, f) if length is None else None)
    return [out[i] for i in sorted(out)]


def timed(fn, runs):
    fn()  # warm-up: cuDNN autotuning, allocator growth, lazy initialisation
    sync()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    times, result = [], None
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        result = fn()
        sync()
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    return statistics.median(times), times, peak, result


def psnr(a, b, mask=None):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if mask is not None:
        a, b = a[mask], b[mask]
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def make_model(weights, device):
    if weights:
        return load_generator(weights, device=device)
    torch.manual_seed(0)
    return InpaintGenerator(TINY).eval().to(device)


ENGINE_VARIANTS = {
    # name: EngineConfig fields (all with n=5, s=10, the nearest 10 references; window step 5 is the
# authors' overlapping schedule, 11 = 2n+1 the engine's default)
    "engine-fp32": dict(precision="fp32", attention_kernel="matmul", window_step=5),
    "engine-bf16": dict(precision="bf16", attention_kernel="matmul", window_step=5),
    "engine-bf16-sdpa": dict(precision="bf16", attention_kernel="sdpa", window_step=5),
    "engine-fp32-sdpa": dict(precision="fp32", attention_kernel="sdpa", window_step=5),
    "engine-bf16-step11": dict(precision="bf16", attention_kernel="matmul", window_step=11),
    "engine-bf16-sdpa-step11": dict(precision="bf16", attention_kernel="sdpa", window_step=11),
    "engine-fp32-step11": dict(precision="fp32", attention_kernel="matmul", window_step=11),
    # EngineConfig's defaults as the CLI runs them on this device (bf16 on CUDA, window step 2n+1)
    "engine-default": dict(),
    "engine-default-no-seam": dict(seam="none"),
}


def bench_model(args, device, results):
    frames, masks = load_clip(args.data, args.frames)
    n = len(frames)
    model = make_model(args.weights, device)
    ref_out = None
    if args.authors:
        sec, times, peak, ref_out = timed(lambda: authors_model_only(model, frames, masks, device), args.runs)
        results["authors-fp32"] = {"seconds": sec, "fps": n / sec, "runs": times, "peak_cuda_mb": peak}
        print(f"authors-fp32: {n / sec:.1f} frames/s, peak {peak} MB", flush=True)
    outs = {}
    for name in args.variants.split(","):
        fields = ENGINE_VARIANTS[name]
        engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device), **fields))
        sec, times, peak, out = timed(lambda: engine_model_only(engine, frames, masks), args.runs)
        outs[name] = out
        results[name] = {"seconds": sec, "fps": n / sec, "runs": times, "peak_cuda_mb": peak}
        if "authors-fp32" in results:
            results[name]["speedup_vs_authors"] = results["authors-fp32"]["seconds"] / sec
        print(f"{name}: {n / sec:.1f} frames/s, peak {peak} MB", flush=True)
        del engine
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
    hole = np.stack([dilate(m, 4) for m in masks])
    if "engine-fp32" not in outs:
        return
    ref = np.stack(outs["engine-fp32"])
    quality = {}
    for name, out in outs.items():
        o = np.stack(out)
        quality[name] = {"psnr_vs_engine_fp32": psnr(o, ref), "psnr_hole_vs_engine_fp32": psnr(o, ref, hole)}
    if "engine-default" in outs and "engine-fp32-step11" in outs:
        # bf16 against float32 at the default schedule (same weights, same windows)
        a, b = np.stack(outs["engine-default"]), np.stack(outs["engine-fp32-step11"])
        quality["engine-default"]["psnr_vs_fp32_step11"] = psnr(a, b)
        quality["engine-default"]["psnr_hole_vs_fp32_step11"] = psnr(a, b, hole)
    if ref_out is not None:
        a = np.stack(ref_out)
        quality["authors-fp32"] = {"psnr_vs_engine_fp32": psnr(a, ref), "psnr_hole_vs_engine_fp32": psnr(a, ref, hole)}
    results["quality"] = quality
    print(json.dumps(quality, indent=1), flush=True)


def bench_length(args, device, results):
    """Per-frame time and peak memory for a 100- and a 1000-frame clip (schoolgirls looped)."""
    frames, masks = load_clip(args.data, 80)
    engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device)))
    out = {}
    for length in (100, 1000):
        engine_model_only(engine, frames, masks, 100)  # warm
        sync()
        torch.cuda.reset_peak_memory_stats() if torch.cuda.is_available() else None
        t0 = time.perf_counter()
        engine_model_only(engine, frames, masks, length)
        sync()
        sec = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
        out[str(length)] = {"seconds": sec, "sec_per_frame": sec / length, "peak_cuda_mb": peak, "rss_mb": rss_mb()}
        print(f"length {length}: {length / sec:.1f} frames/s, peak CUDA {peak} MB", flush=True)
    results["length"] = out


E2E_VARIANTS = {
    # name: (EngineConfig fields, inpaint_video keywords); fill "sttn" is the engine alone
    "e2e-default": (dict(fill="sttn"), {}),
    "e2e-veryfast": (dict(fill="sttn"), dict(preset="veryfast")),
    "e2e-ultrafast": (dict(fill="sttn"), dict(preset="ultrafast")),
    "e2e-veryfast-crop": (dict(fill="sttn", crop_to_mask=True), dict(preset="veryfast")),
    "e2e-veryfast-no-seam": (dict(fill="sttn", seam="none"), dict(preset="veryfast")),
    "e2e-no-io-threads": (dict(fill="sttn", io_threads=False), {}),
    "e2e-step5": (dict(fill="sttn", window_step=5), {}),
    # the CLI's own default fill with the bundled weights on a GPU (propagation + STTN)
    "e2e-fill-auto": (dict(fill="auto"), {}),
}


def bench_e2e(args, device, results):
    clip, mask = args.data / "running_car.mp4", args.data / "running_car_mask_logo.png"
    with open_video(clip) as r:
        n = len(r)
    out = results.setdefault("e2e", {})
    model = make_model(args.weights, device)  # one model shared by the variants' engines
    warm = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.e2e_variants.split(","):
            fields, kw = E2E_VARIANTS[name]
            cfg = EngineConfig(device=str(device), **fields)
            engine = InpaintEngine(model, cfg)
            if args.weights and fields.get("fill") == "auto":
                engine.bundled = True  # auto resolves as it does for the bundled weights
            target = Path(tmp) / f"{name}.mp4"

            def job():
                return inpaint_video(clip, mask, target, engine=engine, config=cfg, **kw)

            if not warm:
                job()  # cuDNN autotuning, allocator growth (once: the model is shared)
                warm = True
            sync()
            torch.cuda.reset_peak_memory_stats() if torch.cuda.is_available() else None
            times = []
            for _ in range(args.e2e_runs):
                t0 = time.perf_counter()
                res = job()
                sync()
                times.append(time.perf_counter() - t0)
            peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
            sec = statistics.median(times)
            with open_video(res.output) as o:
                kept = (len(o), o.has_audio)
            out[name] = {"seconds": sec, "fps": n / sec, "runs": times, "peak_cuda_mb": peak, "frames": n,
                         "output_frames_audio": kept, "fill": res.fill,
                         "bytes": target.stat().st_size}
            print(f"{name}: {n / sec:.1f} frames/s end to end ({n} frames, runs {[round(t, 2) for t in times]}), "
                  f"peak CUDA {peak} MB, {target.stat().st_size / 1e6:.2f} MB", flush=True)


def bench_profile(args, device, results):
    """Where one engine pass spends GPU time (top kernels), bf16."""
    from torch.profiler import ProfilerActivity, profile

    frames, masks = load_clip(args.data, 40)
    engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device)))
    engine_model_only(engine, frames, masks)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=acts) as prof:
        engine_model_only(engine, frames, masks)
        sync()
    key = "cuda_time_total" if torch.cuda.is_available() else "cpu_time_total"
    table = prof.key_averages().table(sort_by=key, row_limit=25)
    if args.out_dir:
        (args.out_dir / "profile.txt").write_text(table)
    print(table[:6000], flush=True)


def bench_compile(args, device, results):
    """torch.compile of the transformer stage (the bulk of the work), bf16."""
    frames, masks = load_clip(args.data, args.frames)
    n = len(frames)
    eager_engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device)))
    eager = np.stack(engine_model_only(eager_engine, frames, masks))
    del eager_engine
    t0 = time.perf_counter()
    if args.compile_mode:
        engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device)))
        engine.model.transform = torch.compile(engine.model.transform, dynamic=True, mode=args.compile_mode)
    else:  # the engine's own option (--compile), as users run it
        engine = InpaintEngine(make_model(args.weights, device), EngineConfig(device=str(device), compile=True))
    engine_model_only(engine, frames, masks)
    sync()
    first = time.perf_counter() - t0
    sec, times, peak, out = timed(lambda: engine_model_only(engine, frames, masks), args.runs)
    same = psnr(np.stack(out), eager)
    results[f"engine-default-compiled-{args.compile_mode or 'default'}"] = {"seconds": sec, "fps": n / sec, "runs": times, "peak_cuda_mb": peak,
                                       "first_run_seconds": first, "psnr_vs_eager": same}
    print(f"engine-default-compiled ({args.compile_mode or 'default'}): {n / sec:.1f} frames/s (first run incl. compile {first:.1f} s), "
          f"PSNR vs eager {same:.1f} dB", flush=True)


def bench_e2e_profile(args, device, results):
    """cProfile of end-to-end runs (running_car, the default schedule, the engine's fill).

    Threads off: every stage runs on this thread, so the profile gives each one's cost per frame
    (decode, resize, model, paste-back, encode). Threads on (the default): the profile sees this
    thread only, so its waits show which stage the pipeline waits for. With ``--tiny`` on a CPU the
    model is cheap and the profile shows the per-frame work around it.
    """
    import cProfile
    import io
    import pstats

    clip, mask = args.data / "running_car.mp4", args.data / "running_car_mask_logo.png"
    model = make_model(args.weights, device)
    texts = []
    for threads in (False, True):
        cfg = EngineConfig(device=str(device), fill="sttn", io_threads=threads)
        engine = InpaintEngine(model, cfg)
        with tempfile.TemporaryDirectory() as tmp:
            inpaint_video(clip, mask, Path(tmp) / "w.mp4", engine=engine, config=cfg, end=20)  # warm
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            res = inpaint_video(clip, mask, Path(tmp) / "p.mp4", engine=engine, config=cfg,
                                preset=args.profile_preset)
            prof.disable()
            sec = time.perf_counter() - t0
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(22)
        texts.append(f"== io_threads={threads}, preset {args.profile_preset}: {res.frames} frames, "
                     f"{res.inpainted} inpainted, {sec:.1f} s\n" + buf.getvalue())
        results.setdefault("e2e_profile", {})[f"io_threads={threads}"] = {"seconds": sec, "frames": res.frames}
    text = "\n".join(texts)
    if args.out_dir:
        (args.out_dir / "profile_e2e.txt").write_text(text)
    print(text[:9000], flush=True)


def _generator_class_at(rev, file=None):
    """InpaintGenerator as app/core/sttn/generator.py defines it at git revision ``rev`` (or as the
    copy ``file`` of it holds, where the repository's history is not at hand)."""
    import importlib.util
    import subprocess

    if file:
        src = Path(file).read_text()
    else:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:app/core/sttn/generator.py"],
                             check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / f"generator_{rev.replace('/', '_')}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod.InpaintGenerator


def _op_shares(prof):
    """Self CPU time of a torch.profiler run, grouped: layout copies, matrix products, convolutions."""
    groups = {"copies/permutes": ("aten::copy_", "aten::clone", "aten::contiguous", "aten::cat",
                                  "aten::_to_copy", "aten::to_dense", "aten::to_mkldnn", "aten::as_strided_"),
              "matmul": ("aten::bmm", "aten::mm", "aten::matmul", "aten::addmm", "aten::baddbmm",
                         "aten::_scaled_dot_product", "aten::_softmax", "aten::softmax"),
              "conv": ("aten::mkldnn_convolution", "aten::convolution", "aten::_convolution", "aten::conv2d",
                       "aten::cudnn_convolution", "aten::_nnpack", "aten::slow_conv", "aten::thnn_conv"),
              }
    total, out = 0.0, {k: 0.0 for k in groups}
    out["other"] = 0.0
    for e in prof.key_averages():
        t = e.self_cpu_time_total
        total += t
        for k, names in groups.items():
            if any(e.key.startswith(n) for n in names):
                out[k] += t
                break
        else:
            out["other"] += t
    return {k: round(100 * v / max(total, 1e-9), 1) for k, v in out.items()}, total / 1e3


def bench_layout(args, device, results):
    """Model-only time of one engine window through the model's entry points (issue 8: the patch
    re-layouts of the attention), the current generator against the one at ``--baseline-rev``.

    As ``InpaintEngine._encode``/``_predict`` call them: ``encode`` of the window's new frames
    (``--new-frames``), ``transform`` of ``--window`` frames' features (11 neighbours + references),
    ``decode`` of the ``--targets`` first. float32 (NCHW) and bf16 autocast with a channels-last model,
    as the engine runs them. Runs alternate between the two generators; medians of ``--runs``.
    """
    from torch.profiler import ProfilerActivity, profile

    W, H = MODEL_SIZE
    T, n_new, n_tg = args.window, min(args.new_frames, args.window), min(args.targets, args.window)
    torch.manual_seed(0)
    frames = torch.rand(T, 3, H, W, device=device) * 2 - 1
    masks = torch.zeros(T, 1, H, W, device=device)
    masks[:, :, H // 4: 3 * H // 4, W // 3: 2 * W // 3] = 1
    current = make_model(args.weights, device)
    models = {"current": current}
    if args.baseline_rev:
        base = _generator_class_at(args.baseline_rev, args.baseline_file)(current.config).eval().to(device)
        base.load_state_dict(current.state_dict())
        models = {"baseline": base, "current": current}
    out = {"window": T, "new_frames": n_new, "targets": n_tg, "baseline_rev": args.baseline_rev}
    for precision in args.precisions.split(","):
        dtype = torch.bfloat16 if precision == "bf16" else None
        # "fp32-cl": float32 with a channels-last model, which the engine does not do (yet)
        cl_model = dtype is not None or precision == "fp32-cl"
        for mode in args.modes.split(","):
            for kernel in args.kernels.split(","):
                ms = {}
                for name, mdl in models.items():
                    mdl.set_attention_mode(mode)
                    mdl.set_attention_kernel(kernel)
                    ms[name] = mdl.to(memory_format=torch.channels_last if cl_model else torch.contiguous_format)

                def window(mdl):
                    ctx = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
                    stages = {}
                    with torch.inference_mode(), ctx:
                        sync()
                        t0 = time.perf_counter()
                        mdl.encode(frames[:n_new] * (1 - masks[:n_new]))
                        sync()
                        t1 = time.perf_counter()
                        y = mdl.transform(feats, masks, 1)
                        sync()
                        t2 = time.perf_counter()
                        img = mdl.decode(y[:n_tg])
                        sync()
                        t3 = time.perf_counter()
                    stages.update(encode=t1 - t0, transform=t2 - t1, decode=t3 - t2, total=t3 - t0)
                    return stages, y.float(), img.float()

                ctx = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
                with torch.inference_mode(), ctx:
                    # The engine stacks per-frame features, which gives an NCHW-contiguous tensor.
                    feats = current.encode(frames * (1 - masks)).contiguous()
                times = {name: [] for name in ms}
                outs = {}
                for name, mdl in ms.items():
                    _, y, img = window(mdl)  # warm-up
                    outs[name] = (y, img)
                for r in range(args.runs):
                    order = list(ms.items()) if r % 2 == 0 else list(ms.items())[::-1]
                    for name, mdl in order:
                        times[name].append(window(mdl)[0])
                key = f"{precision}-{mode}-{kernel}"
                res = {}
                for name, ts in times.items():
                    res[name] = {s: statistics.median(t[s] for t in ts) for s in ts[0]}
                    res[name]["total_runs"] = [round(t["total"], 4) for t in ts]
                    res[name]["transform_runs"] = [round(t["transform"], 4) for t in ts]
                if "baseline" in res:
                    res["transform_speedup"] = res["baseline"]["transform"] / res["current"]["transform"]
                    res["total_speedup"] = res["baseline"]["total"] / res["current"]["total"]
                    res["max_abs_diff_transform"] = float((outs["baseline"][0] - outs["current"][0]).abs().max())
                    res["max_abs_diff_decode"] = float((outs["baseline"][1] - outs["current"][1]).abs().max())
                if args.profile_layout:
                    for name, mdl in ms.items():
                        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
                        with profile(activities=acts) as prof:
                            window(mdl)
                        shares, ms_total = _op_shares(prof)
                        res[name]["profile_self_cpu_share_pct"] = shares
                        res[name]["profile_self_cpu_ms"] = round(ms_total, 1)
                        if args.out_dir:
                            (args.out_dir / f"profile_layout_{key}_{name}.txt").write_text(
                                prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))
                out[key] = res
                line = ", ".join(f"{n}: transform {r['transform']:.3f} s, total {r['total']:.3f} s"
                                 for n, r in res.items() if isinstance(r, dict))
                extra = (f"; transform x{res['transform_speedup']:.3f}, max |diff| {res['max_abs_diff_decode']:.2e}"
                         if "baseline" in res else "")
                print(f"layout {key}: {line}{extra}", flush=True)
                for name in ms:
                    if "profile_self_cpu_share_pct" in res[name]:
                        print(f"  {name} profile (self CPU %): {res[name]['profile_self_cpu_share_pct']}", flush=True)
    results["layout"] = out


STAGES = {"e2e-profile": bench_e2e_profile, "model": bench_model, "length": bench_length, "e2e": bench_e2e, "profile": bench_profile,
          "compile": bench_compile, "layout": bench_layout}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "clips")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="model,length,e2e,profile")
    ap.add_argument("--variants", default=",".join(ENGINE_VARIANTS), help="engine variants of the model stage")
    ap.add_argument("--no-authors", dest="authors", action="store_false", help="skip the authors' procedure")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--out-dir", type=Path)
    ap.add_argument("--tiny", action="store_true", help="a small random generator (smoke test on a CPU)")
    ap.add_argument("--baseline-rev", help="layout stage: time the generator of this git revision alongside")
    ap.add_argument("--baseline-file", help="layout stage: that revision's generator.py, copied out "
                    "(`git show REV:app/core/sttn/generator.py`), for a machine without the history")
    ap.add_argument("--e2e-variants", default="e2e-default,e2e-veryfast,e2e-no-io-threads",
                    help=f"end-to-end variants: {', '.join(E2E_VARIANTS)}")
    ap.add_argument("--e2e-runs", type=int, default=2, help="timed end-to-end runs per variant")
    ap.add_argument("--profile-preset", default="medium", help="e2e-profile stage: x264 preset")
    ap.add_argument("--compile-mode", default=None, help="compile stage: torch.compile mode")
    ap.add_argument("--window", type=int, default=18, help="layout stage: frames per window (11 neighbours + refs)")
    ap.add_argument("--new-frames", type=int, default=5, help="layout stage: frames encoded per window")
    ap.add_argument("--targets", type=int, default=11, help="layout stage: frames decoded per window")
    ap.add_argument("--precisions", default="fp32,bf16", help="layout stage: fp32, bf16 (channels-last, as "
                    "the engine runs them) and fp32-cl (float32 with a channels-last model)")
    ap.add_argument("--modes", default="official", help="layout stage: attention modes")
    ap.add_argument("--kernels", default="matmul", help="layout stage: attention kernels")
    ap.add_argument("--profile-layout", action="store_true", help="layout stage: op-group shares (torch.profiler)")
    args = ap.parse_args()
    if args.tiny:
        global TINY, MODEL_SIZE
        from app.core.sttn import GeneratorConfig

        TINY = GeneratorConfig(channels=32, blocks=2, patch_sizes=((27, 15), (9, 5)), width=108, height=60)
        MODEL_SIZE = (108, 60)
    device = torch.device(args.device)
    results = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "torch": torch.__version__, "cpus": os.cpu_count(),
                           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                           "weights": str(args.weights) if args.weights else "random (seed 0)"}}
    for stage in args.only.split(","):
        try:
            STAGES[stage](args, device, results)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other stages
            import traceback

            traceback.print_exc()
            results[f"{stage}_error"] = repr(exc)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps({k: v for k, v in results.items() if k != "quality"}, indent=1, default=str)[-3000:])


if __name__ == "__main__":
    main()
