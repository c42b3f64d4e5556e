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


def _inside(mask, pts, idx) -> bool:
    """Whether the mean of landmarks ``idx`` lies inside ``mask``."""
    x, y = np.round(pts[list(idx)].mean(0)).astype(int)
    return bool(mask[y, x] > 0)


def test_region_masks_cover_their_part_only(crop, landmarks):
    from detector.training.sbi import LEFT_EYE, LIPS, NOSE, NOSE_TIP, REGIONS, RIGHT_EYE

    blender = SelfBlender(seed=0, regions=1.0)
    face = blender._hull_mask(crop.shape[:2], landmarks).sum()
    chin = (152,)  # FaceMesh's lowest point of the chin
    expect = {  # part -> (landmark sets inside its mask, sets outside)
        "mouth": ([LIPS], [LEFT_EYE, RIGHT_EYE, (168,)]),  # 168: the bridge of the nose
        "lower face": ([LIPS, chin], [LEFT_EYE, RIGHT_EYE]),
        "eyes": ([LEFT_EYE, RIGHT_EYE], [LIPS, chin]),
        "nose": ([NOSE, (NOSE_TIP,)], [LIPS, chin, LEFT_EYE, RIGHT_EYE]),
    }
    assert set(expect) == set(REGIONS)
    for region, (inside, outside) in expect.items():
        for _ in range(5):  # every draw of the margin
            mask, side = blender._region_mask(crop.shape[:2], landmarks, region)
            # the parts are far smaller than the face; the lower face, cheeks and jaw included, still smaller
            assert 4 <= side < max(crop.shape[:2]) and 0 < mask.sum() < (0.95 if region == "lower face" else 0.3) * face
            assert all(_inside(mask, landmarks, idx) for idx in inside), region
            assert not any(_inside(mask, landmarks, idx) for idx in outside), region
    with pytest.raises(ValueError, match="region is one of"):
        blender._region_mask(crop.shape[:2], landmarks, "ears")


def test_region_blends_change_a_part_of_the_face(crop, landmarks):
    whole = [SelfBlender(seed=s).blend(crop, landmarks)[1] for s in range(8)]
    parts = [SelfBlender(seed=s, regions=1.0).blend(crop, landmarks)[1] for s in range(8)]
    area = lambda masks: np.median([(m > 0).sum() for m in masks])  # noqa: E731
    assert area(parts) < 0.6 * area(whole)  # a part of the face, not all of it
    for fake_mask in parts:
        assert fake_mask.max() > 0  # the soft edge scales with the part: a small part is not erased
    far = far_from_face(crop, landmarks, 0.2)  # still nothing far from the face changes
    for s in range(8):
        fake, mask = SelfBlender(seed=s, regions=1.0).blend(crop, landmarks)
        assert np.array_equal(fake[far], crop[far]) and np.array_equal(fake[mask == 0], crop[mask == 0])


def test_no_regions_blends_as_before():
    """regions=0 (the default) draws nothing more: twelve blends in a row are byte for byte those of the blender
    before parts of the face existed (the checksum was taken from that code, commit 78c0de0, on the same inputs)."""
    import hashlib

    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    t = np.linspace(0, 2 * np.pi, N_LANDMARKS, endpoint=False)
    r = np.linspace(0.1, 1.0, N_LANDMARKS)
    pts = np.stack([48 + 30 * r * np.cos(7 * t), 50 + 36 * r * np.sin(7 * t)], 1).astype(np.float32)
    for blender in (SelfBlender(seed=11), SelfBlender(seed=11, regions=0.0)):
        h = hashlib.sha256()
        for _ in range(12):
            fake, mask = blender.blend(crop, pts)
            h.update(fake.tobytes())
            h.update(mask.tobytes())
        assert h.hexdigest() == "82fddd3fb8b95d1fc19b7d161dd36d0c0c14fb9b39ca811b6cf93756daaea645"
    with pytest.raises(ValueError, match="between 0 and 1"):
        SelfBlender(regions=1.5)
