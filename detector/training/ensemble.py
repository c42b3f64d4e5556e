"""Make one model of the K fold runs of a cross-validation: ``deepfake-lens ensemble RUN_DIR... --name NAME``.

    deepfake-lens ensemble runs/cv/fold0 runs/cv/fold1 runs/cv/fold2 --name realfaces --out runs/cv/ensemble \\
        [--install [--default]]

The ensemble's card names the K members' weight files (copied beside it); its fake
probability is the members' mean (:class:`detector.models.classifier.Ensemble`).  Its
threshold and uncertain band are calibrated on the **out-of-fold** scores of the
cross-validation (:func:`detector.evaluation.crossval.pool`): every score there comes
from a member that never trained on that video or photo.  The card's metrics are the
pooled out-of-fold figures: an honest estimate for one member, and a slightly
pessimistic one for the mean of K members.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from detector.errors import InputError, NoModelError
from detector.evaluation.crossval import pool, read_fold
from detector.models.card import ModelCard, weights_path
from detector.models.store import install_model

__all__ = ["METRIC_DEFINITIONS", "make_ensemble", "members_init", "main"]

# what each figure of an ensemble card's ``metrics`` measures (written into the card as ``metrics.definitions``, so a
# reader of the JSON can tell the pooled figures apart); every one is out of fold
METRIC_DEFINITIONS = {
    "video_auc": "every video of every source together (photos left out), each scored by the fold model that never "
    "trained on it",
    "video_auc_ci95": "a 95% bootstrap interval of video_auc (fakes and reals resampled separately)",
    "video_ap": "the average precision of the same videos, fake the positive class",
    "video_log_loss": "the log loss of the same videos' scores",
    "all_items_auc": "videos and photos together",
    "crossval_video_auc": "the first source holding both classes (crossval_source) alone: the figure recipes are "
    "compared by",
    "by_source_auc": "each source's fakes against its own reals (null where a source has one class)",
    "by_method_auc": "each manipulation method's fake videos, of every source (c23 and c40 alike), against every real "
    "video",
    "recall_at_threshold": "the share of fake videos scoring at or above the card's threshold",
    "cross_fitted_false_alarms": "reals scoring at or above a threshold fitted on the other folds' reals, per source",
    "false_alarms_at_threshold": "reals at or above the card's threshold, per calibration stratum; the threshold was "
    "fitted on these same scores, so these rates are optimistic (cross_fitted_false_alarms are not)",
}


def run_card(run_dir: str | Path) -> Path:
    """The model card a training run wrote (its metrics.json names it)."""
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    card_path = Path(metrics["model_card"])
    if not card_path.is_absolute() and not card_path.exists():
        card_path = Path(run_dir) / "model" / card_path.name
    return card_path


def members_init(cards) -> dict:
    """What an ensemble card records of its members' ``train --init`` weights: ``init`` where they all started from
    the same file, ``init_by_member`` (one record per member, in order) where each fold had its own (a recipe's
    ``init`` with ``{fold}``), nothing where none had any."""
    inits = [c.trained.get("init") if isinstance(c.trained, dict) else None for c in cards]
    if not any(inits):
        return {}
    if all(i == inits[0] for i in inits):
        return {"init": inits[0]}
    return {"init_by_member": inits}


def make_ensemble(
    run_dirs: list[str | Path],
    name: str,
    out: str | Path,
    ranges: dict | None = None,
    ranges_from: list[str] | None = None,
    ranges_items: int = 400,
) -> Path:
    """Write ``out/<name>.json`` and the members' weights; returns the card's path.  InputError if the runs are not
    the complete folds of one recipe (checked before anything is measured or written).  ``ranges``: the card's
    quality ranges; or ``ranges_from``: data roots to measure them on (``ranges_items`` videos and photos, held-out
    photos left out), at the fold models' face margin."""
    runs = sorted((read_fold(d) for d in run_dirs), key=lambda r: r["fold"])
    result = pool(runs)
    if not result["complete"]:
        raise InputError(f"an ensemble needs all {result['folds']} folds; got folds {result['folds_run']}")
    card_paths = [run_card(r["dir"]) for r in runs]
    cards = [ModelCard.from_file(p) for p in card_paths]
    first = cards[0]
    if len({(c.architecture, c.input_size, tuple(c.classes), float(c.face_margin)) for c in cards}) != 1:
        raise InputError("the fold models differ in architecture, input size, classes or face margin")
    if ranges_from:  # the faces the models trained on: the held-out photos and untrained sources left out
        from detector.data.ranges import measure_ranges, training_items
        from detector.inference.quality import trained_away

        items = training_items(ranges_from, result["recipe"].get("train_sources"))
        ranges = measure_ranges(items, max_items=ranges_items, margin=first.face_margin)
        ranges = trained_away(ranges, (first.trained or {}).get("config"))  # e.g. no hue range after --colour-cast
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    members, walls = [], []
    for r, card, card_path in zip(runs, cards, card_paths):
        dst = f"{name}_fold{r['fold']}.safetensors"
        shutil.copy2(weights_path(card, card_path.parent), out / dst)
        members.append(dst)
        walls.append(card.trained.get("wall_seconds"))
    cal = result["calibration"]
    from detector.evaluation.scores import video_metrics

    videos = [v for r in runs for v in r["videos"] if v.get("kind", "video") == "video"]
    videos_only = video_metrics(videos, ci=True)
    fakes = [v for v in videos if v["label"] == 1]
    recall = round(sum(v["confident"] >= cal["threshold"] for v in fakes) / len(fakes), 4) if fakes else None
    pooled = result["pooled"]
    by_source = result.get("by_source", {})
    card = ModelCard(
        name=name,
        architecture=first.architecture,
        input_size=first.input_size,
        mean=first.mean,
        std=first.std,
        classes=first.classes,
        fake_class=first.fake_class,
        threshold=cal["threshold"],
        uncertain=cal["uncertain"],
        face_margin=first.face_margin,
        members=members,
        dtype=first.dtype,
        trained={
            "data": first.trained.get("data"),
            "ensemble_of": f"the {len(cards)} fold models of one recipe",
            "split": {
                "rule": first.trained.get("split", {}).get("rule"),
                "folds": result["folds"],
                "seed": result["split_seed"],
                "heldout_photos": first.trained.get("split", {}).get("heldout_photos"),
                **(
                    {"train_sources": result["recipe"]["train_sources"]}
                    if result["recipe"].get("train_sources")
                    else {}
                ),
            },
            "calibration": {**cal, "on": "out-of-fold scores of the cross-validation"},
            "config": result["recipe"],
            "fold_wall_seconds": walls,
            "pretrained": first.trained.get("pretrained"),
            **members_init(cards),  # train --init's weights
            "command": result["command"],
        },
        metrics={
            "out_of_fold": True,
            # the videos alone (every source's): photos, nearly all real, would make the AUC look better than
            # it is for a clip
            "video_auc": videos_only["auc"],
            "video_auc_ci95": videos_only.get("auc_ci95"),
            "video_ap": videos_only["ap"],
            "video_log_loss": videos_only["log_loss"],
            "all_items_auc": pooled["auc"],
            # the first source that holds both classes (the FF++ c23 sample for the shipped model): comparable with
            # other recipes' cross-validation on it
            "crossval_video_auc": next((v["auc"] for v in by_source.values() if v.get("auc") is not None), None),
            "crossval_source": next((k for k, v in by_source.items() if v.get("auc") is not None), None),
            "recall_at_threshold": recall,
            "by_source_auc": {k: v.get("auc") for k, v in by_source.items()},
            "cross_fitted_false_alarms": result.get("cross_fitted", {}).get("by_source"),
            "by_method_auc": {k: v["auc"] for k, v in result["by_method"].items()},
            "false_alarms_at_threshold": result["false_alarms_at_threshold"],
            "definitions": METRIC_DEFINITIONS,
        },
        ranges=ranges or first.ranges,
        notes=first.notes + " An ensemble: the mean of the fold models' fake probabilities.",
    )
    path = out / f"{name}.json"
    path.write_text(card.to_json())
    (out / "crossval.json").write_text(json.dumps({k: v for k, v in result.items() if k != "videos"}, indent=1))
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="deepfake-lens ensemble", description="Make one model (an ensemble) of the fold runs of a cross-validation"
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="the K fold runs of one recipe")
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument("--out", help="folder to write it into (default runs/<name>)")
    p.add_argument(
        "--ranges-from",
        nargs="+",
        metavar="DATA",
        help="measure the training faces' size, sharpness, brightness and head turn on these data roots (held-out "
        "photos left out), so the report can warn about faces unlike them",
    )
    p.add_argument("--ranges-items", type=int, default=400, help="videos and photos sampled for --ranges-from")
    p.add_argument("--install", action="store_true", help="also install it into the user's model folder")
    p.add_argument("--default", action="store_true", help="with --install: make it the default model")
    args = p.parse_args(argv)
    if not args.name.replace("_", "").replace("-", "").isalnum():
        p.error("--name: letters, digits, '-' and '_' only")
    try:
        out = args.out or f"runs/{args.name}"
        path = make_ensemble(args.runs, args.name, out, ranges_from=args.ranges_from, ranges_items=args.ranges_items)
        if args.ranges_from:
            ranges = ModelCard.from_file(path).ranges
            print(f"ranges over {ranges.get('faces')} training faces: {ranges}")
        print(f"wrote {path}")
        if args.install:
            print(f"installed {install_model(path, default=args.default)}")
    except (InputError, NoModelError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
