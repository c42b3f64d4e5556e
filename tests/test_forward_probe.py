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
