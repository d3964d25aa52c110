"""A camera's uncompressed sound: the export dialog offers a QuickTime file, which keeps it as it is."""
from __future__ import annotations

import av
import numpy as np

from app.core.engine import EngineConfig
from app.core.jobs import CancelToken
from app.core.masks import MaskStore
from app.ui.dialogs.export import MOV_FILTER, MP4_FILTER, export_name
from app.ui.workers import EngineHost, export_inpaint_job
from mediafiles import encode_audio, encode_frames


def clip_with_sound(path, codec: str, fmt: str, dtype) -> str:
    """20 frames of 64x48 H.264 and a second of mono sound in ``codec``."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=20)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(codec, rate=16000, layout="mono")
        encode_frames(out, v, [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(20)])
        encode_audio(out, a, (np.sin(np.arange(16000) / 4) * (9000 if dtype == np.int16 else 0.3)).astype(dtype), fmt, 16000)
    return str(path)


def sound(path) -> bytes:
    with av.open(str(path)) as c:
        return b"".join(bytes(p) for p in c.demux(c.streams.audio[0]) if p.size)


def test_a_clip_with_pcm_sound_is_offered_as_a_mov_that_keeps_it(window, tmp_path, qtbot):
    pcm = clip_with_sound(tmp_path / "camera.mov", "pcm_s16le", "s16", np.int16)
    window.open_path(pcm)
    dialog = window.export_dialog_show()
    out = dialog.options().path
    assert out.name == "camera_inpainted.mov"
    dialog.close()
    masks = MaskStore(20, 64, 48)
    m = np.zeros((48, 64), bool)
    m[10:20, 10:30] = True
    masks.set_many(range(20), m)
    host = EngineHost()
    try:
        export_inpaint_job(pcm, masks, out, 0, 20, None, EngineConfig(fill="telea"), 18, True)(
            host, lambda p: None, CancelToken())
    finally:
        host.close()
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "pcm_s16le"
    assert sound(out) == sound(pcm)  # every sample as it was

    aac = clip_with_sound(tmp_path / "phone.mp4", "aac", "fltp", np.float32)
    window.open_path(aac)
    dialog = window.export_dialog_show()
    assert dialog.options().path.name == "phone_inpainted.mp4"  # (AAC: an mp4 copies it anyway)
    dialog.close()


def test_a_name_typed_without_a_suffix_gets_the_type_chosen():
    assert export_name("/v/out", MOV_FILTER) == "/v/out.mov"
    assert export_name("/v/out", MP4_FILTER) == "/v/out.mp4"
    assert export_name("/v/out.MOV", MP4_FILTER) == "/v/out.MOV"
    assert export_name("/v/out.m4v", MOV_FILTER) == "/v/out.m4v"
