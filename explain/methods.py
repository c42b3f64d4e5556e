"""The CAM methods one can ask for by name: ``METHODS[name]`` is a pytorch-grad-cam class.

All are cheap on CPU: one forward and (except EigenCAM) one backward pass per
batch.  ScoreCAM and AblationCAM are left out on purpose: they run the network
once per channel of the target layer (512-1280 passes per face).

    gradcam    Selvaraju et al. 2017: channels weighted by their mean gradient.
    gradcam++  Chattopadhyay et al. 2018: higher-order weights, better with several regions.
    hirescam   Draelos & Carin 2020: gradient x activation per position (no averaging).
    xgradcam   Fu et al. 2020: gradients weighted by the normalised activations.
    layercam   Jiang et al. 2021: positive gradient x activation per position.
    eigencam   Muhammad & Yeasin 2020: first principal component of the activations
               (class-agnostic: it does not use the fake logit).
"""

from __future__ import annotations

from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.base_cam import BaseCAM

from detector.errors import InputError

from .names import METHOD_NAMES

METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "hirescam": HiResCAM,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
}


assert tuple(METHODS) == METHOD_NAMES, "explain/names.py lists the methods of METHODS, in order"


def method_class(name: str) -> type[BaseCAM]:
    """The class behind a method name; :class:`InputError` (one line) for an unknown one."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown CAM method {name!r}; choose one of: {', '.join(METHODS)}") from None


__all__ = ["METHODS", "method_class"]
