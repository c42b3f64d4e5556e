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

import math
import os
import re
from dataclasses import dataclass, field

import av
import numpy as np

from detector.constants import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS  # noqa: E402
from detector.errors import InputError


@dataclass(frozen=True)
class Limits:
    """What the pipeline accepts.  Defaults suit the CLI; the app passes tighter ones."""

    max_file_mb: float = 2048.0
    max_duration_s: float = 600.0
    max_pixels: int = 2560 * 1440  # 1440p is the largest accepted; 4K is refused
    max_frames: int = 512  # most frames one analysis may sample


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

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SampledFrame:
    index: int  # frame number in the clip (from its timestamp)
    time: float  # seconds from the start of the clip
    image: np.ndarray = field(repr=False)  # H x W x 3 RGB uint8, upright


def _open(path: str, limits: Limits):
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a video file")
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")
    if size > limits.max_file_mb * 1024 * 1024:
        raise InputError(f"{path}: the file is {size / 2**20:.0f} MB, over the {limits.max_file_mb:.0f} MB limit")
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as e:
        raise InputError(f"{path}: not a readable video ({_short(e)})") from None
    fmt = container.format.name or ""
    if fmt == "image2" or fmt.endswith("_pipe"):  # FFmpeg reads a still image as a one-frame video
        container.close()
        raise InputError(f"{path}: this is a still image ({fmt.replace('_pipe', '')}), not a video")
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        container.close()
        raise InputError(f"{path}: no video stream in this file (it holds {', '.join(kinds)})")
    container.streams.video[0].thread_type = "AUTO"  # frame threads: decode on both cores
    return container


def _short(e: Exception) -> str:
    """FFmpeg's reason in a few words: no error number, no repeated file name."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    msg = re.sub(r"^\[Errno -?\d+\]\s*", "", msg)
    msg = re.sub(r":\s*'[^']*'$", "", msg)  # PyAV appends ": '<path>'"; the caller names the file already
    return msg[:160]


def _rotation(stream) -> int:
    """Rotation to apply, in degrees counter-clockwise, from the stream's display matrix or tag."""
    for key in ("rotate", "ROTATE"):
        value = stream.metadata.get(key)
        if value:
            try:
                return (-int(float(value))) % 360  # the tag is clockwise
            except ValueError:
                pass
    return 0


def _frame_rotation(frame, fallback: int) -> int:
    rot = getattr(frame, "rotation", None)  # PyAV >= 13 reads the display matrix side data
    if rot is None:
        return fallback
    return int(round(rot)) % 360


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    # PyAV's rotation is the display-matrix angle (counter-clockwise); turn the pixels by it.
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


def probe(path: str, limits: Limits = Limits()) -> VideoInfo:
    """Read the header of a video and check it against ``limits`` (decodes at most one frame)."""
    container = _open(path, limits)
    try:
        return _probe(container, path, limits)
    finally:
        container.close()


def _probe(container, path: str, limits: Limits) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    rotation = _rotation(stream)
    first = None
    try:
        for frame in container.decode(stream):
            first = frame
            break
    except (av.FFmpegError, OSError) as e:
        raise InputError(f"{path}: the video stream cannot be decoded ({_short(e)})") from None
    if first is None:
        raise InputError(f"{path}: the video stream holds no frames (empty or truncated file)")
    rotation = _frame_rotation(first, rotation)
    width, height = width or first.width, height or first.height
    if rotation in (90, 270):
        width, height = height, width
    if width * height > limits.max_pixels:
        raise InputError(
            f"{path}: frames are {width}x{height}, larger than the limit of {limits.max_pixels / 1e6:.1f} megapixels "
            "(downscale it to 1080p or less)"
        )
    if not duration or duration <= 0 or not math.isfinite(duration):
        duration = float(stream.frames / fps) if stream.frames and fps else 0.0
    if duration > limits.max_duration_s:
        raise InputError(
            f"{path}: the clip lasts {duration:.0f} s, longer than the {limits.max_duration_s:.0f} s limit"
        )
    frame_count = int(stream.frames or round(duration * fps))
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        frame_count=frame_count,
        rotation=rotation,
        codec=ctx.name or "?",
    )


