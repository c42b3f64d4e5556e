"""Image perturbations for robustness experiments: pure functions on RGB uint8 frames.

Each entry of :data:`PERTURBATIONS` is ``fn(image, strength, rng) -> image``:

* ``image``    -- H x W x 3 RGB ``uint8`` (not modified; a new array is returned),
* ``strength`` -- in [0, 1]; 0 leaves the image unchanged, 1 is the strongest setting,
* ``rng``      -- a :class:`numpy.random.Generator` (used by the random ones: noise, dropout).

The output always has the input's shape and dtype, so a perturbed frame goes through
the pipeline like any other (``analyze(..., transform=make_transform("blur", 0.5))``).

:data:`LEVELS` are the three settings of a small robustness study: ``none``,
``fliprot`` (horizontal flip and a small rotation) and ``heavy`` (brightness, blur,
dropout, noise, contrast and grayscale together).  The app's failure lab and the
evaluation command both use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Perturbation = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _check(image: np.ndarray, strength: float) -> float:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.shape} {image.dtype}")
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    return s


def jpeg(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """JPEG re-compression: quality 95 (strength 0+) down to 5 (strength 1); strength 0 is no re-encoding."""
    import cv2

    s = _check(image, strength)
    if s == 0:
        return image.copy()
    quality = int(round(95 - 90 * s))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def blur(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Gaussian blur, sigma up to 4% of the frame's longer side (about 25 px on a 640 px frame)."""
    import cv2

    s = _check(image, strength)
    sigma = s * 0.04 * max(image.shape[:2])
    if sigma < 0.1:
        return image.copy()
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def noise(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Additive Gaussian noise, standard deviation up to 50 grey levels."""
    s = _check(image, strength)
    if s == 0:
        return image.copy()
    rng = rng if rng is not None else np.random.default_rng(0)
    noisy = image.astype(np.float32) + rng.normal(0.0, 50.0 * s, size=image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).round().astype(np.uint8)


def downscale(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Shrink to as little as 1/8 of the size and scale back up (lost detail, blocky faces)."""
    import cv2

    s = _check(image, strength)
    h, w = image.shape[:2]
    factor = 1.0 - 0.875 * s
    sw, sh = max(1, round(w * factor)), max(1, round(h * factor))
    if (sw, sh) == (w, h):
        return image.copy()
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def brightness(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Brighten by adding up to 128 grey levels (half the range) at strength 1."""
    s = _check(image, strength)
    return np.clip(image.astype(np.int16) + int(round(128 * s)), 0, 255).astype(np.uint8)


def contrast(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Flatten contrast towards the image mean: down to 20% of the original at strength 1."""
    s = _check(image, strength)
    if s == 0:
        return image.copy()
    x = image.astype(np.float32)
    mean = x.mean()
    return np.clip(mean + (x - mean) * (1.0 - 0.8 * s), 0, 255).round().astype(np.uint8)


def grayscale(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Blend towards the grey (luma) image: fully grey at strength 1, still 3 channels."""
    s = _check(image, strength)
    if s == 0:
        return image.copy()
    x = image.astype(np.float32)
    luma = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = (1.0 - s) * x + s * luma[..., None]
    return np.clip(out, 0, 255).round().astype(np.uint8)


# the sepia tone (RGB rows); float64, cast to float32 where float32 pictures are toned (the training casts too)
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def sepia(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Blend towards the sepia tone (a phone's "vintage" filter): fully sepia at strength 1.  A colour filter the
    default never trained on: real photos with it were called fake 36 times in 100 (scripts/circulation_probe.py)."""
    s = _check(image, strength)
    if s == 0:
        return image.copy()
    x = image.astype(np.float32)
    out = (1.0 - s) * x + s * (x @ SEPIA.T.astype(np.float32))
    return np.clip(out, 0, 255).round().astype(np.uint8)


def warm(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """A warm white balance: red up by up to 30%, blue down by up to 40% (strength 1), as under tungsten light or a
    "warm" filter."""
    s = _check(image, strength)
    if s == 0:
        return image.copy()
    gains = np.array([1 + 0.3 * s, 1.0, 1 - 0.4 * s], dtype=np.float32)
    return np.clip(image.astype(np.float32) * gains, 0, 255).round().astype(np.uint8)


def hflip(image: np.ndarray, strength: float = 1.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Mirror left-right (any strength above 0; a flip has no degree)."""
    s = _check(image, strength)
    return np.ascontiguousarray(image[:, ::-1]) if s > 0 else image.copy()


ROTATE_DEGREES = 30.0  # rotate's angle at strength 1 (webapp.lab.face_mover follows the faces by it)


def rotate(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Rotate about the centre by up to 30 degrees (counter-clockwise), edges reflected."""
    import cv2

    s = _check(image, strength)
    angle = ROTATE_DEGREES * s
    if angle == 0:
        return image.copy()
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def dropout(image: np.ndarray, strength: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Coarse dropout: 8 black squares at random places covering up to ~25% of the frame."""
    s = _check(image, strength)
    out = image.copy()
    if s == 0:
        return out
    rng = rng if rng is not None else np.random.default_rng(0)
    h, w = image.shape[:2]
    holes = 8
    side = max(1, int(round(np.sqrt(0.25 * s * h * w / holes))))
    for _ in range(holes):
        y = int(rng.integers(0, max(1, h - side + 1)))
        x = int(rng.integers(0, max(1, w - side + 1)))
        out[y : y + side, x : x + side] = 0
    return out


PERTURBATIONS: dict[str, Perturbation] = {
    "jpeg": jpeg,
    "blur": blur,
    "noise": noise,
    "downscale": downscale,
    "brightness": brightness,
    "contrast": contrast,
    "grayscale": grayscale,
    "sepia": sepia,
    "warm": warm,
    "hflip": hflip,
    "rotate": rotate,
    "dropout": dropout,
}

DESCRIPTIONS = {
    "jpeg": "JPEG re-compression (quality 95 -> 5)",
    "blur": "Gaussian blur (sigma up to 4% of the frame side)",
    "noise": "Gaussian noise (std up to 50 grey levels)",
    "downscale": "downscale and upscale back (down to 1/8 size)",
    "brightness": "brighter (up to +128 grey levels)",
    "contrast": "lower contrast (down to 20%)",
    "grayscale": "colour removed (grey at strength 1)",
    "sepia": "a sepia filter (fully sepia at strength 1)",
    "warm": "a warm white balance (red up to +30%, blue down to -40%)",
    "hflip": "horizontal flip",
    "rotate": "rotation (up to 30 degrees)",
    "dropout": "black squares over up to 25% of the frame",
}

# the app's Perturbation menu: short, as its strength slider's help says what each does in figures (a browser check:
# "warm: a warm white balance (red up to +30%, blue d..." was cut off under the menu's arrow)
MENU_LABELS = {
    "jpeg": "JPEG re-compression",
    "blur": "Gaussian blur",
    "noise": "Gaussian noise",
    "downscale": "shrunk and enlarged",
    "brightness": "brighter",
    "contrast": "lower contrast",
    "grayscale": "colour removed",
    "sepia": "sepia filter",
    "warm": "warm white balance",
    "hflip": "horizontal flip",
    "rotate": "rotation",
    "dropout": "black squares",
}

# what each perturbation does at a given strength s (DESCRIPTIONS: over the whole range); the figures follow the
# functions above ("jpeg at strength 0.70: quality 95 -> 5" read as quality 5, where it was 32: a browser check)
_AT_STRENGTH = {
    "jpeg": lambda s: f"JPEG re-compression at quality {int(round(95 - 90 * s))}",
    "blur": lambda s: f"Gaussian blur, sigma {4 * s:.1f}% of the frame's longer side",
    "noise": lambda s: f"Gaussian noise, std {50 * s:.0f} grey levels",
    "downscale": lambda s: f"shrunk to {1 - 0.875 * s:.0%} of its size and back",
    "brightness": lambda s: f"brighter by {int(round(128 * s))} grey levels",
    "contrast": lambda s: f"contrast down to {1 - 0.8 * s:.0%}",
    "grayscale": lambda s: f"{s:.0%} of the colour removed",
    "sepia": lambda s: f"the sepia tone blended in at {s:.0%}",
    "warm": lambda s: f"warmer: red +{30 * s:.0f}%, blue -{40 * s:.0f}%",
    "hflip": lambda s: "horizontal flip",
    "rotate": lambda s: f"rotated by {ROTATE_DEGREES * s:.0f} degrees",
    "dropout": lambda s: f"8 black squares over {25 * s:.0f}% of the frame",
}


def describe_at(name: str, strength: float) -> str:
    """What perturbation ``name`` does at ``strength``, in figures: "JPEG re-compression at quality 32"."""
    s = float(strength)
    if s == 0:
        return "unchanged"
    at = _AT_STRENGTH.get(name)
    return at(s) if at else DESCRIPTIONS.get(name, name)


@dataclass(frozen=True)
class Chain:
    """Several perturbations applied in order: ``Chain((("hflip", 1.0), ("rotate", 0.33)))(image, rng)``."""

    steps: tuple[tuple[str, float], ...]

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = rng if rng is not None else np.random.default_rng(0)
        out = image.copy()
        for name, strength in self.steps:
            out = PERTURBATIONS[name](out, strength, rng)
        return out

    def describe(self) -> str:
        return ", ".join(f"{name} {strength:.2f}" for name, strength in self.steps) or "unchanged"


LEVELS: dict[str, Chain] = {
    "none": Chain(()),
    "fliprot": Chain((("hflip", 1.0), ("rotate", 1 / 3))),  # mirrored and turned by 10 degrees
    "heavy": Chain(
        (
            ("brightness", 0.3),
            ("blur", 0.1),
            ("dropout", 0.4),
            ("noise", 0.3),
            ("contrast", 0.5),
            ("grayscale", 1.0),
        )
    ),
}

LEVEL_DESCRIPTIONS = {
    "none": "unchanged",
    "fliprot": "mirrored left-right, then rotated by 10 degrees",
    "heavy": "brighter, slightly blurred, 8 black squares, noise, lower contrast, then grey",
}


def make_transform(name: str, strength: float = 0.5, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A frame transform for :func:`detector.inference.pipeline.analyze`: one perturbation or a level name.

    ``name`` is a key of :data:`PERTURBATIONS` (used at ``strength``) or of :data:`LEVELS`
    (``strength`` ignored).  Random perturbations draw from one generator seeded with
    ``seed``, so the same clip perturbed twice gives the same frames.
    """
    rng = np.random.default_rng(seed)
    if name in LEVELS:
        chain = LEVELS[name]
        return lambda image: chain(image, rng)
    if name not in PERTURBATIONS:
        known = ", ".join([*PERTURBATIONS, *LEVELS])
        raise ValueError(f"unknown perturbation {name!r}; known: {known}")
    _check(np.zeros((1, 1, 3), np.uint8), strength)
    fn = PERTURBATIONS[name]
    return lambda image: fn(image, strength, rng)


__all__ = [
    "describe_at",
    "PERTURBATIONS",
    "DESCRIPTIONS",
    "MENU_LABELS",
    "LEVELS",
    "LEVEL_DESCRIPTIONS",
    "Chain",
    "make_transform",
]
