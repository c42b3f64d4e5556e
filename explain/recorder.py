"""Records the target layer's activations and gradients, only while a CAM is being computed.

A drop-in for pytorch-grad-cam's ``ActivationsAndGradients`` with three changes,
because the classifier is shared by the whole app:

* Hooks are registered on entering :meth:`LayerRecorder.recording` and removed on
  leaving it, so the model carries no hooks between calls (pytorch-grad-cam keeps
  them until the CAM object dies, and every ``Classifier.predict`` would then pile
  activations into its lists).
* The hooks act only for the thread that is recording: the app may score faces in
  another thread at the same time.
* Gradients start at the target layer: the forward pass runs without autograd up to
  that layer, whose output becomes a fresh leaf that requires grad.  The backward
  pass then covers only the head (a pooling and a linear layer) instead of the whole
  network, which makes Grad-CAM on CPU cost little more than a plain forward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn


class LayerRecorder:
    def __init__(
        self,
        model: nn.Module,
        target_layers: list[nn.Module],
        reshape_transform: Callable | None = None,
        uses_gradients: bool = True,
    ):
        self.model = model
        self.target_layers = list(target_layers)
        self.reshape_transform = reshape_transform
        self.uses_gradients = uses_gradients
        self.activations: list[torch.Tensor] = []
        self.gradients: list[torch.Tensor] = []
        self.handles: list = []
        self._thread: int | None = None
        self._cut = False  # True during __call__ until the first target layer has run

    @contextmanager
    def recording(self):
        """Hooks on the target layers for the duration of the ``with`` block, for this thread only."""
        self.handles = [layer.register_forward_hook(self._hook) for layer in self.target_layers]
        self._thread = threading.get_ident()
        try:
            yield self
        finally:
            self.release()

    def _hook(self, module, inputs, output):
        if threading.get_ident() != self._thread:
            return None
        replaced = None
        if self._cut:
            self._cut = False
            output = replaced = output.detach().requires_grad_(True)
            torch.set_grad_enabled(True)  # from here on; __call__'s no_grad block restores the mode
        activation = output if self.reshape_transform is None else self.reshape_transform(output)
        self.activations.append(activation.detach().cpu())
        if output.requires_grad:
            output.register_hook(self._store_gradient)
        return replaced

    def _store_gradient(self, grad: torch.Tensor) -> None:
        if self.reshape_transform is not None:
            grad = self.reshape_transform(grad)
        self.gradients = [grad.detach().cpu()] + self.gradients  # gradients arrive last layer first

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.clear()
        self._cut = self.uses_gradients
        try:
            with torch.no_grad():  # no autograd bookkeeping below the target layer
                return self.model(x)
        finally:
            self._cut = False

    def clear(self) -> None:
        self.activations = []
        self.gradients = []

    def release(self) -> None:
        self.clear()
        for handle in self.handles:
            handle.remove()
        self.handles = []
        self._thread = None


__all__ = ["LayerRecorder"]
