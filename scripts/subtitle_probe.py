"""Real clips with subtitles burned in over the face: are real people still called real?

Social video carries its words on the picture: captions burned into the frames, over the speaker's chin when the
face fills the frame. An audit found such captions made real portraits "fake". This takes the real clips that the
judging model never trained on (the FF++ c23 and c40 reals and the actor clips, each by the fold model that
validated it, out of fold; the ``wild_real`` clips by the default), and their first ``--seconds`` seconds as they are
and with a caption burned in (H.264 CRF 18, its own size and frame rate, in a temporary folder: nothing is written
into the repository); ``--classes fake`` takes the fakes instead (what the captions, and anything done about them,
cost there).

The caption is fixed in the frame, as burned-in captions are: centred on the face's median centre across the clip,
its text a tenth of the face's height high (``--size``), its middle at ``--at`` face heights below the face's centre
(0.3: across the mouth and chin), changing every two seconds; styles (``--styles``): those of
:func:`detector.data.synthetic.burn_caption` (outline, boxed, social, yellow). The text finder
(:mod:`detector.inference.overlays`) was written against the first two only (OpenCV's own font; the last two are
drawn by Pillow from a TrueType font). Two watermark styles can be asked for too (agency: "NEWSWIRE" in white at 50%
with no edge; handle: "@dailyclips" after a logo square, white at 85% over a soft shadow), the same text in every
frame.

Each captioned clip is analysed three ways: as the pipeline does, the face judged as the picture shows it and a
"fake" on faces under text alone made "uncertain" ("outline"); as before text was looked for ("outline_kept": no
rule); and with the text painted out with a flat bar before judging and the same rule ("outline_painted":
``overlays.PAINT_TEXT``). Printed per style: reals (and fakes)
called fake / uncertain / real at each clip's threshold (calibrated on the other folds' out-of-fold scores; the
card's for wild clips), the clips with text found over a face, and the clips whose label changed from "as_is".

    python scripts/subtitle_probe.py --json runs/subtitles/probe.json             # the 55 real clips, ~20 min
    python scripts/subtitle_probe.py --classes fake --styles outline social --json runs/subtitles/probe_fakes.json

``--portraits N``: instead, the first N held-out real UTKFace photos (never trained on), each enlarged until its face
is ``--face-px`` high (650: a face filling a phone's portrait video) and shown as a 3 s still clip, 720 x 1280, as
it is and captioned; judged by the default at its card's threshold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reencode_probe import clip_arguments, fold_videos, probe_clips, reencode, thresholds_by_fold  # noqa: E402

from detector.data.synthetic import CAPTION_STYLES, WATERMARK_STYLES  # noqa: E402

STYLES = CAPTION_STYLES + WATERMARK_STYLES
from detector.data.synthetic import burn_caption  # noqa: E402

LINES = (
    "and that is what we saw on the ground",
    "nobody expected the vote to go this way",
    "we will be back after the break",
    "the numbers speak for themselves",
    "thank you all for being here today",
    "this is only the beginning",
)
WATERMARKS = {"agency": "NEWSWIRE", "handle": "@dailyclips"}  # a watermark's text, the same in every frame


def line_for(style: str, k: int) -> str:
    """The ``k``-th caption line, or a watermark style's own text (:data:`WATERMARKS`)."""
    return WATERMARKS.get(style) or LINES[k % len(LINES)]


def median_face(path: str, detector, n: int = 8) -> tuple[float, float, float] | None:
    """(centre x, centre y, side) of the most confident face, medians over ``n`` frames sampled from ``path``."""
    from detector.inference.video import sample_frames

    _, frames = sample_frames(path, n_frames=n)
    found = []
    for fr in frames:
        faces = detector.detect(fr.image)
        if faces:
            x, y, w, h = faces[0].box
            found.append((x + w / 2, y + h / 2, max(w, h)))
    return tuple(float(v) for v in np.median(found, axis=0)) if found else None


