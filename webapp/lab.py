"""The failure lab: run the same clip or photo through the pipeline with and without a perturbation.

Teaching aid: how much does a verdict move when the video or photo is re-compressed, blurred,
mirrored, tinted...?  Every run goes through :func:`detector.inference.pipeline.analyze` with a frame
``transform`` from :mod:`detector.evaluation.perturb`; nothing here re-implements the pipeline.

    original, perturbed = compare(path, "jpeg", 0.8, model="...", frames=16)
    reports = levels(path, model="...")          # {"none": Report, "fliprot": ..., "heavy": ...}

What the lab tab shows is made here too: the levels table with its face-coverage warnings
(:func:`levels_table`), the before/after face crops (:func:`crop_pairs`), and which clip or photo the lab takes
from the first tab (:func:`clip_from_first_tab`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np

from detector.constants import LAB_PAIRS
from detector.evaluation.perturb import LEVELS, PERTURBATIONS, ROTATE_DEGREES, describe_at, make_transform
from detector.inference.pipeline import analyze, face_detector
from detector.inference.report import Report, figures_against, score_text, unjudged_text

Progress = Callable[[float, str], None]


def _part(progress: Progress | None, start: float, span: float, label: str) -> Progress:
    """Map one run's progress (0..1) into ``[start, start + span]`` of the whole job, labelled."""
    if progress is None:
        return lambda f, d: None
    return lambda f, d: progress(start + span * f, f"{label}: {d}")


def describe(name: str, strength: float) -> str:
    """A short human description: 'jpeg at strength 0.80: JPEG re-compression ...' or a level's steps."""
    if name in LEVELS:
        return f"{name}: {LEVELS[name].describe()}"
    return f"{name} at strength {strength:.2f}: {describe_at(name, strength)}"


def strength_info(name: str, strength: float) -> str:
    """The strength slider's help for perturbation ``name``: what it does at ``strength``, in figures; a flip has
    no strength (a review: the slider moved, the flip stayed the same, and nothing said so)."""
    if name == "hflip":
        return "a flip has no degree: any strength above 0 mirrors the frame, 0 leaves it"
    return f"at {float(strength):.2f}: {describe_at(name, float(strength))}"


def run(
    video: str,
    name: str | None,
    strength: float = 0.5,
    *,
    model=None,
    frames: int = 16,
    threshold: float | None = None,
    seed: int = 0,
    limits=None,
    progress: Progress | None = None,
    label: str = "",
) -> Report:
    """One analysis of ``video`` with perturbation/level ``name`` (None: unchanged); frames are kept.  ``label``:
    put before each progress line (:func:`compare` and :func:`levels` pass progress already labelled: "jpeg 0.70:
    jpeg: decoding" said the name twice, a browser check found)."""
    transform = None if name in (None, "", "none") else make_transform(name, strength, seed)
    kwargs = {"limits": limits} if limits is not None else {}
    # made before the frames are decoded (see webapp.analyse_tab.run_analysis: its first import pins its callers)
    face_detector()
    return analyze(
        video,
        frames=frames,
        model=model,
        threshold=threshold,
        cam=None,
        keep_frames=True,
        transform=transform,
        progress=_part(progress, 0.0, 1.0, label) if label else progress,  # compare and levels label their parts
        **kwargs,
    )


def mover_of(report: Report, name: str, strength: float) -> Mover | None:
    """:func:`face_mover` for the frames of ``report`` (their size from its video_info)."""
    info = report.video_info or {}
    return face_mover(name, strength, int(info.get("width") or 0), int(info.get("height") or 0))


