"""Something in front of the face (detector.inference.covers): a lower face covered by a flat shape is read as
covered, a bare one is not, a crop with no face gives None; the report says so where a covered face makes the
verdict, and not where the verdict is real; under the card's threshold for covered faces such faces never make a
verdict fake on their own (report.with_covered), in the verdict, the tiles, the slider and the CSV alike."""

import cv2
import numpy as np
import pytest
from skimage import data

from detector.inference.covers import COVER_SHARE, COVERED_WARNING, covered_warning, lower_face_covered


@pytest.fixture(scope="module")
def face_crop():
    from detector.constants import FACE_MARGIN
    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import faces_in

    (face,) = faces_in(np.ascontiguousarray(data.astronaut()), FACE_MARGIN, FaceDetector())
    return face


def _covered(crop: np.ndarray, colour=(170, 200, 225)) -> np.ndarray:
    """``crop`` with a flat mask-like shape over its lower face (from 62% of the side down, the middle 60%)."""
    out = crop.copy()
    s = crop.shape[0]
    cv2.rectangle(out, (int(0.2 * s), int(0.62 * s)), (int(0.8 * s), int(0.9 * s)), colour, -1)
    return out


def test_a_covered_lower_face_reads_as_covered_and_a_bare_one_does_not(face_crop):
    bare = lower_face_covered(face_crop.crop)
    assert bare is not None and bare < COVER_SHARE
    for colour in ((170, 200, 225), (30, 30, 35), (150, 60, 40)):  # a light-blue mask, a dark microphone, a red cup
        covered = lower_face_covered(_covered(face_crop.crop, colour))
        assert covered is not None and covered > COVER_SHARE, colour
    assert lower_face_covered(np.full((160, 160, 3), 128, np.uint8)) is None  # no face: nothing to measure


def _report(label: str, faces_per_frame, photo: bool = False, identities=()):
    """A stand-in report: ``faces_per_frame`` lists (score, covered, identity) per face, per frame."""
    from types import SimpleNamespace as NS

    frames = [
        NS(faces=[NS(score=s, covered=c, identity=i) for s, c, i in fr], has_face=bool(fr)) for fr in faces_per_frame
    ]
    ids = [NS(identity=i, frames=n) for i, n in identities]
    return NS(
        label=label,
        threshold=0.6,
        uncertain=[0.4, 0.6],
        frames=frames,
        identities=ids,
        is_photo=photo,
        covered_threshold=None,
    )


def test_the_warning_counts_only_the_faces_the_verdict_rests_on():
    assert covered_warning(_report("fake", [[(0.9, 0.0, 0)]], True)) == ""  # bare
    assert covered_warning(_report("real", [[(0.9, 0.8, 0)]], True)) == ""  # a "real" verdict: nothing said
    assert covered_warning(_report("fake", [[(0.9, COVER_SHARE, 0)]], True)) == ""  # over the share only
    one = covered_warning(_report("fake", [[(0.9, 0.8, 0)]], True))
    assert one.startswith(COVERED_WARNING) and "on the face this verdict rests on" in one and "up to 80%" in one
    assert 'Read this "fake" as uncertain' in one  # the advice before the figures
    # a group photo called fake on a bare face: a covered face in the band is not what the verdict rests on
    assert covered_warning(_report("fake", [[(0.95, 0.0, 0), (0.5, 0.8, 1)]], True)) == ""
    assert "1 of the 2 faces" in covered_warning(_report("fake", [[(0.95, 0.0, 0), (0.7, 0.8, 1)]], True))
    # an uncertain verdict counts the band too
    unsure = covered_warning(_report("uncertain", [[(0.5, 0.8, 0)]], True))
    assert unsure.startswith(COVERED_WARNING) and "Covered real faces score high too" in unsure
    # a clip: frames of its main identity only (identity 1, seen once, is left out)
    clip = [[(0.9, 0.8, 0)], *[[(0.9, 0.0, 0)]] * 8, [(0.9, 0.0, 0), (0.9, 0.9, 1)], []]
    said = covered_warning(_report("fake", clip, identities=[(0, 10), (1, 1)]))
    assert "faces in 1 of the 10 frames" in said


