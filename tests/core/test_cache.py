"""The user's folders (config, data, cache, logs), the size-limited cache, its CLI, and the log file."""
import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path

import numpy as np
import pytest

from app.core import cache, paths
from app.core.errors import OutputError

OLD = time.time() - 3600  # well outside the grace period


def write(path: Path, size: int, used: float = OLD) -> Path:
    """A real file of ``size`` bytes last used (accessed and modified) at ``used``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    os.utime(path, (used, used))
    return path


@pytest.fixture
def root():
    return cache.cache_dir()  # tests/conftest.py points STTN_INPAINT_CACHE at a tmp folder


# --- folders -------------------------------------------------------------------------
@pytest.mark.parametrize("fn, var", [(paths.user_config_dir, "STTN_INPAINT_CONFIG"),
                                     (paths.user_data_dir, "STTN_INPAINT_DATA"),
                                     (paths.user_cache_dir, "STTN_INPAINT_CACHE"),
                                     (paths.user_log_dir, "STTN_INPAINT_LOGS")])
def test_each_folder_has_an_override(fn, var, monkeypatch, tmp_path):
    monkeypatch.setenv(var, str(tmp_path / "x"))
    assert fn() == tmp_path / "x"
    monkeypatch.delenv(var)
    assert fn() != tmp_path / "x" and fn().is_absolute()


@pytest.fixture
def no_overrides(monkeypatch, tmp_path):
    for var in ("STTN_INPAINT_CONFIG", "STTN_INPAINT_DATA", "STTN_INPAINT_CACHE", "STTN_INPAINT_LOGS",
                "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def folders():
    return paths.user_config_dir(), paths.user_data_dir(), paths.user_cache_dir(), paths.user_log_dir()


def test_linux_folders_follow_xdg(no_overrides, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    home = no_overrides
    assert folders() == (home / ".config/sttn-inpaint", home / ".local/share/sttn-inpaint",
                         home / ".cache/sttn-inpaint", home / ".local/state/sttn-inpaint/log")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var))
    assert folders() == (tmp_path / "XDG_CONFIG_HOME/sttn-inpaint", tmp_path / "XDG_DATA_HOME/sttn-inpaint",
                         tmp_path / "XDG_CACHE_HOME/sttn-inpaint", tmp_path / "XDG_STATE_HOME/sttn-inpaint/log")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec says: ignore relative paths
    assert paths.user_cache_dir() == home / ".cache/sttn-inpaint"


def test_macos_folders(no_overrides, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    lib = no_overrides / "Library"
    assert folders() == (lib / "Application Support/sttn-inpaint", lib / "Application Support/sttn-inpaint",
                         lib / "Caches/sttn-inpaint", lib / "Logs/sttn-inpaint")


def test_windows_folders(no_overrides, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert folders() == (tmp_path / "Roaming/sttn-inpaint", tmp_path / "Roaming/sttn-inpaint",
                         tmp_path / "Local/sttn-inpaint/Cache", tmp_path / "Local/sttn-inpaint/Logs")
    monkeypatch.delenv("LOCALAPPDATA")
    assert paths.user_cache_dir() == no_overrides / "AppData/Local/sttn-inpaint/Cache"


def test_downloaded_models_follow_the_data_override(monkeypatch, tmp_path):
    from app.core.segment.download import models_dir

    monkeypatch.setenv("STTN_INPAINT_DATA", str(tmp_path / "data"))
    assert models_dir() == tmp_path / "data" / "models"


# --- usage, eviction, clearing -----------------------------------------------------------
def test_usage_counts_bytes_per_subfolder(root):
    assert cache.cache_usage() == {"train-frames": 0, "results": 0}  # nothing there yet
    write(root / "train-frames" / "a.u8", 3000)
    write(root / "train-frames" / "a.json", 100)
    write(root / "results" / "sttn-results-1" / "000001.png", 500)
    write(root / "stray.bin", 7)
    assert cache.cache_usage() == {"train-frames": 3100, "results": 500, "other": 7}
    assert cache.folder_size(root) == 3607


def test_eviction_removes_least_recently_used_first(root):
    files = [write(root / "train-frames" / f"{i}.u8", 1000, used=OLD + i) for i in range(5)]
    removed = cache.enforce_limit(2500)
    assert (removed.files, removed.bytes, removed.failed) == (3, 3000, [])
    assert [f.exists() for f in files] == [False, False, False, True, True]
    assert cache.folder_size(root) <= 2500
    assert cache.enforce_limit(2500).files == 0  # already under the limit


def test_reading_a_file_counts_as_using_it(root):
    read = write(root / "train-frames" / "read.u8", 1000)
    os.utime(read, (OLD + 100, OLD))  # modified first but read last
    written = write(root / "train-frames" / "written.u8", 1000, used=OLD + 50)
    cache.enforce_limit(1000)
    assert read.exists() and not written.exists()


def test_eviction_spares_files_in_use_and_files_being_written(root):
    in_use = root / "results" / "sttn-results-open"
    kept = [write(in_use / f"{i:06d}.png", 1000, used=OLD - 100) for i in range(3)]  # the oldest of all
    fresh = write(root / "train-frames" / "decoding.u8", 1000, used=time.time())
    old = write(root / "train-frames" / "old.u8", 1000)
    leftover = write(root / "results" / "sttn-results-crashed" / "000000.png", 1000, used=OLD + 1)
    removed = cache.enforce_limit(0, keep=[in_use])
    assert removed.files == 2 and not old.exists() and not leftover.exists()
    assert all(k.exists() for k in kept) and fresh.exists()
    assert not leftover.parent.exists() and in_use.is_dir()  # emptied folders go, the one in use stays
    assert cache.folder_size(root) == 4000  # over the limit: what is left is in use or being written


def test_no_limit_deletes_nothing(root):
    f = write(root / "results" / "x" / "a.png", 1000)
    assert cache.enforce_limit(None).files == 0 and f.exists()


def test_clear_empties_all_but_what_is_in_use(root):
    in_use = root / "results" / "sttn-results-open"
    kept = write(in_use / "000000.png", 10)
    partial = write(root / "train-frames" / ".clip.abc.tmp.part.u8", 10, used=time.time())
    gone = [write(root / "train-frames" / "a.u8", 100), write(root / "results" / "old" / "1.png", 20),
            write(root / "stray", 5, used=time.time())]
    removed = cache.clear_cache(keep=[in_use])
    assert (removed.files, removed.bytes) == (3, 125)
    assert not any(g.exists() for g in gone) and kept.exists() and partial.exists()
    assert sorted(p.name for p in root.rglob("*")) == sorted(["results", "sttn-results-open", "000000.png",
                                                             "train-frames", partial.name])
    os.utime(partial, (OLD, OLD))  # a leftover of a crash: cleared like the rest
    assert cache.clear_cache(keep=[in_use]).files == 1 and not partial.exists()


def test_clear_one_subfolder(root):
    a = write(root / "train-frames" / "a.u8", 100)
    b = write(root / "results" / "r" / "1.png", 100)
    assert cache.clear_cache(["results"]).files == 1
    assert a.exists() and not b.exists()
    with pytest.raises(ValueError, match="unknown cache folder"):
        cache.clear_cache(["embeddings"])
    with pytest.raises(ValueError, match="unknown cache folder"):
        cache.cache_dir("nope")


def test_missing_cache_folder_is_empty(monkeypatch, tmp_path):
    monkeypatch.setenv("STTN_INPAINT_CACHE", str(tmp_path / "never-made"))
    assert sum(cache.cache_usage().values()) == 0
    assert cache.enforce_limit(0).files == 0 and cache.clear_cache().files == 0
    assert not (tmp_path / "never-made").exists()


def test_format_size():
    assert [cache.format_size(n) for n in (0, 1023, 1536, 5 << 20, 5 << 30, 3 << 40)] == \
        ["0 bytes", "1023 bytes", "1.5 KB", "5.0 MB", "5.0 GB", "3.0 TB"]


# --- users of the cache ---------------------------------------------------------------------
def test_training_frames_default_to_the_cache_folder(root, tmp_path):
    from app.core.train.trainer import TrainConfig

    assert TrainConfig(data=[], workdir=str(tmp_path / "w")).cache_path == root / "train-frames"
    assert TrainConfig(data=[], workdir=str(tmp_path / "w"), cache_dir=str(tmp_path / "c")).cache_path == \
        tmp_path / "c"


def test_decoded_clips_land_in_the_cache_and_come_back_after_eviction(root, make_clip):
    from app.core.train.dataset import FrameCache

    clip = make_clip(n=6, width=64, height=32)
    frames = FrameCache(root / "train-frames", 32, 16).get(clip)
    assert cache.cache_usage()["train-frames"] >= 6 * 32 * 16 * 3
    for f in (root / "train-frames").iterdir():
        os.utime(f, (OLD, OLD))
    assert cache.enforce_limit(0).files == 2 and cache.cache_usage()["train-frames"] == 0
    again = FrameCache(root / "train-frames", 32, 16).get(clip)  # decoded again, the same frames
    assert np.array_equal(np.asarray(frames), np.asarray(again))


def test_result_cache_lives_in_the_cache_and_survives_a_clear(root):
    import shutil

    from app.ui.results import ResultCache  # no Qt in this module

    rc = ResultCache()
    assert rc.folder.parent == root / "results" and rc.folder.name.startswith("sttn-results-")
    frame = np.full((8, 8, 3), 77, np.uint8)
    rc.put(0, frame)
    # `cache clear` or a trim, of this process or another: the folder is held (a window shows it)
    assert cache.clear_cache().in_use == 1 and cache.enforce_limit(0, grace_s=0).in_use == 1
    assert np.array_equal(rc.get(0), frame) and rc.covers(0, 1)
    shutil.rmtree(rc.folder)  # deleted by hand all the same
    assert not rc.covers(0, 1) and 0 not in rc and rc.made(0) is None  # gone means no longer computed
    rc.put(1, frame)  # writing again recreates the folder, held again
    assert np.array_equal(rc.get(1), frame) and cache.held(rc.folder)
    assert cache.clear_cache().files == 0
    rc.dispose()
    assert not rc.folder.exists()


def test_a_folder_is_held_until_released_and_a_crashed_sessions_is_cleared(root):
    crashed, live = root / "results" / "sttn-results-crashed", root / "results" / "sttn-results-live"
    for folder in (crashed, live):
        write(folder / "000000.png", 100, used=OLD)
    write(crashed / cache.IN_USE, 0, used=OLD)  # left by a session that crashed: nobody holds it
    hold = cache.Hold(live)
    assert cache.held(live) and not cache.held(crashed) and not cache.held(root / "results" / "nowhere")
    removed = cache.clear_cache()
    assert (removed.files, removed.in_use) == (2, 1) and not crashed.exists() and (live / "000000.png").exists()
    hold.release()
    assert not cache.held(live) and cache.enforce_limit(0, grace_s=0).files == 1 and not (live / "000000.png").exists()


# --- command line --------------------------------------------------------------------------
def run_cli(capsys, *argv):
    from app.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_cache_info_lists_folders_and_sizes(root, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("STTN_INPAINT_DATA", str(tmp_path / "data"))
    write(root / "train-frames" / "a.u8", 3 << 20)
    write(root / "results" / "r" / "1.png", 1536)
    write(tmp_path / "data" / "models" / "sam.pth", 2048)
    for argv in (("cache",), ("cache", "info")):
        code, out, err = run_cli(capsys, *argv)
        assert code == 0 and err == ""
        lines = out.splitlines()
        assert lines[0].startswith("Config") and str(paths.user_config_dir()) in lines[0]
        assert lines[1].startswith("Data") and str(tmp_path / "data") in lines[1] and "2.0 KB" in lines[1]
        assert lines[2].startswith("Logs") and str(paths.user_log_dir()) in lines[2]
        assert lines[3].startswith("Cache") and str(root) in lines[3] and "3.0 MB" in lines[3]
        assert lines[4].split()[:3] == ["train-frames", "3.0", "MB"]
        assert lines[5].split()[:3] == ["results", "1.5", "KB"]


def test_cli_cache_clear_and_trim(root, capsys):
    a = write(root / "train-frames" / "a.u8", 1000, used=OLD)
    b = write(root / "train-frames" / "b.u8", 1000, used=OLD + 1)
    code, out, _ = run_cli(capsys, "cache", "trim", "--limit", "1K")
    assert code == 0 and out.startswith("Evicted 1 files (1000 bytes)") and not a.exists() and b.exists()
    r = write(root / "results" / "x" / "1.png", 10)
    code, out, _ = run_cli(capsys, "cache", "clear", "results")
    assert code == 0 and "Deleted 1 files (10 bytes)" in out and b.exists() and not r.exists()
    code, out, _ = run_cli(capsys, "cache", "clear")
    assert code == 0 and "Deleted 1 files" in out and not b.exists() and "in use" not in out
    hold = cache.Hold(write(root / "results" / "open" / "1.png", 10).parent)
    code, out, _ = run_cli(capsys, "cache", "clear")
    hold.release()
    assert code == 0 and out.splitlines()[1] == "Kept 1 folder in use by a running window."


def test_cli_cache_bad_arguments_are_one_line(capsys):
    from app.cli import main

    for argv in (["cache", "clear", "embeddings"], ["cache", "trim", "--limit", "lots"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "no cache folder 'embeddings'" in err or "size must look like 5G" in err


def test_parse_size():
    from app.cli_cache import parse_size

    assert [parse_size(s) for s in ("1024", "5G", "500 MB", "1.5gb", "2KiB")] == \
        [1024, 5 << 30, 500 << 20, int(1.5 * (1 << 30)), 2048]


# --- log file -------------------------------------------------------------------------------
@pytest.fixture
def root_logger():
    """The root logger as the CLI leaves it (a stderr handler at WARNING), restored afterwards."""
    log = logging.getLogger()
    saved = (log.level, list(log.handlers))
    yield log
    log.setLevel(saved[0])
    for h in list(log.handlers):
        if isinstance(h, RotatingFileHandler) and h not in saved[1]:
            log.removeHandler(h)
            h.close()


def test_log_file_takes_info_rotates_and_leaves_stderr_alone(root_logger, tmp_path):
    from app.core.logfile import add_log_file, default_log_file, remove_log_file

    assert default_log_file() == paths.user_log_dir() / "sttn-inpaint.log"
    shown = []
    stderr = logging.Handler()
    stderr.emit = lambda record: shown.append(record.getMessage())
    root_logger.addHandler(stderr)
    root_logger.setLevel(logging.WARNING)
    handler = add_log_file(tmp_path / "logs" / "app.log", max_bytes=2000, backups=2)
    assert add_log_file(tmp_path / "logs" / "app.log") is handler  # not twice
    log = logging.getLogger("app.test")
    log.info("detail for the file")
    log.warning("shown everywhere")
    assert shown == ["shown everywhere"]  # stderr: as before
    text = (tmp_path / "logs" / "app.log").read_text()
    assert "INFO app.test: detail for the file" in text and "WARNING app.test: shown everywhere" in text
    for i in range(100):
        log.info("line %d %s", i, "x" * 40)
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == ["app.log", "app.log.1", "app.log.2"]
    assert all(p.stat().st_size <= 2000 for p in (tmp_path / "logs").iterdir())
    remove_log_file(handler)
    assert root_logger.level == logging.WARNING and stderr.level == logging.NOTSET
    log.info("after")
    assert "after" not in (tmp_path / "logs" / "app.log").read_text()


def test_unwritable_log_file_is_a_one_line_error(root_logger, tmp_path):
    from app.core.logfile import add_log_file

    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="Cannot write the log file"):
        add_log_file(tmp_path / "file" / "app.log")


def test_cli_log_file_keeps_output_unchanged(root_logger, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("STTN_INPAINT_DATA", str(tmp_path / "data"))
    plain = run_cli(capsys, "cache")
    logged = run_cli(capsys, "--log-file", str(tmp_path / "cli.log"), "cache")
    assert logged == plain
    assert "cache" in (tmp_path / "cli.log").read_text()
    code, out, err = run_cli(capsys, "--log-file", str(tmp_path / "cli.log" / "x.log"), "cache")
    assert code == 2 and out == "" and err.startswith("error: Cannot write the log file") and err.count("\n") == 1
