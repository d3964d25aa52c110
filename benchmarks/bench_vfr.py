"""A/V sync of an export from variable-frame-rate footage: how far each exported frame lands from
its time in the source (the audio is copied, so that is the frame's offset from its sound).

A phone-like clip (AAC audio; 30 fps, a low-light stretch at 20 fps, a few ms of jitter, a white
frame with a click under it) goes through the real CLI (`main.py inpaint --fill telea`).

    PYTHONPATH=. python benchmarks/bench_vfr.py [--seconds 10] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from vfrclip import click_time, flash_time, video_times, write_vfr_clip  # noqa: E402


def phone_durations(seconds: float, seed: int = 0) -> list[int]:
    """Frame durations in ms: 30 fps, 20 fps from 40 % to 70 % of the clip (low light), +-3 ms jitter."""
    rng = np.random.default_rng(seed)
    out, t = [], 0
    while t < seconds * 1000:
        base = 50 if 0.4 * seconds * 1000 <= t < 0.7 * seconds * 1000 else 33
        d = int(base + rng.integers(-3, 4))
        out.append(d)
        t += d
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    durations = phone_durations(args.seconds)
    starts = np.cumsum([0] + durations[:-1])
    flash = int(np.searchsorted(starts, 0.8 * args.seconds * 1000))  # after the low-light stretch
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = write_vfr_clip(tmp / "phone.mp4", durations, width=160, height=90, flash=flash,
                             click_ms=int(starts[flash]))
        mask = np.zeros((90, 160), np.uint8)
        mask[5:25, 5:45] = 255
        cv2.imwrite(str(tmp / "mask.png"), mask)
        out = tmp / "out.mp4"
        subprocess.run([sys.executable, str(ROOT / "main.py"), "inpaint", str(src), "--mask", str(tmp / "mask.png"),
                        "-o", str(out), "--fill", "telea", "--preset", "ultrafast"], check=True, capture_output=True)
        got, want = video_times(out), video_times(src)
        off = np.abs(np.asarray(got[:len(want)]) - np.asarray(want[:len(got)]))
        res = {"frames_source": len(want), "frames_output": len(got),
               "max_offset_ms": round(1000 * float(off.max()), 2), "mean_offset_ms": round(1000 * float(off.mean()), 2),
               "flash_minus_click_ms": round(1000 * (flash_time(out) - click_time(out)), 2),
               "source_flash_minus_click_ms": round(1000 * (flash_time(src) - click_time(src)), 2)}
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
