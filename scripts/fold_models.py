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
the current directory, and must still hold what the card's ``trained.data`` line counts: other data are refused,
since their split would not be the members'), so that ``train`` can check that a teacher never trained on its
student's validation items.  A fold folder holding other weights (a trained run's) is refused without ``--force``.
The threshold and calibration stay the ensemble's (out of fold): a teacher's threshold is not used.

``--score`` also rebuilds what ``crossval`` and ``scripts/paired_crossval.py`` read from a fold's run: each fold
model scores its own validation crops by the training code's own last step (:func:`detector.training.run.validate`,
from the crop cache, cut first where missing), and ``val_videos.json`` and ``metrics.json`` are written beside its
model, so a fresh checkout can check the shipped model's out-of-fold figures, and pair a new recipe's, without
training it again.  Nothing is trained: the weights are the shipped ones.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from detector.errors import InputError, NoModelError
from detector.models.card import ModelCard, weights_path

MEMBER = re.compile(r"_fold(\d+)\.safetensors$")


def fold_groups(card: ModelCard, folds: int, seed: int) -> list[list[str]]:
    """Each fold's validation groups, split as ``train --folds`` split them: from the data roots the card records,
    read now.  InputError unless the data are what the card says the members were trained on (its ``trained.data``
    line, which counts the items of each source and the photos held out): a split of other data would hand a fold
    the groups another member trained on, and ``train``'s teacher checks would then pass on false records."""
    from detector.data.datasets import held_out, read_datasets
    from detector.data.splits import fold_by_group
    from detector.training.run import describe_data

    roots = card.trained["config"]["data"]
    everything = read_datasets(roots)
    heldout = [it for it in everything if held_out(it)]
    items = [it for it in everything if not held_out(it)]
    now = describe_data(items, heldout, roots)
    if now != card.trained.get("data"):
        raise InputError(
            f"{card.name}: the data below {' '.join(roots)} are not what its members were trained on (card: "
            f"{card.trained.get('data')!r}; now: {now!r}), so their folds cannot be told"
        )
    return [sorted({it.group for it in val}) for val in fold_by_group(items, folds, seed=seed)]


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def unpack(card_path: str | Path, out: str | Path, force: bool = False) -> list[Path]:
    """Write ``out/fold<I>/model/<architecture>.json`` and its weights for each member; returns the card paths.
    A fold folder that holds other weights (a trained run's own) is refused unless ``force``."""
    card_path = Path(card_path)
    card = ModelCard.from_file(card_path)  # a card that is not JSON or not a card: BadCardError, one line
    raw = json.loads(card_path.read_text())
    trained = card.trained if isinstance(card.trained, dict) else {}
    split, config = trained.get("split") or {}, trained.get("config") or {}
    folds, seed = split.get("folds"), split.get("seed")
    if not card.members or not folds or len(card.members) != folds or seed is None or not config.get("data"):
        raise InputError(f"{card_path}: not an ensemble of the {folds or 'K'} fold models of one cross-validation")
    sources = []
    for fold, member in enumerate(card.members):
        m = MEMBER.search(member)
        if not m or int(m.group(1)) != fold:
            raise InputError(f"{card_path}: member {member!r} is not named as fold {fold}'s weights (*_fold{fold})")
        sources.append(weights_path(card, card_path.parent, member))  # inside the card's folder, or BadCardError
        if not sources[-1].is_file():
            raise InputError(f"{card_path}: member {member} is missing")
    weights = f"{card.architecture}.safetensors"
    dirs = [Path(out) / f"fold{fold}" / "model" for fold in range(folds)]
    for src, d in zip(sources, dirs):
        if (d / weights).exists() and not force and not _same_file(src, d / weights):
            raise InputError(f"{d / weights}: other weights are there (a trained run's?); give --force to replace them")
    groups = fold_groups(card, folds, seed)  # before anything is written
    written = []
    for fold, (src, dst_dir) in enumerate(zip(sources, dirs)):
        dst_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst_dir / weights)
        member_card = {
            **raw,
            "name": f"{card.name}_fold{fold}",
            "weights": weights,
            "members": [],
            "default": False,
            "temporal": {},
            "metrics": {},  # the ensemble's figures are not this member's own
            "notes": f"Fold {fold} of {card.name}, written back by scripts/fold_models.py; its threshold and "
            f"uncertain band are the ensemble's (out of fold). {card.notes}",
            "trained": {
                **raw["trained"],
                "ensemble_of": None,
                "split": {**split, "fold": fold, "val_groups": groups[fold]},
                "config": {**config, "folds": folds, "fold": fold},
                "unpacked_from": f"{card.name} (member {card.members[fold]}); validation groups split again from "
                "the recorded data roots, which held what the card records",
            },
        }
        dst = dst_dir / f"{card.architecture}.json"
        dst.write_text(json.dumps(member_card, indent=1) + "\n")
        print(f"{dst}: {card.members[fold]}, fold {fold} of {folds}, {len(groups[fold])} validation groups")
        written.append(dst)
    return written


