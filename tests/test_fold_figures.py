"""scripts/fold_figures.py: a training run's row of the side-by-side table, from its own validation fold."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import load_script  # tests/ is on sys.path under pytest


def _script():
    return load_script("scripts/fold_figures.py", "fold_figures")


def _run(tmp_path: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    run = tmp_path / "fold0"
    (run / "model").mkdir(parents=True)
    save_file(
        {"w": torch.zeros(3, 4), "bn.running_mean": torch.zeros(4), "bn.num_batches_tracked": torch.zeros(())},
        str(run / "model" / "tiny.safetensors"),
    )
    (run / "model" / "tiny.json").write_text(json.dumps({"weights": "tiny.safetensors", "threshold": 0.7}))
    (run / "metrics.json").write_text(
        json.dumps({"arch": "meso4", "size": 256, "pretrained": "none", "wall_seconds": 600, "fit_seconds": 480})
    )
    v = lambda label, method, score, source="ffpp": {  # noqa: E731
        "label": label,
        "method": method,
        "confident": score,
        "source": source,
    }
    videos = [v(0, "original", 0.1), v(0, "original", 0.8), v(1, "Deepfakes", 0.9), v(1, "Face2Face", 0.2)]
    videos += [v(1, "NeuralTextures", 0.6, "ffpp_c40"), v(0, "original", 0.3, "ffpp_c40")]
    videos += [v(0, "original", 0.55, "faces_utk"), v(0, "original", 0.05, "faces_utk")]
    (run / "val_videos.json").write_text(json.dumps(videos))
    return run


def test_row_has_the_runs_figures_on_its_own_fold(tmp_path, capsys):
    mod = _script()
    r = mod.row(_run(tmp_path))
    assert (r["arch"], r["size"], r["init"], r["minutes"], r["fit_minutes"]) == ("meso4", 256, "none", 10.0, 8.0)
    assert r["params"] == 12  # weights only: BatchNorm's running statistics are not parameters
    assert r["c23"].startswith("0.750") and r["c23"].endswith("(2 fakes, 2 reals)")  # 3 of 4 pairs ranked
    deepfakes, face2face, faceswap = r["methods"].split(" / ")
    assert deepfakes.startswith("1.000") and face2face.startswith("0.500") and faceswap == "-"
    assert r["c40"].startswith("1.000")
    assert r["c23_reals_fake"] == "1 of 2" and r["photos_fake_at_0.5"] == "1 of 2"
    assert mod.main([str(tmp_path / "fold0")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| run | architecture |") and "meso4" in out[2]


def test_a_rescored_run_gives_its_own_threshold_and_no_time(tmp_path):
    """A fold scored again from an ensemble's member (scripts/fold_models.py --score): no wall time, and the
    threshold of its own fold's calibration (metrics.json), not the ensemble's in its card."""
    mod = _script()
    run = _run(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["wall_seconds"], metrics["fit_seconds"]
    metrics["metrics"] = {"calibration": {"threshold": 0.85}}  # the card says 0.7: reals 0.1, 0.8 -> none above
    (run / "metrics.json").write_text(json.dumps(metrics))
    r = mod.row(run)
    assert (r["minutes"], r["fit_minutes"], r["threshold"]) == ("not timed", "not timed", 0.85)
    assert r["c23_reals_fake"] == "0 of 2"
