"""Small photos of real people: how often is a real face called fake once its photo is small, as a thumbnail, an
avatar or a picture saved from a page is?  Every training photo was 200 px (UTKFace) and every training video at
least 480 px on its short side; a photo shrunk to 64 px makes the classifier see its face blown up from a few dozen
pixels.  Each held-out UTKFace photo (real, never trained on by any shipped model, copies of training photos left
out as ``evaluate --split heldout`` does) is shrunk to each ``--sides`` (its short side, px; INTER_AREA, saved as
PNG in a temporary folder) and analysed by the pipeline as a user's file would be (no CAM, no second opinion).

    python scripts/small_photo_probe.py --json runs/small_photo/probe.json            # score every size (~35 min)
    python scripts/small_photo_probe.py --tier runs/small_photo/probe.json --below 100 --measured-at 64 \\
        --card assets/models/mnv2_tightpad.json [--write]                            # the table, and the card's tier

``--tier`` sets a threshold of the card's own for photos under ``--below`` px on their short side, by the rule of
the card's threshold for small videos (:func:`detector.evaluation.calibration.small_video_threshold`: at most 5%
false alarms among the real photos at ``--measured-at`` px, never below the card's own threshold), and prints
what it does at every size measured, cross-fitted: the photos are split in two halves by a hash of their name and
each half is judged at the threshold the other half gives, so no photo judges itself.  Nothing is written into the
repository but the card, with ``--write``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np

SIDES = (200, 150, 100, 80, 64, 48)  # the photo's short side, px (UTKFace's photos are 200 x 200)


def _half(name: str) -> int:
    """0 or 1, by a hash of the photo's file name: the two halves of the cross-fitting, the same on every run."""
    return hashlib.sha1(os.path.basename(name).encode()).digest()[0] & 1


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
    print(f"{note}; {len(items)} scored at sides {', '.join(map(str, args.sides))} px", file=sys.stderr)
    rows = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for i, it in enumerate(items):
            image = cv2.imread(it.path, cv2.IMREAD_COLOR)
            if image is None:
                continue
            h, w = image.shape[:2]
            for side in args.sides:
                f = side / min(h, w)
                shrunk = (
                    image if f >= 1 else cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
                )
                path = os.path.join(tmp, f"photo_{side}.png")
                cv2.imwrite(path, shrunk)
                try:
                    r = analyze(path, model=model, cam=None, second_opinion=False)
                    s = None if r.score != r.score else round(float(r.score), 6)
                    px = max((max(f.box[2], f.box[3]) for f in r.faces), default=None)
                except InputError:
                    s, px = None, None
                rows.append(
                    {
                        "photo": os.path.basename(it.path),
                        "group": it.subgroup,
                        "side": side,
                        "score": s,
                        "face_px": None if px is None else int(px),
                    }
                )
            if (i + 1) % 100 == 0:
                print(f"{i + 1} photos, {time.time() - t0:.0f} s", file=sys.stderr)
    out = {"model": model.card.name, "photos": len(items), "sides": list(args.sides), "note": note, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=0)
    print(f"wrote {args.json} ({len(rows)} rows, {time.time() - t0:.0f} s)", file=sys.stderr)
    return 0


def _labels(scores, t: float, low: float) -> tuple[int, int, int]:
    fake = sum(s >= t for s in scores)
    uncertain = sum(low <= s < t for s in scores)
    return fake, uncertain, len(scores) - fake - uncertain