def score(card_path: str | Path, cache: str | None = None, force: bool = False) -> dict:
    """Score fold model ``<run>/model/<arch>.json``'s validation items as its training run did at its end; write the
    run's ``val_videos.json`` and ``metrics.json``; returns the metrics.  ``cache``: the crop cache (default: the
    one ``train`` uses by default).  A trained run's own ``metrics.json`` is not replaced unless ``force``."""
    import matplotlib

    matplotlib.use("Agg")
    from fastai.vision.all import set_seed
    from safetensors.torch import load_file

    from detector.training.config import TrainConfig
    from detector.training.run import learner, log, prepare, validate

    card_path = Path(card_path)
    card = ModelCard.from_file(card_path)
    out = card_path.parent.parent
    if (out / "metrics.json").is_file() and "rescored" not in json.loads((out / "metrics.json").read_text()):
        if not force:
            raise InputError(f"{out}: a trained run's metrics.json is there; give --force to replace it")
    # scoring needs no teacher and no --mask-weight head (training-only parts, absent from the weights)
    cfg = TrainConfig.from_dict(
        {**card.trained["config"], "out": str(out), "cache": cache, "mask_weight": 0.0, "margin": card.face_margin}
    )
    set_seed(cfg.seed, reproducible=True)
    prep = prepare(cfg)
    split = {**card.trained["split"], "val_groups": sorted({i.group for i in prep.val_items})}
    if split["val_groups"] != card.trained["split"]["val_groups"]:
        raise InputError(f"{card_path}: the data's split no longer gives this fold's validation groups")
    # the learner is only the scorer: its training loader is never drawn from, so it is built without the pseudo-fake
    # rows of a --balance domain epoch (FaceMesh over every real training crop, a minute a fold); a class-balanced
    # epoch of the same size gives the loss the run's class weights (half the draws real either way), which the
    # top losses are ranked by; validate reads only prep, the target rate and the arch, which stay the run's
    domain = cfg.balance == "domain"
    plain = replace(
        cfg,
        balance="class",
        sbi=0.0 if domain else cfg.sbi,
        sbi_regions=0.0 if domain else cfg.sbi_regions,
        pairs=0.0,
        mixup=0.0,
        identity_adversary=0.0,
    )
    learn, full_valid, _, _ = learner(plain, prep, out)
    learn.model.load_state_dict(load_file(str(weights_path(card, card_path.parent))))
    learn.model.eval()
    _, metrics = validate(cfg, learn, full_valid, prep, {"average": None}, out)
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
    p.add_argument("--force", action="store_true", help="replace a trained run's weights or metrics in OUT")
    args = p.parse_args(argv)
    try:
        for card in unpack(args.card, args.out, force=args.force):
            if args.score:
                score(card, args.cache, force=args.force)
    except (InputError, NoModelError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
