"""Self-blended images: pseudo-fakes made on the fly from real face crops.

After Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images"
(CVPR 2022).  A face-swap leaves a blending boundary and a colour/frequency
mismatch between the pasted face and its surroundings.  SBI teaches a detector
those generic traces without any real fake: it pastes a slightly altered copy of a
real face onto itself.

:meth:`SelfBlender.blend` on one RGB ``uint8`` crop (as from
:func:`detector.inference.faces.crop_face`):

1. **Landmarks**: mediapipe FaceMesh, 468 points (offline, ships in the
   ``mediapipe==0.10.21`` wheel).  No face -> ``None``.
2. **Mask**: convex hull of the landmarks (the whole face, or sometimes only the
   part below the eyebrows), deformed at random: an elastic warp, then a dilation
   or erosion.  With ``regions=P``, a share P of the masks is one part of the face
   instead (the mouth, the lower face below the nose, the eyes or the nose, alike;
   :meth:`SelfBlender._region_mask`), after the region-wise forgeries of Chen et
   al., "Self-supervised Learning of Adversarial Example: Towards Good
   Generalizations for Deepfake Detection" (SLADD, CVPR 2022): a reenactment
   (Face2Face, NeuralTextures) re-renders the mouth and jaw and leaves the rest of
   the face as it was, a trace no whole-face blend shows.
3. **Source**: the same crop, altered: colour (RGB shift, hue/saturation/value,
   brightness/contrast), frequency (sharpening, or down- then up-scaling) and a
   small shift/scale, which the mask follows.
4. **Blend**: the mask is softened (blur, threshold, blur, as in the paper's
   ``dynamic_blend``) and scaled by a blend ratio from {0.25, 0.5, 0.75, 1, 1, 1};
   ``fake = mask * source + (1 - mask) * crop``.

Outside the softened mask the fake is the input crop, bit for bit (the paper may
alter the target instead of the source; here the target is always left as it is,
so the only change is the blended face).

FaceMesh is the slow part (tens of ms): a training loop that sees the same crops
every epoch should call :meth:`SelfBlender.landmarks` once per crop, keep the
result, and pass it to :meth:`SelfBlender.blend`.  One ``SelfBlender`` per thread
or DataLoader worker (it pickles without its FaceMesh, which is re-created on use).
"""

from __future__ import annotations

import os

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_LANDMARKS = 468
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)  # the paper's choice: full blends half of the time
# FaceMesh indices of the eyebrows (mediapipe's FACEMESH_LEFT/RIGHT_EYEBROW)
EYEBROWS = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
# FaceMesh indices of parts of the face (mediapipe's FACEMESH_LIPS, FACEMESH_NOSE, FACEMESH_LEFT/RIGHT_EYE), for
# SelfBlender(regions=P); a part's hull is widened by a share of its smaller side (REGION_MARGIN)
LIPS = (0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267, 269, 270,
        291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415)  # fmt: skip
NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440)
LEFT_EYE = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
RIGHT_EYE = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
NOSE_TIP = 4
REGIONS = ("mouth", "lower face", "eyes", "nose")
REGION_MARGIN = (0.1, 0.3)  # the hull grows by this share of the part's smaller side, drawn uniformly


def _odd(x: float) -> int:
    k = max(int(round(x)), 1)
    return k if k % 2 else k + 1


def _grow(mask: np.ndarray, r: int) -> np.ndarray:
    """``mask`` dilated (r > 0) or eroded (r < 0) by an ellipse of radius abs(r) pixels; as it is for r = 0."""
    if not r:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(r) + 1, 2 * abs(r) + 1))
    return (cv2.dilate if r > 0 else cv2.erode)(mask, kernel)


