"""Does the face crop of a small portrait in a collage find the portrait's edges?  And none in a busy picture?

A portrait inside a photo (a collage, a page) is mirrored past its edge in its face's square (``inner_picture`` in
``detector/inference/faces.py``), where the edge is straight and the ground beyond it flat.  Here the held-out real
UTKFace photos are laid six to a grey, lightly noisy canvas at ``--side`` px each (``group_photo_probe.canvas``), as
the face finder and the pipeline crop them, and each portrait edge that lies in a face's square (more than 1 px in
from the square's side) is counted as found (``inner_picture`` puts that side within 2 px of it) or missed, with why
(the colour step along the face under :data:`INNER_EDGE_SHARE`; the ground beyond not flat; its width in px).  Then
squares of busy texture (blurred coloured noise, as skin, hair and clothes are busy at 8 px), where no edge must be
found.  Nothing is written into the repository.

    python scripts/inner_edges_probe.py --collages 20 --side 48       # ~1 min
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (3, 3), 0)


def collage_edges(utk: str, collages: int, side: int) -> tuple[Counter, Counter]:
    """(found / missed counts, why each missed edge was missed) over ``collages`` canvases of ``side`` px portraits."""
    import cv2
    from group_photo_probe import canvas

    from detector.constants import FACE_MARGIN
    from detector.data.datasets import read_datasets
    from detector.evaluation.evaluate import select_split
    from detector.inference.faces import INNER_EDGE_SHARE, INNER_EDGE_STEP, _flat, crop_box, crop_face, inner_picture
    from detector.inference.pipeline import face_detector, faces_in
    from detector.inference.stills import STILL_PAD, pad_still
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    card = ModelCard.from_file(resolve(None))
    items, _, _ = select_split(read_datasets([utk]), card, "heldout")
    detector, rng = face_detector(), np.random.default_rng(0)
    counts, why = Counter(), Counter()
    for g in range(collages):
        images = [cv2.imread(it.path, cv2.IMREAD_COLOR) for it in items[6 * g : 6 * g + 6]]
        image, rects = canvas(images, side, 3, 2, rng, "grey")
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        padded, ox, oy = pad_still(rgb, STILL_PAD)
        for f in faces_in(rgb, FACE_MARGIN, detector, pad=STILL_PAD):
            bx, by, bw, bh = f.box
            k = next(
                (k for k, (x, y, w, h) in enumerate(rects) if x <= bx + bw / 2 < x + w and y <= by + bh / 2 < y + h),
                None,
            )
            if k is None:
                continue
            box = (bx + ox, by + oy, bw, bh)
            x, y, s = crop_box(box, padded.shape[1], padded.shape[0], FACE_MARGIN)
            crop = crop_face(padded, box, FACE_MARGIN)
            rect = inner_picture(crop, (box[0] - x, box[1] - y, bw, bh))
            px, py, pw, ph = rects[k]
            true = (px + ox - x, py + oy - y, px + pw + ox - x, py + ph + oy - y)  # the portrait in the crop
            img = crop.astype(np.int16)
            rows = slice(max(0, int(box[1] - y)), min(s, int(box[1] - y + bh)))
            cols = slice(max(0, int(box[0] - x)), min(s, int(box[0] - x + bw)))
            for i, p in enumerate(true):  # left, top, right, bottom
                if p <= 1 or p >= s - 1:
                    continue  # past the square's side (or on it): no edge in the square
                got = rect[i] if rect else None
                if got is not None and got not in (0, s) and abs(got - p) <= 2:
                    counts["found"] += 1
                    continue
                counts["missed"] += 1
                outward = i < 2  # left and top: the ground lies before p
                if i % 2 == 0:
                    a, b = img[rows, p : p + 2].mean(axis=1), img[rows, p - 2 : p].mean(axis=1)
                    beyond = crop[rows, :p] if outward else crop[rows, p:]
                else:
                    a, b = img[p : p + 2, cols].mean(axis=0), img[p - 2 : p, cols].mean(axis=0)
                    beyond = crop[:p, cols] if outward else crop[p:, cols]
                faint = float(np.mean(np.abs(a - b).max(axis=-1) >= INNER_EDGE_STEP)) < INNER_EDGE_SHARE
                if faint:
                    reason = "step too faint"
                elif not _flat(beyond):
                    reason = "ground not flat"
                else:  # flat, but 2-3 px: taken only beside a surer edge of the same square, and it has none
                    reason = "a thin strip with no surer edge in its square"
                why[f"{reason}, {min(beyond.shape[:2])} px of ground"] += 1
    return counts, why


def busy_squares(n: int) -> dict[int, int]:
    """Of ``n`` squares of busy texture at 58 and at 130 px, how many are given an inner picture (none should)."""
    from detector.inference.faces import inner_picture

    return {
        58: sum(inner_picture(_texture(58, 58, seed), (9, 7, 42, 42)) is not None for seed in range(n)),
        130: sum(inner_picture(_texture(130, 130, seed), (25, 20, 80, 90)) is not None for seed in range(n)),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--collages", type=int, default=20, help="canvases of six held-out portraits")
    p.add_argument("--side", type=int, default=48, help="each portrait's side in the canvas, px")
    p.add_argument("--squares", type=int, default=300, help="busy squares of each size")
    args = p.parse_args(argv)
    if not os.path.isdir(args.utk):
        print(f"error: {args.utk}: no such folder (the UTKFace data)", file=sys.stderr)
        return 2
    counts, why = collage_edges(args.utk, args.collages, args.side)
    total = counts["found"] + counts["missed"]
    what = f"{args.collages} collages of {args.side} px portraits"
    print(f"{what}: {counts['found']} of {total} edges in a face's square found")
    for reason, n in why.most_common():
        print(f"  missed, {reason}: {n}")
    busy = busy_squares(args.squares)
    n = args.squares
    print(f"busy squares given an inner picture: {busy[58]} of {n} at 58 px, {busy[130]} of {n} at 130 px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
