"""Are the errors the recipes' or the data's?  Several recipes' out-of-fold scores on the same items: per FF++ source,
each recipe's pooled AUC and its rank correlation with the first recipe, the AUC of the mean of all their scores (an
ensemble of every recipe, out of fold), the best mean of two recipes (picked on the very items it is scored on, so an
optimistic bound on what averaging two of them could give), and how often a fake is ranked above one real video of
its own: another video of the same face (for a face swap), and the video it was made from.

    python scripts/shared_errors.py runs/cvdom/crossval.json runs/cvmnv2/crossval.json runs/cvreg/crossval.json

If the recipes' scores correlate highly and the mean of many ranks no better than the best of them, they get the
same items wrong: what limits them is the data (which people, which videos), not one recipe's luck.  If a fake is
ranked above a real video of its own person far more often than above any real, the score carries a level per
person or video that moves both up or down together, and that level, not the fake/real signal, costs the pooled AUC.

All files come from ``deepfake-lens crossval --json`` over the same folds (same data and split seed); the items out
of fold in all of them are used.  FF++ names a fake ``TARGET_SOURCE.mp4``: it is TARGET's video (the scene of the
real ``TARGET.mp4``) with SOURCE's face (Deepfakes, FaceSwap: the face of ``SOURCE.mp4``, another video) or with
TARGET's own face re-enacted by SOURCE (Face2Face, NeuralTextures: the face of ``TARGET.mp4``, the video it was made
from).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import numpy as np
from scipy.stats import spearmanr

from detector.evaluation.metrics import metrics_block

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paired_crossval import scores  # noqa: E402


def pair_ids(video: str) -> tuple[str, ...]:
    """The FF++ ids in a file name: ``.../183_253.mp4`` -> ("183", "253"), ``.../183.mp4`` -> ("183",); () for a
    name that is not FF++'s (an actor clip, a photo)."""
    parts = os.path.splitext(os.path.basename(video))[0].split("_")
    return tuple(parts) if len(parts) <= 2 and all(p.isdigit() for p in parts) else ()


SWAPS = ("Deepfakes", "FaceSwap")  # SOURCE's face on TARGET's video: SOURCE.mp4 is another video of the same face


def same_person_and_scene(items: list[dict]) -> dict[str, tuple[float, int]]:
    """{"person": (share of the (face swap, another real video of the same face: SOURCE.mp4) pairs ranked right,
    ties half; their count), "scene": the same for (any fake, the real video it was made from: TARGET.mp4)}.  A
    re-enactment (Face2Face, NeuralTextures) shows TARGET's own face, so its same-person real is the video it was
    made from, counted under "scene"; a method not known to be a swap is left out of "person"."""
    reals = {pair_ids(x["video"])[0]: x["fake_probability"] for x in items if x["label"] == 0 and pair_ids(x["video"])}
    right = {"person": [0.0, 0], "scene": [0.0, 0]}
    for f in (x for x in items if x["label"] == 1 and len(pair_ids(x["video"])) == 2):
        target, source = pair_ids(f["video"])
        for kind, real in (("person", source if f["method"] in SWAPS else None), ("scene", target)):
            if real in reals:
                d = f["fake_probability"] - reals[real]
                right[kind][0] += 1.0 if d > 0 else 0.5 if d == 0 else 0.0
                right[kind][1] += 1
    return {k: (r / n if n else float("nan"), n) for k, (r, n) in right.items()}


def table(runs: dict[str, dict]) -> list[dict]:
    """One row per recipe, one for the mean of all and (from three recipes) one for the best mean of two, per
    source with both classes: the AUC over every pair of a fake and a real FF++ video (real items without an FF++ id,
    such as actor clips, are left out), the Spearman correlation of the row's scores with the first recipe's
    ("rho"), and the share ranked right of the pairs of a swap and another real video of the same face ("person",
    "n_person") and of a fake and the real video it was made from ("scene", "n_scene")."""
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
        reference = named[next(iter(runs))]
        if len(runs) > 2:  # the best pair, picked on the very items it is scored on: an optimistic bound
            pairs = {f"mean of {a} and {b}": list((np.array(named[a]) + np.array(named[b])) / 2)
                     for a, b in itertools.combinations(named, 2)}  # fmt: skip
            best = max(pairs, key=lambda name: metrics_block(y, pairs[name])["auc"])
        named["mean of all"] = list(np.mean(list(named.values()), axis=0))
        if len(runs) > 2:
            named[f"best pair (optimistic): {best}"] = pairs[best]
        for name, s in named.items():
            items = [{**first[k], "fake_probability": p} for k, p in zip(keys, s)]
            same = same_person_and_scene(items)
            rows.append({"source": source, "recipe": name, "n": len(keys), "fakes": sum(y),
                         "auc": metrics_block(y, s)["auc"], "rho": float(spearmanr(reference, s)[0]),
                         "person": same["person"][0], "n_person": same["person"][1],
                         "scene": same["scene"][0], "n_scene": same["scene"][1]})  # fmt: skip
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("crossval", nargs="+", help="crossval.json of each recipe (the same folds)")
    args = p.parse_args(argv)
    if len(set(args.crossval)) < 2:
        p.error("give at least two different cross-validations")
    try:
        rows = table({path: scores(path) for path in args.crossval})
    except (OSError, ValueError, KeyError) as e:
        p.error(str(e))
    print(
        "| source | recipe | videos (fakes) | pooled AUC: a fake above a real | rank correlation with the first "
        "recipe | a face swap above another real video of the same face (pairs) | a fake above the real video it "
        "was made from (pairs) |\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        counts = f"{r['n']} ({r['fakes']})"
        same = f"{r['person']:.3f} ({r['n_person']}) | {r['scene']:.3f} ({r['n_scene']})"
        print(f"| {r['source']} | {r['recipe']} | {counts} | {r['auc']:.3f} | {r['rho']:.2f} | {same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
