"""A model card's measured figures in plain words, for the app's model panel and the HTML report.

    card_figures(card)   # ["Cross-validated on FaceForensics++ c23 ...: video AUC 0.94", "By source: ...", ...]

The card's ``metrics`` hold the figures under the names the training and evaluation code write
(``crossval_video_auc``, ``by_method_auc``, ``cross_fitted_false_alarms``...; their ``definitions`` say what
each measures).  A reader wants to know on what, and how honestly, each was measured: these lines say it.
"""

from __future__ import annotations

__all__ = ["card_figures", "SOURCE_NAMES", "source_name"]

SOURCE_NAMES = {
    "ffpp": "FaceForensics++ c23",
    "ffpp_c40": "FaceForensics++ c40",
    "ffpp_c40:actors": "DeepFakeDetection actor clips",
    "faces_utk": "UTKFace photos",
    "all": "all",
}


def source_name(name: str) -> str:
    """A data source's name for readers ("ffpp_c40" -> "FaceForensics++ c40"); unknown names as they are."""
    return SOURCE_NAMES.get(name, name)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _aucs(aucs: dict, names=source_name) -> str:
    return ", ".join(f"{names(k)} {v:.2f}" for k, v in aucs.items() if _number(v))


def card_figures(card) -> list[str]:
    """The card's figures as short sentences, the most honest first (cross-validated, then the rest); the raw
    metric names only where the card holds figures of no known kind."""
    m = dict(getattr(card, "metrics", None) or {})
    out = []
    cv = m.get("crossval_video_auc")
    if _number(cv):
        source = source_name(m.get("crossval_source") or "ffpp")
        note = m.get("crossval_note")
        out.append(
            f"Cross-validated on {source}, each video scored by a fold model that never trained on it: video AUC "
            f"{cv:.2f}" + (f" ({note})" if note else "")
        )
    va, ci = m.get("video_auc"), m.get("video_auc_ci95")
    interval = f" (95% interval {ci[0]:.2f}-{ci[1]:.2f})" if isinstance(ci, list) and len(ci) == 2 else ""
    if _number(va):
        if m.get("unseen"):
            out.append(f"Measured on {m.get('measured_on') or 'data it never trained on'}: video AUC {va:.2f}")
        elif m.get("out_of_fold"):
            out.append(f"Every validation video of every source together, out of fold: video AUC {va:.2f}{interval}")
        else:
            out.append(f"Its own validation split (one split, not cross-validated): video AUC {va:.2f}{interval}")
    by_source = {k: v for k, v in (m.get("by_source_auc") or {}).items() if _number(v)}
    if len(by_source) > 1:
        out.append(f"By source (its fakes against its own reals): {_aucs(by_source)}")
    by_method = m.get("by_method_auc") or {}
    if by_method:
        out.append(f"By manipulation method, against every real video: {_aucs(by_method, str)}")
    recall = m.get("recall_at_threshold")
    if _number(recall):
        out.append(f"At its threshold it calls {recall:.0%} of the fake validation videos fake")
    fitted = [r for r in m.get("cross_fitted_false_alarms") or [] if isinstance(r, dict) and r.get("name") != "all"]
    if fitted:
        parts = ", ".join(
            f"{source_name(r['name'])} {r['false_alarms']:,} of {r['reals']:,}" for r in fitted if "reals" in r
        )
        out.append(f"Real people it called fake, out of fold (each fold at a threshold fitted on the others): {parts}")
    peers = [
        (what, m[key])
        for key, what in (
            ("false_alarms_ffpp_c23_reals", "FaceForensics++ c23 real videos"),
            ("false_alarms_wild_real", "real clips from outside FaceForensics++"),
        )
        if isinstance(m.get(key), str)
    ]
    if peers:
        out.append("Real people it called fake: " + ", ".join(f"{what} {n}" for what, n in peers))
    if not out and m:
        raw = (f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items())
        out.append(", ".join(r for r, v in zip(raw, m.values()) if not isinstance(v, (dict, list)))[:400])
    return out
