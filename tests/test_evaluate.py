"""detector.evaluation.evaluate end to end on a tiny real/ + fake/ dataset of rendered clips, with the untrained
test model.

The scores of an untrained model mean nothing; these tests check the plumbing: every
level has its metrics, the numbers agree with the per-video rows, perturbations reach
the frames, the report files are written, and bad input ends in one line with exit 2.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detector.data.datasets import read_dataset
from detector.errors import InputError
from detector.evaluation.evaluate import main, select_split, table
from detector.evaluation.metrics import metrics_block
from detector.models.card import ModelCard

ROOT = Path(__file__).resolve().parent.parent
METRIC_KEYS = {"n", "n_fake", "n_real", "auc", "ap", "accuracy", "log_loss", "confusion", "threshold"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """real/ (2 astronaut clips, 1 without a face) and fake/<method>/ (2 altered astronaut clips), 1 s at 10 fps."""
    from detector.data.synthetic import render_clip

    root = tmp_path_factory.mktemp("evalset")
    for sub in ("real", "fake/Deepfakes", "fake/FaceSwap"):
        (root / sub).mkdir(parents=True)
    small = dict(seconds=1, fps=10, size=(320, 240))
    render_clip(str(root / "real" / "a.mp4"), **small)
    render_clip(str(root / "real" / "b.mp4"), transform=lambda f, i: np.ascontiguousarray(f[:, ::-1]), **small)
    render_clip(str(root / "real" / "empty.mp4"), source="plain", **small)
    render_clip(str(root / "fake" / "Deepfakes" / "a.mp4"), transform=lambda f, i: (f * 0.8).astype(np.uint8), **small)
    render_clip(
        str(root / "fake" / "FaceSwap" / "b.mp4"), transform=lambda f, i: (f // 2 + 60).astype(np.uint8), **small
    )
    return root


@pytest.fixture(scope="module")
def evaluated(dataset, tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("evalout")
    card = tiny_model_dir / "untrained_resnet18.json"
    argv = [
        str(dataset),
        "--model",
        str(card),
        "--frames",
        "4",
        "--perturb",
        "all",
        "--quiet",
        "--json",
        str(out / "eval.json"),
        "--report",
        str(out / "report"),
    ]
    rc = main(argv)
    return rc, json.loads((out / "eval.json").read_text()), out


@pytest.mark.slow
def test_every_level_has_video_frame_and_method_metrics(evaluated):
    rc, result, _ = evaluated
    assert rc == 0
    assert list(result["levels"]) == ["none", "fliprot", "heavy"]
    assert result["split"]["used"] == "all"  # the test model's card has no training split
    for level, lv in result["levels"].items():
        for kind in ("video", "video_mean_rule", "frame"):
            assert METRIC_KEYS <= set(lv[kind]), (level, kind)
        video = lv["video"]
        assert lv["videos"] == 5 and lv["failed"] == 0 and lv["no_face"] == 1  # the plain clip has no face
        assert (video["n"], video["n_fake"], video["n_real"]) == (4, 2, 2)
        assert sum(video["confusion"].values()) == video["n"]
        assert 0.0 <= video["auc"] <= 1.0 and 0.0 <= video["accuracy"] <= 1.0 and video["log_loss"] > 0
        low, high = video["auc_ci95"]  # bootstrap interval over videos, not over frames
        assert 0.0 <= low <= video["auc"] <= high <= 1.0 and "auc_ci95" not in lv["frame"]
        assert lv["frame"]["n"] >= video["n"]  # at least one face per scored video
        assert set(lv["by_method"]) == {"Deepfakes", "FaceSwap"}
        for m, b in lv["by_method"].items():
            assert (b["video"]["n_fake"], b["video"]["n_real"]) == (1, 2), m


@pytest.mark.slow
def test_metrics_agree_with_the_per_video_rows(evaluated):
    _, result, _ = evaluated
    for level, lv in result["levels"].items():
        rows = [r for r in result["videos"] if r["level"] == level and r["score"] is not None]
        expected = metrics_block(
            [int(r["label_name"] == "fake") for r in rows], [r["score"] for r in rows], result["threshold"], ci=True
        )
        assert lv["video"]["confusion"] == expected.pop("confusion"), level
        assert lv["video"]["auc_ci95"] == pytest.approx(expected.pop("auc_ci95")), level
        assert {k: v for k, v in lv["video"].items() if k not in ("confusion", "auc_ci95")} == pytest.approx(
            expected
        ), level


@pytest.mark.slow
def test_table_gives_each_levels_auc_interval(evaluated):
    _, result, _ = evaluated
    text = table(result)
    for level, lv in result["levels"].items():
        low, high = lv["video"]["auc_ci95"]
        assert f"95% bootstrap interval {low:.3f}-{high:.3f} (2 fake, 2 real videos)" in text, level


@pytest.mark.slow
def test_perturbations_reach_the_frames(evaluated):
    _, result, _ = evaluated
    scores = {(r["id"], r["level"]): r["score"] for r in result["videos"]}
    ids = {r["id"] for r in result["videos"] if r["score"] is not None}
    for level in ("fliprot", "heavy"):
        assert any(scores[(i, level)] != scores[(i, "none")] for i in ids), level


@pytest.mark.slow
def test_report_files(evaluated):
    _, result, out = evaluated
    report = out / "report"
    for name in ("roc.png", "score_histograms.png"):
        data = (report / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    with open(report / "videos.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 * 3
    assert {r["level"] for r in rows} == {"none", "fliprot", "heavy"}
    empty = [r for r in rows if r["id"] == "real/empty"]
    assert len(empty) == 3 and all(r["score"] == "" and r["frames_with_face"] == "0" for r in empty)
    by_key = {(r["id"], r["level"]): r for r in result["videos"]}
    for r in rows:
        if r["score"]:
            assert float(r["score"]) == pytest.approx(by_key[(r["id"], r["level"])]["score"], abs=1e-6)


def test_table_on_stdout(dataset, tiny_model_dir, capsys):
    rc = main(
        [
            str(dataset),
            "--model",
            str(tiny_model_dir / "untrained_resnet18.json"),
            "--frames",
            "2",
            "--quiet",
            "--limit",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "AUC" in out and "logloss" in out and "none" in out and "untrained_resnet18" in out


def test_bad_input_is_one_line_and_exit_2(tmp_path, tiny_model_dir, capsys):
    card = str(tiny_model_dir / "untrained_resnet18.json")
    assert main([str(tmp_path / "missing"), "--model", card]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no such folder" in err and len(err.splitlines()) == 1

    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    assert main([str(tmp_path), "--model", card]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no videos" in err and len(err.splitlines()) == 1

    for frames in ("0", "100000"):  # refused before any item is read, not once per video
        with pytest.raises(SystemExit) as e:
            main([str(tmp_path), "--model", card, "--frames", frames])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "--frames" in err and len(err.splitlines()) == 1

    # found by review: a --json that is a folder crashed after the whole evaluation; refused before it now
    (tmp_path / "out").mkdir()
    assert main([str(tmp_path), "--model", card, "--json", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "is a folder" in err and len(err.splitlines()) == 1


def test_an_item_that_cannot_be_read_is_said_as_scan_says_it(tmp_path, tiny_model_dir, clips, capsys):
    import shutil

    card = str(tiny_model_dir / "untrained_resnet18.json")
    (tmp_path / "real").mkdir()
    shutil.copy(clips["face"], tmp_path / "real" / "good.mp4")
    (tmp_path / "real" / "notes.mp4").write_text("not a video")
    main([str(tmp_path), "--label", "real", "--model", card, "--frames", "2"])
    err = [line for line in capsys.readouterr().err.splitlines() if "notes" in line and "run/s" not in line]
    # an audit: "not analysed: ..." where scan says "error: ..."
    assert len(err) == 1 and err[0].startswith("error: ") and "notes.mp4: not a readable video" in err[0]
    # a named pipe, a dangling link, a link to itself under a video's name: said too, not left out without a word
    os.mkfifo(tmp_path / "real" / "pipe.mp4")
    os.symlink("missing.mp4", tmp_path / "real" / "dangling.mp4")
    os.symlink("loop.mp4", tmp_path / "real" / "loop.mp4")
    main([str(tmp_path), "--label", "real", "--model", card, "--frames", "2"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    for said in ("pipe.mp4: not a regular file", "dangling.mp4: no such file", "loop.mp4: cannot be read"):
        assert any(said in line for line in err), err


def test_command_line_bad_folder(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "detector.evaluation.evaluate", str(tmp_path / "nope")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_select_split_uses_the_cards_validation_groups(dataset):
    items = read_dataset(dataset)  # groups are file stems: "a", "b", "empty"
    card = ModelCard(name="m", architecture="resnet18", input_size=64, trained={"split": {"val_groups": ["a"]}})
    val, used, note = select_split(items, card, "val")
    assert used == "val" and {it.group for it in val} == {"a"} and len(val) == 2
    train, used, _ = select_split(items, card, "train")
    assert used == "train" and {it.group for it in train} == {"b", "empty"}
    everything, used, _ = select_split(items, card, "all")
    assert used == "all" and len(everything) == len(items)

    no_split = ModelCard(name="m", architecture="resnet18", input_size=64)
    got, used, note = select_split(items, no_split, "val")
    assert used == "all" and len(got) == len(items) and "no training split" in note

    other = ModelCard(name="m", architecture="resnet18", input_size=64, trained={"split": {"val_groups": ["zzz"]}})
    got, used, note = select_split(items, other, "val")
    assert used == "all" and len(got) == len(items) and "not its training data" in note


def test_select_split_train_leaves_out_the_sources_a_model_never_trained_on(dataset):
    """A model trained with --train-sources saw none of the other sources' items: --split train keeps only its own
    sources, and says why when none of this data's is left."""
    items = read_dataset(dataset)
    source = items[0].source or "data"
    split = {"val_groups": ["a"]}
    mine = ModelCard(
        name="m",
        architecture="resnet18",
        input_size=64,
        trained={"split": split, "config": {"train_sources": [source]}},
    )
    train, used, _ = select_split(items, mine, "train")
    assert used == "train" and {it.group for it in train} == {"b", "empty"}
    other = ModelCard(
        name="m", architecture="resnet18", input_size=64, trained={"split": split, "config": {"train_sources": ["x"]}}
    )
    with pytest.raises(InputError, match="or of a source it never trained on .it trained on x only"):
        select_split(items, other, "train")
    val, used, _ = select_split(items, other, "val")  # the validation split is the folds', whatever it trained on
    assert used == "val" and {it.group for it in val} == {"a"}
    # SOURCE/real: one class of a source (train --train-sources ffpp_c40/real): its reals only
    reals = ModelCard(
        name="m",
        architecture="resnet18",
        input_size=64,
        trained={"split": split, "config": {"train_sources": [f"{source}/real"]}},
    )
    got, used, _ = select_split(items, reals, "train")
    assert used == "train" and got == [it for it in train if it.label_name == "real"] and len(got) < len(train)