def captioned(src: str, dst: str, face, style: str, size: float, at: float, seconds: float) -> str:
    """``src``'s first ``seconds`` with a caption burned in over ``face`` (:func:`median_face`) in every frame."""
    import av

    with av.open(src) as inp:
        rate = float(inp.streams.video[0].average_rate or 25)
    cx, cy, side = face
    count = [0]

    def burn(img: np.ndarray) -> np.ndarray:
        line = line_for(style, int(count[0] / rate / 2.0))
        count[0] += 1
        return burn_caption(img, line, cx, cy + at * side, size * side, style)

    return reencode(src, dst, 18, transform=burn, seconds=seconds)


HOW = ("kept", "", "painted")  # each caption's analyses: "{style}_kept", "{style}" (the pipeline's), "{style}_painted"


def kinds_of(styles) -> list[str]:
    """The names of each style's analyses (:data:`HOW`), in order."""
    return [f"{s}_{how}" if how else s for s in styles for how in HOW]


@contextlib.contextmanager
def text_handled(how: str):
    """The pipeline with text over faces handled ``how``: "kept" as before it was looked for (no text found, no
    rule), "painted" painted out before judging (``overlays.PAINT_TEXT``), "" as the pipeline does."""
    from detector.inference import overlays, pipeline

    found, paint = pipeline.text_over, overlays.PAINT_TEXT
    if how == "kept":
        pipeline.text_over = lambda *args: 0.0
    overlays.PAINT_TEXT = how == "painted"
    try:
        yield
    finally:
        pipeline.text_over, overlays.PAINT_TEXT = found, paint


