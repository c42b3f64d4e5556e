"""Video decoding with PyAV: sample frames evenly (or at a rate), decode only what is needed.

The first stage of the pipeline.  ``sample_frames`` turns a path into a list of
:class:`SampledFrame` (RGB ``uint8`` arrays with their frame index and time in seconds).

* Times come from each frame's own timestamp, so variable-frame-rate clips sample
  correctly.
* Only the frames that are kept are converted to RGB; to reach a target far ahead
  of the decoder the reader seeks to the keyframe before it instead of decoding
  everything in between.
* Rotation metadata (phones) is applied, so faces are upright.
* :class:`Limits` caps file size, duration and resolution; every rejection is an
  :class:`~detector.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import collections
import copy
import itertools
import math
import numbers
import os
import re
import stat
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import av
import numpy as np

from detector.constants import (  # noqa: E402
    GIF_EXTENSIONS,
    HEAVY_COMPRESSION_BPP,
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    SMALLEST_TRAINING_CLIP_SIDE,
)
from detector.errors import InputError


@dataclass(frozen=True)
class Limits:
    """What the pipeline accepts.  Defaults suit the CLI; the app passes tighter ones."""

    max_file_mb: float = 2048.0
    max_duration_s: float = 600.0
    max_pixels: int = 2560 * 1440  # 1440p is the largest accepted; 4K is refused
    max_frames: int = 512  # most frames one analysis may sample

    def __post_init__(self) -> None:  # a NaN limit let every file through (an audit: a 2-hour clip was analysed)
        for name in ("max_file_mb", "max_duration_s", "max_pixels", "max_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (value > 0):
                raise InputError(f"Limits.{name} must be a positive number (math.inf: no limit); got {value!r}")


@dataclass
class VideoInfo:
    path: str
    width: int  # after rotation
    height: int
    fps: float
    duration: float  # seconds
    frame_count: int  # estimated when the container does not say
    rotation: int  # degrees, counter-clockwise, as applied
    codec: str
    # where the frames stopped short (seconds; None: they did not): at damaged data, or well before the stream's
    # own header's end (see _check_end)
    damaged_at: float | None = field(default=None, repr=False)
    transparent: bool = field(default=False, repr=False)  # a photo with transparent parts (laid on white): a cut-out
    grey_share: float = field(default=0.0, repr=False)  # a JPEG's last rows in the decoder's flat grey: cut short
    # the decoded frames' pixel format ("yuv420p", "yuv444p", "yuv420p10le"...): whether a browser's player shows it
    pixel_format: str = field(default="", repr=False)
    # degrees (counter-clockwise) a photo was turned because its faces lay on their side, to be analysed upright
    # (detector.inference.pipeline.frames_and_faces); width and height are then the turned photo's
    turned_upright: int = field(default=0, repr=False)
    # a photo's own [width, height] where it was larger than it is analysed (shrunk to MAX_STILL_SIDE): width and
    # height, and the face boxes, are then the shrunk picture's
    shrunk_from: list[int] | None = field(default=None, repr=False)
    # times the video's timestamps start again (an MPEG program or transport stream made of files joined end to end,
    # as ``cat a.mpg b.mpg`` joins them): its duration and frames are then counted, and frames timed by their order
    restarts: int = field(default=0, repr=False)

    def to_dict(self) -> dict:  # the report's video_info (the fields of a photo's particulars only where they are so)
        return {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("damaged_at", "pixel_format")
            and (k not in ("transparent", "grey_share", "turned_upright", "shrunk_from", "restarts") or v)
        }


@dataclass
class SampledFrame:
    index: int  # frame number in the clip (from its timestamp)
    time: float  # seconds from the start of the clip
    image: np.ndarray | None = field(repr=False)  # H x W x 3 RGB uint8, upright (None once analyze has used it)
    faces: list | None = field(default=None, repr=False)  # analyze's faces of this frame, found as it was decoded
    shape: tuple[int, int] | None = field(default=None, repr=False)  # (height, width) as decoded, once image is let go


# What PyAV and FFmpeg raise on a damaged or unusual file.  InputError (a ValueError) is re-raised before these
# are caught, so its message is never wrapped twice.
_AV_ERRORS = (av.FFmpegError, OSError, EOFError, ValueError, TypeError, ArithmeticError, IndexError)

# demuxers of still images: FFmpeg reads a photo or an icon as a one-frame "video"
_STILL_FORMATS = {"image2", "ico", "alias_pix", "brender_pix", "imagepipe"}


def _check_file(path: str, limits: Limits) -> None:
    """Refuse, before FFmpeg sees it, what is not a regular file of an acceptable size."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or _short(e)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a folder, not a video or a photo")
    if not stat.S_ISREG(st.st_mode):  # a device (/dev/urandom), a FIFO, a socket: no size to check, maybe no end
        raise InputError(f"{path}: not a regular file (a device, pipe or socket)")
    if st.st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")
    if st.st_size > limits.max_file_mb * 1024 * 1024:
        raise InputError(f"{path}: the file is {st.st_size / 2**20:.0f} MB, over the {limits.max_file_mb:.0f} MB limit")


