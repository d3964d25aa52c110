"""``train`` and ``finetune`` subcommands.

    sttn-inpaint finetune --data CLIPS_DIR --from sttn.pth --steps 2000 --output tuned.pth \\
        [--val VAL_DIR] [--workdir DIR] [--lr 1e-5] [--device auto] [--resume]
    sttn-inpaint train --data CLIPS_DIR --steps 300000 --output model.pth [--batch-size 8] ...
    torchrun --nproc_per_node 4 -m app.cli_train train ...      # several GPUs (DDP)

``register(subparsers)`` adds both to the main parser; each handler returns an exit code and
raises ``InpaintError`` subclasses for user errors. ``python -m app.cli_train`` runs them alone.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from .cliutil import TRAIN_DEVICES, TqdmProgress, device_arg, int_in, path_text
from .core.config import FINETUNE_LR
from .core.errors import Cancelled, DataError, OutputError, short

#: the names --output may have: what torch.save writes, as the weights pickers show them
WEIGHTS_EXTS = (".pth", ".pt")

_TUNING = ("steps", "time_limit", "lr", "batch_size", "sample_frames", "lr_decay_every", "lr_decay_gamma", "adv_weight",
           "seed", "checkpoint_every", "checkpoint_seconds", "val_every", "val_frames", "log_every", "width", "height", "attention",
           "device", "init_discriminator", "cache_dir", "disc_channels")


def _add_common(p: argparse.ArgumentParser, finetune: bool) -> None:
    p.add_argument("--data", nargs="+", metavar="PATH", type=path_text,
                   help="folders of videos and/or frame folders, or video files (required unless --resume)")
    p.add_argument("--from", dest="init_weights", metavar="WEIGHTS", required=False, type=path_text,
                   help="generator file to start from (sttn.pth or a file written by this program)"
                   + ("; default: " + _bundled_help() if finetune else "; default: a fresh generator"))
    p.add_argument("--output", "-o", metavar="OUT.pth", type=path_text,
                   help="write the trained generator here (float16) at the end")
    p.add_argument("--steps", type=int_in(1), metavar="N", help=f"iterations (default {2000 if finetune else 300000})")
    p.add_argument("--time-limit", type=_duration, metavar="TIME",
                   help="stop after this much training time even if --steps is not reached, e.g. 45m, 2h, 600s "
                        "(a checkpoint and --output are written as at the end); checked before each step, so the "
                        "step under way ends first: up to one step (1-3 minutes on a CPU) past it")
    p.add_argument("--workdir", metavar="DIR", type=path_text, help="checkpoints, metrics.jsonl and samples "
                   "(default: OUT.train beside OUT.pth)")
    p.add_argument("--val", nargs="+", dest="val_data", metavar="PATH", type=path_text,
                   help="held-out clips for validation (PSNR/SSIM with fixed seeded masks)")
    p.add_argument("--resume", action="store_true", help="continue from WORKDIR/checkpoints/last.pt")
    p.add_argument("--config", metavar="JSON", type=path_text,
                   help="training settings as a JSON object (docs/TRAINING.md); command-line options win")
    g = p.add_argument_group("tuning")
    g.add_argument("--lr", type=float, metavar="RATE",
                   help=f"Adam learning rate (default {FINETUNE_LR:g} for finetune, 1e-4 for train)")
    g.add_argument("--batch-size", type=int_in(1), metavar="N",
                   help="samples per iteration and process (default 1; paper 8)")
    g.add_argument("--frames", dest="sample_frames", type=int_in(1), metavar="N", help="frames per sample (default 5)")
    g.add_argument("--lr-decay-every", type=int_in(1), metavar="N",
                   help="multiply lr by --lr-decay-gamma every N steps (paper 150000)")
    g.add_argument("--lr-decay-gamma", type=float, metavar="FACTOR",
                   help="what --lr-decay-every multiplies lr by (default 0.1)")
    g.add_argument("--adv-weight", type=float, metavar="W",
                   help="adversarial loss weight (default 0.01; 0 = no discriminator)")
    g.add_argument("--attention", choices=("official", "masked"),
                   help="attention mode to train (default: the weights' own; official for the authors' files)")
    g.add_argument("--from-discriminator", dest="init_discriminator", metavar="PATH", type=path_text,
                   help="training checkpoint whose discriminator to start from (default: fresh)")
    g.add_argument("--width", type=int_in(1), metavar="PX", help="training width (default: the generator's, 432)")
    g.add_argument("--height", type=int_in(1), metavar="PX", help="training height (default: the generator's, 240)")
    g.add_argument("--device", type=device_arg(TRAIN_DEVICES), metavar="{auto,cpu,cuda}",
                   help="where training runs: auto = CUDA when there is a GPU, else the CPU (default auto; one GPU "
                        "of several: CUDA_VISIBLE_DEVICES=N, all of them: torchrun)")
    g.add_argument("--seed", type=int, metavar="N", help="random seed (default 0)")
    g.add_argument("--checkpoint-every", type=int_in(0), metavar="N",
                   help="steps between checkpoints (default 500; 0: only at the end)")
    g.add_argument("--checkpoint-time", dest="checkpoint_seconds", type=_duration, metavar="TIME",
                   help="also checkpoint when this much time passed since the last one, e.g. 10m "
                        "(on a CPU a step takes a minute or more)")
    g.add_argument("--val-every", type=int_in(0), metavar="N", help="steps between validations (default 500; 0: never)")
    g.add_argument("--val-frames", type=int_in(1), metavar="N", help="frames per validation clip (default 10)")
    g.add_argument("--log-every", type=int_in(0), metavar="N",
                   help="steps between metrics.jsonl lines (default 10; 0: none)")
    g.add_argument("--cache-dir", type=path_text, metavar="DIR",
                   help="where decoded frames are cached (default: train-frames in the user "
                   "cache folder, see `cache info`; give a large disk for big data sets)")
    if not finetune:
        g.add_argument("--channels", type=int_in(1), metavar="N", help="fresh generator width (default 256)")
        g.add_argument("--blocks", type=int_in(1), metavar="N", help="fresh generator transformer blocks (default 8)")
        g.add_argument("--disc-channels", type=int_in(1), metavar="N",
                       help="discriminator base width (default 64, Table 5)")


def _bundled_help() -> str:
    from .core import paths

    bundled = paths.default_weights()
    where = str(bundled).replace("%", "%%")  # (argparse formats help with %)
    return (f"the bundled generator ({where}), where the GUI's fine-tune page starts too" if bundled else
            "the bundled generator, which is not installed here: give --from")


def _duration(text: str) -> float:
    """'90', '90s', '30m', '2h', '1.5h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    t = text.strip().lower()
    scale = units.get(t[-1:], None)
    try:
        value = float(t[:-1] if scale else t) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; write e.g. 600s, 45m or 2h") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the time limit must be positive")
    return value