def portrait_clips(utk: str, n: int, face_px: float, tmp: str, styles, size: float, at: float):
    """For each of the first ``n`` held-out real UTKFace photos (never trained on): (name, {kind: clip path}), the
    photo enlarged until its face is ``face_px`` high and cut as a 720 x 1280 portrait centred on the face (edges
    drawn outwards), as a 3 s still clip (4 frames a second, H.264 CRF 20), as it is ("as_is") and with a caption in
    each of ``styles`` (where the face was found)."""
    import cv2
    from split_screen_probe import write_clip

    from detector.data.datasets import read_datasets
    from detector.evaluation.evaluate import select_split
    from detector.inference.pipeline import face_detector
    from detector.models.classifier import load_model

    items, _, _ = select_split(read_datasets([utk]), load_model(None).card, "heldout")  # the default's held-out part
    detector, W, H = face_detector(), 720, 1280
    for it in items[:n]:
        rgb = cv2.cvtColor(cv2.imread(it.path), cv2.COLOR_BGR2RGB)
        faces = detector.detect(rgb)
        if not faces:
            continue
        x, y, w, h = faces[0].box
        f = face_px / max(w, h)
        big = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        cx, cy = (x + w / 2) * f, (y + h / 2) * f
        pad = max(W, H)
        big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = int(round(cx + pad - W / 2)), int(round(cy + pad - H * 0.4))
        frame = np.ascontiguousarray(big[y0 : y0 + H, x0 : x0 + W])
        fx, fy = W / 2, H * 0.4  # the face's centre in the portrait
        clips = {"as_is": write_clip(os.path.join(tmp, "as_is.mp4"), [frame] * 12)}
        for style in styles:
            burnt = [
                burn_caption(frame, line_for(style, i // 8), fx, fy + at * face_px, size * face_px, style)
                for i in range(12)
            ]
            clips[style] = write_clip(os.path.join(tmp, f"{style}.mp4"), burnt)
        yield os.path.basename(it.path), clips


def verdict(score: float, threshold: float, band: float) -> str:
    """The report's label of ``score`` at ``threshold``, uncertain from ``band``
    (:func:`~detector.inference.report.verdict`)."""
    from detector.inference.report import verdict as label_of

    return label_of(score, threshold, [band, threshold])


def summarise(rows: list[dict], styles) -> None:
    print(f"{len(rows)} clips")
    for label, name in ((0, "reals"), (1, "fakes")):
        sub = [r for r in rows if r["label"] == label]
        if not sub:
            continue
        for kind in ("as_is", *(k for k in kinds_of(styles) if k in sub[0])):
            n = {k: sum(r[kind]["label"] == k for r in sub) for k in ("fake", "uncertain", "real", "unknown")}
            text = sum(r[kind].get("text_frames", 0) > 0 for r in sub)
            print(
                f"  {name} {kind:8s} fake {n['fake']:3d}  uncertain {n['uncertain']:3d}  real {n['real']:3d}  "
                f"no face {n['unknown']:2d}  median {np.nanmedian([r[kind]['score'] for r in sub]):.3f}  "
                f"clips with text found over a face {text}"
            )
            if kind in styles and all("band" in r for r in sub):  # the pipeline's run: its labels by score alone too
                alone = [verdict(r[kind]["score"], r["threshold"], r["band"]) for r in sub]
                n = {k: alone.count(k) for k in ("fake", "uncertain", "real")}
                print(
                    f"  {name} {kind:8s} score alone, no rule: fake {n['fake']:3d}  uncertain {n['uncertain']:3d}  "
                    f"real {n['real']:3d}"
                )
        for r in sub:
            for kind in (k for k in kinds_of(styles) if k in r):
                if (r[kind]["label"] == "fake") != (r["as_is"]["label"] == "fake"):
                    print(
                        f"    {kind}: {r['source']}/{r['method']}/{r['video']} {r['as_is']['score']:.3f} "
                        f"{r['as_is']['label']} -> {r[kind]['score']:.3f} {r[kind]['label']}"
                    )


FILLS = ("kept", "telea", "ns", "blend", "blend_grain", "bar")  # --fills: how a line found may be covered


def fill(crop: np.ndarray, how: str) -> np.ndarray:
    """``crop`` with the lines :func:`detector.inference.overlays.text_lines` finds covered ``how``: "kept" (not
    covered), "telea" / "ns" (OpenCV's inpainting), "blend" (each column blended straight from the row above the bar
    to the row below), "blend_grain" (the same, with noise as grainy as the rows round it), "bar" (a flat bar of the
    colour round it: :func:`~detector.inference.overlays.paint_out_text`, behind ``overlays.PAINT_TEXT``, off)."""
    import cv2

    from detector.inference.overlays import paint_out_text, text_mask

    mask = text_mask(crop)
    if how == "kept" or mask is None:
        return crop
    if how == "bar":
        return paint_out_text(crop)[0]
    side = crop.shape[1]
    if how in ("telea", "ns"):
        flag = cv2.INPAINT_TELEA if how == "telea" else cv2.INPAINT_NS
        return cv2.inpaint(crop, mask, max(3, side // 40), flag)
    out = crop.astype(np.float32)
    rows = np.nonzero(mask.any(axis=1))[0]
    for run in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1):
        above, below = out[max(run[0] - 1, 0)], out[min(run[-1] + 1, side - 1)]
        for k, y in enumerate(run):
            t = (k + 1) / (len(run) + 1)
            out[y, mask[y] > 0] = ((1 - t) * above + t * below)[mask[y] > 0]
    if how == "blend_grain":
        grain = crop.astype(np.float32) - cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 1.5)
        ring = (cv2.dilate(mask, np.ones((9, 9), np.uint8)) > 0) & (mask == 0)
        noise = np.random.default_rng(0).normal(0, float(grain[ring].std()), crop.shape).astype(np.float32)
        out[mask > 0] += cv2.GaussianBlur(noise, (0, 0), 0.7)[mask > 0]
    return np.clip(out, 0, 255).astype(np.uint8)


def fills(args) -> int:
    """``--fills``: the ways of covering a caption, on 8 frames of every real clip and ``--fake-clips`` fakes (each
    by the fold model that never trained on it; the caption of each style burned over each frame's most confident
    face as :func:`captioned` places it): per fill, the AUC of the clips' mean frame scores, the reals over 0.5, the
    medians."""
    from sklearn.metrics import roc_auc_score

    from detector.inference.faces import crop_face
    from detector.inference.pipeline import face_detector
    from detector.inference.video import sample_frames
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card

    clips = probe_clips(fold_videos(args.folds), args.data, args.wild)
    fakes = [c for c in clips if c[2] == 1]
    pick = np.random.default_rng(0).choice(len(fakes), min(args.fake_clips, len(fakes)), replace=False)
    clips = [c for c in clips if c[2] == 0] + [fakes[i] for i in pick]
    models, detector, rows = {None: load_model(args.model)}, face_detector(), []
    for _, _, label, path, fold in clips:
        if fold not in models:
            models[fold] = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))
        crops: dict = {"no caption": []}
        for fr in sample_frames(path, n_frames=8)[1]:
            faces = detector.detect(fr.image)
            if not faces:
                continue
            (x, y, w, h), side = faces[0].box, max(faces[0].box[2:])
            crops["no caption"].append(crop_face(fr.image, faces[0].box, models[fold].card.face_margin))
            for style in args.styles:
                line = line_for(style, fr.index)
                img = burn_caption(fr.image, line, x + w / 2, y + h / 2 + args.at * side, args.size * side, style)
                crop = crop_face(img, faces[0].box, models[fold].card.face_margin)
                for how in FILLS:
                    crops.setdefault(f"{style} {how}", []).append(fill(crop, how))
        if crops["no caption"]:
            rows.append({"label": label} | {k: float(np.mean(models[fold].predict(v))) for k, v in crops.items()})
    y = [r["label"] for r in rows]
    print(f"{len(rows)} clips ({sum(y)} fakes), 8 frames each, the mean frame score per clip")
    for k in rows[0]:
        if k == "label":
            continue
        reals, fakes_ = [r[k] for r in rows if not r["label"]], [r[k] for r in rows if r["label"]]
        auc, over = roc_auc_score(y, [r[k] for r in rows]), sum(v > 0.5 for v in reals)
        print(
            f"  {k:22s} AUC {auc:.3f}  reals over 0.5 {over:2d}  reals' median {np.median(reals):.3f}"
            f"  fakes' median {np.median(fakes_):.3f}"
        )
    return 0


