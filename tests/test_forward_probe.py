"""scripts/forward_probe.py --against: two probes of the same clips, each table and their paired AUC difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest


def _probe(path: Path, model: str, fake: float, real: float) -> str:
    """Two FF++ reals and two fakes (each condition the same score), a wild clip, as --json writes them."""
    clip = lambda name, label, p, source="ffpp": {  # noqa: E731
        "clip": name,
        "source": source,
        "label": label,
        "method": "Deepfakes" if label else "",
        "fold": 0,
        **{c: p for c in ("control", "messaging", "forwarded")},
    }
    clips = [clip("r1", 0, 0.1), clip("r2", 0, real), clip("f1", 1, 0.9), clip("f2", 1, fake)]
    clips.append(clip("w", 0, 0.2, "wild_real"))
    doc = {"model": model, "threshold": 0.5, "uncertain": [0.4, 0.5], "frames": 16, "seconds": 8.0, "clips": clips}
    path.write_text(json.dumps(doc))
    return str(path)


def test_against_prints_both_tables_and_the_paired_difference(tmp_path, capsys):
    mod = load_script("scripts/forward_probe.py", "forward_probe")
    a = _probe(tmp_path / "a.json", "old", fake=0.3, real=0.6)  # f2 below r2: 3 of 4 pairs ordered right
    b = _probe(tmp_path / "b.json", "new", fake=0.7, real=0.45)  # every pair right; r2 now uncertain, not fake
    assert mod.main(["--against", a, b]) == 0
    out = capsys.readouterr().out
    assert "| real: FF++ c23 | 2 | 1 / 0 / 1 | 1 / 0 / 1 | 1 / 0 / 1 |" in out  # old: r2 called fake
    assert "| real: FF++ c23 | 2 | 0 / 1 / 1 | 0 / 1 / 1 | 0 / 1 / 1 |" in out  # new: r2 uncertain
    assert "| real: from elsewhere (wild_real) | 1 |" in out
    assert "paired, new minus old" in out
    assert "ffpp forwarded: +0.250 (" in out and "4 clips" in out
    assert "ffpp_c40" not in out.split("paired")[1]  # no c40 clip in either probe


def test_the_probe_itself_needs_data_unless_it_compares(capsys):
    mod = load_script("scripts/forward_probe.py", "forward_probe")
    with pytest.raises(SystemExit) as info:
        mod.main([])
    assert info.value.code == 2 and "--data is required" in capsys.readouterr().err


def _fold_clip(name: str, label: int, fold: int, **scores) -> dict:
    """One FF++ clip of a probe, as --json writes it: its fold and its score per condition."""
    method = "Deepfakes" if label else ""
    return {"clip": name, "source": "ffpp", "label": label, "method": method, "fold": fold, **scores}


def _probe_and_card(tmp_path: Path, clips: list[dict]):
    """probe.json of ``clips`` labelled at the card m's threshold (0.6, band from 0.4), and m.json, in ``tmp_path``."""
    from detector.models.card import ModelCard

    doc = {"model": "m", "threshold": 0.6, "uncertain": [0.4, 0.6], "frames": 16, "seconds": 8.0, "clips": clips}
    (tmp_path / "probe.json").write_text(json.dumps(doc))
    card = ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, uncertain=[0.4, 0.6])
    (tmp_path / "m.json").write_text(card.to_json())
    return doc, card