def register(subparsers) -> None:
    """Add ``train`` and ``finetune`` to an argparse subparsers object."""
    ft = subparsers.add_parser("finetune", help="fine-tune a generator on your own clips",
                               description="Fine-tune an STTN generator on a folder of clips "
                               "(masks are generated; the clips are the ground truth).")
    _add_common(ft, finetune=True)
    ft.set_defaults(func=finetune_command, _finetune=True)
    tr = subparsers.add_parser("train", help="train a generator (from scratch or from weights)",
                               description="Train STTN with the T-PatchGAN discriminator (paper Sec. 3.3).")
    _add_common(tr, finetune=False)
    tr.set_defaults(func=train_command, _finetune=False)


def _config_file(path) -> dict:
    """The fields of a ``--config`` JSON file, each a TrainConfig field with a value it takes; a
    misspelt name (dropped without a word before) or a wrong value says so with the file's name."""
    import dataclasses
    import difflib

    from .core.train import TrainConfig

    try:
        fields = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read --config {path} ({short(exc)}); pass a JSON file of training settings "
                        "(docs/TRAINING.md).") from None
    if not isinstance(fields, dict):
        raise DataError(f"--config {path} holds a JSON {type(fields).__name__}, not a JSON object of training "
                        'settings (e.g. {"lr": 1e-5, "batch_size": 4}).')
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    for name in fields:
        if name not in names:
            like = difflib.get_close_matches(name, names, n=1)
            raise DataError(f"--config {path} has a field {name!r} that training does not know"
                            + (f" (did you mean {like[0]!r}?)" if like else "")
                            + "; the fields are listed in docs/TRAINING.md (--config).")
    try:
        TrainConfig.from_dict(fields)
    except DataError as exc:
        raise DataError(f"--config {path}: {exc}") from None
    return fields


