"""Markdown tables of a cross-validation and of evaluations, for docs/results.md and the model cards.

    python scripts/results_tables.py --crossval runs/cv/crossval.json \\
        --eval "held-out UTKFace photos=runs/cv/eval_utk_heldout.json" --eval "wild_real clips=runs/cv/eval_wild.json"

Prints the tables; copies nothing anywhere.
"""

from __future__ import annotations

import argparse
import json

from detector.evaluation.crossval import auc_text


def _auc(b: dict | None) -> str:
    return auc_text(b, missing="-")


def _rate(row: dict) -> str:
    return "-" if row.get("rate") is None else f"{row['rate']:.1%}"


def crossval_tables(cv: dict) -> str:
    out = ["| set | items (real) | video AUC (95% interval) | AP |", "|---|---|---|---|"]
    p = cv["pooled"]
    out.append(f"| everything validated | {p['n']} ({p['n_real']}) | {_auc(p)} | {p['ap']:.3f} |")
    for name, b in cv.get("by_source", {}).items():
        if b.get("auc") is not None:
            out.append(f"| {name} | {b['n']} ({b['n_real']}) | {_auc(b)} | {b['ap']:.3f} |")
    out += ["", "| fold | items (real) | video AUC (95% interval) |", "|---|---|---|"]
    for f in cv["per_fold"]:
        out.append(f"| {f['fold']} | {f['n']} ({f['n_real']}) | {_auc(f)} |")
    out += ["", "| method (fake videos against the real videos) | fakes | video AUC (95% interval) |", "|---|---|---|"]
    for m, b in cv["by_method"].items():
        out.append(f"| {m} | {b['n_fake']} | {_auc(b)} |")
    cal = cv["calibration"]
    out += [
        "",
        f"Out-of-fold threshold: **{cal['threshold']:.4f}**, uncertain from {cal['uncertain'][0]:.4f} "
        f"({cal['rule']}; reals per stratum {cal['strata']}).",
        "",
    ]
    cf = cv.get("cross_fitted") or {}
    if cf:
        out += [
            "| reals (cross-fitted: each fold at the others' threshold) | reals | false alarms | rate |",
            "|---|---|---|---|",
        ]
        for row in cf["by_source"] + cf["by_stratum"]:
            out.append(f"| {row['name']} | {row['reals']} | {row['false_alarms']} | {_rate(row)} |")
    return "\n".join(out)


def eval_table(name: str, ev: dict) -> str:
    lv = ev["levels"]["none"]
    out = [
        f"**{name}** (model {ev['model']}, threshold {ev['threshold']:.4f}; {ev['split']['note']})",
        "",
        "| group | items | false alarms | rate | median score |",
        "|---|---|---|---|---|",
    ]
    for row in lv.get("false_alarms", []):
        med = "-" if row["median_score"] is None else f"{row['median_score']:.3f}"
        out.append(f"| {row['name']} | {row['reals']} | {row['false_alarms']} | {_rate(row)} | {med} |")
    labels = lv.get("labels", {})
    out += [
        "",
        "labels: "
        + ", ".join(f"{k} {v}" for k, v in labels.items())
        + (f"; no face: {lv['no_face']}" if lv.get("no_face") else ""),
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crossval", help="crossval.json of deepfake-lens crossval --json")
    ap.add_argument("--eval", action="append", default=[], metavar="NAME=JSON", help="deepfake-lens evaluate --json")
    args = ap.parse_args(argv)
    if args.crossval:
        print(crossval_tables(json.load(open(args.crossval))), end="\n\n")
    for spec in args.eval:
        name, _, path = spec.partition("=")
        print(eval_table(name, json.load(open(path))), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
