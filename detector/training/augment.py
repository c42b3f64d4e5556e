"""Training data for fastai: albumentations augmentations, self-blended pseudo-fakes, crops kept in memory, and
balanced epochs over classes and sources (``sampling_weights``) or over sources, each half real
(``domain_sampling_weights``)."""

from __future__ import annotations

import os
import random

import numpy as np

from detector.constants import FACE_MARGIN

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__all__ = [
    "augmentations",
    "tight_pad",
    "tight_box",
    "colour_cast",
    "COLOUR_CASTS",
    "caption_crop",
    "occlude_crop",
    "OCCLUDERS",
    "item_transforms",
    "MaskBuffer",
    "split_mask",
    "CropLoader",
    "with_pseudo_fakes",
    "pseudo_fake_counts",
    "sampling_weights",
    "domain_sampling_weights",
    "balanced_dl_type",
    "pair_partners",
    "paired_dl_type",
    "paired_shares",
]


def augmentations(
    size: int,
    downscale: float = 0.0,
    seed: int | None = None,
    cutout: float = 0.0,
    compress: float = 0.0,
    captions: float = 0.0,
    caption=None,
):
    """Training augmentations (albumentations), after the seeds' recipe for face-swap detection.

    ``seed``: albumentations draws from its own generator, which ``random.seed`` / ``torch.manual_seed`` do not
    reach; unseeded (None) it starts from fresh OS entropy, so two runs of one command augment differently.

    ``downscale``: probability of shrinking the crop to 35-70% of its side and back (a low-resolution source,
    upscaled), before the compression, for both classes, so that a blurry real face is not a fake by its blur.

    ``compress``: probability of a heavy JPEG compression (quality 15-40) of the crop at its cached size, before
    the usual mild one (60-100), for both classes: the blocking and lost detail of a strongly compressed video
    (FaceForensics++ c40, a clip passed through a social network), so that a fake is told by what survives
    compression and a heavily compressed real face is not a fake by its blocks.

    ``cutout``: probability of blacking out one or two random rectangles, each 15-35% of the crop's side, after
    the other augmentations (the DFDC winner's face cutout, Seferbekov 2020, without landmarks): a fake whose
    most telling region is hidden must be found by what remains, so that one region (or one person's look)
    does not carry the decision.

    ``captions``: probability of ``caption`` (an RGB image -> image function: :func:`caption_crop`) burning a line of
    text into the crop.  The mirror and quarter turns then come first, so that the text reads as it would in a
    picture (never mirrored or on its side), and the caption goes through every degradation after them, as a
    caption burned into a frame is compressed with it.  Without captions the order is as it always was (a
    recipe's augmentations draw as before)."""
    import albumentations as A
    import cv2

    mirror = [A.HorizontalFlip(p=0.5), A.OneOf([A.RandomRotate90(p=1.0), A.Transpose(p=1.0)], p=0.1)]

    def burn(img, **_):  # (a named function: albumentations warns of lambdas)
        return caption(img)

    first = [*mirror, A.Lambda(image=burn, p=captions)] if captions > 0 else []
    return A.Compose(
        [
            *first,
            *(
                [
                    A.Downscale(
                        scale_range=(0.35, 0.7),
                        interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR},
                        p=downscale,
                    )
                ]
                if downscale > 0
                else []
            ),
            *([A.ImageCompression(quality_range=(15, 40), p=compress)] if compress > 0 else []),
            A.ImageCompression(quality_range=(60, 100), p=0.5),
            A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MedianBlur(blur_limit=3), A.Blur(blur_limit=3)], p=0.15),
            *([] if captions > 0 else mirror),
            A.Affine(
                translate_percent=(-0.06, 0.06),
                scale=(0.9, 1.1),
                rotate=(-10, 10),
                border_mode=cv2.BORDER_CONSTANT,
                p=0.5,
            ),  # ShiftScaleRotate
            A.OneOf([A.CLAHE(p=1.0), A.Sharpen(p=1.0), A.Emboss(p=1.0), A.RandomBrightnessContrast(p=1.0)], p=0.5),
            A.HueSaturationValue(hue_shift_limit=10, sat_shift_limit=20, val_shift_limit=10, p=0.3),
            A.ToGray(p=0.05),
            A.CropAndPad(percent=(-0.1, 0.1), keep_size=True, p=0.3),
            *(
                [
                    A.CoarseDropout(
                        num_holes_range=(1, 2),
                        hole_height_range=(0.15, 0.35),
                        hole_width_range=(0.15, 0.35),
                        fill_mask=0,  # with --mask-weight: a blacked-out part shows no change
                        p=cutout,
                    )
                ]
                if cutout > 0
                else []
            ),
            A.Resize(size, size, interpolation=cv2.INTER_AREA),
        ],
        seed=seed,
    )


def tight_box(h: int, w: int, rng: np.random.Generator, low: float = 0.6) -> tuple[int, int, int, int]:
    """The (x0, y0, width, height) :func:`tight_pad` keeps of an ``h`` x ``w`` crop."""
    sx, sy = rng.uniform(low, 1.0, 2)
    if min(sx, sy) >= 0.95:  # at least one side visibly cut
        sx = rng.uniform(low, 0.95)
    iw, ih = max(2, int(round(sx * w))), max(2, int(round(sy * h)))
    return int(rng.integers(0, w - iw + 1)), int(rng.integers(0, h - ih + 1)), iw, ih


