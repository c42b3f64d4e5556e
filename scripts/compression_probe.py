"""How heavily each corpus is compressed: bits per pixel and frame (the file's size over duration x fps x width x
height, :func:`detector.inference.video.bits_per_pixel`) per group of videos, from their headers alone, and the
median size of their first keyframes in bits per pixel (:func:`~detector.inference.video.keyframe_bits_per_pixel`,
read, not decoded).  The figures behind :data:`detector.constants.HEAVY_COMPRESSION_BPP` and
:data:`~detector.constants.HEAVY_KEYFRAME_BPP`: under both, a verdict short of fake is warned of.  ``--clips``: also
still and slowly zoomed clips of the first 6 UTKFace photos (720 px, CRF 20 and 36; a temporary folder), the case the
keyframes are for.

    python scripts/compression_probe.py --data ../shared/data --clips
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile

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
    p.add_argument("--clips", action="store_true", help="also still and zoomed clips of photos (CRF 20 and 36)")
    args = p.parse_args(argv)
    from detector.constants import HEAVY_COMPRESSION_BPP, HEAVY_KEYFRAME_BPP
    from detector.errors import InputError
    from detector.inference.video import bits_per_pixel, keyframe_bits_per_pixel, probe

    groups = {
        name: sorted({f for pat in patterns for f in glob.glob(os.path.join(args.data, pat), recursive=True)})
        for name, patterns in GROUPS.items()
    }
    tmp = tempfile.TemporaryDirectory()
    if args.clips:
        groups |= photo_clips(sorted(glob.glob(os.path.join(args.data, "faces_utk/real/*.jpg")))[:6], tmp.name)
    print("| videos | files | bits per pixel: min | median | max | keyframes: min | median | max | under both limits |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, paths in groups.items():
        values = []
        for path in paths:
            try:
                info = probe(path)
            except InputError:
                continue
            bpp, keyframes = bits_per_pixel(path, info), keyframe_bits_per_pixel(path, info)
            if bpp is not None and keyframes is not None:
                values.append((bpp, keyframes))
        if not values:
            print(f"| {name} | 0 | - | - | - | - | - | - | - |")
            continue
        v, k = np.array(values).T
        under = int(((v < HEAVY_COMPRESSION_BPP) & (k < HEAVY_KEYFRAME_BPP)).sum())
        print(
            f"| {name} | {len(v)} | {v.min():.4f} | {np.median(v):.4f} | {v.max():.4f} | {k.min():.3f} | "
            f"{np.median(k):.3f} | {k.max():.3f} | {under} of {len(v)} |"
        )
    tmp.cleanup()
    limits = f"HEAVY_COMPRESSION_BPP {HEAVY_COMPRESSION_BPP}, HEAVY_KEYFRAME_BPP {HEAVY_KEYFRAME_BPP}"
    print(f"\nlimits (detector.constants): {limits}")
    return 0


def photo_clips(photos: list[str], folder: str) -> dict[str, list[str]]:
    """Each photo (enlarged to 720 x 720) as a 2 s still clip at CRF 20 and 36, and as a 5 s clip slowly panned and
    zoomed over it (:func:`detector.data.synthetic.render_clip`, CRF 20), written into ``folder``."""
    from fractions import Fraction

    import av
    import cv2

    from detector.data.synthetic import render_clip

    out: dict[str, list[str]] = {"photos as still clips, CRF 20": [], "photos as still clips, CRF 36": []}
    out["photos slowly zoomed, CRF 20"] = []
    for i, photo in enumerate(photos):
        picture = cv2.cvtColor(cv2.resize(cv2.imread(photo), (720, 720)), cv2.COLOR_BGR2RGB)
        for crf in (20, 36):
            path = os.path.join(folder, f"still{crf}_{i}.mp4")
            with av.open(path, "w") as clip:
                stream = clip.add_stream("libx264", rate=Fraction(25))
                stream.width, stream.height, stream.pix_fmt = 720, 720, "yuv420p"
                stream.options = {"preset": "veryfast", "crf": str(crf)}
                for _ in range(50):
                    clip.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
                clip.mux(stream.encode())
            out[f"photos as still clips, CRF {crf}"].append(path)
        path = os.path.join(folder, f"zoomed_{i}.mp4")
        out["photos slowly zoomed, CRF 20"].append(
            render_clip(path, seconds=5, fps=25, size=(1280, 720), source=picture)
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
