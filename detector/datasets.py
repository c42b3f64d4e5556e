"""Labelled video datasets on disk: read them into :class:`VideoItem` lists and split them by group.

Training and evaluation read their videos through :func:`read_dataset`, which
recognises three layouts:

* **FaceForensics++** (``original_sequences/`` and/or ``manipulated_sequences/``)::

      original_sequences/youtube/<c23>/videos/<id>.mp4                     real
      original_sequences/actors/<c23>/videos/<actor>__<scene>.mp4          real (DeepFakeDetection originals)
      manipulated_sequences/<Method>/<c23>/videos/<target>_<source>.mp4    fake, method = <Method>
      manipulated_sequences/DeepFakeDetection/<c23>/videos/<a>_<b>__<scene>__<code>.mp4

  Any compression folder (``raw``/``c0``, ``c23``, ``c40``) is read; mask folders are not.
  A fake ``<a>_<b>`` links ids ``a`` and ``b`` (its target's background and body,
  its source's face); a video's group is the connected component of linked ids,
  named by its sorted ids (``"033_097"``).  In the DeepFakeDetection subtree the
  ids are actors (``"actor01"``), since every scene of an actor shows the same person.
* **DFDC** folders with ``metadata.json`` (``{"x.mp4": {"label": "FAKE", "original":
  "y.mp4"}}``, one per part folder, any number of them): group = the original's
  name (without extension) for fakes, the video's own name for reals.
* **real/ + fake/** folders, videos at any depth below them: group = file stem (so
  ``real/clip7.mp4`` and ``fake/clip7.mp4`` go together); a fake inside a subfolder
  (``fake/<method>/x.mp4``) gets that subfolder as its method.

:func:`split_by_group` splits a list into train and validation by whole groups,
stratified so each side sees real videos and every manipulation method.

Never split frames or single videos: a fake and its real share background and
body, and a split that separates them leaks the answer.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import InputError
from .stills import IMAGE_EXTENSIONS
from .video import VIDEO_EXTENSIONS

REAL, FAKE = 0, 1
LABEL_NAMES = {REAL: "real", FAKE: "fake"}
FFPP_COMPRESSIONS = ("raw", "c0", "c23", "c40")


@dataclass(frozen=True)
class VideoItem:
    path: str  # absolute path of the video (or photo) file
    label: int  # 1 = fake, 0 = real
    label_name: str  # "fake" or "real"
    group: str  # videos sharing people or footage: always on the same side of a split
    method: str | None  # manipulation method of a fake when the layout says it (FF++ folder), else None
    id: str  # unique within the dataset: the path below the root, without extension
    kind: str = "video"  # "video" or "image" (a photo: a one-frame clip)
    source: str = ""  # which data set it comes from (the root folder's name; ":actors" for FF++ actor clips)
    subgroup: str | None = None  # a population label the data names (UTKFace's race field), for fairness tables


Item = VideoItem  # a video or a photo

UTK_RACES = {"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "other"}
_UTK_NAME = re.compile(r"^\d+_\d+_(\d)_\d+")  # <age>_<gender>_<race>_<date>.jpg.chip.jpg
STILL_HOLDOUT = 5  # one photo in STILL_HOLDOUT (by a hash of its file name) is never trained on: see held_out()


def held_out(item: VideoItem) -> bool:
    """Whether ``item`` is a photo of the fixed held-out part of a photo folder (one in STILL_HOLDOUT, chosen by a
    hash of the file name, so it is the same on every machine and in every run): training never uses it, in no
    fold; ``detector.evaluate --split heldout`` measures false alarms on it."""
    return item.kind == "image" and zlib.crc32(os.path.basename(item.path).encode()) % STILL_HOLDOUT == 0


def _item(root: Path, path: Path, label: int, group: str, method: str | None) -> VideoItem:
    rel = path.relative_to(root).with_suffix("").as_posix()
    kind = "image" if path.suffix.lower() in IMAGE_EXTENSIONS else "video"
    source = root.name + (":actors" if "original_sequences/actors/" in path.as_posix() else "")
    m = _UTK_NAME.match(path.name) if kind == "image" else None
    return VideoItem(os.path.abspath(path), label, LABEL_NAMES[label], group, method, rel, kind, source,
                     UTK_RACES.get(m.group(1)) if m else None)


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _is_media(path: Path) -> bool:
    return (path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
            and not path.name.startswith("."))


def _videos_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if _is_media(p))


# ---------------------------------------------------------------- FaceForensics++

_DFD_REAL = re.compile(r"^(\d+)__")  # 01__exit_phone_room
_DFD_FAKE = re.compile(r"^(\d+)_(\d+)__")  # 01_02__exit_phone_room__YVGY8LOK
_PAIR = re.compile(r"^([^_]+)_([^_]+)$")  # 033_097


class _Components:
    """Union-find over string ids."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def names(self) -> dict[str, str]:
        """id -> its component's name: the sorted ids joined by '_'."""
        members: dict[str, list[str]] = defaultdict(list)
        for x in self.parent:
            members[self.find(x)].append(x)
        return {x: "_".join(sorted(ms)) for ms in members.values() for x in ms}


