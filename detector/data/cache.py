"""The crop cache, looked after: how big it is, and which of its entries can no longer be used.

    deepfake-lens cache                 # entries and size, by state
    deepfake-lens cache --prune -n      # what --prune would remove, removing nothing
    deepfake-lens cache --prune         # remove what can no longer be used

:func:`detector.data.crops.extract_crops` keys an entry by the SHA-1 of its source file's bytes (with the sampling
settings), so an entry is never read for a file whose bytes changed, and a data set copied, restored or mounted again
keeps its crops (a run records the new path); but nothing removes an entry no run can read again.  This finds them:

* ``current``: its source is at the path last recorded, with the bytes it was cut from (its size and modification
  time as recorded, or else the SHA-1 of its bytes);
* ``changed``: its source is there but its bytes changed since: no run reads the entry again;
* ``orphaned``: no file at the path last recorded, or something that is not a file (a data set moved: a run over it
  at its new place before ``--prune`` finds its entries again and records the new path);
* ``outdated``: written by an earlier version of the cache, whose keys no run makes any more;
* ``incomplete``: no readable ``meta.json`` (written last): an extraction that was killed, or one running now;
  only those untouched for an hour count as removable, so a running extraction is never pulled from under it;
* ``unreadable``: its source is there but cannot be read now (permissions, an I/O error, a mount gone stale);
* ``newer``: written by a newer version of the cache (another checkout sharing the folder).

``--prune`` removes the changed, orphaned, outdated and stale incomplete entries, and only folders whose name is a
cache key (20 hexadecimal digits): nothing else in the folder is touched; an unreadable or newer entry is kept.  Each
entry is judged again just before it goes, so one that a run has just found again (its new path recorded) stays;
still, prune when no training runs: a run that finds an entry after that check reads a folder that is going.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detector.constants import CROP_CACHE
from detector.data.crops import CACHE_VERSION, cut_of, source_fingerprint
from detector.errors import InputError

__all__ = ["STATES", "Entry", "entries", "survey", "prune", "main"]

STATES = ("current", "changed", "orphaned", "outdated", "incomplete", "unreadable", "newer")
REMOVABLE = ("changed", "orphaned", "outdated", "incomplete")
KEY = re.compile(r"^[0-9a-f]{20}$")  # detector.data.crops.cache_key's names
QUIET_SECONDS = 3600  # an incomplete entry untouched this long is a killed extraction, not a running one


@dataclass
class Entry:
    """One cache folder: its state, its size on disk, and the source it was cut from (None when unknown)."""

    path: Path
    state: str
    bytes: int
    source: str | None = None
    removable: bool = False


def _size(folder: Path) -> int:
    total = 0
    try:
        files = list(folder.iterdir())
    except OSError:  # removed meanwhile
        return 0
    for f in files:
        try:
            if f.is_file() and not f.is_symlink():
                total += f.stat().st_size
        except OSError:
            pass
    return total


def _state(folder: Path, now: float) -> tuple[str, str | None, bool]:
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        source = meta["video"]
        if not isinstance(source, str) or "\0" in source:
            raise TypeError(source)
    except (OSError, ValueError, KeyError, TypeError):
        try:
            quiet = now - folder.stat().st_mtime >= QUIET_SECONDS
        except OSError:
            quiet = False
        return "incomplete", None, quiet
    version = meta.get("version")
    if not isinstance(version, int) or version < CACHE_VERSION or not isinstance(meta.get("fingerprint"), str):
        return "outdated", source, True
    if version == CACHE_VERSION and meta.get("cut") != cut_of(source):  # faces cut the old way
        return "outdated", source, True
    if version > CACHE_VERSION:
        return "newer", source, False
    try:
        st = os.stat(source)
    except (FileNotFoundError, NotADirectoryError):
        return "orphaned", source, True
    except OSError:
        return "unreadable", source, False
    if not stat.S_ISREG(st.st_mode):  # a folder, pipe or device where the file was: never opened
        return "orphaned", source, True
    if meta.get("size") == st.st_size and meta.get("mtime") == int(st.st_mtime):
        return "current", source, False  # as recorded: its bytes are not read again
    try:
        same = source_fingerprint(source) == meta["fingerprint"]
    except InputError:  # it could be stat'ed but not read
        return "unreadable", source, False
    return ("current", source, False) if same else ("changed", source, True)


def entries(cache: str | os.PathLike = CROP_CACHE, now: float | None = None) -> Iterator[Entry]:
    """Every entry of ``cache`` (folders named as cache keys; anything else is left out), with its state.

    :param cache: the crop cache folder (default :data:`detector.constants.CROP_CACHE`)
    :param now: the time to judge an incomplete entry's age against (default: now)
    """
    now = time.time() if now is None else now
    root = Path(cache)
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if not KEY.match(folder.name) or folder.is_symlink() or not folder.is_dir():
            continue
        state, source, removable = _state(folder, now)
        yield Entry(folder, state, _size(folder), source, removable)


def survey(cache: str | os.PathLike = CROP_CACHE, now: float | None = None) -> dict:
    """Counts and bytes by state, and what ``prune`` would remove: ``{state: {entries, bytes}, ..., removable:
    {entries, bytes}, total: {entries, bytes}}``."""
    out = {s: {"entries": 0, "bytes": 0} for s in (*STATES, "removable", "total")}
    for e in entries(cache, now):
        for key in (e.state, "total", *(("removable",) if e.removable else ())):
            out[key]["entries"] += 1
            out[key]["bytes"] += e.bytes
    return out


def prune(cache: str | os.PathLike = CROP_CACHE, dry_run: bool = False, now: float | None = None) -> dict:
    """Remove the entries no run can read again (see the module's text); ``{entries, bytes, failed}`` removed, or
    that would be with ``dry_run``.  A folder that cannot be removed is counted in ``failed`` and left."""
    done = {"entries": 0, "bytes": 0, "failed": 0}
    for e in entries(cache, now):
        if not e.removable:
            continue
        if not dry_run and not _state(e.path, time.time() if now is None else now)[2]:
            continue  # a run found it again meanwhile (and recorded its new path), or an extraction began
        if not dry_run:
            try:
                shutil.rmtree(e.path)
            except OSError:
                done["failed"] += 1
                continue
        done["entries"] += 1
        done["bytes"] += e.bytes
    return done


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    from detector.cliargs import Parser, fail, printable

    p = Parser(
        prog="deepfake-lens cache",
        description="The face-crop cache of training and evaluation: its size by state, and --prune to remove the "
        "entries no run can read again (their source changed or is gone, an earlier cache version, or their "
        "extraction was killed)",
    )
    p.add_argument("--dir", default=None, help=f"the cache folder (default: $DEEPFAKE_CACHE or {CROP_CACHE})")
    p.add_argument(
        "--prune", action="store_true", help="remove the changed, orphaned, outdated and stale incomplete entries"
    )
    p.add_argument("-n", "--dry-run", action="store_true", help="with --prune: say what would go, remove nothing")
    p.add_argument("--json", action="store_true", help="print the survey (and what was pruned) as JSON")
    args = p.parse_args(argv)
    if args.dry_run and not args.prune:
        return fail("--dry-run goes with --prune")
    if args.dir is not None and not args.dir.strip():  # '' is not "the default": --prune must not reach another cache
        return fail("--dir: an empty folder name; leave --dir out for the default cache")
    cache = Path(args.dir) if args.dir is not None else CROP_CACHE
    if cache.exists() and not cache.is_dir():
        return fail(f"not a folder: {printable(str(cache))}")
    found = survey(cache)
    pruned = prune(cache, dry_run=args.dry_run) if args.prune else None
    if args.json:
        print(json.dumps({"cache": str(cache), "survey": found, **({"pruned": pruned} if pruned else {})}))
        return 0 if not (pruned and pruned["failed"]) else 1
    print(f"{printable(str(cache))}: {found['total']['entries']} entries, {_gb(found['total']['bytes'])}")
    for state in STATES:
        if found[state]["entries"]:
            print(f"  {state:<10} {found[state]['entries']:>7} entries  {_gb(found[state]['bytes'])}")
    if pruned is None:
        if found["removable"]["entries"]:
            print(f"--prune would remove {found['removable']['entries']} ({_gb(found['removable']['bytes'])})")
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {pruned['entries']} entries ({_gb(pruned['bytes'])})")
    if pruned["failed"]:
        print(f"error: {pruned['failed']} entries could not be removed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
