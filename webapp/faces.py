"""Pictures of faces: gallery tiles (crop beside its CAM overlay; an RGB + depth model's depth map) and frames with
boxes drawn.

Each gallery tile is the face crop next to its class-activation map over the crop (and, for an
RGB + depth model, a third panel: the FaceMesh landmark depth map its depth stream read),
framed red when the face scores at or above the threshold, amber in the model's
uncertain band below it, and green below that, so the most suspicious faces stand out;
the score is written in the frame's bottom strip, never over the crop or the heat map
(the page's captions go under the tiles too: see static/app.css).
:func:`gallery_items` orders tiles by time or "most fake first" and returns, for each
tile, the position of its frame in ``report.frames`` (the app uses it to show the frame
when a tile is clicked).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.inference.covers import read_as_covered
from detector.inference.report import FaceResult, Report, face_label, held_back, score_text, unjudged_text
from explain import DEFAULT_HEAT_MAP
from webapp.session import frame_scale
from webapp.verdict import COLOURS as VERDICT_COLOURS

RED = (214, 39, 40)
GREEN = (44, 160, 44)
AMBER = (214, 140, 0)
GREY = (120, 120, 120)
ORDERS = ("time", "most fake first")


@dataclass(frozen=True)
class HeatMapLook:
    """How the page speaks of one of the heat maps' colour maps (:data:`explain.HEAT_MAPS`)."""

    choice: str  # the radio button's words
    hot: str  # the word for its "most towards fake" end
    hatch: tuple[int, int, int]  # the padding's stripes over each heat map: a colour never "hot"


HEAT_MAP_LOOKS = {
    "jet": HeatMapLook("jet: red = most towards fake", "red", (255, 255, 255)),
    "inferno": HeatMapLook(
        "inferno: brightest = most towards fake (colour-blind safe)", "bright yellow", (128, 128, 128)
    ),
}
HEAT_MAP_CHOICES = [(look.choice, name) for name, look in HEAT_MAP_LOOKS.items()]
_COLOURS = {"fake": RED, "uncertain": AMBER, "real": GREEN}
_WORDS = {"fake", "uncertain", "real"}  # a face's own labels, written as they are: not in capitals, as the verdict is


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an (r, g, b) tuple of 0-255 channels."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def face_word(
    score: float, threshold: float, band=None, second: dict | None = None, unknown: str = "", held: float = 0.0
) -> str:
    """A face's label as a tile, box or caption writes it (fake, uncertain, real; ``unknown`` for none of them),
    as the report's verdict reads it (:func:`~detector.inference.report.face_label`; ``held``: the face's
    :func:`~detector.inference.report.held_back`, text over it or a cover under its threshold)."""
    label = face_label(score, threshold, band, second, held)
    return label if label in _WORDS else unknown


def _colour(score: float, threshold: float, band: list[float] | None = None, second: dict | None = None, held=0.0):
    return _COLOURS.get(face_label(score, threshold, band, second, held), GREY)


