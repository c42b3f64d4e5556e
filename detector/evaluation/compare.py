"""Several models on one clip or photo, side by side: ``deepfake-lens compare CLIP [--models a,b | all]``.

    deepfake-lens compare clip.mp4                         # every installed model
    deepfake-lens compare photo.jpg --models effnet_realfaces,efficientnet_lite0 --json cmp.json --csv cmp.csv

Each model runs the same :func:`detector.inference.pipeline.analyze` on the same sampled
frames and faces, decoded and detected once for all the models (each face cropped at each model's
margin); the table gives each one's label, score, threshold (marked fixed when it was not
calibrated on real people: ``ModelCard.calibrated``) and how many faces it scored above its
threshold, and says where the models disagree (which faces of which frames they label
differently), and what the calibrated models say when only the others differ.  ``--json``
writes every model's full report under its name, with the faces labelled differently; ``--csv``
one row per model.  Exit codes: 0 done; 2 bad input, argument or model.

From code (the app's "Compare models" tab)::

    c = compare_models("clip.mp4", ["effnet_realfaces", "resnet18"], frames=16, cam="gradcam")
    c.rows                 # one summary row per model (the CLI's table)
    c.runs[0].series()     # [(time, top face score or None), ...] per sampled frame: the timeline
    c.face                 # the one face every model is explained on (same frame, same identity)
    c.runs[0].face.cam     # that model's CAM of it (crop-sized, in [0, 1])
    c.disagreements()      # the faces the models label differently

The face explained is the one the models disagree on most (the widest spread of score minus own threshold
among faces labelled differently), else the most fake face under the first model (the default, when the
models come from :func:`~detector.models.store.list_models`).  Faces are matched across models by frame and
track identity: every model sees the same frames and the same detections (only its crop margin differs).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from detector.constants import DEFAULT_FRAMES, SCORE_DECIMALS
from detector.inference.report import (
    FRAGILE,
    MODEL_DOUBTS,
    PART_FAKE,
    FaceResult,
    Report,
    SafeDictWriter,
    agreeing_figures,
    face_label,
    held_back,
    is_model_warning,
    label_tally,
    segment_made_uncertain,
    without_fragile,
)

__all__ = [
    "compare",
    "compare_models",
    "Comparison",
    "ModelRun",
    "ChosenFace",
    "disagreement",
    "care_notes",
    "shared_warnings",
    "own_warnings",
    "AGREEMENT_NOTE",
    "main",
    "FIELDS",
    "write_csv",
]

FIELDS = [
    "model",
    "architecture",
    "label",
    "score",
    "threshold",
    "uncertain_from",
    "calibrated",
    "faces",
    "faces_over_threshold",
    "faces_too_small",
]

Progress = Callable[[float, str], None]


@dataclass
class ModelRun:
    """One model's run on the clip: its report, its summary row, and the chosen face as it saw it."""

    name: str
    architecture: str  # "efficientnet_lite0", or "3 x efficientnet_lite0" for an ensemble
    report: Report
    face: FaceResult | None = None  # the chosen face in this report (with ``cam`` when a CAM method was given)
    calibrated: bool = True  # its threshold was set on reals it never trained on (ModelCard.calibrated), not 0.5

    @property
    def row(self) -> dict:
        """The CLI's summary row (see ``FIELDS``)."""
        r = self.report
        scores = [f.score for f in r.faces]
        return {
            "model": self.name,
            "architecture": self.architecture,
            "label": r.label,
            "score": None if r.score != r.score else round(float(r.score), SCORE_DECIMALS),  # as the report's JSON
            "threshold": r.threshold,
            "uncertain_from": r.uncertain[0] if r.uncertain else None,
            "uncertain": list(r.uncertain) if r.uncertain else None,  # as a scan's report gives its band
            "calibrated": self.calibrated,
            "faces": len(scores),
            "faces_over_threshold": sum(s >= r.threshold for s in scores),
            "faces_too_small": r.too_small_faces,  # found, not judged (pipeline.too_small)
        }

    def series(self) -> list[tuple[float, float | None]]:
        """``(time, score)`` per sampled frame: the highest face score of that frame (the face the verdict rests
        on), None where no face was found."""
        return [(fr.time, max((f.score for f in fr.faces), default=None)) for fr in self.report.frames]

    def label_of(self, score: float, held: float = 0.0) -> str:
        # as the report's verdict reads: a fake its colour second opinion does not share is uncertain (a browser
        # check), and so is a face held back, under text or a cover (``held``: its ``held_back``; a review)
        return face_label(score, self.report.threshold, self.report.uncertain, self.report.second_opinion, held)


