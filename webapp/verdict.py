"""The verdict card: real / uncertain / fake, the video score, how it was aggregated, and why to doubt it.

Everything is plain HTML with inline styles (so it reads the same in light and dark
themes) built from a :class:`~detector.inference.report.Report`; user-facing text is escaped.
:func:`relabel` judges the same scores at another threshold (the app's threshold slider).
"""

from __future__ import annotations

import dataclasses
import html
import math
import os

from detector.inference.covers import COVERED_WARNING, check_covers
from detector.inference.report import (
    CUT_OUT_FAKE,
    HAND_THRESHOLD,
    NO_FACE,
    RULE_TEXT,
    SECOND_OPINION,
    Report,
    band_at,
    card_rule_of,
    covered_made_uncertain,
    figures_against,
    hand_threshold_warning,
    is_cut_out,
    is_model_warning,
    is_pooled,
    second_opinion_warning,
    segment_made_uncertain,
    sequence_label,
    small_faces_once,
    text_free_score,
    text_made_uncertain,
    threshold_by_hand,
    trust_warnings,
    verdict,
    with_covered,
    with_cut_out,
    with_fragile,
    with_second_opinion,
    with_segment,
    with_text_over,
    without_fragile,
)
from detector.inference.video import MANY_FACES_THRESHOLD, SMALL_PHOTO_THRESHOLD, SMALL_THRESHOLD

# the lines a card's threshold for small videos, small photos or many faces adds (detector.inference.video)
TIER_LINES = (SMALL_THRESHOLD, SMALL_PHOTO_THRESHOLD, MANY_FACES_THRESHOLD)

COLOURS = {
    "fake": ("#fdecea", "#b71c1c", "#e53935"),  # background, text, border
    "real": ("#e8f5e9", "#1b5e20", "#43a047"),
    "uncertain": ("#fff8e1", "#6d4c00", "#f0b429"),
    "unknown": ("#f1f1f1", "#424242", "#9e9e9e"),
}
HEADLINES = {
    "fake": "Likely FAKE",
    "real": "Likely REAL",
    "uncertain": "UNCERTAIN: cannot tell",
    "unknown": "No verdict: no face found",
}

_CARD = (
    "border-radius:12px;padding:14px 18px;margin:2px 0 8px 0;border:2px solid {border};"
    "background:{bg};color:{fg};font-family:Inter,system-ui,sans-serif;line-height:1.45"
)
_WARN = (
    "border-radius:10px;padding:10px 14px;margin:6px 0;border:1px solid #f0b429;background:#fff8e1;"
    "color:#6d4c00;font-family:Inter,system-ui,sans-serif;font-size:14px;line-height:1.4"
)


def headline(report: Report) -> str:
    """The verdict card's headline: :data:`HEADLINES` by label, and for no verdict because every face found was too
    small to judge, that (not "no face found")."""
    if report.all_too_small:
        return "No verdict: faces too small"
    return HEADLINES.get(report.label, report.label)


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def warnings_html(warnings: list[str], head: str | None = None) -> str:
    if not warnings:
        return ""
    head = head or "Treat this verdict with care"
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return (
        f'<div style="{_WARN}"><b>&#9888; {html.escape(head)}</b>'
        f'<ul style="margin:4px 0 0 18px;padding:0">{items}</ul></div>'
    )


