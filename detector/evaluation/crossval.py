"""Pool the runs of a cross-validation into one measure of a training recipe.

    for i in 0 1 2; do deepfake-lens train --recipe realfaces --folds 3 --fold $i --out runs/cv/fold$i; done
    deepfake-lens crossval runs/cv/fold0 runs/cv/fold1 runs/cv/fold2 [--json runs/cv/crossval.json]

Each run of ``deepfake-lens train --folds K --fold I`` validates on one fold of whole pair groups
and trains on the others, so together the K runs score every video once, by a model that
never saw its group.  One validation split of 22 videos (7 real) puts a recipe anywhere from
0.83 to 0.96 here; pooled over all 100 videos (33 real) the AUC's interval is about half as
wide.  This prints, and ``--json`` writes:

- the pooled video-level metrics (AUC with its 95% bootstrap interval, AP, accuracy, log loss,
  confusion counts at 0.5) over every out-of-fold video;
- each fold's own AUC and their mean (the runs' models differ, so their scores are not quite on
  one scale: the pooled AUC also counts pairs across folds);
- the pooled AUC of each manipulation method against all the reals;
- the real videos scored most fake and the fakes scored most real: where the recipe fails.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np

from detector.errors import InputError
from detector.evaluation.calibration import (
    DEFAULT_TARGET_FA,
    calibrate_threshold,
    false_alarm_table,
    false_alarms_by_population,
    table_sections,
)
from detector.evaluation.scores import metrics_by_source, video_metrics, video_metrics_by_method

FOLD_FILES = ("metrics.json", "val_videos.json")  # what read_fold reads of a run folder


def read_fold(run_dir: str | Path) -> dict:
    """One cross-validation run: its split (folds, fold, seed), command and per-video validation scores."""
    run = Path(run_dir)
    try:
        metrics = json.loads((run / FOLD_FILES[0]).read_text())
        videos = json.loads((run / FOLD_FILES[1]).read_text())
    except FileNotFoundError as e:
        raise InputError(f"{run}: not a finished training run (no {Path(e.filename).name})") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{run}: unreadable run files ({e})") from None
    split = metrics.get("split") or {}
    if not split.get("folds"):
        raise InputError(f"{run}: not a cross-validation run (trained without --folds)")
    return {
        "dir": str(run),
        "folds": split["folds"],
        "fold": split["fold"],
        "seed": split["seed"],
        "recipe": _recipe(metrics, run),
        "videos": videos,
    }


def _recipe(metrics: dict, run: Path) -> dict:
    """The run's training config without the fold and where it was written (:meth:`TrainConfig.recipe`).  A run
    that saved no config (an older one) has its command line read back through the train command's parser."""
    from detector.training.config import TrainConfig, parse_config

    if metrics.get("config"):
        return TrainConfig.from_dict(metrics["config"]).recipe()
    words = shlex.split(metrics.get("command", ""))
    start = next(
        (i + 1 for i, w in enumerate(words) if w in ("detector.train", "train", "detector.training.run")), None
    )
    if start is None:
        raise InputError(f"{run}: the run records neither its config nor a train command")
    try:
        return parse_config(words[start:]).recipe()
    except SystemExit:
        raise InputError(f"{run}: its recorded train command no longer parses") from None


def _recipe_text(recipe: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in recipe.items() if v not in (None, False, 0, 0.0))


