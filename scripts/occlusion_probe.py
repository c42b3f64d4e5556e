"""Real faces partly covered: how often is a real face called fake when the person wears sunglasses, glasses or a
face mask, or holds a microphone under the chin, as people in news clips and photos do?  Nothing in training covers a
face so.  Each held-out UTKFace photo (real, never trained on by any shipped model) gets each cover drawn over its
face, placed by the face finder's six keypoints on the photo as it is, and is analysed by the pipeline as a user's
file would be, at each model's own threshold, on the same photos for every model.

    python scripts/occlusion_probe.py --photos 200 --json runs/occlusion/photos.json

``--clips`` draws the same covers over the main face of FaceForensics++ videos instead (real and fake; the face
followed frame by frame, each clip's first ``--seconds`` encoded again with the cover, H.264 CRF 18), and scores each
clip with the fold model of each ``--card`` that never trained on it (out of fold; the member cards
``scripts/fold_models.py`` writes, at the ensemble's threshold; the ``wild_real`` clips by the ensemble), the colour
second opinion off: what covers do to real clips, and what they hide of a fake.

    python scripts/fold_models.py assets/models/mnv2_tightpad.json runs/cvtight
    python scripts/occlusion_probe.py --clips --json runs/occlusion/clips.json

The covers are drawn, not photographed: flat shapes with soft edges (``cv2.LINE_AA``), in a plausible colour; they
say how the model meets a covered face, not how a real pair of sunglasses looks to it.  Nothing is written but the
optional JSON (the changed photos go to a temporary folder).
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

from detector.inference.covers import COVERED_WARNING


def _pts(keypoints):
    """Right eye, left eye, nose tip, mouth centre, right ear, left ear (BlazeFace's order) as float arrays, and the
    face's unit vectors: across (eye to eye) and down (eyes to mouth), and the eye distance."""
    k = [np.asarray(p, float) for p in keypoints[:6]]
    re, le, nose, mouth, rear, lear = k
    across = le - re
    d = float(np.hypot(*across)) or 1.0
    across = across / d
    down = np.array([-across[1], across[0]])
    if np.dot(down, mouth - (re + le) / 2) < 0:
        down = -down
    return re, le, nose, mouth, rear, lear, across, down, d


def _ipt(p) -> tuple[int, int]:
    return int(round(p[0] * 16)), int(round(p[1] * 16))  # cv2's shift=4 sub-pixel points


def _poly(img, points, colour, closed=True, thickness=-1):
    import cv2

    pts = np.array([_ipt(p) for p in points], np.int32).reshape(-1, 1, 2)
    if thickness < 0:
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, 4)
    else:
        cv2.polylines(img, [pts], closed, colour, thickness, cv2.LINE_AA, 4)


def _ellipse_points(centre, a: float, b: float, across, down, n: int = 40):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [centre + a * np.cos(s) * across + b * np.sin(s) * down for s in t]


def _glasses(img, keypoints, dark: bool):
    re, le, nose, mouth, rear, lear, across, down, d = _pts(keypoints)
    thick = max(1, int(round(d / 18)))
    for eye, side in ((re, -1), (le, 1)):
        centre = eye + 0.05 * d * down
        lens = _ellipse_points(centre, 0.36 * d, 0.26 * d, across, down)
        if dark:
            _poly(img, lens, (22, 24, 28))
            _poly(
                img,
                _ellipse_points(centre - 0.12 * d * across - 0.08 * d * down, 0.08 * d, 0.04 * d, across, down),
                (90, 95, 105),
            )  # a highlight
        _poly(img, lens, (30, 30, 30), thickness=thick)
        # the temple arm, from the lens's outer edge towards the ear
        ear = rear if side < 0 else lear
        start = centre + side * 0.36 * d * across
        _poly(img, [start, start + 0.6 * (ear - start)], (30, 30, 30), closed=False, thickness=thick)
    bridge = [
        re + 0.05 * d * down + 0.36 * d * across,
        (re + le) / 2 - 0.02 * d * down,
        le + 0.05 * d * down - 0.36 * d * across,
    ]
    _poly(img, bridge, (30, 30, 30), closed=False, thickness=thick)