def test_small_video_sets_a_cards_threshold_for_small_videos_from_the_forwarded_reals(tmp_path, capsys):
    # forwarded at 360 px, 10 of 55 real clips scored over the default's threshold: the card gets a threshold of its
    # own for small videos, from those reals, and the table says what it does to each clip, cross-fitted
    from detector.models.card import BadCardError, ModelCard

    probe = load_script("scripts/forward_probe.py", "forward_probe")
    rng = __import__("numpy").random.default_rng(0)
    clips = []
    for fold in range(3):
        for i in range(10):  # per fold: ten reals, two of them high when forwarded; ten fakes
            high = 0.93 + 0.01 * i if i < 2 else 0.1 + 0.02 * i
            clips.append(_fold_clip(f"r{fold}{i}", 0, fold, control=0.1, messaging=0.1, forwarded=high))
            clips.append(_fold_clip(f"f{fold}{i}", 1, fold, control=0.9, messaging=0.9, forwarded=rng.uniform(0.5, 1)))
    doc, card = _probe_and_card(tmp_path, clips)
    entry = probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), write=True)
    # 30 reals, 6 of them 0.93 or 0.94: at most 5% (one) at or over the threshold, so just over the second highest
    assert entry["below"] == 480 and 0.94 < entry["threshold"] <= 0.9401
    assert entry["uncertain"][0] == 0.4 and entry["uncertain"][1] == entry["threshold"]  # the card's band's edge
    reals = entry["measured"]["groups"]["real: FF++ c23"]
    assert reals["n"] == 30 and reals["fake_before"] == 6 and reals["fake_after"] < reals["fake_before"]
    assert "| real: FF++ c23 | 30 | 6 / 0 / 24 |" in capsys.readouterr().out
    written = ModelCard.from_file(tmp_path / "m.json")  # the card, read back, holds it and judges by it
    assert written.small_video_rule(360)["threshold"] == entry["threshold"] and written.small_video_rule(480) is None
    assert written.is_own_threshold(entry["threshold"]) and written.is_own_threshold(0.6)
    assert not written.is_own_threshold(0.7)
    # a card may not hold a threshold for small videos below its own (a small video called fake more readily)
    raw = json.loads((tmp_path / "m.json").read_text())
    raw["small_video"]["threshold"] = 0.5
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="small_video.threshold"):
        ModelCard.from_file(tmp_path / "m.json")
    raw["small_video"].update(threshold=0.95, uncertain=[0.4, 0.9])  # a band that ends elsewhere than its threshold
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="ends at small_video.threshold"):
        ModelCard.from_file(tmp_path / "m.json")
    (tmp_path / "m.json").write_text(card.to_json())
    # too few reals to set a threshold on: said, nothing written
    doc["clips"] = clips[:10]
    (tmp_path / "few.json").write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="too few"):
        probe.small_video(str(tmp_path / "few.json"), str(tmp_path / "m.json"))


def test_the_summary_reads_the_sizes_under_a_cards_small_video_size_at_its_threshold_for_them(tmp_path, capsys):
    # the threshold for small videos was set on the forwarded clips (360 px): the probe's other sizes under 480 px
    # (432 and 240 px, --conditions between tiny) are where it is judged on sizes it was not set on
    probe = load_script("scripts/forward_probe.py", "forward_probe")
    doc = json.loads(Path(_probe(tmp_path / "p.json", "m", fake=0.95, real=0.9)).read_text())
    doc["conditions"] = {c: probe.CONDITIONS.get(c) or probe.MORE_CONDITIONS[c] for c in ("control", "between")}
    for clip in doc["clips"]:
        clip["between"] = clip.pop("forwarded")
    doc["small_video"] = {"below": 480, "threshold": 0.92, "uncertain": [0.4, 0.92]}
    probe.summary(doc)
    out = capsys.readouterr().out
    assert "each size at the card's tier for it" in out and "between 0.9200" in out
    assert "| clips | n | between |" in out  # not the control, at the clips' own size
    assert "| real: FF++ c23 | 2 | 0 / 1 / 1 |" in out  # 0.9 is uncertain there (fake at the card's 0.5)


def test_a_second_tier_for_smaller_videos_joins_the_first_and_each_size_gets_its_own(tmp_path, capsys):
    # at 240 px real clips were called fake twice as often as at 360 px, at the threshold set on 360 px: a card may
    # hold a tier per size, the smaller's never below the larger's; written, a tier of the same size is replaced
    from detector.models.card import BadCardError, ModelCard

    probe = load_script("scripts/forward_probe.py", "forward_probe")
    clips = []
    for fold in range(3):
        for i in range(10):
            real = {"forwarded": 0.93 if i < 2 else 0.1, "tiny": 0.97 if i < 3 else 0.2}
            clips.append(_fold_clip(f"r{fold}{i}", 0, fold, **real))
            clips.append(_fold_clip(f"f{fold}{i}", 1, fold, forwarded=0.95, tiny=0.98))
    _probe_and_card(tmp_path, clips)
    first = probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), write=True)
    second = probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), True, "tiny", 300)
    assert second["below"] == 300 and second["measured_at"] == 240 and second["threshold"] > first["threshold"]
    assert "at 0.9300" in capsys.readouterr().out.split("under 300 px")[-1]  # before: the 480 px tier judged 240 px
    written = ModelCard.from_file(tmp_path / "m.json")
    assert [t["below"] for t in written.small_video_tiers] == [300, 480]
    assert written.threshold_for(240)[0] == second["threshold"] and written.threshold_for(360)[0] == first["threshold"]
    assert written.threshold_for(480)[0] == 0.6 and written.threshold_for(None)[0] == 0.6
    assert written.is_own_threshold(second["threshold"]) and written.is_own_threshold(first["threshold"])
    probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), True, "tiny", 300)  # again: replaced
    assert len(ModelCard.from_file(tmp_path / "m.json").small_video_tiers) == 2
    # a smaller size more lenient than a larger one, or two tiers of one size: not a usable card
    raw = json.loads((tmp_path / "m.json").read_text())
    raw["small_video"][0].update(threshold=0.7, uncertain=[0.4, 0.7])
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="a smaller size's threshold below a larger one's"):
        ModelCard.from_file(tmp_path / "m.json")
    raw["small_video"][0].update(below=480, threshold=0.99, uncertain=[0.4, 0.99])
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(BadCardError, match="two tiers of one size"):
        ModelCard.from_file(tmp_path / "m.json")
    with pytest.raises(SystemExit, match="not under 300 px"):  # 360 px clips cannot set a threshold for under 300
        probe.small_video(str(tmp_path / "probe.json"), None, False, "forwarded", 300)