def _luminance(colour) -> float:
    """WCAG's relative luminance of an sRGB colour (0-255 channels)."""
    c = np.asarray(colour, np.float64) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    """WCAG's contrast ratio of two colours (1 to 21; 4.5 is the least for small text)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink(colour) -> tuple[int, int, int]:
    """The letters' colour on a ``colour`` background: white or black, whichever contrasts more (white on the
    red strip, 5.0:1; black on the amber and green ones, 7.6:1 and 6.2:1, where white was 2.8:1 and 3.4:1: an
    accessibility audit)."""
    white, black = (255, 255, 255), (0, 0, 0)
    return white if contrast(white, colour) >= contrast(black, colour) else black


def _square(image: np.ndarray, side: int) -> np.ndarray:
    interp = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_LINEAR
    return cv2.resize(image, (side, side), interpolation=interp)


FONT = cv2.FONT_HERSHEY_SIMPLEX
# the box the app's frame viewer shows a frame in (gr.Image height=360 in a column about 720 px wide): a frame is
# scaled down to fit it, so the labels drawn on a large frame are drawn larger to stay readable there
VIEW = (720, 360)
LABEL_PX = 13  # height of a box label's letters on screen, in the viewer
MAX_ENLARGE = 4.0  # a small photo is enlarged at most this much before its labels are drawn (draw_boxes)
EDGE = (20, 20, 20)  # the dark edge around boxes and labels: readable on a red or a green background
UNJUDGED = (190, 190, 190)  # a face found too small to judge: grey, no verdict's colour


def label_style(height: int, width: int, view: tuple[int, int] = VIEW, px: float = LABEL_PX) -> tuple[float, int, int]:
    """(font scale, letter thickness, box line thickness) for labels and boxes drawn on a ``width`` x ``height``
    frame, so that shown in ``view`` (scaled to fit, as the page does) the letters are about ``px`` high and the
    lines about 2 px: a 1080p frame or a portrait phone video is shown at a fifth to a third of its size."""
    shown = min(view[0] / max(1, width), view[1] / max(1, height))  # display pixels per frame pixel
    (_, th), _ = cv2.getTextSize("0", FONT, 1.0, 1)
    scale = float(min(max(px / (th * shown), 0.45), 8.0))
    return scale, max(1, round(scale * 1.5)), max(2, round(2 / shown))


def _label_place(
    shape: tuple, text: str, org: tuple[int, int], scale: float = 0.5, thickness: int = 1, edge: bool = False
) -> tuple[tuple[int, int, int, int], float, int]:
    """Where :func:`_label` would draw ``text`` with its bottom-left at ``org`` on an image of ``shape``: the box
    (x0, y0, x1, y1), moved inside the image, the font scale (smaller where the image is narrower than the label) and
    the text's baseline at that scale."""
    pad = max(3, thickness + 2)
    margin = 1 if edge else 0
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    while scale > 0.3 and tw + 2 * pad + 2 * margin > shape[1]:
        scale = round(scale - 0.05, 2)
        (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    w, h = tw + 2 * pad, th + base + 2 * pad
    x = int(min(max(margin, org[0]), max(margin, shape[1] - w - 1 - margin)))
    y = int(min(max(h, org[1]), shape[0]))
    return (x, y - h, x + w, y), scale, base


def _label(
    image: np.ndarray,
    text: str,
    org: tuple[int, int],
    colour,
    scale: float = 0.5,
    thickness: int = 1,
    edge: bool = False,
) -> tuple[int, int, int, int]:
    """Text on a filled box of ``colour`` (letters in :func:`ink`), drawn in place with its bottom-left at ``org``,
    moved inside the image where it would stick out (a box at the frame's top or right edge), its letters smaller
    where the image is narrower than it (a browser check: on a 180 px frame "face 0: 0.34 real" ran past the edge);
    with ``edge``, the box has a 1-px dark edge (:data:`EDGE`), inside the image too.  Returns the box drawn (x0, y0,
    x1, y1)."""
    (x, y0, x1, y), scale, base = _label_place(image.shape, text, org, scale, thickness, edge)
    pad = max(3, thickness + 2)
    if edge:
        cv2.rectangle(image, (x - 1, y0 - 1), (x1 + 1, y + 1), EDGE, -1)
    cv2.rectangle(image, (x, y0), (x1, y), colour, -1)
    cv2.putText(image, text, (x + pad, y - base - pad), FONT, scale, ink(colour), thickness, cv2.LINE_AA)
    return x, y0, x1, y


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _free_spot(
    shape: tuple, text: str, box: tuple, line: int, taken: list, scale: float, thickness: int, faces: tuple = ()
) -> tuple:
    """The bottom-left at which a face's label covers neither a label already drawn (``taken``: their boxes) nor a
    face (``faces``: the boxes' insides, (x0, y0, x1, y1)), where it lands once kept inside the picture: above the
    face's box, else under it, else one to three labels' heights further above or under, else just inside its top;
    where each covers a face, the first that covers no label; else above the box (a crowd too dense for any). A group
    photo's close faces put their labels over each other (a review), then over the faces (a browser check)."""
    x, y, w, h = box
    (_, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    high = th + base + 2 * max(3, thickness + 2) + 2  # a label's height, its edge included
    above, under = (x - line // 2, y - line // 2), (x - line // 2, y + h + line + high)
    spots = [above, under]
    for k in (1, 2, 3):  # stacked: a row of faces whose labels are wider than the faces
        spots += [(above[0], above[1] - k * high), (under[0], under[1] + k * high)]
    spots.append((x + line, y + line + high))  # just inside its top edge
    placed = [_label_place(shape, text, org, scale, thickness, edge=True)[0] for org in spots]
    for avoid in (list(taken) + list(faces), list(taken)):
        for org, at in zip(spots, placed):
            if not any(_overlaps(at, t) for t in avoid):
                return org
    return above


def _panel_text(panel: np.ndarray, lines: tuple[str, ...]) -> None:
    """White lines of text centred on ``panel`` (in place), as large as fits its width (at most 0.5)."""
    side = panel.shape[1]
    widest = max(cv2.getTextSize(line, FONT, 1.0, 1)[0][0] for line in lines)
    scale = min(0.5, (side - 14) / widest)
    (_, th), _ = cv2.getTextSize("Ag", FONT, scale, 1)
    step = round(th * 1.9)
    top = (panel.shape[0] - step * (len(lines) - 1)) // 2 + th // 2
    for i, line in enumerate(lines):
        (tw, _), _ = cv2.getTextSize(line, FONT, scale, 1)
        cv2.putText(panel, line, ((side - tw) // 2, top + step * i), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


CAM_OFF_TEXT = ("CAM is off:", "no heat map.", "Choose a CAM", "method to see one")
NOT_EXPLAINED_TEXT = ("not explained:", "only the most", "fake faces get", "a heat map")
# a CAM that is zero everywhere: a flat blue overlay read as "looked nowhere"; it says nothing pushed towards fake
EMPTY_MAP_TEXT = ("empty heat map:", "nothing in the", "face pushed", "towards fake")


DEPTH_TEXT = ("no depth map:", "FaceMesh found", "no face mesh here")


def mark_padding(
    panel: np.ndarray, inside: tuple[float, float, float, float] | None, hatch=(255, 255, 255)
) -> np.ndarray:
    """``panel`` (a crop or its CAM overlay, square) with the part outside the picture hatched and the picture's
    edge drawn dashed: padding the model saw (a photo's borders mirrored outwards, a frame's black edge) but that is
    not in the picture, so a hot spot there is not a spot in the picture.  ``inside``: :attr:`Face.inside`;
    ``hatch``: the stripes' colour (light; grey over an inferno heat map, where light reads as hot)."""
    if inside is None:
        return panel
    out = panel.copy()
    h, w = out.shape[:2]
    x0, y0, x1, y1 = (round(inside[0] * w), round(inside[1] * h), round(inside[2] * w), round(inside[3] * h))
    from explain.faithfulness import padding_mask

    outside = padding_mask((h, w), inside)  # the same part padding_mass and the report's warning measure
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = ((xx + yy) % 8) < 3
    out[outside & stripes] = (out[outside & stripes] * 0.3 + np.asarray(hatch) * 0.7).astype(np.uint8)  # diagonal
    dashes = ((xx + yy) // 4) % 2 == 0
    edge = np.zeros_like(outside)
    for x in (x0, x1 - 1):
        if 0 < x < w - 1:
            edge[max(y0, 0) : min(y1, h), x] = True
    for y in (y0, y1 - 1):
        if 0 < y < h - 1:
            edge[y, max(x0, 0) : min(x1, w)] = True
    out[edge & dashes] = 255
    out[edge & ~dashes] = 0
    return out


def depth_panel(depth: np.ndarray, side: int = 176) -> np.ndarray:
    """A face's landmark depth map (S x S in [0, 1], nearer brighter, 0 off the face) as a side x side RGB panel
    in a bone colour map, marked "depth (estimate)": it is FaceMesh's landmark fit, not measured depth.  A map
    that is all zero (FaceMesh found no face in the crop) gets a grey panel that says so."""
    if not np.any(depth):
        panel = np.full((side, side, 3), 90, np.uint8)
        _panel_text(panel, DEPTH_TEXT)
        return panel
    grey = cv2.resize(np.clip(depth, 0, 1).astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
    panel = cv2.cvtColor(cv2.applyColorMap((grey * 255).astype(np.uint8), cv2.COLORMAP_BONE), cv2.COLOR_BGR2RGB)
    scale = max(0.3, side / 440)
    (tw, th), base = cv2.getTextSize("depth (estimate)", FONT, scale, 1)
    cv2.rectangle(panel, (0, side - th - base - 8), (tw + 8, side), (0, 0, 0), -1)  # legible over a bright chin
    cv2.putText(panel, "depth (estimate)", (4, side - 6), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def face_tile(
    face: FaceResult,
    threshold: float,
    side: int = 176,
    border: int = 6,
    band: list[float] | None = None,
    panel: bool = True,
    cam_off: bool = False,
    depth: bool = True,
    second: dict | None = None,
    colours: str = DEFAULT_HEAT_MAP,
) -> np.ndarray:
    """Crop | CAM overlay (| depth map, for an RGB + depth model), framed in the verdict colour (``band``:
    uncertain), with the score and verdict in a strip under them (nothing is drawn over the pictures but the
    hatching of padding beyond the picture's edge, :func:`mark_padding`); the heat map in ``colours`` (a name of
    :data:`explain.HEAT_MAPS`).

    A face without a CAM gets a grey panel that says why: the CAM was off for the analysis (``cam_off``), or only
    the most fake faces were explained; ``panel=False``: no grey panel (the crop alone when there is no CAM).
    A face with a depth map gets it as the last panel unless ``depth=False`` (the lab's before | after pairs)."""
    crop = _square(face.crop if face.crop is not None else np.zeros((side, side, 3), np.uint8), side)
    right = None
    if face.cam is not None and not float(np.max(face.cam)) > 0:
        right = (crop * 0.35 + 90).astype(np.uint8)
        _panel_text(right, EMPTY_MAP_TEXT)
    elif face.cam is not None:
        from explain import overlay

        cam = cv2.resize(face.cam.astype(np.float32), (side, side))
        right = mark_padding(overlay(crop, cam, colours=colours), face.inside, HEAT_MAP_LOOKS[colours].hatch)
    elif panel:
        right = (crop * 0.35 + 90).astype(np.uint8)
        _panel_text(right, CAM_OFF_TEXT if cam_off else NOT_EXPLAINED_TEXT)
    crop = mark_padding(crop, face.inside)
    gap = np.full((side, 4, 3), 255, np.uint8)
    tile = crop if right is None else np.concatenate([crop, gap, right], axis=1)
    if depth and face.depth is not None:  # an RGB + depth model: the depth map its second stream read, beside the crop
        tile = np.concatenate([tile, gap, depth_panel(face.depth, side)], axis=1)
    colour = _colour(face.score, threshold, band, second, held_back(face))
    strip = max(18, round(side * 0.16))  # letters readable when the tile is shown small or projected
    tile = cv2.copyMakeBorder(tile, border, strip, border, border, cv2.BORDER_CONSTANT, value=colour)
    word = face_word(face.score, threshold, band, second, held=held_back(face))
    shown = score_text(face.score, threshold, band)
    room = tile.shape[1] - 2 * border - 4

    def fitted(text: str) -> float:  # the largest scale, down to 0.3, at which ``text`` fits the strip
        scale = (strip - 6) / 22
        while scale > 0.3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > room:
            scale -= 0.02
        return scale

    text = f"{shown} {word}"  # a longer score ("0.9078 uncertain") on a narrow tile: smaller, or the score alone
    scale = fitted(text)
    if cv2.getTextSize(text, FONT, scale, 1)[0][0] > room:
        text = shown
        scale = fitted(text)
    (_, th), base = cv2.getTextSize("0", FONT, scale, 1)
    cv2.putText(
        tile,
        text,
        (border + 2, tile.shape[0] - (strip - th) // 2 - 1),
        FONT,
        scale,
        ink(colour),
        1,
        cv2.LINE_AA,
    )
    return tile


def gallery_items(
    report: Report, order: str = "time", side: int = 176, colours: str = DEFAULT_HEAT_MAP
) -> tuple[list[tuple[np.ndarray, str]], list[int]]:
    """Tiles with captions and the frame position of each, ordered by time or most fake first; heat maps in
    ``colours`` (:data:`explain.HEAT_MAPS`)."""
    entries = [(pos, fr, f) for pos, fr in enumerate(report.frames) for f in fr.faces]
    if order == "most fake first":
        entries.sort(key=lambda e: (-e[2].score, e[1].time))
    items, positions = [], []
    photo = report.is_photo
    for pos, fr, f in entries:
        where = "" if photo else f"{fr.time:.2f} s · "  # a photo has no time
        said = score_said(f.score, report.threshold, report.uncertain, report.second_opinion, held_back(f))
        caption = f"{where}face {f.identity} · score {said}{crop_note(f)}"
        tile = face_tile(
            f,
            report.threshold,
            side,
            band=report.uncertain,
            cam_off=report.cam_method is None,
            second=report.second_opinion,
            colours=colours,
        )
        items.append((tile, caption))
        positions.append(pos)
    return items, positions


def draw_boxes(
    image: np.ndarray,
    faces: list[FaceResult],
    threshold: float,
    band: list[float] | None = None,
    view: tuple[int, int] = VIEW,
    box_scale: float = 1.0,
    second: dict | None = None,
    small=(),
) -> np.ndarray:
    """A copy of the frame with each face's box and score, red at/above the threshold, amber in the uncertain
    ``band`` below it, green below that; letters and lines sized for the viewer (:func:`label_style`), labels
    kept inside the frame (``view``: the box the frame is shown in; ``box_scale``: the frame's size over the
    clip's, for a frame kept downscaled, see :func:`webapp.session.frame_scale`).  ``small``: the boxes of faces
    found too small to judge (a frame's ``too_small``), drawn grey and labelled "too small", with no score.

    A frame the viewer would enlarge (a small photo) is enlarged here first, up to :data:`MAX_ENLARGE` times, so
    that its labels are drawn at the size they are seen, not blown up into blurred letters; each box and label
    has a thin dark edge, so that a red label stays readable on a red background."""
    h0, w0 = image.shape[:2]
    enlarge = min(MAX_ENLARGE, view[0] / max(1, w0), view[1] / max(1, h0))
    if enlarge >= 1.25:
        out = cv2.resize(image, (round(w0 * enlarge), round(h0 * enlarge)), interpolation=cv2.INTER_LINEAR)
        box_scale *= out.shape[1] / w0
    else:
        out = image.copy()
    scale, letters, line = label_style(*out.shape[:2], view=view)
    labels = []  # (text, box, colour): drawn after every box, each where it covers none drawn before it
    for box in small:  # found, not judged: grey, so that no colour reads as a verdict
        x, y, w, h = (round(v * box_scale) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), EDGE, line + 2)
        cv2.rectangle(out, (x, y), (x + w, y + h), UNJUDGED, line)
        labels.append(("too small", (x, y, w, h), UNJUDGED))
    for f in faces:
        x, y, w, h = (round(v * box_scale) for v in f.box)
        colour = _colour(f.score, threshold, band, second, held_back(f))
        cv2.rectangle(out, (x, y), (x + w, y + h), EDGE, line + 2)  # the dark edge on each side of the line
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, line)
        shown = score_text(f.score, threshold, band)
        word = face_word(f.score, threshold, band, second, held=held_back(f))  # not the box's colour alone (an audit)
        labels.append((f"face {f.identity}: {shown} {word}".rstrip(), (x, y, w, h), colour))
    taken: list = []  # labels drawn; and the faces' insides, which no label should cover either
    inner = tuple(
        (bx + line + 1, by + line + 1, bx + bw - line - 1, by + bh - line - 1) for _, (bx, by, bw, bh), _ in labels
    )
    for text, box, colour in labels:
        org = _free_spot(out.shape, text, box, line, taken, scale, letters, faces=inner)
        taken.append(_label(out, text, org, colour, scale, letters, edge=True))
    return out


TEXT_NOTE = " · text laid over it"  # a tile caption's note for a face with text found over it (crop_note)
COVER_NOTE = " · its mouth and chin look covered"  # and for a face something seems to cover (covers.py)


def crop_note(face, text: bool = True) -> str:
    """What a tile's caption adds about a face's crop: a tilted face cut
    turned upright (``face.straightened`` degrees, see :func:`detector.inference.quality.straighten_by`), text laid
    over it (``face.text_over``, see :mod:`detector.inference.overlays`: never called fake on its own under the card's
    threshold for faces under text), something
    over its mouth and chin (``face.covered``, see :mod:`detector.inference.covers`: which face the report's line is
    about); the tile shows the crop as the model saw it.  "" for any other face.  ``text``: False leaves the text
    out."""
    notes = []
    degrees = getattr(face, "straightened", 0.0)
    if degrees:
        notes.append(f" · turned {abs(degrees):.0f}° upright")
    if text and getattr(face, "text_over", 0.0):
        notes.append(TEXT_NOTE)
    if read_as_covered(face):
        notes.append(COVER_NOTE)
    return "".join(notes)


def score_said(score: float, threshold: float, band=None, second: dict | None = None, held: float = 0.0) -> str:
    """A face's score and its word, as captions write them: "0.93 (fake)", "0.47 (uncertain)" (``held``: the face's
    :func:`~detector.inference.report.held_back`: under text or a cover, under its threshold, never "fake")."""
    return f"{score_text(score, threshold, band)} ({face_word(score, threshold, band, second, '?', held)})"


def faces_text(faces: list[FaceResult], threshold: float, band=None, second: dict | None = None, small=()) -> str:
    """One frame's faces in words, as captions write them: "face 0 0.93 (fake), face 1 0.12 (real)", or "no face
    found"; ``small``, the boxes of the faces found there too small to judge (a frame's ``too_small``), are said
    too ("face too small to judge (14 px)": not "no face found")."""
    said = [f"face {f.identity} {score_said(f.score, threshold, band, second, held_back(f))}" for f in faces]
    if small or not said:
        said.append(unjudged_text(small))
    return ", ".join(said)


def frame_view(report: Report, pos: int) -> tuple[np.ndarray | None, str]:
    """The sampled frame at position ``pos`` with its boxes drawn, and a one-line caption."""
    if not report.frames:
        return None, ""
    pos = int(min(max(pos, 0), len(report.frames) - 1))
    fr = report.frames[pos]
    frames = report.frame_images or {}
    image = frames.get(fr.index)
    scores = faces_text(fr.faces, report.threshold, report.uncertain, report.second_opinion, fr.too_small)
    if report.is_photo:
        caption = f"The photo · {scores}"
    else:
        caption = f"Sampled frame {pos + 1} of {len(report.frames)} · t = {fr.time:.2f} s (frame {fr.index}) · {scores}"
    if image is None:
        return None, caption
    box_scale = frame_scale(frames, fr.index)
    boxed = draw_boxes(
        image,
        fr.faces,
        report.threshold,
        report.uncertain,
        box_scale=box_scale,
        second=report.second_opinion,
        small=fr.too_small,
    )
    return np.concatenate([boxed, verdict_strip(report, *boxed.shape[1::-1])], axis=0), caption


_VERDICT_WORDS = {"fake": "likely FAKE", "real": "likely real", "uncertain": "UNCERTAIN", "unknown": "no verdict"}
# the verdict card's dark text colours (webapp.verdict.COLOURS): readable on white, as the boxes' colours are not
_VERDICT_INK = {label: hex_rgb(text) for label, (_, text, _) in VERDICT_COLOURS.items()}


def verdict_strip(report: Report, width: int, height: int | None = None) -> np.ndarray:
    """A white strip for under a frame: the verdict on the whole clip or photo, in its colour, and under it that each
    box is its face's own score, so that the frame, saved or screenshotted alone, does not read as the verdict (a
    browser check: an "uncertain" clip opened on a frame whose face box said "0.99 FAKE", and the frame's download
    carried nothing more).

    Its letters scale with the frame as it is seen: with its ``width``, but for a frame wider than 16:9 (``height``
    given) as if it were 16:9, so that a panorama's strip is not taller than its picture.  A line that does not fit
    the width legibly is broken in two (a review: a 240 px wide frame cut the verdict's figures off).  An upright or
    square frame is shown by its height, not its width: its letters scale with the height, and its lines break
    sooner, up to three (a journalist's audit: under a 576 x 768 clip the line was about 6 px high on screen)."""
    tall = height is not None and height >= width  # a square frame too: shown by its height
    base = height if tall else (width if height is None else min(width, round(height * 16 / 9)))
    line = max(22, round(base * 0.045))
    legible = 0.6 * line / 26 if tall else 0.4  # the smallest scale a line may keep before it is broken
    word = _VERDICT_WORDS.get(report.label, report.label)
    text = f"{'Photo' if report.is_photo else 'Whole clip'}: {word}"
    if report.score is not None and np.isfinite(report.score):
        text += (
            f" ({'score' if report.is_photo else 'video score'} {report.score:.3f}, threshold {report.threshold:.3f})"
        )
    ink = _VERDICT_INK.get(report.label, _VERDICT_INK["unknown"])
    verdict_lines, scale = _wrapped(text, width, line / 26, thickness=2, legible=legible)
    thick = 2 if scale >= 0.7 else 1
    note = "Each box: that face's own score, not the verdict"
    if not report.faces:  # no box holds a score: what a grey box is, or nothing
        note = "Grey box: a face too small to judge, not scored" if report.all_too_small else ""
    note_lines, small = (
        _wrapped(note, width, min(line / 32, scale), legible=min(legible, scale)) if note else ([], scale)
    )
    grey = (70, 70, 70)
    rows = [(t, scale, thick, ink) for t in verdict_lines] + [(t, small, 1 + (small >= 1.2), grey) for t in note_lines]
    heights = [round(32 * sc) for _, sc, _, _ in rows]  # the font's capitals (22) and descenders (10) at that scale
    strip = np.full((sum(heights) + 10, width, 3), 255, np.uint8)
    y = 4
    for (t, sc, th, colour), h in zip(rows, heights):
        y += h
        cv2.putText(strip, t, (6, y - round(10 * sc)), FONT, sc, colour, th, cv2.LINE_AA)
    return strip


def _wrapped(text: str, width: int, scale: float, thickness: int = 1, legible: float = 0.4) -> tuple[list[str], float]:
    """``text`` as lines to draw ``width`` pixels wide, and their scale: one line at ``scale`` or the largest smaller
    one it fits at, unless that is under ``legible``; then broken (before " (", after ", " or ": "), a line at a
    time, into up to three lines, each at the same scale."""
    lines = [text]
    while min(_fitting_scale(t, width, scale, thickness=thickness) for t in lines) < legible and len(lines) < 3:
        longest = max(range(len(lines)), key=lambda k: len(lines[k]))
        t = lines[longest]
        for mark, cut in ((" (", 0), (", ", 1), (": ", 1)):
            i = t.find(mark)
            if i > 0:
                lines[longest : longest + 1] = [t[: i + cut], t[i + cut :].strip()]
                break
        else:
            break  # nowhere to break it
    return lines, min(_fitting_scale(t, width, scale, thickness=thickness) for t in lines)


def _fitting_scale(text: str, width: int, scale: float, smallest: float = 0.3, thickness: int = 1) -> float:
    """``scale``, or the largest smaller one (not under ``smallest``) at which ``text``'s box, drawn ``thickness``
    thick, fits ``width`` pixels (a review: a phone clip's upright frame, 169 px wide, cut "original, t = 3.36 s
    (frame 84)" off mid-text; now the compare view's tiles' titles)."""
    while scale > smallest and cv2.getTextSize(text, FONT, scale, thickness)[0][0] + 12 > width:
        scale = round(scale - 0.05, 2)
    return max(scale, smallest)


__all__ = [
    "gallery_items",
    "face_tile",
    "depth_panel",
    "draw_boxes",
    "frame_view",
    "verdict_strip",
    "hex_rgb",
    "faces_text",
    "score_said",
    "crop_note",
    "label_style",
    "ORDERS",
    "HEAT_MAP_CHOICES",
    "HEAT_MAP_LOOKS",
    "HeatMapLook",
    "DEPTH_TEXT",
]