@contextmanager
def _opened(path: str, limits: Limits):
    """The container of a video file, checked (a video stream, not a still image), closed on exit.

    FFmpeg reads the file through a Python file object, so a name such as ``concat:a.mp4`` or ``file:a.mp4`` is
    only a name, never an FFmpeg protocol.
    """
    _check_file(path, limits)
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or _short(e)})") from None
    with fh:
        try:
            container = av.open(fh, metadata_errors="ignore")
        except InputError:
            raise
        except _AV_ERRORS as e:
            raise InputError(f"{path}: not a readable video ({_short(e)})") from None
        try:
            _check_streams(container, path)
            yield container
        finally:
            try:
                container.close()
            except _AV_ERRORS:
                pass


def _check_streams(container, path: str) -> None:
    fmt = container.format.name or ""
    if fmt in _STILL_FORMATS or fmt.endswith("_pipe"):
        kind = fmt.replace("_pipe", "")  # a photo under another name ("photo.heic" holding a JPEG, a review): the
        # photo path takes jpg, png, webp and bmp by their names
        raise InputError(
            f"{path}: a {kind} picture under a name that is not a photo's; name it .jpg, .png, .webp or .bmp "
            "to analyse it as a photo"
        )
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        raise InputError(f"{path}: no video stream in this file (it holds {', '.join(kinds)})")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise InputError(f"{path}: no decoder for this video's codec")
    stream.thread_type = "AUTO"  # frame threads: decode on both cores


def _short(e: Exception) -> str:
    """FFmpeg's reason in a few words: no error number, no repeated file name; its "Invalid data found when
    processing input" in plain words (a browser check: read as jargon for a file cut off while downloading)."""
    if isinstance(e, av.error.InvalidDataError):
        return "the file is damaged, cut off, or not a video at all"
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    msg = re.sub(r"^\[Errno -?\d+\]\s*", "", msg)
    msg = re.sub(r":\s*'[^']*'$", "", msg)  # PyAV appends ": '<path>'"; the caller names the file already
    return msg[:160]


def _rotation(stream) -> int:
    """Rotation to apply, in degrees counter-clockwise, from the stream's tag (old files and muxers)."""
    for key in ("rotate", "ROTATE"):
        value = stream.metadata.get(key)
        if value:
            try:
                return _quarter(-float(value))  # the tag is clockwise
            except (ValueError, OverflowError):
                pass
    return 0


def _frame_rotation(frame, fallback: int) -> int:
    """Rotation of a decoded frame, counter-clockwise degrees, from its display matrix; ``fallback`` without one.

    The matrix is read here rather than through PyAV's ``frame.rotation``: FFmpeg's angle of a degenerate matrix
    (all zeros) is NaN, which PyAV turns into -2**31 degrees (a half turn once reduced).  A degenerate matrix
    is no rotation.
    """
    try:
        side = frame.side_data.get("DISPLAYMATRIX")
    except (KeyError, ValueError, TypeError, AttributeError):
        side = None
    if side is None:
        return fallback
    m = np.frombuffer(bytes(side), dtype=np.int32)  # 3x3, row-major; a b c d in 16.16 fixed point
    if m.size < 9:
        return 0
    a, b, c, d = (float(v) / 65536.0 for v in (m[0], m[1], m[3], m[4]))
    sx, sy = math.hypot(a, c), math.hypot(b, d)
    if sx == 0.0 or sy == 0.0:
        return 0
    angle = -math.degrees(math.atan2(b / sy, a / sx))  # as av_display_rotation_get
    return _quarter(angle)


def _quarter(angle: float) -> int:
    """``angle`` (degrees) as the quarter turn it is within a degree of, in [0, 360); any other angle is no rotation.

    Frames are only ever turned by quarter turns (as FFmpeg's own autorotation does), so a 45-degree matrix or a
    tag of 1e20 degrees is reported as the 0 it is applied as, not as 45 or 80.
    """
    a = angle % 360.0
    q = round(a / 90.0) * 90
    return int(q) % 360 if abs(a - q) <= 1.0 else 0


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    # PyAV's rotation is the display-matrix angle (counter-clockwise); turn the pixels by it.
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


_PROBED: collections.OrderedDict = collections.OrderedDict()  # (path, size, mtime, limits) -> (ok, info or message)
_PROBED_LOCK = threading.Lock()


def probe_cached(path: str, limits: Limits = Limits()) -> VideoInfo:
    """:func:`probe`, read once per unchanged file: the app's line under the player, its "Ready" line and Analyse's
    check each asked for the same header (a review: two or three header reads per upload).  Keyed by the file's
    size and modification time (a changed file is read again); a refusal is kept too, and raised again."""
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return probe(path, limits)  # its own words for a path that is not a file
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, limits)
    with _PROBED_LOCK:
        hit = _PROBED.get(key)
    if hit is None:
        try:
            hit = (True, probe(path, limits))
        except InputError as e:
            hit = (False, str(e))
        with _PROBED_LOCK:
            _PROBED[key] = hit
            while len(_PROBED) > 64:
                _PROBED.popitem(last=False)
    ok, value = hit
    if not ok:
        raise InputError(value)
    return copy.copy(value)  # the caller's own: a change to it is not seen by the next