def tight_pad(image: np.ndarray, rng: np.random.Generator, low: float = 0.6, flat: bool = False) -> np.ndarray:
    """``image`` (a square face crop, any channels) as if cut from a photo that held only part of it: a random inner
    rectangle (each side ``low``-100% of the crop's, at least one under 95%, placed at random) is kept and the rest
    is filled by mirroring it outwards, as :func:`detector.inference.stills.pad_still` fills a tightly cropped
    photo's face square.  ``flat``: the rest is one colour instead (white, black, a grey or any colour, drawn from
    ``rng``; a mask channel gets 0), as round a photo shown on a page or a screen and captured with it (a
    screenshot).  Same size as ``image``."""
    import cv2

    h, w = image.shape[:2]
    x0, y0, iw, ih = tight_box(h, w, rng, low)
    inner = np.ascontiguousarray(image[y0 : y0 + ih, x0 : x0 + iw])
    if not flat:
        out = cv2.copyMakeBorder(inner, y0, h - ih - y0, x0, w - iw - x0, cv2.BORDER_REFLECT_101)
        return out.reshape(image.shape)
    out = np.zeros_like(image)
    kind = rng.integers(4)
    if kind == 0:  # a white page
        rgb = np.full(3, rng.integers(225, 256))
    elif kind == 1:  # a dark page or a player's bars
        rgb = np.full(3, rng.integers(0, 30))
    elif kind == 2:  # a grey
        rgb = np.full(3, rng.integers(30, 225))
    else:  # any colour
        rgb = rng.integers(0, 256, 3)
    out[..., :3] = rgb.astype(image.dtype)
    out[y0 : y0 + ih, x0 : x0 + iw] = inner
    return out


COLOUR_CASTS = ("sepia", "white_balance", "low_light", "washed_out")


