"""How heavily each corpus is compressed: bits per pixel and frame (the file's size over duration x fps x width x
height, :func:`detector.inference.video.bits_per_pixel`) per group of videos, from their headers alone.  The figures
behind :data:`detector.constants.HEAVY_COMPRESSION_BPP`, under which a verdict short of fake is warned of.

    python scripts/compression_probe.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np

GROUPS = {  # name: glob patterns below the data root
    "FF++ c23 reals": ["ffpp/original_sequences/**/*.mp4"],
    "FF++ c23 fakes": ["ffpp/manipulated_sequences/**/*.mp4"],
    "FF++ c40 reals": ["ffpp_c40/original_sequences/youtube/**/*.mp4"],
    "FF++ c40 fakes": ["ffpp_c40/manipulated_sequences/**/*.mp4"],
    "DeepFakeDetection actors (c40)": ["ffpp_c40/original_sequences/actors/**/*.mp4"],
    "wild_real": ["wild_real/*.mp4"],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data", help="the data root holding ffpp/, ffpp_c40/, wild_real/")
    args = p.parse_args(argv)
    from detector.constants import HEAVY_COMPRESSION_BPP
    from detector.errors import InputError
    from detector.inference.video import bits_per_pixel, probe

    print("| videos | files | bits per pixel: min | median | max | under the limit |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, patterns in GROUPS.items():
        paths = sorted({f for pat in patterns for f in glob.glob(os.path.join(args.data, pat), recursive=True)})
        values = []
        for path in paths:
            try:
                bpp = bits_per_pixel(path, probe(path))
            except InputError:
                continue
            if bpp is not None:
                values.append(bpp)
        if not values:
            print(f"| {name} | 0 | - | - | - | - |")
            continue
        v = np.array(values)
        under = int((v < HEAVY_COMPRESSION_BPP).sum())
        print(f"| {name} | {len(v)} | {v.min():.4f} | {np.median(v):.4f} | {v.max():.4f} | {under} of {len(v)} |")
    print(f"\nlimit (detector.constants.HEAVY_COMPRESSION_BPP): {HEAVY_COMPRESSION_BPP}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
