"""Something in front of the face: a hand, a cup, a microphone or a mask over the mouth and chin, found and said.

No training face was covered, and the models read what covers one as a sign of a fake: drawn over 200 held-out real
photos (``scripts/occlusion_probe.py``; docs/results.md "Something in front of the face"), a photographed coffee cup
held before the mouth put 68 of them over the default's threshold, a microphone under the chin 25, a surgical mask 12,
against 7 uncovered. :func:`lower_face_covered` measures, in the crop the model is given, how much of the lower face
(below the nose, inside the face's outline, the lips left out: FaceMesh's landmarks) is unlike the face's own skin
(sampled on the forehead, under the eyes and on the cheeks); the pipeline measures it on the faces that score in the
uncertain band or over it, and the report says so where a face that makes the verdict looks covered
(:func:`covered_warning`).  Where the model card sets a threshold for covered faces (``covered``, set on other
held-out photos with covers: ``scripts/occlusion_probe.py --tier``), a face read as covered that scores under it
makes no verdict fake on its own (:func:`detector.inference.report.with_covered`): the verdict is "uncertain"
instead; elsewhere the warning alone says it.

Read with care: on 79 of the probe's photos bare, 5 were read as covered (6%; a thick dark beard, a shadow across the
chin, lipstick beyond the lips), against 63 of 79 with the cup, 65 of 72 with the mask (35 of 52 with one drawn
higher) and 9 of 79 with the drawn microphone, which lies mostly under the chin, outside the face's outline (the skin
points were chosen on these 79 photos); a cover close to the skin's own colour (a white cup before a pale face) is
missed, and so is one over the eyes or the forehead, or one behind which FaceMesh finds no face.
"""

from __future__ import annotations

__all__ = [
    "lower_face_covered",
    "read_as_covered",
    "check_covers",
    "covered_warning",
    "COVER_SHARE",
    "COVER_DISTANCE",
    "COVERED_WARNING",
]

import numpy as np

# FaceMesh's 468 landmarks: the face's outline, the lips' outer edge, the points its skin is sampled round, and the
# bottom of the nose
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
             149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
SKIN_POINTS = (151, 9, 108, 337, 117, 346, 50, 280)  # the forehead, under the eyes, the cheeks: a mask high on the nose
# covers the cheeks, a fringe the forehead, and the median of them all stays the skin's
NOSE_BOTTOM = 2
SKIN_PATCH = 0.03  # the skin is sampled in squares this share of the crop's side round each point (each side)
SKIN_SPREAD_FLOOR = (6.0, 3.0, 3.0)  # the skin's spread in L, a, b is taken as at least this (an even-lit face)
COVER_DISTANCE = 4.0  # a pixel this many spreads from the skin's colour (Lab) is not the face's skin ...
COVER_SHARE = 0.3  # ... and a lower face with more than this share of such pixels is read as covered
COVERED_WARNING = "Something seems to cover the lower face"  # how covered_warning's line starts


def lower_face_covered(crop: np.ndarray) -> float | None:
    """The share of the lower face in ``crop`` (an RGB face crop) whose colour lies over :data:`COVER_DISTANCE` of
    the skin's spreads from the skin's median (CIE Lab; the skin sampled round the cheeks and the forehead): 0 for a
    bare face, most of it for a hand, a cup or a mask before the mouth.  None where FaceMesh finds no face in the crop
    or the lower face is too small to measure."""
    import cv2

    from detector.inference.depth import landmarks

    img = np.ascontiguousarray(crop[..., :3], dtype=np.uint8)
    points = landmarks(img)
    if points is None:
        return None
    h, w = img.shape[:2]
    xy = np.stack([points[:, 0] * w, points[:, 1] * h], axis=1)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
    r = max(2, int(round(SKIN_PATCH * w)))
    skin = []
    for i in SKIN_POINTS:
        x, y = (int(round(v)) for v in xy[i])
        skin.append(lab[max(0, y - r) : max(0, y + r), max(0, x - r) : max(0, x + r)].reshape(-1, 3))
    skin = np.concatenate(skin)
    if len(skin) < 4:
        return None
    median = np.median(skin, axis=0)
    spread = 1.4826 * np.median(np.abs(skin - median), axis=0) + np.asarray(SKIN_SPREAD_FLOOR)
    face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(face, [np.round(xy[list(FACE_OVAL)]).astype(np.int32)], 1)
    lips = np.zeros((h, w), np.uint8)
    cv2.fillPoly(lips, [np.round(xy[list(LIPS)]).astype(np.int32)], 1)
    below_nose = np.arange(h)[:, None] >= xy[NOSE_BOTTOM, 1]
    lower = (face > 0) & below_nose & (lips == 0)
    if lower.sum() < 20:
        return None
    distance = np.sqrt((((lab[lower] - median) / spread) ** 2).sum(axis=1))
    return float((distance > COVER_DISTANCE).mean())


