"""What the training faces looked like: :func:`measure_ranges` runs the pipeline's own decoding and face detection
over a sample of a data set and returns :func:`detector.inference.quality.ranges_of` for a model card."""

from __future__ import annotations

import random

from detector.constants import FACE_MARGIN
from detector.errors import InputError
from detector.inference.quality import face_stats, ranges_of

__all__ = ["measure_ranges"]


def measure_ranges(items, frames: int = 8, max_items: int = 400, seed: int = 0, margin: float = FACE_MARGIN) -> dict:
    """Ranges of face size, sharpness, brightness and head turn over up to ``max_items`` items (videos: ``frames``
    frames each; photos: one), the main face of each frame, cropped at ``margin`` (the model's: sharpness and
    brightness are measured over the crop)."""
    from detector.inference.pipeline import detect_faces
    from detector.inference.stills import STILL_PAD, is_still, read_still
    from detector.inference.video import sample_frames

    items = list(items)
    random.Random(seed).shuffle(items)
    stats = []
    for it in items[:max_items]:
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
    return ranges_of(stats)
