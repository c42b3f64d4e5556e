"""Clips as a messaging app forwards them: do real people stay real, and are fakes still caught?

A journalist rarely gets a clip as it was filmed: a messaging app has shrunk it and encoded it again at a low
bit rate, often more than once.  Each clip's first ``--seconds`` is re-encoded (H.264, PyAV) into a temporary
folder (deleted afterwards; only ``--json`` is written) under each condition of :data:`CONDITIONS`:

* ``control``: the same size and frame rate at CRF 18 (nearly lossless), the baseline the others are compared with
  (the same seconds of the clip, the same encoder);
* ``messaging``: the short side at most 480 px, CRF 30 (about what a messaging app sends);
* ``forwarded``: the short side at most 360 px, CRF 36, every other frame (sent on again, or a weak connection);

and, asked for by ``--conditions``, the sizes around it (:data:`MORE_CONDITIONS`: ``between``, 432 px at CRF 33;
``tiny``, 240 px at CRF 36, every other frame), where a card's threshold for small videos (set on ``forwarded``)
is judged on sizes it was not set on.  Each version is analysed by ``analyze`` with the fold model that never
trained on the clip (``runs/cvtight/foldK``: see ``scripts/fold_models.py``), the labels read at ``--model``'s
threshold and band (by score; no second opinion), and, under its size, at its threshold for small videos.
Clips of ``--real`` folders (``wild_real``) are scored by ``--model`` itself, which never trained on them.

    python scripts/forward_probe.py --data ../shared/data/ffpp ../shared/data/ffpp_c40 \\
        --real ../shared/data/wild_real --folds runs/cvtight --crossval runs/cvtight/crossval.json \\
        --json runs/forward/probe.json

Two probes of the same clips (another recipe's fold models, ``--folds``, ``--crossval`` and ``--model`` its own),
each table again and the paired difference of their video AUCs per source and condition::

    python scripts/forward_probe.py --against runs/forward/probe.json runs/cvlow/probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from fractions import Fraction

import numpy as np

# name -> (largest short side in px or None, CRF, keep every k-th frame)
CONDITIONS = {"control": (None, 18, 1), "messaging": (480, 30, 1), "forwarded": (360, 36, 2)}
MORE_CONDITIONS = {"between": (432, 33, 1), "tiny": (240, 36, 2)}  # --conditions: sizes the others leave out


def reencode(src: str, dst: str, seconds: float, short_side: int | None, crf: int, every: int) -> None:
    """``src``'s first ``seconds`` as H.264 at ``crf``, its short side at most ``short_side`` (even sizes), every
    ``every``-th frame kept (the frame rate divided so)."""
    import av
    import cv2

    with av.open(src) as inp, av.open(dst, "w") as out:
        stream = inp.streams.video[0]
        fps = Fraction(stream.average_rate or 25).limit_denominator(1000)
        w, h = stream.codec_context.width, stream.codec_context.height
        k = min(1.0, short_side / min(w, h)) if short_side else 1.0
        size = (max(2, int(round(w * k / 2)) * 2), max(2, int(round(h * k / 2)) * 2))
        enc = out.add_stream("libx264", rate=fps / every)
        enc.width, enc.height, enc.pix_fmt = size[0], size[1], "yuv420p"
        enc.options = {"crf": str(crf), "preset": "veryfast"}
        for n, frame in enumerate(inp.decode(stream)):
            if n >= seconds * float(fps):
                break
            if n % every:
                continue
            a = frame.to_ndarray(format="rgb24")
            if a.shape[1::-1] != size:
                a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
            out.mux(enc.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format="rgb24")))
        out.mux(enc.encode())


GROUPS = (
    ("real: FF++ c23", 0, "ffpp"),
    ("real: FF++ c40", 0, "ffpp_c40"),
    ("real: actor clips", 0, "ffpp_c40:actors"),
    ("real: from elsewhere (wild_real)", 0, "wild_real"),
    ("fake: FF++ c23", 1, "ffpp"),
    ("fake: FF++ c40", 1, "ffpp_c40"),
)


VERDICTS = ("fake", "uncertain", "real")


def _counted(count) -> str:
    """ "fake / uncertain / real" counts as a table shows them (``count``: a verdict -> its count)."""
    return " / ".join(str(count(k)) for k in VERDICTS)


def summary(doc: dict) -> None:
    """Print a probe's table (fake / uncertain / real per group and condition, at its model's threshold and band) and
    its video AUC per FaceForensics++ source and condition."""
    from detector.evaluation.metrics import metrics_block
    from detector.inference.report import verdict
    from detector.models.card import small_video_tiers

    rows, conds = doc["clips"], list(doc.get("conditions") or CONDITIONS)

    def labels(sel, cond):
        got = [verdict(r[cond], doc["threshold"], doc["uncertain"]) for r in sel if r[cond] is not None]
        return _counted(got.count)

    print(f"\n{len(rows)} clips, the first {doc['seconds']:g} s, {doc['frames']} frames each; labels at "
          f"{doc['model']}'s threshold {doc['threshold']:.4f} (fake / uncertain / real), out of fold")  # fmt: skip
    print("| clips | n | " + " | ".join(conds) + " |")
    print("|---|---:|" + "---|" * len(conds))
    for title, label, source in GROUPS:
        sel = [r for r in rows if r["label"] == label and r["source"] == source]
        if sel:
            print(f"| {title} | {len(sel)} | " + " | ".join(labels(sel, c) for c in conds) + " |")
    tiers = small_video_tiers(doc.get("small_video"))
    sizes = doc.get("conditions") or CONDITIONS
    tier_of = {c: next((t for t in tiers if (sizes[c][0] or 10**9) < t["below"]), None) for c in conds}
    under = [c for c in conds if tier_of[c]]
    if under:  # the sizes a card's thresholds for small videos judge, each at the one for its size
        named = [
            f"{c} {tier_of[c]['threshold']:.4f}" + (f" (set at {t} px)" if (t := tier_of[c].get("measured_at")) else "")
            for c in under
        ]
        print("\nthe same, each size at the card's tier for it (when the probe ran; set on all the clips, so not "
              "cross-fitted): " + ", ".join(named))  # fmt: skip
        print("| clips | n | " + " | ".join(under) + " |")
        print("|---|---:|" + "---|" * len(under))
        for title, label, source in GROUPS:
            sel = [r for r in rows if r["label"] == label and r["source"] == source]
            if sel:
                got = [[verdict(r[c], tier_of[c]["threshold"], tier_of[c].get("uncertain")) for r in sel
                        if r.get(c) is not None] for c in under]  # fmt: skip
                print(f"| {title} | {len(sel)} | " + " | ".join(_counted(g.count) for g in got) + " |")
    for source in ("ffpp", "ffpp_c40"):
        sel = [r for r in rows if r["source"] == source]
        if len({r["label"] for r in sel}) == 2:
            aucs = []
            for c in conds:
                kept = [r for r in sel if r[c] is not None]
                m = metrics_block([r["label"] for r in kept], [r[c] for r in kept], doc["threshold"], ci=True)
                ci = m.get("auc_ci95")
                shown = "n/a" if m["auc"] is None else f"{m['auc']:.3f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else "")
                aucs.append(f"{c} {shown}")
            print(f"video AUC, {source}: " + ", ".join(aucs))


def against(path_a: str, path_b: str) -> None:
    """Two probes of the same clips (two recipes' fold models), each printed, then per source and condition the
    difference of their video AUCs (B - A) with a paired bootstrap interval, over the clips both scored."""
    from detector.evaluation.metrics import metrics_block, paired_auc_difference

    docs = []
    for path in (path_a, path_b):
        with open(path) as fh:
            docs.append(json.load(fh))
    for doc in docs:
        summary(doc)
    a, b = ({r["clip"]: r for r in doc["clips"]} for doc in docs)
    print(f"\npaired, {docs[1]['model']} minus {docs[0]['model']} (video AUC; 95% bootstrap interval)")
    if any(b[k]["label"] != r["label"] for k, r in a.items() if k in b):
        raise SystemExit("the two probes label a clip differently: not probes of the same clips")
    conds = [c for c in (docs[0].get("conditions") or CONDITIONS) if c in (docs[1].get("conditions") or CONDITIONS)]
    for source in ("ffpp", "ffpp_c40"):
        for c in conds:
            keys = [k for k in a if k in b and a[k]["source"] == source and None not in (a[k].get(c), b[k].get(c))]
            y = [a[k]["label"] for k in keys]
            if len(set(y)) < 2:
                continue
            sa, sb = [a[k][c] for k in keys], [b[k][c] for k in keys]
            lo, hi = paired_auc_difference(y, sb, sa)
            d = metrics_block(y, sb)["auc"] - metrics_block(y, sa)["auc"]
            print(f"{source} {c}: {d:+.3f} ({lo:+.3f} to {hi:+.3f}), {len(keys)} clips")


SMALL_CONDITION = "forwarded"  # the condition a card's threshold for small videos is calibrated on


def small_video(
    path: str, card_path: str | None, write: bool = False, cond: str = SMALL_CONDITION, below: int | None = None
) -> dict:
    """A model card's threshold for videos under ``below`` px (a tier of ``small_video``) from a probe's real clips in
    condition ``cond`` (:func:`detector.evaluation.calibration.small_video_threshold`, never below the card's own
    threshold nor a larger size's tier), and what it does there, cross-fitted: each clip judged at the threshold the
    clips of the other folds give (no clip calibrates its own verdict), against the threshold that judges that size
    without this tier.  The floor, a larger size's tier, was set on other versions of the same clips (its size's),
    each clip's own among them: the table says in how many folds it, not the clips of the other folds, set the
    threshold.  Printed; with ``write``, the tier is written into the card (a JSON edit: its weights are not touched;
    a tier of the same size is replaced; the card is checked before it replaces the old one)."""
    from detector.constants import SMALLEST_TRAINING_CLIP_SIDE
    from detector.evaluation.calibration import DEFAULT_TARGET_FA, small_video_threshold
    from detector.inference.report import verdict
    from detector.models.card import ModelCard

    below = int(below or SMALLEST_TRAINING_CLIP_SIDE)
    side, crf, every = {**CONDITIONS, **MORE_CONDITIONS}[cond]
    if not side or side >= below:
        raise SystemExit(f"the {cond} condition's clips are not under {below} px: they cannot set its threshold")
    with open(path) as fh:
        doc = json.load(fh)
    card_file = card_path or os.path.join("assets", "models", f"{doc['model']}.json")
    card = ModelCard.from_file(card_file)
    if card.name != doc["model"]:
        raise SystemExit(f"the probe labelled its clips at {doc['model']}'s threshold, not {card.name}'s")
    others_tiers = [t for t in card.small_video_tiers if t["below"] != below]
    smaller = [t for t in others_tiers if t["below"] < below]
    judging = next((t["below"] for t in smaller if side < t["below"]), None)
    if judging:  # that tier judges these clips: this one would judge none of them
        raise SystemExit(f"the card's tier for videos under {judging} px judges the {cond} clips ({side} px)")
    floor = max([card.threshold] + [t["threshold"] for t in others_tiers if t["below"] > below])
    today = next((t for t in others_tiers if side < t["below"]), None)  # what judges this size without the tier
    today_t, today_band = (today["threshold"], today.get("uncertain")) if today else (card.threshold, card.uncertain)
    band = card.uncertain
    clips = [r for r in doc["clips"] if r.get(cond) is not None]
    reals = [r for r in clips if r["label"] == 0]
    if len(reals) < 20:
        raise SystemExit(f"{len(reals)} real clips scored in the {cond} condition: too few to set a threshold on")

    def judged_apart(r):  # the threshold and band from the real clips of the other folds (a wild clip: all others)
        others = [o[cond] for o in reals if o is not r and (r["fold"] is None or o["fold"] != r["fold"])]
        return small_video_threshold(others, floor, band)

    counts = {}
    for title, label, source in GROUPS:
        sel = [r for r in clips if r["label"] == label and r["source"] == source]
        if sel:
            before = [verdict(r[cond], today_t, today_band) for r in sel]
            after = [verdict(r[cond], *judged_apart(r)) for r in sel]
            counts[title] = {
                "n": len(sel),
                **{f"{k}_before": before.count(k) for k in VERDICTS},
                **{f"{k}_after": after.count(k) for k in VERDICTS},
            }
    folds = sorted({r["fold"] for r in reals if r["fold"] is not None})
    floored = sum(  # folds where the floor, not the other folds' clips, set the threshold
        small_video_threshold([o[cond] for o in reals if o["fold"] != k], floor, band)[0] <= floor for k in folds
    )
    t, low_high = small_video_threshold([r[cond] for r in reals], floor, band)
    if any(t > s["threshold"] for s in smaller):
        raise SystemExit(f"{t:.4f} for videos under {below} px is above a smaller size's tier: set that one again")
    kept = "every frame" if every == 1 else "every other frame" if every == 2 else f"1 frame in {every}"
    entry = {
        "below": below,
        "threshold": round(t, 6),
        "uncertain": [round(x, 6) for x in low_high],
        "target_false_alarms": DEFAULT_TARGET_FA,
        "measured_at": side,
        "rule": (
            f"lowest score with at most {DEFAULT_TARGET_FA:.0%} false alarms among {len(reals)} real clips re-encoded "
            f"as a messaging app forwards them ({side} px on the short side, H.264 CRF {crf}, {kept}; "
            "scripts/forward_probe.py), scored by models that never trained on them, and never below the card's own "
            "threshold or a larger size's; uncertain from the lower of the two bands' edges"
        ),
        "measured": {  # cross-fitted: each clip judged at the threshold the other clips (other folds) give
            "condition": cond,
            "floor": round(floor, 6),  # the card's or a larger size's tier (set on other versions of these clips)
            "folds_at_floor": f"{floored} of {len(folds)}",
            "probe": path if not os.path.isabs(path) else os.path.basename(path),
            "groups": counts,
        },
    }
    print(f"\n{card.name}: threshold for videos under {below} px: {entry['threshold']:.4f} (without it "
          f"{today_t:.4f}), uncertain from {entry['uncertain'][0]:.4f}")  # fmt: skip
    print(f"cross-fitted, {cond} ({side} px, CRF {crf}): fake / uncertain / real at {today_t:.4f} (the same scores "
          f"read at what judges this size today) -> at the threshold for videos under {below} px; the floor "
          f"{floor:.4f} set it in {floored} of {len(folds)} folds")  # fmt: skip
    print(f"| clips | n | at {today_t:.4f} | this tier's |\n|---|---:|---|---|")
    for title, c in counts.items():
        before, after = (_counted(lambda k, c=c, when=when: c[f"{k}_{when}"]) for when in ("before", "after"))
        print(f"| {title} | {c['n']} | {before} | {after} |")
    if write:
        with open(card_file) as fh:
            raw = json.load(fh)
        old = raw.get("small_video") or []
        tiers = sorted([t for t in ([old] if isinstance(old, dict) else old) if t.get("below") != below] + [entry],
                       key=lambda t: t["below"])  # fmt: skip
        from detector.models.card import write_card_fields

        write_card_fields(card_file, {"small_video": tiers[0] if len(tiers) == 1 else tiers})  # or the old one stays
        print(f"written: {card_file}")
    return entry


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", nargs=2, metavar=("A", "B"), help="compare two probes' --json files and stop")
    p.add_argument("--data", nargs="+", help="data roots (FF++ c23, c40 with its actors)")
    p.add_argument("--real", nargs="*", default=[], help="folders of real clips no fold model saw (wild_real)")
    p.add_argument("--folds", default="runs/cvtight", help="the default's fold models (foldK/model/*.json)")
    p.add_argument("--crossval", default="runs/cvtight/crossval.json", help="which fold validated each clip")
    p.add_argument("--model", default=None, help="the card whose threshold labels the scores (default: the default)")
    p.add_argument("--frames", type=int, default=16, help="frames sampled per clip (default 16)")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of each clip re-encoded (default 8)")
    p.add_argument("--json", default=None, help="write every clip's scores here")
    p.add_argument(
        "--conditions",
        nargs="+",
        choices=[*CONDITIONS, *MORE_CONDITIONS],
        default=list(CONDITIONS),
        help="which re-encodings to run (default: control messaging forwarded)",
    )
    p.add_argument(
        "--small-video",
        metavar="PROBE",
        help="a probe's --json: the card's threshold for small videos from its forwarded real clips, and stop",
    )
    p.add_argument("--card", default=None, help="with --small-video: the card (default: the probe's model's)")
    p.add_argument(
        "--condition",
        default=SMALL_CONDITION,
        choices=[*CONDITIONS, *MORE_CONDITIONS],
        help="with --small-video: the re-encoding whose real clips set it (default: forwarded)",
    )
    p.add_argument("--below", type=int, default=None, help="with --small-video: the size it is for (default 480)")
    p.add_argument("--write", action="store_true", help="with --small-video: write the entry into the card")
    args = p.parse_args(argv)
    if args.against:
        against(*args.against)
        return 0
    if args.small_video:
        small_video(args.small_video, args.card, args.write, args.condition, args.below)
        return 0
    if not args.data:
        p.error("--data is required (or --against A B)")
    from detector.data.datasets import REAL, read_datasets, read_labelled_folder
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    default = load_model(args.model)
    card = default.card
    folds = {(v["source"], v["method"], v["video"]): v["fold"] for v in json.load(open(args.crossval))["videos"]}
    models = {}
    for k in sorted(set(folds.values())):
        folder = os.path.join(args.folds, f"fold{k}", "model")
        models[k] = load_model(os.path.join(folder, next(f for f in os.listdir(folder) if f.endswith(".json"))))
    real_sources = {os.path.basename(os.path.normpath(root)) for root in args.real}
    conditions = {c: {**CONDITIONS, **MORE_CONDITIONS}[c] for c in args.conditions}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items = read_datasets(args.data) + [it for root in args.real for it in read_labelled_folder(root, REAL)]
        for it in items:
            if it.kind != "video":
                continue
            name = os.path.basename(it.path) if it.label == 0 else f"{it.method}/{os.path.basename(it.path)}"
            fold = folds.get((it.source, it.method or "original", name))
            if fold is None and it.source not in real_sources:  # trained on by every fold model: no honest score
                continue
            model = default if fold is None else models[fold]
            row = {"clip": it.id, "source": it.source, "label": it.label, "method": it.method or "", "fold": fold}
            for cond, (side, crf, every) in conditions.items():
                out = os.path.join(tmp, f"{cond}.mp4")
                reencode(it.path, out, args.seconds, side, crf, every)
                report = analyze(out, frames=args.frames, model=model, second_opinion=False)
                row[cond] = None if report.score != report.score else round(float(report.score), 6)
            rows.append(row)
            print(it.id, *(row[c] for c in conditions), flush=True)
    doc = {"model": card.name, "threshold": card.threshold, "uncertain": card.uncertain, "frames": args.frames,
           "seconds": args.seconds, "conditions": conditions, "small_video": card.small_video_tiers or None,
           "clips": rows}  # fmt: skip
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    summary(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
