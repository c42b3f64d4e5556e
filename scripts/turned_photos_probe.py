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
from collections.abc import Iterator

import numpy as np


def edited_reports(utk: str, photos: int, edit) -> Iterator:
    """The default model's report on each of the first ``photos`` held-out real UTKFace photos (never trained on)
    after ``edit`` (a BGR picture -> the picture to write: BGR, or BGRA for transparency), each written as a PNG to a
    temporary folder, deleted afterwards, and analysed as a user's photo (no CAM)."""
    import cv2

    from detector.data.datasets import read_datasets
    from detector.evaluation.evaluate import select_split
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(None)
    items, _, _ = select_split(read_datasets([utk]), model.card, "heldout")
    with tempfile.TemporaryDirectory() as tmp:
        for it in items[:photos]:
            path = os.path.join(tmp, "edited.png")
            cv2.imwrite(path, edit(cv2.imread(it.path)))
            yield analyze(path, model=model, cam=None)


def no_data(utk: str) -> bool:
    """Whether the UTKFace folder is missing (said in one line)."""
    if os.path.isdir(utk):
        return False
    print(f"error: {utk}: no such folder (the UTKFace data)", file=sys.stderr)
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=300, help="the first N held-out photos")
    p.add_argument("--turn", type=int, default=1, choices=[0, 1, 2, 3], help="quarter turns, counter-clockwise")
    args = p.parse_args(argv)
    if no_data(args.utk):
        return 2
    labels, turned = Counter(), 0
    for report in edited_reports(args.utk, args.photos, lambda image: np.ascontiguousarray(np.rot90(image, args.turn))):
        labels[report.label] += 1
        turned += bool(report.video_info.get("turned_upright"))
    said = ", ".join(f"{labels[k]} {k}" for k in ("fake", "uncertain", "real", "unknown"))
    print(
        f"{args.photos} held-out photos turned by {90 * args.turn} degrees: {said}; analysed turned upright: {turned}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