def pool(runs: list[dict]) -> dict:
    """Pooled and per-fold metrics of cross-validation runs (from :func:`read_fold`) of one recipe."""
    if not runs:
        raise InputError("no runs to pool")
    runs = sorted(runs, key=lambda r: r["fold"])
    first = runs[0]
    for r in runs[1:]:
        if (r["folds"], r["seed"]) != (first["folds"], first["seed"]):
            raise InputError(
                f"{r['dir']}: fold {r['fold']} of {r['folds']} by split seed {r['seed']}, but "
                f"{first['dir']} is of {first['folds']} folds by split seed {first['seed']}"
            )
        if r["recipe"] != first["recipe"]:
            diff = sorted(
                k for k in set(r["recipe"]) | set(first["recipe"]) if r["recipe"].get(k) != first["recipe"].get(k)
            )
            raise InputError(
                f"{r['dir']} and {first['dir']} were trained by different recipes: "
                + "; ".join(f"{k} {r['recipe'].get(k)!r} vs {first['recipe'].get(k)!r}" for k in diff)
            )
    folds = [r["fold"] for r in runs]
    if len(set(folds)) < len(folds):
        raise InputError(f"fold given twice: folds {folds}")
    seen: dict[str, int] = {}
    for r in runs:
        for v in r["videos"]:
            if v["video"] in seen:  # cannot happen with one K and seed, unless the dataset changed between runs
                raise InputError(f"{v['video']} is validated in fold {seen[v['video']]} and fold {r['fold']}")
            seen[v["video"]] = r["fold"]

    videos = [dict(v, fold=r["fold"]) for r in runs for v in r["videos"]]
    target = first["recipe"].get("target_fa") or DEFAULT_TARGET_FA
    calibration = calibrate_threshold(videos, target=target)  # out-of-fold: every score from a model that never saw it
    per_fold = [{"fold": r["fold"], "dir": r["dir"], **video_metrics(r["videos"], ci=True)} for r in runs]
    fold_aucs = [f["auc"] for f in per_fold if f["auc"] is not None]
    reals = [v for v in videos if v["label"] == 0 and v.get("kind", "video") == "video"]
    name = lambda v: {
        "video": (f"{v['method']}/" if v["label"] == 1 else "") + Path(v["video"]).name,  # noqa: E731
        "method": v["method"],
        "fold": v["fold"],
        # unrounded: the threshold is rounded up to 6 decimals from the real below it, so a rounded score could
        # equal it; ties made by rounding also moved paired AUCs (scripts/paired_crossval.py reads these)
        "fake_probability": float(v["confident"]),
    }
    return {
        "folds": first["folds"],
        "split_seed": first["seed"],
        "folds_run": folds,
        "complete": folds == list(range(first["folds"])),
        "recipe": first["recipe"],
        "command": "deepfake-lens train " + _recipe_text(first["recipe"]) + f" folds={first['folds']} fold=I",
        "pooled": video_metrics(videos, ci=True),
        "by_source": metrics_by_source(videos),
        "calibration": calibration,
        "false_alarms_at_threshold": false_alarm_table(videos, calibration["threshold"]),
        "false_alarms_by_source_at_threshold": false_alarm_table(videos, calibration["threshold"], by="source"),
        "cross_fitted": cross_fitted_false_alarms(videos, target),
        "per_fold": per_fold,
        "fold_auc_mean": float(np.mean(fold_aucs)) if fold_aucs else None,
        "fold_auc_sd": float(np.std(fold_aucs, ddof=1)) if len(fold_aucs) > 1 else None,
        # each method's fake videos against the real videos (photos would make every method look easier)
        "by_method": video_metrics_by_method([v for v in videos if v.get("kind", "video") == "video"], ci=True),
        "reals_scored_most_fake": [name(v) for v in sorted(reals, key=lambda v: -v["confident"])[:8]],
        "fakes_scored_most_real": [
            name(v) for v in sorted((v for v in videos if v["label"] == 1), key=lambda v: v["confident"])[:8]
        ],
        "videos": [
            name(v) | {"label": v["label"], "kind": v.get("kind", "video"), "source": v.get("source")} for v in videos
        ],
    }


def cross_fitted_false_alarms(videos: list[dict], target: float) -> dict:
    """False alarms measured honestly: each fold's reals judged at the threshold calibrated on the OTHER folds'
    out-of-fold scores (the pooled threshold was fitted on all of them, so its own false-alarm rate is optimistic).
    Rows per stratum, per source, and per age band and sex where the data names them, summed over the folds."""
    folds = sorted({v["fold"] for v in videos})
    if len(folds) < 2:
        return {}
    thresholds = {
        f: calibrate_threshold([v for v in videos if v["fold"] != f], target=target)["threshold"] for f in folds
    }
    at = lambda v: thresholds[v["fold"]]  # noqa: E731
    return {
        "thresholds": thresholds,
        "by_stratum": false_alarm_table(videos, at),
        "by_source": false_alarm_table(videos, at, by="source"),
        "by_population": false_alarms_by_population(videos, at),
    }


