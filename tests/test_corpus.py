"""The bad-input corpus (bench/corpus.py): its fast form scanned for real, and its runner's own verdicts.

The slow test makes the fast corpus (about 70 inputs and 14 argument cases, rendered on the spot) and scans it
with the real command line: every input must end in a sane report or a one-line error, with no traceback, hang
or memory over 2 GB, and every input and case the generator made must be counted.  The quick tests check that
the runner does catch each kind of failure, with a stand-in for the command.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest

corpus = load_script("bench/corpus.py", "bench_corpus")


@pytest.mark.slow
def test_fast_corpus_has_no_failure(tmp_path):
    made = corpus.generate(tmp_path, "fast")
    assert 55 <= len(made.items) <= 80 and 10 <= len(made.cases) <= 20
    assert {it.group for it in made.items} == {"video", "broken", "truncated", "photo", "name", "special"}
    result = corpus.run(made, log=lambda s: None)
    listed = "\n".join(f"{f['outcome']} {f['name']!r}: {f['detail']}" for f in result["failures"])
    assert result["failures"] == [], listed
    # every input and case made is counted once, as a report or a one-line error
    assert sum(result["inputs"].values()) == len(made.items) == result["inputs_made"]
    assert sum(result["cases"].values()) == len(made.cases) == result["cases_made"]
    assert set(result["inputs"]) == {"report", "error"} and set(result["cases"]) == {"report", "error"}
    expected = {it.name: it.expect for it in made.items}
    for o in result["outcomes"]:
        if o["kind"] == "input" and expected[o["name"]] != "any":
            assert o["outcome"] == expected[o["name"]], o
    assert result["scan_runs"] == 1 and result["scan_peak_rss_mb"] < corpus.MEMORY_CAP_MB


@pytest.mark.slow
def test_generation_is_deterministic(tmp_path):
    import hashlib

    def digest(folder):
        made = corpus.generate(folder, "fast")
        files = {}
        for it in made.items:
            p = made.inputs / it.name
            if p.is_file() and not p.is_symlink() and p.stat().st_size < 10**8:
                files[it.name] = hashlib.sha1(p.read_bytes()).hexdigest()
        return [(it.name, it.group, it.expect) for it in made.items], files

    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a[0] == b[0] and len(a[1]) > 40
    assert a[1] == b[1], sorted(k for k in a[1] if a[1][k] != b[1].get(k))


# ---------------------------------------------------------------- the runner catches each kind of failure

_STAND_IN = """\
    import json, os, sys, time
    args = sys.argv[4:]  # after: SCRIPT -m detector scan
    if "--jsonl" not in args:  # an argument case
        sys.stderr.write({case!r})
        sys.exit({case_rc})
    jsonl, out = args[args.index("--jsonl") + 1], args[args.index("--json") + 1]
    paths = args[: args.index("--jsonl")]
    if len(paths) == 1 and os.path.isdir(paths[0]):
        paths = sorted(os.path.join(paths[0], n) for n in os.listdir(paths[0]))
    reports = []
    for p in paths:
        name = os.path.basename(p)
        key = {{"path": os.path.abspath(p)}}
        if name.startswith("hang"):
            time.sleep(600)
        if name.startswith("crash"):
            os._exit(139)
        if name.startswith("err"):
            row = {{"key": key, "error": name + ": not a readable video" + (" (x\\ny)" if "2" in name else "")}}
        else:
            score = float("nan") if name.startswith("nan") else 0.25
            report = {{"video": p, "score": score, "label": "real", "threshold": 0.5,
                       "frames": [{{"index": 0, "time": 0.0, "faces": []}}], "warnings": [],
                       "video_info": {{"width": 8, "height": 8, "duration": 1.0}}}}
            row = {{"key": key, "report": report}}
            reports.append(report)
        with open(jsonl, "a") as f:
            f.write(json.dumps(row) + "\\n")
        if "error" in row:
            sys.stderr.write("error: " + row["error"] + "\\n")
    json.dump(reports, open(out, "w"))
    sys.exit(1 if any(name.startswith("err") for name in map(os.path.basename, paths)) else 0)
"""


def _stand_in(tmp_path, case: str = "error: refused\n", case_rc: int = 2) -> str:
    """An executable that answers ``python -m detector scan ...`` like the scan would, by the inputs' names."""
    script = tmp_path / "fake_python"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(_STAND_IN).format(case=case, case_rc=case_rc))
    script.chmod(0o755)
    return str(script)


def _corpus(tmp_path, names: dict[str, str], cases=()) -> object:
    c = corpus.Corpus(root=tmp_path, inputs=tmp_path / "inputs")
    c.inputs.mkdir()
    (tmp_path / "work").mkdir()
    for name, expect in names.items():
        (c.inputs / name).write_bytes(b"x")
        c.items.append(corpus.Item(name, "video", expect))
    c.cases = list(cases)
    return c