def compare(
    video: str,
    name: str,
    strength: float,
    *,
    original: Report | None = None,
    progress: Progress | None = None,
    **kwargs,
) -> tuple[Report, Report]:
    """(unchanged, perturbed) reports of ``video``; pass ``original`` to reuse an earlier unchanged run.  Each keeps
    the decoded frame at the original's :func:`preview_position` only (see :func:`keep_frame`)."""
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
    if original is None:
        original = run(video, None, progress=_part(progress, 0.0, 0.5, "original"), **kwargs)
    pos = preview_position(original)
    keep_frame(original, pos)
    perturbed = run(video, name, strength, progress=_part(progress, 0.5, 0.5, f"{name} {strength:.2f}"), **kwargs)
    align_numbers(original, perturbed, mover_of(original, name, strength))
    return original, keep_frame(perturbed, pos)


def levels(video: str, *, progress: Progress | None = None, **kwargs) -> dict[str, Report]:
    """One report per robustness level of :data:`detector.evaluation.perturb.LEVELS` (none, fliprot, heavy); each
    keeps the decoded frame at the first level's :func:`preview_position` only (see :func:`keep_frame`)."""
    out = {}
    n = len(LEVELS)
    pos = None
    for i, name in enumerate(LEVELS):
        out[name] = run(video, name, progress=_part(progress, i / n, 1 / n, name), **kwargs)
        if i:
            align_numbers(out[next(iter(out))], out[name], mover_of(out[next(iter(out))], name, 0.0))
        pos = preview_position(out[name]) if pos is None else pos
        keep_frame(out[name], pos)
    return out


def preview_position(report: Report) -> int:
    """Position of the frame to show: the face frame nearest the middle of the clip (else the middle)."""
    if not report.frames:
        return 0
    mid = len(report.frames) // 2
    with_face = [i for i, fr in enumerate(report.frames) if fr.faces]
    return min(with_face, key=lambda i: abs(i - mid)) if with_face else mid


def keep_frame(report: Report, pos: int) -> Report:
    """Drop the report's decoded frames but the one at position ``pos`` (the one the lab shows), in place: a
    lab job holds two or three reports, and 64 frames of a 1440p clip are 0.7 GB."""
    if report.frames and report.frame_images:
        index = report.frames[min(pos, len(report.frames) - 1)].index
        report.frame_images = {k: v for k, v in report.frame_images.items() if k == index}
    return report


def frame_at(report: Report, pos: int) -> np.ndarray | None:
    if not report.frames or not report.frame_images:
        return None
    return report.frame_images.get(report.frames[min(pos, len(report.frames) - 1)].index)


def face_frames(report: Report) -> int:
    """Sampled frames in which at least one face was found."""
    return sum(fr.has_face for fr in report.frames)


def coverage_warning(clean: Report, other: Report) -> str:
    """A warning when ``other`` found faces in fewer sampled frames than the ``clean`` run (else "")."""
    c, o, n = face_frames(clean), face_frames(other), len(other.frames)
    if o >= c:
        return ""
    if o == 0:
        if other.all_too_small:  # found, but shrunk under the size a face needs to be judged
            where = "in the photo" if other.is_photo else f"in every one of {n} frames (clean run: {c} judged)"
            return f"faces too small to judge {where}: nothing left to judge"
        if other.is_photo:
            return "no face found in the photo (the unchanged photo had one): nothing left to judge"
        return f"no face found in any of {n} frames (clean run: {c}): nothing left to judge"
    return f"faces in only {o} of {n} frames, {c - o} fewer than the clean run: the score rests on fewer faces"


def _photo_face(r: Report) -> str:
    """The photo levels table's "face found" cell for a level that judged no face."""
    return "too small to judge" if r.all_too_small else "**no**"


def _none_judged(r: Report) -> str:
    """Why ``r`` judged no face: "faces too small to judge" where it found only such faces, else "no face found"."""
    return "faces too small to judge" if r.all_too_small else "no face found"


def unscored_word(r: Report) -> str:
    """Why ``r`` has no score, in two words: "faces too small" (all found under the size a face needs) or "no face"."""
    return "faces too small" if r.all_too_small else "no face"


def _score(r: Report) -> str:
    return f"{r.score:.3f}" if r.score == r.score else unscored_word(r)


