"""Small photos of real people: how often is a real face called fake once its photo is small, as a thumbnail, an
avatar or a picture saved from a page is?  Every training photo was 200 px (UTKFace) and every training video at
least 480 px on its short side; a photo shrunk to 64 px makes the classifier see its face blown up from a few dozen
pixels.  Each held-out UTKFace photo (real, never trained on by any shipped model, copies of training photos left
out as ``evaluate --split heldout`` does) is shrunk to each ``--sides`` (its short side, px; INTER_AREA, saved as
PNG in a temporary folder) and analysed by the pipeline as a user's file would be (no CAM, no second opinion).

    python scripts/small_photo_probe.py --json runs/small_photo/probe.json            # score every size (~35 min)
    python scripts/small_photo_probe.py --tier runs/small_photo/probe.json --tiers 80:64 56:48 \\
        --card assets/models/mnv2_tightpad.json [--write]                           # the table, and the card's tiers

``--tier`` sets thresholds of the card's own for photos under each ``BELOW`` px on their short side, by the rule of
the card's thresholds for small videos (:func:`detector.evaluation.calibration.small_video_threshold`: at most 5%
false alarms among the real photos shrunk to ``AT`` px, never below the card's own threshold or a larger size's), and
prints
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


def _tiers(spec: list[str]) -> list[tuple[int, int]]:
    """``BELOW:MEASURED`` pairs (px), largest size first: each tier judges photos under BELOW, set at MEASURED."""
    out = []
    for item in spec:
        below, _, at = item.partition(":")
        out.append((int(below), int(at or below)))
    return sorted(out, reverse=True)


def tier(args) -> int:
    from detector.evaluation.calibration import small_video_threshold
    from detector.models.card import ModelCard

    probe = json.load(open(args.tier))
    card = ModelCard.from_file(args.card)
    t0, band0 = float(card.threshold), card.uncertain
    low0 = float(band0[0]) if band0 else t0
    rows = [r for r in probe["rows"] if r["score"] is not None]
    spec = _tiers(args.tiers)
    if len({below for below, _ in spec}) < len(spec):
        print("two tiers of one size", file=sys.stderr)
        return 2
    tiers = []  # largest size first; each never below a larger size's (nor the card's own): as small_video's tiers
    floor = {"all": t0, 0: t0, 1: t0}
    for below, at in spec:
        scores = [r for r in rows if r["side"] == at]
        if not scores:
            print(f"no photo measured at {at} px in {args.tier}", file=sys.stderr)
            return 2
        if at >= below:
            print(f"a tier for photos under {below} px cannot be set at {at} px", file=sys.stderr)
            return 2
        whole, band = small_video_threshold([r["score"] for r in scores], floor["all"], band0)
        halves = {  # each half judged at the threshold the other half's photos give
            h: small_video_threshold([r["score"] for r in scores if _half(r["photo"]) != h], floor[h], band0)
            for h in (0, 1)
        }
        floor = {"all": whole, 0: halves[0][0], 1: halves[1][0]}
        tiers.append({"below": below, "at": at, "t": whole, "band": band, "halves": halves, "n": len(scores)})
        print(
            f"tier for photos under {below} px, set at {at} px: {whole:.4f}, uncertain from {band[0]:.4f} "
            f"(halves: {halves[0][0]:.4f}, {halves[1][0]:.4f})"
        )

    def applying(side):  # the smallest tier the size is under (as ModelCard.small_rule picks)
        return next((t for t in reversed(tiers) if side < t["below"]), None)

    print(
        f"{probe['photos']} held-out real photos ({probe['model']}); card's own threshold {t0:.4f}, uncertain from "
        f"{low0:.4f}"
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
        t = applying(side)
        if t:  # each half at the threshold (and band) the other half gives
            parts = [
                _labels([r["score"] for r in got if _half(r["photo"]) == h], t["halves"][h][0], t["halves"][h][1][0])
                for h in (0, 1)
            ]
            tier_l = tuple(a + b for a, b in zip(*parts))
        else:
            tier_l = card_l
        px = np.median([r["face_px"] for r in got]) if got else float("nan")
        n = max(1, len(scores))
        said = f" (under {t['below']} px)" if t else " (no tier)"
        print(
            f"| {side} | {len(scores)} | {none} | {px:.0f} | {' / '.join(map(str, card_l))} | "
            f"{' / '.join(map(str, tier_l))}{said} | {card_l[0] / n:.1%}, {tier_l[0] / n:.1%} |"
        )
    small = [s for s in probe["sides"] if applying(s)]
    print("\nBy group, photos judged at a tier: false alarms at the card's threshold, at the tier (cross-fitted):")
    print("| group | " + " | ".join(f"{s} px" for s in small) + " |")
    print("|---|" + "---|" * len(small))
    for g in sorted({r["group"] or "-" for r in rows}):
        cells = []
        for side in small:
            t = applying(side)
            got = [r for r in rows if r["side"] == side and (r["group"] or "-") == g]
            card_fa = sum(r["score"] >= t0 for r in got)
            tier_fa = sum(r["score"] >= t["halves"][_half(r["photo"])][0] for r in got)
            cells.append(f"{card_fa}, {tier_fa} of {len(got)}")
        print(f"| {g} | " + " | ".join(cells) + " |")
    if args.write:
        from detector.models.card import write_card_fields

        small_photo = [
            {
                "below": t["below"],
                "threshold": round(t["t"], 6),
                "uncertain": [round(t["band"][0], 6), round(t["t"], 6)],
                "target_false_alarms": 0.05,
                "measured_at": t["at"],
                "rule": (
                    f"lowest score with at most 5% false alarms among {t['n']} held-out real UTKFace photos (never "
                    f"trained on) shrunk to {t['at']} px on the short side (scripts/small_photo_probe.py), never below "
                    "the card's own threshold or a larger size's; uncertain from the lower of the two bands' edges"
                ),
                "measured": {
                    "probe": args.tier,
                    "photos": t["n"],
                    "halves": [round(t["halves"][0][0], 6), round(t["halves"][1][0], 6)],
                },
            }
            for t in sorted(tiers, key=lambda t: t["below"])
        ]
        write_card_fields(args.card, {"small_photo": small_photo})
        print(f"wrote small_photo ({len(tiers)} tiers) into {args.card}")
    return 0


def probe_parser(description: str) -> argparse.ArgumentParser:
    """The options of a probe of the held-out UTKFace photos (this one's and scripts/group_photo_probe.py's): the
    model, the data root, how many photos, and the card its ``--tier`` reads (and writes)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default=None, help="model name or card (default: the default)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=0, help="only the first N held-out photos (0: all)")
    p.add_argument("--card", default="assets/models/mnv2_tightpad.json", help="--tier: the card to read and write")
    return p


