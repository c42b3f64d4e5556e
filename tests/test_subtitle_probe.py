"""scripts/subtitle_probe.py: captions burned into a clip where the face is, the pipeline as it was (text kept), and
its tables read back from JSON."""

import json

import numpy as np
import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def probe():
    return load_script("scripts/subtitle_probe.py", "subtitle_probe")


def test_a_captioned_clip_has_its_caption_over_the_face_in_every_frame(probe, tmp_path):
    import av

    from detector.data.synthetic import render_clip
    from detector.inference.faces import crop_face
    from detector.inference.overlays import text_lines
    from detector.inference.pipeline import face_detector

    src = render_clip(str(tmp_path / "face.mp4"), seconds=1, fps=8)
    face = probe.median_face(src, face_detector())
    assert face is not None and face[2] > 40
    out = probe.captioned(src, str(tmp_path / "captioned.mp4"), face, "outline", 0.1, 0.3, seconds=0.5)
    with av.open(out) as clip:
        frames = [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]
    assert len(frames) == 4  # the first half second of 8 frames a second
    cx, cy, side = face
    box = (cx - side / 2, cy - side / 2, side, side)
    assert all(text_lines(crop_face(f, box)) for f in frames)


def test_text_handled_each_way_and_undone(probe, tmp_path, tiny_model):
    import cv2
    from skimage import data

    from detector.data.synthetic import burn_caption
    from detector.inference import overlays
    from detector.inference.pipeline import analyze

    path = tmp_path / "captioned.png"
    image = burn_caption(data.astronaut(), "nobody expected the vote to go this way", 226, 151, 10.4, "outline")
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    faces = {}
    for how in probe.HOW:
        with probe.text_handled(how):
            faces[how] = analyze(str(path), model=tiny_model).faces[0]
    assert faces["kept"].text_over == 0 and faces[""].text_over > 0 and faces["painted"].text_over > 0
    assert np.array_equal(faces["kept"].crop, faces[""].crop)  # the picture as it is, found or not
    assert not np.array_equal(faces[""].crop, faces["painted"].crop)
    assert overlays.PAINT_TEXT is False and analyze(str(path), model=tiny_model).faces[0].text_over > 0  # undone
    assert probe.kinds_of(["outline"]) == ["outline_kept", "outline", "outline_painted"]


def test_the_tables_count_labels_and_changes(probe, tmp_path, capsys):
    cell = lambda score, label, text=0: {"score": score, "label": label, "text_frames": text}  # noqa: E731
    rows = [
        {"source": "ffpp", "method": "original", "video": "a.mp4", "label": 0, "as_is": cell(0.1, "real"),
         "outline_kept": cell(0.9, "fake"), "outline": cell(0.2, "real", 8)},
        {"source": "ffpp", "method": "original", "video": "b.mp4", "label": 0, "as_is": cell(0.1, "real"),
         "outline_kept": cell(0.3, "real"), "outline": cell(0.8, "uncertain", 8)},
    ]  # fmt: skip
    path = tmp_path / "probe.json"
    path.write_text(json.dumps({"frames": 32, "styles": ["outline"], "rows": rows}))
    assert probe.main(["--read", str(path)]) == 0
    out = capsys.readouterr().out
    assert "reals outline_kept fake   1" in out and "reals outline  fake   0  uncertain   1  real   1" in out
    assert "outline_kept: ffpp/original/a.mp4 0.100 real -> 0.900 fake" in out
    assert "clips with text found over a face 2" in out
    assert probe.verdict(float("nan"), 0.5, 0.3) == "unknown" and probe.verdict(0.4, 0.5, 0.3) == "uncertain"


def test_each_fill_covers_the_line_found_and_nothing_else(probe):
    from skimage import data

    from detector.data.synthetic import burn_caption
    from detector.inference.faces import crop_face
    from detector.inference.overlays import text_lines

    crop = crop_face(burn_caption(data.astronaut(), probe.LINES[1], 226, 151, 10.4, "outline"), (174, 68, 104, 104))
    (_, y0, _, y1), reach = text_lines(crop)[0], 2 * (text_lines(crop)[0][3] - text_lines(crop)[0][1])
    assert probe.fill(crop, "kept") is crop
    for how in probe.FILLS[1:]:
        out = probe.fill(crop, how)
        rows = np.nonzero(np.any(out != crop, axis=(1, 2)))[0]
        assert len(rows) and rows.min() >= y0 - reach and rows.max() <= y1 + reach, how
        assert not text_lines(out), how
