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

:mod:`detector.data.splits` splits such a list by whole groups.

Never split frames or single videos: a fake and its real share background and
body, and a split that separates them leaks the answer.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from detector.constants import AGE_BANDS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from detector.errors import InputError

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
    target: str | None = None  # a fake's target: the absolute path of the real video it was made from, where the
    # layout says it (FF++ <target>_<source> -> original_sequences/youtube at the fake's compression, DFDC's
    # "original", a fake/ file with one real/ file of its stem), else None; a name: the file may not exist
    age_band: str | None = None  # the person's age band where the data names an age (UTKFace), for fairness tables
    sex: str | None = None  # "male" or "female" where the data names it (UTKFace's gender field), for fairness tables


Item = VideoItem  # a video or a photo

UTK_RACES = {"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "other"}
UTK_SEXES = {"0": "male", "1": "female"}
# <age>_<gender>_<race>_<date>.jpg.chip.jpg; two of the data's names lack the race (61_1_20170109142408075...)
_UTK_NAME = re.compile(r"^(\d+)_(\d)_(?:(\d)_)?\d{4,}")
STILL_HOLDOUT = 5  # one photo in STILL_HOLDOUT (by a hash of its file name) is never trained on: see held_out()


def held_out(item: VideoItem) -> bool:
    """Whether ``item`` is a photo of the fixed held-out part of a photo folder (one in STILL_HOLDOUT, chosen by a
    hash of the file name, so it is the same on every machine and in every run): training never uses it, in no
    fold; ``detector.evaluation.evaluate --split heldout`` measures false alarms on it."""
    return item.kind == "image" and zlib.crc32(os.path.basename(item.path).encode()) % STILL_HOLDOUT == 0


def age_band(age: int) -> str:
    """The band of :data:`~detector.constants.AGE_BANDS` an age in years falls in: ``34`` -> ``"20-39"``."""
    return [name for low, name in AGE_BANDS if age >= low][-1]


def population(path: str) -> dict:
    """The population labels a photo's file name gives (UTKFace's ``<age>_<gender>_<race>_<date>`` names):
    ``{"subgroup": "black", "age_band": "20-39", "sex": "female"}``; each None where the name gives none (any
    other file, or a field out of the data's code)."""
    m = _UTK_NAME.match(os.path.basename(str(path)))
    if not m:
        return {"subgroup": None, "age_band": None, "sex": None}
    age, sex, race = m.groups()
    return {"subgroup": UTK_RACES.get(race), "age_band": age_band(int(age)), "sex": UTK_SEXES.get(sex)}


def real_person(path: str) -> str | None:
    """Who a real FaceForensics++ video shows: ``.../original_sequences/youtube/c23/videos/183.mp4`` -> ``"183"``
    (its c40 twin too), ``.../original_sequences/actors/c23/videos/01__kitchen_pan.mp4`` -> ``"actor01"`` (every
    scene of an actor); None for anything else (a fake, a photo, another layout), whose person is not known."""
    p = Path(path)
    if "original_sequences/" not in p.as_posix():
        return None
    if "original_sequences/actors/" in p.as_posix():  # as _item tells an actor clip's source
        m = _DFD_REAL.match(p.stem)
        return f"actor{m.group(1)}" if m else None
    return p.stem if p.stem.isdigit() else None


def _item(root: Path, path: Path, label: int, group: str, method: str | None, target: Path | None = None) -> VideoItem:
    rel = path.relative_to(root).with_suffix("").as_posix()
    kind = "image" if path.suffix.lower() in IMAGE_EXTENSIONS else "video"
    source = root.name + (":actors" if "original_sequences/actors/" in path.as_posix() else "")
    named = population(path.name) if kind == "image" else {}
    return VideoItem(
        os.path.abspath(path),
        label,
        LABEL_NAMES[label],
        group,
        method,
        rel,
        kind,
        source,
        named.get("subgroup"),
        os.path.abspath(target) if target is not None else None,
        named.get("age_band"),
        named.get("sex"),
    )


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _is_media(path: Path) -> bool:
    """A video or a photo: a file with such a name, not hidden."""
    return path.is_file() and _named_media(path)


def _named_media(path: Path) -> bool:
    """A folder's entry under a video's or a photo's name, not hidden and not a folder: a named pipe, a dangling or
    looping link so named is listed too, to fail with its own one-line reason as a scan's do (an audit: evaluate left
    them out without a word and said "all 2 photos")."""
    return (
        path.suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
        and not path.name.startswith(".")
        and not path.is_dir()
    )


def _videos_below(folder: Path) -> list[Path]:
    """Every video and photo below ``folder``, sorted; a folder below it that cannot be read is an InputError (it
    was left out without a word, and an evaluation measured less than it said: a hostile-input review)."""

    def unreadable(err: OSError):
        raise InputError(f"{err.filename}: cannot be read ({err.strerror or err})")

    found = []
    for here, _, files in os.walk(folder, onerror=unreadable):
        found += [p for p in (Path(here) / f for f in files) if _named_media(p)]
    return sorted(found)


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
    return [
        _item(root, path, label, names[nodes[0]], method, _ffpp_target(root, path, method))
        for root, path, label, method, nodes in entries
    ]


def _ffpp_target(root: Path, path: Path, method: str | None) -> Path | None:
    """The real video a FaceForensics++ fake ``<target>_<source>`` was made from: ``<target>`` in
    ``original_sequences/youtube`` at the fake's compression (None for reals, DeepFakeDetection fakes, odd names)."""
    m = _PAIR.match(path.stem) if method and method != "DeepFakeDetection" else None
    if m is None:
        return None
    compression = path.parent.parent.name  # manipulated_sequences/<Method>/<c23>/videos/<a>_<b>.mp4
    return root / "original_sequences" / "youtube" / compression / "videos" / f"{m.group(1)}{path.suffix}"


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


def _no_repeated_keys(pairs: list[tuple]) -> dict:
    """A JSON object's pairs as a dict, refusing a key given twice (json.loads would keep the last without a word)."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise InputError(f"{key} is listed twice")
        seen[key] = value
    return seen


def read_dfdc(root: str | os.PathLike) -> list[VideoItem]:
    """DFDC-style folders: every ``metadata.json`` below ``root`` labels the videos (and photos) beside it.  A file
    listed but not there is skipped (a partial download); an entry that is not ``{label, original}``, a name that
    leads out of the metadata's folder, or a name listed twice is refused with a one-line :class:`InputError`."""
    root = Path(root)
    items: list[VideoItem] = []
    for meta_path in sorted(root.rglob("metadata.json")):
        try:
            meta = json.loads(meta_path.read_text(), object_pairs_hook=_no_repeated_keys)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{meta_path}: not a readable metadata.json ({e})") from None
        except RecursionError:
            raise InputError(f"{meta_path}: not a readable metadata.json (nested too deep)") from None
        except InputError as e:
            raise InputError(f"{meta_path}: {e}") from None
        if not isinstance(meta, dict):
            raise InputError(f"{meta_path}: expected a JSON object of file name -> {{label, original}}")
        for name, info in sorted(meta.items()):
            path = meta_path.parent / name
            if os.path.isabs(name) or os.path.normpath(name).split(os.sep)[0] in ("..", "."):
                raise InputError(f"{meta_path}: {name!r} is not a file in its folder (a name, not a path out of it)")
            if not _is_media(path):
                continue  # listed but not present (a partial download), or neither a video nor a photo
            if not isinstance(info, dict):
                raise InputError(f'{meta_path}: {name} has {info!r}, expected {{"label": "FAKE" or "REAL", ...}}')
            label_text = str(info.get("label", "")).upper()
            if label_text not in ("FAKE", "REAL"):
                raise InputError(f"{meta_path}: {name} has label {info.get('label')!r}, expected FAKE or REAL")
            label = FAKE if label_text == "FAKE" else REAL
            original = info.get("original") if label == FAKE else None
            if original is not None and not isinstance(original, str):
                raise InputError(f"{meta_path}: {name} has original {original!r}, expected a file name")
            group = Path(original).stem if original else path.stem
            target = meta_path.parent / str(original) if original else None
            items.append(_item(root, path, label, group, None, target))
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
    of real photos only); group = file stem.  A fake whose stem is that of exactly one real video is taken to be
    made from it (its ``target``)."""
    root = Path(root)
    items: list[VideoItem] = []
    below = {label: (folder, _videos_below(folder)) for label, folder in sorted(_label_dirs(root).items())}
    reals: dict[str, list[Path]] = defaultdict(list)
    for path in below.get(REAL, (None, []))[1]:
        reals[path.stem].append(path)
    for label, (folder, paths) in below.items():
        for path in paths:
            parts = path.relative_to(folder).parts
            method = parts[0] if label == FAKE and len(parts) > 1 else None
            same = reals.get(path.stem, []) if label == FAKE else []
            items.append(_item(root, path, label, path.stem, method, same[0] if len(same) == 1 else None))
    return items


def unique_ids(items: list[VideoItem]) -> list[VideoItem]:
    """``items`` with every id unique: files that differ only in their extension (``a.jpg`` and ``a.png``) would
    share the id ``a``; each of them keeps its extension in its id instead (``a.jpg``, ``a.png``)."""
    counts = Counter(it.id for it in items)
    return [replace(it, id=it.id + Path(it.path).suffix) if counts[it.id] > 1 else it for it in items]


def read_labelled_folder(root: str | os.PathLike, label: int) -> list[VideoItem]:
    """Every video and photo below ``root`` (any layout, or none), all with one ``label``: e.g. a folder of real
    clips from the wild for a false-alarm measure.  Group = file stem."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder" if not root.exists() else f"{root}: is a file, not a folder")
    items = [_item(root, p, label, p.stem, None) for p in _videos_below(root)]
    if not items:
        raise InputError(f"{root}: no videos or photos below it")
    return unique_ids(items)


