"""Split screens of real people: how often is a real clip called fake once two real people share the screen?

News interviews, debates and video calls show two people side by side, each in a pane on a plain ground. A clip is
called fake if any main person is, and the thresholds were set on clips of one person, so a split screen of two real
people has two chances of a false alarm; a pane's edge may also fall inside a face's square. This takes the FF++ c23
real videos two by two, each pair validated by the same fold (so one fold model never trained on either judges the
pair, out of fold), samples ``--frames`` frames from each, lays them side by side on a flat dark ground (each pane as
the source frame, at most 854 x 480; a 1920 x 1080 picture) and writes a clip (H.264, CRF 20, in a temporary folder:
nothing is written into the repository), then analyses it with that fold's model. Each video alone is read from the
same fold's out-of-fold scores (``--crossval``).

    python scripts/split_screen_probe.py --folds runs/cvtight --crossval runs/cvtight/crossval.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from fractions import Fraction

import numpy as np


def split_screen(left: np.ndarray, right: np.ndarray, size=(1920, 1080), ground=(22, 30, 58)) -> np.ndarray:
    """Two frames side by side on a flat ``ground``, each shrunk to fit 854 x 480 (never enlarged), centred in its
    half of a ``size`` picture."""
    import cv2

    w, h = size
    out = np.empty((h, w, 3), np.uint8)
    out[:] = ground
    for k, frame in enumerate((left, right)):
        fh, fw = frame.shape[:2]
        f = min(1.0, 854 / fw, 480 / fh)
        pane = frame if f >= 1 else cv2.resize(frame, (round(fw * f), round(fh * f)), interpolation=cv2.INTER_AREA)
        ph, pw = pane.shape[:2]
        x = k * (w // 2) + (w // 2 - pw) // 2
        y = (h - ph) // 2
        out[y : y + ph, x : x + pw] = pane
    return out


def write_clip(path: str, frames: list[np.ndarray], fps: int = 4) -> str:
    import av

    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/ffpp", help="FaceForensics++ c23 root")
    p.add_argument("--folds", default="runs/cvtight", help="the default's fold models (foldK/model/*.json)")
    p.add_argument("--crossval", default="runs/cvtight/crossval.json", help="out-of-fold scores, fold of each video")
    p.add_argument("--model", default=None, help="the card whose threshold labels the scores (default: the default)")
    p.add_argument("--frames", type=int, default=32, help="frames sampled from each video")
    p.add_argument("--json", default=None, help="also write each pair's scores here")
    args = p.parse_args(argv)

    from detector.data.datasets import read_datasets
    from detector.inference.pipeline import analyze
    from detector.inference.video import sample_frames
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card

    card = load_model(args.model).card
    t = float(card.threshold)
    videos = json.load(open(args.crossval))["videos"]
    alone = {x["video"]: x for x in videos if x["source"] == "ffpp" and x["label"] == 0}
    paths = {os.path.basename(it.path): it.path for it in read_datasets([args.data]) if it.label == 0}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fold in sorted({x["fold"] for x in alone.values()}):
            model = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))  # the card the run wrote
            names = sorted(n for n, x in alone.items() if x["fold"] == fold and n in paths)
            for a, b in zip(names[0::2], names[1::2]):
                _, fa = sample_frames(paths[a], n_frames=args.frames)
                _, fb = sample_frames(paths[b], n_frames=args.frames)
                frames = [split_screen(x.image, y.image) for x, y in zip(fa, fb)]
                clip = write_clip(os.path.join(tmp, "split.mp4"), frames)
                r = analyze(clip, model=model, frames=args.frames, cam=None, second_opinion=False)
                ids = sorted(r.identities, key=lambda i: -i.frames)[:2]
                rows.append(
                    {
                        "fold": fold,
                        "left": a,
                        "right": b,
                        "alone": [round(alone[a]["fake_probability"], 4), round(alone[b]["fake_probability"], 4)],
                        "split": None if r.score != r.score else round(float(r.score), 4),
                        "identities": [round(float(i.score), 4) for i in ids],
                        "main_identities": len(ids),
                        "framed": sum(f.framed for f in r.faces),
                        "warnings": len(r.warnings),
                    }
                )
                print(f"fold {fold} {a}+{b}: alone {rows[-1]['alone']}, split {rows[-1]['split']}", file=sys.stderr)
    singles = [s for r in rows for s in r["alone"]]
    print(f"{len(rows)} split screens of two real FF++ c23 videos (out of fold), labels at {card.name}'s {t:.4f}")
    print(f"- the {len(singles)} videos alone called fake: {sum(s >= t for s in singles)}")
    either = sum(max(r["alone"]) >= t for r in rows)
    print(f"- pairs with either video alone called fake: {either}")
    print(f"- split screens called fake: {sum((r['split'] or 0) >= t for r in rows)}")
    print(f"- split screens with two people found: {sum(r['main_identities'] == 2 for r in rows)}")
    shift = [s - a for r in rows for s, a in zip(sorted(r["identities"]), sorted(r["alone"]))]
    if shift:
        print(f"- identity scores in the split screen minus alone (sorted pairs): median {np.median(shift):+.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threshold": t, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
