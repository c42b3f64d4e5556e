"""Something in front of the face: a hand, a cup, a microphone or a mask over the mouth and chin, found and said.

No training face was covered, and the models read what covers one as a sign of a fake: drawn over 200 held-out real
photos (``scripts/occlusion_probe.py``; docs/results.md "Something in front of the face"), a photographed coffee cup
held before the mouth made the default call 68 of them fake, a microphone under the chin 25, a surgical mask 12,
against 7 uncovered. :func:`lower_face_covered` measures, in the crop the model is given, how much of the lower face
(below the nose, inside the face's outline, the lips left out: FaceMesh's landmarks) is unlike the face's own skin
(its cheeks and forehead); the pipeline measures it on the faces that score in the uncertain band or over it, and the
report says so where a face that makes the verdict looks covered (:func:`covered_warning`).  A warning only: the
verdict stands.

Read with care: a thick dark beard, a shadow across the chin or strong lipstick beyond the lips can read as a cover
too (4 of 80 uncovered photos were read so); a cover close to the skin's own colour (a white cup before a pale face)
is missed, and so is one over the eyes or the forehead, or one FaceMesh cannot see a face behind.
"""

from __future__ import annotations

__all__ = ["lower_face_covered", "covered_warning", "COVER_SHARE", "COVER_DISTANCE", "COVERED_WARNING"]

import numpy as np

# FaceMesh's 468 landmarks: the face's outline, the lips' outer edge, the points its skin is sampled round (the
# cheeks and the forehead), and the bottom of the nose
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
             149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
SKIN_POINTS = (50, 280, 151)
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
    distance = np.sqrt((((lab - median) / spread) ** 2).sum(axis=2))
    return float((distance[lower] > COVER_DISTANCE).mean())


def covered_warning(frames) -> str:
    """What the report says where a face of ``frames`` (each with ``faces``, each with ``covered``: the share
    :func:`lower_face_covered` gave, 0 where not measured) looks covered; "" where none does."""
    faces = [f for fr in frames for f in fr.faces]
    covered = [f for f in faces if (getattr(f, "covered", 0.0) or 0.0) > COVER_SHARE]
    if not covered:
        return ""
    if len(frames) == 1:
        where = "the face" if len(faces) == 1 else f"{len(covered)} of the {len(faces)} faces"
    else:
        shown = [fr for fr in frames if fr.faces]
        n = sum(any((getattr(f, "covered", 0.0) or 0.0) > COVER_SHARE for f in fr.faces) for fr in shown)
        where = f"faces in {n} of the {len(shown)} frames"
    share = max(f.covered for f in covered)
    return (
        f"{COVERED_WARNING} (a hand, a cup, a microphone, a mask?) on {where} (up to {share:.0%} of it unlike the "
        "face's own skin). No model here trained on covered faces, and they read what covers one as a sign of a fake: "
        "drawn over 200 real photos, a cup before the mouth made the default call 68 of them fake, a microphone "
        'under the chin 25, against 7 uncovered. Read a "fake" on a covered face as uncertain, and look for a '
        "picture where the face is free. (A thick beard or a shadow across the chin can read as a cover too.)"
    )
