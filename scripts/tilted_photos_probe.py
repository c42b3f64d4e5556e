"""Real photos tilted by a few degrees (a head held to one side, a camera not level): how often are they called fake?

The held-out real UTKFace photos (never trained on) are each turned by each of ``--angles`` degrees
(counter-clockwise as shown) about their centre, on a canvas twice their size whose edge pixels are drawn outwards so
that no black corner enters the face's square, and analysed as a user's photo by the default model
(:func:`turned_photos_probe.edited_reports`: a temporary folder, deleted afterwards; nothing is written into the
repository).  Prints, per angle, the labels, the median score, how many faces were cut straightened
(``faces[].straightened``) and the median tilt BlazeFace read.

    python scripts/tilted_photos_probe.py --photos 200 --angles 0 10 20 30 40 -20 -40     # ~40 s an angle

``--boxes``: instead, for the first ``--photos`` UTKFace photos (not only held-out ones: no model is asked) tilted by
the first angle, the side of BlazeFace's box round the tilted face, and of the box the face is found again with in a
square turned upright (:func:`detector.inference.pipeline._upright_box`), each over the upright face's box.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from turned_photos_probe import edited_reports, no_data  # noqa: E402


def tilted(degrees: float):
    """A BGR picture -> the same on a canvas twice its size (edges drawn outwards), turned by ``degrees``."""
    import cv2

    def edit(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        big = cv2.copyMakeBorder(image, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)
        m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
        return cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE)

    return edit


def box_sizes(utk: str, photos: int, degrees: float) -> int:
    import glob

    import cv2

    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import _upright_box
    from detector.inference.quality import roll_degrees

    detector, tilted_side, again_side = FaceDetector(), [], []
    for path in sorted(glob.glob(os.path.join(utk, "real", "*.jpg")))[:photos]:
        bgr = cv2.imread(path)
        upright, turned = (cv2.cvtColor(tilted(d)(bgr), cv2.COLOR_BGR2RGB) for d in (0, degrees))
        a, b = detector.detect(upright), detector.detect(turned)
        roll = roll_degrees(b[0].keypoints) if b else None
        if not a or roll is None:
            continue
        tilted_side.append(b[0].box[2] / a[0].box[2])
        again_side.append(_upright_box(turned, b[0].box, roll, detector)[2] / a[0].box[2])
    for name, v in (("BlazeFace's box round the tilted face", tilted_side), ("found again upright", again_side)):
        print(
            f"tilted by {degrees:g} degrees, {len(v)} faces: {name}, over the upright face's box: median "
            f"{np.median(v):.3f} (10th-90th percentile {np.percentile(v, 10):.3f}-{np.percentile(v, 90):.3f})"
        )
    return 0


def main(argv=None) -> int:
    from detector.inference.quality import face_rolls

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=200, help="the first N held-out photos")
    p.add_argument("--angles", type=float, nargs="+", default=[0, 10, 20, 30, 40, -20, -40], help="degrees")
    p.add_argument("--boxes", action="store_true", help="the face boxes' sizes, tilted and found again upright")
    args = p.parse_args(argv)
    if no_data(args.utk):
        return 2
    if args.boxes:
        return box_sizes(args.utk, args.photos, args.angles[0])
    print("degrees | fake | uncertain | real | unknown | median score | faces straightened | median tilt read")
    for degrees in args.angles:
        labels, scores, rolls, straightened, faces = Counter(), [], [], 0, 0
        for report in edited_reports(args.utk, args.photos, tilted(degrees)):
            labels[report.label] += 1
            if report.faces:
                scores.append(report.score)
                rolls += face_rolls(report.faces)
                straightened += sum(bool(getattr(f, "straightened", 0)) for f in report.faces)  # (0 before it was)
                faces += len(report.faces)
        said = " | ".join(str(labels[k]) for k in ("fake", "uncertain", "real", "unknown"))
        print(
            f"{degrees:g} | {said} | {np.median(scores):.3f} | {straightened} of {faces} | "
            f"{np.median(rolls) if rolls else float('nan'):.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
