"""Perturbations: shape and dtype kept, strength 0 is the identity, and each one does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from detector.evaluation.perturb import LEVELS, PERTURBATIONS, make_transform


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:240, :320])  # RGB uint8, not square


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
@pytest.mark.parametrize("strength", [0.0, 0.3, 1.0])
def test_shape_dtype_and_input_untouched(image, name, strength):
    before = image.copy()
    out = PERTURBATIONS[name](image, strength, np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out is not image
    assert np.array_equal(image, before), "the input frame must not be modified"


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_strength_zero_is_identity(image, name):
    out = PERTURBATIONS[name](image, 0.0, np.random.default_rng(1))
    assert np.array_equal(out, image)


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_full_strength_changes_the_image(image, name):
    out = PERTURBATIONS[name](image, 1.0, np.random.default_rng(1))
    assert np.abs(out.astype(int) - image.astype(int)).mean() > 1.0


@pytest.mark.parametrize(
    "name", ["jpeg", "blur", "noise", "downscale", "contrast", "rotate", "dropout", "sepia", "warm"]
)
def test_stronger_means_further_from_the_original(image, name):
    diff = [
        np.abs(PERTURBATIONS[name](image, s, np.random.default_rng(1)).astype(int) - image).mean() for s in (0.2, 0.9)
    ]
    assert diff[1] > diff[0]


def test_flip_flips(image):
    out = PERTURBATIONS["hflip"](image, 1.0, None)
    assert np.array_equal(out, image[:, ::-1])
    assert np.array_equal(PERTURBATIONS["hflip"](out, 1.0, None), image)


def test_grayscale_has_equal_channels(image):
    out = PERTURBATIONS["grayscale"](image, 1.0, None)
    assert np.abs(out[..., 0].astype(int) - out[..., 1]).max() <= 1
    assert np.abs(out[..., 1].astype(int) - out[..., 2]).max() <= 1


def test_colour_filters_tint_the_picture(image):
    """The failure lab's colour filters: a real face with a sepia filter was called fake 36 times in 100."""
    r, g, b = PERTURBATIONS["sepia"](image, 1.0, None).reshape(-1, 3).astype(float).mean(0)
    assert r > g > b  # brown
    warmed = PERTURBATIONS["warm"](image, 1.0, None).astype(float)
    assert warmed[..., 0].mean() > image[..., 0].mean() and warmed[..., 2].mean() < 0.7 * image[..., 2].mean() + 1


def test_brightness_and_contrast_move_the_statistics(image):
    assert PERTURBATIONS["brightness"](image, 0.5, None).mean() > image.mean() + 30
    assert PERTURBATIONS["contrast"](image, 1.0, None).std() < 0.3 * image.std()


def test_dropout_blacks_out_a_share_of_the_frame(image):
    out = PERTURBATIONS["dropout"](image, 1.0, np.random.default_rng(3))
    black = np.all(out == 0, axis=2).mean() - np.all(image == 0, axis=2).mean()
    assert 0.05 < black <= 0.26


def test_random_perturbations_follow_the_seed(image):
    a = PERTURBATIONS["noise"](image, 0.5, np.random.default_rng(7))
    b = PERTURBATIONS["noise"](image, 0.5, np.random.default_rng(7))
    c = PERTURBATIONS["noise"](image, 0.5, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bad_strength_and_image_are_refused(image):
    with pytest.raises(ValueError):
        PERTURBATIONS["blur"](image, 1.5, None)
    with pytest.raises(ValueError):
        PERTURBATIONS["blur"](image[..., 0], 0.5, None)
    with pytest.raises(ValueError):
        make_transform("sharpen", 0.5)


def test_levels(image):
    assert set(LEVELS) == {"none", "fliprot", "heavy"}
    assert np.array_equal(LEVELS["none"](image), image)
    fliprot = LEVELS["fliprot"](image)
    # the flip dominates: the result is closer to the mirror image than to the original
    assert np.abs(fliprot.astype(int) - image[:, ::-1]).mean() < np.abs(fliprot.astype(int) - image).mean()
    heavy = LEVELS["heavy"](image, np.random.default_rng(0))
    assert heavy.shape == image.shape and heavy.dtype == np.uint8
    assert np.abs(heavy[..., 0].astype(int) - heavy[..., 2]).mean() < 3  # grayscale is last but noise comes before
    assert np.abs(heavy.astype(int) - image).mean() > 20


def test_make_transform_is_deterministic(image):
    a, b = make_transform("noise", 0.4, seed=5), make_transform("noise", 0.4, seed=5)
    assert np.array_equal(a(image), b(image))
    level = make_transform("heavy")
    assert level(image).shape == image.shape


def test_analyze_applies_the_transform(clips, tiny_model):
    from detector.inference.pipeline import analyze

    plain = analyze(clips["face"], frames=4, model=tiny_model, keep_frames=True)
    flipped = analyze(
        clips["face"], frames=4, model=tiny_model, keep_frames=True, transform=make_transform("hflip", 1.0)
    )
    assert [f.index for f in plain.frames] == [f.index for f in flipped.frames]
    for idx, img in plain.frame_images.items():
        assert np.array_equal(flipped.frame_images[idx], img[:, ::-1])
    # the face is still found, mirrored: its box moves to the other side of the frame
    w = plain.frame_images[plain.frames[0].index].shape[1]
    for a, b in zip(plain.frames, flipped.frames):
        if a.faces and b.faces:
            xa, _, wa, _ = a.faces[0].box
            xb, _, wb, _ = b.faces[0].box
            assert abs((xa + wa / 2) - (w - (xb + wb / 2))) < 0.1 * w


def test_a_perturbation_is_described_by_its_figures_at_the_strength_used(image):
    # found by a browser check: "jpeg at strength 0.70: JPEG re-compression (quality 95 -> 5)" was read as quality 5
    import cv2

    from detector.evaluation.perturb import PERTURBATIONS, describe_at, jpeg
    from webapp.lab import describe

    assert describe_at("jpeg", 0.7) == "JPEG re-compression at quality 32"
    assert describe("jpeg", 0.7) == "jpeg at strength 0.70: JPEG re-compression at quality 32"
    # the figure is the quality used: re-encoding at it gives the same frame
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 32])
    assert np.array_equal(jpeg(image, 0.7), cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    assert describe_at("rotate", 0.5) == "rotated by 15 degrees" and describe_at("blur", 0.0) == "unchanged"
    assert describe_at("downscale", 1.0) == "shrunk to 12% of its size and back"
    assert all(describe_at(n, 0.5) for n in PERTURBATIONS)  # every perturbation has its words


def test_every_perturbation_has_a_short_menu_label():
    # the app's menu cut long descriptions off under its arrow (a browser check); the slider's help gives figures
    from detector.evaluation.perturb import MENU_LABELS

    assert set(MENU_LABELS) == set(PERTURBATIONS)
    assert max(len(f"{n}: {label}") for n, label in MENU_LABELS.items()) <= 32
