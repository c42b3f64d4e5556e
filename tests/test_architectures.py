"""The from-scratch architectures sized for 2 CPU cores (Inception-ResNet-V2, CoAtNet-0), at their recipes' sizes:
forward shapes, a Grad-CAM layer whose maps are not degenerate, the ``--freeze-stages`` grouping, the input sizes
each net takes, and one tiny training run of Inception-ResNet-V2 exported and loaded back.  Untrained nets: these
check plumbing and definitions, never what a trained model looks at."""

from __future__ import annotations

import copy
import json
import tomllib

import numpy as np
import pytest
import torch
from torch import nn

from detector.models import registry as architectures
from detector.models.card import ModelCard
from detector.models.classifier import Classifier
from detector.training.config import RECIPES

NAMES = ["inception_resnet_v2", "coatnet_0"]
# (parameters with a 2-class head, Grad-CAM layer channels): timm's counts
SHAPES = {"inception_resnet_v2": (54_309_538, 1536), "coatnet_0": (26_615_492, 768)}


def _recipe_size(name: str) -> int:
    return tomllib.loads((RECIPES / f"{name}.toml").read_text())["size"]


@pytest.fixture(scope="module", params=NAMES)
def built(request) -> tuple[str, int, nn.Module]:
    """(name, its recipe's size, an untrained net of it at that size, in eval mode)."""
    torch.manual_seed(0)
    size = _recipe_size(request.param)
    return request.param, size, architectures.build(request.param, num_classes=2, size=size).eval()


def _cam_layer_pass(name: str, net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, the CAM layer's activations, their gradient w.r.t. the fake logit) for batch ``x``."""
    seen = {}

    def keep(module, inputs, output):
        seen["a"] = output
        output.register_hook(lambda g: seen.__setitem__("g", g))

    handle = architectures.get(name).cam_layer(net).register_forward_hook(keep)
    try:
        logits = net(x)
        logits[:, 0].sum().backward()  # VOCAB = ["fake", "real"]: the fake logit
    finally:
        handle.remove()
        net.zero_grad(set_to_none=True)
    return logits.detach(), seen["a"].detach(), seen["g"]


def test_builds_at_its_recipe_size_with_two_logits(built):
    name, size, net = built
    params, channels = SHAPES[name]
    assert sum(p.numel() for p in net.parameters()) == params
    with torch.no_grad():
        feats = net.forward_features(torch.randn(3, 3, size, size))
        logits = net(torch.randn(3, 3, size, size))
    assert logits.shape == (3, 2)
    assert feats.shape[:2] == (3, channels) and min(feats.shape[2:]) >= 2  # a map Grad-CAM can localise on
    assert architectures.get(name).offline_imagenet is None  # from scratch: nothing to load offline
    with pytest.raises(ValueError, match="no offline ImageNet weights"):
        architectures.build(name, pretrained="imagenet", size=size)


def test_the_cam_layer_map_is_not_degenerate(built):
    """At the CAM layer, grad . activation per pixel is not zero (as it is after a per-pixel LayerNorm: see the
    coatnet_0 entry), and Grad-CAM's map differs from pixel to pixel on random inputs."""
    name, size, net = built
    _, a, g = _cam_layer_pass(name, net, torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1)))
    assert a.shape == g.shape and a.shape[1] == SHAPES[name][1]
    per_pixel = (a * g).sum(1).abs().amax((1, 2))
    scale = (a.abs() * g.abs()).sum(1).amax((1, 2))
    assert torch.all(per_pixel > 1e-3 * scale), (per_pixel / scale).tolist()
    # Grad-CAM before its ReLU (an untrained head may see only negative evidence: all zero after it)
    cam = (g.mean((2, 3), keepdim=True) * a).sum(1)
    spread = cam.amax((1, 2)) - cam.amin((1, 2))
    assert torch.all(spread > 1e-3 * cam.abs().amax((1, 2))), "Grad-CAM maps are flat"


def test_explain_faces_gives_maps_at_the_recipe_size(built):
    """The explain/ package's Grad-CAM through a Classifier (BatchNorm folded, channels-last), as the app runs it."""
    from explain import explain_faces

    name, size, net = built
    net, card = copy.deepcopy(net), ModelCard(name=f"untrained_{name}", architecture=name, input_size=size)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (s, s, 3), dtype=np.uint8) for s in (size, 150, 90)]
    # an untrained head may weigh the layer's map only negatively (all zero after Grad-CAM's ReLU): point the fake
    # logit along the mean feature, so that the map's mean is positive and some of it is marked
    with torch.no_grad():
        feats = net.forward_features(Classifier(card, net).preprocess(crops).contiguous())
        net.get_classifier().weight[card.fake_index] = feats.mean((0, 2, 3))
    clf = Classifier(card, net)
    exps = explain_faces(clf, crops, method="gradcam", faithfulness=False)
    assert [e.cam.shape for e in exps] == [c.shape[:2] for c in crops]
    assert all(np.isfinite(e.cam).all() and e.cam.min() >= 0 and e.cam.max() <= 1 for e in exps)
    assert any(float(e.cam.max() - e.cam.min()) > 0.5 for e in exps), "every map is empty or flat"