def levels_table(reports: dict[str, Report]) -> str:
    """The levels as a markdown table: video score, verdict, frames with a face, and a warning where a level
    found faces in fewer frames than the clean run (the "none" level, else the first)."""
    if not reports:
        return ""
    clean = reports.get("none") or next(iter(reports.values()))
    if clean.is_photo:  # one frame: its score, and whether the face was found
        rows = ["| level | score | verdict | face found |", "|---|---|---|---|"]
        for name, r in reports.items():
            rows.append(f"| **{name}** | {_score(r)} | {_said(r)} | {'yes' if face_frames(r) else _photo_face(r)} |")
        return "\n".join(rows)
    rows = ["| level | video score | verdict | frames with a face | face coverage |", "|---|---|---|---|---|"]
    for name, r in reports.items():
        warning = coverage_warning(clean, r)
        rows.append(
            f"| **{name}** | {_score(r)} | {_said(r)} | {face_frames(r)} of {len(r.frames)} | "
            + (f"⚠ {warning}" if warning else ("clean run" if r is clean else "as the clean run"))
            + " |"
        )
    return "\n".join(rows)


def _said(r: Report) -> str:
    """A report's label as the verdict card words it: "unknown" is "no verdict (no face found)" (or "(faces too
    small to judge)")."""
    return f"no verdict ({_none_judged(r)})" if r.label == "unknown" else r.label


def levels_summary(reports: dict[str, Report]) -> str:
    """One line: does the verdict hold at every level?  A level where no face was found has no verdict to change:
    said as such, not as a change of verdict (a browser check: "the verdict **changes** between levels: none real,
    fliprot real, heavy no verdict (no face found)"); a face the unchanged level never found was not "lost"."""
    judged = {n: r for n, r in reports.items() if r.label != "unknown"}
    missing = [n for n in reports if n not in judged]
    labels = {r.label for r in judged.values()}
    if not judged:
        what = "judged (too small)" if any(r.all_too_small for r in reports.values()) else "found"
        return f"**Three levels:** no face was {what} at any level: there is no verdict to compare."
    if len(judged) == 1:
        ((name, r),) = judged.items()
        line = f"**Three levels:** only {name} found a face ({r.label}): nothing to compare it with."
    elif len(labels) == 1:
        where = "" if not missing else f" where a face was found ({', '.join(judged)})"
        line = f"**Three levels:** the verdict holds at every level{where}."
    else:
        line = (
            "**Three levels:** the verdict **changes** between levels: "
            + ", ".join(f"{n} {r.label}" for n, r in judged.items())
            + "."
        )
    small = [n for n in missing if reports[n].all_too_small]
    missing = [n for n in missing if n not in small]
    if missing:
        lost = "lost it" if "none" in judged else "found none in the unchanged picture either"
        line += f" At {' and '.join(missing)}, no face was found (the detector {lost}): no verdict there."
    if small:
        line += f" At {' and '.join(small)}, the faces were too small to judge: no verdict there."
    return line


