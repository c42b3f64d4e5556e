"""The pipeline, top to bottom: video -> sampled frames -> faces -> scores -> explanations -> report.

:func:`analyze` is the one entry point that the CLI, the app, the evaluation
command, the benchmark and the tests all call.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from detector.constants import (
    DEFAULT_FRAMES,
    FACE_MARGIN,
    GIF_EXTENSIONS,
    HEAVY_COMPRESSION_BPP,
    HEAVY_KEYFRAME_BPP,
    SCORE_DECIMALS,
    SMALLEST_FACE_PX,
)
from detector.data.seen import seen_warning, trained_sources
from detector.errors import InputError
from detector.inference import overlays
from detector.inference.covers import check_covers
from detector.inference.faces import (
    MESH_CHECK_BELOW,
    TILE_CONFIDENCE,
    TILE_MESH_FLOOR,
    FaceDetector,
    crop_box,
    crop_face,
    crop_inside,
    inner_picture,
    iou,
    mirror_outside,
    track,
    turned_square,
)
from detector.inference.overlays import face_in_crop, paint_out_text, text_over, text_over_warning
from detector.inference.quality import face_stats, straighten_by
from detector.inference.report import (
    NO_FACE,
    RULES,
    TOO_SMALL,
    FrameResult,
    Report,
    attach_sequence,
    band_at,
    clear_text,
    hand_threshold_warning,
    model_warning,
    second_opinion_warning,
    sequence_label,
    summarise,
    tint_alternative_warning,
    with_cut_out,
    with_fragile,
    with_second_opinion,
    with_text_over,
)
from detector.inference.stills import CUT_OUT_WARNING, STILL_PAD, grey_tail_warning, is_still, read_still
from detector.inference.video import (
    Limits,
    SampledFrame,
    VideoInfo,
    bits_per_pixel,
    cut_short,
    heavy_compression_warning,
    keyframe_bits_per_pixel,
    many_faces_warning,
    restart_warning,
    sample_frames,
    small_clip_warning,
    small_threshold_warning,
)
from detector.models.classifier import Classifier, load_model

Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


def cam_batch(input_size: int) -> int:
    """Faces per CAM batch: about four 224-px faces (the faithfulness pass runs two copies of each).

    Small batches keep the activations in the CPU's cache: at 224 px, batches of 4 ran
    EfficientNet-Lite0's CAM + faithfulness ~20% faster than batches of 8 and ~40% faster
    than 16 (bench/speed.py), and need less memory.
    """
    return max(4, int(4 * (224 / max(1, input_size)) ** 2))


_local = threading.local()


def face_detector() -> FaceDetector:
    """One BlazeFace per thread, created on first use (mediapipe graphs are not thread-safe)."""
    if getattr(_local, "detector", None) is None:
        _local.detector = FaceDetector()
    return _local.detector


def detect_faces(
    frames: list[SampledFrame], margin: float = FACE_MARGIN, detector: FaceDetector | None = None, pad: float = 0.0
):
    """Faces of every sampled frame, tracked into identities, each with its square crop.

    ``pad`` (stills): detect on a copy with that share of each side mirrored outwards
    (:func:`detector.inference.stills.pad_still`), keep the faces centred inside the original and crop them from the
    padded copy, so a tightly cropped photo still gives a whole face with its margin.  Boxes are in the
    original's pixels.  Returns one list of faces per frame (empty where no face was found), tracked into identities.
    """
    detector = detector or face_detector()
    per_frame = [faces_in(fr.image, margin, detector, pad) for fr in frames]
    track(per_frame)
    return per_frame


def _holds(box, x: float, y: float) -> bool:
    """Whether the point (x, y) lies inside ``box`` (x, y, w, h)."""
    return box[0] <= x < box[0] + box[2] and box[1] <= y < box[1] + box[3]


def _share_inside(box, area) -> float:
    """The share of ``box`` (x, y, w, h) inside ``area`` (x0, y0, x1, y1)."""
    x, y, bw, bh = box
    ix = max(0.0, min(x + bw, area[2]) - max(x, area[0]))
    iy = max(0.0, min(y + bh, area[3]) - max(y, area[1]))
    return ix * iy / max(1.0, bw * bh)


MIRROR_OUTSIDE = 0.3  # a padded copy's face with more than this share of its box beyond the photo ...
MIRROR_SMALLER = 0.75  # ... holding a face of the photo itself under this share of its side: a face and its mirror


def _mirror_merge(box, face, area) -> bool:
    """Whether ``box``, found in a photo's mirrored copy, is the photo's ``face`` and its mirror image taken for one
    larger face: more than :data:`MIRROR_OUTSIDE` of it beyond the photo's ``area``, and ``face`` (found in the photo
    as it is) nearly all inside it and smaller than :data:`MIRROR_SMALLER` of its side.  Found by a review: a real
    portrait at the top of a plain canvas gave a second "face" 43% above the picture, and its score (0.75, fake)
    decided the verdict over the real face's 0.32."""
    if 1.0 - _share_inside(box, area) <= MIRROR_OUTSIDE:
        return False
    inner = (box[0], box[1], box[0] + box[2], box[1] + box[3])
    return _share_inside(face, inner) >= 0.8 and max(face[2], face[3]) < MIRROR_SMALLER * max(box[2], box[3])