def verdict_html(report: Report, title: str = "", compact: bool = False) -> str:
    """The verdict card of one report; under the headline, a line when the report doubts the model itself
    (:func:`~detector.inference.report.model_warning`: untested, near chance, or an uncalibrated threshold)."""
    bg, fg, border = COLOURS.get(report.label, COLOURS["unknown"])
    head = headline(report)
    n = len(report.frames)
    with_face = sum(fr.has_face for fr in report.frames)
    ids = len(report.identities)
    parts = [f'<div style="{_CARD.format(border=border, bg=bg, fg=fg)}">']
    if title:
        parts.append(
            f'<div style="font-size:13px;opacity:.8;text-transform:uppercase;letter-spacing:.05em">'
            f"{html.escape(title)}</div>"
        )
    parts.append(
        # a heading, so that a screen reader can jump to it (an accessibility audit: it was a plain div)
        f'<h2 style="font-size:{24 if compact else 30}px;font-weight:800;margin:0;line-height:1.2;color:inherit" '
        f'class="verdict-label">{html.escape(head)}</h2>'
    )
    doubted = report.label != "unknown" and any(is_model_warning(w) for w in report.warnings)
    if doubted:  # the headline alone read as the default's verdict (a browser check)
        parts.append(
            f'<div style="font-size:{14 if compact else 16}px;font-weight:700" class="verdict-doubt">'
            "From a model not to be relied on alone: see the warning about the model below.</div>"
        )
    if report.label != "unknown" and threshold_by_hand(report):  # a journalist's audit: one slider drag made a
        # shareable red "Likely FAKE" of a clip the model called uncertain, its caveat only in a box further down
        parts.append(
            f'<div style="font-size:{14 if compact else 16}px;font-weight:700" class="verdict-hand">'
            "At a threshold set by hand, not the model's own: see the warning below.</div>"
        )
    band = report.uncertain
    photo = is_photo(report)
    if not math.isnan(report.score):
        # every figure printed to as many digits as it takes to agree with the label (see figures_against)
        # against the threshold and the band's edge at once: "0.418" beside "uncertain from 0.4184" read as a
        # score in the band called real (a review); it is "0.4183"
        shown = figures_against(report.score, report.threshold, *([float(band[0])] if band else []))
        rule = card_rule_of(report)  # which of the card's own thresholds judged it, if one of them did
        shown_score, thr_text, band_text = (shown + [""])[:3]
        cmp = "&ge;" if report.score >= report.threshold else "&lt;"
        parts.append(
            f'<div style="font-size:{16 if compact else 18}px;margin-top:2px">{"score" if photo else "video score"} '
            f'<b class="verdict-score">{shown_score}</b> {cmp} threshold {thr_text}'
            # the lab and compare cards too: a threshold moved on the first tab is not the model's (a teacher's audit)
            + (" (set by hand)" if threshold_by_hand(report) else "")
            + (f" (the model's for {rule})" if rule else "")
            + (f" &middot; uncertain from {band_text}" if band else "")
            + "</div>"
        )
        if report.label == "uncertain":
            parts.append(uncertain_html(report, compact))
        elif report.label == "real":
            parts.append(real_html(compact))
        elif report.label == "fake":
            parts.append(fake_html(report, compact))
        if report.sequence:  # a temporal model: its own verdict over each person's frames in order
            parts.append(sequence_html(report.sequence, compact))
        rule = report.aggregation
        others = ", ".join(f"{k} rule {_fmt(v)}" for k, v in report.scores_by_rule.items() if k != rule)
        if photo and not compact:
            parts.append(
                '<div style="font-size:13.5px;margin-top:6px;color:#333"><b>How:</b> each face gets a fake '
                "score (0 to 1); the score is the most fake face's.</div>"
            )
        elif not compact:
            how = HOW_TEXT.get(rule, html.escape(RULE_TEXT.get(rule, rule)))
            pooled = is_pooled(report)
            if pooled:  # no person to speak of: the rule ran over every face
                how = how.replace("for each person, ", "").replace("their faces", "the faces")
            who = (
                "No person could be followed through a quarter of the frames, so the rule took every face "
                "together for the video score."
                if pooled
                else "The most fake person seen in at least a quarter of the frames gives the video score."
            )
            parts.append(
                f'<div style="font-size:13.5px;margin-top:6px;color:#333"><b>How:</b> each face in each sampled '
                f"frame gets a fake score; {how} {who}"
                + (f" For comparison: {html.escape(others)}." if others else "")
                + "</div>"
            )
    small = report.too_small_faces  # found, too small to judge: not "0 faces" alone
    judged = " judged" if small else ""
    if photo:
        faces = len(report.faces)
        facts = [f"a photo with {faces} face{'s' * (faces != 1)}{judged}"]
    else:
        facts = [
            f"faces{judged} in {with_face} of {n} sampled frames",
            f"{ids} face identit{'y' if ids == 1 else 'ies'}",
        ]
    if small:
        facts.append(f"{small} face{'s' * (small != 1)} too small to judge")
    facts.insert(0, f"<b>{html.escape(os.path.basename(report.video) or report.video)}</b>")  # whose verdict this is
    facts.append(f"model <code>{html.escape(report.model)}</code>")
    if "total" in report.timings:
        facts.append(f"analysed in {report.timings['total']:.1f} s")  # not the clip's length (a browser check)
    parts.append(f'<div style="font-size:13px;margin-top:6px;color:#444">{" &middot; ".join(facts)}</div></div>')
    notes = list(report.warnings)
    if report.label == "unknown":  # no face: no verdict to treat with care (a review), only the reason there is none;
        # the threshold and the model's caveats judge nothing here
        notes = [w for w in report.warnings if not (w.startswith(HAND_THRESHOLD) or is_model_warning(w))]
    parts.append(warnings_html(notes, "Why there is no verdict" if report.label == "unknown" else None))
    return "".join(parts)


