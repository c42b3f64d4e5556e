"""explain/: Grad-CAM maps and their faithfulness figures, on small UNTRAINED nets (64 px).

Untrained nets say nothing about where a real model looks; these tests check the
plumbing and the definitions: shapes, ranges, the fake-class target, the figures'
arithmetic, that hooks do not pile up, and that the pipeline fills FaceResult.cam.
"""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from detector.errors import InputError
from detector.models import registry as architectures
from detector.models.card import ModelCard
from detector.models.classifier import Classifier
from explain import METHODS, Explanation, explain_faces, overlay
from explain.cam import cached_methods, cam_for
from explain.faithfulness import face_box, face_mass, probability_drops, top_mask

SIZE = 64  # smallest size at which every architecture still has a 2 x 2 CAM (coatnet_0 runs from 32 px up)
FIGURES = {"score", "drop_blur", "drop_remove", "face_mass", "face_area"}


def _classifier(arch: str) -> Classifier:
    torch.manual_seed(0)
    # MesoNet's dense layer is sized for its 256-px input (its 1/64 downsampling leaves 1 x 1 at 64 px)
    # (Inception-ResNet-V2's valid-padding stem needs 107 px for a 2 x 2 map: its min_size)
    entry = architectures.get(arch)
    size = entry.default_size if getattr(entry, "fixed_size", False) else max(SIZE, entry.min_size)
    net = architectures.build(arch, num_classes=2, size=size)
    return Classifier(ModelCard(name=f"untrained_{arch}", architecture=arch, input_size=size), net)


@pytest.fixture(scope="module", params=sorted(architectures.REGISTRY))
def classifier(request) -> Classifier:
    return _classifier(request.param)


@pytest.fixture(scope="module")
def resnet() -> Classifier:
    return _classifier("resnet18")


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    """The astronaut's face (square, as crop_face makes), a random square and a non-square crop."""
    from skimage import data

    face = np.ascontiguousarray(data.astronaut()[20:250, 130:360])  # 230 x 230
    rng = np.random.default_rng(0)
    return [face, rng.integers(0, 256, (90, 90, 3), dtype=np.uint8), rng.integers(0, 256, (70, 100, 3), dtype=np.uint8)]


def _hooks(layer: nn.Module) -> int:
    return len(layer._forward_hooks) + len(layer._forward_pre_hooks) + len(layer._backward_hooks)


def _check(exps: list[Explanation], crops, clf: Classifier) -> None:
    assert len(exps) == len(crops)
    expected_scores = clf.predict(crops)
    face_area = (1 / (1 + clf.card.face_margin)) ** 2
    for exp, crop, expected in zip(exps, crops, expected_scores):
        assert exp.cam.shape == crop.shape[:2]
        assert exp.cam.dtype == np.float32
        assert np.isfinite(exp.cam).all()
        assert exp.cam.min() >= 0.0 and exp.cam.max() <= 1.0
        figs = exp.figures()
        assert set(figs) == FIGURES
        json.dumps(figs)  # JSON-able
        assert figs["score"] == pytest.approx(float(expected), abs=1e-3)  # the CAM pass scores like predict()
        assert figs["face_area"] == pytest.approx(face_area, abs=0.03)
        if exp.cam.max() > 0:  # an all-zero map (possible on an untrained net) marks nothing: figures are None
            # (MesoNet's 4 x 4 map at 256 px, resized to the crop, peaks a little under 1)
            tol = 0.02 if getattr(architectures.get(clf.card.architecture), "fixed_size", False) else 1e-3
            assert exp.cam.max() == pytest.approx(1.0, abs=tol)
            assert -1.0 <= figs["drop_blur"] <= 1.0
            if figs["drop_remove"] is not None:  # only with removal=True
                assert -1.0 <= figs["drop_remove"] <= 1.0
            assert 0.0 <= figs["face_mass"] <= 1.0
        else:
            assert figs["drop_blur"] is None and figs["face_mass"] is None


