"""Text laid over a face: found in its crop, said, and alone the ground of a "fake" only over a threshold of its own.

Social video burns its captions into the picture, often across the chin of a face that fills the frame; a meme's
words lie over the photo. No training face carried text, and the models read the sharp, high-contrast letters as a
sign of a fake (burned-in captions across the chin made real clips "fake": docs/results.md "Text laid over the
face"). Captions are drawn to be read over any picture, so their letters are bright and edged by dark (an outline, a
shadow, a dark band behind them) and stand in a row of like-sized shapes: that is what :func:`text_lines` looks
for, in the crop the model is given, keeping the lines that cross the face itself (not its margin: a T-shirt's print
below the chin is left alone). A watermark (an agency's name, a platform's @handle) is the other kind: letters laid
half transparent over the picture, lighter than what lies under them, with no dark edge; they are found as
letter-sized light strokes standing close side by side on one baseline (:func:`_light_lines`). :func:`text_over`
gives the share of the crop under them; the report says so, and a verdict resting on faces under text alone is
never more than "uncertain" under the model card's threshold for faces under text (``text_over``, set on real faces
with text laid over them; never at all where the card has none: :func:`detector.inference.report.with_text_over`).
The face is judged as the picture shows it: covering the text (:func:`paint_out_text`, a flat bar of the colour round
it, the best of the fills measured) lowered the real clips' scores but also the fakes', so that half of the captioned
fakes read "real" (:data:`PAINT_TEXT`).

Not found: letters darker than what lies under them, faint watermarks (lifting the picture by less than
:data:`WATERMARK_LIFT`'s smaller step, as a half-transparent white does over pale skin), watermarks tiled at a slant,
captions of fewer than :data:`TEXT_MIN_LETTERS` letters, very large letters (a fifth of the crop and more).
"""

from __future__ import annotations

__all__ = [
    "text_lines",
    "paint_out_text",
    "text_mask",
    "text_over",
    "PAINT_TEXT",
    "text_over_warning",
    "face_in_crop",
    "TEXT_BRIGHT",
    "TEXT_DARK",
    "TEXT_MIN_LETTERS",
    "TEXT_MIN_SPAN",
    "CAPTION_MIN_SPAN",
    "TEXT_MAX_SHARE",
    "WATERMARK_LIFT",
    "WATERMARK_SIDE",
]

import numpy as np

TEXT_BRIGHT = 200  # a letter's pixels are at least this bright (grey level, 0-255)...
TEXT_DARK = 70  # ...and lie within a stroke's width of pixels at most this bright (its outline, shadow or band)
TEXT_MIN_LETTERS = 6  # a line of text: at least this many letter-sized shapes side by side...
TEXT_MIN_SPAN = 0.35  # ...spanning at least this share of the crop's width (a watermark's light letters)...
# ...or this share, for bright letters edged by dark (a caption): a short one ("wait for it") over a small photo's face
# spans 0.27-0.31 of the crop, and 0.35 missed it on 18 of 40 held-out photos (found on 39 of 40 at 0.25; photos of
# the calibration draw of docs/results.md "A threshold of its own for faces under text", not those it reports)
CAPTION_MIN_SPAN = 0.25
TEXT_MAX_SHARE = 0.5  # lines covering more of the crop than this are a pattern (a checked shirt), not text
LETTER_HEIGHT = (0.02, 0.2)  # a letter's height, as shares of the crop's side
LETTER_MAX_WIDTH = 0.3  # and its width at most this share
MAX_SHAPES = 400  # a crop with more bright-edged shapes than this is noise, not text: nothing is found
# a watermark's letters: strokes lighter than the picture round them by at least one of these grey levels (a white
# top-hat: the picture less its opening by a square 1/40 or 1/20 of the crop wide, which takes away light strokes
# narrower than it), standing side by side (gaps under WATERMARK_GAP of their height) on one baseline; their shapes
# at most WATERMARK_FILL filled (a stroke, not a blob: teeth, a highlight).  Chosen over a small grid on the first 150
# of the 300 held-out real photos of docs/results.md "Watermarks over the face", with a drawn agency name and @handle
# over the face and as they are; the other 150, the clips and the held-out evaluation played no part (the height and
# baseline checks came from a review's textures)
WATERMARK_LIFT = (25, 40)
WATERMARK_KERNELS = (1 / 40, 1 / 20)
WATERMARK_GAP = 0.6
WATERMARK_FILL = 0.75
WATERMARK_BASELINE = 0.6  # at least this share of a line's letters end within a fifth of their height of its baseline
WATERMARK_DRIFT = 1.5  # a line's box at most this many times its tallest letter high (ascenders and descenders)
WATERMARK_SIDE = 400  # a larger crop is looked at shrunk to this side (the search: ~3 ms at 400 px)
# whether the pipeline covers the text it finds before judging a face (paint_out_text), or judges the picture as it
# is; either way a verdict resting on faces under text alone is "fake" only over the card's threshold for them.
# Measured both ways (docs/results.md "Text laid over the face"): covered, the real clips' scores fell back, but so
# did the fakes', and half of 99 captioned fakes read "real" (a quarter with the text kept): kept
PAINT_TEXT = False


