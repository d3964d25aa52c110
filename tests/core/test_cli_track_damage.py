"""`track` says the damage it met while reading the frames, as `inpaint` does."""
from mediafiles import write_two_glitches

from app.cli import main


def test_track_says_each_damaged_stretch_it_read_through(tmp_path, capsys, no_bundled_weights):
    """A clip whose damage shows only when its frames are decoded (two glitches far apart; opening it
    says nothing) was tracked without a word: inpaint warned, track did not, and the masks of the
    broken frames came out as if nothing were wrong (measured: a faststart mp4 with 5 kB overwritten
    in its middle, frames 7-8 lost)."""
    path, (one, two) = write_two_glitches(tmp_path, 60, 160, 120)
    assert main(["track", str(path), "--click", "80,60", "-o", str(tmp_path / "masks")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert [w.split(":")[1] for w in warnings] == [f" glitches.mpg is damaged near frame {one[0]}",
                                                   f" glitches.mpg is damaged near frame {two[0]}"], warnings
