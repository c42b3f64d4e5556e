"""One row per training run for the "Every architecture, side by side" table of docs/results.md: the run's own
validation fold, split by source (FF++ c23, c40 YouTube, the actor clips, photos), with the c23 AUC by method.

    python scripts/fold_figures.py runs/cv3r/fold0 runs/cvmeso/fold0 runs/cvr18d/fold0

Reads each run's metrics.json, val_videos.json and model card; prints a Markdown table.  Every figure is on items
the run never trained on (its validation fold); runs of one fold of the same cross-validation (same --folds,
--fold and split seed) validate on the same items, so their rows compare like with like.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from detector.evaluation.crossval import auc_text
from detector.evaluation.metrics import metrics_block

METHODS = ("Deepfakes", "Face2Face", "FaceSwap")
HEADERS = {
    "run": "run",
    "arch": "architecture",
    "size": "input",
    "init": "init",
    "params": "parameters",
    "minutes": "wall time, min",
    "fit_minutes": "fitting, min",
    "c23": "c23 video AUC (95% interval)",
    "methods": "c23 by method: DF / F2F / FS",
    "c40": "c40 video AUC",
    "threshold": "threshold (5% of validation reals)",
    "c23_reals_fake": "c23 reals at or above it",
    "photos_fake_at_0.5": "validation photos at or above 0.5",
}


def _auc(videos: list[dict]) -> str:
    labels = [v["label"] for v in videos]
    if len(set(labels)) < 2:
        return "-"
    return auc_text(metrics_block(labels, [v["confident"] for v in videos], ci=True), missing="-")


def row(run: Path) -> dict:
    """The figures of one run folder (``deepfake-lens train --out RUN``)."""
    metrics = json.loads((run / "metrics.json").read_text())
    videos = json.loads((run / "val_videos.json").read_text())
    card_path = next((run / "model").glob("*.json"))
    card = json.loads(card_path.read_text())
    params = None
    weights = card_path.parent / card["weights"] if isinstance(card.get("weights"), str) else None
    if weights is not None and weights.exists():
        from safetensors import safe_open

        with safe_open(str(weights), "pt") as fh:
            params = sum(
                _numel(fh.get_slice(k).get_shape())
                for k in fh.keys()
                if not k.endswith(("num_batches_tracked", "running_mean", "running_var"))
            )
    c23 = [v for v in videos if v["source"] == "ffpp"]
    reals = [v for v in c23 if v["label"] == 0]
    # the run's own calibration (its card's threshold; a run scored again from an ensemble's member carries the
    # ensemble's threshold in its card, its own fold's in metrics.json)
    threshold = float(metrics.get("metrics", {}).get("calibration", {}).get("threshold", card["threshold"]))
    utk = [v for v in videos if v["source"] == "faces_utk"]
    return {
        "run": str(run),
        "arch": metrics["arch"],
        "size": metrics["size"],
        "init": metrics["pretrained"],
        "params": params,
        # a run scored again from shipped weights (scripts/fold_models.py --score) was not timed
        "minutes": round(metrics["wall_seconds"] / 60, 1) if "wall_seconds" in metrics else "not timed",
        "fit_minutes": round(metrics["fit_seconds"] / 60, 1) if "fit_seconds" in metrics else "not timed",
        "c23": f"{_auc(c23)} ({len(c23) - len(reals)} fakes, {len(reals)} reals)",
        "methods": " / ".join(_auc(reals + [v for v in c23 if v["method"] == m]) for m in METHODS),
        "c40": _auc([v for v in videos if v["source"] == "ffpp_c40"]),
        "threshold": round(threshold, 4),
        "c23_reals_fake": f"{sum(v['confident'] >= threshold for v in reals)} of {len(reals)}",
        "photos_fake_at_0.5": f"{sum(v['confident'] >= 0.5 for v in utk)} of {len(utk)}",
    }


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="training run folders (with metrics.json, val_videos.json)")
    args = p.parse_args(argv)
    rows = [row(r) for r in args.runs]
    keys = list(rows[0])
    print("| " + " | ".join(HEADERS[k] for k in keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        cells = ("-" if r[k] is None else f"{r[k]:,}" if k == "params" else str(r[k]) for k in keys)
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
