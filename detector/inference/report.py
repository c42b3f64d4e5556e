"""The one result type: :class:`Report`, and the rules that turn face scores into a verdict.

``Report.to_dict()`` is the JSON schema the CLI writes, the app offers for
download and the HTTP API returns::

    {"video": str, "score": float, "label": "fake"|"uncertain"|"real"|"unknown", "threshold": float,
     "uncertain": [low, threshold] or null,
     "frames": [{"index": int, "time": float,
                 "faces": [{"identity": int, "box": [x, y, w, h], "score": float}]}],
     "timings": {...}, ...,
     "sequence": {...},   (a temporal model only: sequence scores per identity track, see attach_sequence)
     "second_opinion": {"model", "score", "threshold", "uncertain", "label"}}   (a colour-filtered face only: the
                          verdict of a model trained with colour filters, see colour_second_opinion)

Images (crops, CAM maps) stay on the Python objects and are left out of JSON.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

from detector.constants import DEFAULT_FRAMES, FEW_FRAMES, SCORE_DECIMALS
from detector.inference.faces import Face

# ---------------------------------------------------------------- aggregation rules


def mean_rule(scores) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    return float(scores.mean()) if scores.size else float("nan")


# what a video's "close to the threshold" and "frame scores are split" warnings add (:func:`with_fragile`): 154 FF++
# and wild clips, each judged as it is and encoded once more (H.264 CRF 23) by a fold model of the default that never
# trained on it, at the card's threshold (docs/results.md "One more encode", scripts/reencode_probe.py): 10 of the 35
# clips with either warning changed label, 2 of the 119 without; every real clip called fake had one (3 as they were,
# 2 encoded once more), 15 of the 60 fakes called fake did (the confident rule's jump where 40% of the frames pass 0.8
# does much of it)
FRAGILE = (
    " Fragile: in a test of the default model, 10 of 35 clips with this warning changed label after one more encode "
    "(as an upload or a download does), against 2 of 119 without it, and every real clip it wrongly called fake had "
    "this warning. Treat such a verdict as uncertain and check the best copy you can find."
)


def confident_rule(scores, high: float = 0.8, low: float = 0.2) -> float:
    """The DFDC winner's rule (Seferbekov, 2020): trust the confident frames.

    If more than 40% of the frames (and more than 11 of them) score above ``high``,
    the video score is the mean of those; else, if over 90% score below ``low``, the
    mean of those; else the plain mean.  With fewer than 32 frames the 11-frame
    floor scales down proportionally.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.size
    if n == 0:
        return float("nan")
    fakes = int(np.count_nonzero(s > high))
    if fakes > n / 2.5 and fakes > 11 * min(1.0, n / 32):
        return float(s[s > high].mean())
    if np.count_nonzero(s < low) > 0.9 * n:
        return float(s[s < low].mean())
    return float(s.mean())


RULES = {"confident": confident_rule, "mean": mean_rule}
MAIN_SHARE = 0.25  # a person counts for the verdict when seen in at least this share ("a quarter") of the frames
RULE_TEXT = {
    "confident": "DFDC-winner confident-frames rule (mean of frames > 0.8 if over 40% are; "
    "mean of frames < 0.2 if over 90% are; else mean), then the highest-scoring identity",
    "mean": "mean over frames, then the highest-scoring identity",
}

# ---------------------------------------------------------------- results


FaceResult = Face  # one face of one frame: detected, scored and explained (see detector.inference.faces.Face)


@dataclass
class FrameResult:
    index: int
    time: float
    faces: list[FaceResult] = field(default_factory=list)
    # faces found in this frame but too small to judge (x, y, w, h each; pipeline.too_small): not scored, not in faces
    too_small: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def has_face(self) -> bool:
        """Whether a face was judged here (a face too small to judge is not)."""
        return bool(self.faces)

    def to_dict(self) -> dict:
        d = {
            "index": int(self.index),
            "time": round(float(self.time), 4),
            "faces": [f.to_dict() for f in self.faces],
        }
        if self.too_small:  # only where there were some: the JSON of every other frame is as before
            d["too_small"] = [[int(v) for v in box] for box in self.too_small]
        return d


