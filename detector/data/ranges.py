"""What the training faces looked like: :func:`measure_ranges` runs the pipeline's own decoding and face detection
over a sample of a data set and returns :func:`detector.inference.quality.ranges_of` for a model card."""

from __future__ import annotations

import random
from collections import Counter

from detector.constants import FACE_MARGIN
from detector.errors import InputError
from detector.inference.quality import face_stats, ranges_of

__all__ = ["measure_ranges", "drawn_by_source", "training_items"]


def training_items(roots: list[str], train_sources=None) -> list:
    """The items of ``roots`` a model trained on, whose faces its ranges describe: held-out photos left out, and
    where ``train_sources`` is given (a recipe's ``--train-sources``), the sources it never trained on too."""
    from detector.data.datasets import held_out, in_sources, read_datasets

    return [
        it for it in read_datasets(roots) if not held_out(it) and (not train_sources or in_sources(it, train_sources))
    ]


def _source(item) -> str:
    """The source an item is drawn and counted under (``item.source``; "data" for none)."""
    return getattr(item, "source", "") or "data"


def drawn_by_source(items, max_items: int, seed: int = 0) -> list:
    """Up to ``max_items`` of ``items``, drawn in turn from each source (``item.source``; shuffled within each), so
    that thousands of photos of one folder do not crowd out the videos of the others: the ranges then span every
    kind of face the model trained on (a random draw from FF++ and UTKFace together was 19 parts photos to 1 video,
    and a 1080p clip's faces read as larger than training's, though the actor clips are 1080p)."""
    by_source: dict[str, list] = {}
    for it in items:
        by_source.setdefault(_source(it), []).append(it)
    rng = random.Random(seed)
    queues = []
    for name in sorted(by_source):
        group = list(by_source[name])
        rng.shuffle(group)
        queues.append(group)
    drawn: list = []
    while len(drawn) < max_items and any(queues):
        for q in queues:
            if q and len(drawn) < max_items:
                drawn.append(q.pop(0))
    return drawn


def measure_ranges(items, frames: int = 8, max_items: int = 400, seed: int = 0, margin: float = FACE_MARGIN) -> dict:
    """Ranges of the seven measures of :func:`~detector.inference.quality.face_stats` over up to ``max_items``
    items drawn in turn from each source (:func:`drawn_by_source`; videos: ``frames`` frames each; photos: one),
    the main face of each frame, cropped at ``margin`` (the model's: sharpness and brightness are measured over the
    crop); each source's percentiles on its own faces, joined (:func:`~detector.inference.quality.ranges_of`).  The
    result records how many items of each source it measured (``sources``)."""
    from detector.inference.pipeline import detect_faces
    from detector.inference.stills import STILL_PAD, is_still, read_still
    from detector.inference.video import sample_frames

    drawn = drawn_by_source(list(items), max_items, seed)
    stats, groups = [], []
    for it in drawn:
        try:
            still = is_still(it.path)
            _, sampled = read_still(it.path) if still else sample_frames(it.path, n_frames=frames)
        except InputError:
            continue
        per_frame = detect_faces(sampled, margin=margin, pad=STILL_PAD if still else 0.0)
        for faces in per_frame:
            if faces:
                f = max(faces, key=lambda f: f.box[2] * f.box[3])
                stats.append(face_stats(f.crop, f.box, f.keypoints))
                groups.append(_source(it))
    out = ranges_of(stats, groups=groups)  # each source's own percentiles, joined
    out["sources"] = dict(Counter(_source(it) for it in drawn))
    return out
