"""The model card: a JSON file beside safetensors weights that says everything needed to use them.

    <folder>/efficientnet_lite0.json           <- the card
    <folder>/efficientnet_lite0.safetensors    <- its weights (or several members', for an ensemble)

Architecture name (:mod:`detector.models.registry`), input size, normalisation, class
order, the decision threshold and its "uncertain" band (how they were chosen:
``trained.calibration``), where the model came from (data, split, config, metrics),
and, for an ensemble, its members' weight files; for a temporal model (``temporal``), its sequence heads' file
and settings; where measured, a threshold of its own for videos smaller than the training clips (``small_video``)
and for photos smaller than the training photos (``small_photo``), and for photos with several faces
(``many_faces``).
Loading never unpickles anything: safetensors holds tensors only, and the card is JSON.  A card may only name weight
files that sit in its own folder (:func:`weights_path`).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path

from detector.constants import DEFAULT_THRESHOLD, FACE_MARGIN, IMAGENET_MEAN, IMAGENET_STD
from detector.errors import NoModelError

__all__ = ["ModelCard", "weights_path", "BadCardError", "NAME", "small_video_tiers", "write_card_fields"]

DTYPES = ("float32", "float16", "bfloat16")  # how a card's weights may be stored
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")  # a model's name is also its card's file name


class BadCardError(NoModelError):
    """A card that cannot be used: not JSON, an unknown architecture, weights outside its folder..."""


@dataclass
class ModelCard:
    name: str
    architecture: str
    input_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    classes: list[str] = field(default_factory=lambda: ["real", "fake"])  # order of the logits
    fake_class: str = "fake"
    threshold: float = DEFAULT_THRESHOLD  # video score >= threshold -> "fake"
    uncertain: list[float] | None = None  # [low, threshold): labelled "uncertain" (detector.evaluation.calibration)
    face_margin: float = FACE_MARGIN  # crop margin the model was trained with
    weights: str = ""  # file name of the safetensors beside the card
    members: list[str] = field(default_factory=list)  # an ensemble: its members' weight files (probabilities averaged)
    dtype: str = "float32"  # how the weights are stored
    default: bool = False  # the model scan and the app use when none is named
    trained: dict = field(default_factory=dict)  # data, split, config, calibration, wall time...
    metrics: dict = field(default_factory=dict)  # measured on data the model never trained on
    ranges: dict = field(default_factory=dict)  # what the training faces looked like (face size, blur...), for warnings
    notes: str = ""
    # a temporal model: a sequence head per member over its frame embeddings, per identity track
    # ({"head": "lstm"|"transformer", "weights": "<heads>.safetensors", "threshold": ..., ...}, see
    # detector.models.temporal); empty for a frame model
    temporal: dict = field(default_factory=dict)
    # thresholds of its own for videos smaller than the training clips, as a forwarded clip often is: one tier, or a
    # list of them, each {"below": short side in px, "threshold": ..., "uncertain": [low, threshold], "measured_at":
    # the size it was set on, "rule": how, ...} (scripts/forward_probe.py --small-video); empty where it has none
    small_video: dict | list = field(default_factory=dict)
    # the same for photos smaller than the training photos (a thumbnail, an avatar, a picture saved from a page): the
    # tiers' "below" is the photo's short side (scripts/small_photo_probe.py --tier); empty where it has none
    small_photo: dict | list = field(default_factory=dict)
    # thresholds of its own for photos with several faces, each judged on its own, where the photo is called fake if
    # any face is: with every face a chance of a false alarm, a photo of many real people gets one more often. A list
    # of tiers, each {"faces": from this many faces on, "threshold": ..., "uncertain": [low, threshold], "rule": how,
    # ...}, and "below" (px) for a tier of photos whose judged side is under it, set on smaller faces
    # (scripts/group_photo_probe.py --tier); empty where it has none
    many_faces: list = field(default_factory=list)
    # a threshold of its own for faces read as covered (a cup, a hand, a mask before the mouth and chin:
    # detector.inference.covers): {"threshold": ..., "share": the lower-face share over which a face is read as
    # covered, "rule": how, "measured": ...} (scripts/occlusion_probe.py --tier); a face read as covered that scores
    # under it makes no verdict fake (detector.inference.report.with_covered); empty where it has none
    covered: dict = field(default_factory=dict)
    # a threshold of its own for faces with text laid over them (a caption, a watermark: detector.inference.overlays):
    # {"threshold": ..., "rule": how, "measured": ...} (scripts/text_tier.py); a face under text that scores under it
    # makes no verdict fake on its own, one at or over it may (detector.inference.report.with_text_over); empty: a
    # face under text never makes a verdict fake on its own
    text_over: dict = field(default_factory=dict)

    @property
    def covered_threshold(self) -> float | None:
        """The threshold a face read as covered must reach to make a verdict fake (:attr:`covered`), or None."""
        return float(self.covered["threshold"]) if self.covered else None

    @property
    def text_threshold(self) -> float | None:
        """The threshold a face under text must reach to make a verdict fake (:attr:`text_over`), or None: never."""
        return float(self.text_over["threshold"]) if self.text_over else None

    @property
    def small_video_tiers(self) -> list[dict]:
        """The card's thresholds for small videos, smallest size first (:func:`small_video_tiers`)."""
        return small_video_tiers(self.small_video)

    @property
    def small_photo_tiers(self) -> list[dict]:
        """The card's thresholds for small photos, smallest size first (:func:`small_video_tiers`)."""
        return small_video_tiers(self.small_photo)

    def small_rule(self, short_side: int | None, photo: bool = False) -> dict | None:
        """The card's threshold and band for a video (or, with ``photo``, a photo) whose short side is
        ``short_side`` px: the smallest of its ``small_video`` (``small_photo``) tiers the file is below, else None
        (the card's own threshold applies)."""
        if not short_side:
            return None
        tiers = self.small_photo_tiers if photo else self.small_video_tiers
        return next((t for t in tiers if short_side < t["below"]), None)

    @property
    def many_faces_tiers(self) -> list[dict]:
        """The card's thresholds for photos with several faces, fewest faces first."""
        return sorted(self.many_faces or [], key=lambda t: t["faces"])

    def faces_rule(self, faces: int | None, short_side: int | None = None) -> dict | None:
        """The card's threshold and band for a photo whose ``faces`` faces are judged and whose judged side is
        ``short_side`` px: of the tiers for at most ``faces`` faces (and, where a tier names a size, for photos under
        it), the strictest; else None (one face, or a card without such tiers: its own threshold applies)."""
        if not faces or faces < 2:
            return None
        fits = [
            t
            for t in self.many_faces_tiers
            if faces >= t["faces"] and (t.get("below") is None or (short_side is not None and short_side < t["below"]))
        ]
        return max(fits, key=lambda t: t["threshold"]) if fits else None

    def small_video_rule(self, short_side: int | None) -> dict | None:
        """:meth:`small_rule` of a video."""
        return self.small_rule(short_side)

    def threshold_for(
        self, short_side: int | None, photo: bool = False, faces: int | None = None
    ) -> tuple[float, list[float] | None]:
        """The threshold and uncertain band that judge a video (or, with ``photo``, a photo) whose short side is
        ``short_side`` px (None: a size no rule is measured for) and, for a photo, whose ``faces`` faces are judged:
        the strictest of the rules that apply (:meth:`small_rule`, :meth:`faces_rule`), else the card's own; the
        band from the lowest of their edges (what one calls uncertain stays uncertain)."""
        rules = self._rules(short_side, photo, faces)
        if not rules:
            return float(self.threshold), self.uncertain
        rule = _strictest(rules)
        t = float(rule["threshold"])
        lows = [float(r["uncertain"][0]) for r in rules if r.get("uncertain")]
        return t, ([min(lows + [t]), t] if lows else rule.get("uncertain"))

    def _rules(self, short_side, photo, faces) -> list[dict]:
        small = self.small_rule(short_side, photo)
        many = self.faces_rule(faces, short_side) if photo else None
        return [r for r in (small, many) if r]

    def deciding_rule(self, short_side: int | None, photo: bool = False, faces: int | None = None) -> dict | None:
        """Which of the card's rules for small files and for photos with several faces judges the file (the
        strictest; a small file's on a tie), or None: the card's own threshold."""
        rules = self._rules(short_side, photo, faces)
        return _strictest(rules) if rules else None

    def is_own_threshold(self, threshold: float, tolerance: float = 1e-9) -> bool:
        """Whether ``threshold`` is one of the card's own (its threshold, or its small videos', small photos' or many
        faces'), within ``tolerance``: the app's slider, which shows the threshold that judged the last file, stands
        for the card's rule at either (an explicit threshold given to ``analyze`` counts as the card's only where it
        is the one that applies to the file)."""
        tiers = self.small_video_tiers + self.small_photo_tiers + self.many_faces_tiers
        own = [self.threshold] + [t["threshold"] for t in tiers]
        return any(abs(float(threshold) - float(t)) <= tolerance for t in own)

    @property
    def fake_index(self) -> int:
        return self.classes.index(self.fake_class)

    @property
    def calibrated(self) -> bool:
        """Whether the threshold was chosen on validation scores (reals the model never trained on, for a stated
        false-alarm rate: ``trained.calibration``), not a fixed 0.5 (the early baselines; the MesoNet authors'
        rule)."""
        cal = (self.trained or {}).get("calibration")
        if not isinstance(cal, dict):
            return False
        t = cal.get("threshold")
        # the threshold in use is the one calibrated, and reals were there to calibrate it on (with none,
        # calibrate_threshold falls back to 0.5 with no strata and no band)
        return (
            isinstance(t, (int, float))
            and not isinstance(t, bool)
            and abs(float(t) - float(self.threshold)) <= 1e-9
            and bool(cal.get("strata") or cal.get("uncertain"))
        )

    @property
    def weight_files(self) -> list[str]:
        """The weight files to load: the members of an ensemble, else the one file."""
        return list(self.members) or [self.weights]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> ModelCard:
        """Read a card; BadCardError (one line) for a file that is not one."""
        try:
            _check_plain_file(path)
            with open(path) as f:
                data = json.load(f)
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            missing = [
                k
                for k, f in cls.__dataclass_fields__.items()
                if k not in known and f.default is MISSING and f.default_factory is MISSING
            ]
            if missing:  # said as a card's fields, not as Python's "__init__() missing 3 required ..." (a review)
                raise ValueError(f"no {', '.join(missing)}: a model card names at least these")
            card = cls(**known)
            card.mean, card.std = tuple(card.mean), tuple(card.std)
            if not isinstance(card.name, str) or not NAME.fullmatch(card.name):
                raise ValueError(f"name {card.name!r}: letters, digits, '-' and '_' only")
            if not isinstance(card.weights, str) or not all(isinstance(m, str) for m in card.members):
                raise TypeError("weights and members are file names")
            if not isinstance(card.input_size, int) or not 8 <= card.input_size <= 1024:
                raise ValueError(f"input_size {card.input_size!r}")
            if card.temporal and (
                not isinstance(card.temporal, dict) or not isinstance(card.temporal.get("weights"), str)
            ):
                raise TypeError("temporal is an object naming its heads' weights file")
            _check_numbers(card)
            card.fake_index  # noqa: B018 -- the fake class must be one of the classes
        except RecursionError:  # JSON nested thousands deep: json.load recurses (found by a hostile-input review)
            raise BadCardError(f"{Path(path).name}: not a usable model card (nested too deep)") from None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            raise BadCardError(f"{Path(path).name}: not a usable model card ({str(e).splitlines()[0][:120]})") from None
        return card


