"""Detection metrics shared by training and evaluation: one :func:`metrics_block` per set of scores.

    metrics_block(labels, scores, threshold=0.5)
    -> {"n", "n_fake", "n_real", "auc", "ap", "accuracy", "log_loss", "confusion": {tp, fp, tn, fn}, "threshold"}

Labels are 1 = fake, 0 = real; scores are fake probabilities.  AUC and AP need both
classes and are ``None`` otherwise; an empty set gives ``None`` for every rate.
:func:`roc_points` gives the ROC curve the evaluation report plots.
"""
from __future__ import annotations

import numpy as np


def metrics_block(labels, scores, threshold: float = 0.5) -> dict:
    """AUC, AP, accuracy, log loss and confusion counts at ``threshold`` (the metrics shared with evaluation)."""
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    y = np.asarray(labels, dtype=int)
    s = np.clip(np.asarray(scores, dtype=np.float64), 1e-6, 1 - 1e-6)
    pred = (s >= threshold).astype(int)
    both = len(set(y.tolist())) == 2
    return {
        "n": int(len(y)), "n_fake": int(y.sum()), "n_real": int((1 - y).sum()),
        "auc": float(roc_auc_score(y, s)) if both else None,
        "ap": float(average_precision_score(y, s)) if both else None,
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "log_loss": float(log_loss(y, s, labels=[0, 1])) if len(y) else None,
        "confusion": {"tp": int(((pred == 1) & (y == 1)).sum()), "fp": int(((pred == 1) & (y == 0)).sum()),
                      "tn": int(((pred == 0) & (y == 0)).sum()), "fn": int(((pred == 0) & (y == 1)).sum())},
        "threshold": threshold,
    }


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray] | None:
    """(false positive rates, true positive rates) of the ROC curve, or None without both classes."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        return None
    fpr, tpr, _ = roc_curve(y, np.asarray(scores, dtype=np.float64))
    return fpr, tpr


__all__ = ["metrics_block", "roc_points"]
