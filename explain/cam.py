"""One CAM object per (classifier, method), reused; :func:`compute_cams` runs it on a batch.

The CAM is computed at the model's input size and scaled to [0, 1] per image
(pytorch-grad-cam's ``scale_cam_image``).  Its target is the *fake* logit
(``ClassifierOutputTarget(card.fake_index)``), whatever the model predicts, so the
map always answers "what makes this face look fake".

CAM objects are cached per classifier (weakly: they go when the classifier goes).
Their hooks are attached only inside :func:`compute_cams` (see ``recorder.py``), and
the graph, gradients and recorded activations are dropped after each call, so
repeated calls neither add hooks nor hold memory.  One lock serialises CAM
computations: they share the model's hooks and take both CPU cores anyway.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import torch
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from detector.models.classifier import Classifier

from .methods import method_class
from .recorder import LayerRecorder

_CAMS: weakref.WeakKeyDictionary[Classifier, dict[str, BaseCAM]] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def cam_for(classifier: Classifier, method: str) -> BaseCAM:
    """The cached CAM object of ``method`` for ``classifier`` (created on first use)."""
    cls = method_class(method)
    with _LOCK:
        cams = _CAMS.setdefault(classifier, {})
        if method not in cams:
            layer = classifier.cam_layer()
            cam = cls(classifier.net, [layer])
            cam.activations_and_grads.release()  # pytorch-grad-cam hooks the layer for good; we hook per call
            cam.activations_and_grads = LayerRecorder(classifier.net, [layer], uses_gradients=cam.uses_gradients)
            cams[method] = cam
        return cams[method]


def compute_cams(classifier: Classifier, x: torch.Tensor, method: str = "gradcam") -> tuple[np.ndarray, torch.Tensor]:
    """CAMs (N x S x S float32 in [0, 1], S = the input size) and logits for a preprocessed batch ``x``."""
    cam = cam_for(classifier, method)
    targets = [ClassifierOutputTarget(classifier.card.fake_index) for _ in range(len(x))]
    recorder: LayerRecorder = cam.activations_and_grads
    with _LOCK, torch.inference_mode(False), torch.enable_grad(), recorder.recording():
        try:
            maps = cam(x.clone(), targets)  # clone: a normal tensor even if x was made in inference mode
            logits = cam.outputs.detach()
        finally:
            cam.outputs = None  # drop the retained graph
            classifier.net.zero_grad(set_to_none=True)  # the head's .grad from the backward pass
    return np.clip(np.nan_to_num(maps.astype(np.float32, copy=False)), 0.0, 1.0), logits


def cached_methods(classifier: Classifier) -> list[str]:
    """Names of the CAM objects cached for ``classifier`` (for tests and diagnostics)."""
    return sorted(_CAMS.get(classifier, {}))


__all__ = ["cam_for", "compute_cams", "cached_methods"]
