"""How a face looks to the model, in seven numbers, and whether that is within what the model trained on.

:func:`face_stats` measures one face (its crop and detector keypoints):

``face_px``     the face box's longer side in frame pixels (small faces carry little detail);
``sharpness``   variance of the Laplacian of the crop at 128 px, grey levels (blur and heavy compression lower it,
                noise raises it: "fine detail" in the warnings);
``brightness``  mean grey level of the crop, 0-255;
``yaw``         nose offset from the eyes' midpoint over the eye distance (0 frontal; about +-1 in profile);
``hue``         the hue of the middle of the crop's mean colour, in degrees of the CIELAB a*-b* plane (0 pink-red,
                90 yellow, 180 green, 270 blue; from :data:`HUE_CUT` to 225, so blue is -90), skin in ordinary
                light about 10-70, a sepia filter 85-100, a green cast over 100, a cool one under 10; not measured
                (NaN) where the colour is nearly grey (chroma under :data:`MIN_CHROMA`): a black and white picture
                has no hue.
``chroma``      how strongly coloured the middle of the crop is: the length of its mean colour in the CIELAB a*-b*
                plane (0 grey; skin in ordinary light about 10-40).  A warm white balance or a vivid filter raises
                it while the hue stays skin's (a warm cast moved photos' median from 23 to 41).  Only its top end
                is warned of: every recipe turns some training crops grey, so a faded or black and white face is
                not unlike training.
``colour_slope`` how far the colour of the crop's middle follows its brightness: the length of the CIELAB a*-b*
                change per unit of lightness L* across its pixels (a least-squares slope; NaN on a flat patch).
                Skin keeps its colour from shadow to highlight (UTKFace photos: median 0.06, 98th percentile 0.26);
                a duotone maps dark to one colour and light to another (0.38: every one of 300 above that 98th
                percentile), and film-style grading (teal shadows, orange highlights) raises it too.  Only its top
                end is warned of.

A model card's ``ranges`` holds the 2nd and 98th percentiles of each over its training
faces (never fewer than :data:`TAIL_FACES` faces beyond an end), taken within each source and joined
(:func:`ranges_of`; made by ``deepfake-lens ensemble --ranges-from`` or
:func:`detector.data.ranges.measure_ranges`).  :func:`out_of_range` turns the
median of a clip's faces into plain warnings when they fall outside.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "face_stats",
    "roll_degrees",
    "sideways_warning",
    "SIDEWAYS_DEG",
    "STRAIGHTEN_MIN_DEG",
    "straighten_by",
    "face_rolls",
    "mostly_turned",
    "ranges_of",
    "out_of_range",
    "trained_away",
    "STAT_TEXT",
    "TAIL_FACES",
    "MIN_CHROMA",
    "HUE_CUT",
    "TINT",
    "COLOUR",
    "tint_warned",
    "trained_with_casts",
]

STAT_TEXT = {
    "face_px": ("smaller", "larger", "face size", "{:.0f} px"),
    # fine detail: noise and grain raise it as much as sharp focus does (a review: a noisy frame read as "sharper"),
    # and so does text laid over the face (an audit: burned-in subtitles over the chin of 40 real portraits made 16
    # of them "fake", each with this warning, which named noise alone)
    "sharpness": (
        "blurrier or more compressed",
        "sharper or grainier (noise, or text or graphics laid over the face?)",
        "fine detail",
        "{:.0f}",
    ),
    "brightness": ("darker", "brighter", "brightness", "{:.0f}"),
    "yaw": ("more turned to one side", "more turned to the other side", "head turn", "{:+.2f}"),
    # a review: real photos with a sepia filter were called fake 36 times in 100 (scripts/circulation_probe.py)
    "hue": (
        "pinker, redder or bluer in colour (a colour filter or coloured light?)",
        "yellower or greener in colour (a sepia or warm filter, or yellowish light?)",
        "colour hue",
        "{:.0f}°",
    ),
    # real photos with a warm white balance were called fake 11 times in 100, and the hue warned of 1 of them
    "chroma": (
        None,  # not warned of: training turns some crops grey (see the module docstring)
        "more strongly coloured (a warm or vivid filter, or strongly coloured light?)",
        "colour strength",
        "{:.0f}",
    ),
    # real photos as a duotone were called fake 67 times in 100, and the hue warned of 20 of them
    "colour_slope": (
        None,  # a grey or flat-coloured face has none: nothing unlike training
        "more two-toned (their colour following their brightness: a duotone or colour-grading filter?)",
        "colour change with brightness",
        "{:.2f}",
    ),
}
TINT = ("hue", "chroma")  # the measures a colour cast moves (see trained_away)
COLOUR = (*TINT, "colour_slope")  # the measures a colour filter moves (see tint_warned)

MIN_CHROMA = 5.0  # CIELAB chroma of the crop's middle under which its hue is not measured (grey)
HUE_CUT = -135.0  # hues run from here to 360 degrees on: the cut falls in blue-green, where no skin tone lies, so a
# clip's faces in one cast never straddle it (at +-180 a cyan cast's faces gave 178 and -179, and a median of 0)


def face_stats(crop: np.ndarray, box, keypoints) -> dict[str, float]:
    """The seven measures of one face (see the module docstring)."""
    import cv2

    small = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(np.ascontiguousarray(small[32:96, 32:96]), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    a, b = float(lab[:, 1].mean()) - 128.0, float(lab[:, 2].mean()) - 128.0
    chroma = float(np.hypot(a, b))
    lightness = lab[:, 0].astype(np.float64) - lab[:, 0].mean()
    spread = float((lightness**2).sum())
    slope = float("nan")
    if spread >= lightness.size:  # a lightness spread of at least 1 level: a slope to measure
        sa = float((lightness * (lab[:, 1] - lab[:, 1].mean())).sum()) / spread
        sb = float((lightness * (lab[:, 2] - lab[:, 2].mean())).sum()) / spread
        slope = float(np.hypot(sa, sb))
    stats = {
        "face_px": float(max(box[2], box[3])),
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        "brightness": float(grey.mean()),
        "yaw": float("nan"),
        "hue": (float(np.degrees(np.arctan2(b, a))) - HUE_CUT) % 360.0 + HUE_CUT
        if chroma >= MIN_CHROMA
        else float("nan"),
        "chroma": chroma,
        "colour_slope": slope,
    }
    if keypoints is not None and len(keypoints) >= 3:
        # as the cards' ranges were measured; on a face lying on its side it means nothing, and the report says the
        # face is sideways instead (sideways_warning; a journalist's audit: "head turn +0.70" of a photo turned 90)
        (rx, ry), (lx, ly), (nx, _) = keypoints[0], keypoints[1], keypoints[2]
        eye = float(np.hypot(lx - rx, ly - ry))
        if eye > 1e-3:
            stats["yaw"] = float((nx - (rx + lx) / 2) / eye)
    return stats


SIDEWAYS_DEG = 45.0  # a face whose eyes' line is turned further than this from level lies on its side (or upside down)
# a face tilted further than this (and not past SIDEWAYS_DEG) is cut turned upright (straighten_by): the models learned
# upright faces (news anchors, aligned portraits), and a head held to one side was called fake far more often. 200
# held-out real photos tilted (scripts/tilted_photos_probe.py), called fake cut as they lie -> cut upright: 10
# degrees 7 -> 6, 20: 13 -> 1, 30: 38 -> 2, 40: 55 -> 4, -20: 16 -> 4, -40: 34 -> 3 (upright: 6); real videos
# tilted by 25 degrees: docs/results.md "Tilted heads cut upright"
STRAIGHTEN_MIN_DEG = 10.0


def roll_degrees(keypoints) -> float | None:
    """How far a face is turned in the picture's plane, from its eyes' line (0: upright; +-90: on its side; 180:
    upside down), or None without keypoints."""
    if keypoints is None or len(keypoints) < 2:
        return None
    (rx, ry), (lx, ly) = keypoints[0], keypoints[1]
    if abs(lx - rx) < 1e-6 and abs(ly - ry) < 1e-6:
        return None
    return float(np.degrees(np.arctan2(ly - ry, lx - rx)))


def straighten_by(keypoints) -> float:
    """The degrees a face's square is cut turned by so that it stands upright in its crop
    (:func:`~detector.inference.faces.crop_face`): its :func:`roll_degrees` where that lies from
    :data:`STRAIGHTEN_MIN_DEG` to :data:`SIDEWAYS_DEG`, else 0 (a face nearly upright is cut as it is; one lying on
    its side is a photo's to turn whole, or a video's to be warned of: the eye line read there is often wrong)."""
    roll = roll_degrees(keypoints)
    return roll if roll is not None and STRAIGHTEN_MIN_DEG <= abs(roll) <= SIDEWAYS_DEG else 0.0


def face_rolls(faces) -> list[float]:
    """Each face's :func:`roll_degrees` (faces without keypoints left out)."""
    return [r for r in (roll_degrees(getattr(f, "keypoints", None)) for f in faces) if r is not None]


