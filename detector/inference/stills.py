"""Still images (photos) as one-frame clips: the first stage of the pipeline for a jpg, png, webp or bmp.

:func:`read_still` gives the same ``(VideoInfo, [SampledFrame])`` pair as
:func:`detector.inference.video.sample_frames`, so faces, scores, CAM and the report are the
same code for a photo and a video.  Bad input (truncated, not an image, a
decompression bomb, too small to hold a face) raises
:class:`~detector.errors.InputError` with a one-line message.

Photos are often cropped tightly around a face (a profile picture, a press crop,
UTKFace).  :func:`pad_still` mirrors the borders outwards so that the detector sees
a whole face and the crop's margin sees surroundings, as in a video frame; faces
found in the mirrored border itself are dropped (see ``detect_faces(pad=...)``).
Training crops of stills are made by the same two functions.
"""

from __future__ import annotations

import os

import numpy as np

from detector.constants import IMAGE_EXTENSIONS
from detector.errors import InputError
from detector.inference.video import SampledFrame, VideoInfo

MAX_STILL_PIXELS = 64_000_000  # a 64-megapixel photo; larger is refused before it is decoded
MAX_STILL_SIDE = 4096  # larger photos are shrunk to this side after decoding (faces stay far above 160 px)
MIN_STILL_SIDE = 16  # smaller cannot hold a face the detector finds
STILL_PAD = 0.5  # mirror this share of each side outwards before face detection


def is_still(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a photo (by its extension, as the file picker and scan do)."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def read_still(path: str | os.PathLike) -> tuple[VideoInfo, list[SampledFrame]]:
    """A photo as a one-frame clip: RGB, upright by its EXIF orientation, at most MAX_STILL_SIDE pixels a side."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    path = str(path)
    name = path  # as video errors name it: in a folder tree, which IMG_0001.jpg failed
    if not os.path.isfile(path):
        raise InputError(f"{name}: no such file" if not os.path.exists(path) else f"{name}: not a regular file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow's own complaints (e.g. "Corrupt EXIF data") would reach stderr as two more lines: a damaged
            # part that does not stop the picture is ignored, as the malformed EXIF below is
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_STILL_PIXELS:
                    raise InputError(
                        f"{name}: {w}x{h} is too large a picture ({w * h / 1e6:.0f} megapixels; "
                        f"at most {MAX_STILL_PIXELS / 1e6:.0f})"
                    )
                if min(w, h) < MIN_STILL_SIDE:
                    raise InputError(f"{name}: {w}x{h} is too small a picture to hold a face")
                if min(w, h) * min(1.0, MAX_STILL_SIDE / max(w, h)) < MIN_STILL_SIDE:  # its short side once shrunk
                    raise InputError(f"{name}: {w}x{h} is too narrow a picture to hold a face")
                fmt = im.format or "image"
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:  # noqa: BLE001 -- malformed EXIF: keep the picture as stored, unrotated
                    pass
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale to 8 bits, do not clip
                    im = im.point(lambda v: v / 256).convert("L") if im.mode != "I" else im.convert("L")
                im = im.convert("RGB")
                if max(im.size) > MAX_STILL_SIDE:
                    im.thumbnail((MAX_STILL_SIDE, MAX_STILL_SIDE), Image.Resampling.LANCZOS)
                image = np.asarray(im, dtype=np.uint8).copy()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: refused, its declared size is a decompression bomb") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not a picture this can read (jpg, png, webp, bmp)") from None
    except OSError as e:
        if e.errno is None:  # Pillow's truncated or corrupt data (no system error number)
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"{name}: a damaged picture ({msg})") from None
        raise InputError(f"{name}: the file cannot be read ({e.strerror or e})") from None  # permissions, I/O
    except (ValueError, SyntaxError) as e:  # corrupt data
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{name}: a damaged picture ({msg})") from None
    info = VideoInfo(
        path=path,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        fps=0.0,
        duration=0.0,
        frame_count=1,
        rotation=0,
        codec=fmt.lower(),
    )
    return info, [SampledFrame(index=0, time=0.0, image=image)]


def pad_still(image: np.ndarray, share: float = STILL_PAD) -> tuple[np.ndarray, int, int]:
    """``image`` with ``share`` of its height/width mirrored outwards on each side; returns it and the (x, y) offset
    of the original inside it."""
    import cv2

    h, w = image.shape[:2]
    py, px = int(round(share * h)), int(round(share * w))
    if not (px or py):
        return image, 0, 0
    # REFLECT_101 needs the pad below the side: repeat for shares over 1 is not needed here
    py, px = min(py, h - 1), min(px, w - 1)
    return cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_REFLECT_101), px, py


__all__ = ["IMAGE_EXTENSIONS", "is_still", "read_still", "pad_still", "MAX_STILL_PIXELS", "STILL_PAD"]
