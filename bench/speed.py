"""Speed and memory of the pipeline on a rendered 10 s clip at 480p, 720p and 1080p (30 fps, one face).

    .venv/bin/python bench/speed.py                 # default installed model, 5 runs, 2 torch threads
    .venv/bin/python bench/speed.py --model assets/models/x.json --runs 3

For each resolution, in one process, the median of ``--runs`` runs after one warm-up of:

* ``decode``         -- :func:`detector.inference.video.sample_frames` of the 32 sampled frames;
* ``decode_detect``  -- the same plus :func:`detector.inference.pipeline.detect_faces` (BlazeFace, crops, tracking);
* ``full``           -- :func:`detector.inference.pipeline.analyze` (scores, verdict);
* ``full_cam``       -- ``analyze(cam="gradcam")``: Grad-CAM and its faithfulness figures on every face;

with frames per second, the stage times of ``full_cam`` (the report's timings), the
ratio full_cam / decode_detect, and the peak resident memory of the process so far
(``ru_maxrss``).  Then the app's cold start in a fresh process: ``import app``,
``webapp.server.build_demo()`` and its warm-up (model, mediapipe and explain loaded).

Targets: full_cam of the 720p clip < 3 s on 2 CPU cores, ratio <= 2, peak RSS < 2 GB.
With no model installed (and no ``--model``), an UNTRAINED network of ``--untrained``
architecture is used (timings depend on the architecture and input size, not on the
weights); the output says so.  The load average is printed with the figures: on a
shared machine they are noisy.

Output: a markdown table, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

RESOLUTIONS = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
STAGES = ("decode", "decode_detect", "full", "full_cam")


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_classifier(args, tmp: Path):
    """(classifier, description, models folder for the cold-start process)."""
    from detector.constants import SHIPPED_MODELS as MODELS_DIR
    from detector.errors import NoModelError
    from detector.models.classifier import load_model

    if args.model:
        clf = load_model(args.model)
        note = "" if clf.card.trained else " -- its card has no training record (untrained?)"
        return (
            clf,
            f"{clf.name} ({clf.card.architecture}, {clf.card.input_size} px) from {clf.path}{note}",
            clf.path.parent,
        )
    if not args.untrained_only:
        try:
            clf = load_model()
            return clf, f"{clf.name} ({clf.card.architecture}, {clf.card.input_size} px), the default model", MODELS_DIR
        except NoModelError:
            pass
    import torch

    from detector.models import registry as architectures
    from detector.models.card import ModelCard
    from detector.models.store import save_model

    arch = architectures.get(args.untrained)
    size = args.size or arch.default_size
    torch.manual_seed(0)
    net = arch.build(num_classes=2, size=size)
    name = f"untrained_{arch.name}"
    card = ModelCard(
        name=name, architecture=arch.name, input_size=size, default=True, notes="random weights: for timing only"
    )
    save_model(net, card, tmp / "models")
    clf = load_model(str(tmp / "models" / f"{name}.json"))
    return (
        clf,
        (f"UNTRAINED {arch.name} at {size} px (no model installed: timings only, the scores mean nothing)"),
        tmp / "models",
    )


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, runs: int, keep=lambda result: result) -> tuple[float, float, list]:
    """Median wall and CPU seconds of ``runs`` calls after one warm-up call, and ``keep(result)`` of each.

    Only what ``keep`` returns is held between runs, so results (decoded frames) do not pile
    up in memory and inflate the peak RSS.
    """
    fn()
    walls, cpus, kept = [], [], []
    for _ in range(runs):
        t, c = time.perf_counter(), cpu_seconds()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_seconds() - c)
        kept.append(keep(result))
        del result
    return statistics.median(walls), statistics.median(cpus), kept


def bench_clip(path: str, clf, frames: int, runs: int, cam: str) -> dict:
    from detector.inference.pipeline import analyze, detect_faces
    from detector.inference.video import sample_frames

    def decode():
        return sample_frames(path, n_frames=frames)[1]

    def decode_detect():
        faces = detect_faces(decode(), margin=clf.card.face_margin)
        return faces

    out: dict = {}
    out["decode_s"], out["decode_cpu_s"], counts = timed(decode, runs, keep=len)
    n_frames = counts[0]
    out["decode_detect_s"], out["decode_detect_cpu_s"], counts = timed(
        decode_detect, runs, keep=lambda faces: sum(len(f) for f in faces)
    )
    out["faces"] = counts[0]
    out["full_s"], out["full_cpu_s"], _ = timed(
        lambda: analyze(path, frames=frames, model=clf), runs, keep=lambda r: None
    )
    out["full_cam_s"], out["full_cam_cpu_s"], kept = timed(
        lambda: analyze(path, frames=frames, model=clf, cam=cam),
        runs,
        keep=lambda r: (r.timings, sum(f.cam is not None for f in r.faces)),
    )
    for stage in ("decode", "detect", "classify", "explain"):
        out[f"stage_{stage}_s"] = statistics.median(timings.get(stage, 0.0) for timings, _ in kept)
    out["frames"] = n_frames
    for s in STAGES:
        out[f"{s}_fps"] = n_frames / out[f"{s}_s"]
    out["ratio"] = out["full_cam_s"] / out["decode_detect_s"]
    out["ratio_cpu"] = out["full_cam_cpu_s"] / out["decode_detect_cpu_s"]
    out["cam_faces"] = kept[0][1]
    out["peak_rss_mb"] = rss_mb()
    return out


BUSY = r"""
import torch
torch.set_num_threads(2)
net = torch.nn.Sequential(*[torch.nn.Conv2d(32, 32, 3, padding=1) for _ in range(4)])
x = torch.randn(8, 32, 96, 96)
while True:  # a CPU-heavy neighbour, as a training run is: convolutions on both cores, forward and backward
    net(x).sum().backward()
