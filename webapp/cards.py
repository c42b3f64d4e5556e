"""A model card's measured figures in plain words, for the app's model panel and the HTML report.

    calibration_rule(card)   # "lowest score with at most 5% false alarms ... (on validation)"
    card_figures(card)   # ["Cross-validated on FaceForensics++ c23 ...: video AUC 0.94", "By source: ...", ...]

The card's ``metrics`` hold the figures under the names the training and evaluation code write
(``crossval_video_auc``, ``by_method_auc``, ``cross_fitted_false_alarms``...; their ``definitions`` say what
each measures).  A reader wants to know on what, and how honestly, each was measured: these lines say it.
"""

from __future__ import annotations

import re

from detector.constants import SOURCE_NAMES

__all__ = [
    "card_figures",
    "calibration_rule",
    "many_faces_summary",
    "SOURCE_NAMES",
    "source_name",
    "for_readers",
    "GLOSSARY",
    "menu_order",
]


def menu_order(cards: list) -> list:
    """``cards`` as the model menus list them: the default first, then the models the recipe index ships, in the
    index's order (the models installed beside the default for a purpose, such as ``mnv2_colour`` for material
    where a false alarm costs most, then the earlier defaults and baselines), then the rest (the peers'
    converted weights, models a user installed) by name.  A browser check: ``mnv2_colour`` sat alphabetically in
    the middle of twelve, nowhere near the default it is the alternative to."""
    from detector.training.config import recipe_index

    shipped = [r["model"] for r in recipe_index().values() if r.get("model")]
    rank = {name: i for i, name in enumerate(shipped)}
    return sorted(cards, key=lambda c: (not c.default, rank.get(c.name, len(rank)), c.name))


# the words of the figures, for a reader who is not a machine-learning person (a review of the HTML report: "AUC",
# "out of fold", "stratum" unexplained)
GLOSSARY = (
    "How to read these figures: AUC is the chance that the model scores a fake video above a real one (1 = always, "
    "0.5 = a coin toss). Out of fold and cross-validated: the data was cut into parts (folds), and each video was "
    "scored by a model trained on the other parts only, so those figures never come from a video it trained on. "
    "A stratum is one kind of real material (real videos; photos of one population group): the threshold keeps "
    "false alarms under the stated rate in each. ImageNet-initialised: the network started from one trained on "
    "everyday photos (ImageNet), then learned faces."
)


# a parenthesis that speaks to developers: a file path, a source file, a field of the card (a review of the HTML
# report: "(detector/training/run.py)", "(trained.config.train_sources)", "(../shared/data/ffpp ...)")
_DEVELOPER_ASIDE = re.compile(r"\s*\((?=[^()]*(?:\.py\b|\.\./|/shared/|\btrained\.\w|\bconfig\.\w))[^()]*\)")
_SOURCES = "|".join(re.escape(k) for k in sorted(SOURCE_NAMES, key=len, reverse=True) if k != "all")
# "ffpp_c40/real": that source's reals only; not inside another word ("ffpp-c40", "x/ffpp")
_SOURCE_WORD = re.compile(rf"(?<![\w/.:-])({_SOURCES})(?:/(real|fake))?(?![\w-])")
_SCRIPT = re.compile(r"\s*\bby \S+\.py\b")  # "Trained by detector/train.py on ..." (early cards): the file goes


def for_readers(text: str) -> str:
    """A card's data line or notes as a reader of the page or the report should see them: the data sources by
    their names (``ffpp_c40`` is "FaceForensics++ c40"), asides for developers (paths, source files, card fields)
    left out."""
    text = _SCRIPT.sub("", _DEVELOPER_ASIDE.sub("", str(text)))
    return _SOURCE_WORD.sub(lambda m: SOURCE_NAMES[m.group(1)] + (f" ({m.group(2)} only)" if m.group(2) else ""), text)


def calibration_rule(card) -> str:
    """How the card's threshold was chosen: ``trained.calibration.rule`` (a dict's rule, or the text itself)."""
    cal = (getattr(card, "trained", None) or {}).get("calibration")
    if isinstance(cal, dict):
        rule = cal.get("rule")
        on = cal.get("on")
        return f"{rule} (on {on})" if rule and on else (rule or "")
    return cal if isinstance(cal, str) else ""


def many_faces_summary(card) -> str | None:
    """The card's thresholds for photos with several faces (``many_faces``) in one sentence, or None where it has
    none: the range per face size, fewest faces to most (a browser check: the model summary listed every threshold
    but the one that had judged a group photo)."""
    tiers = card.many_faces_tiers
    if not tiers:
        return None
    parts = []
    for below in sorted({t.get("below") for t in tiers}, key=lambda b: -(b or 10**9)):
        group = [t for t in tiers if t.get("below") == below]
        lo, hi = group[0], group[-1]
        where = f"with a face under {int(below)} px" if below else "at full size"
        parts.append(
            f"{where} {float(lo['threshold']):.3f} ({lo['faces']} faces) to {float(hi['threshold']):.3f} "
            f"({hi['faces']} or more)"
        )
    return (
        "Photos with several faces, each judged on its own and the photo called fake if one is: thresholds "
        + "; ".join(parts)
        + ", set so that about 1 in 20 photos of that many real faces has one called fake"
    )


