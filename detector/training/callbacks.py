"""fastai callbacks of the training run, one class each (as fastai's own ``callback/`` modules are)."""

from __future__ import annotations

import copy

import torch
from fastai.callback.core import Callback

__all__ = ["KeepFrozen", "WeightAverage"]


class KeepFrozen(Callback):
    """Keep ``modules`` frozen through ``fine_tune``'s ``unfreeze()`` (which would train every body parameter, batch
    norms included).  With no parameter before them needing a gradient, autograd stops the backward pass above
    them.  Their batch-norm statistics still follow the data in training mode."""

    order = 0

    def __init__(self, modules):
        self.modules = list(modules)

    def before_fit(self):
        for m in self.modules:
            for p in m.parameters():
                p.requires_grad_(False)
                p.grad = None


class WeightAverage(Callback):
    """An exponential moving average of the weights (and batch-norm statistics) over training steps, as timm's
    ``ModelEmaV3``: ``avg = decay * avg + (1 - decay) * w`` after each step, with timm's warm-up
    ``min(decay, (1 + n) / (10 + n))``.  It never changes the training itself: read ``average`` after the fit."""

    order = 90  # after the optimiser step

    def __init__(self, decay: float):
        self.decay, self.average, self.updates, self.pairs = decay, None, 0, []

    def before_fit(self):
        if self.average is None:
            self.average = copy.deepcopy(self.learn.model).eval().requires_grad_(False)
        # state_dict tensors share storage with the parameters and buffers: pair them once per fit, not per step
        self.pairs = list(zip(self.average.state_dict().values(), self.learn.model.state_dict().values()))

    @torch.no_grad()
    def after_batch(self):
        if not self.training:
            return
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for a, w in self.pairs:
            if a.dtype.is_floating_point:
                a.lerp_(w, 1 - d)
            else:
                a.copy_(w)
