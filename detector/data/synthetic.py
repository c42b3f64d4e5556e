"""Small clips rendered from public-domain images that ship with scikit-image.

Used by the tests, the benchmark and the app's examples, so nothing of the
FaceForensics++ data ever needs to be copied into the repository.

    render_clip("astronaut.mp4", seconds=2, size=(640, 480))   # a face, panned and zoomed
    render_clip("plain.mp4", seconds=1, source="plain")          # no face at all
    burn_caption(frame, "a line of text", 320, 400, 20, "outline")  # a burned-in caption, as social video has
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np

# how burn_caption draws a caption:
#   outline  white letters, a black outline (OpenCV's own font; the common social-video caption)
#   boxed    white letters on a 75% opaque black band (OpenCV's font; broadcast and video players' captions)
#   social   bold TrueType letters (DejaVu Sans Bold, from matplotlib), white with a black stroke, half as large again
#   yellow   the same letters in yellow with a soft dark shadow and no stroke
CAPTION_STYLES = ("outline", "boxed", "social", "yellow")
# and a watermark (drawn by burn_caption too; not among training's captions):
#   agency   bold TrueType letters, white at 50% over the picture, no edge (an agency's or a channel's name)
#   handle   a logo square and the text in bold letters, white at 85% over a soft shadow (a platform's @handle)
WATERMARK_STYLES = ("agency", "handle")


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


def burn_caption(img: np.ndarray, text: str, centre_x: float, middle_y: float, height: float, style: str) -> np.ndarray:
    """``img`` (RGB) with ``text`` drawn on it, centred at (``centre_x``, ``middle_y``), its capitals ``height`` px
    high, in ``style`` (:data:`CAPTION_STYLES`, or a watermark's :data:`WATERMARK_STYLES`)."""
    import cv2

    if style in ("social", "yellow"):
        return _truetype_caption(img, text, centre_x, middle_y, height, style)
    if style in WATERMARK_STYLES:
        return _watermark(img, text, centre_x, middle_y, height, style)
    font, out = cv2.FONT_HERSHEY_DUPLEX, img.copy()
    scale = max(0.3, height / 22.0)  # DUPLEX capitals are ~22 px high at scale 1
    thick = max(1, int(round(scale * 1.6)))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    x, y = int(round(centre_x - tw / 2)), int(round(middle_y + th / 2))
    if style == "boxed":
        pad = int(round(th * 0.35))
        band = out.copy()
        cv2.rectangle(band, (x - pad, y - th - pad), (x + tw + pad, y + base + pad), (0, 0, 0), -1)
        out = cv2.addWeighted(band, 0.75, out, 0.25, 0)  # 75% opaque: video players' default
    elif style == "outline":
        cv2.putText(out, text, (x, y), font, scale, (0, 0, 0), thick + max(2, thick), cv2.LINE_AA)
    else:
        raise ValueError(f"unknown style {style!r}: one of {', '.join(CAPTION_STYLES + WATERMARK_STYLES)}")
    cv2.putText(out, text, (x, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


@functools.lru_cache(maxsize=64)
def _bold_font(size: int):
    """matplotlib's own DejaVu Sans Bold at ``size`` (loaded once per size: training draws captions by the
    thousand)."""
    import matplotlib
    from PIL import ImageFont

    path = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", "DejaVuSans-Bold.ttf")
    return ImageFont.truetype(path, size)


def _truetype_caption(img: np.ndarray, text: str, centre_x: float, middle_y: float, height: float, style: str):
    from PIL import Image, ImageDraw, ImageFilter

    size = max(8, int(round(height * 1.5 / 0.73)))  # DejaVu's capitals are ~0.73 of its size
    font = _bold_font(size)
    out = Image.fromarray(img)
    x0, y0, x1, y1 = ImageDraw.Draw(out).textbbox((0, 0), text, font=font, anchor="lm")
    at = (int(round(centre_x - (x1 - x0) / 2)), int(round(middle_y)))
    if style == "social":
        ImageDraw.Draw(out).text(
            at,
            text,
            font=font,
            anchor="lm",
            fill=(255, 255, 255),
            stroke_width=max(1, size // 9),
            stroke_fill=(0, 0, 0),
        )
        return np.asarray(out)
    shadow = Image.new("L", out.size, 0)
    off = max(1, size // 14)
    ImageDraw.Draw(shadow).text((at[0] + off, at[1] + off), text, font=font, anchor="lm", fill=200)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, size // 16)))
    out = Image.composite(Image.new("RGB", out.size, (0, 0, 0)), out, shadow)
    ImageDraw.Draw(out).text(at, text, font=font, anchor="lm", fill=(255, 230, 40))
    return np.asarray(out)


def _watermark(img: np.ndarray, text: str, centre_x: float, middle_y: float, height: float, style: str) -> np.ndarray:
    """``img`` with ``text`` laid over it as a watermark (:data:`WATERMARK_STYLES`): white letters blended into the
    picture, with no edge ("agency", 50%), or after a logo square over a soft shadow ("handle", 85%)."""
    from PIL import Image, ImageDraw, ImageFilter

    font = _bold_font(max(8, int(round(height / 0.73))))  # DejaVu's capitals are ~0.73 of its size
    if style == "handle":
        text = "\u25a0 " + text
    cover = Image.new("L", (img.shape[1], img.shape[0]), 0)
    ImageDraw.Draw(cover).text((centre_x, middle_y), text, font=font, anchor="mm", fill=255)
    alpha = np.asarray(cover, np.float32)[..., None] / 255
    out = img.astype(np.float32)
    if style == "handle":
        shadow = np.asarray(cover.filter(ImageFilter.GaussianBlur(max(1.0, height / 8))), np.float32)[..., None] / 255
        off = max(1, int(round(height / 10)))
        out *= 1 - 0.5 * np.roll(shadow, (off, off), (0, 1))
    strength = 0.85 if style == "handle" else 0.5
    out = out * (1 - strength * alpha) + 255 * strength * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
