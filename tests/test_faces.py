"""Faces: BlazeFace finds the astronaut, crops are square with margin, tracking keeps identities."""

import numpy as np
import pytest

from detector.inference.faces import Face, FaceDetector, crop_box, crop_face, crop_inside, iou, track


@pytest.fixture(scope="module")
def detector():
    d = FaceDetector()
    yield d
    d.close()


def test_finds_the_astronaut(detector):
    from skimage import data

    faces = detector.detect(data.astronaut())
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.box
    # her face is around x 170-260, y 50-160 in the 512x512 image
    assert 140 < x + w / 2 < 290 and 60 < y + h / 2 < 170 and 50 < w < 160
    assert f.confidence > 0.7
    assert len(f.keypoints) == 6
    # eyes are above the mouth
    assert f.keypoints[0][1] < f.keypoints[3][1]


def test_no_face_on_plain_image(detector):
    assert detector.detect(np.full((240, 320, 3), 120, np.uint8)) == []


def test_crop_square_with_margin_and_padding():
    img = np.full((100, 200, 3), 7, np.uint8)
    crop = crop_face(img, (180, 10, 40, 20), margin=0.5)  # runs off the right edge
    assert crop.shape == (60, 60, 3)
    assert (crop[:, -5:] == 0).all()  # padded black outside the frame
    assert (crop[20:40, 10:20] == 7).all()
    x, y, side = crop_box((10, 10, 40, 20), 200, 100, margin=0.3)
    assert side == 52 and (x, y) == (4, -6)


def test_crop_inside_is_the_share_of_the_square_within_the_picture():
    assert crop_inside((40, 40, 20, 20), 100, 100, 0.5) is None  # square 30-60 x 35-65: all inside
    x0, y0, x1, y1 = crop_inside((0, 40, 20, 20), 100, 100, 1.0)  # square -10..30 wide, 30..70 high
    assert (x0, y0, x1, y1) == (0.25, 0.0, 1.0, 1.0)
    image = np.full((100, 100, 3), 200, np.uint8)
    crop = crop_face(image, (0, 40, 20, 20), 1.0)
    assert (crop[:, :10] == 0).all() and (crop[:, 10:] == 200).all()  # the black quarter is the part outside
    assert crop_inside((90, 90, 20, 20), 100, 100, 0.0) == (0.0, 0.0, 0.5, 0.5)


def test_track_links_moving_face_and_keeps_two_people_apart():
    def face(x):
        return Face(box=(x, 50, 40, 40), confidence=0.9, keypoints=[])

    frames = [[face(10), face(150)], [face(15), face(152)], [], [face(20), face(149)], [face(400)]]
    n = track(frames)
    assert [f.identity for f in frames[0]] == [0, 1]
    assert [f.identity for f in frames[1]] == [0, 1]
    assert [f.identity for f in frames[3]] == [0, 1]  # across a frame with no face
    assert frames[4][0].identity == 2 and n == 3
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


