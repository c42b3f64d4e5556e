"""detector.evaluation.crossval: three tiny fold runs of detector.training.run pooled into one measure, and the
pooling's checks."""

from __future__ import annotations

import json

import pytest

from detector.errors import InputError
from detector.evaluation.crossval import main, pool, read_fold
from detector.evaluation.metrics import metrics_block


@pytest.fixture(scope="module")
def fold_runs(tiny_dataset, tmp_path_factory):
    from detector.training.run import main as train

    out = tmp_path_factory.mktemp("cv")
    dirs = []
    for i in range(3):
        rc = train(
            [
                "--data",
                str(tiny_dataset),
                "--arch",
                "resnet18",
                "--size",
                "32",
                "--frames",
                "4",
                "--epochs",
                "1",
                "--bs",
                "4",
                "--folds",
                "3",
                "--fold",
                str(i),
                "--workers",
                "1",
                "--cache",
                str(out / "cache"),
                "--out",
                str(out / f"fold{i}"),
            ]
        )
        assert rc == 0
        dirs.append(out / f"fold{i}")
    return dirs


@pytest.mark.slow
def test_each_fold_validates_on_its_own_groups(fold_runs, tiny_dataset):
    from detector.data.datasets import read_dataset
    from detector.data.splits import fold_by_group

    folds = fold_by_group(read_dataset(tiny_dataset), 3, seed=0)
    for i, d in enumerate(fold_runs):
        split = json.loads((d / "metrics.json").read_text())["split"]
        assert (split["folds"], split["fold"], split["seed"]) == (3, i, 0)
        assert split["val_groups"] == sorted({it.group for it in folds[i]})
        assert (split["train_videos"], split["val_videos"]) == (4, 2)
        card = json.loads((d / "model" / "resnet18.json").read_text())
        assert card["trained"]["split"] == split


