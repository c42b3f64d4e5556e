"""Small clips rendered from public-domain images that ship with scikit-image.

Used by the tests, the benchmark and the app's examples, so nothing of the
FaceForensics++ data ever needs to be copied into the repository.

    render_clip("astronaut.mp4", seconds=2, size=(640, 480))   # a face, panned and zoomed
    render_clip("plain.mp4", seconds=1, source="plain")          # no face at all
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # 512 x 512 RGB, public domain (NASA)


def _frame(source: np.ndarray, t: float, width: int, height: int) -> np.ndarray:
    """The source panned and zoomed over time ``t`` in [0, 1], letterboxed into width x height."""
    import cv2

    h, w = source.shape[:2]
    zoom = 1.0 + 0.25 * np.sin(np.pi * t)  # in and out once
    side = int(min(h, w) / zoom)
    max_dx = w - side
    x0 = int(round(max_dx * (0.5 + 0.5 * np.sin(2 * np.pi * t)) * 0.6))
    y0 = int(round((h - side) * 0.2))
    view = source[y0 : y0 + side, x0 : x0 + side]
    scale = min(width / side, height / side)
    view = cv2.resize(view, (int(side * scale), int(side * scale)), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[:] = (40, 60, 90)
    vy, vx = (height - view.shape[0]) // 2, (width - view.shape[1]) // 2
    canvas[vy : vy + view.shape[0], vx : vx + view.shape[1]] = view
    return canvas


def render_clip(
    path: str,
    seconds: float = 2.0,
    fps: int = 25,
    size: tuple[int, int] = (640, 480),
    source: str | np.ndarray = "astronaut",
    codec: str = "libx264",
    transform: Callable[[np.ndarray, int], np.ndarray] | None = None,
    rotate: int | None = None,
) -> str:
    """Write an H.264 clip: ``source`` is "astronaut", "plain" (one flat colour, no face) or an image.

    ``transform(frame, i)`` may alter each frame (the app's self-blended example uses it).
    ``rotate`` writes a rotation tag (degrees), like phones do.
    """
    width, height = size
    if isinstance(source, str):
        image = astronaut() if source == "astronaut" else None
    else:
        image = source
    n = max(1, int(round(seconds * fps)))
    with av.open(path, "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "20", "g": str(fps)}
        if rotate is not None:
            stream.metadata["rotate"] = str(rotate)
        for i in range(n):
            if image is None:
                frame = np.full((height, width, 3), (90, 140, 200), dtype=np.uint8)
            else:
                frame = _frame(image, i / max(n - 1, 1), width, height)
            if transform is not None:
                frame = transform(frame, i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
