"""Does a clip's verdict survive one re-encode? Every clip a journalist meets has been re-encoded at least once.

Each FF++ video (c23 and c40) and actor clip is analysed by the fold model that validated it (out of fold), as it
is and re-encoded whole once (H.264 at ``--crf``, its own size and frame rate, in a temporary folder: nothing is
written into the repository); the ``wild_real`` clips by the default (no member trained on them). For each clip the
main identities' frame scores are kept, so every video-score rule can be compared on the same faces:

  confident  the DFDC winner's rule (the pipeline's default): the mean of the frames over 0.8 once over 40% of them
             are, the mean of those under 0.2 once over 90% are, else the plain mean; it jumps where a share crosses
  mean       the plain mean of the frames

Each rule's labels use thresholds calibrated for it on the other folds' out-of-fold scores (the training runs'
``val_videos.json``, every stratum, as the card's threshold is set), so a fold's clips are judged by a threshold
that never saw them. Printed per rule: pooled AUC (as is, re-encoded) on c23 and c40, reals called fake, and how
many clips change label (fake / not fake) between the two encodings.

    python scripts/reencode_probe.py --folds runs/cvtight --json runs/reencode/probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from fractions import Fraction

import numpy as np


def reencode(src: str, dst: str, crf: int, transform=None, seconds: float | None = None) -> str:
    """``src`` re-encoded whole as H.264 at ``crf`` (yuv420p, its own size and frame rate; no audio); each frame
    (RGB, cut to even sides) through ``transform`` first where one is given; only its first ``seconds`` where
    given."""
    import av

    with av.open(src) as inp, av.open(dst, "w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = vin.codec_context.width // 2 * 2, vin.codec_context.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        for i, frame in enumerate(inp.decode(vin)):
            if seconds is not None and i >= seconds * rate:
                break
            img = frame.to_ndarray(format="rgb24")[: stream.height, : stream.width]
            if transform is not None:
                img = transform(img)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def main_frame_scores(report) -> list[list[float]]:
    """The frame scores of each main identity (seen in a quarter of the frames with a face); all faces together
    where tracking kept none, as the pipeline pools them."""
    from detector.inference.report import MAIN_SHARE, main_identities

    ids = main_identities(report.identities, report.frames, MAIN_SHARE)
    by_id: dict[int, list[float]] = {}
    for fr in report.frames:
        for f in fr.faces:
            by_id.setdefault(f.identity, []).append(round(float(f.score), 5))
    if ids:
        return [by_id[i] for i in sorted(ids)]
    return [[s for v in by_id.values() for s in v]] if by_id else []


def rule_score(rule: str, tracks: list[list[float]]) -> float:
    from detector.inference.report import RULES

    return max(RULES[rule](t) for t in tracks) if tracks else float("nan")


def fold_videos(folds_dir: str) -> list[dict]:
    """Every fold run's out-of-fold validation scores (its ``val_videos.json``, read by
    :func:`detector.evaluation.crossval.read_fold`), each with its ``fold``."""
    from detector.evaluation.crossval import read_fold

    runs = [
        os.path.join(folds_dir, name)
        for name in sorted(os.listdir(folds_dir))
        if name.startswith("fold") and os.path.isfile(os.path.join(folds_dir, name, "val_videos.json"))
    ]
    return [dict(v, fold=run["fold"]) for run in map(read_fold, runs) for v in run["videos"]]


def probe_clips(vids: list[dict], data: list[str], wild: str) -> list[tuple]:
    """(source, method, label, path, fold) of every video of ``data`` that a fold validated (``vids``:
    :func:`fold_videos`), then the clips of the ``wild`` folder (no fold: judged by a model none trained on them)."""
    from detector.constants import VIDEO_EXTENSIONS
    from detector.data.datasets import read_datasets

    fold_of = {os.path.realpath(v["video"]): v["fold"] for v in vids if v["kind"] == "video"}
    clips = [
        (it.source, it.method or "original", it.label, it.path, fold_of[os.path.realpath(it.path)])
        for it in read_datasets(data)
        if it.kind == "video" and os.path.realpath(it.path) in fold_of
    ]
    if wild:
        for name in sorted(os.listdir(wild)):
            if name.lower().endswith(VIDEO_EXTENSIONS):
                clips.append(("wild_real", "original", 0, os.path.join(wild, name), None))
    return clips


def thresholds_by_fold(vids: list[dict], rules: list[str]) -> dict:
    """{rule: {fold: threshold}} calibrated on the other folds' out-of-fold scores (``vids``: :func:`fold_videos`),
    and under None on all of them."""
    from detector.evaluation.calibration import calibrate_threshold

    folds = sorted({v["fold"] for v in vids})
    return {
        rule: {f: calibrate_threshold([v for v in vids if v["fold"] != f], score_key=rule)["threshold"] for f in folds}
        | {None: calibrate_threshold(vids, score_key=rule)["threshold"]}
        for rule in rules
    }


def summarise(rows: list[dict], thresholds: dict, crf: int, frames: int) -> None:
    """Per rule: AUCs, fakes and reals called fake as is and re-encoded, clips changing label, score moves; then
    :func:`fragile_table`. ``thresholds``: {rule: {fold: threshold}} (fold keys as ints, or as JSON's strings)."""
    from sklearn.metrics import roc_auc_score

    def at(rule: str, r: dict) -> float:
        by_fold = thresholds[rule]
        return by_fold[r["fold"]] if r["fold"] in by_fold else by_fold[json.dumps(r["fold"])]

    print(f"{len(rows)} clips, each as it is and re-encoded once (H.264 CRF {crf}), {frames} frames")
    for rule in thresholds:
        print(f"\n{rule}: thresholds by fold {thresholds[rule]}")
        for kind in ("as_is", "reencoded"):
            aucs = []
            for src in ("ffpp", "ffpp_c40"):
                sub = [r for r in rows if r["source"] in (src, f"{src}:actors") and r["source"] != "ffpp_c40:actors"]
                y = [r["label"] for r in sub]
                s = [np.nan_to_num(rule_score(rule, r[kind])) for r in sub]
                aucs.append(f"{src} AUC {roc_auc_score(y, s):.3f}" if len(set(y)) == 2 else f"{src} -")
            reals = [r for r in rows if r["label"] == 0]
            fa = [r for r in reals if rule_score(rule, r[kind]) >= at(rule, r)]
            fakes = [r for r in rows if r["label"] == 1]
            caught = sum(rule_score(rule, r[kind]) >= at(rule, r) for r in fakes)
            print(
                f"  {kind:9s} {', '.join(aucs)}; fakes called fake {caught} of {len(fakes)}; reals called fake "
                f"{len(fa)} of {len(reals)} {[r['source'] + '/' + r['video'] for r in fa]}"
            )
        flips = [
            r
            for r in rows
            if (rule_score(rule, r["as_is"]) >= at(rule, r)) != (rule_score(rule, r["reencoded"]) >= at(rule, r))
        ]
        moves = [abs(rule_score(rule, r["as_is"]) - rule_score(rule, r["reencoded"])) for r in rows]
        print(
            f"  clips changing label (fake / not fake): {len(flips)} of {len(rows)} "
            f"(reals {sum(r['label'] == 0 for r in flips)}, fakes {sum(r['label'] == 1 for r in flips)}); "
            f"score moves: median {np.nanmedian(moves):.3f}, 90th percentile {np.nanpercentile(moves, 90):.3f}, "
            f"max {np.nanmax(moves):.3f}"
        )
    fragile_table(rows)


FRAGILE_STARTS = ("The video score", "Frame scores are split")  # the two warnings (trust_warnings) checked here


def fragile_table(rows: list[dict]) -> None:
    """At each report's own threshold (its card's): clips whose label (fake / not fake) changed with the encode,
    among those whose report as it was warned of a score near the threshold or split frames, and the others."""
    if not rows or "as_is_report" not in rows[0]:
        return
    print("\nat the card's threshold, by the report's own warning (score close to the threshold, or frames split):")
    for warned in (True, False):
        sub = [r for r in rows if r["as_is_report"]["warned"] == warned]
        changed = [
            r
            for r in sub
            if r["as_is_report"]["score"] is not None
            and r["reencoded_report"]["score"] is not None
            and (r["as_is_report"]["score"] >= r["as_is_report"]["threshold"])
            != (r["reencoded_report"]["score"] >= r["reencoded_report"]["threshold"])
        ]
        print(
            f"  {'warned' if warned else 'not warned'}: {len(changed)} of {len(sub)} changed label "
            f"(reals {sum(r['label'] == 0 for r in changed)} of {sum(r['label'] == 0 for r in sub)})"
        )
    for kind in ("as_is", "reencoded"):  # the clips each report called fake, by class and by its warning
        called = [r for r in rows if (r[f"{kind}_report"]["score"] or 0) >= r[f"{kind}_report"]["threshold"]]
        cells = ", ".join(
            f"{name} {sum(r['label'] == label and r[f'{kind}_report']['warned'] for r in called)} warned of "
            f"{sum(r['label'] == label for r in called)}"
            for label, name in ((0, "reals"), (1, "fakes"))
        )
        print(f"  called fake {kind}: {cells}")


def clip_arguments(p: argparse.ArgumentParser, classes: str = "") -> argparse.ArgumentParser:
    """The arguments the out-of-fold clip probes share: --data, --wild, --folds, --model, --frames, --limit, --json,
    --read; with ``classes`` (what the fakes are for, in words), --classes too."""
    p.add_argument("--data", nargs="+", default=["../shared/data/ffpp", "../shared/data/ffpp_c40"])
    p.add_argument("--wild", default="../shared/data/wild_real", help="real clips no model trained on ('' to skip)")
    p.add_argument("--folds", default="runs/cvtight", help="the default's fold runs (foldK with val_videos.json)")
    p.add_argument(
        "--model", default=None, help="the card that judges what no fold validated, the wild clips (default: default)"
    )
    p.add_argument("--frames", type=int, default=32, help="frames sampled from each video")
    p.add_argument("--limit", type=int, default=0, help="at most this many clips (0: all)")
    p.add_argument("--json", default=None, help="also write each clip's scores here")
    p.add_argument("--read", default=None, help="print the tables of an earlier --json and stop")
    if classes:
        p.add_argument(
            "--classes",
            nargs="+",
            default=["real"],
            choices=["real", "fake"],
            help=f"which clips: the real ones (default), the fakes ({classes}), or both",
        )
    return p


def main(argv=None) -> int:
    p = clip_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    p.add_argument("--crf", type=int, default=23, help="the re-encode's H.264 quality (23: x264's default)")
    args = p.parse_args(argv)
    if args.read:
        done = json.load(open(args.read))
        summarise(done["rows"], done["thresholds"], done["crf"], done["frames"])
        return 0

    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card

    rules = ["confident", "mean"]
    vids = fold_videos(args.folds)  # read once: the thresholds and which fold validated each clip
    thresholds = thresholds_by_fold(vids, rules)
    clips = probe_clips(vids, args.data, args.wild)
    if args.limit:
        clips = clips[: args.limit]
    models: dict = {None: load_model(args.model)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, method, label, path, fold in clips:
            if fold not in models:
                models[fold] = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))
            row = {"source": source, "video": os.path.basename(path), "method": method, "label": label, "fold": fold}
            for kind, clip in (("as_is", path), ("reencoded", None)):
                if clip is None:
                    clip = reencode(path, os.path.join(tmp, "re.mp4"), args.crf)
                r = analyze(clip, model=models[fold], frames=args.frames, cam=None, second_opinion=False)
                row[kind] = main_frame_scores(r)
                # what the report itself said: its score and threshold (the card's), and whether it warned that the
                # verdict is near the threshold or the frames split round it (the warnings calling a verdict fragile)
                row[f"{kind}_report"] = {
                    "score": None if r.score != r.score else round(float(r.score), 5),
                    "threshold": float(r.threshold),
                    "warned": any(w.startswith(FRAGILE_STARTS) for w in r.warnings),
                }
            rows.append(row)
            cells = " ".join(
                f"{rule} {rule_score(rule, row['as_is']):.3f}->{rule_score(rule, row['reencoded']):.3f}"
                for rule in rules
            )
            print(
                f"{source}/{method}/{row['video']} (fold {fold}, label {label}): {cells}", file=sys.stderr, flush=True
            )

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"crf": args.crf, "frames": args.frames, "thresholds": thresholds, "rows": rows}, fh, indent=1)
    summarise(rows, thresholds, args.crf, args.frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
