"""Files of the research data the shipped models trained on, known by their content, so that a report can say
when its input is one of them.

A teacher who uploads a FaceForensics++ clip and sees a confident, right verdict learns nothing about the model:
it may have trained on that very clip.  ``assets/seen_data.tsv`` lists the training files of the shared data by
size and a SHA-256 prefix of their bytes (no names, no pictures: nothing of the data itself), with their source
and class; the fixed held-out fifth of a photo folder (:func:`detector.data.datasets.held_out`) is left out, as no
training run uses it.  :func:`seen_warning` looks an input up (hashing it only when its size is listed) and names
the source when the model card says the model trained on it.

    python scripts/seen_data.py ../shared/data/ffpp ../shared/data/ffpp_c40 ../shared/data/faces_utk \\
        --out assets/seen_data.tsv
"""

from __future__ import annotations

__all__ = ["digest", "write_index", "read_index", "trained_sources", "seen_warning", "is_seen_warning", "SEEN_DATA"]

import hashlib
import os
import shlex
from functools import lru_cache
from pathlib import Path

from detector.constants import SHIPPED_MODELS, SOURCE_NAMES

SEEN_DATA = SHIPPED_MODELS.parent / "seen_data.tsv"
DIGEST_CHARS = 16  # 64 bits of SHA-256: no two of a few thousand files share them by chance
HEADER = "# size\tsha256 prefix\tsource\tclass"
SEEN_TEXT = "that this model was trained or validated on"  # what every seen_warning says


def digest(path: str | os.PathLike) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of the SHA-256 of the file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:DIGEST_CHARS]


def write_index(roots: list[str], out: str | os.PathLike) -> int:
    """Write the index of the training files under the data ``roots`` to ``out``; returns the number of rows."""
    from detector.data.datasets import held_out, read_datasets

    rows = sorted(
        {
            (os.path.getsize(it.path), digest(it.path), it.source or "data", it.label_name)
            for it in read_datasets(roots)
            if not held_out(it)
        }
    )
    Path(out).write_text(HEADER + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


@lru_cache(maxsize=4)
def read_index(path: str) -> dict[int, dict[str, list[tuple[str, str]]]]:
    """{size: {digest: [(source, class), ...]}} from an index file (one file's bytes may be in several sources, or
    both classes, under other names); empty when there is none (an install without it)."""
    index: dict[int, dict[str, list[tuple[str, str]]]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return index
    for line in lines:
        parts = line.split("\t")
        if line.startswith("#") or len(parts) != 4 or not parts[0].isdigit():
            continue
        index.setdefault(int(parts[0]), {}).setdefault(parts[1], []).append((parts[2], parts[3]))
    return index


def trained_sources(card) -> list[str] | None:
    """The data sources a card's model trained on, as ``train --train-sources`` names them (``ffpp``,
    ``ffpp_c40/real``, ``ffpp_c40:actors``...): the card's ``train_sources``, else every source under the data
    folders it was trained with (its config, or the ``--data`` of its training command); None when the card does
    not say (a peer model such as the MesoNet authors' weights)."""
    trained = getattr(card, "trained", None) or {}
    config = trained.get("config") or {}
    if config.get("train_sources"):
        return [str(s) for s in config["train_sources"]]
    roots = config.get("data") or _data_of(trained.get("command"))
    if not roots:
        return None
    names = [os.path.basename(os.path.normpath(str(r))) for r in ([roots] if isinstance(roots, str) else roots)]
    return names + [f"{n}:actors" for n in names]


def _data_of(command) -> list[str]:
    """The folders after ``--data`` in a training command line (``--data A B`` or ``--data=A``)."""
    try:
        words = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        return []
    for i, word in enumerate(words):
        if word.startswith("--data="):
            return [word.removeprefix("--data=")] if len(word) > len("--data=") else []
        if word == "--data":
            after = words[i + 1 :]
            return after[: next((j for j, w in enumerate(after) if w.startswith("-")), len(after))]
    return []


def seen_warning(path: str | os.PathLike, card, index_file: str | os.PathLike = SEEN_DATA) -> str | None:
    """A warning when the file at ``path`` is one the card's model trained on (by :func:`read_index`); else None."""
    sources = trained_sources(card)
    if not sources:
        return None
    try:
        size = os.path.getsize(path)
        same_size = read_index(str(index_file)).get(size)
        found = same_size.get(digest(path)) if same_size else None
    except OSError:
        return None
    trained = [
        (source, label)
        for wanted in sources  # in the card's order: its first source holding these bytes is named
        for source, label in found or []
        if wanted in (source, f"{source}/{label}")
    ]
    if not trained:
        return None
    source, label = trained[0]
    what = "photo" if source == "faces_utk" else "video"
    name = SOURCE_NAMES.get(source, source).removesuffix(" photos")  # "the real photos of UTKFace", once
    return (
        f"This {what} is one of the {label} {what}s of {name} {SEEN_TEXT}: its score shows what the model "
        "learned, not how it does on material it has never seen."
    )


def is_seen_warning(text: str) -> bool:
    """Whether a report's warning is :func:`seen_warning`'s (kept first when the warnings are worked out again)."""
    return SEEN_TEXT in text


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python scripts/seen_data.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", help="data folders, as train --data takes them")
    parser.add_argument("--out", default=str(SEEN_DATA), help="the index file (default: the shipped one)")
    args = parser.parse_args(argv)
    n = write_index(args.roots, args.out)
    print(f"{args.out}: {n} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
