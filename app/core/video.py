"""Streaming video I/O with PyAV.

Readers yield RGB uint8 frames of shape (H, W, 3), in presentation order, with
frame-accurate random access, without holding the video in memory. The writer encodes
H.264 (yuv420p) to a temporary file beside the target, muxes the input's audio, and
renames the result into place only when complete.
"""
from __future__ import annotations

import bisect
import collections
import contextlib
import heapq
import itertools
import logging
import os
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional, Sequence

import av
import cv2
import numpy as np
from av.video.frame import PictureType

from .config import X264_PRESETS
from .errors import InpaintError, OutputError, VideoError, short
from .fsutil import check_writable, make_temp_beside, remove_orphans
from .jobs import CancelToken, ProgressClock, ProgressFn
from .mp4index import index_cut_off, video_tables

log = logging.getLogger(__name__)

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
#: names of video files: a folder holding one is not a frame folder (its images are stray stills)
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts"}


def _natural(path: Path):
    """Sort key: digits compared as numbers, so frame_2 comes before frame_10."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", path.name) if t]


def image_files(folder: Path) -> list[Path]:
    """The images of a frame or mask folder in frame order: names sorted with their numbers as
    numbers (frame_2 before frame_10, as a file manager shows them); hidden files (macOS's ._
    copies, editors' backups) and folders left out."""
    return _files(folder, IMAGE_EXTS)


def _files(folder, suffixes) -> list[Path]:
    return sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in suffixes and not p.name.startswith(".")
                   and p.is_file()), key=_natural)


def video_files(folder: Path) -> list[Path]:
    """The video files in a folder (by their names; hidden ones left out), in name order."""
    return _files(folder, VIDEO_EXTS)


# Audio codecs the mp4 container takes as they are; anything else is re-encoded to AAC.
MP4_AUDIO_COPY = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
#: ... and what a QuickTime file (an export named .mov) takes besides: uncompressed PCM, as cameras
#: and recorders write it (kept bit for bit there; an .mp4 gets it as AAC)
MOV_AUDIO_COPY = MP4_AUDIO_COPY | {f"pcm_{k}" for k in ("s16le", "s16be", "s24le", "s24be", "s32le", "s32be",
                                                        "f32le", "f32be", "f64le", "f64be", "u8", "s8")}
#: AAC's bit rate for a track re-encoded from a codec mp4 cannot hold (PCM, MP2, Vorbis): 128 kb/s stereo
AAC_BITRATE_PER_CHANNEL = 64000
#: FFmpeg's usual channel layout for a count, for audio whose channels have no names (AVI's PCM)
USUAL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
DEFAULT_FPS = 25.0
FORWARD_SKIP = 120
#: where the keyframes are known and a seek lands on the one asked for (``TRUSTED_SEEK``), a read further on
#: seeks to the keyframe at or before it only when that skips more than this many frames decoding on would
#: decode (a seek restarts the decoder on an I-frame: about ten frames' decoding, 640x360 H.264)
SEEK_SAVES = 12
INDEX_REPORT_EVERY = 2000  # packets between progress reports (and cancel checks) while indexing
#: swscale flags for writing (RGB -> YUV): bicubic chroma with exact rounding. A frame read and
#: written back keeps its chroma closer than with the defaults (PSNR 56.0 / 60.5 dB against 51.9 /
#: 54.1 before any encoding, `benchmarks/bench_colour.py`) for 7.1 ms a 1080p frame instead of 5.4.
#: Reading keeps swscale's fast path: its exact one (FULL_CHR_H_INT | ACCURATE_RND) would give back
#: the level of luma the fast one loses on average, but costs 8 ms more a 1080p frame and blurs the
#: chroma of files whose chroma is sited left (x264's), 47.5 dB.
WRITE_EXACT = int(av.video.reformatter.Interpolation.BICUBIC) | int(av.video.reformatter.Interpolation.ACCURATE_RND)
KEPT_TAGS = {"creation_time", "date", "title", "comment", "description", "artist", "author", "copyright", "make",
             "model", "album", "genre", "keywords"}  # (and location*, com.apple.quicktime.*)
