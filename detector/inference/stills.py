"""Still images (photos) as one-frame clips: the first stage of the pipeline for a jpg, png, webp, bmp or a
one-frame gif (an animated gif is a clip, read by :mod:`detector.inference.video`).

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

A picture's transparent parts (a png or webp cut out around a person) are laid on white, as a browser shows
them on a white page: the colours stored under a fully transparent pixel are never seen by a person and are
often junk (black, or what the editor left there).
"""

from __future__ import annotations

import os

import numpy as np

from detector.constants import GIF_EXTENSIONS, IMAGE_EXTENSIONS
from detector.errors import InputError
from detector.inference.video import SampledFrame, VideoInfo

MAX_STILL_PIXELS = 64_000_000  # a 64-megapixel photo; larger is refused before it is decoded
MAX_STILL_SIDE = 4096  # larger photos are shrunk to this side after decoding (faces stay far above 160 px)
MIN_STILL_SIDE = 16  # smaller cannot hold a face the detector finds
STILL_PAD = 0.5  # mirror this share of each side outwards before face detection
TRANSPARENT_SHARE = 0.01  # a photo with at least this share of (partly) transparent pixels is a cut-out: warned of
CUT_OUT_WARNING = (
    "The photo has transparent parts (a cut-out, its background removed): they are analysed and shown as white. "
    "A cut-out is itself an edit the model never trained on, and its edge can look like a manipulation: 92 of 150 "
    "real portraits cut out as an oval were called fake, so a cut-out is never called more than uncertain. Give the "
    "original picture if you have it."
)
JPEG_GREY = 128  # what the JPEG decoder fills a picture's rest with when the file's data stops before the picture does
MIN_GREY_ROWS = 8  # a flat grey band at a JPEG's bottom at least this tall (and 2% of it) is warned of as cut short


def grey_tail_warning(share: float) -> str:
    """The warning for a JPEG whose last ``share`` of rows is the decoder's flat grey (:func:`_grey_tail`)."""
    return (
        f"The last {100 * share:.0f}% of the picture's rows (its bottom, unless the photo is shown turned) are flat "
        "grey, as when a file was cut short (an interrupted download or copy) and only the rest holds the picture; a "
        "picture whose bottom is truly plain mid-grey reads the same. Give the whole file if you have it."
    )


PHOTO_FORMATS = "jpg, png, webp, bmp or gif"  # what is read (an animated gif as a clip), for messages