def _held_summary(t: float | None, faces: str, kind: str, real: str) -> str | None:
    """A card's threshold for faces something holds back (a cover, text) in one sentence, or None where it has none."""
    if t is None:
        return None
    return (
        f"{faces}: called fake only from {t:.3f} (under it, uncertain), set so that, for each kind of {kind}, at most "
        f"1 in 20 {real} scores over it"
    )


def covered_summary(card) -> str | None:
    """The card's threshold for faces read as covered (``covered``) in one sentence, or None where it has none."""
    return _held_summary(
        card.covered_threshold,
        "Faces whose mouth and chin look covered (a cup, a mask)",
        "cover",
        "real photos with it drawn over the face and read as covered",
    )


def text_summary(card) -> str | None:
    """The card's threshold for faces under text (``text_over``) in one sentence, or None where it has none."""
    return _held_summary(
        card.text_threshold,
        "Faces with text laid over them (a caption, a watermark)",
        "text",
        "real photos and clips with it laid over the face and found",
    )


def source_name(name: str) -> str:
    """A data source's name for readers ("ffpp_c40" -> "FaceForensics++ c40"); unknown names as they are."""
    return SOURCE_NAMES.get(name, name)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


def _aucs(aucs, names=source_name) -> str:
    """ "name 0.94, name 0.73" for the numbers of a {name: AUC} dict (anything else: "")."""
    if not isinstance(aucs, dict):
        return ""
    return ", ".join(f"{names(str(k))} {v:.2f}" for k, v in aucs.items() if _number(v))


def _interval(ci) -> str:
    ok = isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_number(v) for v in ci)
    return f" (95% interval {ci[0]:.2f}-{ci[1]:.2f})" if ok else ""


def _text(v) -> str:
    return v if isinstance(v, str) else ""


def card_figures(card) -> list[str]:
    """The card's figures as short sentences, the most honest first (cross-validated, then the rest); the raw
    metric names only where the card holds figures of no known kind.  Figures of the wrong type (a hand-edited
    card) are left out, never an error."""
    m = getattr(card, "metrics", None)
    m = m if isinstance(m, dict) else {}
    out = []
    cv = m.get("crossval_video_auc")
    if _number(cv):
        note = _text(m.get("crossval_note"))
        out.append(
            f"Cross-validated on {source_name(_text(m.get('crossval_source')) or 'ffpp')}, each video scored by a "
            f"fold model that never trained on it: video AUC {cv:.2f}" + (f" ({note})" if note else "")
        )
    va = m.get("video_auc")
    if _number(va):
        if m.get("unseen") is True:
            where = _text(m.get("measured_on")) or "data it never trained on"
            out.append(f"Measured on {where}: video AUC {va:.2f}")
        elif m.get("out_of_fold") is True:
            out.append(
                "Every validation video of every source together, out of fold: video AUC "
                f"{va:.2f}{_interval(m.get('video_auc_ci95'))}"
            )
        else:
            out.append(
                "Its own validation split (one split, not cross-validated): video AUC "
                f"{va:.2f}{_interval(m.get('video_auc_ci95'))}"
            )
    by_source = m.get("by_source_auc")
    if isinstance(by_source, dict) and sum(_number(v) for v in by_source.values()) > 1:
        out.append(f"By source (its fakes against its own reals): {_aucs(by_source)}")
    by_method = _aucs(m.get("by_method_auc"), str)
    if by_method:
        out.append(f"By manipulation method, against every real video: {by_method}")
    recall = m.get("recall_at_threshold")
    if _number(recall):
        out.append(f"At its threshold it calls {recall:.0%} of the fake validation videos fake")
    rows = m.get("cross_fitted_false_alarms")
    fitted = [
        f"{source_name(str(r['name']))} {r['false_alarms']:,} of {r['reals']:,}"
        for r in (rows if isinstance(rows, list) else [])
        if isinstance(r, dict)
        and r.get("name") != "all"
        and isinstance(r.get("false_alarms"), int)
        and isinstance(r.get("reals"), int)
    ]
    if fitted:
        out.append(
            "Real people it called fake, out of fold (each fold at a threshold fitted on the others): "
            + ", ".join(fitted)
        )
    said = [
        f"{what} {m[key]}"
        for key, what in (
            ("false_alarms_utk_heldout", "held-out UTKFace photos"),
            ("false_alarms_ffpp_c23_reals", "FaceForensics++ c23 real videos"),
            ("false_alarms_wild_real", "real clips from outside FaceForensics++"),
        )
        if isinstance(m.get(key), str)
    ]
    if said:
        out.append("Real people it called fake at its threshold: " + ", ".join(said))
    if not out:
        raw = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in m.items()
            if isinstance(v, (int, float, str)) and not isinstance(v, bool)
        )
        if raw:
            out.append(raw[:400])
    return out