def colour_second_opinion(report: Report, clf: Classifier, directory=None) -> dict | None:
    """Where ``report``'s faces are tinted beyond ``clf``'s training faces (a colour warning) and ``clf`` never trained
    with colour casts, the verdict of the first installed, calibrated model that did (``mnv2_colour``) on the same
    face crops, by the same rule: ``{"model", "score", "threshold", "uncertain", "label"}``; None where there is no
    such model, it cannot be loaded, its crops would differ (another margin) or it finds no score.

    Why: a colour filter on a real photo misleads the default (36 of 100 sepia-filtered real photos called fake, 67
    of 100 duotones), not the model trained with filters (0 and 2), which misses more fakes (25 of 67 cut tight,
    against 44).  It is worked out whatever this model's label, so that another threshold (the app's slider) can
    hear it too; it counts only where this model says fake: its "not fake" then makes the verdict uncertain
    (:func:`~detector.inference.report.with_second_opinion`), never real (docs/results.md)."""
    from detector.errors import NoModelError
    from detector.inference.quality import tint_warned
    from detector.inference.report import second_opinion_model

    if report.label == "unknown" or not tint_warned(report.warnings):
        return None
    name = second_opinion_model(clf.card, directory)
    if not name:
        return None
    try:
        other = load_model(name, directory)
    except (NoModelError, OSError, ValueError) as e:  # a broken install: the report points to it by name instead
        log.warning("second opinion: %s cannot be loaded (%s)", name, e)
        return None
    if other.card.face_margin != clf.card.face_margin or getattr(other, "heads", None):
        return None
    crops = [f.crop for f in report.faces]
    if not crops or any(c is None for c in crops):
        return None
    scores = iter(float(s) for s in other.predict(crops))  # the same frames and faces, the other model's scores
    frames = [
        replace(fr, faces=[replace(f, score=next(scores), cam=None, explanation=None) for f in fr.faces])
        for fr in report.frames
    ]
    again = summarise(
        report.video, frames, threshold=other.card.threshold, rule=report.aggregation, uncertain=other.card.uncertain
    )
    if again.label == "unknown" or not math.isfinite(again.score):
        return None
    return {
        "model": other.name,
        "score": round(float(again.score), SCORE_DECIMALS),
        "threshold": float(other.card.threshold),
        "uncertain": list(other.card.uncertain) if other.card.uncertain else None,
        "label": again.label,
    }


def compression_warning(report: Report, card) -> str:
    """What is said of ``report``'s video where it is compressed as heavily as FaceForensics++'s c40 videos (its
    ``video_info["bits_per_pixel"]`` under :data:`HEAVY_COMPRESSION_BPP`, and its keyframes',
    ``keyframe_bits_per_pixel``, where read, under :data:`HEAVY_KEYFRAME_BPP`) and judged real or uncertain: there
    many fakes are missed (``card``'s c40 and c23 AUCs, where measured).  "" otherwise: a fake verdict gets none (no
    false alarm was measured on such reals), nor a photo, a GIF or a file cut short (no figure in ``video_info``),
    nor a still or slow clip whose keyframes show it is not compressed that heavily."""
    bpp = (report.video_info or {}).get("bits_per_pixel")
    if bpp is None or bpp >= HEAVY_COMPRESSION_BPP or report.label not in ("real", "uncertain"):
        return ""
    keyframes = (report.video_info or {}).get("keyframe_bits_per_pixel")
    if keyframes is not None and keyframes >= HEAVY_KEYFRAME_BPP:
        return ""
    aucs = ((getattr(card, "metrics", None) or {}).get("by_source_auc")) or {}
    return heavy_compression_warning(bpp, aucs.get("ffpp_c40"), aucs.get("ffpp"))


def too_small(face) -> bool:
    """Whether ``face`` is too small to judge: its box under :data:`SMALLEST_FACE_PX` across."""
    return max(face.box[2], face.box[3]) < SMALLEST_FACE_PX


def small_faces_warning(sides: list[float], report: Report) -> str:
    """What is said of the faces left out as too small (``sides``: each one's size across, px): that they were not
    judged, and, when no other face was, that there is no verdict (it starts with :data:`TOO_SMALL`)."""
    n, largest = len(sides), max(sides)  # face boxes over the frames (one face in 3 frames is 3), not people
    what = "in the photo" if report.is_photo else "over the sampled frames"
    found = f"{n} face{'s' * (n != 1)} found {what}"
    if report.label == "unknown":
        return (
            f"{TOO_SMALL}: {found}, the largest {largest:.0f} px across, under the {SMALLEST_FACE_PX} px a face needs "
            "to be judged, so there is no verdict. Give a larger version of the file if there is one."
        )
    return (
        f"{found} left unjudged, under {SMALLEST_FACE_PX} px across (the largest {largest:.0f} px): the verdict rests "
        "on the larger faces only."
    )


# the face FaceMesh finds must fill the crop it is asked about (an audit: a coffee cup's 380 px box, BlazeFace 0.65,
# passed on a "face" FaceMesh found off to its side); of 63 faces under 0.7 in 400 held-out photos, 61 pass, the 2
# others a face merged with its mirror image into a box reaching into the padding
MESH_MIN_SHARE = 0.45  # FaceMesh's face, across, as a share of the crop's side (a face's box fills about 77% of it)
MESH_OFF_CENTRE = 0.2  # and its middle at most this share of the crop's side from the crop's


