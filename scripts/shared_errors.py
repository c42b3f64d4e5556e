"""Are the errors the recipes' or the data's?  Several recipes' out-of-fold scores on the same items: per FF++ source,
each recipe's pooled AUC, the AUC of the mean of all their scores (an ensemble of every recipe, out of fold), the
best mean of two recipes (picked on the very items it is scored on, so an optimistic bound on what averaging two of
them could give), and
the share of pairs a recipe ranks right when a fake meets only the real videos of its own pair group (the two
people the fake was made from), against pairs of a fake and any real.

    python scripts/shared_errors.py runs/cvdom/crossval.json runs/cvmnv2/crossval.json runs/cvreg/crossval.json

If the mean of many recipes ranks no better than the best of them, their errors are the same items: what limits
them is the data (which people, which videos), not one recipe's luck.  If a fake is ranked above its own reals far
more often than above any real, the score carries a level per person or video that moves whole pair groups up or
down, and that level, not the fake/real signal, costs the pooled AUC.

All files come from ``deepfake-lens crossval --json`` over the same folds (same data and split seed); the items out
of fold in all of them are used.  FF++ names give the pair groups: a fake ``183_253.mp4`` against the reals
``183.mp4`` and ``253.mp4`` of its source.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import numpy as np

from detector.evaluation.metrics import metrics_block

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_crossval import scores  # noqa: E402


def pair_ids(video: str) -> tuple[str, ...]:
    """The FF++ ids in a file name: ``.../183_253.mp4`` -> ("183", "253"), ``.../183.mp4`` -> ("183",); () for a
    name that is not FF++'s (an actor clip, a photo)."""
    parts = os.path.splitext(os.path.basename(video))[0].split("_")
    return tuple(parts) if len(parts) <= 2 and all(p.isdigit() for p in parts) else ()


def own_pairs(items: list[dict]) -> tuple[float, int]:
    """(share of the (fake, real of its own pair group) pairs ranked right, ties half; their count)."""
    reals = {pair_ids(x["video"])[0]: x["fake_probability"] for x in items if x["label"] == 0 and pair_ids(x["video"])}
    right, n = 0.0, 0
    for f in (x for x in items if x["label"] == 1):
        for r in pair_ids(f["video"]):
            if r in reals:
                d = f["fake_probability"] - reals[r]
                right += 1.0 if d > 0 else 0.5 if d == 0 else 0.0
                n += 1
    return (right / n if n else float("nan")), n


def table(runs: dict[str, dict]) -> list[dict]:
    """One row per recipe and one for the mean of all, per source with both classes: AUC over every fake-real
    pair, and the share right over own-pair-group pairs."""
    common = set.intersection(*(set(v) for v in runs.values()))
    if not common:
        raise ValueError("the cross-validations share no items")
    first = next(iter(runs.values()))
    if any(
        v[k]["fold"] != first[k]["fold"] or v[k]["label"] != first[k]["label"] for v in runs.values() for k in common
    ):
        raise ValueError("the cross-validations dealt different folds: their scores do not pair")
    rows = []
    for source in sorted({k[0] for k in common}):
        keys = sorted(k for k in common if k[0] == source and (first[k]["label"] == 1 or pair_ids(k[1])))
        y = [first[k]["label"] for k in keys]
        if len(set(y)) < 2:
            continue
        named = {name: [v[k]["fake_probability"] for k in keys] for name, v in runs.items()}
        pairs = {f"mean of {a} and {b}": list((np.array(named[a]) + np.array(named[b])) / 2)
                 for a, b in itertools.combinations(named, 2)}  # fmt: skip
        named["mean of all"] = list(np.mean(list(named.values()), axis=0))
        if len(runs) > 2:  # the best pair, picked on the very items it is scored on: an optimistic bound
            best = max(pairs, key=lambda name: metrics_block(y, pairs[name])["auc"])
            named[f"best pair (optimistic): {best}"] = pairs[best]
        for name, s in named.items():
            items = [{**first[k], "fake_probability": p} for k, p in zip(keys, s)]
            share, n = own_pairs(items)
            rows.append({"source": source, "recipe": name, "n": len(keys), "fakes": sum(y),
                         "auc": metrics_block(y, s)["auc"], "own": share, "n_own": n})  # fmt: skip
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("crossval", nargs="+", help="crossval.json of each recipe (the same folds)")
    args = p.parse_args(argv)
    if len(args.crossval) < 2:
        p.error("give at least two cross-validations")
    try:
        rows = table({path: scores(path) for path in args.crossval})
    except (OSError, ValueError, KeyError) as e:
        p.error(str(e))
    print(
        "| source | recipe | videos (fakes) | pooled AUC | a fake against its own pair group's reals: right (pairs) |\n"
        "|---|---|---|---|---|"
    )
    for r in rows:
        counts = f"{r['n']} ({r['fakes']})"
        print(f"| {r['source']} | {r['recipe']} | {counts} | {r['auc']:.3f} | {r['own']:.3f} ({r['n_own']}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
