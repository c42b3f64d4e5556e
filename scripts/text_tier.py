"""A threshold of its own for faces under text: from what real faces with captions and watermarks laid over them score.

Faces under text (a caption, a watermark: :mod:`detector.inference.overlays`) never made a verdict fake on their own,
since real faces under text score higher than bare ones; so a fake with a caption in every frame was at best
"uncertain", and a caption is cheap to add.  This sets the score from which such faces make a verdict fake, as every
other threshold is set: calibration's rule (at most 5% false alarms in every stratum,
:func:`~detector.evaluation.calibration.calibrate_threshold`) on real faces never trained on, each style of text a
stratum, and only the files where the text was found (the others are judged as bare faces are):

* held-out real UTKFace photos with text drawn over them (``scripts/circulation_probe.py --filters
  caption,caption_bold,agency,platform --skip 300``: not the photos quoted elsewhere), each filter a stratum;
* the 55 real clips with text burned in (``scripts/subtitle_probe.py --ways rule``: each scored out of fold), each
  style a stratum.

Never below the card's own threshold.  The clips' labels with it are cross-fitted: each clip at the threshold the
photos and the other folds' clips give (a ``wild_real`` clip: all the others), so no clip is judged at a threshold it
set.  ``--fakes`` (the same probe on the fakes) counts what the threshold gives back there.  ``--write`` records it
in ``--card`` as ``text_over``, where the report reads it (:func:`detector.inference.report.with_text_over`).

    python scripts/text_tier.py --photos runs/texttier/photos_calib.json --clips runs/texttier/clips_real.json \\
        --fakes runs/texttier/clips_fake.json [--write]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

import numpy as np

CARD = "assets/models/mnv2_tightpad.json"
TEXT_FILTERS = ("caption", "caption_bold", "agency", "platform", "stock")  # circulation_probe's filters that lay text


def photo_scores(path: str, model: str) -> dict[str, list[float]]:
    """{filter: [score]} of the photos in a circulation probe's JSON scored by ``model`` with text found, for the
    filters that lay text over the picture (:data:`TEXT_FILTERS`; on the others, text found is the finder's
    mistake)."""
    run = json.load(open(path))
    out = {}
    for key, got in run["rows"].items():
        name, by = key.split("|")
        if by == model and name in TEXT_FILTERS:
            out[f"photos {name}"] = [float(r[2]) for r in got if r[4] and r[2] is not None and np.isfinite(r[2])]
    return out


def clip_rows(path: str) -> tuple[list[dict], list[str]]:
    """The rows and styles of a subtitle probe's JSON."""
    run = json.load(open(path))
    return run["rows"], run["styles"]


def clip_scores(rows: list[dict], styles: list[str], keep=lambda r: True) -> dict[str, list[float]]:
    """{"clips <style>": [score]} of the real clips kept by ``keep`` with text found over a face."""
    return {
        f"clips {s}": [
            float(r[s]["score"])
            for r in rows
            if r["label"] == 0 and keep(r) and r.get(s, {}).get("text_frames") and np.isfinite(r[s]["score"])
        ]
        for s in styles
    }


def tier(strata: dict[str, list[float]], floor: float, target: float) -> float:
    """Calibration's rule on each of ``strata`` on its own (the lowest score with at most ``target`` of its reals at
    or over it), the highest of them, never below ``floor``."""
    from detector.evaluation.calibration import calibrate_threshold

    return max(
        [floor]
        + [
            float(calibrate_threshold([{"label": 0, "kind": "image", "s": s} for s in v], target, "s")["threshold"])
            for v in strata.values()
            if v
        ]
    )


def label_with(cell: dict, t: float, tt: float) -> str:
    """A probe cell's label once faces under text make a verdict fake from ``tt``: its "uncertain" over the
    threshold ``t`` becomes "fake" where text was found and the score reaches ``tt``
    (:func:`detector.inference.report.with_text_over`'s first test)."""
    if cell["label"] == "uncertain" and cell.get("text_frames") and cell["score"] >= max(tt, t):
        return "fake"
    return cell["label"]


