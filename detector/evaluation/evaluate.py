"""Evaluate a model on a labelled dataset of videos or photos, clean and under perturbations.

    python -m detector.evaluation.evaluate ../shared/data/ffpp --split val --perturb all --json eval.json --report eval/

DATA is any layout :func:`detector.data.datasets.read_dataset` reads (FaceForensics++,
DFDC ``metadata.json``, ``real/`` + ``fake/``).  Every video goes through the same
:func:`detector.inference.pipeline.analyze` the CLI and the app use, once per perturbation
level (``--perturb``: ``none``; ``fliprot``: flip + small rotation; ``heavy``:
brightness, blur, dropout, noise, contrast and grayscale together; ``all``: the
three; see :data:`detector.evaluation.perturb.LEVELS`).  A perturbation is applied to each
decoded frame before face detection, with a seed fixed per video.

For each level it reports, at the model card's threshold (:mod:`detector.evaluation.metrics`):

* video level -- the report's score (confident-frames rule, highest identity);
* frame level -- one score per sampled frame: that frame's face of the video's main
  identity (the face tracked in most frames), as the training crops are chosen;
* per manipulation method, where the layout names one: that method's fakes against
  all the real videos.

Videos where no face is found have no score: they are counted (``no_face``) and left
out of the metrics, as are those whose faces were all too small to judge (``too_small``).
``--split val`` (the default) keeps only the pair groups the
model card lists as its validation split (``trained.split.val_groups``), i.e. videos
the model never saw; without a split in the card, or when no video of DATA is in it,
it says so and evaluates everything.

Outputs: a table on stdout, a progress bar on stderr, ``--json OUT`` (``-`` for
stdout) and ``--report DIR`` (``roc.png``, ``score_histograms.png``, ``videos.csv``).
Exit codes: 0 done; 1 done, but some videos could not be read; 2 bad input or no model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from detector.cliargs import (
    STDOUT,
    Parser,
    check_outputs,
    fail,
    frame_count,
    model_name,
    printable,
    whole,
    write_failed,
)
from detector.constants import SCORE_DECIMALS
from detector.inference.report import SafeDictWriter

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

PERTURB_CHOICES = ("none", "fliprot", "heavy", "all")
CSV_FIELDS = [
    "id",
    "level",
    "label",
    "method",
    "group",
    "subgroup",
    "age_band",
    "sex",
    "score",
    "score_mean",
    "predicted",
    "threshold",
    "correct",
    "frames",
    "frames_with_face",
    "faces",
    "faces_too_small",
    "seconds",
    "error",
    "path",
]


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(
        prog="deepfake-lens evaluate",
        description="Evaluate a model on a labelled dataset of videos or photos, clean and perturbed",
    )
    p.add_argument(
        "data",
        metavar="DATA",
        nargs="+",
        help="dataset folder(s): FaceForensics++ tree, DFDC metadata.json, real/+fake/ folders of videos or photos",
    )
    p.add_argument(
        "--model",
        type=model_name,
        help="a model's name (deepfake-lens models lists them), its .json card, or a folder holding one card "
        "(default: the installed default model)",
    )
    p.add_argument("--frames", type=frame_count, default=32, help="frames sampled evenly over each video (default 32)")
    p.add_argument(
        "--perturb",
        choices=PERTURB_CHOICES,
        default="none",
        help="perturbation level(s) to evaluate under (default none; all = none, fliprot, heavy)",
    )
    p.add_argument(
        "--split",
        choices=("val", "train", "all", "heldout"),
        default="val",
        help="val (default): only the model card's validation groups; train: the others (of the sources it trained "
        "on, held-out photos apart); all: every video; "
        "heldout: the fixed fifth of each photo folder that training never uses",
    )
    p.add_argument(
        "--label",
        choices=("real", "fake"),
        help="every video and photo below DATA has this label, whatever the layout (e.g. real clips from the wild)",
    )
    p.add_argument("--json", metavar="OUT", help="write the results as JSON ('-' for stdout)")
    p.add_argument("--report", metavar="DIR", help="write roc.png, score_histograms.png and videos.csv into DIR")
    p.add_argument(
        "--limit",
        type=whole,
        default=0,
        help="evaluate at most this many videos, evenly spread (0: all; for quick runs)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


# ---------------------------------------------------------------- choosing videos


def _without_seen(items, card, note: str):
    """``items`` without the files ``card``'s model trained or validated on (by their bytes:
    :func:`detector.data.seen.seen_warning`), and ``note`` saying how many were left out."""
    from detector.data.seen import seen_warning

    kept = [it for it in items if not seen_warning(it.path, card)]
    if len(kept) < len(items):
        note += (
            f"; {len(items) - len(kept)} left out: files this model trained or validated on (the same bytes), "
            f"{len(kept)} kept"
        )
    return kept, note


def select_split(items, card, split: str):
    """(items to evaluate, split used, a note saying why) for ``split`` in val/train/all/heldout, from the card's split:
    ``train`` keeps only the sources the model trained on (``train --train-sources``) and never a held-out photo."""
    from detector.data.datasets import held_out, in_sources
    from detector.errors import InputError

    if split == "all":
        return items, "all", f"all {len(items)} {_nouns(items)} (--split all)"
    if split == "heldout":
        kept = [it for it in items if held_out(it)]
        if not kept:
            raise InputError("no held-out photos here: --split heldout keeps the fixed fifth of a photo folder")
        kept, twins = _without_training_twins(kept, [it for it in items if not held_out(it)])
        twin_note = f"; {twins} left out, the same bytes as a training photo" if twins else ""
        return (
            kept,
            "heldout",
            f"{len(kept)} of {len(items)} photos: the fifth of the folder no training run uses{twin_note}",
        )
    trained = card.trained or {}
    sources = (trained.get("config") or {}).get("train_sources")  # train --train-sources: the others never trained on
    if split in ("val", "train") and getattr(card, "members", None):
        raise InputError(
            f"{card.name} is an ensemble of fold models: every item of its training data was seen by some member, so "
            "it has no validation split; use --split heldout (held-out photos), data it never saw with --split all, "
            "or its out-of-fold figures (deepfake-lens crossval)"
            + (f"; it trained on the sources {', '.join(sources)} only" if sources else "")
        )

    def bare(group: str) -> str:  # "faces_utk/x" (read among several roots) and "x" (alone) are one group
        return group.rsplit("/", 1)[-1]

    val_groups = {bare(g) for g in (trained.get("split") or {}).get("val_groups") or []}
    if not val_groups:
        return items, "all", f"the model card has no training split: evaluating all {len(items)} {_nouns(items)}"
    in_val = [it for it in items if bare(it.group) in val_groups]
    if not in_val:
        return (
            items,
            "all",
            (
                f"nothing in this dataset is in the model's validation split (not its training data?): "
                f"evaluating all {len(items)} {_nouns(items)}"
            ),
        )
    if split == "val":
        n_groups = len({it.group for it in in_val})
        return (
            in_val,
            "val",
            (
                f"the model's validation split: {len(in_val)} of {len(items)} {_nouns(items)} "
                f"({n_groups} pair groups never seen in training)"
            ),
        )
    in_train = [
        it
        for it in items
        if bare(it.group) not in val_groups
        and (not sources or in_sources(it, sources))
        and not held_out(it)  # the fixed fifth of a photo folder that no training run uses
    ]
    if not in_train:
        raise InputError(
            f"every one of this dataset's {_nouns(items)} is in the model's validation split"
            + (f" or of a source it never trained on (it trained on {', '.join(sources)} only)" if sources else "")
            + ": none is left for --split train"
        )
    return (
        in_train,
        "train",
        f"the model's training split: {len(in_train)} of {len(items)} {_nouns(items)} (seen in training)",
    )


def _without_training_twins(kept, others) -> tuple[list, int]:
    """``kept`` without the items whose bytes equal one of ``others`` (a review: 26 of UTKFace's 1,554 held-out
    photos are byte-for-byte copies of training photos, so a model had seen them); and how many were dropped.
    Files are hashed only where their sizes match."""
    import os

    from detector.data.seen import digest

    sizes: dict[int, list] = {}
    for it in others:
        sizes.setdefault(os.path.getsize(it.path), []).append(it)
    seen_digests: dict[int, set[str]] = {}
    out = []
    for it in kept:
        size = os.path.getsize(it.path)
        if size in sizes:
            if size not in seen_digests:
                seen_digests[size] = {digest(o.path) for o in sizes[size]}
            if digest(it.path) in seen_digests[size]:
                continue
        out.append(it)
    return out, len(kept) - len(out)


def _nouns(items) -> str:
    """What ``items`` are, in words: "videos", "photos" or "videos and photos" (a folder of photos was called
    videos)."""
    kinds = {getattr(it, "kind", "video") for it in items}
    if kinds == {"image"}:
        return "photos"
    return "videos and photos" if "image" in kinds else "videos"


# ---------------------------------------------------------------- running the pipeline


def _main_identity_scores(report) -> list[float]:
    """One score per sampled frame: the face of the main identity (as :mod:`detector.data.crops` picks it)."""
    from detector.inference.faces import main_identity

    per_frame = [fr.faces for fr in report.frames]
    ident = main_identity(per_frame)
    if ident is None:
        return []
    return [f.score for faces in per_frame for f in faces if f.identity == ident]


def run_one(item, level: str, clf, frames: int) -> dict:
    """Analyse one video under one perturbation level; a row for the CSV (errors recorded, not raised)."""
    from detector.errors import InputError
    from detector.evaluation.perturb import make_transform
    from detector.inference.pipeline import analyze

    row = {
        "id": item.id,
        "level": level,
        "label": item.label,
        "label_name": item.label_name,
        "method": item.method or "",
        "group": item.group,
        "kind": item.kind,
        "source": item.source,
        "subgroup": item.subgroup,
        "age_band": item.age_band,
        "sex": item.sex,
        "path": item.path,
        "score": None,
        "score_mean": None,
        "predicted": "",
        "threshold": None,
        "frames": 0,
        "frames_with_face": 0,
        "faces": 0,
        "faces_too_small": 0,  # faces found but too small to judge (pipeline.too_small): not scored
        "frame_scores": [],
        "error": "",
    }
    transform = None if level == "none" else make_transform(level, seed=zlib.crc32(item.id.encode()))
    t0 = time.perf_counter()
    try:
        report = analyze(item.path, frames=frames, model=clf, transform=transform)
    except InputError as e:
        row["error"] = str(e)
    else:
        finite = not math.isnan(report.score)
        row.update(
            score=float(report.score) if finite else None,
            score_mean=float(report.scores_by_rule["mean"]) if finite else None,
            predicted=report.label,
            threshold=float(report.threshold),  # the card's for this file (a small video's may be its own)
            frames=len(report.frames),
            frames_with_face=sum(fr.has_face for fr in report.frames),
            faces=len(report.faces),
            faces_too_small=report.too_small_faces,
            frame_scores=_main_identity_scores(report),
        )
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["correct"] = "" if row["score"] is None else int((row["predicted"] == "fake") == bool(item.label))
    return row


def evaluate_items(items, clf, levels: list[str], frames: int, progress: bool = True) -> list[dict]:
    """Rows for every (video, level); each video's levels run back to back (its file stays in the OS cache)."""
    from tqdm import tqdm

    rows = []
    bar = tqdm(
        total=len(items) * len(levels),
        unit="run",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        desc="evaluating",
    )
    for item in items:
        for level in levels:
            bar.set_postfix_str(f"{level} {item.id}", refresh=False)
            rows.append(run_one(item, level, clf, frames))
            bar.update(1)
    bar.close()
    return rows