#: containers whose seeks land at or before the frame asked for, with frames carrying the index's times
TRUSTED_SEEK = {"mov", "matroska"}
#: containers whose demuxer hands over a packet the file ends inside without marking it corrupt
UNMARKED_TAILS = {"mpegts", "mpeg"}
TAIL_REFERENCES = 2  # frames shown after the gap of a file cut before its last B-frames (``_time_gap``)
TAIL_GAP_FRAMES = 8  # ... and the most B-frames it may be cut before (x264 makes 3 at most by default, 16 at all)
GAP_FRAMES = 2.5  # a gap in an MPEG stream's frame times this many frames long is frames lost (``_time_gap``)
TAIL_GOP_BYTES = 64 << 20  # the most of the last GOP's packets kept to check a tail there (``_tail_torn``)
#: AVI video whose packets' times, FFmpeg's guesses from each frame's type (``_guesses``), place a frame the
#: decoder refuses mid-read (measured on MPEG-4 Part 2: a B-frame refers to no B-frame, and one whose reference
#: is lost is dropped; packed B-frames, as DivX writes them, come out in another order than those times and
#: are read as before)
PLACED_AVI_CODECS = {"mpeg4"}
#: the most frames decoded ahead to check the frames lost to a refusal in an AVI (``_vouch_ahead``)
PEEK_FRAMES = 16
SEEK_TRIES, SEEK_BACK = 5, 16  # a checked seek's tries, and how far back (frames) the second one starts
CHECK_PACKETS = 48
HEAD_PACKETS = 600  # the most of a file's first packets decoded to find frames it starts without (``_lost_head``)
MP4_SUFFIXES = {".mp4", ".m4v", ".mov"}  # names an export may have
#: the most damaged stretches a reader keeps (``VideoReader.damages``); past them its reads look for no more
MAX_DAMAGES = 16
#: OpenCV's rotation by 1, 2, 3 quarter turns counter-clockwise (np.rot90's k)
ROTATE_CCW = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "webvtt", "text"}  # turned into mp4's mov_text
#: the style header the mov_text encoder wants (its packets are written as they are)
MOV_TEXT_HEADER = (b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
                   b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
                   b"Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
                   b"Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
                   b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
                   b"[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
REMUX_CODECS = {"h264", "hevc"}  # video copied into an mp4 as it is when nothing changes  # packets demuxed from the start to check an MP4's sample tables (and its last GOP)


class Damage(NamedTuple):
    """A damaged stretch of a video found by a ``VideoReader`` (at open, or by a read since)."""

    first: int  # the frame found damaged (the first one that shows it)
    end: int  # the keyframe after it (the file's frame count where the keyframes are not indexed)
    notice: str  # what was said for it (the reader's ``notice`` when it was found)


class VideoReader:
    """A video file opened for streamed, frame-accurate reading.

    The constructor demuxes (does not decode) the video stream once to index the
    presentation timestamps, so ``len()`` is exact and ``reader[i]`` can seek.
    Rotation metadata is applied: frames come out as they are meant to be displayed.
    """

    def __init__(self, path, progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None):
        self.path = Path(path).expanduser()
        #: called as ``on_damage(reader, damage)`` on the reading thread when a read finds a damaged
        #: stretch not found before (a ``Damage``); ``reopen`` gives its cursors the same
        self.on_damage: Optional[Callable[["VideoReader", Damage], None]] = None
        self._damages: list[Damage] = []  # the damaged stretches found, in the order found (``damages``)
        if not self.path.exists():
            raise VideoError(f"Video {self.path} does not exist; check the path.")
        if self.path.is_dir():
            raise VideoError(f"{self.path} is a folder; open it as a frame folder or pick a video file.")
        # (Matroska's and MPEG-TS's demuxers say in libav's log alone where they met bytes they cannot read:
        # ``_index_timestamps``)
        head = _head(self.path)
        logged = head.startswith(EBML_ID) or _mpeg_stream(self.path, head) == TS_KIND
        self._log_key = _file_key(self.path) if logged else None
        self._log_known = _LOGGED.get(self._log_key) if logged else None  # (this file's log read before)
        with _demuxer_log(logged and self._log_known is None) as self._errors:
            try:
                self._container = av.open(str(self.path))
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                _refuse_cut(self.path)
                raise VideoError(
                    f"Cannot open {self.path} as a video ({short(exc)}); is it a complete video file?"
                ) from None
            if not self._container.streams.video:
                self._container.close()
                _refuse_cut(self.path, self._container)
                raise VideoError(f"{self.path} has no video stream; pick a video file.")
            self._stream = self._container.streams.video[0]
            self.has_audio = bool(self._container.streams.audio)
            #: a sentence for the user when the file is cut off or damaged (None: it reads whole)
            self.notice: Optional[str] = None
            try:
                self._index_timestamps(progress, cancel)
            except BaseException:
                self._container.close()
                raise
        self._decoder: Optional[Iterator] = None
        self._next = 0  # index of the frame the running decoder yields next
        self._held = None  # a frame the decoder gave early, a lost one's stand-in, kept for its own place (``_take``)
        self._synced = False  # the running decoder has given a frame with the index's time for it
        self._shown = None  # the last frame the running decoder gave (or skipped to reach the one asked for)
        self._refused = False  # the decoder refused a packet (``_decode_packets``): frames lost show the one before
        self._from_start = False  # the running decoder started at frame 0, its frames so far each with its time
        self._ahead = collections.deque()  # frames the running decoder gave that are still to be taken (AVI)
        self._refusals = self._vouched_for = 0  # packets refused, and up to which the frames after were checked
        self._refused_times, self._swap = [], {}  # (AVI: the times of the packets refused, those exchanged)
        self._pts_trusted = True  # a checked seek found frames with the index's times (``_seek_checked``)
        #: how the source's YUV maps to RGB (matrix, range) and what its colours mean (primaries,
        #: transfer): ``VideoWriter(colour=)`` writes the same, so untouched pixels stay as they were
        self.colour: Optional[Colour] = None
        # Deeper than 8 bits: frames go through 16-bit RGB and are rounded to 8 (swscale's direct
        # 10-bit -> rgb24 path truncates: 1.8 levels darker in red, 0.9 in blue)
        self._wide = self.bit_depth > 8
        try:
            first = self[0]
        except VideoError:
            self.close()
            if self._cut or self._count == 1:  # (the file holds a part of its first frame, or of its first few)
                _refuse_cut(self.path)
            raise
        self.height, self.width = first.shape[:2]
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        self.fps = float(rate) if rate else DEFAULT_FPS
        self.rate = Fraction(rate).limit_denominator(100000) if rate else Fraction(DEFAULT_FPS)

    def _index_timestamps(self, progress: Optional[ProgressFn], cancel: Optional[CancelToken]) -> None:
        # An hour of 25 fps video is 90,000 packets (a few seconds): report and honour cancel.
        clock = ProgressClock(progress, self._estimated_frames(), "index")
        if cancel is not None:
            cancel.check()
        pts = self._sample_table_pts()
        if pts is not None:  # an MP4 / MOV: its sample tables instead of reading the whole file
            self._seekable, self._pts, self._count = True, sorted(pts), len(pts)
            self._pts_index = {}  # (seeks in MP4 / MOV are not checked against it)
            # (the sync samples' frames, by the frames shown before each as below: damage is placed per GOP)
            self._keys = sorted((bisect.bisect_left(self._pts, t), t) for t in self._table_keys)
            self._torn = self._damaged = self._guesses = None
            self._cut = False
            self._damages = []
            clock.total = self._count
            clock.report(self._count)
            return
        pts = []
        keys = []  # (frames before it in decode order, timestamp) of each keyframe packet
        hidden = 0
        broken = False
        last_corrupt = False  # the last packet read short: the file ends inside it
        damaged = None  # the first frame whose packet is marked corrupt mid-file (a transport-stream error)
        # Where the run of packets marked corrupt that the last packets are in began (None: the last
        # is whole). A run the file goes on after is damage; one it ends in is the cut of a file cut
        # off: a program stream marks every frame of the PES the cut falls in, and hands its torn
        # last one over unmarked (``ended``: a run with one packet after it, damage once another comes)
        run = ended = None
        # the packets from the last keyframe on, where the demuxer does not mark a torn one (``_tail_torn``)
        tail = self._container.format.name in UNMARKED_TAILS
        gop, before, gop_bytes = None, [], 0  # (and the GOP before: an open GOP's first B-frames need it)
        # the packets up to the second keyframe where the file may start inside a GOP (``_lost_head``; an
        # AVI's B-frames have no times to tell)
        head = [] if self._container.format.name != "avi" else None
        errors, seen = self._errors, len(self._errors)
        opened = _errors_in(errors)  # (logged while the file was opened: where, its frame times tell)
        skipped = None  # the frames indexed when the demuxer logged an error (Matroska's: ``_demuxer_log``)
        order = [] if self._container.format.name == "mpegts" else None  # (each frame's dts: the log names them)
        # (an AVI's packets as (time, dts) in the file's order: ``_guesses``; and the frames its index lists, read
        # at open: the demuxer adds those it reads)
        guesses = [] if self._container.format.name == "avi" and \
            getattr(self._stream.codec_context, "name", None) in PLACED_AVI_CODECS else None
        listed = sum(e.size > 0 for e in self._stream.index_entries) if guesses is not None else 0
        try:
            for packet in self._container.demux(self._stream):
                if len(errors) > seen:  # (logged while this packet was read)
                    if skipped is None and _errors_in(errors[seen:]):
                        skipped = len(pts)
                    seen = len(errors)
                if packet.size == 0 or packet.is_discard:  # (decoded for the frames after it, never shown:
                    hidden += packet.size > 0                 # before the edit list's start, a cut file's head)
                    continue
                if packet.is_keyframe:
                    keys.append((len(pts), packet.pts if packet.pts is not None else packet.dts))
                    before, gop = gop or [], ([] if tail else None)
                    gop_bytes = sum(p.size for p in before)
                if head is not None and len(keys) <= 1 and len(head) == len(pts) and len(head) < HEAD_PACKETS:
                    head.append(packet)
                    if len(head) == 2 and head[0].is_keyframe and None not in (head[0].pts, packet.pts) \
                            and packet.pts > head[0].pts:
                        head = None  # (it starts with its keyframe, shown first: nothing lost)
                if gop is not None:
                    gop.append(packet)
                    gop_bytes += packet.size
                    if gop_bytes > TAIL_GOP_BYTES:  # (GOPs too long to keep: not checked)
                        gop = None
                if ended is not None and damaged is None:
                    damaged = ended
                ended = None
                if packet.is_corrupt:
                    run = len(pts) if run is None else run
                elif run is not None:
                    if tail:
                        ended = run
                    elif damaged is None:
                        damaged = run
                    run = None
                pts.append(packet.pts if packet.pts is not None else packet.dts)
                if order is not None:
                    order.append(packet.dts)
                if guesses is not None:
                    guesses.append((pts[-1], packet.dts))
                last_corrupt = packet.is_corrupt
                if len(pts) % INDEX_REPORT_EVERY == 0:
                    if cancel is not None:
                        cancel.check()
                    clock.report(min(len(pts), clock.total) if clock.total else len(pts))
        except av.error.FFmpegError:
            broken = True  # a truncated tail: keep what was indexed; decoding will tell if frames are missing
        if self._log_known is not None:
            opened, skipped, corrupt = self._log_known
        else:
            corrupt = _corrupt_dts(errors, self._stream.index)
            if self._log_key is not None:
                _remember_log(self._log_key, (opened, skipped, corrupt))
        # A Matroska demuxer that meets bytes it cannot read (overwritten) logs an error and goes on from the
        # next cluster it finds: the frames in between are lost, none marked, the index without them (and
        # frames after that refer to them decoded from what is there). Logged before the last frame, or in
        # a file none of which is missing, that is damage; at the end of a shorter one, a cut (told below).
        if damaged is None and (skipped is not None and skipped < len(pts) or
                                opened and pts and _matroska_whole(self.path)):
            gap = _time_gap(pts)
            damaged = skipped if skipped is not None and not opened else gap[0] if gap else 0
        # A transport stream's demuxer logs a video packet that lost some of its 188-byte packets ("Packet
        # corrupt", a warning) and marks it, but the parser that cuts the stream into frames can drop the
        # mark: a PES header overwritten joins its frame to the one before, lost, and the frames that refer
        # to it are decoded wrong, none of them marked. Logged for a frame that others follow, that is
        # damage (a file cut off has its last frame logged).
        bad = corrupt if order else []
        last = max((t for t in order if t is not None), default=None) if bad else None
        if damaged is None and last is not None and (early := [t for t in bad if t < last]):
            damaged = sum(t is not None and t < min(early) for t in order)
        # A file cut inside a frame's packet: the demuxer hands over the part there is, marked corrupt,
        # which the decoder refuses ("Invalid data"); that frame is not in the video (a corrupt packet
        # mid-file, say a transport-stream error, is decoded as it is: the decoder conceals what it can)
        # (a transport stream hands it over unmarked: decoding the last GOP tells)
        lost = _lost_head(self._stream.codec_context, head) if head and len(keys) > 1 else []
        if lost:  # (the file starts inside a GOP: the frames there whose references are not in it)
            hidden += len(lost)
            for k in reversed(lost):
                del pts[k]
            keys = [(k - sum(j < k for j in lost), t) for k, t in keys]
            damaged = None if damaged is None else max(0, damaged - len(lost))
            run = None if run is None else max(0, run - len(lost))
            ended = None if ended is None else max(0, ended - len(lost))
        torn, bad = self._tail_torn(before, gop) if not (last_corrupt or broken) and gop is not None else (False, None)
        if bad is not None:  # (damaged in its last GOPs: the torn frames there are the damage's, not a cut's)
            damaged = min(damaged if damaged is not None else len(pts), sum(t is not None and t < bad for t in pts))
            ended = run = None
        last_corrupt = last_corrupt or torn or (bad is None and not broken and pts and
                                                self._container.format.name == "mpeg" and
                                                _ps_ends_inside_video(self.path))
        self._torn = pts.pop() if last_corrupt else None
        if last_corrupt and keys and keys[-1][0] == len(pts):
            keys.pop()
        # (a transport stream cut inside its 188-byte packets: the demuxer drops the part there is, and
        # with it a frame whose packet was all in it, without a word; an AVI cut between two frames)
        cut = last_corrupt or ended is not None or run is not None or _ts_cut_off(self._container, self.path) or (
            self._container.format.name == "avi" and _riff_cut_off(self.path))
        if cut and self._container.format.name == "avi":
            # An AVI keeps no presentation times: FFmpeg puts a P-frame after the B-frames that follow it
            # in the file. Cut before all of them, it is put too early, in a lost B-frame's place; it is
            # decoded (the B-frames there are refer to it) but not counted.
            k = _early_reference(pts + ([self._torn] if self._torn is not None else []))
            if k is not None and k < len(pts):
                del pts[k]
                if keys and keys[-1][0] == k:
                    keys.pop()
        gap = _time_gap(pts) if self._container.format.name in UNMARKED_TAILS else None
        if gap is not None and gap[1]:  # (the last frames decoded shown after a gap: cut before the B-frames
            cut = True                  # shown before them, which come after them in the file)
        elif gap is not None and damaged is None:  # (packets lost mid-file: no frame counted for them, none marked
            damaged = gap[0]                       # corrupt)
        if not pts:
            self._container.close()
            _refuse_cut(self.path, self._container)
            raise VideoError(f"{self.path} contains no video frames: it is cut off before the first (an interrupted "
                             f"download or copy?); copy or download it again.")
        # An MP4 / MOV says how many frames it has: fewer to be found means the file was cut off
        declared = int(self._stream.frames or 0) if self._container.format.name.startswith("mov") else 0
        if declared > len(pts) + hidden:
            self.notice = (f"{self.path.name} ends early: {len(pts)} of its {declared} frames can be read (an "
                           f"interrupted download or copy?); the export has the {len(pts)} there are.")
        elif (lacking := self._lacking_seconds(pts)) is not None and _matroska_whole(self.path):
            self.notice = (f"{self.path.name} is damaged near frame {len(pts)}: its frames stop at {lacking[0]:.1f} s of "
                           f"its {lacking[1]:.1f} s though none of the file is missing (bytes overwritten there?); the "
                           f"export has the {len(pts)} there are; copy it again from the original, or re-export or "
                           f"repair it.")
        elif lacking is not None:
            self.notice = (f"{self.path.name} ends early: {len(pts)} frames, {lacking[0]:.1f} s of its {lacking[1]:.1f} "
                           f"s, can be read (an interrupted download or copy?); the export has the {len(pts)} there "
                           f"are.")
        elif damaged is not None:
            self.notice = (f"{self.path.name} is damaged near frame {damaged}: frames from there may show blocks or "
                           f"be missing (the file's {len(pts)} are read and exported); re-export or repair it if "
                           f"that matters.")
        elif cut:
            self.notice = (f"{self.path.name} is cut off (an interrupted download or copy?); the export has the {len(pts)} whole frame{'s' * (len(pts) != 1)} before the cut; copy or "
                           f"download it again for the rest.")
        elif broken:
            self.notice = (f"{self.path.name} cannot be read past frame {len(pts)} (it is cut off or damaged there); "
                           f"the export has the {len(pts)} frames before it; copy it again from the original for "
                           f"the rest.")
        self._damaged = damaged
        self._cut = cut or broken
        self._seekable = all(p is not None for p in pts)
        self._pts = sorted(pts) if self._seekable else []
        self._pts_index = {p: i for i, p in enumerate(self._pts)}
        # (by the frames shown before each: an open GOP's first B-frames, decoded after its keyframe, are
        # shown before it and need the GOP before)
        self._keys = sorted((self._pts_index[t], t) for _, t in keys if t in self._pts_index) \
            if self._seekable and all(t is not None for _, t in keys) else []
        self._count = len(pts)
        self._damages = [Damage(damaged, self._gop(damaged)[1], self.notice)] if damaged is not None else []
        # An AVI keeps no frame times: FFmpeg guesses each packet's from its frame type as its parser reads it
        # (a B-frame is shown at its place in the file, a reference where the next reference is), and the decoder
        # gives each frame with its packet's. Where each time is one packet's, and the demuxer found every frame
        # the file's index lists (one lost, bytes overwritten over its header, is no frame in the index's count:
        # the frames after it are read a place early, which a read at random does not know), a frame the decoder
        # refuses can be placed by them (``_placed``).
        at = {t: k for k, (t, _) in enumerate(guesses or ())}
        self._guesses = guesses if guesses and None not in at and len(at) == len(guesses) == listed else None
        self._guess_at = at if self._guesses is not None else {}  # (each time's packet in ``_guesses``)
        self._reorders = any(t != dts for t, dts in self._guesses or ())  # (B-frames: times not the file's order)
        clock.total = self._count
        clock.report(self._count)
        self._rewind()

    def _lacking_seconds(self, pts: list) -> Optional[tuple[float, float]]:
        """(seconds read, seconds said) where the video stream's own DURATION tag (Matroska / WebM
        as FFmpeg and mkvmerge write them) says it lasts more than a frame and a half longer than
        the frames found: the file was cut off (or damaged, the demuxer finding no more past it)."""
        said = _tag_seconds(self._stream.metadata.get("DURATION"))
        tb = self._stream.time_base
        if said is None or not tb or len(pts) < 2 or any(p is None for p in pts):
            return None
        first, last = min(pts), max(pts)
        frame = (last - first) / (len(pts) - 1)
        read = float((last - (self._stream.start_time or 0) + frame) * tb)
        return (read, said) if read < said - 1.5 * float(frame * tb) else None

    def _tail_torn(self, before: list, gop: list) -> tuple[bool, Optional[int]]:
        """An MPEG transport or program stream cut inside its last video packet: its demuxer hands
        over the part there is unmarked (MP4, Matroska and AVI mark it corrupt), and the decoder
        makes a frame of it, half grey or smeared. Decodes the last GOP's packets ``gop`` after those
        of the one ``before`` (kept by the index pass: a seek here lands off the index's times) on a
        decoder of its own. (torn, damaged): torn where the frame of the last packet comes out marked
        corrupt, or not at all once the GOP's keyframe has; damaged, the time of the first frame
        before it that comes out corrupt (or whose packet the decoder refuses): bytes were overwritten
        there (a bad sector, a broken copy), and the last frame is torn by that, not by a cut (torn
        is False then)."""
        stamp = lambda p: p.pts if p.pts is not None else p.dts  # noqa: E731
        last, key = stamp(gop[-1]), stamp(gop[0])
        src = self._stream.codec_context
        if last is None or src is None or not src.name:
            return False, None
        # (an open GOP's first B-frames, shown before its keyframe, lack the GOP before ``before``)
        first = stamp(before[0]) if before and stamp(before[0]) is not None else key
        keyed, bad = False, None
        try:
            ctx = av.CodecContext.create(src.name, "r")
            if src.extradata:
                ctx.extradata = src.extradata
        except (av.error.FFmpegError, ValueError):
            return False, None
        for packet in [*before, *gop, None]:
            try:
                frames = ctx.decode(packet)
            except (av.error.FFmpegError, ValueError):
                if packet is None or packet is gop[-1]:  # (refused: as good as a frame marked corrupt)
                    break
                t = stamp(packet)
                bad = t if bad is None and t is not None and t >= first else bad
                continue
            for frame in frames:
                keyed = keyed or frame.pts == key
                if frame.pts == last:
                    return (bool(frame.is_corrupt), None) if bad is None else (False, bad)
                if frame.is_corrupt and bad is None and frame.pts is not None and frame.pts >= first:
                    bad = frame.pts
        return (keyed, None) if bad is None else (False, bad)

    def _sample_table_pts(self) -> Optional[list[int]]:
        """The packets' timestamps from an MP4 / MOV's sample tables (``mp4index.video_tables``: the
        moov box only; a 10 GB camera file is indexed in milliseconds instead of being read
        through), checked against the first packets and those of the last GOP as the demuxer
        gives them; None (demux it all) where it is no such file or anything differs."""
        self._table_keys = []  # the keyframes' timestamps (the sync samples shown), where the tables say them
        if "mp4" not in (self._container.format.name or "") or len(self._container.streams.video) != 1:
            return None
        pts, sync = video_tables(self.path)  # (both from one read of the moov box)
        s = self._stream
        if not pts or (s.frames and s.frames != len(pts)):
            return None
        # each packet as (timestamp, discarded): a sample before the edit's start (pts < 0 once
        # shifted, say the frames from the keyframe to the cut of a file cut without re-encoding)
        # is decoded for the ones after it but never shown, so it is no frame of the video
        said = [(p, p < 0, False) for p in pts]
        # (and a packet read short, the file cut inside it, differs from its table entry: the demux
        # pass leaves that frame out)
        stamp = lambda p: (p.pts if p.pts is not None else p.dts, bool(p.is_discard), bool(p.is_corrupt),  # noqa: E731
                           bool(p.is_keyframe))
        head, tail = [], []
        try:
            for packet in self._container.demux(s):
                if packet.size:
                    head.append(stamp(packet))
                if len(head) == min(CHECK_PACKETS, len(pts)):
                    break
            if [t[:3] for t in head] == said[:len(head)] and len(head) == min(CHECK_PACKETS, len(pts)):
                self._container.seek(max(pts), stream=s, backward=True, any_frame=False)
                tail = [stamp(p) for p in self._container.demux(s) if p.size]
        except av.error.FFmpegError:
            tail = []
        finally:
            self._rewind()  # (the demux pass, if it comes to that, reads from the start)
        if not tail or [t[:3] for t in tail] != said[len(said) - len(tail):]:
            return None
        # the keyframes (``mp4index.video_sync``), where the demuxer flags the packets checked as the
        # tables do (else none, as before they were read: all of the file one stretch of damage)
        keyset = set(sync or ())
        flags = [k in keyset for k in range(len(pts))]
        if sync is not None and [t[3] for t in head + tail] == flags[:len(head)] + flags[len(flags) - len(tail):]:
            self._table_keys = [pts[k] for k in sync if k < len(pts) and pts[k] >= 0]
        return [p for p in pts if p >= 0] or None

    def _rewind(self) -> None:
        """Back to the start of the file; a damaged file that refuses the seek is opened afresh."""
        try:
            self._container.seek(0, stream=self._stream)
            return
        except av.error.FFmpegError:
            pass
        self._container.close()
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise VideoError(f"Cannot read {self.path} ({short(exc)}); is it a complete video file?") from None
        self._stream = self._container.streams.video[0]

    def _estimated_frames(self) -> int:
        """Frames the container claims (for progress only; the index counts the real ones)."""
        s = self._stream
        if s.frames:
            return int(s.frames)
        rate = s.average_rate or s.guessed_rate
        if s.duration and s.time_base and rate:
            return max(1, int(s.duration * s.time_base * rate))
        return 0

    def __len__(self) -> int:
        return self._count

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def timing(self) -> Optional[FrameTiming]:
        """Each frame's presentation time, from the index; None where packets carry no timestamps."""
        if not self._seekable or len(self._pts) != self._count:
            return None
        return FrameTiming(Fraction(self._stream.time_base), self._pts)

    def frame_times(self) -> list[float]:
        """Each frame's presentation time in seconds on the source's clock (``i / fps`` without timestamps)."""
        timing = self.timing
        return timing.seconds() if timing is not None else [i / self.fps for i in range(self._count)]

    @property
    def variable_rate(self) -> bool:
        """Frame durations vary (phone footage): exports keep each frame's time, not an even rate."""
        timing = self.timing
        return timing is not None and timing.variable

    @property
    def field_order(self) -> Optional[str]:
        """"tff" or "bff" for interlaced video (a camcorder's 1080i), the field shown first; None for
        progressive. The export is coded interlaced alike, or players would not deinterlace it and
        every moving edge would show both fields."""
        order = int(self._stream.codec_context.field_order or 0)
        return {2: "tff", 5: "tff", 3: "bff", 4: "bff"}.get(order)

    @property
    def metadata(self) -> dict:
        """The file's own tags worth keeping in an export: when and where it was shot, its title,
        the camera (``KEPT_TAGS``); not the muxer's (brand, encoder)."""
        return kept_tags(self._container.metadata)

    @property
    def timecode(self) -> Optional[str]:
        """The source's start timecode ("01:00:00:00"; ";" before the frames: drop-frame), as a camera
        or recorder stamps it for syncing several cameras in an editor; None without one. The export
        starts at the same timecode (its first frame is the source's first)."""
        return _timecode_of(self._container)

    @property
    def chapters(self) -> list:
        """The file's chapters (PyAV's dicts: ``start``, ``end`` on ``time_base``, ``metadata``), kept
        in an export."""
        return _chapters_of(self._container)

    @property
    def sample_aspect(self) -> Optional[Fraction]:
        """The shape of a pixel of the frames as read (width / height) where it is not square: an
        anamorphic file (HDV's 1440x1080 shown 16:9, DVD) is written with it too, or it would play
        squeezed; None for square pixels."""
        sar = self._stream.sample_aspect_ratio or self._stream.codec_context.sample_aspect_ratio
        if not sar or sar == 1:
            return None
        rot = int(round(getattr(self, "_rotation", 0) or 0)) % 180
        return Fraction(sar) if rot == 0 else 1 / Fraction(sar)

    @property
    def bit_depth(self) -> int:
        """Bits a sample of the source's pixels: 8, or 10 / 12 (HDR phone video, a camera's log
        footage). Frames are read in 8 bits; an export of deeper video keeps the source's values
        where the frame is unchanged (``VideoWriter(source=)``)."""
        try:  # (no codec context: a stream FFmpeg cannot decode, refused when frame 0 is read)
            fmt = self._stream.codec_context.format
            return max(int(c.bits) for c in fmt.components) if fmt is not None else 8
        except (AttributeError, TypeError, ValueError):
            return 8

    def _to_rgb(self, frame, fmt: str = "rgb24") -> np.ndarray:
        if self.colour is None:  # (the first frame decoded tells how its YUV is to be read)
            self.colour = Colour.of(frame)
        img = frame.to_ndarray(format=fmt)  # (with the frame's own matrix and range)
        # (to the nearest quarter turn: a damaged display matrix can say 45 degrees, which no player shows)
        rot = self._rotation = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4 * 90
        if rot:  # (as np.rot90 by rot // 90 quarter turns, 7x faster on a 4K frame)
            img = cv2.rotate(img, ROTATE_CCW[rot // 90])
        return img

    def _decode_packets(self) -> Iterator:
        """The stream's frames from where the container stands, as ``container.decode`` gives them,
        less the torn last packet of a cut-off file (``_torn``; sent, it stops the decoder with an error
        before the whole frames still in it come out)."""
        torn = self._torn
        unmarked = self._container.format.name in UNMARKED_TAILS  # (``_tail_torn``)
        # A frame the decoder made with errors, concealed, is not given as the file's picture before
        # the damage it shows is said (``_met_damage``: once for each stretch; next to a cut, MPEG-2's
        # decoder marks whole frames too), nor are the B-frames shown before it, which refer to it but
        # come out unmarked: they are held until the next frame that is no B-frame comes out.
        check = not self._cut and len(self._damages) < MAX_DAMAGES
        held = []
        for packet in self._container.demux(self._stream):
            if torn is not None and packet.size and (packet.is_corrupt or unmarked) and (
                    packet.pts if packet.pts is not None else packet.dts) == torn:
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                yield from held  # (decoded before the packet refused: whole)
                held.clear()
                if not self._conceals:
                    raise
                # (its frame, and any the decoder drops for it, are lost: ``_take`` shows the one before; with
                # frame threads, a packet's refusal may be told for a later one, or at the end, the flush)
                self._refused = True
                self._refusals += 1
                self._refused_times.append(packet.pts if packet.pts is not None else packet.dts)
                continue
            for frame in frames:
                if not check:
                    yield frame
                    continue
                if frame.is_corrupt:  # (said before the first picture it spoils is given, then as players show it)
                    self._met_damage(self._index_of((held or [frame])[0]), self._index_of(frame))
                    check = len(self._damages) < MAX_DAMAGES
                    yield from held
                    held.clear()
                    yield frame
                    continue
                if frame.pict_type == PictureType.B:
                    held.append(frame)
                    continue
                yield from held
                held.clear()
                yield frame
        yield from held

    @property
    def _conceals(self) -> bool:
        """Whether a packet the decoder refuses mid-file is gone past (its frame shown as the one before,
        ``_take``) rather than stopping the read: where every frame comes out with the index's time and a
        seek lands on the keyframe asked for (MP4 / MOV, Matroska), so a frame lost is known by its time,
        in order and at random alike; and in an AVI whose times are each one packet's (``_guesses``), a
        read in order from frame 0 whose frames have all come out with their times so far (a seek there
        lands by counting frames, which a frame lost would shift: a read at random stops as before), where
        ``_vouch_ahead`` places the frames lost for sure."""
        if not (self._seekable and len(self._pts) == self._count):
            return False
        return self._container.format.name.split(",")[0] in TRUSTED_SEEK or \
            self._guesses is not None and self._from_start

    def _met_damage(self, index: int, at: int, lost: Optional[int] = None) -> None:
        """A frame decoded with errors (concealed), frame ``at``, the first it spoils frame ``index``
        (a B-frame shown before it). Where no damage found before spoils their GOPs or one next to
        them (``_joins``), a stretch of its own, to the keyframe after ``at``: said now in the notice
        (the command line and the export summary show it), the log and ``on_damage``; else the
        stretch found before reaches over it (and over another it now reaches: one stretch). Its
        frames are read and exported as players show them: refusing them stopped the export of a
        whole recording (a TV capture, a camera's dropped packets) for a glitch it already had.
        ``lost``: frames ``index`` to ``lost`` could not be decoded at all (their packets refused) and
        show frame ``index - 1`` (``_take``), as players hold the last picture."""
        gop = self._gop(index)[0], self._gop(at)[1]
        joined = [k for k, damage in enumerate(self._damages) if self._joins(gop, damage)]
        if joined:  # (one stretch: what it joins, the first found standing for the stretches it joins up)
            first = self._damages[joined[0]]
            self._damages[joined[0]] = first._replace(first=min(index, *(self._damages[k].first for k in joined)),
                                                      end=max(gop[1], *(self._damages[k].end for k in joined)))
            for k in reversed(joined[1:]):
                del self._damages[k]
            return
        if len(self._damages) >= MAX_DAMAGES:
            return
        if self._damaged is None:
            self._damaged = index
        if lost is not None:
            frames = f"frame {index} could not be decoded and shows" if lost == index else \
                f"frames {index}-{lost} could not be decoded and show"
            self.notice = (f"{self.path.name} is damaged near frame {index}: {frames} frame {index - 1} (as players "
                           f"hold the last picture), and frames from there to the next keyframe may show blocks (they "
                           f"are read and exported so); copy it again from the original, or re-export or repair it, "
                           f"if that matters.")
        else:
            self.notice = (f"{self.path.name} is damaged near frame {index}: its picture data there is broken, and "
                           f"frames from there to the next keyframe show it as players do (they are read and "
                           f"exported as they are); copy it again from the original, or re-export or repair it, if "
                           f"that matters.")
        damage = Damage(index, gop[1], self.notice)
        self._damages.append(damage)
        log.info("%s", self.notice)  # (the user reads it in the summary: inpaint's warnings)
        if self.on_damage is not None:
            try:
                self.on_damage(self, damage)
            except Exception:  # noqa: BLE001 - who listens must not stop the read
                log.exception("on_damage failed for %s", self.path)

    def _gop(self, index: int) -> tuple[int, int]:
        """The keyframes (by the frames shown before each) at or before frame ``index`` and after it:
        its GOP, (0, the frame count) where the keyframes are not indexed (``keyframes``)."""
        after = bisect.bisect_right(self._keys, (index, float("inf")))
        return (self._keys[after - 1][0] if after else 0), (self._keys[after][0] if after < len(self._keys)
                                                             else self._count)

    def _joins(self, gop: tuple[int, int], damage: Damage) -> bool:
        """Whether a frame of ``gop`` found damaged is of the stretch ``damage``: in its GOPs or in a GOP
        next to them (a run of damaged GOPs is one stretch; and damage found at open is placed by its
        packets' order, which a B-frame shown before the packet's frame can put in the GOP before)."""
        return gop[0] <= damage.end and self._gop(damage.first)[0] <= gop[1]

    @property
    def keyframes(self) -> tuple[int, ...]:
        """The frames each GOP starts at (its keyframe, by the frames shown before it: an open GOP's
        B-frames shown before their keyframe are the GOP before's), ascending; () where they are not
        indexed (frames without times, an MP4 whose sync-sample table cannot be read as FFmpeg does)."""
        return tuple(k for k, _ in self._keys)

    @property
    def damages(self) -> tuple[Damage, ...]:
        """The damaged stretches found so far (at open, and by reads since), in the order found: each
        once, however often its frames are read, up to ``MAX_DAMAGES`` (reads look for no more then)."""
        return tuple(self._damages)

    def damaged_span(self) -> Optional[tuple[int, int]]:
        """The frames the latest damage this reader has found spoils, as its notice says them: ``(first,
        end)``, from the frame found damaged (at open, or by a read since) to the keyframe after it (the
        end of the file where the keyframes are not indexed, ``keyframes``); None where none was found.
        Two cursors on a file (``reopen``) that met the same damage give spans that overlap; all the
        stretches found are ``damages``."""
        if not self._damages:
            return None
        return self._damages[-1].first, self._damages[-1].end

    def _index_of(self, frame) -> int:
        """The index of a decoded frame by its time (the frame being read where it has none)."""
        if frame.pts is None or not self._pts:
            return self._next
        return min(bisect.bisect_left(self._pts, frame.pts), self._count - 1)

    def _decode_from(self, index: int) -> Iterator:
        """Decoder positioned so that its first yielded frame is ``index``."""
        if index > 0 and self._seekable:
            if self._container.format.name.split(",")[0] in TRUSTED_SEEK:
                yield from self._seek_plain(index)
                return
            landed = self._seek_checked(index) if self._pts_trusted else None
            if landed is None:
                landed = self._seek_counted(index)
            if landed is not None:
                yield from landed
                return
        # from the start, counting frames: exact whatever the timestamps say
        self._container.seek(0, stream=self._stream)
        skip = index
        for frame in self._decode_packets():
            if skip:
                skip -= 1
                self._shown = frame
                continue
            yield frame

    def _seek_plain(self, index: int) -> Iterator:
        """MP4 / MOV / Matroska: a seek lands on the keyframe at or before the frame's time, and frames
        come out with their own times."""
        target = self._pts[index]
        # (to the keyframe shown at or before it, where known: MP4's index is searched by decode time, so a
        # seek to the time of an open GOP's B-frame shown before its keyframe landed on that keyframe, and
        # the B-frame, which needs the GOP before, was never decoded: the keyframe was given in its place)
        k = bisect.bisect_right(self._keys, (index, float("inf"))) - 1
        self._container.seek(self._keys[k][1] if k >= 0 else target, stream=self._stream, backward=True,
                             any_frame=False)
        frames = self._decode_packets()
        for frame in frames:
            if frame.pts is not None and frame.pts < target:
                if self._shown is None or self._shown.pts is None or frame.pts > self._shown.pts:
                    self._shown = frame  # (the one shown before it: what a frame lost there shows, ``_take``)
                continue
            yield frame
            break
        yield from frames

    def _seek_counted(self, index: int) -> Optional[Iterator]:
        """Frames whose times are not the index's (an AVI with B-frames): seek to the last keyframe
        shown at or before ``index`` and count frames from it (an open GOP's B-frames shown before its
        keyframe are not decoded after a seek to it: frames of the GOP before, reached from its own
        keyframe). The first frame out must be that keyframe, with its packet's time; else an earlier
        keyframe, and after three None (count from the start)."""
        k = bisect.bisect_right(self._keys, (index, float("inf"))) - 1
        for key in range(k, max(k - 3, 0), -1):
            before, ts = self._keys[key]
            self._container.seek(ts, stream=self._stream, backward=True, any_frame=False)
            frames = self._decode_packets()
            first = next(frames, None)
            if first is None or not first.key_frame or first.pts != ts:
                continue
            frame = first
            for _ in range(index - before):
                frame = next(frames, None)
                if frame is None:
                    return None
            return _chain(frame, frames)
        return None

    def _seek_checked(self, index: int) -> Optional[Iterator]:
        """Other containers (MPEG-TS / M2TS, MPEG-PS, AVI, FLV, ...): a seek may land after the frame
        (the next keyframe), and the frames' times may not be the index's (AVI with B-frames). Seek,
        take the first keyframe decoded, and walk on to ``index`` checking that every frame's time is
        the next one of the index; landing too late, seek earlier. Frames positioned at ``index``, or
        None when the times cannot be trusted (then this read and later ones count frames from a
        keyframe, ``_seek_counted``)."""
        back = 0
        for _ in range(SEEK_TRIES):
            start = index - back
            if start <= 0:
                return None
            self._container.seek(self._pts[start], stream=self._stream, backward=True, any_frame=False)
            frames = self._decode_packets()
            first = next((f for f in frames if f.key_frame), None)
            j = self._pts_index.get(first.pts) if first is not None and first.pts is not None else None
            if first is not None and j is None:
                self._pts_trusted = False
                return None
            if first is None or j > index:  # past the end, or after the frame: seek earlier
                back = max(4 * back, 2 * SEEK_BACK)
                continue
            frame = first
            while j < index:
                frame = next(frames, None)
                j += 1
                if frame is None or frame.pts != self._pts[j]:
                    self._pts_trusted = False
                    return None
            return _chain(frame, frames)
        return None

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as RGB uint8 (H, W, 3)."""
        frame = self._frame(index)
        return _narrow(self._to_rgb(frame, "rgb48le")) if self._wide else self._to_rgb(frame)

    def read_deep(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` as ``read`` gives it and as RGB uint16 (H, W, 3), full scale 65535: the
        source's values beyond 8 bits, for the writer."""
        wide = self._to_rgb(self._frame(index), "rgb48le")
        return _narrow(wide), wide

    def _frame(self, index: int):
        """The decoded frame ``index`` (an ``av.VideoFrame``)."""
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"frame {index} is outside 0..{self._count - 1}")
        if self._decoder is not None and self._next < index and self._decodes_on(index):
            # Decoding forward is cheaper than seeking back to a keyframe for short jumps, and for any
            # jump with no keyframe between (the engine reads reference frames every few frames).
            try:
                while self._next < index:
                    self._take(self._next)
                    self._next += 1
            except (StopIteration, av.error.FFmpegError, VideoError):
                self._decoder = None
        if self._decoder is None or index != self._next:
            self._start(index)
        try:
            frame = self._take(index)
        except _NothingShown:  # (a read at random that starts where frames were lost: from the frame before)
            frame = self._shown_from_before(index)
        except StopIteration:
            self._decoder = None
            raise VideoError(self._lost(index)) from None
        except av.error.FFmpegError:
            self._decoder = None
            # (FFmpeg's reason says nothing more: "Invalid data found when processing input", and PyAV adds the
            # name of the function that failed)
            raise VideoError(self._undecodable(index)) from None
        self._next = index + 1
        return frame

    def _start(self, index: int) -> None:
        """A decoder whose first frame given is ``index`` (``_decode_from``)."""
        self._decoder = self._decode_from(index)
        self._next, self._held, self._synced, self._shown = index, None, False, None
        self._from_start, self._vouched_for = index == 0, self._refusals
        self._ahead, self._refused_times, self._swap = collections.deque(), [], {}

    def _undecodable(self, index: int) -> str:
        """What to say where the read stops at frame ``index``: a packet the decoder refuses there."""
        return (f"{self.path} is damaged near frame {index} (its picture data there cannot be decoded); copy it again "
                f"from the original, or re-export or repair it.")

    def _shown_from_before(self, index: int):
        """Frame ``index``, lost (its packet refused), where the running decoder gave no frame before it
        (it started at a keyframe whose own frame, and those after it up to ``index``, are lost): a decoder
        started further back, from the frame before that keyframe's GOP (where the keyframes are not
        known, 1, 2, 4, ... frames back), until one gives a frame before ``index``; it goes on from there,
        so the frame shown is the one a read in order gives."""
        key = self._gop(index)[0]
        back = index - key + 1 if key else 1
        while True:
            start = max(index - back, 0)
            if index == 0 or start == 0 and back > index:  # (nothing before it: the file's first frames are lost)
                self._decoder = None
                raise VideoError(f"{self.path} is damaged at its start: its first frame{'s' * (index > 0)} cannot be "
                                 f"decoded; copy it again from the original, or re-export or repair it.")
            self._start(start)
            try:
                self._take(start)
                break
            except _NothingShown:
                back *= 2
            except (StopIteration, av.error.FFmpegError):
                self._decoder = None
                raise VideoError(self._lost(index)) from None
        try:
            for self._next in range(start + 1, index):
                self._take(self._next)
            return self._take(index)
        except (StopIteration, av.error.FFmpegError, _NothingShown):
            self._decoder = None
            raise VideoError(self._lost(index)) from None

    def _decodes_on(self, index: int) -> bool:
        """Whether frame ``index``, further on than the running decoder stands, is reached by decoding on
        rather than by a seek. Keyframes known: where none lies between (in a GOP of any length: a seek
        would decode from one before where it stands), or the one it starts from lies no more than
        ``SEEK_SAVES`` frames on; further, where a seek lands on that keyframe (MP4 / MOV, Matroska),
        a seek, else (its seeks are checked, slower) decoding on up to ``FORWARD_SKIP`` frames, as
        without keyframes."""
        if self._keys and self._gop(index)[0] <= self._next + SEEK_SAVES:
            return True
        if self._keys and self._container.format.name.split(",")[0] in TRUSTED_SEEK:
            return False
        return index <= self._next + FORWARD_SKIP

    def _take(self, index: int):
        """The next frame of the running decoder, which stands at ``index``. Where frames carry the index's
        times, one whose time is a later frame's tells that frame ``index`` was lost (its packet damaged,
        dropped by the decoder): counted on, every frame after it would be read in the place of the one
        before. A file the notice calls damaged has the frame after it given in its place (as players
        hold a picture over a lost one) and kept for its own place; any other file stops with a
        VideoError saying where. (A decoder's first frames may come out with times off, a file that
        starts inside an open GOP: nothing is judged until one has come out with its own.) Once the
        decoder has refused a packet, ``_take_concealed``."""
        frame, self._held = self._held, None
        if frame is None:
            try:
                frame = self._next_frame()  # (which may meet a packet the decoder refuses)
            except StopIteration:
                if not (self._refused and self._conceals):
                    raise
                if self._shown is None:
                    raise _NothingShown from None
        if self._refused and self._conceals:
            return self._take_concealed(index, frame)
        if self._from_start and self._guesses is not None and frame.pts != self._pts[index]:
            self._from_start = False  # (an AVI whose frames' times are not the index's: counted on, as before)
        self._shown = frame
        if not (self._seekable and self._pts_trusted and self._container.format.name != "avi"
                and frame.pts is not None and len(self._pts) == self._count):
            return frame  # (AVI: FFmpeg guesses the times of B-frames; ``_seek_counted`` counts them)
        at = self._pts_index.get(frame.pts)
        if at == index:
            self._synced = True
        if at is None or at <= index or not self._synced:
            return frame
        if self._damaged is None:
            raise VideoError(self._lost(index))
        self._held = frame
        return frame

    def _next_frame(self):
        """The running decoder's next frame: one decoded ahead first (``_vouch_ahead``)."""
        return self._ahead.popleft() if self._ahead else next(self._decoder)

    def _take_concealed(self, index: int, frame):
        """``_take`` once the decoder has refused a packet (``_conceals``): frames lost to it (none comes out
        with their times) each show the one before, as players hold the last picture, said once for the
        stretch before any is given; frames the decoder gives late, after later ones, are passed over
        (their places were given already). ``frame``: the decoder's next (None: it has no more). In an AVI
        (times guessed, ``_guesses``) no frame is given after a refusal, nor in a frame's place lost,
        before ``_vouch_ahead`` has checked the frames ahead; a frame late stops the read too."""
        target = self._pts[index]
        guessed = self._container.format.name.split(",")[0] not in TRUSTED_SEEK
        if guessed and (self._vouched_for != self._refusals or frame is None or frame.pts != target):
            self._vouch_ahead(index, frame)
        try:
            while frame is not None and frame.pts is not None and frame.pts < target:
                if guessed:
                    raise self._unplaced(index)
                frame = self._next_frame()
        except StopIteration:
            if self._shown is None:
                raise _NothingShown from None
            frame = None  # (lost to the end of the file)
        if frame is None or (frame.pts is not None and frame.pts > target):
            self._held = frame
            shown = self._shown.pts if self._shown is not None and self._shown.pts is not None else None
            first = index if shown is None else min(index, bisect.bisect_right(self._pts, shown))
            lost = self._count - 1 if frame is None else bisect.bisect_left(self._pts, frame.pts) - 1
            self._met_damage(first, index, lost=lost)
            if self._shown is None:
                raise _NothingShown
            return self._shown
        self._shown = frame
        return frame

    def _unplaced(self, index: int) -> VideoError:
        """The stop where frame ``index`` of an AVI cannot be placed for sure (``_take_concealed``)."""
        self._decoder = None
        return VideoError(self._undecodable(index))

    def _vouch_ahead(self, index: int, frame) -> None:
        """AVI, a refusal since the last check or a frame lost at ``index`` (``frame``: the decoder's next, None
        where it has no more): the frames after it are decoded up to the second that is no B-frame since the
        last refusal (kept to be given next), and they must fit the frames' times (``_fits``): as the parser
        guessed them, else with the last refused packet's type the other one (``_misread``); else the read
        stops here."""
        window, refs, refusals = [], 0, self._refusals
        last = frame
        while last is not None and refs < 2 and len(window) < PEEK_FRAMES:
            window.append(last)
            refs = 0 if self._refusals != refusals else refs + (last.pict_type != PictureType.B)
            refusals = self._refusals
            if refs < 2:
                try:
                    last = self._next_frame()
                except StopIteration:
                    last = None
        self._ahead.extendleft(reversed(window[1:]))
        if last is not None and refs < 2:
            raise self._unplaced(index)
        if not self._fits(index, window, last is None, self._swap):
            refused, reference = self._misread() or (None, None)
            moved = [f for f in window if refused is not None and f.pts == reference]
            for f in moved:
                f.pts = refused
            trial = {**self._swap, refused: reference, reference: refused}
            if not moved or not self._fits(index, window, last is None, trial):
                for f in moved:
                    f.pts = reference
                raise self._unplaced(index)
            self._swap = trial
        self._vouched_for = self._refusals

    def _fits(self, index: int, window: list, ended: bool, swap: dict) -> bool:
        """AVI: whether the frames ``window`` decoded from frame ``index`` on (``ended``: the last ones) fit the
        packets' times (``_guesses``, those in ``swap`` exchanged): their times rise from frame ``index``'s,
        and each frame lost before the last of them is placed for sure (``_placed``)."""
        times = [f.pts for f in window]
        if None in times or any(a >= b for a, b in zip(times, times[1:])) or (times and times[0] < self._pts[index]):
            return False
        end = self._count if ended else bisect.bisect_left(self._pts, times[-1])
        shown = self._shown.pts if self._shown is not None and self._shown.pts is not None else None
        start = index if shown is None else min(index, bisect.bisect_right(self._pts, shown))  # (lost before it too)
        given = set(times)
        runs = [list(g) for lost, g in itertools.groupby(range(start, end), lambda i: self._pts[i] not in given)
                if lost]
        return all(self._placed({self._pts[i] for i in run}, swap) for run in runs)

    def _misread(self) -> Optional[tuple[int, int]]:
        """AVI: the last packet the decoder refused as the other type than its time says: a B-frame read as a
        reference is shown at its own place, and the reference before it where the refused packet's time says
        (the next reference's place); a reference read as a B-frame the other way round: the two exchange
        their times. (its time, the reference's), None where there is no such pair (or it was exchanged)."""
        order = self._guesses
        k = self._guess_at.get(self._refused_times[-1]) if self._refused_times else None
        before = next((j for j in range(k - 1, -1, -1) if order[j][0] != order[j][1]), None) if k else None
        if before is None or {order[k][0], order[before][0]} & set(self._swap):
            return None
        return order[k][0], order[before][0]

    def _placed(self, run: set, swap: dict) -> bool:
        """AVI: whether the frames with the times ``run``, lost, are for sure the frames of one packet the
        decoder refused (the packets' times as ``_guesses`` has them, those in ``swap`` exchanged). A packet
        whose time says a B-frame (its time its place in the file) loses its own frame; one whose time says a
        reference (the next reference's place) its own and those of the B-frames after it up to the next
        reference, which the decoder drops (they refer to it). That type is what FFmpeg's parser read in the
        packet's header, which may be what was overwritten: where the decoder's frames say otherwise (lost
        frames that are not those; frames coming out of order) they do not fit. In a stream with B-frames, a
        packet right before a reference (or the last) is not placed: a B-frame shown before the reference
        before it or a reference shown after it, the file cannot tell which."""
        order = self._guesses
        time = lambda j: swap.get(order[j][0], order[j][0])  # noqa: E731
        bframe = lambda j: time(j) == order[j][1]  # noqa: E731
        for k in sorted(self._guess_at[swap.get(t, t)] for t in run if swap.get(t, t) in self._guess_at):
            end = k + 1
            if not bframe(k):  # (a reference: the B-frames after it are lost with it)
                while end < len(order) and end - k <= len(run) and bframe(end):
                    end += 1
            if {time(j) for j in range(k, end)} == run:
                return not self._reorders or k + 1 < len(order) and bframe(k + 1)
        return False

    def _lost(self, index: int) -> str:
        """What to say where frame ``index`` cannot be decoded though the index counted it."""
        if self._damaged is None and self._cut:
            return (f"{self.path} is cut off: frame {index} of the {self._count} counted cannot be decoded"
                    f"{_before(index)}; copy or download it again for the rest.")
        near = max((d.first for d in self._damages if d.first <= index), default=self._damaged)
        near = index if near is None else near
        return (f"{self.path} is damaged near frame {near}: frame {index} of {self._count} cannot be decoded"
                f"{_before(index)}; copy it again from the original, or re-export or repair it.")

    __getitem__ = read

    def iter_frames(self, start: int = 0, end: Optional[int] = None) -> Iterator[np.ndarray]:
        end = self._count if end is None else min(end, self._count)
        for i in range(start, end):
            yield self.read(i)

    def __iter__(self):
        return self.iter_frames()

    def reopen(self, sequential: bool = False) -> "VideoReader":
        """A second, independent cursor on the same file (for another thread).

        It shares this reader's index, so it costs an ``av.open``, not another demux pass.
        ``sequential``: the cursor will read frames in order (the engine's main pass), so the decoder
        works on several frames at once on FFmpeg's threads (frame threading: H.264 files have one
        slice a frame, so FFmpeg's default slice threading decodes on one core). Not for random
        access: after a seek such a decoder takes a few frames more to deliver the first one.
        """
        other = object.__new__(VideoReader)
        other.__dict__.update(self.__dict__)
        try:
            other._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise VideoError(f"Cannot reopen {self.path} ({short(exc)}); was it moved or deleted?") from None
        other._stream = other._container.streams.video[0]
        if sequential and self._guesses is None:
            # (an AVI placed by its guessed times keeps one thread: frame threads tell a packet's refusal for a
            # later one, after frames whose times it puts in doubt are given; ``_vouch_ahead``)
            other._stream.thread_type = "AUTO"
        other._decoder, other._next, other._held, other._synced, other._shown = None, 0, None, False, None
        other._ahead = collections.deque()
        other._damages = list(self._damages)  # (what it finds from now on is its own)
        return other

    def close(self) -> None:
        self._decoder = None
        with contextlib.suppress(Exception):
            self._container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _refuse_cut(path: Path, container=None) -> None:
    """VideoError where no frame of ``path`` can be read because the file is cut off: an MP4 / MOV cut
    before the end of its index (FFmpeg says "Invalid data", or finds no streams), or an MPEG program
    or transport stream that breaks off before its first whole video frame (FFmpeg cannot open it,
    finds no video stream, or none of its frames). ``container``: the file as opened, if it was."""
    if index_cut_off(path):
        raise VideoError(f"{path} is truncated: cut off before the end of its index (the moov box MP4 and MOV "
                         f"files need to be read at all), so no frame can be found: copy or download it again; a "
                         f"recording stopped by a crash can only be rebuilt by a repair tool such as untrunc.")
    kind = "an AVI file" if _riff_cut_off(path) else _mpeg_stream(path)
    if kind is None or (container is not None and not container.streams.video and (
            container.streams.audio if kind.endswith("transport stream") else
            kind.endswith("program stream") and not _ps_lists_video(path))):
        return  # (not such a file, or one of sound only)
    raise VideoError(f"{path} is not a complete video: {kind} cut off before its first whole frame "
                     f"({path.stat().st_size} bytes; an interrupted download or copy?); copy or download it again.")


#: the first bytes of an MPEG program stream (a pack header) and a transport stream's packet sizes
PS_PACK, TS_SYNC, TS_SIZES = b"\x00\x00\x01\xba", 0x47, (188, 192, 204)
TS_SUFFIXES = {".ts", ".m2ts", ".mts"}
TS_KIND = "an MPEG transport stream"
HEAD_BYTES = 4096  # read of a file to tell an MPEG program / transport stream and its system header


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def _mpeg_stream(path: Path, head: Optional[bytes] = None) -> Optional[str]:
    """"an MPEG program stream" or "an MPEG transport stream" where ``path`` begins as one does (.mpg,
    .vob; .ts, .m2ts, .mts: a sync byte every 188, 192 or 204 bytes); else None. (``head``: its first
    bytes, read already.)"""
    head = _head(path) if head is None else head
    if head.startswith(PS_PACK):
        return "an MPEG program stream"
    for size in TS_SIZES:
        syncs = head[4 if size == 192 else 0::size]  # (M2TS: a 4-byte time code before each packet)
        if all(b == TS_SYNC for b in syncs) and (len(syncs) > 1 or path.suffix.lower() in TS_SUFFIXES):
            return TS_KIND
    return None


TAIL_BYTES = 1 << 20  # the end of a program stream read to find the packet it ends inside (``_ps_ends_inside_video``)


def _ps_ends_inside_video(path: Path) -> bool:
    """An MPEG program stream that ends inside a video packet (a PES of stream 0xE0-0xEF): the frame
    there is torn, though the decoder may show it without a word (a cut at a slice's edge). Walks the
    packs and packets from the last pack header in the file's last MB by their lengths; False where
    the file ends where one does, or the layout is not the one expected."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read()
    except OSError:
        return False
    start = data.rfind(PS_PACK)
    for _ in range(3):  # (a pack header's four bytes in a packet's data, say sound's: the one before it)
        if start < 0:
            return False
        torn = _ps_walk(data, start)
        if torn is not None:
            return 0xE0 <= torn <= 0xEF
        start = data.rfind(PS_PACK, 0, start)
    return False


def _ps_walk(data: bytes, pos: int) -> Optional[int]:
    """From a pack header at ``pos`` of ``data`` (a program stream's end), step over packs and packets
    by their lengths: the id of the one ``data`` ends inside (0xBA: a pack header), 0 where it ends
    where one does, None where something other than a start code is found where one should be."""
    end = len(data)
    while pos < end:
        if data[pos:pos + 3] != b"\x00\x00\x01"[:end - pos]:
            return None
        if pos + 4 > end:
            return 0xBA  # (inside a start code: no packet's data lost)
        code = data[pos + 3]
        if code == 0xB9:  # the program's end
            pos += 4
        elif code == 0xBA:
            if pos + 5 > end:
                return 0xBA
            size = 14 if data[pos + 4] >> 6 == 1 else 12  # (MPEG-2's pack header, or MPEG-1's)
            if pos + size > end:
                return 0xBA
            pos += size + (data[pos + 13] & 7 if size == 14 else 0)
        elif code >= 0xBB:
            if pos + 6 > end:
                return code
            pos += 6 + int.from_bytes(data[pos + 4:pos + 6], "big")
            if pos > end:
                return code
        else:
            return None
    return 0


#: a Matroska / WebM file's first element (the EBML header) and its Segment, which holds the rest
EBML_ID, SEGMENT_ID = b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"

_LOG_LOCK = threading.Lock()
_log_watchers = 0  # the ``_demuxer_log`` blocks running, on all threads
_log_before = (None, True)  # PyAV's log level and skipping of repeats before the first of them
#: what FFmpeg logs of a packet marked corrupt (a transport stream's that lost some of its 188-byte packets)
CORRUPT_LOG = re.compile(r"Packet corrupt \(stream = (\d+), dts = (-?\d+)\)")


@contextlib.contextmanager
def _demuxer_log(on: bool = True) -> Iterator[list]:
    """A list that fills, while the block runs, with what libav logs on this thread at WARNING or
    above (as ``(level, name, message)``; only where ``on``, else it stays empty). Matroska's demuxer
    says only there that it met bytes it cannot read (overwritten: "Invalid track number", "Element
    ... exceeds containing master element", errors) and skipped to the next cluster, a transport
    stream's which packets were corrupt where the parser after it drops the mark (``CORRUPT_LOG``).
    PyAV passes libav's log on only where a level is set: WARNING is set for the time, with every
    repeat kept (the same damaged file opened twice logs the same line), and what was set before is
    put back when the last block ends."""
    global _log_watchers, _log_before
    if not on:
        yield []
        return
    with _LOG_LOCK:
        if not _log_watchers:
            _log_before = (av.logging.get_level(), av.logging.get_skip_repeated())
            if _log_before[0] is None:
                av.logging.set_level(av.logging.WARNING)
            av.logging.set_skip_repeated(False)
        _log_watchers += 1
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        with _LOG_LOCK:
            _log_watchers -= 1
            if not _log_watchers:
                av.logging.set_level(_log_before[0])
                av.logging.set_skip_repeated(_log_before[1])


#: what the log said of the files opened last (``_file_key``: (errors on opening, frames indexed at the
#: first error while indexing, packets logged corrupt)): the same file opened again (the engine's
#: reader, the next inpaint) is not logged again. PyAV's log callback, set while ``_demuxer_log`` runs,
#: takes the GIL for what any thread's decoder logs, and a decoder freed with the GIL held (a Python
#: object's end) waits for its frame threads: one of them logging then would hang both. Once per file
#: keeps that window to the first open.
_LOGGED: dict = {}
_LOGGED_MAX = 64


def _file_key(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino


def _remember_log(key, facts: tuple) -> None:
    with _LOG_LOCK:
        _LOGGED.pop(key, None)
        _LOGGED[key] = facts
        while len(_LOGGED) > _LOGGED_MAX:
            del _LOGGED[next(iter(_LOGGED))]


def _errors_in(logs: list) -> int:
    """How many of ``logs`` (``_demuxer_log``) are errors."""
    return sum(level <= av.logging.ERROR for level, _, _ in logs)


def _corrupt_dts(logs: list, stream: int) -> list[int]:
    """The decoding times of the packets of stream ``stream`` that ``logs`` (``_demuxer_log``) say are
    corrupt."""
    return [int(m[2]) for _, _, text in logs if (m := CORRUPT_LOG.search(text)) and int(m[1]) == stream]


def _ebml_size(data: bytes, pos: int) -> Optional[tuple[int, int]]:
    """(value, length) of the EBML variable-size integer at ``pos`` (None: unknown, all ones, or cut)."""
    if pos >= len(data) or not data[pos]:
        return None
    n = 9 - data[pos].bit_length()
    if pos + n > len(data):
        return None
    value = int.from_bytes(data[pos:pos + n], "big") & ((1 << (7 * n)) - 1)
    return (value, n) if value != (1 << (7 * n)) - 1 else None


def _matroska_whole(path: Path) -> bool:
    """A Matroska / WebM file at least as long as its Segment says (muxers that can seek back write
    its size when done): none of it is missing, so frames that stop early were lost to damage."""
    head = _head(path)
    if not head.startswith(EBML_ID) or (ebml := _ebml_size(head, 4)) is None:
        return False
    at = 4 + ebml[1] + ebml[0]
    if head[at:at + 4] != SEGMENT_ID or (seg := _ebml_size(head, at + 4)) is None:
        return False
    try:
        return at + 4 + seg[1] + seg[0] <= path.stat().st_size
    except OSError:
        return False


def _riff_cut_off(path: Path) -> bool:
    """An AVI file shorter than its RIFF header says (the size of its first RIFF chunk, all of a file
    under 1 GB): cut off."""
    head = _head(path)[:12]
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return False
    try:
        return int.from_bytes(head[4:8], "little") + 8 > path.stat().st_size
    except OSError:
        return False


def _ps_lists_video(path: Path) -> bool:
    """An MPEG program stream's system header (in its first pack) lists a video stream, or the file
    ends before there is one to tell (it is read where FFmpeg found no video stream)."""
    head = _head(path)
    at = head.find(b"\x00\x00\x01\xbb")
    length = int.from_bytes(head[at + 4:at + 6], "big") if 0 <= at <= len(head) - 6 else None
    if length is None or at + 6 + length > len(head):
        return True
    return any(0xE0 <= b <= 0xEF for b in head[at + 12:at + 6 + length:3])  # (6 bytes of fields, then 3 a stream)


def _ts_cut_off(container, path: Path) -> bool:
    """A transport stream whose size is no whole number of its packets: cut off inside one (its
    demuxer drops the part there is, and a frame that was all in it, unmarked)."""
    if container.format.name != "mpegts":
        return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return all(size % n for n in TS_SIZES)


def _early_reference(order: list) -> Optional[int]:
    """Where, in ``order`` (a cut file's frame times in decode order), the last frame that others refer
    to (one shown after every frame decoded before it) is followed by fewer B-frames (shown before it)
    than another such frame is: FFmpeg may have guessed its time too early (with no other to go by
    but the first frame, which none precede: where it is followed by any). None: no B-frames, or all
    of its B-frames are there."""
    top = last = None
    runs, run = [], 0
    for i, t in enumerate(order):
        if t is None:
            return None
        if top is not None and t < top:
            run += 1
            continue
        if last:  # (not the first frame's)
            runs.append(run)
        top, last, run = t, i, 0
    return last if last and (run < max(runs) if runs else run > 0) else None


def _lost_head(src, head: list) -> list[int]:
    """Which of a file's first packets ``head`` (up to its second keyframe) give no frame: those before
    its first keyframe, and the B-frames after that keyframe shown before it, where the file starts
    inside a GOP (a recording joined late, a file cut at its start): the frames they refer to are not
    in the file, and the decoder drops them, so counting them put every frame after in the next one's
    place. Empty where a decoder of their own gives a frame for every other number of them."""
    stamp = lambda p: p.pts if p.pts is not None else p.dts  # noqa: E731
    first = next((k for k, p in enumerate(head) if p.is_keyframe), None)
    if first is None or stamp(head[first]) is None:
        return []
    key = stamp(head[first])
    lost = list(range(first))
    for k in range(first + 1, len(head)):  # (the run of them right after it)
        t = stamp(head[k])
        if t is None or t >= key or head[k].is_keyframe:
            break
        lost.append(k)
    if not lost or src is None or not src.name:
        return []
    try:
        ctx = av.CodecContext.create(src.name, "r")
        if src.extradata:
            ctx.extradata = src.extradata
        out = 0
        for p in [*head, None]:
            try:
                out += len(ctx.decode(p))
            except (av.error.FFmpegError, ValueError):
                pass  # (a torn packet before the keyframe, refused)
    except (av.error.FFmpegError, ValueError):
        return []
    return lost if out == len(head) - len(lost) else []


def _time_gap(pts: list) -> Optional[tuple[int, bool]]:
    """(the first frame after it, at the end) for the first gap in an MPEG stream's frame times (``pts``
    in decode order) of ``GAP_FRAMES`` frames or more; None where the times run evenly (a film's
    pulldown varies a frame's time by half a frame at most). Mid-file, the frames of the gap were lost
    to damage (their packets' bytes overwritten; the demuxer skips to the next it can find), and the
    frames after it that refer to them are decoded from what is there, wrong and unmarked. At the end
    (the frames after it are the last ones in the file, ``TAIL_REFERENCES`` at most, and the gap is
    ``TAIL_GAP_FRAMES`` at most), the file was cut before the B-frames shown before its last
    reference frame."""
    known = [t for t in pts if t is not None]
    times = sorted(known)
    steps = [b - a for a, b in zip(times, times[1:]) if b > a]
    if len(steps) < 4:
        return None
    usual = sorted(steps)[len(steps) // 2]
    k = next((k + 1 for k, (a, b) in enumerate(zip(times, times[1:])) if b - a >= GAP_FRAMES * usual), None)
    if k is None:
        return None
    return k, (len(times) - k <= TAIL_REFERENCES and times[k] - times[k - 1] <= TAIL_GAP_FRAMES * usual
               and sorted(known[k - len(times):]) == times[k:])


def _before(index: int) -> str:
    """", frames 0 to 6 can": the frames that read before frame ``index``, which cannot."""
    return "" if index == 0 else ", frame 0 can" if index == 1 else f", frames 0 to {index - 1} can"


class _NothingShown(Exception):
    """A frame lost where the running decoder has given none before it to show in its place."""


def _chain(frame, frames) -> Iterator:
    """``frame``, then the rest of ``frames``."""
    yield frame
    yield from frames


def _narrow(wide: np.ndarray) -> np.ndarray:
    """16-bit RGB rounded to 8 bits (x / 257, to the nearest)."""
    return cv2.convertScaleAbs(wide, alpha=1 / 257)


def _tag_seconds(text: Optional[str]) -> Optional[float]:
    """Seconds of a Matroska DURATION tag ("00:01:02.500000000"); None where there is none."""
    parts = (text or "").split(":")
    try:
        return float(parts[0]) * 3600 + float(parts[1]) * 60 + float(parts[2]) if len(parts) == 3 else None
    except ValueError:
        return None


class FrameFolderReader:
    """A folder of frame images (sorted by name) read like a video; ``fps`` is given, default 25."""

    has_audio = False
    timing: Optional[FrameTiming] = None  # a constant rate: frame i at i / fps
    variable_rate = False
    colour: Optional["Colour"] = None  # RGB images: the writer's default (BT.601 matrix, limited range, untagged)
    sample_aspect: Optional[Fraction] = None  # square pixels
    metadata: dict = {}  # images carry no file tags worth keeping
    field_order: Optional[str] = None  # progressive

    def __init__(self, path, fps: float = DEFAULT_FPS):
        self.path = Path(path).expanduser()
        self.files = image_files(self.path)
        videos = video_files(self.path)
        if videos:  # (a user's footage folder, maybe with a thumbnail or two: not frames of one video)
            names = ", ".join(p.name for p in videos[:3]) + (", ..." if len(videos) > 3 else "")
            raise VideoError(f"Folder {self.path} holds videos ({names}), so it is no frame folder"
                             + (f" (its {len(self.files)} images are left aside)" if self.files else "")
                             + "; give one of the videos, or a folder of frame images only.")
        if not self.files:
            raise VideoError(f"Folder {self.path} has no frame images (png, jpg, ...); pick a video or a frame folder.")
        self.notice: Optional[str] = _frame_gap(self.path, self.files)
        self.fps = float(fps)
        self.rate = Fraction(self.fps).limit_denominator(100000)
        first = self.read(0)
        self.height, self.width = first.shape[:2]

    def __len__(self) -> int:
        return len(self.files)

    def frame_times(self) -> list[float]:
        return [i / self.fps for i in range(len(self.files))]

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def read(self, index: int) -> np.ndarray:
        path = self.files[index]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise VideoError(f"Cannot read frame image {path} ({short(exc)}); replace or remove it.") from None
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise VideoError(f"Cannot read frame image {path}; replace or remove it.")
        if _jpeg_cut_off(data):  # (OpenCV decodes the part there is and greys the rest)
            raise VideoError(f"Frame image {path} is cut off (an interrupted copy?); replace or remove it.")
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if index and img.shape[:2] != (self.height, self.width):
            raise VideoError(
                f"Frame {path.name} is {img.shape[1]}x{img.shape[0]}, unlike the first frame "
                f"({self.width}x{self.height}); all frames in a folder must have one size."
            )
        return img

    __getitem__ = read

    def iter_frames(self, start: int = 0, end: Optional[int] = None) -> Iterator[np.ndarray]:
        end = len(self) if end is None else min(end, len(self))
        for i in range(start, end):
            yield self.read(i)

    def __iter__(self):
        return self.iter_frames()

    def reopen(self) -> "FrameFolderReader":
        return FrameFolderReader(self.path, fps=self.fps)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def frame_number(path: Path) -> Optional[int]:
    """The frame number in an image's name: its last run of digits (frame_12, img012, 00012)."""
    runs = re.findall(r"\d+", path.stem)
    return int(runs[-1]) if runs else None


def _frame_gap(folder: Path, files: list[Path]) -> Optional[str]:
    """What a frame folder's numbers say is wrong with it, where every name has one: two images for one
    frame are refused (both were read, one after the other, as two frames); numbers that skip some are
    said (a sentence, the reader's notice), as every frame after the gap is read one place early, and
    a numbered mask folder made for the frames there were would be one frame late from there on."""
    numbers = [frame_number(p) for p in files]
    if len(files) < 2 or None in numbers:
        return None
    seen: dict[int, list[str]] = {}
    for p, k in zip(files, numbers):
        seen.setdefault(k, []).append(p.name)
    twice = [(k, names) for k, names in seen.items() if len(names) > 1]
    if twice:
        said = "; ".join(f"{' and '.join(names)} are both frame {k}" for k, names in twice[:2])
        raise VideoError(f"Frame folder {folder} has two images for one frame ({said}{' ...' if len(twice) > 2 else ''})"
                         "; keep one for each frame.")
    missing = [k for k in range(min(seen), max(seen)) if k not in seen]
    if not missing:
        return None
    shown = ", ".join(str(k) for k in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return (f"Frame folder {folder.name} has no image for frame number{'s' * (len(missing) > 1)} {shown} (its files run "
            f"from {files[0].name} to {files[-1].name}): the frames after that are read in the missing ones' places, "
            f"so masks numbered by frame would land on the wrong frames there; add the missing frames if that matters.")


def _jpeg_cut_off(data: bytes) -> bool:
    """A JPEG file that ends inside its image data: no end-of-image marker after its first scan (the
    markers before it are stepped over by their lengths, so an EXIF thumbnail's own end does not count;
    what follows the end, a phone's motion-photo video say, is not looked at)."""
    if data[:2] != b"\xff\xd8":
        return False
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False  # (not the layout expected: left to the decoder)
        marker = data[pos + 1]
        if marker == 0xFF:  # (fill bytes)
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the image data follows, up to FF D9
            return data.find(b"\xff\xd9", pos) < 0
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return True


def open_video(path, fps: float = DEFAULT_FPS, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelToken] = None):
    """A reader for a video file or a folder of frames (``fps`` applies to folders).

    ``progress``/``cancel`` follow the jobs protocol while a video file is indexed.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return FrameFolderReader(path, fps=fps)
    return VideoReader(path, progress=progress, cancel=cancel)


def frame_range(start: int, end: Optional[int], n: int, doing: str = "inpaint") -> int:
    """The end of the frames [start, end) of an ``n``-frame video that a run over --start/--end
    covers (an ``end`` past the video: its end; None: the whole video); a range that holds none of
    its frames raises ``InpaintError`` saying which option to change. ``doing``: what the run does
    to them ("inpaint", "track")."""
    if n and start >= n:
        raise InpaintError(f"--start {start} is past the last frame of this {n}-frame video (frames 0 to {n - 1}); "
                           f"give a --start below {n}.")
    if end is not None and 0 <= start and end <= start:
        raise InpaintError(f"--end {end} is not after --start {start}: --end is the frame after the last to "
                           f"{doing} (--start {start} --end {start + 1} {doing}s frame {start} alone).")
    end = n if end is None else min(end, n)
    if not 0 <= start < end:
        raise InpaintError(f"--start {start} / --end {end} select no frames of this {n}-frame video.")
    return end


@dataclass(frozen=True)
class Colour:
    """A video's colour description, FFmpeg's codes: the YUV <-> RGB matrix (``colorspace``), the
    range of its values (``color_range``: 1 limited, 2 full), and what the colours mean
    (``color_primaries``, ``color_trc``); 2 / 0 = unspecified.

    The reader turns YUV into RGB with the frame's own matrix and range (a BT.709 phone or camera
    file by BT.709's); the writer must go back the same way, or every untouched pixel of the
    export shifts (BT.601's, the default, on a BT.709 source: PSNR 37.1 / 40.1 / 41.1 dB for Y / U
    / V at crf 18, against 39.6 / 43.5 / 44.5 with its own, ``benchmarks/bench_colour.py``), and
    tag the file alike so that players show it as the source.
    """

    colorspace: int = 2
    color_range: int = 0
    color_primaries: int = 2
    color_trc: int = 2

    @classmethod
    def of(cls, frame) -> "Colour":
        def code(name, default):
            try:
                return int(getattr(frame, name))
            except (AttributeError, TypeError, ValueError):
                return default
        return cls(code("colorspace", 2), code("color_range", 0), code("color_primaries", 2), code("color_trc", 2))

    @property
    def plain(self) -> bool:
        """Nothing said (or only what the writer does anyway): write as before."""
        return self.colorspace in (2, 5, 6) and self.color_range in (0, 1) and \
            self.color_primaries == 2 and self.color_trc == 2


@dataclass(frozen=True)
class FrameTiming:
    """When a source shows each frame: frame ``i`` at ``pts[i] * time_base`` seconds on the source's
    clock, the clock its audio runs on too (so the first frame may be later than 0).

    From the reader's index (sorted presentation timestamps, one a frame). ``VideoWriter(timing=...)``
    writes each frame at its source time, which keeps variable-frame-rate footage (phones) in sync
    with its sound.
    """

    time_base: Fraction
    pts: Sequence[int]

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def start(self) -> Fraction:
        """The first frame's time (seconds, exact)."""
        return self.pts[0] * self.time_base

    def seconds(self) -> list[float]:
        """Each frame's time in seconds on the source's clock."""
        tb = self.time_base
        return [float(p * tb) for p in self.pts]

    @property
    def variable(self) -> bool:
        """Frame durations differ by more than a tick and 1 % (variable frame rate, as phones record)."""
        d = np.diff(np.asarray(self.pts, dtype=np.int64))
        return len(d) > 1 and int(d.max() - d.min()) > max(1, 0.01 * float(np.median(d)))

    def on_grid(self, rate: Fraction, start: Fraction) -> bool:
        """Whether frame ``i`` is at ``start + i / rate`` to within a tick for every frame: then a
        constant-rate stream starting at ``start`` puts every frame where the source has it."""
        tb = float(self.time_base)
        t = np.asarray(self.pts, dtype=np.float64) * tb
        grid = float(start) + np.arange(len(t)) / float(rate)
        return bool(np.all(np.abs(t - grid) <= tb * 1.001 + 1e-9))


class VideoWriter:
    """H.264 mp4 writer (HEVC for 10-bit): frames in, an atomically renamed file out, audio carried over.

    ``write(frame)`` takes RGB uint8 (H, W, 3) of the size given at construction. Odd
    sizes are padded by one edge pixel (yuv420p needs even sizes). ``crf`` is x264's
    quality (0 lossless .. 51 worst; 18 looks untouched). ``audio_from``: a media file
    whose audio streams are copied (or re-encoded to AAC where mp4 cannot hold them).
    ``timing``: the source's frame times (``reader.timing``): frame ``i`` is written at the source's
    frame ``i`` time, so a variable-frame-rate source keeps its timing and its sync with the audio;
    a source on an even grid at ``fps`` (or no ``timing``) is written at ``i / fps`` as always.
    ``colour``: the source's (``reader.colour``): RGB goes back to YUV with its matrix and range and
    the file is tagged with it, so that pixels left alone come out as they went in.
    ``sample_aspect``: the source's non-square pixel shape (``reader.sample_aspect``), kept.
    ``metadata``: the source's file tags to keep (``reader.metadata``: when and where it was shot,
    its title), so that a gallery still files the export under the day it was filmed.
    ``field_order``: "tff" / "bff" for an interlaced source (``reader.field_order``): coded interlaced.
    ``timecode``: the source's start timecode (``reader.timecode``), written as the mp4's timecode
    track; ``chapters``: the source's (``reader.chapters``), kept on the source's clock.
    ``subtitles_from``: a file whose text subtitle tracks are kept, as mp4 timed text (mov_text).
    ``depth``: 8 (H.264, yuv420p) or 10 (HEVC Main 10, tagged ``hvc1`` as Apple's players want it;
    H.264 High 10 where the source is interlaced); default: 10 where the source's ``bit_depth`` is over
    8 (HDR phone video, log footage), else 8. Writing 10 bits from a source ``VideoReader``, the
    writer reads the source's frames beside the ones it is given (frame ``i`` of the source with the
    ``i``-th ``write``): a pixel given as the source's 8-bit value is written with the source's own
    10-bit value, a changed one (the fill) from its 8 bits, so nothing left alone loses depth.
    ``source``: a reader whose ``timing``, ``colour``, ``sample_aspect``, ``metadata``,
    ``field_order``, ``timecode``, ``chapters``, ``bit_depth`` and subtitles are taken for those not
    given: an export that looks like its source.
    Nothing appears at ``path`` unless ``close()`` completes; ``abort()`` or an
    exception inside ``with`` leaves the target untouched.
    """

    def __init__(self, path, width: int, height: int, fps=DEFAULT_FPS, crf: int = 18,
                 preset: str = "medium", audio_from=None, inputs=(), timing: Optional[FrameTiming] = None,
                 colour: Optional[Colour] = None, sample_aspect: Optional[Fraction] = None,
                 metadata: Optional[dict] = None, field_order: Optional[str] = None,
                 timecode: Optional[str] = None, chapters: Optional[list] = None, depth: Optional[int] = None,
                 subtitles_from=None, source=None):
        if depth is None:
            depth = 10 if source is not None and getattr(source, "bit_depth", 8) > 8 else 8
        if depth not in (8, 10):
            raise OutputError(f"Cannot write {depth}-bit video; use 8 or 10.")
        self.depth = depth
        self._deep: Optional[VideoReader] = None  # the source, read again for its 10-bit values
        if source is not None:  # what the source is besides its pixels, unless given one by one
            timing = timing if timing is not None else source.timing
            colour = colour if colour is not None else source.colour
            sample_aspect = sample_aspect if sample_aspect is not None else source.sample_aspect
            metadata = metadata if metadata is not None else source.metadata
            field_order = field_order if field_order is not None else source.field_order
            timecode = timecode if timecode is not None else getattr(source, "timecode", None)
            chapters = chapters if chapters is not None else getattr(source, "chapters", None)
            if subtitles_from is None and isinstance(source, VideoReader):
                subtitles_from = source.path
        self._subtitles_from = Path(subtitles_from) if subtitles_from is not None else None
        if preset not in X264_PRESETS:
            raise OutputError(f"Unknown encoder preset {preset!r}; use one of {', '.join(X264_PRESETS)}.")
        self.path = mp4_output(check_writable(path, inputs=tuple(inputs) + ((audio_from,) if audio_from else ())))
        self.width, self.height = int(width), int(height)
        self.audio_from = Path(audio_from) if audio_from else None
        rate = fps if isinstance(fps, Fraction) else Fraction(float(fps)).limit_denominator(100000)
        self.count = 0
        self._rate = rate
        # Output time = source time - shift, for the audio as for the video: the source's clock from
        # where the earlier stream starts (a .ts file's clock starts anywhere), but the audio's
        # priming (before 0 in an mp4) stays before 0.
        self._shift = Fraction(0)
        self._pts: Optional[list[int]] = None  # frame i's pts on _time_base; None: i on 1 / rate
        self._time_base: Optional[Fraction] = None
        if timing is not None and len(timing):
            audio_start = _audio_start(self.audio_from) if self.audio_from is not None else None
            self._shift = timing.start if audio_start is None else min(timing.start, max(Fraction(0), audio_start))
            if not timing.on_grid(rate, self._shift):
                self._time_base = timing.time_base
                self._pts = _increasing(timing.pts, round(self._shift / timing.time_base))
        self._tmp_video = self._temp("video")
        try:
            self._out = av.open(str(self._tmp_video), "w", format="mp4")
            self._metadata = dict(metadata or {})
            self._out.metadata.update(self._metadata)
            self._timecode = timecode or None
            self._chapters = _shifted_chapters(chapters or [], self._shift)
            if self._chapters:
                self._out.set_chapters(self._chapters)
            interlaced = field_order in ("tff", "bff")
            codec = "libx265" if depth == 10 and not interlaced else "libx264"
            self._pix_fmt = "yuv420p10le" if depth == 10 else "yuv420p"
            stream = self._out.add_stream(codec, rate=rate)
            if codec == "libx265":
                stream.codec_tag = "hvc1"  # (QuickTime and iPhones play HEVC in mp4 tagged so, not hev1)
            if self._timecode:  # (the mp4 muxer writes it as a timecode track; one it cannot read, it leaves out)
                stream.metadata["timecode"] = self._timecode
            stream.width = self.width + self.width % 2
            stream.height = self.height + self.height % 2
            stream.pix_fmt = self._pix_fmt
            if self._time_base is not None:
                stream.codec_context.time_base = self._time_base
            if sample_aspect:
                stream.codec_context.sample_aspect_ratio = Fraction(sample_aspect)
            self._colour = None if colour is None or colour.plain else colour
            tag_colour(stream, self._colour)
            stream.options = {"crf": str(int(crf)), "preset": preset}
            if codec == "libx265":  # (x265 logs every encode's statistics otherwise)
                stream.options = {**stream.options, "x265-params": "log-level=error"}
            if interlaced:  # interlaced coding, the same field first
                stream.options = {**stream.options, "flags": "+ildct+ilme", "x264-params": f"{field_order}=1"}
            # x264's frame threads (PyAV's default, slice threads, makes every encode call wait for
            # its frame, holding up the thread that feeds the encoder).
            stream.codec_context.thread_type = "FRAME"
            self._stream = stream
            if depth == 10 and isinstance(source, VideoReader) and source.bit_depth > 8:
                self._deep = source.reopen(sequential=True)
        except BaseException as exc:  # (Ctrl-C or kill while starting, too: the temporary file goes)
            self._cleanup()
            if not isinstance(exc, Exception):
                raise
            raise OutputError(f"Cannot start writing {self.path} ({short(exc)}).") from None

    def _temp(self, tag: str) -> Path:
        return make_temp_beside(self.path.with_suffix(".mp4"), tag)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {(self.height, self.width, 3)}, got {frame.dtype} {frame.shape}")
        img, fmt = (self._deepened(frame), "rgb48le") if self.depth == 10 else (frame, "rgb24")
        if self.width % 2 or self.height % 2:
            img = cv2.copyMakeBorder(img, 0, self.height % 2, 0, self.width % 2, cv2.BORDER_REPLICATE)
        vf = yuv_frame(img, fmt, self._pix_fmt, self._colour)
        if self._pts is None:
            vf.pts = self.count
        else:
            vf.pts, vf.time_base = self._frame_pts(self.count), self._time_base
        try:
            for packet in self._stream.encode(vf):
                self._out.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"Writing {self.path} failed ({short(exc)}); is the disk full?") from None
        self.count += 1

    def _deepened(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` in 16 bits: the source's own deeper values where ``frame`` holds the source's
        8-bit pixel, ``frame``'s value elsewhere (or everywhere, without the source's frame)."""
        wide = None
        deep = self._deep
        if deep is not None and self.count < len(deep):
            try:
                narrow, wide = deep.read_deep(self.count)
            except VideoError:  # (a damaged source frame: its 8 bits are what there is)
                deep.close()
                self._deep = wide = None
            else:
                if narrow.shape != frame.shape:
                    wide = None
                else:
                    changed = np.any(frame != narrow, axis=2)
                    wide[changed] = frame[changed].astype(np.uint16) * 257
        return wide if wide is not None else frame.astype(np.uint16) * 257

    def _frame_pts(self, i: int) -> int:
        pts = self._pts
        if i < len(pts):
            return pts[i]
        # More frames than the source had (not in this app's exports): go on at the last frame's pace.
        step = pts[-1] - pts[-2] if len(pts) > 1 else max(1, round(1 / (self._rate * self._time_base)))
        return pts[-1] + (i - len(pts) + 1) * step

    def close(self) -> Path:
        """Finish encoding, mux audio, and move the result to ``path``."""
        if self._deep is not None:
            self._deep.close()
        try:
            for packet in self._stream.encode():
                self._out.mux(packet)
            self._out.close()
            audio = self.audio_from if self.audio_from is not None and _has_audio(self.audio_from) else None
            subtitles = self._subtitles_from if _has_subtitles(self._subtitles_from) else None
            if audio is not None or subtitles is not None:
                final = self._temp("mux")
                try:
                    _mux_audio(self._tmp_video, audio, final, audio_shift=self._shift, metadata=self._metadata,
                               timecode=self._timecode, chapters=self._chapters, subtitles_from=subtitles,
                               container=container_of(self.path))
                except BaseException:
                    final.unlink(missing_ok=True)
                    raise
                self._tmp_video.unlink(missing_ok=True)
                self._tmp_video = final
            os.replace(self._tmp_video, self.path)
        except (av.error.FFmpegError, OSError) as exc:
            self._cleanup()
            raise OutputError(f"Finishing {self.path} failed ({short(exc)}); is the disk full?") from None
        except BaseException:
            self._cleanup()
            raise
        return self.path

    def abort(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self._deep is not None:
            self._deep.close()
        with contextlib.suppress(Exception):
            self._out.close()
        with contextlib.suppress(OSError):
            self._tmp_video.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def container_of(path) -> str:
    """The container an export named ``path`` is written as: QuickTime for .mov, MP4 otherwise."""
    return "mov" if Path(path).suffix.lower() == ".mov" else "mp4"


def mp4_output(path: Path) -> Path:
    """``path``, an export's name: refused unless it ends as an MP4 file does (an export named .mkv
    or .avi held MP4 data that players then misread). What killed exports to it left is deleted."""
    if path.name.lower() in MP4_SUFFIXES:  # (".mp4" alone is a hidden file with no suffix: "end the name with .mp4")
        raise OutputError(f"{path}: give the file a name before {path.name}, e.g. clean{path.name}.")
    if path.suffix.lower() not in MP4_SUFFIXES:
        raise OutputError(f"{path.name}: exports are MP4 or QuickTime files; end the name with .mp4 (or .m4v, or "
                          ".mov to keep PCM sound as it is).")
    remove_orphans(path)
    return path


def tag_colour(stream, colour: Optional[Colour]) -> None:
    """Tag an output video ``stream`` with ``colour`` (None: untagged)."""
    if colour is not None:
        cc = stream.codec_context
        cc.colorspace, cc.color_range = colour.colorspace, colour.color_range
        cc.color_primaries, cc.color_trc = colour.color_primaries, colour.color_trc


def yuv_frame(img: np.ndarray, fmt: str, pix_fmt: str, colour: Optional[Colour]):
    """RGB ``img`` (``fmt``: rgb24 / rgb48le) as an ``av.VideoFrame`` in ``pix_fmt``, back to YUV the
    way the reader came from it (no colour: BT.601, limited range, what the reader assumes where
    nothing is said), tagged alike; primaries and transfer are stream tags (``tag_colour``)."""
    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt)
    c = colour
    vf = vf.reformat(format=pix_fmt, interpolation=WRITE_EXACT,
                     dst_colorspace=c.colorspace if c is not None and c.colorspace != 2 else None,
                     dst_color_range=c.color_range or None if c is not None else None)
    if c is not None:
        vf.colorspace, vf.color_range = c.colorspace, c.color_range
    return vf


def _has_subtitles(path) -> bool:
    if path is None:
        return False
    try:
        with av.open(str(path)) as c:
            return any(_text_subtitle(st) for st in c.streams.subtitles)
    except (av.error.FFmpegError, OSError):
        return False


def _text_subtitle(stream) -> bool:
    """A subtitle track an export keeps: mp4's timed text, or text it can become (``TEXT_SUBTITLES``)."""
    name = stream.codec_context.name if stream.codec_context is not None else None
    return name == "mov_text" or name in TEXT_SUBTITLES


def export_suffix(path) -> str:
    """The suffix an export of ``path`` is offered under: ".mov" when its sound is uncompressed PCM,
    which a QuickTime file keeps as it is and an mp4 only as AAC; ".mp4" otherwise."""
    try:
        with av.open(str(path)) as c:
            codecs = {_audio_codec(a) for a in c.streams.audio}
    except (av.error.FFmpegError, OSError):
        return ".mp4"
    return ".mov" if codecs - MP4_AUDIO_COPY and not codecs - MOV_AUDIO_COPY else ".mp4"


def export_notes(reader, rate: bool = True) -> list[str]:
    """What an export of ``reader``'s video changes besides the frames inpainted, one sentence each,
    for the export dialog and the command line: an odd size padded, colour detail finer than 4:2:0,
    a frame folder's rate (unless ``rate`` is False: the user gave it)."""
    notes = []
    w, h = reader.width, reader.height
    if w % 2 or h % 2:
        notes.append(f"This {w}x{h} video is written as {w + w % 2}x{h + h % 2}, its edge repeated "
                     "(H.264 needs even sizes).")
    if isinstance(reader, FrameFolderReader):
        if rate:
            notes.append(f"A frame folder has no frame rate: it is written at {reader.fps:g} frames/s.")
    elif reader._stream.codec_context.pix_fmt:
        chroma = av.VideoFormat(reader._stream.codec_context.pix_fmt, w, h).components[1:2]
        if chroma and (chroma[0].width * 2 > w + 1 or chroma[0].height * 2 > h + 1):
            notes.append("Its colour detail is finer than the export's (4:2:0): colour edges soften a little.")
    return notes


def _has_audio(path) -> bool:
    try:
        with av.open(str(path)) as c:
            return bool(c.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def _audio_start(path) -> Optional[Fraction]:
    """When the first audio stream of ``path`` starts on its clock (seconds); None without audio."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                return None
            stream = c.streams.audio[0]
            for packet in c.demux(stream):
                if packet.pts is not None and packet.time_base:
                    return packet.pts * Fraction(packet.time_base)
    except (av.error.FFmpegError, OSError):
        pass
    return None


def _increasing(pts: Sequence[int], shift: int) -> list[int]:
    """``pts`` less ``shift``, each at least a tick after the one before (a muxer refuses repeats)."""
    out, prev = [], None
    for p in pts:
        p -= shift
        if prev is not None and p <= prev:
            p = prev + 1
        out.append(p)
        prev = p
    return out


def _packets(container, stream, whole: bool = False):
    """``stream``'s packets with a decode time. ``whole``: a packet with data but no decode time (a
    Matroska file's B-frames: the demuxer leaves them out) raises ValueError, as leaving it out would
    break every frame after it."""
    for packet in container.demux(stream):
        if packet.dts is None:
            if whole and packet.size:
                raise ValueError("its packets carry no decode times")
            continue
        if packet.is_corrupt:  # (a torn last packet of a cut-off file: players stop at it)
            if whole:
                raise ValueError("a packet is damaged")
            continue
        yield packet


def _timecode_of(container) -> Optional[str]:
    """The start timecode of an open input: its video's, a timecode track's, or the file's."""
    video = container.streams.video[:1]
    for stream in (*video, *container.streams.data):
        tc = stream.metadata.get("timecode")
        if tc:
            return tc
    return container.metadata.get("timecode") or None


def _chapters_of(container) -> list:
    try:
        return [c for c in container.chapters() if c.get("time_base") and c.get("end", 0) > c.get("start", 0)]
    except (av.error.FFmpegError, ValueError, TypeError):
        return []


def _shifted_chapters(chapters, seconds: Fraction) -> list:
    """``chapters`` (PyAV's dicts) moved ``seconds`` earlier, numbered from 0; those ending before 0
    left out, one beginning before 0 begins at 0."""
    out = []
    for c in chapters:
        tb = Fraction(c["time_base"])
        d = round(seconds / tb) if seconds else 0
        start, end = max(0, c["start"] - d), c["end"] - d
        if end > start:
            out.append({"id": len(out), "start": start, "end": end, "time_base": tb,
                        "metadata": dict(c.get("metadata") or {})})
    return out


def kept_tags(tags) -> dict:
    """Of a file's tags, those an export keeps (``KEPT_TAGS``, location*, com.apple.quicktime.*)."""
    return {k: v for k, v in dict(tags).items() if k in KEPT_TAGS or k.startswith(("location", "com.apple.quicktime."))}


def remux(input_path, output_path, keep_audio: bool = True) -> Path:
    """Copy a video's streams into an mp4 without re-encoding the picture (atomic).

    Used when there is nothing to inpaint, so the output is bit-exact in its video stream.
    Raises ``OutputError`` when the mp4 container cannot hold the input's video codec.
    """
    output_path = mp4_output(check_writable(output_path, inputs=(input_path,)))
    tmp = make_temp_beside(output_path.with_suffix(".mp4"), "copy")
    try:
        with av.open(str(input_path)) as c:
            tags, timecode, chapters = kept_tags(c.metadata), _timecode_of(c), _chapters_of(c)
            codec = c.streams.video[0].codec_context.name if c.streams.video else None
        if codec not in REMUX_CODECS:  # (MPEG-2, XviD, MJPEG, VP9 in an mp4: many players refuse them)
            raise ValueError(f"{codec} is not a codec players expect in an mp4")
        _mux_audio(Path(input_path), Path(input_path) if keep_audio and _has_audio(input_path) else None, tmp,
                   metadata=tags, timecode=timecode, chapters=chapters, subtitles_from=Path(input_path),
                   container=container_of(output_path))
        os.replace(tmp, output_path)
    except (av.error.FFmpegError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"Cannot copy {input_path} into an mp4 as it is ({short(exc)}).") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return output_path


def _mux_audio(video_path: Path, audio_path: Optional[Path], out_path: Path,
               audio_shift: Fraction = Fraction(0), metadata: Optional[dict] = None,
               timecode: Optional[str] = None, chapters=(), video_packets=None,
               extradata: Optional[bytes] = None, subtitles_from: Optional[Path] = None,
               container: str = "mp4") -> None:
    """Copy the video stream of ``video_path`` and every audio stream of ``audio_path`` into ``out_path``
    (a screen recording's microphone and system sound, a camera's two channels: each its own track,
    in order; re-encoded to AAC where mp4 cannot hold it).

    ``audio_shift``: seconds taken off the audio's timestamps (the writer's shift of the source's clock).
    ``metadata``: file tags for ``out_path`` (``VideoWriter(metadata=)``); ``timecode``, ``chapters``:
    the video's start timecode and the file's chapters (``VideoWriter(timecode=, chapters=)``).
    ``video_packets(container, stream)``: the video packets to write instead of the stream's own (the
    GOP copy's merge, ``app.core.smartrender``), with ``extradata`` for the stream's parameter sets.
    ``subtitles_from``: a file whose text subtitle tracks are kept (``_subtitle_tracks``).
    ``container``: "mp4", or "mov" (``container_of``), which keeps PCM sound as it is.
    """
    with contextlib.ExitStack() as stack:
        vin = stack.enter_context(av.open(str(video_path)))
        out = stack.enter_context(av.open(str(out_path), "w", format=container))
        copyable = MOV_AUDIO_COPY if container == "mov" else MP4_AUDIO_COPY
        out.metadata.update(metadata or {})
        if chapters:
            out.set_chapters(list(chapters))
        v_in = vin.streams.video[0]
        v_out = out.add_stream_from_template(v_in)
        if v_in.codec_context.name == "hevc":  # (hev1 otherwise, which QuickTime and iPhones do not play)
            v_out.codec_tag = "hvc1"
        if timecode:
            v_out.metadata["timecode"] = timecode
        if extradata is not None:
            v_out.codec_context.extradata = extradata
        video = (video_packets or (lambda c, st: _packets(c, st, whole=True)))(vin, v_in)
        tracks = []
        if subtitles_from is not None:
            tracks += _subtitle_tracks(stack, Path(subtitles_from), out, audio_shift)
        if audio_path is None and not tracks:
            for packet in video:
                packet.stream = v_out
                out.mux(packet)
            return
        first = stack.enter_context(av.open(str(audio_path))) if audio_path is not None else None
        for k in range(len(first.streams.audio) if first is not None else 0):
            # a container each, read side by side (the first one's also tells how many there are)
            ain = first if k == 0 else stack.enter_context(av.open(str(audio_path)))
            a_in = ain.streams.audio[k]
            if _audio_codec(a_in) in copyable:
                a_out = out.add_stream_from_template(a_in)
                tracks.append((_shifted(_packets(ain, a_in), audio_shift), a_out))
            else:
                a_out = _aac_like(out, a_in)
                tracks.append((_transcode_audio(ain, a_in, a_out, audio_shift), a_out))
            if a_in.language:
                a_out.metadata["language"] = a_in.language

        def keyed(it, stream_out, order):
            for p in it:
                t = float(p.dts * p.time_base) if p.dts is not None and p.time_base else 0.0
                yield (t, order, p, stream_out)

        merged = heapq.merge(keyed(video, v_out, 0),
                             *(keyed(it, a_out, k + 1) for k, (it, a_out) in enumerate(tracks)),
                             key=lambda item: (item[0], item[1]))
        for _, _, packet, stream_out in merged:
            packet.stream = stream_out
            if stream_out is v_out:
                out.mux(packet)
                continue
            try:
                out.mux(packet)
            except av.error.InvalidDataError:
                pass  # (a damaged sound packet, which ADTS's conversion refuses: left out, a gap players fill)


def _subtitle_tracks(stack, path: Path, out, shift: Fraction) -> list:
    """[(packets, stream)] for each text subtitle track of ``path``, as mp4's timed text (mov_text):
    copied where it is that already, its text taken out of SubRip, ASS / SSA or WebVTT otherwise
    (styling dropped). Picture subtitles (DVD, Blu-ray) are left out."""
    tracks = []
    try:
        first = stack.enter_context(av.open(str(path)))
    except (av.error.FFmpegError, OSError):
        return tracks
    kept = [k for k, st in enumerate(first.streams.subtitles) if _text_subtitle(st)]
    for n, k in enumerate(kept):
        # a container each, read side by side (the first one's, opened to look, serves the first)
        sin = first if n == 0 else stack.enter_context(av.open(str(path)))
        s_in = sin.streams.subtitles[k]
        codec = s_in.codec_context.name
        if codec == "mov_text":
            s_out = out.add_stream_from_template(s_in)
            packets = _shifted(_packets(sin, s_in), shift)
        else:
            s_out = out.add_stream("mov_text")
            s_out.codec_context.subtitle_header = MOV_TEXT_HEADER
            packets = _as_mov_text(_packets(sin, s_in), codec, shift)
        if s_in.language:
            s_out.metadata["language"] = s_in.language
        tracks.append((packets, s_out))
    return tracks


def _subtitle_text(codec: str, payload: bytes) -> str:
    """The plain text of a subtitle packet: SubRip's and WebVTT's tags and ASS's override codes
    dropped, ASS's line breaks kept."""
    text = payload.decode("utf-8", "replace")
    if codec in ("ass", "ssa"):
        text = text.split(",", 8)[8] if text.count(",") >= 8 else text  # (ReadOrder, Layer, Style, ... Text)
        text = re.sub(r"\{[^}]*\}", "", text).replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    else:
        text = re.sub(r"<[^>]*>", "", text)
    return text.strip()


def _as_mov_text(packets, codec: str, shift: Fraction):
    """Text subtitle ``packets`` as mov_text packets (two bytes of length, then UTF-8), ``shift``
    seconds earlier."""
    for p in packets:
        if not p.size or p.pts is None or not p.time_base:
            continue
        text = _subtitle_text(codec, bytes(p)).encode("utf-8")[:65535]
        q = av.Packet(len(text).to_bytes(2, "big") + text)
        tb = Fraction(p.time_base)
        q.time_base = tb
        q.pts = q.dts = p.pts - (round(shift / tb) if shift else 0)
        q.duration = p.duration or round(Fraction(2) / tb)  # (2 s where the source gives no end)
        yield q


def _shifted(packets, seconds: Fraction):
    """``packets`` moved ``seconds`` earlier (on their own time base)."""
    for p in packets:
        if seconds and p.time_base:
            d = round(seconds / Fraction(p.time_base))
            if p.pts is not None:
                p.pts -= d
            p.dts -= d
        yield p


def _audio_codec(stream) -> str:
    """The codec of an audio stream, not its decoder's name (MP3 is decoded by "mp3float")."""
    cc = stream.codec_context
    codec = getattr(cc, "codec", None)
    return getattr(codec, "canonical_name", None) or cc.name


def _aac_like(out, a_in):
    """An AAC stream in ``out`` for ``a_in``'s sound: its rate and all its channels (5.1 stays 5.1;
    a layout without names, an AVI's "2 channels", gets FFmpeg's usual one for its count),
    ``AAC_BITRATE_PER_CHANNEL`` a channel."""
    layout = a_in.codec_context.layout
    channels = layout.nb_channels or 2
    name = layout.name if not layout.name.endswith(" channels") else USUAL_LAYOUTS.get(channels, layout.name)
    a_out = out.add_stream("aac", rate=a_in.codec_context.sample_rate or 44100, layout=name)
    a_out.bit_rate = AAC_BITRATE_PER_CHANNEL * channels
    return a_out


def _transcode_audio(ain, a_in, a_out, shift: Fraction = Fraction(0)):
    """AAC packets of ``a_in``'s sound, with no gaps, starting where the source's first sample is
    (less ``shift`` seconds, the writer's shift of the source's clock)."""
    rate = a_out.codec_context.sample_rate
    at = None  # the next sample's time on a_out's clock, in samples
    for packet in ain.demux(a_in):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue
        for frame in frames:
            if at is None:
                first = frame.pts * Fraction(frame.time_base) if frame.pts is not None and frame.time_base else shift
                at = round((first - shift) * rate)
            frame.pts, frame.time_base = at, Fraction(1, rate)
            at += frame.samples
            yield from a_out.encode(frame)
    if at is not None:
        yield from a_out.encode(None)


def probe(path) -> dict:
    """Basic facts about a video or frame folder: frames, width, height, fps, has_audio, variable_rate (and
    ``notice``, a sentence, where the file is cut off or damaged)."""
    with open_video(path) as r:
        info = {"frames": len(r), "width": r.width, "height": r.height, "fps": r.fps, "has_audio": r.has_audio,
                "variable_rate": r.variable_rate}
        if getattr(r, "notice", None):
            info["notice"] = r.notice
        return info


def write_test_clip(path, frames, fps: float = 25, audio: bool = False, crf: int = 12, pix_fmt: str = "yuv420p",
                    rotation: Optional[int] = None, container_options: Optional[dict] = None,
                    codec_options: Optional[dict] = None) -> Path:
    """Write RGB frames with libx264 (optionally with a 440 Hz AAC tone); for tests and demos.

    The container follows the file's extension; ``rotation`` sets display-matrix metadata.
    """
    path = Path(path)
    frames = list(frames)
    h, w = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(100000)
    with av.open(str(path), "w", options=container_options or {}) as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.options = {"crf": str(crf), **(codec_options or {})}
        if rotation is not None:
            vs.set_display_rotation(rotation)
        if audio:
            sample_rate = 44100
            aus = out.add_stream("aac", rate=sample_rate)
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts = i
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if audio:
            n = int(sample_rate * len(frames) / float(rate))
            t = np.arange(n) / sample_rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[start:start + 1024][None, :]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
                af.sample_rate = sample_rate
                af.pts = start
                for p in aus.encode(af):
                    out.mux(p)
            for p in aus.encode():
                out.mux(p)
    return path