def test_a_covered_face_over_the_threshold_is_said_and_a_real_verdict_is_left_alone(tmp_path, tiny_model, face_crop):
    from detector.inference.pipeline import analyze

    photo = np.ascontiguousarray(data.astronaut()).copy()
    x, y, w, h = face_crop.box
    cv2.rectangle(photo, (x + w // 6, y + int(0.62 * h)), (x + 5 * w // 6, y + h), (170, 200, 225), -1)
    path = tmp_path / "masked.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    fake = analyze(str(path), model=tiny_model, threshold=1e-9)  # every face over it
    assert fake.label == "fake"  # a warning only: the verdict stands
    assert fake.faces[0].covered > COVER_SHARE and fake.faces[0].to_dict()["covered"] > COVER_SHARE
    assert any(w.startswith(COVERED_WARNING) for w in fake.warnings)
    from webapp.verdict import relabel  # the app's slider: said again at each threshold

    assert not any(w.startswith(COVERED_WARNING) for w in relabel(fake, 1.0).warnings)  # now "real"
    assert any(w.startswith(COVERED_WARNING) for w in relabel(relabel(fake, 1.0), 1e-9).warnings)
    real = analyze(str(path), model=tiny_model, threshold=1.0)  # no face over it: nothing looked for, nothing said
    assert real.label == "real" and not any(w.startswith(COVERED_WARNING) for w in real.warnings)
    assert real.faces[0].covered == 0.0 and "covered" not in real.faces[0].to_dict()
    bare = tmp_path / "bare.png"
    cv2.imwrite(str(bare), cv2.cvtColor(np.ascontiguousarray(data.astronaut()), cv2.COLOR_RGB2BGR))
    assert not any(w.startswith(COVERED_WARNING) for w in analyze(str(bare), model=tiny_model, threshold=1e-9).warnings)


def test_a_tile_caption_says_which_face_looks_covered():
    from types import SimpleNamespace as NS

    from webapp.faces import COVER_NOTE, crop_note

    assert crop_note(NS(straightened=0.0, text_over=0.0, covered=0.8)) == COVER_NOTE
    assert crop_note(NS(straightened=0.0, text_over=0.0, covered=COVER_SHARE)) == ""
    assert crop_note(NS(straightened=0.0, text_over=0.0)) == ""  # a face from before the field


def _clip(faces, threshold=0.5, covered_threshold=0.9, photo=False):
    """A one-person report (a photo: one frame of ``faces``' first): per frame (score, covered share), each face
    ``covered_under`` as the pipeline marks it."""
    from detector.inference.report import FaceResult, FrameResult, summarise

    frames = []
    for i, (s, c) in enumerate(faces[:1] if photo else faces):
        under = covered_threshold is not None and c > COVER_SHARE and s < covered_threshold
        face = FaceResult(identity=0, box=(40, 30, 80, 90), confidence=0.9, score=s, covered=c, covered_under=under)
        frames.append(FrameResult(index=i, time=i * 0.3, faces=[face]))
    return summarise(
        "one.jpg" if photo else "clip.mp4",
        frames,
        threshold=threshold,
        uncertain=[0.3, threshold],
        covered_threshold=covered_threshold,
    )


@pytest.mark.parametrize(
    "faces, covered_threshold, label",
    [
        ([(0.8, 0.6)] * 8, 0.9, "uncertain"),  # covered, under the covered faces' threshold: not fake
        ([(0.95, 0.6)] * 8, 0.9, "fake"),  # over it: fake
        ([(0.8, 0.6)] * 8, None, "fake"),  # a card without one: a warning only, as before
        ([(0.8, 0.0)] * 8, 0.9, "fake"),  # bare
        ([(0.8, 0.6)] * 4 + [(0.8, 0.0)] * 4, 0.9, "fake"),  # the bare faces say fake on their own
        ([(0.8, 0.6)] * 4 + [(0.1, 0.0)] * 4, 0.9, "uncertain"),  # they do not
        ([(0.8, 0.6)] * 6 + [(0.8, 0.0)] * 2, 0.9, "uncertain"),  # too few bare faces to say
        ([(0.2, 0.6)] * 8, 0.9, "real"),  # under the band: covered or not
    ],
)
def test_covered_faces_under_their_threshold_never_make_a_clip_fake(faces, covered_threshold, label):
    from detector.inference.report import covered_made_uncertain
    from webapp.verdict import relabel, uncertain_html

    report = _clip(faces, covered_threshold=covered_threshold)
    assert report.label == label
    assert covered_made_uncertain(report) == (label == "uncertain" and report.score >= 0.5)
    said = [w for w in report.warnings if w.startswith(COVERED_WARNING)]
    if covered_made_uncertain(report):
        assert "a covered face is called fake only from 0.900" in said[0]
        assert "covered real faces score high" in uncertain_html(report) and "0.900" in uncertain_html(report)
    if label == "fake" and covered_threshold and said:
        assert "It stays fake" in said[0]
        if report.score >= 0.9:  # over the covered faces' own threshold, quoted as it is
            assert "the faces that look covered score over 0.900, the threshold for covered faces" in said[0]
        else:  # the bare faces carry it
            assert "the faces not covered call it fake on their own" in said[0]
    # the threshold slider judges the same way: at the card's threshold, and at one over the covered faces' (where
    # the score itself decides)
    assert relabel(report, 0.5, card_threshold=0.5, card_band=[0.3, 0.5]).label == label
    assert relabel(report, 0.97).label != "fake"  # every score here is under 0.97
    if label == "uncertain" and report.score >= 0.5:
        assert relabel(report, 0.3).label == "uncertain"  # lowered: still not fake on covered faces alone


def test_a_covered_photo_and_its_tile_are_uncertain_under_the_covered_threshold():
    from detector.inference.report import face_label, held_back
    from webapp.faces import face_word

    under = _clip([(0.8, 0.6)], photo=True)
    over = _clip([(0.95, 0.6)], photo=True)
    assert under.label == "uncertain" and over.label == "fake"
    for report, word in ((under, "uncertain"), (over, "fake")):
        f = report.faces[0]
        assert face_label(f.score, report.threshold, report.uncertain, None, held_back(f)) == word
        assert face_word(f.score, report.threshold, report.uncertain, None, held=held_back(f)) == word
    assert (
        under.to_dict()["covered_threshold"] == 0.9
        and "covered_threshold" not in _clip([(0.8, 0.6)], covered_threshold=None, photo=True).to_dict()
    )
    row = under.csv_rows()[0]
    assert row["covered"] == 0.6 and row["text_over"] == 0.0


def test_a_card_never_calls_a_covered_face_fake_more_readily_than_a_bare_one(tmp_path, tiny_model_dir):
    import json
    import shutil

    from detector.models.card import BadCardError, ModelCard

    shutil.copytree(tiny_model_dir, tmp_path / "m")
    path = tmp_path / "m" / "untrained_resnet18.json"
    raw = json.loads(path.read_text())
    raw["covered"] = {"threshold": 0.9, "uncertain": [0.4, 0.9]}
    path.write_text(json.dumps(raw))
    assert ModelCard.from_file(path).covered_threshold == 0.9
    raw["covered"] = {"threshold": 0.2}  # under the card's own 0.5
    path.write_text(json.dumps(raw))
    with pytest.raises((BadCardError, ValueError)):
        ModelCard.from_file(path)
    del raw["covered"]
    path.write_text(json.dumps(raw))
    assert ModelCard.from_file(path).covered_threshold is None


def test_the_pipeline_holds_a_covered_face_under_the_cards_covered_threshold(tmp_path, tiny_model_dir, face_crop):
    import json
    import shutil

    from detector.inference.pipeline import analyze
    from detector.models.classifier import load_model

    shutil.copytree(tiny_model_dir, tmp_path / "m")
    path = tmp_path / "m" / "untrained_resnet18.json"
    raw = json.loads(path.read_text())
    raw["covered"] = {"threshold": 0.999999}
    path.write_text(json.dumps(raw))
    model = load_model("untrained_resnet18", directory=tmp_path / "m")
    photo = np.ascontiguousarray(data.astronaut()).copy()
    x, y, w, h = face_crop.box
    cv2.rectangle(photo, (x + w // 6, y + int(0.62 * h)), (x + 5 * w // 6, y + h), (170, 200, 225), -1)
    masked = tmp_path / "masked.png"
    cv2.imwrite(str(masked), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    report = analyze(str(masked), model=model, threshold=1e-9)  # over a hand-set threshold, under the covered one
    assert report.faces[0].covered_under and report.label == "uncertain"
    assert any("a covered face is called fake only from" in w for w in report.warnings)
    bare = tmp_path / "bare.png"
    cv2.imwrite(str(bare), cv2.cvtColor(np.ascontiguousarray(data.astronaut()), cv2.COLOR_RGB2BGR))
    assert analyze(str(bare), model=model, threshold=1e-9).label == "fake"  # bare: the threshold alone
    # analysed where no face reaches the band, nothing is looked at; the slider moved down looks at the face then,
    # and holds it as the analysis would have (a review: a slider under the band met faces never measured)
    from webapp.verdict import relabel

    high = analyze(str(masked), model=model, threshold=1.0)
    assert high.label == "real" and not high.faces[0].covers_checked and not high.faces[0].covered_under
    low = relabel(high, 1e-9)
    assert high.faces[0].covers_checked and low.faces[0].covered_under and low.label == "uncertain"
    assert any(w.startswith(COVERED_WARNING) for w in low.warnings)


def test_the_failure_lab_says_a_verdict_changed_by_the_covered_faces_rule_not_by_the_score():
    from webapp.lab import compare_summary

    bare, covered = _clip([(0.8, 0.0)] * 8), _clip([(0.8, 0.6)] * 8)
    assert (bare.label, covered.label) == ("fake", "uncertain")
    said = compare_summary(bare, covered)
    assert "by the rule for covered faces" in said and "after the change only" in said and "flipped" not in said


def _faces_report(faces, threshold=0.5, covered_threshold=0.9, name="group.jpg"):
    """A report of one frame (a photo) or one face per frame (a clip) from explicit faces: (score, covered share,
    text_over, identity)."""
    from detector.inference.report import FaceResult, FrameResult, summarise

    def face(s, c, text, i):
        under = c > COVER_SHARE and s < covered_threshold
        return FaceResult(
            identity=i, box=(10 + 90 * i, 10, 80, 80), confidence=0.9, score=s, covered=c, covered_under=under,
            text_over=text,
        )  # fmt: skip

    if name.endswith(".jpg"):
        frames = [FrameResult(index=0, time=0.0, faces=[face(*f) for f in faces])]
    else:
        frames = [FrameResult(index=i, time=0.3 * i, faces=[face(*f)]) for i, f in enumerate(faces)]
    r = summarise(name, frames, threshold=threshold, uncertain=[0.3, threshold], covered_threshold=covered_threshold)
    from detector.inference.report import with_text_over

    r.label = with_text_over(r.label, r)  # as analyze does after summarise
    return r


def test_a_face_under_text_and_a_covered_one_never_carry_a_fake_for_each_other():
    # a review: each rule let the other's faces through (a photo of a face under text at 0.95 and a covered one at
    # 0.8 read "fake" while both tiles said "uncertain")
    from detector.inference.report import face_label, held_back, text_made_uncertain

    for text_score in (0.95, 0.85):
        r = _faces_report([(text_score, 0.0, 0.2, 0), (0.8, 0.6, 0.0, 1)])
        assert r.label == "uncertain" and text_made_uncertain(r)
        assert [face_label(f.score, r.threshold, r.uncertain, None, held_back(f)) for f in r.faces] == ["uncertain"] * 2
    # a bare face over the threshold carries it, whatever the others
    assert _faces_report([(0.7, 0.0, 0.0, 0), (0.8, 0.6, 0.0, 1), (0.95, 0.0, 0.2, 2)]).label == "fake"


def test_the_covers_line_says_why_a_fake_stands_and_quotes_the_covered_threshold():
    from webapp.verdict import relabel

    # the covered faces over their own threshold, the clip's score under it (bare frames low): they carry it
    clip = _faces_report([(0.95, 0.6, 0.0, 0)] * 3 + [(0.45, 0.0, 0.0, 0)] * 5, name="clip.mp4")
    said = [w for w in clip.warnings if w.startswith(COVERED_WARNING)]
    assert clip.label == "fake" and clip.score < 0.9
    assert "the faces that look covered score over 0.900" in said[0] and "faces not covered call it" not in said[0]
    # a hand-set threshold over the covered one: both are named, each for what it is
    photo = _faces_report([(0.97, 0.6, 0.0, 0)])
    moved = relabel(photo, 0.93)
    assert moved.label == "fake"
    line = next(w for w in moved.warnings if w.startswith(COVERED_WARNING))
    assert "over 0.900, the threshold for covered faces" in line and "the threshold 0.930 that judged it" in line


def test_a_temporal_models_sequence_label_follows_the_covered_faces_rule():
    from detector.inference.report import sequence_label

    covered = _clip([(0.8, 0.6)] * 8)
    assert sequence_label("fake", covered) == "uncertain"
    assert sequence_label("fake", _clip([(0.8, 0.0)] * 8)) == "fake"
    assert sequence_label("fake", _clip([(0.8, 0.6)] * 8, covered_threshold=None)) == "fake"


def test_the_html_report_says_why_a_covered_face_is_not_called_fake():
    from webapp.html_report import _band_text

    text = _band_text(_clip([(0.8, 0.6)] * 8))
    assert "look covered" in text and "0.900" in text and "as here, <b>uncertain</b>" in text
    assert "look covered" not in _band_text(_clip([(0.8, 0.0)] * 8))


def test_a_card_with_a_covered_threshold_set_at_another_share_or_not_an_object_is_refused(tmp_path, tiny_model_dir):
    import json
    import shutil

    from detector.models.card import BadCardError, ModelCard

    shutil.copytree(tiny_model_dir, tmp_path / "m")
    path = tmp_path / "m" / "untrained_resnet18.json"
    raw = json.loads(path.read_text())
    for bad in ({"threshold": 0.9, "share": 0.5}, [0.9], {"threshold": 0.9, "uncertain": [0.4, 0.8]}):
        raw["covered"] = bad
        path.write_text(json.dumps(raw))
        with pytest.raises((BadCardError, ValueError, TypeError)):
            ModelCard.from_file(path)


def test_the_model_summary_names_the_threshold_for_covered_faces():
    from detector.models.card import ModelCard
    from webapp.cards import covered_summary

    card = ModelCard.from_file("assets/models/mnv2_tightpad.json")
    assert card.covered_threshold is not None and f"{card.covered_threshold:.3f}" in covered_summary(card)
    assert covered_summary(ModelCard(name="x", architecture="resnet18", input_size=64)) is None


def test_the_fake_card_says_why_a_covered_face_is_still_called_fake():
    from webapp.verdict import fake_html

    stays = _clip([(0.95, 0.6)] * 8)
    assert stays.label == "fake" and "scores over the model's threshold for covered faces" in fake_html(stays)
    assert "threshold for covered faces" not in fake_html(_clip([(0.95, 0.0)] * 8))  # bare
    assert "threshold for covered faces" not in fake_html(_clip([(0.95, 0.6)] * 8, covered_threshold=None))


def test_a_round_trip_of_the_slider_under_the_band_leaves_the_verdict_as_it_was():
    # a review: the slider measured covers on faces the analysis never looked at (under its band); held back, such
    # low-scoring covered faces left too few free faces, and back at the model's threshold a "fake" became uncertain
    from detector.inference.report import with_covered

    clip = _clip([(0.35, 0.6)] * 6 + [(0.95, 0.0)] * 4)  # covered frames scoring low, bare frames high
    for f in clip.faces:
        f.covered_under = f.covered > COVER_SHARE and f.score < 0.9  # as the slider's check_covers marks them
    assert with_covered("fake", clip) == "fake"  # they make nothing fake at 0.5: not held back
    assert with_covered("fake", clip, 0.3) == "uncertain"  # at 0.3 they reach it, and too few faces are free
