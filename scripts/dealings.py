"""One recipe cross-validated over several dealings of the folds (``train --split-seed``): how far the dealing moves
the pooled figure, whether the same real videos score high whatever the dealing, and the mean of the dealings'
out-of-fold scores.

    python scripts/dealings.py runs/cvmnv2/crossval.json runs/cvmnv2_s1/crossval.json runs/cvmnv2_s2/crossval.json

Each item is out of fold in every dealing: scored by a fold model that never trained on its pair group.  So the mean
of its dealings' scores is out of sample too: it is what a bag of the recipe's models, one from each dealing, would
give an item none of them trained on (a shipped ensemble of all the dealings' fold models averages more members, each
of which trained on two thirds of the data).  If the reals that score high change with the dealing, their level is
the luck of the training draw, not something about those people: which people a model trained with, and the
training's own randomness (batch order, pseudo-fakes, lr_find's pick), which changes with the data too; these
dealings do not tell the two apart.  Whatever its source, averaging models trained apart evens such a level out; if
the same reals stay high, the level is theirs.

Per FF++ source with both classes: each dealing's pooled AUC (95% bootstrap interval), the AUC of the mean of all
dealings' scores and per method (against the source's reals) with its paired difference from the first dealing, the
mean Spearman rank correlation between the
dealings' scores over all items and over the reals only, and the reals each dealing scores most fake.  The files come
from ``deepfake-lens crossval --json`` of one recipe (the same training config and number of folds, another split
seed; the training seed may differ), all folds run, on the same data; items missing from some of them are left out
(and counted).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

import numpy as np
from scipy.stats import spearmanr

from detector.evaluation.metrics import metrics_block, paired_auc_difference
from detector.training.config import TrainConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_crossval import METHODS, scores  # noqa: E402

TOP = 4  # reals named per dealing


def recipe_of(path: str) -> tuple[dict, int]:
    """(the training config without its seeds, with defaults filled, and the number of folds; the split seed) of a
    crossval.json; ValueError for a cross-validation with folds not run.  The training seed is left out of the
    comparison: without ``--split-seed`` it is what deals the folds."""
    with open(path) as fh:
        d = json.load(fh)
    if not d.get("complete", True):
        raise ValueError(f"{path}: not every fold was run (folds {d.get('folds_run')} of {d.get('folds')})")
    config = TrainConfig.from_dict(dict(d["recipe"]))
    recipe = {k: v for k, v in config.recipe().items() if k not in ("split_seed", "seed")}
    recipe["folds"] = d.get("folds")
    return recipe, int(d["split_seed"] if d.get("split_seed") is not None else config.effective_split_seed)


def table(runs: dict[str, dict]) -> list[dict]:
    """One row per source with both classes (and per method in it): n, fakes, each dealing's AUC and interval
    ("auc", "ci": lists in the order of ``runs``), the AUC of the mean and its interval, the mean pairwise rank
    correlation over all items ("rho") and over the reals ("rho_reals"), and, on the source's row, the reals each
    dealing scores most fake ("top": per dealing, [(video, its score in every dealing)])."""
    common = set.intersection(*(set(v) for v in runs.values()))
    if not common:
        raise ValueError("the cross-validations share no items")
    first = next(iter(runs.values()))
    if any(v[k]["label"] != first[k]["label"] for v in runs.values() for k in common):
        raise ValueError("the cross-validations label their items differently: not the same data")
    rows = []
    for source in sorted({k[0] for k in common}):
        items = sorted(k for k in common if k[0] == source)
        if len({first[k]["label"] for k in items}) < 2:
            continue
        sets = [(source, items)] + [
            (f"{source}: {m}", [k for k in items if first[k]["label"] == 0 or k[2] == m])
            for m in METHODS
            if any(k[2] == m and first[k]["label"] == 1 for k in items)
        ]
        for name, keys in sets:
            y = [first[k]["label"] for k in keys]
            each = [np.array([v[k]["fake_probability"] for k in keys]) for v in runs.values()]
            blocks = [metrics_block(y, s, ci=True) for s in each]
            mean_scores = np.mean(each, axis=0)
            mean = metrics_block(y, mean_scores, ci=True)
            reals = np.array(y) == 0
            pairs = list(itertools.combinations(range(len(each)), 2))
            row = {
                "set": name,
                "n": len(keys),
                "fakes": int(sum(y)),
                "auc": [b["auc"] for b in blocks],
                "ci": [b.get("auc_ci95") for b in blocks],
                "mean_auc": mean["auc"],
                "mean_ci": mean.get("auc_ci95"),
                # the mean against the first dealing, item by item: (difference, its 95% paired bootstrap interval)
                "gain": (mean["auc"] - blocks[0]["auc"], paired_auc_difference(y, mean_scores, each[0])),
                "rho": float(np.mean([spearmanr(each[i], each[j])[0] for i, j in pairs])),
                "rho_reals": float(np.mean([spearmanr(each[i][reals], each[j][reals])[0] for i, j in pairs])),
            }
            if name == source:
                real_keys = [k for k in keys if first[k]["label"] == 0]
                row["top"] = [
                    [
                        (os.path.basename(k[1]), [v[k]["fake_probability"] for v in runs.values()])
                        for k in sorted(real_keys, key=lambda k: -run[k]["fake_probability"])[:TOP]
                    ]
                    for run in runs.values()
                ]
            rows.append(row)
    return rows


def _interval(ci) -> str:
    return f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("crossval", nargs="+", help="crossval.json of each dealing (one recipe, other split seeds)")
    args = p.parse_args(argv)
    if len(args.crossval) < 2:
        p.error("give the cross-validations of at least two dealings")
    try:
        recipes = [recipe_of(path) for path in args.crossval]
        if any(r != recipes[0][0] for r, _ in recipes):
            p.error("the cross-validations trained different recipes (beyond the split seed)")
        seeds = [s for _, s in recipes]
        if len(set(seeds)) < len(seeds):
            p.error(f"two cross-validations share a dealing (split seeds {seeds}): give each dealing once")
        runs = {path: scores(path) for path in args.crossval}
        rows = table(runs)
    except (OSError, ValueError, KeyError) as e:
        p.error(str(e))
    left_out = len(set.union(*map(set, runs.values())) - set.intersection(*map(set, runs.values())))
    if left_out:
        print(f"{left_out} items out of fold in some of the cross-validations only: left out")
    head = " | ".join(f"split seed {s}" for s in seeds)
    print(
        f"| items | videos (fakes) | {head} | mean of the {len(seeds)} dealings | the mean - split seed {seeds[0]} "
        f"(95% paired interval) | rank correlation between dealings: all / reals |\n"
        f"|---|---|{'---|' * len(seeds)}---|---|---|"
    )
    for r in rows:
        each = " | ".join(f"{a:.3f}{_interval(c)}" for a, c in zip(r["auc"], r["ci"]))
        print(
            f"| {r['set']} | {r['n']} ({r['fakes']}) | {each} | {r['mean_auc']:.3f}{_interval(r['mean_ci'])} | "
            f"{r['gain'][0]:+.3f} ({r['gain'][1][0]:+.3f} to {r['gain'][1][1]:+.3f}) | "
            f"{r['rho']:.2f} / {r['rho_reals']:.2f} |"
        )
    for r in rows:
        for seed, top in zip(seeds, r.get("top", [])):
            named = ", ".join(f"{v} ({' / '.join(f'{p:.2f}' for p in ps)})" for v, ps in top)
            print(f"{r['set']}, reals scored most fake with split seed {seed} (score in each dealing): {named}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