def test_freeze_stages_groups_cover_the_body_in_input_order(built):
    name, size, net = built
    arch = architectures.get(name)
    stem, stages = arch.stages(net)
    groups = [stem, *([s] for s in stages)]
    ids = [{id(p) for m in grp for p in m.parameters()} for grp in groups]
    assert all(ids[1:]) and all(not (a & b) for i, a in enumerate(ids) for b in ids[i + 1 :])  # disjoint
    head = {id(p) for p in net.get_classifier().parameters()}
    rest = {id(p) for p in net.parameters()} - head - set().union(*ids)
    # only the final norm of CoAtNet lies outside the stages (pooled straight into the head)
    assert rest == {id(p) for p in getattr(net, "norm", nn.Identity()).parameters()}
    first_call = []  # the stage of each module as it runs (a stage may be a Sequential the net never calls)
    hooks = [
        m.register_forward_hook(lambda mod, i, o, k=k: first_call.append(k))
        for k, stage in enumerate(stages)
        for m in stage.modules()
    ]
    with torch.no_grad():
        net(torch.randn(1, 3, size, size))
    for h in hooks:
        h.remove()
    assert first_call == sorted(first_call) and set(first_call) == set(range(len(stages)))  # in input order
    early = {id(p) for m in arch.early_modules(net, 1) for p in m.parameters()}
    assert early == ids[0] | ids[1]
    with pytest.raises(ValueError, match=f"has {len(stages)} stages"):
        arch.early_modules(net, len(stages))


@pytest.mark.parametrize(
    "name,size,ok",
    [
        ("inception_resnet_v2", 106, False),  # below 107 the map is 1 x 1 (from 75 px) or the stem fails
        ("inception_resnet_v2", 139, True),
        ("coatnet_0", 80, False),  # not a multiple of 32: the attention windows do not tile
        ("coatnet_0", 64, True),
    ],
)
def test_input_sizes_a_net_does_not_take_are_refused_in_one_line(name, size, ok):
    arch = architectures.get(name)
    if ok:
        assert arch.check_size(size) == size
    else:
        with pytest.raises(ValueError, match=f"{name} needs an input size"):
            arch.check_size(size)


def test_training_refuses_a_size_the_net_does_not_take_before_any_work(tmp_path, capsys):
    from detector.training.run import main

    out = tmp_path / "r"
    assert main(["--data", str(tmp_path), "--arch", "inception_resnet_v2", "--size", "96", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "inception_resnet_v2 needs an input size at least 107 px" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_models_architectures_lists_them(capsys):
    from detector.cli import main

    assert main(["models", "--architectures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert {ln.split()[0] for ln in lines} == set(architectures.REGISTRY)
    assert any(ln.startswith("inception_resnet_v2") and "107 px and up" in ln for ln in lines)
    assert main(["models", "--architectures", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["coatnet_0"]["size_multiple"] == 32 and not rows["coatnet_0"]["offline_imagenet"]


@pytest.mark.slow
def test_a_tiny_training_run_exports_a_card_that_loads_back(tiny_dataset, tmp_path):
    """inception_resnet_v2 at 107 px, one epoch on conftest's six rendered clips: the exported card names the
    architecture, size and the normalisation training used; the loaded model scores like the saved net."""
    from fastai.vision.all import imagenet_stats
    from safetensors.torch import load_file

    from detector.models.card import weights_path
    from detector.models.classifier import load_model
    from detector.training.run import main

    out = tmp_path / "r"
    argv = ["--data", str(tiny_dataset), "--arch", "inception_resnet_v2", "--size", "107", "--frames", "2"]
    argv += ["--epochs", "1", "--bs", "4", "--val-fraction", "0.34", "--workers", "1"]
    assert main([*argv, "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    card_path = out / "model" / "inception_resnet_v2.json"
    card = ModelCard.from_file(card_path)
    assert (card.architecture, card.input_size, card.trained["pretrained"]) == ("inception_resnet_v2", 107, "none")
    assert np.allclose(card.mean, imagenet_stats[0]) and np.allclose(card.std, imagenet_stats[1])
    clf = load_model(str(card_path))
    crops = [np.random.default_rng(i).integers(0, 256, (120, 120, 3), dtype=np.uint8) for i in range(3)]
    p = clf.predict(crops)
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
    net = architectures.build("inception_resnet_v2", num_classes=2, size=107).eval()
    net.load_state_dict(load_file(str(weights_path(card, out / "model"))))
    with torch.no_grad():
        expected = torch.softmax(net(clf.preprocess(crops).contiguous()), dim=1)[:, card.fake_index].numpy()
    assert np.allclose(p, expected, atol=1e-4)  # BatchNorm folding and channels-last change nothing