def compare_summary(original: Report, perturbed: Report, mover: Mover | None = None) -> str:
    """The score change and whether the verdict flipped, and a face-coverage warning (markdown).  ``mover``: where
    the perturbation moves faces (:func:`face_mover`)."""
    from detector.inference.report import segment_made_uncertain, verdict, with_covered, with_segment, with_text_over

    lines = []
    fates = face_fates(original, perturbed, mover)
    swapped, n, kept = fates["swapped"], fates["n"], fates["kept"]
    # not the same faces judged: the change broke the face finder (a teacher's audit: blur "flipped" a verdict on 3
    # frames of 16 and on "faces" larger than any training face, and the headline taught "blur fools the classifier")
    if original.is_photo:
        unfair = "the perturbed photo's run lost the face or scored something else" if n and not kept else ""
    else:
        unfair = (
            f"the perturbed run judged the original's face in only {kept} of its {n} frames (elsewhere it found no "
            "face, or scored something else)"
            if 2 * kept < n
            else ""
        )
    if original.score == original.score and perturbed.score == perturbed.score:
        change = perturbed.score - original.score
        t, band = perturbed.threshold, perturbed.uncertain
        # each report's label from its score, and a stretch of strongly fake frames (with_segment), but not the
        # second opinion nor text over the faces: what is left of a change is their doing (a review)
        by_label = [with_segment(verdict(r.score, t, band), r, t) for r in (original, perturbed)]
        by_score = by_label[0] != by_label[1]
        text_before, text_after = (with_text_over(lab, r, t) != lab for lab, r in zip(by_label, (original, perturbed)))
        by_text = original.label != perturbed.label and not by_score and text_before != text_after
        cover_before, cover_after = (with_covered(lab, r, t) != lab for lab, r in zip(by_label, (original, perturbed)))
        by_cover = original.label != perturbed.label and not by_score and not by_text and cover_before != cover_after
        before_seg, after_seg = segment_made_uncertain(original), segment_made_uncertain(perturbed)
        if original.label == perturbed.label and bool(before_seg) != bool(after_seg):
            # the same label for another reason (a browser check: blur erased a swapped stretch, "verdict unchanged")
            seg = before_seg or after_seg
            where = f"{seg['start']:.1f}-{seg['end']:.1f} s"
            said = (
                f"unchanged ({perturbed.label}), but for another reason: the run of strongly fake frames ({where}) is "
                + ("no longer found after the change." if before_seg else "found only after the change.")
            )
        elif original.label == perturbed.label:
            said = "unchanged."
        elif unfair:
            said = (
                f"changed ({original.label} → {perturbed.label}), but **not a fair comparison**: {unfair}. The change "
                "defeated the face finder more than it fooled the classifier."
            )
        elif by_text:  # the scores fall on the same side: text found over the faces on one side only
            said = (
                f"changed ({original.label} → {perturbed.label}) by the rule for faces under text, which made the "
                f"verdict uncertain {'before' if text_before else 'after'} the change only (see the warnings), not by "
                "the score."
            )
        elif by_cover:  # the same: a face read as covered, under the covered faces' threshold, on one side only
            said = (
                f"changed ({original.label} → {perturbed.label}) by the rule for covered faces (a face read as covered "
                "that scores under their own threshold is not called fake), which made the verdict uncertain "
                f"{'before' if cover_before else 'after'} the change only (see the warnings), not by the score."
            )
        elif not by_score:  # the scores fall on the same side: the colour second opinion made the difference
            said = (
                f"changed ({original.label} → {perturbed.label}) by the colour second opinion (see the warnings), not "
                "by the score."
            )
        elif abs(change) < 0.02:
            said = (
                f"**flipped** ({original.label} → {perturbed.label}), by a small change: the score was already near "
                "the line between the two verdicts."
            )
        else:
            said = f"**flipped** ({original.label} → {perturbed.label})."
        # each score to as many digits as its verdict card prints it (a browser check: "0.942 → ..." beside an
        # "uncertain" card that read 0.9416 < threshold 0.9421)
        before, after = (
            figures_against(r.score, r.threshold, *([float(r.uncertain[0])] if r.uncertain else []))[0]
            for r in (original, perturbed)
        )
        lines.append(f"**Score change:** {before} → {after} ({change:+.3f}); verdict {said}")
    else:
        lines.append(f"**Verdict:** {_said(original)} → {_said(perturbed)}.")
    warning = coverage_warning(original, perturbed)
    if warning:
        lines.append(f"⚠ **Face coverage:** perturbed, {warning}.")
    if swapped:
        lost = (
            "the perturbed photo's run lost the unchanged photo's face"
            if original.is_photo
            else f"in {swapped} of {n} frames the perturbed run lost the clean run's face"
        )
        lines.append(
            f"⚠ **Other faces:** {lost} and found another elsewhere (often not a face at all): its score is of "
            "those, not of the face you see before."
        )
    return "\n\n".join(lines)