class SelfBlender:
    """Makes self-blended pseudo-fakes; ``seed`` makes the random choices reproducible."""

    def __init__(self, seed: int | None = None, min_confidence: float = 0.5, regions: float = 0.0):
        if not 0.0 <= regions <= 1.0:
            raise ValueError(f"regions is a share of the masks, between 0 and 1; got {regions}")
        self.rng = np.random.default_rng(seed)
        self.min_confidence = min_confidence
        self.regions = regions
        self._mesh = None

    # ------------------------------------------------------------ landmarks

    def _face_mesh(self):
        if self._mesh is None:
            from detector.inference.faces import quiet_native_stderr

            with quiet_native_stderr():
                import mediapipe as mp

                self._mesh = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True,
                    max_num_faces=1,
                    refine_landmarks=False,
                    min_detection_confidence=self.min_confidence,
                )
                self._mesh.process(np.zeros((64, 64, 3), np.uint8))  # its first run logs too
        return self._mesh

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> SelfBlender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self):  # for DataLoader workers: FaceMesh does not pickle
        state = dict(self.__dict__)
        state["_mesh"] = None
        return state

    def landmarks(self, crop: np.ndarray) -> np.ndarray | None:
        """468 x 2 float32 (x, y) pixel coordinates of the face in ``crop``, or None when FaceMesh finds none."""
        _check_crop(crop)
        result = self._face_mesh().process(np.ascontiguousarray(crop))
        if not result.multi_face_landmarks:
            return None
        h, w = crop.shape[:2]
        pts = np.array([(p.x * w, p.y * h) for p in result.multi_face_landmarks[0].landmark], dtype=np.float32)
        return pts[:N_LANDMARKS]

    # ------------------------------------------------------------ blending

    def blend(self, crop: np.ndarray, landmarks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(fake crop RGB uint8, blend mask HxW float32 in [0, 1]) or None when the crop shows no face.

        The mask is the weight of the altered source at each pixel (blend ratio included).
        """
        _check_crop(crop)
        if landmarks is None:
            landmarks = self.landmarks(crop)
            if landmarks is None:
                return None
        pts = np.asarray(landmarks, dtype=np.float32)
        side = None  # the whole face: deformations and softening in proportion to the crop's side
        if self.regions and self.rng.random() < self.regions:  # no draw at all with regions=0: blends as before
            mask, side = self._region_mask(crop.shape[:2], pts)
        else:
            mask = self._hull_mask(crop.shape[:2], pts)
        source = self._frequency(self._colour(crop))
        source, mask = self._affine(source, mask)
        mask = self._deform(mask, side)
        soft = self._soften(mask, side) * self.rng.choice(BLEND_RATIOS)
        if soft.max() <= 0:
            return None  # the deformation erased the face region (tiny crops only)
        w = soft[..., None]
        fake = w * source.astype(np.float32) + (1.0 - w) * crop.astype(np.float32)
        return np.clip(np.rint(fake), 0, 255).astype(np.uint8), soft.astype(np.float32)

    # mask ---------------------------------------------------------------

    def _hull_mask(self, shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
        if self.rng.random() < 0.25:  # only the inner face, below the top of the eyebrows
            top = pts[list(EYEBROWS), 1].min()
            inner = pts[pts[:, 1] >= top]
            if len(inner) >= 3:
                pts = inner
        mask = np.zeros(shape, dtype=np.uint8)
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
        return mask.astype(np.float32)

    def _region_mask(
        self, shape: tuple[int, int], pts: np.ndarray, region: str | None = None
    ) -> tuple[np.ndarray, float]:
        """One part of the face (``region``, default drawn from :data:`REGIONS` alike): the hull of its landmarks
        (each eye its own), widened by 10-30% of the part's smaller side; and its larger side, the scale of the
        part's deformation and soft edge."""
        if region is None:
            region = REGIONS[int(self.rng.integers(len(REGIONS)))]
        elif region not in REGIONS:
            raise ValueError(f"region is one of {', '.join(REGIONS)}; got {region!r}")
        if region == "mouth":
            parts = [pts[list(LIPS)]]
        elif region == "nose":
            parts = [pts[list(NOSE)]]
        elif region == "eyes":
            parts = [pts[list(LEFT_EYE)], pts[list(RIGHT_EYE)]]
        else:  # the lower face: mouth, chin and jaw, below the tip of the nose
            below = pts[pts[:, 1] >= pts[NOSE_TIP, 1]]
            parts = [below if len(below) >= 3 else pts]
        extent = np.ptp(np.concatenate(parts), axis=0)
        side = max(float(extent.max()), 4.0)
        mask = np.zeros(shape, dtype=np.uint8)
        for part in parts:
            cv2.fillConvexPoly(mask, cv2.convexHull(np.round(part).astype(np.int32)), 1)
        mask = _grow(mask, int(round(float(extent.min()) * self.rng.uniform(*REGION_MARGIN))))
        return mask.astype(np.float32), side

    def _deform(self, mask: np.ndarray, side: float | None = None) -> np.ndarray:
        """Elastic warp (up to ~5% of ``side``, default the crop's), then dilate or erode by up to ~4%."""
        h, w = mask.shape
        side = side or max(h, w)
        grid = max(max(h, w) // 24, 2)  # smooth random displacements: coarse noise, upsampled
        amp = side * self.rng.uniform(0.005, 0.025)  # displacements up to ~2 * amp (5% of the side)
        dx, dy = (
            cv2.resize(
                np.clip(self.rng.standard_normal((grid, grid)), -2, 2).astype(np.float32),
                (w, h),
                interpolation=cv2.INTER_CUBIC,
            )
            for _ in range(2)
        )
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mask = cv2.remap(mask, xs + amp * dx, ys + amp * dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mask = (mask > 0.5).astype(np.float32)
        return _grow(mask, int(round(side * self.rng.uniform(-0.04, 0.04))))

    def _soften(self, mask: np.ndarray, side: float | None = None) -> np.ndarray:
        """The paper's dynamic blend mask: blur and keep the core (erodes), blur again (soft edge); kernels of 2-10%
        of ``side`` (default the crop's)."""
        side = side or max(mask.shape)
        k1 = _odd(side * self.rng.uniform(0.02, 0.1))
        core = cv2.GaussianBlur(mask, (k1, k1), 0)
        if core.max() <= 0:
            return core
        core = core / core.max()
        core[core < 1] = 0
        k2 = _odd(side * self.rng.uniform(0.02, 0.1))
        soft = cv2.GaussianBlur(core, (k2, k2), k2 * self.rng.uniform(0.3, 1.5))
        m = soft.max()
        return soft / m if m > 0 else soft

    # source ---------------------------------------------------------------

    def _colour(self, crop: np.ndarray) -> np.ndarray:
        rng = self.rng
        img = crop.astype(np.float32)
        if rng.random() < 0.3:  # RGB shift
            img = img + rng.uniform(-20, 20, size=3).astype(np.float32)
        if rng.random() < 0.3:  # hue / saturation / value
            hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
            hsv[..., 0] = (hsv[..., 0] + rng.uniform(-5, 5)) % 180
            hsv[..., 1] *= rng.uniform(0.8, 1.2)
            hsv[..., 2] *= rng.uniform(0.9, 1.1)
            img = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
        # brightness / contrast, always
        contrast, brightness = rng.uniform(0.9, 1.1), rng.uniform(-0.1, 0.1) * 255
        img = (img - 127.5) * contrast + 127.5 + brightness
        return np.clip(img, 0, 255).astype(np.uint8)

    def _frequency(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if self.rng.random() < 0.5:  # down- then up-scale: loses detail, like a generated face
            r = min(float(self.rng.choice((2, 4))), max(min(h, w) / 64, 1.5))  # small crops: keep >= ~64 px
            small = cv2.resize(img, (max(round(w / r), 1), max(round(h / r), 1)), interpolation=cv2.INTER_NEAREST)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        alpha, lightness = self.rng.uniform(0.2, 0.5), self.rng.uniform(0.5, 1.0)  # sharpen (albumentations-style)
        identity = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)
        sharp = np.array([[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]], dtype=np.float32)
        kernel = (1 - alpha) * identity + alpha * sharp
        return np.clip(cv2.filter2D(img.astype(np.float32), -1, kernel), 0, 255).astype(np.uint8)

    def _affine(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shift by up to 3% and scale by 0.95..1.05 about the centre; the mask moves with the face."""
        h, w = img.shape[:2]
        s = self.rng.uniform(0.95, 1 / 0.95)
        tx, ty = self.rng.uniform(-0.03, 0.03, size=2) * (w, h)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, s)
        m[:, 2] += (tx, ty)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return img, mask


def _check_crop(crop: np.ndarray) -> None:
    if not (isinstance(crop, np.ndarray) and crop.ndim == 3 and crop.shape[2] == 3 and crop.dtype == np.uint8):
        raise ValueError(f"expected an RGB uint8 crop of shape (H, W, 3), got {getattr(crop, 'shape', type(crop))}")


__all__ = ["SelfBlender", "N_LANDMARKS", "BLEND_RATIOS"]
