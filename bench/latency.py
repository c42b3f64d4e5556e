"""Per-face CPU latency of each shipped model's classifier: the forward pass on a batch of face crops.

    .venv/bin/python bench/latency.py                      # every shipped model, 32 crops, 2 torch threads
    .venv/bin/python bench/latency.py --models resnet18,mesonet_df_authors --runs 20
    .venv/bin/python bench/latency.py --untrained coatnet_0:128    # an architecture no shipped model has

For each model, in one process, after ``--warmup`` untimed passes, the median of ``--runs`` timed passes of:

* ``predict``  -- :meth:`~detector.models.classifier.Classifier.predict` on ``--crops`` face crops, as the
  pipeline calls it (resize to the card's input size, normalise, forward in batches of ``--batch``, softmax);
* ``forward``  -- the network alone on the already preprocessed batch (an ensemble: every member's network);

each divided by the number of crops: milliseconds per face.  The crops are the face of
``skimage.data.astronaut()`` (Eileen Collins) at four framings, each resized to a 200 px square (the classifier
resizes every crop to its input size): the time does not depend on what the face shows.  Face detection and
decoding are not timed (``bench/speed.py`` times the whole pipeline).  ``--untrained ARCH:SIZE`` adds a network
of that architecture with random weights (the time depends on the architecture and input size, not on the
weights), labelled so.

The load average before and after is printed with the figures: on a shared 2-core machine they are noisy.
Output: a markdown table, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

DEFAULT_MODELS = "effnet_realfaces,efficientnet_lite0,resnet18,mesonet_df_authors,mesoinception_df_authors"


def face_crops(n: int, side: int = 200):
    """``n`` RGB uint8 face crops of the astronaut photo (four framings, repeated), each ``side`` px square."""
    import cv2
    import numpy as np
    from skimage import data

    img = data.astronaut()
    framings = [img[20:220, 140:340], img[0:260, 110:370], img[50:200, 170:320], img[20:220, 140:340][:, ::-1]]
    crops = [cv2.resize(np.ascontiguousarray(f), (side, side), interpolation=cv2.INTER_AREA) for f in framings]
    return [crops[i % len(crops)] for i in range(n)]


def untrained(spec: str):
    """A :class:`Classifier` of ``ARCH:SIZE`` with random weights (seeded)."""
    import torch

    from detector.models import registry
    from detector.models.card import ModelCard
    from detector.models.classifier import Classifier

    arch, _, size = spec.partition(":")
    size = int(size) if size else registry.get(arch).default_size
    torch.manual_seed(0)
    card = ModelCard(name=f"{arch} (untrained)", architecture=arch, input_size=size)
    return Classifier(card, registry.build(arch, num_classes=2, size=size))


def time_runs(fn, warmup: int, runs: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def measure(clf, crops, batch: int, warmup: int, runs: int) -> dict:
    import torch

    nets = [m.net for m in clf.members] if clf.members else [clf.net]
    x = [clf.preprocess(crops[i : i + batch]) for i in range(0, len(crops), batch)]

    def forward():
        with torch.inference_mode():
            for net in nets:
                for xb in x:
                    net(xb)

    pred = time_runs(lambda: clf.predict(crops, batch_size=batch), warmup, runs)
    fwd = time_runs(forward, warmup, runs)
    n = len(crops)
    params = sum(p.numel() for p in nets[0].parameters())  # as it runs: BatchNorm folded where it can be
    return {
        "model": clf.name,
        "architecture": (f"{len(nets)} x " if clf.members else "") + clf.card.architecture,
        "input_size": clf.card.input_size,
        "networks": len(nets),
        "params_folded": params * len(nets),
        "predict_ms_per_face": 1000 * statistics.median(pred) / n,
        "forward_ms_per_face": 1000 * statistics.median(fwd) / n,
        "predict_ms_per_face_min": 1000 * min(pred) / n,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated names or cards ({DEFAULT_MODELS})")
    ap.add_argument("--untrained", default="", help="comma-separated ARCH:SIZE with random weights, e.g. coatnet_0:128")
    ap.add_argument("--crops", type=int, default=32, help="face crops per timed pass (default 32)")
    ap.add_argument("--batch", type=int, default=8, help="crops per forward pass, as the pipeline (default 8)")
    ap.add_argument("--runs", type=int, default=15, help="timed passes per model; the median is reported")
    ap.add_argument("--warmup", type=int, default=3, help="untimed passes first")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the target is 2 CPU cores)")
    args = ap.parse_args(argv)

    import torch

    from detector.models.classifier import load_model

    torch.set_num_threads(args.threads)
    crops = face_crops(args.crops)
    load_before = os.getloadavg()
    rows = []
    for name in [m for m in args.models.split(",") if m]:
        rows.append(measure(load_model(name), crops, args.batch, args.warmup, args.runs))
    for spec in [s for s in args.untrained.split(",") if s]:
        rows.append(measure(untrained(spec), crops, args.batch, args.warmup, args.runs))
    load_after = os.getloadavg()

    print(
        f"{args.crops} face crops (200 px), batches of {args.batch}, median of {args.runs} runs after "
        f"{args.warmup} warm-up; torch threads {torch.get_num_threads()}, CPUs {os.cpu_count()}; load average "
        f"before {load_before[0]:.2f}, after {load_after[0]:.2f}"
    )
    print()
    print("| model | architecture | input | predict, ms per face | forward only, ms per face |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['architecture']} | {r['input_size']} | {r['predict_ms_per_face']:.2f} | "
            f"{r['forward_ms_per_face']:.2f} |"
        )
    result = {
        "crops": args.crops,
        "batch": args.batch,
        "runs": args.runs,
        "warmup": args.warmup,
        "threads": torch.get_num_threads(),
        "load_before": round(load_before[0], 2),
        "load_after": round(load_after[0], 2),
        "rows": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
