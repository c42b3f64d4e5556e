"""What does cutting tilted faces upright cost on videos?  Out of fold, cut upright and cut as they lie.

Each FF++ video (c23 and c40) and actor clip is analysed by the fold model that validated it (out of fold), with
tilted faces cut upright (:func:`detector.inference.quality.straighten_by`, the pipeline's way) and, where any face
was, again with every face cut as it lies (``STRAIGHTEN_MIN_DEG`` set past any tilt); the ``wild_real`` clips by the
default.  Printed: pooled video AUC on c23 and c40 (the pipeline's confident-frames rule on the main identities),
fakes and reals called fake at thresholds calibrated on the other folds' out-of-fold scores (as
``scripts/reencode_probe.py`` does), and the clips whose label changed.

    python scripts/straighten_probe.py --folds runs/cvtight --json runs/straighten/probe.json    # ~20 min

``--tilt DEG`` first turns every clip by DEG degrees about its centre (each frame, its edge pixels drawn outwards;
H.264 CRF 18 into a temporary folder): heads tilted as a camera held aslant shows them; ``--reals`` keeps the real
clips only, ``--fakes`` the fakes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reencode_probe import (  # noqa: E402
    clip_arguments,
    fold_videos,
    main_frame_scores,
    probe_clips,
    reencode,
    rule_score,
    thresholds_by_fold,
)

KINDS = ("as_lying", "upright")


def tilt_clip(src: str, dst: str, degrees: float) -> str:
    """``src`` with every frame turned by ``degrees`` (counter-clockwise as shown) about its centre, edges drawn
    outwards, as H.264 CRF 18 at its own size and frame rate (:func:`reencode_probe.reencode`)."""
    import cv2

    def turn(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)

    return reencode(src, dst, 18, transform=turn)


def summarise(rows: list[dict], thresholds: dict) -> None:
    from sklearn.metrics import roc_auc_score

    def at(r: dict) -> float:
        by_fold = thresholds["confident"]
        return by_fold[r["fold"]] if r["fold"] in by_fold else by_fold[json.dumps(r["fold"])]

    print(f"{len(rows)} clips; {sum(r['straightened'] > 0 for r in rows)} with a face cut upright")
    for kind in KINDS:
        aucs = []
        for src in ("ffpp", "ffpp_c40"):
            sub = [r for r in rows if r["source"] == src]
            y = [r["label"] for r in sub]
            s = [np.nan_to_num(rule_score("confident", r[kind])) for r in sub]
            aucs.append(f"{src} AUC {roc_auc_score(y, s):.3f}" if len(set(y)) == 2 else f"{src} -")
        fakes = [r for r in rows if r["label"] == 1]
        reals = [r for r in rows if r["label"] == 0]
        caught = sum(rule_score("confident", r[kind]) >= at(r) for r in fakes)
        fa = [f"{r['source']}/{r['video']}" for r in reals if rule_score("confident", r[kind]) >= at(r)]
        print(f"  {kind:9s} {', '.join(aucs)}; fakes called fake {caught} of {len(fakes)}; reals {len(fa)} {fa}")
    flips = [
        r
        for r in rows
        if (rule_score("confident", r[KINDS[0]]) >= at(r)) != (rule_score("confident", r[KINDS[1]]) >= at(r))
    ]
    for r in flips:
        print(
            f"  changed: {r['source']}/{r['method']}/{r['video']} (label {r['label']}): "
            f"{rule_score('confident', r[KINDS[0]]):.3f} -> {rule_score('confident', r[KINDS[1]]):.3f}"
        )


def main(argv=None) -> int:
    p = clip_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    p.add_argument("--tilt", type=float, default=0.0, help="turn every clip by this many degrees first")
    kept = p.add_mutually_exclusive_group()
    kept.add_argument("--reals", action="store_true", help="the real clips only")
    kept.add_argument("--fakes", action="store_true", help="the fake clips only")
    args = p.parse_args(argv)
    if args.read:
        done = json.load(open(args.read))
        summarise(done["rows"], done["thresholds"])
        return 0

    from detector.inference import quality
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card

    vids = fold_videos(args.folds)
    thresholds = thresholds_by_fold(vids, ["confident"])
    clips = probe_clips(vids, args.data, args.wild)
    if args.reals or args.fakes:
        clips = [c for c in clips if c[2] == int(args.fakes)]
    if args.limit:
        clips = clips[: args.limit]
    tmp = tempfile.TemporaryDirectory()
    models: dict = {None: load_model(args.model)}
    rows, cut = [], quality.STRAIGHTEN_MIN_DEG
    for source, method, label, path, fold in clips:
        if fold not in models:
            models[fold] = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))
        row = {"source": source, "video": os.path.basename(path), "method": method, "label": label, "fold": fold}
        if args.tilt:
            path = tilt_clip(path, os.path.join(tmp.name, "tilted.mp4"), args.tilt)
        r = analyze(path, model=models[fold], frames=args.frames, cam=None, second_opinion=False)
        row["upright"] = main_frame_scores(r)
        row["straightened"] = sum(bool(f.straightened) for fr in r.frames for f in fr.faces)
        row["as_lying"] = row["upright"]
        if row["straightened"]:
            quality.STRAIGHTEN_MIN_DEG = float("inf")
            try:
                r = analyze(path, model=models[fold], frames=args.frames, cam=None, second_opinion=False)
            finally:
                quality.STRAIGHTEN_MIN_DEG = cut
            row["as_lying"] = main_frame_scores(r)
        rows.append(row)
        print(
            f"{source}/{method}/{row['video']} (fold {fold}, label {label}, {row['straightened']} cut upright): "
            f"{rule_score('confident', row['as_lying']):.3f} -> {rule_score('confident', row['upright']):.3f}",
            file=sys.stderr,
            flush=True,
        )
    tmp.cleanup()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"frames": args.frames, "thresholds": thresholds, "rows": rows}, fh, indent=1)
    summarise(rows, thresholds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
