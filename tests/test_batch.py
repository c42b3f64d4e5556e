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
    assert a[1]["model"] == a[0]["model"] == "untrained_resnet18"  # an error's entry names the model too (an audit)
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
    assert "untrained_resnet18" in printed and "one model: real" in printed  # one model agrees with none
    assert "4 faces scored by the one model" in printed
    data = json.loads(out.read_text())
    assert [r["model"] for r in data["models"]] == ["untrained_resnet18"] and data["models"][0]["faces"] == 4
    assert "untrained_resnet18" in data["reports"] and table.read_text().startswith("model,architecture,label")
    assert main(["compare", str(tmp_path / "missing.mp4")]) == 1  # an input not there: 1, as scan's


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


def test_a_worker_ends_when_the_scan_that_started_it_is_killed(tmp_path):
    # an archive audit: after kill -9 of a scan with --workers 2, its workers stayed, blocked on a pipe, 1 GB each
    import subprocess
    import sys
    import time

    parent = (  # the scan's pid is given to the worker, as _run gives it: the worker may start watching late
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time; from detector.inference.batch import _exit_with_parent; "
        "_exit_with_parent(%d, poll=0.1); time.sleep(60)' % os.getpid()])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    scan = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    child = int(scan.stdout.readline())
    time.sleep(1.0)  # the child has imported and started watching
    assert _alive(child)  # it started, and watches
    scan.kill()  # kill -9: no cleanup in the parent
    scan.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_model_is_known_by_its_files_contents_not_their_times(tiny_model_dir, tmp_path):
    # an archive audit: touching the card, or a fresh clone, gave a new key and re-scanned a whole archive
    import shutil

    from detector.inference.batch import model_id
    from detector.models.classifier import load_model

    card = next(tiny_model_dir.glob("*.json"))
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)  # new times, same contents
    os.utime(copy / card.name, (1, 1))
    same = model_id(load_model(str(copy / card.name)))
    assert same == model_id(load_model(str(card)))
    weights = next(p for p in copy.iterdir() if p.suffix == ".safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of the weights changed
    weights.write_bytes(bytes(data))
    assert model_id(load_model(str(copy / card.name))) != same


def test_a_resume_names_inputs_as_given_now_and_says_what_it_redoes(inputs, tiny_model_dir, tmp_path, monkeypatch):
    # an archive audit: a resume from another folder kept the old spelling of skipped inputs beside the new one's,
    # and inputs analysed before with other settings were redone without a word
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    jsonl = str(tmp_path / "out.jsonl")
    face = inputs[0]
    list(scan_many([face], ScanSettings(frames=4), jsonl))
    monkeypatch.chdir(os.path.dirname(face))
    notes: list[str] = []
    (row, skipped), *_ = scan_many([os.path.basename(face)], ScanSettings(frames=4), jsonl, notes=notes)
    assert skipped and row["report"]["video"] == os.path.basename(face) and not notes
    assert row["report"]["video_info"].get("path", os.path.basename(face)) == os.path.basename(face)
    list(scan_many([face], ScanSettings(frames=5), jsonl, notes=notes))
    assert len(notes) == 1 and notes[0].startswith("1 input(s) in ") and "analysed again" in notes[0]


@pytest.mark.slow
def test_a_stopped_scan_with_workers_ends_them_at_once_and_drops_the_queue(
    clips, tiny_model_dir, tmp_path, monkeypatch
):
    # an archive audit: Ctrl-C on a scan with --workers 2 waited for every queued input (23 s), and a second Ctrl-C
    # in that wait left it hanging; the workers took the Ctrl-C as their own and went on with the next input
    import time

    from detector.inference import batch

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    many = [clips["face"]] + [os.path.join(tmp_path, f"c{i}.mp4") for i in range(40)]  # the queue: a minute or so
    for p in many[1:]:
        os.symlink(clips["face"], p)
    started = []
    real_stop = batch._stop
    monkeypatch.setattr(batch, "_stop", lambda pool: started.append(list(pool._processes.values())) or real_stop(pool))
    rows = scan_many(many, ScanSettings(frames=16), str(tmp_path / "r.jsonl"), workers=2)
    next(rows)  # the first result: the other inputs are queued or in flight
    t0 = time.monotonic()
    rows.close()  # as Ctrl-C (KeyboardInterrupt) or a reader gone ends the scan's loop
    assert time.monotonic() - t0 < 5 and started  # the workers stopped, not the queue run through
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p.pid) for p in started[0]):
        time.sleep(0.1)
    assert not any(_alive(p.pid) for p in started[0])  # (by /proc: the pool's own thread may reap them first)
    assert len(open(tmp_path / "r.jsonl").read().splitlines()) < len(many)  # the queue was dropped