def colour_cast(image: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """``image`` (a face crop, RGB first, any further channel left as it is) as a photo that went through a colour
    filter or was taken under other light, the whole picture alike: ``sepia`` (the sepia tone, blended 40-100%
    with the picture), ``white_balance`` (each channel's gain 0.75-1.25: a warm or cool cast), ``low_light``
    (gamma 1.2-2.2 and dimmed to 45-100%: a dark room) or ``washed_out`` (saturation 20-80%, blacks lifted by up
    to 50 of 255 and a slight tint: a faded print).  ``kind``: one of :data:`COLOUR_CASTS`, or None to draw one
    from ``rng``.  Same size and dtype as ``image``."""
    kind = kind or COLOUR_CASTS[rng.integers(len(COLOUR_CASTS))]
    rgb = image[..., :3].astype(np.float32)
    if kind == "sepia":
        from detector.evaluation.perturb import SEPIA

        a = rng.uniform(0.4, 1.0)
        rgb = (1 - a) * rgb + a * (rgb @ SEPIA.T.astype(np.float32))
    elif kind == "white_balance":
        rgb = rgb * rng.uniform(0.75, 1.25, 3).astype(np.float32)
    elif kind == "low_light":
        rgb = 255.0 * (rgb / 255.0) ** rng.uniform(1.2, 2.2) * rng.uniform(0.45, 1.0)
    elif kind == "washed_out":
        grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        rgb = grey[..., None] + rng.uniform(0.2, 0.8) * (rgb - grey[..., None])
        lift = rng.uniform(0, 50)
        rgb = lift + rgb * (255 - lift) / 255 + rng.uniform(-8, 8, 3).astype(np.float32)
    else:
        raise ValueError(f"unknown colour cast {kind!r}: one of {', '.join(COLOUR_CASTS)}")
    out = image.copy()
    out[..., :3] = np.clip(rgb, 0, 255).astype(image.dtype)
    return out


CAPTION_WORDS = tuple(
    "people city after water right still never house world change story money power morning school market "
    "family really around between police because tonight thing doctor season happy music country million history "
    "travel phone video friend again under listen watch follow share love when they what this just your "
    "from have will more like here there about first last good time year".split()
)  # a caption's words in training (none of scripts/subtitle_probe.py's lines is made of them in order)


def caption_crop(image: np.ndarray, rng: np.random.Generator, margin: float = FACE_MARGIN) -> np.ndarray:
    """``image`` (a square face crop, RGB first, the face's box in the middle grown by ``margin``, any further
    channel left as it is) with a line of text burned across the lower face, as social video burns its captions
    and memes lay words over a photo: 2-7 words drawn from :data:`CAPTION_WORDS`, in a style of
    :data:`detector.data.synthetic.CAPTION_STYLES` (white with a black outline, on a dark band, bold with a stroke,
    yellow with a soft shadow), its capitals 6-15% of the face high, its middle 0.05-0.5 face heights below the
    face's centre (nose to chin and below), a fifth of the time anywhere over the face, centred within a tenth of
    the face of its middle.  The line may run past the crop's edges, as a caption wider than the face does."""
    from detector.data.synthetic import CAPTION_STYLES, burn_caption

    side = image.shape[0]
    face = side / (1 + margin)
    words = rng.choice(len(CAPTION_WORDS), int(rng.integers(2, 8)))
    text = " ".join(CAPTION_WORDS[i] for i in words)
    if rng.random() < 0.5:
        text = text.upper()
    style = CAPTION_STYLES[rng.integers(len(CAPTION_STYLES))]
    at = rng.uniform(-0.45, 0.5) if rng.random() < 0.2 else rng.uniform(0.05, 0.5)
    cx = side / 2 + rng.uniform(-0.1, 0.1) * face
    rgb = burn_caption(
        np.ascontiguousarray(image[..., :3]), text, cx, side / 2 + at * face, rng.uniform(0.06, 0.15) * face, style
    )
    out = image.copy()
    out[..., :3] = rgb
    return out


OCCLUDERS = ("held", "lower", "eyes", "hand", "edge")  # the kinds :func:`occlude_crop` draws


def occlude_crop(
    image: np.ndarray, rng: np.random.Generator, margin: float = FACE_MARGIN, kind: str | None = None
) -> np.ndarray:
    """``image`` (a square face crop, RGB first, the face's box in the middle grown by ``margin``, any further channel
    left as it is) with something in front of the face, as people are filmed and photographed: ``held`` (a round or
    boxy object held under the mouth, a microphone's head or a phone, on a handle half the time, plain, meshed or
    shaded), ``lower`` (a cloth over nose, mouth and chin: a face mask or a scarf, plain or striped), ``eyes`` (a pair
    of lenses, dark or only their rims: glasses), ``hand`` (a hand-like blob in a skin tone taken from the face
    itself, from one side) or ``edge`` (an object reaching in from the bottom or a side: a cup, a shoulder, a
    headrest).  Shapes, sizes, colours and places are drawn from ``rng``, round where a face's parts usually lie in
    a crop (eyes 0.35, mouth 0.75 of the face's box down), jittered by a tenth of the face; edges antialiased.
    ``kind``: one of :data:`OCCLUDERS`, or None to draw one.  Same size and dtype as ``image``; a fourth channel
    (``--mask-weight``'s mask of what a fake changed) is cleared under the object, which shows no change."""
    import cv2

    kind = kind or OCCLUDERS[rng.integers(len(OCCLUDERS))]
    if kind not in OCCLUDERS:
        raise ValueError(f"unknown occluder {kind!r}: one of {', '.join(OCCLUDERS)}")
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"occlude_crop takes a square face crop, not {image.shape[1]}x{image.shape[0]}")
    side = image.shape[0]
    face = side / (1 + margin)
    x0 = y0 = (side - face) / 2
    at = lambda fx, fy: (x0 + fx * face, y0 + fy * face)  # noqa: E731  (a point in face-box shares)
    j = lambda: rng.normal(0, 0.05)  # noqa: E731
    rgb = np.ascontiguousarray(image[..., :3]).copy()
    cover = np.zeros((side, side), np.uint8)  # where the object lies (antialiased: 0-255)
    s16 = lambda pts: (np.asarray(pts, float) * 16).round().astype(np.int32).reshape(-1, 1, 2)  # noqa: E731

    def blob(cx, cy, rx, ry, angle=0.0, n=24, rough=0.0):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = 1 + rough * rng.uniform(-1, 1, n)
        a = np.deg2rad(angle)
        px = rx * r * np.cos(t)
        py = ry * r * np.sin(t)
        return np.stack([cx + px * np.cos(a) - py * np.sin(a), cy + px * np.sin(a) + py * np.cos(a)], 1)

    def fill(pts, mask=cover):
        cv2.fillPoly(mask, [s16(pts)], 255, cv2.LINE_AA, 4)

    colour = rng.uniform(0, 255, 3)
    if kind == "held":
        cx, cy = at(0.5 + rng.uniform(-0.25, 0.25), rng.uniform(0.8, 1.1))
        r = rng.uniform(0.12, 0.28) * face
        if rng.random() < 0.5:
            shape = blob(cx, cy, r, r)
        else:
            shape = blob(cx, cy, r * rng.uniform(0.6, 1.0), r * rng.uniform(1.0, 1.6), rng.uniform(-30, 30), n=4)
        fill(shape)
        if rng.random() < 0.5:  # a handle
            w = r * rng.uniform(0.2, 0.45)
            fill([(cx - w, cy), (cx + w, cy), (cx + w * 0.8, side + 1), (cx - w * 0.8, side + 1)])
        colour = rng.choice([rng.uniform(10, 80, 3), rng.uniform(0, 255, 3)])
    elif kind == "lower":
        top = rng.uniform(0.45, 0.62) + j()
        bottom = rng.uniform(1.0, 1.2)
        w = rng.uniform(0.45, 0.6)
        fill(
            [
                at(0.5 - w, top),
                at(0.5, top - rng.uniform(0, 0.06)),
                at(0.5 + w, top),
                at(0.5 + w * 0.9, bottom - 0.1),
                at(0.5 + w * 0.4, bottom),
                at(0.5 - w * 0.4, bottom),
                at(0.5 - w * 0.9, bottom - 0.1),
            ]
        )
        colour = rng.choice(
            [
                rng.uniform([150, 180, 200], [200, 225, 245]),
                rng.uniform(180, 250, 3),
                rng.uniform(0, 60, 3),
                rng.uniform(0, 255, 3),
            ]
        )
    elif kind == "eyes":
        dx, ey = rng.uniform(0.18, 0.24), rng.uniform(0.3, 0.42) + j()
        rx, ry = rng.uniform(0.11, 0.17), rng.uniform(0.07, 0.12)
        lenses = np.zeros_like(cover)
        for sx in (-1, 1):
            fill(blob(*at(0.5 + sx * dx, ey), rx * face, ry * face, n=32), lenses)
        if rng.random() < 0.5:  # dark lenses
            cover = lenses
            colour = rng.uniform(5, 60, 3)
        else:  # rims only
            k = max(1, int(round(face * rng.uniform(0.012, 0.03))))
            cover = cv2.morphologyEx(lenses, cv2.MORPH_GRADIENT, np.ones((k + 1, k + 1), np.uint8))
            colour = rng.uniform(0, 120, 3)
        k = max(1, int(round(face * 0.02)))
        cv2.line(
            cover, tuple(map(int, at(0.5 - dx + rx, ey))), tuple(map(int, at(0.5 + dx - rx, ey))), 255, k, cv2.LINE_AA
        )
    elif kind == "hand":
        sx = rng.choice([-1, 1])
        cx, cy = at(0.5 + sx * rng.uniform(0.3, 0.55), rng.uniform(0.5, 1.0))
        fill(
            blob(cx, cy, rng.uniform(0.2, 0.32) * face, rng.uniform(0.12, 0.2) * face, rng.uniform(-60, 60), rough=0.15)
        )
        mid, r = side // 2, max(1, side // 10)
        patch = rgb[mid - r : mid + r, mid - r : mid + r].reshape(-1, 3)
        colour = np.median(patch, 0) * rng.uniform(0.8, 1.15) + rng.normal(0, 6, 3)
    elif kind == "edge":
        where = rng.integers(3)  # bottom, left, right
        w, depth = rng.uniform(0.3, 0.8) * side, rng.uniform(0.15, 0.35) * side
        c = rng.uniform(0.2, 0.8) * side
        if where == 0:
            shape = blob(c, side, w / 2, depth, n=4 if rng.random() < 0.5 else 24)
        else:
            shape = blob(0 if where == 1 else side, c, depth, w / 2, n=4 if rng.random() < 0.5 else 24)
        fill(shape)
    alpha = (cover.astype(np.float32) / 255)[..., None]
    paint = np.broadcast_to(np.asarray(colour, np.float32), rgb.shape).copy()
    # shading across the object (a light from one side) and, a third of the time, a mesh or stripes
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    paint *= (1 + rng.uniform(-0.25, 0.25) * (xx - 0.5) + rng.uniform(-0.25, 0.25) * (yy - 0.5))[..., None]
    if rng.random() < 0.33:
        step = max(2, int(round(face * rng.uniform(0.03, 0.08))))
        lines = np.arange(side) % step == 0
        grid = np.broadcast_to(lines[:, None], (side, side))  # stripes, or a mesh half the time
        grid = grid | lines[None, :] if rng.random() < 0.5 else grid
        paint[grid] *= rng.uniform(0.5, 0.8)
    paint += rng.normal(0, rng.uniform(0, 6), paint.shape)
    out = image.copy()
    out[..., :3] = np.clip(rgb * (1 - alpha) + paint * alpha, 0, 255).astype(image.dtype)
    if out.ndim == 3 and out.shape[2] > 3:
        out[..., 3][cover >= 128] = 0
    return out


