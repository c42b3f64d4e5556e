"""How often a face and its mirror image are taken for one face in real photos: the boxes ``faces_in`` finds in
each of N UTKFace photos (a seeded draw) with the rule that tells them apart (``pipeline._mirror_merge``) and
without it, and the photos whose boxes differ.

    python scripts/mirror_merge_probe.py --photos 1500
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--photos", type=int, default=1500, help="photos drawn (default 1500)")
    p.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")
    args = p.parse_args(argv)
    import cv2

    import detector.inference.pipeline as pipeline
    from detector.inference.stills import STILL_PAD

    files = sorted(glob.glob(os.path.join(args.utk, "real", "*.jpg")))
    random.Random(args.seed).shuffle(files)
    files = files[: args.photos]
    detector, rule = pipeline.face_detector(), pipeline._mirror_merge
    changed = 0
    try:
        for path in files:
            image = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
            pipeline._mirror_merge = rule
            told = [f.box for f in pipeline.faces_in(image, 0.3, detector, STILL_PAD)]
            pipeline._mirror_merge = lambda *a: False
            merged = [f.box for f in pipeline.faces_in(image, 0.3, detector, STILL_PAD)]
            if told != merged:
                changed += 1
                print(f"{os.path.basename(path)}: {merged} -> {told}")
    finally:
        pipeline._mirror_merge = rule
    print(f"{changed} of {len(files)} photos: the boxes differ with the rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
