"""Faces: BlazeFace detection (mediapipe, offline), square crops, and tracking into identities.

The second stage of the pipeline.

* :class:`FaceDetector` wraps mediapipe's BlazeFace.  It runs the full-range model
  (faces up to ~5 m, as in news footage) and, on frames where that finds nothing,
  the short-range model (close-ups, selfies).  Both ship inside the
  ``mediapipe==0.10.21`` wheel: nothing is downloaded.
* :func:`crop_face` cuts a square around a box with a margin (30% by default),
  padding with black where the square leaves the frame.
* :func:`track` links faces across sampled frames into identities by box overlap.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from detector.constants import FACE_MARGIN, SCORE_DECIMALS

os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TILE_MIN = 384  # FaceDetector.detect_small: the smallest tile (px); a photo ...
TILE_ROOM = 1.25  # ... searched tile by tile where its short side is at least this many tiles (the tiles then overlap):
# at two, a 1344 x 756 picture of four people with 80-110 px faces was searched whole only, and 12 of 48 such faces
# were missed (bench/tiles.py: mosaics of the actor clips' frames; and at 1.5, a 960 x 540 one)
TILE_CONFIDENCE = 0.8  # and the detector confidence a face found in a tile needs (0.5 on a whole picture): at 0.6,
# tiles of 40 frames of the 1080p actor clips added 13 "faces", 11 of them hair, hands, leaves or a window; at 0.8,
# of 60 frames, one: a real person in the background
TILE_MESH_FLOOR = 0.6  # a photo's face found in a tile from this confidence up to TILE_CONFIDENCE is kept where
# FaceMesh also finds a face filling its crop (detector.inference.pipeline.faces_in), as for MESH_CHECK_BELOW (a
# browser check: the astronaut's 85 px face in a 4000 x 3000 photo, found at 0.79 in its tile, got no box)
# a photo's face found with less confidence than this is kept only where FaceMesh also finds a face filling its crop
# (detector.inference.pipeline.faces_in): of 400 UTKFace photos, 80 faces fell under it; FaceMesh found 76, the 4
# others were 3 parts of a face (an eye, a nose) found beside the whole one and 1 real face; a coffee cup (0.59) and a
# patch of the Hubble deep field (0.67), both "faces", were dropped. Not for every face: of the 1,528 held-out photos,
# FaceMesh saw no face filling the crop of 5 real close-ups BlazeFace found at 0.72-0.80 (an old man's moustached face
# among them), which became "no face found"
MESH_CHECK_BELOW = 0.7
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")


@dataclass
class Face:
    """One face in one frame, from detection to explanation: the detector fills box, confidence and keypoints,
    :func:`track` the identity, the pipeline the crop, the score and (with CAM) cam and explanation.  The report's
    ``FaceResult`` is this same class."""

    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the (upright) frame
    confidence: float  # detector confidence
    keypoints: list[tuple[float, float]] = field(default_factory=list, repr=False)  # 6 BlazeFace keypoints, pixels
    identity: int = -1  # set by track()
    score: float = 0.0  # the classifier's fake score: its probability for the fake class, not a measured chance
    crop: np.ndarray | None = field(default=None, repr=False)  # square RGB crop with margin, given to the classifier
    cam: np.ndarray | None = field(default=None, repr=False)  # CAM in [0, 1], crop-sized
    explanation: dict | None = None  # faithfulness figures of the CAM, see explain/
    stats: dict | None = field(default=None, repr=False)  # face size, sharpness... (detector.inference.quality)
    tiled: bool = field(default=False, repr=False)  # found in a tile of a photo (FaceDetector.detect_small)
    # crops at other margins, {margin: (crop, the inner picture's part of it or None)}, when one decode serves models
    # with different margins (compare view; see detector.inference.pipeline.faces_at)
    crops: dict | None = field(default=None, repr=False)
    # an RGB + depth model's depth map of the crop (S x S in [0, 1], 0 off the face; detector.inference.depth)
    depth: np.ndarray | None = field(default=None, repr=False)
    # the part of the crop inside the picture, (x0, y0, x1, y1) as shares of its side (crop_inside); None: all of it.
    # The rest is padding the model saw but the picture does not hold: mirrored for a photo, black for a video frame
    inside: tuple[float, float, float, float] | None = field(default=None, repr=False)
    # whether the face lies in a picture inside the picture (a collage's portrait, a photo on a page), part of whose
    # edge crosses its square: ``inside`` then stops at that edge too (inner_picture)
    framed: bool = field(default=False, repr=False)
    # the share of its lower face unlike its own skin (a hand, a cup, a microphone, a mask before the mouth:
    # detector.inference.covers.lower_face_covered), measured on faces that score in the uncertain band or over it;
    # 0: not measured or bare
    covered: float = field(default=0.0, repr=False)
    # read as covered (``covered`` over detector.inference.covers.COVER_SHARE) and scoring under the model card's
    # threshold for covered faces: such a face never makes a "fake" on its own (report.with_covered)
    covered_under: bool = field(default=False, repr=False)
    # whether ``covered`` was measured (covers.check_covers: only faces that score in the band or over it are)
    covers_checked: bool = field(default=False, repr=False)
    # degrees its square was cut turned by, so that a tilted face stands upright in the crop (0: not turned; see
    # detector.inference.quality.straighten_by): the crop, its heat map and ``inside`` are of the turned square, and
    # ``box`` is the upright face's box (found again in the turned square), centred where the face lies
    straightened: float = 0.0
    # the share of the crop under text laid over the face (a caption, a meme's words; 0: none found; see
    # detector.inference.overlays): such a face is never alone the ground of a "fake"
    text_over: float = 0.0
    # ``text_over`` of each of ``crops``' squares, by margin (found in each: the share differs with the square's size)
    text_at: dict | None = field(default=None, repr=False)
    # under text, but it and its report's score reach the model card's threshold for faces under text
    # (report.clear_text): the text does not hold it back
    text_cleared: bool = field(default=False, repr=False)

    def to_dict(self) -> dict:
        d = {
            "identity": self.identity,
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), SCORE_DECIMALS),
            "confidence": round(float(self.confidence), 4),
        }
        if self.explanation:
            d["explanation"] = self.explanation
        if self.framed:
            d["framed"] = True  # in a picture inside the picture, mirrored past its edge (inner_picture)
        if self.straightened:
            d["straightened"] = round(float(self.straightened), 1)  # degrees its crop was turned to stand it upright
        if self.text_over:
            d["text_over"] = round(float(self.text_over), 3)  # share of its crop under text laid over the face
        if self.text_cleared:
            d["text_cleared"] = True  # over the card's threshold for faces under text: not held back by it
        if self.covered:
            d["covered"] = round(float(self.covered), 3)  # share of its lower face unlike its skin (covers.py)
        if self.depth is not None:
            d["depth_found"] = bool(self.depth.any())  # a non-empty map: FaceMesh found the face, a surface was drawn
        return d


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what mediapipe's C++ side (TensorFlow Lite, absl) prints on file descriptor 2 while its graphs are
    built and first run ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires..."): log spam a
    user cannot act on.  Python's own warnings and errors are untouched outside this short window."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real stderr (some embedded hosts): nothing to silence
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class FaceDetector:
    """BlazeFace through mediapipe's ``solutions`` API.  Not thread-safe: one per thread."""

    def __init__(self, min_confidence: float = 0.5, max_side: int = 1280):
        with quiet_native_stderr():
            import mediapipe as mp  # imported here: it is slow to import and pulls in jax

            fd = mp.solutions.face_detection
            self.full_range = fd.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
            self.short_range = fd.FaceDetection(model_selection=0, min_detection_confidence=min_confidence)
            blank = np.zeros((64, 64, 3), np.uint8)
            self.full_range.process(blank)  # the first run logs too
            self.short_range.process(blank)
        self.max_side = max_side

    def close(self) -> None:
        self.full_range.close()
        self.short_range.close()

    def detect(
        self, image: np.ndarray, region: tuple[float, float, float, float] | None = None, short_range: bool = True
    ) -> list[Face]:
        """Faces in an RGB uint8 frame, most confident first, overlapping duplicates removed.  ``region``
        (x0, y0, x1, y1): keep only faces centred inside it (a photo's own area inside its mirrored padding),
        before duplicates are removed and before the short-range model is tried (where the full-range model found
        none; ``short_range=False``: not at all)."""
        h, w = image.shape[:2]
        small = image
        k = -(-max(h, w) // self.max_side)  # BlazeFace works at 128/192 px anyway: shrink huge frames first
        if k > 1:
            if min(h, w) < k:  # a strip (say 100000 x 16) shrunk by k would be empty: it holds no face anyway
                return []
            import cv2

            # by a whole factor, on a frame cut to a multiple of it: OpenCV's fast INTER_AREA path
            # (a fractional factor costs ~20 ms per 1080p frame, more than the detector itself)
            h, w = h // k * k, w // k * k
            small = cv2.resize(image[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)

        def inside(faces: list[Face]) -> list[Face]:
            if region is None:
                return faces
            x0, y0, x1, y1 = region
            return [f for f in faces if x0 <= f.box[0] + f.box[2] / 2 < x1 and y0 <= f.box[1] + f.box[3] / 2 < y1]

        faces = inside(self._run(self.full_range, small, w, h))
        if not faces and short_range:
            faces = inside(self._run(self.short_range, small, w, h))
        return _nms(sorted(faces, key=lambda f: -f.confidence))

    def detect_small(
        self, image: np.ndarray, tile: int = TILE_MIN, min_confidence: float = TILE_CONFIDENCE
    ) -> list[Face]:
        """Faces too small for :meth:`detect` on the whole picture (BlazeFace sees it at 192 px: a face under about a
        tenth of its side is missed; a review's 1080p photo with 100-150 px faces gave "no face found").  The picture is
        cut into overlapping tiles of half its short side (at least ``tile`` px), each searched alone, then into tiles
        half as large, and so on down to ``tile`` px (none for a picture under :data:`TILE_ROOM` tiles on its short
        side): a face is found in tiles up to about twelve times its size, and a 4096 px photo's 100 px faces need
        tiles of 1,024 px or less (an audit: one level of 2,048 px tiles left them "no face found").  A face is kept
        only where it lies wholly inside its tile, away from the cuts (the first tiles keep faces up to half their
        side and overlap by half, finer ones up to a quarter and overlap by a quarter: every such face lies wholly in
        one of them), at ``min_confidence`` or above (tiles raise false finds on background).  For photos: a video
        frame's cost would multiply (``bench/tiles.py`` times it)."""
        h, w = image.shape[:2]
        if min(h, w) < TILE_ROOM * tile:
            return []
        found: list[Face] = []
        side, kept = max(tile, min(h, w) // 2), 2  # faces up to side // kept px kept
        while True:
            found += self._tiled(image, side, min_confidence, side // kept)
            if side // 2 < tile:
                break
            # finer tiles need only the faces the tiles twice their size miss (under about a twelfth of those: a
            # sixth of these), so they keep faces up to a quarter of their side and overlap by that much
            side, kept = side // 2, 4
        return _nms(sorted(found, key=lambda f: -f.confidence))

    def _tiled(self, image: np.ndarray, side: int, min_confidence: float, largest: int) -> list[Face]:
        """The faces :meth:`detect_small` keeps from tiles of ``side`` px: at most ``largest`` px, wholly inside
        their tile; the tiles overlap by ``largest``, so that every such face lies so in one of them."""
        h, w = image.shape[:2]
        step = side - largest
        ys = sorted({*range(0, h - side + 1, step), h - side})
        xs = sorted({*range(0, w - side + 1, step), w - side})
        found: list[Face] = []
        for y0 in ys:
            for x0 in xs:
                # the full-range model alone: the short-range one, for a face filling the picture, would double
                # the cost of the tiles without a face (most of them), and faces over half a tile are not kept
                for f in self.detect(np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side]), short_range=False):
                    x, y, bw, bh = f.box
                    cut = (x <= 1 and x0 > 0) or (y <= 1 and y0 > 0)
                    cut |= (x + bw >= side - 1 and x0 + side < w) or (y + bh >= side - 1 and y0 + side < h)
                    if cut or f.confidence < min_confidence or max(bw, bh) > largest:
                        continue
                    f.box = (x + x0, y + y0, bw, bh)
                    f.keypoints = [(kx + x0, ky + y0) for kx, ky in f.keypoints]
                    f.tiled = True
                    found.append(f)
        return found

    @staticmethod
    def _run(model, image: np.ndarray, w: int, h: int) -> list[Face]:
        result = model.process(image)
        faces = []
        for det in result.detections or []:
            rb = det.location_data.relative_bounding_box
            x0, y0 = max(0.0, rb.xmin) * w, max(0.0, rb.ymin) * h
            x1, y1 = min(1.0, rb.xmin + rb.width) * w, min(1.0, rb.ymin + rb.height) * h
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            kps = [(kp.x * w, kp.y * h) for kp in det.location_data.relative_keypoints]
            box = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
            faces.append(Face(box=box, confidence=float(det.score[0]), keypoints=kps))
        return faces


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _nms(faces: list[Face], threshold: float = 0.4) -> list[Face]:
    kept: list[Face] = []
    for f in faces:
        if all(iou(f.box, k.box) < threshold for k in kept):
            kept.append(f)
    return kept


def crop_box(box, frame_w: int, frame_h: int, margin: float = FACE_MARGIN) -> tuple[int, int, int]:
    """The square (x, y, side) around ``box`` grown by ``margin`` of its longer side."""
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + margin)))
    cx, cy = x + w / 2, y + h / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), max(side, 1)