def test_a_tier_that_would_break_the_order_of_the_tiers_is_refused_and_the_card_is_left_as_it_was(tmp_path):
    # a review: the 480 px tier set again above the 300 px one wrote a card that no longer loaded (the app's default
    # gone); and a tier for under 400 px set on 240 px clips, which the 300 px tier judges, would judge none of them
    from detector.models.card import ModelCard

    probe = load_script("scripts/forward_probe.py", "forward_probe")
    clips = []
    for fold in range(3):
        for i in range(10):
            clips.append(_fold_clip(f"r{fold}{i}", 0, fold, forwarded=0.95 if i < 2 else 0.1, tiny=0.2))
            clips.append(_fold_clip(f"f{fold}{i}", 1, fold, forwarded=0.97, tiny=0.98))
    _probe_and_card(tmp_path, clips)
    raw = json.loads((tmp_path / "m.json").read_text())
    raw["small_video"] = [{"below": 300, "threshold": 0.9, "uncertain": [0.4, 0.9], "measured_at": 240}]
    (tmp_path / "m.json").write_text(json.dumps(raw))
    before = (tmp_path / "m.json").read_text()
    with pytest.raises(SystemExit, match="above a smaller size's tier"):  # 0.95+ for under 480, over 0.9 for 300
        probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), write=True)
    with pytest.raises(SystemExit, match="tier for videos under 300 px judges the tiny clips"):
        probe.small_video(str(tmp_path / "probe.json"), str(tmp_path / "m.json"), True, "tiny", 400)
    assert (tmp_path / "m.json").read_text() == before and ModelCard.from_file(tmp_path / "m.json")
    assert not list(tmp_path.glob("*.new"))


def test_two_tiers_survive_a_round_trip_and_each_size_is_read_at_its_own():
    import dataclasses

    from detector.inference.video import small_threshold_warning
    from detector.models.card import ModelCard

    tiers = [
        {"below": 480, "threshold": 0.94, "uncertain": [0.4, 0.94], "measured_at": 360},
        {"below": 300, "threshold": 0.95, "uncertain": [0.4, 0.95], "measured_at": 240},
    ]
    card = ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, small_video=tiers)
    path = Path(__import__("tempfile").mkdtemp()) / "m.json"
    path.write_text(card.to_json())
    read = ModelCard.from_file(path)
    assert [t["below"] for t in read.small_video_tiers] == [300, 480] and read.threshold_for(250)[0] == 0.95
    one = dataclasses.replace(card, small_video=[tiers[0]])  # a list of one, as a dict
    assert one.threshold_for(250)[0] == 0.94 and one.small_video_rule(480) is None
    said = small_threshold_warning({"threshold": 0.94, "uncertain": [0.4, 0.94]}, 0.6)  # no size recorded
    assert "0.940 instead of 0.600" in said and "measured at" not in said and "about 1 in 20)" in said
    probe = load_script("scripts/forward_probe.py", "forward_probe")
    clips = [_fold_clip("r", 0, 0, forwarded=0.945, tiny=0.945), _fold_clip("f", 1, 0, forwarded=1, tiny=1)]
    sizes = {"forwarded": [360, 36, 2], "tiny": [240, 36, 2]}
    doc = {"model": "m", "threshold": 0.6, "uncertain": [0.4, 0.6], "frames": 16, "seconds": 8.0,
           "conditions": sizes, "small_video": tiers, "clips": clips}  # fmt: skip
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        probe.summary(doc)
    text = out.getvalue()
    assert "forwarded 0.9400 (set at 360 px), tiny 0.9500 (set at 240 px)" in text
    assert "| real: FF++ c23 | 1 | 1 / 0 / 0 | 0 / 1 / 0 |" in text  # 0.945: fake at 0.94, uncertain under 0.95
