"""Splits by whole groups: train/validation (:func:`split_by_group`) and K folds for cross-validation
(:func:`fold_by_group`).

Never split frames or single videos: a fake and its real share background and body, a video and its twin at
another compression are the same footage, and every clip of an actor shows the same person; a split that
separates them leaks the answer.  Photos of a folder of photos are split by file.
"""

from __future__ import annotations

import math
import os
import random
import zlib
from collections import defaultdict

from detector.data.datasets import REAL, STILL_HOLDOUT, VideoItem

__all__ = ["split_by_group", "fold_by_group"]


def _categories(items: list[VideoItem]) -> set[str]:
    """What a group teaches: 'real', and 'fake:<method>' for each kind of fake in it."""
    return {"real" if it.label == REAL else f"fake:{it.method}" for it in items}


def _coverage(val: set[str], cats: dict[str, set[str]]) -> int:
    """How many (category, side) pairs are present: each category wants a video on both sides."""
    val_cats = set().union(*(cats[g] for g in val)) if val else set()
    train_cats = set().union(*(cats[g] for g in cats if g not in val)) if len(val) < len(cats) else set()
    return len(val_cats) + len(train_cats)


def _cover_categories(val: set[str], order: list[str], cats: dict[str, set[str]]) -> None:
    """Move single groups across while that puts a missing category on a side without losing another."""
    score = _coverage(val, cats)
    improved = True
    while improved:
        improved = False
        for g in order:
            val.symmetric_difference_update({g})
            new = _coverage(val, cats)
            if new > score and 0 < len(val) < len(cats):
                score, improved = new, True
                break
            val.symmetric_difference_update({g})  # undo


def split_by_group(
    items: list[VideoItem], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[VideoItem], list[VideoItem]]:
    """(train, val): whole groups to one side, about ``val_fraction`` of the groups to validation.

    Deterministic for a given ``seed``.  Groups are stratified by what they hold
    (reals, and fakes of which methods), then, where one side would otherwise
    miss real videos or a manipulation method, a group holding it is moved over
    (only when the other side keeps one too).  The item order is kept.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    by_group: dict[str, list[VideoItem]] = defaultdict(list)
    for it in items:
        by_group[it.group].append(it)
    names = sorted(by_group)
    cats = {g: _categories(by_group[g]) for g in names}

    n_val = round(val_fraction * len(names))
    if val_fraction > 0 and len(names) >= 2:
        n_val = min(max(n_val, 1), len(names) - 1)

    rng = random.Random(seed)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for g in names:
        strata[tuple(sorted(cats[g]))].append(g)
    keys = sorted(strata)
    for k in keys:
        rng.shuffle(strata[k])

    # largest-remainder allocation of n_val over the strata
    share = {k: n_val * len(strata[k]) / len(names) for k in keys}
    quota = {k: math.floor(share[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(share[k] - quota[k]), -len(strata[k]), k))[: n_val - sum(quota.values())]:
        quota[k] += 1
    val = {g for k in keys for g in strata[k][: quota[k]]}
    order = [g for k in keys for g in strata[k]]  # the shuffled order, used to pick groups to move

    if n_val > 0:
        _cover_categories(val, order, cats)

    train = [it for it in items if it.group not in val]
    valid = [it for it in items if it.group in val]
    return train, valid


def fold_by_group(items: list[VideoItem], folds: int, seed: int = 0) -> list[list[VideoItem]]:
    """``folds`` disjoint lists of items, whole groups in each, together all the items: for cross-validation,
    where each fold in turn is the validation set of a run trained on the others.

    Deterministic for a given ``seed``.  Groups are dealt out stratum by stratum (what a group holds, as for
    :func:`split_by_group`), each to the fold with the fewest groups of its stratum so far, then the fewest
    videos, so each fold gets a share of every kind of group and about as many videos.  The item order is kept.
    """
    by_group: dict[str, list[VideoItem]] = defaultdict(list)
    for it in items:
        by_group[it.group].append(it)
    if not 2 <= folds <= len(by_group):
        raise ValueError(f"{folds} folds of {len(by_group)} groups: need 2 to {len(by_group)} folds")
    # a photo with a group of its own (a folder of photos: split by file) goes to a fold by a hash of its file
    # name, so thousands of photos neither change how the video groups are dealt nor depend on the seed
    fold_of: dict[str, int] = {}
    for g, members in list(by_group.items()):
        if len(members) == 1 and members[0].kind == "image":
            fold_of[g] = zlib.crc32(os.path.basename(members[0].path).encode()) // STILL_HOLDOUT % folds
            del by_group[g]
    rng = random.Random(seed)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for g in sorted(by_group):
        strata[tuple(sorted(_categories(by_group[g])))].append(g)
    videos = [0] * folds
    for k in sorted(strata, key=lambda k: (-len(strata[k]), k)):  # the common kinds first
        rng.shuffle(strata[k])
        taken = [0] * folds
        for g in sorted(strata[k], key=lambda g: -len(by_group[g])):  # stable: the shuffle breaks size ties
            f = min(range(folds), key=lambda f: (taken[f], videos[f], f))
            fold_of[g] = f
            taken[f] += 1
            videos[f] += len(by_group[g])
    return [[it for it in items if fold_of[it.group] == f] for f in range(folds)]
