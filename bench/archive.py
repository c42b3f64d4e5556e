"""Scanning an archive: throughput per engine, resume after a kill, and cost against clip length.

    .venv/bin/python bench/archive.py throughput   # the 100 FF++ c23 dev videos: 1 worker, 2 workers, a local Ray
    .venv/bin/python bench/archive.py resume       # kill -9 a 2-worker run half-way, rerun, compare with a clean run
    .venv/bin/python bench/archive.py length       # rendered 10 s, 60 s and 300 s clips: --frames 32 and --fps 1

Every run is the real command line (``deepfake-lens scan FOLDER --jsonl OUT ...``) in a subprocess, timed from
start to exit, so model loading, worker start-up and Ray's start are in the figures.  ``--data`` is the folder of
videos (default ``../shared/data/ffpp``, the 100 c23 development videos, read in place).  The load average is
printed with the figures: on a shared 2-core machine they are noisy.

Output: a markdown table, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "ffpp"
CLI = [sys.executable, "-m", "detector"]
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def scan(folder: Path | str, jsonl: Path, *extra: str, timeout: float = 7200) -> tuple[float, int]:
    """(wall seconds, exit code) of one ``scan`` over ``folder``."""
    t = time.perf_counter()
    rc = subprocess.run(
        [*CLI, "scan", str(folder), "--jsonl", str(jsonl), "--quiet", *extra],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout,
    ).returncode
    return time.perf_counter() - t, rc


def lines(jsonl: Path) -> dict[str, dict]:
    out = {}
    for line in jsonl.read_text().splitlines():
        try:
            row = json.loads(line)
            out[row["key"]["path"]] = row
        except (json.JSONDecodeError, KeyError):
            continue
    return out


def max_score_gap(a: dict[str, dict], b: dict[str, dict]) -> float:
    """Largest difference of any face score or video score between two runs over the same inputs (inf if the inputs
    or their outcomes differ)."""
    if set(a) != set(b):
        return float("inf")
    gap = 0.0
    for path, row in a.items():
        other = b[path]
        if ("report" in row) != ("report" in other):
            return float("inf")
        if "report" not in row:
            continue
        fa = [f["score"] for fr in row["report"]["frames"] for f in fr["faces"]]
        fb = [f["score"] for fr in other["report"]["frames"] for f in fr["faces"]]
        if len(fa) != len(fb):
            return float("inf")
        gap = max([gap, *(abs(x - y) for x, y in zip(fa, fb))])
        if row["report"]["score"] is not None:
            gap = max(gap, abs(row["report"]["score"] - other["report"]["score"]))
    return gap


def throughput(args, tmp: Path) -> dict:
    n = sum(1 for _ in lines_of_inputs(args.data))
    runs = {"1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"], "ray, local 2 CPUs": ["--engine", "ray"]}
    results, outs = {}, {}
    for name, extra in runs.items():
        jsonl = tmp / f"{name.split(',')[0].replace(' ', '_')}.jsonl"
        before = load()
        wall, rc = scan(args.data, jsonl, "--frames", str(args.frames), *extra)
        outs[name] = lines(jsonl)
        results[name] = {
            "wall_s": round(wall, 1),
            "videos": len(outs[name]),
            "videos_per_min": round(60 * len(outs[name]) / wall, 2),
            "exit": rc,
            "load_before": before,
        }
    base = outs["1 worker"]
    for name in runs:
        results[name]["max_score_gap_vs_1_worker"] = max_score_gap(base, outs[name])
    stages = stage_means(base)
    print(f"\n{n} inputs in {args.data}, --frames {args.frames}; load after: {load()}\n")
    print("| engine | wall (s) | videos | videos/min | max score gap vs 1 worker | load before |")
    print("|---|---:|---:|---:|---:|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['wall_s']} | {r['videos']} | {r['videos_per_min']} | "
            f"{r['max_score_gap_vs_1_worker']:.1e} | {r['load_before']} |"
        )
    print("\nstage means per video, 1 worker (the report's timings, seconds): " + json.dumps(stages))
    return {"bench": "throughput", "inputs": n, "frames": args.frames, "runs": results, "stage_means_s": stages}


def stage_means(rows: dict[str, dict]) -> dict[str, float]:
    """Mean of each stage's time over the analysed inputs (the reports' ``timings``), and bytes read per input."""
    import statistics

    reports = [r["report"] for r in rows.values() if "report" in r]
    keys = sorted({k for r in reports for k in r.get("timings", {})})
    out = {k: round(statistics.mean(r["timings"].get(k, 0.0) for r in reports), 3) for k in keys}
    sizes = [r["key"]["size"] for r in rows.values() if r["key"].get("size")]
    out["mb_per_input"] = round(statistics.mean(sizes) / 1e6, 2) if sizes else None
    faces = [sum(len(f["faces"]) for f in r["frames"]) for r in reports]
    out["faces_per_input"] = round(statistics.mean(faces), 1) if faces else None
    return out


def lines_of_inputs(folder: Path):
    from detector.inference.video import list_videos

    return list_videos(str(folder))


def resume(args, tmp: Path) -> dict:
    n = len(lines_of_inputs(args.data))
    clean = tmp / "clean.jsonl"
    t_clean, _ = scan(args.data, clean, "--frames", str(args.frames), "--workers", "2")
    killed = tmp / "resumed.jsonl"
    command = [*CLI, "scan", str(args.data), "--jsonl", str(killed), "--quiet", "--frames", str(args.frames)]
    proc = subprocess.Popen(
        [*command, "--workers", "2"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # kill -9 the whole group: the scan and its workers, as a crash or OOM would
    )
    t0 = time.perf_counter()
    while proc.poll() is None and (not killed.exists() or len(killed.read_text().splitlines()) < n // 2):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    t_first = time.perf_counter() - t0
    at_kill = len(lines(killed))
    t_rest, rc = scan(args.data, killed, "--frames", str(args.frames), "--workers", "2")
    merged = lines(killed)
    rows = [line for line in killed.read_text().splitlines() if line.strip()]
    done_again = len(rows) - at_kill  # lines the rerun appended (a torn line from the kill is redone)
    gap = max_score_gap(lines(clean), merged)
    print(f"\n{n} inputs, --frames {args.frames}, 2 workers; load after: {load()}\n")
    print("| run | wall (s) | inputs analysed |")
    print("|---|---:|---:|")
    print(f"| uninterrupted | {t_clean:.1f} | {len(lines(clean))} |")
    print(f"| killed (kill -9 of the process group) | {t_first:.1f} | {at_kill} complete lines |")
    print(f"| rerun of the same command | {t_rest:.1f} | {done_again} |")
    print(f"\nmerged inputs {len(merged)} of {n}; max score gap merged vs uninterrupted {gap:.1e}; exit {rc}")
    return {
        "bench": "resume",
        "inputs": n,
        "uninterrupted_s": round(t_clean, 1),
        "killed_after_s": round(t_first, 1),
        "lines_at_kill": at_kill,
        "rerun_s": round(t_rest, 1),
        "rerun_analysed": done_again,
        "merged_inputs": len(merged),
        "max_score_gap_vs_uninterrupted": gap,
        "identical": gap <= 1e-6 and len(merged) == n,
    }


def render(path: Path, seconds: int, fps: int = 25, size: tuple[int, int] = (854, 480)) -> None:
    """A clip of the astronaut's face drifting over a plain background, H.264 with a keyframe every 250 frames."""
    import av
    import cv2
    import numpy as np
    from skimage.data import astronaut

    face = cv2.resize(astronaut()[20:260, 140:330], (190, 240))
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "28"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(seconds * fps):
            img = np.full((h, w, 3), 90, np.uint8)
            x = int((w - 190) / 2 + 120 * np.sin(i / 40))
            img[100:340, x : x + 190] = face
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def length(args, tmp: Path) -> dict:
    import av

    results = []
    for seconds in (10, 60, 300):
        clip = tmp / f"clip_{seconds}s.mp4"
        render(clip, seconds)
        with av.open(str(clip)) as c:
            frames_in_clip = c.streams.video[0].frames
        for mode in (["--frames", "32"], ["--fps", "1"]):
            jsonl = tmp / f"len_{seconds}_{mode[0][2:]}.jsonl"
            wall, rc = scan(clip, jsonl, *mode, "--max-duration", "600")
            report = next(iter(lines(jsonl).values()))["report"]
            results.append(
                {
                    "seconds": seconds,
                    "clip_frames": frames_in_clip,
                    "mode": " ".join(mode),
                    "sampled": len(report["frames"]),
                    "analysis_s": round(report["timings"].get("total", float("nan")), 2),
                    "decode_s": round(report["timings"].get("decode", float("nan")), 2),
                    "wall_s": round(wall, 1),
                    "exit": rc,
                }
            )
    print(f"\n480p H.264 clips, keyframe every 250 frames; load after: {load()}\n")
    print("| clip | frames in clip | sampling | frames sampled | decode (s) | analysis (s) | wall with start-up (s) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['seconds']} s | {r['clip_frames']} | {r['mode']} | {r['sampled']} | {r['decode_s']} | "
            f"{r['analysis_s']} | {r['wall_s']} |"
        )
    return {"bench": "length", "runs": results}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["throughput", "resume", "length"])
    p.add_argument("--data", type=Path, default=DATA, help="folder of videos (default ../shared/data/ffpp)")
    p.add_argument("--frames", type=int, default=32)
    args = p.parse_args(argv)
    if args.what != "length" and not args.data.is_dir():
        print(f"error: {args.data}: not found (the development data, see ../shared/data/README.md)", file=sys.stderr)
        return 2
    print(f"load before: {load()}, CPUs {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        out = {"throughput": throughput, "resume": resume, "length": length}[args.what](args, Path(tmp))
    out["load_after"] = load()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
