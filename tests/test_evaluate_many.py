"""scripts/evaluate_many.py: several models in one pass give each model the figures evaluate gives it alone, with
each video's faces found once."""

from __future__ import annotations

import json

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest

MODELS = ["mesonet_df_authors", "mesoinception_df_authors"]  # shipped, same crop margin: detection is shared


def _script():
    return load_script("scripts/evaluate_many.py", "evaluate_many")


@pytest.mark.slow
def test_evaluate_many_equals_evaluate_per_model_and_detects_once(tiny_dataset, tmp_path, monkeypatch):
    from detector.constants import SHIPPED_MODELS
    from detector.evaluation import evaluate
    from detector.inference import pipeline

    if not all((SHIPPED_MODELS / f"{m}.json").is_file() for m in MODELS):
        pytest.skip(f"the MesoNet peer models are not shipped in {SHIPPED_MODELS}")
    args = [str(tiny_dataset), "--split", "all", "--frames", "4", "--quiet"]
    alone = {}
    for m in MODELS:  # plain evaluate first, before anything is patched
        assert evaluate.main([*args, "--model", m, "--json", str(tmp_path / f"alone_{m}.json")]) == 0
        alone[m] = json.loads((tmp_path / f"alone_{m}.json").read_text())

    calls = []
    find = pipeline.frames_and_faces

    def counted(path, **kw):
        calls.append(path)
        return find(path, **kw)

    monkeypatch.setattr(pipeline, "frames_and_faces", counted)  # restored after the test: the script patches it
    monkeypatch.setattr(evaluate, "evaluate_items", evaluate.evaluate_items)
    out = tmp_path / "many"
    assert _script().main(["--models", ",".join(MODELS), "--out", str(out), "--", *args]) == 0
    assert len(calls) == 6, "each of the six clips' faces are found once for both models"
    for m in MODELS:
        many = json.loads((out / f"{m}.json").read_text())
        assert many["model"] == m and len(many["videos"]) == 6
        assert [v["score"] for v in many["videos"]] == [v["score"] for v in alone[m]["videos"]]
        assert many["levels"]["none"]["video"] == alone[m]["levels"]["none"]["video"]
    # the two models did score differently: the comparison above is not of one model with itself
    assert [v["score"] for v in alone[MODELS[0]]["videos"]] != [v["score"] for v in alone[MODELS[1]]["videos"]]