"""


def contended(path: str, clf, frames: int, runs: int, cam: str) -> float:
    """Median wall seconds of the full analysis with CAM while another process keeps both cores busy."""
    from detector.inference.pipeline import analyze

    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    busy = subprocess.Popen([sys.executable, "-c", BUSY], env=env)
    try:
        time.sleep(2.0)  # let it start
        wall, _, _ = timed(lambda: analyze(path, frames=frames, model=clf, cam=cam), runs, keep=lambda r: None)
    finally:
        busy.kill()
        busy.wait()
    return wall


COLD_START = r"""
import json, os, sys, time
t0 = time.perf_counter()
out = {}
try:
    import app
    from webapp import server
    out["import_s"] = time.perf_counter() - t0
    t = time.perf_counter(); server.build_demo(); out["build_demo_s"] = time.perf_counter() - t
    t = time.perf_counter()
    warm = getattr(server, "_warm_up", None)
    if warm is None:
        raise ImportError("webapp.server has no _warm_up")
    warm(); out["warm_up_s"] = time.perf_counter() - t
    out["what"] = "import app + webapp.server.build_demo() + _warm_up() (model, mediapipe, explain loaded)"
except ImportError as e:
    t = time.perf_counter()
    import detector, explain
    from detector.models.classifier import load_model
    from detector.inference.pipeline import face_detector
    load_model(); face_detector()
    out["warm_up_s"] = time.perf_counter() - t
    out["what"] = f"app not usable ({e}): import detector, explain + load_model() + face detector"