def probe(path: str, limits: Limits = Limits()) -> VideoInfo:
    """Read the header of a video and check it against ``limits`` (decodes at most one frame)."""
    try:
        with _opened(path, limits) as container:
            return _probe(container, path, limits)[0]
    except InputError:
        raise
    except _AV_ERRORS as e:
        raise InputError(f"{path}: not a readable video ({_short(e)})") from None


def _start(stream) -> float:
    """Seconds of the stream's first timestamp (a clip's times count from there)."""
    if stream.start_time is None or not stream.time_base:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return fps if math.isfinite(fps) and fps > 0 else 0.0


def _probe(container, path: str, limits: Limits):
    """The clip's VideoInfo, checked against ``limits``; its first frame (decoded) and the frames after it."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width * height > limits.max_pixels:  # refused before a frame is decoded
        raise InputError(_too_large(path, width, height, limits))
    fps = _fps(stream)
    frames = container.decode(stream)
    try:
        first = next(frames, None)
    except InputError:
        raise
    except _AV_ERRORS as e:
        raise InputError(f"{path}: the video stream cannot be decoded ({_short(e)})") from None
    if first is None:
        raise InputError(f"{path}: the video stream holds no frames (empty or truncated file)")
    rotation = _frame_rotation(first, _rotation(stream))
    width, height = width or first.width, height or first.height
    if rotation in (90, 270):
        width, height = height, width
    if width * height > limits.max_pixels:
        raise InputError(_too_large(path, width, height, limits))
    duration, frame_count = _duration(container, stream, fps, path, limits)
    restarts = 0
    if (container.format.name or "") in JOINABLE_FORMATS:  # files joined end to end: the header tells of the first
        restarts, counted = _restarts(path, fps, limits)
        if restarts and counted and fps:
            duration, frame_count = counted / fps, counted
    if duration > limits.max_duration_s:
        raise InputError(f"{path}: the clip lasts {duration:.4g} s, longer than the {limits.max_duration_s:g} s limit")
    info = VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        frame_count=frame_count,
        rotation=rotation,
        codec=ctx.name or "?",
        pixel_format=getattr(getattr(first, "format", None), "name", "") or "",
        restarts=restarts,
    )
    return info, first, frames


# containers that files joined byte by byte stay valid in (MPEG program and transport streams: ``cat a.mpg b.mpg``),
# whose header then tells of the first file only (an audit: the second half of a joined .mpg was never sampled)
JOINABLE_FORMATS = {"mpeg", "mpegts"}
RESTART_GAP_S = 0.5  # a timestamp this far behind the latest one so far starts the video again (not B-frame order)


def _restarts(path: str, fps: float, limits: Limits) -> tuple[int, int]:
    """How many times the video stream's timestamps start again, and its packets (:func:`_packets`).  The packets
    stand for frames only where the timestamps restart (the caller then counts on them; a stream coded field by field
    has two packets a frame, but is seldom joined so)."""
    restarts, n, latest = 0, 0, None
    with _packets(path, limits) as (stream, packets):
        gap = RESTART_GAP_S / float(stream.time_base) if stream.time_base else None
        for ts, _ in packets:
            n += 1
            if restarts and fps and n / fps > limits.max_duration_s:  # (counted only where they restart)
                raise InputError(f"{path}: the clip lasts longer than the {limits.max_duration_s:g} s limit")
            if ts is None or gap is None:
                continue
            if latest is not None and ts < latest - gap:
                restarts += 1
                latest = ts
            latest = ts if latest is None else max(latest, ts)
    return restarts, n


@contextmanager
def _packets(path: str, limits: Limits):
    """The video stream of a second reader of the file and its packets, read without decoding, as (timestamp,
    duration): the pts, else the dts, else None.  The empty packet that flushes the decoder at the end is skipped;
    a damaged tail ends them (what was read so far stands)."""
    with _opened(path, limits) as container:
        stream = container.streams.video[0]

        def walk():
            try:
                for packet in container.demux(stream):
                    if packet.size:
                        yield (packet.pts if packet.pts is not None else packet.dts), packet.duration or 0
            except InputError:  # (a ValueError: the reader's own limits)
                raise
            except _AV_ERRORS:
                return

        packets = walk()
        try:
            yield stream, packets
        finally:
            packets.close()  # the demuxer released before the file closes, also where the caller raised


def restart_warning(info: VideoInfo) -> str | None:
    """The report's line for a video whose timestamps start again (:attr:`VideoInfo.restarts`), else None."""
    if not getattr(info, "restarts", 0):
        return None
    times = "once" if info.restarts == 1 else f"{info.restarts} times"
    return (
        f"The video's timestamps start again {times} (files joined end to end?): the whole file was sampled, its "
        f"{info.frame_count} frames timed by their order in it at {info.fps:g} fps, so the times shown are counted, "
        "not the file's own."
    )