@dataclass
class ChosenFace:
    """The face every model is explained on: position in each report's ``frames``, frame index, time, track
    identity, box, and why it was chosen."""

    position: int
    frame: int
    time: float
    identity: int
    box: tuple[int, int, int, int]
    why: str

    def to_dict(self) -> dict:
        return {
            "frame": self.frame,
            "time": round(float(self.time), 4),
            "identity": self.identity,
            "box": [int(v) for v in self.box],
            "why": self.why,
        }


@dataclass
class Comparison:
    """Every model's run on one clip (in the order asked), the face chosen for the CAMs, and the CAM method."""

    path: str
    runs: list[ModelRun]
    face: ChosenFace | None = None
    cam_method: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict]:
        return [r.row for r in self.runs]

    @property
    def reports(self) -> dict[str, dict]:
        """``{model: report JSON}`` (:meth:`Report.to_dict`)."""
        return {r.name: r.report.to_dict() for r in self.runs}

    def faces(self) -> list[dict]:
        """Every face all models scored (same frame and identity), in time order: ``{"position", "frame", "time",
        "identity", "box", "scores": {model: score}, "labels": {model: label}, "spread"}``; ``spread``: the widest
        gap between two models' scores minus their own thresholds."""
        if not self.runs:
            return []
        per_run = [
            {(pos, f.identity): f for pos, fr in enumerate(r.report.frames) for f in fr.faces} for r in self.runs
        ]
        first = self.runs[0].report
        out = []
        for pos, fr in enumerate(first.frames):
            for f in fr.faces:
                key = (pos, f.identity)
                if not all(key in faces for faces in per_run):
                    continue
                scores = {r.name: float(faces[key].score) for r, faces in zip(self.runs, per_run)}
                margins = [scores[r.name] - r.report.threshold for r in self.runs]
                out.append(
                    {
                        "position": pos,
                        "frame": fr.index,
                        "time": fr.time,
                        "identity": f.identity,
                        "box": tuple(int(v) for v in f.box),
                        "scores": scores,
                        "labels": {
                            r.name: r.label_of(scores[r.name], held_back(faces[key]))
                            for r, faces in zip(self.runs, per_run)
                        },
                        "spread": max(margins) - min(margins),
                    }
                )
        return out

    def disagreements(self) -> list[dict]:
        """The faces (see :meth:`faces`) that the models label differently (fake / uncertain / real)."""
        return [f for f in self.faces() if len(set(f["labels"].values())) > 1]

    def to_dict(self) -> dict:
        """The JSON download: input, one row per model, the explained face, the faces labelled differently
        (time, identity, each model's score and label) and every model's full report."""

        def face(f: dict) -> dict:
            return {
                "frame": f["frame"],
                "time": round(float(f["time"]), 4),
                "identity": f["identity"],
                "scores": {k: round(v, SCORE_DECIMALS) for k, v in f["scores"].items()},
                "labels": f["labels"],
            }

        return {
            "video": self.path,  # as a scan's report names its input
            "models": self.rows,
            "verdicts_agree": len({r["label"] for r in self.rows if r["label"] != "unknown"}) <= 1,
            "explained_face": None if self.face is None else {**self.face.to_dict(), "cam_method": self.cam_method},
            "faces_labelled_differently": [face(f) for f in self.disagreements()],
            "faces_compared": len(self.faces()),
            "reports": self.reports,
        }


def _architecture(card) -> str:
    return f"{len(card.members)} x {card.architecture}" if card.members else card.architecture


def choose_face(comparison: Comparison) -> ChosenFace | None:
    """The face to explain with every model: among the faces labelled differently, the one with the widest
    spread (score minus own threshold); when all agree, the most fake face under the first model."""
    faces = comparison.faces()
    if not faces:
        return None
    differ = [f for f in faces if len(set(f["labels"].values())) > 1]
    first = comparison.runs[0].name
    if differ:
        best = max(differ, key=lambda f: f["spread"])  # max keeps the earliest of equals
        why = "the face the models disagree on most"
    else:
        best = max(faces, key=lambda f: f["scores"][first])
        alike = " (the models label every face alike)" if len(comparison.runs) > 1 else ""  # one model: no "models"
        why = f"the most fake face under {first}{alike}"
    return ChosenFace(best["position"], best["frame"], best["time"], best["identity"], best["box"], why)