@pytest.mark.slow
def test_pooled_over_every_video_once(fold_runs, tmp_path, capsys):
    out = tmp_path / "cv.json"
    assert main([str(d) for d in fold_runs] + ["--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["complete"] and result["folds_run"] == [0, 1, 2]
    videos = [v for d in fold_runs for v in json.loads((d / "val_videos.json").read_text())]
    assert len({v["video"] for v in videos}) == len(videos) == 6  # every video of the dataset, once
    expected = metrics_block([v["label"] for v in videos], [v["confident"] for v in videos], ci=True)
    assert result["pooled"] == expected
    aucs = [f["auc"] for f in result["per_fold"]]
    assert result["fold_auc_mean"] == pytest.approx(sum(aucs) / 3)
    assert result["command"].endswith("folds=3 fold=I") and "out=" not in result["command"]
    assert not {"fold", "folds", "out", "cache"} & set(result["recipe"]) and result["recipe"]["arch"] == "resnet18"
    printed = capsys.readouterr().out
    assert "pooled over 6 videos and photos (3 fake, 3 real)" in printed and "partial" not in printed


@pytest.mark.slow
def test_missing_fold_is_reported_as_partial(fold_runs, capsys):
    assert main([str(fold_runs[0]), str(fold_runs[2])]) == 0
    assert "folds [0, 2] only, of 3: a partial measure" in capsys.readouterr().out


def fake_run(fold, folds=3, seed=0, videos=(), arch="a"):
    return {
        "dir": f"run{fold}",
        "folds": folds,
        "fold": fold,
        "seed": seed,
        "recipe": {"data": ["D"], "arch": arch, "epochs": 5},
        "videos": list(videos),
    }


def video(name, label, p, method="Deepfakes"):
    return {"video": name, "label": label, "method": method if label else "original", "confident": p}


def test_pool_refuses_runs_that_do_not_belong_together():
    a = [video("a.mp4", 0, 0.2), video("a_b.mp4", 1, 0.9)]
    b = [video("c.mp4", 0, 0.4), video("c_d.mp4", 1, 0.3)]
    assert pool([fake_run(0, videos=a), fake_run(1, videos=b)])["pooled"]["n"] == 4
    cases = {
        "split seed": [fake_run(0, videos=a), fake_run(1, seed=1, videos=b)],
        "different recipes: arch 'b' vs 'a'": [fake_run(0, videos=a), fake_run(1, videos=b, arch="b")],
        "fold given twice": [fake_run(0, videos=a), fake_run(0, videos=b)],
        "validated in fold 0 and fold 1": [fake_run(0, videos=a), fake_run(1, videos=a)],
    }
    for message, runs in cases.items():
        with pytest.raises(InputError, match=message):
            pool(runs)


def test_pool_names_where_the_recipe_fails():
    videos = [
        video("r1.mp4", 0, 0.9),
        video("r2.mp4", 0, 0.1),
        video("f1.mp4", 1, 0.05),
        video("f2.mp4", 1, 0.95, "FaceSwap"),
    ]
    result = pool([fake_run(0, videos=videos)])
    assert [v["video"] for v in result["reals_scored_most_fake"]] == ["r1.mp4", "r2.mp4"]
    assert result["fakes_scored_most_real"][0] == {
        "video": "Deepfakes/f1.mp4",
        "method": "Deepfakes",
        "fold": 0,
        "fake_probability": 0.05,
    }
    assert result["by_method"]["Deepfakes"]["auc"] == 0.0 and result["by_method"]["FaceSwap"]["auc"] == 1.0


def test_pooled_scores_keep_enough_decimals_to_keep_their_order():
    """Scores a hundred-thousandth apart (a real against the threshold or a fake) must not tie in crossval.json,
    which the paired comparisons read: ties from rounding moved AUCs in the third decimal."""
    videos = [video("r1.mp4", 0, 0.9445740), video("f1.mp4", 1, 0.9445781), video("r2.mp4", 0, 0.1)]
    result = pool([fake_run(0, videos=videos)])
    stored = {v["video"]: v["fake_probability"] for v in result["videos"]}
    assert stored["Deepfakes/f1.mp4"] > stored["r1.mp4"]
    assert stored["r1.mp4"] == 0.9445740

    # the threshold is rounded up from the real below it: a stored real must stay on its side of the threshold
    # (each real's score here would round to the nearest 6th decimal upwards, onto a threshold rounded up from it)
    reals = [video(f"r{i}.mp4", 0, i / 50 + 0.0000007) for i in range(40)]
    fakes = [video(f"f{i}.mp4", 1, 0.5 + i / 100) for i in range(10)]
    result = pool([fake_run(0, videos=reals + fakes)])
    t = result["calibration"]["threshold"]
    raw = {v["video"]: v["confident"] for v in reals}
    stored = {v["video"]: v["fake_probability"] for v in result["videos"] if v["label"] == 0}
    assert sum(p >= t for p in stored.values()) == sum(p >= t for p in raw.values())
    assert stored == raw


def test_a_run_without_folds_or_results_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.json").write_text(json.dumps({"split": {"rule": "by pair group", "seed": 0}}))
    (tmp_path / "plain" / "val_videos.json").write_text("[]")
    with pytest.raises(InputError, match="not a cross-validation run"):
        read_fold(tmp_path / "plain")
    assert main([str(tmp_path / "missing")]) == 2
    assert "not a finished training run (no metrics.json)" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_is_refused_before_the_folds_are_read(tmp_path, capsys):
    # a review: '--json ""' was skipped without a word; an unwritable one failed with a traceback after the work
    missing = str(tmp_path / "missing")  # refused on its output first: the folds are not read
    for argv, said in (
        (["--json", ""], "error: --json: empty: give a file name (or - for standard output)"),
        (["--plot", " "], "error: --plot: empty: give a file name (e.g. scores.png)"),
        (["--json", str(tmp_path)], "is a folder; give a file name"),
        (["--plot", str(tmp_path)], "is a folder; give a file name"),
    ):
        assert main([missing, *argv]) == 2
        err = capsys.readouterr().err
        assert said in err and "no metrics.json" not in err and err.count("\n") == 1, argv


def test_an_output_naming_a_file_a_fold_is_read_from_is_refused(tmp_path, capsys):
    # the last audit: --json/--plot were not checked against the run folders' own files
    run = tmp_path / "fold0"
    run.mkdir()
    metrics = run / "metrics.json"
    metrics.write_text("{}")
    for argv, said in (
        (["--json", str(metrics)], f"--json {metrics}: is one of the inputs"),
        (["--plot", str(run / "val_videos.json")], "is one of the inputs; give another file name for the picture"),
        (["--json", str(tmp_path / "a.out"), "--plot", str(tmp_path / "a.out")], "--json, --plot must name different"),
    ):
        assert main([str(run), *argv]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, argv
    assert metrics.read_text() == "{}"  # left as it was


@pytest.mark.slow
def test_a_shipped_ensemble_scores_its_folds_again(fold_runs, tmp_path):
    """scripts/fold_models.py --score: the ensemble of the fold runs, unpacked and scored again, gives each run's own
    out-of-fold scores and the same pooled measure, without training."""
    from conftest import load_script

    from detector.training.ensemble import make_ensemble

    card = make_ensemble(fold_runs, "tiny", tmp_path / "shipped")
    metrics = json.loads(card.read_text())["metrics"]
    figures = {k for k in metrics if k not in ("out_of_fold", "definitions", "crossval_source")}
    assert figures <= set(metrics["definitions"])  # each figure says what it measures
    mod = load_script("scripts/fold_models.py", "fold_models")
    cache = str(fold_runs[0].parent / "cache")
    assert mod.main([str(card), str(tmp_path / "cv"), "--score", "--cache", cache]) == 0
    again = [tmp_path / "cv" / f"fold{i}" for i in range(3)]
    for old, new in zip(fold_runs, again):
        was = {v["video"]: v for v in json.loads((old / "val_videos.json").read_text())}
        now = {v["video"]: v for v in json.loads((new / "val_videos.json").read_text())}
        assert set(now) == set(was) and len(now) == 2
        for name, v in now.items():
            assert v["label"] == was[name]["label"]
            for rule in ("confident", "mean"):
                assert v[rule] == pytest.approx(was[name][rule], abs=1e-5)
        assert read_fold(new)["recipe"] == read_fold(old)["recipe"]
    pooled = [pool([read_fold(d) for d in dirs])["pooled"]["auc"] for dirs in (fold_runs, again)]
    assert pooled[1] == pytest.approx(pooled[0], abs=1e-6)


@pytest.mark.slow
def test_an_ensemble_of_folds_at_other_margins_is_refused_before_anything_is_measured_or_written(
    fold_runs, tiny_dataset, tmp_path, monkeypatch
):
    """The fold models must crop faces alike; the quality ranges are measured at their margin, after the checks."""
    import shutil

    import detector.data.ranges
    from detector.models.card import ModelCard
    from detector.training.ensemble import make_ensemble, run_card

    asked = []
    monkeypatch.setattr(
        detector.data.ranges, "measure_ranges", lambda items, max_items, margin: asked.append(margin) or {"faces": 0}
    )
    path = make_ensemble(fold_runs, "tiny", tmp_path / "ok", ranges_from=[str(tiny_dataset)])
    assert asked == [0.3] and ModelCard.from_file(path).ranges == {"faces": 0}

    runs = [tmp_path / f"fold{i}" for i in range(3)]
    for src, dst in zip(fold_runs, runs):
        shutil.copytree(src, dst)
        metrics = json.loads((dst / "metrics.json").read_text())
        metrics["model_card"] = run_card(src).name  # read from the copy's own model folder
        (dst / "metrics.json").write_text(json.dumps(metrics))
    card_path = run_card(runs[1])
    card = ModelCard.from_file(card_path)
    card.face_margin = 0.6
    card_path.write_text(card.to_json())
    with pytest.raises(InputError, match="face margin"):
        make_ensemble(runs, "mixed", tmp_path / "mixed", ranges_from=[str(tiny_dataset)])
    assert asked == [0.3] and not (tmp_path / "mixed").exists()


def test_an_ensemble_card_names_each_members_own_init():
    # found by review: members fine-tuned from per-fold pretrainings (an init with '{fold}') were recorded as all
    # starting from fold 0's
    from types import SimpleNamespace

    from detector.training.ensemble import members_init

    def card(init):
        return SimpleNamespace(trained={"init": init} if init else {})

    per_fold = [card({"file": f"m/fold{i}/r.safetensors", "sha256": str(i)}) for i in range(3)]
    assert members_init(per_fold) == {"init_by_member": [c.trained["init"] for c in per_fold]}
    shared = [card({"file": "m/r.safetensors", "sha256": "a"}) for _ in range(3)]
    assert members_init(shared) == {"init": {"file": "m/r.safetensors", "sha256": "a"}}
    assert members_init([card(None) for _ in range(3)]) == {}
