"""`finetune` on the command line as a new user meets it: started without --from (the application
ships its own generator), and with an --output it cannot write."""
import shutil

import pytest

from app.cli import main
from app.core import paths
from app.core.errors import DataError, OutputError
from app.core.sttn.checkpoint import load_generator
from test_train import data  # noqa: F401 - the training clip (a fixture)
from test_train_audit import _config_file, tiny_weights  # noqa: F401 - tiny_weights: a fixture

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_finetune_without_from_starts_from_the_bundled_generator_and_says_so(tmp_path, data, tiny_weights, capsys,
                                                                             monkeypatch):
    """`finetune` demanded --from though the application ships its generator (models/, where the
    fine-tune page starts from): a user had to find that file. Without --from it starts from the
    bundled generator, the first line of the run says which file, and --help says it."""
    monkeypatch.setattr(paths, "default_weights", lambda: tiny_weights)  # (tiny: a step takes a second)
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    assert "default: the bundled generator" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "tuned.pth"
    assert main(["finetune", "--data", str(data), "--steps", "1", "--output", str(out),
                 "--config", str(_config_file(tmp_path)), "--device", "cpu"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"finetune: starting from {tiny_weights} (the bundled generator; --from WEIGHTS starts " \
                       "from another)", lines
    assert load_generator(out).config.channels == 16  # the tiny generator's, not a fresh one's (256)
    # another file given with --from: the line names it, without the note
    other = shutil.copy(tiny_weights, tmp_path / "other.pth")
    assert main(["finetune", "--data", str(data), "--from", str(other), "--steps", "1", "--output",
                 str(tmp_path / "tuned2.pth"), "--config", str(_config_file(tmp_path)), "--device", "cpu"]) == 0
    assert capsys.readouterr().err.splitlines()[0] == f"finetune: starting from {other}"


def test_finetune_without_from_and_without_bundled_weights_says_to_give_from(tmp_path, data, capsys,
                                                                             no_bundled_weights):
    before = sorted(tmp_path.iterdir())
    code = main(["finetune", "--data", str(data), "--output", str(tmp_path / "tuned.pth"), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == DataError.exit_code and len(err) == 1, err
    assert "no bundled generator is installed" in err[0] and "give --from WEIGHTS" in err[0], err
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("where", ["a name too long", "under /proc", "only the output under /proc"])
def test_an_output_that_cannot_be_written_is_refused_before_any_clip_is_read(tmp_path, data, tiny_weights, capsys,
                                                                            monkeypatch, where):
    """An --output whose folder (or the work folder beside it) cannot be made or written was refused
    only after the training clips were read (minutes on a CPU with real footage), and an output
    under /proc with --workdir elsewhere only when the generator was written, after the last step.
    Now the folders are tried first: the same one line, no clip read, nothing left behind."""
    import os
    import sys

    from app.core.train.trainer import Trainer

    if where != "a name too long" and not (sys.platform.startswith("linux") and os.path.isdir("/proc/self")):
        pytest.skip("/proc is Linux's")
    read = []
    monkeypatch.setattr(Trainer, "_load_data", lambda self, *a: read.append(a) or pytest.fail("a clip was read"))
    out = {"a name too long": tmp_path / ("x" * 300) / "tuned.pth", "under /proc": "/proc/h114-no/tuned.pth",
           "only the output under /proc": "/proc/tuned.pth"}[where]
    argv = ["finetune", "--data", str(data), "--from", str(tiny_weights), "--steps", "1", "--output", str(out),
            "--device", "cpu"] + (["--workdir", str(tmp_path / "work")] if where == "only the output under /proc" else [])
    before = sorted(tmp_path.iterdir())
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == OutputError.exit_code and len(err) == 1, err
    assert err[0].startswith("error: Cannot ") and "choose another --workdir or --output." in err[0], err
    assert read == [] and sorted(tmp_path.iterdir()) == before