# ---------------------------------------------------------------- metrics


def level_metrics(rows: list[dict], threshold: float) -> dict:
    """Video-level, frame-level and per-method metrics of the rows of one level."""
    from detector.evaluation.metrics import metrics_block

    scored = [r for r in rows if r["score"] is not None]

    def blocks(subset):
        frame_labels = [r["label"] for r in subset for _ in r["frame_scores"]]
        frame_scores = [s for r in subset for s in r["frame_scores"]]
        return {
            "video": metrics_block([r["label"] for r in subset], [r["score"] for r in subset], threshold, ci=True),
            "video_mean_rule": metrics_block(
                [r["label"] for r in subset], [r["score_mean"] for r in subset], threshold
            ),
            "frame": metrics_block(frame_labels, frame_scores, threshold),
        }

    from detector.evaluation.calibration import false_alarm_table, false_alarms_by_population

    out = blocks(scored)
    out["videos"] = len(rows)
    out["labels"] = {name: sum(r["predicted"] == name for r in scored) for name in ("real", "uncertain", "fake")}
    reals = [r for r in scored if r["label"] == 0]

    # over the threshold by score, but not called fake: a colour second opinion made them uncertain (the metric blocks
    # above count by score; the verdicts, which a user reads, by label)
    # each item at the threshold that judged it: the card's, or its threshold for small videos (a video under the
    # training clips' size, where the card has one), small photos or photos with several faces
    def judged_at(r):
        return r.get("threshold") or threshold

    out["small_video_threshold"] = sum(judged_at(r) != threshold for r in scored)
    heard = {id(r) for r in scored if r["score"] >= judged_at(r) and r["predicted"] != "fake"}
    out["second_opinion_uncertain"] = sum(r["label"] == 0 for r in scored if id(r) in heard)
    out["second_opinion_uncertain_fakes"] = sum(r["label"] == 1 for r in scored if id(r) in heard)
    if reals:  # how often real people are called fake, overall and per group the data names
        # by their verdict: a score over the threshold that a second opinion made "uncertain" is not called fake
        # (detector.inference.pipeline.colour_second_opinion); other items' verdicts follow their scores
        def at(r):
            return math.inf if id(r) in heard else judged_at(r)

        out["false_alarms"] = false_alarm_table(scored, at, score_key="score")
        out["false_alarms_by_source"] = false_alarm_table(scored, at, score_key="score", by="source")
        out["false_alarms_by_population"] = false_alarms_by_population(scored, at, score_key="score")
        q = np.quantile([r["score"] for r in reals], [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
        out["real_score_quantiles"] = dict(zip(("p10", "p25", "p50", "p75", "p90", "p95", "p99"), q.round(4).tolist()))
    out["failed"] = sum(bool(r["error"]) for r in rows)
    unscored = [r for r in rows if r["score"] is None and not r["error"]]
    out["no_face"] = sum(not r.get("faces_too_small") for r in unscored)
    out["too_small"] = sum(bool(r.get("faces_too_small")) for r in unscored)  # faces found, all too small to judge
    out["seconds"] = round(sum(r["seconds"] for r in rows), 1)
    methods = sorted({r["method"] for r in scored if r["label"] == 1 and r["method"]})
    out["by_method"] = {}
    for m in methods:
        sub = [r for r in scored if r["label"] == 0 or r["method"] == m]
        out["by_method"][m] = blocks(sub)
    return out


# ---------------------------------------------------------------- output


def _f(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def table(result: dict) -> str:
    """The results as a fixed-width text table: one line per (level, subset)."""
    nouns = result.get("inputs", "videos")
    head = (
        f"{'level':8s} {'subset':18s} {'inputs':>6s} {'AUC':>6s} {'acc':>6s} {'AP':>6s} {'logloss':>7s} "
        f"{'TP':>4s} {'FP':>4s} {'TN':>4s} {'FN':>4s} | {'frames':>6s} {'fAUC':>6s} {'facc':>6s} {'fAP':>6s}"
    )
    lines = [
        f"model {result['model']} (threshold {result['threshold']:g}), "
        + ("one frame per photo" if nouns == "photos" else f"{result['frames']} frames per video"),
        f"data {result['data']}: {result['split']['note']}",
        "",
        head,
        "-" * len(head),
    ]
    for level, lv in result["levels"].items():
        subsets = [("all", lv)] + [(m, b) for m, b in lv["by_method"].items()]
        for name, b in subsets:
            v, fr = b["video"], b["frame"]
            c = v["confusion"]
            lines.append(
                f"{level:8s} {name[:18]:18s} {v['n']:6d} {_f(v['auc']):>6s} {_f(v['accuracy']):>6s} {_f(v['ap']):>6s} "
                f"{_f(v['log_loss']):>7s} {c['tp']:4d} {c['fp']:4d} {c['tn']:4d} {c['fn']:4d} | "
                f"{fr['n']:6d} {_f(fr['auc']):>6s} {_f(fr['accuracy']):>6s} {_f(fr['ap']):>6s}"
            )
        ci = lv["video"].get("auc_ci95")
        if ci:
            lines.append(
                f"{'':8s} video AUC {_f(lv['video']['auc'])}, 95% bootstrap interval {ci[0]:.3f}-{ci[1]:.3f} "
                f"({lv['video']['n_fake']} fake, {lv['video']['n_real']} real {nouns})"
            )
        if lv["failed"] or lv["no_face"] or lv.get("too_small"):
            small = f", {lv['too_small']} with faces too small to judge" if lv.get("too_small") else ""
            lines.append(
                f"{'':8s} ({lv['failed']} could not be analysed, {lv['no_face']} without a face{small}: "
                "not in the metrics)"
            )
        if lv.get("small_video_threshold"):
            lines.append(
                f"{'':8s} ({lv['small_video_threshold']} videos or photos under the card's small-video or small-photo "
                "size, or photos with several faces, were judged at its threshold for such files: their verdicts and "
                "the false alarms below use it; TP FP TN FN count every score at the threshold above)"
            )
        if lv.get("second_opinion_uncertain") or lv.get("second_opinion_uncertain_fakes"):
            lines.append(
                f"{'':8s} (TP FP TN FN count scores at the threshold; the verdicts differ where a colour second "
                f"opinion made an item over it uncertain: {lv.get('second_opinion_uncertain', 0)} real, "
                f"{lv.get('second_opinion_uncertain_fakes', 0)} fake)"
            )
        if lv.get("false_alarms"):
            lines += [
                "",
                f"{'':8s} false alarms at the threshold {result['threshold']:g} (real items called fake"
                + (
                    f"; {lv['second_opinion_uncertain']} more over it made uncertain by a second opinion, not counted"
                    if lv.get("second_opinion_uncertain")
                    else ""
                )
                + "):",
                f"{'':8s} {'group':<22s} {'reals':>6s} {'false alarms':>12s} {'rate':>7s} {'median':>7s}",
            ]
            from detector.evaluation.calibration import table_sections

            for heading, rows_ in table_sections(lv["false_alarms"], lv.get("false_alarms_by_population")):
                if heading:
                    lines.append(f"{'':8s} {heading}:")
                for row in rows_:
                    rate = "-" if row["rate"] is None else f"{row['rate']:.1%}"
                    lines.append(
                        f"{'':8s} {row['name']:<22s} {row['reals']:6d} {row['false_alarms']:12d} {rate:>7s} "
                        f"{_f(row['median_score']):>7s}"
                    )
            lines.append(
                f"{'':8s} labels: "
                + ", ".join(f"{k} {v}" for k, v in lv["labels"].items())
                + "; real scores "
                + ", ".join(f"{k} {v:.3f}" for k, v in lv["real_score_quantiles"].items())
            )
    lines += [
        "",
        "video level: confident-frames rule, highest-scoring identity; per method: that method's fakes "
        f"against all real {nouns}; frame level: the main identity's face in each sampled frame",
        # the columns in words (a teacher's audit: "fAUC facc fAP logloss" meant nothing to a class)
        f"columns: AUC (how well fake {nouns} rank above real ones, 0.5 is chance), acc (share labelled right at the "
        "threshold), AP (average precision), logloss (how confident the wrong scores were); TP FP TN FN: fakes "
        "called fake, reals called fake, reals called real, fakes called real; fAUC facc fAP: the same over frames",
    ]
    return "\n".join(lines)


REPORT_FILES = ("roc.png", "score_histograms.png", "videos.csv")  # what write_report puts in its folder


def report_folder_problem(directory: str, data: list[str]) -> str | None:
    """Why ``--report directory`` cannot take the report, or None: a file, or a folder inside one of
    the ``data`` roots, where roc.png and videos.csv could overwrite an input or join the data as one."""
    if not directory.strip():
        return "--report: empty: give a folder for the report"
    if os.path.exists(directory) and not os.path.isdir(directory):
        return f"--report {directory}: is a file; give a folder"
    folder = Path(directory).resolve()
    for root in data:
        root_path = Path(root).resolve()
        if not root_path.exists():  # the reader says so, in its own words
            continue
        root_dir = root_path if root_path.is_dir() else root_path.parent
        if folder == root_dir or root_dir in folder.parents:
            return f"--report {directory}: is inside the data {root}; give a folder outside it"
    # written only after the whole evaluation: a folder that cannot be made or written lost it all (a review)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        return f"--report {directory}: cannot be written ({existing} is not a folder this can write in)"
    return None


def write_report(directory: str | os.PathLike, rows: list[dict], result: dict) -> list[Path]:
    """roc.png (video and frame ROC per level), score_histograms.png (by class, per level), videos.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from detector.evaluation.metrics import roc_points

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    levels = list(result["levels"])
    threshold = result["threshold"]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, kind in zip(axes, ("video", "frame")):
        for level in levels:
            lr = [r for r in rows if r["level"] == level and r["score"] is not None]
            if kind == "video":
                labels, scores = [r["label"] for r in lr], [r["score"] for r in lr]
            else:
                labels = [r["label"] for r in lr for _ in r["frame_scores"]]
                scores = [s for r in lr for s in r["frame_scores"]]
            pts = roc_points(labels, scores)
            if pts is not None:
                auc = result["levels"][level][kind]["auc"]
                ax.plot(*pts, label=f"{level} (AUC {auc:.3f}, n={len(labels)})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1.01),
            xlabel="false positive rate (real called fake)",
            ylabel="true positive rate (fake caught)",
            title=f"{kind}-level ROC",
        )
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=8)
        else:
            ax.text(0.5, 0.5, "needs real and fake videos with faces", ha="center", va="center")
    names = ", ".join(Path(d).name for d in result["data"].split())
    fig.suptitle(f"{result['model']} on {names} (split: {result['split']['used']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(len(levels), 1, figsize=(7, 2.6 * len(levels)), squeeze=False)
    bins = np.linspace(0, 1, 26)
    for ax, level in zip(axes[:, 0], levels):
        lr = [r for r in rows if r["level"] == level and r["score"] is not None]
        for label, name, colour in ((0, "real", "tab:blue"), (1, "fake", "tab:red")):
            s = [r["score"] for r in lr if r["label"] == label]
            ax.hist(s, bins=bins, alpha=0.6, color=colour, label=f"{name} (n={len(s)})")
        ax.axvline(threshold, color="black", lw=1, ls="--", label=f"threshold {threshold:g}")
        if any(r["kind"] == "image" for r in lr):
            ax.set_yscale("log")  # thousands of photos beside a few videos
        ax.set(xlim=(0, 1), ylabel="videos / photos", title=f"scores by class: {level}")
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("video score (fake probability)")
    fig.tight_layout()
    fig.savefig(out / "score_histograms.png", dpi=110)
    plt.close(fig)

    with open(out / "videos.csv", "w", newline="") as fh:
        writer = SafeDictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    **r,
                    "label": r["label_name"],
                    "score": "" if r["score"] is None else round(r["score"], SCORE_DECIMALS),
                    "score_mean": "" if r["score_mean"] is None else round(r["score_mean"], SCORE_DECIMALS),
                }
            )
    return [out / name for name in REPORT_FILES]


# ---------------------------------------------------------------- command


def main(argv=None) -> int:
    args = parse_args(argv)
    from detector.data.datasets import read_datasets
    from detector.errors import InputError, NoModelError
    from detector.evaluation.perturb import LEVELS
    from detector.models.classifier import load_model

    # before any item is scored: results that cannot be written are not worth the wait
    problem = check_outputs([("--json", args.json)], inputs=args.data)
    if not problem and args.report is not None:  # an empty name ('--report ""') wrote nothing and said nothing
        problem = report_folder_problem(args.report, args.data)
    if problem:
        return fail(problem)
    try:
        if args.label:
            from detector.data.datasets import FAKE, REAL, read_labelled_folder, unique_ids

            if args.split == "val":  # a plain folder has none of the card's groups: it is outside data
                args.split = "all"

            label = REAL if args.label == "real" else FAKE
            items = [it for root in args.data for it in read_labelled_folder(root, label)]
            unique = list({it.path: it for it in items}.values())  # a folder named twice, or one inside another
            if len(unique) < len(items):
                print(
                    f"{len(items) - len(unique)} file(s) below more than one DATA folder: each counted once",
                    file=sys.stderr,
                )
            items = unique_ids(unique)
        else:
            items = read_datasets(args.data)
    except InputError as e:
        return fail(str(e))
    except OSError as e:  # an unreadable folder below the data (a traceback before: a hostile-input review)
        return fail(f"{e.filename or args.data[0]}: cannot be read ({e.strerror or e})")
    try:
        clf = load_model(args.model)
    except NoModelError as e:
        return fail(str(e))
    try:
        items, used, note = select_split(items, clf.card, args.split)
    except InputError as e:
        return fail(str(e))
    if args.label and used == "all":  # a plain folder: leave out the model's own training files (a review: 5 of 8
        # photos copied from UTKFace's training part were counted, and nothing said so)
        items, note = _without_seen(items, clf.card, note)
        if not items:
            return fail(
                "every file given is one this model trained or validated on (the same bytes): nothing unseen to "
                "measure; give other files, or the held-out part with --split heldout"
            )
    if 0 < args.limit < len(items):  # evenly spread over the (label-sorted) list, so both classes stay in
        step = len(items) / args.limit
        items = [items[int(i * step)] for i in range(args.limit)]
        note += f"; --limit: {len(items)} of them, evenly spread"
    print(note, file=sys.stderr)

    levels = list(LEVELS) if args.perturb == "all" else [args.perturb]
    t0 = time.perf_counter()
    rows = evaluate_items(items, clf, levels, args.frames, progress=not args.quiet)
    threshold = float(clf.card.threshold)
    result = {
        "data": " ".join(str(Path(d).resolve()) for d in args.data),
        "model": clf.name,
        "model_card": str(clf.path) if clf.path else None,
        "threshold": threshold,
        "aggregation": "confident",
        "frames": args.frames,
        "split": {"asked": args.split, "used": used, "note": note, "videos": len(items)},
        "inputs": _nouns(items),  # "videos", "photos" or "videos and photos": how the table names them
        "levels": {},
        "level_descriptions": {lv: LEVELS[lv].describe() for lv in levels},
        "seconds": None,
        "failures": sorted({f"{r['id']}: {r['error']}" for r in rows if r["error"]}),
    }
    for level in levels:
        result["levels"][level] = level_metrics([r for r in rows if r["level"] == level], threshold)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["videos"] = [
        {
            k: r[k]
            for k in (
                "id",
                "level",
                "label_name",
                "method",
                "group",
                "score",
                "score_mean",
                "predicted",
                "threshold",
                "source",
                "subgroup",
                "age_band",
                "sex",
                "frames_with_face",
                "faces_too_small",
                "frames",
                "error",
                "path",
            )
        }
        for r in rows
    ]

    # the table goes to stderr when stdout holds the JSON (--json -): what a reader of stdout parses is JSON alone
    print(table(result), file=sys.stderr if args.json == STDOUT else sys.stdout)
    for failure in result["failures"]:
        print(f"error: {printable(failure)}", file=sys.stderr)  # as scan says an input it could not analyse
    problems = []  # each output is tried, whatever became of the other: the JSON first (the whole result)
    if args.json:
        text = json.dumps(result, indent=2)
        try:
            if args.json == STDOUT:
                print(text)
            else:
                Path(args.json).write_text(text + "\n")
        except OSError as e:  # checked before the run; gone since (a full disk, a folder removed)
            problems.append(write_failed("--json", args.json, e))
    if args.report:
        try:
            paths = write_report(args.report, rows, result)
            print(f"report: {', '.join(str(p) for p in paths)}", file=sys.stderr)
        except OSError as e:
            problems.append(write_failed("--report", args.report, e) + (f" at {e.filename}" if e.filename else ""))
    for problem in problems[:-1]:
        print(f"error: {printable(problem)}", file=sys.stderr)
    if problems:
        return fail(problems[-1])
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
