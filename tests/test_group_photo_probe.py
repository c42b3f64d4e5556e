"""scripts/group_photo_probe.py: real faces laid out as a group photo, and thresholds of a card's own for photos with
several faces, from real photos' scores (one face each), cross-fitted over two halves of the photos."""

import json

import numpy as np
from conftest import load_script


def _held_out(tmp_path, n: int = 400) -> str:
    """An evaluate JSON of ``n`` real photos, scores spread evenly from 0 to 1 (a known tail)."""
    videos = [
        {"path": f"/d/real/{i}_0_0_2017{i:09d}.jpg.chip.jpg", "score": (i + 0.5) / n, "subgroup": "white"}
        for i in range(n)
    ]
    videos.append({"path": "/d/real/none.jpg", "score": None, "subgroup": "white"})  # no face: left out
    (tmp_path / "eval.json").write_text(json.dumps({"videos": videos}))
    return str(tmp_path / "eval.json")


def _card(tmp_path) -> str:
    from detector.models.card import ModelCard

    card = ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, uncertain=[0.4, 0.6])
    (tmp_path / "m.json").write_text(card.to_json())
    return str(tmp_path / "m.json")


def test_the_tiers_rise_with_the_faces_and_keep_group_photos_near_the_target(tmp_path, capsys):
    from detector.models.card import ModelCard

    probe = load_script("scripts/group_photo_probe.py", "group_photo_probe")
    card = _card(tmp_path)
    args = ["--tier", _held_out(tmp_path), "--card", card, "--max-faces", "4", "--draws", "4000", "--write"]
    assert probe.main(args) == 0
    out = capsys.readouterr().out
    tiers = ModelCard.from_file(card).many_faces_tiers
    assert [t["faces"] for t in tiers] == [2, 3, 4]
    # uniform scores: the threshold for n faces sits near 1 - (1 - (0.95) ** (1 / n)), never below the card's 0.6
    for t in tiers:
        n = t["faces"]
        assert abs(t["threshold"] - 0.95 ** (1 / n)) < 0.01 and t["uncertain"] == [0.4, t["threshold"]]
        assert t["measured"]["photos"] == 400 and "independent" in t["rule"]
    rows = [line for line in out.splitlines() if line.startswith("| full size |")]
    assert len(rows) == 3
    for line in rows:  # cross-fitted: each half's groups at the other half's thresholds, near 5%
        fitted = float(line.rstrip(" |").split("|")[-1].strip().rstrip("%"))
        assert 2.0 < fitted < 9.0, line
    one = ModelCard.from_file(card)
    assert (
        one.threshold_for(200, photo=True, faces=1)[0] == 0.6 and one.threshold_for(200, photo=True, faces=9)[0] > 0.98
    )


def test_group_rate_counts_photos_with_one_face_over_the_threshold():
    probe = load_script("scripts/group_photo_probe.py", "group_photo_probe")
    rng = np.random.default_rng(0)
    scores = np.array([0.1] * 90 + [0.9] * 10)
    assert abs(probe.group_rate(scores, 1, 0.5, 5000, rng) - 0.1) < 0.02
    assert abs(probe.group_rate(scores, 2, 0.5, 5000, rng) - (1 - 0.9 * 89 / 99)) < 0.03  # without replacement
    assert np.isnan(probe.group_rate(scores[:1], 2, 0.5, 10, rng))


def test_a_canvas_holds_each_photo_at_its_place_with_its_edge_or_mirrored_round_it():
    probe = load_script("scripts/group_photo_probe.py", "group_photo_probe")
    rng = np.random.default_rng(0)
    photos = [np.full((200, 200, 3), 10 * (k + 1), np.uint8) for k in range(6)]
    grey, rects = probe.canvas(photos, 64, 3, 2, rng, "grey")
    assert grey.shape == (2 * 64 + 3 * 32, 3 * 64 + 4 * 32, 3) and len(rects) == 6
    x, y, w, h = rects[4]
    assert (grey[y : y + h, x : x + w] == 50).all() and abs(int(grey[y - 8, x + 8, 0]) - 120) < 40  # ground around
    mirror, _ = probe.canvas(photos, 64, 3, 2, rng, "mirror")
    assert (mirror[y - 8 : y + h + 8, x - 8 : x + w + 8] == 50).all()  # the photo mirrored outwards, half the gap