def sizes_option(p: argparse.ArgumentParser, flag: str, text: str) -> None:
    """A ``BELOW:AT`` option (px): tiers for photos under BELOW, each set on the photos shrunk to AT; the default's."""
    p.add_argument(flag, nargs="+", default=["80:64", "56:48"], metavar="BELOW:AT", help=text)


def score_if_possible(p: argparse.ArgumentParser, args, score, other: str) -> int:
    """``score(args)``, once ``--json`` names where and the data are there (``other``: the probe's other mode)."""
    if not args.json:
        p.error(f"give --json OUT to score, or {other}")
    if not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    return score(args)


def main(argv=None) -> int:
    p = probe_parser(__doc__.split("\n\n")[0])
    p.add_argument("--sides", type=int, nargs="+", default=list(SIDES), help="short sides to shrink to, px")
    p.add_argument("--json", default=None, help="score: write every photo's score at every size here")
    p.add_argument("--tier", default=None, help="a probe JSON: print the table and the tier it gives")
    sizes_option(
        p, "--tiers", "--tier: a threshold for photos under BELOW px (short side), set on the photos shrunk to AT px"
    )
    p.add_argument("--write", action="store_true", help="--tier: write the tier into --card as small_photo")
    args = p.parse_args(argv)
    if args.tier:
        return tier(args)
    return score_if_possible(p, args, score, "--tier PROBE to read a probe")


if __name__ == "__main__":
    sys.exit(main())