def finder(args) -> int:
    """``--finder``: how often text is found over a face (``face.text_over``) where there is none, and where a caption
    of each style lies over the chin: 6 frames of every FF++, actor and wild clip (each frame's most confident face,
    cut as the pipeline cuts a video frame's), and every UTKFace photo analysed as a user's photo
    (:func:`~detector.inference.pipeline.frames_and_faces`: mirrored border, every face; captioned: every tenth)."""
    import glob

    import cv2

    from detector.data.datasets import read_datasets
    from detector.inference.faces import crop_face
    from detector.inference.overlays import face_in_crop, paint_out_text
    from detector.inference.pipeline import face_detector, frames_and_faces
    from detector.inference.video import Limits, sample_frames
    from detector.models.classifier import load_model

    margin, detector = load_model(args.model).card.face_margin, face_detector()
    found: dict = {}

    def count(where: str, kind: str, hits: list[bool], name: str) -> None:
        n = found.setdefault((where, kind), [0, 0, []])
        n[0], n[1] = n[0] + len(hits), n[1] + sum(hits)
        if any(hits) and kind == "none":
            n[2].append(name)

    def frame(image: np.ndarray, name: str) -> None:
        faces = detector.detect(image)
        if not faces:
            return
        box, side = faces[0].box, max(faces[0].box[2:])

        def hit(img: np.ndarray) -> bool:
            crop = crop_face(img, box, margin)
            return paint_out_text(crop, face_in_crop(box, margin))[1] > 0

        count("video frames", "none", [hit(image)], name)
        for k, style in enumerate(args.styles):
            cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2 + args.at * side
            line = line_for(style, len(name) + k)
            count("video frames", style, [hit(burn_caption(image, line, cx, cy, args.size * side, style))], name)

    clips = [it.path for it in (read_datasets(args.data) if args.data else []) if it.kind == "video"]
    clips += sorted(glob.glob(os.path.join(args.wild, "*"))) if args.wild else []
    clips = [] if args.heldout else clips
    for path in clips:
        for fr in sample_frames(path, n_frames=6)[1]:
            frame(fr.image, f"{os.path.basename(path)}@{fr.index}")

    def photo(path: str) -> list[bool]:
        _, sampled, _ = frames_and_faces(path, frames=None, fps=None, limits=Limits(), margin=margin)
        return [bool(f.text_over) for fr in sampled for f in fr.faces or []]

    if args.heldout:  # the held-out part alone (no clips): what its evaluation sees
        from detector.data.datasets import held_out

        photos = sorted(it.path for it in read_datasets([args.utk]) if held_out(it))[: args.photos or None]
    else:
        photos = sorted(glob.glob(os.path.join(args.utk, "real", "*.jpg")))[: args.photos or None]
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(photos):
            name = os.path.basename(path)
            count("UTKFace photos", "none", photo(path), name)
            if i % 10:
                continue
            bgr = cv2.imread(path)
            faces = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if not faces:
                continue
            box, side = faces[0].box, max(faces[0].box[2:])
            for k, style in enumerate(args.styles):
                cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2 + args.at * side
                rgb = burn_caption(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), line_for(style, i + k), cx, cy,
                                   args.size * side, style)  # fmt: skip
                cv2.imwrite(os.path.join(tmp, "captioned.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                count("UTKFace photos", style, photo(os.path.join(tmp, "captioned.png"))[:1], name)
    print(f"faces with text found over them (margin {margin}); captions {args.size} face heights high, {args.at} below")
    for (where, kind), (n, hit, names) in found.items():
        said = f"  e.g. {', '.join(names[:5])}" if names else ""
        print(f"  {where:15s} {'no caption' if kind == 'none' else kind:10s} {hit:5d} of {n:5d}{said}")
        if args.heldout and kind == "none":
            print("    " + "\n    ".join(names))  # every one, to be looked at
    return 0


def portraits(args) -> int:
    """``--portraits``: the held-out photos as portrait clips (:func:`portrait_clips`), judged by the default at its
    card's threshold, with the text painted out and kept."""
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(args.model)
    t, band = float(model.card.threshold), float((model.card.uncertain or [model.card.threshold])[0])
    rows = []

    def judge(clip: str) -> dict:
        r = analyze(clip, model=model, cam=None, second_opinion=False)
        text = sum(bool(f.text_over) for f in r.faces)
        side = float(np.median([max(f.box[2:]) for f in r.faces])) if r.faces else None
        return {
            "score": round(float(r.score), 4),
            "label": r.label,
            "text_frames": text,
            "faces": len(r.faces),
            "face_side": side,
        }

    with tempfile.TemporaryDirectory() as tmp:
        for name, clips in portrait_clips(args.utk, args.portraits, args.face_px, tmp, args.styles, args.size, args.at):
            row = {"source": "faces_utk", "method": "portrait", "video": name, "label": 0, "fold": None}
            row["threshold"] = t
            row["as_is"] = judge(clips.pop("as_is"))
            for style, clip in clips.items():
                for how in (h for h in HOW if (h or "rule") in args.ways):
                    with text_handled(how):
                        row[f"{style}_{how}" if how else style] = judge(clip)
            rows.append(row)
            kinds = [k for k in ("as_is", *kinds_of(args.styles)) if k in row]  # the --ways judged
            print(f"{name}: " + ", ".join(f"{k} {row[k]['score']} {row[k]['label']}" for k in kinds), file=sys.stderr)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"portraits": args.portraits, "styles": args.styles, "rows": rows}, fh, indent=1)
    summarise(rows, args.styles)
    print(f"(portraits judged by {model.card.name} at its card's threshold {t:.4f}, uncertain from {band:.4f})")
    return 0