def mostly_turned(rolls: list[float]) -> bool:
    """Whether most of these faces (at least half) lie turned further than :data:`SIDEWAYS_DEG`."""
    return bool(rolls) and 2 * sum(abs(r) > SIDEWAYS_DEG for r in rolls) >= len(rolls)


def sideways_warning(faces) -> str:
    """A warning when most faces lie on their side or upside down (:func:`mostly_turned`): the models learned
    upright faces, and a sideways picture is easily put right; else "".  From BlazeFace's eye keypoints: it finds
    most faces turned by a quarter, with their eyes placed so; an upside-down face it seldom finds, and places its
    eyes as if upright, so that is seldom said."""
    rolls = face_rolls(faces)
    if not mostly_turned(rolls):
        return ""
    turned = [r for r in rolls if abs(r) > SIDEWAYS_DEG]
    median = float(np.median(np.abs(turned)))
    many = len(rolls) > 1
    how = "upside down" if median > 135 else ("on their side" if many else "on its side")
    return (
        f"The face{'s' * many} {'lie' if many else 'lies'} {how} in the picture (turned about "
        f"{round(median / 10) * 10:.0f} degrees): the model learned upright faces, and its score means little here. "
        "If the photo or video is sideways, turn it upright and analyse it again."
    )


# a range's end is never set by fewer training faces than this, beyond it: the 2nd percentile of a source of 80
# faces (the actor clips, 8 frames each) was its one or two most extreme faces (a turned head read as "trained on")
TAIL_FACES = 5


