"""Can the report's colour measures tell a filtered real photo from an unfiltered one?  For a seeded draw of
held-out UTKFace photos (the one ``scripts/circulation_probe.py`` uses), each filter of that probe is applied, the
photo's main face found as the pipeline finds it, and its colour measures taken
(``detector.inference.quality.face_stats``: hue, chroma, colour_slope) with one more tried here, ``split``: the
CIELAB a*b* distance between the crop's lightest and darkest quarters of pixels (teal shadows under orange
highlights, the mark of film-style grading).  Prints, per filter, each measure's 2nd / 50th / 98th percentile, how
many faces fall outside the model card's range (the report warns of those, and they are what a colour second
opinion is asked on), and for ``split``, which no card records, how many lie above the unfiltered photos' 98th
percentile.

    python scripts/filter_measures.py --photos 100 --filters none,teal_orange,warm,duotone,sepia
"""

from __future__ import annotations

import argparse
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from circulation_probe import FILTERS  # noqa: E402  (the same filters, so the counts match that probe's)

MEASURES = ("hue", "chroma", "colour_slope")


def split(crop: np.ndarray) -> float:
    """The a*b* distance between the mean colours of the crop's lightest and darkest quarters of pixels."""
    import cv2

    small = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)
    lightness, ab = lab[:, 0], lab[:, 1:]
    dark = ab[lightness <= np.percentile(lightness, 25)].mean(0)
    light = ab[lightness >= np.percentile(lightness, 75)].mean(0)
    return float(np.hypot(*(light - dark)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="the model whose card's ranges are used (default: the default)")
    p.add_argument("--photos", type=int, default=100, help="held-out photos drawn (default 100)")
    p.add_argument("--seed", type=int, default=1, help="the draw's seed (default 1, as circulation_probe.py)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--filters", default="none,teal_orange,warm,duotone,sepia", help="comma-separated filter names")
    args = p.parse_args(argv)
    from PIL import Image

    from detector.data.datasets import held_out, read_datasets
    from detector.inference.pipeline import detect_faces
    from detector.inference.quality import face_stats, out_of_range
    from detector.inference.stills import STILL_PAD
    from detector.inference.video import SampledFrame
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    if not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    names = args.filters.split(",")
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        print(f"unknown filter(s): {', '.join(unknown)}; known: {', '.join(FILTERS)}", file=sys.stderr)
        return 2
    ranges = ModelCard.from_file(resolve(args.model)).ranges or {}
    photos = [it for it in read_datasets([args.utk]) if held_out(it)]
    random.Random(args.seed).shuffle(photos)
    photos = photos[: args.photos]
    values: dict[str, dict[str, list[float]]] = {}
    warned: dict[str, int] = {}
    for name in names:
        rows: dict[str, list[float]] = {k: [] for k in (*MEASURES, "split")}
        warned[name] = 0
        for it in photos:
            image = FILTERS[name][2](np.asarray(Image.open(it.path).convert("RGB")))
            faces = detect_faces([SampledFrame(0, 0.0, image)], pad=STILL_PAD)[0]
            if not faces:
                continue
            face = max(faces, key=lambda f: f.box[2] * f.box[3])
            stats = face_stats(face.crop, face.box, face.keypoints)
            for k in MEASURES:
                if np.isfinite(stats[k]):
                    rows[k].append(stats[k])
            rows["split"].append(split(face.crop))
            # the report's own rule (out_of_range), on the colour measures alone
            warned[name] += bool(out_of_range([{k: stats[k] for k in MEASURES}], ranges))
        values[name] = rows
    base = np.percentile(values[names[0]]["split"], 98) if values[names[0]]["split"] else np.nan
    print(f"{len(photos)} held-out photos (seed {args.seed}); ranges of {resolve(args.model)}")
    print(
        f"| filter | faces | {' | '.join(f'{k} (range {ranges.get(k)})' for k in MEASURES)} | split | "
        f"outside a colour range (warned) | split above {names[0]}'s 98th percentile ({base:.1f}) |"
    )
    print("|---|---:|" + "---|" * len(MEASURES) + "---|---:|---:|")
    for name in names:
        rows = values[name]
        cells = [
            " / ".join(f"{q:.2f}" for q in np.percentile(rows[k], [2, 50, 98])) if rows[k] else "-"
            for k in (*MEASURES, "split")
        ]
        above = int(np.sum(np.array(rows["split"]) > base))
        print(f"| {name} | {len(rows['split'])} | {' | '.join(cells)} | {warned[name]} | {above} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