def sample_times(
    duration: float, n_frames: int | None = 32, fps: float | None = None, max_frames: int = 512
) -> list[float]:
    """Target times: ``n_frames`` spread evenly (centre of equal slices), or every ``1/fps`` seconds."""
    if duration <= 0:
        return [0.0]
    if fps:
        step = 1.0 / fps
        times = [i * step for i in range(int(duration / step) + 1) if i * step < duration]
    else:
        n = max(1, int(n_frames or 32))
        times = [(i + 0.5) * duration / n for i in range(n)]
    if len(times) > max_frames:
        raise InputError(f"asked for {len(times)} frames; the limit is {max_frames} (lower --frames or --fps)")
    return times


def sample_frames(
    path: str,
    n_frames: int | None = 32,
    fps: float | None = None,
    limits: Limits = Limits(),
    seek_gap: float = 2.0,
) -> tuple[VideoInfo, list[SampledFrame]]:
    """Decode the frames nearest to evenly spaced target times.

    Frames between targets are decoded (a codec needs them) but never converted to
    RGB; when the next target lies more than ``seek_gap`` seconds ahead the reader
    seeks to the keyframe before it instead.  On a clip whose frames are fewer than
    the targets, each frame is returned once.
    """
    container = _open(path, limits)
    try:
        info = _probe(container, path, limits)
        stream = container.streams.video[0]
        times = sample_times(info.duration, n_frames, fps, limits.max_frames)
        return info, _decode_at(container, stream, info, times, seek_gap, path)
    finally:
        container.close()


def _decode_at(
    container, stream, info: VideoInfo, times: list[float], seek_gap: float, path: str
) -> list[SampledFrame]:
    tb = float(stream.time_base)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    half = 0.5 / info.fps if info.fps else 0.0
    out: list[SampledFrame] = []
    taken_pts: set[int] = set()
    container.seek(stream.start_time or 0, stream=stream, backward=True, any_frame=False)
    frames = container.decode(stream)
    last_t = -math.inf  # time of the last decoded frame
    prev = None  # last decoded frame (candidate when the target falls between two frames)
    sought = -1  # index of the last target we seeked for: at most one seek per target
    i = 0
    try:
        while i < len(times):
            target = times[i]
            if sought < i and target - last_t > seek_gap:
                # jump to the keyframe before the target instead of decoding everything in between
                container.seek(int((start + target) / tb), stream=stream, backward=True, any_frame=False)
                frames = container.decode(stream)
                prev = None
                sought = i
            frame = next(frames, None)
            if frame is None:  # end of stream: the remaining targets take the last frame
                if prev is not None and prev.pts not in taken_pts:
                    out.append(_to_sample(prev, start, info))
                    taken_pts.add(prev.pts)
                break
            if frame.pts is None:
                continue
            t = frame.pts * tb - start
            last_t = t
            if t + half < target:
                prev = frame
                continue
            # frame is the first at/after the target: keep whichever of it and the previous is nearer
            pick = prev if (prev is not None and target - (prev.pts * tb - start) < t - target) else frame
            while i < len(times) and times[i] <= t + half:
                i += 1
            if pick.pts not in taken_pts:
                out.append(_to_sample(pick, start, info))
                taken_pts.add(pick.pts)
            prev = frame
    except (av.FFmpegError, OSError) as e:
        if not out:
            raise InputError(f"{path}: the video cannot be decoded ({_short(e)})") from None
        # a truncated file: keep what was decoded before the damage
    if not out:
        raise InputError(f"{path}: no frame could be decoded (empty or truncated video)")
    return out


def _to_sample(frame, start: float, info: VideoInfo) -> SampledFrame:
    t = max(0.0, float(frame.pts * frame.time_base) - start)
    image = _upright(frame.to_ndarray(format="rgb24"), _frame_rotation(frame, info.rotation))
    index = int(round(t * info.fps)) if info.fps else 0
    return SampledFrame(index=index, time=t, image=image)


def list_videos(path: str) -> list[str]:
    """A file as itself; a folder as the videos and photos below it, sorted.  Raises InputError if none."""
    media = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
    if os.path.isdir(path):
        found = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(path)
            for name in names
            if name.lower().endswith(media) and not name.startswith(".")
        )
        if not found:
            raise InputError(f"{path}: no videos or photos in this folder (looked for {', '.join(media)})")
        return found
    return [path]
