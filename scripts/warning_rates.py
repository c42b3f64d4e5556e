"""How often the report says "the faces are ... than nearly all the model was trained on" on real material the
model never trained on: a sample of the held-out UTKFace photos, and the wild_real clips.

    python scripts/warning_rates.py --model mnv2_c40_reals --photos 150 \
        --utk ../shared/data/faces_utk --clips ../shared/data/wild_real

Prints how many of the photos drew such a warning, and each clip's label, score and warnings.  The ranges the
warnings compare against are the model card's ``ranges`` (``scripts/card_ranges.py`` measures them).
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys

from detector.errors import InputError

UNLIKE = "than nearly all the model was trained on"  # the words of detector.inference.quality.out_of_range


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model name or card (default: the default model)")
    p.add_argument("--photos", type=int, default=150, help="held-out photos drawn (seed 0)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--clips", default="../shared/data/wild_real", help="a folder of real clips")
    args = p.parse_args(argv)
    from detector.data.datasets import held_out, read_datasets
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(args.model)
    photos = [it for it in read_datasets([args.utk]) if held_out(it)] if os.path.isdir(args.utk) else []
    random.Random(0).shuffle(photos)
    scored = warned = 0
    for it in photos[: args.photos]:
        try:
            report = analyze(it.path, model=model)
        except InputError:
            continue
        if report.faces:
            scored += 1
            warned += any(UNLIKE in w for w in report.warnings)
    print(f"held-out photos with a face: {scored}; warned as unlike the training faces: {warned}")
    for path in sorted(glob.glob(os.path.join(args.clips, "*.mp4"))):
        report = analyze(path, model=model)
        unlike = [w for w in report.warnings if UNLIKE in w]
        print(f"{os.path.basename(path)}: {report.label} {report.score:.3f}; {' '.join(unlike) or 'no such warning'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