out["total_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def cold_start(models_dir: Path, runs: int) -> dict:
    """Median of ``runs`` fresh processes (after one warm-up, so the OS file cache is warm)."""
    env = {**os.environ, "DEEPFAKE_MODELS_DIR": str(models_dir), "PYTHONWARNINGS": "ignore"}
    results = []
    for i in range(runs + 1):
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", COLD_START], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return {"cold_start_s": None, "what": f"failed: {tail}"}
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        data["wall_s"] = wall
        if i:
            results.append(data)
    med = {k: statistics.median(r[k] for r in results) for k in results[0] if k != "what"}
    return {
        "cold_start_s": med["wall_s"],
        **{f"cold_{k}": v for k, v in med.items() if k != "wall_s"},
        "what": results[0]["what"],
    }


def markdown(res: dict, names: list[str]) -> str:
    lines = [
        "Wall seconds (frames per second) and, in brackets, CPU seconds of the process (all threads):",
        "",
        "| clip | frames | faces | decode | decode+detect | full | full+CAM | full+CAM / decode+detect | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        r = res[n]
        cells = " | ".join(f"{r[f'{s}_s']:.2f} s ({r[f'{s}_fps']:.0f} fps) [{r[f'{s}_cpu_s']:.2f}]" for s in STAGES)
        lines.append(
            f"| {n} | {r['frames']} | {r['faces']} | {cells} | {r['ratio']:.2f} [{r['ratio_cpu']:.2f}] "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        "Stages of full+CAM (median wall s, from the report's timings):",
        "",
        "| clip | decode | detect | classify | explain (CAM + faithfulness) | faces explained |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        r = res[n]
        lines.append(
            f"| {n} | {r['stage_decode_s']:.2f} | {r['stage_detect_s']:.2f} | {r['stage_classify_s']:.2f} "
            f"| {r['stage_explain_s']:.2f} | {r['cam_faces']} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per measurement, after one warm-up (default 5)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--resolutions", default="480p,720p,1080p", help=f"comma-separated, of {', '.join(RESOLUTIONS)}")
    ap.add_argument("--model", help="model card path or installed name (default: the default model)")
    ap.add_argument(
        "--untrained",
        default="efficientnet_lite0",
        help="architecture of the untrained stand-in used when no model is installed",
    )
    ap.add_argument("--size", type=int, help="input size of the untrained stand-in (default: the architecture's)")
    ap.add_argument(
        "--untrained-only", action="store_true", help="use the untrained stand-in even if a model is installed"
    )
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the target is 2 CPU cores)")
    ap.add_argument("--cam", default="gradcam")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh processes for the cold start (0: skip)")
    ap.add_argument("--clips", help="folder to keep the rendered clips in (default: a temporary folder)")
    ap.add_argument(
        "--contended",
        action="store_true",
        help="also time full+CAM at 720p while another process keeps both cores busy (the slowdown is reported)",
    )
    args = ap.parse_args()
    names = [n.strip() for n in args.resolutions.split(",") if n.strip()]
    unknown = [n for n in names if n not in RESOLUTIONS]
    if unknown:
        print(f"error: unknown resolution {unknown[0]!r} (known: {', '.join(RESOLUTIONS)})", file=sys.stderr)
        return 2

    import importlib

    importlib.import_module("detector")  # first: the package sets the threading environment before torch loads
    import torch

    from detector.data.synthetic import render_clip

    torch.set_num_threads(args.threads)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="speed-") as tmpdir:
        tmp = Path(tmpdir)
        clips_dir = Path(args.clips) if args.clips else tmp
        clips_dir.mkdir(parents=True, exist_ok=True)
        clf, model_text, models_dir = load_classifier(args, tmp)
        log(f"model: {model_text}")
        load_before = os.getloadavg()
        results = {}
        for n in names:
            w, h = RESOLUTIONS[n]
            path = clips_dir / f"astronaut_{n}_{args.seconds:g}s_{args.fps}fps.mp4"
            if not path.exists():
                log(f"rendering {path.name}...")
                render_clip(str(path), seconds=args.seconds, fps=args.fps, size=(w, h))
            log(f"measuring {n} ({args.runs} runs after a warm-up)...")
            results[n] = bench_clip(str(path), clf, args.frames, args.runs, args.cam)
            log(
                f"  {n}: full+CAM {results[n]['full_cam_s']:.2f} s, decode+detect {results[n]['decode_detect_s']:.2f} s"
            )
        load_after = os.getloadavg()
        contended_s = None
        if args.contended and "720p" in results:
            log("measuring 720p full+CAM beside a CPU-heavy process...")
            path = clips_dir / f"astronaut_720p_{args.seconds:g}s_{args.fps}fps.mp4"
            contended_s = contended(str(path), clf, args.frames, args.runs, args.cam)
        cold = {"cold_start_s": None, "what": "skipped"}
        if args.cold_runs > 0:
            log(f"cold start ({args.cold_runs} fresh processes after a warm-up)...")
            cold = cold_start(models_dir, args.cold_runs)

    print(f"# Pipeline speed: {args.seconds:g} s clips at {args.fps} fps, {args.frames} sampled frames, CAM {args.cam}")
    print(f"model: {model_text}")
    print(
        f"torch threads {torch.get_num_threads()}, CPUs {os.cpu_count()}, load average "
        f"{load_before[0]:.1f} before / {load_after[0]:.1f} after (1 min)"
    )
    print()
    print(markdown(results, names))
    print()
    if cold["cold_start_s"] is not None:
        print(f"cold start {cold['cold_start_s']:.1f} s: {cold['what']}")
    else:
        print(f"cold start: {cold['what']}")
    summary = {
        "model": model_text,
        "untrained": model_text.startswith("UNTRAINED") or "untrained?" in model_text,
        "runs": args.runs,
        "frames": args.frames,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_avg_1min": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    for n in names:
        r = results[n]
        for s in STAGES:
            summary[f"{s}_{n}_s"] = round(r[f"{s}_s"], 3)
            summary[f"{s}_{n}_cpu_s"] = round(r[f"{s}_cpu_s"], 3)
        for stage in ("decode", "detect", "classify", "explain"):
            summary[f"stage_{stage}_{n}_s"] = round(r[f"stage_{stage}_s"], 3)
        summary[f"ratio_{n}"] = round(r["ratio"], 3)
        summary[f"ratio_{n}_cpu"] = round(r["ratio_cpu"], 3)
        summary[f"faces_{n}"] = r["faces"]
    if contended_s is not None:
        summary["contended_full_cam_720p_s"] = round(contended_s, 3)
        summary["contended_slowdown_720p"] = round(contended_s / results["720p"]["full_cam_s"], 2)
        print(
            f"beside a CPU-heavy process: 720p full+CAM {contended_s:.2f} s "
            f"({summary['contended_slowdown_720p']:.1f}x the quiet figure)"
        )
        summary[f"peak_rss_after_{n}_mb"] = round(r["peak_rss_mb"], 1)
    summary["peak_rss_mb"] = round(rss_mb(), 1)
    summary["cold_start_s"] = None if cold["cold_start_s"] is None else round(cold["cold_start_s"], 2)
    summary.update({k: round(v, 2) for k, v in cold.items() if k.startswith("cold_") and k != "cold_start_s"})
    summary["cold_start_what"] = cold["what"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
