"""Scanning many inputs: one JSON line per input as it finishes, resume after an interruption, worker processes."""

from __future__ import annotations

import json
import os

import pytest

from detector.inference.batch import ScanSettings, read_done, scan_many, summary


@pytest.fixture()
def inputs(clips, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 10)
    return [clips["face"], str(broken), clips["plain"], clips["rotated"]]


def test_lines_stream_out_and_a_rerun_skips_what_is_done(inputs, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    jsonl = str(tmp_path / "out.jsonl")
    settings = ScanSettings(frames=4)
    first = list(scan_many(inputs, settings, jsonl))
    assert [skipped for _, skipped in first] == [False] * 4
    assert len(open(jsonl).read().splitlines()) == 4
    errors = [row for row, _ in first if "error" in row]
    assert len(errors) == 1 and "broken.mp4" in errors[0]["error"]

    again = list(scan_many(inputs, settings, jsonl))  # what succeeded is skipped; what failed is tried again
    flags = {os.path.basename(row["key"]["path"]): skipped for row, skipped in again}
    assert flags == {"face.mp4": True, "broken.mp4": False, "plain.mp4": True, "rotated.mp4": True}
    assert len(open(jsonl).read().splitlines()) == 5

    # a run killed while writing leaves a torn last line: that input is done again, the others are not
    good = [line for line in open(jsonl).read().splitlines() if '"report"' in line]
    with open(jsonl, "w") as fh:
        fh.write("\n".join(good[:-1]) + "\n" + good[-1][: len(good[-1]) // 2])
    assert len(read_done(jsonl)) == 2
    third = list(scan_many(inputs, settings, jsonl))
    assert sum(not skipped for _, skipped in third) == 2  # the torn one and the broken one

    reports, errs = summary(jsonl, inputs)
    assert [os.path.basename(r["video"]) for r in reports] == ["face.mp4", "plain.mp4", "rotated.mp4"]
    assert len(errs) == 1
    # other settings, or a changed file, are not skipped
    assert not any(skipped for _, skipped in scan_many(inputs[:1], ScanSettings(frames=5), jsonl))


@pytest.mark.slow
def test_two_workers_give_the_same_scores_as_one(inputs, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    settings = ScanSettings(frames=4)
    one = {r["key"]["path"]: r for r, _ in scan_many(inputs, settings, str(tmp_path / "one.jsonl"), workers=1)}
    two = {r["key"]["path"]: r for r, _ in scan_many(inputs, settings, str(tmp_path / "two.jsonl"), workers=2)}
    assert set(one) == set(two)
    for path, row in one.items():
        if "error" in row:
            assert "error" in two[path]
            continue
        faces_one = [f["score"] for fr in row["report"]["frames"] for f in fr["faces"]]
        faces_two = [f["score"] for fr in two[path]["report"]["frames"] for f in fr["faces"]]
        assert faces_one == pytest.approx(faces_two, abs=1e-6)
        assert row["report"]["score"] == pytest.approx(two[path]["report"]["score"], abs=1e-6)
    assert json.loads(open(tmp_path / "two.jsonl").readline())["key"]["model"].startswith("untrained_resnet18@")


def test_scan_jsonl_resumes_and_the_summary_is_made_from_it(inputs, tiny_model_dir, tmp_path, monkeypatch, capsys):
    from detector.cli import main

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    jsonl, first, second = (str(tmp_path / n) for n in ("r.jsonl", "a.json", "b.json"))
    argv = ["scan", *inputs, "--frames", "4", "--jsonl", jsonl]
    assert main([*argv, "--json", first]) == 1  # one input is broken: exit 1, the others written
    capsys.readouterr()
    assert main([*argv, "--json", second]) == 1
    assert "3 input(s) already in" in capsys.readouterr().err  # the broken one is tried again
    a, b = json.load(open(first)), json.load(open(second))
    assert [r["video"] for r in a] == [r["video"] for r in b] == inputs  # the broken one with its reason
    assert [bool(r.get("error")) for r in a] == [bool(r.get("error")) for r in b] == [False, True, False, False]
    assert [r["score"] for r in a] == [r["score"] for r in b]
    with pytest.raises(SystemExit) as info:
        main(["scan", inputs[0], "--jsonl", jsonl, "--workers", "0"])
    assert info.value.code == 2 and "give 1 to 64 workers" in capsys.readouterr().err


@pytest.mark.slow
def test_a_worker_that_dies_costs_only_its_own_input(inputs, tiny_model_dir, tmp_path, monkeypatch):
    """A file that kills the process analysing it (here: a stand-in that calls os._exit) is an error line; every
    other input still gets its result, and the scan ends."""
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    monkeypatch.setenv("DEEPFAKE_TEST_CRASH_ON", "rotated.mp4")
    rows = [r for r, _ in scan_many(inputs, ScanSettings(frames=4), str(tmp_path / "r.jsonl"), workers=2)]
    by_name = {os.path.basename(r["key"]["path"]): r for r in rows}
    assert set(by_name) == {os.path.basename(p) for p in inputs}
    assert "died" in by_name["rotated.mp4"]["error"]
    assert "report" in by_name["face.mp4"] and "report" in by_name["plain.mp4"]


def test_compare_runs_every_model_on_one_clip(clips, tiny_model_dir, tmp_path, monkeypatch, capsys):
    from detector.cli import main

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    out, table = tmp_path / "cmp.json", tmp_path / "cmp.csv"
    assert main(["compare", clips["face"], "--frames", "4", "--json", str(out), "--csv", str(table)]) == 0
    printed = capsys.readouterr().out
    assert "untrained_resnet18" in printed and "the models agree" in printed
    data = json.loads(out.read_text())
    assert [r["model"] for r in data["models"]] == ["untrained_resnet18"] and data["models"][0]["faces"] == 4
    assert "untrained_resnet18" in data["reports"] and table.read_text().startswith("model,architecture,label")
    assert main(["compare", str(tmp_path / "missing.mp4")]) == 2


@pytest.mark.parametrize("name", ["a", "asked"])
def test_an_error_names_its_input_even_when_the_message_starts_with_the_name(name, tmp_path, monkeypatch):
    # a file named "a" or "asked": the limit's message "asked for ..." starts with those letters, not with the name
    from detector.errors import InputError
    from detector.inference import batch, pipeline

    def refuse(path, **kwargs):
        raise InputError("asked for about 2000 frames; the limit is 1000")

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"x")
    monkeypatch.setattr(pipeline, "analyze", refuse)
    monkeypatch.setattr(batch, "_WORKER", {"settings": ScanSettings(model="m"), "clf": None, "model_id": "m"})
    assert batch._analyse(name)["error"] == f"{name}: asked for about 2000 frames; the limit is 1000"

    def named(path, **kwargs):
        raise InputError(f"{path}: not a readable video")

    monkeypatch.setattr(pipeline, "analyze", named)
    assert batch._analyse(name)["error"] == f"{name}: not a readable video"  # named once, not twice
