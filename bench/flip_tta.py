"""Does test-time flipping help?  Validation video AUC with and without mirror-image averaging.

    .venv/bin/python bench/flip_tta.py ../shared/data/ffpp [--model NAME] [--frames 128]

Scores the main face's crops (the training crop cache, made by the pipeline's own code)
of the model's validation videos (the pair groups its card says training never saw) as
they are, mirrored, and averaged, and prints video AUC, accuracy and log loss under both
aggregation rules, then frame AUC.  The pipeline does not flip: this script is why.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None) -> int:
    from detector.data.crops import extract_many, read_crop
    from detector.data.datasets import read_dataset
    from detector.evaluation.evaluate import select_split
    from detector.evaluation.metrics import metrics_block
    from detector.inference.report import confident_rule, mean_rule
    from detector.models.classifier import load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--model", default=None, help="model name or card (default: the default model)")
    ap.add_argument("--frames", type=int, default=64, help="crops per video (the crop cache's setting)")
    args = ap.parse_args(argv)

    clf = load_model(args.model)
    val, used, note = select_split(read_dataset(args.data), clf.card, "val")
    if used != "val":
        print(f"error: {note}", file=sys.stderr)
        return 2
    crops = extract_many(
        [v.path for v in val], frames=args.frames, margin=clf.card.face_margin, workers=1, progress=False
    )
    rows = []
    for it in val:
        cs = crops[it.path]
        if isinstance(cs, str) or not cs.files:
            continue
        imgs = [read_crop(f) for f in cs.files]
        plain = clf.predict(imgs)
        mirrored = clf.predict([np.ascontiguousarray(im[:, ::-1]) for im in imgs])
        rows.append((it.label, plain, mirrored))
    labels = [r[0] for r in rows]
    variants = {"as is": lambda r: r[1], "mirrored": lambda r: r[2], "average": lambda r: (r[1] + r[2]) / 2}
    print(f"model {clf.name}, {len(rows)} validation videos, {args.frames} frames each")
    for name, pick in variants.items():
        for rule in (confident_rule, mean_rule):
            m = metrics_block(labels, [rule(pick(r)) for r in rows])
            print(
                f"{name:9s} {rule.__name__:15s} video AUC {m['auc']:.3f}  acc {m['accuracy']:.3f}  "
                f"log loss {m['log_loss']:.3f}"
            )
    frame_labels = np.concatenate([[r[0]] * len(r[1]) for r in rows])
    for name, pick in variants.items():
        print(f"{name:9s} frame AUC {metrics_block(frame_labels, np.concatenate([pick(r) for r in rows]))['auc']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
