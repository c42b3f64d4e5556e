"""Explain faces: crops in, one :class:`Explanation` (CAM + faithfulness figures) per crop out.

    exps = explain_faces(classifier, crops, method="gradcam")
    exps[0].cam          # float32 map in [0, 1], shaped like crops[0] without its channels
    exps[0].figures()    # {"score", "drop_blur", "drop_remove", "face_mass", "face_area"}: floats or None

Crops go through ``classifier.preprocess`` in batches of ``batch_size``; per batch
there is one forward/backward pass for the CAMs (which also gives the scores) and,
with ``faithfulness``, one more forward pass over the copies with the top CAM pixels
blurred (``drop_blur``, the figure the app shows) and, with ``removal=True``, also
removed (``drop_remove``; otherwise None: it doubles the cost of the figures)
(see ``faithfulness.py``).  CAMs are computed at the model's input size and then
resized to each crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.errors import InputError
from detector.models.classifier import Classifier

from .cam import compute_cams
from .faithfulness import TOP_FRACTION, face_mass, probability_drops
from .methods import method_class


@dataclass
class Explanation:
    cam: np.ndarray = field(repr=False)  # H x W float32 in [0, 1], the crop's size
    score: float  # fake probability of the crop
    method: str = "gradcam"
    drop_blur: float = math.nan  # score minus the score with the top-20% CAM pixels blurred
    drop_remove: float = math.nan  # ... with them set to the mean colour
    face_mass: float = math.nan  # share of the CAM's mass inside the face box
    face_area: float = math.nan  # share of the crop the face box covers (face_mass of a flat map)

    def figures(self, digits: int = 4) -> dict:
        """The figures as a JSON-able dict; a figure that could not be measured is None."""
        keys = ("score", "drop_blur", "drop_remove", "face_mass", "face_area")
        values = {k: float(getattr(self, k)) for k in keys}
        return {k: (round(v, digits) if math.isfinite(v) else None) for k, v in values.items()}


def _check_crops(crops) -> list[np.ndarray]:
    out = []
    for i, c in enumerate(crops):
        c = np.asarray(c)
        if c.ndim != 3 or c.shape[2] != 3 or c.shape[0] < 1 or c.shape[1] < 1:
            raise InputError(f"face crop {i} is not an RGB image (shape {c.shape})")
        out.append(c if c.dtype == np.uint8 else np.clip(c, 0, 255).astype(np.uint8))
    return out


def explain_faces(
    classifier: Classifier,
    crops: list[np.ndarray],
    method: str = "gradcam",
    faithfulness: bool = True,
    batch_size: int = 16,
    top_fraction: float = TOP_FRACTION,
    removal: bool = False,
) -> list[Explanation]:
    """One :class:`Explanation` per RGB uint8 crop, in order.  See the module docstring.

    An ensemble (``classifier.members``) is explained member by member: its CAM is the mean of its members' maps
    (each scaled to [0, 1] first, so each has the same say), scaled to [0, 1] again; its score is their mean; its
    faithfulness figures are the means of the members' own figures (each member's drop when its own top pixels
    are blurred), not a measure of the mean map."""
    method_class(method)  # fail early, in one line, on an unknown name
    crops = _check_crops(crops)
    if getattr(classifier, "members", None):
        per_member = [
            explain_faces(m, crops, method, faithfulness, batch_size, top_fraction, removal) for m in classifier.members
        ]
        return [_mean_explanation(list(exps), method) for exps in zip(*per_member)]
    margin = float(classifier.card.face_margin)
    explanations: list[Explanation] = []
    for start in range(0, len(crops), max(1, int(batch_size))):
        chunk = crops[start : start + batch_size]
        x = classifier.preprocess(chunk)
        maps, logits = compute_cams(classifier, x, method)
        scores = classifier.fake_probability_from_logits(logits).numpy().astype(np.float64)
        if faithfulness:
            drop_blur, drop_remove = probability_drops(classifier, x, maps, scores, top_fraction, remove=removal)
        else:
            drop_blur = drop_remove = np.full(len(chunk), math.nan)
        for i, crop in enumerate(chunk):
            h, w = crop.shape[:2]
            cam = maps[i] if maps[i].shape == (h, w) else cv2.resize(maps[i], (w, h), interpolation=cv2.INTER_LINEAR)
            cam = np.clip(cam, 0.0, 1.0).astype(np.float32, copy=False)
            exp = Explanation(
                cam=cam,
                score=float(scores[i]),
                method=method,
                drop_blur=float(drop_blur[i]),
                drop_remove=float(drop_remove[i]),
            )
            if faithfulness:
                exp.face_mass, exp.face_area = face_mass(cam, margin)
            explanations.append(exp)
    return explanations


def _mean_explanation(exps: list[Explanation], method: str) -> Explanation:
    def mean(name: str) -> float:
        values = [getattr(e, name) for e in exps if math.isfinite(getattr(e, name))]
        return float(np.mean(values)) if values else math.nan

    cam = np.mean([e.cam for e in exps], axis=0).astype(np.float32)
    peak = float(cam.max()) if cam.size else 0.0
    if peak > 0:  # scaled to [0, 1] like each member's map (where members disagree the mean peaks below 1)
        cam /= peak
    return Explanation(
        cam=cam,
        score=mean("score"),
        method=method,
        drop_blur=mean("drop_blur"),
        drop_remove=mean("drop_remove"),
        face_mass=mean("face_mass"),
        face_area=mean("face_area"),
    )


__all__ = ["Explanation", "explain_faces"]
