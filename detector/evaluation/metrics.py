"""Detection metrics shared by training and evaluation: one :func:`metrics_block` per set of scores.

    metrics_block(labels, scores, threshold=0.5)
    -> {"n", "n_fake", "n_real", "auc", "ap", "accuracy", "log_loss", "confusion": {tp, fp, tn, fn}, "threshold"}

Labels are 1 = fake, 0 = real; scores are fake probabilities.  AUC and AP need both
classes and are ``None`` otherwise; an empty set gives ``None`` for every rate.
``ci=True`` adds ``auc_ci95``, a bootstrap interval for the AUC (:func:`auc_interval`):
with a few dozen videos it is wide, and says how far apart two AUCs must be to mean
anything.  Use it on independent samples (videos), not on frames of the same videos.
:func:`paired_auc_difference` gives the interval of the difference of two scores' AUCs over the same
videos (two recipes' out-of-fold scores, say).  :func:`roc_points` gives the ROC curve the evaluation report
plots.
"""

from __future__ import annotations

import numpy as np


def metrics_block(labels, scores, threshold: float = 0.5, ci: bool = False) -> dict:
    """AUC, AP, accuracy, log loss and confusion counts at ``threshold`` (the metrics shared with evaluation);
    with ``ci``, the AUC's 95% bootstrap interval as ``auc_ci95`` ([low, high], or None)."""
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    y = np.asarray(labels, dtype=int)
    s = np.clip(np.asarray(scores, dtype=np.float64), 1e-6, 1 - 1e-6)
    pred = (s >= threshold).astype(int)
    both = len(set(y.tolist())) == 2
    block = {
        "n": int(len(y)),
        "n_fake": int(y.sum()),
        "n_real": int((1 - y).sum()),
        "auc": float(roc_auc_score(y, s)) if both else None,
        "ap": float(average_precision_score(y, s)) if both else None,
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "log_loss": float(log_loss(y, s, labels=[0, 1])) if len(y) else None,
        "confusion": {
            "tp": int(((pred == 1) & (y == 1)).sum()),
            "fp": int(((pred == 1) & (y == 0)).sum()),
            "tn": int(((pred == 0) & (y == 0)).sum()),
            "fn": int(((pred == 0) & (y == 1)).sum()),
        },
        "threshold": threshold,
    }
    if ci:
        interval = auc_interval(y, s) if both else None
        block["auc_ci95"] = None if interval is None else [round(interval[0], 4), round(interval[1], 4)]
    return block


def _pairs_ordered(fake: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Fakes x reals: 1 where the fake scores above the real, 0.5 on a tie, else 0 (its mean is the AUC)."""
    return (fake[:, None] > real[None, :]) + 0.5 * (fake[:, None] == real[None, :])


def auc_interval(labels, scores, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the ROC AUC, resampling fakes and reals separately (each class keeps
    its count, so every resample has both).  None without both classes.

    The AUC is the share of (fake, real) pairs the scores order correctly (ties count half); a resample's
    AUC is that share weighted by how often each fake and each real was drawn, so one pair matrix serves
    all ``n_boot`` resamples."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=np.float64)
    fake, real = s[y == 1], s[y == 0]
    if not len(fake) or not len(real):
        return None
    pairs = _pairs_ordered(fake, real)
    rng = np.random.default_rng(seed)
    w_fake = rng.multinomial(len(fake), np.full(len(fake), 1 / len(fake)), size=n_boot)
    w_real = rng.multinomial(len(real), np.full(len(real), 1 / len(real)), size=n_boot)
    aucs = np.einsum("bi,ij,bj->b", w_fake, pairs, w_real) / (len(fake) * len(real))
    tail = (1 - level) / 2
    low, high = np.quantile(aucs, [tail, 1 - tail])
    return float(low), float(high)


def paired_auc_difference(labels, a, b, n_boot: int = 2000, seed: int = 0) -> list[float]:
    """95% bootstrap interval of AUC(a) - AUC(b) over the same videos (fakes and reals resampled separately, the
    same resample for both scores).  The AUC is the share of (fake, real) pairs ordered right, ties half.  Paired,
    it is much narrower than two separate intervals would suggest: both scores meet the same hard videos."""
    y, a, b = np.asarray(labels), np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not ((y == 1).any() and (y == 0).any()):
        raise ValueError("a paired AUC difference needs both fakes (label 1) and reals (label 0)")
    diff = _pairs_ordered(a[y == 1], a[y == 0]) - _pairs_ordered(b[y == 1], b[y == 0])  # fakes x reals
    rng = np.random.default_rng(seed)
    nf, nr = diff.shape
    boots = [diff[rng.integers(0, nf, nf)][:, rng.integers(0, nr, nr)].mean() for _ in range(n_boot)]
    return [round(float(np.percentile(boots, 2.5)), 4), round(float(np.percentile(boots, 97.5)), 4)]


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray] | None:
    """(false positive rates, true positive rates) of the ROC curve, or None without both classes."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels, dtype=int)
    if len(set(y.tolist())) < 2:
        return None
    fpr, tpr, _ = roc_curve(y, np.asarray(scores, dtype=np.float64))
    return fpr, tpr


__all__ = ["metrics_block", "auc_interval", "paired_auc_difference", "roc_points"]
