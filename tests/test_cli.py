"""The scan command: JSON/CSV schema, batches, and a one-line error for every kind of bad input."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_video import bad_file

ROOT = Path(__file__).resolve().parents[1]


def scan(*args, models_dir=None, timeout=240):
    env = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1")
    if models_dir is not None:
        env["DEEPFAKE_MODELS_DIR"] = str(models_dir)
    return subprocess.run(
        [sys.executable, "-m", "detector", "scan", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc, pattern):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert pytest.importorskip("re").search(pattern, errors[0]), errors[0]


def test_no_model_installed_says_so(tmp_path, clips):
    empty = tmp_path / "models"
    empty.mkdir()
    proc = scan(clips["face"], models_dir=empty)
    assert_one_line_error(proc, "no trained model is installed")
    assert proc.returncode == 2


def test_scan_json_and_csv(tmp_path, clips, tiny_model_dir):
    out, table = tmp_path / "r.json", tmp_path / "r.csv"
    proc = scan(clips["face"], "--frames", 6, "--json", out, "--csv", table, models_dir=tiny_model_dir)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    assert r["video"].endswith("face.mp4") and r["label"] in ("fake", "real")
    assert 0 <= r["score"] <= 1 and r["threshold"] == 0.5
    assert len(r["frames"]) == 6
    for fr in r["frames"]:
        assert set(fr) >= {"index", "time", "faces"} and isinstance(fr["index"], int)
        assert len(fr["faces"]) == 1  # the astronaut, in every frame
        face = fr["faces"][0]
        assert face["identity"] == 0 and len(face["box"]) == 4 and 0 <= face["score"] <= 1
    assert set(r["timings"]) >= {"decode", "detect", "classify", "total"}
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 6 and rows[0]["face_found"] == "1"


def test_batch_folder_keeps_input_order_and_reports_failures(tmp_path, clips, tiny_model_dir):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("a_face.mp4", "b_plain.mp4"):
        (folder / name).write_bytes(Path(clips["face" if "face" in name else "plain"]).read_bytes())
    (folder / "c_broken.mp4").write_text("not a video")
    out = tmp_path / "batch.json"
    proc = scan(folder, "--frames", 4, "--json", out, models_dir=tiny_model_dir)
    assert proc.returncode == 1  # one video failed, the others are still written
    data = json.loads(out.read_text())
    assert [Path(r["video"]).name for r in data] == ["a_face.mp4", "b_plain.mp4"]
    plain = data[1]
    assert plain["label"] == "unknown" and plain["score"] is None
    assert all(fr["faces"] == [] for fr in plain["frames"]) and len(plain["frames"]) == 4
    assert "No face" in plain["warnings"][0]
    assert "c_broken.mp4" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "kind,pattern",
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("text", "not a readable video"),
        ("png", "still image"),
        ("truncated", "truncated|cannot be decoded|not a readable|no frame"),
        ("audio", "no video stream"),
    ],
)
def test_bad_input_one_line(tmp_path, clips, tiny_model_dir, kind, pattern):
    proc = scan(bad_file(tmp_path, clips, kind), models_dir=tiny_model_dir)
    assert_one_line_error(proc, pattern)


def test_empty_folder(tmp_path, tiny_model_dir):
    proc = scan(tmp_path, models_dir=tiny_model_dir)
    assert_one_line_error(proc, "no videos or photos")


def test_4k_and_too_long(tmp_path, tiny_model_dir):
    from detector.data.synthetic import render_clip

    big = render_clip(str(tmp_path / "4k.mp4"), seconds=0.2, fps=10, size=(3840, 2160), source="plain")
    assert_one_line_error(scan(big, models_dir=tiny_model_dir), "3840x2160.*megapixels")
    long = render_clip(str(tmp_path / "long.mp4"), seconds=610, fps=1, size=(64, 64), source="plain")
    assert_one_line_error(scan(long, models_dir=tiny_model_dir), "longer than the 600 s limit")