def _mask(img, keypoints):
    re, le, nose, mouth, rear, lear, across, down, d = _pts(keypoints)
    eyes = (re + le) / 2
    h = float(np.dot(mouth - eyes, down))  # eyes to mouth
    top = eyes + 0.45 * h * down
    chin = mouth + 0.75 * h * down
    w = 0.95 * d
    outline = [
        top - w * across,
        top - 0.3 * w * across - 0.08 * h * down,
        top - 0.08 * h * down * 1.4,
        top + 0.3 * w * across - 0.08 * h * down,
        top + w * across,
        mouth + 1.0 * w * across + 0.2 * h * down,
        chin + 0.55 * w * across,
        chin,
        chin - 0.55 * w * across,
        mouth - 1.0 * w * across + 0.2 * h * down,
    ]
    _poly(img, outline, (172, 203, 226))
    for f in (0.35, 0.6, 0.85):  # pleats
        y = top + f * (chin - top) * 0.8
        _poly(
            img,
            [y - 0.85 * w * across, y + 0.85 * w * across],
            (140, 170, 195),
            closed=False,
            thickness=max(1, int(round(d / 30))),
        )
    for side, ear in ((-1, rear), (1, lear)):  # ear loops
        _poly(
            img,
            [top + side * w * across, ear, mouth + side * w * across + 0.2 * h * down],
            (235, 238, 240),
            closed=False,
            thickness=max(1, int(round(d / 30))),
        )


def _microphone(img, keypoints):
    import cv2

    re, le, nose, mouth, rear, lear, across, down, d = _pts(keypoints)
    eyes = (re + le) / 2
    h = float(np.dot(mouth - eyes, down))
    head = mouth + 0.55 * h * down + 0.2 * d * across  # held just under the mouth, covering the chin
    r = 0.38 * d
    handle = [
        head + 0.9 * r * down - 0.18 * d * across,
        head + 0.9 * r * down + 0.18 * d * across,
        head + 4 * r * down + 0.14 * d * across,
        head + 4 * r * down - 0.14 * d * across,
    ]
    _poly(img, handle, (25, 25, 28))
    _poly(img, _ellipse_points(head, r, r, across, down), (70, 72, 76))
    mesh = np.zeros(img.shape[:2], np.uint8)
    _poly(mesh, _ellipse_points(head, r * 0.92, r * 0.92, across, down), 255)
    grid = np.zeros_like(mesh)
    step = max(2, int(round(r / 5)))
    grid[::step, :] = 255
    grid[:, ::step] = 255
    sel = (mesh > 0) & (grid > 0)
    img[sel] = (45, 46, 50)
    cv2.circle(
        img,
        _ipt(head - 0.4 * r * across - 0.4 * r * down),
        int(round(0.18 * r * 16)),
        (140, 140, 145),
        -1,
        cv2.LINE_AA,
        4,
    )


def _cup_photo():
    """skimage's coffee photo and a mask of its cup (rim, body and handle; hand-placed shapes), cached."""
    global _CUP
    if _CUP is None:
        import cv2
        from skimage.data import coffee

        img = coffee()
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.ellipse(mask, (290, 105), (118, 92), 0, 0, 360, 255, -1, cv2.LINE_AA)
        body = np.array([(175, 110), (405, 110), (385, 245), (335, 285), (245, 285), (195, 245)], np.int32)
        cv2.fillPoly(mask, [body], 255, cv2.LINE_AA)
        cv2.ellipse(mask, (225, 268), (30, 38), 0, 0, 360, 255, -1, cv2.LINE_AA)  # the handle
        _CUP = img, cv2.GaussianBlur(mask, (5, 5), 0)
    return _CUP


_CUP = None


def _cup(img, keypoints):
    """A photographed coffee cup (skimage.data.coffee) held before the mouth, as someone drinks: 1.3 eye distances
    wide, turned with the face.  No training occluder is a photograph."""
    import cv2

    re, le, nose, mouth, rear, lear, across, down, d = _pts(keypoints)
    eyes = (re + le) / 2
    h = float(np.dot(mouth - eyes, down))
    photo, mask = _cup_photo()
    scale = 1.3 * d / 240.0
    angle = np.degrees(np.arctan2(across[1], across[0]))
    m = cv2.getRotationMatrix2D((290.0, 170.0), -angle, scale)
    target = mouth + 0.45 * h * down
    m[:, 2] += target - np.array([290.0, 170.0])
    size = (img.shape[1], img.shape[0])
    warped = cv2.warpAffine(photo, m, size, flags=cv2.INTER_AREA)
    alpha = cv2.warpAffine(mask, m, size, flags=cv2.INTER_LINEAR)[..., None].astype(np.float32) / 255
    img[:] = np.clip(img * (1 - alpha) + warped * alpha, 0, 255).astype(np.uint8)


