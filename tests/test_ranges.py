"""detector.data.ranges: the face-quality ranges a card records are drawn from every source in turn, and
scripts/card_ranges.py writes them into a card and nothing else."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest


def test_items_are_drawn_from_each_source_in_turn():
    from detector.data.ranges import drawn_by_source

    items = [SimpleNamespace(source="photos", path=f"p{i}") for i in range(1000)]
    items += [SimpleNamespace(source="videos", path=f"v{i}") for i in range(30)]
    items += [SimpleNamespace(source="actors", path=f"a{i}") for i in range(5)]
    drawn = drawn_by_source(items, 100)
    count = {s: sum(it.source == s for it in drawn) for s in ("photos", "videos", "actors")}
    assert count == {"photos": 65, "videos": 30, "actors": 5}  # a small source gives all it has; the rest fill
    assert len({it.path for it in drawn}) == 100
    assert [it.path for it in drawn_by_source(items, 100)] == [it.path for it in drawn]  # seeded
    assert len(drawn_by_source(items[:3], 100)) == 3


def test_card_ranges_writes_the_ranges_and_nothing_else(tmp_path, monkeypatch, capsys):
    from conftest import load_script

    import detector.data.datasets as datasets
    import detector.data.ranges as ranges

    card = {"name": "m", "face_margin": 0.3, "threshold": 0.9, "ranges": {"faces": 1},
            "trained": {"split": {"train_sources": ["ffpp", "utk/real"]}}}  # fmt: skip
    path = tmp_path / "m.json"
    path.write_text(json.dumps(card))
    items = [SimpleNamespace(source=s, label_name=lab, path=f"{s}{i}", heldout=False)
             for i, (s, lab) in enumerate([("ffpp", "fake"), ("utk", "real"), ("c40", "fake")])]  # fmt: skip
    monkeypatch.setattr(datasets, "read_datasets", lambda roots: items)
    monkeypatch.setattr(datasets, "held_out", lambda it: False)
    seen = []
    monkeypatch.setattr(ranges, "measure_ranges", lambda its, max_items, margin: seen.append(its) or {"faces": 9})
    mod = load_script("scripts/card_ranges.py", "card_ranges")
    assert mod.main([str(path), "--from", "d"]) == 0
    assert [it.source for it in seen[0]] == ["ffpp", "utk"]  # a source it never trained on is not measured
    assert json.loads(path.read_text()) == {**card, "ranges": {"faces": 9}}
    assert mod.main([str(path), "--from", "d", "--items", "0"]) == 2
    (tmp_path / "bad.json").write_text("[1]")
    assert mod.main([str(tmp_path / "bad.json"), "--from", "d"]) == 2
    assert "not a model card" in capsys.readouterr().err


@pytest.mark.parametrize("n", [0, 1])
def test_no_items_give_no_draw(n):
    from detector.data.ranges import drawn_by_source

    assert drawn_by_source([SimpleNamespace(source="a")] * n, 10) == [SimpleNamespace(source="a")] * n


def test_the_ranges_measure_the_sources_a_model_trained_on(monkeypatch):
    # found by review: `ensemble --ranges-from` measured every source, the ones a recipe never trained on included
    import detector.data.datasets as datasets
    from detector.data.ranges import training_items

    items = [SimpleNamespace(source=s, label_name=lab, path=p) for s, lab, p in
             [("ffpp", "fake", "a"), ("c40", "fake", "b"), ("c40", "real", "c"), ("utk", "real", "held")]]  # fmt: skip
    monkeypatch.setattr(datasets, "read_datasets", lambda roots: items)
    monkeypatch.setattr(datasets, "held_out", lambda it: it.path == "held")
    assert [it.path for it in training_items(["d"])] == ["a", "b", "c"]
    assert [it.path for it in training_items(["d"], ["ffpp", "c40/real"])] == ["a", "c"]