def _mesh_sees_a_face(crop: np.ndarray, margin: float = FACE_MARGIN) -> bool:
    """Whether FaceMesh finds a face in ``crop`` (a second opinion on a face BlazeFace was unsure of), upright or
    turned by a quarter, a half or three quarters: FaceMesh looks for upright faces, and a photo lying on its side
    gives BlazeFace less confidence too (a review: 26 of 80 photos turned 90 degrees lost their face).  The face it
    finds must be the box's: near the crop's middle and at least :data:`MESH_MIN_SHARE` of its side across, for a
    crop at the default margin (``margin``: the crop's; a wider one holds a smaller share of face)."""
    from detector.inference.depth import landmarks

    for k in (0, 1, 3, 2):
        points = landmarks(np.rot90(crop, k))
        if points is None:
            continue
        (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
        centred = all(0.5 - MESH_OFF_CENTRE <= (a + b) / 2 <= 0.5 + MESH_OFF_CENTRE for a, b in ((x0, x1), (y0, y1)))
        if max(x1 - x0, y1 - y0) >= MESH_MIN_SHARE * (1 + FACE_MARGIN) / (1 + margin) and centred:
            return True
    return False


def faces_in(
    image: np.ndarray, margin: float, detector: FaceDetector, pad: float = 0.0, margins: Sequence[float] = ()
) -> list:
    """The faces of one frame, each with its square crop (not yet tracked): see :func:`detect_faces`.  With
    ``margins``, each face also keeps its crop at each of those margins (``face.crops``, ``margin`` included), each
    with its inner picture's part of it (see :func:`_past_inner_edge`)."""
    h, w = image.shape[:2]
    ox = oy = 0
    if pad > 0:
        from detector.inference.stills import pad_still

        image, ox, oy = pad_still(image, pad)
    faces = []
    # with padding, the detector keeps only faces centred in the photo's own area (not its mirror images)
    found = detector.detect(image, region=(ox, oy, ox + w, oy + h) if pad > 0 else None)
    if pad > 0:  # and faces the padded copy misses but the photo as it is shows (a wide group photo: faces half as
        # large in the padded copy, found by a browser check as "no face found") join them, moved into its pixels
        photo = image[oy : oy + h, ox : ox + w]

        area = (ox, oy, ox + w, oy + h)

        def join(extra, within: bool) -> None:  # ``extra`` faces (the photo's pixels) not found yet, moved in
            for g in extra:
                moved = (g.box[0] + ox, g.box[1] + oy, g.box[2], g.box[3])
                cx, cy = moved[0] + moved[2] / 2, moved[1] + moved[3] / 2
                if not within:  # a face and its own mirror image, seen as one face: the photo's face replaces it
                    found[:] = [f for f in found if not _mirror_merge(f.box, moved, area)]
                if not any(iou(moved, f.box) > 0.3 or (within and _holds(f.box, cx, cy)) for f in found):
                    g.box, g.keypoints = moved, [(kx + ox, ky + oy) for kx, ky in g.keypoints]
                    found.append(g)

        join(detector.detect(photo), within=False)
        # and faces too small to be seen in the whole photo (a 1080p photo with 100 px faces), searched tile by
        # tile; one already found (or inside one found: a tile's view of part of a large face) stays one face
        join(detector.detect_small(photo, min_confidence=TILE_MESH_FLOOR), within=True)  # (those under
        # TILE_CONFIDENCE: kept below only where FaceMesh sees a face)
        found.sort(key=lambda f: -f.confidence)
    for f in found:
        f.crop = crop_face(image, f.box, margin)
        if pad > 0:  # a photo: a picture inside it (a collage's portrait) is mirrored past its edge, as a photo's own
            f.crop, f.inside = _past_inner_edge(image, f.box, margin, f.crop)
        if f.inside is None:  # a tilted head is cut turned upright (not in a picture inside the picture: its edge is
            # found square to the photo's)
            f.straightened = straighten_by(f.keypoints)
            if f.straightened:
                f.box = _upright_box(image, f.box, f.straightened, detector)
                f.crop = crop_face(image, f.box, margin, f.straightened)
    if pad > 0:  # a photo: a face BlazeFace was unsure of stays only where FaceMesh sees a face in its crop too (a
        # journalist's audit: a coffee cup got a box, a heat map and a verdict; see MESH_CHECK_BELOW)
        sure = lambda f: f.confidence >= (TILE_CONFIDENCE if f.tiled else MESH_CHECK_BELOW)  # noqa: E731
        found = [f for f in found if sure(f) or _mesh_sees_a_face(f.crop, margin)]
    for f in found:
        x, y, bw, bh = f.box
        inner = f.inside  # a photo's inner picture, shares of the crop (None: none)
        if margins:  # each crop with its inner picture's share of it (None: none), as f.crop and inner
            f.crops = {float(margin): (f.crop, inner)}
            for m in margins:
                if float(m) != float(margin):
                    crop = crop_face(image, f.box, m, f.straightened)
                    inner_edge = pad > 0 and not f.straightened  # (a straightened face's has none: see above)
                    f.crops[float(m)] = _past_inner_edge(image, f.box, m, crop) if inner_edge else (crop, None)
        f.box = (int(x - ox), int(y - oy), int(bw), int(bh))
        f.keypoints = [(float(kx - ox), float(ky - oy)) for kx, ky in f.keypoints]
        # a photo's mirrored padding, a frame's black edge
        f.inside = _both(crop_inside(f.box, w, h, margin, f.straightened), inner)
        f.framed = inner is not None
        faces.append(f)
    return faces


def find_text_over_faces(faces: list, margin: float, image: np.ndarray) -> None:
    """Text laid over each face of ``image`` (a burned-in caption across the chin): ``face.text_over``, the share of
    its crop (at ``margin``) under it (:func:`detector.inference.overlays.text_over`; a tilted face's looked for in
    its square cut unturned, where the picture's text lies level).  Where ``overlays.PAINT_TEXT`` is set, the text
    is also painted out of its crops, at every margin, before they are judged.  Analysis only:
    training crops (:func:`detect_faces`) are as the pictures hold them."""

    def where(f, m: float) -> tuple:  # the face's box in its square at margin m, the turn, the square cut unturned
        return face_in_crop(f.box, m), f.straightened, crop_face(image, f.box, m) if f.straightened else None

    for f in faces:
        # each margin's square once (the analysis margin's is f.crop itself), as faces_at gives it to a model of
        # that margin
        squares = dict(f.crops or {float(margin): (f.crop, None)})
        shares = {}
        for m, (crop, inner) in squares.items():
            if overlays.PAINT_TEXT:
                painted, shares[m] = paint_out_text(crop, *where(f, m))
                squares[m] = (painted, inner)
            else:
                shares[m] = text_over(crop, *where(f, m))
        f.crop, f.text_over = squares[float(margin)][0], shares[float(margin)]
        if f.crops:
            f.crops, f.text_at = squares, shares


UPRIGHT_LOOK = 1.0  # _upright_box looks for the face again in a square this much larger than its box (each side)


def _upright_box(image: np.ndarray, box, roll: float, detector: FaceDetector):
    """The box a tilted face gets once turned upright: BlazeFace's box round a face tilted by ``roll`` degrees is
    sized otherwise than round the same face upright (80 UTKFace photos tilted by 30 degrees: 0.92 of the upright
    box's side, from 0.84 to 1.01 for the middle 80%; ``scripts/tilted_photos_probe.py --boxes``), so the face is
    found again in a square round it turned by ``roll``, and its box there (0.99 of the upright box's, 0.94 to
    1.04; on one face, the astronaut, up to 1.12), centred where it lies in ``image``, is what its crop is cut round
    (by :func:`crop_face` with the same ``roll``), at about the scale training crops were cut.  ``box`` as it was
    where the face is not found again in the square's middle."""
    import cv2

    _, _, side = crop_box(box, image.shape[1], image.shape[0], UPRIGHT_LOOK)
    square = crop_face(image, box, UPRIGHT_LOOK, roll)
    found = [f for f in detector.detect(square) if _holds(f.box, side / 2, side / 2)]
    if not found:
        return box
    bx, by, bw, bh = max(found, key=lambda f: f.confidence).box
    # its centre, from the turned square back into the image (the square's centre is the box's)
    m = cv2.invertAffineTransform(turned_square(box, side, roll))
    cx, cy = m @ np.array([bx + bw / 2, by + bh / 2, 1.0])
    return (int(round(cx - bw / 2)), int(round(cy - bh / 2)), int(bw), int(bh))


def _past_inner_edge(image: np.ndarray, box, margin: float, crop: np.ndarray):
    """``crop`` (of ``box`` in ``image`` at ``margin``) mirrored past the edge of a picture inside the picture where
    its face lies in one (:func:`~detector.inference.faces.inner_picture`), and the inner picture's part of the crop
    as shares of its side (None where none was found)."""
    x, y, side = crop_box(box, image.shape[1], image.shape[0], margin)
    rect = inner_picture(crop, (box[0] - x, box[1] - y, box[2], box[3]))
    if rect is None:
        return crop, None
    return mirror_outside(crop, rect), tuple(float(v) / side for v in rect)


def _both(a, b):
    """The part of a crop inside both ``a`` and ``b`` ((x0, y0, x1, y1) shares of its side, None: all of it)."""
    if a is None or b is None:
        return a if b is None else b
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def frames_and_faces(
    video_path: str,
    *,
    frames: int | None,
    fps: float | None,
    limits: Limits,
    margin: float,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    keep_frames: bool | int = False,
    margins: Sequence[float] = (),
) -> tuple[VideoInfo, list[SampledFrame], float]:
    """The sampled frames of a video (or a photo), each with its faces (``frame.faces``, not yet tracked) and its
    decoded ``shape``, and the seconds spent finding faces.

    Faces are found in each frame as it is decoded, and the frame is then dropped or shrunk (``keep_frames``, see
    :func:`kept_image`): the clip's full-size frames are never all in memory at once (128 frames of 1440p would be
    1.4 GB).  The detector is made before decoding (mediapipe's first import, made later, kept that analysis'
    frames alive for good).  ``margins``: also crop each face at these margins (``face.crops``), so that models
    with different margins can share one decode (:func:`faces_at`)."""
    still = is_still(video_path)
    detector = face_detector()
    pad = STILL_PAD if still else 0.0
    detect_s = 0.0

    def on_frame(fr: SampledFrame, found: list | None = None) -> None:
        nonlocal detect_s
        if transform is not None:
            fr.image = np.ascontiguousarray(transform(fr.image), dtype=np.uint8)
        fr.shape = tuple(fr.image.shape[:2])
        td = time.perf_counter()
        fr.faces = found if found is not None else faces_in(fr.image, margin, detector, pad, margins)
        find_text_over_faces(fr.faces, margin, fr.image)  # text laid over a face: never alone the ground of "fake"
        detect_s += time.perf_counter() - td
        fr.image = kept_image(fr.image, keep_frames)

    if still:
        info, sampled = read_still(video_path)
        for fr in sampled:
            # whether its faces lie on their side, on the photo as given (before a failure lab's change: the photo
            # and its changed copy are turned alike, and their faces matched: a review)
            td = time.perf_counter()
            turns, found = _upright_turns(fr.image, margin, detector, pad, margins)
            detect_s += time.perf_counter() - td
            if turns:  # the photo is analysed turned upright (a journalist's audit: a real portrait turned by 90
                # degrees scored 0.771, "Likely FAKE"; upright 0.019)
                fr.image = np.ascontiguousarray(np.rot90(fr.image, turns))
                info.turned_upright = 90 * turns
                if turns % 2:
                    info.width, info.height = info.height, info.width
            on_frame(fr, found if transform is None else None)  # the faces already found, where nothing changes
    else:
        info, sampled = sample_frames(video_path, n_frames=frames, fps=fps, limits=limits, on_frame=on_frame)
    return info, sampled, detect_s


def turned_upright_warning(degrees: int) -> str:
    """What is said of a photo analysed turned upright by ``degrees`` (counter-clockwise: :func:`_upright_turns`)."""
    how = {
        90: "lay on its side, so it was analysed turned a quarter to the left",
        180: "was upside down, so it was analysed turned the right way up",
        270: "lay on its side, so it was analysed turned a quarter to the right",
    }[int(degrees) % 360]
    return (
        f"The photo {how}: its faces lay turned, and the models learned upright faces. The face boxes, the picture "
        "shown and the heat maps are of the turned photo."
    )


def _upright_turns(
    image: np.ndarray, margin: float, detector: FaceDetector, pad: float, margins: Sequence[float] = ()
) -> tuple[int, list]:
    """(quarter turns, np.rot90's k counter-clockwise: 1, 2 or 3, that put a photo's faces upright where most of
    them lie on their side or upside down (:func:`~detector.inference.quality.sideways_warning`'s rule), checked by
    finding them again in the turned photo, else 0; the faces found in the photo so turned (:func:`faces_in`))."""
    from detector.inference.quality import face_rolls, mostly_turned

    faces = faces_in(image, margin, detector, pad, margins)
    rolls = face_rolls(faces)
    if not mostly_turned(rolls):
        return 0, faces
    for k in (1, 3, 2) if np.median(rolls) > 0 else (3, 1, 2):  # the likelier quarter first
        again = faces_in(np.ascontiguousarray(np.rot90(image, k)), margin, detector, pad, margins)
        rolls_again = face_rolls(again)
        if len(rolls_again) >= len(rolls) and not mostly_turned(rolls_again):
            return k, again
    return 0, faces


def faces_at(found: tuple[VideoInfo, list[SampledFrame], float], margin: float):
    """A fresh copy of :func:`frames_and_faces`'s result whose faces carry their crops at ``margin`` (it must be one
    of the ``margins`` they were found with), untracked and unscored: what :func:`analyze` takes as ``found``, once
    per model, while the decoded frames are shared."""
    info, sampled, detect_s = found
    frames = []
    for fr in sampled:
        faces = []
        for f in fr.faces or []:
            crops = f.crops or {}
            if float(margin) not in crops:
                raise ValueError(f"faces were not cropped at margin {margin} (have {sorted(crops)})")
            crop, inner = crops[float(margin)]
            inside = crop_inside(f.box, fr.shape[1], fr.shape[0], margin, f.straightened) if fr.shape else None
            inside = _both(inside, inner)
            faces.append(
                replace(
                    f,
                    crop=crop,
                    crops=None,
                    identity=-1,
                    score=0.0,
                    cam=None,
                    explanation=None,
                    stats=None,
                    depth=None,
                    covered=0.0,  # measured again on each model's own scores (covers.py)
                    covered_under=False,
                    covers_checked=False,
                    inside=inside,
                    framed=inner is not None,
                    text_over=(f.text_at or {}).get(float(margin), f.text_over),  # found in this margin's square
                    text_at=None,
                )
            )
        frames.append(replace(fr, faces=faces))
    return info, frames, detect_s


def kept_image(image: np.ndarray, keep: bool | int) -> np.ndarray | None:
    """What a frame keeps once its faces are found: nothing, the whole frame (``True``), or a copy whose longer side
    is at most ``keep`` pixels (an int: the app's page needs no more)."""
    if keep is False or keep is None:
        return None
    if keep is True:
        return image
    h, w = image.shape[:2]
    side = max(h, w)
    if side <= int(keep):
        return image
    import cv2

    scale = int(keep) / side
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def sequence_tracks(
    clf, results: list[FrameResult], faces: list, embeddings: list[np.ndarray], depth: np.ndarray | None = None
) -> list[dict]:
    """A temporal model's head over each identity track: ``embeddings`` are each member's rows for ``faces`` (in
    that order); a track is its identity's faces in frame order.  Returns {identity, score, frames, weights,
    contributions} per identity (:func:`detector.inference.report.attach_sequence`).  An RGB + depth model also
    reads ``depth``, the faces' depth maps (N x S x S, same order), and adds ``depth_attention`` per step."""
    row = {id(f): i for i, f in enumerate(faces)}
    by_id: dict[int, list[tuple[int, int]]] = {}
    for fr in results:
        for f in fr.faces:
            by_id.setdefault(f.identity, []).append((fr.index, row[id(f)]))
    tracks = []
    for ident, steps in sorted(by_id.items()):
        rows = [r for _, r in steps]
        out = clf.sequence([e[rows] for e in embeddings], **({"depth": depth[rows]} if depth is not None else {}))
        tracks.append({"identity": ident, "frames": [i for i, _ in steps], **out})
    return tracks


def judged_side(path, width: int | None, height: int | None, photo: bool, faces=()) -> int | None:
    """The size (px) by which a model card's threshold for small videos, or for small photos (``photo``), is chosen
    (:meth:`~detector.models.card.ModelCard.threshold_for`): a video's short side; a photo's short side, or the
    longer side of its judged face that scores highest (``faces``: scored faces, or boxes) where that is smaller (the
    photo tiers were set on photos whose face filled them: a small face in a large group photo is blown up from as
    few pixels as in a small photo). The face that decides the verdict sets it: a large subject beside a small
    bystander who scores low is not judged as strictly as the bystander would be (a review: the smallest face set it
    for every face). None for an animated GIF (not measured: the rules were set on forwarded H.264 clips and on
    photos; a one-frame GIF is a photo) or a file of unknown size."""
    if (not photo and str(path).lower().endswith(GIF_EXTENSIONS)) or not width or not height:
        return None
    side = min(int(width), int(height))
    if photo and len(faces):
        top = max(faces, key=lambda f: float(getattr(f, "score", 0.0)))  # the first of equals
        b = getattr(top, "box", top)
        if b[2] > 0 and b[3] > 0:
            side = min(side, int(max(b[2], b[3])))
    return side


PATH_MAX = 4096  # the longest path Linux opens (bytes or characters over it: not a file name)


def check_arguments(video_path, frames, fps, rule, threshold, cam_faces, cam=None) -> str:
    """``video_path`` as a string (a ``pathlib.Path`` too), once :func:`analyze`'s other arguments are known good:
    an :class:`InputError` (one line) before any decoding for a bad one, not a crash after the work is done."""
    try:
        path = os.fspath(video_path)
    except TypeError:
        raise InputError(f"the input must be a file path; got {type(video_path).__name__}") from None
    if isinstance(path, bytes) and (b"\0" in path or len(path) > PATH_MAX):  # a file's contents, not its name
        raise InputError(f"the input must be a file path; got {len(path):,} bytes (a file's contents? give its path)")
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if "\0" in path:  # (the name printed back held the raw character: an audit)
        raise InputError("the file name holds a NUL character, which no file name can")
    if len(path) > PATH_MAX:
        raise InputError(f"the file name is {len(path):,} characters long; no path is longer than {PATH_MAX:,}")

    def number(value) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    whole = number(frames) and math.isfinite(frames) and float(frames).is_integer()  # 8, np.int64(8), 8.0
    if frames is not None and not whole:
        raise InputError(f"frames must be a whole number of frames; got {frames!r}")
    if frames is not None and frames < 1:  # 0 was taken as "the default" below, quietly (a review): say so instead
        raise InputError(f"frames must be at least 1 (None: the default, {DEFAULT_FRAMES}); got {frames!r}")
    if fps is not None and not (number(fps) and math.isfinite(fps) and fps > 0):  # 0 meant "the default", quietly
        raise InputError(f"fps must be a positive number of frames a second (None: frames spread evenly); got {fps!r}")
    if fps is not None and frames is not None:  # one of the two was ignored, quietly (an audit: fps won)
        raise InputError(f"give frames or fps, not both (frames={frames!r}, fps={fps!r}); frames=None with fps")
    if rule not in RULES:
        raise InputError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    if threshold is not None and not (number(threshold) and math.isfinite(threshold) and 0 <= threshold <= 1):
        raise InputError(f"the threshold is a probability, between 0 and 1; got {threshold!r}")
    if cam_faces is not None and not (
        isinstance(cam_faces, numbers.Integral) and not isinstance(cam_faces, bool) and cam_faces >= 0
    ):
        raise InputError(f"cam_faces must be a whole number, 0 or more (0 or None: every face); got {cam_faces!r}")
    if cam:  # checked here too, not only where faces get explained: a clip without a face must not take any name
        from explain.names import METHOD_NAMES

        if cam not in METHOD_NAMES:
            raise InputError(f"unknown CAM method {cam!r}; choose one of: {', '.join(METHOD_NAMES)}")
    return path


def analyze(
    video_path: str | os.PathLike,
    *,
    frames: int | None = None,
    fps: float | None = None,
    model: str | Classifier | None = None,
    rule: str = "confident",
    threshold: float | None = None,
    cam: str | None = None,
    cam_faces: int | None = None,
    faithfulness: bool = True,
    limits: Limits = Limits(),
    progress: Progress | None = None,
    keep_frames: bool | int = False,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    found: tuple[VideoInfo, list[SampledFrame], float] | None = None,
    second_opinion: bool = True,
) -> Report:
    """Analyse one video (or one photo: jpg, png, webp, bmp, or a one-frame gif, as a one-frame clip) and return
    its :class:`~detector.inference.report.Report`.

    video_path    -- the file (a str or a ``pathlib.Path``).
    frames / fps  -- sample ``frames`` evenly over the clip (None: 32), or one every ``1/fps`` s; not both.
    model         -- a loaded Classifier, a model name in ``assets/models``, a card path, or None (default).
    rule          -- how frame scores become a video score: "confident" (DFDC winner) or "mean".
    threshold     -- video score at or above which the label is "fake" (default: the model card's).
    cam           -- a CAM method name (see ``explain.METHODS``) to explain faces, or None for no CAM.
    A temporal model (a card with ``temporal``) also runs its sequence head over each identity track:
    ``report.sequence`` (the report's score and label stay the frame model's).

    cam_faces     -- explain at most this many faces (the highest-scoring ones); None: every face (then the
                     CAM's forward pass also gives the scores: there is no separate "classify" pass).
    keep_frames   -- keep the decoded frames on ``report.frame_images`` (the app shows them): True at full size,
                     an int to keep copies whose longer side is at most that many pixels (less memory).
    transform     -- applied to each decoded RGB frame before detection
                     (e.g. ``detector.evaluation.perturb.make_transform``).
    found         -- this clip's frames and faces, already found (:func:`faces_at` of a :func:`frames_and_faces`
                     result, at this model's margin): no decoding or detection (the compare view's models share
                     one decode).  Their faces are written into: pass a fresh copy per call.
    faithfulness  -- with CAM, also measure how much each map matters to the score (``face.explanation``: the
                     score's drop with the hottest part blurred, ...; see :mod:`explain.faithfulness`).
    limits        -- the file size, duration, resolution and frame count allowed (:class:`Limits`).
    progress      -- called as ``progress(fraction, description)`` at each stage (the app's progress bar).
    second_opinion -- where a face is warned of as colour-filtered and this model never trained with colour casts,
                     ask the installed model that did (:func:`colour_second_opinion`; ``report.second_opinion``):
                     its "not fake" makes a fake verdict uncertain.  False: this model's verdict alone.

    Raises :class:`~detector.errors.InputError` for input it cannot use (one-line message),
    :class:`~detector.errors.NoModelError` when no trained model is installed.
    """
    video_path = check_arguments(video_path, frames, fps, rule, threshold, cam_faces, cam)
    step = progress or (lambda fraction, desc: None)
    t0 = time.perf_counter()
    clf = model if isinstance(model, Classifier) else load_model(model)
    timings: dict[str, float] = {}

    step(0.0, "decoding, finding faces")
    t = time.perf_counter()
    if found is None:
        info, sampled, detect_s = frames_and_faces(
            video_path,
            frames=frames,
            fps=fps,
            limits=limits,
            margin=clf.card.face_margin,
            transform=transform,
            keep_frames=keep_frames,
        )
    else:
        info, sampled, detect_s = found
    faces_per_frame = [fr.faces or [] for fr in sampled]
    # faces too small to judge are left out, and said (below): no score is made of a few pixels blown up
    small_boxes = [[tuple(f.box) for f in faces if too_small(f)] for faces in faces_per_frame]
    tiny = [max(b[2], b[3]) for boxes in small_boxes for b in boxes]
    if tiny:
        faces_per_frame = [[f for f in faces if not too_small(f)] for faces in faces_per_frame]
    track(faces_per_frame)
    timings["decode"] = 0.0 if found is not None else time.perf_counter() - t - detect_s
    timings["detect"] = 0.0 if found is not None else detect_s  # shared: counted once, by whoever decoded

    all_faces = [f for faces in faces_per_frame for f in faces]
    # CAM on every face: its forward pass gives the scores too, so the faces are not classified twice
    cam_all = bool(cam) and bool(all_faces) and (not cam_faces or cam_faces >= len(all_faces))
    step(0.5, "scoring faces")
    t = time.perf_counter()
    temporal = bool(getattr(clf, "heads", None)) and bool(all_faces)  # a temporal model: embeddings for its heads
    if temporal:
        embeddings, probs = clf.embed_members([f.crop for f in all_faces])
        scores = None if cam_all else probs
    else:
        scores = None if cam_all else clf.predict([f.crop for f in all_faces])
    if not cam_all or temporal:  # else the CAM's pass scores the faces, timed as "explain" ("classify" 0.0 read as
        # free: an audit); a temporal model's embedding pass runs all the same
        timings["classify"] = time.perf_counter() - t

    if clf.card.ranges:  # what the faces look like, against what the model trained on
        for f in all_faces:
            f.stats = face_stats(f.crop, f.box, f.keypoints)
    results = [
        FrameResult(index=fr.index, time=fr.time, faces=faces, too_small=small)
        for fr, faces, small in zip(sampled, faces_per_frame, small_boxes)
    ]
    face_results = [f for fr in results for f in fr.faces]
    for f, s in zip(face_results, scores if scores is not None else []):
        f.score = float(s)

    if cam and face_results:
        step(0.7, "explaining faces")
        t = time.perf_counter()
        from explain import explain_faces  # imported only when asked: detector works without CAM

        chosen = face_results if cam_all else sorted(face_results, key=lambda f: -f.score)[:cam_faces]
        exps = explain_faces(
            clf,
            [f.crop for f in chosen],
            method=cam,
            faithfulness=faithfulness,
            batch_size=cam_batch(clf.card.input_size),
        )
        for f, exp in zip(chosen, exps):
            if cam_all:
                f.score = exp.score  # the same network on the same crop: the classifier's score
            f.cam = exp.cam
            f.explanation = exp.figures()
            if f.inside is not None and faithfulness:  # the square runs past the picture: how much of the map is there
                from explain.faithfulness import padding_mass

                mass = padding_mass(exp.cam, f.inside)
                f.explanation["padding_mass"] = round(mass, 4) if math.isfinite(mass) else None
        timings["explain"] = time.perf_counter() - t  # with CAM on every face, includes the scoring

    timings["total"] = time.perf_counter() - t0
    # the card's threshold for this file: its threshold for small videos where it has one and the video is under it,
    # else its own. A threshold given by the caller (other than that one) replaces it, as given, to the last digit
    # (the app's slider passes None within half its step of either of the card's); the band keeps its lower edge.
    # and for a photo with several faces, each judged on its own, the card's threshold for that many faces where it is
    # stricter (a group photo of real people gets a false alarm on one of them more often than a portrait)
    photo = is_still(video_path)
    side = judged_side(video_path, info.width, info.height, photo, face_results)
    n_faces = len(face_results) if photo else None
    rule_used = clf.card.deciding_rule(side, photo, n_faces)  # which rule, by what it is, not by its keys (a review:
    # a many-faces tier for small faces has "below" too, and was said as the small-photo tier as well)
    small = rule_used if rule_used is not None and rule_used is clf.card.small_rule(side, photo) else None
    many = rule_used if rule_used is not None and small is None else None
    card_t, card_band = clf.card.threshold_for(side, photo, n_faces)
    own = threshold is None or float(threshold) == card_t
    t = card_t if own else float(threshold)
    band = card_band if own else band_at(t, card_t, card_band)
    # something in front of a face (a hand, a cup, a microphone, a mask): looked for on the faces that could make the
    # verdict uncertain or fake at this threshold and band, and said (covers.covered_warning); where the card sets a
    # threshold for covered faces, one read as covered under it makes no verdict fake on its own (with_covered)
    t0_covers = time.perf_counter()
    covered_t = clf.card.covered_threshold  # under it, a face read as covered makes no verdict fake (with_covered)
    if check_covers(face_results, t, band, covered_t):
        timings["covers"] = time.perf_counter() - t0_covers
        timings["total"] += timings["covers"]
    text_t = clf.card.text_threshold  # from it, faces under text may make a verdict fake (with_text_over)
    report = summarise(
        video_path,
        results,
        threshold=t,
        rule=rule,
        model=clf.name,
        timings=timings,
        video_info=info.to_dict(),
        cam_method=cam if cam else None,
        uncertain=band,
        ranges=clf.card.ranges or None,
        covered_threshold=covered_t,
        text_threshold=text_t,
    )
    # first, in this order: a file of the model's own training data (its score proves nothing), a model not to be
    # relied on (untested, near chance, or a threshold never calibrated on real people), a threshold set by hand
    front = [
        seen_warning(video_path, clf.card),
        "" if report.label == "unknown" else model_warning(clf.card),  # no face: it judges nothing
        "" if own else hand_threshold_warning(t, card_t),
    ]
    report.warnings[:0] = [w for w in front if w]
    if tiny:  # where no face was large enough, this replaces "no face was found", which was not so
        if report.label == "unknown":
            report.warnings = [w for w in report.warnings if not w.startswith(NO_FACE)]
        report.warnings.insert(
            0 if report.label == "unknown" else len(report.warnings), small_faces_warning(tiny, report)
        )

    def tier_line(line: str) -> None:  # the card's line for the tier that judges the file at the card's threshold:
        report.card_lines.append(line)  # kept for the slider, said where that threshold judged (an audit: at a
        if own:  # hand-set 0.6 a small clip read "the model uses 0.954 ... uncertain from 0.418 up to it")
            report.warnings.append(line)

    if small and photo and report.label != "unknown":  # the card's threshold for small photos
        by_face = min(info.width, info.height) >= small["below"]  # a small face in a photo not small itself
        tier_line(small_threshold_warning(small, clf.card.threshold, photo=True, face=by_face))
    if many and report.label != "unknown":  # and for photos with several faces
        tier_line(many_faces_warning(many, clf.card.threshold, n_faces))
    if getattr(info, "transparent", False):  # a cut-out photo: an edit of its own, never more than uncertain (a
        # journalist's audit: a real portrait cut out as an oval read "Likely FAKE" 0.863)
        report.warnings.append(CUT_OUT_WARNING)
        report.label = with_cut_out(report.label, report)
    said = text_over_warning(results, report)
    if said:  # never "fake" on faces under text alone (their own frames free of it may say so), unless the score
        # reaches the card's threshold for faces under text
        report.warnings.append(said)
        clear_text(report)
        report.label = with_text_over(report.label, report)
    if getattr(info, "turned_upright", 0):  # analysed turned: what is shown is the turned photo
        report.warnings.append(turned_upright_warning(info.turned_upright))
    if getattr(info, "shrunk_from", None) and report.label != "unknown":  # its boxes are in the shrunk pixels
        (w0, h0), w1 = info.shrunk_from, int(info.width) if not info.turned_upright % 180 else int(info.height)
        report.warnings.append(
            f"The photo is {w0}x{h0}; it was analysed shrunk to {info.width}x{info.height} (its longer side to "
            f"{max(info.width, info.height)} px), and the face boxes are in those pixels: multiply by "
            f"{w0 / w1:.2f} for the original's."
        )
    if getattr(info, "grey_share", 0.0):  # a JPEG cut short that still decodes: the rest is the decoder's grey
        report.warnings.append(grey_tail_warning(info.grey_share))
    if not is_still(video_path):  # a truncated file: say the verdict rests on its first part only
        short = cut_short(info)
        if short:
            report.warnings.append(short)
        joined = restart_warning(info)  # files joined end to end: sampled whole, timed by frame order
        if joined:
            report.warnings.append(joined)
        # no face: nothing judged; a model not trained on FaceForensics++ (the MesoNet authors'): not measured
        said = None if report.label == "unknown" else small_clip_warning(info)
        if said and (small or any(str(s).startswith("ffpp") for s in trained_sources(clf.card) or [])):
            report.warnings.append(said)
        if small and report.label != "unknown":  # the card's threshold for small videos
            tier_line(small_threshold_warning(small, clf.card.threshold))
    # a tinted face: the installed model trained with tints judges the same faces too; heard where this one says fake
    t = time.perf_counter()
    second = colour_second_opinion(report, clf) if second_opinion else None
    if second:
        report.timings["second_opinion"] = time.perf_counter() - t
        report.timings["total"] += report.timings["second_opinion"]
        report.second_opinion, own = second, report.label
        report.label = with_second_opinion(own, second)
        said = second_opinion_warning(second, own, report.is_photo)
        if said:
            report.warnings.append(said)
    else:
        alternative = tint_alternative_warning(report, clf.card)  # or, where it cannot, its name
        if alternative:
            report.warnings.append(alternative)
    # compressed as heavily as FaceForensics++'s c40 videos: many fakes missed there, so "real" or "uncertain" is
    # warned of (a browser check: a c40 NeuralTextures fake called "Likely REAL" with no caveat); no false alarm was
    # measured on such reals, so "fake" is not
    # (not for a file cut short: its size shrank, its header's duration did not, and it would read as compressed)
    gif = video_path.lower().endswith(GIF_EXTENSIONS)
    cut = getattr(info, "damaged_at", None) is not None or bool(cut_short(info))
    bpp = None if is_still(video_path) or gif or cut else bits_per_pixel(video_path, info)
    if bpp is not None:  # a fact of the file, in the JSON; the threshold slider's relabel reads it again
        report.video_info["bits_per_pixel"] = round(float(bpp), 6)
        if bpp < HEAVY_COMPRESSION_BPP:  # is it the compression, or a still picture? (read only where it matters)
            keyframes = keyframe_bits_per_pixel(video_path, info)
            if keyframes is not None:
                report.video_info["keyframe_bits_per_pixel"] = round(float(keyframes), 6)
    said = compression_warning(report, clf.card)
    if said:
        report.warnings.append(said)
    report.warnings = with_fragile(report)  # a verdict near the threshold: how often one more encode changed it
    if temporal:
        t = time.perf_counter()
        depth = found_depth = None
        if getattr(clf, "depth_size", None):  # an RGB + depth model: each face's FaceMesh landmark depth map
            from detector.inference.depth import depth_maps

            depth, found_depth = depth_maps([f.crop for f in all_faces], clf.depth_size)
            for f, d in zip(all_faces, depth):
                f.depth = d  # shown beside the crop in the app
            report.timings["depth"] = time.perf_counter() - t
        tracks = sequence_tracks(clf, results, all_faces, embeddings, depth)
        seq = attach_sequence(
            report,
            tracks,
            threshold=float(clf.card.temporal.get("threshold", clf.card.threshold)),
            uncertain=clf.card.temporal.get("uncertain"),
        )
        # the frame level's rules: its "fake" over tracks under text is uncertain unless the faces free of text say
        # fake on their own (no sequence score of those faces alone is made), and its "real" over a clip with a
        # stretch scoring strongly fake is uncertain (the frame label's rule; it was left "real": a review)
        seq["label"] = sequence_label(seq["label"], report)
        if depth is not None:
            seq["depth"] = {"source": "facemesh_z", "faces": len(found_depth), "found": int(found_depth.sum())}
            for row, tr in zip(seq["tracks"], sorted(tracks, key=lambda tr: tr["identity"])):
                row["depth_attention"] = [round(float(a), SCORE_DECIMALS) for a in tr["depth_attention"]]
        report.timings["sequence"] = time.perf_counter() - t
        report.timings["total"] += report.timings["sequence"]
    if keep_frames:
        report.frame_images = {fr.index: fr.image for fr in sampled}
        report.frame_shapes = {fr.index: fr.shape for fr in sampled}
    step(1.0, "done")
    return report


__all__ = [
    "analyze",
    "compression_warning",
    "too_small",
    "small_faces_warning",
    "judged_side",
    "check_arguments",
    "detect_faces",
    "face_detector",
    "faces_at",
    "faces_in",
    "find_text_over_faces",
    "frames_and_faces",
    "kept_image",
    "sequence_tracks",
    "InputError",
]
