"""Sampling a clip with one keyframe: 1080p, about 3,570 frames, a single keyframe at the start.

    .venv/bin/python bench/sparse_keyframes.py                      # render into /tmp (once), then time
    .venv/bin/python bench/sparse_keyframes.py --runs 3 --max-load 1.0
    git show 946a679:detector/inference/video.py > /tmp/video_old.py
    .venv/bin/python bench/sparse_keyframes.py --video-py /tmp/video_old.py   # the same with that video.py

A reader that seeks to the keyframe before each target decodes such a clip from its
first frame again for every target.  The bench times, in this process:

* ``decode_once``  -- every frame decoded once with PyAV (frame threads, as the pipeline decodes), nothing
  converted: the floor for any sampling that needs frames spread over the whole clip;
* ``sample_32`` and ``sample_128`` -- :func:`detector.inference.video.sample_frames` (what the pipeline calls)
  for 32 and 128 evenly spaced frames;

each the median of ``--runs`` runs, and the ratio of each to ``decode_once`` (target: ``sample_32`` within 2x).
The clip is rendered with libx264 (preset fast, ``keyint=infinite:scenecut=0``) from skimage's astronaut,
panned and zoomed, and kept in /tmp for the next run.  Timing waits until the 1-minute load average is under
``--max-load`` (up to ``--wait`` seconds) and reports the load before and after.

Output: a line per figure, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # appended: a PYTHONPATH checkout of detector/ comes first

FRAMES = 3570
FPS = 30
SIZE = (1920, 1080)


def render(path: Path, frames: int = FRAMES, fps: int = FPS, size: tuple[int, int] = SIZE) -> Path:
    """The one-keyframe clip (skipped when ``path`` already holds it)."""
    import av

    from detector.data.synthetic import _frame, astronaut

    if path.exists():
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if s.frames == frames and (s.width, s.height) == size:
                return path
    tmp = path.with_suffix(".part.mp4")
    src = astronaut()
    w, h = size
    with av.open(str(tmp), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "fast", "crf": "23", "x264-params": "keyint=infinite:scenecut=0"}
        for i in range(frames):
            # a slow pan over the whole clip, with a faster wobble so that every frame differs
            t = (i / frames + 0.02 * ((i % 60) / 60)) % 1.0
            frame = av.VideoFrame.from_ndarray(_frame(src, t, w, h), format="rgb24")
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
    os.replace(tmp, path)
    return path


def keyframes(path: Path) -> tuple[int, int]:
    import av

    with av.open(str(path)) as c:
        packets = [p for p in c.demux(video=0) if p.size]
    return sum(p.is_keyframe for p in packets), len(packets)


def decode_once(path: Path) -> float:
    import av

    t = time.perf_counter()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"  # as detector.inference.video decodes
        n = sum(1 for _ in c.decode(stream))
    assert n > 0
    return time.perf_counter() - t


def video_module(path: str | None):
    """detector.inference.video, or the same module read from another file (an older commit's video.py)."""
    if not path:
        import detector.inference.video as video

        return video
    import importlib.util

    spec = importlib.util.spec_from_file_location("video_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def sample(video, path: Path, n: int) -> tuple[float, int]:
    t = time.perf_counter()
    _, frames = video.sample_frames(str(path), n)
    return time.perf_counter() - t, len(frames)


def wait_for_quiet(max_load: float, wait: float) -> float:
    """Wait (up to ``wait`` s) until the 1-minute load is under ``max_load``; the load when it stops waiting."""
    t0 = time.monotonic()
    while os.getloadavg()[0] >= max_load and time.monotonic() - t0 < wait:
        time.sleep(10)
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", default="/tmp/sparse_keyframes_1080p.mp4", help="where the clip is rendered and kept")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each figure (the median is reported)")
    ap.add_argument("--max-load", type=float, default=1.0, help="wait until the 1-minute load is under this")
    ap.add_argument("--wait", type=float, default=900.0, help="longest wait for that, seconds")
    ap.add_argument("--counts", default="32,128", help="frame counts to sample")
    ap.add_argument("--video-py", help="time sample_frames of this file instead (e.g. an older video.py)")
    args = ap.parse_args(argv)

    video = video_module(args.video_py)

    clip = render(Path(args.clip))
    keys, packets = keyframes(clip)
    print(f"clip: {clip} ({packets} frames, {keys} keyframe(s), {clip.stat().st_size / 2**20:.1f} MB)")
    print(f"sample_frames from {video.__file__}")
    load_start = wait_for_quiet(args.max_load, args.wait)
    loads = [os.getloadavg()[0]]
    result: dict = {"frames": packets, "keyframes": keys, "size": list(SIZE), "video_py": video.__file__}
    once = [decode_once(clip) for _ in range(args.runs)]
    result["decode_once_s"] = round(statistics.median(once), 2)
    print(f"decode once: {result['decode_once_s']:.2f} s  (runs {', '.join(f'{x:.2f}' for x in once)})")
    for n in (int(x) for x in args.counts.split(",")):
        loads.append(os.getloadavg()[0])
        runs = [sample(video, clip, n) for _ in range(args.runs)]
        seconds = statistics.median(s for s, _ in runs)
        result[f"sample_{n}_s"] = round(seconds, 2)
        result[f"sample_{n}_frames"] = runs[0][1]
        result[f"sample_{n}_ratio"] = round(seconds / result["decode_once_s"], 2)
        print(
            f"sample_frames({n}): {seconds:.2f} s, {runs[0][1]} frames, {seconds / result['decode_once_s']:.2f}x "
            f"decoding once  (runs {', '.join(f'{s:.2f}' for s, _ in runs)})"
        )
    loads.append(os.getloadavg()[0])
    result.update(
        runs=args.runs,
        load_start=round(load_start, 2),
        load_max=round(max(loads), 2),
        load_end=round(loads[-1], 2),
        target_met=result.get("sample_32_ratio", 99) <= 2.0,
    )
    if load_start >= args.max_load:
        print(f"warning: the load stayed at {load_start:.2f} (over {args.max_load}): these times are not clean")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
