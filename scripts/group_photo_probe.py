"""Small faces in a large photo: are real faces called fake as often as in a small photo of one face?

The card's thresholds for small photos (``small_photo``) go by the photo's short side, measured on single UTKFace
photos shrunk whole (``scripts/small_photo_probe.py``), where the face fills the picture.  A group photo, a crowd or a
wide shot is large, with small faces: its faces are blown up from as few pixels, but the photo's side does not say
so.  Here the held-out real UTKFace photos (never trained on, copies of training photos left out as ``evaluate
--split heldout`` does) are shrunk to each ``--sides`` px and laid out ``--cols`` x ``--rows`` on a grey, slightly
noisy canvas, half a photo apart, as the faces of a group photo, then each canvas is analysed by the pipeline as a
user's file would be (no CAM, no second opinion).  Every face found is matched to its photo by its box's centre.

    python scripts/group_photo_probe.py --json runs/group_photo/probe.json          # score (~20 min)
    python scripts/group_photo_probe.py --read runs/group_photo/probe.json         # the tables

The tables: per face, false alarms at the threshold that judged the canvas and at the card's small-photo tier its
face size would get (the tier whose size the face's box is under, the box's longer side standing for the photo's
side, as in the single photos, where the box is about the photo); per canvas, how often a canvas of real faces only
was called fake.  Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

SIDES = (200, 100, 80, 64, 48)


def canvas(
    images: list[np.ndarray], side: int, cols: int, rows: int, rng, fill: str = "grey"
) -> tuple[np.ndarray, list[tuple]]:
    """The photos (each shrunk to ``side`` on its short side, centre-cut square) half a photo apart, on a grey,
    slightly noisy canvas (``fill`` "grey": each photo's edge is in its face's crop, as in a collage of tight
    portraits) or each mirrored outwards into the space around it ("mirror": no edge in the crop, as the pipeline
    fills a single photo's); and each photo's rectangle (x, y, w, h)."""
    import cv2

    gap = side // 2
    w, h = cols * side + (cols + 1) * gap, rows * side + (rows + 1) * gap
    out = np.clip(rng.normal(120, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    rects = []
    for k, image in enumerate(images):
        ih, iw = image.shape[:2]
        s = min(ih, iw)
        sq = image[(ih - s) // 2 : (ih - s) // 2 + s, (iw - s) // 2 : (iw - s) // 2 + s]
        small = cv2.resize(sq, (side, side), interpolation=cv2.INTER_AREA if side < s else cv2.INTER_LINEAR)
        r, c = divmod(k, cols)
        x, y = gap + c * (side + gap), gap + r * (side + gap)
        if fill == "mirror":  # the photo and half the gap around it, mirrored: tiles meet halfway
            p = gap // 2
            out[y - p : y + side + p, x - p : x + side + p] = cv2.copyMakeBorder(
                small, p, p, p, p, cv2.BORDER_REFLECT_101
            )
        else:
            out[y : y + side, x : x + side] = small
        rects.append((x, y, side, side))
    return out, rects


def score(args) -> int:
    import cv2

    from detector.data.datasets import read_datasets
    from detector.errors import InputError
    from detector.evaluation.evaluate import select_split
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(args.model)
    items, _, note = select_split(read_datasets([args.utk]), model.card, "heldout")
    if args.photos:
        items = items[: args.photos]
    per = args.cols * args.rows
    groups = [items[i : i + per] for i in range(0, len(items) - per + 1, per)]
    print(f"{note}; {len(groups)} canvases of {per} photos at sides {args.sides}", file=sys.stderr)
    rng = np.random.default_rng(0)
    faces, canvases = [], []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for g, group in enumerate(groups):
            images = [cv2.imread(it.path, cv2.IMREAD_COLOR) for it in group]
            if any(im is None for im in images):
                continue
            for side in args.sides:
                image, rects = canvas(images, side, args.cols, args.rows, rng, args.fill)
                path = os.path.join(tmp, f"group_{side}.png")
                cv2.imwrite(path, image)
                try:
                    r = analyze(path, model=model, cam=None, second_opinion=False)
                except InputError as e:
                    canvases.append({"canvas": g, "side": side, "error": str(e)})
                    continue
                found = [f for fr in r.frames for f in fr.faces]
                matched = set()
                for f in found:
                    cx, cy = f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2
                    k = next((k for k, (x, y, w, h) in enumerate(rects) if x <= cx < x + w and y <= cy < y + h), None)
                    faces.append(
                        {
                            "canvas": g,
                            "side": side,
                            "photo": None if k is None else os.path.basename(group[k].path),
                            "group": None if k is None else group[k].subgroup,
                            "score": round(float(f.score), 6),
                            "face_px": int(max(f.box[2], f.box[3])),
                        }
                    )
                    if k is not None:
                        matched.add(k)
                canvases.append(
                    {
                        "canvas": g,
                        "side": side,
                        "short_side": int(min(image.shape[:2])),
                        "faces": len(found),
                        "photos_found": len(matched),
                        "score": None if r.score != r.score else round(float(r.score), 6),
                        "label": r.label,
                        "threshold": round(float(r.threshold), 6),
                    }
                )
            if (g + 1) % 20 == 0:
                print(f"{g + 1} canvases, {time.time() - t0:.0f} s", file=sys.stderr)
    out = {
        "model": model.card.name,
        "note": note,
        "sides": list(args.sides),
        "layout": [args.cols, args.rows],
        "fill": args.fill,
        "faces": faces,
        "canvases": canvases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=0)
    print(f"wrote {args.json} ({len(faces)} faces, {time.time() - t0:.0f} s)", file=sys.stderr)
    return 0


def read(args) -> int:
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    probe = json.load(open(args.read))
    card = ModelCard.from_file(resolve(args.model or probe["model"]))
    t0 = float(card.threshold)
    tiers = [(t["below"], t["threshold"]) for t in card.small_photo_tiers]
    print(f"{probe['model']}; {probe.get('fill', 'grey')} fill; card's threshold {t0:.4f}; tiers {tiers}")
    print(
        "| photo side in the canvas | canvases (short side) | photos found | other faces | median face px | "
        "faces called fake at the canvas's threshold | at the tier of the face's size | canvases called fake |"
    )
    print("|---:|---:|---:|---:|---:|---|---|---|")
    for side in probe["sides"]:
        cs = [c for c in probe["canvases"] if c["side"] == side and "error" not in c]
        fs = [f for f in probe["faces"] if f["side"] == side and f["photo"]]
        other = sum(1 for f in probe["faces"] if f["side"] == side and not f["photo"])
        n = max(1, len(fs))
        at_canvas = sum(f["score"] >= cs[0]["threshold"] for f in fs) if cs else 0
        at_face = sum(f["score"] >= card.threshold_for(f["face_px"], photo=True)[0] for f in fs)
        fake = sum(c["label"] == "fake" for c in cs)
        short = sorted({c["short_side"] for c in cs})
        px = np.median([f["face_px"] for f in fs]) if fs else float("nan")
        print(
            f"| {side} | {len(cs)} ({', '.join(map(str, short))}) | {len(fs)} | {other} | {px:.0f} | "
            f"{at_canvas} ({at_canvas / n:.1%}) | {at_face} ({at_face / n:.1%}) | {fake} of {len(cs)} |"
        )
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model name or card (default: the default)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--sides", type=int, nargs="+", default=list(SIDES), help="each photo's side in the canvas, px")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("--rows", type=int, default=2)
    p.add_argument("--fill", choices=("grey", "mirror"), default="grey", help="around each photo (see canvas)")
    p.add_argument("--photos", type=int, default=0, help="only the first N held-out photos (0: all)")
    p.add_argument("--json", default=None, help="score: write every face's score here")
    p.add_argument("--read", default=None, help="a probe JSON: print the tables")
    args = p.parse_args(argv)
    if args.read:
        return read(args)
    if not args.json:
        p.error("give --json OUT to score, or --read PROBE to read a probe")
    if not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    return score(args)


if __name__ == "__main__":
    sys.exit(main())
