"""Where a fake frame was changed: a mask per cached fake crop, from the difference with its target real video.

A FaceForensics++ fake ``<target>_<source>.mp4`` is the real video ``<target>.mp4`` with its face replaced or
reenacted, frame by frame: everything else (background, body, hair) is the real video's, re-encoded.  So the same
square cut from the fake frame and from the real frame of the same number differs only where the method changed
the face, plus compression noise.  :func:`manipulation_masks` cuts that square from the target at every cached
crop of the fake (the pipeline's own sampling, detection and margin: :func:`detector.data.crops.extract_crops`),
and keeps ``|fake - real| > MASK_THRESHOLD`` (largest channel, blurred) as the crop's mask.

Face2Face and NeuralTextures fakes were made from a copy of the target cropped to a width that is a multiple of 16
(832 of 854 pixels, say), so the target's frame is first cut to the fake's size at the offset where the two agree
best (:func:`frame_offset`).  A frame is left without a mask (None) where the two still do not line up: the target
has no frame of that number, or the border of the crop, which no method touches, differs by more than compression
does (``MAX_BORDER_DIFF``), or over a tenth of it is marked changed (``MAX_BORDER_CHANGED``: some Face2Face fakes
are a few frames off their target, and the outline of the moving head and shoulders shows).

``train --mask-weight`` learns to predict these masks beside the label
(:class:`detector.training.callbacks.MaskSupervision`).

Masks are cached beside the crops, in ``<crop folder>/masks.json`` and ``mask_<frame>.png`` (0 or 255).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from detector.constants import CROP_CACHE, CROP_MAX_SIDE, FACE_MARGIN

__all__ = [
    "MASK_THRESHOLD",
    "MAX_BORDER_DIFF",
    "difference_mask",
    "frame_offset",
    "manipulation_masks",
    "masks_for_table",
]

MASK_VERSION = 3  # 2: the target's frame cut to the fake's size (frame_offset); 3: MAX_BORDER_CHANGED
MASK_THRESHOLD = 15.0  # grey levels of the blurred largest-channel difference: above it, changed
MAX_BORDER_DIFF = 8.0  # median difference on the crop's outer 12%, above which the two frames do not line up
MAX_BORDER_CHANGED = 0.10  # share of that border marked changed, above which they do not line up either
BORDER = 0.12  # share of the side that is the crop's border
MAX_OFFSETS = 4096  # cuts of the target's frame that frame_offset tries at most


def difference_mask(fake: np.ndarray, real: np.ndarray) -> np.ndarray | None:
    """The changed pixels of a fake crop against the same cut of its real frame: an H x W uint8 mask (0 or 255),
    or None where the two do not line up (different shapes, or a border that differs beyond compression noise).

    :param fake: the fake crop, H x W x 3 uint8
    :param real: the same square cut from the target's frame of the same number, H x W x 3 uint8
    """
    import cv2

    if fake.shape != real.shape or fake.ndim != 3 or min(fake.shape[:2]) < 8:
        return None
    diff = np.abs(fake.astype(np.int16) - real.astype(np.int16)).max(axis=2).astype(np.float32)
    diff = cv2.GaussianBlur(diff, (0, 0), max(fake.shape[0] / 100, 0.5))
    b = max(int(round(fake.shape[0] * BORDER)), 1)
    border = np.ones(diff.shape, bool)
    border[b:-b, b:-b] = False
    if float(np.median(diff[border])) > MAX_BORDER_DIFF:
        return None
    mask = (diff > MASK_THRESHOLD).astype(np.uint8) * 255
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    if float((mask[border] > 0).mean()) > MAX_BORDER_CHANGED:
        return None  # the outline of a head or shoulders that moved: frames a moment apart, not a changed face
    return mask


def frame_offset(fake: np.ndarray, real: np.ndarray) -> tuple[int, int] | None:
    """Where the fake's frame sits in its target's frame: (dx, dy) of the cut of ``real`` the size of ``fake``
    that differs least from it (median of the largest channel's difference, on every 4th pixel); (0, 0) for frames
    of one size, None where the target's frame is the smaller, or so much larger (over ``MAX_OFFSETS`` cuts) that
    the fake is not a cut of it.

    :param fake: a fake frame, H x W x 3
    :param real: the target's frame of the same number, at least H x W
    """
    (hf, wf), (hr, wr) = fake.shape[:2], real.shape[:2]
    if hr < hf or wr < wf or (hr - hf + 1) * (wr - wf + 1) > MAX_OFFSETS:
        return None
    if (hr, wr) == (hf, wf):
        return 0, 0
    a = fake[::4, ::4].astype(np.int16)
    best = None
    for dy in range(hr - hf + 1):
        for dx in range(wr - wf + 1):
            b = real[dy : dy + hf : 4, dx : dx + wf : 4].astype(np.int16)
            d = float(np.median(np.abs(a - b).max(axis=2)))
            if best is None or d < best[0]:
                best = (d, dx, dy)
    return best[1], best[2]


def manipulation_masks(
    fake: str,
    target: str,
    frames: int = 32,
    margin: float = FACE_MARGIN,
    max_side: int = CROP_MAX_SIDE,
    cache: str | os.PathLike = CROP_CACHE,
) -> dict[str, str | None]:
    """The mask of each cached crop of ``fake``: {crop path: mask PNG path, or None where the target does not line
    up}.  Cached beside the crops; a target that changed since is recomputed.

    :param fake: a fake video
    :param target: the real video it was made from
    :param frames, margin, max_side, cache: the crops' settings (as :func:`detector.data.crops.extract_crops`)
    """
    import cv2

    from detector.data.crops import extract_crops, read_crop, source_fingerprint, write_json
    from detector.inference.faces import crop_face, main_identity
    from detector.inference.pipeline import detect_faces
    from detector.inference.video import sample_frames

    crops = extract_crops(fake, frames=frames, margin=margin, max_side=max_side, cache=cache)
    folder = Path(crops.files[0]).parent if crops.files else None
    if folder is None:
        return {}
    stamp = {"version": MASK_VERSION, "target": source_fingerprint(target)}  # its bytes: a copied data set keeps them
    meta_path = folder / "masks.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("stamp") == stamp:
            return {str(folder / f): (str(folder / m) if m else None) for f, m in meta["masks"].items()}

    _, sampled = sample_frames(fake, n_frames=frames)  # the crops' own frames, faces and identity, found again
    faces_per_frame = detect_faces(sampled, margin=margin)
    ident = main_identity(faces_per_frame)
    by_name = {}
    for fr, faces in zip(sampled, faces_per_frame):
        face = next((f for f in faces if f.identity == ident), None)
        if face is not None:
            by_name[f"{fr.index:06d}.png"] = (fr.index, face)
    # the target's frames at the fake's moments, by the same decoder (so numbered, and turned upright, alike)
    moments = [fr.time for fr in sampled if f"{fr.index:06d}.png" in by_name]
    real = {fr.index: fr.image for fr in sample_frames(target, times=moments)[1]} if moments else {}
    offset = None  # where the fake's frames sit in the target's (found on the first pair, kept for the clip)
    for fr in sampled:
        if fr.index in real:
            offset = frame_offset(fr.image, real[fr.index])
            break
    hf, wf = sampled[0].image.shape[:2] if sampled else (0, 0)
    masks: dict[str, str | None] = {}
    for path in crops.files:
        name = Path(path).name
        masks[name] = None
        if offset is None or name not in by_name or by_name[name][0] not in real:
            continue
        index, face = by_name[name]
        cached = read_crop(path)
        dx, dy = offset
        # the real frame's square cut as the fake's was (turned upright with it: a review found tilted faces' masks
        # all lost, the two squares not lining up)
        real_frame = real[index][dy : dy + hf, dx : dx + wf]
        fake_crop, real_crop = face.crop, crop_face(real_frame, face.box, margin, face.straightened)
        if fake_crop.shape[0] > max_side:
            fake_crop = cv2.resize(fake_crop, (max_side, max_side), interpolation=cv2.INTER_AREA)
            real_crop = cv2.resize(real_crop, (max_side, max_side), interpolation=cv2.INTER_AREA)
        if fake_crop.shape != cached.shape or np.abs(fake_crop.astype(np.int16) - cached).mean() > 1.0:
            continue  # not the crop that was cached (another face found this time): no mask rather than a wrong one
        mask = difference_mask(fake_crop, real_crop)
        if mask is None:
            continue
        mask_name = f"mask_{name}"
        cv2.imwrite(str(folder / mask_name), mask)
        masks[name] = mask_name
    write_json(meta_path, {"stamp": stamp, "masks": masks})
    return {str(folder / f): (str(folder / m) if m else None) for f, m in masks.items()}


def _masks_one(args):
    fake, target, frames, margin, cache = args
    import av
    import cv2

    try:
        return manipulation_masks(fake, target, frames=frames, margin=margin, cache=cache)
    except (av.FFmpegError, cv2.error, OSError, EOFError, ValueError, IndexError) as e:  # InputError is a ValueError
        return f"{fake}: {e}"


def masks_for_table(
    df, frames: int, cache=CROP_CACHE, workers: int = 2, progress: bool = True, margin: float = FACE_MARGIN
):
    """The training table with a ``mask`` column: the mask PNG of each training fake crop whose video names its
    target real video (``VideoItem.target``: FaceForensics++'s ``A_B`` -> ``A``, DFDC's ``original``...), "" elsewhere
    (reals, pseudo-fakes, validation rows, fakes without a target or whose frame does not line up).  Returns (table,
    {"with mask": n, "fake crops": n, "videos": n, "failed": [messages]}): fake crops and videos count the training
    fakes whose target is there; a video whose masks could not be made (a decoder error) is a message in "failed".

    :param df: the training table (:func:`detector.training.run.build_table`)
    :param frames, cache, margin: the crops' settings
    :param workers: processes in parallel
    """
    from detector.data.crops import parallel_map

    rows = df[(~df.is_valid) & (df.label == "fake") & (df.target != "")]
    # a fake whose target real video is not in the data has no mask
    rows = rows[rows.target.map(os.path.isfile).astype(bool)] if len(rows) else rows
    if "pseudo" in df:
        rows = rows[~rows.pseudo.astype(bool)]
    jobs = sorted({(v, t, frames, margin, str(cache)) for v, t in zip(rows.video, rows.target)})
    results = parallel_map(_masks_one, jobs, workers, progress, "masks")
    found: dict[str, str] = {}
    failed = [r for r in results if isinstance(r, str)]
    for r in results:
        if isinstance(r, dict):
            found.update({k: v for k, v in r.items() if v})
    # the keys are the crops of training fakes' videos: reals, pseudo-fakes (copies of real crops) and validation
    # rows, which are other videos' crops, get ""
    df = df.assign(mask=df.path.map(found).fillna(""))
    stats = {
        "with mask": int((df["mask"] != "").sum()),
        "fake crops": int(len(rows)),
        "videos": len(jobs),
        "failed": failed,
    }
    return df, stats