def _too_large(path: str, width: int, height: int, limits: Limits) -> str:
    return (
        f"{path}: frames are {width}x{height}, larger than the limit of {limits.max_pixels / 1e6:.1f} megapixels "
        "(downscale it to 1080p or less)"
    )


def _duration(container, stream, fps: float, path: str, limits: Limits) -> tuple[float, int]:
    """Seconds and frames of the video stream, from the stream's own header; else counted from its packets.

    The container's duration is used only when the clip starts at 0: some formats (Matroska) count it from
    timestamp 0, others from the first frame, so for a clip that starts late it is either the clip's length or
    its end.  Counting reads the packets without decoding them.
    """
    duration = None
    if stream.duration and stream.duration > 0 and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif stream.frames and fps:
        duration = stream.frames / fps
    elif container.duration and container.duration > 0:
        starts = [container.start_time or 0, (stream.start_time or 0) * float(stream.time_base or 0) * av.time_base]
        if all(abs(s) <= av.time_base / 2 for s in starts):
            duration = container.duration / av.time_base
    if duration is not None and math.isfinite(duration) and duration > 0:
        return duration, int(stream.frames or round(duration * fps))
    return _count(path, fps, limits)


def _count(path: str, fps: float, limits: Limits) -> tuple[float, int]:
    """Seconds and frames of the video stream, counted from its packets (:func:`_packets`).

    Stops as soon as the clip is known to be over ``limits.max_duration_s``.
    """
    n, first, end, timed = 0, None, None, True
    with _packets(path, limits) as (stream, packets):
        tb = float(stream.time_base) if stream.time_base else 0.0
        start = stream.start_time
        for ts, duration in packets:
            n += 1
            if ts is None or not tb:
                timed = False
            if timed:
                first = ts if first is None else min(first, ts)
                stop = ts + duration
                end = stop if end is None else max(end, stop)
                seconds = (end - (start if start is not None else first)) * tb
            else:
                seconds = n / fps if fps else 0.0
            if seconds > limits.max_duration_s:
                raise InputError(f"{path}: the clip lasts longer than the {limits.max_duration_s:g} s limit")
    if timed and end is not None:
        seconds = (end - (start if start is not None else first)) * tb
        if end == first and fps:  # one packet without a duration: one frame's time
            seconds += 1.0 / fps
    else:
        seconds = n / fps if fps else 0.0
    return max(0.0, float(seconds)), n


def _check_request(n_frames: float | None, fps: float | None, max_frames: int) -> None:
    """Refuse a frame count or a rate that cannot be sampled, before anything is allocated or decoded."""
    if fps:  # None or 0: sample n_frames evenly
        if not (math.isfinite(fps) and fps > 0):
            raise InputError(f"the sampling rate must be a positive number of frames per second, not {fps}")
        return
    if n_frames is None or n_frames == 0:
        return  # the default
    if not (math.isfinite(n_frames) and n_frames >= 1):
        raise InputError(f"the number of frames to sample must be at least 1, not {n_frames}")
    if n_frames > max_frames:
        raise InputError(
            f"asked for {n_frames:.0f} frames; the limit is {max_frames} (ask for fewer frames or a lower rate)"
        )


def sample_times(
    duration: float, n_frames: int | None = 32, fps: float | None = None, max_frames: int = 512
) -> list[float]:
    """Target times: ``n_frames`` spread evenly (centre of equal slices), or every ``1/fps`` seconds.

    Too many targets are refused (InputError) before the list is built.
    """
    _check_request(n_frames, fps, max_frames)
    if not math.isfinite(duration) or duration <= 0:
        return [0.0]
    if fps:
        expected = duration * fps  # the number of targets, but for rounding
        if expected > max_frames + 1:
            count = f"{expected:.0f}" if expected < 1e12 else f"{expected:.3g}"  # --fps 1e308: not 309 digits
            raise InputError(
                f"asked for about {count} frames; the limit is {max_frames} (ask for fewer frames or a lower rate)"
            )
        step = 1.0 / fps
        if not math.isfinite(step):  # a rate so small (5e-324) that its interval overflows: the first frame
            return [0.0]
        times = [i * step for i in range(int(duration / step) + 1) if i * step < duration]
    else:
        n = int(n_frames or 32)
        times = [(i + 0.5) * duration / n for i in range(n)]
    if len(times) > max_frames:
        raise InputError(
            f"asked for {len(times)} frames; the limit is {max_frames} (ask for fewer frames or a lower rate)"
        )
    return times


def _check_end(info: VideoInfo, stream, tb: float, last, last_t: float, times: list[float]) -> None:
    """At the end of the stream: set ``info.damaged_at`` when the last frame (``last``, at ``last_t`` s) ends
    well before the last target time although the video stream's own header says it lasts longer: a file cut
    short.  A duration from the container (which may count a longer audio track) proves nothing, and a last frame
    shown for long (a variable frame rate) ends where its own duration says."""
    if not (times and stream.duration and tb):
        return
    span = float(last.duration * tb) if last is not None and last.duration else (1.0 / info.fps if info.fps else 0.0)
    if times[-1] - (last_t + span) > max(1.0, 0.05 * info.duration):
        info.damaged_at = last_t


