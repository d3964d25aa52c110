"""bench_memory.py runs end to end on tiny lengths (the figures in docs/BENCHMARKS.md come from
longer ones): each length's child process is measured and its output checked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_memory_tracks_a_click_through_each_length(tmp_path, clips_dir):
    out = tmp_path / "r.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_memory.py"), "--lengths", "3,5",
                    "--job", "track", "--json", str(out)], check=True, cwd=ROOT, timeout=600)
    result = json.loads(out.read_text())
    assert result["job"] == "track"
    assert [r["frames"] for r in result["rows"]] == [3, 5]  # (the bench itself checks one mask per frame)
    assert all(r["peak_rss_mb"] > 50 and r["seconds"] > 0 for r in result["rows"])
