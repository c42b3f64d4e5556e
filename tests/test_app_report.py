"""The shareable HTML report (webapp/html_report.py): one self-contained file, nothing fetched, no server path.

Hand-made reports (``_report`` of test_app_units) and the UNTRAINED test model: presentation only.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from test_app_units import _report  # tests/ is on sys.path under pytest

SERVER_DIR = "/srv/gradio/cache/3f2a9c"
URL_RESOURCE = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?!data:)[a-z]+:|url\(|@import""", re.I)


@pytest.fixture
def uploaded():
    """A report whose input still carries a server path (video, video_info, a warning), one face explained."""
    r = _report([[(0, 0.9), (1, 0.2)], [(0, 0.8)], [], [(0, 0.95), (1, 0.1)]])
    r.video = f"{SERVER_DIR}/holiday clip.mp4"
    r.video_info = {**r.video_info, "path": r.video, "width": 320, "height": 240, "fps": 25.0}
    r.warnings.append(f"{r.video}: the stream ends early")
    r.cam_method = "gradcam"
    r.frames[3].faces[0].cam = np.tile(np.linspace(0, 1, 96, dtype=np.float32), (96, 1))
    return r


def _card(tiny_model, **changes):
    return type(tiny_model.card)(**{**tiny_model.card.__dict__, **changes})


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r"data:image/(?:png|jpeg);base64,([A-Za-z0-9+/=]+)", page)]