def compare_models(
    path: str,
    models: list,
    frames: int = DEFAULT_FRAMES,
    *,
    cam: str | None = None,
    directory=None,
    limits=None,
    keep_frames: bool = False,
    progress: Progress | None = None,
) -> Comparison:
    """Run each model (a name, card path or loaded Classifier; names are looked up in ``directory``, as
    :func:`~detector.models.store.resolve` does) on ``path`` with the same sampled frames, choose one face
    (:func:`choose_face`) and, with ``cam`` (a CAM method name, see ``explain.METHODS``), explain that face with
    every model: ``runs[i].face.cam``.  Models are loaded once per process (cached).

    Raises InputError / NoModelError (one line) as :func:`~detector.inference.pipeline.analyze` does."""
    from detector.inference.pipeline import analyze, faces_at, frames_and_faces
    from detector.inference.video import Limits
    from detector.models.classifier import Classifier, load_model

    step = progress or (lambda fraction, desc: None)
    n = max(1, len(models))
    classifiers = []
    for m in models:
        step(0.0, f"loading {m if isinstance(m, str) else m.name}")
        classifiers.append(m if isinstance(m, Classifier) else load_model(m, directory))
    runs = []
    # one decode and one face detection for every model: each face is cropped at every model's margin
    step(0.0, "decoding, finding faces")
    margins = sorted({float(c.card.face_margin) for c in classifiers})
    found = classifiers and frames_and_faces(
        path,
        frames=frames,
        fps=None,
        limits=limits if limits is not None else Limits(),
        margin=margins[0],
        keep_frames=keep_frames,
        margins=margins,
    )
    for i, clf in enumerate(classifiers):
        report = analyze(
            path,
            frames=frames,
            model=clf,
            keep_frames=keep_frames and i == 0,
            found=faces_at(found, clf.card.face_margin),
            progress=lambda f, d, i=i, name=clf.name: step((i + f) / (n + 1), f"{name}: {d}"),
        )
        runs.append(ModelRun(clf.name, _architecture(clf.card), report, calibrated=clf.card.calibrated))
    del found
    comparison = Comparison(path, runs, cam_method=cam or None)
    comparison.face = choose_face(comparison)
    if comparison.face is not None:
        chosen = comparison.face
        for run in runs:
            run.face = next(f for f in run.report.frames[chosen.position].faces if f.identity == chosen.identity)
        if cam:
            from explain import explain_faces

            for k, (run, clf) in enumerate(zip(runs, classifiers)):
                step((n + k / n) / (n + 1), f"explaining the face with {run.name}")
                exp = explain_faces(clf, [run.face.crop], method=cam, faithfulness=False)[0]
                run.face.cam = exp.cam
    step(1.0, "done")
    return comparison


def compare(path: str, models: list[str], frames: int = DEFAULT_FRAMES) -> tuple[list[dict], dict]:
    """(one summary row per model, {model: report dict}) for ``path``.  Raises InputError / NoModelError."""
    c = compare_models(path, models, frames)
    return c.rows, c.reports


# said beside "the models agree" (a browser check: six models agreeing on "real" for a fake they all missed read as
# corroboration; the shipped models learned from the same clips and miss the same fakes, docs/results.md "The recipes
# share their errors")
AGREEMENT_NOTE = "agreement is not confirmation: models that learned from the same clips miss the same fakes"


def disagreement(rows: list[dict]) -> str:
    """One line on the verdicts: "the models agree: fake", or how many say what (and that none says fake, where
    none does) and who says what; when only models with an
    uncalibrated threshold (``calibrated`` false in their rows) differ, it says that those calibrated on real people
    agree."""
    labels = {r["label"] for r in rows if r["label"] != "unknown"}
    if not labels:  # no face, or every face too small: nothing judged
        return "no model judged it (no face it could judge)"
    label = next(iter(labels)) if len(labels) == 1 else ""
    if len(rows) == 1:  # "the models agree" of one model (an audit: --models a,a keeps one)
        return f"one model: {label}"
    if label:  # agreeing on "fake" needs no caveat; on real or uncertain, it is not corroboration
        return f"the models agree: {label}" + (f" ({AGREEMENT_NOTE})" if label != "fake" else "")
    # how many say what, and whether any says fake, first: "the models disagree" over five "real" and one
    # "uncertain" read as an alarm on a real clip (a Space host's audit)
    tally = label_tally(r["label"] for r in rows)
    none = ", none says fake" if "fake" not in labels else ""
    line = f"the models disagree{none} ({tally}): " + ", ".join(f"{r['model']} says {r['label']}" for r in rows)
    calibrated = [r for r in rows if r.get("calibrated", True) and r["label"] != "unknown"]  # those that judged
    agreed = {r["label"] for r in calibrated}
    if len(agreed) == 1 and any(not r.get("calibrated", True) for r in rows):
        n, label = len(calibrated), agreed.pop()
        if n == 1:
            line += f"; the only model calibrated on real people, {calibrated[0]['model']}, says {label}"
        else:
            line += f"; the {n} models calibrated on real people agree: {label}"
    return line


