"""Face crops for training and evaluation, cached on disk outside the repository.

Uses the pipeline's own decoding and face detection (:func:`detector.inference.video.sample_frames`,
:func:`detector.inference.pipeline.detect_faces`): there is no second implementation.  For each
video the crops of its main identity (the face tracked over the most frames) are
written as PNG files under ``<cache>/<key>/``, where the key hashes the SHA-1 of the video file's bytes
(:func:`source_fingerprint`) with the sampling settings: a rerun with the same settings reuses them, and so does a
run on a copy of the data set, a restored one or one mounted elsewhere (new paths and modification times, the same
bytes); a file whose bytes changed gets a new key.  Nothing removes an entry that no run can read again:
``deepfake-lens cache --prune`` does (:mod:`detector.data.cache`).

Default cache: :data:`detector.constants.CROP_CACHE`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.constants import CROP_CACHE, CROP_MAX_SIDE, FACE_MARGIN

CACHE_VERSION = 2  # 1 keyed by path, size and mtime: entries of an earlier version are never read
# how a photo's faces are cut now, in its key and its entry's meta.json: a face merged with its mirror image in the
# padding gives way to the photo's own, an unsure face stays only where FaceMesh sees one filling its crop too, and a
# picture inside the photo is mirrored past its edge (pipeline.faces_in); photo entries cut before are never read, and
# `cache --prune` removes them ("outdated")
STILL_CUT = "unmirrored,meshfill,inner,upright"
# and a video frame's: a face tilted by 10-45 degrees is cut turned upright (quality.straighten_by); entries of either
# kind cut before that (no "upright" in their cut) are never read, and `cache --prune` removes them ("outdated")
VIDEO_CUT = "upright"
_FINGERPRINTS: dict[tuple, str] = {}  # per process, by the file's identity and times (see source_fingerprint)


@dataclass
class CropSet:
    video: str
    files: list[str]  # PNG paths, one per sampled frame with a face of the main identity
    times: list[float]
    frames: int  # sampled frames
    with_face: int  # sampled frames with any face


def source_fingerprint(path: str | os.PathLike) -> str:
    """A SHA-1 over a file's size and all its bytes: what a cache entry is keyed by.  Not its path and not its
    modification time, so a copy of the file has the same.  Reading the file costs about a second a gigabyte from
    the page cache, once per process and file (remembered by device, inode, size, modification and change time:
    a file rewritten in place, even with its old modification time put back, is read again).

    :param path: the source file
    :return: 40 hexadecimal digits
    :raises InputError: (one line) for what is not a readable regular file: a folder, a pipe, a device, no file
    """
    from detector.errors import InputError

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the open, a device never end
        raise InputError(f"{path}: not a regular file (a folder, device, pipe or socket)")
    memo = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if memo not in _FINGERPRINTS:
        h, left = hashlib.sha1(f"{st.st_size}|".encode()), st.st_size  # the size first, then every byte
        try:
            with open(path, "rb") as f:
                while left > 0 and (block := f.read(min(left, 1 << 20))):
                    h.update(block)
                    left -= len(block)
        except OSError as e:
            raise InputError(f"{path}: cannot be read ({e.strerror or e})") from None
        _FINGERPRINTS[memo] = h.hexdigest()
    return _FINGERPRINTS[memo]


def cache_key(video: str, frames: int, margin: float, max_side: int, fingerprint: str | None = None) -> str:
    """The entry's folder name: the source's bytes (``fingerprint``, or :func:`source_fingerprint`'s) with the
    sampling settings."""
    from detector.inference.stills import is_still

    tiles = f"|{VIDEO_CUT}"
    if is_still(video):
        frames = 1  # a photo is one frame whatever the setting: one cache entry for every --frames
        # its small faces are also searched tile by tile since then; in tiles of several sizes, from photos 1.25 tiles
        # on their short side, since "tiles2" (one size, from two tiles, before)
        tiles = "|tiles2" if _tiled(video) else ""
        tiles += f"|{STILL_CUT}"
    raw = f"v{CACHE_VERSION}|{fingerprint or source_fingerprint(video)}|{frames}|{margin}|{max_side}{tiles}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def cut_of(source: str) -> str:
    """How faces of ``source`` are cut now (:data:`STILL_CUT` for a photo, :data:`VIDEO_CUT`): what its entry's
    ``meta.json`` records, and an entry cut otherwise is outdated."""
    from detector.inference.stills import is_still

    return STILL_CUT if is_still(source) else VIDEO_CUT


def _tiled(photo: str) -> bool:
    """Whether faces of ``photo`` are also searched tile by tile (:meth:`FaceDetector.detect_small`: a photo at least
    :data:`~detector.inference.faces.TILE_ROOM` tiles on its short side), read from its header; entries cut before
    that search keep their own keys."""
    import warnings

    from PIL import Image

    from detector.inference.faces import TILE_MIN, TILE_ROOM

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the crop run gives the one line
            with Image.open(photo) as im:
                return min(im.size) >= TILE_ROOM * TILE_MIN
    except Exception:  # noqa: BLE001 -- unreadable: the crop run says why
        return False


def write_json(path: Path, data: dict) -> None:
    """``data`` as JSON at ``path``, whole or not at all: through a temporary file of its own in the same folder,
    so that two processes writing one entry at once, or a reader, never see half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _source_fields(video: str) -> dict:
    """What an entry records of the source it was last read for: `deepfake-lens cache` judges it by them."""
    fingerprint = source_fingerprint(video)  # InputError for what is not a readable file
    st = os.stat(video)
    return {
        "version": CACHE_VERSION,
        "video": os.path.abspath(video),
        "fingerprint": fingerprint,
        "size": st.st_size,
        "mtime": int(st.st_mtime),
        "cut": cut_of(video),
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

    source = _source_fields(video)  # before decoding: what is recorded is what was keyed, even if the file changes
    folder = Path(cache) / cache_key(video, frames, margin, max_side, source["fingerprint"])
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if any(meta.get(k) != v for k, v in source.items()):  # the same bytes at a new path or with a new mtime:
            try:  # the entry follows its source (`deepfake-lens cache` judges it by them); a cache it may not
                write_json(meta_path, meta | source)  # write to (read-only, another user's) is still read
            except OSError:
                pass
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
        **source,
        "files": files,
        "times": times,
        "frames": len(sampled),
        "with_face": sum(bool(f) for f in faces_per_frame),
        "margin": margin,
    }
    write_json(meta_path, meta)  # written last: a half-done folder is redone next time
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
