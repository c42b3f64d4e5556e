"""Share of sampled frames where a face is found, per video and overall.

    python bench/face_rate.py ../shared/data/ffpp --real-only --frames 32

Uses the pipeline's own decoding and face detection (detector.inference.video,
detector.inference.pipeline.detect_faces).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from detector.data.datasets import read_dataset  # noqa: E402
from detector.inference.pipeline import detect_faces  # noqa: E402
from detector.inference.video import sample_frames  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--real-only", action="store_true")
    args = ap.parse_args()
    items = [it for it in read_dataset(args.data) if not (args.real_only and it.label == 1)]
    total = found = 0
    t0 = time.perf_counter()
    for it in items:
        _, frames = sample_frames(it.path, n_frames=args.frames)
        faces = detect_faces(frames)
        hit = sum(bool(f) for f in faces)
        total += len(frames)
        found += hit
        print(f"{it.id:12s} {it.label_name:5s} {hit:3d}/{len(frames)}", flush=True)
    result = {
        "videos": len(items),
        "frames": total,
        "with_face": found,
        "face_rate": round(found / total, 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