def care_notes(c: Comparison) -> list[tuple[str, str]]:
    """What Analyse would warn of that concerns the comparison as a whole, as (kind, text) pairs for the app and the
    command line to word: ``seen``, which models trained or validated on this very file (a teacher's audit: "six
    models agree: fake" on a clip the models had trained on, said without the warning Analyse gives); ``warning``,
    each warning every model's report gives alike (few faces, a small video, a file cut short...); ``note``, the
    teaching and untested models, each kind once, and the models judged at their threshold for small videos."""
    from detector.data.seen import is_seen_warning
    from detector.inference.report import card_rule_of

    if not c.runs:
        return []
    what = "photo" if c.runs[0].report.is_photo else "clip"
    out = []
    seen = [r.name for r in c.runs if any(is_seen_warning(w) for w in r.report.warnings)]
    if seen:
        models = ", ".join(seen)
        who = f"the model {models}" if len(seen) == 1 else f"the models {models}"
        verdicts = "its verdict shows" if len(seen) == 1 else "their verdicts show"
        out.append(
            (
                "seen",
                f"this {what} is one {who} trained or validated on: {verdicts} what was learned, not how a model does "
                "on material it has never seen.",
            )
        )
    out += [("warning", w) for w in shared_warnings(c)]
    stretch = [r for r in c.runs if any(w.startswith(PART_FAKE) for w in r.report.warnings)]
    if stretch:  # a stretch of strongly fake frames: once, naming the models (a browser check: six near-alike lines)
        seg = segment_made_uncertain(stretch[0].report) or {}
        where = f" (face {seg['identity']}, {seg['start']:.1f}-{seg['end']:.1f} s)" if seg else ""
        out.append(
            (
                "warning",
                f"{', '.join(r.name for r in stretch)}: part of the clip scores strongly fake{where}, each over its "
                "own threshold, while the video score weighs every frame: a partly edited clip looks like this, so "
                'the verdict is "uncertain", not "real". See the timeline there.',
            )
        )
    fragile = [r.name for r in c.runs if any(w.endswith(FRAGILE) for w in r.report.warnings)]
    if fragile:  # a score near the threshold or frames split round it: once, not after each model's line (an audit)
        who = ", ".join(fragile)
        out.append(("warning", f"{who}: a score near the threshold or frames split round it.{FRAGILE}"))
    # a model's doubt of itself, once for all the models it concerns (a browser check: the same 45 words four times
    # over; a fixed threshold is said by the table and the summary's thresholds line)
    doubted: dict[str, list[str]] = {}
    for r in c.runs:
        for w in r.report.warnings:
            if w.startswith(MODEL_DOUBTS[:2]):
                doubted.setdefault(w.split(":")[0], []).append(r.name)
    for kind, names in doubted.items():
        many = len(names) > 1
        its = "their" if many else "its"
        why = (
            f"close to chance on {its} validation videos, shipped to show how such a model fails, not to judge a clip"
            if kind == MODEL_DOUBTS[1].rstrip(":")
            else f"no validation figures on {its} card{'s' * many}: {its} scores are untested"
        )
        out.append(("note", f"{kind}{'s' * many} ({why}): {', '.join(names)}."))
    by_rule: dict[str, list] = {}  # a model's threshold for small files (or many faces) judged it: the table's is it
    for r in c.runs:
        rule = card_rule_of(r.report)
        if rule:
            by_rule.setdefault(rule, []).append(r)
    for rule, runs in by_rule.items():
        named = ", ".join(f"{r.name} at {r.report.threshold:.3f}" for r in runs)
        than = "for fewer faces" if rule == "photos with several faces" else f"for larger {rule.split()[-1]}"
        out.append(("note", f"Judged at the model's threshold for {rule}: {named} (stricter than {than})."))
    return out


