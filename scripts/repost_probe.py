"""Real clips as social media re-post them: 9:16 (720 x 1280), the 16:9 picture in the middle over a blurred,
enlarged copy of itself, re-encoded (H.264).  Each clip of a folder is re-posted so into a temporary folder, both
versions analysed by the pipeline, and their labels and scores printed side by side: does the blurred copy of the
face behind the picture, or the re-encoding, make a real clip read as fake?

    python scripts/repost_probe.py ../shared/data/wild_real --frames 16
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile

import numpy as np

WIDTH, HEIGHT = 720, 1280


def repost(src: str, dst: str, seconds: float) -> None:
    """``src``'s first ``seconds`` as a 9:16 re-post (see the module docstring), written to ``dst``."""
    import av
    import cv2

    with av.open(src) as inp, av.open(dst, "w") as out:
        stream = inp.streams.video[0]
        fps = float(stream.average_rate or 25)
        enc = out.add_stream("libx264", rate=int(round(fps)))
        enc.width, enc.height, enc.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for n, frame in enumerate(inp.decode(stream)):
            if n >= seconds * fps:
                break
            a = frame.to_ndarray(format="rgb24")
            h, w = a.shape[:2]
            back = cv2.resize(a, (int(w * HEIGHT / h), HEIGHT))
            x0 = (back.shape[1] - WIDTH) // 2
            back = cv2.GaussianBlur(back[:, x0 : x0 + WIDTH], (0, 0), 25)
            fh = int(h * WIDTH / w)
            y0 = (HEIGHT - fh) // 2
            back[y0 : y0 + fh] = cv2.resize(a, (WIDTH, fh))
            out.mux(enc.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(back), format="rgb24")))
        out.mux(enc.encode())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a folder of real clips (mp4)")
    p.add_argument("--model", default=None, help="model name or card (default: the default)")
    p.add_argument("--frames", type=int, default=16, help="frames sampled per clip (default 16)")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of each clip re-posted (default 8)")
    args = p.parse_args(argv)
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    clips = sorted(glob.glob(os.path.join(args.folder, "*.mp4")))
    if not clips:
        print(f"no mp4 clips in {args.folder}", file=sys.stderr)
        return 1
    model = load_model(args.model)
    print(f"model {model.card.name}, {args.frames} frames, the first {args.seconds:g} s of each clip")
    print("| clip | as it is: label (score) | re-posted 9:16: label (score) | faces per frame, re-posted |")
    print("|---|---|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            posted = os.path.join(tmp, os.path.basename(clip))
            repost(clip, posted, args.seconds)
            a = analyze(clip, frames=args.frames, model=model)
            b = analyze(posted, frames=args.frames, model=model)
            per_frame = len(b.faces) / max(1, len(b.frames))
            print(
                f"| {os.path.basename(clip)} | {a.label} ({a.score:.3f}) | {b.label} ({b.score:.3f}) | "
                f"{per_frame:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