def cut_short(info: VideoInfo) -> str | None:
    """A warning when the frames stopped at damaged data, or ended well before the video stream's own header says,
    with sampling times still ahead (``info.damaged_at``, set while decoding): a file cut short.  Else None."""
    if info.damaged_at is None:
        return None
    return (
        f"The clip's frames stop at {info.damaged_at:.1f} s of the {info.duration:.1f} s its header gives: the "
        "file looks cut short or damaged there, and what follows was not analysed."
    )


SMALL_THRESHOLD = "For a video this small the model uses"  # how small_threshold_warning's line starts
SMALL_PHOTO_THRESHOLD = "For a photo this small the model uses"  # and how it starts of a photo
MANY_FACES_THRESHOLD = "For a photo with this many faces the model uses"  # how many_faces_warning's line starts
SMALLER_THAN_TRAINING = "smaller than every FaceForensics++ clip the model trained on"  # small_clip_warning says it


def small_clip_warning(info: VideoInfo) -> str | None:
    """A warning when the video is smaller than every FaceForensics++ clip (:data:`SMALLEST_TRAINING_CLIP_SIDE` on
    its short side), as a clip sent on through a messaging app often is; else None.  For a model trained on
    FaceForensics++ (the pipeline asks): the measure behind it is the default's.  Said of the file, alike for every
    model (the Compare tab shows it once); a model's own threshold for such videos is
    :func:`small_threshold_warning`."""
    side = min(info.width, info.height)
    if not side or side >= SMALLEST_TRAINING_CLIP_SIDE:
        return None
    if str(info.path).lower().endswith(GIF_EXTENSIONS):  # an animation is small by nature: not "forwarded"
        return (
            f"The animated GIF is {info.width}x{info.height}, {SMALLER_THAN_TRAINING} "
            f"({SMALLEST_TRAINING_CLIP_SIDE} px on the short side): its score means less (shrunk to 360 px "
            "and compressed, real clips were called fake more than twice as often by the default's fold models)."
        )
    return (
        f"The video is {info.width}x{info.height}, {SMALLER_THAN_TRAINING} "
        f"({SMALLEST_TRAINING_CLIP_SIDE} px on the short side), as a clip forwarded through a messaging app often "
        "is. Such clips are judged less reliably both ways: shrunk to 360 px and compressed again, real clips scored "
        "over the usual threshold more than twice as often, and fewer fakes were caught. Look for the original or a "
        "better copy."
    )


def bits_per_pixel(path: str, info: VideoInfo) -> float | None:
    """How heavily the file is compressed: its size in bits over its pixels (duration x fps x width x height); None
    where the header gives no duration, frame rate or size, or the file cannot be sized."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    pixels = info.duration * info.fps * info.width * info.height
    return size * 8 / pixels if pixels > 0 and math.isfinite(pixels) else None


KEYFRAMES_READ = 8  # keyframe_bits_per_pixel reads at most this many keyframes ...
PACKETS_READ = 3000  # ... among at most this many packets (a long clip's header and first minutes: milliseconds)


def keyframe_bits_per_pixel(path: str, info: VideoInfo) -> float | None:
    """How heavily the file's whole pictures are compressed: the median size of its first keyframes (at most
    :data:`KEYFRAMES_READ`, among its first :data:`PACKETS_READ` packets; read, not decoded) in bits over a frame's
    pixels.  Unlike :func:`bits_per_pixel` it does not fall with a still picture (a photo shown as a clip costs
    few bits between keyframes at any quality).  None where none is found or the file cannot be read."""
    pixels = info.width * info.height
    if pixels <= 0:
        return None
    sizes = []
    try:
        with av.open(path) as container:
            for i, packet in enumerate(container.demux(container.streams.video[0])):
                if packet.size and packet.is_keyframe:
                    sizes.append(packet.size)
                if len(sizes) >= KEYFRAMES_READ or i >= PACKETS_READ:
                    break
    except Exception:  # noqa: BLE001 -- a figure for a warning: the analysis itself says what is wrong with the file
        return None
    return float(np.median(sizes)) * 8 / pixels if sizes else None


def heavy_compression_warning(
    bpp: float, c40_auc: float | None = None, c23_auc: float | None = None, of_model: bool = True
) -> str:
    """What is said of a video under :data:`HEAVY_COMPRESSION_BPP` judged short of fake: compressed as heavily as
    FaceForensics++'s c40 videos, where the model (its card's AUCs, where measured) misses many fakes.  ``of_model``
    false: said of the file alone, no model's figures (the compare view, where each model has its own)."""
    measured = ""
    if of_model:
        measured = (
            f" (AUC {c40_auc:.2f} on FaceForensics++'s c40 videos"
            + (f", against {c23_auc:.2f} on its c23 ones)" if c23_auc is not None else ")")
            if c40_auc is not None
            else " (this model was not measured at that compression)"
        )
    return (
        f"The video is compressed very heavily ({bpp:.4f} bits per pixel), as FaceForensics++'s c40 videos are "
        f"(under {HEAVY_COMPRESSION_BPP}; its c23 videos 0.026 and more). At that compression fakes are told from "
        f"real faces far less well{measured}: many fakes are missed, so a verdict short of fake means little here."
    )