def item_transforms(
    size: int,
    sbi_p: float,
    vocab: list[str],
    seed: int,
    downscale: float = 0.0,
    train_size: int | None = None,
    cutout: float = 0.0,
    sbi_regions: float = 0.0,
    compress: float = 0.0,
    tight: float = 0.0,
    tight_flat: float = 0.0,
    colour: float = 0.0,
    captions: float = 0.0,
    margin: float = FACE_MARGIN,
    occlude: float = 0.0,
):
    """Item transforms for fastai: self-blending (train only; ``sbi_regions``: :class:`SelfBlender`'s ``regions``),
    albumentations (train, at ``train_size``, default ``size``) / resize to ``size`` (valid).  ``tight``: the
    probability that a training crop, of either class, is first given a tightly cropped photo's mirrored border
    (:func:`tight_pad`): the photos trained on all have one, the video frames none, and without it a fake's face
    cut as a tight photo scored as real (``scripts/tight_photos.py``).  ``tight_flat``: the share of those borders
    filled with one colour instead of mirrored (a photo captured on a page or screen).  ``colour``: the
    probability that a training crop, of either class, gets a whole-picture colour cast (:func:`colour_cast`: a
    sepia filter, a warm or cool white balance, low light, a faded print), after the self-blending, so a real
    face is not a fake by its tint.  ``captions``: the probability that a training crop, of either class, gets a
    line of text across the lower face (:func:`caption_crop`; ``margin``: the crops' face margin), after the
    self-blending and the mirror (:func:`augmentations`), so that a real face under a caption is not a fake by its
    sharp letters.  ``occlude``: the probability that a training crop, of either class, gets something in front of
    the face (:func:`occlude_crop`: a microphone, a mask, glasses, a hand, an object at the edge), after the
    self-blending and before the other augmentations, so that a real face partly covered is not a fake by what
    covers it."""
    import cv2
    from fastai.vision.all import ItemTransform, PILImage, RandTransform, TensorCategory

    tight_rng = np.random.default_rng(None if seed is None else seed + 7919)
    colour_rng = np.random.default_rng(None if seed is None else seed + 104729)
    caption_rng = np.random.default_rng(None if seed is None else seed + 130363)
    occlude_rng = np.random.default_rng(None if seed is None else seed + 155921)
    train_aug = augmentations(
        train_size or size,
        downscale,
        seed,
        cutout,
        compress,
        captions,
        lambda img: caption_crop(img, caption_rng, margin),  # a caption over the face
    )

    class AlbumentationsTransform(RandTransform):
        "Albumentations on training images; a plain resize on validation."

        split_idx, order = None, 2

        def before_call(self, b, split_idx):
            self.idx = split_idx

        def encodes(self, img):  # no annotation: fastai's dispatch cannot resolve postponed (string) hints
            if not isinstance(img, PILImage):
                return img
            arr = np.asarray(img)
            if self.idx == 0 and occlude > 0 and occlude_rng.random() < occlude:  # something in front of the face
                arr = occlude_crop(arr, occlude_rng, margin)
            if self.idx == 0 and tight > 0 and tight_rng.random() < tight:  # a tight photo's mirrored border
                flat = tight_flat > 0 and tight_rng.random() < tight_flat
                arr = tight_pad(arr, tight_rng, flat=flat)  # (with --mask-weight's mask channel, moved together)
            if self.idx == 0 and colour > 0 and colour_rng.random() < colour:  # a filter or other light
                arr = colour_cast(arr, colour_rng)
            if self.idx == 0 and arr.ndim == 3 and arr.shape[2] == 4:  # --mask-weight: RGB + mask, moved together
                aug = train_aug(image=np.ascontiguousarray(arr[..., :3]), mask=np.ascontiguousarray(arr[..., 3]))
                out = np.dstack([aug["image"], aug["mask"]])
            elif self.idx == 0:
                out = train_aug(image=arr)["image"]
            else:
                out = cv2.resize(arr, (size, size), interpolation=cv2.INTER_AREA)
            return PILImage.create(out)

    class SelfBlend(ItemTransform):
        "Turn a real training crop into a self-blended pseudo-fake with probability p (Shiohara & Yamasaki 2022)."

        split_idx, order = 0, 1

        def __init__(self, p: float):
            from detector.training.sbi import SelfBlender

            self.p, self.blender = p, SelfBlender(seed=seed, regions=sbi_regions)
            self.real, self.fake = vocab.index("real"), vocab.index("fake")
            self._landmarks: dict[int, np.ndarray | None] = {}

        def encodes(self, xy):
            img, y = xy
            if int(y) != self.real or random.random() >= self.p:
                return xy
            arr = np.asarray(img)
            key = hash(arr.tobytes()[::997])
            if key not in self._landmarks:
                self._landmarks[key] = self.blender.landmarks(arr)
            if self._landmarks[key] is None:
                return xy
            out = self.blender.blend(arr, landmarks=self._landmarks[key])
            if out is None:
                return xy
            return PILImage.create(out[0]), TensorCategory(self.fake)

    tfms = [AlbumentationsTransform()]
    if sbi_p > 0:
        tfms.insert(0, SelfBlend(sbi_p))
    return tfms


