"""scripts/reframe_probe.py and scripts/reencode_probe.py: the layouts a feed shows a clip in, the frames' centres,
and the probes' tables read back from their JSON."""

import json

import numpy as np
import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def reframe():
    return load_script("scripts/reframe_probe.py", "reframe_probe")


def test_each_layout_keeps_the_face_and_fills_the_rest_as_a_feed_does(reframe):
    frame = np.full((480, 854, 3), 200, np.uint8)
    frame[:, :427] = 100  # the face's side, left of centre
    black = reframe.reframe(frame, "pillar_black", (200, 240))
    assert black.shape == (480, 854, 3)
    column = black[:, (854 - 270) // 2 : (854 - 270) // 2 + 270]  # a 9:16 column round x = 200: 65..335, all 100
    assert (column == 100).all() and (black[:, :290] == 0).all() and (black[:, -290:] == 0).all()
    blur = reframe.reframe(frame, "pillar_blur", (200, 240))
    assert (blur[:, 292:562] == 100).all() and 0 < blur[:, :200].mean() < 100  # the sides: the column, dimmed
    box = reframe.reframe(frame, "letterbox", (427, 60))  # a 2.39:1 band, clamped at the top
    ys = (480 - 358) // 2
    assert (box[:ys] == 0).all() and (box[ys : ys + 358] == frame[:358]).all() and (box[ys + 358 :] == 0).all()
    pip = reframe.reframe(frame, "pip", (427, 240))
    assert pip.shape == (720, 1280, 3) and (pip[0, 0] == (22, 30, 58)).all()
    tall = reframe.reframe(np.full((1280, 720, 3), 9, np.uint8), "pip", (360, 640))  # a vertical clip fits (it did not)
    assert tall.shape == (720, 1280, 3) and (tall[24 : 24 + 672, -24 - 378 : -24] == 9).all()
    with pytest.raises(ValueError, match="unknown layout"):
        reframe.reframe(frame, "sideways", (0, 0))


def test_the_column_follows_the_face_smoothly_and_frames_without_one_take_the_nearest(reframe):
    class Face:
        def __init__(self, x):
            self.box = (x, 100, 50, 50)

    class Detector:
        def __init__(self, xs):
            self.xs = iter(xs)

        def detect(self, image):
            x = next(self.xs)
            return [] if x is None else [Face(x)]

    class Frame:
        image = None

    xs = [None, 100, 100, 400, 100, 100, None]  # one stray detection, two frames without a face
    centres = reframe.face_centres([Frame()] * len(xs), Detector(xs))
    assert [c[0] for c in centres] == [125.0] * 7  # the median over 5 frames: the stray one does not move it
    assert reframe.face_centres([Frame()] * 2, Detector([None, None])) is None


def test_the_tables_are_read_back_from_the_json(reframe, tmp_path, capsys):
    cell = {"score": 0.9, "label": "fake", "faces": 4, "framed": 0}
    real = {"source": "ffpp", "video": "1.mp4", "label": 0, "original": cell, "as_is": cell, "pip": cell}
    fake = dict(real, video="2.mp4", label=1, pip=dict(cell, label="uncertain", score=0.5))
    path = tmp_path / "probe.json"
    path.write_text(json.dumps({"frames": 8, "layouts": ["pip"], "rows": [real, fake]}))
    assert reframe.main(["--read", str(path)]) == 0
    out = capsys.readouterr().out
    assert "real  pip                1         0     0       0   0.900" in out
    assert "fake  pip                0         1     0       0   0.500" in out
    assert "called fake: ffpp/1.mp4 0.9" in out  # a real clip called fake is named


def test_the_reencode_probe_counts_label_changes_by_the_reports_own_warning(tmp_path, capsys):
    probe = load_script("scripts/reencode_probe.py", "reencode_probe")
    assert probe.rule_score("confident", [[0.1] * 20 + [0.9] * 12]) == pytest.approx((2 + 10.8) / 32)
    assert probe.rule_score("confident", [[0.1] * 19 + [0.9] * 13]) == pytest.approx(0.9)  # the 40% jump
    assert np.isnan(probe.rule_score("mean", []))

    def row(label, before, after, warned):
        report = lambda s, w: {"score": s, "threshold": 0.666, "warned": w}  # noqa: E731
        return {
            "source": "ffpp", "video": f"{label}{before}.mp4", "method": "original", "label": label, "fold": 0,
            "as_is": [[before] * 8], "reencoded": [[after] * 8],
            "as_is_report": report(before, warned), "reencoded_report": report(after, False),
        }  # fmt: skip

    rows = [row(0, 0.7, 0.5, True), row(1, 0.9, 0.95, False), row(1, 0.6, 0.7, True), row(0, 0.1, 0.1, False)]
    path = tmp_path / "probe.json"
    thresholds = {"confident": {"0": 0.666}, "mean": {"0": 0.666}}
    path.write_text(json.dumps({"crf": 23, "frames": 8, "thresholds": thresholds, "rows": rows}))
    assert probe.main(["--read", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warned: 2 of 2 changed label (reals 1 of 1)" in out and "not warned: 0 of 2 changed label" in out
    assert "called fake as_is: reals 1 warned of 1, fakes 0 warned of 1" in out
    assert "clips changing label (fake / not fake): 2 of 4 (reals 1, fakes 1)" in out
