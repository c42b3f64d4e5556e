"""Pictures of faces: gallery tiles (crop beside its CAM overlay) and frames with boxes drawn.

Each gallery tile is the face crop next to its class-activation map over the crop,
framed red when the face scores at or above the threshold, amber in the model's
uncertain band below it, and green below that, so the most suspicious faces stand out.
:func:`gallery_items` orders tiles by time or "most fake first" and returns, for each
tile, the position of its frame in ``report.frames`` (the app uses it to show the frame
when a tile is clicked).
"""

from __future__ import annotations

import cv2
import numpy as np

from detector.inference.report import FaceResult, Report, verdict
from detector.inference.stills import is_still

RED = (214, 39, 40)
GREEN = (44, 160, 44)
AMBER = (214, 140, 0)
GREY = (120, 120, 120)
ORDERS = ("time", "most fake first")
_COLOURS = {"fake": RED, "uncertain": AMBER, "real": GREEN}
_WORDS = {"fake": "FAKE", "uncertain": "uncertain", "real": "real"}


def _colour(score: float, threshold: float, band: list[float] | None = None) -> tuple[int, int, int]:
    return _COLOURS.get(verdict(score, threshold, band), GREY)


def _square(image: np.ndarray, side: int) -> np.ndarray:
    interp = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_LINEAR
    return cv2.resize(image, (side, side), interpolation=interp)


def _label(image: np.ndarray, text: str, org: tuple[int, int], colour, scale: float = 0.5) -> None:
    """Text on a filled box of ``colour`` (white letters), drawn in place."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    y = max(th + base + 2, y)
    cv2.rectangle(image, (x, y - th - base - 4), (x + tw + 6, y), colour, -1)
    cv2.putText(image, text, (x + 3, y - base - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def face_tile(
    face: FaceResult,
    threshold: float,
    side: int = 176,
    border: int = 6,
    band: list[float] | None = None,
    panel: bool = True,
) -> np.ndarray:
    """Crop | CAM overlay (or a grey "not explained" panel), framed in the verdict colour (``band``: uncertain).
    ``panel=False``: the crop alone (no second panel), for a face that has no CAM."""
    crop = _square(face.crop if face.crop is not None else np.zeros((side, side, 3), np.uint8), side)
    right = None
    if face.cam is not None:
        from explain import overlay

        right = overlay(crop, cv2.resize(face.cam.astype(np.float32), (side, side)))
    elif panel:
        right = (crop * 0.35 + 90).astype(np.uint8)
        for i, line in enumerate(("no CAM: only the", "most fake faces are", "explained (settings)")):
            cv2.putText(
                right,
                line,
                (10, side // 2 - 14 + 18 * i),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
    tile = crop if right is None else np.concatenate([crop, np.full((side, 4, 3), 255, np.uint8), right], axis=1)
    colour = _colour(face.score, threshold, band)
    tile = cv2.copyMakeBorder(tile, border, border, border, border, cv2.BORDER_CONSTANT, value=colour)
    _label(tile, f"{face.score:.2f}", (border, border + 22), colour, scale=0.6)
    return tile


def gallery_items(
    report: Report, order: str = "time", side: int = 176
) -> tuple[list[tuple[np.ndarray, str]], list[int]]:
    """Tiles with captions and the frame position of each, ordered by time or most fake first."""
    entries = [(pos, fr, f) for pos, fr in enumerate(report.frames) for f in fr.faces]
    if order == "most fake first":
        entries.sort(key=lambda e: (-e[2].score, e[1].time))
    items, positions = [], []
    photo = is_still(report.video)
    for pos, fr, f in entries:
        word = _WORDS.get(verdict(f.score, report.threshold, report.uncertain), "?")
        where = "" if photo else f"{fr.time:.2f} s · "  # a photo has no time
        caption = f"{where}face {f.identity} · fake {f.score:.2f} ({word})"
        items.append((face_tile(f, report.threshold, side, band=report.uncertain), caption))
        positions.append(pos)
    return items, positions


def draw_boxes(
    image: np.ndarray, faces: list[FaceResult], threshold: float, band: list[float] | None = None
) -> np.ndarray:
    """A copy of the frame with each face's box and score, red at/above the threshold, amber in the uncertain
    ``band`` below it, green below that."""
    out = image.copy()
    thick = max(2, round(max(out.shape[:2]) / 320))
    scale = max(0.5, max(out.shape[:2]) / 1100)
    for f in faces:
        x, y, w, h = (int(v) for v in f.box)
        colour = _colour(f.score, threshold, band)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick)
        _label(out, f"face {f.identity}: {f.score:.2f}", (x, y - 2), colour, scale)
    return out


def frame_view(report: Report, pos: int) -> tuple[np.ndarray | None, str]:
    """The sampled frame at position ``pos`` with its boxes drawn, and a one-line caption."""
    if not report.frames:
        return None, ""
    pos = int(min(max(pos, 0), len(report.frames) - 1))
    fr = report.frames[pos]
    image = (report.frame_images or {}).get(fr.index)
    scores = ", ".join(f"face {f.identity} {f.score:.2f}" for f in fr.faces) or "no face found"
    if is_still(report.video):
        caption = f"The photo · {scores}"
    else:
        caption = f"Sampled frame {pos + 1} of {len(report.frames)} · t = {fr.time:.2f} s (frame {fr.index}) · {scores}"
    if image is None:
        return None, caption
    return draw_boxes(image, fr.faces, report.threshold, report.uncertain), caption


def side_by_side(
    left: np.ndarray, right: np.ndarray, labels: tuple[str, str] = ("original", "perturbed"), height: int = 300
) -> np.ndarray:
    """Two frames at the same height next to each other, each with its label (the lab's preview)."""

    def fit(img):
        scale = height / img.shape[0]
        return cv2.resize(img, (max(1, round(img.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)

    a, b = fit(left), fit(right)
    _label(a, labels[0], (0, height), GREY, 0.7)  # bottom-left: the top-left holds the viewer's own label
    _label(b, labels[1], (0, height), GREY, 0.7)
    return np.concatenate([a, np.full((height, 8, 3), 255, np.uint8), b], axis=1)


__all__ = ["gallery_items", "face_tile", "draw_boxes", "frame_view", "side_by_side", "ORDERS"]