class MaskBuffer:
    """Where :func:`split_mask` leaves the training batch's masks for
    :class:`detector.training.callbacks.MaskSupervision` (the loader runs in the training process: ``num_workers=0``).
    ``mask``: N x H x W in [0, 1], a sample's mask all ``UNKNOWN_MASK`` / 255 where it has none; None for a batch
    without masks (validation)."""

    def __init__(self):
        self.mask = None


UNKNOWN_MASK = 1  # the fourth channel of a training crop whose mask is not known (values 0 or 1: never a real mask)


def split_mask(buffer: MaskBuffer):
    """A fastai batch transform (before ``Normalize``) that takes the fourth channel, the mask, off a training batch
    of RGB + mask crops into ``buffer`` and passes the RGB on; a batch of three channels passes as it is."""
    import torch
    from fastai.vision.all import TensorImage, Transform

    class SplitMask(Transform):
        order = 50  # after IntToFloatTensor (10), before Normalize (99)

        def encodes(self, x):  # no annotation: see item_transforms
            if not isinstance(x, TensorImage):
                return x
            if x.ndim == 4 and x.shape[1] == 4:
                buffer.mask = x[:, 3].as_subclass(torch.Tensor).float()
                return x[:, :3]
            buffer.mask = None
            return x

    return SplitMask()