def test_runner_classifies_reports_errors_and_what_is_wrong(tmp_path):
    names = {"a_ok.mp4": "report", "err1.mp4": "error", "err2.mp4": "any", "nan.mp4": "any", "ok_refused.mp4": "any"}
    c = _corpus(tmp_path, names)
    (c.inputs / "err_valid.mp4").write_bytes(b"x")
    c.items.append(corpus.Item("err_valid.mp4", "video", "report"))  # a valid input refused
    result = corpus.run(c, python=_stand_in(tmp_path), log=lambda s: None)
    got = {o["name"]: (o["outcome"], o["detail"]) for o in result["outcomes"]}
    assert got["a_ok.mp4"][0] == "report" and got["ok_refused.mp4"][0] == "report"
    assert got["err1.mp4"][0] == "error"
    assert got["err2.mp4"] == ("bad-error", got["err2.mp4"][1]) and "several lines" in got["err2.mp4"][1]
    assert got["nan.mp4"][0] == "insane" and "NaN" in got["nan.mp4"][1]
    assert got["err_valid.mp4"][0] == "unexpected"
    # the stand-in printed err2's message over two lines: a stray stderr line, a fault of the scan
    assert any(f["kind"] == "scan" and "not an 'error: ' line" in f["detail"] for f in result["failures"])


def test_runner_finds_the_input_that_hangs_or_kills_the_scan(tmp_path):
    names = {"a_ok.mp4": "report", "crash.mp4": "any", "d_ok.mp4": "report", "hang.mp4": "any", "z_ok.mp4": "report"}
    c = _corpus(tmp_path, names)
    result = corpus.run(c, python=_stand_in(tmp_path), stall=2.0, log=lambda s: None)
    got = {o["name"]: o["outcome"] for o in result["outcomes"]}
    assert got == {"a_ok.mp4": "report", "crash.mp4": "crash", "d_ok.mp4": "report", "hang.mp4": "hang",
                   "z_ok.mp4": "report"}  # fmt: skip
    assert result["scan_runs"] == 3  # the folder, then the inputs left after each culprit
    assert len(result["failures"]) == 2


@pytest.mark.parametrize(
    "stderr,rc,expect,outcome",
    [
        ("error: refused\n", 2, "error", "error"),
        ("error: refused\n", 2, "report", "unexpected"),
        ("error: two\nlines\n", 2, "error", "bad-error"),
        ("Traceback (most recent call last):\n  boom\nValueError: x\n", 1, "any", "traceback"),
        ("", 2, "error", "bad-error"),  # refused without saying why
        ("", 0, "error", "unexpected"),  # accepted what must be refused
        ("", -11, "any", "crash"),
    ],
)
def test_runner_judges_argument_cases(tmp_path, stderr, rc, expect, outcome):
    case = corpus.ArgCase("case", ["x.mp4"], expect)
    result = corpus.run(_corpus(tmp_path, {}, [case]), python=_stand_in(tmp_path, stderr, rc), log=lambda s: None)
    assert result["outcomes"][0]["outcome"] == outcome, result["outcomes"]


def test_spawn_stops_a_hang_and_a_child_over_the_memory_cap():
    hang = corpus._spawn([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1.0)
    assert hang.why == "hang" and hang.seconds < 10
    grow = "import time; b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"
    big = corpus._spawn([sys.executable, "-c", grow], timeout=30.0, cap_mb=200)
    assert big.why == "memory" and big.peak_mb > 200 and big.seconds < 25
    touch = "import time; b = bytearray(100 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"
    fine = corpus._spawn([sys.executable, "-c", touch], 30)
    assert fine.why is None and fine.rc == 0 and 100 < fine.peak_mb < 400  # that child's own peak, not the runner's


def test_classify_report():
    good = {
        "video": "a.mp4",
        "score": 0.3,
        "label": "real",
        "threshold": 0.5,
        "frames": [{"index": 0, "time": 0.0, "faces": [{"score": 0.3, "box": [1, 2, 3, 4]}]}],
        "warnings": [],
        "video_info": {"width": 8, "height": 8, "duration": 0.0},
    }
    assert corpus.classify_report(good) is None
    assert corpus.classify_report({**good, "score": None, "label": "unknown"}) is None
    bad = [
        {**good, "score": float("nan")},
        {**good, "score": 1.5},
        {**good, "label": "maybe"},
        {**good, "score": None},  # no score but a verdict
        {**good, "frames": []},
        {**good, "frames": [{"index": 0, "time": 2.0}, {"index": 1, "time": 1.0}]},
        {**good, "video_info": {"width": 0, "height": 8, "duration": 1.0}},
        {**good, "warnings": ["two\nlines"]},
        json.loads('{"score": Infinity}'),
    ]
    for r in bad:
        assert corpus.classify_report(r), r
    assert os.path.basename(corpus.__file__) == "corpus.py"
