"""Real clips reframed as broadcasts and feeds show them: are real people still called real?

A journalist rarely meets a clip as it was filmed. A phone's vertical video is shown in a landscape frame with black
bars or with a blurred copy of itself at the sides (pillarbox); a film-like clip has bars above and below (letterbox);
a newsroom shows a clip small, in a corner of the screen (picture in picture). The thresholds were set on full
frames, and a bar's edge or the ground round an inset may fall inside a face's square. This takes real clips that the
judging model never trained on (the FF++ c23 and c40 reals and the actor clips, each by the fold model that validated
it, out of fold; the ``wild_real`` clips by the default), samples ``--frames`` frames, reframes each frame (layouts
below), writes a clip (H.264, CRF 20, 4 frames a second, in a temporary folder: nothing is written into the
repository) and analyses it. The sampled frames as they are go through the same encode ("as_is"), so "as_is" and a
layout differ only by the reframing; "original" is the file itself, analysed as a user would.

Layouts (``--layouts``):
  pillar_black  a 9:16 column following the face, centred in a 16:9 frame of the clip's height, black at the sides
  pillar_blur   the same column, the sides filled by the column enlarged, blurred and dimmed (TV and social feeds)
  letterbox     a 2.39:1 band following the face across the frame's width, black above and below
  pip           the whole frame at 45% of a 1280 x 720 frame's width (less if tall), top right, on a dark ground

    python scripts/reframe_probe.py --folds runs/cvtight --crossval runs/cvtight/crossval.json \
        --json runs/reframe/probe.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

LAYOUTS = ("pillar_black", "pillar_blur", "letterbox", "pip")


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def reframe(frame: np.ndarray, layout: str, centre: tuple[float, float]) -> np.ndarray:
    """``frame`` (RGB) laid out as ``layout`` (see the module's text); ``centre`` (x, y) is the face's centre in it."""
    import cv2

    h, w = frame.shape[:2]
    cx, cy = centre
    if layout in ("pillar_black", "pillar_blur"):
        cw = min(w, _even(h * 9 / 16))
        x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
        column = frame[:, x0 : x0 + cw]
        W = _even(h * 16 / 9)
        if layout == "pillar_black":
            out = np.zeros((h, W, 3), np.uint8)
        else:  # the column scaled to cover the frame, blurred and dimmed, as feeds fill the sides
            f = W / cw
            big = cv2.resize(column, (W, _even(h * f)), interpolation=cv2.INTER_LINEAR)
            y0 = (big.shape[0] - h) // 2
            out = cv2.GaussianBlur(big[y0 : y0 + h], (0, 0), sigmaX=h / 25)
            out = (out.astype(np.float32) * 0.7).astype(np.uint8)
        xs = (W - cw) // 2
        out[:, xs : xs + cw] = column
        return out
    if layout == "letterbox":
        bh = min(h, _even(w / 2.39))
        y0 = int(np.clip(round(cy - bh / 2), 0, h - bh))
        out = np.zeros_like(frame)
        ys = (h - bh) // 2
        out[ys : ys + bh] = frame[y0 : y0 + bh]
        return out
    if layout == "pip":
        W, H = 1280, 720
        out = np.empty((H, W, 3), np.uint8)
        out[:] = (22, 30, 58)
        f = min(W * 0.45 / w, (H - 48) / h)  # 45% of the width, or less where a tall clip would not fit
        iw, ih = _even(w * f), _even(h * f)
        inset = cv2.resize(frame, (iw, ih), interpolation=cv2.INTER_AREA)
        out[24 : 24 + ih, W - 24 - iw : W - 24] = inset
        return out
    raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")


def face_centres(frames, detector, window: int = 5) -> list[tuple[float, float]] | None:
    """Per frame, where the column or band is centred: the most confident face's centre, as a median over
    ``window`` frames (a camera that follows its subject smoothly, as a vertical phone video does); frames without
    a face take the nearest frame's. None: no face in any frame."""
    found = []
    for f in frames:
        faces = detector.detect(f.image)
        x, y, bw, bh = faces[0].box if faces else (0, 0, 0, 0)
        found.append((x + bw / 2, y + bh / 2) if faces else None)
    known = [i for i, c in enumerate(found) if c is not None]
    if not known:
        return None
    filled = np.array([found[min(known, key=lambda k: abs(k - i))] for i in range(len(found))])
    half = window // 2
    return [tuple(np.median(filled[max(0, i - half) : i + half + 1], axis=0)) for i in range(len(filled))]


def summarise(rows: list[dict], layouts, how: str) -> None:
    """Per layout and class: clips called fake / uncertain / real / no face, the median score, framed faces."""
    print(f"{len(rows)} clips, {how}")
    print(f"{'class':5s} {'layout':14s} {'fake':>5s} {'uncertain':>9s} {'real':>5s} {'no face':>7s} {'median':>7s}")
    for label, name in ((0, "real"), (1, "fake")):
        sub = [r for r in rows if r.get("label", 0) == label]
        for layout in ("original", "as_is", *layouts) if sub else ():
            cells = [r[layout] for r in sub]
            n = {k: sum(c["label"] == k for c in cells) for k in ("fake", "uncertain", "real", "unknown")}
            scores = [c["score"] for c in cells if c["score"] is not None]
            med = f"{np.median(scores):.3f}" if scores else "-"
            print(
                f"{name:5s} {layout:14s} {n['fake']:5d} {n['uncertain']:9d} {n['real']:5d} {n['unknown']:7d} {med:>7s}"
            )
            for r in sub if label == 0 else ():
                if r[layout]["label"] == "fake":
                    print(
                        f"      called fake: {r['source']}/{r['video']} {r[layout]['score']} (original "
                        f"{r['original']['score']}, as is {r['as_is']['score']})"
                    )


def main(argv=None) -> int:
    from scripts.reencode_probe import clip_arguments

    p = clip_arguments(
        argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), "out of fold: what the layouts cost"
    )
    p.add_argument("--crossval", default="runs/cvtight/crossval.json", help="the fold that validated each video")
    p.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=LAYOUTS)
    args = p.parse_args(argv)
    if args.read:
        done = json.load(open(args.read))
        summarise(done["rows"], done["layouts"], f"from {args.read}, {done['frames']} frames")
        return 0

    from detector.constants import VIDEO_EXTENSIONS
    from detector.data.datasets import read_datasets
    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import analyze
    from detector.inference.video import sample_frames
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card
    from scripts.split_screen_probe import write_clip

    default = load_model(args.model)
    card = default.card
    videos = json.load(open(args.crossval))["videos"]
    fold_of = {(x["source"], x["video"]): x["fold"] for x in videos if x["kind"] == "video"}
    clips = []  # (source, name, path, fold or None, label)
    for it in read_datasets(args.data):
        key = (it.source, (f"{it.method}/" if it.label else "") + os.path.basename(it.path))
        if ("fake" if it.label else "real") in args.classes and it.kind == "video" and key in fold_of:
            clips.append((*key, it.path, fold_of[key], it.label))
    if args.wild and "real" in args.classes:
        for name in sorted(os.listdir(args.wild)):
            if name.lower().endswith(VIDEO_EXTENSIONS):
                clips.append(("wild_real", name, os.path.join(args.wild, name), None, 0))
    clips.sort(key=lambda c: (c[4], c[3] is None, c[3] if c[3] is not None else 0, c[0], c[1]))
    if args.limit:
        clips = clips[: args.limit]
    models = {None: default}
    detector = FaceDetector()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, name, path, fold, label in clips:
            if fold not in models:
                models[fold] = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))
            model = models[fold]
            t = float(model.card.threshold)

            def judge(clip: str, model=model) -> dict:
                r = analyze(clip, model=model, frames=args.frames, cam=None)
                score = None if r.score != r.score else round(float(r.score), 4)
                framed = sum(x.framed for x in r.faces)
                side = round(float(np.median([max(x.box[2], x.box[3]) for x in r.faces])), 1) if r.faces else None
                short = min(r.video_info.get("width") or 0, r.video_info.get("height") or 0)
                return {
                    "score": score,
                    "label": r.label,
                    "faces": len(r.faces),
                    "framed": framed,
                    "face_side": side,
                    "short_side": short,
                    "threshold": round(float(r.threshold), 4),
                }

            _, frames = sample_frames(path, n_frames=args.frames)
            centres = face_centres(frames, detector)
            row = {"source": source, "video": name, "label": label, "fold": fold, "threshold": round(t, 4)}
            row["original"] = judge(path)  # the file itself: "as_is" differs from it by one encode only
            row["as_is"] = judge(write_clip(os.path.join(tmp, "as_is.mp4"), [f.image for f in frames]))
            for layout in args.layouts:
                if centres is None:
                    row[layout] = {"score": None, "label": "unknown", "faces": 0, "framed": 0}
                    continue
                out = [reframe(f.image, layout, c) for f, c in zip(frames, centres)]
                row[layout] = judge(write_clip(os.path.join(tmp, f"{layout}.mp4"), out))
            rows.append(row)
            cells = ", ".join(f"{k} {row[k]['score']} {row[k]['label']}" for k in ("original", "as_is", *args.layouts))
            print(f"{source}/{name} (fold {fold}): {cells}", file=sys.stderr, flush=True)
    detector.close()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"frames": args.frames, "layouts": args.layouts, "rows": rows}, fh, indent=1)
    summarise(rows, args.layouts, f"judged out of fold (wild clips by {card.name}), {args.frames} frames")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