# ---------------------------------------------------------------- detection

LAYOUTS = {"ffpp": read_ffpp, "dfdc": read_dfdc, "real_fake": read_real_fake}

_EXPECTED = (
    "FaceForensics++ (original_sequences/, manipulated_sequences/), DFDC (metadata.json), or real/ and fake/ folders"
)


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
    return unique_ids(items)


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
        raise InputError(
            f"{root}: looks like a {layout} dataset but holds no videos or photos "
            f"({', '.join(VIDEO_EXTENSIONS[:3])}, ...)"
        )
    return unique_ids(items)


def in_sources(item, names) -> bool:
    """Whether ``train --train-sources``'s ``names`` take ``item``: its source's name (a root folder's, e.g.
    ``ffpp``), or that name with one class, ``SOURCE/real`` or ``SOURCE/fake`` (``ffpp_c40/real``: its reals only)."""
    source = item.source or "data"
    return source in names or f"{source}/{item.label_name}" in names


__all__ = [
    "VideoItem",
    "in_sources",
    "Item",
    "held_out",
    "real_person",
    "read_datasets",
    "unique_ids",
    "UTK_RACES",
    "UTK_SEXES",
    "age_band",
    "population",
    "REAL",
    "FAKE",
    "read_dataset",
    "read_ffpp",
    "read_dfdc",
    "read_real_fake",
    "detect_layout",
    "LAYOUTS",
]
