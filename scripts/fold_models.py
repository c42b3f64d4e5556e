"""Unpack a shipped fold ensemble into one card folder per fold model, as its cross-validation wrote them.

    python scripts/fold_models.py assets/models/effnet_realfaces.json runs/cvdom [--score]
    # -> runs/cvdom/fold0/model/efficientnet_lite0.json (+ its weights), fold1/..., fold2/...
    # --score: and each fold's validation scored again, as its training run scored it at the end
    deepfake-lens crossval runs/cvdom/fold0 runs/cvdom/fold1 runs/cvdom/fold2 --json runs/cvdom/crossval.json

A distilled cross-validation (``train --teacher runs/cvdom/fold{fold}/model/efficientnet_lite0.json``) needs the
fold-I model of the teacher's cross-validation as fold I's teacher, and ``train`` refuses an ensemble (its members
together saw every fold).  A fresh checkout has the shipped ensemble but not the run folders it was made from: this
writes them back.  Each member's weights are copied byte for byte (the ensemble copied them from those folders);
each card is the ensemble's card with the member's own split: its fold, and its validation groups, worked out by
the same rule and seed from the data roots the card records (so the data must be where the card says, relative to
the current directory), so that ``train`` can check that a teacher never trained on its student's validation
items.  The threshold and calibration stay the ensemble's (out of fold): a teacher's threshold is not used.

``--score`` also rebuilds what ``crossval`` and ``scripts/paired_crossval.py`` read from a fold's run: each fold
model scores its own validation crops by the training code's own last step (:func:`detector.training.run.validate`,
from the crop cache, cut first where missing), and ``val_videos.json`` and ``metrics.json`` are written beside its
model, so a fresh checkout can check the shipped model's out-of-fold figures, and pair a new recipe's, without
training it again.  Nothing is trained: the weights are the shipped ones.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from detector.errors import InputError
from detector.models.card import ModelCard


def val_groups(config: dict, folds: int, fold: int, seed: int) -> list[str]:
    """The validation groups of fold ``fold``, split as ``train --folds`` splits them."""
    from detector.data.datasets import held_out, read_datasets
    from detector.data.splits import fold_by_group

    items = [it for it in read_datasets(config["data"]) if not held_out(it)]
    return sorted({it.group for it in fold_by_group(items, folds, seed=seed)[fold]})


def unpack(card_path: str | Path, out: str | Path) -> list[Path]:
    """Write ``out/fold<I>/model/<architecture>.json`` and its weights for each member; returns the card paths."""
    card_path = Path(card_path)
    raw = json.loads(card_path.read_text())
    card = ModelCard.from_file(card_path)
    split = (card.trained or {}).get("split") or {}
    config = (card.trained or {}).get("config") or {}
    folds, seed = split.get("folds"), split.get("seed")
    if not card.members or not folds or len(card.members) != folds or seed is None or not config.get("data"):
        raise InputError(f"{card_path}: not an ensemble of the {folds or 'K'} fold models of one cross-validation")
    written = []
    for fold, member in enumerate(card.members):
        src = card_path.parent / member
        if f"fold{fold}" not in member or not src.is_file():
            raise InputError(f"{card_path}: member {member} is not fold {fold}'s weights beside the card")
        dst_dir = Path(out) / f"fold{fold}" / "model"
        dst_dir.mkdir(parents=True, exist_ok=True)
        weights = f"{card.architecture}.safetensors"
        shutil.copy2(src, dst_dir / weights)
        groups = val_groups(config, folds, fold, seed)
        member_card = {
            **raw,
            "name": f"{card.name}_fold{fold}",
            "weights": weights,
            "members": [],
            "default": False,
            "trained": {
                **raw["trained"],
                "ensemble_of": None,
                "split": {**split, "fold": fold, "val_groups": groups},
                "config": {**config, "folds": folds, "fold": fold},
                "unpacked_from": f"{card.name} (member {member})",
            },
        }
        dst = dst_dir / f"{card.architecture}.json"
        dst.write_text(json.dumps(member_card, indent=1) + "\n")
        print(f"{dst}: {member}, fold {fold} of {folds}, {len(groups)} validation groups")
        written.append(dst)
    return written


def score(card_path: str | Path, cache: str | None = None) -> dict:
    """Score fold model ``<run>/model/<arch>.json``'s validation items as its training run did at its end; write the
    run's ``val_videos.json`` and ``metrics.json``; returns the metrics.  ``cache``: the crop cache (default: the
    one ``train`` uses by default)."""
    import matplotlib

    matplotlib.use("Agg")
    from fastai.vision.all import set_seed
    from safetensors.torch import load_file

    from detector.models.card import weights_path
    from detector.training.config import TrainConfig
    from detector.training.run import learner, log, prepare, validate

    card_path = Path(card_path)
    card = ModelCard.from_file(card_path)
    out = card_path.parent.parent
    cfg = TrainConfig.from_dict({**card.trained["config"], "out": str(out), "cache": cache})
    set_seed(cfg.seed, reproducible=True)
    prep = prepare(cfg)
    learn, full_valid, _, _ = learner(cfg, prep, out)
    learn.model.load_state_dict(load_file(str(weights_path(card, card_path.parent))))
    learn.model.eval()
    _, metrics = validate(cfg, learn, full_valid, prep, {"average": None}, out)
    split = {**card.trained["split"], "val_groups": sorted({i.group for i in prep.val_items})}
    if split["val_groups"] != card.trained["split"]["val_groups"]:
        raise InputError(f"{card_path}: the data's split no longer gives this fold's validation groups")
    result = {
        "arch": cfg.arch,
        "size": prep.size,
        "pretrained": card.trained.get("pretrained"),
        "split": split,
        "metrics": metrics,
        "model_card": str(card_path),
        "config": cfg.to_dict(),
        "rescored": f"the weights of {card.trained.get('unpacked_from')}, not trained again",
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    v = metrics["video"]
    log(f"{out}: video AUC {v['auc']} (95% bootstrap interval {v['auc_ci95']})")
    return metrics


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("card", help="the ensemble's JSON card (e.g. assets/models/effnet_realfaces.json)")
    p.add_argument("out", help="the cross-validation folder to write (e.g. runs/cvdom)")
    p.add_argument(
        "--score",
        action="store_true",
        help="also score each fold's validation items as its training run did (val_videos.json, metrics.json)",
    )
    p.add_argument("--cache", help="with --score: the crop cache folder (default: train's default)")
    args = p.parse_args(argv)
    try:
        for card in unpack(args.card, args.out):
            if args.score:
                score(card, args.cache)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
