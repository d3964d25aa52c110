"""``cache`` subcommand: where the application keeps its files, and emptying its cache.

    sttn-inpaint cache [info]               folders and sizes
    sttn-inpaint cache clear [FOLDER ...]   delete the cache (or only train-frames / results)
    sttn-inpaint cache trim --limit 5G      delete least recently used files beyond a size

``register(subparsers)`` adds it to the main parser (app.cli.PLUGINS). Only the cache folder
is ever deleted: settings, autosaves, fine-tunes and downloaded models are data.
"""
from __future__ import annotations

import argparse
import re

UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'5G', '500 MB', '1.5gb', '1024' (bytes) -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 5G, 500M or 1.5GB, not {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2)])


def _folder(name: str) -> str:
    from .core.cache import SUBFOLDERS

    if name not in SUBFOLDERS:
        raise argparse.ArgumentTypeError(f"no cache folder {name!r}; choose from {', '.join(SUBFOLDERS)}")
    return name


def cmd_info(args) -> int:
    from .core import cache, paths

    rows = [("Config", paths.user_config_dir(), None, "settings; the GUI's ini file on Linux and Windows"),
            ("Data", paths.user_data_dir(), cache.folder_size(paths.user_data_dir()),
             "autosaves, fine-tunes, downloaded models; never cleared"),
            ("Logs", paths.user_log_dir(), cache.folder_size(paths.user_log_dir()), "GUI log, --log-file"),
            ("Cache", cache.cache_dir(), None, "rebuilt when needed; `cache clear` empties it")]
    usage = cache.cache_usage()
    for label, folder, size, what in rows:
        size = sum(usage.values()) if label == "Cache" else size
        print(f"{label:<8} {folder}" + (f"  {cache.format_size(size)}" if size is not None else "") + f"  ({what})")
    for name, size in usage.items():
        what = cache.SUBFOLDERS.get(name, "files of older versions or other tools")
        print(f"  {name:<14} {cache.format_size(size):>10}  {what}")
    return 0


def _report(verb: str, removed) -> int:
    from .core import cache

    print(f"{verb} {removed.files} files ({cache.format_size(removed.bytes)}) from {cache.cache_dir()}.")
    if removed.in_use:
        print(f"Kept {removed.in_use} folder{'s' if removed.in_use > 1 else ''} in use by a running window.")
    for line in removed.failed[:5]:
        print(f"warning: not deleted: {line}")
    return 1 if removed.failed else 0


def cmd_clear(args) -> int:
    from .core import cache

    return _report("Deleted", cache.clear_cache(args.folders or None))


def cmd_trim(args) -> int:
    from .core import cache

    removed = cache.enforce_limit(args.limit)
    left = sum(cache.cache_usage().values())
    if not (removed.files or removed.in_use or removed.failed) and left <= args.limit:
        print(f"The cache, {cache.format_size(left)} in {cache.cache_dir()}, is under the limit of "
              f"{cache.format_size(args.limit)}: nothing to delete.")
        return 0
    code = _report("Evicted", removed)
    if left > args.limit:  # (else "Evicted 0 files" over a full cache reads as a failure to trim)
        print(f"The cache is still {cache.format_size(left)}, over the limit of {cache.format_size(args.limit)}: "
              "files written in the last minute (a job may be writing them) and folders in use by a window are "
              "kept; trim again once they are done.")
    return code


def register(subparsers) -> None:
    """Add ``cache`` (with ``info``, ``clear`` and ``trim``) to an argparse subparsers object."""
    from .core.cache import DEFAULT_LIMIT_BYTES, SUBFOLDERS

    p = subparsers.add_parser("cache", help="show the folders the application uses; clear or trim its cache",
                              description="Settings, data, logs and cache folders with their sizes; the cache "
                                          "(decoded training clips, GUI results) can be deleted at any time.")
    p.set_defaults(func=cmd_info)
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    sub.add_parser("info", help="folders and sizes (the default)").set_defaults(func=cmd_info)
    c = sub.add_parser("clear", help="delete the cache folder's files")
    c.add_argument("folders", nargs="*", type=_folder, metavar="FOLDER",
                   help=f"only these: {', '.join(SUBFOLDERS)} (default: all)")
    c.set_defaults(func=cmd_clear)
    t = sub.add_parser("trim", help="delete least recently used cache files beyond a size",
                       description="Delete the least recently used cache files until the cache is under the limit; "
                                   "files written in the last minute are kept (a job may be writing them).")
    t.add_argument("--limit", type=parse_size, default=DEFAULT_LIMIT_BYTES, metavar="SIZE",
                   help=f"size to keep, e.g. 5G or 500M (default {DEFAULT_LIMIT_BYTES >> 30}G)")
    t.set_defaults(func=cmd_trim)
