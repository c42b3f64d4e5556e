"""What one browser session keeps between events, kept small, and freed when the session ends.

The first tab keeps its last :class:`~detector.inference.report.Report` so that the threshold slider, the frame
slider, the gallery order and the downloads work without a new analysis.  A report straight from the pipeline holds
every sampled frame at full resolution (128 frames of a 1440p clip: 1.4 GB) and crop-sized face crops and CAMs;
:func:`slim_report` keeps what the page can show instead:

* frames downscaled to fit ``FRAME_SIDE`` and JPEG-encoded (:class:`EncodedFrames`: decoded one at a time, when
  shown; :func:`frame_scale` says how to scale the boxes, which stay in the clip's pixels);
* face crops at ``FACE_SIDE`` (the gallery's tile side) and CAMs at that side in float16.

About 10-30 MB for 128 frames, whatever the clip's resolution.

Uploaded files are shared by the sessions that used them (gradio stores an upload under the hash of its
content); :class:`Uploads` deletes one when the last session that used it has ended.  :func:`release_memory`
returns freed memory to the system (glibc keeps freed blocks of large arrays in its heaps otherwise).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Mapping

import cv2
import numpy as np

from detector.inference.report import Report

FRAME_SIDE = 960  # longest side of a kept frame: the viewer shows a frame in about 720 x 360 px
FRAME_QUALITY = 85  # JPEG quality of a kept frame
FACE_SIDE = 176  # side of a kept face crop and CAM (webapp.faces.gallery_items draws 176-px tiles)

log = logging.getLogger(__name__)


class EncodedFrames(Mapping):
    """``{frame index: RGB frame}`` like ``Report.frame_images``, held as downscaled JPEGs; each ``[]`` / ``get``
    decodes one frame (a few ms).  :meth:`scale` is the stored size over the original's (boxes are in the
    original's pixels)."""

    def __init__(
        self,
        frames: Mapping[int, np.ndarray],
        side: int = FRAME_SIDE,
        quality: int = FRAME_QUALITY,
        shapes: Mapping[int, tuple[int, int]] | None = None,
    ):
        """``shapes``: each frame's (height, width) as decoded, where ``frames`` were already kept smaller
        (``Report.frame_shapes``); by default the frames' own."""
        self._jpeg: dict[int, bytes] = {}
        self._scale: dict[int, float] = {}
        self.shapes: dict[int, tuple[int, int]] = {}  # original (height, width) of each frame
        for index, image in frames.items():
            h, w = (shapes or {}).get(index, image.shape[:2])
            image = _fit(image, side)
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:  # cannot happen for an RGB uint8 frame; keep the frame out rather than fail the page
                continue
            self._jpeg[int(index)] = buf.tobytes()
            self._scale[int(index)] = image.shape[1] / max(1, w)
            self.shapes[int(index)] = (h, w)

    def __getitem__(self, index: int) -> np.ndarray:
        data = np.frombuffer(self._jpeg[int(index)], np.uint8)
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[int]:
        return iter(self._jpeg)

    def __len__(self) -> int:
        return len(self._jpeg)

    def scale(self, index: int) -> float:
        return self._scale.get(int(index), 1.0)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in self._jpeg.values())


def frame_scale(frames, index: int) -> float:
    """How much smaller the kept frame ``index`` is than the clip's (1.0 for frames kept as they were)."""
    return frames.scale(index) if isinstance(frames, EncodedFrames) else 1.0


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def slim_report(report: Report, frame_side: int = FRAME_SIDE, face_side: int = FACE_SIDE) -> Report:
    """``report`` with what a page keeps (see the module's doc): frames as downscaled JPEGs, face crops and CAMs at
    ``face_side``, depth maps as float16.  Scores, boxes, timings and the JSON form are unchanged; the faces are
    slimmed in place."""
    for f in report.faces:
        if f.crop is not None:
            f.crop = np.ascontiguousarray(_fit(f.crop, face_side))
        if f.cam is not None:
            cam = np.asarray(f.cam, dtype=np.float32)
            f.cam = _fit(cam, face_side).astype(np.float16)
        if f.depth is not None:  # its own small copy (not a view that keeps the whole clip's stack of maps alive)
            f.depth = f.depth.astype(np.float16)
    frames = report.frame_images
    if frames and not isinstance(frames, EncodedFrames):
        frames = EncodedFrames(frames, side=frame_side, shapes=report.frame_shapes)
    return dataclasses.replace(report, frame_images=frames)


def report_nbytes(report: Report | None) -> int:
    """Bytes of image data a report holds (frames, crops, CAMs, depth maps): what a session's state costs."""
    if report is None:
        return 0
    frames = report.frame_images or {}
    total = frames.nbytes if isinstance(frames, EncodedFrames) else sum(np.asarray(v).nbytes for v in frames.values())
    for f in report.faces:
        total += sum(a.nbytes for a in (f.crop, f.cam, f.depth) if a is not None)
    return int(total)