def sequence_html(sequence: dict, compact: bool = False) -> str:
    """The line of a temporal model's sequence verdict (:attr:`Report.sequence`): its label and score against its own
    threshold and band, beside the frame verdict above it, and why, where the frame level's rules moved its label
    (:func:`~detector.inference.report.sequence_label`)."""
    score, label = sequence.get("score"), str(sequence.get("label", "unknown"))
    band = sequence.get("uncertain")
    if score is None:
        figures = "no sequence score"
    else:
        t = float(sequence["threshold"])
        shown = figures_against(float(score), t, *([float(band[0])] if band else []))
        figures = f"sequence score {shown[0]} {'&ge;' if score >= t else '&lt;'} its threshold {shown[1]}"
        if band:
            figures += f", uncertain from {shown[2]}"
        own = verdict(float(score), t, band)
        if own != label:  # a stretch of the clip scoring strongly fake, or text over the faces (the frame rules)
            figures += f"; its score alone says {own}, held at {label} by the frame level's rules (see the warnings)"
    words = {"fake": "likely fake", "real": "likely real"}.get(label, label)
    return (
        f'<div style="font-size:{13.5 if compact else 15}px;margin-top:4px" class="verdict-sequence">'
        f"<b>Read in order</b> (the model's sequence head over each person's frames): {html.escape(words)}, "
        f"{figures}</div>"
    )


HOW_TEXT = {
    "confident": "for each person, the <b>confident</b> rule combines them: if over 40% of their faces score above "
    "0.8, the mean of those; if over 90% score below 0.2, the mean of those; otherwise the mean of all.",
    "mean": "for each person, the <b>mean</b> rule averages them.",
}


THRESHOLD_STEP = 0.001  # the threshold slider's step: 0.90793 shows as 0.908, as the verdict prints it


def real_html(compact: bool = False) -> str:
    """What a "real" verdict means, in words: no sign found, not proof (a browser check: a c40 NeuralTextures fake
    called "Likely REAL" with nothing to hedge it, where "uncertain" said it vouched for nothing, which read as if
    "real" did)."""
    if compact:
        text = "No sign of a fake found by this model; not proof that it is real."
    else:
        text = (
            "<b>What &ldquo;likely real&rdquo; means:</b> the score is under the threshold: this model found no sign "
            "of the face swaps and re-enactments it learned. It is not proof that the face is real: it misses many "
            "fakes, above all heavily compressed ones and methods it never saw (its model card gives the rates)."
        )
    return f'<div class="verdict-real" style="font-size:13.5px;margin-top:6px">{text}</div>'


