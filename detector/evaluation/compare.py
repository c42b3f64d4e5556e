"""Several models on one clip or photo, side by side: ``deepfake-lens compare CLIP [--models a,b | all]``.

    deepfake-lens compare clip.mp4                         # every installed model
    deepfake-lens compare photo.jpg --models effnet_realfaces,efficientnet_lite0 --json cmp.json --csv cmp.csv

Each model runs the same :func:`detector.inference.pipeline.analyze` on the same sampled
frames; the table gives each one's label, score, threshold and how many faces it scored above
its threshold, and says where the models disagree.  ``--json`` writes every model's full report
under its name; ``--csv`` one row per model.  Exit codes: 0 done; 2 bad input, argument or model.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

__all__ = ["compare", "main"]

FIELDS = ["model", "architecture", "label", "score", "threshold", "uncertain_from", "faces", "faces_over_threshold"]


def compare(path: str, models: list[str], frames: int = 32) -> tuple[list[dict], dict]:
    """(one summary row per model, {model: report dict}) for ``path``.  Raises InputError / NoModelError."""
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    rows, reports = [], {}
    for name in models:
        clf = load_model(name)
        report = analyze(path, frames=frames, model=clf)
        scores = [f.score for f in report.faces]
        rows.append(
            {
                "model": clf.name,
                "architecture": f"{len(clf.card.members)} x {clf.card.architecture}"
                if clf.card.members
                else clf.card.architecture,
                "label": report.label,
                "score": None if report.score != report.score else round(float(report.score), 4),
                "threshold": report.threshold,
                "uncertain_from": report.uncertain[0] if report.uncertain else None,
                "faces": len(scores),
                "faces_over_threshold": sum(s >= report.threshold for s in scores),
            }
        )
        reports[clf.name] = report.to_dict()
    return rows, reports


def disagreement(rows: list[dict]) -> str:
    labels = {r["label"] for r in rows if r["label"] != "unknown"}
    if len(labels) <= 1:
        return f"the models agree: {labels.pop() if labels else 'no face'}"
    return "the models disagree: " + ", ".join(f"{r['model']} says {r['label']}" for r in rows)


def main(argv=None) -> int:
    from detector.errors import InputError, NoModelError
    from detector.models.store import list_models

    p = argparse.ArgumentParser(prog="deepfake-lens compare", description="Several models on one clip or photo")
    p.add_argument("path", metavar="CLIP", help="a video or a photo")
    p.add_argument("--models", default="all", help="comma-separated model names or card paths (default: all)")
    p.add_argument("--frames", type=int, default=32, help="frames sampled evenly over the clip (default 32)")
    p.add_argument("--json", metavar="OUT", help="write every model's report, by model name")
    p.add_argument("--csv", metavar="OUT", help="write one row per model")
    args = p.parse_args(argv)
    if not 1 <= args.frames <= 512:
        p.error("--frames: 1 to 512")
    models = [c.name for c in list_models()] if args.models == "all" else [m for m in args.models.split(",") if m]
    if not models:
        print("error: no model installed to compare", file=sys.stderr)
        return 2
    try:
        rows, reports = compare(args.path, models, args.frames)
    except (InputError, NoModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    width = max(len(r["model"]) for r in rows)
    for r in rows:
        score = "n/a" if r["score"] is None else f"{r['score']:.3f}"
        print(
            f"{r['model']:<{width}}  {r['label']:<9}  score {score}  threshold {r['threshold']:.3f}  "
            f"faces over it {r['faces_over_threshold']}/{r['faces']}  ({r['architecture']})"
        )
    print(disagreement(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"input": args.path, "models": rows, "reports": reports}, fh, indent=1)
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
