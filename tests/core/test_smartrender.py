"""Exports re-encode only the GOPs that hold a masked frame and copy the rest bit for bit.

Removing something from a few frames of a long clip re-encoded every frame: slow, and every
untouched frame lost a little. Real H.264 files through PyAV: the copied packets are the source's
own bytes, the frames decode as the source's, the re-encoded runs carry the fill.
"""
from __future__ import annotations

import av
import numpy as np
import pytest

from app.core import smartrender
from app.core.engine import EngineConfig, inpaint_video
from app.core.errors import Cancelled
from app.core.jobs import CancelToken
from app.core.masks import MaskStore
from app.core.smartrender import SmartRenderError, SmartWriter, plan
from app.core.video import VideoReader, write_test_clip
from conftest import make_frames
from mediafiles import encode_audio, encode_frames

W, H, N = 96, 64, 40


def write_h264(path, params="keyint=10:min-keyint=10:scenecut=0", n=N, audio=True, timecode=None, fmt=None, rate=25):
    """An H.264 file with a keyframe every 10 frames (B-frames as x264 likes), with a second of sound."""
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "20", "x264-params": params}
        if timecode:
            s.metadata["timecode"] = timecode
        a = None
        if audio:
            a = out.add_stream("aac", rate=16000)
            a.layout = "mono"
        encode_frames(out, s, make_frames(n, W, H))
        if a is not None:
            encode_audio(out, a, (np.sin(np.arange(16000 * n // 25) / 5) * 0.2).astype(np.float32), "fltp", 16000)
    return path


def box_masks(frames, n=N):
    m = np.zeros((H, W), bool)
    m[20:44, 30:70] = True
    store = MaskStore(n, W, H)
    for i in frames:
        store.set(i, m)
    return store


def packets_by_pts(path) -> dict:
    with av.open(str(path)) as c:
        return {p.pts: bytes(p) for p in c.demux(video=0) if p.dts is not None}


def decoded(path) -> list[np.ndarray]:
    with VideoReader(path) as r:
        return list(r)


def test_only_the_gops_with_a_masked_frame_are_encoded_again(tmp_path):
    src = write_h264(tmp_path / "clip.mp4", timecode="01:00:00:00")
    out = tmp_path / "out.mp4"
    result = inpaint_video(src, box_masks([12, 13, 14, 33]), out, config=EngineConfig(fill="telea"))
    assert result.copied == 20 and result.inpainted == 4  # GOPs 10-19 and 30-39 encoded, 0-9 and 20-29 copied
    with VideoReader(src) as r:
        pts = r.timing.pts
        tb = r.timing.time_base
    source, export = packets_by_pts(src), packets_by_pts(out)
    with av.open(str(out)) as c:
        out_tb = c.streams.video[0].time_base
        assert c.streams.audio and c.streams.video[0].metadata.get("timecode") == "01:00:00:00"
    assert out_tb == tb  # the source's timestamps, untouched
    copied = [i for i in range(N) if not (10 <= i < 20 or 30 <= i < 40)]
    assert all(export[pts[i]] == source[pts[i]] for i in copied)  # the source's own bytes
    assert all(export[pts[i]] != source[pts[i]] for i in (10, 12, 33))
    a, b = decoded(src), decoded(out)
    assert len(b) == N and all(np.array_equal(a[i], b[i]) for i in copied)
    m = box_masks([12]).get(12)
    far = np.ones_like(m)
    far[10:54, 20:80] = False  # (away from the box grown by the engine's dilation)
    for i in (12, 13, 14, 33):  # filled inside the box, the rest as the source within the encoder's loss
        assert np.abs(b[i].astype(int) - a[i])[m].mean() > 5
        assert np.abs(b[i].astype(int) - a[i])[far].mean() < 4
    # the same export encoding every frame: nothing is the source's own bytes
    full = inpaint_video(src, box_masks([12, 13, 14, 33]), tmp_path / "full.mp4", config=EngineConfig(fill="telea"),
                         copy_unchanged=False)
    assert full.copied == 0 and not any(packets_by_pts(tmp_path / "full.mp4")[pts[i]] == source[pts[i]] for i in copied)


@pytest.mark.parametrize("rate", [30, 24, 12])
def test_a_run_starting_between_two_milliseconds_is_copied_around(tmp_path, rate):
    """At 30, 24 or 12 fps a GOP may start between two milliseconds (frame 10 at 30 fps: 333.3 ms).
    The runs were written from that time, which an mp4 keeps as an edit in whole milliseconds, so the
    runs' frames came back a few ticks early, the merge refused them ("does not fit its place") and
    every frame was encoded again: nothing copied, every frame a little worse."""
    src = write_h264(tmp_path / "clip.mp4", rate=rate, audio=False)
    out = tmp_path / "out.mp4"
    result = inpaint_video(src, box_masks([12, 13]), out, config=EngineConfig(fill="telea"))
    assert result.copied == 30
    with VideoReader(src) as r:
        pts = r.timing.pts
    source, export = packets_by_pts(src), packets_by_pts(out)
    assert sorted(export) == sorted(source)
    assert all(export[pts[i]] == source[pts[i]] for i in range(N) if not 10 <= i < 20)


def test_neighbouring_gops_make_one_run_and_each_source_gop_keeps_its_keyframe(tmp_path):
    src = write_h264(tmp_path / "clip.mp4", audio=False)
    with VideoReader(src) as r:
        p, why = plan(r, [5, 15, 16])
        assert why == "" and p.spans == [(0, 20)] and p.gop_starts == {0, 10} and p.frames == 20
        assert p.covers(0) and p.covers(19) and not p.covers(20)
    out = tmp_path / "out.mp4"
    inpaint_video(src, box_masks([5, 15, 16]), out, config=EngineConfig(fill="telea"))
    with av.open(str(out)) as c:
        keys = [p.pts for p in c.demux(video=0) if p.dts is not None and p.is_keyframe]
    with VideoReader(out) as r:
        assert sorted(keys) == [r.timing.pts[i] for i in (0, 10, 20, 30)]  # seeking works as in the source


def test_files_that_cannot_be_copied_in_part_are_encoded_whole(tmp_path):
    # open GOPs: the frames before a keyframe (in time) are decoded after it and refer across it
    src = write_h264(tmp_path / "open.mp4", "keyint=10:min-keyint=10:scenecut=0:open-gop=1", audio=False)
    with VideoReader(src) as r:
        p, why = plan(r, [12])
        assert p is None and ("open" in why or "IDR" in why), why
    result = inpaint_video(src, box_masks([12]), tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    assert result.copied == 0 and len(decoded(tmp_path / "out.mp4")) == N
    # every GOP changed: nothing to copy
    src = write_h264(tmp_path / "clip.mp4", audio=False)
    with VideoReader(src) as r:
        assert plan(r, range(0, N, 10)) == (None, "every GOP holds a changed frame")
    # not H.264 in an MP4
    mkv = write_h264(tmp_path / "clip.mkv", audio=False)
    with VideoReader(mkv) as r:
        p, why = plan(r, [12])
        assert p is None and "not H.264 in an MP4" in why


def test_a_failed_check_encodes_every_frame_instead(tmp_path, monkeypatch, caplog):
    src = write_h264(tmp_path / "clip.mp4")

    def broken(self, merged):
        raise SmartRenderError("as if the merged file were wrong")

    monkeypatch.setattr(SmartWriter, "_check", broken)
    out = tmp_path / "out.mp4"
    result = inpaint_video(src, box_masks([12]), out, config=EngineConfig(fill="telea"))
    assert result.copied == 0 and "re-encoding every frame" in caplog.text
    # (said to the user too, not only in the log: the CLI prints the warnings, the window shows them)
    assert [w for w in result.warnings if "every frame was encoded again" in w and "as if the merged" in w]
    a, b = decoded(src), decoded(out)
    assert len(b) == N and np.abs(b[12].astype(int) - a[12]).mean() > 1  # the fill is there
    assert np.abs(b[30].astype(int) - a[30]).mean() < 4
    with av.open(str(out)) as c:
        assert c.streams.audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "out.mp4"]  # no temporary files left


def test_the_check_catches_a_merge_that_decodes_wrong(tmp_path, monkeypatch):
    """The check is not a formality: parameter sets left out of the avcC box make the runs undecodable."""
    src = write_h264(tmp_path / "clip.mp4", audio=False)
    real = smartrender._avcc_bytes
    monkeypatch.setattr(smartrender, "_avcc_bytes", lambda head, sps, pps, tail: real(head, sps[:1], pps[:1], tail))
    with VideoReader(src) as r:
        p, _ = plan(r, [12])
        w = SmartWriter(r, p, tmp_path / "out.mp4")
        for i in p.indices():
            w.write(i, r[i])
        w.close()
        assert w.reencoded_all
    assert len(decoded(tmp_path / "out.mp4")) == N


def test_cancelling_while_copying_leaves_nothing(tmp_path):
    src = write_h264(tmp_path / "clip.mp4")
    cancel = CancelToken()

    def progress(p):
        if p.stage == "copy" and p.done > 0:
            cancel.cancel()

    with VideoReader(src) as r:
        p, _ = plan(r, [12])
        w = SmartWriter(r, p, tmp_path / "out.mp4")
        for i in p.indices():
            w.write(i, r[i])
        with pytest.raises(Cancelled):
            w.close(progress, cancel)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_ctrl_c_while_the_writer_starts_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A Ctrl-C (or a kill, which the CLI turns into one) that lands while the writer sets up its
    encoder: the temporary file it had made beside the output went with the exception only for
    ordinary errors, and was left behind."""
    src = write_h264(tmp_path / "clip.mp4", audio=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with VideoReader(src) as r:
        p, _ = plan(r, [12])
        monkeypatch.setattr(smartrender.av, "open", interrupted)
        with pytest.raises(KeyboardInterrupt):
            SmartWriter(r, p, tmp_path / "out.mp4")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["clip.mp4"]


def test_frames_must_come_in_the_plans_order(tmp_path):
    src = write_h264(tmp_path / "clip.mp4", audio=False)
    with VideoReader(src) as r:
        p, _ = plan(r, [12])
        w = SmartWriter(r, p, tmp_path / "out.mp4")
        with pytest.raises(ValueError, match="frame 11 written out of order"):
            w.write(11, r[11])
        with pytest.raises(ValueError, match="frames still to write from 10"):
            w.close()
        w.abort()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("broken", [False, True])
def test_a_portrait_phone_clip_keeps_its_rotation_in_both_parts(tmp_path, monkeypatch, broken):
    """A phone stores a portrait clip sideways with a rotation tag. The copied GOPs keep the tag, so
    the re-encoded ones are written sideways too (and, if the check fails, the whole export upright)."""
    frames = make_frames(N, W, H)
    src = write_test_clip(tmp_path / "portrait.mp4", frames, rotation=90, codec_options={
        "x264-params": "keyint=10:min-keyint=10:scenecut=0"})
    if broken:
        monkeypatch.setattr(SmartWriter, "_check", lambda self, merged: (_ for _ in ()).throw(SmartRenderError("x")))
    with VideoReader(src) as r:
        assert r.size == (H, W)  # shown upright: 64 wide, 96 high
        a = list(r)
    m = np.zeros((W, H), bool)  # (rows, columns) as shown
    m[60:80, 10:40] = True
    masks = MaskStore(N, H, W)
    masks.set(12, m)
    result = inpaint_video(src, masks, tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    assert result.copied == (0 if broken else 30)
    with VideoReader(tmp_path / "out.mp4") as r:
        assert r.size == (H, W)
        b = list(r)
    assert np.abs(b[12].astype(int) - a[12])[m].mean() > 5  # the fill is where the mask was drawn
    far = np.ones_like(m)
    far[50:90, 0:50] = False
    assert all(np.abs(b[i].astype(int) - a[i])[far].mean() < 4 for i in (5, 12, 15, 25))


def test_a_file_cut_inside_a_frame_is_encoded_whole_without_its_torn_packet(tmp_path):
    """The reader leaves out a frame whose packet the file ends inside; copying GOPs as they are
    would carry that torn packet into the export, where players stop at it."""
    src = tmp_path / "whole.mp4"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"x264-params": "keyint=10:min-keyint=10:scenecut=0"}
        encode_frames(out, s, make_frames(N, W, H))
    with av.open(str(src)) as c:
        pos, size = [(p.pos, p.size) for p in c.demux(video=0) if p.size][-1]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[:pos + size // 2])
    with VideoReader(cut) as r:
        n = len(r)
        assert n == N - 1 and plan(r, [2]) == (None, "it is cut off inside a frame")
    result = inpaint_video(cut, box_masks([2], n), tmp_path / "out.mp4", config=EngineConfig(fill="telea"))
    assert result.copied == 0
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert not any(p.is_corrupt for p in c.demux(video=0))
    assert len(decoded(tmp_path / "out.mp4")) == n