def _hand(img, keypoints):
    """A hand before the mouth, four fingers across the mouth and chin, in the face's own skin colour (the median of
    two cheek patches) with darker lines between the fingers: drawn, as the others; the cover the lower-face check,
    which looks for colours unlike the skin, is least built to see."""
    import cv2

    re, le, nose, mouth, rear, lear, across, down, d = _pts(keypoints)
    eyes = (re + le) / 2
    h = float(np.dot(mouth - eyes, down))
    r = max(2, int(round(0.08 * d)))
    patches = []
    for c in (re + 0.5 * h * down, le + 0.5 * h * down):  # the cheeks, under the eyes
        x, y = int(round(c[0])), int(round(c[1]))
        patches.append(img[max(0, y - r) : max(0, y + r), max(0, x - r) : max(0, x + r)].reshape(-1, 3))
    skin = np.concatenate(patches)
    skin = np.median(skin, axis=0) if len(skin) else np.array([200.0, 160.0, 140.0])
    colour = tuple(int(v) for v in np.clip(skin * 1.03, 0, 255))
    crease = tuple(int(v) for v in np.clip(skin * 0.75, 0, 255))
    width = 0.27 * d  # a finger's
    top = mouth - 0.15 * h * down
    for i in range(4):  # from just over the mouth down over the chin, reaching in from the right
        c = top + (i + 0.5) * width * down
        cv2.line(img, _ipt(c - 0.9 * d * across), _ipt(c + 1.4 * d * across), colour, int(round(width)), cv2.LINE_AA, 4)
    for i in range(1, 4):  # the lines between them
        c = top + i * width * down
        cv2.line(
            img,
            _ipt(c - 0.8 * d * across),
            _ipt(c + 1.4 * d * across),
            crease,
            max(1, int(round(d / 40))),
            cv2.LINE_AA,
            4,
        )


# name: (what it draws, function of (RGB image, keypoints) drawing in place)
COVERS = {
    "none": ("the face as it is", lambda img, k: None),
    "sunglasses": ("dark sunglasses", lambda img, k: _glasses(img, k, dark=True)),
    "glasses": ("clear glasses (thin dark frames)", lambda img, k: _glasses(img, k, dark=False)),
    "mask": ("a light-blue surgical mask over nose and mouth", _mask),
    "microphone": ("a hand-held microphone under the chin", _microphone),
    "cup": ("a photographed coffee cup held before the mouth", _cup),
    "hand": ("a hand before the mouth, in the face's own skin colour", _hand),
}


def cover(image: np.ndarray, faces, name: str) -> np.ndarray:
    """``image`` with cover ``name`` drawn over each face of ``faces`` (with six keypoints)."""
    out = np.ascontiguousarray(image.copy())
    for f in faces:
        if len(f.keypoints) >= 6:
            COVERS[name][1](out, f.keypoints)
    return out


def _faces(image: np.ndarray, detector):
    """The faces of a photo as the pipeline finds them (padded, as stills are), keypoints in the photo's pixels."""
    from detector.constants import FACE_MARGIN
    from detector.inference.pipeline import faces_in
    from detector.inference.stills import STILL_PAD

    return faces_in(image, FACE_MARGIN, detector, STILL_PAD)