def test_report_is_one_self_contained_file(uploaded, tiny_model):
    from webapp.html_report import report_html

    card = _card(
        tiny_model,
        trained={"calibration": {"rule": "lowest score with at most 5% false alarms", "on": "validation"}},
        notes="weights from https://example.org/weights and http://example.org/x",
        metrics={"video_auc": 0.91},
    )
    page = report_html(uploaded, card, now=datetime(2025, 3, 4, 15, 30, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "http://" not in page and "https://" not in page  # no URL at all, not even in the card's notes
    assert "example.org/weights" in page  # ...whose address is kept as plain text
    assert not URL_RESOURCE.search(page) and "<script" not in page.lower() and "<link" not in page.lower()
    assert "default-src 'none'" in page  # the browser is told to fetch nothing
    images = _images(page)
    assert len(images) >= 3 and page.count("data:image") == len(images)  # timeline, frame, face tiles
    assert any(b.startswith(b"\x89PNG") for b in images) and any(b.startswith(b"\xff\xd8") for b in images)
    assert b"matplotlib" not in b"".join(images)  # the PNG carries no tool name / address
    # the verdict, the band, the warnings, the model card, the input by its base name and the date
    assert "Likely FAKE" in page and "0.925" in page and "threshold 0.50" in page
    assert "stream ends early" in page and "Faces were found in only 3 of 4" in page
    assert "holiday clip.mp4" in page and SERVER_DIR not in page and "/srv" not in page
    assert "untrained_resnet18" in page and "resnet18" in page
    assert "Its own validation split (one split, not cross-validated): video AUC 0.91" in page  # in words
    assert "lowest score with at most 5% false alarms (on validation)" in page
    assert "2025-03-04 15:30" in page
    # every picture has its text for a screen reader: the frame's faces, each tile what it holds
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert len(alts) == len(images) and all(alts)
    assert any(a.startswith("frame ") and "a box around each face: face 0 " in a for a in alts)
    assert any(a.startswith("face 0 as the model saw it") for a in alts)
    # on a phone the page fits the screen (it was 409 px wide at 390, 596 with the per-frame table open): the table
    # scrolls in its own box, the face figures and the model card's values shrink
    style = page[page.index("<style>") : page.index("</style>")]
    assert "max-width:100%;overflow-x:auto" in style and "figure{margin:0;width:300px;max-width:100%}" in style
    assert "grid-template-columns:max-content minmax(0,1fr)" in style


def test_an_rgbd_models_faces_show_their_depth_maps_at_the_same_panel_size(uploaded):
    from webapp.html_report import report_html

    plain = report_html(uploaded, None)
    assert "depth map" not in plain and 'style="width' not in plain
    for f in uploaded.faces:
        f.depth = np.full((16, 16), 0.6, np.float32)
    page = report_html(uploaded, None)
    assert "depth map as the model's depth stream read it" in page and "not a measured depth" in page
    widths = [int(w) for w in re.findall(r'<figure style="width:(\d+)px">', page)]
    # one face has a CAM (crop | CAM | depth: 3 panels), the others crop | grey panel | depth: all 3 panels wide
    assert len(widths) == len(uploaded.faces) and set(widths) == {round(300 * (3 * 144 + 8 + 12) / 304)}


def test_faces_most_fake_first_and_at_most_max_faces(uploaded):
    from webapp.html_report import report_html

    page = report_html(uploaded, None, max_faces=3)
    scores = [float(s) for s in re.findall(r"fake score <b>([0-9.]+)</b>", page)]
    assert scores == [0.95, 0.9, 0.8]  # most fake first, three of five
    assert "3 of 5 faces shown" in page and "heat map" in page
    assert "model card of <code>m</code> was not available" in page
    figures = re.findall(r"<figure>.*?</figure>", page)
    assert len(figures) == 3 and "t = 1.20 s" in figures[0]  # the explained face, with its time


def test_uncertain_band_and_calibration_text(tiny_model):
    from webapp.cards import calibration_rule
    from webapp.html_report import report_html
    from webapp.verdict import relabel

    r = relabel(_report([[(0, 0.5)], [(0, 0.52)], [(0, 0.48)], [(0, 0.5)]]), 0.6, 0.6, [0.4, 0.6])
    page = report_html(r, _card(tiny_model, uncertain=[0.4, 0.6], threshold=0.6))
    assert "UNCERTAIN" in page and "uncertain band" in page and "cannot tell a fake from a real face" in page
    assert "0.400 to 0.600" in page  # the card's band
    assert "not recorded on the card" in page  # this card says nothing of its calibration
    assert calibration_rule(_card(tiny_model, trained={"calibration": "none: the authors' rule"})) == (
        "none: the authors' rule"
    )
    assert calibration_rule(None) == ""
    plain = report_html(relabel(r, 0.3, 0.6, [0.4, 0.6]), None)
    assert "No uncertain band applies" in plain
    hand = report_html(relabel(r, 0.9, 0.6, [0.4, 0.6]), None)
    assert "0.900, set by hand" in hand and "real faces of its validation set also score there" not in hand


def test_photo_and_no_face_and_cam_off(uploaded):
    from webapp.html_report import report_html

    photo = _report([[(0, 0.7)]])
    photo.video = "portrait.jpg"
    page = report_html(photo, None)
    assert "The photo" in page and "over time" not in page and "t = " not in page
    # found by a browser check: a photo's report spoke of a video score, identities and sampled frames
    assert "The photo's score (its most fake face's) at or above the threshold" in page
    assert "A video score" not in page and "identity" not in page and "sampled frame" not in page
    assert "<th>time (s)</th>" not in page and "<th>frame</th>" not in page and "<th>face</th>" in page
    assert "<th>time (s)</th>" in report_html(uploaded, None)  # a clip's table keeps them
    uploaded.cam_method = None
    uploaded.frames[3].faces[0].cam = None
    page = report_html(uploaded, None)
    assert "CAM) was off" in page and "beside its" not in page
    tiles = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in _images(page.split("<figure>", 1)[1])]
    assert len(tiles) == 5 and all(t.shape[1] < 1.2 * t.shape[0] for t in tiles)  # the crop alone, no CAM panel
    empty = report_html(_report([[], []], with_images=False), None)
    assert "No verdict" in empty and "No face was found" in empty and "<figure>" not in empty


def test_write_html_report_names_the_file_after_the_input(uploaded, tmp_path):
    from webapp.html_report import write_html_report

    path = write_html_report(uploaded, None, str(tmp_path))
    assert path == str(tmp_path / "holiday_clip_report.html")
    assert "holiday clip.mp4" in open(path, encoding="utf-8").read()


def test_the_app_offers_the_report_beside_the_csv_and_json(clips, tiny_model_dir):
    import gradio as gr

    from webapp import analyse_tab

    with gr.Blocks():
        ui = analyse_tab.build_analyse_tab([], {})
    card = str(tiny_model_dir / "untrained_resnet18.json")
    out = analyse_tab.on_analyze(
        ui, clips["face"], None, 4, card, "gradcam", 0.5, "confident", 2, "time", progress=lambda *a, **k: None
    )
    path = out[ui.html_btn].value["path"]
    assert path.endswith("face_report.html") and out[ui.html_btn].visible
    page = open(path, encoding="utf-8").read()
    assert "face.mp4" in page and "data:image" in page and "https://" not in page
    assert str(tiny_model_dir) not in page and clips["face"] not in page
    assert "random weights, for tests only" in page  # the model card's notes
    # the threshold slider writes the report again, judged at the new threshold
    moved = analyse_tab.on_threshold(ui, out[ui.report_state], out[ui.judged_state], 0.0, 1, "time")
    assert "Likely FAKE" in open(moved[ui.html_btn].value["path"], encoding="utf-8").read()


def test_the_model_section_speaks_to_readers_and_red_is_not_evidence(uploaded, tiny_model):
    # a review of the report: its model section showed "(detector/training/run.py)", "(trained.config.train_sources)"
    # and data paths, and the heat maps lacked the page's "red is not evidence of a fake"
    from webapp.cards import for_readers
    from webapp.html_report import report_html

    notes = (
        "Trained by deepfake-lens train (detector/training/run.py). Trained on the sources faces_utk, ffpp, "
        "ffpp_c40/real, ffpp_c40:actors only (trained.config.train_sources)."
    )
    assert for_readers(notes) == (
        "Trained by deepfake-lens train. Trained on the sources UTKFace photos, FaceForensics++ c23, "
        "FaceForensics++ c40 (real only), DeepFakeDetection actor clips only."
    )
    data = "ffpp: 100 videos (33 real, 67 fake); 1554 photos held out (../shared/data/ffpp ../shared/data/faces_utk)"
    assert for_readers(data) == "FaceForensics++ c23: 100 videos (33 real, 67 fake); 1554 photos held out"
    assert for_readers("see x/ffpp and ffpp_c23x, ffpp-c40") == "see x/ffpp and ffpp_c23x, ffpp-c40"  # inside others
    assert for_readers("faces_utk/real, ffpp/fake") == "UTKFace photos (real only), FaceForensics++ c23 (fake only)"
    assert for_readers("Trained by detector/train.py on FaceForensics++.") == "Trained on FaceForensics++."
    page = report_html(uploaded, _card(tiny_model, notes=notes, trained={"data": data}))
    assert "run.py" not in page and "trained.config" not in page and "../shared" not in page
    assert "FaceForensics++ c40 (real only)" in page and "red is not evidence of a fake" in page
    assert "How to read these figures: AUC is the chance" in page  # the words of the figures, for a journalist


def test_the_model_section_and_summary_name_the_thresholds_for_photos_with_several_faces(uploaded, tiny_model):
    # a browser check: a group photo's verdict said 0.862, and the report's model section listed every threshold of
    # the card but that one
    import dataclasses

    from webapp import analyse_tab
    from webapp.cards import many_faces_summary
    from webapp.html_report import report_html

    tiers = [
        {"faces": 2, "threshold": 0.72, "uncertain": [0.4, 0.72]},
        {"faces": 8, "threshold": 0.9, "uncertain": [0.4, 0.9]},
        {"faces": 2, "below": 80, "threshold": 0.84, "uncertain": [0.4, 0.84]},
    ]
    card = dataclasses.replace(tiny_model.card, threshold=0.6, many_faces=tiers)
    said = many_faces_summary(card)
    assert "at full size 0.720 (2 faces) to 0.900 (8 or more)" in said and "with a face under 80 px 0.840" in said
    assert "<dt>Thresholds for photos with several faces</dt>" in report_html(uploaded, card)
    assert said in analyse_tab.card_markdown(card)
    assert many_faces_summary(tiny_model.card) is None  # a card without them: nothing said
