"""BatchNorm folding (detector/models/bnfold.py): same outputs, CAM hooks still fire, refused when the check fails."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from detector.models import registry as architectures
from detector.models.bnfold import fold_batchnorm


def _randomise_bn(net: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return net.eval()


@pytest.mark.parametrize("name,size", [("efficientnet_lite0", 96), ("resnet18", 64), ("coatnet_0", 64)])
def test_folded_net_gives_the_same_logits(name, size):
    net = _randomise_bn(architectures.build(name, num_classes=2, size=size))
    folded, n = fold_batchnorm(net, size=size)
    assert n > 0 and folded is not net
    x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), net(x), atol=1e-4, rtol=1e-4)


def test_cam_layer_hook_still_fires_after_folding():
    net = _randomise_bn(architectures.build("efficientnet_lite0", num_classes=2, size=96))
    folded, _ = fold_batchnorm(net, size=96)
    seen = []
    layer = architectures.get("efficientnet_lite0").cam_layer(folded)
    h = layer.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.inference_mode():
        folded(torch.randn(1, 3, 96, 96))
    h.remove()
    assert seen and seen[0][1] == 1280


class _BnBeforeConv(nn.Module):
    """Registers conv then bn, but applies bn to the input first: folding would change the output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        return self.conv(self.bn(x)).mean((2, 3))


def test_folding_is_refused_when_forward_order_differs():
    net = _randomise_bn(_BnBeforeConv())
    folded, n = fold_batchnorm(net, size=16)
    assert folded is net and n == 0


def test_training_nets_are_left_alone():
    net = architectures.build("resnet18", num_classes=2).train()
    folded, n = fold_batchnorm(net)
    assert folded is net and n == 0