def test_real_photos_get_a_false_alarm_table_per_group(tmp_path, tiny_model_dir, capsys):
    """A folder of real photos named as UTKFace names them: false alarms overall and per group, on the held-out
    fifth (--split heldout) or on all of them."""
    import cv2
    from skimage import data

    from detector.data.datasets import held_out

    root = tmp_path / "photos" / "real"
    root.mkdir(parents=True)
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    for i in range(12):
        cv2.imwrite(str(root / f"{20 + i}_0_{i % 3}_2017010{i}.jpg.chip.jpg"), np.roll(face, 7 * i, axis=1))
    out = tmp_path / "eval.json"
    card = str(tiny_model_dir / "untrained_resnet18.json")
    assert main([str(tmp_path / "photos"), "--model", card, "--split", "all", "--json", str(out), "--quiet"]) == 0
    level = json.loads(out.read_text())["levels"]["none"]
    rows = {r["name"]: r for r in level["false_alarms"]}
    assert set(rows) == {"photos:white", "photos:black", "photos:asian", "all"}
    assert rows["all"]["reals"] == 12 == sum(rows[g]["reals"] for g in rows if g != "all")
    assert rows["all"]["false_alarms"] == level["video"]["confusion"]["fp"]
    text = capsys.readouterr().out
    assert "false alarms at the threshold" in text
    # found by review: a folder of photos was "all 12 videos", "32 frames per video", "real videos"
    assert (
        "all 12 photos (--split all)" in text
        and "one frame per photo" in text
        and "video" not in text.split("\n")[0] + text.split("\n")[1]
    )
    assert json.loads(out.read_text())["inputs"] == "photos"
    items = read_dataset(tmp_path / "photos")
    if any(held_out(it) for it in items):
        assert main([str(tmp_path / "photos"), "--model", card, "--split", "heldout", "--quiet"]) == 0
    else:
        assert main([str(tmp_path / "photos"), "--model", card, "--split", "heldout", "--quiet"]) == 2


