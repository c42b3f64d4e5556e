"""Small faces in a large photo: are real faces called fake as often as in a small photo of one face?

The card's thresholds for small photos (``small_photo``) go by the photo's short side, measured on single UTKFace
photos shrunk whole (``scripts/small_photo_probe.py``), where the face fills the picture.  A group photo, a crowd or a
wide shot is large, with small faces: its faces are blown up from as few pixels, but the photo's side does not say
so.  Here the held-out real UTKFace photos (never trained on, copies of training photos left out as ``evaluate
--split heldout`` does) are shrunk to each ``--sides`` px and laid out ``--cols`` x ``--rows`` on a grey, slightly
noisy canvas, half a photo apart, as the faces of a group photo, then each canvas is analysed by the pipeline as a
user's file would be (no CAM, no second opinion).  Every face found is matched to its photo by its box's centre.

    python scripts/group_photo_probe.py --json runs/group_photo/probe.json          # score (~20 min)
    python scripts/group_photo_probe.py --read runs/group_photo/probe.json         # the tables
    python scripts/group_photo_probe.py --tier runs/mesh/eval_utk_heldout.json \\
        --canvases runs/group_photo/probe_mirror_inner.json [--write]               # thresholds for n faces

The tables: per face, false alarms at the threshold that judged the canvas and at the card's small-photo tier its
face size would get (the tier whose size the face's box is under, the box's longer side standing for the photo's
side, as in the single photos, where the box is about the photo); per canvas, how often a canvas of real faces only
was called fake.  Nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import numpy as np

SIDES = (200, 100, 80, 64, 48)


def canvas(
    images: list[np.ndarray], side: int, cols: int, rows: int, rng, fill: str = "grey"
) -> tuple[np.ndarray, list[tuple]]:
    """The photos (each shrunk to ``side`` on its short side, centre-cut square) half a photo apart, on a grey,
    slightly noisy canvas (``fill`` "grey": each photo's edge is in its face's crop, as in a collage of tight
    portraits) or each mirrored outwards into the space around it ("mirror": no edge in the crop, as the pipeline
    fills a single photo's); and each photo's rectangle (x, y, w, h)."""
    import cv2

    gap = side // 2
    w, h = cols * side + (cols + 1) * gap, rows * side + (rows + 1) * gap
    out = np.clip(rng.normal(120, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    rects = []
    for k, image in enumerate(images):
        ih, iw = image.shape[:2]
        s = min(ih, iw)
        sq = image[(ih - s) // 2 : (ih - s) // 2 + s, (iw - s) // 2 : (iw - s) // 2 + s]
        small = cv2.resize(sq, (side, side), interpolation=cv2.INTER_AREA if side < s else cv2.INTER_LINEAR)
        r, c = divmod(k, cols)
        x, y = gap + c * (side + gap), gap + r * (side + gap)
        if fill == "mirror":  # the photo and half the gap around it, mirrored: tiles meet halfway
            p = gap // 2
            out[y - p : y + side + p, x - p : x + side + p] = cv2.copyMakeBorder(
                small, p, p, p, p, cv2.BORDER_REFLECT_101
            )
        else:
            out[y : y + side, x : x + side] = small
        rects.append((x, y, side, side))
    return out, rects


def score(args) -> int:
    import cv2

    from detector.data.datasets import read_datasets
    from detector.errors import InputError
    from detector.evaluation.evaluate import select_split
    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    model = load_model(args.model)
    items, _, note = select_split(read_datasets([args.utk]), model.card, "heldout")
    if args.photos:
        items = items[: args.photos]
    per = args.cols * args.rows
    groups = [items[i : i + per] for i in range(0, len(items) - per + 1, per)]
    print(f"{note}; {len(groups)} canvases of {per} photos at sides {args.sides}", file=sys.stderr)
    rng = np.random.default_rng(0)
    faces, canvases = [], []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for g, group in enumerate(groups):
            images = [cv2.imread(it.path, cv2.IMREAD_COLOR) for it in group]
            if any(im is None for im in images):
                continue
            for side in args.sides:
                image, rects = canvas(images, side, args.cols, args.rows, rng, args.fill)
                path = os.path.join(tmp, f"group_{side}.png")
                cv2.imwrite(path, image)
                try:
                    r = analyze(path, model=model, cam=None, second_opinion=False)
                except InputError as e:
                    canvases.append({"canvas": g, "side": side, "error": str(e)})
                    continue
                found = [f for fr in r.frames for f in fr.faces]
                matched = set()
                for f in found:
                    cx, cy = f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2
                    k = next((k for k, (x, y, w, h) in enumerate(rects) if x <= cx < x + w and y <= cy < y + h), None)
                    faces.append(
                        {
                            "canvas": g,
                            "side": side,
                            "photo": None if k is None else os.path.basename(group[k].path),
                            "group": None if k is None else group[k].subgroup,
                            "score": round(float(f.score), 6),
                            "face_px": int(max(f.box[2], f.box[3])),
                        }
                    )
                    if k is not None:
                        matched.add(k)
                canvases.append(
                    {
                        "canvas": g,
                        "side": side,
                        "short_side": int(min(image.shape[:2])),
                        "faces": len(found),
                        "photos_found": len(matched),
                        "score": None if r.score != r.score else round(float(r.score), 6),
                        "label": r.label,
                        "threshold": round(float(r.threshold), 6),
                    }
                )
            if (g + 1) % 20 == 0:
                print(f"{g + 1} canvases, {time.time() - t0:.0f} s", file=sys.stderr)
    out = {
        "model": model.card.name,
        "note": note,
        "sides": list(args.sides),
        "layout": [args.cols, args.rows],
        "fill": args.fill,
        "faces": faces,
        "canvases": canvases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(out, fh, indent=0)
    print(f"wrote {args.json} ({len(faces)} faces, {time.time() - t0:.0f} s)", file=sys.stderr)
    return 0


def read(args) -> int:
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    probe = json.load(open(args.read))
    card = ModelCard.from_file(resolve(args.model or probe["model"]))
    t0 = float(card.threshold)
    tiers = [(t["below"], t["threshold"]) for t in card.small_photo_tiers]
    print(f"{probe['model']}; {probe.get('fill', 'grey')} fill; card's threshold {t0:.4f}; tiers {tiers}")
    print(
        "| photo side in the canvas | canvases (short side) | photos found | other faces | median face px | "
        "faces called fake at the canvas's threshold | at the tier of the face's size | canvases called fake |"
    )
    print("|---:|---:|---:|---:|---:|---|---|---|")
    for side in probe["sides"]:
        cs = [c for c in probe["canvases"] if c["side"] == side and "error" not in c]
        fs = [f for f in probe["faces"] if f["side"] == side and f["photo"]]
        other = sum(1 for f in probe["faces"] if f["side"] == side and not f["photo"])
        n = max(1, len(fs))
        at_canvas = sum(f["score"] >= cs[0]["threshold"] for f in fs) if cs else 0
        at_face = sum(f["score"] >= card.threshold_for(f["face_px"], photo=True)[0] for f in fs)
        fake = sum(c["label"] == "fake" for c in cs)
        short = sorted({c["short_side"] for c in cs})
        px = np.median([f["face_px"] for f in fs]) if fs else float("nan")
        print(
            f"| {side} | {len(cs)} ({', '.join(map(str, short))}) | {len(fs)} | {other} | {px:.0f} | "
            f"{at_canvas} ({at_canvas / n:.1%}) | {at_face} ({at_face / n:.1%}) | {fake} of {len(cs)} |"
        )
    return 0


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # its sibling, scripts/small_photo_probe.py
from small_photo_probe import _half, probe_parser, score_if_possible, sizes_option  # noqa: E402  (the same halves)


def group_rate(scores: np.ndarray, n: int, threshold: float, draws: int, rng) -> float:
    """The share of ``draws`` photos of ``n`` faces, each drawn at random from ``scores`` (real faces, without
    replacement within a photo), with at least one face at or over ``threshold``: a photo called fake."""
    if len(scores) < n:
        return float("nan")
    picks = np.stack([rng.choice(len(scores), n, replace=False) for _ in range(draws)])
    return float(np.mean(scores[picks].max(axis=1) >= threshold))


def _size_spec(spec: list[str]) -> list[tuple[int, int]]:
    """``BELOW:AT`` pairs (px), largest first: tiers for photos judged under BELOW px, set on faces shrunk to AT."""
    return sorted(((int(b), int(a)) for b, _, a in (x.partition(":") for x in spec)), reverse=True)


def tier(args) -> int:
    """Thresholds for photos of 2 to ``--max-faces`` faces from real photos' scores (one face each): for ``n`` faces,
    the card's rule (:func:`~detector.evaluation.calibration.small_video_threshold`) at the per-face rate that leaves
    at most ``--target`` of real ``n``-face photos called fake were the faces' scores independent, ``1 - (1 - target)
    ** (1 / n)``, never below the card's, fewer faces', or a larger size's threshold. Sizes: the held-out photos as
    they are (an evaluate JSON, ``--tier``), and, with ``--small`` (scripts/small_photo_probe.py's JSON), the same
    photos shrunk to each ``--sizes`` AT px, for photos judged under BELOW px (a tier with "below"). Cross-fitted
    over the two halves of the photos: each half's groups judged at the thresholds the other half gives."""
    from detector.evaluation.calibration import small_video_threshold
    from detector.models.card import ModelCard

    card = ModelCard.from_file(args.card)
    t0, band0 = float(card.threshold), card.uncertain
    rows = [v for v in json.load(open(args.tier))["videos"] if v.get("score") is not None and v["score"] == v["score"]]
    groups = [(None, None, [(os.path.basename(v["path"]), v["score"]) for v in rows])]  # (below, at, [(name, s)])
    if args.small:
        probe = json.load(open(args.small))["rows"]
        for below, at in _size_spec(args.sizes):
            got = [(r["photo"], r["score"]) for r in probe if r["side"] == at and r["score"] is not None]
            if not got:
                print(f"no photo measured at {at} px in {args.small}", file=sys.stderr)
                return 2
            groups.append((below, at, got))
    tiers, larger = [], {}  # larger: each half's thresholds by n at the previous (larger) size
    for below, at, named in groups:
        scores = {"all": np.array([x for _, x in named])}
        for h in (0, 1):
            scores[h] = np.array([x for name, x in named if _half(name) == h])
        size_floor = float(card.threshold_for(at, photo=True)[0]) if at else t0  # the card's small-photo tier there
        floors = {k: size_floor for k in scores}
        for n in range(2, args.max_faces + 1):
            rate = 1 - (1 - args.target) ** (1 / n)
            got = {}
            for k, s in scores.items():
                floor = max(floors[k], larger.get((k, n), t0))
                got[k] = small_video_threshold(s, floor, band0, target=rate)
                floors[k] = got[k][0]
            tiers.append(
                {
                    "faces": n,
                    "below": below,
                    "at": at,
                    "rate": rate,
                    "t": got["all"][0],
                    "band": got["all"][1],
                    "halves": got,
                    "scores": scores,
                    "size_floor": size_floor,
                }
            )
        larger = {(k, t["faces"]): t["halves"][k][0] for t in tiers if t["below"] == below for k in ("all", 0, 1)}
    rng = np.random.default_rng(0)
    print(
        f"{len(rows)} held-out real photos ({args.tier}); card's threshold {t0:.4f}; {args.draws} random photos of n "
        "faces per half, each half judged at the thresholds the other half gives"
    )
    print(
        "| faces of | faces | per-face rate | threshold (halves) | photos called fake at the threshold for one face | "
        "at the threshold for n faces (cross-fitted) |"
    )
    print("|---|---:|---:|---|---:|---:|")
    for t in tiers:
        n, sc = t["faces"], t["scores"]
        one = np.nanmean([group_rate(sc[h], n, t["size_floor"], args.draws, rng) for h in (0, 1)])
        fitted = np.nanmean([group_rate(sc[h], n, t["halves"][1 - h][0], args.draws, rng) for h in (0, 1)])
        size = f"{t['at']} px (under {t['below']})" if t["below"] else "full size"
        print(
            f"| {size} | {n} | {t['rate']:.2%} | {t['t']:.4f} ({t['halves'][0][0]:.4f}, {t['halves'][1][0]:.4f}) | "
            f"{one:.1%} at {t['size_floor']:.4f} | {fitted:.1%} |"
        )

    def shrunk(t) -> str:
        return f", shrunk to {t['at']} px" if t["at"] else ""

    written = [
        {
            "faces": t["faces"],
            **({"below": t["below"], "measured_at": t["at"]} if t["below"] else {}),
            "threshold": round(t["t"], 6),
            "uncertain": [round(t["band"][0], 6), round(t["t"], 6)],
            "target_false_alarms": args.target,
            "rule": (
                f"lowest score with at most {t['rate']:.2%} false alarms among {len(t['scores']['all'])} held-out real "
                f"UTKFace photos (one face each, never trained on{shrunk(t)}), "
                f"the per-face rate at which at most {args.target:.0%} of photos of {t['faces']} real faces would have "
                "one called fake were their scores independent (scripts/group_photo_probe.py --tier); never below the "
                "card's threshold for one face of that size, fewer faces' or a larger size's; uncertain from the lower "
                "of the two bands' edges"
            ),
            "measured": {
                "scores": args.small if t["at"] else args.tier,
                "photos": len(t["scores"]["all"]),
                "halves": [round(t["halves"][0][0], 6), round(t["halves"][1][0], 6)],
            },
        }
        for t in tiers
    ]
    if args.canvases:  # the laid-out group photos: faces of one canvas share its making, not independent draws
        probe = json.load(open(args.canvases))
        before = ModelCard.from_file(args.card)
        before.many_faces = []
        after = ModelCard.from_file(args.card)
        after.many_faces = [dict(t) for t in written]
        print(
            f"\nCanvases of {args.canvases} ({probe.get('fill', 'grey')} fill), called fake as the pipeline judges "
            "them (the judged side: the canvas's, or its highest-scoring face's; not cross-fitted):"
        )
        print("| photo side | canvases | faces (median) | without many_faces | with |")
        print("|---:|---:|---:|---:|---:|")
        for side in probe["sides"]:
            cs = [c for c in probe["canvases"] if c["side"] == side and "error" not in c and c["faces"]]
            by: dict[int, list] = {}
            for f in probe["faces"]:
                if f["side"] == side:
                    by.setdefault(f["canvas"], []).append(f)
            counts = {"before": 0, "after": 0}
            for c in cs:
                faces = by.get(c["canvas"], [])
                best = max(faces, key=lambda f: f["score"])  # the face that decides, as pipeline.judged_side
                top, judged = best["score"], min(c["short_side"], best["face_px"])
                for name, crd in (("before", before), ("after", after)):
                    counts[name] += top >= crd.threshold_for(judged, photo=True, faces=len(faces))[0]
            n = max(1, len(cs))
            median = int(np.median([c["faces"] for c in cs])) if cs else 0
            print(
                f"| {side} | {len(cs)} | {median} | {counts['before']} ({counts['before'] / n:.1%}) | "
                f"{counts['after']} ({counts['after'] / n:.1%}) |"
            )
    if args.write:
        from detector.models.card import write_card_fields

        write_card_fields(args.card, {"many_faces": written})
        print(f"wrote many_faces ({len(written)} tiers) into {args.card}")
    return 0


def main(argv=None) -> int:
    p = probe_parser(__doc__.split("\n\n")[0])
    p.add_argument("--sides", type=int, nargs="+", default=list(SIDES), help="each photo's side in the canvas, px")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("--rows", type=int, default=2)
    p.add_argument("--fill", choices=("grey", "mirror"), default="grey", help="around each photo (see canvas)")
    p.add_argument("--json", default=None, help="score: write every face's score here")
    p.add_argument("--read", default=None, help="a probe JSON: print the tables")
    p.add_argument("--tier", default=None, help="an evaluate --json of held-out real photos: thresholds for n faces")
    p.add_argument("--max-faces", type=int, default=6, help="--tier: tiers for 2 to this many faces (more: its tier)")
    p.add_argument("--target", type=float, default=0.05, help="--tier: real n-face photos called fake, at most")
    p.add_argument("--draws", type=int, default=20000, help="--tier: random photos of n faces per half")
    p.add_argument("--canvases", default=None, help="--tier: a probe JSON of canvases to judge at the thresholds too")
    p.add_argument("--small", default=None, help="--tier: scripts/small_photo_probe.py's JSON, for smaller faces")
    sizes_option(
        p, "--sizes", "--tier with --small: tiers for photos judged under BELOW px, set on them shrunk to AT px"
    )
    p.add_argument("--write", action="store_true", help="--tier: write the tiers into --card as many_faces")
    args = p.parse_args(argv)
    if args.tier:
        return tier(args)
    if args.read:
        return read(args)
    return score_if_possible(p, args, score, "--read PROBE to read a probe")


if __name__ == "__main__":
    sys.exit(main())
