"""Bad-input corpus: malformed and unusual inputs and arguments, made at run time, scanned, each one classified.

    .venv/bin/python bench/corpus.py                 # full: about 310 inputs and 67 argument cases
    .venv/bin/python bench/corpus.py --fast          # a representative 70 inputs and 14 cases (CI runs this)
    .venv/bin/python bench/corpus.py --keep DIR      # make the corpus in DIR and leave it there

:func:`generate` writes the inputs into a folder (nothing is committed but this code; the same inputs on every
run): videos rendered with PyAV in many containers and codecs, with their broken variants (truncated at many
offsets, zero bytes, random bytes, raw streams and pictures named ``.mp4``, patched headers, odd timestamps,
rotations, huge or 1x1 frames), photos (valid, truncated, tiny, decompression-bomb headers, CMYK, 16-bit,
grey, alpha), hostile file names (unicode, newline, leading dash, ``concat:``, ``..``, bytes that are not
UTF-8, a very long name) and special files (FIFO, socket, symlink loop, broken symlink, a device).  It also
lists argument cases: extreme ``--fps``/``--frames``/``--max-duration``/``--threshold``, unwritable outputs,
bad model cards, odd paths.

:func:`run` scans the whole input folder with ONE ``deepfake-lens scan <folder> --jsonl ... --json ... --quiet``
subprocess (restarted on the inputs left if it stalls, dies or grows over the memory cap: the input in flight
is then the culprit, since one worker takes them in order), then runs one subprocess per argument case.  Each
child has a time limit (a hang) and a memory cap (its resident memory and its peak, VmHWM, polled from /proc
every 0.05 s).  Every input and case is classified:

* ``report``  -- exit 0/1 and a sane report (finite scores in [0, 1], a known label, frames with finite times);
* ``error``   -- a one-line ``error: ...`` on stderr (literally: no other stderr line, no 'Traceback', and the
  message is not the scan's wrapper for an unexpected exception, "could not be analysed (...)");

and anything else is a failure: ``traceback``, ``hang``, ``memory`` (over 2 GB), ``crash`` (killed, or an
exit code other than 0/1/2), ``bad-error`` (not one line, or an unexpected exception), ``insane`` (a report
that fails the checks), ``unexpected`` (a valid input refused, or garbage given a report).  The counts are
printed, every failure is listed, the last line is one JSON object, and the exit code is 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import av  # noqa: E402
import numpy as np  # noqa: E402

from detector.data.synthetic import _frame, astronaut, render_clip  # noqa: E402
from tests.test_bad_inputs import _zero_display_matrix, encode, frame_image  # noqa: E402
from tests.test_video import bad_file  # noqa: E402

__all__ = ["Item", "ArgCase", "Corpus", "generate", "run", "classify_report", "MEMORY_CAP_MB", "main"]

MEMORY_CAP_MB = 2048  # a child over this is killed and its input counted as a failure
STALL_S = 90.0  # a scan that finishes no input for this long is stalled: the input in flight hangs
CASE_TIMEOUT_S = 120.0  # one argument case (a scan of one small input, model loading included)
LABELS = {"real", "uncertain", "fake", "unknown"}
BITEXACT = {"fflags": "+bitexact"}  # no random ids or dates in the containers: the same bytes every run
os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only
OUTCOMES = ("report", "error", "traceback", "hang", "memory", "crash", "bad-error", "insane", "unexpected")


@dataclass
class Item:
    """One input in the scanned folder."""

    name: str  # path relative to the inputs folder (str; names that are not UTF-8 are surrogate-escaped)
    group: str  # video, broken, truncated, photo, name, special
    expect: str  # "report", "error" or "any"
    frames: int | None = None  # with a report: how many frames the default sampling (32) must return


@dataclass
class ArgCase:
    """One command line: ``deepfake-lens scan ARGS``, run in a process of its own."""

    name: str
    args: list[str]
    expect: str  # "report" (exit 0, sane reports), "error" (one-line error, exit 1 or 2) or "any"
    json_out: str | None = None  # a --json file to check when the case succeeds ("-": stdout)


@dataclass
class Corpus:
    root: Path
    inputs: Path  # the folder that is scanned
    items: list[Item] = field(default_factory=list)
    cases: list[ArgCase] = field(default_factory=list)
    mode: str = "full"


# ---------------------------------------------------------------- writing clips


def _images(n: int, size: tuple[int, int], face: bool) -> list[np.ndarray]:
    """``n`` frames: the astronaut panned (a face) when the frame is big enough to show one, else a gradient."""
    w, h = size
    if face and min(w, h) >= 48:
        src = astronaut()
        return [_frame(src, i / max(n - 1, 1), w, h) for i in range(n)]
    return [frame_image(i, w, h) for i in range(n)]


def write_clip(
    path: Path,
    n: int = 20,
    fps: float = 10,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
    fmt: str | None = None,
    pix_fmt: str = "yuv420p",
    options: dict | None = None,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    face: bool = True,
    rotation: float | None = None,
    audio: bool = False,
    metadata: dict | None = None,
    mux: dict | None = None,
) -> Path:
    """A clip of ``n`` frames in any codec/container PyAV writes; ``pts`` (in ``time_base``) for odd timestamps,
    ``options`` for the encoder, ``mux`` for the container (e.g. mp4's movflags).

    (tests.test_bad_inputs.encode writes H.264 only; this writes the other codecs, alpha, grey and audio.)
    """
    w, h = size
    rate = Fraction(fps).limit_denominator(1000)
    defaults = {
        "libx264": {"preset": "ultrafast", "crf": "23", "g": "10", "threads": "1"},
        "libx265": {"preset": "ultrafast", "x265-params": "log-level=error:pools=1:frame-threads=1"},
        "libvpx": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
        "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
        "libsvtav1": {"preset": "12"},
    }
    with av.open(str(path), "w", format=fmt, container_options={**BITEXACT, **(mux or {})}) as out:
        s = out.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if time_base is not None:
            s.time_base = time_base
        s.options = {**defaults.get(codec, {}), **(options or {})}
        if codec not in defaults:
            s.thread_count = 1
        if rotation is not None:
            s.set_display_rotation(rotation)
        for k, v in (metadata or {}).items():
            s.metadata[k] = v
        a = out.add_stream("aac", rate=16000) if audio else None
        tb = time_base or Fraction(1, 1) / rate
        step = max(1, int(round(1 / (rate * tb))))
        for i, img in enumerate(_images(n, size, face)):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = pts[i] if pts is not None else i * step
            frame.time_base = tb
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
        if a is not None:
            for k in range(int(16000 * n / float(rate)) // 1024 + 1):
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                af.sample_rate, af.pts = 16000, k * 1024
                for packet in a.encode(af):
                    out.mux(packet)
            for packet in a.encode():
                out.mux(packet)
    return path


def _audio_only(path: Path, fmt: str | None = None, codec: str = "aac") -> Path:
    with av.open(str(path), "w", format=fmt, container_options=BITEXACT) as out:
        a = out.add_stream(codec, rate=48000 if codec == "libopus" else 16000)
        for k in range(20):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts = a.rate, k * 960
            for packet in a.encode(af):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    return path


# ---------------------------------------------------------------- patching headers


def _patch(src: Path, dst: Path, tag: bytes, offset: int, fmt: str, *values) -> bool:
    """A copy of ``src`` with ``values`` packed at ``offset`` bytes after the first ``tag``; False if no tag."""
    raw = bytearray(src.read_bytes())
    at = raw.find(tag)
    if at < 0:
        return False
    struct.pack_into(fmt, raw, at + offset, *values)
    dst.write_bytes(bytes(raw))
    return True


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int, bits: int = 8, colour: int = 2) -> bytes:
    """A PNG that declares ``width`` x ``height`` and holds almost nothing (a decompression-bomb header)."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, colour, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _chunk(b"IEND", b"")


# ---------------------------------------------------------------- the generator


class _Maker:
    """Writes inputs into ``corpus.inputs`` and records them; ``fast`` keeps only the items marked for CI."""

    def __init__(self, corpus: Corpus):
        self.c = corpus
        self.fast = corpus.mode == "fast"
        self.work = corpus.root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(20240)

    def want(self, fast: bool) -> bool:
        return fast or not self.fast

    def add(self, name: str, group: str, expect: str, frames: int | None = None) -> Path:
        self.c.items.append(Item(name, group, expect, frames))
        p = self.c.inputs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def base(self, name: str, **kw) -> Path:
        """A clip in the work folder (not scanned), made once."""
        p = self.work / name
        if not p.exists():
            write_clip(p, **kw)
        return p

    def case(self, name: str, args: list, expect: str, fast: bool = False, json_out: str | None = None) -> None:
        if self.want(fast):
            args = [str(a) for a in args]
            if json_out not in (None, "-"):  # a file of its own: cases run side by side
                own = str(Path(json_out).with_name(f"case{len(self.c.cases):02d}.json"))
                args, json_out = [own if a == json_out else a for a in args], own
            self.c.cases.append(ArgCase(name, args, expect, json_out))


def generate(folder: str | os.PathLike, mode: str = "full") -> Corpus:
    """Write the corpus into ``folder`` (made if missing): inputs under ``folder/inputs``, helpers (clips the
    broken variants are made from, model cards, outputs of the argument cases) under ``folder/work``.

    ``mode`` "full" makes about 310 inputs and 67 argument cases; "fast" a representative 70 and 14.
    Deterministic: the same names and bytes every time (seeded randomness, single-threaded encoders).
    """
    if mode not in ("full", "fast"):
        raise ValueError(f"mode must be 'full' or 'fast', not {mode!r}")
    root = Path(folder).resolve()
    corpus = Corpus(root=root, inputs=root / "inputs", mode=mode)
    corpus.inputs.mkdir(parents=True, exist_ok=True)
    m = _Maker(corpus)
    _videos(m)
    _broken(m)
    _truncated(m)
    _photos(m)
    _names(m)
    _special(m)
    _cases(m)
    return corpus


def _videos(m: _Maker) -> None:
    """Valid clips, usual and unusual: they must give a report (or, where said, may be refused)."""
    good = [  # (name, fast, write_clip keywords)
        ("ok_h264.mp4", True, {}),
        ("ok_h264.mkv", True, {}),
        ("ok_vp9.webm", True, dict(codec="libvpx-vp9")),
        ("ok_mpeg4.avi", True, dict(codec="mpeg4")),
        ("ok_h264.mov", False, {}),
        ("ok_vp8.webm", False, dict(codec="libvpx")),
        ("ok_mjpeg.avi", False, dict(codec="mjpeg", pix_fmt="yuvj420p")),
        ("ok_ffv1.mkv", False, dict(codec="ffv1", pix_fmt="yuv420p")),
        ("ok_hevc.mp4", False, dict(codec="libx265")),
        ("ok_av1.mkv", False, dict(codec="libsvtav1", size=(192, 128), n=10)),
        ("ok_prores.mov", False, dict(codec="prores_ks", pix_fmt="yuv422p10le", n=8)),
        ("ok_png_alpha.mov", True, dict(codec="png", pix_fmt="rgba", n=6)),
        ("ok_qtrle.mov", False, dict(codec="qtrle", pix_fmt="rgb24", n=6)),
        ("ok_mpeg2.mpg", False, dict(codec="mpeg2video", fmt="mpeg")),
        ("ok_h264.flv", False, dict(fmt="flv")),
        ("ok_wmv2.wmv", False, dict(codec="wmv2", fmt="asf")),
        ("ok_h264.m4v", False, dict(fmt="mp4")),
        ("ok_10bit.mp4", False, dict(pix_fmt="yuv420p10le")),
        ("ok_444.mkv", False, dict(pix_fmt="yuv444p")),
        ("ok_gray_ffv1.mkv", False, dict(codec="ffv1", pix_fmt="gray")),
        ("ok_vp9_alpha.webm", False, dict(codec="libvpx-vp9", pix_fmt="yuva420p", n=6)),
        ("ok_bframes.mp4", False, dict(options={"bf": "3", "g": "30"})),
        ("ok_all_keyframes.mp4", False, dict(options={"g": "1"})),
        ("ok_one_keyframe.mp4", True, dict(n=120, options={"x264-params": "keyint=infinite:scenecut=0"})),
        ("ok_one_keyframe.mkv", False, dict(n=120, options={"x264-params": "keyint=infinite:scenecut=0"})),
        ("ok_faststart.mp4", False, dict(mux={"movflags": "+faststart"})),
        ("ok_fragmented.mp4", True, dict(mux={"movflags": "frag_keyframe+empty_moov"})),
        ("ok_with_audio.mp4", False, dict(audio=True)),
        ("ok_with_audio.mkv", False, dict(audio=True)),
        ("ok_mpegts.mp4", False, dict(fmt="mpegts")),
        ("ok_nut.mkv", False, dict(fmt="nut")),
        ("ok_720p.mp4", False, dict(size=(1280, 720), n=8)),
        ("ok_one_frame.mp4", True, dict(n=1)),
        ("ok_two_frames.mkv", False, dict(n=2)),
        ("ok_2x2.mp4", True, dict(size=(2, 2), n=5)),
        ("ok_1x1_ffv1.mkv", True, dict(codec="ffv1", size=(1, 1), n=5)),
        ("ok_1x1_rawvideo.avi", False, dict(codec="rawvideo", pix_fmt="rgb24", size=(1, 1), n=5)),
        ("ok_odd_33x17.mkv", True, dict(pix_fmt="yuv444p", size=(33, 17))),
        ("ok_odd_161x121.mkv", False, dict(codec="ffv1", pix_fmt="yuv444p", size=(161, 121))),
        ("ok_tall_16x720.mp4", False, dict(size=(16, 720), n=5)),
        ("ok_wide_1280x8.mp4", False, dict(size=(1280, 8), n=5)),
        ("ok_fps_1000.mkv", False, dict(fps=1000, n=40)),
        ("ok_fps_0.5.mp4", False, dict(fps=0.5, n=4)),
        ("ok_fps_ntsc.mp4", False, dict(fps=Fraction(30000, 1001), n=20)),
        ("ok_2560x1440.mp4", False, dict(size=(2560, 1440), n=2)),
        ("ok_rot90.mp4", True, dict(rotation=90)),
        ("ok_rot180.mp4", False, dict(rotation=180)),
        ("ok_rot270.mov", False, dict(rotation=-90)),
        ("ok_rot45.mp4", False, dict(rotation=45)),
        ("ok_rot_tag_90.mkv", False, dict(metadata={"rotate": "90"})),
        ("ok_rot_tag_junk.mkv", False, dict(metadata={"rotate": "1e999x"})),
        ("ok_rot_tag_huge.mkv", False, dict(metadata={"rotate": "99999999999999999999"})),
    ]
    for name, fast, kw in good:  # a clip of n frames gives min(n, 32) of them
        if m.want(fast):
            write_clip(m.add(name, "video", "report", frames=min(kw.get("n", 20), 32)), **kw)

    tb = Fraction(1, 1000)
    odd = [  # (name, fast, expect, write_clip keywords, frames sampled): timestamps
        ("pts_start_1e9.mkv", True, "report", dict(pts=[10**9 + 100 * i for i in range(20)], time_base=tb), 20),
        ("pts_start_1e9.mp4", False, "report", dict(pts=[10**9 + 100 * i for i in range(20)], time_base=tb), 20),
        # 500 s with frames at 0, 1, 100 and 500 s: 0 s or 1 s, 100 s and 500 s are the nearest to some target
        ("pts_far_apart.mkv", True, "report", dict(n=4, pts=[0, 1000, 100_000, 500_000], time_base=tb), 3),
        ("pts_far_apart.mp4", False, "report", dict(n=4, pts=[0, 1000, 100_000, 500_000], time_base=tb), 3),
        ("pts_past_limit.mkv", False, "any", dict(n=3, pts=[0, 1000, 10_000_000], time_base=tb)),
        ("pts_vfr.mkv", False, "report", dict(n=20, pts=[int(1000 * (i**1.5) / 10) for i in range(20)], time_base=tb)),
        ("pts_one_tick.mkv", False, "report", dict(n=10, pts=list(range(10)), time_base=tb)),
        (
            "pts_1s_apart_at_10fps.mp4",
            True,
            "report",
            dict(n=5, pts=[i * 90000 for i in range(5)], time_base=Fraction(1, 90000)),
            5,
        ),
        ("pts_coarse_timebase.mkv", False, "report", dict(n=5, fps=1, pts=list(range(5)), time_base=Fraction(1, 1)), 5),
    ]
    for name, fast, expect, kw, *frames in odd:
        if m.want(fast):
            write_clip(m.add(name, "video", expect, frames=frames[0] if frames else None), **kw)
    if m.want(False):
        encode(m.add("ok_rot90_h264.mp4", "video", "report"), n=25, rotation=90)
    if m.want(False):
        render_clip(str(m.add("rot_tag_render.mp4", "video", "report")), seconds=1, fps=10, size=(160, 120), rotate=270)
    # an all-zero display matrix, read by FFmpeg as NaN degrees
    plain = m.base("base_plain.mp4", n=10, face=False, size=(64, 48))
    if m.want(True):
        _zero_display_matrix(str(plain), m.add("rot_zero_matrix.mp4", "video", "report"))
    # limits: frames too large, clips too long (refusals), declared dimensions and durations that lie
    if m.want(True):
        write_clip(m.add("big_4096x2304.mp4", "video", "error"), size=(4096, 2304), n=1, face=False)
    if m.want(False):
        write_clip(m.add("big_3840x2160_rot90.mp4", "video", "error"), size=(3840, 2160), n=1, face=False, rotation=90)
        render_clip(str(m.add("long_700s.mp4", "video", "error")), seconds=700, fps=0.2, size=(64, 48), source="plain")
    patched = [  # (name, fast, tag, offset, struct format, values): offsets after the box type in an mp4
        ("hdr_stsd_65535.mp4", True, b"avc1", 28, ">HH", 65535, 65535),
        ("hdr_stsd_zero.mp4", False, b"avc1", 28, ">HH", 0, 0),
        ("hdr_tkhd_huge.mp4", False, b"tkhd", 80, ">II", 0xFFFF0000, 0xFFFF0000),
        ("hdr_mdhd_duration_max.mp4", False, b"mdhd", 20, ">I", 0xFFFFFFFF),
        ("hdr_mvhd_duration_max.mp4", False, b"mvhd", 20, ">I", 0xFFFFFFFF),
        ("hdr_mdhd_timescale_zero.mp4", True, b"mdhd", 16, ">I", 0),
        ("hdr_mvhd_timescale_zero.mp4", False, b"mvhd", 16, ">I", 0),
        ("hdr_stts_delta_zero.mp4", False, b"stts", 16, ">I", 0),
        ("hdr_stts_delta_huge.mp4", False, b"stts", 16, ">I", 0x7FFFFFFF),
        ("hdr_stsz_count_huge.mp4", False, b"stsz", 12, ">I", 0x7FFFFFFF),
        ("hdr_stco_offset_huge.mp4", False, b"stco", 12, ">I", 0xFFFFFF00),
    ]
    src = m.base("base_h264.mp4")
    for name, fast, tag, offset, fmt, *values in patched:
        if m.want(fast):
            assert _patch(src, m.add(name, "video", "any"), tag, offset, fmt, *values), name
    mkv = m.base("base_h264.mkv")
    if m.want(True):  # Matroska's Duration (a float, ms): a 20-frame clip that says it lasts 31,700 years
        assert _patch(mkv, m.add("hdr_mkv_duration_1e15.mkv", "video", "any"), b"\x44\x89\x88", 3, ">d", 1e15)
    if m.want(False):
        assert _patch(mkv, m.add("hdr_mkv_duration_nan.mkv", "video", "any"), b"\x44\x89\x88", 3, ">d", math.nan)
        assert _patch(mkv, m.add("hdr_mkv_duration_neg.mkv", "video", "any"), b"\x44\x89\x88", 3, ">d", -5.0)
    # no video at all
    if m.want(True):
        shutil.copy(bad_file(m.work, {}, "audio"), m.add("audio_only.mp4", "video", "error"))
    if m.want(False):
        _audio_only(m.add("audio_only_opus.mkv", "video", "error"), codec="libopus")
        _audio_only(m.add("audio_only_mp3.avi", "video", "error"), codec="mp3")


def _broken(m: _Maker) -> None:
    """Files that are not what their name says, empty, random or damaged."""
    for ext, fast in ((".mp4", True), (".mkv", False), (".avi", False), (".webm", False), (".mov", False)):
        if m.want(fast):
            m.add(f"zero_bytes{ext}", "broken", "error").write_bytes(b"")
    rng = np.random.default_rng(7)
    for size, ext, fast in (
        (1, ".mp4", False),
        (100, ".mp4", False),
        (4096, ".mkv", False),
        (1 << 20, ".mp4", True),
        (50_000, ".avi", False),
        (50_000, ".webm", False),
        (50_000, ".mov", False),
    ):
        if m.want(fast):
            m.add(f"random_{size}{ext}", "broken", "error").write_bytes(rng.integers(0, 256, size, np.uint8).tobytes())
    texts = [
        ("text.mp4", True, b"this is not a video, only text renamed .mp4\n" * 20),
        ("html.mp4", False, b"<!doctype html><html><body>404 Not Found</body></html>\n"),
        ("json.mkv", False, b'{"video": "nope"}\n'),
        ("pdf.mp4", False, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"),
        ("gzip.mp4", False, zlib.compress(b"x" * 1000)),
        ("nul_bytes.mp4", False, bytes(10_000)),
        ("ff_bytes.mp4", False, b"\xff" * 10_000),
        ("ftyp_only.mp4", True, b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"),
        ("ebml_only.mkv", False, b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"),
        ("riff_only.avi", False, b"RIFF\x00\x00\x00\x00AVI LIST"),
    ]
    for name, fast, data in texts:
        if m.want(fast):
            m.add(name, "broken", "error").write_bytes(data)
    if m.want(False):
        import zipfile

        with zipfile.ZipFile(m.add("zip.mp4", "broken", "error"), "w") as z:
            z.writestr(zipfile.ZipInfo("a.txt", (2020, 1, 1, 0, 0, 0)), "hello")
    # raw streams and other containers under a video's name: read as video (raw H.264 has no timestamps)
    raw = [
        ("raw_h264.mp4", True, "report", dict(fmt="h264", n=10)),
        ("raw_hevc.mp4", False, "report", dict(fmt="hevc", codec="libx265", n=10)),
        ("raw_mjpeg.mp4", True, "any", dict(fmt="mjpeg", codec="mjpeg", pix_fmt="yuvj420p", n=10)),
        ("raw_ivf_vp8.webm", False, "report", dict(fmt="ivf", codec="libvpx", n=10)),
        ("raw_y4m.mp4", False, "report", dict(fmt="yuv4mpegpipe", codec="rawvideo", n=5, size=(64, 48))),
        ("raw_rawvideo.mp4", False, "error", dict(fmt="rawvideo", codec="rawvideo", n=3, size=(64, 48))),
        ("raw_mpegts_named.mkv", False, "report", dict(fmt="mpegts", n=10)),
    ]
    for name, fast, expect, kw in raw:
        if m.want(fast):
            write_clip(m.add(name, "broken", expect), **kw)
    # pictures under a video's name
    from PIL import Image

    img = Image.fromarray(_images(1, (64, 64), True)[0])
    pics = [
        ("icon_ico.mp4", True, "error", dict(format="ICO")),
        ("picture_png.mp4", True, "error", dict(format="PNG")),
        ("picture_jpg.mp4", False, "error", dict(format="JPEG")),
        ("picture_bmp.mp4", False, "error", dict(format="BMP")),
        ("picture_webp.mp4", False, "any", dict(format="WEBP")),
        ("picture_tiff.mp4", False, "error", dict(format="TIFF")),
        ("animated_gif.mp4", True, "any", dict(format="GIF", save_all=True, append_images=[img.rotate(90)] * 3)),
        ("animated_apng.mp4", False, "any", dict(format="PNG", save_all=True, append_images=[img.rotate(90)] * 3)),
        ("animated_webp.mp4", False, "any", dict(format="WEBP", save_all=True, append_images=[img.rotate(90)] * 3)),
    ]
    for name, fast, expect, kw in pics:
        if m.want(fast):
            img.save(m.add(name, "broken", expect), **kw)
    if m.want(False):
        m.add("bomb_png.mp4", "broken", "error").write_bytes(_png_header(100_000, 100_000))
    # damage inside a valid clip
    src = m.base("base_h264.mp4")
    data = src.read_bytes()
    mdat = data.find(b"mdat")
    damaged = [
        ("damaged_flips.mp4", False, "any", lambda b: _flip(b, len(b) // 4, 97, m.rng)),
        ("damaged_flips_dense.mkv", False, "any", lambda b: _flip(b, 200, 7, m.rng)),
        (
            "damaged_mdat_zeroed.mp4",
            True,
            "any",
            lambda b: b[: mdat + 4] + bytes(len(b) // 2) + b[mdat + 4 + len(b) // 2 :],
        ),
        ("damaged_moov_zeroed.mp4", False, "error", lambda b: b[: b.find(b"moov")] + bytes(len(b) - b.find(b"moov"))),
        (
            "damaged_trailing_garbage.mp4",
            False,
            "report",
            lambda b: b + bytes(m.rng.randrange(256) for _ in range(5000)),
        ),
        ("damaged_leading_garbage.mp4", False, "any", lambda b: bytes(m.rng.randrange(256) for _ in range(5000)) + b),
        ("damaged_doubled.mp4", False, "any", lambda b: b + b),
        ("damaged_header_swapped.mp4", False, "any", lambda b: b.replace(b"ftyp", b"free", 1)),
    ]
    mkv_bytes = m.base("base_h264.mkv").read_bytes()
    for name, fast, expect, fn in damaged:
        if m.want(fast):
            m.add(name, "broken", expect).write_bytes(fn(mkv_bytes if name.endswith(".mkv") else data))


def _flip(data: bytes, start: int, every: int, rng: random.Random) -> bytes:
    raw = bytearray(data)
    for i in range(start, len(raw), every):
        raw[i] ^= 1 << rng.randrange(8)
    return bytes(raw)


def _truncated(m: _Maker) -> None:
    """Valid clips cut at many byte offsets (a download that stopped)."""
    bases = [  # (name, fast, write_clip keywords)
        ("mp4", False, {}),
        ("mkv", True, {}),
        ("webm", False, dict(codec="libvpx-vp9")),
        ("avi", False, dict(codec="mpeg4")),
        ("mov", False, {}),
        ("faststart.mp4", True, dict(mux={"movflags": "+faststart"})),
        ("fragmented.mp4", False, dict(mux={"movflags": "frag_keyframe+empty_moov"})),
    ]
    fractions = (0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.999) if not m.fast else (0.05, 0.5, 0.95)
    for suffix, fast, kw in bases:
        if not m.want(fast):
            continue
        data = m.base(f"trunc_base.{suffix}", n=30, **kw).read_bytes()
        offsets = [max(1, int(len(data) * f)) for f in fractions]
        if not m.fast:
            offsets += [8, 64, len(data) - 1]
        for off in sorted(set(offsets)):
            m.add(f"truncated_{off:07d}_of_{len(data)}.{suffix}", "truncated", "any").write_bytes(data[:off])


def _photos(m: _Maker) -> None:
    import cv2
    from PIL import Image

    rgb = astronaut()
    pil = Image.fromarray(rgb)
    valid = [  # (name, fast, how to write)
        ("photo.jpg", True, lambda p: pil.save(p, quality=90)),
        ("photo.png", True, lambda p: pil.save(p)),
        ("photo.webp", True, lambda p: pil.save(p, quality=80)),
        ("photo.bmp", False, lambda p: pil.save(p)),
        ("photo_upper.JPEG", False, lambda p: pil.save(p, format="JPEG")),
        ("photo_progressive.jpg", False, lambda p: pil.save(p, progressive=True)),
        ("photo_grey.jpg", False, lambda p: pil.convert("L").save(p)),
        ("photo_grey.png", False, lambda p: pil.convert("L").save(p)),
        ("photo_cmyk.jpg", True, lambda p: pil.convert("CMYK").save(p)),
        ("photo_16bit_grey.png", True, lambda p: cv2.imwrite(str(p), (rgb[..., 0].astype(np.uint16) * 257))),
        ("photo_16bit_rgb.png", False, lambda p: cv2.imwrite(str(p), rgb[..., ::-1].astype(np.uint16) * 257)),
        ("photo_alpha.png", True, lambda p: pil.convert("RGBA").save(p)),
        ("photo_grey_alpha.png", False, lambda p: pil.convert("LA").save(p)),
        ("photo_palette.png", False, lambda p: pil.convert("P").save(p, transparency=0)),
        ("photo_1bit.bmp", False, lambda p: pil.convert("1").save(p)),
        ("photo_alpha.webp", False, lambda p: pil.convert("RGBA").save(p, lossless=True)),
        ("photo_animated.webp", False, lambda p: pil.save(p, save_all=True, append_images=[pil.rotate(180)])),
        ("photo_apng.png", False, lambda p: pil.save(p, save_all=True, append_images=[pil.rotate(180)])),
        ("photo_exif_rot6.jpg", True, lambda p: pil.save(p, exif=_exif_orientation(6))),
        ("photo_exif_rot8.jpg", False, lambda p: pil.save(p, exif=_exif_orientation(8))),
        ("photo_exif_junk.jpg", True, lambda p: pil.save(p, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + bytes(40))),
        ("photo_16x16.png", False, lambda p: pil.resize((16, 16)).save(p)),
        ("photo_4000x3000.jpg", False, lambda p: pil.resize((4000, 3000)).save(p, quality=70)),
        ("photo_tiff_named.jpg", False, lambda p: pil.save(p, format="TIFF")),
        ("photo_gif_named.png", False, lambda p: pil.save(p, format="GIF")),
        ("photo_bmp_topdown.bmp", False, lambda p: _bmp_topdown(pil, p)),
        ("photo.gif", True, lambda p: pil.save(p, format="GIF")),  # one frame: a photo
        ("photo_animated.gif", False, lambda p: pil.save(p, save_all=True, append_images=[pil.rotate(180)] * 2)),
    ]
    for name, fast, write in valid:
        if m.want(fast):
            write(m.add(name, "photo", "any" if "named" in name else "report"))
    jpg = m.work / "photo_base.jpg"
    pil.save(jpg, quality=90)
    raw = jpg.read_bytes()
    png = m.work / "photo_base.png"
    pil.save(png)
    png_raw = png.read_bytes()
    cuts = (2, 3, 100, len(raw) // 10, len(raw) // 2, len(raw) - 2) if not m.fast else (len(raw) // 2,)
    for off in cuts:
        m.add(f"photo_truncated_{off:06d}.jpg", "photo", "any").write_bytes(raw[:off])
    for off in (8, 40, len(png_raw) // 2) if not m.fast else (len(png_raw) // 2,):
        m.add(f"photo_truncated_{off:06d}.png", "photo", "any").write_bytes(png_raw[:off])
    tiny = [
        ("photo_1x1.jpg", True, (1, 1)),
        ("photo_1x1.png", False, (1, 1)),
        ("photo_1x1.webp", False, (1, 1)),
        ("photo_1x1.bmp", False, (1, 1)),
        ("photo_15x15.png", False, (15, 15)),
        ("photo_10000x1.png", False, (10000, 1)),
    ]
    for name, fast, size in tiny:
        if m.want(fast):
            pil.resize(size).save(m.add(name, "photo", "error"))
    bombs = [  # (name, fast, bytes)
        ("bomb_100000x100000.png", True, _png_header(100_000, 100_000)),
        ("bomb_16bit_60000x60000.png", False, _png_header(60_000, 60_000, bits=16, colour=6)),
        ("bomb_sof_65500.jpg", True, _patched_at(raw, b"\xff\xc0", 5, ">HH", 65500, 65500)),
        ("bomb_bmp_100000.bmp", False, _bmp_huge(pil)),
        ("bomb_gif_65535.png", False, _gif_huge(pil)),
        ("bomb_webp_16384.webp", False, _webp_vp8x(16384, 16384)),
        ("png_bad_crc.png", False, png_raw[:29] + b"\0\0\0\0" + png_raw[33:]),
        ("jpeg_soi_only.jpg", False, b"\xff\xd8\xff"),
        ("zero_bytes.jpg", False, b""),
        ("text.png", False, b"not a picture\n" * 10),
        ("random.webp", False, np.random.default_rng(3).integers(0, 256, 5000, np.uint8).tobytes()),
        ("video_named.jpg", True, m.base("base_h264.mp4").read_bytes()),
        ("svg_named.png", False, b'<svg xmlns="http://www.w3.org/2000/svg" width="1e9" height="1e9"/>'),
    ]
    for name, fast, data in bombs:
        if m.want(fast):
            m.add(name, "photo", "error").write_bytes(data)
    if m.want(False):  # a 32-bit float picture: a mode a photo rarely has
        Image.fromarray(rgb[..., 0].astype(np.float32) / 255).save(
            m.add("photo_float_tiff.png", "photo", "any"), format="TIFF"
        )


def _exif_orientation(value: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def _patched_at(data: bytes, tag: bytes, offset: int, fmt: str, *values) -> bytes:
    raw = bytearray(data)
    struct.pack_into(fmt, raw, raw.find(tag) + offset, *values)
    return bytes(raw)


def _bmp_topdown(pil, path: Path) -> None:
    import io

    buf = io.BytesIO()
    pil.save(buf, format="BMP")
    raw = bytearray(buf.getvalue())
    h = struct.unpack_from("<i", raw, 22)[0]
    struct.pack_into("<i", raw, 22, -h)
    row = (pil.width * 3 + 3) & ~3
    off = struct.unpack_from("<I", raw, 10)[0]
    rows = [raw[off + i * row : off + (i + 1) * row] for i in range(h)]
    raw[off:] = b"".join(reversed(rows))
    path.write_bytes(bytes(raw))


def _bmp_huge(pil) -> bytes:
    import io

    buf = io.BytesIO()
    pil.resize((16, 16)).save(buf, format="BMP")
    return _patched_at(buf.getvalue(), b"BM", 18, "<ii", 100_000, 100_000)


def _gif_huge(pil) -> bytes:
    import io

    buf = io.BytesIO()
    pil.resize((16, 16)).save(buf, format="GIF")
    return _patched_at(buf.getvalue(), b"GIF8", 6, "<HH", 65535, 65535)


def _webp_vp8x(width: int, height: int) -> bytes:
    body = bytes([0, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _names(m: _Maker) -> None:
    """Valid inputs under hostile names: each must give a report under its own name."""
    clip = m.base("base_names.mp4", n=10, size=(96, 72))
    photo = m.work / "photo_small.jpg"
    from PIL import Image

    Image.fromarray(astronaut()).resize((128, 128)).save(photo)
    names = [  # (name, fast, source)
        ("unicode_vidéo_日本語_🙂.mp4", True, clip),
        ("with spaces (1) [copy].mp4", False, clip),
        ("new\nline.mp4", True, clip),
        ("tab\tand\rcr.mp4", False, clip),
        ("-rf.mp4", True, clip),
        ("--json.mp4", False, clip),
        ("concat:a.mp4", True, clip),
        ("file:a.mp4", True, clip),
        ("pipe:0.mp4", False, clip),
        ("http:x.mp4", False, clip),
        ("subfile,,start,0,end,0,,:a.mp4", False, clip),
        ("a..b.mp4", False, clip),
        ("dots..mp4", False, clip),
        ("sub..dir/inner.mp4", False, clip),
        ("deep/er/and/deeper/still/clip.mp4", False, clip),
        ("x" * 200 + ".mp4", False, clip),
        ("y" * 251 + ".mp4", False, clip),
        ("%s%n%x.mp4", False, clip),
        ("$(touch pwned);`id`.mp4", False, clip),
        ("quote'double\".mp4", False, clip),
        ("back\\slash.mp4", False, clip),
        ("*?.mp4", False, clip),
        ("rtl_\u202eexe.mp4", False, clip),
        ("zero_width_\u200b.mp4", False, clip),
        ("UPPER.MP4", False, clip),
        ("double.mp4.mp4", False, clip),
        ("photo ünïcödé 写真.jpg", True, photo),
        ("-photo.png", False, photo),
        ("photo\nnewline.jpg", False, photo),
    ]
    for name, fast, source in names:
        if m.want(fast):
            shutil.copy(source, m.add(name, "name", "report"))
    broken = [  # hostile names on inputs that fail: the error names the file and must stay one line
        ("broken\nnewline.mp4", True),
        ("broken\r\x1b[31mred.mp4", False),
        ("broken_\u2028separator.mp4", False),
        (os.fsdecode(b"broken_\xff.mp4"), True),
        ("-broken.jpg", False),
    ]
    for name, fast in broken:
        if m.want(fast):
            m.add(name, "name", "error").write_bytes(b"not media\n" * 10)
    if m.want(True):  # bytes that are not UTF-8: Python sees a surrogate-escaped name
        name = os.fsdecode(b"latin1_\xe9t\xe9_\xff.mp4")
        shutil.copy(clip, m.add(name, "name", "report"))
    if m.want(False):
        name = os.fsdecode(b"bad_utf8_\xc3\x28.jpg")
        shutil.copy(photo, m.add(name, "name", "report"))
        shutil.copy(photo, m.add("photo_named.mp4.jpg", "name", "report"))
        shutil.copy(clip, m.add("clip_named.jpg.mp4", "name", "report"))


def _special(m: _Maker) -> None:
    """Things in the folder that are not regular files, or are in odd ways."""
    clip = m.base("base_names.mp4", n=10, size=(96, 72))
    if m.want(True):
        os.mkfifo(m.add("fifo.mp4", "special", "error"))
    if m.want(True):
        p = m.add("socket.mp4", "special", "error")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(str(p))  # the socket file stays after the socket is closed
        finally:
            s.close()
    links = [  # (name, fast, expect, target)
        ("symlink_loop.mp4", True, "error", None),
        ("symlink_broken.mp4", True, "error", "no/such/target.mp4"),
        ("symlink_urandom.mp4", True, "error", "/dev/urandom"),
        ("symlink_zero.mp4", False, "error", "/dev/zero"),
        ("symlink_null.mp4", False, "error", "/dev/null"),
        ("symlink_proc_version.mp4", False, "error", "/proc/version"),
        ("symlink_ok.mp4", True, "report", str(clip)),
        ("symlink_relative_ok.mp4", False, "report", os.path.relpath(clip, m.c.inputs)),
    ]
    for name, fast, expect, target in links:
        if m.want(fast):
            p = m.add(name, "special", expect)
            os.symlink(target if target is not None else p.name, p)
    if m.want(True):  # a sparse file over the 2 GB size limit: refused by its size, never read
        with open(m.add("sparse_3GB.mp4", "special", "error"), "wb") as f:
            f.truncate(3 * 1024**3)
    if m.want(False):  # just under it: FFmpeg probes the start and gives up
        with open(m.add("sparse_2047MB.mp4", "special", "error"), "wb") as f:
            f.truncate(2047 * 1024**2)
    if m.want(False):
        for name, when in (("mtime_future.mp4", 2**40), ("mtime_negative.mp4", -(2**33))):
            p = m.add(name, "special", "report")
            shutil.copy(clip, p)
            os.utime(p, (when, when))
    if m.want(False):
        p = m.add("unreadable.mp4", "special", "any")  # root reads it anyway
        shutil.copy(clip, p)
        p.chmod(0)
    # not inputs (a folder scan does not list them), present so that the scan must walk past them
    (m.c.inputs / "folder_named.mp4").mkdir()
    os.symlink(".", m.c.inputs / "loop_dir")
    (m.c.inputs / ".hidden.mp4").write_bytes(b"hidden files are not scanned")
    (m.c.inputs / "notes.txt").write_text("not a media file\n")


# ---------------------------------------------------------------- argument cases


def _cases(m: _Maker) -> None:
    w = m.work
    clip = str(m.base("base_names.mp4", n=10, size=(96, 72)))
    out = w / "out"
    out.mkdir(exist_ok=True)
    j = str(out / "r.json")  # each case that writes it gets a file of its own (see _Maker.case)
    cards = _cards(m)
    # numbers: refused as usage errors, or by the decoder's limit
    for flag, value, expect, fast in [
        ("--fps", "nan", "error", True),
        ("--fps", "inf", "error", False),
        ("--fps", "0", "error", False),
        ("--fps", "-1", "error", False),
        ("--fps", "5e7", "error", True),
        ("--fps", "1e308", "error", False),
        ("--fps", "1e-300", "error", False),  # under MIN_FPS: a usage error (the CLI refuses it before any run)
        ("--fps", "0x10", "error", False),
        ("--frames", "0", "error", True),
        ("--frames", "-3", "error", False),
        ("--frames", "5e7", "error", False),
        ("--frames", "1e400", "error", False),
        ("--frames", "9" * 400, "error", False),
        ("--frames", "1.5", "error", False),
        ("--frames", "", "error", False),
        ("--frames", "1", "report", False),
        ("--frames", "512", "report", True),
        ("--frames", "513", "error", False),
        ("--max-duration", "nan", "error", False),
        ("--max-duration", "inf", "error", False),
        ("--max-duration", "1e-9", "error", True),
        ("--max-duration", "1e308", "report", False),
        ("--threshold", "nan", "error", True),
        ("--threshold", "2", "error", False),
        ("--threshold", "-1", "error", False),
        ("--threshold", "0", "report", False),
        ("--threshold", "1", "report", False),
        ("--workers", "0", "error", False),
        ("--workers", "99999999999999999999", "error", False),
        ("--rule", "median", "error", False),
        ("--cam", "no_such_cam", "error", False),
    ]:
        m.case(f"{flag} {value or repr(value)}", [clip, flag, value, "--json", j, "--quiet"], expect, fast, j)
    # outputs
    (out / "a_folder").mkdir(exist_ok=True)
    (out / "a_file").write_text("x")
    for name, args, expect, fast in [
        ("--json into a missing folder (made)", ["--json", out / "missing" / "r.json"], "report", True),
        ("--json under a file", ["--json", out / "a_file" / "r.json"], "error", True),
        ("--json to a folder", ["--json", out / "a_folder"], "error", False),
        ("--csv /proc/version", ["--csv", "/proc/version"], "error", True),
        ("--json /dev/full", ["--json", "/dev/full"], "error", False),
        ("--jsonl into a missing folder (made)", ["--jsonl", out / "missing2" / "r.jsonl"], "report", False),
        ("--json and --csv the same file", ["--json", out / "same", "--csv", out / "same"], "error", False),
        ("--json to stdout", ["--json", "-"], "report", False),
    ]:
        json_out = "-" if "stdout" in name else (str(args[1]) if name.startswith("--json into") else None)
        m.case(name, [clip, *args, "--quiet"], expect, fast, json_out)
    # model cards
    for name, card, fast in cards:
        m.case(f"--model {name}", [clip, "--model", card, "--quiet"], "error", fast)
    m.case("--model no_such_model", [clip, "--model", "no_such_model", "--quiet"], "error", False)
    m.case("--model ''", [clip, "--model", "", "--quiet"], "any", False)  # an empty name: the default
    # paths
    empty = w / "empty_folder"
    empty.mkdir(exist_ok=True)
    for name, paths, expect, fast in [
        ("a folder named x.mp4", [m.c.inputs / "folder_named.mp4"], "error", True),
        ("an empty folder", [empty], "error", False),
        ("a missing file", [w / "missing.mp4"], "error", False),
        ("an empty path", [""], "error", False),
        ("a path '-'", ["-"], "error", False),
        ("/dev/stdin", ["/dev/stdin"], "error", False),
        ("the same clip twice", [clip, clip], "report", False),
        ("no path", [], "error", False),
    ]:
        m.case(name, [*paths, "--quiet"], expect, fast)
    names = w / "names"  # a CSV row per file, whatever its name; one error line for the one that fails
    names.mkdir(exist_ok=True)
    for name in (os.fsdecode(b"caf\xe9.mp4"), "new\nline.mp4", "tab\t.mp4"):
        shutil.copy(clip, names / name)
    (names / "broken\nname.mp4").write_bytes(b"not media")
    m.case("hostile names with --csv", [names, "--csv", out / "names.csv", "--frames", "2", "--quiet"], "error", True)
    m.case("--workers 2", [clip, clip, "--workers", "2", "--json", j, "--quiet"], "report", False, j)
    m.case(
        "--cam gradcam", [m.work / "photo_small.jpg", "--cam", "gradcam", "--json", j, "--quiet"], "report", False, j
    )


def _cards(m: _Maker) -> list[tuple[str, str, bool]]:
    """Bad model cards in their own folders: (name, card path, in the fast set)."""
    folder = m.work / "cards"
    folder.mkdir(exist_ok=True)
    good = {"name": "card", "architecture": "resnet18", "input_size": 64, "weights": "card.safetensors"}
    specs = [  # (name, card body (dict, or raw bytes), fast)
        ("unknown architecture", {**good, "architecture": "no_such_net"}, True),
        ("weights ../../../../etc/passwd", {**good, "weights": "../../../../etc/passwd"}, True),
        ("members outside the folder", {**good, "members": ["../../x.safetensors"]}, False),
        ("weights missing", {**good, "weights": "missing.safetensors"}, False),
        ("weights of random bytes", {**good, "weights": "random.safetensors"}, True),
        ("weights of another shape", {**good, "weights": "shapes.safetensors"}, False),
        ("card not JSON", b"{not json", False),
        ("card a JSON list", b"[1, 2, 3]", False),
        ("card empty", b"", False),
        ("input_size 0", {**good, "input_size": 0}, False),
        ("input_size a string", {**good, "input_size": "big"}, False),
        ("threshold a string", {**good, "threshold": "high"}, False),
        ("no fake class", {**good, "classes": ["a", "b"]}, False),
        ("name with a path", {**good, "name": "../../evil"}, False),
    ]
    (folder / "random.safetensors").write_bytes(bytes(random.Random(1).randrange(256) for _ in range(4096)))
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (folder / "shapes.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    out = []
    for i, (name, body, fast) in enumerate(specs):
        if not m.want(fast):
            continue
        p = folder / f"card{i:02d}.json"
        p.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
        out.append((name, str(p), fast))
    if m.want(False):
        (folder / "card_folder.json").mkdir(exist_ok=True)
        out.append(("card a folder", str(folder / "card_folder.json"), False))
    return out


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    name: str
    kind: str  # "input" or "case"
    outcome: str  # one of OUTCOMES
    detail: str = ""
    peak_mb: float | None = None
    seconds: float | None = None


@dataclass
class _Child:
    rc: int | None  # None: killed by us (see why)
    why: str | None  # "hang", "memory" or None
    peak_mb: float
    seconds: float
    stdout: str
    stderr: str


def _rss_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MB of a process now, from /proc (0 when it is gone).

    The peak (VmHWM) belongs to the program the child runs: wait4's ru_maxrss would also count the runner's own
    memory, which the child shares between fork and exec (hundreds of MB once torch is loaded here).
    """
    now = peak = 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    now = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return now, max(now, peak)


def _spawn(cmd: list[str], timeout: float, progress=None, stall: float | None = None, cap_mb: float = MEMORY_CAP_MB):
    """Run ``cmd``; kill it when it runs past ``timeout`` s, when ``progress()`` (a number) has not changed for
    ``stall`` s, or when its resident memory passes ``cap_mb``.  Its peak memory is polled from /proc (VmHWM)
    every 0.05 s."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
        why, last, last_t, peak = None, None, t0, 0.0
        while True:
            rss, hwm = _rss_mb(proc.pid)  # before the wait: a child that has exited still has its /proc entry
            peak = max(peak, hwm)
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            if progress is not None:
                p = progress()
                if p != last:
                    last, last_t = p, now
            if rss > cap_mb:
                why = "memory"
            elif now - t0 > timeout or (stall is not None and now - last_t > stall):
                why = "hang"
            if why:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status = os.waitpid(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        text = lambda f: f.read().decode("utf-8", "backslashreplace")  # noqa: E731
        return _Child(None if why else proc.returncode, why, peak, seconds, text(out), text(err))


def _cli(python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "detector", "scan"]


def _nonfinite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_nonfinite(v) for v in value)
    return False


def classify_report(report, max_frames: int = 512) -> str | None:
    """Why ``report`` (a report's JSON form) is not sane, or None when it is."""
    if not isinstance(report, dict):
        return "not a JSON object"
    if _nonfinite(report):
        return "a NaN or infinite number"
    if report.get("label") not in LABELS:
        return f"label {report.get('label')!r}"
    score, thr = report.get("score"), report.get("threshold")
    if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
        return f"score {score!r}"
    if (score is None) != (report["label"] == "unknown"):
        return f"score {score!r} with label {report['label']!r}"
    if not (isinstance(thr, (int, float)) and 0 <= thr <= 1):
        return f"threshold {thr!r}"
    frames = report.get("frames")
    if not isinstance(frames, list) or not 1 <= len(frames) <= max_frames:
        return f"{len(frames) if isinstance(frames, list) else frames!r} frames"
    times = [fr.get("time") for fr in frames]
    if any(not isinstance(t, (int, float)) or t < 0 for t in times) or times != sorted(times):
        return f"frame times {times[:6]}"
    if any(not isinstance(fr.get("index"), int) or fr["index"] < 0 for fr in frames):
        return "a frame index that is not a whole number >= 0"
    for fr in frames:
        for face in fr.get("faces", []):
            if not 0 <= face.get("score", -1) <= 1 or len(face.get("box", [])) != 4:
                return f"a face {face}"
    info = report.get("video_info") or {}
    if not (info.get("width", 0) > 0 and info.get("height", 0) > 0 and info.get("duration", -1) >= 0):
        return f"video_info {info}"
    if not isinstance(report.get("warnings"), list) or any("\n" in w for w in report["warnings"]):
        return "warnings not one line each"
    return None


def _error_problem(message: str) -> str | None:
    """Why an input's error message is not a proper one-line error, or None."""
    if "\n" in message or "\r" in message:
        return "the error message spans several lines"
    if "Traceback" in message:
        return "a traceback in the error message"
    if "could not be analysed (" in message:  # the scan's wrapper for an unexpected exception: a bug
        return "an unexpected exception"
    if not message.strip():
        return "an empty error message"
    return None


def _stderr_problem(stderr: str, allow_other: bool = False) -> str | None:
    """Why stderr is not one-line errors (and notes) only (with --quiet a scan writes nothing else), or None."""
    if "Traceback" in stderr:
        return "Traceback on stderr: " + stderr.strip().splitlines()[-1][:200]
    if allow_other:
        return None
    # "note: " lines say what was done for the user (a missing output folder made), not a failure
    stray = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("error: ", "note: "))]
    if stray:
        return f"stderr line that is not an 'error: ' line: {stray[0][:200]!r}"
    return None


def _scan_folder(corpus: Corpus, python: str | None, stall: float, log) -> tuple[list[Outcome], dict]:
    """The inputs, scanned by one subprocess (restarted on the inputs left when one stalls, crashes or grows over
    the memory cap: the one in flight is the culprit)."""
    from detector.errors import InputError
    from detector.inference.video import list_videos

    inputs = corpus.inputs
    try:
        order = list_videos(str(inputs))  # what the scan takes, in its order
    except InputError:  # nothing to scan
        order = []
    by_path = {os.path.abspath(os.path.join(inputs, it.name)): it for it in corpus.items}
    listed = [os.path.abspath(p) for p in order]
    outcomes: dict[str, Outcome] = {}
    for p in set(by_path) - set(listed):
        outcomes[p] = Outcome(by_path[p].name, "input", "unexpected", "not listed by the folder scan")
    work = corpus.root / "work"
    runs, peak, stderr_all, seconds = 0, 0.0, "", 0.0
    pending = [p for p in listed if p in by_path]
    extra = [p for p in listed if p not in by_path]
    for p in extra:
        outcomes[p] = Outcome(
            os.path.relpath(p, inputs), "input", "unexpected", "scanned but not made by the generator"
        )
    rows: dict[str, dict] = {}
    scan_faults: list[Outcome] = []
    while pending:
        runs += 1
        jsonl, out_json = work / f"scan{runs}.jsonl", work / f"scan{runs}.json"
        target = [str(inputs)] if runs == 1 else pending
        cmd = [*_cli(python), *target, "--jsonl", str(jsonl), "--json", str(out_json), "--quiet"]

        def done(jsonl=jsonl) -> int:
            try:
                return jsonl.stat().st_size
            except OSError:
                return 0

        log(f"scan {runs}: {len(pending)} inputs")
        child = _spawn(cmd, timeout=max(600.0, 20.0 * len(pending)), progress=done, stall=stall)
        peak, seconds, stderr_all = max(peak, child.peak_mb), seconds + child.seconds, stderr_all + child.stderr
        new = {}
        if jsonl.exists():
            for line in jsonl.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
                try:
                    row = json.loads(line)
                    new[row["key"]["path"]] = row
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        rows.update(new)
        problem = _stderr_problem(child.stderr)
        if problem:  # stray stderr (a warning, a message over several lines): a fault of the scan, not of one input
            scan_faults.append(Outcome(f"scan {runs}: stderr", "scan", "bad-error", problem))
            problem = None
        if child.why is None and child.rc in (0, 1):
            reports = [r for r in new.values() if "report" in r]
            try:
                written = json.loads(out_json.read_text()) if out_json.exists() else None
            except json.JSONDecodeError as e:
                written = f"not JSON ({e})"
            entries = [written] if isinstance(written, dict) else written if isinstance(written, list) else None
            n = None if entries is None else sum("error" not in e for e in entries)
            failed = None if entries is None else sum("error" in e for e in entries)
            if reports and n != len(reports):
                problem = f"--json holds {n} reports, the JSONL {len(reports)}"
            elif new and failed != len(new) - len(reports):  # every input in --json, failed ones too
                problem = f"--json holds {failed} failed inputs, the JSONL {len(new) - len(reports)}"
            elif child.rc != (1 if any("error" in r for r in new.values()) else 0):
                problem = f"exit code {child.rc} with {len(new) - len(reports)} errors"
        if problem:
            scan_faults.append(Outcome(f"scan {runs}: outputs", "scan", "bad-error", problem))
        left = [p for p in pending if p not in new]
        if left and (child.why or child.rc not in (0, 1)):
            culprit = left.pop(0)
            kind = child.why or ("traceback" if "Traceback" in child.stderr else "crash")
            outcomes[culprit] = Outcome(
                by_path[culprit].name, "input", kind, f"scan killed or died (exit {child.rc}, {kind})", child.peak_mb
            )
        elif left:
            for p in left:
                outcomes[p] = Outcome(by_path[p].name, "input", "unexpected", "the scan finished without it")
            left = []
        pending = left
    for p, row in rows.items():
        if p in outcomes or p not in by_path:
            continue
        it = by_path[p]
        if "error" in row:  # the file's own name is data (it may hold a newline): the rest must be one line
            problem = _error_problem(row["error"].replace(p, "<path>").replace(os.path.basename(p), "<name>"))
            if problem:
                outcomes[p] = Outcome(it.name, "input", "bad-error", f"{problem}: {row['error'][:200]!r}")
            elif it.expect == "report":
                outcomes[p] = Outcome(it.name, "input", "unexpected", f"a valid input refused: {row['error'][:200]}")
            else:
                outcomes[p] = Outcome(it.name, "input", "error", row["error"][:200])
        else:
            why = classify_report(row.get("report"))
            n = len(row["report"].get("frames") or []) if isinstance(row.get("report"), dict) else None
            if not why and it.frames is not None and n != it.frames:
                why = f"{n} frames sampled, {it.frames} expected"
            if why:
                outcomes[p] = Outcome(it.name, "input", "insane", why)
            elif it.expect == "error":
                outcomes[p] = Outcome(it.name, "input", "unexpected", "garbage given a report")
            else:
                outcomes[p] = Outcome(it.name, "input", "report")
    stats = {"scan_runs": runs, "scan_peak_rss_mb": round(peak, 1), "scan_seconds": round(seconds, 1)}
    return [outcomes[p] for p in sorted(outcomes)], scan_faults, stats


def _run_case(case: ArgCase, python: str | None) -> Outcome:
    child = _spawn([*_cli(python), *case.args], timeout=CASE_TIMEOUT_S)
    o = Outcome(case.name, "case", "report", peak_mb=round(child.peak_mb, 1), seconds=round(child.seconds, 2))
    if child.why:
        o.outcome, o.detail = child.why, f"killed after {child.seconds:.0f} s, peak {child.peak_mb:.0f} MB"
        return o
    if "Traceback" in child.stderr:
        o.outcome, o.detail = "traceback", child.stderr.strip().splitlines()[-1][:200]
        return o
    if child.rc not in (0, 1, 2):
        o.outcome, o.detail = "crash", f"exit code {child.rc}"
        return o
    errors = [line for line in child.stderr.splitlines() if line.startswith("error: ")]
    problem = _stderr_problem(child.stderr) or next(filter(None, (_error_problem(e) for e in errors)), None)
    if problem:
        o.outcome, o.detail = "bad-error", problem
        return o
    if child.rc == 0:
        if errors:
            o.outcome, o.detail = "bad-error", f"exit 0 with an error line: {errors[0][:200]}"
            return o
        if case.json_out:
            try:
                text = child.stdout if case.json_out == "-" else Path(case.json_out).read_text()
                data = json.loads(text)
            except (OSError, json.JSONDecodeError) as e:
                o.outcome, o.detail = "insane", f"--json not readable ({e})"
                return o
            for r in data if isinstance(data, list) else [data]:
                why = classify_report(r)
                if why:
                    o.outcome, o.detail = "insane", why
                    return o
        if case.expect == "error":
            o.outcome, o.detail = "unexpected", "accepted (exit 0); a one-line error was expected"
        return o
    if not errors:
        o.outcome, o.detail = "bad-error", f"exit {child.rc} without an 'error: ' line"
        return o
    o.outcome, o.detail = "error", errors[0][:200]
    if case.expect == "report":
        o.outcome, o.detail = "unexpected", f"refused: {errors[0][:200]}"
    if case.json_out and os.path.exists(case.json_out) and case.json_out != "-":
        os.remove(case.json_out)
    return o


def run(corpus: Corpus, python: str | None = None, stall: float = STALL_S, log=print, jobs: int = 2) -> dict:
    """Scan ``corpus``, then run its argument cases (``jobs`` at a time); the result (counts, failures, peaks)."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    inputs, scan_faults, stats = _scan_folder(corpus, python, stall, log)
    log(f"{len(corpus.cases)} argument cases, {jobs} at a time")
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        cases = list(pool.map(lambda case: _run_case(case, python), corpus.cases))
    count = lambda rows: {k: sum(o.outcome == k for o in rows) for k in OUTCOMES if any(o.outcome == k for o in rows)}  # noqa: E731
    failures = [asdict(o) for o in scan_faults + inputs + cases if o.outcome not in ("report", "error")]
    return {
        "mode": corpus.mode,
        "inputs_made": len(corpus.items),
        "inputs": count(inputs),
        "inputs_by_group": {
            g: sum(it.group == g for it in corpus.items) for g in dict.fromkeys(it.group for it in corpus.items)
        },
        "cases_made": len(corpus.cases),
        "cases": count(cases),
        "failures": failures,
        **stats,
        "case_peak_rss_mb": max((o.peak_mb or 0.0 for o in cases), default=0.0),
        "case_seconds": round(sum(o.seconds or 0.0 for o in cases), 1),
        "seconds": round(time.monotonic() - t0, 1),
        "outcomes": [asdict(o) for o in inputs + cases],
    }


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="the representative CI set (about 60 inputs)")
    ap.add_argument("--keep", metavar="DIR", help="make the corpus in DIR (must be empty or missing) and keep it")
    ap.add_argument("--python", help="the interpreter that runs deepfake-lens (default: this one)")
    ap.add_argument("--stall", type=float, default=STALL_S, help="seconds without a finished input: a hang")
    ap.add_argument("--jobs", type=int, default=2, help="argument cases run side by side (default 2)")
    ap.add_argument("--generate-only", action="store_true", help="make the corpus and list it, do not run it")
    ap.add_argument("--verbose", action="store_true", help="list every input's outcome")
    args = ap.parse_args(argv)
    mode = "fast" if args.fast else "full"
    if args.keep:
        folder = Path(args.keep)
        if folder.exists() and any(folder.iterdir()):
            ap.error(f"--keep {folder}: not empty")
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="corpus_")
        folder = Path(cleanup.name)
    try:
        t = time.monotonic()
        corpus = generate(folder, mode)
        made_s = time.monotonic() - t
        print(f"made {len(corpus.items)} inputs and {len(corpus.cases)} argument cases in {made_s:.1f} s ({mode})")
        if args.generate_only:
            for it in corpus.items:
                print(f"  {it.group:9s} {it.expect:6s} {it.name!r}")
            return 0
        load = _load()
        log = lambda s: print(s, flush=True)  # noqa: E731
        result = run(corpus, python=args.python, stall=args.stall, log=log, jobs=args.jobs)
        result.update(generate_seconds=round(made_s, 1), load_before=load, load_after=_load())
        shown = result["outcomes"] if args.verbose else result["failures"]
        for o in shown:
            print(f"  {o['outcome']:10s} {o['kind']:5s} {o['name']!r}: {o['detail']}")
        print(
            f"inputs: {result['inputs_made']} made; "
            + ", ".join(f"{k} {v}" for k, v in result["inputs"].items())
            + f"  | argument cases: {result['cases_made']}; "
            + ", ".join(f"{k} {v}" for k, v in result["cases"].items())
        )
        print(
            f"failures: {len(result['failures'])}; scan {result['scan_seconds']} s in {result['scan_runs']} run(s), "
            f"peak {result['scan_peak_rss_mb']:.0f} MB; cases {result['case_seconds']} s, peak "
            f"{result['case_peak_rss_mb']:.0f} MB; load {load} -> {result['load_after']}"
        )
        if args.keep:
            (folder / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        brief = {k: v for k, v in result.items() if k not in ("outcomes", "failures")}
        brief["failures"] = len(result["failures"])
        print(json.dumps(brief, default=str))
        return 1 if result["failures"] else 0
    finally:
        if cleanup is not None:
            _make_removable(Path(cleanup.name))
            cleanup.cleanup()


def _make_removable(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = os.path.join(root, name)
            if not os.path.islink(p) and stat.S_ISREG(os.lstat(p).st_mode):
                os.chmod(p, 0o644)


if __name__ == "__main__":
    sys.exit(main())