def _shapes(grey: np.ndarray, side: int) -> list[tuple[int, int, int, int]]:
    """Letter-sized bright shapes edged by dark, as (x, y, w, h)."""
    import cv2

    r = max(1, int(round(side / 120)))  # a stroke's width, about
    near_dark = cv2.dilate((grey <= TEXT_DARK).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    marks = ((grey >= TEXT_BRIGHT) & near_dark).astype(np.uint8)
    return [s[:4] for s in _letter_sized(marks, side)]


def _letter_sized(marks: np.ndarray, side: int) -> list[tuple[int, int, int, int, int]]:
    """The connected shapes of ``marks`` (0/1) of a letter's size (:data:`LETTER_HEIGHT`, :data:`LETTER_MAX_WIDTH`;
    at least 4 pixels), as (x, y, w, h, area)."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    lo, hi = LETTER_HEIGHT[0] * side, LETTER_HEIGHT[1] * side
    shapes = [tuple(int(v) for v in stats[i, :5]) for i in range(1, n) if stats[i, 4] >= 4]
    return [s for s in shapes if lo <= s[3] <= hi and s[2] <= LETTER_MAX_WIDTH * side]


def _edged_lines(grey: np.ndarray, side: int) -> list[tuple[int, int, int, int]]:
    """The lines of bright, dark-edged letters (a caption): rows of :func:`_shapes`, as boxes (x0, y0, x1, y1); a
    line reaching within its height of the crop's side runs on past it (a caption is wider than a face): its box is
    taken to that side."""
    shapes = _shapes(grey, side)
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
        if x1 - x0 < CAPTION_MIN_SPAN * side:
            continue
        y0 = min(shapes[j][1] for j in row)
        y1 = max(shapes[j][1] + shapes[j][3] for j in row)
        for j in row:
            used[j] = True
        x0 = 0 if x0 <= height else x0
        x1 = side if side - x1 <= height else x1
        lines.append((x0, y0, x1, y1))
    return lines


def _light_shapes(grey: np.ndarray, side: int, lift: int, kernel: int) -> list[tuple[int, int, int, int, int]]:
    """Letter-sized strokes lighter than the picture round them by ``lift`` grey levels (white top-hat with a
    ``kernel``-px square), as (x, y, w, h, area)."""
    import cv2

    element = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel))
    return _letter_sized((cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, element) >= lift).astype(np.uint8), side)


def _chains(shapes: list[tuple[int, int, int, int, int]], side: int) -> list[tuple[int, int, int, int]]:
    """Words of :func:`_light_shapes`: shapes of like height (within 1.6 times) on one baseline or middle (within
    0.3 of their height), each within :data:`WATERMARK_GAP` of its height of the next, joined; a chain of at least
    :data:`TEXT_MIN_LETTERS`, spanning :data:`TEXT_MIN_SPAN` of the crop, of strokes (median fill at most
    :data:`WATERMARK_FILL`) is a line, as a box (x0, y0, x1, y1)."""
    shapes = sorted(shapes)
    if len(shapes) < TEXT_MIN_LETTERS or len(shapes) > MAX_SHAPES:
        return []
    parent = list(range(len(shapes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (xi, yi, wi, hi, _) in enumerate(shapes):
        for j in range(i + 1, len(shapes)):
            xj, yj, wj, hj, _ = shapes[j]
            if xj - (xi + wi) > WATERMARK_GAP * LETTER_HEIGHT[1] * side:
                break  # sorted by x: every later shape starts further off
            h = max(hi, hj)
            if xj - (xi + wi) > WATERMARK_GAP * h or h > 1.6 * min(hi, hj):
                continue
            if abs(yi + hi - yj - hj) > 0.3 * h and abs(yi + hi / 2 - yj - hj / 2) > 0.3 * h:
                continue
            parent[root(i)] = root(j)
    words: dict[int, list] = {}
    for i, s in enumerate(shapes):
        words.setdefault(root(i), []).append(s)
    lines = []
    for word in words.values():
        x0, x1 = min(s[0] for s in word), max(s[0] + s[2] for s in word)
        if len(word) < TEXT_MIN_LETTERS or x1 - x0 < TEXT_MIN_SPAN * side:
            continue
        if np.median([s[4] / (s[2] * s[3]) for s in word]) > WATERMARK_FILL:
            continue
        y0, y1 = min(s[1] for s in word), max(s[1] + s[3] for s in word)
        if y1 - y0 > WATERMARK_DRIFT * max(s[3] for s in word):
            continue  # pairs alike step by step, drifting up or down a texture: not one line (a review)
        bottoms, height = [s[1] + s[3] for s in word], float(np.median([s[3] for s in word]))
        on_line = sum(abs(b - np.median(bottoms)) <= 0.2 * height for b in bottoms)
        if on_line < WATERMARK_BASELINE * len(word):
            continue  # most letters stand on one baseline (a few descend: y, p); blotches do not
        lines.append((x0, y0, x1, y1))
    return lines


def _light_lines(grey: np.ndarray, side: int, edged: list | tuple = ()) -> list[tuple[int, int, int, int]]:
    """The lines of a watermark's letters (:func:`_chains` of :func:`_light_shapes`, at each of
    :data:`WATERMARK_LIFT` and :data:`WATERMARK_KERNELS`): of boxes whose rows overlap, the shortest; none on
    the rows of an ``edged`` line (a caption's letters are light too, and their box taken with their outline is
    taller: merged, the bar over the caption would grow past the share a pattern is told by)."""
    import cv2

    scale = min(1.0, WATERMARK_SIDE / side)  # a large crop looked at smaller: its letters are as many pixels
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    n = small.shape[1]
    found = [
        tuple(int(round(v / scale)) for v in line)
        for lift in WATERMARK_LIFT
        for k in WATERMARK_KERNELS
        for line in _chains(_light_shapes(small, n, lift, max(3, int(n * k) | 1)), n)
    ]
    kept: list[tuple[int, int, int, int]] = []
    for line in sorted(found, key=lambda b: b[3] - b[1]):
        if not any(line[1] < other[3] and other[1] < line[3] for other in (*edged, *kept)):
            kept.append(line)
    return kept


def text_lines(
    crop: np.ndarray, face: tuple[float, float, float, float] | None = None
) -> list[tuple[int, int, int, int]]:
    """The lines of text laid over ``crop`` (a square RGB face crop), each as a box (x0, y0, x1, y1) in its pixels:
    at least :data:`TEXT_MIN_LETTERS` bright, dark-edged shapes of like height whose middles lie on one row,
    spanning :data:`CAPTION_MIN_SPAN` of the width, and the lines of a watermark's lighter letters
    (:func:`_light_lines`).  ``face``: the face's box in the crop's pixels (x0, y0, x1, y1); only lines that cross
    it are kept.  [] where none is found."""
    edged, light = _lines_by_kind(crop, face)
    return _merged(edged + light)


def _lines_by_kind(crop: np.ndarray, face=None) -> tuple[list, list]:
    """(a caption's lines, a watermark's lines) over ``crop`` that cross ``face``, as :func:`text_lines` finds
    them."""
    import cv2

    if crop is None or crop.ndim != 3 or crop.shape[2] not in (3, 4) or min(crop.shape[:2]) < 32:
        return [], []
    side = crop.shape[1]
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY if crop.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    edged = _edged_lines(grey, side)
    light = _light_lines(grey, side, edged)
    if face is not None:
        fx0, fy0, fx1, fy1 = face
        crosses = lambda b: b[0] < fx1 and b[2] > fx0 and b[1] < fy1 and b[3] > fy0  # noqa: E731
        edged, light = [b for b in edged if crosses(b)], [b for b in light if crosses(b)]
    return edged, light


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


def _mask(side: int, lines) -> np.ndarray:
    """The bars that cover ``lines``: each line's box grown by three quarters of its height and a stroke's width (its
    letters' tails, outline, shadow or band)."""
    mask = np.zeros((side, side), np.uint8)
    for x0, y0, x1, y1 in lines:
        grow = int(round(0.75 * (y1 - y0))) + max(1, side // 120)  # (half its height left letters' tails out)
        mask[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = 1
    return mask


def text_mask(
    crop: np.ndarray,
    face: tuple[float, float, float, float] | None = None,
    roll: float = 0.0,
    level: np.ndarray | None = None,
) -> np.ndarray | None:
    """Where text lies over ``crop``: the bars (:func:`_mask`) over the lines of :func:`text_lines` that cross
    ``face`` (its box in the crop's pixels), as a 0/1 array the crop's size; None where no text is found, or where
    the lines would cover more than :data:`TEXT_MAX_SHARE` of it (a pattern, not text).  ``roll``: the crop was cut
    turned by so many degrees (a tilted head cut upright, :func:`~detector.inference.faces.crop_face`), so the
    picture's level text lies turned in it: it is looked for in ``level``, the same square cut unturned (else in the
    crop turned back, resampled twice: small letters are lost), and its bars turned as the crop was."""
    import cv2

    if crop is None or crop.ndim != 3 or crop.shape[2] not in (3, 4) or min(crop.shape[:2]) < 32:
        return None
    side = crop.shape[1]
    centre = (side / 2, side / 2)
    if not roll:
        level = crop
    elif level is None or level.shape != crop.shape:
        level = cv2.warpAffine(crop, cv2.getRotationMatrix2D(centre, -roll, 1.0), (side, side))
    edged, light = _lines_by_kind(level, face)
    # both kinds; where together they would cover more than a pattern's share, the caption alone (a watermark found
    # beside it must not lose a caption that is found on its own: a review)
    for lines in (_merged(edged + light), edged):
        if not lines:
            continue
        mask = _mask(side, lines)
        if roll:
            turn = cv2.getRotationMatrix2D(centre, roll, 1.0)
            mask = cv2.warpAffine(mask, turn, (side, side), flags=cv2.INTER_NEAREST)
        if mask.any() and mask.mean() <= TEXT_MAX_SHARE:
            return mask
    return None


def text_over(crop: np.ndarray, face=None, roll: float = 0.0, level: np.ndarray | None = None) -> float:
    """The share of ``crop`` under text laid over its face (:func:`text_mask`; 0.0: none found)."""
    mask = text_mask(crop, face, roll, level)
    return 0.0 if mask is None else float(mask.mean())


def paint_out_text(
    crop: np.ndarray,
    face: tuple[float, float, float, float] | None = None,
    roll: float = 0.0,
    level: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """``crop`` with the text of :func:`text_mask` covered by a flat bar of the mean colour round it, and the share
    covered; ``(crop, 0.0)`` itself where no text is found.  Measured, not what the pipeline does
    (:data:`PAINT_TEXT`)."""
    import cv2

    mask = text_mask(crop, face, roll, level)
    if mask is None:
        return crop, 0.0
    side = crop.shape[1]
    ring = cv2.dilate(mask, np.ones((5, 5), np.uint8), iterations=max(1, side // 100)) & ~mask.astype(bool)
    colour = crop[ring.astype(bool)].reshape(-1, 3).mean(axis=0) if ring.any() else crop.reshape(-1, 3).mean(axis=0)
    painted = crop.copy()
    painted[mask.astype(bool)] = np.round(colour).astype(crop.dtype)
    return painted, float(mask.mean())


def face_in_crop(box, margin: float) -> tuple[float, float, float, float]:
    """Where a face's box (x, y, w, h) lies in its square crop at ``margin``
    (:func:`~detector.inference.faces.crop_box`, the square :func:`~detector.inference.faces.crop_face` cuts, turned
    or not, round the box's centre), as (x0, y0, x1, y1) in the crop's pixels."""
    from detector.inference.faces import crop_box

    x, y, _ = crop_box(box, 0, 0, margin)
    return box[0] - x, box[1] - y, box[0] + box[2] - x, box[1] + box[3] - y


def text_over_warning(frames, report=None) -> str:
    """What the report says where text was found over any face of ``frames`` (each with ``faces``, each with
    ``text_over``: see :class:`~detector.inference.faces.Face`); "" where none was.  With ``report`` (its
    ``text_threshold``: the model card's threshold for faces under text), the score from which such faces make the
    verdict fake (not whether this one reaches it: a later rule, or the threshold slider, may still judge it
    otherwise)."""
    from detector.inference.report import faces_where

    covered = [f for fr in frames for f in fr.faces if f.text_over]
    if not covered:
        return ""
    where = faces_where(frames, lambda f: bool(f.text_over))
    share = max(f.text_over for f in covered)
    done = " and painted out with a flat bar before judging" if PAINT_TEXT else ""
    tt = getattr(report, "text_threshold", None)
    if tt is None:
        rule = "so faces under text alone never make the verdict fake, at most uncertain."
    else:
        rule = (
            f"so faces under text alone make the verdict fake only from {float(tt):.3f}, a threshold of their own set "
            "on real faces with captions and watermarks laid over them (at most 1 in 20 of them scored over it); "
            "under it, at most uncertain."
        )
    return (
        f"Text laid over the face (a caption, a watermark or other lettering) was found on {where}{done} (up to "
        f"{share:.0%} of a face's square): the models never trained on faces under text, and read its sharp letters "
        f"as a sign of a fake, {rule} Text can also "
        'hide a fake\'s traces (often about the mouth): a "real" under text means less. Find a copy without the text '
        "if you can."
    )