def fake_html(report: Report, compact: bool = False) -> str:
    """What a "fake" verdict means, in words: evidence, not proof, and what to do before reporting it (a journalist's
    audit: the real and uncertain cards said what they meant, the fake card stood alone with its red headline)."""
    hand = threshold_by_hand(report)
    if compact:
        text = "Evidence, not proof: real faces sometimes score this high too."
    else:
        at = "the threshold set by hand" if hand else "the threshold"
        text = (
            f"<b>What &ldquo;likely fake&rdquo; means:</b> the score is at or over {at}: the face looks like the "
            "face swaps and re-enactments this model learned. It is evidence, not proof: real faces sometimes score "
            "this high too (the model card gives how often), more so when the picture is small, heavily compressed "
            "or colour-filtered. Before relying on it, find the original source and a version known to be real, "
            "read the warnings below, and see where the heat maps point."
        )
        texted = any(f.text_over for f in report.faces)
        if texted and report.text_threshold is not None:  # faces under text that make it so: their own threshold
            text += (
                " Text is laid over the face, and real faces under text score high: it is called fake here because "
                f"it scores over the model's threshold for faces under text ({float(report.text_threshold):.3f}) "
                "too, or because faces free of text do."
            )
        covered = any(w.startswith(COVERED_WARNING) for w in report.warnings)
        if covered and report.covered_threshold is not None:  # a browser check: the card said nothing of it
            text += (
                " Something seems to cover the mouth and chin, and covered real faces score high: it is called fake "
                "here because it scores over the model's threshold for covered faces too, or because faces not "
                "covered do (see the warning about it)."
            )
    return f'<div class="verdict-fake" style="font-size:13.5px;margin-top:6px">{text}</div>'