def _strictest(rules: list[dict]) -> dict:
    """The rule with the highest threshold (the first of equals: a small file's before a photo's many faces')."""
    return max(rules, key=lambda r: float(r["threshold"]))


def write_card_fields(path: str | os.PathLike, fields: dict) -> None:
    """Set ``fields`` (top-level keys) in the card at ``path``, keeping the rest as it is: written beside it first and
    put in its place only once it loads as a card (a card that would not load leaves the old one as it was). What the
    probes' ``--write`` use to record thresholds they set (``small_video``, ``small_photo``, ``many_faces``)."""
    with open(path) as fh:
        raw = json.load(fh)
    raw.update(fields)
    part = f"{os.fspath(path)}.part"
    with open(part, "w") as fh:
        fh.write(json.dumps(raw, indent=2) + "\n")
    try:
        ModelCard.from_file(part)
    except Exception:
        os.remove(part)
        raise
    os.replace(part, path)


MAX_CARD_BYTES = 16 << 20  # a card is a few kB (the default's, with its tiers, about 40 kB): larger is not one


def _check_plain_file(path) -> None:
    """A card must be a regular file of at most :data:`MAX_CARD_BYTES`: a FIFO hung its reading, and a link to
    /dev/zero read until memory ran out (a hostile-input audit; a folder's every ``*.json`` is read as a card)."""
    import stat

    st = os.stat(path)  # OSError (no such file...) is said as the card's
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("not a regular file")
    if st.st_size > MAX_CARD_BYTES:
        raise ValueError(f"{st.st_size} bytes: far too large for a card")