def test_a_folder_without_a_layout_is_evaluated_with_the_label_given(dataset, tiny_model_dir, tmp_path):
    out = tmp_path / "wild.json"
    card = str(tiny_model_dir / "untrained_resnet18.json")
    # dataset/real holds plain clips: no layout of its own, so it needs --label
    assert main([str(dataset / "real"), "--model", card, "--quiet"]) == 2
    assert (
        main(
            [str(dataset / "real"), "--model", card, "--label", "real", "--frames", "4", "--quiet", "--json", str(out)]
        )
        == 0
    )
    level = json.loads(out.read_text())["levels"]["none"]
    assert level["videos"] == 3 and level["video"]["n_fake"] == 0 and level["false_alarms"][-1]["name"] == "all"


def test_a_labelled_folder_leaves_out_the_models_own_training_files(dataset, tiny_model_dir, tmp_path, monkeypatch):
    # a review: photos copied from UTKFace's training part were measured as if unseen, and nothing said so
    import detector.data.seen as seen

    def seen_warning(path, card, index_file=None):
        return "seen" if os.path.basename(path).startswith(("a.", "b.")) else None

    monkeypatch.setattr(seen, "seen_warning", seen_warning)
    out = tmp_path / "wild.json"
    card = str(tiny_model_dir / "untrained_resnet18.json")
    real = str(dataset / "real")
    names = sorted(os.listdir(real))
    assert main([real, "--model", card, "--label", "real", "--frames", "4", "--quiet", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    left = sum(n.startswith(("a.", "b.")) for n in names)
    assert 0 < left < len(names) and result["split"]["videos"] == len(names) - left
    assert f"{left} left out: files this model trained or validated on" in result["split"]["note"]
    monkeypatch.setattr(seen, "seen_warning", lambda path, card, index_file=None: "seen")
    assert main([real, "--model", card, "--label", "real", "--quiet"]) == 2  # nothing unseen: said, not measured


def test_a_report_folder_inside_the_data_is_refused_before_anything_is_written(tmp_path, tiny_model_dir, capsys):
    """roc.png written into a folder of photos would overwrite a photo of that name and join the data next time."""
    import cv2
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(photos / "roc.png"), face)
    before = (photos / "roc.png").read_bytes()
    card = str(tiny_model_dir / "untrained_resnet18.json")
    for report in (photos, photos / "sub"):
        capsys.readouterr()
        assert main([str(photos), "--model", card, "--label", "real", "--report", str(report), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert "is inside the data" in err and len(err.splitlines()) == 1
    assert (photos / "roc.png").read_bytes() == before and not (photos / "sub").exists()
    assert sorted(p.name for p in photos.iterdir()) == ["roc.png"]


def test_report_folder_check_accepts_a_folder_outside_the_data_and_leaves_a_missing_root_to_the_reader(tmp_path):
    from detector.evaluation.evaluate import report_folder_problem

    data = tmp_path / "data"
    data.mkdir()
    assert report_folder_problem(str(tmp_path / "report"), [str(data)]) is None
    assert "is inside the data" in report_folder_problem(str(data / "report"), [str(data)])
    # a data root that is not there: its parent (tmp_path) is not taken for the data; the reader says "no such"
    assert report_folder_problem(str(tmp_path / "report"), [str(tmp_path / "typo")]) is None
    (tmp_path / "file").write_text("x")
    assert "is a file" in report_folder_problem(str(tmp_path / "file"), [str(data)])
    # a folder that cannot be made under a file: said before the evaluation, not after it (a hostile-input review)
    assert "cannot be written" in report_folder_problem(str(tmp_path / "file" / "report"), [str(data)])
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert "cannot be written" in report_folder_problem(str(ro / "report"), [str(data)])


def test_an_unreadable_folder_below_the_data_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import detector.data.datasets as datasets

    def locked(roots):
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr(datasets, "read_datasets", locked)
    assert main([str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("locked: cannot be read (Permission denied)")


def test_json_on_stdout_is_json_alone_and_same_stem_photos_keep_apart(tmp_path, tiny_model_dir, capsys):
    # found by review: `evaluate --json -` printed the table before the JSON on stdout (no parser could read it); a.jpg
    # and a.png shared the id "a"; a folder named twice with --label counted every photo twice; a file name with a
    # line break forged a second line on stderr
    import cv2
    from skimage import data

    folder = tmp_path / "same"
    folder.mkdir()
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(folder / "a.jpg"), face)
    cv2.imwrite(str(folder / "a.png"), face[:, ::-1])
    (folder / "bad\nerror: forged.jpg").write_bytes(b"")
    card = str(tiny_model_dir / "untrained_resnet18.json")
    argv = [str(folder), str(folder), "--label", "real", "--model", card, "--quiet", "--json", "-"]
    assert main(argv) == 1  # the empty photo could not be read
    out, err = capsys.readouterr()
    result = json.loads(out)  # stdout is the JSON alone; the table went to stderr
    assert "false alarms at the threshold" in err and "3 file(s) below more than one DATA folder" in err
    ids = sorted(v["id"] for v in result["videos"])
    assert ids == ["a.jpg", "a.png", "bad\nerror: forged"]
    assert {os.path.basename(v["path"]) for v in result["videos"]} == {"a.jpg", "a.png", "bad\nerror: forged.jpg"}
    assert not any(line.startswith("error: forged") for line in err.splitlines())


@pytest.mark.parametrize(
    "meta,said",
    [
        ({"x.mp4": {"label": "FAKE", "original": 5}}, "has original 5, expected a file name"),
        ({"x.mp4": "FAKE"}, "x.mp4 has 'FAKE', expected"),
        ({"../x.mp4": {"label": "REAL"}}, "is not a file in its folder"),
        ({"/etc/x.mp4": {"label": "REAL"}}, "is not a file in its folder"),
    ],
)
def test_a_malformed_dfdc_metadata_is_one_line(tmp_path, tiny_model_dir, capsys, meta, said):
    # found by review: a number as "original" and an absolute name ended in tracebacks; a bare label was dropped
    # without a word ("holds no videos")
    (tmp_path / "x.mp4").write_bytes(b"not read")
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    assert main([str(tmp_path), "--split", "all", "--model", str(tiny_model_dir / "untrained_resnet18.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and said in err and len(err.splitlines()) == 1, err


def test_a_key_listed_twice_in_dfdc_metadata_is_refused(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"not read")
    (tmp_path / "metadata.json").write_text('{"x.mp4": {"label": "REAL"}, "x.mp4": {"label": "FAKE"}}')
    with pytest.raises(InputError, match="x.mp4 is listed twice"):
        read_dataset(tmp_path)


def test_an_output_that_fails_after_the_run_costs_not_the_other(dataset, tiny_model_dir, tmp_path, capsys):
    # found by review: a --report that failed at the end (videos.csv turned into a folder) lost the --json too, and a
    # --json on a full disk was said as "None: cannot be written"
    report = tmp_path / "rep"
    (report / "videos.csv").mkdir(parents=True)
    out = tmp_path / "eval.json"
    card = str(tiny_model_dir / "untrained_resnet18.json")
    argv = [str(dataset), "--split", "all", "--model", card, "--frames", "2", "--limit", "2", "--quiet"]
    assert main([*argv, "--json", str(out), "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: --report {report}: cannot be written") and "videos.csv" in err
    assert json.loads(out.read_text())["model"] == "untrained_resnet18"
    if os.path.exists("/dev/full"):
        assert main([*argv, "--json", "/dev/full"]) == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: --json /dev/full: cannot be written")


def test_a_held_out_photo_with_the_bytes_of_a_training_photo_is_left_out(tmp_path):
    # a review: 26 of UTKFace's 1,554 held-out photos are byte-for-byte copies of training photos
    import zlib

    from detector.data.datasets import held_out

    root = tmp_path / "photos" / "real"
    root.mkdir(parents=True)
    names = [f"{20 + i}_0_0_2017010{i:02d}.jpg.chip.jpg" for i in range(40)]
    kept_out = [n for n in names if zlib.crc32(n.encode()) % 5 == 0]
    trained = [n for n in names if n not in kept_out]
    assert len(kept_out) >= 2 and trained
    for i, n in enumerate(names):
        (root / n).write_bytes(f"photo {i}".encode())
    (root / kept_out[0]).write_bytes((root / trained[0]).read_bytes())  # a copy of a training photo
    items = read_dataset(tmp_path / "photos")
    got, used, note = select_split(items, None, "heldout")
    assert used == "heldout" and all(held_out(it) for it in got)
    assert sorted(os.path.basename(it.path) for it in got) == sorted(kept_out[1:])
    assert note.endswith("; 1 left out, the same bytes as a training photo")


def test_false_alarms_count_verdicts_a_second_opinion_made_uncertain_as_not_fake():
    # a real photo over the threshold whose colour second opinion made it "uncertain" is not called fake: the false
    # alarms count what the user is told; the table says how many such there were
    from detector.evaluation.evaluate import level_metrics

    def row(label, score, predicted, subgroup="white"):
        return {"label": label, "score": score, "score_mean": score, "frame_scores": [score], "predicted": predicted,
                "method": "", "kind": "image", "subgroup": subgroup, "source": "faces_utk", "error": "",
                "seconds": 0.1}  # fmt: skip

    rows = [row(0, 0.9, "fake"), row(0, 0.8, "uncertain"), row(0, 0.1, "real"), row(1, 0.95, "fake")]
    out = level_metrics(rows, 0.5)
    everyone = {"name": "all", "reals": 3, "false_alarms": 1, "rate": 0.3333, "median_score": 0.8}
    assert out["false_alarms"][-1] == everyone
    assert out["second_opinion_uncertain"] == 1 and out["labels"] == {"real": 1, "uncertain": 1, "fake": 2}
    assert out["second_opinion_uncertain_fakes"] == 0


def test_a_small_video_judged_at_its_own_threshold_is_not_counted_as_a_second_opinions_doing():
    # a review: a small video scoring between the card's threshold and its threshold for small videos is
    # "uncertain" by that threshold, and was counted as made uncertain by a colour second opinion
    from detector.evaluation.evaluate import level_metrics, table

    def row(label, score, predicted, threshold):
        return {"label": label, "score": score, "score_mean": score, "frame_scores": [score], "predicted": predicted,
                "threshold": threshold, "method": "", "kind": "video", "subgroup": None, "source": "clips",
                "error": "", "seconds": 0.1}  # fmt: skip

    rows = [row(0, 0.8, "uncertain", 0.94), row(0, 0.96, "fake", 0.94), row(0, 0.7, "fake", 0.6)]
    rows += [row(1, 0.9, "uncertain", 0.94)]
    out = level_metrics(rows, 0.6)
    assert out["second_opinion_uncertain"] == 0 and out["second_opinion_uncertain_fakes"] == 0
    assert out["small_video_threshold"] == 3
    assert out["false_alarms"][-1]["false_alarms"] == 2  # 0.96 over 0.94, 0.7 over 0.6; 0.8 is under 0.94
    result = {"model": "m", "threshold": 0.6, "frames": 1, "inputs": "videos", "data": "clips",
              "split": {"note": "all"}, "levels": {"none": out}}  # fmt: skip
    text = " ".join(table(result).split())  # the note, wrapped over lines, as one
    said = "3 videos or photos under the card's small-video or small-photo size, or photos with several faces, were"
    assert f"{said} judged at its threshold" in text


def test_false_alarms_on_photos_come_by_age_band_and_sex_in_the_json_and_the_table():
    from detector.evaluation.evaluate import level_metrics, table

    def row(score, age_band, sex, predicted):
        return {"label": 0, "score": score, "score_mean": score, "frame_scores": [score], "predicted": predicted,
                "method": "", "kind": "image", "subgroup": "white", "age_band": age_band, "sex": sex,
                "source": "faces_utk", "error": "", "seconds": 0.1}  # fmt: skip

    rows = [row(0.9, "0-2", "male", "fake"), row(0.2, "0-2", "female", "real"), row(0.95, "80+", "female", "fake")]
    rows.append(row(0.85, "80+", "female", "uncertain"))  # over the threshold, made uncertain: not a false alarm
    out = level_metrics(rows, 0.5)
    ages = {r["name"]: (r["reals"], r["false_alarms"]) for r in out["false_alarms_by_population"]["age_band"]}
    assert ages == {"0-2": (2, 1), "80+": (2, 1), "all": (4, 2)}
    sexes = [(r["name"], r["reals"], r["false_alarms"]) for r in out["false_alarms_by_population"]["sex"]]
    assert sexes == [("female", 3, 1), ("male", 1, 1), ("all", 4, 2)]
    result = {"model": "m", "threshold": 0.5, "frames": 1, "inputs": "photos", "data": "photos",
              "split": {"note": "all"}, "levels": {"none": out}}  # fmt: skip
    text = table(result)
    assert "by age (the data's age in years):" in text and "by sex (as the data labels it):" in text
    lines = text.splitlines()
    under_age = lines[lines.index(next(x for x in lines if "by age" in x)) + 1].split()
    assert under_age[:4] == ["0-2", "2", "1", "50.0%"]


def test_age_and_sex_tables_count_by_verdict_when_the_rows_name_no_age_or_sex():
    # rows saved without the two fields get them from their file names; the threshold function must still see the
    # row itself (it tells a face a second opinion made "uncertain" by the row's identity: a copy was counted fake)
    from detector.evaluation.evaluate import level_metrics

    def row(score, name, predicted):
        return {"label": 0, "score": score, "score_mean": score, "frame_scores": [score], "predicted": predicted,
                "method": "", "kind": "image", "subgroup": "white", "source": "faces_utk", "error": "",
                "seconds": 0.1, "path": f"/p/{name}.jpg.chip.jpg"}  # fmt: skip

    rows = [row(0.9, "1_0_0_20170101000000", "uncertain"), row(0.2, "2_1_0_20170101000000", "real")]
    out = level_metrics(rows, 0.5)
    assert out["false_alarms"][-1]["false_alarms"] == 0
    ages = {r["name"]: (r["reals"], r["false_alarms"]) for r in out["false_alarms_by_population"]["age_band"]}
    assert ages == {"0-2": (2, 0), "all": (2, 0)}


def test_a_clip_whose_faces_were_all_too_small_is_counted_apart_from_one_without_a_face(tmp_path, tiny_model):
    # a review: evaluate counted a clip of 9 px faces "without a face"; they were found, too small to judge
    from types import SimpleNamespace

    from detector.data.synthetic import render_clip
    from detector.evaluation.evaluate import level_metrics, run_one, table

    def item(name, **kw):
        path = render_clip(str(tmp_path / f"{name}.mp4"), seconds=1, fps=10, **kw)
        fields = "method group kind source subgroup age_band sex".split()
        return SimpleNamespace(id=name, label=0, path=path, **dict.fromkeys(fields, ""), label_name="real")

    tiny = run_one(item("tiny", size=(64, 48)), "none", tiny_model, frames=3)
    plain = run_one(item("plain", size=(160, 120), source="plain"), "none", tiny_model, frames=3)
    assert tiny["score"] is None and tiny["faces_too_small"] == 3 and not tiny["error"]
    assert plain["score"] is None and plain["faces_too_small"] == 0
    lv = level_metrics([tiny, plain], 0.5)
    assert (lv["no_face"], lv["too_small"]) == (1, 1)
    result = {"model": "m", "threshold": 0.5, "frames": 3, "data": "d", "split": {"note": ""}, "levels": {"none": lv}}
    text = table(result)
    assert "(0 could not be analysed, 1 without a face, 1 with faces too small to judge: not in the metrics)" in text
    # a teacher's audit: the columns' short names meant nothing to a class; the table says them in words
    assert "TP FP TN FN: fakes called fake, reals called fake, reals called real, fakes called real" in text


def test_an_empty_report_folder_is_refused_not_skipped(tmp_path, capsys):
    from detector.evaluation.evaluate import main as evaluate_main

    assert evaluate_main([str(tmp_path), "--report", ""]) == 2  # a review: nothing was written and nothing said
    assert capsys.readouterr().err.strip() == "error: --report: empty: give a folder for the report"