def _percentiles(
    stats: list[dict[str, float]], low: float, high: float, tail: int = TAIL_FACES
) -> dict[str, list[float]]:
    """[low, high] percentiles of each measure, each end moved inwards where fewer than ``tail`` faces lie beyond it
    (at most half the faces on each side)."""
    out = {}
    for key in STAT_TEXT:
        values = np.sort(np.array([s[key] for s in stats if np.isfinite(s.get(key, np.nan))]))
        if values.size:
            k = max(1, min(int(tail), values.size // 2))
            lo = max(float(np.percentile(values, low)), float(values[k - 1]))
            hi = min(float(np.percentile(values, high)), float(values[-k]))
            out[key] = [round(lo, 3), round(hi, 3)]
    return out


def ranges_of(
    stats: list[dict[str, float]], low: float = 2.0, high: float = 98.0, groups: list[str] | None = None
) -> dict[str, list[float]]:
    """{measure: [low percentile, high percentile]} over many faces' :func:`face_stats`, and the face count.

    With ``groups`` (each face's source: "ffpp", "faces_utk"...), each source's percentiles are taken on its own
    faces and the ranges join them (the lowest low, the highest high; ``by_source`` keeps each): a face like those
    of any one source the model trained on is not "unlike the training faces".  Pooled, the many video frames
    outweighed the photos, and an ordinary training photo read as sharper or brighter than training.  Each end
    has at least :data:`TAIL_FACES` of its source's faces at or beyond it (``tail_faces`` on the card): in a
    source of a few dozen faces the 2nd percentile is its most extreme face."""
    out: dict = {"faces": len(stats), "percentiles": [low, high], "tail_faces": TAIL_FACES}
    if not groups:
        out.update(_percentiles(stats, low, high))
        return out
    by_group: dict[str, list] = {}
    for s, g in zip(stats, groups):
        by_group.setdefault(g, []).append(s)
    per = {g: _percentiles(members, low, high) for g, members in sorted(by_group.items())}
    for key in STAT_TEXT:
        spans = [r[key] for r in per.values() if key in r]
        if spans:
            out[key] = [min(lo for lo, _ in spans), max(hi for _, hi in spans)]
    out["by_source"] = per
    return out


def trained_away(ranges: dict, config: dict | None) -> dict:
    """``ranges`` without the measures whose extremes the model's training put in on purpose: a model trained with
    ``--colour-cast`` saw tinted, warmer, cooler and faded faces, which the ranges, measured on the untouched
    training faces, do not show; warning of a tint (:data:`TINT`: hue, chroma) would be wrong for it.
    ``untested`` records why a measure is left out."""
    if not ranges or not _with_casts(config):
        return ranges
    out = {k: v for k, v in ranges.items() if k not in TINT}
    if "by_source" in ranges:
        out["by_source"] = {g: {k: v for k, v in r.items() if k not in TINT} for g, r in ranges["by_source"].items()}
    out["untested"] = {k: "trained with --colour-cast: tinted faces were in its training" for k in TINT}
    return out


def tint_warned(warnings: list[str]) -> bool:
    """Whether any of a report's ``warnings`` is :func:`out_of_range`'s of a colour filter (:data:`COLOUR`: hue,
    chroma, colour following brightness)."""
    names = [f"({STAT_TEXT[k][2]} " for k in COLOUR]
    return any(n in w for w in warnings for n in names)


def _with_casts(config: dict | None) -> bool:
    """Whether a training ``config`` had ``--colour-cast`` (tinted faces in its training)."""
    return bool((config or {}).get("colour_cast"))


def trained_with_casts(card) -> bool:
    """Whether ``card``'s model was trained with ``--colour-cast`` (tinted faces in its training)."""
    return _with_casts((getattr(card, "trained", None) or {}).get("config"))


def out_of_range(stats: list[dict[str, float]], ranges: dict) -> list[str]:
    """Warnings for the median of ``stats`` (one clip's faces) outside the card's ``ranges``."""
    if not stats or not ranges:
        return []
    warnings = []
    subject = "The face is" if len(stats) == 1 else "The faces are"  # a photo's one face (a browser check)
    for key, (below, above, name, fmt) in STAT_TEXT.items():
        if key not in ranges:
            continue
        values = [s[key] for s in stats if np.isfinite(s.get(key, np.nan))]
        if not values:
            continue
        value, (lo, hi) = float(np.median(values)), ranges[key]
        if value < lo or value > hi:
            word = below if value < lo else above
            if word is None:  # an end the training covered by augmenting (chroma's low end)
                continue
            warnings.append(
                f"{subject} {word} than nearly all the model was trained on ({name} {fmt.format(value)}; "
                f"training {fmt.format(lo)} to {fmt.format(hi)}): its score means less here."
            )
    return warnings