def read_as_covered(face) -> bool:
    """Whether ``face``'s measured lower-face share (``covered``: 0 or absent where not measured) is over
    :data:`COVER_SHARE`: what the report's line, the tiles' note and the covered faces' threshold all count."""
    return (getattr(face, "covered", 0.0) or 0.0) > COVER_SHARE


def check_covers(faces, threshold: float, band: list[float] | None, covered_threshold: float | None) -> int:
    """Measure :func:`lower_face_covered` on each of ``faces`` (with a crop) that scores fake or uncertain at
    ``threshold`` and ``band`` and was not measured before (``covers_checked``), and mark every measured face read as
    covered that scores under ``covered_threshold`` (the card's, None: none) as ``covered_under``.  What analyze does
    at its threshold, and the app's slider again at another (a threshold moved under the band reaches faces analyze
    never looked at).  Returns how many faces were measured now."""
    from detector.inference.report import verdict

    measured = 0
    for f in faces:
        if f.crop is None or f.covers_checked or verdict(f.score, threshold, band) not in ("fake", "uncertain"):
            continue
        f.covered, f.covers_checked = lower_face_covered(f.crop) or 0.0, True
        measured += 1
    for f in faces:
        f.covered_under = covered_threshold is not None and read_as_covered(f) and f.score < covered_threshold
    return measured


def covered_warning(report) -> str:
    """What the report says where a face its verdict rests on looks covered; "" where none does, and beside a "real"
    verdict.  The faces counted are those of its main identities (all faces where tracking found none:
    :func:`~detector.inference.report.main_identities`) that score at its threshold (a "fake") or in its band (an
    "uncertain"), and whose ``covered`` (:func:`lower_face_covered`'s share; 0 where it was not measured: a face
    scoring under the band it was judged at, by the analysis or the slider, :func:`check_covers`) is over
    :data:`COVER_SHARE`."""
    from detector.inference.report import (
        MAIN_SHARE,
        covered_made_uncertain,
        faces_where,
        main_identities,
        uncovered_score,
        verdict,
    )

    if report.label not in ("fake", "uncertain"):
        return ""
    labels = ("fake",) if report.label == "fake" else ("fake", "uncertain")  # the faces that make such a verdict
    main = main_identities(report.identities, report.frames, MAIN_SHARE)
    counts = lambda f: verdict(f.score, report.threshold, report.uncertain) in labels and (  # noqa: E731
        not main or f.identity in main
    )
    hit = [f for fr in report.frames for f in fr.faces if counts(f) and read_as_covered(f)]
    if not hit:
        return ""
    where = faces_where(report.frames, read_as_covered, counts, single=report.is_photo)
    share = max(f.covered for f in hit)
    ct = report.covered_threshold
    single = report.is_photo and sum(len(fr.faces) for fr in report.frames) == 1
    if report.label == "fake" and ct is not None:  # it stood: say why, quoting the covered faces' own threshold
        free = uncovered_score(report, report.threshold)
        over = f"{float(ct):.3f}, the threshold for covered faces (set on real photos with such covers)"
        if report.threshold > float(ct):  # a hand-set or a tier's threshold over it judged the file
            over += f", and the threshold {report.threshold:.3f} that judged it"
        if free is None:  # no covered face scores under its threshold
            advice = f"It stays fake: {'the face' if single else 'the faces'} that look{'s' if single else ''} covered "
            advice += f"score{'s' if single else ''} over {over}."
        elif free == free and free >= report.threshold:
            advice = "It stays fake: the faces not covered call it fake on their own."
        else:
            advice = f"It stays fake: the score is over {over}."
    elif report.label == "fake":  # a card without a threshold for covered faces
        advice = 'Read this "fake" as uncertain, and look for a picture where the face is free.'
    elif ct is not None and covered_made_uncertain(report):  # made uncertain by report.with_covered
        advice = (
            f"So the verdict is uncertain, not fake: a covered face is called fake only from {float(ct):.3f}, a "
            "threshold set on real photos with such covers. Look for a picture where the face is free."
        )
    else:
        advice = "Covered real faces score high too: look for a picture where the face is free."
    return (
        f"{COVERED_WARNING} (a hand, a cup, a microphone, a mask?) on {where} this verdict rests on (up to "
        f"{share:.0%} of the lower face unlike the face's own skin). {advice} No model here trained on covered faces: "
        "with a cover put over 200 real photos, a photographed cup before the mouth put 68 of them over the default "
        "model's threshold (26 still called fake with its threshold for covered faces), a drawn microphone under the "
        "chin 25 (23), against 7 bare. (A thick beard or a shadow across the chin can read as a cover too.)"
    )