def auc_text(block: dict | None, missing: str = "n/a (one class)") -> str:
    """An AUC with its 95% interval, as tables print it: "0.862 (0.78-0.93)"."""
    if not block or block.get("auc") is None:
        return missing
    ci = block.get("auc_ci95")
    return f"{block['auc']:.3f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else "")


def render(result: dict) -> str:
    """The result as the text the command prints."""
    p = result["pooled"]
    c = p["confusion"]
    lines = [
        f"{result['folds']}-fold cross-validation by pair group (split seed {result['split_seed']}): "
        f"folds {result['folds_run']}"
        + ("" if result["complete"] else f" only, of {result['folds']}: a partial measure"),
        f"  {result['command']}",
        "",
        f"{'fold':>4}  {'items':>6}  {'real':>5}  {'AUC (95% interval)':<26} {'log loss':>8}",
    ]
    for f in result["per_fold"]:
        lines.append(f"{f['fold']:>4}  {f['n']:>6}  {f['n_real']:>5}  {auc_text(f):<26} {f['log_loss']:>8.3f}")
    if result["fold_auc_sd"] is not None:
        lines.append(f"mean of the folds' AUCs {result['fold_auc_mean']:.3f} (sd {result['fold_auc_sd']:.3f})")
    lines += [
        "",
        f"pooled over {p['n']} videos and photos ({p['n_fake']} fake, {p['n_real']} real): AUC {auc_text(p)}, "
        f"AP {p['ap']:.3f}, accuracy {p['accuracy']:.3f}, log loss {p['log_loss']:.3f}, "
        f"at 0.5: TP {c['tp']} FP {c['fp']} TN {c['tn']} FN {c['fn']}"
        if p["auc"] is not None
        else f"pooled over {p['n']} items: one class only, no AUC",
    ]
    for method, b in result["by_method"].items():
        lines.append(f"  {method} ({b['n_fake']}) against the real videos: AUC {auc_text(b)}")
    for source, b in result.get("by_source", {}).items():
        if b.get("auc") is not None:
            lines.append(f"  source {source}: {b['n']} videos ({b['n_real']} real): AUC {auc_text(b)}")
    cal = result.get("calibration") or {}
    if cal:
        lines += [
            "",
            f"out-of-fold threshold for at most {cal['target_false_alarms']:.0%} false alarms per stratum: "
            f"{cal['threshold']:.4f} (uncertain from {cal['uncertain'][0]:.4f})"
            if cal.get("uncertain")
            else f"threshold: {cal.get('threshold')}",
        ]
        for row in result.get("false_alarms_at_threshold", []) + result.get("false_alarms_by_source_at_threshold", []):
            lines.append(
                f"  {row['name']:<22} reals {row['reals']:>5}  false alarms {row['false_alarms']:>4}  "
                f"rate {row['rate'] if row['rate'] is not None else '-'}"
            )
    cf = result.get("cross_fitted") or {}
    if cf:
        lines += ["", "cross-fitted false alarms (each fold judged at the threshold calibrated on the other folds):"]
        for heading, rows in table_sections(cf["by_stratum"] + cf["by_source"], cf.get("by_population")):
            if heading:
                lines.append(f"  {heading}:")
            for row in rows:
                rate = row["rate"] if row["rate"] is not None else "-"
                lines.append(
                    f"  {row['name']:<22} reals {row['reals']:>5}  false alarms {row['false_alarms']:>4}  rate {rate}"
                )
    lines += [
        "",
        "reals scored most fake: "
        + ", ".join(
            f"{v['video']} {v['fake_probability']:.2f} (fold {v['fold']})" for v in result["reals_scored_most_fake"][:5]
        ),
        "fakes scored most real: "
        + ", ".join(
            f"{v['video']} {v['fake_probability']:.2f} (fold {v['fold']})" for v in result["fakes_scored_most_real"][:5]
        ),
    ]
    return "\n".join(lines)