def _largest(faces):
    return max(faces, key=lambda f: f.box[2] * f.box[3]) if faces else None


def key_identity(report: Report) -> int | None:
    """The face (identity) whose score is the report's score: the one to follow when a change moves the verdict.
    None without faces.  A review: a clip's verdict came from its small second face, while the lab's pairs showed
    the large one."""
    if not report.identities or report.score != report.score:
        return None
    return min(report.identities, key=lambda i: (abs(i.score - report.score), -i.frames)).identity


def _shown_face(report: Report, pos: int):
    """The face of :func:`key_identity` in sampled frame ``pos`` where it is there, else the frame's largest."""
    faces = report.frames[pos].faces
    key = key_identity(report)
    return next((f for f in faces if f.identity == key), None) or _largest(faces)


Mover = Callable[[tuple], tuple]  # a face box (x, y, w, h) in the unchanged frame -> where the perturbation puts it


def face_mover(name: str, strength: float, width: int, height: int) -> Mover | None:
    """Where perturbation (or level) ``name`` at ``strength`` moves a face box of a ``width`` x ``height`` frame:
    mirrored (hflip), turned about the frame's centre (rotate: 30 degrees at strength 1, counter-clockwise, as
    :func:`detector.evaluation.perturb.rotate` turns it), or both (fliprot); None for a perturbation that leaves
    faces in place.  A review: trying every face's mirror image for every moving perturbation paired a turned face
    with the other person of a two-shot."""
    import math

    steps = [(n, float(s)) for n, s in LEVELS[name].steps] if name in LEVELS else [(name, float(strength))]
    moves = [(n, s) for n, s in steps if n in ("hflip", "rotate") and s > 0]
    if not moves or not width or not height:
        return None

    def move(box):
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2
        for n, s in moves:
            if n == "hflip":
                cx = width - cx
            else:  # cv2.getRotationMatrix2D's turn (y points down): counter-clockwise on the screen
                a = math.radians(ROTATE_DEGREES * s)
                dx, dy = cx - width / 2, cy - height / 2
                cx = width / 2 + dx * math.cos(a) + dy * math.sin(a)
                cy = height / 2 - dx * math.sin(a) + dy * math.cos(a)
        return (cx - w / 2, cy - h / 2, w, h)

    return move


def _matched(before_faces: list, after_faces: list, mover: Mover | None) -> dict[int, object]:
    """{index in ``before_faces``: the same face in ``after_faces``}, one to one: pairs by the overlap of the moved
    box (:func:`face_mover`) with the perturbed run's box, best first, at least 0.3 (0.2 for a moved box: a turn
    changes a box's shape)."""
    from detector.inference.faces import iou

    move = mover or (lambda box: box)
    pairs = sorted(
        ((iou(move(a.box), b.box), i, j) for i, a in enumerate(before_faces) for j, b in enumerate(after_faces)),
        key=lambda t: -t[0],
    )
    floor = 0.2 if mover else 0.3
    out, used = {}, set()
    for overlap, i, j in pairs:
        if overlap < floor:
            break
        if i not in out and j not in used:
            out[i] = after_faces[j]
            used.add(j)
    return out


def _pair_at(before: Report, after: Report, pos: int, mover: Mover | None = None):
    """(the unchanged run's face at sampled frame ``pos`` (:func:`_shown_face`), the same face in the perturbed run
    or None)."""
    faces = before.frames[pos].faces
    a = _shown_face(before, pos)
    others = after.frames[pos].faces if pos < len(after.frames) else []
    return a, _matched(faces, others, mover).get(faces.index(a)) if a is not None else None