def uncertain_html(report: Report, compact: bool = False) -> str:
    """What an "uncertain" verdict means, in words (the score is in the band where real faces also score)."""
    low = float(report.uncertain[0]) if report.uncertain else report.threshold
    second = report.second_opinion
    # over the threshold, but the second opinion says not fake (not where it says fake too: then another rule made it
    # uncertain, such as text over the faces: a review)
    heard = second and report.score >= report.threshold and second.get("label") != "fake"
    name = html.escape(second["model"]) if heard else ""
    if heard and compact:
        text = f"Over the threshold, but {name} (trained with colour filters) does not say fake."
    elif heard:
        text = (
            f"<b>Why &ldquo;uncertain&rdquo;:</b> the score is over the threshold, but colour filters "
            f"mislead it, and {name}, trained with such filters, does not call this fake. "
            "Neither verdict is vouched for: look for other evidence."
        )
    elif is_cut_out(report) and report.score >= report.threshold:  # over the threshold, but a cut-out
        text = (
            "Over the threshold, but a cut-out: real cut-outs score fake too."
            if compact
            else "<b>Why &ldquo;uncertain&rdquo;:</b> the score is over the threshold, but the photo is a cut-out (its "
            f"background removed, shown on white), an edit the model never trained on: {CUT_OUT_FAKE}. So it does "
            "not call a cut-out fake. Give the original picture if you have it."
        )
    elif text_made_uncertain(report):  # over the threshold, but on faces under text
        free = text_free_score(report)
        if free == free:
            rest = "The faces free of text do not call it fake on their own."
        elif is_photo(report):
            rest = "No face in the photo was free of text."
        else:
            rest = "Too few of its frames were free of text to judge it on their own."
        tt = report.text_threshold
        own = (
            f" It calls a face under text fake from {float(tt):.3f}, a threshold set on real faces with captions and "
            "watermarks laid over them, and this score is under it."
            if tt is not None
            else ""
        )
        text = (
            "Over the threshold, but on faces with text laid over them: real ones score fake too."
            if compact
            else "<b>Why &ldquo;uncertain&rdquo;:</b> the score is over the threshold, but the faces that make it so "
            "had text laid over them (a caption or a watermark): the model never trained on faces under text, and "
            f"real faces under text score fake too.{own} {rest} Find a copy without the text if you can."
        )
    elif covered_made_uncertain(report):  # over the threshold, but on faces read as covered, under their own
        ct, one = float(report.covered_threshold), is_photo(report) and len(report.faces) == 1
        text = (
            f"Over the threshold, but on covered faces (mouth and chin), under {ct:.3f}: covered real faces score "
            "this high too."
            if compact
            else "<b>Why &ldquo;uncertain&rdquo;:</b> the score is over the threshold, but something seems to cover "
            f"the lower face of {'the face that makes' if one else 'the faces that make'} it so (a hand, a cup, a "
            "microphone, a mask?), and covered real faces score high: the model never "
            f"trained on covered faces. It calls a covered face fake from {ct:.3f}, a threshold set on real photos "
            "with such covers, and this one is under it. Look for a picture where the face is free."
        )
    elif seg := segment_made_uncertain(report):  # under the band, but a stretch scores strongly fake (a review)
        text = (
            f"Under the band, but {seg['frames']} frames in a row ({seg['start']:.1f}&ndash;{seg['end']:.1f} s) score "
            f"over {seg['over']:.3g}: fake in part?"
            if compact
            else f"<b>Why &ldquo;uncertain&rdquo;:</b> the video score {report.score:.3f} weighs every sampled frame "
            f"and is low, but {seg['frames']} of one face's sampled frames in a row, from {seg['start']:.1f} s to "
            f"{seg['end']:.1f} s, score over {seg['over']:.3g}: a partly edited clip looks like this, so the model "
            "does not vouch that it is real. See the timeline there, and look for other evidence."
        )
    elif compact:
        text = f"Score in the uncertain band {low:.3f}&ndash;{report.threshold:.3f}: the model cannot tell."
    elif threshold_by_hand(report):  # real faces were measured up to the card's threshold, not this one (a review)
        text = (
            f"<b>What &ldquo;uncertain&rdquo; means:</b> the score lies between {low:.3f}, where the model's uncertain "
            f"band begins, and the threshold {report.threshold:.3f} set by hand. At this threshold the model does not "
            "call it fake, and it does not vouch that it is real. Look for other evidence."
        )
    else:
        text = (
            f"<b>What &ldquo;uncertain&rdquo; means:</b> the score lies between {low:.3f} and the threshold "
            f"{report.threshold:.3f}, where real faces from the model's validation set also score. In this band the "
            "model cannot tell a fake from a real face: it does not call this fake, and it does not vouch that it "
            "is real. Look for other evidence."
        )
    return f'<div class="verdict-uncertain" style="font-size:13.5px;margin-top:6px">{text}</div>'