@dataclass
class IdentityResult:
    identity: int
    frames: int  # sampled frames where this face appears
    score: float  # aggregated with the report's rule
    mean: float
    first_time: float
    last_time: float
    median_box_side: float

    def to_dict(self) -> dict:
        return {k: (round(v, SCORE_DECIMALS) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _software() -> str:
    from detector.provenance import software_version

    return software_version()


@dataclass
class Report:
    """What :func:`~detector.inference.pipeline.analyze` found in one video or photo: the input's score and label
    (:func:`verdict` against ``threshold`` and the ``uncertain`` band), every sampled frame with its faces (boxes,
    scores, heat maps where asked), the identities they were tracked into, the warnings that say how far to trust
    the verdict, timings and the input's facts. :meth:`to_dict` is its JSON form (``scan --json``)."""

    video: str
    score: float  # NaN when no face was found
    label: str  # "fake", "uncertain", "real" or "unknown" (no face): see verdict()
    threshold: float
    aggregation: str  # rule name, see RULES
    frames: list[FrameResult]
    identities: list[IdentityResult]
    timings: dict[str, float]  # seconds per stage: decode, detect, classify, explain, total
    model: str
    video_info: dict = field(default_factory=dict)
    scores_by_rule: dict[str, float] = field(default_factory=dict)  # video score under each rule
    warnings: list[str] = field(default_factory=list)  # why the verdict may not be trustworthy
    cam_method: str | None = None
    uncertain: list[float] | None = None  # [low, threshold): the band labelled "uncertain"
    frame_images: dict[int, np.ndarray] | None = field(default=None, repr=False)  # decoded frames, if kept
    # (height, width) of each kept frame as decoded: boxes are in these pixels when frame_images are kept smaller
    frame_shapes: dict[int, tuple[int, int]] | None = field(default=None, repr=False)
    sequence: dict | None = None  # a temporal model's sequence scores per identity track (see attach_sequence)
    # another model's verdict on the same faces, where colour filters mislead this one (see colour_second_opinion)
    second_opinion: dict | None = None
    # the card's lines for the tier that judges this file at the card's own threshold (small video, small photo, many
    # faces), said among the warnings only where that threshold judged; the threshold slider puts them back
    card_lines: list[str] = field(default_factory=list, repr=False)
    # the model card's threshold for faces read as covered (ModelCard.covered_threshold; None: the card has none):
    # under it, such faces make no verdict fake (with_covered)
    covered_threshold: float | None = None
    # the model card's threshold for faces under text (ModelCard.text_threshold; None: the card has none, and faces
    # under text never make a verdict fake on their own): under it, they make none (with_text_over)
    text_threshold: float | None = None
    # which deepfake-lens made it: its version and the fingerprint of the code that makes reports (a report shared
    # with an editor, or an archive's result, says which rules gave its verdict: detector.provenance)
    software: str = field(default_factory=_software)

    @property
    def faces(self) -> list[FaceResult]:
        return [f for fr in self.frames for f in fr.faces]

    @property
    def is_photo(self) -> bool:
        """Whether the input was a photo (a one-frame clip read by :mod:`detector.inference.stills`)."""
        from detector.inference.stills import is_photo_report

        return is_photo_report(self.video, self.video_info)

    @property
    def too_small_faces(self) -> int:
        """Faces found but too small to judge, over the sampled frames (each frame's ``too_small``)."""
        return sum(len(fr.too_small) for fr in self.frames)

    @property
    def all_too_small(self) -> bool:
        """Whether faces were found but every one was too small to judge (so none was scored): see
        :func:`all_too_small`."""
        return all_too_small(self.frames)

    @property
    def face_rate(self) -> float:
        """Share of sampled frames with at least one face."""
        return sum(fr.has_face for fr in self.frames) / len(self.frames) if self.frames else 0.0

    def to_dict(self) -> dict:
        """The JSON form: scores to :data:`SCORE_DECIMALS` decimals, ``null`` for no score (never NaN), no arrays
        (heat maps and frames are left out); the keys the README's "Command line" lists."""
        score = None if np.isnan(self.score) else round(float(self.score), SCORE_DECIMALS)
        return {
            "video": self.video,
            "score": score,
            "label": self.label,
            "threshold": self.threshold,
            "uncertain": self.uncertain,
            "aggregation": self.aggregation,
            "scores_by_rule": {
                k: (None if np.isnan(v) else round(v, SCORE_DECIMALS)) for k, v in self.scores_by_rule.items()
            },
            "model": self.model,
            "cam_method": self.cam_method,
            "frames": [fr.to_dict() for fr in self.frames],
            "identities": [i.to_dict() for i in self.identities],
            "face_rate": round(self.face_rate, 4),
            "warnings": list(self.warnings),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "video_info": self.video_info,
            **({"sequence": self.sequence} if self.sequence is not None else {}),
            **({"second_opinion": self.second_opinion} if self.second_opinion is not None else {}),
            **({"covered_threshold": self.covered_threshold} if self.covered_threshold is not None else {}),
            **({"text_threshold": self.text_threshold} if self.text_threshold is not None else {}),
            "software": self.software,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    def csv_rows(self) -> list[dict]:
        """One row per face, plus one row (empty face fields) per frame with no face (see :func:`csv_rows_of`)."""
        return csv_rows_of(self.to_dict())


CSV_FIELDS = [
    "video",
    "frame",
    "time",
    "identity",
    "x",
    "y",
    "w",
    "h",
    "score",
    "face_found",
    "video_score",
    "video_label",
    "threshold",
    "model",
    "sequence_score",  # a temporal model: the face's track's sequence score, and the face's contribution to it
    "contribution",
    "error",  # an input that could not be analysed: its one row says why (see error_entry)
    # the input's warnings, " | " between them, on each of its rows (a review: an archive team reading the CSV in a
    # spreadsheet never saw "a training file", "unlike the training faces" or the colour second opinion)
    "warnings",
    # the share of the face's crop under text laid over it (0: none found; faces under text alone make a "fake" only
    # from the card's threshold for them, never where it has none: with_text_over); last, so that the columns before
    # it keep their places
    "text_over",
    # the share of the face's lower face unlike its own skin where it was measured (detector.inference.covers; over
    # 0.3: read as covered, and under the card's threshold for covered faces never "fake" on its own: with_covered)
    "covered",
]


def error_entry(video: str, message: str, model: str | None = None) -> dict:
    """The JSON form of an input that could not be analysed, as a scan's ``--json`` lists it among the reports: every
    key of :meth:`Report.to_dict` (no score, label ``unknown``, nothing measured: null or empty; an audit: a reader's
    ``r["uncertain"]`` raised KeyError on it) and ``error``, the one-line reason.  A reader tells it from a report by
    its ``error`` key."""
    return {
        "video": video,
        "score": None,
        "label": "unknown",
        "threshold": None,
        "uncertain": None,
        "aggregation": None,
        "scores_by_rule": {},
        "model": model,
        "cam_method": None,
        "frames": [],
        "identities": [],
        "face_rate": 0.0,
        "warnings": [],
        "timings": {},
        "video_info": {},
        "software": _software(),
        "error": message,
    }


def csv_rows_of(report: dict) -> list[dict]:
    """CSV rows of one report's JSON form (:meth:`Report.to_dict`), so that reports read back from a JSONL file
    make the same CSV: one row per face, one per frame without a face, each with the video's score and label; an
    input that could not be analysed (:func:`error_entry`) is one row with its ``error``."""
    if "error" in report:
        return [
            {
                "video": report["video"],
                "video_label": "unknown",
                "model": report.get("model") or "",
                "face_found": 0,
                "error": report["error"],
            }
        ]
    video = {
        "video": report["video"],
        "video_score": "" if report["score"] is None else report["score"],
        "video_label": report["label"],
        "threshold": report["threshold"],
        "model": report["model"],
        "warnings": " | ".join(report.get("warnings") or []),
    }
    rows = []
    shares = {}  # (identity, frame) -> (the track's sequence score, the face's contribution)
    for t in (report.get("sequence") or {}).get("tracks", []):
        for index, c in zip(t["frames"], t["contributions"]):
            shares[(t["identity"], index)] = (t["score"], c)
    for fr in report["frames"]:
        base = {**video, "frame": fr["index"], "time": fr["time"]}
        if not fr["faces"]:
            rows.append({**base, "identity": "", "x": "", "y": "", "w": "", "h": "", "score": "", "face_found": 0})
        for f in fr["faces"]:
            x, y, w, h = f["box"]
            rows.append(
                {
                    **base,
                    "identity": f["identity"],
                    "x": x,
                    "y": y,
                    "w": w,
                    "h": h,
                    "score": f["score"],
                    "face_found": 1,
                    "text_over": f.get("text_over") or 0.0,
                    "covered": f.get("covered") or 0.0,
                }
            )
            if (f["identity"], fr["index"]) in shares:
                rows[-1]["sequence_score"], rows[-1]["contribution"] = shares[(f["identity"], fr["index"])]
    return rows


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula (a file named ``=HYPERLINK(...).png``: starting with
    = + - @, a tab or a carriage return) with a ``'`` before it, as OWASP advises; numbers and other text as they
    are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose every row is :func:`spreadsheet_safe`: what every CSV this project writes uses."""

    def writerow(self, rowdict):
        return super().writerow({k: spreadsheet_safe(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts):
        for row in rowdicts:
            self.writerow(row)


def write_csv(reports: list, fh) -> None:
    """Reports (:class:`Report` objects or their JSON dicts) as CSV; text cells are :func:`spreadsheet_safe`."""
    writer = SafeDictWriter(fh, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for r in reports:
        writer.writerows(r.csv_rows() if isinstance(r, Report) else csv_rows_of(r))


def csv_text(reports: list[Report]) -> str:
    buf = io.StringIO()
    write_csv(reports, buf)
    return buf.getvalue()


def agreeing_figures(score: float, bound: float) -> tuple[str, str]:
    """``score`` and ``bound`` printed to 3 decimals, or to as many more as it takes for the printed figures to
    compare as the raw ones do (0.9315 against 0.932064: "0.931" and "0.932"; 0.93204 against it: "0.9320" and
    "0.9321", never "0.932" twice): what every message that shows a score beside its threshold prints."""
    return tuple(figures_against(score, bound))


def figures_against(score: float, *bounds: float) -> list[str]:
    """``score`` and each of ``bounds`` printed alike, to 3 decimals or as many more as it takes for the score to
    compare with every bound as the raw figures do (:func:`agreeing_figures` against several bounds at once)."""
    d = _agreeing_decimals(score, bounds, 3)
    return [f"{score:.{d}f}"] + [f"{float(b):.{d}f}" for b in bounds]


def score_text(score: float, threshold: float, uncertain: list[float] | None = None, digits: int = 2) -> str:
    """``score`` printed to ``digits`` decimals, or to as many more as it takes to compare with the threshold and
    the uncertain band's lower edge, printed alike, as the raw figures do: a face at 0.9078 under a threshold of
    0.90793 reads "0.9078", not "0.91" (which reads as at the threshold, though the face is not called fake)."""
    bounds = [float(threshold)] + ([float(uncertain[0])] if uncertain else [])
    return f"{score:.{_agreeing_decimals(score, bounds, digits)}f}"


def _agreeing_decimals(score: float, bounds, digits: int) -> int:
    """The fewest decimals from ``digits`` (at most 12) at which ``score`` and every bound, printed so, compare as
    the raw figures do."""
    for d in range(digits, 12):
        if all((float(f"{score:.{d}f}") >= float(f"{b:.{d}f}")) == (score >= b) for b in bounds):
            return d
    return 12


def label_tally(labels) -> str:
    """How many of ``labels`` say what, in the order fake, uncertain, real, unknown ("no face judged"), those with
    none left out: "1 fake, 3 real, 1 no face judged" ("" for none)."""
    labels = list(labels)
    return ", ".join(
        f"{n} {'no face judged' if lab == 'unknown' else lab}"
        for lab in ("fake", "uncertain", "real", "unknown")
        if (n := labels.count(lab))
    )


def verdict(score: float, threshold: float, uncertain: list[float] | None = None) -> str:
    """The label of a score: "fake" at or above ``threshold``; "uncertain" in the band ``[low, threshold)`` the
    model card gives (scores a model cannot tell from its real validation faces' upper tail); else "real";
    "unknown" for no score (no face).  The raw score is compared, as calibration counted it: a calibrated threshold
    sits just above the highest real it lets through, which rounding the score first could lift onto it."""
    if score is None or np.isnan(score):
        return "unknown"
    if score >= threshold:
        return "fake"
    if uncertain and score >= min(float(uncertain[0]), threshold):
        return "uncertain"
    return "real"


def faces_where(frames, hit, counted=lambda f: True, single: bool | None = None) -> str:
    """Where among ``frames``' faces (those ``counted``) the ones ``hit`` says lie, as a warning names them: "the
    face" or "2 of the 3 faces" for one frame (``single``; default: one frame given), else "faces in 4 of the 30
    frames" (of the frames with a counted face)."""
    shown = [fr for fr in frames if any(counted(f) for f in fr.faces)]
    if len(frames) == 1 if single is None else single:
        faces = [f for fr in frames for f in fr.faces if counted(f)]
        return "the face" if len(faces) == 1 else f"{sum(hit(f) for f in faces)} of the {len(faces)} faces"
    return f"faces in {sum(any(counted(f) and hit(f) for f in fr.faces) for fr in shown)} of the {len(shown)} frames"


def band_at(threshold: float, card_threshold: float, card_band: list[float] | None) -> list[float] | None:
    """The uncertain band at ``threshold``.  At the card's own threshold, the card's band.  At another, the band
    keeps its lower edge (the score above which the model's validation reals stop being rare: calibration's rule
    at three times the false-alarm target) and ends at the new threshold, so that raising the threshold never turns
    an uncertain score into "real"; none where the threshold is at or below that edge, or the card has no band."""
    if not card_band:
        return None
    if float(threshold) == float(card_threshold):
        return [float(card_band[0]), float(card_band[1])]
    low = float(card_band[0])
    return [low, float(threshold)] if low < float(threshold) else None


def main_identities(identities: list[IdentityResult], frames: list[FrameResult], share: float = MAIN_SHARE) -> set[int]:
    """The identities a video's verdict counts: those seen in at least ``share`` of the frames with a face (so a
    one-frame false detection cannot decide alone).  Empty where tracking broke every face into short tracks:
    the verdict then pools all faces (:func:`summarise`, :func:`attach_sequence`)."""
    with_face = sum(fr.has_face for fr in frames)
    return {i.identity for i in identities if i.frames >= share * with_face}


# a clip manipulated in part: the video score rests on every sampled frame, so a swapped stretch of a third of the
# clip (12 of 32 frames at 1.00) read "real" 0.383 under the confident rule's 40% (a teacher's audit), and its label
# turned with the number of frames sampled. A run of at least SEGMENT_MIN sampled frames in a row, and an eighth of
# the person's, each scoring over SEGMENT_HIGH (the confident rule's "high"), keeps the verdict from "real". Of the
# 55 real clips out of fold (scripts/reencode_probe.py, as they are and encoded once more) none called real had such a
# run (the longest: 3 frames of 22 and of 32); FF++ fakes are manipulated throughout, so none was changed by it
SEGMENT_HIGH = 0.8
SEGMENT_MIN = 4
SEGMENT_SHARE = 1 / 8
PART_FAKE = "Part of the clip scores strongly fake"  # how the warning of such a stretch starts


def fake_segment(report: Report, threshold: float | None = None) -> dict | None:
    """The longest run of consecutive sampled frames (in time; a frame without the person does not break it) in
    which one main person's face scores over :data:`SEGMENT_HIGH` and the threshold (``threshold``, or the
    report's), where it is at least :data:`SEGMENT_MIN` frames and :data:`SEGMENT_SHARE` of that person's:
    ``{"identity", "frames", "start", "end", "over"}`` (times in s; ``over``, the score the frames passed), else None.
    None for a photo (one frame)."""
    if report.is_photo or not report.identities:
        return None
    high = max(SEGMENT_HIGH, float(report.threshold if threshold is None else threshold))
    ids = main_identities(report.identities, report.frames)  # none (tracking broke every face apart): no person
    # to follow, and a short side track (a background false detection) is no stretch of the clip
    best = None
    for ident in sorted(ids):
        seen = [(fr.time, f.score) for fr in report.frames for f in fr.faces if f.identity == ident]
        run: list[float] = []
        for t, score in seen + [(None, 0.0)]:
            if t is not None and score > high:
                run.append(t)
                continue
            if len(run) >= max(SEGMENT_MIN, SEGMENT_SHARE * len(seen)) and (best is None or len(run) > best["frames"]):
                best = {"identity": ident, "frames": len(run), "start": run[0], "end": run[-1], "over": high}
            run = []
    return best


# real portraits cut out as an oval on a transparent ground (shown on white): 92 of 150 held-out photos called fake
# by the default, against 5 of the same photos as they are (docs/results.md "Cut-out photos")
CUT_OUT_FAKE = "92 of 150 real portraits cut out so were called fake"


def is_cut_out(report: Report) -> bool:
    """Whether ``report`` is of a photo with transparent parts (a cut-out: its background removed)."""
    return bool((report.video_info or {}).get("transparent")) and report.is_photo


def with_cut_out(label: str, report: Report) -> str:
    """``label``, or "uncertain" where it is "fake" and the photo is a cut-out (:func:`is_cut_out`): a cut-out is an
    edit of its own, and real ones were called fake more often than not (:data:`CUT_OUT_FAKE`)."""
    return "uncertain" if label == "fake" and is_cut_out(report) else label


TEXT_FREE_FACES = 4  # a video identity's faces without text over them that can carry a "fake" verdict on their own
TEXT_FREE_SHARE = 0.5  # ...and the least share of its faces they must be (text missed in a captioned frame or two)


def free_score(report: Report, found, threshold: float | None = None) -> float | None:
    """The video score (the report's rule, over its main identities as :func:`summarise` takes them) of the faces
    nothing holds back (text over them, or a cover before the mouth under its own threshold on a face that reaches
    ``threshold``, the report's by default: :func:`held_back`), each identity counted only where such faces are at
    least :data:`TEXT_FREE_FACES` and :data:`TEXT_FREE_SHARE` of its faces (a photo's faces: each on its own); None
    where ``found`` (one kind of holding back) holds back no face, nan where too few were free.  Both kinds are left
    out whichever is asked about: a face under text must not carry a "fake" that covered faces could not, nor the
    other way round (a review).  A covered face under ``threshold`` makes nothing fake and is not held back: the
    slider measures faces the analysis never looked at, and holding those back would change a verdict on a round trip
    (a review)."""
    t = report.threshold if threshold is None else threshold
    faces = [f for fr in report.frames for f in fr.faces]
    held = lambda f: held_back(f) if f.text_over or f.score >= t else 0.0  # noqa: E731
    if not any(found(f) and held(f) for f in faces):
        return None
    need = 1 if report.is_photo else TEXT_FREE_FACES
    rule = RULES.get(report.aggregation, RULES["confident"])
    main = main_identities(report.identities, report.frames, MAIN_SHARE)
    groups = [[f for f in faces if f.identity == i] for i in sorted(main)] if main else [faces]
    free = [([f.score for f in g if not held(f)], len(g)) for g in groups]
    scores = [rule(s) for s, n in free if len(s) >= max(need, TEXT_FREE_SHARE * n)]
    return max(scores) if scores else float("nan")


def text_free_score(report: Report, threshold: float | None = None) -> float | None:
    """:func:`free_score` where text was found over a face (``face.text_over``)."""
    return free_score(report, lambda f: f.text_over, threshold)


def under_text(face) -> bool:
    """Whether text laid over ``face`` holds it back: found (``text_over``), and the face scores under the model
    card's threshold for faces under text (not ``text_cleared``: :func:`clear_text`)."""
    return bool(face.text_over) and not getattr(face, "text_cleared", False)


def clear_text(report: Report) -> None:
    """Mark each face of ``report`` under text as ``text_cleared`` (the text does not hold it back: :func:`held_back`)
    where the report's score reaches the card's threshold for faces under text (``text_threshold``; None: none) and so
    does the face's own: the threshold was set on the scores of whole clips and photos (scripts/text_tier.py), so a
    clip whose score is under it is never made fake by a few of its faces over it."""
    tt = report.text_threshold
    for f in report.faces:
        f.text_cleared = tt is not None and bool(f.text_over) and report.score >= tt and f.score >= tt


def uncovered_score(report: Report, threshold: float | None = None) -> float | None:
    """:func:`free_score` where a face reaching ``threshold`` is read as covered under the card's threshold for
    covered faces (``face.covered_under``)."""
    return free_score(report, lambda f: getattr(f, "covered_under", False), threshold)


def held_back(face) -> float:
    """What keeps ``face`` from "fake" on its own, as :func:`face_label`'s ``held`` takes it: the share of its crop
    under text (``text_over``) where the text holds it back (:func:`under_text`: it scores under the card's threshold
    for faces under text), else 1 where it is read as covered and scores under the card's threshold for covered
    faces (``covered_under``), else 0."""
    text = float(face.text_over) if under_text(face) else 0.0
    return text or (1.0 if getattr(face, "covered_under", False) else 0.0)


def with_covered(label: str, report: Report, threshold: float | None = None) -> str:
    """``label``, or "uncertain" where it is "fake", faces the report rests on are read as covered and score under
    the model card's threshold for covered faces (``face.covered_under``; something before the mouth and chin:
    :mod:`detector.inference.covers`), and neither the report's score reaches that threshold (``covered_threshold``,
    never below ``threshold``, the report's; not where a face is under text: its score might carry it) nor the faces
    nothing holds back score over ``threshold`` on their own (:func:`uncovered_score`): covered real faces score high
    (a cup before the mouth made the default call a third of 200 real photos fake), and the card's threshold was set
    on bare ones.  A card without such a threshold: ``label``."""
    if label != "fake" or report.covered_threshold is None:
        return label
    t = report.threshold if threshold is None else threshold
    free = uncovered_score(report, t)
    if free is None:  # no face held back by a cover
        return label
    texted = any(under_text(f) for f in report.faces)
    if not texted and report.score >= max(float(report.covered_threshold), t):
        return label
    return label if free >= t else "uncertain"


def covered_made_uncertain(report: Report) -> bool:
    """Whether ``report`` is "uncertain" for the covered faces it rests on (:func:`with_covered`) and not for text
    over them (:func:`text_made_uncertain` says that first): its score is over its threshold."""
    return (
        report.label == "uncertain"
        and report.score >= report.threshold
        and with_text_over("fake", report) == "fake"
        and with_covered("fake", report) != "fake"
    )


def with_text_over(label: str, report: Report, threshold: float | None = None) -> str:
    """``label``, or "uncertain" where it is "fake" and the faces that make it so had text laid over them (found:
    :mod:`detector.inference.overlays`): the models never trained on such faces, and captions over the chin made real
    clips "fake" (docs/results.md "Text laid over the face"). A "fake" stands where the faces free of text score over
    ``threshold`` (the report's) on their own (:func:`text_free_score`), or where the model card sets a threshold for
    faces under text (``text_threshold``, set on the scores of real photos and clips with captions and watermarks laid
    over them) and the report's score reaches it (and ``threshold``)."""
    if label != "fake":
        return label
    t = report.threshold if threshold is None else threshold
    if report.text_threshold is not None and report.score >= max(float(report.text_threshold), t):
        return label
    free = text_free_score(report, t)
    return label if free is None or free >= t else "uncertain"


def text_made_uncertain(report: Report) -> bool:
    """Whether ``report`` is "uncertain" only for the text over its faces (:func:`with_text_over`): its score is over
    its threshold."""
    return report.label == "uncertain" and report.score >= report.threshold and with_text_over("fake", report) != "fake"


def with_segment(label: str, report: Report, threshold: float | None = None) -> str:
    """``label``, or "uncertain" where it is "real" and part of the clip scores strongly fake at ``threshold`` (or
    the report's: :func:`fake_segment`)."""
    return "uncertain" if label == "real" and fake_segment(report, threshold) else label


def sequence_label(label: str, report: Report) -> str:
    """A temporal model's sequence ``label`` under the frame level's rules on ``report``: never "fake" on faces
    under text alone (:func:`with_text_over`) or covered ones under their threshold (:func:`with_covered`, on the
    frame score), never "real" where a stretch of the clip scores strongly fake (:func:`with_segment`; the sequence
    head reads whole tracks, and a short swapped stretch can sink in one)."""
    return with_segment(with_covered(with_text_over(label, report), report), report)


def segment_made_uncertain(report: Report) -> dict | None:
    """The stretch (:func:`fake_segment`) where it is what keeps ``report`` from "real": its score alone would say
    real at its threshold and band. None otherwise (a clip in the band or over the threshold keeps its own label and
    is not told of a stretch: 2 of the 55 real clips in the band had one)."""
    if verdict(report.score, report.threshold, report.uncertain) != "real":
        return None
    return fake_segment(report)


def is_pooled(report: Report, share: float = MAIN_SHARE) -> bool:
    """Whether ``report``'s video score pooled every face (tracking followed no identity through ``share`` of the
    frames with a face) instead of taking the most fake main identity."""
    return bool(report.identities) and not main_identities(report.identities, report.frames, share)


def rule_text(report: Report) -> str:
    """How ``report``'s rule made its video score, in words (:data:`RULE_TEXT`, or the pooled fallback's)."""
    text = RULE_TEXT.get(report.aggregation, report.aggregation)
    if is_pooled(report):
        text = text.replace(", then the highest-scoring identity", "")
        text += ", over all faces together (no identity was followed through a quarter of the frames with a face)"
    return text


def summarise(
    video: str,
    frames: list[FrameResult],
    *,
    threshold: float,
    rule: str = "confident",
    model: str = "",
    timings: dict | None = None,
    video_info: dict | None = None,
    cam_method: str | None = None,
    min_identity_share: float = MAIN_SHARE,
    uncertain: list[float] | None = None,
    ranges: dict | None = None,
    covered_threshold: float | None = None,
    text_threshold: float | None = None,
) -> Report:
    """Aggregate face scores into identity and video scores, and note what makes the verdict shaky.

    An identity's score is ``rule`` over its faces.  The video score is the highest
    identity score among identities seen in at least ``min_identity_share`` of the
    frames that have a face (so a one-frame false detection cannot decide alone);
    a video is fake if any such person is.  Where no identity is seen that often (tracking
    broke the faces into short tracks), the video score is ``rule`` over all the faces
    together, and a warning says so.
    """
    if rule not in RULES:
        raise ValueError(f"unknown aggregation rule {rule!r}; known: {', '.join(RULES)}")
    by_id: dict[int, list[tuple[float, FaceResult]]] = {}
    for fr in frames:
        for f in fr.faces:
            by_id.setdefault(f.identity, []).append((fr.time, f))
    identities = []
    for ident, items in sorted(by_id.items()):
        scores = [f.score for _, f in items]
        identities.append(
            IdentityResult(
                identity=ident,
                frames=len(items),
                score=RULES[rule](scores),
                mean=mean_rule(scores),
                first_time=min(t for t, _ in items),
                last_time=max(t for t, _ in items),
                median_box_side=float(np.median([max(f.box[2], f.box[3]) for _, f in items])),
            )
        )
    main_ids = main_identities(identities, frames, min_identity_share)
    main = [i for i in identities if i.identity in main_ids]
    scores_by_rule = {}
    for name, fn in RULES.items():
        if main:
            scores_by_rule[name] = max(fn([f.score for _, f in by_id[i.identity]]) for i in main)
        elif identities:  # tracking broke every face apart: the rule over all faces, not the single most fake
            scores_by_rule[name] = fn([f.score for items in by_id.values() for _, f in items])
        else:
            scores_by_rule[name] = float("nan")
    score = scores_by_rule[rule]
    label = verdict(score, threshold, uncertain)
    report = Report(
        video=video,
        score=score,
        label=label,
        threshold=threshold,
        aggregation=rule,
        frames=frames,
        identities=identities,
        timings=dict(timings or {}),
        model=model,
        video_info=dict(video_info or {}),
        scores_by_rule=scores_by_rule,
        cam_method=cam_method,
        uncertain=list(uncertain) if uncertain else None,
        covered_threshold=covered_threshold,
        text_threshold=text_threshold,
    )
    report.label = with_segment(label, report)  # a stretch of the clip scoring strongly fake: never "real"
    report.label = with_covered(report.label, report)  # covered faces under their own threshold: never "fake" alone
    report.warnings = trust_warnings(report, ranges=ranges)
    if identities and not main:
        report.warnings.insert(
            0,
            f"The faces could not be followed from frame to frame ({len(identities)} short tracks, none in a quarter "
            "of the frames with a face: far-apart frames, cuts or fast motion); the score pools every face found, "
            "whoever it is.",
        )
    return report


def attach_sequence(
    report: Report,
    tracks: list[dict],
    threshold: float,
    uncertain: list[float] | None = None,
    min_identity_share: float = MAIN_SHARE,
) -> dict:
    """Put a temporal model's track scores on ``report.sequence`` (and return it)::

        {"score": float, "label": str, "threshold": float, "uncertain": [low, threshold] or null,
         "tracks": [{"identity": int, "score": float, "frame_score": float, "frames": [frame index...],
                     "weights": [...], "contributions": [...]}]}

    ``tracks``: {identity, score, frames, weights, contributions} per identity (the sequence head's output on
    its faces in frame order).  A track's ``frame_score`` is its identity's score under the report's rule; the
    sequence ``score`` of the video is the highest track score among the identities the frame score counts
    (:func:`main_identities`); where there is none (tracking broke the faces into short tracks), it pools every
    track, each weighted by its number of faces, as the frame score pools every face, and ``pooled`` is true.
    Its label: that score at the sequence threshold (the card's ``temporal.threshold``).  The report's own score
    and label stay the frame model's."""
    frame_score = {i.identity: i.score for i in report.identities}
    main = main_identities(report.identities, report.frames, min_identity_share)
    rows = [
        {
            "identity": int(t["identity"]),
            "score": round(float(t["score"]), SCORE_DECIMALS),
            "frame_score": round(float(frame_score.get(t["identity"], float("nan"))), SCORE_DECIMALS),
            "frames": [int(i) for i in t["frames"]],
            "weights": [round(float(w), SCORE_DECIMALS) for w in t["weights"]],
            "contributions": [round(float(c), SCORE_DECIMALS) for c in t["contributions"]],
        }
        for t in sorted(tracks, key=lambda t: t["identity"])
    ]
    counted = [r["score"] for r in rows if r["identity"] in main]
    pooled = not counted and bool(rows)
    if counted:
        score = max(counted)
    elif pooled:  # no main identity: every track, by its number of faces (not the single most fake track)
        sizes = [max(len(r["frames"]), 1) for r in rows]
        score = float(np.average([r["score"] for r in rows], weights=sizes))
    else:
        score = float("nan")
    report.sequence = {
        "score": None if np.isnan(score) else round(score, SCORE_DECIMALS),
        "label": verdict(score, threshold, uncertain),
        "threshold": threshold,
        "uncertain": list(uncertain) if uncertain else None,
        "pooled": pooled,
        "tracks": rows,
    }
    return report.sequence


HAND_THRESHOLD = "The threshold was set by hand"  # how hand_threshold_warning's line starts


def hand_threshold_warning(threshold: float, card_threshold: float) -> str:
    """The warning of a verdict at a threshold other than the model card's: the card's was calibrated on real people
    (at most its share of real videos and photos called fake in validation); another has no such measure behind it.
    Found by a browser check: a real clip moved to "Likely FAKE" by the slider read as the model's own verdict."""
    t, c = agreeing_figures(threshold, card_threshold)
    return (
        f"{HAND_THRESHOLD} ({t}); the model's own threshold is {c}, calibrated on real people it never trained on. "
        "The verdict at another threshold is not the model's, and its false-alarm rate was not measured."
    )


# how model_warning's lines start: the verdict card says under its headline that the model is not to be relied on
MODEL_DOUBTS = ("Untested model:", "Teaching model:", "Uncalibrated threshold:")
CHANCE_AUC = 0.65  # a card's validation video AUC under this: its verdicts mean little


def model_warning(card) -> str:
    """A warning about the model itself, for every report it makes ("" for a model calibrated on real people with
    metrics above chance): no validation metrics on its card (an untrained test model), metrics near chance (a
    network trained from scratch on too little data, kept for teaching), or a threshold not calibrated on real
    people (the early baselines' and the MesoNet authors' fixed 0.5).  A browser check: the efficientnet_lite0
    baseline put the same red "Likely FAKE" on the real example clip as the default would, its doubt last in the
    list below."""
    if card is None:
        return ""
    if not card.metrics:
        return (
            f"{MODEL_DOUBTS[0]} '{card.name}' has no validation metrics on its card: its scores are untested and may "
            "mean nothing."
        )
    auc = card.metrics.get("video_auc", card.metrics.get("auc"))
    if isinstance(auc, (int, float)) and auc < CHANCE_AUC:
        return (
            f"{MODEL_DOUBTS[1]} '{card.name}' is close to chance on its validation videos (video AUC {auc:.2f}): its "
            "verdicts mean little. It is shipped to show how such a model fails, not to judge a clip."
        )
    if not card.calibrated:
        return (
            f"{MODEL_DOUBTS[2]} '{card.name}' decides at a fixed {card.threshold:.2f}, not at a threshold chosen for a "
            "stated false-alarm rate on real people it never trained on: it may call real faces fake often (its "
            "model card says how often, where it was measured). Check with the default model."
        )
    return ""


def is_model_warning(text: str) -> bool:
    """Whether a report's warning is :func:`model_warning`'s (kept near the top when the warnings are worked out
    again; the verdict card then says the model is not to be relied on alone)."""
    return text.startswith(MODEL_DOUBTS)


def threshold_by_hand(report: Report) -> bool:
    """Whether ``report`` was judged at a threshold other than its model card's (:func:`hand_threshold_warning`):
    its uncertain band then ends at that threshold, and only the band's lower edge was measured on real faces."""
    return any(w.startswith(HAND_THRESHOLD) for w in report.warnings)


def _fragile_said(text: str) -> bool:
    """Whether ``text`` is a video's warning that its score is close to the threshold or its frames split round it."""
    return (text.startswith("The video score") and "is close to the threshold" in text) or text.startswith(
        "Frame scores are split"
    )


def without_fragile(warnings: list[str]) -> list[str]:
    """``warnings`` without :data:`FRAGILE` (as :func:`trust_warnings` words them)."""
    return [w[: -len(FRAGILE)] if w.endswith(FRAGILE) else w for w in warnings]


def with_fragile(report: Report) -> list[str]:
    """``report``'s warnings with :data:`FRAGILE` after a video's "close to the threshold" and "frame scores are
    split", where the figure applies: a video judged by a model calibrated on real people at its card's own
    threshold (not one set by hand; not a model that doubts itself). Said once, and taken back where it no longer
    applies (the app's threshold slider asks again)."""
    bare = without_fragile(report.warnings)
    if report.is_photo or threshold_by_hand(report) or any(is_model_warning(w) for w in bare):
        return bare
    return [w + FRAGILE if _fragile_said(w) else w for w in bare]


def card_rule_of(report: Report) -> str | None:
    """Which of its model card's thresholds of its own judged ``report`` (not one set by hand), in words ("small
    videos", "small photos", "photos with several faces"), or None: the card's usual threshold or one set by hand."""
    from detector.inference.video import MANY_FACES_THRESHOLD, SMALL_PHOTO_THRESHOLD, SMALL_THRESHOLD

    if threshold_by_hand(report):
        return None
    said = {SMALL_THRESHOLD: "small videos", SMALL_PHOTO_THRESHOLD: "small photos"}
    said[MANY_FACES_THRESHOLD] = "photos with several faces"
    return next((words for start, words in said.items() for w in report.warnings if w.startswith(start)), None)


def judged_faces(report: Report) -> int | None:
    """How many faces a photo's report judged (each its own identity; those too small to judge left out), the
    number its model card's threshold for photos with several faces goes by; None for a video."""
    return len(report.faces) if report.is_photo else None


def colour_models(card, directory=None) -> list[str]:
    """The installed models other than ``card``'s trained with colour casts and calibrated on real people, by name,
    in :func:`~detector.models.store.list_models`' order."""
    from detector.inference.quality import trained_with_casts
    from detector.models.store import list_models

    return [c.name for c in list_models(directory) if trained_with_casts(c) and c.calibrated and c.name != card.name]


def second_opinion_model(card, directory=None) -> str | None:
    """The name of the model :func:`~detector.inference.pipeline.colour_second_opinion` asks about ``card``'s
    tinted faces: the first of :func:`colour_models`; None where ``card``'s model was trained with colour casts
    itself, or none is installed."""
    from detector.inference.quality import trained_with_casts

    if trained_with_casts(card):
        return None
    names = colour_models(card, directory)
    return names[0] if names else None


def with_second_opinion(label: str, second: dict | None) -> str:
    """The verdict once a second opinion is heard (:func:`colour_second_opinion`): "fake" that the second model does
    not share becomes "uncertain"; nothing else changes (a second opinion never makes a verdict "real")."""
    if label == "fake" and second and second.get("label") in ("real", "uncertain"):
        return "uncertain"
    return label


def face_label(
    score: float, threshold: float, band: list[float] | None = None, second: dict | None = None, held: float = 0.0
) -> str:
    """A face's label as the report's verdict reads: "fake" at the threshold, unless the report's colour second opinion
    (``second``: :attr:`Report.second_opinion`) does not share it, or something holds the face back (``held``:
    :func:`held_back`, text laid over it, :func:`with_text_over`, or a cover before its mouth under the card's
    threshold for covered faces, :func:`with_covered`), then "uncertain" (a browser check: a tile said FAKE in red
    under an UNCERTAIN verdict)."""
    label = with_second_opinion(verdict(score, threshold, band), second)
    return "uncertain" if label == "fake" and held else label


SECOND_OPINION = "A second opinion:"  # how colour_second_opinion's warning starts


def second_opinion_warning(second: dict, own: str, photo: bool) -> str:
    """The line that says what the second model found where this model's own label is ``own``, and what it did to the
    verdict: a "fake" it does not share becomes uncertain; beside an uncertain verdict, only what it says; nothing
    beside a real one ("" then)."""
    if own not in ("fake", "uncertain"):
        return ""
    thing = "photo" if photo else "video"
    score, threshold = agreeing_figures(second["score"], second["threshold"])
    head = (
        f"{SECOND_OPINION} colour filters mislead this model, and this {thing} looks colour-filtered. "
        f"{second['model']}, trained with such filters, "
    )
    figures = f"{score} against its threshold {threshold}"
    if own == "uncertain":
        return head + f"calls it {second['label']} ({figures})."
    if second["label"] == "fake":
        return head + f"calls it fake too ({figures}): the verdict stays fake."
    return head + (
        f"does not call it fake ({second['label']}, {figures}), so the verdict is uncertain, not fake. "
        f"{second['model']} also misses more fakes: look for other evidence."
    )


def tint_alternative_warning(report: Report, card, directory=None) -> str:
    """Where a face is tinted beyond what ``card``'s model trained on (a colour warning: hue, chroma, colour
    following brightness) and the verdict is fake or uncertain, the installed models trained with colour casts,
    calibrated on real people, by name ("" when there is none, or ``card``'s own training had the casts).  Real
    photos with a sepia filter were called fake 36 times in 100 by a model that never saw a tint, 0 by one trained
    with tints (docs/results.md)."""
    from detector.inference.quality import tint_warned, trained_with_casts

    if report.label not in ("fake", "uncertain") or trained_with_casts(card) or not tint_warned(report.warnings):
        return ""
    others = colour_models(card, directory)
    if not others:
        return ""
    names = " or ".join(others[:2])
    # one line for the app, its HTML report and the command line alike (a browser check: "--model" alone meant
    # nothing in the browser, and "calls far fewer ... fake and misses more fakes" was hard to read)
    return (
        f"Colour filters mislead this model. {names} was trained with such filters (sepia, warm and cool light, "
        "faded prints): it wrongly calls far fewer filtered real faces fake, but also catches fewer fakes. Analyse "
        f"the file with {others[0]} too (the Model menu or Compare models in the app; --model {others[0]} on the "
        "command line)."
    )


NO_FACE = "No face was found"  # how the warning of a report without a face starts (a photo's, a clip's)
TOO_SMALL = "Faces too small to judge"  # how it starts where faces were found, all too small (pipeline.analyze)


def unjudged_text(small) -> str:
    """Why a frame has no score, in words, from the boxes of the faces found there too small to judge (a
    :class:`FrameResult`'s ``too_small``; x, y, w, h each): "no face found" where there are none, else "face too small
    to judge (14 px)" or "2 faces too small to judge (the largest 14 px)"."""
    if not small:
        return "no face found"
    largest = max(max(int(b[2]), int(b[3])) for b in small)
    if len(small) == 1:
        return f"face too small to judge ({largest} px)"
    return f"{len(small)} faces too small to judge (the largest {largest} px)"


def all_too_small(frames) -> bool:
    """Whether faces were found in ``frames`` but every one was too small to judge, so none was scored: the frames of
    a :class:`Report` (:class:`FrameResult`) or of its JSON (dicts), read from each frame's faces and ``too_small``."""

    def get(fr, key):
        return fr.get(key) if isinstance(fr, dict) else getattr(fr, key)

    return not any(get(fr, "faces") for fr in frames) and any(get(fr, "too_small") for fr in frames)


SMALL_FACES = "Faces are small (median"  # how trust_warnings' line on small faces starts


def small_faces_once(warnings: list[str]) -> list[str]:
    """``warnings`` without the plain "Faces are small" line where the card's face sizes say it, with the training's
    sizes ("smaller than nearly all the model was trained on (face size 46 px; ...)"): two lines said the same."""
    if any("smaller than nearly all" in w and "(face size " in w for w in warnings):
        return [w for w in warnings if not w.startswith(SMALL_FACES)]
    return warnings


def trust_warnings(report: Report, min_face_px: int = 64, ranges: dict | None = None) -> list[str]:
    """Plain reasons to doubt the verdict (an empty list when nothing stands out); with the model card's
    ``ranges``, also where the faces are unlike those the model trained on (:mod:`detector.inference.quality`)."""
    out = []
    n = len(report.frames)
    with_face = sum(fr.has_face for fr in report.frames)
    photo = report.is_photo
    if with_face == 0:
        if photo:  # a review: a photo's faces 100-150 px across were missed, with no hint what to do
            return [
                f"{NO_FACE} in the photo: there is nothing to judge. Faces turned far aside, partly hidden, "
                "small in a large picture, cut tight at its edges, or in a picture lying on its side or upside down "
                "can be missed: crop closer around a small face, give a version with more of the picture around a "
                "face that fills it, or turn the picture upright, and try again."
            ]
        return [f"{NO_FACE} in any sampled frame: there is nothing to judge."]
    if not photo and with_face < max(FEW_FRAMES, 0.5 * n):  # (a photo is one frame: nothing to warn of)
        if with_face < n:
            said = f"Faces were found in only {with_face} of {n} sampled frames; the score rests on few faces."
        elif n == 1:  # a one-frame clip, or one frame asked for
            said = "Only 1 frame was sampled (with a face); the score rests on few faces."
        else:  # few frames (a very short clip, or few asked for), each with a face
            said = f"Only {n} frames were sampled (each with a face); the score rests on few faces."
        if report.label == "fake" and with_face < FEW_FRAMES:  # the threshold was set on many frames per clip
            said += (
                " A fake verdict from so few frames is the least sure: one frame moves the score far, and real clips "
                f"are called fake more often than over the {DEFAULT_FRAMES} frames sampled by default"
                + (": sample more frames if the clip is longer." if n < DEFAULT_FRAMES else ".")
            )
        out.append(said)
    sides = [max(f.box[2], f.box[3]) for f in report.faces]
    if np.median(sides) < min_face_px:
        out.append(f"{SMALL_FACES} {np.median(sides):.0f} px); the model sees little detail.")
    from detector.inference.quality import sideways_warning

    sideways = sideways_warning(report.faces)
    if sideways:
        out.append(sideways)
    from detector.inference.covers import covered_warning

    covered = covered_warning(report)  # a face the verdict rests on looks covered (said again at each threshold)
    if covered:
        out.append(covered)
    scores = np.array([f.score for f in report.faces])
    t = report.threshold
    # "close": within a quarter of the room on its side of the threshold, at most 0.1 (with a threshold of 0.908,
    # 0.023 above it: 0.998 is not close to it; 0.1 below, as with any threshold from 0.4 to 0.9), and never further
    # than the threshold lies from its nearer end (a hand-set 0.02: 0.086, four times it, is not close, 0.03 is;
    # the same near 1: below 0.942, 0.058)
    room = (1.0 - t) if report.score >= t else t
    if abs(report.score - t) < min(0.1, 0.25 * room, t, 1.0 - t):
        # to the digits the verdict card prints them (against the band's edge too)
        score_text, thr_text = figures_against(
            report.score, t, *([float(report.uncertain[0])] if report.uncertain else [])
        )[:2]
        what = "The score" if photo else "The video score"
        out.append(f"{what} {score_text} is close to the threshold {thr_text}.")
    elif scores.size >= 4:
        above = float(np.mean(scores >= t))
        if 0.25 <= above <= 0.75:
            what = "Face scores are split" if photo else "Frame scores are split"
            out.append(f"{what}: {above:.0%} of faces score above the threshold, the rest below.")
    segment = segment_made_uncertain(report)  # from the score's own label: a second opinion's "uncertain" is not it
    if segment:
        out.append(
            f"{PART_FAKE}: face {segment['identity']} scores over {segment['over']:.3g} in "
            f"{segment['frames']} of its sampled frames in a row, from {segment['start']:.1f} s to "
            f"{segment['end']:.1f} s, while the video score weighs every frame. This is what a partly edited clip "
            'looks like: the verdict is "uncertain", not "real". See the timeline there.'
        )
    if ranges:
        from detector.inference.quality import out_of_range

        unlike = out_of_range([f.stats for f in report.faces if f.stats], ranges)
        if sideways:  # the eyes and nose the head turn is read from are placed poorly on a face lying on its side
            unlike = [w for w in unlike if "(head turn" not in w]
        out = small_faces_once(out + unlike)
    framed = sorted({f.identity for f in report.faces if f.framed})
    if photo and framed:
        many = len(framed) > 1
        who = (
            "The face lies"
            if len(report.faces) == 1
            else f"Face{'s' * many} {', '.join(map(str, framed))} li{'e' if many else 'es'}"
        )
        out.append(
            f"{who} in a picture inside the photo (a collage, a page, a screenshot), or by a straight edge with plain "
            f"ground beyond it, crossing {'their' if many else 'its'} square: past that edge the square is filled by "
            "mirroring, as at a photo's own edge, not with what lies beyond it. Give the picture itself if you have it."
        )
    cut = sorted({f.identity for f in report.faces if f.inside is not None and not f.framed})
    if photo and cut:
        who = (  # which faces, where the photo holds several (a review: the group photo's warning named none)
            "A face fills the photo or touches its edge"
            if len(report.faces) == 1
            else f"Face{'s' * (len(cut) > 1)} {', '.join(map(str, cut))} touch{'es' * (len(cut) == 1)} the photo's edge"
        )
        out.append(
            f"{who}: part of {'its' if len(cut) == 1 else 'their'} square lies beyond the picture and is filled "
            "by mirroring. Faces cut this tightly are scored less reliably than in their whole picture (the earlier "
            "models missed most fakes cut so): give the whole picture if you have it."
        )
    explained = [f for f in report.faces if f.cam is not None]
    peaked = [f for f in explained if _peak_in_padding(f)]
    off_picture = len(peaked)
    if off_picture:
        if not photo:
            pad = "black beyond the frame's edge"
        elif any(f.framed for f in peaked):
            pad = "the photo's border, or the edge of the picture inside it, mirrored outwards"
        else:
            pad = "the photo's border mirrored outwards"
        faces = f"{off_picture} of {len(explained)} explained face{'s' * (len(explained) != 1)}"
        out.append(
            f"On {faces}, the heat map is strongest beyond the picture's edge, on padding the model was given "
            f"({pad}): that spot is not in the picture."
        )
    return out


def _peak_in_padding(face) -> bool:
    """Whether ``face``'s CAM peaks on the padding of its square (:attr:`Face.inside`)."""
    if face.inside is None:
        return False
    from explain.faithfulness import peak_in_padding

    return peak_in_padding(face.cam, face.inside)
