"""scripts/dealings.py: one recipe over several dealings of the folds, each dealing's AUC and the mean's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest

RECIPE = {"data": ["d"], "arch": "resnet18"}


def _crossval(path: Path, scores: dict[str, float], split_seed: int, recipe: dict | None = None) -> str:
    videos = [
        {
            "video": f"/data/{name}",
            "method": "Deepfakes" if "_" in name else "original",
            "fold": i % 3,  # each dealing its own folds: they need not pair
            "fake_probability": p,
            "label": int("_" in name),
            "source": "ffpp",
        }
        for i, (name, p) in enumerate(scores.items())
    ]
    path.write_text(json.dumps({"videos": videos, "recipe": {**RECIPE, **(recipe or {})}, "split_seed": split_seed}))
    return str(path)


def test_each_dealing_the_mean_and_who_scores_high(tmp_path, capsys):
    mod = load_script("scripts/dealings.py", "dealings")
    # dealing 0 scores real 1 high, dealing 1 real 2: each ranks 3 of the 4 (fake, real) pairs right (AUC 0.75)
    a = {"1.mp4": 0.9, "2.mp4": 0.1, "1_2.mp4": 0.8, "2_1.mp4": 0.7}
    b = {"1.mp4": 0.1, "2.mp4": 0.9, "1_2.mp4": 0.8, "2_1.mp4": 0.7}
    pa, pb = _crossval(tmp_path / "a.json", a, 0), _crossval(tmp_path / "b.json", b, 1)
    (row, method) = mod.table({"a": mod.scores(pa), "b": mod.scores(pb)})
    assert row["set"] == "ffpp" and (row["n"], row["fakes"]) == (4, 2)
    assert row["auc"] == [pytest.approx(0.5), pytest.approx(0.5)]
    # the mean: reals 0.5, 0.5; fakes 0.8, 0.7: every pair right
    assert row["mean_auc"] == pytest.approx(1.0)
    assert row["gain"][0] == pytest.approx(0.5) and len(row["gain"][1]) == 2  # the mean - the first dealing
    assert row["rho_reals"] == pytest.approx(-1.0)  # the two reals swap places between the dealings
    assert [top[0][0] for top in row["top"]] == ["1.mp4", "2.mp4"]
    assert row["top"][0][0][1] == [0.9, 0.1]  # its score in each dealing
    assert method["set"] == "ffpp: Deepfakes" and method["mean_auc"] == pytest.approx(1.0)
    assert mod.main([pa, pb]) == 0
    out = capsys.readouterr().out
    assert (
        "| ffpp | 4 (2) | 0.500" in out
        and "| +0.500 (" in out
        and "split seed 1 (score in each dealing): 2.mp4 (0.10 / 0.90)" in out
    )


def test_the_same_dealing_twice_or_another_recipe_is_refused(tmp_path, capsys):
    mod = load_script("scripts/dealings.py", "dealings")
    a = {"1.mp4": 0.9, "1_2.mp4": 0.8}
    pa = _crossval(tmp_path / "a.json", a, 0)
    with pytest.raises(SystemExit):
        mod.main([pa, _crossval(tmp_path / "same_seed.json", a, 0)])
    assert "share a dealing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mod.main([pa, _crossval(tmp_path / "other.json", a, 1, {"epochs": 3})])
    assert "different recipes" in capsys.readouterr().err
    # a recipe written before a training option existed reads as that option's default
    assert mod.main([pa, _crossval(tmp_path / "older.json", a, 1, {"margin": 0.3})]) == 0


def test_other_fold_counts_and_unfinished_cross_validations_are_refused(tmp_path, capsys):
    mod = load_script("scripts/dealings.py", "dealings")
    a = {"1.mp4": 0.9, "1_2.mp4": 0.8, "2.mp4": 0.3}
    pa = _crossval(tmp_path / "a.json", a, 0)
    five = tmp_path / "five.json"
    five.write_text(json.dumps({**json.loads(Path(_crossval(five, a, 1)).read_text()), "folds": 5}))
    with pytest.raises(SystemExit):
        mod.main([pa, str(five)])
    assert "different recipes" in capsys.readouterr().err
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({**json.loads(Path(_crossval(partial, a, 1)).read_text()), "complete": False}))
    with pytest.raises(SystemExit):
        mod.main([pa, str(partial)])
    assert "not every fold was run" in capsys.readouterr().err
    # a dealing made by --seed alone (no split seed) is that seed's dealing; an item missing from one is counted
    seed_only = json.loads(Path(_crossval(tmp_path / "s.json", {"1.mp4": 0.2, "1_2.mp4": 0.7}, 0)).read_text())
    seed_only.pop("split_seed")
    seed_only["recipe"]["seed"] = 3
    (tmp_path / "s.json").write_text(json.dumps(seed_only))
    assert mod.main([pa, str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "1 items out of fold in some of the cross-validations only: left out" in out and "split seed 3" in out
