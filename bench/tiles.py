"""What searching a photo tile by tile finds and costs (``FaceDetector.detect_small``).

1. Time: the astronaut's picture pasted, small, into grey photos of common sizes (its face 60-200 px), each searched
   whole and then tile by tile; printed: faces found each way and milliseconds, and by the earlier search of one
   size of tiles (half the short side, from photos two tiles on their short side).
2. The smallest face found: the astronaut's face at 30-60 px, pasted into 8 grey photos each.
3. Recall (needs ``../shared/data``; skipped without it): 2 x 2 mosaics of four frames of the 1080p actor clips (four
   people at their own size, 3840 x 2160), and the same mosaics shrunk to a half, 0.35 and a quarter (faces 55-300 px);
   printed: faces found, whole picture and tiles together (tiles of several sizes, and of one as before), against the
   four people in each.

    python bench/tiles.py            # ~1 min on 2 cores

Run it on an idle machine (``uptime`` under 0.5) for the times.
"""

from __future__ import annotations

import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ACTORS = "../shared/data/ffpp_c40/original_sequences/actors/c40/videos"


def canvas(width: int, height: int, faces_px: list[int], seed: int = 0) -> np.ndarray:
    """A grey photo with the astronaut's picture pasted once per quarter, sized so that her face is ``faces_px``."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 100, np.uint8)
    for i, px in enumerate(faces_px):
        side = int(512 * px / 104)  # her face is about 104 px of the 512 px picture
        x = (i % 2) * width // 2 + int(rng.integers(0, max(1, width // 2 - side)))
        y = (i // 2) * height // 2 + int(rng.integers(0, max(1, height // 2 - side)))
        img[y : y + side, x : x + side] = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    return img


def held_apart(extra: list, whole: list) -> list:
    """The faces of ``extra`` that none of ``whole`` holds (as the pipeline joins them)."""
    from detector.inference.faces import iou

    def holds(g, f) -> bool:
        cx, cy = f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2
        return g.box[0] <= cx <= g.box[0] + g.box[2] and g.box[1] <= cy <= g.box[1] + g.box[3]

    return [f for f in extra if not any(iou(f.box, g.box) > 0.3 or holds(g, f) for g in whole)]


def one_size(detector, img: np.ndarray) -> list:
    """The earlier tile search: one size of tiles, half the short side, for a photo at least two tiles high."""
    from detector.inference.faces import TILE_CONFIDENCE, TILE_MIN, _nms

    side = min(img.shape[:2]) // 2
    if side < TILE_MIN:
        return []
    return _nms(sorted(detector._tiled(img, side, TILE_CONFIDENCE, side // 2), key=lambda f: -f.confidence))


def timing(detector) -> None:
    print("photo            faces (px)          whole: found, ms   tiles: found, ms   one size: found, ms")
    for (w, h), faces in (
        ((4000, 3000), [60, 90, 130, 200]),
        ((4096, 4096), [100]),
        ((2048, 2048), [100]),
        ((1920, 1080), [80]),
        ((1344, 756), [80, 100]),
    ):
        img = canvas(w, h, faces)
        t0 = time.perf_counter()
        whole = detector.detect(img)
        t1 = time.perf_counter()
        small = held_apart(detector.detect_small(img), whole)
        t2 = time.perf_counter()
        before = held_apart(one_size(detector, img), whole)
        t3 = time.perf_counter()
        print(
            f"{w} x {h:<8} {str(faces):20s} {len(whole):5d} {1e3 * (t1 - t0):7.0f}   "
            f"{len(small):9d} {1e3 * (t2 - t1):7.0f}   {len(before):12d} {1e3 * (t3 - t2):7.0f}"
        )


def recall(detector, mosaics: int = 12) -> None:
    import av
    import cv2

    clips = sorted(glob.glob(os.path.join(ACTORS, "*.mp4")))
    if not clips:
        print(f"\nrecall: skipped ({ACTORS} not found)")
        return
    frames = []
    for clip in clips:
        with av.open(clip) as c:
            for i, fr in enumerate(c.decode(video=0)):
                if i % 150 == 0:
                    frames.append(fr.to_ndarray(format="rgb24"))
                if i > 450:
                    break
    rng = np.random.default_rng(0)
    found: dict[float, list[int]] = {}
    for _ in range(mosaics):
        a, b, c, d = (frames[k] for k in rng.choice(len(frames), 4, replace=False))
        mosaic = np.vstack([np.hstack([a, b]), np.hstack([c, d])])
        for scale in (1.0, 0.5, 0.35, 0.25):
            img = mosaic if scale == 1 else cv2.resize(mosaic, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            whole = detector.detect(img)
            tally = found.setdefault(scale, [0, 0, 0, 0])
            tally[0] += 4
            tally[1] += len(whole)
            tally[2] += len(whole) + len(held_apart(detector.detect_small(img), whole))
            tally[3] += len(whole) + len(held_apart(one_size(detector, img), whole))
    print(f"\nrecall: {mosaics} mosaics of four actor frames (four people each; more found: people behind them)")
    print("scale  size          people  whole picture  whole + tiles  whole + one size of tiles")
    for scale, (people, whole, both, before) in found.items():
        w, h = round(3840 * scale), round(2160 * scale)
        print(f"{scale:5.2f}  {w} x {h:<6} {people:6d} {whole:14d} {both:14d} {before:14d}")


def smallest(detector, photos: int = 8) -> None:
    """How small a face is still found: the astronaut pasted at random into ``photos`` grey 1400 x 1000 photos, her face
    30-60 px; printed: photos where it was found (whole picture or tiles)."""
    import cv2
    from skimage import data

    print(f"\nsmallest face: the astronaut pasted into {photos} grey 1400 x 1000 photos")
    print("face px  found")
    for px in (30, 35, 40, 45, 50, 60):
        side, found = int(512 * px / 104), 0
        for k in range(photos):
            img = np.full((1000, 1400, 3), 100, np.uint8)
            rng = np.random.default_rng(k)
            x, y = int(rng.integers(0, 1400 - side)), int(rng.integers(0, 1000 - side))
            img[y : y + side, x : x + side] = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
            found += bool(detector.detect(img) or detector.detect_small(img))
        print(f"{px:7d}  {found} of {photos}")


def main() -> int:
    import torch

    from detector.inference.faces import FaceDetector

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    print(f"load average {os.getloadavg()[0]:.2f}")
    detector = FaceDetector()
    timing(detector)
    smallest(detector)
    recall(detector)
    return 0


if __name__ == "__main__":
    sys.exit(main())