def shared_warnings(c: Comparison) -> list[str]:
    """The warnings every model's report gives alike (not "a training file", which :func:`care_notes` says by
    model); a small video's, said of the file by the models trained on FaceForensics++ only, once where any says it
    (a browser check: the default's own threshold line made its report differ, and the warning went)."""
    from detector.data.seen import is_seen_warning
    from detector.inference.video import (
        heavy_compression_warning,
        is_heavy_compression_warning,
        is_small_clip_warning,
    )

    if not c.runs:
        return []
    first, *others = [without_fragile(r.report.warnings) for r in c.runs]  # how fragile: said once, by care_notes
    shared = [
        w for w in first if not (is_seen_warning(w) or w.startswith(PART_FAKE)) and all(w in ws for ws in others)
    ]  # (a stretch of strongly fake frames: said by care_notes, naming the models)
    small = next((w for r in c.runs for w in r.report.warnings if is_small_clip_warning(w)), None)
    if small and small not in shared:
        shared.insert(0, small)
    # heavy compression, said by each model judging short of fake with its own AUCs: said once, of the file (a
    # browser check: the texts differed, so the warning that "real means little here" went from Compare)
    squeezed = [r for r in c.runs if any(is_heavy_compression_warning(w) for w in r.report.warnings)]
    if squeezed:  # of the file, without one model's figures (or "this model was not measured"), shared or not
        shared = [w for w in shared if not is_heavy_compression_warning(w)]
        bpp = squeezed[0].report.video_info["bits_per_pixel"]  # (the file's figure, which the warning was made from)
        shared.append(heavy_compression_warning(bpp, of_model=False))
    return shared


def own_warnings(c: Comparison) -> list[tuple[str, str]]:
    """(model, warning) for each model's warnings that :func:`care_notes` does not already say of the comparison as a
    whole (a colour second opinion, a score close to its threshold...), the models in their order."""
    from detector.data.seen import is_seen_warning
    from detector.inference.video import is_heavy_compression_warning

    said = set(shared_warnings(c))  # (heavy compression among them, said once of the file; a model's doubt of itself,
    # by care_notes or the thresholds line, once for all the models it concerns)
    return [
        (run.name, w)
        for run in c.runs
        for w in without_fragile(run.report.warnings)  # how fragile such a verdict is: said once (care_notes)
        if not (
            w in said
            or is_seen_warning(w)
            or is_heavy_compression_warning(w)
            or is_model_warning(w)
            or w.startswith(PART_FAKE)  # a stretch of strongly fake frames: said once (care_notes)
        )
    ]


def faces_line(comparison: Comparison) -> str:
    """One line on the faces: how many of those every model scored are labelled differently, and when."""
    faces, differ = comparison.faces(), comparison.disagreements()
    if len(comparison.runs) == 1:  # nothing to compare (an audit: "every model labels..." of one model)
        n = len(faces)
        return f"{n} face{'' if n == 1 else 's'} scored by the one model"
    if not faces:
        return "no face was scored by every model"
    photo = comparison.runs and comparison.runs[0].report.is_photo  # one frame: no time (a browser check: "at 0.00 s")
    if photo and len(faces) == 1:
        return "the face is labelled differently" if differ else "every model labels the face alike"
    if not differ:
        return f"every model labels each of the {len(faces)} faces alike"
    if photo:
        return f"{len(differ)} of {len(faces)} faces in the photo are labelled differently"
    t0, t1 = min(f["time"] for f in differ), max(f["time"] for f in differ)
    when = f"at {t0:.2f} s" if t0 == t1 else f"between {t0:.2f} s and {t1:.2f} s"
    return f"{len(differ)} of {len(faces)} faces are labelled differently, {when}"


def write_csv(comparison: Comparison, fh) -> None:
    """The comparison's CSV (one row per model, :data:`FIELDS`) to an open text file: what ``--csv`` writes and the
    app's compare tab offers."""
    writer = SafeDictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()  # yes/no as 1/0, as a scan's CSV writes face_found (an audit: Python's True/False)
    writer.writerows({k: int(v) if isinstance(v, bool) else v for k, v in row.items()} for row in comparison.rows)


