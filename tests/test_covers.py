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


class _F:
    def __init__(self, covered):
        self.covered = covered


class _Fr:
    def __init__(self, *covered):
        self.faces = [_F(c) for c in covered]


def test_the_warning_names_where_the_covered_faces_are():
    assert covered_warning([_Fr(0.0)]) == "" and covered_warning([_Fr(COVER_SHARE)]) == ""  # over the share only
    one = covered_warning([_Fr(0.8)])
    assert one.startswith(COVERED_WARNING) and "on the face (up to 80%" in one
    assert "on 1 of the 2 faces" in covered_warning([_Fr(0.8, 0.1)])
    assert "faces in 2 of the 3 frames" in covered_warning([_Fr(0.5), _Fr(0.9), _Fr(0.0), _Fr()])


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
    real = analyze(str(path), model=tiny_model, threshold=1.0)  # no face over it: nothing looked for, nothing said
    assert real.label == "real" and not any(w.startswith(COVERED_WARNING) for w in real.warnings)
    assert real.faces[0].covered == 0.0 and "covered" not in real.faces[0].to_dict()
    bare = tmp_path / "bare.png"
    cv2.imwrite(str(bare), cv2.cvtColor(np.ascontiguousarray(data.astronaut()), cv2.COLOR_RGB2BGR))
    assert not any(w.startswith(COVERED_WARNING) for w in analyze(str(bare), model=tiny_model, threshold=1e-9).warnings)