def test_every_architecture(classifier, crops):
    exps = explain_faces(classifier, crops, method="gradcam", batch_size=2, removal=True)  # 2 batches: 2 + 1
    _check(exps, crops, classifier)
    if not getattr(architectures.get(classifier.card.architecture), "fixed_size", False):
        # (an untrained MesoNet, ReLU then BatchNorm, may find only negative evidence: an empty map is right there)
        assert any(e.cam.max() > 0 for e in exps), "every Grad-CAM map came out empty"


def test_removal_figure_only_when_asked(classifier, crops):
    with_removal = explain_faces(classifier, crops[:1], removal=True)[0].figures()
    default = explain_faces(classifier, crops[:1])[0].figures()
    assert default["drop_remove"] is None
    assert default["drop_blur"] == pytest.approx(with_removal["drop_blur"], abs=1e-5)
    if with_removal["drop_blur"] is not None:
        assert with_removal["drop_remove"] is not None


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_on_resnet18(resnet, crops, method):
    exps = explain_faces(resnet, crops, method=method)
    _check(exps, crops, resnet)
    assert all(e.method == method for e in exps)


def test_target_is_the_fake_logit(resnet, crops):
    """Swapping the class order flips the target: the map of 'fake' then differs (same weights)."""
    swapped = Classifier(
        ModelCard(name="swapped", architecture="resnet18", input_size=SIZE, classes=["fake", "real"]), resnet.net
    )
    a = explain_faces(resnet, crops[:1], method="hirescam", faithfulness=False)[0]
    b = explain_faces(swapped, crops[:1], method="hirescam", faithfulness=False)[0]
    assert a.score == pytest.approx(1 - b.score, abs=1e-5)
    assert not np.allclose(a.cam, b.cam, atol=1e-3)


def test_repeated_calls_add_no_hooks_and_reuse_the_cam(resnet, crops):
    layer = resnet.cam_layer()
    before = _hooks(layer)
    all_before = sum(_hooks(m) for m in resnet.net.modules())
    explain_faces(resnet, crops[:2])
    cam = cam_for(resnet, "gradcam")
    explain_faces(resnet, crops[:2])
    explain_faces(resnet, crops[:2], method="layercam")
    assert _hooks(layer) == before == 0
    assert sum(_hooks(m) for m in resnet.net.modules()) == all_before
    assert cam_for(resnet, "gradcam") is cam  # one CAM object per (classifier, method)
    assert {"gradcam", "layercam"} <= set(cached_methods(resnet))
    assert cam.outputs is None and cam.activations_and_grads.activations == []  # no graph or tensors kept
    assert all(p.grad is None for p in resnet.net.parameters())
    resnet.predict(crops)  # a plain forward pass after CAMs records nothing
    assert cam.activations_and_grads.activations == []


def test_hooks_ignore_other_threads(resnet, crops):
    cam = cam_for(resnet, "gradcam")
    recorder = cam.activations_and_grads
    with recorder.recording():
        t = threading.Thread(target=resnet.predict, args=(crops,))
        t.start()
        t.join()
        assert recorder.activations == []


def test_works_inside_inference_mode(resnet, crops):
    with torch.inference_mode():
        exps = explain_faces(resnet, crops[:1])
    assert exps[0].cam.shape == crops[0].shape[:2]


def test_without_faithfulness(resnet, crops):
    figs = explain_faces(resnet, crops[:1], faithfulness=False)[0].figures()
    assert figs["drop_blur"] is None and figs["drop_remove"] is None and figs["face_mass"] is None
    assert 0.0 <= figs["score"] <= 1.0


def test_bad_input(resnet, crops):
    assert explain_faces(resnet, []) == []
    with pytest.raises(InputError, match="unknown CAM method"):
        explain_faces(resnet, crops, method="nonsense")
    with pytest.raises(InputError, match="not an RGB image"):
        explain_faces(resnet, [np.zeros((10, 10), dtype=np.uint8)])


# ---------------------------------------------------------------- the figures' definitions


def test_top_mask_takes_exactly_the_top_fraction():
    cams = np.random.default_rng(1).random((2, 10, 10)).astype(np.float32)
    mask = top_mask(cams, 0.2)
    assert mask.sum(axis=(1, 2)).tolist() == [20, 20]
    for cam, m in zip(cams, mask):
        assert cam[m].min() >= cam[~m].max()


