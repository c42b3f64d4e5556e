"""scripts/paired_crossval.py: two recipes' out-of-fold scores on the same items, paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest


def _script():
    return load_script("scripts/paired_crossval.py", "paired_crossval")


def _crossval(path: Path, fake_scores: list[float], fold_of_first: int = 0) -> str:
    """Two reals (0.2, 0.6), fakes with the given scores, and a photo, as crossval --json writes them."""
    v = lambda name, label, method, p, fold=0, source="ffpp": {  # noqa: E731
        "video": name,
        "method": method,
        "fold": fold,
        "fake_probability": p,
        "label": label,
        "source": source,
    }
    videos = [v("000.mp4", 0, "original", 0.2, fold_of_first), v("001.mp4", 0, "original", 0.6, 1)]
    methods = ["Deepfakes", "Face2Face"]
    videos += [v(f"00{i}_x.mp4", 1, methods[i % 2], p, 1) for i, p in enumerate(fake_scores)]
    videos += [v("a.jpg", 0, "original", 0.1, 2, "faces_utk"), v("held.jpg", 0, "original", 0.9, -1, "faces_utk")]
    path.write_text(json.dumps({"videos": videos}))
    return str(path)


def test_paired_difference_per_source_and_method(tmp_path, capsys):
    mod = _script()
    a = _crossval(tmp_path / "a.json", [0.5, 0.1])  # Deepfakes 0.5 (beats one real), Face2Face 0.1 (none)
    b = _crossval(tmp_path / "b.json", [0.9, 0.7])  # both above both reals
    rows = {r["set"]: r for r in mod.compare(mod.scores(a), mod.scores(b))}
    assert set(rows) == {"ffpp", "ffpp: Deepfakes", "ffpp: Face2Face"}  # the photos have one class only
    assert (rows["ffpp"]["a"], rows["ffpp"]["b"]) == (pytest.approx(0.25), pytest.approx(1.0))
    assert rows["ffpp: Deepfakes"]["a"] == pytest.approx(0.5) and rows["ffpp: Face2Face"]["a"] == pytest.approx(0.0)
    lo, hi = rows["ffpp"]["ci95"]
    assert lo <= rows["ffpp"]["diff"] <= hi and rows["ffpp"]["diff"] == pytest.approx(0.75)
    # the mean of both: reals 0.2, 0.6; fakes 0.7, 0.4 -> 3 of 4 pairs right
    assert rows["ffpp"]["mean"] == pytest.approx(0.75)
    assert mod.main([a, b]) == 0
    out = capsys.readouterr().out
    assert "| ffpp | 4 (2) | 0.250 | 1.000 | +0.750" in out
    assert "| faces_utk | 1 | 0.100, 0.100 | 0.100, 0.100 |" in out  # the held-out photo (fold -1) is left out
    # A's fakes are in fold 1 with real 001 (0.6): within, 0.5 beats nothing, 0.1 nothing; across (real 000, 0.2
    # in fold 0), 0.5 wins and 0.1 loses
    assert "| ffpp | (2) 0.000, 1.000 | (2) 0.500, 1.000 |" in out
    split = mod.fold_pairs(mod.scores(a), "ffpp")
    assert split == {"within": 0.0, "across": 0.5, "n_within": 2, "n_across": 2}


def test_different_folds_are_refused(tmp_path, capsys):
    mod = _script()
    a = _crossval(tmp_path / "a.json", [0.5, 0.1])
    b = _crossval(tmp_path / "b.json", [0.5, 0.1], fold_of_first=2)
    with pytest.raises(SystemExit):
        mod.main([a, b])
    assert "different folds" in capsys.readouterr().err
