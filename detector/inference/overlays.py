"""Text laid over a face: found in its crop and painted out before the face is judged.

Social video burns its captions into the picture, often across the chin of a face that fills the frame; a meme's
words lie over the photo. No training face carried text, and the models read the sharp, high-contrast letters as a
sign of a fake: an audit found burned-in subtitles over the chin made 16 of 40 real portrait clips "fake". Captions
are drawn to be read over any picture, so their letters are bright and edged by dark (an outline, a shadow, a dark
band behind them) and stand in a row of like-sized shapes: that is what :func:`text_lines` looks for, in the crop
the model is given. :func:`paint_out_text` fills each line found from the pixels round it (OpenCV's Telea
inpainting), so the model judges the rest of the face; the report says so, for what lay under the text (often the
mouth) was not judged.

Measured (``scripts/subtitle_probe.py``; docs/results.md "Text laid over the face"): found in none of 1,488 UTKFace
photos' crops nor 203 video frames without text.
"""

from __future__ import annotations

__all__ = [
    "text_lines",
    "paint_out_text",
    "text_over_warning",
    "TEXT_BRIGHT",
    "TEXT_DARK",
    "TEXT_MIN_LETTERS",
    "TEXT_MIN_SPAN",
]

import numpy as np

TEXT_BRIGHT = 200  # a letter's pixels are at least this bright (grey level, 0-255)...
TEXT_DARK = 70  # ...and lie within a stroke's width of pixels at most this bright (its outline, shadow or band)
TEXT_MIN_LETTERS = 6  # a line of text: at least this many letter-sized shapes side by side...
TEXT_MIN_SPAN = 0.35  # ...spanning at least this share of the crop's width
LETTER_HEIGHT = (0.02, 0.2)  # a letter's height, as shares of the crop's side
LETTER_MAX_WIDTH = 0.3  # and its width at most this share
MAX_SHAPES = 400  # a crop with more bright-edged shapes than this is noise, not text: nothing is found


def _shapes(grey: np.ndarray, side: int) -> list[tuple[int, int, int, int]]:
    """Letter-sized bright shapes edged by dark, as (x, y, w, h)."""
    import cv2

    r = max(1, int(round(side / 120)))  # a stroke's width, about
    near_dark = cv2.dilate((grey <= TEXT_DARK).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    marks = ((grey >= TEXT_BRIGHT) & near_dark).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    lo, hi = LETTER_HEIGHT[0] * side, LETTER_HEIGHT[1] * side
    shapes = [tuple(int(v) for v in stats[i, :4]) for i in range(1, n) if stats[i, 4] >= 4]
    return [s for s in shapes if lo <= s[3] <= hi and s[2] <= LETTER_MAX_WIDTH * side]


def text_lines(crop: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The lines of text laid over ``crop`` (a square RGB face crop), each as a box (x0, y0, x1, y1) in its pixels:
    at least :data:`TEXT_MIN_LETTERS` bright, dark-edged shapes of like height whose middles lie on one row,
    spanning :data:`TEXT_MIN_SPAN` of the width.  A line reaching within its height of the crop's side runs on past
    it (a caption is wider than a face): its box is taken to that side.  [] where none is found."""
    import cv2

    if crop is None or crop.ndim != 3 or min(crop.shape[:2]) < 32:
        return []
    side = crop.shape[1]
    shapes = _shapes(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY), side)
    if len(shapes) < TEXT_MIN_LETTERS or len(shapes) > MAX_SHAPES:
        return []
    shapes.sort(key=lambda s: s[1] + s[3] / 2)
    used = [False] * len(shapes)
    lines = []
    for i, (_, y, _, h) in enumerate(shapes):
        if used[i]:
            continue
        middle = y + h / 2
        row = [
            j
            for j, s in enumerate(shapes)
            if not used[j] and abs(s[1] + s[3] / 2 - middle) <= 0.5 * max(h, s[3])  # on the same row...
        ]
        height = float(np.median([shapes[j][3] for j in row]))
        row = [j for j in row if 0.5 * height <= shapes[j][3] <= 2.0 * height]  # ...and of like height
        if len(row) < TEXT_MIN_LETTERS:
            continue
        x0 = min(shapes[j][0] for j in row)
        x1 = max(shapes[j][0] + shapes[j][2] for j in row)
        if x1 - x0 < TEXT_MIN_SPAN * side:
            continue
        y0 = min(shapes[j][1] for j in row)
        y1 = max(shapes[j][1] + shapes[j][3] for j in row)
        for j in row:
            used[j] = True
        x0 = 0 if x0 <= height else x0
        x1 = side if side - x1 <= height else x1
        lines.append((x0, y0, x1, y1))
    return _merged(lines)


def _merged(lines: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes whose rows overlap, as one (a line's capitals and its small letters, found as two rows)."""
    out: list[list[int]] = []
    for x0, y0, x1, y1 in sorted(lines, key=lambda b: b[1]):
        if out and y0 <= out[-1][3]:
            last = out[-1]
            last[:] = [min(last[0], x0), last[1], max(last[2], x1), max(last[3], y1)]
        else:
            out.append([x0, y0, x1, y1])
    return [tuple(b) for b in out]


def paint_out_text(crop: np.ndarray) -> tuple[np.ndarray, float]:
    """``crop`` with the lines of :func:`text_lines` painted out (each line's box grown by half its height, filled
    from the pixels round it by Telea's inpainting), and the share of the crop painted; ``(crop, 0.0)`` itself where
    no text is found."""
    import cv2

    lines = text_lines(crop)
    if not lines:
        return crop, 0.0
    side = crop.shape[1]
    mask = np.zeros(crop.shape[:2], np.uint8)
    for x0, y0, x1, y1 in lines:
        grow = int(round(0.5 * (y1 - y0))) + max(1, side // 120)
        mask[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = 1
    painted = cv2.inpaint(np.ascontiguousarray(crop), mask, max(3, side // 40), cv2.INPAINT_TELEA)
    return painted, float(mask.mean())


def text_over_warning(frames) -> str:
    """What the report says where text was painted out of any face of ``frames`` (each with ``faces``, each with
    ``text_over``: see :class:`~detector.inference.faces.Face`); "" where none was."""
    faces = [f for fr in frames for f in fr.faces]
    covered = [f for f in faces if f.text_over]
    if not covered:
        return ""
    if len(frames) == 1:
        where = "the face" if len(faces) == 1 else f"{len(covered)} of the {len(faces)} faces"
    else:
        shown = [fr for fr in frames if fr.faces]
        where = f"faces in {sum(any(f.text_over for f in fr.faces) for fr in shown)} of the {len(shown)} frames"
    share = max(f.text_over for f in covered)
    return (
        f"Text laid over the face (a caption, or other lettering) was found on {where} and painted out before "
        f"judging (up to {share:.0%} of a face's square): the models never trained on faces under text, and read "
        "its sharp letters as a sign of a fake. What the text hid, often the mouth and chin, was not judged, so a "
        "change made there can be missed."
    )