def is_heavy_compression_warning(text: str) -> bool:
    """Whether ``text`` is :func:`heavy_compression_warning`'s."""
    return text.startswith("The video is compressed very heavily")


def is_small_clip_warning(text: str) -> bool:
    """Whether ``text`` is :func:`small_clip_warning`'s."""
    return text.startswith(("The video is ", "The animated GIF is ")) and SMALLER_THAN_TRAINING in text


def small_threshold_warning(small: dict, usual: float, photo: bool = False, face: bool = False) -> str:
    """What the model card's threshold for small videos (or, with ``photo``, small photos) is (``small``: its
    :meth:`~detector.models.card.ModelCard.small_rule`; ``usual``: the card's threshold for other inputs). Said
    where that threshold judged the file; at one set by hand it is kept on the report (``card_lines``) for the
    slider, not said (an audit: it read as the threshold in use)."""
    t, band = float(small["threshold"]), small.get("uncertain")
    # "about 1 in 20": set on real clips (photos) shrunk to that size for at most 5% (the default's, judged apart:
    # each clip at the threshold the other folds' clips give, each photo at the one the other half's give)
    low = f" Scores from {band[0]:.3f} up to it are uncertain." if band and band[0] < t else ""
    measured = f" of those measured at {int(small['measured_at'])} px" if small.get("measured_at") else ""
    if photo:
        what = (
            f"a face in the photo is under {int(small['below'])} px across, smaller than every face in the photos it "
            "trained on"
            if face
            else f"the photo is under {int(small['below'])} px on its short side, smaller than every photo it trained "
            "on"
        )
        return (
            f"{SMALL_PHOTO_THRESHOLD} a stricter threshold, {t:.3f} instead of {float(usual):.3f} ({what}): shrunk "
            f"this far, real faces are called fake more often, and at this threshold few real photos are (about 1 in "
            f"20{measured}); it also calls fewer fakes fake.{low} A larger copy of the photo, if there is one, says "
            "more."
        )
    return (
        f"{SMALL_THRESHOLD} a stricter threshold, {t:.3f} instead of {float(usual):.3f}, so that few real clips "
        f"are called fake (about 1 in 20{measured}); it also calls fewer fakes fake.{low}"
    )


def many_faces_warning(tier: dict, usual: float, faces: int) -> str:
    """What the model card's threshold for photos with several faces is (``tier``: its
    :meth:`~detector.models.card.ModelCard.faces_rule` for ``faces`` judged faces; ``usual``: the card's threshold
    for one face). Said where that threshold judged the photo, as :func:`small_threshold_warning` is."""
    t, band, k = float(tier["threshold"]), tier.get("uncertain"), int(tier["faces"])
    low = f" Scores from {band[0]:.3f} up to it are uncertain: look at those faces." if band and band[0] < t else ""
    size = f", one of them under {int(tier['below'])} px across" if tier.get("below") else ""
    small = " that small" if size else ""
    more = "" if faces == k else f" (set for {k}: with {faces}, more often)"  # the rate climbs again past the tiers
    return (
        f"{MANY_FACES_THRESHOLD} a stricter threshold, {t:.3f} instead of {float(usual):.3f} ({faces} faces{size}, "
        "each judged on its own, and the photo called fake if one is): the more real faces a photo holds, the "
        f"likelier one of them scores high by chance (smaller faces more so), and at this threshold about 1 in 20 "
        f"photos of {k} real faces{small} has one called fake{more}. It also calls fewer fakes fake.{low}"
    )


class _Unseekable(Exception):
    """The container refused a seek (a raw stream): decode the file again from the start, straight through."""


