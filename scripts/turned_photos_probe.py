"""Real photos turned on their side: how often are they called fake?

The held-out real UTKFace photos (never trained on) are each turned by ``--turn`` quarter turns (``np.rot90``'s k,
counter-clockwise), written to a temporary folder (deleted afterwards; nothing is written into the repository) and
analysed as a user's photo by the default model.  Prints the labels and how many photos the pipeline turned upright
before judging them (``video_info["turned_upright"]``).

    python scripts/turned_photos_probe.py --photos 300 --turn 1       # ~1 min
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=300, help="the first N held-out photos")
    p.add_argument("--turn", type=int, default=1, choices=[0, 1, 2, 3], help="quarter turns, counter-clockwise")
    args = p.parse_args(argv)
    if not os.path.isdir(args.utk):
        print(f"error: {args.utk}: no such folder (the UTKFace data)", file=sys.stderr)
        return 2
    import cv2

    from detector.data.datasets import read_datasets
    from detector.evaluation.evaluate import select_split
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(None)
    items, _, _ = select_split(read_datasets([args.utk]), model.card, "heldout")
    labels, turned = Counter(), 0
    with tempfile.TemporaryDirectory() as tmp:
        for it in items[: args.photos]:
            path = os.path.join(tmp, "turned.png")
            cv2.imwrite(path, np.ascontiguousarray(np.rot90(cv2.imread(it.path), args.turn)))
            report = analyze(path, model=model, cam=None)
            labels[report.label] += 1
            turned += bool(report.video_info.get("turned_upright"))
    said = ", ".join(f"{labels[k]} {k}" for k in ("fake", "uncertain", "real", "unknown"))
    print(
        f"{args.photos} held-out photos turned by {90 * args.turn} degrees: {said}; analysed turned upright: {turned}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
