"""Real photos as they circulate: how often is a real face called fake once its photo went through a colour filter,
low light, a screenshot, a messaging app's recompression, a downscale?  Each held-out UTKFace photo (real, never
trained on by any shipped model) is changed by each filter, analysed by the pipeline as a user's file would be, and
the labels counted per filter and model, on the same photos for every model.

    python scripts/circulation_probe.py --model mnv2_tightpad --model runs/cvcirc/ensemble/mnv2_circulate.json \
        --photos 100 --json runs/cvcirc/circulation.json

The filters marked "trained" are of the kinds ``--colour-cast`` and ``--tight-flat`` draw from
(``detector.training.augment.colour_cast``, ``tight_pad``); the others are not, and say how far a model carries
beyond what it was shown.  Nothing is written but the optional JSON (the changed photos go to a temporary folder).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile

import numpy as np

from detector.data.synthetic import burn_caption
from detector.evaluation.perturb import SEPIA  # the failure lab's sepia tone

UNLIKE = "than nearly all the model was trained on"  # detector.inference.quality.out_of_range's warnings


def _jpeg(a: np.ndarray, q: int) -> np.ndarray:
    import cv2

    ok, b = cv2.imencode(".jpg", np.ascontiguousarray(a[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(b, cv2.IMREAD_COLOR)[..., ::-1]


def _clip(a) -> np.ndarray:
    return np.clip(a, 0, 255).astype(np.uint8)


def _resize(a: np.ndarray, f: float) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    return cv2.resize(a, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def _grey(a: np.ndarray) -> np.ndarray:
    return a.astype(float) @ np.array([0.299, 0.587, 0.114])


def _canvas(a: np.ndarray, fill) -> np.ndarray:
    import cv2

    h, w = a.shape[:2]
    c = fill(2 * h, 2 * w) if callable(fill) else np.full((2 * h, 2 * w, 3), fill, np.uint8)
    c[h // 2 : h // 2 + h, w // 2 : w // 2 + w] = a
    cv2.putText(c, "Breaking: the video shows", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 20), 2)
    return c


def _gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return _clip(np.dstack([60 + 120 * x / w, 90 + 60 * y / h, 200 - 100 * x / w]))


def _teal_orange(a: np.ndarray) -> np.ndarray:
    lum = _grey(a)[..., None] / 255
    tint = (1 - lum) * np.array([-20, 10, 25]) + lum * np.array([25, 5, -25])
    return _clip(a + tint)


def _duotone(a: np.ndarray) -> np.ndarray:
    lum = _grey(a)[..., None] / 255
    return _clip((1 - lum) * np.array([30, 20, 80]) + lum * np.array([255, 220, 150]))


def _vintage(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
    faded = 0.5 * a + 0.5 * (a @ SEPIA.T) * 0.8 + 30
    return _clip(faded * (1 - 0.35 * np.clip(r - 0.4, 0, 1))[..., None])


def _stock(a: np.ndarray) -> np.ndarray:
    """A stock agency's preview mark: a word tiled diagonally over the whole picture, white at 35%, no edge."""
    from PIL import Image, ImageDraw

    from detector.data.synthetic import _bold_font

    h, w = a.shape[:2]
    font = _bold_font(max(8, int(round(h / 12 / 0.73))))  # capitals a twelfth of the picture high
    big = Image.new("L", (2 * w, 2 * h), 0)  # drawn twice the size, turned about its middle, the middle kept
    d = ImageDraw.Draw(big)
    x0, y0, x1, y1 = d.textbbox((0, 0), "PREVIEW", font=font)
    step_x, step_y = int((x1 - x0) * 1.4), int((y1 - y0) * 2.6)
    for row, y in enumerate(range(0, 2 * h, step_y)):
        for x in range(-step_x + (row % 2) * step_x // 2, 2 * w, step_x):
            d.text((x, y), "PREVIEW", font=font, fill=255)
    big = big.rotate(30, resample=Image.BILINEAR, center=(w, h))
    cx, cy = int(round(0.5 * w)), int(round(0.5 * h))
    cover = np.asarray(big.crop((w - cx, h - cy, 2 * w - cx, 2 * h - cy)), float)[..., None] / 255
    return _clip(a * (1 - 0.35 * cover) + 255 * 0.35 * cover)


def _agency(a: np.ndarray) -> np.ndarray:
    """An agency's name once across the middle of the picture, large, white at 50%, no edge."""
    h, w = a.shape[:2]
    return burn_caption(a, "NEWSWIRE", w / 2, h / 2, h / 10, "agency")


def _platform(a: np.ndarray) -> np.ndarray:
    """A short-video platform's mark over the cheek and mouth: a logo square and an @handle, white at 85% over a
    soft dark shadow (as a reposted clip carries it wherever it happened to lie)."""
    h, w = a.shape[:2]
    return burn_caption(a, "@dailyclips", w / 2, 0.62 * h, h / 16, "handle")


def _caption(style: str):
    """A burned-in caption line across the mouth and chin in ``style`` (:data:`detector.data.synthetic.CAPTION_STYLES`),
    its capitals a sixteenth of the picture high: a still from captioned social video, or a meme's words."""
    return lambda a: burn_caption(a, "wait for it", a.shape[1] / 2, 0.72 * a.shape[0], a.shape[0] / 16, style)


# name: (what it does, in the training casts' family, function)
FILTERS = {
    "none": ("the photo as it is", True, lambda a: a),
    "sepia": ("a sepia filter", True, lambda a: _clip(a @ SEPIA.T)),
    "warm": ("a warm white balance (red up, blue down)", True, lambda a: _clip(a * np.array([1.15, 1.0, 0.8]))),
    "cool": ("a cool white balance (blue up, red down)", True, lambda a: _clip(a * np.array([0.85, 1.0, 1.2]))),
    "dark": ("low light (gamma 2.2, dimmed to 60%)", True, lambda a: _clip(255 * (a / 255) ** 2.2 * 0.6)),
    "faded": (
        "a faded print (saturation 40%, blacks lifted)",
        True,
        lambda a: _clip(30 + 0.88 * (_grey(a)[..., None] + 0.4 * (a - _grey(a)[..., None]))),
    ),
    "screenshot": (
        "the photo in a screenshot of a page (light grey round it, a headline)",
        True,
        lambda a: _canvas(a, 245),
    ),
    "black_page": ("the photo on a black page", True, lambda a: _canvas(a, 10)),
    "grey": (
        "black and white (every recipe turns 5% of its crops grey)",
        True,
        lambda a: _clip(np.repeat(_grey(a)[..., None], 3, 2)),
    ),
    "teal_orange": ("film-style grading: teal shadows, orange highlights", False, _teal_orange),
    "duotone": ("a duotone (dark blue to cream)", False, _duotone),
    "vintage": ("half sepia, faded, with a dark vignette", False, _vintage),
    "gradient_page": ("the photo in a screenshot on a coloured gradient", False, lambda a: _canvas(a, _gradient)),
    "contrast": ("contrast raised 60%", False, lambda a: _clip((a - 128.0) * 1.6 + 128)),
    "beauty": (
        "a smoothing 'beauty' filter (bilateral)",
        False,
        lambda a: __import__("cv2").bilateralFilter(a, 9, 60, 9),
    ),
    "sharpen": (
        "a phone's sharpening (unsharp mask)",
        False,
        lambda a: _clip(a * 1.8 - __import__("cv2").GaussianBlur(a, (0, 0), 2) * 0.8),
    ),
    "noise": ("sensor noise (sd 12)", False, lambda a: _clip(a + np.random.default_rng(0).normal(0, 12, a.shape))),
    "jpeg30": ("JPEG at quality 30", False, lambda a: _jpeg(a, 30)),
    "messenger": (
        "enlarged twice, then JPEG 40 twice (a messaging app)",
        False,
        lambda a: _jpeg(_jpeg(_resize(a, 2.0), 40), 40),
    ),
    "small": ("shrunk to a third of its side", False, lambda a: _resize(a, 1 / 3)),
    "stock": ("a stock agency's 'PREVIEW' tiled diagonally, white at 35%", False, _stock),
    "agency": ("an agency's name once across the face, large, white at 50%", False, _agency),
    "platform": ("a platform's logo and @handle over the mouth, white over a soft shadow", False, _platform),
    "caption": ("a caption across the mouth and chin, white with a black outline", False, _caption("outline")),
    "caption_bold": ("a caption across the mouth and chin, bold white with a black stroke", False, _caption("social")),
    "caption_jpeg": (
        "the outline caption, then saved as JPEG at quality 30 (a meme saved again)",
        False,
        lambda a: _jpeg(_caption("outline")(a), 30),
    ),
}


WATERMARKS = (
    "stock",
    "agency",
    "platform",
    "caption",
    "caption_bold",
    "caption_jpeg",
)  # text: asked for by name (--filters) only


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model", action="append", default=None, help="model name or card; repeat to compare (default: the default)"
    )
    p.add_argument("--photos", type=int, default=100, help="held-out photos drawn (default 100)")
    p.add_argument("--seed", type=int, default=1, help="the draw's seed (default 1)")
    p.add_argument("--skip", type=int, default=0, help="leave out the draw's first this many photos (another set)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument(
        "--filters", default=None, help="comma-separated filter names (default: all but the watermarks, WATERMARKS)"
    )
    p.add_argument("--json", default=None, help="write every photo's label and score per filter and model here")
    args = p.parse_args(argv)
    from PIL import Image

    from detector.data.datasets import held_out, read_datasets
    from detector.errors import InputError
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    if not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    names = args.filters.split(",") if args.filters else [n for n in FILTERS if n not in WATERMARKS]
    unknown = [n for n in names if n not in FILTERS]
    if unknown:
        print(f"unknown filter(s): {', '.join(unknown)}; known: {', '.join(FILTERS)}", file=sys.stderr)
        return 2
    photos = [it for it in read_datasets([args.utk]) if held_out(it)]
    random.Random(args.seed).shuffle(photos)
    photos = photos[args.skip : args.skip + args.photos]
    models = [load_model(m) for m in (args.model or [None])]
    rows = collections.defaultdict(list)  # (filter, model) -> [(photo, label, score)]
    with tempfile.TemporaryDirectory() as tmp:
        for it in photos:
            original = np.asarray(Image.open(it.path).convert("RGB"))
            for name in names:
                path = os.path.join(tmp, f"{name}.png")
                Image.fromarray(FILTERS[name][2](original)).save(path)
                for model in models:
                    try:
                        r = analyze(path, model=model)
                        label, score = r.label, r.score
                        unlike = any(UNLIKE in w for w in r.warnings)
                        text = any(f.text_over for fr in r.frames for f in fr.faces)
                    except InputError:
                        label, score, unlike, text = "error", None, False, False
                    rows[name, model.card.name].append((os.path.basename(it.path), label, score, unlike, text))
    skipped = f", the first {args.skip} of the draw left out" if args.skip else ""
    print(f"{len(photos)} held-out real photos (seed {args.seed}{skipped}); each model at its own threshold")
    print(
        "| filter | in training's casts | model | fake | uncertain | real | no face | median score | "
        "warned unlike the training faces: all, of the fakes | text found over a face |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---:|")
    for name in names:
        for model in models:
            got = rows[name, model.card.name]
            c = collections.Counter(label for _, label, _, _, _ in got)
            scores = [s for _, _, s, _, _ in got if s is not None and np.isfinite(s)]
            warned = sum(u for _, _, _, u, _ in got)
            warned_fakes = sum(u for _, label, _, u, _ in got if label == "fake")
            text = sum(t for *_, t in got)
            median = f"{np.median(scores):.3f}" if scores else "-"
            trained = "yes" if FILTERS[name][1] and name != "none" else ("-" if name == "none" else "no")
            print(
                f"| {name}: {FILTERS[name][0]} | {trained} | {model.card.name} | {c['fake']} | {c['uncertain']} | "
                f"{c['real']} | {c['unknown'] + c['error']} | {median} | {warned}, {warned_fakes} of {c['fake']} | "
                f"{text} |"
            )
    if args.json:
        out = {f"{name}|{model}": got for (name, model), got in rows.items()}
        with open(args.json, "w") as fh:
            json.dump({"photos": len(photos), "seed": args.seed, "skip": args.skip, "rows": out}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
