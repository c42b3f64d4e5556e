"""The decision threshold, chosen for a false-alarm rate on reals the model never trained on, and the
"uncertain" band below it.

A score is the model's fake probability; its 0.5 is not a meaningful line (the
training classes were reweighted and the data are not the user's).  What a user of
a detector needs to know is how often it calls a real person fake.  So the card's
threshold is chosen from validation (out-of-fold) scores of real items:

* real items are put in **strata**: all real videos together, and photos by the
  population label the data names (UTKFace's race field; ``photos`` when none);
* the threshold is the lowest score at which **every stratum** has at most
  ``target`` of its reals at or above it (floor of ``target * n`` false alarms);
  so no group pays for another's low rate;
* the **uncertain band** ``[low, threshold)`` is the same rule at ``band_factor``
  times the target rate: scores there are neither trusted as real nor called fake.

:func:`false_alarm_table` reports the rate per stratum at a given threshold;
:func:`false_alarms_by_population` per age band and sex, where the data names them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from detector.constants import AGE_BANDS
from detector.data.datasets import population

DEFAULT_TARGET_FA = 0.05
BAND_FACTOR = 3.0  # the uncertain band starts where the false-alarm rate would be 3x the target


def stratum(item: dict) -> str:
    """The calibration stratum of one scored item (a dict with ``kind``, ``subgroup``)."""
    if item.get("kind") == "image":
        return f"photos:{item['subgroup']}" if item.get("subgroup") else "photos"
    return "videos"


def _threshold_for(scores: np.ndarray, rate: float) -> float:
    """Lowest t (a score just above one of the reals, or 0) with at most floor(rate * n) reals scoring >= t."""
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]  # descending
    allowed = int(math.floor(rate * len(s) + 1e-9))
    if allowed >= len(s):
        return 0.0
    return float(np.nextafter(s[allowed], 1.0))  # the (allowed+1)-th highest real must fall below t


def _round_up(x: float, digits: int = 6) -> float:
    """Round up to ``digits`` decimals: never below the real score the threshold must stay above."""
    k = 10**digits
    return float(math.ceil(float(x) * k) / k)


def calibrate_threshold(
    items: list[dict],
    target: float = DEFAULT_TARGET_FA,
    score_key: str = "confident",
    band_factor: float = BAND_FACTOR,
    min_stratum: int = 5,
) -> dict:
    """Threshold and uncertain band from scored items (dicts with ``label`` 0/1, ``kind``, ``subgroup`` and the
    score under ``score_key``), for at most ``target`` false alarms in every stratum of at least ``min_stratum``
    reals (smaller strata join the videos).  Returns a dict for the model card: threshold, uncertain [low, high),
    target, rule, and the reals counted per stratum."""
    reals: dict[str, list[float]] = defaultdict(list)
    for it in items:
        if int(it["label"]) == 0 and it.get(score_key) is not None and not np.isnan(it[score_key]):
            reals[stratum(it)].append(float(it[score_key]))
    small = [k for k, v in reals.items() if len(v) < min_stratum and k != "videos"]
    for k in small:
        reals["videos"] += reals.pop(k)
    if not reals:
        return {
            "threshold": 0.5,
            "uncertain": None,
            "target_false_alarms": target,
            "rule": "no real item in validation: the threshold stays at 0.5",
            "strata": {},
        }
    thr = max(_threshold_for(np.array(v), target) for v in reals.values())
    low = max(_threshold_for(np.array(v), min(1.0, band_factor * target)) for v in reals.values())
    capped = thr > 1.0 - 1e-6  # reals scoring (about) 1.0: no threshold below 1 keeps them under the target
    thr = _round_up(min(max(thr, 1e-4), 1.0 - 1e-6))
    low = min(_round_up(low), thr)
    return {
        "threshold": thr,
        "uncertain": [low, thr],
        "target_false_alarms": target,
        "capped": capped,
        "rule": (
            f"lowest score with at most {target:.0%} false alarms in every stratum of validation reals "
            f"(real videos; photos per population group), never trained on; uncertain from the same rule at "
            f"{band_factor * target:.0%}"
        ),
        "strata": {k: len(v) for k, v in sorted(reals.items())},
    }


def small_video_threshold(
    real_scores: Sequence[float],
    card_threshold: float,
    card_band: Sequence[float] | None,
    target: float = DEFAULT_TARGET_FA,
    band_factor: float = BAND_FACTOR,
) -> tuple[float, list[float]]:
    """A threshold and uncertain band for videos smaller than the training clips, from the scores of real clips
    shrunk and compressed as a messaging app forwards them, never trained on: :func:`calibrate_threshold`'s rule on
    them, never below the card's own threshold (a small video is never called fake more readily), and the band
    from the lower of the two bands' edges (what the card's band calls uncertain stays uncertain)."""
    cal = calibrate_threshold(
        [{"label": 0, "kind": "video", "s": float(x)} for x in real_scores], target, "s", band_factor
    )
    t = max(float(card_threshold), cal["threshold"])
    low = min([cal["uncertain"][0] if cal["uncertain"] else t] + ([float(card_band[0])] if card_band else []))
    return t, [min(low, t), t]


def false_alarm_table(
    items: list[dict],
    threshold,
    score_key: str = "confident",
    by: str | Callable[[dict], str | None] = "stratum",
    order: Sequence[str] = (),
) -> list[dict]:
    """False alarms of the real items at ``threshold`` (a number, or a function of the item: e.g. each fold's own),
    one row per stratum (``by="stratum"``), per value of another field (``"source"``) or per value of a function
    of the item (a None value leaves the item out), plus an "all" row: {name, reals, false_alarms, rate,
    median_score}.  Rows come in ``order`` where it names them, the others by name after them."""
    at = threshold if callable(threshold) else (lambda it: threshold)
    group_of = by if callable(by) else stratum if by == "stratum" else (lambda it: str(it.get(by) or "-"))
    groups: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for it in items:
        if int(it["label"]) == 0 and it.get(score_key) is not None and not np.isnan(it[score_key]):
            key = group_of(it)
            if key is None:
                continue
            groups[key].append((float(it[score_key]), float(it[score_key]) >= at(it)))
    rows = []
    everything = [x for v in groups.values() for x in v]
    place = {name: i for i, name in enumerate(order)}
    ranked = sorted(groups.items(), key=lambda kv: (place.get(kv[0], len(place)), kv[0]))
    for name, judged in [*ranked, ("all", everything)]:
        s = np.asarray([score for score, _ in judged])
        fa = sum(fake for _, fake in judged)
        rows.append(
            {
                "name": name,
                "reals": int(len(s)),
                "false_alarms": fa,
                "rate": round(fa / len(s), 4) if len(s) else None,
                "median_score": round(float(np.median(s)), 4) if len(s) else None,
            }
        )
    return rows


# the population fields of a fairness table beyond the strata (which hold the data's ethnic groups): each one's
# heading and its values in the order their rows are printed
POPULATION_FIELDS = {
    "age_band": ("by age (the data's age in years)", tuple(name for _, name in AGE_BANDS)),
    "sex": ("by sex (as the data labels it)", ("female", "male")),
}


def table_sections(rows: list[dict], by_population: dict | None) -> list[tuple[str, list[dict]]]:
    """A printed false-alarm table's parts, ``(heading, rows)``: ``rows`` first (no heading), then each population
    table of :func:`false_alarms_by_population` the result holds."""
    by_population = by_population or {}
    return [("", rows)] + [
        (heading, by_population[k]) for k, (heading, _) in POPULATION_FIELDS.items() if by_population.get(k)
    ]


def false_alarms_by_population(items: list[dict], threshold, score_key: str = "confident") -> dict:
    """False alarms of the real items per age band and per sex (:data:`POPULATION_FIELDS`), among those the data
    labels so (UTKFace's file names): ``{"age_band": rows, "sex": rows}`` of :func:`false_alarm_table`, each
    "all" row counting the labelled reals only; a field no real item has is left out.  An item without the field
    gets it from its file name (``path``, or ``video`` in training's per-video scores), so scores saved before
    these tables existed still give them."""
    out = {}
    for field, (_, order) in POPULATION_FIELDS.items():

        def value(it, field=field):  # never a copy of the item: ``threshold`` may be a function of the item itself
            return it[field] if field in it else population(it.get("path") or it.get("video") or "")[field]

        rows = false_alarm_table(items, threshold, score_key=score_key, by=lambda it: value(it) or None, order=order)
        if rows[-1]["reals"]:
            out[field] = rows
    return out


__all__ = [
    "calibrate_threshold",
    "false_alarm_table",
    "false_alarms_by_population",
    "stratum",
    "DEFAULT_TARGET_FA",
    "BAND_FACTOR",
    "POPULATION_FIELDS",
    "table_sections",
    "small_video_threshold",
]
