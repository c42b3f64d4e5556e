"""scripts/small_photo_probe.py --tier: a threshold of a card's own for small photos, from real photos shrunk to that
size and never trained on, and what it does at each size, cross-fitted over two halves of the photos."""

import json

import pytest
from conftest import load_script


def _probe(tmp_path, high_share: float = 0.2):
    """A probe of 40 real photos at 200 and 64 px: at 200 px all low; at 64 px a share of them high."""
    rows = []
    for i in range(40):
        name = f"{20 + i}_0_{i % 5}_2017010{i:09d}.jpg.chip.jpg"
        group = ["white", "black", "asian", "indian", "other"][i % 5]
        rows.append({"photo": name, "group": group, "side": 200, "score": 0.05 + 0.001 * i, "face_px": 180})
        high = i < 40 * high_share
        rows.append(
            {"photo": name, "group": group, "side": 64, "score": 0.9 + 0.002 * i if high else 0.2, "face_px": 58}
        )
    rows.append({"photo": "x.jpg", "group": "white", "side": 64, "score": None, "face_px": None})  # no face found
    doc = {"model": "m", "photos": 40, "sides": [200, 64], "note": "", "rows": rows}
    (tmp_path / "probe.json").write_text(json.dumps(doc))
    return str(tmp_path / "probe.json")


def _card(tmp_path):
    from detector.models.card import ModelCard

    card = ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, uncertain=[0.4, 0.6])
    (tmp_path / "m.json").write_text(card.to_json())
    return str(tmp_path / "m.json")


def test_the_tier_is_set_from_the_shrunk_reals_and_judges_small_photos_only(tmp_path, capsys):
    from detector.models.card import ModelCard

    probe = load_script("scripts/small_photo_probe.py", "small_photo_probe")
    path, card = _probe(tmp_path), _card(tmp_path)
    assert probe.main(["--tier", path, "--card", card, "--tiers", "100:64", "--write"]) == 0
    out = capsys.readouterr().out
    written = ModelCard.from_file(card)
    tier = written.small_photo_tiers[0]
    # 8 of 40 high at 64 px: at most 5% (2) may stay over it, so the threshold sits just above the third highest
    assert tier["below"] == 100 and tier["measured_at"] == 64 and 0.9 < tier["threshold"] < 1
    assert tier["uncertain"] == [0.4, tier["threshold"]] and tier["measured"]["photos"] == 40
    assert (
        written.threshold_for(64, photo=True)[0] == tier["threshold"]
        and written.threshold_for(200, photo=True)[0] == 0.6
    )
    assert written.threshold_for(64)[0] == 0.6  # a video of that size: not the photos' tier
    assert written.is_own_threshold(tier["threshold"])
    rows = {
        line.split("|")[1].strip(): line
        for line in out.splitlines()
        if line.startswith("| 200 ") or line.startswith("| 64 ")
    }
    assert "0 / 0 / 40" in rows["200"] and "(no tier)" in rows["200"]  # at 200 px: the card's own judges
    assert "(under 100 px)" in rows["64"]
    assert "| 40 | 1 |" in rows["64"] and "8 / 0 / 32" in rows["64"]  # the card's own calls 8 of them fake
    fakes_cross_fitted = int(rows["64"].split("|")[6].split("/")[0])
    assert fakes_cross_fitted <= 4  # each half at the other half's threshold: far fewer than 8
    assert "| black |" in out  # by group


def test_a_card_whose_photo_tier_is_more_lenient_than_its_own_threshold_is_refused(tmp_path):
    from detector.models.card import BadCardError, ModelCard

    raw = json.loads(open(_card(tmp_path)).read())
    raw["small_photo"] = {"below": 100, "threshold": 0.5, "uncertain": [0.4, 0.5]}  # below the card's 0.6
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="small_photo.threshold"):
        ModelCard.from_file(tmp_path / "m.json")
    raw["small_photo"] = [{"below": 100, "threshold": 0.9, "uncertain": [0.4, 0.9]}, {"below": 64, "threshold": 0.8}]
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="small_photo: a smaller size's threshold below a larger one's"):
        ModelCard.from_file(tmp_path / "m.json")


def test_a_smaller_sizes_tier_is_never_more_lenient_than_a_larger_ones(tmp_path, capsys):
    from detector.models.card import ModelCard

    probe = load_script("scripts/small_photo_probe.py", "small_photo_probe")
    path, card = _probe(tmp_path), _card(tmp_path)
    doc = json.loads(open(path).read())
    doc["rows"] += [{**r, "side": 48, "score": 0.3} for r in doc["rows"] if r["side"] == 64 and r["score"]]
    doc["sides"].append(48)
    open(path, "w").write(json.dumps(doc))
    assert probe.main(["--tier", path, "--card", card, "--tiers", "100:64", "56:48", "--write"]) == 0
    tiers = ModelCard.from_file(card).small_photo_tiers
    assert [t["below"] for t in tiers] == [56, 100] and tiers[0]["threshold"] == tiers[1]["threshold"]  # the floor
    assert "(under 56 px)" in capsys.readouterr().out
    assert probe.main(["--tier", path, "--card", card, "--tiers", "64:64"]) == 2  # set at a size it does not judge