class CropLoader:
    """fastai's ``get_x``: a table row -> its crop as an RGB array, decoded once and kept in memory (with
    ``masks``, a training crop is RGB + its mask, see :meth:`_with_mask`).

    Decoding the PNG was a third of the data time of every epoch (about 3.5 of 10 ms per crop).  Training crops
    are kept shrunk to 1.25x the input size (augmenting and self-blending full 320-px crops cost 3x more);
    validation crops are kept whole, so that they are resized exactly as ``Classifier.preprocess`` does.
    About 120 kB per training crop at 160 px and 300 kB per validation crop: ~1 GB at 64 frames per video.

    ``sbi_seed``: a row whose ``pseudo`` column is true (:func:`with_pseudo_fakes`) is returned self-blended, a
    new blend at every call, from the landmarks :meth:`find_landmarks` kept for its crop.  A blend fails only when
    the mask's random deformation erases a tiny face; after 5 tries the row's real crop is returned as it is (so
    labelled fake) and counted in ``failed_blends``, which the training log reports.  ``sbi_regions``: the share of
    blends over one part of the face (:class:`detector.training.sbi.SelfBlender`'s ``regions``)."""

    def __init__(self, size: int, sbi_seed: int | None = None, sbi_regions: float = 0.0, masks: bool = False):
        self.side, self._memo = int(round(1.25 * size)), {}
        self.masks, self._memo_mask = masks, {}
        self._landmarks: dict[str, np.ndarray] = {}
        self.failed_blends = 0
        self._blender = None
        if sbi_seed is not None:
            from detector.training.sbi import SelfBlender

            self._blender = SelfBlender(seed=sbi_seed, regions=sbi_regions)

    def rgb(self, row) -> np.ndarray:
        """The row's crop, RGB (read-only; kept in memory)."""
        arr = self._memo.get(row["path"])
        if arr is None:
            import cv2

            from detector.data.crops import read_crop

            arr = read_crop(row["path"])
            if not row["is_valid"] and max(arr.shape[:2]) > self.side:
                arr = cv2.resize(arr, (self.side, self.side), interpolation=cv2.INTER_AREA)
            arr.setflags(write=False)  # shared by every epoch: a transform must not change it in place
            self._memo[row["path"]] = arr
        return arr

    def __call__(self, row) -> np.ndarray:
        arr = self.rgb(row)
        with_mask = self.masks and not row["is_valid"]
        if self._blender is not None and row.get("pseudo", False):
            for _ in range(5):
                out = self._blender.blend(arr, landmarks=self._landmarks[row["path"]])
                if out is not None:
                    if with_mask:  # where the blend changed the crop (its soft edge's faint tail left out)
                        soft = out[1]
                        return np.dstack([out[0], ((soft >= 0.1 * soft.max()) * 255).astype(np.uint8)])
                    return out[0]
            self.failed_blends += 1
            return np.dstack([arr, np.full(arr.shape[:2], UNKNOWN_MASK, np.uint8)]) if with_mask else arr
        return self._with_mask(row, arr) if with_mask else arr

    def _with_mask(self, row, arr: np.ndarray) -> np.ndarray:
        """A training crop with its mask as a fourth channel: none changed on a real crop, the cached difference
        mask on a fake (:mod:`detector.data.masks`), ``UNKNOWN_MASK`` where a fake has none."""
        key = (row["path"], row["label"])
        mask = self._memo_mask.get(key)
        if mask is None:
            import cv2

            mask_path = row.get("mask", "") if row["label"] == "fake" else ""
            if row["label"] == "real":
                mask = np.zeros(arr.shape[:2], np.uint8)
            elif mask_path:
                mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
                if mask is None:
                    raise ValueError(f"{mask_path}: unreadable mask (delete the crop cache's masks.json to redo it)")
                if mask.shape != arr.shape[:2]:
                    mask = cv2.resize(mask, arr.shape[1::-1], interpolation=cv2.INTER_AREA)
                mask[mask <= UNKNOWN_MASK] = 0  # faint traces of the shrinking: a known mask never reads "unknown"
            else:
                mask = np.full(arr.shape[:2], UNKNOWN_MASK, np.uint8)
            mask.setflags(write=False)
            self._memo_mask[key] = mask  # the mask alone: the crop is kept once, in _memo
        return np.dstack([arr, mask])

    def find_landmarks(self, rows) -> set[str]:
        """Find and keep the FaceMesh landmarks of each row's (training-size) crop (about 5 ms a crop); the paths of
        these rows where a face was found.  FaceMesh is closed afterwards: blending needs only the landmarks."""
        if self._blender is None:
            raise ValueError("a CropLoader without sbi_seed makes no pseudo-fakes")
        for _, row in rows.iterrows():
            if row["path"] not in self._landmarks:
                pts = self._blender.landmarks(np.ascontiguousarray(self.rgb(row)))
                if pts is not None:
                    self._landmarks[row["path"]] = pts
        self._blender.close()
        return {p for p in rows["path"] if p in self._landmarks}


