"""``main.py track`` with tracker parameters other than the defaults, for A/B timings on the CLI's
own path (the CLI itself exposes none of ``TrackParams``):

    .venv/bin/python benchmarks/track_with_params.py plate=0 -- CLIP --click X,Y --end 600 -o DIR

Each ``NAME=VALUE`` before ``--`` sets a ``TrackParams`` field (VALUE a Python literal); what
follows ``--`` is the ``track`` command's own arguments. Figures: docs/LOAD.md.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cut = argv.index("--")
    track = importlib.import_module("app.core.segment.track")  # (the package exports a function of that name)
    fields = {f.name for f in dataclasses.fields(track.TrackParams)}
    overrides = {}
    for item in argv[:cut]:
        name, _, value = item.partition("=")
        if name not in fields:
            print(f"{name!r} is not a TrackParams field (one of: {', '.join(sorted(fields))})", file=sys.stderr)
            return 2
        overrides[name] = ast.literal_eval(value)
    base = track.TrackParams
    track.TrackParams = lambda **kw: base(**{**overrides, **kw})  # (iter_track's default parameters)
    from app.cli import main as cli
    return cli(["track", *argv[cut + 1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
