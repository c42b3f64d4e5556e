"""Face crops for training and evaluation, cached on disk outside the repository.

Uses the pipeline's own decoding and face detection (:func:`detector.inference.video.sample_frames`,
:func:`detector.inference.pipeline.detect_faces`): there is no second implementation.  For each
video the crops of its main identity (the face tracked over the most frames) are
written as PNG files under ``<cache>/<key>/``, where the key hashes the video's path,
size and mtime with the sampling settings; a rerun with the same settings reuses them.  Nothing
removes an entry whose source changed or went: ``deepfake-lens cache --prune`` does
(:mod:`detector.data.cache`).

Default cache: :data:`detector.constants.CROP_CACHE`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.constants import CROP_CACHE, CROP_MAX_SIDE, FACE_MARGIN

CACHE_VERSION = 2  # 1 keyed by path, size and mtime: entries of an earlier version are never read
WHOLE_FILE = 8 << 20  # files up to this size are fingerprinted whole
BLOCK = 1 << 16  # larger ones: their size, first and last MiB, and BLOCKS blocks of this size between
BLOCKS = 16
_FINGERPRINTS: dict[tuple, str] = {}  # per process, by (path, size, mtime_ns, inode)


@dataclass
class CropSet:
    video: str
    files: list[str]  # PNG paths, one per sampled frame with a face of the main identity
    times: list[float]
    frames: int  # sampled frames
    with_face: int  # sampled frames with any face


def source_fingerprint(path: str | os.PathLike) -> str:
    """A SHA-1 over a file's bytes: all of them for a file up to 8 MiB (every photo, most clips); for a larger one
    its size, its first and last MiB and 16 blocks of 64 KiB evenly between, so that a large video costs a few
    reads, not a second pass over it.  Not a path and not a modification time: a copy of the file has the same.

    :param path: the source file
    :return: 40 hexadecimal digits
    """
    st = os.stat(path)
    memo = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo in _FINGERPRINTS:
        return _FINGERPRINTS[memo]
    h = hashlib.sha1(f"{st.st_size}|".encode())
    with open(path, "rb") as f:
        if st.st_size <= WHOLE_FILE:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            step = (st.st_size - (2 << 20)) // (BLOCKS + 1)
            spans = [(0, 1 << 20), *(((1 << 20) + step * (i + 1), BLOCK) for i in range(BLOCKS))]
            for start, length in [*spans, (st.st_size - (1 << 20), 1 << 20)]:
                f.seek(start)
                h.update(f.read(length))
    _FINGERPRINTS[memo] = h.hexdigest()
    return _FINGERPRINTS[memo]


def cache_key(video: str, frames: int, margin: float, max_side: int) -> str:
    from detector.inference.stills import is_still

    if is_still(video):
        frames = 1  # a photo is one frame whatever the setting: one cache entry for every --frames
    raw = f"v{CACHE_VERSION}|{source_fingerprint(video)}|{frames}|{margin}|{max_side}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def _write_meta(meta_path: Path, meta: dict) -> None:
    tmp = meta_path.with_name(f"meta.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta))
    tmp.replace(meta_path)  # written last, whole: a half-done folder is redone next time


def _source_fields(video: str) -> dict:
    """What an entry records of the source it was last read for: `deepfake-lens cache` judges it by them."""
    st = os.stat(video)
    return {
        "version": CACHE_VERSION,
        "video": os.path.abspath(video),
        "fingerprint": source_fingerprint(video),
        "size": st.st_size,
        "mtime": int(st.st_mtime),
    }


def extract_crops(
    video: str,
    frames: int = 32,
    margin: float = FACE_MARGIN,
    max_side: int = CROP_MAX_SIDE,
    cache: str | os.PathLike = CROP_CACHE,
) -> CropSet:
    """Crops of the main face of ``video`` (cached).  Raises InputError for unreadable videos."""
    import cv2

    from detector.inference.pipeline import detect_faces
    from detector.inference.stills import STILL_PAD, is_still, read_still
    from detector.inference.video import sample_frames

    folder = Path(cache) / cache_key(video, frames, margin, max_side)
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        source = _source_fields(video)
        if any(meta.get(k) != v for k, v in source.items()):  # the same bytes at a new path or with a new mtime:
            _write_meta(meta_path, meta | source)  # the entry follows its source (`cache` judges it by them)
        return CropSet(
            video=video,
            files=[str(folder / f) for f in meta["files"]],
            times=meta["times"],
            frames=meta["frames"],
            with_face=meta["with_face"],
        )
    if is_still(video):  # a photo: one frame, its borders mirrored outwards as the pipeline does
        _, sampled = read_still(video)
        faces_per_frame = detect_faces(sampled, margin=margin, pad=STILL_PAD)
    else:
        _, sampled = sample_frames(video, n_frames=frames)
        faces_per_frame = detect_faces(sampled, margin=margin)
    from detector.inference.faces import main_identity

    ident = main_identity(faces_per_frame)
    folder.mkdir(parents=True, exist_ok=True)
    files, times = [], []
    for fr, faces in zip(sampled, faces_per_frame):
        face = next((f for f in faces if f.identity == ident), None)
        if face is None:
            continue
        crop = face.crop
        if crop.shape[0] > max_side:
            crop = cv2.resize(crop, (max_side, max_side), interpolation=cv2.INTER_AREA)
        name = f"{fr.index:06d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        files.append(name)
        times.append(round(fr.time, 4))
    meta = {
        **_source_fields(video),
        "files": files,
        "times": times,
        "frames": len(sampled),
        "with_face": sum(bool(f) for f in faces_per_frame),
        "margin": margin,
    }
    _write_meta(meta_path, meta)
    return CropSet(
        video=video,
        files=[str(folder / f) for f in files],
        times=times,
        frames=len(sampled),
        with_face=meta["with_face"],
    )


def read_crop(path) -> np.ndarray:
    """A cached crop as the RGB array :func:`extract_crops` wrote (PNG stores it as BGR)."""
    import cv2

    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _extract_one(args):
    video, frames, margin, cache = args
    from detector.errors import InputError

    try:
        return extract_crops(video, frames=frames, margin=margin, cache=cache)
    except InputError as e:
        return str(e)


def extract_many(
    videos: list[str],
    frames: int = 32,
    margin: float = FACE_MARGIN,
    cache=CROP_CACHE,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, CropSet | str]:
    """Crops for many videos, ``workers`` processes in parallel.  Values are CropSets or error messages."""
    jobs = [(v, frames, margin, str(cache)) for v in videos]
    return dict(zip(videos, parallel_map(_extract_one, jobs, workers, progress, "crops")))


def parallel_map(func, jobs: list, workers: int, progress: bool, desc: str) -> list:
    """``[func(job) for job in jobs]``, in ``workers`` spawned processes when more than one (in order), with a
    progress bar of ``desc`` per video.  ``func`` must be a top-level function (it is pickled to the workers)."""
    import multiprocessing as mp

    from tqdm import tqdm

    bar = dict(total=len(jobs), disable=not progress, desc=desc, unit="video")
    if workers <= 1 or len(jobs) < 2:
        return [func(j) for j in tqdm(jobs, **bar)]
    with mp.get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(func, jobs), **bar))