def align_numbers(before: Report, after: Report, mover: Mover | None = None) -> Report:
    """Number ``after``'s faces as ``before`` numbers the same people, in place: each of its identities takes the
    number of the face it is matched with (:func:`_matched`) in most frames; one matched with none gets a number
    after all of ``before``'s.  A review: a flipped frame numbers its faces left to right anew, so "face 0" of the
    perturbed timeline was the other person, and read as one face's score jumping."""
    votes: dict[tuple[int, int], int] = {}
    for fa, fb in zip(before.frames, after.frames):
        for i, b in _matched(fa.faces, fb.faces, mover).items():
            key = (b.identity, fa.faces[i].identity)
            votes[key] = votes.get(key, 0) + 1
    mapping: dict[int, int] = {}
    for (b_id, a_id), _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
        if b_id not in mapping and a_id not in mapping.values():
            mapping[b_id] = a_id
    free = max([i.identity for i in before.identities] + [f.identity for f in before.faces] + [-1]) + 1
    for ident in sorted({f.identity for f in after.faces} | {i.identity for i in after.identities}):
        if ident not in mapping:
            mapping[ident], free = free, free + 1
    for fr in after.frames:
        for f in fr.faces:
            f.identity = mapping.get(f.identity, f.identity)
        fr.faces.sort(key=lambda f: f.identity)
    for i in after.identities:
        i.identity = mapping.get(i.identity, i.identity)
    after.identities.sort(key=lambda i: i.identity)
    for row in (after.sequence or {}).get("tracks") or []:
        row["identity"] = mapping.get(row.get("identity"), row.get("identity"))
    return after


def face_fates(before: Report, after: Report, mover: Mover | None = None) -> dict[str, int]:
    """What became of the unchanged run's main face in the perturbed run, counted over the frames where the
    unchanged run found a face (``n``): ``kept`` (the same face found), ``swapped`` (lost, but another found: a
    review saw heavy blur lose the face and a "face" in the background scored instead, flipping the verdict with
    nothing said) and ``lost`` (no face found at all)."""
    with_face = [i for i, fr in enumerate(before.frames) if fr.faces and i < len(after.frames)]
    lost = sum(1 for i in with_face if not after.frames[i].faces)
    swapped = sum(1 for i in with_face if after.frames[i].faces and _pair_at(before, after, i, mover)[1] is None)
    return {"kept": len(with_face) - lost - swapped, "swapped": swapped, "lost": lost, "n": len(with_face)}


