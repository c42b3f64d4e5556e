"""A depth map per face crop, from the mediapipe FaceMesh landmarks: the depth stream of an RGB + depth model.

**This is not a measured depth.**  No depth sensor and no depth-estimation network is involved (none can be had
offline): FaceMesh fits its 468-point face model to the crop and gives each point an x, y (in the crop) and a
relative z (the landmark model's own estimate, smaller = nearer the camera, on the scale of x).  The map is that z,
interpolated linearly over a Delaunay triangulation of the landmarks' x, y and rasterised onto the crop at
``size`` x ``size`` (:data:`detector.constants.DEPTH_SIZE`):

* 0 outside the face (outside the landmarks' hull);
* inside, normalised per face: the nearest point (usually the nose tip) 1, the farthest
  :data:`detector.constants.DEPTH_FLOOR`, so that a face pixel is never 0.

A crop where FaceMesh finds no face (or only degenerate landmarks, with no surface to draw) gives an all-zero map
and ``found = False``, never an error: ``found`` is always "the map is not empty".

    >>> result = face_depth(crop)          # DepthMap(depth: size x size float32 in [0, 1], found: bool)
    >>> maps, found = depth_maps(crops)    # N x size x size, N flags
"""

from __future__ import annotations

__all__ = ["DepthMap", "face_depth", "depth_maps", "raster", "landmarks"]

import threading
from dataclasses import dataclass

import numpy as np

from detector.constants import DEPTH_FLOOR, DEPTH_SIZE
from detector.inference.faces import quiet_native_stderr

_MESH = None  # one FaceMesh per process (its graph takes ~0.3 s to build), used under _LOCK
_LOCK = threading.Lock()


@dataclass
class DepthMap:
    """depth: size x size float32 (0 outside the face, DEPTH_FLOOR..1 inside, nearer brighter); found: whether
    FaceMesh found a face in the crop (False: the map is all zero)."""

    depth: np.ndarray
    found: bool


_WARMED = False  # whether FaceMesh has found a face once: its C++ side logs on the first runs of each stage


def _mesh():
    global _MESH
    if _MESH is None:
        from mediapipe.python.solutions import face_mesh  # mediapipe.solutions does not import in 0.10.21 here

        with quiet_native_stderr():
            _MESH = face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.5
            )
    return _MESH


def landmarks(crop: np.ndarray) -> np.ndarray | None:
    """468 x 3 FaceMesh landmarks of the face in an RGB uint8 crop (x, y as shares of the crop's width and
    height, z the landmark model's relative depth, smaller = nearer), or None when it finds no face."""
    img = np.ascontiguousarray(crop[..., :3], dtype=np.uint8)
    if img.ndim != 3 or min(img.shape[:2]) < 8:
        return None
    global _WARMED
    with _LOCK:
        mesh = _mesh()  # (built in a quiet window of its own: not inside the one below, which is not re-entrant)
        if _WARMED:
            result = mesh.process(img)
        else:  # until a face was found once, what mediapipe prints on its first runs ("Feedback manager requires
            # ...", "Using NORM_RECT without IMAGE_DIMENSIONS...") is silenced: a scan's output carried it
            with quiet_native_stderr():
                result = mesh.process(img)
            _WARMED = bool(result.multi_face_landmarks)
    if not result.multi_face_landmarks:
        return None
    return np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float32)


def raster(points: np.ndarray, size: int = DEPTH_SIZE, floor: float = DEPTH_FLOOR) -> np.ndarray:
    """size x size map of landmarks ``points`` (N x 3: x, y in [0, 1] of the crop, z smaller = nearer): z linearly
    interpolated over the Delaunay triangles of the x, y (sampled at pixel centres), 0 outside them, normalised
    to ``floor`` (farthest) .. 1 (nearest)."""
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import QhullError

    pts = np.asarray(points, np.float64)
    z = pts[:, 2]
    span = float(z.max() - z.min())
    near = (z.max() - z) / span if span > 0 else np.ones_like(z)  # 1 nearest, 0 farthest
    value = floor + (1.0 - floor) * near
    centres = (np.arange(size) + 0.5) / size
    gx, gy = np.meshgrid(centres, centres)  # row = y, column = x
    try:
        out = LinearNDInterpolator(pts[:, :2], value, fill_value=0.0)(gx, gy)
    except QhullError:  # degenerate landmarks (all on a line): no surface to draw
        return np.zeros((size, size), np.float32)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def face_depth(crop: np.ndarray, size: int = DEPTH_SIZE) -> DepthMap:
    """The landmark depth map of one RGB face crop (see the module docstring); a zero map with ``found=False``
    when FaceMesh finds no face (or the crop is too small to look at)."""
    pts = landmarks(crop)
    if pts is None:
        return DepthMap(np.zeros((size, size), np.float32), False)
    depth = raster(pts, size)
    return DepthMap(depth, bool(depth.any()))  # degenerate landmarks (no triangle to draw): no map, not found


def depth_maps(crops: list[np.ndarray], size: int = DEPTH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(N x size x size float32 depth maps, N bool found flags) of RGB face crops, one FaceMesh pass each."""
    maps = [face_depth(c, size) for c in crops]
    return (
        np.stack([m.depth for m in maps]) if maps else np.zeros((0, size, size), np.float32),
        np.array([m.found for m in maps], bool),
    )
