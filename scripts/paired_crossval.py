"""Two recipes' out-of-fold scores on the same items, side by side: the AUC of each per source and per method, their
difference with a paired bootstrap interval, the AUC of the two recipes' mean score (an ensemble of both, out of
fold), the pooled AUC split into fake-real pairs within one fold and across
folds, and where the reals of each source score.

    python scripts/paired_crossval.py runs/cv3r/crossval.json runs/cvdom/crossval.json

Both files come from ``deepfake-lens crossval --json``; the two cross-validations must have dealt the same folds (same
data and split seed), so each item is out of fold in both.  The difference is B - A, resampling fakes and reals
separately with the same draw for both recipes (an interval that excludes 0 is a difference beyond the luck of which
videos were there).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from detector.evaluation.metrics import metrics_block, paired_auc_difference

METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


def _key(v: dict) -> tuple:
    return v["source"], v["video"], v["method"]


def scores(path: str) -> dict[tuple, dict]:
    with open(path) as fh:
        return {_key(v): v for v in json.load(fh)["videos"] if v["fold"] >= 0}


def compare(a: dict[tuple, dict], b: dict[tuple, dict]) -> list[dict]:
    """One row per set of items (each FF++ source; each source's methods against its reals): n, AUC A, AUC B, B - A
    with its 95% interval."""
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two cross-validations share no items")
    if any(a[k]["fold"] != b[k]["fold"] or a[k]["label"] != b[k]["label"] for k in common):
        raise ValueError("the two cross-validations dealt different folds: their scores do not pair")
    rows = []
    for source in sorted({k[0] for k in common}):
        items = [k for k in common if k[0] == source]
        if len({a[k]["label"] for k in items}) < 2:
            continue
        sets = [(source, items)] + [
            (f"{source}: {m}", [k for k in items if a[k]["label"] == 0 or k[2] == m])
            for m in METHODS
            if any(k[2] == m for k in items)
        ]
        for name, keys in sets:
            y = [a[k]["label"] for k in keys]
            sa, sb = [a[k]["fake_probability"] for k in keys], [b[k]["fake_probability"] for k in keys]
            auc_a, auc_b = metrics_block(y, sa)["auc"], metrics_block(y, sb)["auc"]
            auc_mean = metrics_block(y, [(p + q) / 2 for p, q in zip(sa, sb)])["auc"]
            lo, hi = paired_auc_difference(y, sb, sa)
            rows.append(
                {
                    "set": name,
                    "n": len(keys),
                    "fakes": sum(y),
                    "a": auc_a,
                    "b": auc_b,
                    "diff": auc_b - auc_a,
                    "ci95": [lo, hi],
                    "mean": auc_mean,
                }
            )
    return rows


def fold_pairs(v: dict[tuple, dict], source: str) -> dict:
    """Where a source's pooled AUC comes from: {within: the share of fake-real pairs from one fold ranked right (ties
    count half), across: the same for pairs from two folds, n_within, n_across: their counts}.  The pooled AUC is
    their weighted mean; a recipe whose folds place their reals at different heights loses across folds what it
    gains within them."""
    fakes = [x for k, x in v.items() if k[0] == source and x["label"] == 1]
    reals = [x for k, x in v.items() if k[0] == source and x["label"] == 0]
    right = {True: 0.0, False: 0.0}
    count = {True: 0, False: 0}
    for f in fakes:
        for r in reals:
            same = f["fold"] == r["fold"]
            d = f["fake_probability"] - r["fake_probability"]
            right[same] += 1.0 if d > 0 else 0.5 if d == 0 else 0.0
            count[same] += 1
    share = lambda same: right[same] / count[same] if count[same] else float("nan")  # noqa: E731
    return {"within": share(True), "across": share(False), "n_within": count[True], "n_across": count[False]}


def real_scores(a: dict[tuple, dict], b: dict[tuple, dict]) -> list[dict]:
    """Per source: the median and 95th percentile of its reals' out-of-fold scores under each recipe."""
    rows = []
    for source in sorted({k[0] for k in set(a) & set(b)}):
        keys = [k for k in set(a) & set(b) if k[0] == source and a[k]["label"] == 0]
        if keys:
            sa = np.array([a[k]["fake_probability"] for k in keys])
            sb = np.array([b[k]["fake_probability"] for k in keys])
            rows.append(
                {
                    "source": source,
                    "reals": len(keys),
                    "a": (np.median(sa), np.quantile(sa, 0.95)),
                    "b": (np.median(sb), np.quantile(sb, 0.95)),
                }
            )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="crossval.json of recipe A (the reference)")
    p.add_argument("b", help="crossval.json of recipe B")
    args = p.parse_args(argv)
    try:
        a, b = scores(args.a), scores(args.b)
        rows = compare(a, b)
    except (OSError, ValueError, KeyError) as e:
        p.error(str(e))
    only = len(set(a) ^ set(b))
    print(f"A = {args.a}\nB = {args.b}")
    print(f"{len(set(a) & set(b))} items out of fold in both; {only} in one only, left out\n")
    print(
        "| items | n (fakes) | AUC A | AUC B | B - A (95% paired interval) | AUC of the mean of A and B |\n"
        "|---|---|---|---|---|---|"
    )
    for r in rows:
        lo, hi = r["ci95"]
        print(
            f"| {r['set']} | {r['n']} ({r['fakes']}) | {r['a']:.3f} | {r['b']:.3f} | {r['diff']:+.3f} "
            f"({lo:+.3f} to {hi:+.3f}) | {r['mean']:.3f} |"
        )
    common = set(a) & set(b)
    a_common, b_common = {k: a[k] for k in common}, {k: b[k] for k in common}
    print("\n| fake-real pairs of | within one fold (pairs): A, B | across folds (pairs): A, B |\n|---|---|---|")
    for source in sorted({k[0] for k in common}):
        pa, pb = fold_pairs(a_common, source), fold_pairs(b_common, source)
        if pa["n_within"] + pa["n_across"]:
            print(
                f"| {source} | ({pa['n_within']}) {pa['within']:.3f}, {pb['within']:.3f} "
                f"| ({pa['n_across']}) {pa['across']:.3f}, {pb['across']:.3f} |"
            )
    print("\n| reals of | n | A: median, 95th percentile | B: median, 95th percentile |\n|---|---|---|---|")
    for r in real_scores(a, b):
        print(f"| {r['source']} | {r['reals']} | {r['a'][0]:.3f}, {r['a'][1]:.3f} | {r['b'][0]:.3f}, {r['b'][1]:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
