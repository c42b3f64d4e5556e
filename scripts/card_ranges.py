"""Measure again the face-quality ranges a model card records (``ranges``: face size, sharpness, brightness, head
turn and the colour measures over the training faces), from the data roots it trained on, and write them into the card.

    python scripts/card_ranges.py assets/models/mnv2_c40_reals.json \
        --from ../shared/data/ffpp ../shared/data/ffpp_c40 ../shared/data/faces_utk

The report warns when a clip's faces fall outside these ranges ("larger than nearly all the model was trained
on"), so they must span every kind of face training saw.  :func:`detector.data.ranges.measure_ranges` draws the
items in turn from each source (FF++ c23, c40, the actor clips, the photos); cards made before it drew them at
random from all together, 19 photos to 1 video, and called the faces of 1080p clips too large.  Held-out photos
are left out, as training left them out, and so are the sources a card records it never trained on
(``trained.split.train_sources``).  Only the card's ``ranges`` change; several cards may be given (each measured at
its own face margin and sources; cards alike share one measurement).  Prints the old and the new ranges.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detector.errors import InputError
from detector.inference.quality import trained_away


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cards", nargs="+", help="model card JSON files to update")
    p.add_argument("--from", dest="roots", nargs="+", required=True, help="the data roots the models trained on")
    p.add_argument("--items", type=int, default=400, help="items to measure (default 400)")
    p.add_argument("--dry-run", action="store_true", help="print the new ranges, write nothing")
    args = p.parse_args(argv)
    if args.items < 1:
        print("error: --items must be at least 1", file=sys.stderr)
        return 2
    from detector.data.ranges import measure_ranges, training_items

    cards = {}
    for c in args.cards:
        try:
            data = json.loads(Path(c).read_text())
        except (OSError, ValueError) as e:
            print(f"error: {c}: not a readable model card ({e})", file=sys.stderr)
            return 2
        if not isinstance(data, dict) or "face_margin" not in data:
            print(f"error: {c}: not a model card (no face_margin)", file=sys.stderr)
            return 2
        cards[c] = data
    measured: dict[tuple, dict] = {}
    for path, data in cards.items():
        margin = float(data["face_margin"])
        trained = data.get("trained") if isinstance(data.get("trained"), dict) else {}
        split = trained.get("split") if isinstance(trained.get("split"), dict) else {}
        sources = tuple(split.get("train_sources") or ())  # a recipe that trained on some sources only
        key = (margin, sources)
        if key not in measured:
            try:
                items = training_items(args.roots, list(sources))
            except (InputError, OSError, ValueError) as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            measured[key] = measure_ranges(items, max_items=args.items, margin=margin)
        new = trained_away(measured[key], trained.get("config"))
        print(f"{path}\n  was {json.dumps(data.get('ranges'))}\n  now {json.dumps(new)}")
        if not args.dry_run:
            data["ranges"] = new
            Path(path).write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