def relabel(
    report: Report,
    threshold: float,
    card_threshold: float | None = None,
    card_band: list[float] | None = None,
    card=None,
) -> Report:
    """A copy of ``report`` judged at ``threshold`` from its scores (no new analysis).

    At the model card's own threshold (to the slider's step, :data:`THRESHOLD_STEP`) the card's uncertain band
    applies; at another, the
    band keeps its lower edge and ends at the new threshold (:func:`~detector.inference.report.band_at`), as in
    :func:`detector.inference.pipeline.analyze`.  The warnings that depend on the threshold (or on the verdict) are
    worked out again; the others are kept.  ``card``, the model card, words the heavy-compression warning of a
    verdict moved from fake to real or uncertain (without it, one said before is kept where the verdict allows).
    """
    from detector.inference.pipeline import compression_warning
    from detector.inference.video import is_heavy_compression_warning

    own = card_threshold is not None and abs(float(threshold) - float(card_threshold)) <= THRESHOLD_STEP / 2 + 1e-9
    t = float(card_threshold) if own else float(threshold)
    band = band_at(t, card_threshold, card_band) if card_threshold is not None else None
    old_auto = trust_warnings(report)
    # a card's line for its tier (small files, many faces) says what judges the file at the card's threshold only (an
    # audit: at a hand-set 0.6 a small clip still read "the model uses 0.954 ... from 0.418 up to it is uncertain")
    kept = [
        w
        for w in without_fragile(report.warnings)
        if w not in old_auto
        and not w.startswith(HAND_THRESHOLD)
        and not w.startswith(SECOND_OPINION)
        and not w.startswith(TIER_LINES)
    ]
    # said again from the analysis where the card's threshold judges (a review: off it and back, the slider lost them)
    if card_threshold is None:  # the card's threshold unknown: the lines as the report had them
        tiers = [w for w in report.warnings if w.startswith(TIER_LINES)] or list(report.card_lines)
    else:
        tiers = list(report.card_lines) if own else []
    # faces this threshold reaches that the analysis never looked at for a cover (under its band): looked at now
    check_covers(report.faces, t, band, report.covered_threshold)
    # this model's (never "real" with a stretch of the clip scoring strongly fake), then the second opinion's say on
    # a "fake"
    own_label = with_cut_out(with_segment(verdict(report.score, t, band), report, t), report)  # a cut-out: uncertain
    own_label = with_text_over(own_label, report, t)  # faces under text: not fake on their own
    own_label = with_covered(own_label, report, t)  # nor covered ones under their threshold
    new = dataclasses.replace(
        report, threshold=t, uncertain=band, label=with_second_opinion(own_label, report.second_opinion)
    )
    if report.sequence and report.sequence.get("score") is not None:  # its own threshold; the frame rules at this one
        seq = report.sequence
        new.sequence = {**seq, "label": sequence_label(verdict(seq["score"], seq["threshold"], seq["uncertain"]), new)}
    hand = [] if own or card_threshold is None else [hand_threshold_warning(t, float(card_threshold))]
    from detector.data.seen import is_seen_warning

    # first, as analyze put them: a training file (it outweighs every other caveat), then the model's own doubt
    front = [w for w in kept if is_seen_warning(w)] + [w for w in kept if is_model_warning(w)]
    said = second_opinion_warning(report.second_opinion, own_label, report.is_photo) if report.second_opinion else ""
    second = [said] if said else []  # what the second opinion says, and did, at this threshold
    auto = trust_warnings(new)
    if new.all_too_small:  # faces were found, too small: not "no face was found"
        auto = [w for w in auto if not w.startswith(NO_FACE)]
    said_before = [w for w in kept if is_heavy_compression_warning(w)]  # said of real and uncertain verdicts only
    kept = [w for w in kept if w not in said_before]
    squeezed = compression_warning(new, card) if card is not None else (said_before[:1] or [""])[0]
    squeezed = [squeezed] if squeezed and new.label in ("real", "uncertain") else []
    new.warnings = small_faces_once(
        front + hand + auto + [w for w in kept if w not in front] + tiers + squeezed + second
    )
    if card_threshold is not None:  # at the card's threshold only (not said where it is unknown)
        new.warnings = with_fragile(new)
    return new


def is_photo(report: Report) -> bool:
    """Whether the report is of a photo (a one-frame clip: jpg, png, webp or bmp)."""
    return report.is_photo


def message_html(text: str, kind: str = "info") -> str:
    """A plain box for states without a report: the welcome line, a missing model, an error."""
    styles = {
        "info": ("#eef4fb", "#1d3b5a", "#90caf9"),
        "error": ("#fdecea", "#b71c1c", "#e53935"),
        "warning": ("#fff8e1", "#6d4c00", "#f0b429"),
    }
    bg, fg, border = styles.get(kind, styles["info"])
    return f'<div style="{_CARD.format(border=border, bg=bg, fg=fg)};font-size:15px">{html.escape(text)}</div>'


__all__ = [
    "verdict_html",
    "warnings_html",
    "message_html",
    "uncertain_html",
    "real_html",
    "fake_html",
    "THRESHOLD_STEP",
    "relabel",
    "is_photo",
    "HEADLINES",
    "headline",
]
