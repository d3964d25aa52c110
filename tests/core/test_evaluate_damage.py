"""evaluate says a damaged or cut-off clip, one line each, and scores what was read."""
import json

import av

from app.cli import main
from conftest import make_frames
from mediafiles import encode_frames, write_two_glitches

W, H = 160, 120


def write_cut_mpg(folder, n=30):
    """An MPEG-2 program stream of n frames with its last third cut off (an interrupted copy)."""
    whole = folder / "whole.mpg"
    with av.open(str(whole), "w") as out:
        s = out.add_stream("mpeg2video", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"g": "10", "bf": "2", "qscale": "4", "threads": "1"}
        encode_frames(out, s, make_frames(n, W, H, seed=5))
    data = whole.read_bytes()
    cut = folder / "cut.mpg"
    cut.write_bytes(data[:len(data) * 2 // 3])
    return whole, cut


def warnings_of(err):
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_each_damaged_or_cut_clip_is_said_in_one_line_and_scored_as_read(tmp_path, capsys):
    """A clip with two broken stretches and one cut off were scored without a word: inpaint and track
    say such damage, evaluate dropped it, and its table looked like a whole clip's."""
    glitches, (one, two) = write_two_glitches(tmp_path, 60, W, H)
    whole, cut = write_cut_mpg(tmp_path)
    report = tmp_path / "r.json"
    table = tmp_path / "r.md"
    assert main(["evaluate", str(glitches), str(whole), str(cut), "--method", "telea", "--size", f"{W}x{H}",
                 "--json", str(report), "--markdown", str(table)]) == 0
    captured = capsys.readouterr()
    said = warnings_of(captured.err)
    assert len(said) == 2, said
    assert said[0] == (f"warning: glitches.mpg is damaged near frames {one[0]} and {two[0]} (broken picture data up "
                       "to the next keyframe): its 60 frames are scored as read, as players show them, so its "
                       "figures are not a whole copy's (every method is scored against the same frames)."), said
    rows = {r["clip"]: r for r in json.loads(report.read_text())["methods"]["telea"]["clips"]}
    assert said[1].startswith("warning: cut.mpg ") and said[1].endswith(f"; its {rows['cut']['frames']} frames are "
                                                                          "scored as read."), said
    assert 10 < rows["cut"]["frames"] < 30 and rows["whole"]["frames"] == 30, rows
    assert [rows[c]["damaged"] for c in ("glitches", "whole", "cut")] == [True, False, True]
    assert json.loads(report.read_text())["warnings"] == [s[len("warning: "):] for s in said]
    for w in said:  # (the written table keeps the record)
        assert "Warning: " + w[len("warning: "):] in table.read_text()


def test_damage_past_the_frames_read_is_not_said(tmp_path, capsys):
    glitches, (one, _) = write_two_glitches(tmp_path, 60, W, H)
    _, cut = write_cut_mpg(tmp_path)
    assert main(["evaluate", str(glitches), str(cut), "--method", "none", "--size", f"{W}x{H}",
                 "--max-frames", str(one[0])]) == 0
    assert warnings_of(capsys.readouterr().err) == []