def crop_inside(
    box, frame_w: int, frame_h: int, margin: float = FACE_MARGIN, roll: float = 0.0
) -> tuple[float, float, float, float] | None:
    """The part of ``box``'s square crop (:func:`crop_box`) that lies inside a ``frame_w`` x ``frame_h`` picture, as
    ``(x0, y0, x1, y1)`` shares of the crop's side; None when the whole crop does.  The rest of the crop is
    padding: black in a video frame (:func:`crop_face`), the picture mirrored outwards in a photo.  For a square
    cut turned by ``roll`` degrees (:func:`crop_face`), whose picture's edge runs aslant across it: the rows and
    columns of it at least half inside the picture."""
    x, y, side = crop_box(box, frame_w, frame_h, margin)
    if roll:
        import cv2

        square = turned_square(box, side, roll)
        # warped from the part of the picture the square can reach, not the whole picture (a 4K frame's mask per
        # tilted face): the square's corners in the picture, a pixel more each way, within the picture
        corners = cv2.invertAffineTransform(square) @ np.array([[0, 0, side, side], [0, side, 0, side], [1, 1, 1, 1]])
        ox, oy = (int(max(0, np.floor(c.min()) - 1)) for c in corners)
        ex, ey = int(min(frame_w, np.ceil(corners[0].max()) + 2)), int(min(frame_h, np.ceil(corners[1].max()) + 2))
        if ex <= ox or ey <= oy:
            return (0.0, 0.0, 0.0, 0.0)
        shifted = square.copy()
        shifted[:, 2] += square[:, :2] @ np.array([ox, oy], dtype=float)
        inside = cv2.warpAffine(np.ones((ey - oy, ex - ox), np.uint8), shifted, (side, side), flags=cv2.INTER_NEAREST)
        if inside.all():
            return None
        rows, cols = np.flatnonzero(inside.mean(axis=1) >= 0.5), np.flatnonzero(inside.mean(axis=0) >= 0.5)
        if not len(rows) or not len(cols):
            return (0.0, 0.0, 0.0, 0.0)
        if len(rows) == side and len(cols) == side:  # only corners past the edge: counted as inside (a review: the
            # whole square given as the inside read as "past the edge" with nothing marked)
            return None
        return (cols[0] / side, rows[0] / side, (cols[-1] + 1) / side, (rows[-1] + 1) / side)
    x0, y0 = max(0, -x) / side, max(0, -y) / side
    x1, y1 = min(side, frame_w - x) / side, min(side, frame_h - y) / side
    if x0 <= 0 and y0 <= 0 and x1 >= 1 and y1 >= 1:
        return None
    return tuple(float(min(1.0, max(0.0, v))) for v in (x0, y0, x1, y1))