def test_face_mass():
    side = 130  # a 100 px face box with margin 0.3
    assert face_box(side, side, 0.3) == (15, 115, 15, 115)
    inside = np.zeros((side, side), np.float32)
    inside[15:115, 15:115] = 1
    assert face_mass(inside, 0.3) == (1.0, pytest.approx(100 * 100 / side**2))
    assert face_mass(1 - inside, 0.3)[0] == 0.0
    flat = np.ones((side, side), np.float32)
    assert face_mass(flat, 0.3)[0] == pytest.approx(face_mass(flat, 0.3)[1])
    assert math.isnan(face_mass(np.zeros((side, side), np.float32), 0.3)[0])


class _MeanOfRed(nn.Module):
    """Fake logit = 10 x the mean of the first channel; real logit = 0."""

    def forward(self, x):
        fake = 10 * x[:, 0].mean(dim=(1, 2))
        return torch.stack([torch.zeros_like(fake), fake], dim=1)


def test_probability_drops_match_their_definition():
    clf = Classifier(ModelCard(name="stub", architecture="resnet18", input_size=10), _MeanOfRed())
    x = torch.ones(1, 3, 10, 10)
    x[:, :, :2, :] = 3.0  # the top two rows (20% of the pixels) are bright
    cams = np.zeros((1, 10, 10), np.float32)
    cams[0, :2, :] = 1.0  # ... and the CAM marks exactly them
    score = torch.sigmoid(torch.tensor(10 * x[0, 0].mean().item())).item()
    drop_blur, drop_remove = probability_drops(clf, x, cams, np.array([score]))
    removed = x.clone()
    removed[:, :, :2, :] = 0.0  # removed = the normalisation mean = 0
    expected = score - torch.sigmoid(torch.tensor(10 * removed[0, 0].mean().item())).item()
    assert drop_remove[0] == pytest.approx(expected, abs=1e-5)
    assert 0 < drop_blur[0] < drop_remove[0]  # blurring mixes the bright rows with their neighbours
    empty = probability_drops(clf, x, np.zeros_like(cams), np.array([score]))
    assert math.isnan(empty[0][0]) and math.isnan(empty[1][0])


# ---------------------------------------------------------------- overlay and the pipeline


def test_overlay(crops):
    crop = crops[0]
    cam = np.zeros(crop.shape[:2], np.float32)
    cam[50:100, 50:100] = 1.0
    img = overlay(crop, cam)
    assert img.shape == crop.shape and img.dtype == np.uint8
    assert not np.array_equal(img, crop)
    small = overlay(crop, cam[::4, ::4])  # a CAM of another size is resized to the crop
    assert small.shape == crop.shape
    assert np.array_equal(overlay(crop, cam, alpha=0.0), crop)
    with pytest.raises(ValueError):
        overlay(crop[..., 0], cam)


def test_analyze_fills_cams(clips, tiny_model):
    from detector.inference.pipeline import analyze

    report = analyze(clips["face"], frames=3, model=tiny_model, cam="gradcam")
    faces = report.faces
    assert faces, "no face found in the astronaut clip"
    for f in faces:
        assert f.cam is not None and f.cam.shape == f.crop.shape[:2]
        assert 0.0 <= f.cam.min() and f.cam.max() <= 1.0
        assert set(f.explanation) == FIGURES
        assert f.explanation["score"] == pytest.approx(f.score, abs=1e-3)
    assert report.cam_method == "gradcam" and "explain" in report.timings
    # every face explained: the CAM's pass scored them, no "classify" pass (its 0.0 read as free: an audit)
    assert "classify" not in report.timings
    one = analyze(clips["face"], frames=3, model=tiny_model, cam="gradcam", cam_faces=1)
    assert one.timings["classify"] > 0 and "explain" in one.timings  # one face explained: the others scored apart
    data = json.loads(report.to_json())
    assert set(data["frames"][0]["faces"][0]["explanation"]) == FIGURES
