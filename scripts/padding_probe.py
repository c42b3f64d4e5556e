"""Does the model's score on a photo depend on the padding around the face?  A tightly cropped photo (UTKFace's
chips) gives a face square that runs past the picture's edge; the pipeline fills that part by mirroring the
photo's border outwards (``detector.inference.stills.pad_still``), as training did.  This scores each held-out
photo's face as the pipeline does, then again with that padding black (as beyond a video frame's edge) and
grey (the crop's mean colour), and prints how far the scores and labels move.

    python scripts/padding_probe.py --model mnv2_c40_reals --photos 150 --utk ../shared/data/faces_utk
"""

from __future__ import annotations

import argparse
import os
import random
import sys

import numpy as np

from detector.errors import InputError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model name or card (default: the default model)")
    p.add_argument("--photos", type=int, default=150, help="held-out photos drawn (seed 0)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    args = p.parse_args(argv)
    from detector.data.datasets import held_out, read_datasets
    from detector.inference.pipeline import analyze
    from detector.inference.report import verdict
    from detector.models.classifier import load_model
    from explain.faithfulness import padding_mask

    model = load_model(args.model)
    card = model.card
    photos = [it for it in read_datasets([args.utk]) if held_out(it)] if os.path.isdir(args.utk) else []
    random.Random(0).shuffle(photos)
    crops, masks = [], []
    for it in photos[: args.photos]:
        try:
            report = analyze(it.path, model=model)
        except InputError:
            continue
        for f in report.faces:
            if f.inside is not None:
                crops.append(f.crop)
                masks.append(padding_mask(f.crop.shape[:2], f.inside))
    if not crops:
        print("no photo whose face's square runs past its edge")
        return 1
    variants = {"mirrored (as analysed)": crops}
    variants["black"] = [np.where(m[..., None], 0, c).astype(np.uint8) for c, m in zip(crops, masks)]
    variants["grey (mean colour)"] = [
        np.where(m[..., None], c.reshape(-1, 3).mean(0), c).astype(np.uint8) for c, m in zip(crops, masks)
    ]
    scores = {name: np.asarray(model.predict(cs), dtype=float) for name, cs in variants.items()}
    base = scores["mirrored (as analysed)"]
    labels = {name: [verdict(s, card.threshold, card.uncertain) for s in sc] for name, sc in scores.items()}
    print(f"{len(crops)} faces of held-out photos whose square runs past the picture (threshold {card.threshold:.4f})")
    print(
        "| padding | median score | 95th percentile | fake / uncertain / real | median change "
        "| faces whose label changes |"
    )
    print("|---|---:|---:|---|---:|---:|")
    for name, sc in scores.items():
        counts = " / ".join(str(labels[name].count(k)) for k in ("fake", "uncertain", "real"))
        changed = sum(a != b for a, b in zip(labels[name], labels["mirrored (as analysed)"]))
        print(
            f"| {name} | {np.median(sc):.3f} | {np.percentile(sc, 95):.3f} | {counts} | "
            f"{np.median(sc - base):+.3f} | {changed} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