def _photos(args, names) -> dict:
    from PIL import Image

    from detector.data.datasets import held_out, read_datasets
    from detector.errors import InputError
    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    photos = [it for it in read_datasets([args.utk]) if held_out(it)]
    random.Random(args.seed).shuffle(photos)
    photos = photos[args.skip : args.skip + args.photos]  # --skip: a draw disjoint from a smaller one's
    models = [load_model(m) for m in (args.model or [None])]
    detector = FaceDetector()
    rows = collections.defaultdict(list)  # (cover, model) -> [(photo, label, score, warnings, covered)]
    with tempfile.TemporaryDirectory() as tmp:
        for it in photos:
            original = np.asarray(Image.open(it.path).convert("RGB"))
            faces = _faces(original, detector)
            for name in names:
                path = os.path.join(tmp, f"{name}.png")
                Image.fromarray(cover(original, faces, name)).save(path)
                if args.save:
                    os.makedirs(args.save, exist_ok=True)
                    Image.fromarray(cover(original, faces, name)).save(
                        os.path.join(args.save, f"{name}_{os.path.basename(it.path)}.png")
                    )
                for model in models:
                    try:
                        r = analyze(path, model=model)
                        got = (r.label, r.score, list(r.warnings), _covered(r))
                    except InputError:
                        got = ("error", None, [], None)
                    rows[name, model.card.name].append((os.path.basename(it.path), *got))
    print(
        f"{len(photos)} held-out real photos (seed {args.seed}, skipping the draw's first {args.skip}); each model at "
        "its own threshold"
    )
    print(
        "| cover | model | fake | uncertain | real | no face | median score | said covered: of the fakes, uncertain |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name in names:
        for model in models:
            got = rows[name, model.card.name]
            c = collections.Counter(g[1] for g in got)
            scores = [g[2] for g in got if g[2] is not None and np.isfinite(g[2])]
            median = f"{np.median(scores):.3f}" if scores else "-"
            said = {k: sum(g[1] == k and any(w.startswith(COVERED_WARNING) for w in g[3]) for g in got)
                    for k in ("fake", "uncertain")}  # fmt: skip
            print(
                f"| {name}: {COVERS[name][0]} | {model.card.name} | {c['fake']} | {c['uncertain']} | {c['real']} | "
                f"{c['unknown'] + c['error']} | {median} | {said['fake']} of {c['fake']}, "
                f"{said['uncertain']} of {c['uncertain']} |"
            )
    return {
        "photos": len(photos),
        "seed": args.seed,
        "skip": args.skip,
        "rows": {f"{n}|{m}": g for (n, m), g in rows.items()},
    }


def _covered(report) -> float | None:
    """The lower-face share of the highest-scoring face (:func:`~detector.inference.covers.lower_face_covered`),
    measured here on every photo: the pipeline measures it only on faces that score in the band or over it, and a
    threshold for covered faces is set on how many covered faces there are at all.  None: no face, or none measured."""
    from detector.inference.covers import lower_face_covered

    faces = [f for fr in report.frames for f in fr.faces if f.crop is not None]
    if not faces:
        return None
    top = max(faces, key=lambda f: f.score)
    share = lower_face_covered(top.crop)
    return None if share is None else round(share, 4)


class _Follow:
    """The keypoints of the clip's main face, frame by frame: the face nearest the one before (the most confident at
    first), smoothed over frames (half the new, half the old) so that a cover moves with the head without jitter; the
    last keypoints stand in a frame without a face."""

    def __init__(self, detector):
        self.detector, self.k = detector, None

    def __call__(self, image: np.ndarray):
        faces = [f for f in self.detector.detect(image) if len(f.keypoints) >= 6]
        if faces:
            if self.k is None:
                k = np.asarray(max(faces, key=lambda f: f.confidence).keypoints[:6], float)
            else:
                centre = self.k.mean(0)
                k = min(
                    (np.asarray(f.keypoints[:6], float) for f in faces), key=lambda q: np.hypot(*(q.mean(0) - centre))
                )
            self.k = k if self.k is None else 0.5 * self.k + 0.5 * k
        return self.k


def _fold_of(card_path: str, folds: str) -> dict:
    """{pair group or actor: (fold, member card)} from the member cards of ``card_path``'s ensemble that
    ``scripts/fold_models.py`` writes (``FOLDS/foldK/model``); a card whose weights
    are not one of the ensemble's members is refused (fold cards of another model).  Their threshold and band are
    the ensemble's (out of fold), as ``fold_models.py`` writes them."""
    ensemble = json.load(open(card_path))["name"]
    out = {}
    for name in sorted(os.listdir(folds)):
        model = os.path.join(folds, name, "model")
        if name.startswith("fold") and os.path.isdir(model):
            for f in os.listdir(model):
                if f.endswith(".json"):
                    card = json.load(open(os.path.join(model, f)))
                    if not card["trained"].get("unpacked_from", "").startswith(f"{ensemble} (member "):
                        raise SystemExit(f"{model}/{f}: not a member of {card_path} written by scripts/fold_models.py")
                    split = card["trained"]["split"]
                    out.update({g: (split["fold"], os.path.join(model, f)) for g in split["val_groups"]})
    return out


def _clips(args, names) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reencode_probe import reencode

    from detector.constants import VIDEO_EXTENSIONS
    from detector.data.datasets import read_datasets
    from detector.errors import InputError
    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    cards = args.card or ["assets/models/mnv2_tightpad.json"]
    folds = args.folds or ["runs/cvtight"]
    if len(folds) != len(cards):
        raise SystemExit("give one --folds per --card")
    fold_maps = [_fold_of(c, f) for c, f in zip(cards, folds)]
    groups = set(fold_maps[0])
    if any(set(m) != groups or any(m[g][0] != fold_maps[0][g][0] for g in groups) for m in fold_maps):
        raise SystemExit("the models' folds differ: each clip must be out of fold for every model")
    clips = [
        (it.source, it.method or "original", it.label, it.path, fold_maps[0][it.group][0], it.group)
        for it in read_datasets(args.data)
        if it.kind == "video" and it.group in groups and it.label_name in args.classes
    ]
    if args.wild and "real" in args.classes:
        for name in sorted(os.listdir(args.wild)):
            if name.lower().endswith(VIDEO_EXTENSIONS):
                clips.append(("wild_real", "original", 0, os.path.join(args.wild, name), None, None))
    if args.limit:
        clips = clips[: args.limit]
    loaded, rows, detector = {}, [], FaceDetector()

    def judges(group):  # (model name, the model that never trained on the clip): a fold member, or the ensemble
        for card, fold_of in zip(cards, fold_maps):
            path = card if group is None else fold_of[group][1]
            if path not in loaded:
                loaded[path] = load_model(path)
            yield json.load(open(card))["name"], loaded[path]

    with tempfile.TemporaryDirectory() as tmp:
        for source, method, label, path, fold, group in clips:
            row = {"source": source, "method": method, "video": os.path.basename(path), "label": label, "fold": fold}
            row["models"] = collections.defaultdict(dict)
            for name in names:
                follow = _Follow(detector)

                def draw(img, name=name, follow=follow):
                    k = follow(img)
                    if k is not None and name != "none":
                        img = np.ascontiguousarray(img.copy())
                        COVERS[name][1](img, [tuple(p) for p in k])
                    return img

                clip = os.path.join(tmp, f"{name}.mp4")
                try:  # one encode, judged by each model
                    reencode(path, clip, 18, transform=draw, seconds=args.seconds)
                except (InputError, OSError, ValueError, RuntimeError) as e:  # one clip's failure, not the run's
                    clip, failed = None, str(e)[:200]
                for model_name, model in judges(group):
                    try:
                        if clip is None:
                            raise InputError(failed)
                        r = analyze(clip, model=model, frames=args.frames, second_opinion=False)
                        score = float(r.score) if np.isfinite(r.score) else None  # (no face: NaN)
                        got = {"score": None if score is None else round(score, 4), "label": r.label}
                        got["warned"] = any(w.startswith(COVERED_WARNING) for w in r.warnings)  # covers.py's line
                    except (InputError, OSError, ValueError, RuntimeError) as e:
                        got = {"score": None, "label": "error", "error": str(e)[:200]}
                    row["models"][model_name][name] = got
            rows.append(row)
            cells = "; ".join(
                f"{m}: " + ", ".join(f"{n} {v[n]['score']} {v[n]['label']}" for n in names)
                for m, v in row["models"].items()
            )
            print(
                f"{source}/{method}/{row['video']} (fold {fold}, label {label}): {cells}", file=sys.stderr, flush=True
            )
    return {"frames": args.frames, "seconds": args.seconds, "covers": names, "rows": rows}


def _clip_tables(rows: list[dict], names) -> None:
    """:func:`_clip_table` for each model judged (``row["models"]``)."""
    for model in dict.fromkeys(m for r in rows for m in r["models"]):
        print(f"\n{model} (fold members out of fold; the ensemble for clips no fold validated)")
        _clip_table([dict(r, **r["models"][model]) for r in rows if model in r["models"]], names)


def _clip_table(rows: list[dict], names) -> None:
    """Per cover and source: reals and fakes called fake / uncertain / real (no face or an error apart), and the
    video AUC over the clips scored (``row[cover]``: a label and a score)."""
    from detector.evaluation.metrics import metrics_block

    sources = sorted({r["source"] for r in rows})
    print("| cover | source | reals: fake / uncertain / real | fakes: fake / uncertain / real | video AUC |")
    print("|---|---|---|---|---:|")
    for name in names:
        for source in sources:
            mine = [r for r in rows if r["source"] == source]
            cells = []
            for label in (0, 1):
                c = collections.Counter(r[name]["label"] for r in mine if r["label"] == label)
                lost = c["unknown"] + c["error"]
                cells.append(
                    f"{c['fake']} / {c['uncertain']} / {c['real']}" + (f" ({lost} no face or error)" if lost else "")
                    if sum(c.values())
                    else "-"
                )
            scored = [r for r in mine if r[name]["score"] is not None]
            both = len({r["label"] for r in scored}) == 2
            auc = (
                metrics_block([r["label"] for r in scored], [r[name]["score"] for r in scored])["auc"] if both else None
            )
            auc = "-" if auc is None or not np.isfinite(auc) else f"{auc:.3f}"
            print(f"| {name}: {COVERS[name][0]} | {source} | {cells[0]} | {cells[1]} | {auc} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", default=None, help="model name or card; repeat to compare")
    p.add_argument("--photos", type=int, default=100, help="held-out photos drawn (default 100)")
    p.add_argument("--seed", type=int, default=1, help="the draw's seed (default 1)")
    p.add_argument("--skip", type=int, default=0, help="leave out the draw's first this many (a disjoint set)")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root")
    p.add_argument("--covers", default=None, help="comma-separated cover names (default: all)")
    p.add_argument("--save", default=None, help="also save each covered photo in this folder (outside the repository)")
    p.add_argument("--json", default=None, help="write every item's label and score per cover and model here")
    p.add_argument("--clips", action="store_true", help="instead: FF++ clips, out of fold (see above)")
    p.add_argument(
        "--card",
        action="append",
        help="--clips: an ensemble (default: the default's); repeat to compare, one --folds each",
    )
    p.add_argument(
        "--folds", action="append", help="--clips: its member cards (scripts/fold_models.py; default runs/cvtight)"
    )
    p.add_argument("--data", nargs="+", default=["../shared/data/ffpp", "../shared/data/ffpp_c40"])
    p.add_argument("--wild", default="../shared/data/wild_real", help="--clips: real clips no model trained on")
    p.add_argument("--classes", nargs="+", default=["real", "fake"], choices=["real", "fake"])
    p.add_argument("--frames", type=int, default=16, help="--clips: frames sampled from each clip")
    p.add_argument("--seconds", type=float, default=8.0, help="--clips: each clip's first this many seconds")
    p.add_argument("--limit", type=int, default=0, help="--clips: at most this many clips (0: all)")
    p.add_argument("--tier", default=None, help="a photo run's --json: the threshold for faces read as covered")
    p.add_argument("--card-file", default="assets/models/mnv2_tightpad.json", help="--tier: the card it is for")
    p.add_argument("--target", type=float, default=0.05, help="--tier: covered real faces called fake, at most")
    p.add_argument("--write", action="store_true", help="--tier: write it into --card-file as covered")
    p.add_argument("--min-covered", type=int, default=100, help="--tier: at least this many faces read as covered")
    args = p.parse_args(argv)
    if args.tier:
        return covered_tier(args)
    names = args.covers.split(",") if args.covers else list(COVERS)
    unknown = [n for n in names if n not in COVERS]
    if unknown:
        print(f"unknown cover(s): {', '.join(unknown)}; known: {', '.join(COVERS)}", file=sys.stderr)
        return 2
    if args.clips:
        for folds in args.folds or ["runs/cvtight"]:
            if not os.path.isdir(folds):
                print(f"no fold cards at {folds}: python scripts/fold_models.py CARD {folds}", file=sys.stderr)
                return 1
        out = _clips(args, names)
        _write(args.json, out)
        _clip_tables(out["rows"], names)
        return 0
    elif not os.path.isdir(args.utk):
        print(f"no UTKFace data at {args.utk}", file=sys.stderr)
        return 1
    else:
        _write(args.json, _photos(args, names))
    return 0


def covered_tier(args) -> int:
    """``--tier``: the threshold for faces read as covered, from a photo run's JSON (``--skip``: photos the figures
    quoted elsewhere do not use): of each cover's photos, those whose face is read as covered (the share over
    :data:`~detector.inference.covers.COVER_SHARE`), and calibration's rule on their scores, every cover a stratum
    (:func:`~detector.evaluation.calibration.calibrate_threshold`), never below the card's own threshold.  With
    ``--write``, recorded in ``--card`` as ``covered``, where the report reads it."""
    from detector.evaluation.calibration import calibrate_threshold
    from detector.inference.covers import COVER_SHARE
    from detector.models.card import ModelCard, write_card_fields

    run = json.load(open(args.tier))
    card = ModelCard.from_file(args.card_file)
    t0 = float(card.threshold)
    rows = {k.split("|")[0]: v for k, v in run["rows"].items() if k.split("|")[1] == card.name}
    if not rows:
        raise SystemExit(f"{args.tier} has no photos scored by {card.name}")
    if not any(len(r) > 4 for got in rows.values() for r in got):
        raise SystemExit(f"{args.tier}: no lower-face shares (a run from before they were recorded): run it again")
    photos = sorted({r[0] for got in rows.values() for r in got})
    half = {p: i % 2 for i, p in enumerate(photos)}  # each photo in one half, whatever its cover
    read = {  # name -> [(photo, score)] of the photos whose face is read as covered
        name: [
            (r[0], float(r[2]))
            for r in got
            if len(r) > 4 and r[4] is not None and r[4] > COVER_SHARE and r[2] is not None and np.isfinite(r[2])
        ]  # fmt: skip
        for name, got in rows.items()
    }
    if sum(map(len, read.values())) < args.min_covered:
        raise SystemExit(
            f"{args.tier}: {sum(map(len, read.values()))} faces read as covered, fewer than {args.min_covered}: no "
            "threshold set"
        )

    def rule(part) -> float:
        items = [
            {"label": 0, "kind": "image", "subgroup": name, "s": s}
            for name, got in read.items()
            for photo, s in got
            if part is None or half[photo] == part
        ]
        return max(t0, calibrate_threshold(items, args.target, "s")["threshold"])

    t, halves = rule(None), [rule(0), rule(1)]
    print(
        f"{card.name}; card's threshold {t0:.4f}; {run['photos']} held-out photos ({args.tier}); faces read as "
        f"covered: share over {COVER_SHARE}"
    )
    print("| cover | photos scored | read as covered | of them at the card's threshold | at the covered threshold |")
    print("|---|---:|---:|---:|---:|")
    for name, got in rows.items():
        scored = sum(r[2] is not None and np.isfinite(r[2]) for r in got)
        s = np.asarray([score for _, score in read[name]], float)
        print(f"| {name} | {scored} | {len(s)} | {int((s >= t0).sum())} | {int((s >= t).sum())} |")
    print(f"threshold for covered faces: {t:.6f} (each half of the photos: {halves[0]:.6f}, {halves[1]:.6f})")
    if args.write:
        write_card_fields(
            args.card_file,
            {
                "covered": {
                    "threshold": round(t, 6),
                    "share": COVER_SHARE,
                    "target_false_alarms": args.target,
                    "rule": (
                        f"lowest score with at most {args.target:.0%} false alarms among held-out real UTKFace photos "
                        "(never trained on) with a cover drawn over them and read as covered, in every cover's "
                        "stratum (" + ", ".join(read) + "; scripts/occlusion_probe.py --tier), never below the "
                        "card's own threshold: a face read as covered that scores under it makes no verdict fake"
                    ),
                    "measured": {
                        "probe": args.tier,
                        "photos": run["photos"],
                        "seed": run.get("seed"),
                        "skip": run.get("skip", 0),
                        "read_as_covered": {k: len(v) for k, v in read.items()},
                        "halves": [round(h, 6) for h in halves],
                    },
                }
            },
        )
        print(f"wrote covered into {args.card_file}")
    return 0


def _write(path: str | None, out: dict) -> None:
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
