"""MesoNet (Afchar, Nozick, Yamagishi, Echizen: "MesoNet: a Compact Facial Video Forgery Detection Network",
WIFS 2018, arXiv:1809.00888) in PyTorch: ``meso4`` and ``mesoinception4``, registered in
:mod:`detector.models.registry`.

Layer for layer the authors' Keras ``classifiers.py`` (github.com/DariusAf/MesoNet), so their published weights
load unchanged (:mod:`detector.models.mesonet_import` converts them):

* Meso4: four blocks conv -> ReLU -> BatchNorm -> max-pool (8, 8, 16, 16 filters; kernels 3, 5, 5, 5; pools
  2, 2, 2, 4; 'same' padding), then flatten, dropout 0.5, dense 16, LeakyReLU 0.1, dropout 0.5, dense 1.
* MesoInception4: two Inception blocks (branches 1x1; 1x1 -> 3x3; 1x1 -> 3x3 dilation 2; 1x1 -> 3x3 dilation 3,
  each conv followed by ReLU, branches concatenated), each then BatchNorm and max-pool 2; then the last two conv
  blocks and the head of Meso4.

Keras' order is kept: the ReLU is the conv's activation and the BatchNorm comes *after* it (so
:mod:`detector.models.bnfold` leaves these BNs alone), with Keras' BatchNorm epsilon 1e-3.  Inputs are RGB in
[0, 1] (the authors rescale by 1/255 and nothing else), 256 x 256: the dense layer sees 16 x 8 x 8 features.

The Keras net ends in one sigmoid unit ``z``.  Our classifiers give one logit per class, so a two-class
MesoNet returns ``[-z/2, z/2]``: softmax over it is ``[1 - sigmoid(z), sigmoid(z)]``, so the second class is the
one the sigmoid scores.  Symmetric rather than ``[0, z]`` so that the gradient of *either* logit is non-zero
(Grad-CAM targets the fake logit).  Which class that is depends on the weights, and the card says it: the
authors' sigmoid is the probability that the face is REAL (their data generator's classes are alphabetical,
``df`` = 0, ``real`` = 1), so their converted cards list ``["fake", "real"]``, the same order our training uses.

One thing the weights cannot settle: the authors' ``Meso4_*.h5`` files list no ``leaky_re_lu`` layer among their
layer names (their ``MesoInception_*.h5`` do), so the Meso4 that was trained may have had no LeakyReLU between
its dense layers (the paper's figure shows none).  We follow ``classifiers.py``, which is what the authors' code
runs with these weights.  On FaceForensics++ c23 frames the choice moved frame AUCs by 0.02 at most, and
probabilities a little (without it the Meso4 models score every face somewhat more real).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from detector.models.registry import Architecture, register

__all__ = ["Meso4", "MesoInception4", "MesoArchitecture", "KERAS_BN_EPS"]

KERAS_BN_EPS = 1e-3  # Keras' BatchNormalization default (PyTorch's is 1e-5)


def _pool(k: int) -> nn.MaxPool2d:
    # Keras MaxPooling2D(pool_size=k, padding='same'), stride k: the same at 256 px, where every pool divides the
    # size; elsewhere ceil_mode gives Keras' output size (Keras centres its padding, PyTorch pads at the end)
    return nn.MaxPool2d(k, k, ceil_mode=True)


class ConvBlock(nn.Sequential):
    """Keras' Conv2D(activation='relu', padding='same') -> BatchNormalization -> MaxPooling2D."""

    def __init__(self, c_in: int, c_out: int, k: int, pool: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding=k // 2)
        self.relu = nn.ReLU(inplace=True)
        self.bn = nn.BatchNorm2d(c_out, eps=KERAS_BN_EPS)
        self.pool = _pool(pool)


def _conv_relu(c_in: int, c_out: int, k: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, padding=dilation * (k // 2), dilation=dilation), nn.ReLU(inplace=True)
    )


class InceptionBlock(nn.Module):
    """The authors' ``InceptionLayer(a, b, c, d)``, then BatchNorm and max-pool 2: four branches (1x1; 1x1 -> 3x3;
    1x1 -> 3x3 dilation 2; 1x1 -> 3x3 dilation 3), concatenated in that order (a + b + c + d channels)."""

    def __init__(self, c_in: int, a: int, b: int, c: int, d: int):
        super().__init__()
        self.branch1 = _conv_relu(c_in, a, 1)
        self.branch2 = nn.Sequential(_conv_relu(c_in, b, 1), _conv_relu(b, b, 3))
        self.branch3 = nn.Sequential(_conv_relu(c_in, c, 1), _conv_relu(c, c, 3, dilation=2))
        self.branch4 = nn.Sequential(_conv_relu(c_in, d, 1), _conv_relu(d, d, 3, dilation=3))
        self.bn = nn.BatchNorm2d(a + b + c + d, eps=KERAS_BN_EPS)
        self.pool = _pool(2)

    def forward(self, x):
        y = torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)
        return self.pool(self.bn(y))


class _MesoNet(nn.Module):
    """``features`` (four blocks, 16 channels, input size / 32 on a side) then the authors' dense head."""

    def __init__(self, blocks: list[nn.Module], num_classes: int = 2, size: int = 256, drop_rate: float = 0.5):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, not {num_classes}")
        self.num_classes = num_classes
        self.blocks = nn.ModuleList(blocks)
        side = math.ceil(size / 32)  # pools 2, 2, 2, 4
        self.flatten = nn.Flatten()  # NCHW order; the importer permutes Keras' channels-last dense rows to it
        self.drop1 = nn.Dropout(drop_rate)
        self.fc1 = nn.Linear(16 * side * side, 16)
        self.num_features = 16  # timm's name: the width of the classifier's input (embeddings, feature distillation)
        self.act = nn.LeakyReLU(0.1)
        self.drop2 = nn.Dropout(drop_rate)
        # two classes: one unit z (the authors' sigmoid), shown as [-z/2, z/2]; otherwise one logit per class
        self.fc2 = nn.Linear(16, 1 if num_classes == 2 else num_classes)

    def forward_features(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def forward_head(self, x, pre_logits: bool = False):
        """The dense head; with ``pre_logits`` (timm's flag) the classifier's 16-wide input instead of the logits."""
        x = self.drop2(self.act(self.fc1(self.drop1(self.flatten(x)))))
        return x if pre_logits else self.logits_from_pooled(x)

    def logits_from_pooled(self, x):
        """The logits from the classifier's input (:func:`detector.models.registry.logits_from_pooled`): with two
        classes the one unit z of the last dense layer, shown as [-z/2, z/2]."""
        z = self.fc2(x)
        if self.num_classes == 2:
            half = 0.5 * z
            return torch.cat([-half, half], dim=1)
        return z

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The last dense layer (timm's name for it): the 'head' of :meth:`Architecture.param_groups`."""
        return self.fc2


class Meso4(_MesoNet):
    def __init__(self, num_classes: int = 2, size: int = 256, drop_rate: float = 0.5):
        blocks = [ConvBlock(3, 8, 3, 2), ConvBlock(8, 8, 5, 2), ConvBlock(8, 16, 5, 2), ConvBlock(16, 16, 5, 4)]
        super().__init__(blocks, num_classes=num_classes, size=size, drop_rate=drop_rate)


class MesoInception4(_MesoNet):
    def __init__(self, num_classes: int = 2, size: int = 256, drop_rate: float = 0.5):
        blocks = [
            InceptionBlock(3, 1, 4, 4, 2),
            InceptionBlock(11, 2, 4, 4, 2),
            ConvBlock(12, 16, 5, 2),
            ConvBlock(16, 16, 5, 4),
        ]
        super().__init__(blocks, num_classes=num_classes, size=size, drop_rate=drop_rate)


@dataclass(frozen=True)
class MesoArchitecture(Architecture):
    """A registry entry built here rather than by timm; no ImageNet weights exist for it."""

    factory: type[_MesoNet] | None = None

    def build(self, num_classes: int = 2, pretrained: str | None = None, size: int | None = None) -> nn.Module:
        if pretrained not in (None, "none"):
            raise ValueError(
                f"{self.name} has no {pretrained!r} weights: train it from scratch, or convert the authors' with "
                "`deepfake-lens import-mesonet`"
            )
        return self.factory(num_classes=num_classes, size=size or self.default_size)


def _stages(m: _MesoNet) -> tuple[list[nn.Module], list[nn.Module]]:
    return [], list(m.blocks)


register(
    MesoArchitecture(
        name="meso4",
        timm_name="",
        default_size=256,
        fixed_size=True,  # the dense layer's width follows the input size: the authors' weights need 256
        cam_layer=lambda m: m.blocks[-1],  # the last conv block (after its pool: the 8 x 8 map the dense layer reads)
        stages=_stages,
        factory=Meso4,
        description="Meso-4 (Afchar et al. 2018), 256 px, [0, 1] inputs; the authors' Keras weights convert with "
        "`deepfake-lens import-mesonet`",
    )
)

register(
    MesoArchitecture(
        name="mesoinception4",
        timm_name="",
        default_size=256,
        fixed_size=True,
        cam_layer=lambda m: m.blocks[-1],
        stages=_stages,
        factory=MesoInception4,
        description="MesoInception-4 (Afchar et al. 2018), 256 px, [0, 1] inputs; the authors' Keras weights convert "
        "with `deepfake-lens import-mesonet`",
    )
)