def _no_face_panel(shape: tuple[int, ...], lines: tuple[str, ...] = ("no face", "found")) -> np.ndarray:
    """A light grey panel of ``shape`` that says "no face found" (or ``lines``)."""
    panel = np.full(shape, 200, np.uint8)
    for i, line in enumerate(lines):
        (tw, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
        org = ((panel.shape[1] - tw) // 2, panel.shape[0] // 2 - 4 + 24 * i)
        cv2.putText(panel, line, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (70, 70, 70), 1, cv2.LINE_AA)
    return panel


def crop_pairs(
    before: Report, after: Report, max_pairs: int = LAB_PAIRS, side: int = 128, mover: Mover | None = None
) -> list[tuple[np.ndarray, str]]:
    """Gallery items: the face crop of the unchanged run beside the perturbed run's, at up to ``max_pairs``
    sampled frames spread over the clip (frames where the unchanged run found a face).  In each frame the
    unchanged run's face that sets its score (:func:`key_identity`; else the frame's largest) is shown beside the
    same face in the perturbed run (:func:`_matched`: found by its place, moved as the perturbation moves it:
    ``mover``, :func:`face_mover`), "no face found" where the perturbed run lost it, "face lost" where it found only
    other faces.  Each crop is framed in its own verdict colour."""
    from webapp.faces import face_tile

    border = 5
    with_face = [i for i, fr in enumerate(before.frames) if fr.faces and i < len(after.frames)]
    if not with_face or max_pairs <= 0:
        return []
    picks = sorted({with_face[round(k * (len(with_face) - 1) / max(1, max_pairs - 1))] for k in range(max_pairs)})
    items = []
    for pos in picks:
        a, b = _pair_at(before, after, pos, mover)
        others = after.frames[pos].faces
        left = face_tile(
            a, before.threshold, side, border, before.uncertain, panel=False, depth=False, second=before.second_opinion
        )
        right = (
            face_tile(
                b, after.threshold, side, border, after.uncertain, panel=False, depth=False, second=after.second_opinion
            )
            if b is not None
            else _no_face_panel(left.shape, _lost_lines(after.frames[pos], others))
        )
        gap = np.full((left.shape[0], 8, 3), 255, np.uint8)
        where = "" if before.is_photo else f"t = {before.frames[pos].time:.2f} s · "  # a photo: no time
        before_score = score_text(a.score, before.threshold, before.uncertain)
        lost = "face lost (other faces found)" if others else unjudged_text(after.frames[pos].too_small)
        after_score = lost if b is None else score_text(b.score, after.threshold, after.uncertain)
        who = f"face {a.identity} · " if len(before.identities) > 1 else ""  # which person, where there are several
        note = _pair_caption_note(a, b)  # the pair shown upright, as the model saw it; text found over it
        caption = f"{where}{who}score {before_score} → {after_score}{note}"
        items.append((np.concatenate([left, gap, right], axis=1), caption))
    return items


def _pair_caption_note(a, b) -> str:
    """:func:`~webapp.faces.crop_note` of a face pair's "before" face ``a``, its text said of the side it was found
    on where that is one side only (a browser check: text found before a JPEG re-compression, missed after, was
    captioned as found on both); ``b``: the "after" face or None."""
    from webapp.faces import crop_note

    if b is None or bool(a.text_over) == bool(b.text_over):
        return crop_note(a)
    return crop_note(a, text=False) + f" · text found {'before' if a.text_over else 'after'} only"


def _lost_lines(frame, others) -> tuple[str, str]:
    """The grey panel's two lines where the perturbed run has no match for the face: lost among other faces, too
    small to judge, or no face found."""
    if others:
        return ("face", "lost")
    return ("face too", "small") if frame.too_small else ("no face", "found")


def change_title(name: str, strength: float) -> str:
    """The change in a few words: "warm at strength 1.00", or a level's name (:func:`describe` without its
    description)."""
    return describe(name, strength).split(":")[0]


def preview_titles(original: Report, pos: int, name: str, strength: float) -> tuple[str, str]:
    """The titles written under the two halves of the lab's preview: "original" with the moment of a clip
    (``t = 3.36 s (frame 84)``; a photo has none), and the change.  Written into the picture: the viewer's own label,
    over its top-left corner, hid the tag of a face there (a browser check)."""
    first = "original"
    if not original.is_photo and 0 <= pos < len(original.frames):
        first += f", t = {original.frames[pos].time:.2f} s (frame {original.frames[pos].index})"  # cv2 draws ASCII only
    return first, change_title(name, strength)


def clip_from_first_tab(
    own: str | None,
    first_video: str | None,
    first_photo: str | None = None,
    asked: bool = False,
):
    """Which video or photo a tab of its own input (the lab, the compare view) should hold: ``(the file, or None to
    leave the tab as it is; a note for the user)``.  ``own``: the file the tab holds now.

    ``asked``: the user pressed "use the first tab's video or photo"; else the tab was just opened, and the first
    tab's file fills an empty tab (a file already there is kept).  The note says why nothing changed when the user
    asked and the first tab holds nothing.
    """
    first = first_photo or first_video  # the first tab keeps one of them at a time
    if not asked:  # opened: an empty tab takes the first tab's file
        return (first if first and not own else None), ""
    if first:
        return first, ""
    return None, "The first tab has no video or photo yet. Upload one here or pick an example."


BROWSER_CODECS = {"h264", "vp8", "vp9", "av1"}  # what browsers' video players show; others play blank
# H.264 in the pixel formats browsers decode: 8-bit 4:2:0 (4:4:4 and 10-bit H.264, common from screen recorders and
# cameras, play blank in Chrome and Firefox; 10-bit VP9 and AV1 play)
BROWSER_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}
NOT_PLAYED = {".avi": "an AVI file", ".wmv": "a WMV file", ".flv": "a Flash video", ".mpg": "an MPEG file"}
NOT_PLAYED[".mpeg"] = NOT_PLAYED[".mpg"]


def playable_note(codec: str | None, pixel_format: str = "", path: str = "") -> str:
    """A word for a clip the browser's player will likely show blank (found by a browser check: the SadTalker clips,
    MPEG-4 Part 2, stayed blank with no message, though they analyse as any other): by its ``codec``, its frames'
    ``pixel_format`` (a review: H.264 in 4:4:4 played blank unexplained) or its container (``path``'s extension:
    AVI, WMV...); "" for the others."""
    codec, pixel_format = (codec or "").lower(), (pixel_format or "").lower()
    if codec and codec not in BROWSER_CODECS:
        what = f"{codec} video"
    elif codec == "h264" and pixel_format and pixel_format not in BROWSER_PIXEL_FORMATS:  # (10-bit VP9, AV1 play)
        what = f"{codec} video in {pixel_format} pixels"
    elif os.path.splitext(path or "")[1].lower() in NOT_PLAYED:
        what = NOT_PLAYED[os.path.splitext(path)[1].lower()]
    else:
        return ""
    return f"Your browser may not play this clip ({what}) in the player above: it is analysed all the same."


def clip_info(clip: str | None):
    """The header of ``clip`` (:func:`~detector.inference.video.probe`, under the app's limits as the Analyse tab
    reads it, so one upload is probed once), or None (no clip, a photo, a file that cannot be probed)."""
    if not clip:
        return None
    from detector.inference.stills import is_still
    from detector.inference.video import probe_cached
    from webapp.common import LIMITS

    if is_still(clip):
        return None
    try:
        return probe_cached(clip, LIMITS)
    except Exception:  # noqa: BLE001 -- a file the checks refuse is said by them, on Run; this line only names it
        return None


def clip_codec(clip: str | None) -> str:
    """The video codec of ``clip`` from its header, or "" (no clip, a photo, a file that cannot be probed)."""
    return getattr(clip_info(clip), "codec", "") or ""


def info_note(info, path: str = "") -> str:
    """:func:`playable_note` of a probed clip's header (``info``; None: "")."""
    if info is None:
        return ""
    return playable_note(getattr(info, "codec", ""), getattr(info, "pixel_format", ""), path or info.path)


def clip_note(clip: str | None) -> str:
    """The line under a tab's video or photo (the lab's, the compare view's): which file the results will be of,
    and a word when the browser will likely not play a clip."""
    if not clip:
        return ""
    from detector.inference.stills import is_still

    if is_still(clip):
        return f"Photo: **{os.path.basename(clip)}**"
    if clip.lower().endswith(".gif"):  # shown by the Photo slot, not a player: no word on the browser's codecs
        return f"Animated gif: **{os.path.basename(clip)}** (analysed as a short clip)"
    blank = info_note(clip_info(clip), clip)
    return f"Clip: **{os.path.basename(clip)}**" + (f". {blank}" if blank else "")


__all__ = [
    "run",
    "compare",
    "levels",
    "describe",
    "strength_info",
    "preview_position",
    "preview_titles",
    "change_title",
    "frame_at",
    "keep_frame",
    "face_frames",
    "coverage_warning",
    "levels_table",
    "levels_summary",
    "compare_summary",
    "crop_pairs",
    "align_numbers",
    "face_mover",
    "mover_of",
    "face_fates",
    "clip_from_first_tab",
    "clip_note",
    "playable_note",
    "unscored_word",
    "info_note",
    "clip_info",
    "clip_codec",
]
