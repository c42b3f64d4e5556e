"""Per-video (and per-photo) scores from per-crop fake probabilities, and the metrics over them that training,
cross-validation and evaluation share."""

from __future__ import annotations

import numpy as np

from detector.evaluation.calibration import false_alarm_table
from detector.evaluation.metrics import metrics_block

__all__ = ["video_scores", "video_metrics", "video_metrics_by_method", "metrics_by_source", "false_alarms_by_subgroup"]


def video_scores(df_valid, fake_prob: np.ndarray):
    """Per-video scores with the pipeline's aggregation rules."""
    from detector.inference.report import confident_rule, mean_rule

    d = df_valid.assign(p=fake_prob)
    out = []
    for video, g in d.groupby("video", sort=True):
        first = g.iloc[0]
        out.append(
            {
                "video": video,
                "label": int(first["label"] == "fake"),
                "method": first["method"],
                "group": first["group"],
                "frames": len(g),
                "confident": confident_rule(g["p"].values),
                "mean": mean_rule(g["p"].values),
                "source": first.get("source", ""),
                "kind": first.get("kind", "video"),
                "subgroup": first.get("subgroup", "") or None,
            }
        )
    return out


def metrics_by_source(vids, threshold: float = 0.5) -> dict:
    """Per data source: metrics where it holds both classes, false alarms where it holds reals only."""
    out = {}
    for source in sorted({v.get("source", "") for v in vids}):
        sub = [v for v in vids if v.get("source", "") == source]
        out[source or "data"] = (
            video_metrics(sub, ci=True)
            if len({v["label"] for v in sub}) == 2
            else false_alarm_table(sub, threshold)[-1]
        )
    return out


def false_alarms_by_subgroup(vids, threshold: float = 0.5) -> list[dict]:
    """False alarms of the real photos per population group (UTKFace's race field), where the data names one."""
    photos = [v for v in vids if v.get("kind") == "image" and v["label"] == 0]
    return false_alarm_table(photos, threshold) if photos else []


def video_metrics(vids, rule: str = "confident", ci: bool = False) -> dict:
    """:func:`metrics_block` of per-video scores (:func:`video_scores`' dicts) under one aggregation rule."""
    return metrics_block([v["label"] for v in vids], [v[rule] for v in vids], ci=ci)


def video_metrics_by_method(vids, ci: bool = False) -> dict:
    """Each manipulation method's fakes against all the reals (fakes of no named method are left out)."""
    methods = sorted({v["method"] for v in vids if v["label"] == 1} - {"original"})
    return {m: video_metrics([v for v in vids if v["label"] == 0 or v["method"] == m], ci=ci) for m in methods}