def tier(args) -> int:
    from detector.evaluation.calibration import small_video_threshold
    from detector.models.card import ModelCard

    probe = json.load(open(args.tier))
    card = ModelCard.from_file(args.card)
    t0, band0 = float(card.threshold), card.uncertain
    low0 = float(band0[0]) if band0 else t0
    rows = [r for r in probe["rows"] if r["score"] is not None]
    at = [r for r in rows if r["side"] == args.measured_at]
    if not at:
        print(f"no photo measured at {args.measured_at} px in {args.tier}", file=sys.stderr)
        return 2
    whole, band = small_video_threshold([r["score"] for r in at], t0, band0)
    halves = {}
    for h in (0, 1):  # each half judged at the threshold the other half's photos give
        halves[h] = small_video_threshold([r["score"] for r in at if _half(r["photo"]) != h], t0, band0)
    print(
        f"{probe['photos']} held-out real photos ({probe['model']}); tier for photos under {args.below} px set at "
        f"{args.measured_at} px: {whole:.4f}, uncertain from {band[0]:.4f} (halves: {halves[0][0]:.4f}, "
        f"{halves[1][0]:.4f}); card's own {t0:.4f}, uncertain from {low0:.4f}"
    )
    print(
        "| short side | photos with a face | no face | median face px | "
        "at the card's threshold: fake / uncertain / real "
        "| at the tier (cross-fitted): fake / uncertain / real | false alarms: card's, tier's |"
    )
    print("|---:|---:|---:|---:|---|---|---|")
    for side in probe["sides"]:
        got = [r for r in rows if r["side"] == side]
        none = sum(1 for r in probe["rows"] if r["side"] == side and r["score"] is None)
        scores = [r["score"] for r in got]
        card_l = _labels(scores, t0, low0)
        if side < args.below:  # each half at the threshold (and band) the other half gives
            parts = [
                _labels([r["score"] for r in got if _half(r["photo"]) == h], halves[h][0], halves[h][1][0])
                for h in (0, 1)
            ]
            tier_l = tuple(a + b for a, b in zip(*parts))
        else:
            tier_l = card_l
        px = np.median([r["face_px"] for r in got]) if got else float("nan")
        n = max(1, len(scores))
        print(
            f"| {side} | {len(scores)} | {none} | {px:.0f} | {' / '.join(map(str, card_l))} | "
            f"{' / '.join(map(str, tier_l))}{'' if side < args.below else ' (no tier)'} | "
            f"{card_l[0] / n:.1%}, {tier_l[0] / n:.1%} |"
        )
    groups = sorted({r["group"] or "-" for r in rows})
    print("\nBy group, photos under the tier's size (cross-fitted), false alarms at the card's threshold, at the tier:")
    print("| group | " + " | ".join(f"{s} px" for s in probe["sides"] if s < args.below) + " |")
    print("|---|" + "---|" * sum(s < args.below for s in probe["sides"]))
    for g in groups:
        cells = []
        for side in (s for s in probe["sides"] if s < args.below):
            got = [r for r in rows if r["side"] == side and (r["group"] or "-") == g]
            card_fa = sum(r["score"] >= t0 for r in got)
            tier_fa = sum(r["score"] >= halves[_half(r["photo"])][0] for r in got)
            cells.append(f"{card_fa}, {tier_fa} of {len(got)}")
        print(f"| {g} | " + " | ".join(cells) + " |")
    if args.write:
        raw = json.loads(open(args.card).read())
        scores_at = [r["score"] for r in at]
        raw["small_photo"] = {
            "below": int(args.below),
            "threshold": round(whole, 6),
            "uncertain": [round(band[0], 6), round(whole, 6)],
            "target_false_alarms": 0.05,
            "measured_at": int(args.measured_at),
            "rule": (
                f"lowest score with at most 5% false alarms among {len(scores_at)} held-out real UTKFace photos "
                f"(never trained on) shrunk to {args.measured_at} px on the short side (scripts/small_photo_probe.py), "
                "never below the card's own threshold; uncertain from the lower of the two bands' edges"
            ),
            "measured": {
                "probe": args.tier,
                "photos": len(scores_at),
                "halves": [round(halves[0][0], 6), round(halves[1][0], 6)],
            },
        }
        with open(args.card, "w") as fh:
            json.dump(raw, fh, indent=2)
            fh.write("\n")
        print(f"wrote small_photo into {args.card}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model name or card (default: the default)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--sides", type=int, nargs="+", default=list(SIDES), help="short sides to shrink to, px")
    p.add_argument("--photos", type=int, default=0, help="only the first N held-out photos (0: all)")
    p.add_argument("--json", default=None, help="score: write every photo's score at every size here")
    p.add_argument("--tier", default=None, help="a probe JSON: print the table and the tier it gives")
    p.add_argument("--below", type=int, default=100, help="--tier: photos under this short side (px) get the tier")
    p.add_argument("--measured-at", type=int, default=64, help="--tier: the size whose scores set it (px)")
    p.add_argument("--card", default="assets/models/mnv2_tightpad.json", help="--tier: the card to read and write")
    p.add_argument("--write", action="store_true", help="--tier: write the tier into --card as small_photo")
    args = p.parse_args(argv)
    if args.tier:
        return tier(args)
    if not args.json:
        p.error("give --json OUT to score, or --tier PROBE to read a probe")
    if not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    return score(args)


if __name__ == "__main__":
    sys.exit(main())