def count(labels) -> str:
    c = collections.Counter(labels)
    return f"{c['fake']} / {c['uncertain']} / {c['real']}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", required=True, help="a circulation probe's JSON (photos with text drawn over them)")
    p.add_argument("--clips", required=True, help="a subtitle probe's JSON of the real clips (--ways rule)")
    p.add_argument("--fakes", help="the same probe's JSON of the fakes: what the threshold gives back there")
    p.add_argument("--card", default=CARD, help=f"the model card (default {CARD})")
    p.add_argument("--target", type=float, default=0.05, help="false alarms allowed in every stratum (default 5%%)")
    p.add_argument("--write", action="store_true", help="record the threshold in --card as text_over")
    args = p.parse_args(argv)
    from detector.models.card import ModelCard, write_card_fields

    card = ModelCard.from_file(args.card)
    t0 = float(card.threshold)
    photos = photo_scores(args.photos, card.name)
    rows, styles = clip_rows(args.clips)
    strata = {**photos, **clip_scores(rows, styles)}
    tt = tier(strata, t0, args.target)
    print(f"{card.name}: card's threshold {t0:.4f}; threshold for faces under text {tt:.4f}")
    print("| stratum (real, text found) | n | over the card's threshold | over the threshold for faces under text |")
    print("|---|---:|---:|---:|")
    for k, v in strata.items():
        s = np.asarray(v, float)
        print(f"| {k} | {len(s)} | {int((s >= t0).sum())} | {int((s >= tt).sum())} |")

    # the real clips, cross-fitted: each at the threshold the photos and the other folds' clips give
    folds = sorted({r["fold"] for r in rows if r["fold"] is not None})
    by_fold = {
        f: tier({**photos, **clip_scores(rows, styles, lambda r, f=f: r["fold"] != f)}, t0, args.target) for f in folds
    }
    by_fold[None] = tier({**photos, **clip_scores(rows, styles, lambda r: r["fold"] is not None)}, t0, args.target)
    print("\ncross-fitted thresholds by fold: " + ", ".join(f"{k}: {v:.4f}" for k, v in by_fold.items()))
    print("| clips | style | n | as the pipeline labelled them (fake / uncertain / real) | with the threshold |")
    print("|---|---|---:|---|---|")
    sets = [("real (cross-fitted)", [r for r in rows if r["label"] == 0], lambda r: by_fold[r["fold"]])]
    if args.fakes:
        fakes, fake_styles = clip_rows(args.fakes)
        sets.append(("fake", [r for r in fakes if r["label"] == 1], lambda r: tt))
    for name, sub, at in sets:
        for s in ("as_is", *styles):
            cells = [(r, r[s]) for r in sub if s in r]
            if not cells:
                continue
            before = [c["label"] for _, c in cells]
            after = [label_with(c, r["threshold"], at(r)) for r, c in cells]
            print(f"| {name} | {s} | {len(cells)} | {count(before)} | {count(after)} |")
            for (r, c), b, a in zip(cells, before, after):
                if a != b:
                    print(f"|   | {r['source']}/{r['method']}/{r['video']} | | {c['score']:.3f} {b} | {a} |")
    if args.write:
        write_card_fields(
            args.card,
            {
                "text_over": {
                    "threshold": round(tt, 6),
                    "target_false_alarms": args.target,
                    "rule": (
                        f"lowest score with at most {args.target:.0%} false alarms among real faces never trained on "
                        "with text laid over them and found, in every stratum (" + ", ".join(strata) + "; the clips "
                        "scored by the fold model that never trained on them, the photos by this card's models; "
                        "scripts/text_tier.py), never below the card's own threshold: a report whose score is under "
                        "it makes no verdict fake on faces under text alone"
                    ),
                    "measured": {
                        "photos": args.photos,
                        "clips": args.clips,
                        "found": {k: len(v) for k, v in strata.items()},
                        "cross_fitted": {str(k): round(v, 6) for k, v in by_fold.items()},
                    },
                }
            },
        )
        print(f"wrote text_over into {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
