"""Real photos cut out (their background made transparent): how often are they called fake?

The held-out real UTKFace photos (never trained on) are each cut out as an oval around the face (the rest made
transparent, as a background-removal tool leaves a portrait; ``--fill alpha``), or the same oval with the rest
filled by OpenCV's inpainting (``--fill inpaint``, for comparison), or left as they are (``--fill none``), written
to a temporary folder (deleted afterwards; nothing is written into the repository) and analysed as a user's photo by
the default model.  Prints the labels.

    python scripts/cutout_probe.py --photos 150 --fill alpha       # ~1 min
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # turned_photos_probe: the held-out photos, edited


def cut_out(image: np.ndarray, fill: str) -> np.ndarray:
    """``image`` (BGR) cut out as an oval round its middle: BGRA with the rest transparent (``alpha``), the rest
    inpainted (``inpaint``), or as it is (``none``)."""
    import cv2

    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, int(h * 0.48)), (int(w * 0.36), int(h * 0.46)), 0, 0, 360, 255, -1)
    if fill == "alpha":
        return np.dstack([image, mask])
    if fill == "inpaint":
        return cv2.inpaint(image, 255 - mask, 5, cv2.INPAINT_TELEA)
    return image


def main(argv=None) -> int:
    from turned_photos_probe import edited_reports, no_data

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=150, help="the first N held-out photos")
    p.add_argument("--fill", default="alpha", choices=["alpha", "inpaint", "none"], help="what is outside the oval")
    args = p.parse_args(argv)
    if no_data(args.utk):
        return 2
    labels = Counter(r.label for r in edited_reports(args.utk, args.photos, lambda image: cut_out(image, args.fill)))
    said = ", ".join(f"{labels[k]} {k}" for k in ("fake", "uncertain", "real", "unknown"))
    print(f"{args.photos} held-out photos, outside an oval {args.fill}: {said}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
