"""detector.evaluation.metrics: the bootstrap interval of the video AUC, and of the difference of two AUCs."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from detector.evaluation.metrics import auc_interval, metrics_block, paired_auc_difference


def _scores(n_fake, n_real, shift, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n_fake, int), np.zeros(n_real, int)]
    scores = np.r_[rng.normal(shift, 1, n_fake), rng.normal(0, 1, n_real)]
    return labels, scores


@pytest.mark.slow
def test_interval_agrees_with_a_plain_bootstrap():
    labels, scores = _scores(15, 7, 1.0)
    low, high = auc_interval(labels, scores, n_boot=4000)
    rng = np.random.default_rng(1)
    fake, real = scores[labels == 1], scores[labels == 0]
    plain = []
    for _ in range(4000):
        f, r = rng.choice(fake, len(fake)), rng.choice(real, len(real))
        plain.append(roc_auc_score(np.r_[np.ones(len(f)), np.zeros(len(r))], np.r_[f, r]))
    p_low, p_high = np.quantile(plain, [0.025, 0.975])
    assert abs(low - p_low) < 0.03 and abs(high - p_high) < 0.03
    assert low < roc_auc_score(labels, scores) < high


def test_interval_narrows_with_more_videos():
    small = auc_interval(*_scores(15, 7, 1.0))
    large = auc_interval(*_scores(600, 300, 1.0))
    assert small[1] - small[0] > 2 * (large[1] - large[0])


def test_ties_count_half_and_perfect_separation_is_a_point():
    assert auc_interval([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == (1.0, 1.0)
    assert auc_interval([1, 0], [0.5, 0.5]) == (0.5, 0.5)


def test_one_class_has_no_interval():
    assert auc_interval([1, 1, 1], [0.2, 0.5, 0.9]) is None
    block = metrics_block([1, 1], [0.3, 0.8], ci=True)
    assert block["auc"] is None and block["auc_ci95"] is None


def test_metrics_block_adds_the_interval_only_when_asked():
    labels, scores = _scores(15, 7, 1.0)
    p = 1 / (1 + np.exp(-scores))
    assert "auc_ci95" not in metrics_block(labels, p)
    low, high = metrics_block(labels, p, ci=True)["auc_ci95"]
    assert low == pytest.approx(auc_interval(labels, np.clip(p, 1e-6, 1 - 1e-6))[0], abs=1e-4)
    assert 0 <= low < high <= 1


def test_paired_difference_interval_brackets_the_difference_and_is_zero_for_equal_scores():
    rng = np.random.default_rng(3)
    y = np.array([1] * 30 + [0] * 30)
    a = y * 0.6 + rng.random(60)  # the better score: AUC near 0.9
    b = y * 0.2 + rng.random(60)  # the weaker one
    lo, hi = paired_auc_difference(y, a, b)
    diff = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert lo < diff < hi and lo > 0, (lo, diff, hi)
    assert paired_auc_difference(y, a, a) == [0.0, 0.0]  # the same resample for both: no spread at all
    lo2, hi2 = paired_auc_difference(y, b, a)
    assert lo2 == pytest.approx(-hi, abs=1e-4) and hi2 == pytest.approx(-lo, abs=1e-4)  # antisymmetric (rounding)


def test_paired_difference_is_narrower_than_either_interval_when_scores_share_hard_videos():
    rng = np.random.default_rng(4)
    y = np.array([1] * 25 + [0] * 25)
    base = y * 0.5 + rng.random(50)  # both scores see the same hard videos
    a, b = base + 0.05 * rng.random(50), base + 0.05 * rng.random(50)
    lo, hi = paired_auc_difference(y, a, b)
    for s in (a, b):
        low, high = auc_interval(y, s)
        assert hi - lo < (high - low) / 2


def test_paired_difference_needs_both_classes():
    with pytest.raises(ValueError, match="both fakes"):
        paired_auc_difference([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