# a picture inside the picture (a portrait in a collage, a photo on a page or a screenshot): where a face's crop holds
# the inner picture's straight edge with flat ground beyond it, the crop is filled past the edge by mirroring, as past
# a photo's own edge (inner_picture).  Why: cut with a plain border in its crop, a real face was called fake far more
# often (scripts/group_photo_probe.py; scripts/padding_probe.py: a black border changed 22 of 149 photos' labels)
INNER_EDGE_STEP = 12  # an edge: the colour steps by at least this much (0-255, any channel) across it ...
INNER_EDGE_SHARE = 0.9  # ... along at least this share of the face box's span
INNER_FLAT_GRADIENT = 4.0  # flat beyond it: its pixels, averaged in 8 x 8 blocks, change by less than this ...
INNER_FLAT_SHARE = 0.15  # ... from block to block, but for at most this share of them
INNER_FLAT_BLOCK = 64  # px in a block: 8 x 8, or along a strip thinner than 8 px, as long as it takes (4 x 16)
INNER_THIN_STRIP = 4  # a strip thinner than this (2-3 px) is too thin for blocks: flat if its colour barely varies,
INNER_THIN_SPREAD = 12.0  # a standard deviation under this in every channel (light noise on one colour); a strip of
# 4-7 px needs that too besides its blocks (2-5 of them along a face: too few to tell a busy picture by alone)
INNER_MIN_BEYOND = 2  # px beyond the edge needed to judge it flat (a thinner strip is left as it is)
INNER_GROUND_MATCH = 10.0  # thin strips on two sides or more, with no sure edge, must be this alike in colour (each
# channel's median, 0-255): one ground round the picture