def is_still(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a photo: by its extension, as the file picker and scan do; a gif by its content (one
    frame: a photo; animated: a clip).  A gif that cannot be opened counts as a photo, so that :func:`read_still`
    gives the reason."""
    name = str(path).lower()
    if name.endswith(IMAGE_EXTENSIONS):
        return True
    return name.endswith(GIF_EXTENSIONS) and not _animated(str(path))


def is_photo_report(video: str, video_info: dict | None) -> bool:
    """Whether a report (its ``video`` name and ``video_info``) is of a photo, without its file (the app keeps only
    the base name): by the name, and for a gif by how it was read (a photo has no frame rate)."""
    name = str(video).lower()
    if name.endswith(IMAGE_EXTENSIONS):
        return True
    return name.endswith(GIF_EXTENSIONS) and not float((video_info or {}).get("fps") or 0.0)


def _animated(path: str) -> bool:
    """Whether the gif at ``path`` holds more than one frame (Pillow looks for a second one only)."""
    import warnings

    from PIL import Image

    if not os.path.isfile(path):  # a FIFO named .gif would block the open for ever (a review): read_still says why
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: read_still gives the one line
            with Image.open(path) as im:
                return bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001 -- missing, damaged, a bomb: read_still says why
        return False


def read_still(path: str | os.PathLike) -> tuple[VideoInfo, list[SampledFrame]]:
    """A photo as a one-frame clip: RGB, upright by its EXIF orientation, at most MAX_STILL_SIDE pixels a side."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    path = str(path)
    name = path  # as video errors name it: in a folder tree, which IMG_0001.jpg failed
    if not os.path.isfile(path):
        try:
            os.stat(path)
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except OSError as e:  # a name too long, a link loop: said as it is (an audit: "no such file")
            raise InputError(f"{name}: cannot be read ({e.strerror or e})") from None
        what = (
            "is a folder, not a video or a photo"
            if os.path.isdir(path)
            else "not a regular file (a device, pipe or socket)"
        )
        raise InputError(f"{name}: {what}")  # worded as video.py's checks word them (an audit)
    if os.path.getsize(path) == 0:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow's own complaints (e.g. "Corrupt EXIF data") would reach stderr as two more lines: a damaged
            # part that does not stop the picture is ignored, as the malformed EXIF below is
            warnings.simplefilter("ignore")  # a DecompressionBombWarning too: MAX_STILL_PIXELS is stricter
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
                # in the stored orientation, before turning; a phone's JPEG with a depth or gain map reads as MPO
                grey_rows = _grey_tail(im) if fmt in ("JPEG", "MPO") else 0
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:  # noqa: BLE001 -- malformed EXIF: keep the picture as stored, unrotated
                    pass
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale to 8 bits, do not clip
                    im = im.point(lambda v: v / 256).convert("L") if im.mode != "I" else im.convert("L")
                im, transparent = _on_white(im)
                shrunk_from = None
                if max(im.size) > MAX_STILL_SIDE:
                    shrunk_from = [int(v) for v in im.size]  # upright, as shown (a journalist's audit: the report
                    # gave 4096x2731 for a 6000x4000 photo, and boxes in those pixels, without a word)
                    im.thumbnail((MAX_STILL_SIDE, MAX_STILL_SIDE), Image.Resampling.LANCZOS)
                image = np.asarray(im, dtype=np.uint8).copy()
    except InputError:
        raise
    except Image.DecompressionBombError as e:  # over twice Pillow's limit: refused by Pillow before its size is read
        raise InputError(_bomb_message(name, str(e))) from None
    except UnidentifiedImageError:
        video = _video_signature(path)
        if video:  # a clip under a photo's name (a review: an mp4 named .gif got only "not a picture")
            raise InputError(f"{name}: holds a video ({video}), not a picture; name it .{video}") from None
        raise InputError(f"{name}: not a picture this can read ({PHOTO_FORMATS})") from None
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
        transparent=transparent,
        grey_share=round(grey_rows / h, 3) if grey_rows >= max(MIN_GREY_ROWS, 0.02 * h) else 0.0,
        shrunk_from=shrunk_from,
    )
    return info, [SampledFrame(index=0, time=0.0, image=image)]


def _video_signature(path: str) -> str | None:
    """ "mp4", "webm" or "avi" when the file starts as such a video does; else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def _grey_tail(im) -> int:
    """How many rows at the bottom of a decoded JPEG (``im``, still in its stored orientation) are all exactly
    :data:`JPEG_GREY`: what the decoder fills in when the data stops early but the file still ends with an end
    marker (a cut-short file that decodes without an error).  0 for other modes (CMYK...).  A picture that truly
    ends in a 128-grey band reads the same (hence the warning's "may"); a cut progressive JPEG has no such band
    (its rest is coarse, not grey) and is not found."""
    if im.mode not in ("RGB", "L"):
        return 0
    w, h = im.size
    rows, step = 0, 64
    while rows < h:
        strip = np.asarray(im.crop((0, max(0, h - rows - step), w, h - rows)))
        flat = np.all(strip.reshape(strip.shape[0], -1) == JPEG_GREY, axis=1)[::-1]  # from the bottom up
        if not flat.all():
            return rows + int(np.argmin(flat))
        rows += len(flat)
    return rows


def _on_white(im):
    """(``im`` as RGB, its transparent parts (alpha, or a palette's transparent colour) laid on white; whether at
    least :data:`TRANSPARENT_SHARE` of it was transparent)."""
    from PIL import Image

    if "transparency" in im.info:  # a palette's, or an RGB or grey png's colour key (tRNS)
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        alpha = np.asarray(im.getchannel("A"))
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB"), bool(np.mean(alpha < 255) >= TRANSPARENT_SHARE)
    return im.convert("RGB"), False


def _bomb_message(name: str, reason: str) -> str:
    """Pillow's decompression-bomb refusal as the same "too large" line as a picture under Pillow's limit."""
    import re

    m = re.search(r"\((\d+) pixels\)", reason)
    size = f"{int(m.group(1)) / 1e6:.0f} megapixels; " if m else ""
    return f"{name}: too large a picture ({size}at most {MAX_STILL_PIXELS / 1e6:.0f})"


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


__all__ = [
    "IMAGE_EXTENSIONS",
    "PHOTO_FORMATS",
    "is_still",
    "is_photo_report",
    "read_still",
    "pad_still",
    "MAX_STILL_PIXELS",
    "STILL_PAD",
]
