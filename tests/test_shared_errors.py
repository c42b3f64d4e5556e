"""scripts/shared_errors.py: several recipes' out-of-fold scores, their mean, and fakes against their own reals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest


def _script():
    return load_script("scripts/shared_errors.py", "shared_errors")


def _crossval(path: Path, scores: dict[str, float], folds: dict[str, int] | None = None) -> str:
    """FF++ items named by their ids (a real "183.mp4", a fake "183_253.mp4"), an actor clip and a photo."""
    v = lambda name, p: {  # noqa: E731
        "video": f"/data/{name}",
        "method": "original" if "_" not in name else "Deepfakes",
        "fold": (folds or {}).get(name, 0),
        "fake_probability": p,
        "label": int("_" in name and name[0].isdigit()),
        "source": "ffpp",
    }
    videos = [v(name, p) for name, p in scores.items()]
    videos.append({**v("01__kitchen.mp4", 0.1), "label": 0})  # an actor: no pair group, left out of own pairs
    path.write_text(json.dumps({"videos": videos}))
    return str(path)


def test_pair_ids():
    mod = _script()
    assert mod.pair_ids("/x/c23/videos/183_253.mp4") == ("183", "253")
    assert mod.pair_ids("183.mp4") == ("183",)
    assert mod.pair_ids("01__kitchen_pan.mp4") == () and mod.pair_ids("a_b.jpg") == ()


def test_each_recipe_the_mean_and_own_pair_groups(tmp_path, capsys):
    mod = _script()
    # recipe A: each fake above its own reals (183, 253 low; 400, 500 high) but below the other group's reals
    a = {"183.mp4": 0.1, "253.mp4": 0.2, "183_253.mp4": 0.3, "400.mp4": 0.7, "500.mp4": 0.8, "400_500.mp4": 0.9}
    # recipe B: the level per group flipped, the order within each group kept
    b = {"183.mp4": 0.7, "253.mp4": 0.8, "183_253.mp4": 0.9, "400.mp4": 0.1, "500.mp4": 0.2, "400_500.mp4": 0.3}
    pa, pb = _crossval(tmp_path / "a.json", a), _crossval(tmp_path / "b.json", b)
    rows = {r["recipe"]: r for r in mod.table({"A": mod.scores(pa), "B": mod.scores(pb)})}
    assert set(rows) == {"A", "B", "mean of all"}
    # the actor clip is left out: 4 reals and 2 fakes; A's fake 0.3 beats 2 of 4 reals, 0.9 all 4 -> 6 of 8
    assert rows["A"]["n"] == 6 and rows["A"]["fakes"] == 2
    assert rows["A"]["auc"] == pytest.approx(0.75) and rows["B"]["auc"] == pytest.approx(0.75)
    # each fake (a Deepfakes swap) above the other real video of its face (SOURCE) and the one it was made from
    assert (rows["A"]["person"], rows["A"]["n_person"], rows["A"]["scene"], rows["A"]["n_scene"]) == (1.0, 2, 1.0, 2)
    # the mean: reals 0.4, 0.5, 0.4, 0.5; fakes 0.6, 0.6 -> every pair right
    assert rows["mean of all"]["auc"] == pytest.approx(1.0)
    assert mod.main([pa, pb]) == 0
    # A and B rank the items differently (rank correlation with A: B below 1, A itself 1)
    assert rows["A"]["rho"] == pytest.approx(1.0) and rows["B"]["rho"] < 0.5
    assert "| ffpp | A | 6 (2) | 0.750 | 1.00 | 1.000 (2) | 1.000 (2) |" in capsys.readouterr().out.replace(pa, "A")
    # with three recipes, the best mean of two is named: A and B (1.0), not A and its copy (0.75)
    three = mod.table({"A": mod.scores(pa), "B": mod.scores(pb), "A again": mod.scores(pa)})
    best = [r for r in three if r["recipe"].startswith("best pair")]
    assert [r["recipe"] for r in best] == ["best pair (optimistic): mean of A and B"] and best[0]["auc"] == 1.0


def test_same_person_depends_on_the_method():
    """A swap (Deepfakes, FaceSwap) shows SOURCE's face in TARGET's scene; a re-enactment TARGET's own face."""
    mod = _script()
    item = lambda name, label, p, method="original": {  # noqa: E731
        "video": name, "label": label, "fake_probability": p, "method": method}  # fmt: skip
    reals = [item("183.mp4", 0, 0.5), item("253.mp4", 0, 0.2)]
    swap = mod.same_person_and_scene(reals + [item("183_253.mp4", 1, 0.3, "FaceSwap")])
    assert swap == {"person": (1.0, 1), "scene": (0.0, 1)}  # above 253 (its face), below 183 (its scene)
    # a re-enactment shows 183's own face in 183's scene: its same-person real is the video it was made from
    reenacted = mod.same_person_and_scene(reals + [item("183_253.mp4", 1, 0.3, "Face2Face")])
    assert reenacted["scene"] == (0.0, 1) and reenacted["person"][1] == 0
    tie = mod.same_person_and_scene(reals + [item("183_253.mp4", 1, 0.5, "NeuralTextures")])
    assert tie["scene"] == (0.5, 1)
    unknown = mod.same_person_and_scene(reals + [item("183_253.mp4", 1, 0.3, "FaceShifter")])  # not known as a swap
    assert unknown["person"][1] == 0 and unknown["scene"] == (0.0, 1)


def test_different_folds_or_one_file_are_refused(tmp_path, capsys):
    mod = _script()
    scores = {"183.mp4": 0.1, "183_253.mp4": 0.3}
    a = _crossval(tmp_path / "a.json", scores)
    b = _crossval(tmp_path / "b.json", scores, folds={"183.mp4": 1})
    with pytest.raises(SystemExit):
        mod.main([a, b])
    assert "different folds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mod.main([a])
    assert "at least two" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        mod.main([a, a])  # the same file twice is one cross-validation
    assert "at least two different" in capsys.readouterr().err
