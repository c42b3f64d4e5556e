"""The Ray engine (``scan --engine ray``): a local Ray with 2 CPUs gives the same lines as the local engine."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from detector.inference.batch import ScanSettings, scan_many
from detector.inference.ray_engine import is_uri, list_inputs

ray = pytest.importorskip("ray", reason="the Ray engine needs the scale extra: pip install -e '.[scale]'")


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # its session folder (logs, sockets) in a folder of its own, removed afterwards, not left in /tmp/ray; short,
    # because Ray refuses socket paths over about 100 bytes (pytest's folders, or a macOS TMPDIR, come close)
    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp" if os.path.isdir("/tmp") else None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=folder)
    yield
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def inputs(clips, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 10)
    return [clips["face"], str(broken), clips["plain"], clips["rotated"]]


def face_scores(row: dict) -> list[float]:
    return [f["score"] for fr in row["report"]["frames"] for f in fr["faces"]]


def test_uris_are_told_from_paths():
    assert is_uri("s3://bucket/a.mp4") and is_uri("file:///tmp/a.mp4") and is_uri("gs://b/x/")
    assert not is_uri("/tmp/a.mp4") and not is_uri("concat:a.mp4") and not is_uri("file:a.mp4")
    assert not is_uri("odd name://x.mp4")


def test_a_file_uri_folder_is_listed_with_sizes_and_times(clips, tmp_path):
    folder = os.path.dirname(clips["face"])
    listed = list_inputs("file://" + folder)
    assert [os.path.basename(p) for p, _, _ in listed] == sorted(
        n for n in os.listdir(folder) if n.endswith((".mp4", ".png", ".jpg")) and not n.startswith(".")
    )
    path, size, mtime = next(item for item in listed if item[0].endswith("face.mp4"))
    assert path == "file://" + clips["face"] and size == os.path.getsize(clips["face"]) and mtime > 0
    from detector.errors import InputError

    with pytest.raises(InputError, match="not found"):
        list_inputs("file://" + str(tmp_path / "nothing-here"))
    # hidden files and folders below a URI are left out and listed as hidden (a review); a file given itself is read
    (tmp_path / "tree" / ".thumbs").mkdir(parents=True)
    for name in ("a.mp4", ".b.mp4", ".thumbs/c.mp4"):
        (tmp_path / "tree" / name).write_bytes(b"x")
    hidden: list[str] = []
    found = list_inputs("file://" + str(tmp_path / "tree"), hidden=hidden)
    assert [os.path.basename(p) for p, _, _ in found] == ["a.mp4"]
    assert sorted(os.path.basename(p) for p in hidden) == [".b.mp4", "c.mp4"]
    assert [os.path.basename(p) for p, _, _ in list_inputs("file://" + str(tmp_path / "tree" / ".b.mp4"))] == [".b.mp4"]


@pytest.mark.slow
def test_ray_gives_the_local_engines_results(inputs, tiny_model_dir, tmp_path, monkeypatch, local_ray):
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    settings = ScanSettings(frames=4)
    local = {r["key"]["path"]: r for r, _ in scan_many(inputs, settings, str(tmp_path / "local.jsonl"))}
    jsonl = str(tmp_path / "ray.jsonl")
    on_ray = {r["key"]["path"]: r for r, _ in scan_many(inputs, settings, jsonl, workers=2, engine="ray")}
    assert set(on_ray) == set(local) and len(on_ray) == 4
    for path, row in local.items():
        assert row["key"] == on_ray[path]["key"]  # same keys: each engine resumes the other's runs
        if "error" in row:
            assert "error" in on_ray[path] and on_ray[path]["error"] == row["error"]
            continue
        assert face_scores(row) == pytest.approx(face_scores(on_ray[path]), abs=1e-6)
        assert row["report"]["score"] == pytest.approx(on_ray[path]["report"]["score"], abs=1e-6)
    assert len(open(jsonl).read().splitlines()) == 4

    # a rerun on either engine skips what the other did (the broken input is tried again)
    again = list(scan_many(inputs, settings, jsonl))
    assert sorted(skipped for _, skipped in again) == [False, True, True, True]


@pytest.mark.slow
def test_a_uri_input_is_read_through_pyarrow(clips, tiny_model_dir, tmp_path, monkeypatch, local_ray):
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    settings = ScanSettings(frames=4)
    uri = "file://" + clips["face"]
    (row, skipped), *_ = list(
        scan_many([uri], settings, None, workers=1, engine="ray", stats={uri: list_inputs(uri)[0][1:]})
    )
    assert not skipped and row["key"]["path"] == uri and row["report"]["video"] == uri  # as given (and resumed)
    (local, _), *_ = list(scan_many([clips["face"]], settings))
    assert face_scores(row) == pytest.approx(face_scores(local), abs=1e-6)
    assert row["report"].get("video_info", {}).get("path", uri) == uri  # the input, not the temporary copy


def test_a_uri_inputs_error_names_the_uri_not_the_temporary_copy(tmp_path, monkeypatch):
    from detector.errors import InputError
    from detector.inference import batch, pipeline
    from detector.inference.ray_engine import _analyse_any

    def refuse(path, **kwargs):
        raise InputError(f"{path}: not a readable video")

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    monkeypatch.setattr(pipeline, "analyze", refuse)
    monkeypatch.setattr(batch, "_WORKER", {"settings": ScanSettings(model="m"), "clf": None, "model_id": "m"})
    uri = "file://" + str(broken)
    assert _analyse_any(uri, 11, 0)["error"] == f"{uri}: not a readable video"

    def crash(path, **kwargs):  # a bug: batch names the input by its base name, which is the URI's
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "analyze", crash)
    assert _analyse_any(uri, 11, 0)["error"].startswith(f"{uri}: could not be analysed (RuntimeError: boom")
    gone = "file://" + str(tmp_path / "gone.mp4")
    assert _analyse_any(gone, None, None)["error"].startswith(f"{gone}: cannot be read (")


@pytest.mark.slow
def test_an_input_that_kills_its_actor_fails_alone(inputs, tiny_model_dir, tmp_path, monkeypatch, local_ray):
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(tiny_model_dir))
    monkeypatch.setenv("DEEPFAKE_TEST_CRASH_ON", "plain.mp4")
    rows = [r for r, _ in scan_many(inputs, ScanSettings(frames=4), None, workers=2, engine="ray")]
    by_name = {os.path.basename(r["key"]["path"]): r for r in rows}
    assert set(by_name) == {"face.mp4", "broken.mp4", "plain.mp4", "rotated.mp4"}
    assert "died" in by_name["plain.mp4"]["error"]
    assert "report" in by_name["face.mp4"] and "report" in by_name["rotated.mp4"]
