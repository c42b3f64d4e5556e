"""A tilted head is cut turned upright (quality.straighten_by, faces.crop_face's roll): 200 held-out real photos tilted
by 30-40 degrees were called fake four to five times as often as upright (scripts/tilted_photos_probe.py)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from detector.inference.faces import crop_face, crop_inside
from detector.inference.quality import SIDEWAYS_DEG, STRAIGHTEN_MIN_DEG, roll_degrees, straighten_by


def eyes(degrees: float, centre=(200.0, 150.0), apart: float = 60.0) -> list[tuple[float, float]]:
    """Keypoints whose eye line reads ``degrees`` (roll_degrees), about ``centre``."""
    dx, dy = apart / 2 * math.cos(math.radians(degrees)), apart / 2 * math.sin(math.radians(degrees))
    (cx, cy) = centre
    return [(cx - dx, cy - dy), (cx + dx, cy + dy), (cx, cy + 20)]


@pytest.mark.parametrize(
    "degrees, straightened",
    [(0, False), (STRAIGHTEN_MIN_DEG - 2, False), (20, True), (-35, True), (SIDEWAYS_DEG - 1, True), (70, False)],
)
def test_only_a_tilt_between_the_cuts_is_straightened(degrees, straightened):
    # nearly upright: cut as it is; on its side: a photo's to turn whole, a video's to be warned of
    assert roll_degrees(eyes(degrees)) == pytest.approx(degrees)
    assert straighten_by(eyes(degrees)) == (pytest.approx(degrees) if straightened else 0.0)
    assert straighten_by(None) == 0.0 and straighten_by([]) == 0.0


@pytest.mark.parametrize("degrees", [25.0, -30.0])
def test_a_square_cut_turned_by_the_tilt_puts_the_eyes_level(degrees):
    image = np.zeros((300, 400, 3), np.uint8)
    for x, y in eyes(degrees)[:2]:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    box = (150, 100, 100, 100)  # centred on the eyes' midpoint (200, 150)
    flat = crop_face(image, box)
    turned = crop_face(image, box, roll=degrees)
    assert turned.shape == flat.shape

    def eye_rows(crop):
        grey = crop[..., 0] > 128
        half = crop.shape[1] // 2
        return [np.nonzero(grey[:, :half])[0].mean(), np.nonzero(grey[:, half:])[0].mean()]

    left, right = eye_rows(flat)
    assert abs(left - right) > 20  # tilted as cut before
    left, right = eye_rows(turned)
    assert abs(left - right) < 2  # level in the turned square


def test_the_part_of_a_turned_square_inside_the_picture():
    assert crop_inside((150, 100, 100, 100), 400, 300, 0.3, roll=20.0) is None  # well inside: all of it
    near = crop_inside((5, 100, 100, 100), 400, 300, 0.3, roll=20.0)  # its square runs past the left edge
    flat = crop_inside((5, 100, 100, 100), 400, 300, 0.3)
    assert near is not None and flat is not None
    assert 0 < near[0] < 0.5 and near[2] == pytest.approx(1.0) and near[0] == pytest.approx(flat[0], abs=0.1)


def tilted_astronaut(tmp_path, degrees: float) -> str:
    """The astronaut's photo turned by ``degrees`` on a canvas twice its size, its edges drawn outwards."""
    bgr = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    big = cv2.copyMakeBorder(bgr, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)
    m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), degrees, 1.0)
    path = tmp_path / f"tilted{degrees:g}.png"
    cv2.imwrite(str(path), cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE))
    return str(path)


def test_a_tilted_face_is_judged_on_an_upright_crop_and_the_report_says_so(tmp_path, tiny_model):
    from detector.inference.faces import FaceDetector
    from detector.inference.pipeline import analyze

    upright = analyze(tilted_astronaut(tmp_path, 0), model=tiny_model)
    (face,) = upright.faces
    assert face.straightened == 0.0 and "straightened" not in face.to_dict()
    upright_side = face.box[2]
    report = analyze(tilted_astronaut(tmp_path, -30), model=tiny_model)
    (face,) = report.faces
    assert face.straightened == pytest.approx(30, abs=8)  # turned clockwise: the eye line reads about 30
    assert report.to_dict()["frames"][0]["faces"][0]["straightened"] == round(face.straightened, 1)
    detector = FaceDetector()
    try:
        (again,) = detector.detect(np.ascontiguousarray(face.crop))
        (tilted,) = detector.detect(cv2.cvtColor(cv2.imread(tilted_astronaut(tmp_path, -30)), cv2.COLOR_BGR2RGB))
    finally:
        detector.close()
    assert abs(roll_degrees(again.keypoints)) < STRAIGHTEN_MIN_DEG  # the crop the model saw holds it upright
    # and cut round the upright face's box: BlazeFace's box round the tilted face is smaller (90 px against 104)
    assert abs(face.box[2] - upright_side) < abs(tilted.box[2] - upright_side)
    centre = np.array(face.box[:2]) + np.array(face.box[2:]) / 2
    assert np.abs(centre - (np.array(tilted.box[:2]) + np.array(tilted.box[2:]) / 2)).max() < 0.15 * tilted.box[2]


def test_a_turned_square_whose_corners_alone_leave_the_picture_counts_as_inside():
    # a review: the whole square was given as its inside part, which read as "past the picture's edge" with nothing
    # marked; a corner or two of mirrored padding is no edge to warn of
    assert crop_inside((25, 100, 100, 100), 400, 300, 0.3) is None
    assert crop_inside((25, 100, 100, 100), 400, 300, 0.3, roll=30.0) is None


def test_embeddings_of_faces_cut_otherwise_are_not_reused():
    # a review: the temporal heads' embedding cache kept rows of tilted faces cut as they lay
    from detector.data.crops import VIDEO_CUT
    from detector.training.temporal import TemporalConfig, faces_key

    assert faces_key(TemporalConfig())["cut"] == VIDEO_CUT


def test_a_turned_squares_inside_matches_the_whole_pictures_mask():
    # crop_inside(roll=) warped a mask of the whole picture for each tilted face; it now warps the part the square
    # reaches: the same answer, checked against the whole picture's mask
    import cv2

    from detector.inference.faces import crop_box, turned_square

    def whole(box, fw, fh, margin, roll):
        _, _, side = crop_box(box, fw, fh, margin)
        inside = cv2.warpAffine(
            np.ones((fh, fw), np.uint8), turned_square(box, side, roll), (side, side), flags=cv2.INTER_NEAREST
        )
        rows, cols = np.flatnonzero(inside.mean(axis=1) >= 0.5), np.flatnonzero(inside.mean(axis=0) >= 0.5)
        if inside.all() or (len(rows) == side and len(cols) == side):
            return None
        if not len(rows) or not len(cols):
            return (0.0, 0.0, 0.0, 0.0)
        return (cols[0] / side, rows[0] / side, (cols[-1] + 1) / side, (rows[-1] + 1) / side)

    rng = np.random.default_rng(0)
    for _ in range(300):
        fw, fh, bw = int(rng.integers(50, 700)), int(rng.integers(50, 700)), int(rng.integers(8, 300))
        box = (int(rng.integers(-bw, fw)), int(rng.integers(-bw, fh)), bw, int(bw * rng.uniform(0.8, 1.3)))
        roll, margin = float(rng.uniform(-45, 45)), float(rng.choice([0.0, 0.3, 0.5]))
        assert crop_inside(box, fw, fh, margin, roll) == whole(box, fw, fh, margin, roll), (box, fw, fh, margin, roll)
