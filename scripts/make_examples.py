"""Render the app's example clips into assets/examples/ (the app also does this on first start).

python scripts/make_examples.py            # only the missing ones
python scripts/make_examples.py --force    # render both again
python scripts/make_examples.py --teaching # also the teaching clips: the fake as forwarded, one swapped in part
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def main(argv: list[str] | None = None) -> int:
    from webapp.examples import EXAMPLES_DIR, ensure_examples, ensure_teaching

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(EXAMPLES_DIR), help="folder to write into (default: assets/examples)")
    parser.add_argument("--force", action="store_true", help="render again even if the clips exist")
    parser.add_argument(
        "--teaching",
        action="store_true",
        help="also the fake example as forwarded, and a clip swapped in its last third",
    )
    args = parser.parse_args(argv)
    made = ensure_examples(args.out, force=args.force)
    if args.teaching:
        made |= ensure_teaching(args.out, force=args.force)
    for kind, path in made.items():
        print(f"{kind}: {path}")
    missing = {"real", "fake"} - set(made)
    if missing:
        print(f"could not render: {', '.join(sorted(missing))} (see the warning above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