def build_config(args):
    """TrainConfig from parsed arguments (and --config JSON). Returns (config, resume)."""
    from .core.train import TrainConfig
    from .core.train.trainer import check_folders

    fields = _config_file(args.config) if args.config else {}
    for name in _TUNING + ("channels", "blocks", "init_weights", "output", "workdir"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    if args.data:
        fields["data"] = args.data
    if args.val_data:
        fields["val_data"] = args.val_data
    finetune = args._finetune
    if not args.resume:
        fields.setdefault("steps", 2000 if finetune else 300000)
        if finetune:  # (the GUI's page starts at the same: a tenth of training's, for weights that already work)
            fields.setdefault("lr", FINETUNE_LR)
    if finetune and not fields.get("init_weights") and not args.resume:  # (the GUI's page starts from it too)
        from .core import paths

        bundled = paths.default_weights()
        if bundled is None:
            raise DataError(f"finetune starts from the bundled generator, but no bundled generator is installed "
                            f"(models/{paths.DEFAULT_WEIGHTS_NAME}): give --from WEIGHTS, the generator to start "
                            "from (e.g. the authors' sttn.pth).")
        fields["init_weights"] = str(bundled)
    if fields.get("init_weights") and not args.resume and not Path(fields["init_weights"]).expanduser().is_file():
        raise DataError(f"--from {fields['init_weights']} is not a file; give the generator to start from "
                        "(models/sttn_inpaint.pth, the authors' sttn.pth or a file written by finetune/train).")
    if fields.get("output"):
        from .cliutil import refuse_inputs

        refuse_inputs(fields["output"], [("weights file", fields.get("init_weights")),
                                         ("discriminator checkpoint", fields.get("init_discriminator")),
                                         ("--config file", args.config)]
                      + [("data", d) for d in list(fields.get("data") or []) + list(fields.get("val_data") or [])])
        from .core.video import IMAGE_EXTS, VIDEO_EXTS

        if Path(fields["output"]).suffix.lower() in VIDEO_EXTS | IMAGE_EXTS:
            _refuse_output_name(fields["output"], finetune, "names a video or an image")
    if not fields.get("workdir"):
        if not fields.get("output"):
            raise OutputError("Give --output OUT.pth (the trained generator) or --workdir DIR for checkpoints.")
        out = Path(fields["output"]).expanduser()
        fields["workdir"] = str(out.with_name(out.stem + ".train"))
    cfg = TrainConfig.from_dict(fields)
    # (before anything is read: an output under /proc was refused after the clips were read, or after training)
    check_folders(cfg, write=os.environ.get("RANK", "0") == "0")  # (under torchrun: by the first process)
    if args.resume:
        if not cfg.checkpoint_path.exists():
            raise DataError(f"Nothing to resume: {cfg.checkpoint_path} does not exist; start without --resume.")
        from .core.train import read_training_checkpoint

        saved = read_training_checkpoint(cfg.checkpoint_path)["config"]
        # The checkpoint's settings define the run; options given now (steps, output, ...) win.
        merged = {**saved, **fields}
        cfg = TrainConfig.from_dict(merged)
        _refuse_missing_data(cfg)
        _refuse_own_files(cfg)
        _refuse_weights_name(cfg, finetune)
        return cfg, cfg.checkpoint_path
    if not cfg.data:
        raise DataError("Give --data with a folder of videos (or frame folders) to train on.")
    if cfg.checkpoint_path.exists():
        raise OutputError(f"{cfg.workdir} already holds a training run ({cfg.checkpoint_path}); "
                          "add --resume to continue it or choose another --workdir.")
    _refuse_missing_data(cfg)
    _refuse_own_files(cfg)
    _refuse_weights_name(cfg, finetune)
    return cfg, None


def _refuse_output_name(output, finetune: bool, named: str) -> None:
    command = "finetune" if finetune else "train"
    raise OutputError(f"--output {output} {named}, but {command} writes the trained generator (weights): give a "
                      ".pth file, e.g. tuned.pth, and inpaint with --weights tuned.pth.")


def _refuse_weights_name(cfg, finetune: bool) -> None:
    """Refuse an --output not named as weights are (``WEIGHTS_EXTS``): -o t.txt was taken, and a weights
    file named so made nobody look for it. Said after the refusals that say more (the output is a folder,
    or one of the run's own files)."""
    if cfg.output and Path(cfg.output).suffix.lower() not in WEIGHTS_EXTS:
        _refuse_output_name(cfg.output, finetune, "does not end in .pth or .pt")


def _refuse_missing_data(cfg) -> None:
    """Refuse a --data or --val path that is not there before anything is read: a missing --val
    was found only after the training clips were read (10 s for one clip, minutes for a folder of
    them) and was called "Training data"."""
    for option, paths in (("--data", cfg.data), ("--val", getattr(cfg, "val_data", None))):
        for raw in paths or []:
            if not Path(raw).expanduser().exists():
                what = "training" if option == "--data" else "validation"
                raise DataError(f"{option} {raw} does not exist; pass the {what} clips: video files or folders of "
                                "videos or of frames.")


def _refuse_own_files(cfg) -> None:
    """Refuse an --output that is the run's training checkpoint or log (its work folder's): the
    generator written over it at the end would lose the run (a resumed run reads them)."""
    if cfg.output:
        from .cliutil import refuse_inputs

        refuse_inputs(cfg.output, [("training checkpoint", cfg.checkpoint_path),
                                   ("training log", Path(cfg.workdir).expanduser() / "metrics.jsonl")])


def _clock(seconds) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TrainProgress(TqdmProgress):
    """Step, losses, seconds per step and ETA on stderr: a tqdm bar on a terminal (starting at
    the resumed step, so its rate and ETA count only this run's steps), else one line per step
    at most every ``every`` seconds (for logs of runs under nohup, a scheduler or a pipe). The
    last report is always shown: a line held back by the interval is printed at the end, and a
    step reported again with new scores (the validation after the last step) is printed again.
    ``opening`` (which weights the run starts from) is printed before the first report: once the
    run's settings, folders and weights passed their checks, so that a refusal stays one line."""

    def __init__(self, desc: str, stream=None, every: float = 10.0, opening: str | None = None):
        super().__init__(desc, unit="step")
        self.stream, self.every, self.opening = stream or sys.stderr, every, opening
        self.tty = self.stream.isatty()
        self.last_line, self.last_step, self.last_shown = -float("inf"), None, None
        self.held = None  # the last report not printed because of the interval
        from .core.train.trainer import VALIDATING

        self.validating = VALIDATING

    def say_opening(self) -> None:
        if self.opening:
            print(self.opening, file=self.stream, flush=True)
            self.opening = None

    def __call__(self, p) -> None:
        self.say_opening()
        if p.stage == self.validating:  # (between steps: the bar and the step lines stay as they are)
            return
        if p.stage != "train":  # decoding clips into the cache, before the first step
            if time.monotonic() - self.last_line >= self.every or p.done == 0:
                self.last_line = time.monotonic()
                print(f"reading {p.stage} {p.done + 1}/{p.total}: {p.info.get('clip', '')}", file=self.stream,
                      flush=True)
            return
        if p.done > p.total:  # (a run resumed past its --steps: no step to show; the start line said so)
            return
        shown = {k: v for k, v in p.info.items() if k in ("loss", "d_loss", "val_psnr")}
        if self.tty:
            from tqdm import tqdm

            if self.bar is None:
                self.bar = tqdm(total=p.total, initial=p.done, desc=self.desc, unit="step", file=self.stream,
                                dynamic_ncols=True)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
            if p.done == self.bar.n:
                self.bar.refresh()  # the same step with new scores: update() alone would not redraw
            self.bar.update(p.done - self.bar.n)
            return
        if p.done == self.last_step and shown == self.last_shown:
            return
        now = time.monotonic()
        if now - self.last_line < self.every and p.done < p.total and p.done != self.last_step:
            self.held = p
            return
        self.held = None
        self.last_line, self.last_step, self.last_shown = now, p.done, shown
        parts = [f"step {p.done}/{p.total}"] + [f"{k} {v:.4g}" for k, v in shown.items()]
        if "sec_per_step" in p.info:
            parts += [f"{p.info['sec_per_step']:.3g} s/step", f"ETA {_clock(p.info['eta'])}"]
        print(f"{self.desc}: " + ", ".join(parts), file=self.stream, flush=True)

    def __exit__(self, *exc):
        if self.held is not None:  # (a run stopped by --time-limit or Ctrl-C between two lines)
            self.last_line = -float("inf")
            self(self.held)
        return super().__exit__(*exc)


def _run(args) -> int:
    from .core.jobs import CancelToken
    from .core.train import Trainer

    if args.device is not None:  # (a device that is not here is said before any file is read)
        from .core.engine import resolve_device

        resolve_device(args.device)
    from .cliutil import REPLACING, replaces

    cfg, resume = build_config(args)
    replacing = replaces(cfg.output)
    workdir = Path(cfg.workdir).expanduser()
    made = not workdir.exists()  # (made by this run: removed again if it is left empty)
    cancel = CancelToken()
    previous = None
    training = False  # (until the clips are read: there is no step to drop nor one to save)
    try:  # Ctrl-C stops after the current step and saves a checkpoint; a second Ctrl-C aborts.
        def on_sigint(signum, frame):
            if cancel.cancelled:
                raise KeyboardInterrupt
            print("\nStopping (the step under way is dropped, the last whole one is saved); "
                  "press Ctrl-C again to abort without saving." if training else
                  "\nStopping: the clips are still being read, so nothing is saved; press Ctrl-C again to stop at "
                  "once.", file=sys.stderr)
            cancel.cancel()

        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        previous = None
    try:
        command = "finetune" if args._finetune else "train"
        with TrainProgress(command, opening=None if resume else f"{command}: {_starting_from(cfg.init_weights)}") \
                as bar:
            # Under torchrun every process runs this: only the first reports (each printed its own
            # loss for the same step, and a stray "step 0" while the first read the clips).
            first = os.environ.get("RANK", "0") == "0"
            trainer = Trainer(cfg, progress=bar if first else None, cancel=cancel, resume=resume)
            if trainer.ctx.is_main:
                start = (f"starting at step 0 of {cfg.steps}" if not resume else
                         f"resuming at step {trainer.step} of {cfg.steps}" if trainer.step < cfg.steps else
                         f"at step {trainer.step} already: --steps {cfg.steps} trains no more (give a larger --steps "
                         "to go on); the generator is written again")
                bar.say_opening()
                print(f"data: {trainer.data_description}; {cfg.width or trainer.width}x{cfg.height or trainer.height}, "
                      f"device {trainer.device}, {trainer.ctx.world_size} process(es), {start}", file=sys.stderr)
            training = True
            try:
                result = trainer.run()
            except Cancelled as exc:
                raise Cancelled(f"{exc} To continue, run the same command with --resume.") from None
    except BaseException:  # (a kill or a second Ctrl-C before the first checkpoint: "no partial output was left")
        if made:
            _remove_empty_folders(workdir)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if trainer.ctx.is_main:
        line = f"trained to step {result.step}; checkpoint {result.checkpoint}"
        if result.val_psnr is not None:
            line += f"; validation PSNR {result.val_psnr:.2f} dB, SSIM {result.val_ssim:.4f}"
        if result.output:
            line += f"; generator written to {result.output}{REPLACING if replacing else ''}"
        print(line)
    return 0


def _starting_from(weights) -> str:
    """Which generator a run starts from, for the first line it prints."""
    if not weights:
        return "starting from a fresh generator (--from WEIGHTS starts from a file)"
    from .core import paths

    if paths.is_bundled(weights):
        return f"starting from {weights} (the bundled generator; --from WEIGHTS starts from another)"
    return f"starting from {weights}"


def _remove_empty_folders(top: Path) -> None:
    """Delete ``top`` and the folders in it that hold no file (a work folder made for a run that
    ended before it wrote anything); a folder with a file in it stays, with the file."""
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):  # (the deepest first)
        try:
            os.rmdir(folder)
        except OSError:
            pass


def finetune_command(args) -> int:
    return _run(args)


def train_command(args) -> int:
    return _run(args)


def main(argv=None) -> int:
    """Standalone entry (``python -m app.cli_train`` / ``torchrun ... -m app.cli_train``): train or
    finetune as the main command line runs them, with its one-line errors (a usage mistake too),
    Ctrl-C, kill and --log-file; they were argparse's usage block and a traceback here."""
    from .cli import main as cli_main
    from .cliutil import program

    argv = list(sys.argv[1:] if argv is None else argv)
    if not {"train", "finetune"} & set(argv) and {"-h", "--help"} & set(argv):
        print("usage: python -m app.cli_train [-v] [--log-file PATH] {train,finetune} ...\n\n"
              "Runs `train` or `finetune` with the options of the main command line (one process; under torchrun, "
              f"one of several):\n  {program()} train --help\n  {program()} finetune --help")
        return 0
    if not {"train", "finetune"} & set(argv):
        print(f"error: python -m app.cli_train runs `train ...` or `finetune ...` (the same as `{program()} train`); "
              "add one of them.", file=sys.stderr)
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
