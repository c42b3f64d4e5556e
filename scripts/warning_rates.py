"""How often the report says "the faces are ... than nearly all the model was trained on" on real material the
model never trained on: a sample of the held-out UTKFace photos, and the wild_real clips.

    python scripts/warning_rates.py --model mnv2_c40_reals --photos 150 \
        --utk ../shared/data/faces_utk --clips ../shared/data/wild_real
    python scripts/warning_rates.py --photos 150 --cam gradcam   # also: heat maps strongest on the padding

Prints how many of the photos drew such a warning, and each clip's label, score and warnings.  With ``--cam``,
also how many photos' faces had their square run past the picture's edge, how many of those had the heat map
strongest on that padding (the report's "beyond the picture's edge" warning), and the median share of the map
there.  The ranges the
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
OFF_PICTURE = "strongest beyond the picture's edge"  # detector.inference.report.trust_warnings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model name or card (default: the default model)")
    p.add_argument("--photos", type=int, default=150, help="held-out photos drawn (seed 0)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--clips", default="../shared/data/wild_real", help="a folder of real clips")
    p.add_argument("--cam", default=None, help="a CAM method: also count heat maps strongest on the padding")
    args = p.parse_args(argv)
    from detector.data.datasets import held_out, read_datasets
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(args.model)
    photos = [it for it in read_datasets([args.utk]) if held_out(it)] if os.path.isdir(args.utk) else []
    random.Random(0).shuffle(photos)
    scored = warned = padded = off = 0
    masses, areas = [], []
    for it in photos[: args.photos]:
        try:
            report = analyze(it.path, model=model, cam=args.cam)
        except InputError:
            continue
        if report.faces:
            scored += 1
            warned += any(UNLIKE in w for w in report.warnings)
            faces = [f for f in report.faces if f.inside is not None and f.explanation]
            padded += bool(faces)
            off += any(OFF_PICTURE in w for w in report.warnings)
            masses += [f.explanation["padding_mass"] for f in faces if f.explanation.get("padding_mass") is not None]
            areas += [1 - (f.inside[2] - f.inside[0]) * (f.inside[3] - f.inside[1]) for f in faces]
    print(f"held-out photos with a face: {scored}; warned as unlike the training faces: {warned}")
    if args.cam:
        import numpy as np

        median = f"{np.median(masses):.2f}" if masses else "-"
        area = f"{np.median(areas):.2f}" if areas else "-"
        print(
            f"{args.cam}: photos whose face's square runs past the picture's edge: {padded}; heat map strongest on "
            f"that padding: {off}; median share of the map on it: {median} (of the square's area: {area})"
        )
    for path in sorted(glob.glob(os.path.join(args.clips, "*.mp4"))):
        report = analyze(path, model=model)
        unlike = [w for w in report.warnings if UNLIKE in w]
        print(f"{os.path.basename(path)}: {report.label} {report.score:.3f}; {' '.join(unlike) or 'no such warning'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