def test_a_result_made_by_another_version_is_reused_and_said(inputs, tiny_model_dir, tmp_path, monkeypatch):
    # an archive audit: a --jsonl made by an earlier version was reused without a word, its warnings out of date
    from detector.inference import batch

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    jsonl = tmp_path / "r.jsonl"
    first = list(scan_many(inputs[:1], ScanSettings(frames=4), str(jsonl)))
    assert first[0][0]["version"] == batch.software_version() != ""
    notes: list[str] = []
    assert all(skipped for _, skipped in scan_many(inputs[:1], ScanSettings(frames=4), str(jsonl), notes=notes))
    assert not notes  # the same version: nothing to say
    row = json.loads(jsonl.read_text().splitlines()[0])
    row["version"] = "0.1.0"
    jsonl.write_text(json.dumps(row) + "\n")
    again = list(scan_many(inputs[:1], ScanSettings(frames=4), str(jsonl), notes=notes))
    assert [skipped for _, skipped in again] == [True]  # kept: not the whole archive again at each upgrade
    said = "made by another version of deepfake-lens or of the code that makes its reports (0.1.0; this is "
    assert len(notes) == 1 and said in notes[0]


def test_the_version_names_the_verdict_rules_so_a_rule_change_is_told_apart(monkeypatch, tmp_path):
    # an archive audit: the verdict rules changed (a stretch of strongly fake frames, the fragile warning) under the
    # same package version, so --jsonl lines made by the old rules were reused without a word
    from detector import provenance  # where the version is made (scan's lines and every report carry it)

    version = provenance.software_version()
    package, _, rules = version.partition("+rules.")
    assert package and len(rules) == 10 and int(rules, 16) >= 0
    assert provenance.rules_fingerprint() == rules  # the same code, the same fingerprint
    root = tmp_path / "src"
    report_code = ["detector/inference/report.py", "explain/cam.py", "detector/models/card.py", "detector/data/seen.py"]
    scheduling = ["detector/inference/batch.py", "detector/inference/ray_engine.py", "detector/training/run.py"]
    for name in report_code + scheduling:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# v1\n")
    monkeypatch.setattr(provenance, "__file__", str(root / "detector" / "provenance.py"))

    def fingerprint() -> str:
        provenance.rules_fingerprint.cache_clear()
        return provenance.rules_fingerprint()

    try:
        first = fingerprint()
        for name in scheduling:  # how inputs are scheduled, and training: not what a report says
            (root / name).write_text("# v2\n")
        assert fingerprint() == first
        (root / "explain/cam.py").write_bytes(b"# v1\r\n")  # a checkout with Windows line endings: the same code
        assert fingerprint() == first
        seen = {first}
        for name in report_code:  # each part of the code that makes a report
            (root / name).write_text("# v2: another rule\n")
            assert fingerprint() not in seen
            seen.add(fingerprint())
        for name in report_code:  # an install without its sources: not one fingerprint for every build
            (root / name).unlink()
        assert fingerprint() == "unknown"
    finally:
        provenance.rules_fingerprint.cache_clear()


def test_redo_older_analyses_again_the_lines_of_another_version(inputs, tiny_model_dir, tmp_path, monkeypatch):
    from detector.inference import batch

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    jsonl = tmp_path / "r.jsonl"
    pair = [inputs[0], inputs[2]]  # two that can be read (inputs[1] fails, and a failure is always tried again)
    list(scan_many(pair, ScanSettings(frames=4), str(jsonl)))
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    lines[0]["version"] = "0.2.0+rules.0000000000"  # one input made by older rules, the other by these
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    notes: list[str] = []
    again = list(scan_many(pair, ScanSettings(frames=4), str(jsonl), notes=notes, redo_older=True))
    assert sorted(skipped for _, skipped in again) == [False, True]  # the older one redone, the other kept
    redone = next(row for row, skipped in again if not skipped)
    assert redone["version"] == batch.software_version() and "report" in redone
    assert len(notes) == 1 and notes[0].startswith("1 input(s)") and "--redo-older" in notes[0]
    notes.clear()
    assert all(skipped for _, skipped in scan_many(pair, ScanSettings(frames=4), str(jsonl), notes=notes))
    assert not notes  # the last line of each input is this version's: nothing older is left to say


def test_redo_older_without_jsonl_is_a_one_line_error(capsys):
    from detector.cli import main

    assert main(["scan", "nothing.mp4", "--redo-older"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--redo-older needs --jsonl" in err[0]


def test_version_says_the_verdict_rules_fingerprint(capsys):
    from detector.cli import main
    from detector.provenance import software_version

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"deepfake-lens {software_version()}"


def test_every_report_says_which_deepfake_lens_made_it(tmp_path):
    # a report shared with an editor, or an archive's result, says which version and verdict rules gave its verdict
    from detector.inference.report import FaceResult, FrameResult, error_entry, summarise
    from detector.provenance import software_version
    from webapp.html_report import write_html_report

    frames = [FrameResult(index=0, time=0.0, faces=[FaceResult(identity=0, box=(0, 0, 90, 90), confidence=0.9)])]
    report = summarise("clip.mp4", frames, threshold=0.5)
    data = report.to_dict()
    assert data["software"] == software_version() and "+rules." in data["software"]
    failed = error_entry("bad.mp4", "not a readable video")
    assert failed["software"] == data["software"] and set(failed) - {"error"} == set(data)  # the same keys
    html = open(write_html_report(report, None, str(tmp_path))).read()
    assert f"by deepfake-lens {software_version()}</div>" in html