class Uploads:
    """Which sessions use which file or folder (uploads, downloads written for them); one is deleted when no session
    uses it any more.

    Only what lies under one of ``roots`` (gradio's upload folder, the app's downloads folder) is ever deleted, an
    upload with its folder when that is left empty: never an example clip or a file the server was started with."""

    def __init__(self, *roots: str | os.PathLike | None):
        self.roots = [os.path.realpath(r) for r in roots if r]
        self._users: dict[str, set[str]] = {}  # path -> sessions
        self._kept: list[str] = []  # files whose copies are never deleted (the example clips)
        self._lock = threading.Lock()

    def _ours(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(real.startswith(root + os.sep) for root in self.roots)

    def keep_copies_of(self, paths) -> None:
        """Never delete a copy of these files (same name and bytes): gradio keeps an upload and its cached copy of an
        example clip in one file when they are the same, so a visitor who uploaded the example clip took it away
        from everyone when their tab closed ("no such file" on the example: an accessibility audit found it)."""
        self._kept += [str(p) for p in paths if p]

    def _a_kept_copy(self, path: str) -> bool:
        import filecmp

        for kept in self._kept:
            try:
                if os.path.basename(kept) == os.path.basename(path) and filecmp.cmp(kept, path, shallow=False):
                    return True
            except OSError:
                continue
        return False

    def hold(self, path: str | None, session: str | None) -> None:
        """Note that ``session`` uses ``path`` (a no-op for files outside ``root``, without a session, or a copy of
        a kept file: :meth:`keep_copies_of`)."""
        if not path or not session or not self._ours(str(path)) or self._a_kept_copy(str(path)):
            return
        with self._lock:
            self._users.setdefault(str(path), set()).add(session)

    def release(self, session: str | None) -> list[str]:
        """``session`` has ended: delete the files that no other session uses.  Returns the files deleted."""
        if not session:
            return []
        with self._lock:
            gone = []
            for path, users in list(self._users.items()):
                users.discard(session)
                if not users:
                    del self._users[path]
                    gone.append(path)
        for path in gone:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
                continue
            try:
                os.remove(path)
                parent = os.path.dirname(path)
                if os.path.realpath(parent) not in self.roots:
                    os.rmdir(parent)  # gradio keeps each upload in a folder of its own
            except OSError:
                pass
        return gone

    def sweep_empty(self, min_age_s: float = 3600.0) -> int:
        """Remove the empty folders right under each root last changed over ``min_age_s`` ago: gradio serves each
        output (a face tile, a download) from a folder of its own there, named by its bytes' hash, and its cache
        sweep deletes the files but not their folders (a Space host's audit: 427 empty folders after 40 analyses,
        without end on a long-running Space).  A younger one may be about to receive its file.  Left: gradio reuses
        a folder for the same bytes (mkdir, then write), so the same picture served again in the microseconds
        between would fail that event; a folder empty for an hour makes that rare.  Returns how many were removed."""
        import time

        removed, now = 0, time.time()
        for root in self.roots:
            try:
                entries = list(os.scandir(root))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False) and now - entry.stat().st_mtime > min_age_s:
                        os.rmdir(entry.path)  # only an empty one: rmdir refuses the others
                        removed += 1
                except OSError:
                    continue
        return removed

    def held(self) -> int:
        with self._lock:
            return len(self._users)


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()
M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)


def fix_mmap_threshold(nbytes: int = 256 << 10) -> bool:
    """Have glibc give every block of ``nbytes`` or more its own mapping, returned to the system when freed.

    By default glibc raises this threshold up to 32 MB after large blocks are freed, so decoded frames (6 MB at
    1080p) and face crops (about 0.4 MB) end up in its heaps, where freed memory stays counted in the process' RSS
    (bench/app_soak.py, 24 analyses of 1080p at 128 frames in 4 sessions: 1.11 x the start RSS after the sessions
    closed with 1 MB, 1.04 x with 256 KB).  True when set."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(nbytes)))
    except (OSError, AttributeError):
        return False


def release_memory() -> None:
    """Collect garbage and hand the freed heap memory back to the system (glibc only)."""
    gc.collect()
    if _TRIM is not None:
        try:
            _TRIM(0)
        except Exception as e:  # never fail an event over housekeeping
            log.debug("malloc_trim failed: %s", e)


__all__ = [
    "EncodedFrames",
    "Uploads",
    "frame_scale",
    "slim_report",
    "report_nbytes",
    "release_memory",
    "fix_mmap_threshold",
    "FRAME_SIDE",
    "FACE_SIDE",
]