def plot_scores(result: dict, path: str | Path) -> None:
    """Histogram of the out-of-fold scores: real photos, real videos and fake videos, with the threshold and the
    uncertain band (log scale: thousands of photos beside a few dozen videos)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    videos = result["videos"]
    groups = {
        "real photos": [v["fake_probability"] for v in videos if v["label"] == 0 and v.get("kind") == "image"],
        "real videos": [v["fake_probability"] for v in videos if v["label"] == 0 and v.get("kind") != "image"],
        "fake videos": [v["fake_probability"] for v in videos if v["label"] == 1],
    }
    cal = result["calibration"]
    fig, ax = plt.subplots(figsize=(8, 4))
    bins = np.linspace(0, 1, 41)
    for (name, scores), colour in zip(groups.items(), ("tab:green", "tab:blue", "tab:red")):
        if scores:
            ax.hist(scores, bins=bins, alpha=0.55, color=colour, label=f"{name} (n={len(scores)})")
    if cal.get("uncertain"):
        ax.axvspan(cal["uncertain"][0], cal["threshold"], color="orange", alpha=0.15, label="uncertain band")
    ax.axvline(cal["threshold"], color="black", ls="--", lw=1, label=f"threshold {cal['threshold']:.3f}")
    ax.set(
        yscale="log",
        xlim=(0, 1),
        xlabel="out-of-fold fake probability",
        ylabel="items (log scale)",
        title=f"{result['folds']}-fold cross-validation: scores by class",
    )
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from detector.cliargs import STDOUT, Parser, check_outputs, fail, same_file, unwritable, write_failed

    p = Parser(
        prog="deepfake-lens crossval",
        description="Pool the runs of deepfake-lens train --folds K --fold I into one measure",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders of one recipe, one per fold")
    p.add_argument("--json", metavar="OUT", help="also write the result as JSON (- for standard output)")
    p.add_argument("--plot", metavar="PNG", help="also draw the out-of-fold scores by class, with the threshold")
    args = p.parse_args(argv)
    # before the folds are read: an output that cannot be written, or an empty name, is said, not skipped
    # the files each fold is read from are inputs too: --json runs/cv/fold0/metrics.json would write over that fold
    read = [str(Path(d) / name) for d in args.runs for name in FOLD_FILES]
    problem = check_outputs([("--json", args.json)], inputs=[*args.runs, *read])
    if not problem and args.plot is not None:  # a picture: check_outputs refuses names like a photo's
        if not args.plot.strip():
            problem = "--plot: empty: give a file name (e.g. scores.png)"
        elif args.json and args.json != STDOUT and same_file(args.plot, args.json):
            problem = "--json, --plot must name different files"
        elif any(same_file(args.plot, p) for p in [*args.runs, *read]):
            problem = f"--plot {args.plot}: is one of the inputs; give another file name for the picture"
        elif why := unwritable(args.plot):  # (asked once: it opens the file to see)
            problem = f"--plot {args.plot}: {why}"
    if problem:
        return fail(problem)
    try:
        result = pool([read_fold(d) for d in args.runs])
    except InputError as e:
        return fail(str(e))
    print(render(result), file=sys.stderr if args.json == STDOUT else sys.stdout)  # stdout: the JSON alone
    problems = []
    for flag, target, write in (
        ("--json", args.json, lambda path: _write_json(result, path)),
        ("--plot", args.plot, lambda path: plot_scores(result, path)),
    ):
        if target:
            try:
                write(target)
            except OSError as e:  # checked before; gone since (a full disk, a folder removed)
                problems.append(write_failed(flag, target, e))
    for problem in problems[:-1]:
        print(f"error: {problem}", file=sys.stderr)
    return fail(problems[-1]) if problems else 0


def _write_json(result: dict, path: str) -> None:
    """``result`` as JSON, to ``path`` (``-``: standard output)."""
    text = json.dumps(result, indent=1)
    if path == "-":
        print(text)
    else:
        Path(path).write_text(text)


if __name__ == "__main__":
    sys.exit(main())
