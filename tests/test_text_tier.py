"""scripts/text_tier.py: the threshold for faces under text is calibration's rule on each kind of text on its own,
over the photos and clips where text was found; the real clips are judged cross-fitted, the fakes at it."""

import json
import shutil

import numpy as np
import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def tier():
    return load_script("scripts/text_tier.py", "text_tier")


def _runs(tmp_path):
    rng = np.random.default_rng(0)
    photos = [f"{i}_0_0_x.jpg" for i in range(200)]
    rows = {  # (photo, label, score, unlike, text found)
        "caption|mnv2_tightpad": [[p, "real", float(s), False, True] for p, s in zip(photos, rng.uniform(0, 0.9, 200))],
        # the agency's mark found on half the photos only: the others are not counted
        "agency|mnv2_tightpad": [
            [p, "real", float(s), False, i % 2 == 0] for i, (p, s) in enumerate(zip(photos, rng.uniform(0, 1, 200)))
        ],
        # the finder's mistakes on photos without text: never a stratum
        "none|mnv2_tightpad": [[p, "real", 0.999, False, True] for p in photos],
    }
    (tmp_path / "photos.json").write_text(json.dumps({"photos": 200, "seed": 1, "skip": 300, "rows": rows}))

    def clip(i, label, fold, score):
        cell = {"score": score, "label": "uncertain" if score >= 0.6 else "real", "text_frames": 8, "faces": 8}
        return {
            "source": "ffpp",
            "method": "original",
            "video": f"{i}.mp4",
            "label": label,
            "fold": fold,
            "threshold": 0.6,
            "band": 0.4,
            "as_is": {"score": 0.1, "label": "real"},
            "outline": cell,
        }

    reals = [clip(i, 0, i % 3 if i < 60 else None, float(s)) for i, s in enumerate(rng.uniform(0, 0.8, 64))]
    (tmp_path / "reals.json").write_text(json.dumps({"frames": 16, "styles": ["outline"], "rows": reals}))
    fakes = [clip(i, 1, i % 3, s) for i, s in enumerate([0.95, 0.99, 0.7, 0.2])]
    (tmp_path / "fakes.json").write_text(json.dumps({"frames": 16, "styles": ["outline"], "rows": fakes}))
    return rows, reals


def test_the_threshold_for_faces_under_text_is_calibrations_rule_on_each_kind_of_text(tier, tmp_path, capsys):
    card = tmp_path / "mnv2_tightpad.json"
    shutil.copy("assets/models/mnv2_tightpad.json", card)
    for i in range(3):
        (tmp_path / f"mnv2_tightpad_fold{i}.safetensors").write_bytes(b"")  # the card names its members
    rows, reals = _runs(tmp_path)
    args = ["--photos", str(tmp_path / "photos.json"), "--clips", str(tmp_path / "reals.json")]
    assert tier.main([*args, "--fakes", str(tmp_path / "fakes.json"), "--card", str(card), "--write"]) == 0
    got = json.loads(card.read_text())["text_over"]
    found = sorted((r[2] for r in rows["agency|mnv2_tightpad"] if r[4]), reverse=True)  # the highest stratum
    assert len(found) == 100 and found[5] < got["threshold"] <= found[4] + 1e-6  # 5% of 100: five at or over it
    assert got["measured"]["found"] == {"photos caption": 200, "photos agency": 100, "clips outline": 64}
    assert set(got["measured"]["cross_fitted"]) == {"0", "1", "2", "None"}
    out = capsys.readouterr().out
    t = got["threshold"]
    # the fakes over it are fake now, the one under it stays uncertain, the one under the band real
    assert f"| fake | outline | 4 | 0 / 3 / 1 | {sum(s >= t for s in (0.95, 0.99))} / " in out
    # every real clip here scores under 0.8, far below the photos' threshold: none is called fake
    (line,) = [x for x in out.splitlines() if x.startswith("| real (cross-fitted) | outline | 64 |")]
    assert line.split("|")[-2].strip().startswith("0 / ")
    from detector.models.card import ModelCard

    assert ModelCard.from_file(card).text_threshold == t  # the card reads it back


def test_label_with_makes_fake_only_an_uncertain_with_text_over_both_thresholds(tier):
    cell = {"score": 0.9, "label": "uncertain", "text_frames": 3}
    assert tier.label_with(cell, 0.6, 0.85) == "fake"
    assert tier.label_with(cell, 0.6, 0.95) == "uncertain"  # under the threshold for text
    assert tier.label_with(cell, 0.95, 0.85) == "uncertain"  # under the clip's own threshold
    assert tier.label_with({**cell, "text_frames": 0}, 0.6, 0.85) == "uncertain"  # uncertain for another reason
    assert tier.label_with({**cell, "label": "real"}, 0.6, 0.85) == "real"