def main(argv=None) -> int:
    p = clip_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), "what the captions cost there")
    p.add_argument("--seconds", type=float, default=8.0, help="each clip's first this many seconds")
    p.add_argument("--styles", nargs="+", default=list(CAPTION_STYLES), choices=STYLES)
    p.add_argument("--size", type=float, default=0.1, help="the letters' height, in face heights")
    p.add_argument("--at", type=float, default=0.3, help="the caption's middle, in face heights below its centre")
    p.add_argument(
        "--ways",
        nargs="+",
        default=["kept", "rule", "painted"],
        choices=["kept", "rule", "painted"],
        help="how each captioned clip is judged: text kept, no rule; as the pipeline does; painted out (default: all)",
    )
    p.add_argument("--finder", action="store_true", help="instead: the text finder alone, on crops with and without")
    p.add_argument("--photos", type=int, default=0, help="--finder: the first this many UTKFace photos (0: all)")
    p.add_argument("--heldout", action="store_true", help="--finder: the held-out UTKFace photos only, no clips")
    p.add_argument("--fills", action="store_true", help="instead: the ways of covering a caption, compared")
    p.add_argument("--fake-clips", type=int, default=40, help="--fills: this many fakes, drawn at random (seed 0)")
    p.add_argument("--portraits", type=int, default=0, help="instead: this many held-out UTKFace photos as portraits")
    p.add_argument("--face-px", type=float, default=650.0, help="the portraits' face height, px")
    p.add_argument("--utk", default="../shared/data/faces_utk", help="the UTKFace data root (--portraits)")
    args = p.parse_args(argv)
    if args.read:
        done = json.load(open(args.read))
        summarise(done["rows"], done["styles"])
        return 0

    from detector.inference.pipeline import analyze, face_detector
    from detector.inference.report import with_text_over
    from detector.models.classifier import load_model
    from detector.training.ensemble import run_card

    if args.portraits:
        return portraits(args)
    if args.finder:
        return finder(args)
    if args.fills:
        return fills(args)
    vids = fold_videos(args.folds)
    thresholds = thresholds_by_fold(vids, ["confident"])["confident"]
    clips = [c for c in probe_clips(vids, args.data, args.wild) if ("fake" if c[2] else "real") in args.classes]
    if args.limit:
        clips = clips[: args.limit]
    models: dict = {None: load_model(args.model)}
    detector, rows = face_detector(), []
    with tempfile.TemporaryDirectory() as tmp:
        for source, method, label, path, fold in clips:
            if fold not in models:
                models[fold] = load_model(str(run_card(os.path.join(args.folds, f"fold{fold}"))))
            model = models[fold]
            t = thresholds[fold] if fold is not None else float(model.card.threshold)
            band = float((model.card.uncertain or [t])[0]) * t / float(model.card.threshold)
            row = {"source": source, "method": method, "video": os.path.basename(path), "label": label, "fold": fold}
            row["threshold"], row["band"] = round(t, 4), round(band, 4)
            face = median_face(path, detector)

            def judge(clip: str, model=model, t=t, band=band) -> dict:
                r = analyze(clip, model=model, frames=args.frames, cam=None, second_opinion=False)
                score, text = float(r.score), sum(bool(f.text_over) for f in r.faces)
                label = with_text_over(verdict(score, t, band), r, t)  # as the pipeline labels, at this threshold
                return {"score": round(score, 4), "label": label, "text_frames": text, "faces": len(r.faces)}

            row["as_is"] = judge(reencode(path, os.path.join(tmp, "as_is.mp4"), 18, seconds=args.seconds))
            for style in args.styles:
                if face is None:
                    for kind in kinds_of([style]):
                        row[kind] = {"score": float("nan"), "label": "unknown"}
                    continue
                clip = captioned(path, os.path.join(tmp, f"{style}.mp4"), face, style, args.size, args.at, args.seconds)
                for how in (h for h in HOW if (h or "rule") in args.ways):
                    with text_handled(how):
                        row[f"{style}_{how}" if how else style] = judge(clip)
            rows.append(row)
            kinds = [k for k in ("as_is", *kinds_of(args.styles)) if k in row]  # the --ways judged
            cells = ", ".join(f"{k} {row[k]['score']} {row[k]['label']}" for k in kinds)
            print(
                f"{source}/{method}/{row['video']} (fold {fold}, label {label}): {cells}", file=sys.stderr, flush=True
            )
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"frames": args.frames, "styles": args.styles, "rows": rows}, fh, indent=1)
    summarise(rows, args.styles)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