def _ground(crop: np.ndarray, side: int, p: int, rows: slice, cols: slice) -> np.ndarray:
    """The median colour of the ground beyond side ``side``'s edge at ``p`` (0 left, 1 top, 2 right, 3 bottom),
    along the face's span (``rows`` for left and right, ``cols`` for top and bottom)."""
    beyond = (crop[rows, :p], crop[:p, cols], crop[rows, p:], crop[p:, cols])[side]
    return np.median(beyond.reshape(-1, beyond.shape[-1]), axis=0).astype(np.float32)


def _flat(region: np.ndarray, thinnest: int = INNER_MIN_BEYOND) -> bool:
    """Whether ``region`` (H x W x 3) is flat ground: plain or blurred colour, with light noise at most, judged on
    its means over blocks of 8 x 8 px; across a strip thinner than 8 px, over blocks of its whole thickness and as
    long as it takes to hold :data:`INNER_FLAT_BLOCK` px, so that light noise averages out as much (a portrait of
    48 px in a collage leaves 2-8 px of ground in its face's crop: over 8 px blocks, the ground's light noise read as
    texture and left a grey strip in 4 crops of 10, and those faces scored as fake as a plain border makes them);
    a strip thinner than 8 px must also be near one colour (:data:`INNER_THIN_SPREAD`), a strip of 2-3 px by that
    alone."""
    import cv2

    h, w = region.shape[:2]
    thin = min(h, w)
    if thin < max(INNER_MIN_BEYOND, thinnest):
        return False
    if thin < 8:  # a strip: one plain colour with light noise along it (2-3 px: that alone)
        plain = max(h, w) >= 8 and float(region.reshape(-1, region.shape[-1]).std(axis=0).max()) < INNER_THIN_SPREAD
        if not plain or thin < INNER_THIN_STRIP:
            return plain
    along = max(8, -(-INNER_FLAT_BLOCK // min(thin, 8)))  # a block's length along a thin strip, px
    bh, bw = (8, 8) if thin >= 8 else ((along, thin) if h > w else (thin, along))
    small = cv2.resize(region, (max(1, w // bw), max(1, h // bh)), interpolation=cv2.INTER_AREA).astype(np.float32)
    steps = [np.abs(np.diff(small, axis=a)).max(axis=-1).ravel() for a in (0, 1) if small.shape[a] > 1]
    if not steps:
        return False
    steps = np.concatenate(steps)
    # a gentle slope (a blurred bar) climbs in proportion to the block's length: per px as over 8 px
    return float(np.mean(steps >= INNER_FLAT_GRADIENT * max(bh, bw) / 8)) <= INNER_FLAT_SHARE


def inner_picture(crop: np.ndarray, box: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
    """The inner picture of a face's ``crop`` (H x W x 3, RGB): ``(x0, y0, x1, y1)`` px, each side at the edge
    nearest the face (``box``: the face in the crop's pixels) where the colour steps along the face's whole span
    with flat ground beyond it (a collage's background, a page, a black or blurred bar), or the crop's own side
    where none is; None when no side has such an edge.  An edge is looked for from just inside the face box (a
    detector's box can pass a tight portrait's edge) outwards.  An edge with only 2-3 px of ground beyond it in the
    crop counts only beside another side's edge with more, or beside another such thin strip of the same colour (a
    door frame by a plain wall, one side, is not a collage's portrait: a review)."""
    h, w = crop.shape[:2]
    bx, by, bw, bh = (float(v) for v in box)
    img = crop.astype(np.int16)
    rows = slice(max(0, int(by)), min(h, int(by + bh)))
    cols = slice(max(0, int(bx)), min(w, int(bx + bw)))
    if rows.stop - rows.start < 8 or cols.stop - cols.start < 8:
        return None

    def step(a: np.ndarray, b: np.ndarray) -> float:  # share of the span where the colour steps from a to b
        return float(np.mean(np.abs(a - b).max(axis=-1) >= INNER_EDGE_STEP))

    def vertical(start: int, stop: int, direction: int, thinnest: int) -> int | None:  # between columns p - 1, p
        for p in range(start, stop, direction):
            if p < 2 or p > w - 2:
                break
            inner = img[rows, p : p + 2].mean(axis=1) if direction < 0 else img[rows, p - 2 : p].mean(axis=1)
            outer = img[rows, p - 2 : p].mean(axis=1) if direction < 0 else img[rows, p : p + 2].mean(axis=1)
            if step(inner, outer) >= INNER_EDGE_SHARE:
                beyond = crop[rows, :p] if direction < 0 else crop[rows, p:]
                if _flat(beyond, thinnest):  # the sharpest single-pixel step of the edge's few pixels is where it lies
                    near = [q for q in (p - 1, p, p + 1) if 1 <= q <= w - 1]
                    return max(near, key=lambda q: float(np.abs(img[rows, q] - img[rows, q - 1]).mean()))
        return None

    def horizontal(start: int, stop: int, direction: int, thinnest: int) -> int | None:  # between rows p - 1, p
        for p in range(start, stop, direction):
            if p < 2 or p > h - 2:
                break
            inner = img[p : p + 2, cols].mean(axis=0) if direction < 0 else img[p - 2 : p, cols].mean(axis=0)
            outer = img[p - 2 : p, cols].mean(axis=0) if direction < 0 else img[p : p + 2, cols].mean(axis=0)
            if step(inner, outer) >= INNER_EDGE_SHARE:
                beyond = crop[:p, cols] if direction < 0 else crop[p:, cols]
                if _flat(beyond, thinnest):
                    near = [q for q in (p - 1, p, p + 1) if 1 <= q <= h - 1]
                    return max(near, key=lambda q: float(np.abs(img[q, cols] - img[q - 1, cols]).mean()))
        return None

    inset_x, inset_y = int(0.15 * bw), int(0.15 * bh)

    sides = [  # left, top, right, bottom: each a search for its edge, given the thinnest strip of ground to take
        lambda thinnest: vertical(int(bx) + inset_x, 1, -1, thinnest),
        lambda thinnest: horizontal(int(by) + inset_y, 1, -1, thinnest),
        lambda thinnest: vertical(int(bx + bw) - inset_x, w - 1, 1, thinnest),
        lambda thinnest: horizontal(int(by + bh) - inset_y, h - 1, 1, thinnest),
    ]
    found = [side(INNER_THIN_STRIP) for side in sides]
    if all(e is None for e in found):
        # no sure edge: thin strips alone, where two sides or more hold one of the same ground (a small portrait
        # filling its square leaves 2-3 px of the collage's ground all round; a door frame by a wall, one side)
        found = [side(INNER_MIN_BEYOND) for side in sides]
        grounds = [_ground(crop, i, e, rows, cols) for i, e in enumerate(found) if e is not None]
        if len(grounds) < 2 or np.ptp(np.array(grounds), axis=0).max() > INNER_GROUND_MATCH:
            return None
    else:  # one edge is sure: the sides without one may leave a thinner strip of the same ground (searched again)
        found = [e if e is not None else side(INNER_MIN_BEYOND) for e, side in zip(found, sides)]
    left, top, right, bottom = found
    x0, y0, x1, y1 = left or 0, top or 0, right or w, bottom or h
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


def mirror_outside(crop: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """``crop`` with everything outside ``rect`` (x0, y0, x1, y1 px) filled by mirroring the inside outwards (as a
    photo's own edge is: :func:`~detector.inference.stills.pad_still`)."""
    x0, y0, x1, y1 = rect
    h, w = crop.shape[:2]
    inner = crop[y0:y1, x0:x1]
    return np.ascontiguousarray(np.pad(inner, ((y0, h - y1), (x0, w - x1), (0, 0)), mode="reflect"))


def turned_square(box, side: int, roll: float) -> np.ndarray:
    """The 2 x 3 affine map from a picture to the ``side`` px square around ``box``'s centre turned by ``roll``
    degrees (counter-clockwise as the picture is shown, cv2's sense): the face in it turned upright by as much."""
    import cv2

    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    m = cv2.getRotationMatrix2D((cx, cy), roll, 1.0)
    m[:, 2] += (side / 2 - cx, side / 2 - cy)
    return m


def crop_face(image: np.ndarray, box, margin: float = FACE_MARGIN, roll: float = 0.0) -> np.ndarray:
    """Square RGB crop around ``box`` with ``margin``; parts outside the frame are black.  ``roll``: the square is
    cut turned by so many degrees about the box's centre (a tilted face's eye line, as
    :func:`~detector.inference.quality.roll_degrees` reads it: the face then stands upright in the crop)."""
    h, w = image.shape[:2]
    x, y, side = crop_box(box, w, h, margin)
    if roll:
        import cv2

        return cv2.warpAffine(image, turned_square(box, side, roll), (side, side), flags=cv2.INTER_LINEAR)
    out = np.zeros((side, side, 3), dtype=image.dtype)
    sx0, sy0 = max(x, 0), max(y, 0)
    sx1, sy1 = min(x + side, w), min(y + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y : sy1 - y, sx0 - x : sx1 - x] = image[sy0:sy1, sx0:sx1]
    return out


def main_identity(faces_per_frame) -> int | None:
    """The identity seen in most sampled frames (ties: the larger median face)."""
    from collections import Counter

    counts = Counter(f.identity for faces in faces_per_frame for f in faces)
    if not counts:
        return None
    sizes: dict[int, list[int]] = {}
    for faces in faces_per_frame:
        for f in faces:
            sizes.setdefault(f.identity, []).append(f.box[2] * f.box[3])
    return max(counts, key=lambda i: (counts[i], float(np.median(sizes[i]))))


def track(faces_per_frame: list[list[Face]], min_iou: float = 0.2, max_gap: int = 4) -> int:
    """Give every face an ``identity`` by linking boxes across consecutive sampled frames.

    Greedy matching by IoU (best pairs first) against each identity's last box; an
    identity unseen for more than ``max_gap`` sampled frames is closed.  Faces are
    numbered 0, 1, ... in order of first appearance, left to right within a frame (a
    photo's face 0 is its left-hand person); each frame's list is put in that order.  Returns the number of
    identities.
    """
    active: dict[int, tuple[int, tuple]] = {}  # identity -> (frame number last seen, last box)
    next_id = 0
    for fi, faces in enumerate(faces_per_frame):
        active = {k: v for k, v in active.items() if fi - v[0] <= max_gap}
        pairs = sorted(
            ((iou(face.box, box), j, ident) for j, face in enumerate(faces) for ident, (_, box) in active.items()),
            reverse=True,
        )
        used_faces, used_ids = set(), set()
        for overlap, j, ident in pairs:
            if overlap < min_iou:
                break
            if j in used_faces or ident in used_ids:
                continue
            faces[j].identity = ident
            used_faces.add(j)
            used_ids.add(ident)
        for j in sorted(range(len(faces)), key=lambda j: (faces[j].box[0], faces[j].box[1])):  # left to right
            if j not in used_faces:
                faces[j].identity = next_id
                next_id += 1
        for face in faces:
            active[face.identity] = (fi, face.box)
        faces.sort(key=lambda f: f.identity)  # listed by number (a group photo's caption, gallery and CSV read 0 1 2 3)
    return next_id