def with_pseudo_fakes(df, loader: CropLoader):
    """The table plus one pseudo-fake row per real training crop where FaceMesh finds the face: a copy labelled
    ``fake``, method ``sbi``, with ``pseudo`` true (``loader`` self-blends it whenever it is drawn).  Validation
    rows are left as they are: pseudo-fakes are a training device, never a measure."""
    import pandas as pd

    df = df.assign(pseudo=False)
    real_train = df[(~df.is_valid) & (df.label == "real")]
    found = loader.find_landmarks(real_train)
    pseudo = real_train[real_train.path.isin(found)].assign(label="fake", method="sbi", pseudo=True)
    return pd.concat([df, pseudo], ignore_index=True)


def pseudo_fake_counts(df) -> dict[str, tuple[int, int]]:
    """Per source: (pseudo-fake copies, real training crops) of a table from :func:`with_pseudo_fakes`."""
    train = df[~df.is_valid]
    reals = train[train.label == "real"].groupby("source").size()
    copies = train[train.pseudo].groupby("source").size()
    return {s: (int(copies.get(s, 0)), int(n)) for s, n in reals.items()}


def sampling_weights(train_df) -> tuple[np.ndarray, dict]:
    """Per-crop sampling weights for a balanced epoch, and the share of the epoch each (label, source) gets.

    Half of an epoch's draws are real crops and half fake ones; within a class, each source (``ffpp``,
    ``ffpp_c40``, ``ffpp_c40:actors``, ``faces_utk``...) gets a share in proportion to the square root of its
    crop count, so thousands of photos count more than a few clips, but cannot drown them."""
    shares: dict[str, float] = {}
    w = np.zeros(len(train_df), dtype=np.float64)
    for label, g in train_df.groupby("label"):
        counts = g.groupby("source").size()
        root = np.sqrt(counts.astype(float))
        for source, n in counts.items():
            share = (
                0.5 * float(root[source] / root.sum())
                if train_df["label"].nunique() > 1
                else float(root[source] / root.sum())
            )
            shares[f"{label}:{source}"] = round(share, 4)
            w[((train_df["label"] == label) & (train_df["source"] == source)).values] = share / n
    return w, shares


def domain_sampling_weights(train_df, pseudo_share: float) -> tuple[np.ndarray, dict]:
    """Per-crop sampling weights for an epoch balanced within each source, and the share each part gets.

    Each source (``ffpp``, ``ffpp_c40``, ``ffpp_c40:actors``, ``faces_utk``...) gets a share of the epoch in
    proportion to the square root of its crop count (pseudo-fake copies not counted), and within a source half of
    the draws are its real crops and half fakes: its own fakes and, for ``pseudo_share`` of that half, self-blended
    pseudo-fakes of its reals (rows with ``pseudo`` true, from :func:`with_pseudo_fakes`); a source of reals only
    gets all of its fake half as pseudo-fakes.  So no source tells real from fake by its look (a photo's sharpness,
    a video's compression): with balance by class only, the thousands of real photos make "photo" mean real and
    "compressed video" mean fake, and the real videos pay for it.  Share keys: ``real:SOURCE``, ``fake:SOURCE``,
    ``sbi:SOURCE``."""
    if not 0 < pseudo_share <= 1:
        raise ValueError("the pseudo-fakes' share of a source's fake half must be in (0, 1]")
    pseudo = train_df["pseudo"].to_numpy(bool) if "pseudo" in train_df else np.zeros(len(train_df), bool)
    real = (train_df["label"] == "real").to_numpy()
    fake = ~real & ~pseudo
    source = train_df["source"].to_numpy()
    counts = train_df[~pseudo].groupby("source").size()
    root = np.sqrt(counts.astype(float))
    w, shares = np.zeros(len(train_df), dtype=np.float64), {}
    for name in counts.index:
        of = source == name
        parts = {"real": of & real, "fake": of & fake, "sbi": of & pseudo}
        present = [k for k, m in parts.items() if m.any()]
        fakes = [k for k in present if k != "real"]
        if "real" in present and fakes:  # half real; the fake half to both kinds of fake, or all to the one there is
            fake_half = {"fake": 1.0 - pseudo_share, "sbi": pseudo_share} if len(fakes) == 2 else {fakes[0]: 1.0}
            split = {"real": 0.5, **{k: 0.5 * v for k, v in fake_half.items()}}
        else:  # one class only (a folder of fakes, or reals without a face FaceMesh finds)
            split = {k: 1.0 / len(present) for k in present}
        for part, frac in split.items():
            share = float(root[name] / root.sum()) * frac
            shares[f"{part}:{name}"] = round(share, 4)
            w[parts[part]] = share / parts[part].sum()
    return w, shares


def balanced_dl_type():
    """A fastai TfmdDL that draws its training epoch with replacement by ``wgts`` (fastai's WeightedDL, with the
    epoch's length ``n`` free of the data set's: a fixed budget of crops per epoch however many there are).  Its
    ``drawn`` holds the epoch's rows in draw order: batch ``i`` is ``drawn[i * bs:(i + 1) * bs]``."""
    from fastai.callback.data import WeightedDL

    class BalancedDL(WeightedDL):
        drawn: list[int] = []  # the last epoch's rows, in the order its batches take them (IdentityAdversary reads it)

        def get_idxs(self):
            if self.n == 0:
                idxs = []
            elif not self.shuffle:
                idxs = list(range(min(self.n, len(self.dataset))))
            else:
                idxs = list(np.random.choice(len(self.dataset), self.n, p=self.wgts))
            self.drawn = idxs
            return idxs

    return BalancedDL


