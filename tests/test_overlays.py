"""Text laid over a face is found, said, and never alone the ground of a "fake" (detector.inference.overlays,
report.with_text_over): burned-in captions across the chin made real clips "fake" (scripts/subtitle_probe.py)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from detector.data.synthetic import CAPTION_STYLES, burn_caption
from detector.inference.faces import crop_face
from detector.inference.overlays import face_in_crop, paint_out_text, text_lines, text_over, text_over_warning

LINE = "nobody expected the vote to go this way"
BOX = (174, 68, 104, 104)  # BlazeFace's box round the astronaut's face


def captioned(style: str, image: np.ndarray | None = None) -> np.ndarray:
    """The astronaut with a caption across her chin: a tenth of the face high, 0.3 face heights below its centre."""
    x, y, w, h = BOX
    return burn_caption(data.astronaut() if image is None else image, LINE, x + w / 2, y + 0.8 * h, 0.1 * h, style)


@pytest.mark.parametrize("style", [s for s in CAPTION_STYLES if s != "yellow"])
def test_a_caption_over_the_chin_is_found_in_the_crop(style):
    # (yellow letters with a soft shadow, no outline: their shadow is too faint over her pale skin for the caption
    # finder; the watermark search finds their light letters instead, docs/results.md "Watermarks over the face")
    crop = crop_face(captioned(style), BOX)
    lines = text_lines(crop)
    assert len(lines) == 1
    x0, y0, x1, y1 = lines[0]
    side = crop.shape[0]
    # across the crop (the caption is wider than the face: it runs to both sides), in its lower half, a line high
    assert x0 == 0 and x1 == side
    assert 0.5 * side < y0 < y1 < 0.9 * side and (y1 - y0) < 0.2 * side


def test_no_text_is_found_on_a_face_without_it_nor_on_a_few_words():
    assert text_lines(crop_face(data.astronaut(), BOX)) == []
    x, y, w, h = BOX
    short = burn_caption(data.astronaut(), "oh no", x + w / 2, y + 0.8 * h, 0.1 * h, "outline")  # 4 letters
    assert text_lines(crop_face(short, BOX)) == []
    assert text_lines(np.zeros((20, 20, 3), np.uint8)) == [] and text_lines(None) == []


@pytest.mark.parametrize(("style", "text", "at"), [("handle", "@dailyclips", 0.5), ("handle", "@dailyclips", 0.8)])
def test_a_watermark_across_the_face_is_found(style, text, at):
    # a platform's @handle, white at 85% over a soft shadow: no dark edge for the caption finder to hold on to
    x, y, w, h = BOX
    crop = crop_face(burn_caption(data.astronaut(), text, x + w / 2, y + at * h, 0.1 * h, style), BOX)
    lines = text_lines(crop, face_in_crop(BOX, 0.3))
    assert len(lines) == 1
    x0, y0, x1, y1 = lines[0]
    side = crop.shape[0]
    assert x1 - x0 > 0.35 * side and y1 - y0 < 0.2 * side
    assert y0 <= (0.3 + at) / 1.6 * side <= y1  # the line lies where it was drawn (the crop: 1.6 face sides)


def test_a_watermark_over_a_large_face_is_found_in_its_crop_shrunk():
    import cv2

    from detector.inference.overlays import WATERMARK_SIDE

    x, y, w, h = (v * 5 for v in BOX)
    big = cv2.resize(data.astronaut(), None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC)
    marked = burn_caption(big, "@dailyclips", x + w / 2, y + 0.5 * h, 0.1 * h, "handle")
    crop = crop_face(marked, (x, y, w, h))
    assert crop.shape[0] > 1.5 * WATERMARK_SIDE
    (x0, y0, x1, y1), side = text_lines(crop, face_in_crop((x, y, w, h), 0.3))[0], crop.shape[0]
    assert y0 <= 0.8 / 1.6 * side <= y1 and x1 - x0 > 0.35 * side  # in the crop's own pixels
    assert text_lines(crop_face(big, (x, y, w, h))) == []


@pytest.mark.parametrize("shade", [1.0, 0.6])
def test_an_agencys_name_at_half_strength_is_found_across_the_face(shade):
    # white at 50%, no edge: it lifts a face by half its distance from white, less over pale skin than dark
    x, y, w, h = BOX
    face = (data.astronaut() * shade).astype(np.uint8)
    marked = burn_caption(face, "NEWSWIRE", x + w / 2, y + 0.5 * h, 0.12 * h, "agency")
    assert len(text_lines(crop_face(marked, BOX), face_in_crop(BOX, 0.3))) == 1
    assert text_lines(crop_face(face, BOX)) == []


def test_light_shapes_in_a_row_are_a_watermark_only_as_strokes_standing_close():
    import cv2

    grey = np.full((300, 300, 3), 110, np.uint8)
    assert len(text_lines(burn_caption(grey, "NEWSWIRE", 150, 155, 30, "agency"))) == 1
    # the same letters far apart (a gap of more than 0.6 of their height) are not a word
    assert text_lines(burn_caption(grey, "N   E   W   S   W   I   R   E", 150, 155, 30, "agency")) == []
    # solid light blocks side by side (teeth, a row of highlights) are not strokes
    blocks = grey.copy()
    for i in range(8):
        cv2.rectangle(blocks, (40 + i * 28, 140), (62 + i * 28, 170), (230, 230, 230), -1)
    assert text_lines(blocks) == []


@pytest.mark.parametrize("size", [0.18, 0.2])
def test_a_watermark_beside_a_caption_does_not_lose_the_caption(size):
    # together their bars would cover more than a pattern's share of the crop; the caption alone is kept (a review)
    x, y, w, h = BOX
    caption = burn_caption(data.astronaut(), LINE, x + w / 2, y + 0.8 * h, size * h, "outline")
    both = burn_caption(caption, "@dailyclips", x + w / 2, y + 0.3 * h, size * h, "handle")
    face = face_in_crop(BOX, 0.3)
    alone = text_over(crop_face(caption, BOX), face)
    assert alone > 0 and text_over(crop_face(both, BOX), face) > 0
    assert len(text_lines(crop_face(both, BOX), face)) == 2  # both are found


def test_blotchy_texture_is_rarely_read_as_a_watermark():
    # light blotches in a row can pass for letters pair by pair; a line must keep to one height and one baseline
    import cv2

    held = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        grey = cv2.resize(rng.integers(60, 140, (200, 200), dtype=np.uint8), (400, 400))
        held += text_over(np.dstack([grey] * 3), (75, 75, 325, 325)) > 0
    assert held <= 2  # 2 of 20 (without the height and baseline checks: 4)
    assert text_lines(np.zeros((40, 40, 1), np.uint8)) == [] and text_over(np.zeros((40, 40, 1), np.uint8)) == 0.0


def test_painting_out_covers_the_text_and_leaves_the_rest_of_the_crop():
    clean = crop_face(data.astronaut(), BOX)
    same, share = paint_out_text(clean)
    assert same is clean and share == 0.0
    crop = crop_face(captioned("outline"), BOX)
    painted, share = paint_out_text(crop)
    assert 0.05 < share < 0.45
    assert text_lines(painted) == []
    _, y0, _, y1 = text_lines(crop)[0]
    changed = np.any(painted != crop, axis=2)
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.min() >= y0 - (y1 - y0) and rows.max() <= y1 + (y1 - y0)  # only the line's band changed
    assert np.array_equal(painted[: y0 - (y1 - y0)], crop[: y0 - (y1 - y0)])  # the eyes are as they were
    # covered by one flat bar of the colour round it (of the fills measured, it kept real faces' scores lowest)
    bar = np.unique(painted[changed], axis=0)
    assert len(bar) == 1
    rows_round = np.r_[rows.min() - 4 : rows.min(), rows.max() + 1 : rows.max() + 5]
    assert np.abs(bar[0].astype(int) - crop[rows_round].reshape(-1, 3).mean(axis=0)).max() < 30


def test_the_warning_says_where_text_was_found():
    from types import SimpleNamespace as NS

    face = lambda share: NS(text_over=share)  # noqa: E731
    assert text_over_warning([NS(faces=[face(0.0)])]) == ""
    said = text_over_warning([NS(faces=[face(0.18)])])
    assert "found on the face" in said and "18%" in said and "never make the verdict fake" in said
    assert "painted out" not in said and "means less" in said
    assert "2 of the 3 faces" in text_over_warning([NS(faces=[face(0.1), face(0.0), face(0.2)])])
    video = [NS(faces=[face(0.1)]), NS(faces=[face(0.0)]), NS(faces=[]), NS(faces=[face(0.2)])]
    assert "faces in 2 of the 3 frames" in text_over_warning(video)


def test_a_captioned_photo_and_clip_are_judged_as_they_are_and_their_text_said(tmp_path, tiny_model, monkeypatch):
    import cv2

    from detector.data.synthetic import render_clip
    from detector.inference.pipeline import analyze
    from webapp.faces import crop_note

    path = tmp_path / "captioned.png"
    cv2.imwrite(str(path), cv2.cvtColor(captioned("social"), cv2.COLOR_RGB2BGR))
    report = analyze(str(path), model=tiny_model)
    (face,) = report.faces
    assert 0.05 < face.text_over < 0.45 and text_lines(face.crop)  # the model was given the picture as it is
    assert report.to_dict()["frames"][0]["faces"][0]["text_over"] == round(face.text_over, 3)
    (row,) = report.csv_rows()  # the CSV says so too, per face (an archive team reads the CSV)
    assert row["text_over"] == round(face.text_over, 3) > 0
    assert any(w.startswith("Text laid over the face") for w in report.warnings)
    assert "text laid over it" in crop_note(face)
    # measured, not shipped: the text painted out with a flat bar before judging (overlays.PAINT_TEXT)
    from detector.inference import overlays

    monkeypatch.setattr(overlays, "PAINT_TEXT", True)
    painted = analyze(str(path), model=tiny_model)
    assert painted.faces[0].text_over > 0 and text_lines(painted.faces[0].crop) == []
    assert any("painted out with a flat bar" in w for w in painted.warnings)
    monkeypatch.setattr(overlays, "PAINT_TEXT", False)
    plain = analyze(render_clip(str(tmp_path / "plain.mp4"), seconds=1, fps=8), model=tiny_model, frames=4)
    assert not any(f.text_over for f in plain.faces) and not any(w.startswith("Text laid") for w in plain.warnings)
    assert "text_over" not in plain.to_dict()["frames"][0]["faces"][0] and crop_note(plain.faces[0]) == ""
    # a clip: the caption moves with the picture (panned and zoomed), and is found in its frames
    clip = render_clip(str(tmp_path / "captioned.mp4"), seconds=1, fps=8, source=captioned("outline"))
    report = analyze(clip, model=tiny_model, frames=4)
    assert sum(f.text_over > 0 for f in report.faces) >= 3
    assert any("faces in" in w and "frames" in w for w in report.warnings if w.startswith("Text laid"))


def test_the_compare_views_crops_at_other_margins_carry_the_text_found(tmp_path, monkeypatch):
    import cv2

    from detector.inference.pipeline import faces_at, frames_and_faces
    from detector.inference.video import Limits

    path = tmp_path / "captioned.png"
    cv2.imwrite(str(path), cv2.cvtColor(captioned("outline"), cv2.COLOR_RGB2BGR))
    from detector.inference import overlays

    for paint in (False, True):  # (painted: measured, not shipped)
        monkeypatch.setattr(overlays, "PAINT_TEXT", paint)
        found = frames_and_faces(str(path), frames=None, fps=None, limits=Limits(), margin=0.3, margins=(0.3, 0.5))
        for margin in (0.3, 0.5):
            (face,) = faces_at(found, margin)[1][0].faces
            assert face.text_over > 0 and bool(text_lines(face.crop)) != paint
            if not paint:  # found in this margin's own square (each margin was given the analysis margin's before)
                assert not face.straightened
                assert face.text_over == pytest.approx(overlays.text_over(face.crop, face_in_crop(face.box, margin)))


def _clip(scores_and_text, threshold=0.5, text_threshold=None):
    """A one-person clip's report: per frame (score, text_over); with ``text_threshold``, as analyze makes it where
    the model card sets a threshold for faces under text."""
    from detector.inference.report import FaceResult, FrameResult, clear_text, summarise

    frames = [
        FrameResult(
            index=i,
            time=i * 0.3,
            faces=[FaceResult(identity=0, box=(40, 30, 80, 90), confidence=0.9, score=s, text_over=t)],
        )
        for i, (s, t) in enumerate(scores_and_text)
    ]
    r = summarise("clip.mp4", frames, threshold=threshold, uncertain=[0.3, threshold], text_threshold=text_threshold)
    clear_text(r)
    return r


@pytest.mark.parametrize(
    "frames, label",
    [
        ([(0.9, 0.0)] * 8, "fake"),  # no text: as the score says
        ([(0.9, 0.2)] * 8, "uncertain"),  # every face under text: never fake on them alone
        ([(0.9, 0.2)] * 4 + [(0.9, 0.0)] * 4, "fake"),  # the faces free of text say fake on their own
        ([(0.9, 0.2)] * 4 + [(0.1, 0.0)] * 4, "uncertain"),  # they do not
        ([(0.9, 0.2)] * 5 + [(0.9, 0.0)] * 3, "uncertain"),  # too few to say
        ([(0.9, 0.2)] * 12 + [(0.9, 0.0)] * 5, "uncertain"),  # under half its faces: text missed in a few captioned
        ([(0.2, 0.2)] * 8, "real"),  # under the band: text or not
    ],
)
def test_faces_under_text_alone_never_make_a_clip_fake(frames, label):
    from detector.inference.report import text_free_score, text_made_uncertain, with_text_over
    from webapp.verdict import relabel, uncertain_html

    report = _clip(frames)
    report.label = with_text_over(report.label, report)
    assert report.label == label
    if label == "uncertain" and report.score >= 0.5:
        assert text_made_uncertain(report)
    assert text_made_uncertain(report) == (label == "uncertain" and report.score >= 0.5)
    if text_made_uncertain(report):
        said = uncertain_html(report)
        assert "text laid over them" in said
        free = text_free_score(report)  # nan: too few faces free of text to judge on their own
        assert ("Too few of its frames" in said) == (free != free) and ("do not call it fake" in said) == (free == free)
    # the threshold slider judges the same way; lowered far, a clip under text is still not fake on it alone
    assert relabel(report, 0.5, card_threshold=0.5, card_band=[0.3, 0.5]).label == label
    if any(t for _, t in frames) and label != "fake":
        assert relabel(report, 0.15).label == "uncertain"


def test_the_sliders_threshold_judges_the_faces_free_of_text_too():
    from detector.inference.report import text_made_uncertain, with_text_over
    from webapp.verdict import relabel

    report = _clip([(0.9, 0.2)] * 4 + [(0.4, 0.0)] * 4)
    report.label = with_text_over(report.label, report)
    assert report.label == "uncertain" and text_made_uncertain(report)
    assert relabel(report, 0.35).label == "fake"  # at 0.35 the faces free of text say fake on their own


def test_each_person_is_judged_by_their_own_faces_free_of_text():
    from detector.inference.report import FaceResult, FrameResult, summarise, with_text_over

    def clip(second_score, second_frames=8):
        frames = []
        for i in range(8):
            faces = [FaceResult(identity=0, box=(10, 10, 80, 80), confidence=0.9, score=0.95, text_over=0.2)]
            if i < second_frames:
                faces.append(FaceResult(identity=1, box=(200, 10, 80, 80), confidence=0.9, score=second_score))
            frames.append(FrameResult(index=i, time=0.3 * i, faces=faces))
        r = summarise("two.mp4", frames, threshold=0.5, uncertain=[0.3, 0.5])
        return with_text_over(r.label, r)

    assert clip(0.9) == "fake"  # the person free of text is fake on their own
    assert clip(0.1) == "uncertain"  # only the person under text scores over the threshold
    assert clip(0.9, second_frames=1) == "uncertain"  # a face seen once is no main identity: it cannot carry it


def test_a_photo_is_judged_by_its_faces_free_of_text():
    from detector.inference.report import FaceResult, FrameResult, summarise, with_text_over

    def photo(second_score):
        faces = [
            FaceResult(identity=0, box=(10, 10, 80, 80), confidence=0.9, score=0.95, text_over=0.2),
            FaceResult(identity=1, box=(200, 10, 80, 80), confidence=0.9, score=second_score),
        ]
        r = summarise("group.jpg", [FrameResult(index=0, time=0.0, faces=faces)], threshold=0.5, uncertain=[0.3, 0.5])
        return with_text_over(r.label, r)

    assert photo(0.9) == "fake" and photo(0.1) == "uncertain"
    # one face, under text: the reason says so as of a photo (a browser check: "seen often enough" of a photo)
    from webapp.verdict import uncertain_html

    face = FaceResult(identity=0, box=(10, 10, 80, 80), confidence=0.9, score=0.95, text_over=0.2)
    r = summarise("one.jpg", [FrameResult(index=0, time=0.0, faces=[face])], threshold=0.5, uncertain=[0.3, 0.5])
    r.label = with_text_over(r.label, r)
    assert r.label == "uncertain" and "No face in the photo was free of text." in uncertain_html(r)


def test_a_face_under_text_is_never_labelled_fake_on_its_own():
    from detector.inference.report import face_label
    from webapp.faces import faces_text, score_said
    from webapp.lab import _pair_caption_note

    assert face_label(0.9, 0.5, [0.3, 0.5]) == "fake" and face_label(0.9, 0.5, [0.3, 0.5], held=0.2) == "uncertain"
    assert face_label(0.1, 0.5, [0.3, 0.5], held=0.2) == "real"
    assert score_said(0.9, 0.5, [0.3, 0.5], held=0.2).endswith("(uncertain)")
    report = _clip([(0.9, 0.2)] * 8)
    assert "face 0 0.90 (uncertain)" in faces_text(report.frames[0].faces, 0.5, [0.3, 0.5])
    # the failure lab's pair: said where text was found on one side only
    a, b = report.frames[0].faces[0], _clip([(0.9, 0.0)]).frames[0].faces[0]
    assert _pair_caption_note(a, b) == " · text found before only"
    assert _pair_caption_note(b, a) == " · text found after only"
    assert _pair_caption_note(a, a) == " · text laid over it" and _pair_caption_note(b, None) == ""


def test_only_text_crossing_the_face_is_painted_and_a_pattern_is_not_text():
    from detector.inference.overlays import face_in_crop

    x, y, w, h = BOX
    crop = crop_face(captioned("outline"), BOX)
    face = face_in_crop(BOX, 0.3)
    assert face == pytest.approx(
        (len(crop) / 2 - w / 2, len(crop) / 2 - h / 2, len(crop) / 2 + w / 2, len(crop) / 2 + h / 2), abs=1
    )
    assert paint_out_text(crop, face)[1] > 0
    # a line below the chin, in the square's margin (a T-shirt's print, a name under a portrait): left as it is
    below = burn_caption(data.astronaut(), LINE, x + w / 2, y + h + 0.1 * h, 0.08 * h, "outline")
    crop = crop_face(below, BOX)
    assert text_lines(crop) and text_lines(crop, face) == [] and paint_out_text(crop, face)[1] == 0.0
    # a checked pattern over the whole square (a shirt): rows of like shapes, but covering most of it
    check = np.zeros((512, 512, 3), np.uint8)
    for i in range(0, 512, 32):
        for j in range(0, 512, 32):
            if (i + j) // 32 % 2:
                check[i + 4 : i + 28, j + 4 : j + 28] = 255
    assert text_lines(check)  # found as rows of letters...
    same, share = paint_out_text(check)
    assert same is check and share == 0.0  # ...but not painted: they would cover most of the square


def test_a_tilted_head_with_a_level_caption_is_found_in_its_upright_crop(tmp_path, tiny_model, monkeypatch):
    # a review: looked for in the turned square, where the picture's level caption lies aslant, it was missed from
    # 15 degrees on
    import cv2
    from test_straighten import tilted_astronaut

    from detector.inference.pipeline import analyze, face_detector

    image = cv2.cvtColor(cv2.imread(tilted_astronaut(tmp_path, -30)), cv2.COLOR_BGR2RGB)
    (found,) = face_detector().detect(image)
    x, y, w, h = found.box
    path = tmp_path / "tilted_captioned.png"
    captioned_tilted = burn_caption(image, LINE, x + w / 2, y + 0.8 * h, 0.1 * h, "outline")
    cv2.imwrite(str(path), cv2.cvtColor(captioned_tilted, cv2.COLOR_RGB2BGR))
    (face,) = analyze(str(path), model=tiny_model).faces
    assert abs(face.straightened) > 20 and 0.05 < face.text_over < 0.45
    from detector.inference import overlays

    monkeypatch.setattr(overlays, "PAINT_TEXT", True)  # painted (measured): the bar lies aslant, as the text does
    (face,) = analyze(str(path), model=tiny_model).faces
    painted = np.any(face.crop == face.crop[face.crop.shape[0] * 3 // 4, face.crop.shape[1] // 2], axis=2)
    rows = np.nonzero(painted.mean(axis=1) > 0.2)[0]  # the bar crosses the crop aslant, as the caption lies in it
    assert len(rows) > 0.3 * face.crop.shape[0]


def test_training_crops_are_cut_as_the_picture_holds_them(tmp_path):
    # a review: detect_faces (the crop cache, masks, ranges) went through the same painting
    from detector.inference.pipeline import detect_faces
    from detector.inference.video import SampledFrame

    frame = SampledFrame(index=0, time=0.0, image=captioned("outline"))
    ((face,),) = detect_faces([frame])
    assert face.text_over == 0.0 and text_lines(face.crop)


def test_a_captioned_photo_over_the_threshold_is_uncertain_and_the_plain_one_fake(tmp_path, tiny_model):
    import cv2

    from detector.inference.pipeline import analyze

    for name, image, label in (("plain", data.astronaut(), "fake"), ("captioned", captioned("outline"), "uncertain")):
        path = tmp_path / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        report = analyze(str(path), model=tiny_model, threshold=1e-9)  # every face over it
        assert report.label == label


def test_a_temporal_models_sequence_label_follows_the_text_rule():
    # a review: the sequence head's "fake" on tracks under text was left as it was
    from detector.inference.report import with_text_over  # analyze applies the frame level's rule to it

    under = _clip([(0.9, 0.2)] * 8)
    assert with_text_over("fake", under) == "uncertain"
    assert with_text_over("real", under) == "real"
    assert with_text_over("fake", _clip([(0.9, 0.0)] * 8)) == "fake"  # no text: as it was
    assert with_text_over("fake", _clip([(0.9, 0.2)] * 4 + [(0.9, 0.0)] * 4)) == "fake"


def test_a_temporal_models_sequence_label_follows_the_stretch_rule():
    # a sequence "real" over a clip whose frames score strongly fake for a stretch was left "real" (the frame label
    # was "uncertain"); analyze puts the sequence label through sequence_label
    from detector.inference.report import sequence_label

    stretch = _clip([(0.95, 0.0)] * 6 + [(0.05, 0.0)] * 26)  # 6 of 32 frames over 0.8 in a row
    assert stretch.label == "uncertain"  # the frame level's rule
    assert sequence_label("real", stretch) == "uncertain"
    assert sequence_label("fake", stretch) == "fake"
    calm = _clip([(0.95, 0.0)] * 2 + [(0.05, 0.0)] * 30)  # too short a run to count
    assert sequence_label("real", calm) == "real"
    assert sequence_label("fake", _clip([(0.9, 0.2)] * 8)) == "uncertain"  # and the text rule, as before


@pytest.mark.parametrize(
    "frames, tier, label",
    [
        ([(0.9, 0.2)] * 8, 0.8, "fake"),  # every face under text, over the threshold for such faces: fake
        ([(0.9, 0.2)] * 8, 0.95, "uncertain"),  # under it: never fake on them alone
        ([(0.9, 0.2)] * 8, None, "uncertain"),  # a card without one: never
        ([(0.9, 0.2)] * 4 + [(0.89, 0.2)] * 4, 0.88, "fake"),  # the clip's score reaches it
        # four faces over it, but the clip's score (0.875) is not: the threshold was set on clips' scores (a review)
        ([(0.9, 0.2)] * 4 + [(0.85, 0.2)] * 4, 0.88, "uncertain"),
        ([(0.2, 0.2)] * 8, 0.8, "real"),  # under the band: text or not
    ],
)
def test_faces_under_text_make_a_fake_from_the_cards_threshold_for_them(frames, tier, label):
    from detector.inference.report import face_label, held_back, text_made_uncertain, with_text_over
    from webapp.verdict import fake_html, relabel, uncertain_html

    report = _clip(frames, text_threshold=tier)
    report.label = with_text_over(report.label, report)
    assert report.label == label and report.text_threshold == tier
    assert ("text_threshold" in report.to_dict()) == (tier is not None)
    said = text_over_warning(report.frames, report)
    assert ("never make the verdict fake" in said) == (tier is None)
    assert (tier is None) or f"only from {tier:.3f}" in said
    # every face's tile says what the verdict says: "fake" only where it is, "uncertain" under text where it is not
    tiles = {face_label(f.score, 0.5, [0.3, 0.5], held=held_back(f)) for f in report.faces}
    assert tiles == ({"fake"} if label == "fake" else {"uncertain"} if label == "uncertain" else {"real"})
    assert all(f.text_cleared == (label == "fake") for f in report.faces)
    if label == "uncertain" and tier is not None:
        assert text_made_uncertain(report) and f"fake from {tier:.3f}" in uncertain_html(report)
        assert relabel(report, 0.15).label == "uncertain"  # lowered, a face under text is judged at its own
        assert relabel(report, 0.6).label == "uncertain"  # between the card's threshold and the one for text
    if label == "fake":
        assert "threshold for faces under text" in fake_html(report)
        s = report.score
        assert relabel(report, (s + tier) / 2).label == "fake"  # raised, between the threshold for text and the score
        assert relabel(report, min(0.99, s + 0.05)).label != "fake"  # over the score
        assert relabel(report, 0.15).label == "fake"  # lowered: the threshold for text still reached


def test_a_face_under_text_and_covered_is_judged_at_the_covered_faces_threshold_too():
    from detector.inference.report import (
        FaceResult,
        FrameResult,
        clear_text,
        covered_made_uncertain,
        summarise,
        with_covered,
        with_text_over,
    )

    face = FaceResult(identity=0, box=(10, 10, 80, 80), confidence=0.9, score=0.9, text_over=0.2)
    face.covered, face.covered_under = 0.5, True  # read as covered, under the covered faces' threshold (0.95)
    r = summarise(
        "one.jpg",
        [FrameResult(index=0, time=0.0, faces=[face])],
        threshold=0.5,
        uncertain=[0.3, 0.5],
        covered_threshold=0.95,
        text_threshold=0.8,
    )
    clear_text(r)
    assert face.text_cleared  # over the threshold for text: the text does not hold it back
    r.label = with_covered(with_text_over("fake", r), r)
    assert r.label == "uncertain" and covered_made_uncertain(r)  # but the cover does


def test_a_cards_threshold_for_faces_under_text_is_never_below_its_own():
    from detector.models.card import ModelCard, _check_numbers

    card = ModelCard(
        name="m", architecture="resnet18", input_size=64, threshold=0.6, text_over={"threshold": 0.9, "rule": "r"}
    )
    _check_numbers(card)
    assert card.text_threshold == 0.9
    from webapp.cards import text_summary  # the app's model panel says it

    assert "called fake only from 0.900" in text_summary(card)
    with pytest.raises(ValueError):
        _check_numbers(
            ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, text_over={"threshold": 0.5})
        )
    with pytest.raises(TypeError):
        _check_numbers(ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6, text_over=[0.9]))
    bare = ModelCard(name="m", architecture="resnet18", input_size=64, threshold=0.6)
    _check_numbers(bare)
    assert bare.text_threshold is None and bare.text_over == {} and text_summary(bare) is None


def test_a_captioned_photo_is_fake_only_over_the_cards_threshold_for_faces_under_text(
    tmp_path, tiny_model, monkeypatch
):
    import cv2

    from detector.inference.pipeline import analyze

    path = tmp_path / "captioned.png"
    cv2.imwrite(str(path), cv2.cvtColor(captioned("outline"), cv2.COLOR_RGB2BGR))
    first = analyze(str(path), model=tiny_model, cam=None)
    assert any(f.text_over for f in first.faces)
    s = first.score
    monkeypatch.setattr(tiny_model.card, "threshold", s - 0.02)  # over the card's threshold
    monkeypatch.setattr(tiny_model.card, "uncertain", [s - 0.1, s - 0.02])
    for tier, label in ((None, "uncertain"), (s + 0.01, "uncertain"), (s - 0.01, "fake")):
        monkeypatch.setattr(tiny_model.card, "text_over", {"threshold": tier} if tier else {})
        report = analyze(str(path), model=tiny_model, cam=None)
        assert report.label == label, (tier, report.score)
        assert report.to_dict().get("text_threshold") == tier
        (said,) = [w for w in report.warnings if w.startswith("Text laid over the face")]
        assert ("never make the verdict fake" in said) == (tier is None)
        faces = report.to_dict()["frames"][0]["faces"]
        assert any(f.get("text_cleared") for f in faces) == (label == "fake")  # said in the JSON