def sample_frames(
    path: str,
    n_frames: int | None = 32,
    fps: float | None = None,
    limits: Limits = Limits(),
    seek_gap: float = 2.0,
    on_frame: Callable[[SampledFrame], None] | None = None,
    times: Sequence[float] | None = None,
) -> tuple[VideoInfo, list[SampledFrame]]:
    """Decode the frames nearest to evenly spaced target times (or to ``times``, in seconds, when given: the same
    moments of another clip, say).

    Frames between targets are decoded (a codec needs them) but never converted to
    RGB; when the next target lies more than ``seek_gap`` seconds ahead the reader
    seeks to the keyframe before it instead, unless that keyframe is behind the
    decoder (known from the container's index, or learnt from a seek that went back):
    then it decodes straight on, so a clip with one keyframe is decoded about once,
    not once per target.  On a clip whose frames are fewer than the targets, each frame
    is returned once.

    ``on_frame`` is called with each sampled frame as soon as it is decoded (in time order), and may shrink or drop
    its image: :func:`detector.inference.pipeline.analyze` finds the faces there, so the clip's full-size frames are
    never all in memory at once.  If a clip turns out unseekable it is decoded again from the start and
    ``on_frame`` sees fresh frames; only the returned list counts.
    """
    if times is None:
        _check_request(n_frames, fps, limits.max_frames)
    elif not times or len(times) > limits.max_frames or not all(math.isfinite(t) and t >= 0 for t in times):
        raise InputError(f"times to sample must be 1 to {limits.max_frames} finite seconds, at or after 0")
    try:
        with _opened(path, limits) as container:
            info, first, rest = _probe(container, path, limits)
            if times is None:
                times = sample_times(info.duration, n_frames, fps, limits.max_frames)
            else:
                times = sorted(float(t) for t in times)
            stream = container.streams.video[0]
            try:
                return info, _decode_at(container, stream, info, times, seek_gap, path, first, rest, on_frame)
            except _Unseekable:
                pass
        with _opened(path, limits) as container:
            stream = container.streams.video[0]
            rest = container.decode(stream)
            first = next(rest, None)
            if first is None:
                raise InputError(f"{path}: no frame could be decoded (empty or truncated video)")
            return info, _decode_at(container, stream, info, times, math.inf, path, first, rest, on_frame)
    except InputError:
        raise
    except _AV_ERRORS as e:
        raise InputError(f"{path}: the video cannot be decoded ({_short(e)})") from None


def _keyframe_before(stream, seconds: float, tb: float, start: float) -> float | None:
    """Time (from the clip's start) of the keyframe that a seek to ``seconds`` lands on, from the container's
    index; None when the index cannot say (no index, or one built while reading that does not reach so far)."""
    entries = stream.index_entries
    count = len(entries)
    if not count:
        return None
    ts = int((start + seconds) / tb)
    if entries[count - 1].timestamp < ts:
        return None
    k = entries.search_timestamp(ts, backward=True, any_frame=False)
    if k < 0:
        return None
    return entries[k].timestamp * tb - start


def _decode_at(
    container, stream, info: VideoInfo, times: list[float], seek_gap: float, path: str, first, rest, on_frame=None
) -> list[SampledFrame]:
    """The frames nearest to ``times``: decoding on from ``first`` (already decoded) and ``rest``."""
    tb = float(stream.time_base) if stream.time_base else 0.0
    start = _start(stream)
    half = 0.5 / info.fps if info.fps else 0.0
    # a raw stream, or one whose timestamps start again (files joined): times from the frame count, no seeking
    timeless = first.pts is None or not tb or bool(info.restarts)
    can_seek = not timeless
    out: list[SampledFrame] = []
    taken: set[float] = set()
    frames = itertools.chain([first], rest)
    n = -1  # frames decoded since the start (used only without timestamps, where nothing is sought)
    last_t = 0.0 if timeless else first.pts * tb - start  # time of the last decoded frame: the decoder's position
    prev, prev_t = None, 0.0  # last decoded frame (candidate when the target falls between two frames)
    sought = -1  # index of the last target a seek was considered for: at most one seek per target
    landing_from = None  # after a seek: the decoder's position before it
    no_key_span = 0.0  # seconds without a keyframe that a seek back has shown: shorter jumps decode straight on
    i = 0
    try:
        while i < len(times):
            target = times[i]
            if can_seek and sought < i and target - last_t > max(seek_gap, no_key_span):
                sought = i
                key = _keyframe_before(stream, target, tb, start)
                if key is None or key > last_t + half:
                    # jump to the keyframe before the target instead of decoding everything in between
                    try:
                        container.seek(int((start + target) / tb), stream=stream, backward=True, any_frame=False)
                    except av.FFmpegError:
                        raise _Unseekable() from None
                    frames = container.decode(stream)
                    prev = None
                    landing_from = last_t
            frame = next(frames, None)
            if frame is None:  # end of stream: the remaining targets take the last frame
                if prev is not None and prev_t not in taken:
                    out.append(_to_sample(prev, prev_t, info, on_frame))
                    taken.add(prev_t)
                _check_end(info, stream, tb, prev, prev_t if prev is not None else last_t, times)
                break
            n += 1
            if timeless:
                t = n / info.fps if info.fps else 0.0
            elif frame.pts is None:
                continue
            else:
                t = frame.pts * tb - start
            if landing_from is not None:
                if t <= landing_from + half:
                    # the seek went back to a keyframe at or before where the decoder was: there is none for
                    # (target - t) seconds, so a jump no longer than that decodes straight on.  On a clip with
                    # one keyframe a seek is then tried again only for a jump longer than the whole clip so far:
                    # the frames are decoded at most about twice, not once per target.
                    no_key_span = max(no_key_span, target - t)
                landing_from = None
            last_t = t
            if t + half < target:
                prev, prev_t = frame, t
                continue
            # frame is the first at/after the target: each target up to it takes whichever of it and the previous
            # frame is nearer (frames further apart than the rate says, e.g. a gap in a variable-rate clip, can
            # have targets nearer to each of them: neither is lost)
            while i < len(times) and times[i] <= t + half:
                near_prev = prev is not None and times[i] - prev_t < t - times[i]
                pick, pick_t = (prev, prev_t) if near_prev else (frame, t)
                if pick_t not in taken:
                    out.append(_to_sample(pick, pick_t, info, on_frame))
                    taken.add(pick_t)
                i += 1
            prev, prev_t = frame, t
    except (InputError, _Unseekable):
        raise
    except _AV_ERRORS as e:
        if not out:
            raise InputError(f"{path}: the video cannot be decoded ({_short(e)})") from None
        # a truncated file: keep what was decoded before the damage, and say where it stopped (cut_short)
        info.damaged_at = max(fr.time for fr in out)
    if not out:
        raise InputError(f"{path}: no frame could be decoded (empty or truncated video)")
    return out


