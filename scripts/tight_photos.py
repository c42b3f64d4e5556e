"""Fakes as tightly cropped photos: does the mirrored padding make a fake look real?

A photo whose face fills it (as UTKFace's chips do) gives a face square that runs past the picture's edge, and the
pipeline fills that part by mirroring the photo's border outwards, as training did with the UTKFace photos, all of
them real.  This takes one frame from the middle of each FaceForensics++ c23 video, saves it twice in a
temporary folder (deleted afterwards; nothing is written into the repository) as a PNG photo: the whole frame, and
the face cut as tightly as a UTKFace chip (the face square shrunk to ``--tight`` of its side), and scores both
through ``analyze`` with the fold model that never trained on the video (``runs/cvc40r/foldK``: see
``scripts/fold_models.py``).  The same face, the same model: only the picture's extent differs.

    python scripts/tight_photos.py --data ../shared/data/ffpp --folds runs/cvc40r --crossval runs/cvc40r/crossval.json

``--side N`` shrinks each tight photo to N px on its short side first (a thumbnail), and also labels it at the card's
threshold for small photos, where it has one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/ffpp", help="FaceForensics++ c23 root")
    p.add_argument("--folds", default="runs/cvc40r", help="the default's fold models (foldK/model/*.json)")
    p.add_argument("--crossval", default="runs/cvc40r/crossval.json", help="which fold validated each video")
    p.add_argument("--model", default=None, help="the card whose threshold labels the scores (default: the default)")
    p.add_argument("--tight", type=float, default=0.77, help="the photo's side over the face square's (UTKFace ~0.77)")
    p.add_argument(
        "--second",
        default=None,
        help="the fold models of the colour-trained model (e.g. runs/cvcol, written by scripts/fold_models.py from "
        "mnv2_colour's card): the labels with its second opinion too, out of fold, where --model's colour ranges "
        "warn of a tint (detector.inference.pipeline.colour_second_opinion)",
    )
    p.add_argument("--second-model", default="mnv2_colour", help="the card whose threshold labels --second's scores")
    p.add_argument(
        "--side",
        type=int,
        default=0,
        help="shrink the tight photo to this short side (px), as a thumbnail is; the labels then also at the card's "
        "threshold for small photos where it has one (scripts/small_photo_probe.py); 0: as cut",
    )
    p.add_argument("--json", default=None, help="also write each video's scores here (label, method, whole, tight)")
    args = p.parse_args(argv)
    import cv2

    from detector.data.datasets import read_datasets
    from detector.inference.faces import crop_box
    from detector.inference.pipeline import analyze, face_detector
    from detector.inference.quality import face_stats, out_of_range, tint_warned
    from detector.inference.report import verdict, with_second_opinion
    from detector.inference.video import sample_frames
    from detector.models.classifier import load_model

    card = load_model(args.model).card
    folds = {(v["source"], v["method"], v["video"]): v["fold"] for v in json.load(open(args.crossval))["videos"]}

    def fold_models(root):
        out = {}
        for k in sorted(set(folds.values())):
            cards = [f for f in os.listdir(os.path.join(root, f"fold{k}", "model")) if f.endswith(".json")]
            out[k] = load_model(os.path.join(root, f"fold{k}", "model", cards[0]))
        return out

    models = fold_models(args.folds)
    seconds = fold_models(args.second) if args.second else {}
    second_card = load_model(args.second_model).card if args.second else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for it in read_datasets([args.data]):
            name = os.path.basename(it.path) if it.label == 0 else f"{it.method}/{os.path.basename(it.path)}"
            key = (it.source, it.method or "original", name)  # as crossval.json names the video
            if key not in folds:
                continue
            _, frames = sample_frames(it.path, n_frames=3)
            image = frames[len(frames) // 2].image
            faces = face_detector().detect(image)
            if not faces:
                continue
            box = max(faces, key=lambda f: f.box[2] * f.box[3]).box
            h, w = image.shape[:2]
            x, y, side = crop_box(box, w, h, card.face_margin)
            cut = int(round(side * args.tight))
            cx, cy = x + side / 2, y + side / 2
            x0, y0 = max(0, int(round(cx - cut / 2))), max(0, int(round(cy - cut / 2)))
            tight = image[y0 : min(h, y0 + cut), x0 : min(w, x0 + cut)]
            if args.side and min(tight.shape[:2]) > args.side:
                f = args.side / min(tight.shape[:2])
                size = (round(tight.shape[1] * f), round(tight.shape[0] * f))
                tight = cv2.resize(np.ascontiguousarray(tight), size, interpolation=cv2.INTER_AREA)
            scores, heard = [], []
            for name, picture in (("whole", image), ("tight", tight)):
                path = os.path.join(tmp, f"{name}.png")
                cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(picture), cv2.COLOR_RGB2BGR))
                report = analyze(path, model=models[folds[key]], second_opinion=False)
                scores.append(report.score)
                label = verdict(report.score, card.threshold, card.uncertain)
                if seconds and label == "fake":  # tinted by the card's ranges: the colour model's fold model too
                    stats = [face_stats(f.crop, f.box, f.keypoints) for f in report.faces]
                    if tint_warned(out_of_range(stats, card.ranges or {})):
                        other = analyze(path, model=seconds[folds[key]], second_opinion=False).score
                        said = verdict(other, second_card.threshold, second_card.uncertain)
                        label = with_second_opinion(label, {"label": said})
                heard.append(label)
            rows.append((it.label_name, it.method or "original", *scores, *heard))
    if args.json:
        keys = ("label", "method", "whole", "tight", "whole_label", "tight_label")
        with open(args.json, "w") as fh:
            json.dump([dict(zip(keys, r)) for r in rows], fh, indent=0)
    print(f"{len(rows)} videos, one frame each; labels at {card.name}'s threshold {card.threshold:.4f}")
    small = card.small_rule(args.side, photo=True) if args.side else None
    if small:  # the tight photos at the card's threshold for photos of their size (the whole frames are larger)
        t = float(small["threshold"])
        band = small.get("uncertain") or [t, t]
        for label in ("real", "fake"):
            got = [verdict(r[3], t, band) for r in rows if r[0] == label and r[3] == r[3]]
            counts = " / ".join(str(got.count(k)) for k in ("fake", "uncertain", "real"))
            print(
                f"{label} tight photos at {args.side} px, at the threshold for photos under {small['below']} px "
                f"({t:.4f}): fake / uncertain / real {counts}"
            )
    extra = " with the second opinion: whole | tight |" if seconds else ""
    head = "| videos | n | median score: whole frame | as a tight photo | fake / uncertain / real: whole | tight |"
    print(head + extra)
    print("|---|---:|---:|---:|---|---|" + ("---|---|" if seconds else ""))

    def labels(values):
        got = [verdict(v, card.threshold, card.uncertain) for v in values if v == v]
        return " / ".join(str(got.count(k)) for k in ("fake", "uncertain", "real"))

    groups = [("real", None)] + [("fake", m) for m in sorted({r[1] for r in rows if r[0] == "fake"})] + [("fake", "")]
    for label, method in groups:
        sel = [r for r in rows if r[0] == label and (method in (None, "") or r[1] == method)]
        if not sel:
            continue
        whole = np.array([r[2] for r in sel], dtype=float)
        tight = np.array([r[3] for r in sel], dtype=float)
        name = "real" if label == "real" else (f"fake: {method}" if method else "fake: all")
        heard = ""
        if seconds:
            heard = (
                " "
                + " | ".join(
                    " / ".join(str([r[k] for r in sel].count(lab)) for lab in ("fake", "uncertain", "real"))
                    for k in (4, 5)
                )
                + " |"
            )
        print(
            f"| {name} | {len(sel)} | {np.nanmedian(whole):.3f} | {np.nanmedian(tight):.3f} | "
            f"{labels(whole)} | {labels(tight)} |{heard}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
