"""Terminal rendering of the core's progress protocol, shared by every CLI subcommand."""
from __future__ import annotations

import sys

from .core.jobs import Progress


class TqdmProgress:
    """Callable progress sink drawing a tqdm bar (with ETA) on stderr; use as a context manager."""

    def __init__(self, desc: str = "", unit: str = "frame", disable: bool | None = None, scale: bool = False):
        self.desc = desc
        self.unit = unit
        self.scale = scale  # counts shown as k/M/G (bytes: binary)
        self.disable = (not sys.stderr.isatty()) if disable is None else disable
        self.bar = None

    def __call__(self, p: Progress) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=p.total, desc=self.desc or p.stage, unit=self.unit, disable=self.disable,
                            dynamic_ncols=True, unit_scale=self.scale, unit_divisor=1024 if self.scale else 1000)
        if p.total != self.bar.total:
            self.bar.total = p.total
        if p.info:
            self.bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in p.info.items()},
                                 refresh=False)
        self.bar.update(p.done - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
