"""What a browser session keeps and frees: the slim report (webapp.session), the shared uploads, and a tiny soak of the
real app (``bench/app_soak.py``: ``python app.py`` in a subprocess, sessions through gradio_client) whose sessions'
state, uploads and downloads must all be gone once the clients close.  The soak starts the app: ``slow``."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _report(clips, tiny_model, **kwargs):
    from detector.inference.pipeline import analyze

    return analyze(clips["face"], frames=4, model=tiny_model, keep_frames=True, **kwargs)


def test_slim_report_keeps_small_frames_and_the_boxes_in_place(clips, tiny_model):
    from webapp.faces import frame_view, verdict_strip
    from webapp.session import FACE_SIDE, EncodedFrames, report_nbytes, slim_report

    full = _report(clips, tiny_model, cam="gradcam")
    index = full.frames[0].index
    original = full.frame_images[index].copy()
    full_bytes = report_nbytes(full)
    big = full.frame_images  # a 640x480 clip: make the kept frames smaller than it, to test the box scaling
    slim = slim_report(full, frame_side=320)
    assert isinstance(slim.frame_images, EncodedFrames) and set(slim.frame_images) == set(big)
    kept = slim.frame_images[index]
    assert kept.shape == (240, 320, 3) and slim.frame_images.scale(index) == pytest.approx(0.5)
    small = original[::2, ::2].astype(int)
    assert np.abs(kept.astype(int) - small).mean() < 6  # a JPEG of the downscaled frame
    assert report_nbytes(slim) < full_bytes / 5
    for f in slim.faces:
        assert max(f.crop.shape[:2]) <= FACE_SIDE and (f.cam is None or max(f.cam.shape) <= FACE_SIDE)
    # an RGB + depth model's maps: counted, and each kept as its own small float16 copy, not a view of the stack
    stack = np.ones((len(full.faces), 64, 64), np.float32)
    before = report_nbytes(slim)
    for f, d in zip(full.faces, stack):  # slimmed in place: slim's faces are full's
        f.depth = d
    assert report_nbytes(slim) == before + stack.nbytes
    slim = slim_report(full, frame_side=320)
    assert all(f.depth.dtype == np.float16 and f.depth.base is None for f in slim.faces)
    assert slim.to_dict() == full.to_dict()  # scores, boxes, timings: the JSON is unchanged

    # the boxes are drawn where the face is on the smaller frame
    pos = next(i for i, fr in enumerate(slim.frames) if fr.faces)
    image, caption = frame_view(slim, pos)
    k = image.shape[1] / 320  # the viewer enlarges a 320-px frame: it is drawn enlarged, its labels sharp
    image = image[: image.shape[0] - verdict_strip(slim, image.shape[1]).shape[0]]  # the frame, above the verdict
    assert image.shape == (round(240 * k), round(320 * k), 3) and "face" in caption
    x, y, w, h = slim.frames[pos].faces[0].box
    frame = slim.frame_images[slim.frames[pos].index]
    frame = cv2.resize(frame, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR).astype(int)
    changed = np.abs(image.astype(int) - frame).sum(axis=2) > 60
    ys, xs = np.nonzero(changed)
    # the box's left and bottom, halved (the kept frame) and enlarged (the view)
    assert abs(xs.min() - x / 2 * k) < 6 and abs(ys.max() - (y + h) / 2 * k) < 6


def test_uploads_are_deleted_when_no_session_uses_them(tmp_path):
    from webapp.session import Uploads

    root, other = tmp_path / "gradio", tmp_path / "examples"
    (root / "abc").mkdir(parents=True)
    other.mkdir()
    shared, example = root / "abc" / "clip.mp4", other / "example.mp4"
    shared.write_bytes(b"x")
    example.write_bytes(b"x")
    downloads = root / "report_1"
    downloads.mkdir()
    (downloads / "r.csv").write_text("x")
    files = Uploads(root)
    files.hold(str(shared), "tab1")
    files.hold(str(shared), "tab2")  # the same content uploaded in two tabs: one file
    files.hold(str(downloads), "tab1")
    files.hold(str(example), "tab1")  # outside the root: never held, never deleted
    assert files.held() == 2
    assert files.release("tab1") == [str(downloads)] and shared.exists() and not downloads.exists()
    assert files.release("tab2") == [str(shared)] and not shared.exists() and not (root / "abc").exists()
    assert example.exists() and root.exists() and files.held() == 0
    # an upload of an example clip is gradio's cached copy of that clip, shared by every visitor: never deleted
    # (an audit: a visitor who uploaded the example took it away from everyone when their tab closed)
    source = other / "astronaut_real.mp4"
    source.write_bytes(b"the example's bytes")
    cached, renamed = root / "h1" / "astronaut_real.mp4", root / "h1" / "mine.mp4"
    cached.parent.mkdir()
    cached.write_bytes(b"the example's bytes")
    renamed.write_bytes(b"the example's bytes")  # the same bytes under another name: the visitor's own file
    files.keep_copies_of([str(source)])
    files.hold(str(cached), "tab3")
    files.hold(str(renamed), "tab3")
    assert files.release("tab3") == [str(renamed)] and cached.exists() and not renamed.exists()


def test_empty_folders_left_by_gradios_cache_sweep_are_removed_once_old(tmp_path):
    # a Space host's audit: gradio serves each output from a folder of its own and its sweep deletes the files, not
    # the folders: 427 empty folders after 40 analyses, growing for as long as the Space runs
    import os
    import time

    from webapp.session import Uploads

    root = tmp_path / "gradio"
    old_empty, new_empty, full = root / "a1", root / "b2", root / "c3"
    for d in (old_empty, new_empty, full):
        d.mkdir(parents=True)
    (full / "tile.png").write_bytes(b"x")
    hour_ago = time.time() - 3600
    for d in (old_empty, full):
        os.utime(d, (hour_ago, hour_ago))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.utime(outside, (hour_ago, hour_ago))
    assert Uploads(root).sweep_empty(min_age_s=600) == 1
    assert not old_empty.exists() and new_empty.exists() and (full / "tile.png").exists() and outside.exists()
    assert Uploads(tmp_path / "missing").sweep_empty() == 0  # a root that is gone: nothing, no error


def test_a_closed_session_is_freed_unless_it_came_back(tmp_path, monkeypatch):
    import datetime

    import gradio as gr
    from gradio.state_holder import StateHolder

    from webapp import session_files
    from webapp.session import Uploads

    with gr.Blocks() as demo:
        state = gr.State(None, delete_callback=lambda v: dropped.append(v))
    dropped = []
    holder = StateHolder()
    holder.set_blocks(demo)
    holder["tab"][state._id] = "a report"
    monkeypatch.setattr(session_files, "_FILES", [Uploads(tmp_path)])
    upload = tmp_path / "h" / "clip.mp4"
    upload.parent.mkdir()
    upload.write_bytes(b"x")
    session_files._session_files().hold(str(upload), "tab")
    before = datetime.datetime.now() - datetime.timedelta(seconds=5)
    assert not session_files.free_session(demo, "tab", before)  # an event ran after the page closed: the tab came back
    assert "tab" in holder and upload.exists() and not dropped
    assert session_files.free_session(demo, "tab", datetime.datetime.now())
    assert "tab" not in holder and dropped == ["a report"] and not upload.exists()


@pytest.mark.slow
def test_tiny_soak_frees_every_session(request):
    """6 analyses in 2 concurrent sessions of the running app (+ its warm-up session): all succeed, and once the
    clients have closed the app holds no session state, no upload and no download folder."""
    sys.path.insert(0, str(ROOT / "bench"))
    import app_soak

    from detector.constants import REPO_ASSETS
    from detector.models.store import list_models

    env = {"DEEPFAKE_APP_EXAMPLES": "0", "DEEPFAKE_APP_SESSION_GRACE_S": "1"}
    if not list_models(REPO_ASSETS / "models"):
        env["DEEPFAKE_MODELS_DIR"] = str(request.getfixturevalue("tiny_model_dir"))
    args = app_soak.parse_args("--analyses 6 --sessions 2 --frames 6 --seconds 2 --settle 2".split())
    r = app_soak.soak(args, env)
    assert r["warmup_ok"] and (r["analyses"], r["ok"], r["failed"]) == (6, 6, 0), r["errors"]
    assert r["sessions"] == 2 and r["sessions_ended"] == 3  # the warm-up tab and the two soak tabs
    assert r["sessions_with_state"] == 0 and r["files_held"] == 0 and r["uploads_left"] == 0
    assert r["rss_peak_mb"] >= r["rss_start_mb"] > 0
    assert r["stopped_by_sigterm"] and r["downloads_left"] == 0  # a container stop ends it and its folders go
    assert not r["work_kept"] and not Path(r["work"]).exists()  # no clip, log or upload folder left in the temp dir


def test_every_handler_given_an_upload_holds_it_for_its_session(monkeypatch, tmp_path, tiny_model_dir):
    # found by a browser check: two tabs uploaded the same clip (gradio keeps one file per content); one ran only
    # the failure lab, which held nothing, and the other tab's end deleted the clip under it ("no such file")
    from webapp import lab_tab, session_files

    held = []
    monkeypatch.setattr(session_files, "_hold_for_session", lambda path, upload=True: held.append(path))
    clip = str(tmp_path / "clip.mp4")
    lab_tab.on_lab_new_clip(3, clip, None)
    lab_tab.on_lab_new_clip(3, None, clip.replace(".mp4", ".jpg"))  # a photo in the lab's Photo slot
    import gradio as gr

    with pytest.raises(gr.Error, match="clip.mp4"):  # no such file: held before anything is read
        lab_tab.on_compare(clip, None, "jpeg", 0.5, 4, 0, str(tiny_model_dir / "untrained_resnet18.json"), 0.5)
    with pytest.raises(gr.Error, match="clip.mp4"):
        lab_tab.on_levels(clip, None, 4, 0, str(tiny_model_dir / "untrained_resnet18.json"), 0.5)
    assert held == [clip, clip.replace(".mp4", ".jpg"), clip, clip]