def _ffpp_videos(subtree: Path) -> list[Path]:
    """Videos of one FF++ source (e.g. manipulated_sequences/Deepfakes) across compression folders."""
    out: list[Path] = []
    for comp in FFPP_COMPRESSIONS:
        folder = subtree / comp / "videos"
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir() if _is_video(p))
    return out


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def read_ffpp(*roots: str | os.PathLike) -> list[VideoItem]:
    """FaceForensics++ trees (see module docstring); fakes of ``<a>_<b>`` link ids a and b into one group.

    Several roots (e.g. the c23 and the c40 copies) are read together, so a video and its twin at another
    compression, which share their ids, fall in one group."""
    entries = [e for root in roots for e in _ffpp_entries(Path(root))]
    comps = _Components()
    for _, _, _, _, nodes in entries:
        for node in nodes:
            comps.union(nodes[0], node)
    names = comps.names()
    return [_item(root, path, label, names[nodes[0]], method) for root, path, label, method, nodes in entries]


def _ffpp_entries(root: Path) -> list[tuple[Path, Path, int, str | None, list[str]]]:
    """(root, path, label, method, linked ids) of every video of one FF++ tree."""
    entries: list[tuple[Path, Path, int, str | None, list[str]]] = []
    for source in _subdirs(root / "original_sequences"):
        actors = source.name == "actors"
        for path in _ffpp_videos(source):
            m = _DFD_REAL.match(path.stem) if actors else None
            node = f"actor{m.group(1)}" if m else (f"{source.name}:{path.stem}" if actors else path.stem)
            entries.append((root, path, REAL, None, [node]))
    for method_dir in _subdirs(root / "manipulated_sequences"):
        method = method_dir.name
        for path in _ffpp_videos(method_dir):
            if method == "DeepFakeDetection":
                m = _DFD_FAKE.match(path.stem)
                nodes = [f"actor{m.group(1)}", f"actor{m.group(2)}"] if m else [f"{method}:{path.stem}"]
            else:
                m = _PAIR.match(path.stem)
                nodes = [m.group(1), m.group(2)] if m else [f"{method}:{path.stem}"]
            entries.append((root, path, FAKE, method, nodes))
    return entries


# ---------------------------------------------------------------- DFDC

def read_dfdc(root: str | os.PathLike) -> list[VideoItem]:
    """DFDC-style folders: every ``metadata.json`` below ``root`` labels the videos beside it."""
    root = Path(root)
    items: list[VideoItem] = []
    for meta_path in sorted(root.rglob("metadata.json")):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{meta_path}: not a readable metadata.json ({e})") from None
        if not isinstance(meta, dict):
            raise InputError(f"{meta_path}: expected a JSON object of file name -> {{label, original}}")
        for name, info in sorted(meta.items()):
            path = meta_path.parent / name
            if not _is_video(path) or not isinstance(info, dict):
                continue  # listed but not present (a partial download), or not a video
            label_text = str(info.get("label", "")).upper()
            if label_text not in ("FAKE", "REAL"):
                raise InputError(f"{meta_path}: {name} has label {info.get('label')!r}, expected FAKE or REAL")
            label = FAKE if label_text == "FAKE" else REAL
            original = info.get("original") if label == FAKE else None
            group = Path(original).stem if original else path.stem
            items.append(_item(root, path, label, group, None))
    return items


# ---------------------------------------------------------------- real/ + fake/

