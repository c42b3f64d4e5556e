"""Unpack a shipped fold ensemble into one card folder per fold model, as its cross-validation wrote them.

    python scripts/fold_models.py assets/models/effnet_realfaces.json runs/cvdom
    # -> runs/cvdom/fold0/model/efficientnet_lite0.json (+ its weights), fold1/..., fold2/...

A distilled cross-validation (``train --teacher runs/cvdom/fold{fold}/model/efficientnet_lite0.json``) needs the
fold-I model of the teacher's cross-validation as fold I's teacher, and ``train`` refuses an ensemble (its members
together saw every fold).  A fresh checkout has the shipped ensemble but not the run folders it was made from: this
writes them back.  Each member's weights are copied byte for byte (the ensemble copied them from those folders);
each card is the ensemble's card with the member's own split: its fold, and its validation groups, worked out by
the same rule and seed from the data roots the card records (so the data must be where the card says, relative to
the current directory), so that ``train`` can check that a teacher never trained on its student's validation
items.  The threshold and calibration stay the ensemble's (out of fold): a teacher's threshold is not used.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("card", help="the ensemble's JSON card (e.g. assets/models/effnet_realfaces.json)")
    p.add_argument("out", help="the cross-validation folder to write (e.g. runs/cvdom)")
    args = p.parse_args(argv)
    try:
        unpack(args.card, args.out)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