def skipped_line(folder: str, skipped: list[str]) -> str:
    """One line for the files of ``folder`` that a scan passed over: how many, and of which kinds."""
    from collections import Counter

    kinds = Counter(os.path.splitext(p)[1].lower() or "no extension" for p in skipped)
    named = ", ".join(f"{n} {k}" for k, n in kinds.most_common(4)) + (", ..." if len(kinds) > 4 else "")
    return (
        f"{folder}: {len(skipped)} file(s) skipped, not videos or photos by their names ({named}); "
        f"photos are read as {', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS + GIF_EXTENSIONS)}"
    )


def _to_sample(frame, t: float, info: VideoInfo, on_frame=None) -> SampledFrame:
    t = max(0.0, float(t))
    image = _upright(frame.to_ndarray(format="rgb24"), _frame_rotation(frame, info.rotation))
    index = int(round(t * info.fps)) if info.fps else 0
    sample = SampledFrame(index=index, time=t, image=image)
    if on_frame is not None:
        on_frame(sample)
    return sample


def _linked_inside(folder: str, top: str) -> bool:
    """Whether ``folder`` is a link to a folder inside the real folder ``top`` (read there under its own name)."""
    if not os.path.islink(folder):
        return False
    real = os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def list_videos(
    path: str, unreadable: list[str] | None = None, skipped: list[str] | None = None, hidden: list[str] | None = None
) -> list[str]:
    """A file as itself; a folder as the videos and photos below it, sorted.  Raises InputError if none.

    :param unreadable: where given, a one-line message is appended for each folder below ``path`` that cannot be
        read (its files are not listed, and would otherwise be skipped without a word)
    :param skipped: where given, the files below ``path`` that are not listed (not a video or photo by their name;
        hidden files aside) are appended, so that a caller can say so (a folder's .heic photos were passed over in
        silence)
    :param hidden: where given, the hidden files and folders below ``path`` (names starting with "."), which are
        left out with all they hold (an archive audit: hidden files were dropped, yet those in hidden folders read)

    Folders linked from outside the tree are followed, each real folder once (a link back up is not a loop); they
    were passed over without a word while linked files were read.  A link to a folder inside the tree is not: the
    folder is read under its own name (a link "00_latest" to "2023" renamed 2023's files, and a resume redid them).
    """
    if os.path.isdir(path):
        errors: list[OSError] = []
        found, others, dotted = [], [], []
        top = os.path.realpath(path)
        seen: set[str] = set()
        for root, dirs, names in os.walk(path, onerror=errors.append, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:  # a folder reached again through links: its files are listed once
                dirs[:] = []
                continue
            seen.add(real)
            dotted += [os.path.join(root, d) for d in dirs if d.startswith(".")]
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and not _linked_inside(os.path.join(root, d), top)
            )
            for name in names:
                if name.startswith("."):
                    dotted.append(os.path.join(root, name))
                else:
                    (found if name.lower().endswith(MEDIA_EXTENSIONS) else others).append(os.path.join(root, name))
        found.sort()
        if skipped is not None:
            skipped.extend(sorted(others))
        if hidden is not None:
            hidden.extend(sorted(dotted))
        messages = [
            f"{e.filename}: a folder that cannot be read ({e.strerror or e}); its files are skipped" for e in errors
        ]
        if not found:
            if messages and os.path.abspath(str(errors[0].filename)) == os.path.abspath(path):
                raise InputError(f"{path}: the folder cannot be read ({errors[0].strerror or errors[0]})")
            why = ""
            if messages:  # which, and why (an audit: a folder 60 levels down, its path over 4,096 characters, unnamed)
                first = str(errors[0].filename)
                shown = first if len(first) <= 200 else f"...{first[-120:]} ({len(first):,} characters)"
                reason = errors[0].strerror or errors[0]
                why = f"; {len(messages)} folder(s) below it cannot be read, the first {shown} ({reason})"
            raise InputError(
                f"{path}: no videos or photos in this folder (looked for {', '.join(MEDIA_EXTENSIONS)}){why}"
            )
        if unreadable is not None:
            unreadable.extend(messages)
        return found
    return [path]