def _output(target: str, **kwargs):
    """A results file to write, or standard output for ``-`` (left open)."""
    import contextlib

    from detector.cliargs import STDOUT

    return contextlib.nullcontext(sys.stdout) if target == STDOUT else open(target, "w", **kwargs)


def main(argv=None) -> int:
    from detector.cliargs import STDOUT, Parser, check_outputs, fail, frame_count, printable, write_failed
    from detector.errors import InputError, NoModelError
    from detector.models.store import list_models

    p = Parser(prog="deepfake-lens compare", description="Several models on one clip or photo")
    p.add_argument("path", metavar="CLIP", help="a video or a photo")
    p.add_argument("--models", default="all", help="comma-separated model names or card paths (default: all)")
    p.add_argument(
        "--frames",
        type=frame_count,
        default=DEFAULT_FRAMES,
        help=f"frames sampled evenly over the clip (default {DEFAULT_FRAMES})",
    )
    p.add_argument("--json", metavar="OUT", help="write every model's report, by model name ('-' for stdout)")
    p.add_argument("--csv", metavar="OUT", help="write one row per model ('-' for stdout)")
    args = p.parse_args(argv)
    problem = check_outputs([("--json", args.json), ("--csv", args.csv)], inputs=[args.path])
    if problem:  # before any model runs: a result that cannot be written is not worth the wait
        return fail(problem)
    if args.models == "all":
        models = [c.name for c in list_models()]
        if not models:
            return fail("no model installed to compare (deepfake-lens models --install CARD)")
    else:
        models = list(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))  # each model once
        if not models:
            return fail(f"--models {args.models!r}: no model name in it (give names separated by commas, or all)")
    try:
        comparison = compare_models(args.path, models, args.frames)
    except NoModelError as e:
        return fail(str(e))
    except InputError as e:  # as scan's codes (README): an input that is missing or cannot be read is 1
        # the outputs say so too: an earlier comparison's files left in their place would be read as this one's
        message = str(e)
        for option, target, write in (
            ("--json", args.json, lambda fh: json.dump({"video": args.path, "models": [], "error": message}, fh)),
            ("--csv", args.csv, lambda fh: SafeDictWriter(fh, fieldnames=FIELDS).writeheader()),
        ):
            if target and target != STDOUT:
                try:
                    with open(target, "w", newline="") as fh:
                        write(fh)
                except OSError as w:
                    print(f"error: {printable(write_failed(option, target, w))}", file=sys.stderr)
        return fail(message, code=1)
    rows = comparison.rows
    shown = sys.stderr if STDOUT in (args.json, args.csv) else sys.stdout  # stdout holds the JSON or CSV then
    width = max(len(r["model"]) for r in rows)
    for r in rows:
        # to as many digits as agree with the label, as scan prints them (a review: 0.2295 printed 0.230 here, 0.229
        # by scan)
        score, threshold = (
            ("n/a", f"{r['threshold']:.3f}") if r["score"] is None else agreeing_figures(r["score"], r["threshold"])
        )
        fixed = "" if r["calibrated"] else " (fixed, not calibrated)"
        line = (
            f"{r['model']:<{width}}  {r['label']:<9}  score {score}  threshold {threshold}{fixed}  "
            f"faces over it {r['faces_over_threshold']}/{r['faces']}  ({r['architecture']})"
        )
        print(printable(line), file=shown)  # a card path given as the model may hold a line break
    print(disagreement(rows), file=shown)
    print(faces_line(comparison), file=shown)
    # what Analyse (and the app's compare view) would warn of: on screen too, not in the JSON alone (a teacher's audit)
    for kind, text in care_notes(comparison):
        print(printable({"seen": "treat with care: ", "warning": "warning: "}.get(kind, "") + text), file=shown)
    for name, w in own_warnings(comparison):
        print(printable(f"{name}: {w}"), file=shown)
    for option, target, write in (
        ("--json", args.json, lambda fh: json.dump(comparison.to_dict(), fh, indent=1)),
        ("--csv", args.csv, lambda fh: write_csv(comparison, fh)),
    ):
        if not target:
            continue
        try:
            with _output(target, newline="") as fh:
                write(fh)
        except BrokenPipeError:  # `--json - | head`: the reader went away; the command line's main ends quietly
            raise
        except OSError as e:  # checked before the run; gone since (a full disk: the error's own file name was
            # None when the write, not the open, failed: a review)
            return fail(write_failed(option, target, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
