"""Self-blended pseudo-fakes on the astronaut's face (skimage, public domain)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detector.training.sbi import BLEND_RATIOS, N_LANDMARKS, SelfBlender


@pytest.fixture(scope="module")
def crop():
    from skimage import data

    from detector.inference.faces import FaceDetector, crop_face

    image = data.astronaut()
    detector = FaceDetector()
    faces = detector.detect(image)
    detector.close()
    assert faces, "BlazeFace should find the astronaut's face"
    return crop_face(image, faces[0].box)


def far_from_face(crop, pts, fraction):
    import cv2

    hull = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    distance = cv2.distanceTransform(1 - hull, cv2.DIST_L2, 5)
    return distance > fraction * max(crop.shape[:2])


@pytest.fixture(scope="module")
def blender():
    with SelfBlender(seed=0) as b:
        yield b


@pytest.fixture(scope="module")
def landmarks(blender, crop):
    return blender.landmarks(crop)


def test_landmarks(blender, crop):
    pts = blender.landmarks(crop)
    assert pts.shape == (N_LANDMARKS, 2) and pts.dtype == np.float32
    h, w = crop.shape[:2]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    assert inside.mean() > 0.95
    # the face sits in the middle of a crop with a 30% margin
    cx, cy = pts.mean(0)
    assert abs(cx - w / 2) < 0.15 * w and abs(cy - h / 2) < 0.2 * h


@pytest.mark.parametrize("seed", range(6))
def test_blend_changes_only_the_face(crop, landmarks, seed):
    out = SelfBlender(seed=seed).blend(crop, landmarks)  # given landmarks: FaceMesh is not even created
    assert out is not None
    fake, mask = out
    assert fake.shape == crop.shape and fake.dtype == np.uint8
    assert mask.shape == crop.shape[:2] and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert any(abs(mask.max() - r) < 1e-3 for r in BLEND_RATIOS)

    diff = np.abs(fake.astype(np.int16) - crop.astype(np.int16)).sum(-1)
    inside = mask >= 0.5 * mask.max()
    assert inside.mean() > 0.1  # the face is a good part of the crop
    assert (diff[inside] > 0).mean() > 0.5 and diff[inside].mean() > 2  # the face changed
    assert np.array_equal(fake[mask == 0], crop[mask == 0])  # nothing else did
    # far outside the face (over a fifth of the crop from the landmarks' hull): bit for bit the input
    far = far_from_face(crop, landmarks, 0.2)
    assert far.sum() > 0.03 * far.size
    assert np.array_equal(fake[far], crop[far])


def test_given_landmarks_and_seed_reproduce(crop, landmarks):
    a = SelfBlender(seed=7).blend(crop, landmarks=landmarks)
    with SelfBlender(seed=7) as blender:
        b = blender.blend(crop)  # finds the landmarks itself
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = SelfBlender(seed=8).blend(crop, landmarks=landmarks)
    assert not np.array_equal(a[1], c[1])


def test_no_face_gives_none():
    plain = np.full((200, 200, 3), 128, np.uint8)
    plain[50:150, 50:150] = (30, 90, 160)
    with SelfBlender(seed=0) as b:
        assert b.landmarks(plain) is None
        assert b.blend(plain) is None


def test_pickles_for_dataloader_workers(blender, crop):
    blender.landmarks(crop)  # FaceMesh created
    clone = pickle.loads(pickle.dumps(blender))
    assert clone.landmarks(crop).shape == (N_LANDMARKS, 2)
    clone.close()


def test_rejects_non_rgb_uint8(blender, crop):
    with pytest.raises(ValueError):
        blender.blend(crop.astype(np.float32))
    with pytest.raises(ValueError):
        blender.landmarks(crop[..., 0])