def _label_dirs(root: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for d in _subdirs(root):
        name = d.name.lower()
        if name == "real":
            found[REAL] = d
        elif name == "fake":
            found[FAKE] = d
    return found


def read_real_fake(root: str | os.PathLike) -> list[VideoItem]:
    """``real/`` and ``fake/`` folders (videos or photos at any depth; either folder may be missing, e.g. a folder
    of real photos only); group = file stem."""
    root = Path(root)
    items: list[VideoItem] = []
    for label, folder in sorted(_label_dirs(root).items()):
        for path in _videos_below(folder):
            parts = path.relative_to(folder).parts
            method = parts[0] if label == FAKE and len(parts) > 1 else None
            items.append(_item(root, path, label, path.stem, method))
    return items


# ---------------------------------------------------------------- detection

LAYOUTS = {"ffpp": read_ffpp, "dfdc": read_dfdc, "real_fake": read_real_fake}

_EXPECTED = ("FaceForensics++ (original_sequences/, manipulated_sequences/), DFDC (metadata.json), "
             "or real/ and fake/ folders")


def detect_layout(root: str | os.PathLike) -> str | None:
    """'ffpp', 'dfdc', 'real_fake' or None."""
    root = Path(root)
    if (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir():
        return "ffpp"
    if _label_dirs(root):
        return "real_fake"
    if (root / "metadata.json").is_file() or next(root.rglob("metadata.json"), None) is not None:
        return "dfdc"
    return None


def read_datasets(roots: list[str | os.PathLike]) -> list[VideoItem]:
    """Every labelled video and photo under several roots (e.g. ``ffpp ffpp_c40 faces_utk``), as one list.

    FaceForensics++ trees are read together (:func:`read_ffpp`), so twins at two compressions share a group;
    other roots keep their own groups, prefixed by the root's name where two roots could clash."""
    roots = [Path(r) for r in roots]
    if len(roots) == 1:
        return read_dataset(roots[0])
    found = [_resolve_root(r) for r in roots]
    if len({r.resolve() for r, _ in found}) < len(found):
        raise InputError("the same data folder is named twice")
    ffpp = [r for r, lay in found if lay == "ffpp"]
    items = read_ffpp(*ffpp) if ffpp else []
    for r, lay in found:
        if lay != "ffpp":
            items += [replace(it, group=f"{r.name}/{it.group}") for it in LAYOUTS[lay](r)]
    if not items:
        raise InputError("no videos or photos in " + ", ".join(map(str, roots)))
    return items


def _resolve_root(root: Path) -> tuple[Path, str]:
    """(root, layout), descending one folder where the root itself has no layout; InputError if none."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder" if not root.exists() else f"{root}: is a file, not a dataset folder")
    layout = detect_layout(root)
    if layout is None:
        inner = [(d, detect_layout(d)) for d in _subdirs(root)]
        inner = [(d, lay) for d, lay in inner if lay]
        if len(inner) == 1:
            root, layout = inner[0]
    if layout is None:
        raise InputError(f"{root}: not a dataset layout this reads; expected {_EXPECTED}")
    return root, layout


def read_dataset(root: str | os.PathLike) -> list[VideoItem]:
    """Every labelled video under ``root``, its layout detected (also one folder down, e.g. ``data/ffpp``)."""
    root, layout = _resolve_root(Path(root))
    items = LAYOUTS[layout](root)
    if not items:
        raise InputError(f"{root}: looks like a {layout} dataset but holds no videos or photos "
                         f"({', '.join(VIDEO_EXTENSIONS[:3])}, ...)")
    return items


# ---------------------------------------------------------------- splitting

def _categories(items: list[VideoItem]) -> set[str]:
    """What a group teaches: 'real', and 'fake:<method>' for each kind of fake in it."""
    return {"real" if it.label == REAL else f"fake:{it.method}" for it in items}


def _coverage(val: set[str], cats: dict[str, set[str]]) -> int:
    """How many (category, side) pairs are present: each category wants a video on both sides."""
    val_cats = set().union(*(cats[g] for g in val)) if val else set()
    train_cats = set().union(*(cats[g] for g in cats if g not in val)) if len(val) < len(cats) else set()
    return len(val_cats) + len(train_cats)


def _cover_categories(val: set[str], order: list[str], cats: dict[str, set[str]]) -> None:
    """Move single groups across while that puts a missing category on a side without losing another."""
    score = _coverage(val, cats)
    improved = True
    while improved:
        improved = False
        for g in order:
            val.symmetric_difference_update({g})
            new = _coverage(val, cats)
            if new > score and 0 < len(val) < len(cats):
                score, improved = new, True
                break
            val.symmetric_difference_update({g})  # undo


def split_by_group(items: list[VideoItem], val_fraction: float = 0.2,
                   seed: int = 0) -> tuple[list[VideoItem], list[VideoItem]]:
    """(train, val): whole groups to one side, about ``val_fraction`` of the groups to validation.

    Deterministic for a given ``seed``.  Groups are stratified by what they hold
    (reals, and fakes of which methods), then, where one side would otherwise
    miss real videos or a manipulation method, a group holding it is moved over
    (only when the other side keeps one too).  The item order is kept.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    by_group: dict[str, list[VideoItem]] = defaultdict(list)
    for it in items:
        by_group[it.group].append(it)
    names = sorted(by_group)
    cats = {g: _categories(by_group[g]) for g in names}

    n_val = round(val_fraction * len(names))
    if val_fraction > 0 and len(names) >= 2:
        n_val = min(max(n_val, 1), len(names) - 1)

    rng = random.Random(seed)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for g in names:
        strata[tuple(sorted(cats[g]))].append(g)
    keys = sorted(strata)
    for k in keys:
        rng.shuffle(strata[k])

    # largest-remainder allocation of n_val over the strata
    share = {k: n_val * len(strata[k]) / len(names) for k in keys}
    quota = {k: math.floor(share[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(share[k] - quota[k]), -len(strata[k]), k))[: n_val - sum(quota.values())]:
        quota[k] += 1
    val = {g for k in keys for g in strata[k][: quota[k]]}
    order = [g for k in keys for g in strata[k]]  # the shuffled order, used to pick groups to move

    if n_val > 0:
        _cover_categories(val, order, cats)

    train = [it for it in items if it.group not in val]
    valid = [it for it in items if it.group in val]
    return train, valid


def fold_by_group(items: list[VideoItem], folds: int, seed: int = 0) -> list[list[VideoItem]]:
    """``folds`` disjoint lists of items, whole groups in each, together all the items: for cross-validation,
    where each fold in turn is the validation set of a run trained on the others.

    Deterministic for a given ``seed``.  Groups are dealt out stratum by stratum (what a group holds, as for
    :func:`split_by_group`), each to the fold with the fewest groups of its stratum so far, then the fewest
    videos, so each fold gets a share of every kind of group and about as many videos.  The item order is kept.
    """
    by_group: dict[str, list[VideoItem]] = defaultdict(list)
    for it in items:
        by_group[it.group].append(it)
    if not 2 <= folds <= len(by_group):
        raise ValueError(f"{folds} folds of {len(by_group)} groups: need 2 to {len(by_group)} folds")
    # a photo with a group of its own (a folder of photos: split by file) goes to a fold by a hash of its file
    # name, so thousands of photos neither change how the video groups are dealt nor depend on the seed
    fold_of: dict[str, int] = {}
    for g, members in list(by_group.items()):
        if len(members) == 1 and members[0].kind == "image":
            fold_of[g] = zlib.crc32(os.path.basename(members[0].path).encode()) // STILL_HOLDOUT % folds
            del by_group[g]
    rng = random.Random(seed)
    strata: dict[tuple, list[str]] = defaultdict(list)
    for g in sorted(by_group):
        strata[tuple(sorted(_categories(by_group[g])))].append(g)
    videos = [0] * folds
    for k in sorted(strata, key=lambda k: (-len(strata[k]), k)):  # the common kinds first
        rng.shuffle(strata[k])
        taken = [0] * folds
        for g in sorted(strata[k], key=lambda g: -len(by_group[g])):  # stable: the shuffle breaks size ties
            f = min(range(folds), key=lambda f: (taken[f], videos[f], f))
            fold_of[g] = f
            taken[f] += 1
            videos[f] += len(by_group[g])
    return [[it for it in items if fold_of[it.group] == f] for f in range(folds)]


__all__ = ["VideoItem", "Item", "held_out", "read_datasets", "UTK_RACES", "REAL", "FAKE", "read_dataset", "read_ffpp", "read_dfdc", "read_real_fake",
           "detect_layout", "split_by_group", "fold_by_group", "LAYOUTS"]
