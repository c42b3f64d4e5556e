"""Something in front of the face (detector.inference.covers): a lower face covered by a flat shape is read as
covered, a bare one is not, a crop with no face gives None; the report says so where a covered face makes the
verdict, and not where the verdict is real."""

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
    return NS(label=label, threshold=0.6, uncertain=[0.4, 0.6], frames=frames, identities=ids, is_photo=photo)


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