def small_video_tiers(small_video: dict | list | None) -> list[dict]:
    """A card's ``small_video`` as a list of tiers, smallest size first: one tier may stand as an object (as in a
    card written before tiers, or a probe's record of one)."""
    tiers = [small_video] if isinstance(small_video, dict) else list(small_video or [])
    return sorted((t for t in tiers if t), key=lambda t: t["below"])


def _number(value, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float within [low, high]; ValueError (naming ``what``) otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ValueError(f"{what} {value!r}: a number from {low:g} to {high:g}")
    return float(value)


def _check_numbers(card: ModelCard) -> None:
    """The card's numbers are usable: three finite means and positive stds, a threshold and band within [0, 1]..."""
    for what, values, low in (("mean", card.mean, -1e3), ("std", card.std, 1e-6)):
        if len(values) != 3:
            raise ValueError(f"{what} {list(values)!r}: three numbers, one per colour channel")
        for v in values:
            _number(v, what, low, 1e3)
    card.threshold = _number(card.threshold, "threshold", 0.0, 1.0)
    card.uncertain = _band(card.uncertain, "uncertain")
    if card.temporal:  # the sequence verdict has its own threshold and band
        if "threshold" in card.temporal:
            card.temporal["threshold"] = _number(card.temporal["threshold"], "temporal.threshold", 0.0, 1.0)
        if "uncertain" in card.temporal:
            card.temporal["uncertain"] = _band(card.temporal["uncertain"], "temporal.uncertain")
    for key in ("small_video", "small_photo"):  # never more lenient towards "fake" than the card's own threshold,
        _check_tiers(card, key)  # nor than a larger size's
    _check_faces_tiers(card)  # nor than fewer faces'
    if card.covered:  # a face read as covered: never called fake more readily than a bare one
        if not isinstance(card.covered, dict):
            raise TypeError("covered is an object with a threshold")
        _check_tier_threshold(card, card.covered, "covered")
        from detector.inference.covers import COVER_SHARE

        share = card.covered.get("share", COVER_SHARE)
        if _number(share, "covered.share", 0.0, 1.0) != COVER_SHARE:  # the faces it was set on are those read so
            raise ValueError(
                f"covered.share {share}: set on faces read as covered over {COVER_SHARE}, as analyze reads"
            )
    else:
        card.covered = {}
    if card.text_over:  # a face under text: never called fake more readily than a bare one
        if not isinstance(card.text_over, dict):
            raise TypeError("text_over is an object with a threshold")
        _check_tier_threshold(card, card.text_over, "text_over")
    else:
        card.text_over = {}
    card.face_margin = _number(card.face_margin, "face_margin", 0.0, 4.0)
    if card.dtype not in DTYPES:
        raise ValueError(f"dtype {card.dtype!r}: one of {', '.join(DTYPES)}")
    classes = card.classes
    if not isinstance(classes, list) or len(classes) < 2 or len(set(map(str, classes))) != len(classes):
        raise ValueError(f"classes {card.classes!r}: two or more distinct names")


def _check_faces_tiers(card: ModelCard) -> None:
    """The card's ``many_faces`` tiers are usable: from 2 faces on, never below the card's threshold, never lower
    for more faces."""
    tiers = card.many_faces
    if not tiers:
        card.many_faces = []
        return
    if not isinstance(tiers, list) or not all(isinstance(t, dict) for t in tiers):
        raise TypeError("many_faces is a list of objects with faces, threshold and uncertain")
    for t in tiers:
        t["faces"] = int(_number(t.get("faces"), "many_faces.faces", 2, 10_000))
        if t.get("below") is not None:
            t["below"] = int(_number(t["below"], "many_faces.below", 16, 8192))
        _check_tier_threshold(card, t, "many_faces")
    for size in {t.get("below") for t in tiers}:  # each size's tiers (or those of any size)
        ordered = sorted((t for t in tiers if t.get("below") == size), key=lambda t: t["faces"])
        if len({t["faces"] for t in ordered}) != len(ordered):
            raise ValueError("many_faces: two tiers of one number of faces")
        if any(a["threshold"] > b["threshold"] for a, b in zip(ordered, ordered[1:])):
            raise ValueError("many_faces: more faces with a lower threshold than fewer")


def _check_tier_threshold(card: ModelCard, tier: dict, key: str) -> None:
    """One tier's threshold (never below the card's own) and band (ending at it), made usable in place."""
    tier["threshold"] = _number(tier.get("threshold"), f"{key}.threshold", card.threshold, 1.0)
    tier["uncertain"] = _band(tier.get("uncertain"), f"{key}.uncertain")
    if tier["uncertain"] and tier["uncertain"][1] != tier["threshold"]:
        raise ValueError(f"{key}.uncertain ends at {key}.threshold")


def _check_tiers(card: ModelCard, key: str) -> None:
    """The card's ``small_video`` or ``small_photo`` tiers are usable (see :func:`_check_numbers`)."""
    value = getattr(card, key)
    if not value:
        return
    tiers = [value] if isinstance(value, dict) else value
    if not isinstance(tiers, list) or not all(isinstance(t, dict) for t in tiers):
        raise TypeError(f"{key} is an object (or a list of them) with below, threshold and uncertain")
    for small in tiers:
        small["below"] = int(_number(small.get("below"), f"{key}.below", 16, 8192))
        _check_tier_threshold(card, small, key)
    ordered = sorted(tiers, key=lambda t: t["below"])
    if len({t["below"] for t in tiers}) != len(tiers):
        raise ValueError(f"{key}: two tiers of one size")
    if any(a["threshold"] < b["threshold"] for a, b in zip(ordered, ordered[1:])):
        raise ValueError(f"{key}: a smaller size's threshold below a larger one's")


def _band(band, what: str) -> list[float] | None:
    """An "uncertain" band: None (or an empty list) for none, else [low, high] within [0, 1]."""
    if band is None or (isinstance(band, (list, tuple)) and not band):
        return None
    if not isinstance(band, (list, tuple)) or len(band) != 2:
        raise ValueError(f"{what} {band!r}: two numbers [low, high]")
    low, high = (_number(v, what, 0.0, 1.0) for v in band)
    if low > high:
        raise ValueError(f"{what} {band!r}: low above high")
    return [low, high]


def weights_path(card: ModelCard, folder: str | os.PathLike, file: str | None = None) -> Path:
    """The path of one of ``card``'s weight files, which must be a plain safetensors file name in the card's own
    ``folder`` (never a path that leaves it, such as ``../../etc/passwd``): BadCardError otherwise."""
    name = file if file is not None else card.weights
    folder = Path(folder).resolve()
    if (
        not name
        or os.path.basename(name) != name
        or name in (".", "..")
        or "\\" in name
        or not name.endswith(".safetensors")
    ):
        raise BadCardError(f"{card.name}: the weights {name!r} must be a .safetensors file name in the card's folder")
    path = (folder / name).resolve()
    if path.parent != folder:
        raise BadCardError(f"{card.name}: the weights {name!r} lie outside the card's folder")
    return path