def pair_partners(train_df, max_gap: float = 0.5) -> list[np.ndarray]:
    """For each row of a training table (from :func:`with_pseudo_fakes`), the rows that can be its other half in a
    (real, fake) pair of one frame, as index arrays (empty where there is none):

    * a pseudo-fake: the real crop it is blended from (the same image, but for the blend);
    * a fake with a known ``target`` (the real video it was made from): that video's crop nearest in time, if
      within ``max_gap`` seconds (FF++ fakes follow their target's frames from its start, but some Face2Face and
      FaceSwap fakes differ in length from it, so the evenly spaced sampled times drift apart: half a second still
      shows one scene);
    * a real crop: its own pseudo-fake, and every fake crop that names it so.

    So a pair shows one person in one scene, within half a second, once real and once manipulated: who is in the
    picture cannot tell them apart."""
    n = len(train_df)
    partners: list[list[int]] = [[] for _ in range(n)]
    label = train_df["label"].to_numpy()
    pseudo = train_df["pseudo"].to_numpy(bool) if "pseudo" in train_df else np.zeros(n, bool)
    paths = train_df["path"].to_numpy()
    real_by_path = {paths[i]: i for i in range(n) if label[i] == "real"}
    for i in np.flatnonzero(pseudo):
        j = real_by_path.get(paths[i])
        if j is not None:
            partners[i].append(j)
            partners[j].append(int(i))
    if "target" in train_df:
        videos, times = train_df["video"].to_numpy(), train_df["time"].to_numpy(float)
        real_frames: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        real_rows = np.flatnonzero(label == "real")
        for video, idx in train_df[label == "real"].groupby("video").indices.items():
            rows = real_rows[idx]
            rows = rows[np.argsort(times[rows])]
            real_frames[video] = (times[rows], rows)
        targets = train_df["target"].to_numpy()
        for i in np.flatnonzero((label == "fake") & ~pseudo):
            frames = real_frames.get(targets[i]) if targets[i] else None
            if frames is None or videos[i] == targets[i]:
                continue
            t, rows = frames
            k = int(np.clip(np.searchsorted(t, times[i]), 1, len(t) - 1)) if len(t) > 1 else 0
            k = k - 1 if k > 0 and abs(t[k - 1] - times[i]) <= abs(t[k] - times[i]) else k
            if abs(t[k] - times[i]) <= max_gap:
                partners[i].append(int(rows[k]))
                partners[int(rows[k])].append(int(i))
    return [np.asarray(sorted(set(p)), dtype=np.int64) for p in partners]


def paired_dl_type(partners: list[np.ndarray]):
    """A :func:`balanced_dl_type` loader whose training epoch is drawn in pairs: half of ``n`` crops drawn by
    ``wgts`` among those with a partner (:func:`pair_partners`), each followed by one of its partners at random.
    A batch of even size thus holds whole pairs at positions (0, 1), (2, 3)...: what
    :class:`detector.training.callbacks.PairedRanking` reads.  Validation is not paired."""
    has = np.array([len(p) > 0 for p in partners])

    class PairedDL(balanced_dl_type()):
        def get_idxs(self):
            if self.n == 0 or not self.shuffle:
                return super().get_idxs()
            w = self.wgts * has
            anchors = np.random.choice(len(self.dataset), self.n // 2, p=w / w.sum())
            picks = np.random.random(len(anchors))
            out: list[int] = []
            for a, u in zip(anchors, picks):
                p = partners[a]
                out += [int(a), int(p[int(u * len(p))])]
            return out

    return PairedDL


def paired_shares(train_df, wgts: np.ndarray, partners: list[np.ndarray]) -> dict[str, float]:
    """The share of a :func:`paired_dl_type` epoch each part of each source gets (keys as
    :func:`domain_sampling_weights`'s: ``real:SOURCE``, ``fake:SOURCE``, ``sbi:SOURCE``), computed, not drawn: a
    row's chance is half its chance as an anchor (``wgts`` among rows with a partner) plus half the chance that an
    anchor it is a partner of picks it.  Pairing changes the mix the weights alone would give: a real crop's
    partner is its pseudo-fake or one of its fakes, whatever share ``--sbi`` gave the pseudo-fakes."""
    has = np.array([len(p) > 0 for p in partners])
    anchor = np.asarray(wgts, dtype=np.float64) * has
    anchor = anchor / anchor.sum()
    chance = 0.5 * anchor
    for a in np.flatnonzero(anchor):
        chance[partners[a]] += 0.5 * anchor[a] / len(partners[a])
    pseudo = train_df["pseudo"].to_numpy(bool) if "pseudo" in train_df else np.zeros(len(train_df), bool)
    part = np.where(pseudo, "sbi", train_df["label"].to_numpy())
    keys = [f"{k}:{src}" for k, src in zip(part, train_df["source"].to_numpy())]
    shares: dict[str, float] = {}
    for k, c in zip(keys, chance):
        shares[k] = shares.get(k, 0.0) + float(c)
    return {k: round(v, 4) for k, v in shares.items() if v > 0}
