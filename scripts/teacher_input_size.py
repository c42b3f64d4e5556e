"""How well a teacher ranks its fold's validation videos when it sees the student's input size.

A distilled student at S px hands its teacher its own batch, resized up to the teacher's size
(``DistillationCallback._teacher_input``): the teacher then scores crops that lost their detail at S px.
This scores each fold's FF++ validation videos with the fold's model twice, on the cached crops:
(a) crop -> teacher size, as the pipeline does; (b) crop -> S px, normalised as the student's batch, then through
the distillation callback's own teacher path (as in training without ``--distill-teacher-size``).
Per video: the mean fake probability over its crops (not the pipeline's confident-frames rule).

    python scripts/teacher_input_size.py runs/cvdom --size 112 [--source ffpp]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from detector.constants import IMAGENET_MEAN, IMAGENET_STD
from detector.data.crops import extract_crops, read_crop
from detector.models.classifier import load_model
from detector.training.callbacks import DistillationCallback

STUDENT_MEAN = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(1, 3, 1, 1)  # train's batch normalisation
STUDENT_STD = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(1, 3, 1, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a cross-validation folder: fold0/, fold1/, ... each with model/ and val_videos.json")
    ap.add_argument("--size", type=int, default=112, help="the student's input size")
    ap.add_argument("--source", default="ffpp", help="which source's validation videos (default ffpp)")
    args = ap.parse_args(argv)
    pooled = {"native": [], "student": [], "label": []}
    for fold in sorted(p for p in Path(args.run).glob("fold[0-9]*") if p.is_dir()):
        card = next((fold / "model").glob("*.json"))
        model = load_model(str(card))
        s = model.card.input_size
        teacher = DistillationCallback(model, alpha=0.0)  # the path a distilled student's batch takes
        items = [v for v in json.loads((fold / "val_videos.json").read_text()) if v["source"] == args.source]
        config = json.loads((fold / "metrics.json").read_text())["config"]  # the run's own crops
        crop_args = {
            "frames": config["frames"],
            "margin": model.card.face_margin,
            **({"cache": config["cache"]} if config.get("cache") else {}),
        }
        native, student, labels = [], [], []
        for it in items:
            crops = [read_crop(f) for f in extract_crops(it["video"], **crop_args).files]
            if not crops:
                continue
            native.append(float(model.predict(crops).mean()))
            small = [cv2.resize(c, (args.size, args.size), interpolation=cv2.INTER_AREA) for c in crops]
            x = torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2).float().div_(255.0)
            probs = teacher.teacher_probs((x - STUDENT_MEAN) / STUDENT_STD)[:, teacher.fake_index]
            student.append(float(probs.mean()))
            labels.append(it["label"])
        a, b = roc_auc_score(labels, native), roc_auc_score(labels, student)
        print(f"{fold.name}: {len(labels)} videos; video AUC (mean rule) at {s} px {a:.3f}, via {args.size} px {b:.3f}")
        pooled["native"] += native
        pooled["student"] += student
        pooled["label"] += labels
    a, b = roc_auc_score(pooled["label"], pooled["native"]), roc_auc_score(pooled["label"], pooled["student"])
    print(f"pooled: {len(pooled['label'])} videos; at the teacher's size {a:.3f}, via {args.size} px {b:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