def test_track_numbers_new_faces_left_to_right():
    # found by review: on a photo of two people the detector's most confident face (the right-hand one) was face 0
    def face(x, confidence):
        return Face(box=(x, 50, 40, 40), confidence=confidence, keypoints=[])

    frames = [[face(300, 0.99), face(20, 0.7)], [face(302, 0.99), face(22, 0.7), face(150, 0.8)]]
    assert track(frames) == 3
    # the left-hand person is face 0; each frame lists its faces by number (a review: a group photo's caption,
    # gallery and CSV read 1, 2, 0, 3, the detector's order)
    assert [(f.identity, f.box[0]) for f in frames[0]] == [(0, 20), (1, 300)]
    assert [(f.identity, f.box[0]) for f in frames[1]] == [(0, 22), (1, 302), (2, 150)]  # a face first seen later
    # comes after, wherever it stands


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A busy picture: coloured noise blurred a little, as skin, hair and clothes are busy at 8 px."""
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (3, 3), 0)


def test_an_inner_pictures_edge_is_found_where_flat_ground_lies_beyond_it():
    from detector.inference.faces import inner_picture

    crop = np.full((130, 130, 3), 200, np.uint8)  # a page around a portrait whose edges fall in the face's crop
    crop += np.random.default_rng(1).normal(0, 4, crop.shape).clip(-10, 10).astype(np.uint8)  # a scan's light noise
    crop[12:120, 20:112] = _texture(108, 92)
    assert inner_picture(crop, (25, 20, 80, 90)) == (20, 12, 112, 120)
    left_only = crop.copy()
    left_only[:, 112:] = _texture(130, 18, 2)  # busy beyond the right edge: another photo, not ground
    left_only[:12], left_only[120:] = _texture(12, 130, 3), _texture(10, 130, 4)
    assert inner_picture(left_only, (25, 20, 80, 90)) == (20, 0, 130, 130)


def test_a_thin_strip_of_noisy_ground_beyond_a_small_portraits_edge_counts_as_ground():
    # a collage of 48 px portraits on a lightly noisy grey: the face fills its portrait, so its crop holds only 2-8 px
    # of ground beyond each edge; judged over 8 px blocks the noise read as texture, a grey strip stayed in 4 crops of
    # 10 and those real faces scored about as fake as a plain border makes them (14-15% of such collages called fake)
    from detector.inference.faces import inner_picture

    rng = np.random.default_rng(3)
    crop = np.clip(rng.normal(120, 8, (58, 58, 3)), 0, 255).astype(np.uint8)  # the collage's ground
    crop[3:52, 6:55] = _texture(49, 49)  # the portrait: 3 px of ground above, 6 below, 6 left, 3 right
    assert inner_picture(crop, (9, 7, 42, 42)) == (6, 3, 55, 52)
    busy = crop.copy()
    busy[:, 55:] = _texture(58, 3, 5)  # 3 px of another picture beyond the right edge: not ground
    busy[:3] = _texture(3, 58, 6)
    assert inner_picture(busy, (9, 7, 42, 42)) == (6, 0, 58, 52)
    assert inner_picture(_texture(58, 58), (9, 7, 42, 42)) is None  # no ground anywhere: as it was
    two = np.clip(rng.normal(120, 8, (58, 58, 3)), 0, 255).astype(np.uint8)
    two[3:52, 6:56] = _texture(49, 50)  # the portrait 1 px wider: 2 px of ground beyond its right edge
    assert inner_picture(two, (9, 7, 42, 42)) == (6, 3, 56, 52)  # found beside the sure edges


def test_a_portrait_filling_its_square_with_thin_ground_all_round_is_an_inner_picture():
    # the smallest collage portraits leave only 2-3 px of the ground on every side of their face's square, with no
    # surer edge beside them: found where two sides or more hold the same ground, not where their colours differ
    from detector.inference.faces import inner_picture

    rng = np.random.default_rng(5)
    crop = np.clip(rng.normal(120, 8, (54, 54, 3)), 0, 255).astype(np.uint8)
    crop[3:51, 2:51] = _texture(48, 49, 8)  # 3 px of ground above and to the right, 2 to the left, 3 below
    assert inner_picture(crop, (8, 7, 40, 40)) == (2, 3, 51, 51)
    two_grounds = crop.copy()
    two_grounds[:, :2] = 30  # the left strip another colour: no one ground round the picture
    two_grounds[:3] = 220
    two_grounds[51:] = 220
    two_grounds[:, 51:] = 30
    assert inner_picture(two_grounds, (8, 7, 40, 40)) is None


def test_a_straight_edge_with_only_two_pixels_of_plain_wall_beyond_it_is_no_inner_picture():
    # a review: a face by a door frame, the plain wall 2 px beyond it at the crop's side, was taken for a collage's
    # portrait (and said so); 2-3 px of ground count only beside a sure edge with more
    from detector.inference.faces import inner_picture

    rng = np.random.default_rng(4)
    crop = np.clip(rng.normal(200, 3, (120, 120, 3)), 0, 255).astype(np.uint8)  # a plain wall
    crop[:, :118] = _texture(120, 118)  # the room and the person, up to the door frame's straight edge
    assert inner_picture(crop, (20, 15, 80, 90)) is None


def test_a_picture_with_no_inner_edge_is_left_as_it_is():
    from detector.inference.faces import inner_picture

    assert inner_picture(_texture(130, 130), (25, 20, 80, 90)) is None  # busy everywhere
    flat_face = np.full((130, 130, 3), 90, np.uint8)
    flat_face[40:90, 40:90] = 200  # a step, but inside the face box and not along its whole span
    assert inner_picture(flat_face, (25, 20, 80, 90)) is None
    assert inner_picture(np.zeros((20, 20, 3), np.uint8), (2, 2, 5, 5)) is None  # a face box too small to judge


def test_mirror_outside_fills_past_the_edge_with_the_inside_reflected():
    from detector.inference.faces import mirror_outside

    crop = np.zeros((50, 50, 3), np.uint8)
    inner = _texture(30, 20)
    crop[10:40, 20:40] = inner
    out = mirror_outside(crop, (20, 10, 40, 40))
    assert out.shape == crop.shape and np.array_equal(out[10:40, 20:40], inner)
    assert np.array_equal(out[10:40, 19], inner[:, 1]) and np.array_equal(out[10:40, 40], inner[:, -2])
    assert np.array_equal(out[9, 20:40], inner[1]) and out[:10].any() and out[:, :20].any()  # no black left
