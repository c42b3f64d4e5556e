"""What the covers check (detector.inference.covers) costs: a clip whose every face is looked at, against the same
analysis where none is.

    .venv/bin/python bench/covers.py            # the default model, a rendered 10 s 720p clip, 5 runs, 2 threads

The pipeline looks for a cover only on faces that score in the uncertain band or over it, so a real-looking clip
pays nothing; the worst case is a clip whose every face scores so.  Here the same clip is analysed at the card's
threshold (the rendered face scores low: nothing looked at) and at a threshold of 1e-9 (every face looked at), with
and without CAM; printed: the medians, the difference, and the check's own time per face (the report's
``timings["covers"]``).  The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model name or card (default: the default)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cam", default="gradcam", help="CAM method for the second pair ('' for none)")
    args = ap.parse_args()
    import torch

    from detector.data.synthetic import render_clip
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    torch.set_num_threads(args.threads)
    clf = load_model(args.model)
    print(
        f"load average at start: {os.getloadavg()[0]:.2f}; model {clf.name}; {args.runs} runs; {args.threads} threads"
    )
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "clip720.mp4")
        render_clip(clip, seconds=10, fps=30, size=(1280, 720))
        rows = []
        for cam in ["", args.cam] if args.cam else [""]:
            for label, threshold in (("nothing looked at", None), ("every face looked at", 1e-9)):
                analyze(clip, model=clf, cam=cam or None, threshold=threshold)  # warm-up
                times, per_face = [], []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    r = analyze(clip, model=clf, cam=cam or None, threshold=threshold)
                    times.append(time.perf_counter() - t)
                    if "covers" in r.timings:
                        per_face.append(1000 * r.timings["covers"] / max(1, len(r.faces)))
                rows.append(
                    (cam or "none", label, statistics.median(times), statistics.median(per_face) if per_face else 0.0)
                )
    print("| CAM | faces | analysis, s (median) | covers check per face, ms |")
    print("|---|---|---:|---:|")
    for cam, label, s, ms in rows:
        print(f"| {cam} | {label} | {s:.2f} | {ms:.1f} |")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
