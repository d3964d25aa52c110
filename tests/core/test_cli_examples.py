"""The commands the help and the docs show run as written: the examples of every ``--help``, pasted
into a folder with a small clip and a logo mask of the names they use, and every option the README
and docs/ name on a ``main.py`` command line is one that command takes."""
import argparse
import re
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _commands(parser, words=()):
    """(command words, parser) for the program and every (sub)command."""
    yield words, parser
    for action in parser._actions:  # noqa: SLF001 - argparse has no public API for its subcommands
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


def _help_examples():
    """Every command line the help texts show to paste (``python main.py ...`` on a line of its own),
    in the order shown, without the placeholder ``COMMAND --help``."""
    lines = []
    for _, parser in _commands(build_parser()):
        for line in parser.format_help().splitlines():
            line = line.strip()
            if line.startswith("python main.py ") and "COMMAND" not in line and line not in lines:
                lines.append(line)
    return lines


@pytest.fixture
def example_folder(tmp_path, monkeypatch):
    """A folder holding the files the examples name: clip.mp4 (a 320x180 disc at x=160, y=100, the
    click they show) and logo.png (a corner mask)."""
    from app.core.video import write_test_clip

    yy, xx = np.mgrid[:180, :320]
    disc = [((xx - 160 - 2 * i) ** 2 + (yy - 100) ** 2 <= 400)[..., None] for i in range(6)]
    write_test_clip(tmp_path / "clip.mp4", [np.where(d, np.uint8([240, 120, 20]), np.uint8(110)) for d in disc], fps=10)
    logo = np.zeros((180, 320), np.uint8)
    logo[150:170, 250:310] = 255
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_help_example_runs_as_written(example_folder, capsys):
    """The examples under ``--help`` (inpaint a logo; track a click, then inpaint the masks) were
    only parsed; each now runs, in order, on a clip of the names they use, and the ``Next:`` line
    that ``track`` prints runs too."""
    examples = _help_examples()
    assert len(examples) >= 3, examples
    nexts = []
    for line in examples:
        code = main(shlex.split(line)[2:])
        out, err = capsys.readouterr()
        assert code == 0, (line, err)
        nexts += [n.split("Next: ", 1)[1] for n in out.splitlines() if n.startswith("Next: ")]
    assert (example_folder / "clean.mp4").is_file() and len(list((example_folder / "masks").glob("*.png"))) == 6
    assert nexts and nexts[0].startswith("python main.py inpaint clip.mp4 --mask masks"), nexts
    assert main(shlex.split(nexts[0])[2:]) == 0, capsys.readouterr().err


def _doc_commands():
    """(file, command line) for every ``main.py`` command in the README and docs/: in code blocks and
    in `code spans` (a span broken over lines joined)."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        spans = [" ".join(m.group(1).split()) for m in re.finditer(r"`([^`]+)`", text.replace("```", "\n"))]
        lines = [line.strip() for line in text.splitlines()]
        for candidate in spans + lines:
            if re.search(r"main\.py [a-z]", candidate):
                found.append((path.name, candidate.split(" # ")[0].split("  #")[0]))
    return found


def test_every_option_the_docs_name_on_a_command_line_exists():
    """A renamed or removed option left in a documented command line fails only when a user pastes
    it: each ``--option`` after ``main.py COMMAND`` in the README and docs/ is one that command (or
    the program itself) takes. Placeholders and elisions (``...``, ``[--model vit_b]``) are fine."""
    parsers = {words: p for words, p in _commands(build_parser())}
    program = set(parsers[()]._option_string_actions)  # noqa: SLF001
    checked, missing = 0, []
    for name, line in _doc_commands():
        words = line.split("main.py ", 1)[1].replace("[", " ").replace("]", " ").split()
        command = ()
        for word in words:
            if (*command, word) in parsers:
                command = (*command, word)
            elif not word.startswith("-"):
                break
        if not command:  # (main.py VIDEO: the GUI)
            continue
        takes = set(parsers[command]._option_string_actions) | program  # noqa: SLF001
        for word in words:
            option = re.match(r"--?[a-z][a-z0-9-]*", word)
            if option and word.startswith("-"):
                checked += 1
                if option.group(0) not in takes:
                    missing.append(f"{name}: {' '.join(command)} {option.group(0)} in `{line}`")
    assert checked > 40 and not missing, missing


def test_the_readme_command_lines_parse_as_written():
    """The README's command block and indented command lines are whole commands to paste: each
    parses (bracketed options as given; ``a|b`` as its first choice)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.strip().split("  #")[0] for line in text.splitlines()
             if line.startswith(("python main.py ", "    python main.py "))]
    assert len(lines) >= 8, lines
    for line in lines:
        line = re.sub(r"\[([^\[\]]*)\]", r"\1", line)
        line = re.sub(r"(\S+?)\|\S+", r"\1", line)
        argv = shlex.split(line)[2:]
        if argv == ["--help"]:
            continue
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{line}: exit {exc.code}")
