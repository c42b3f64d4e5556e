"""fastai callbacks of the training run, one class each (as fastai's own ``callback/`` modules are)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from fastai.callback.core import Callback

from detector.constants import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["KeepFrozen", "WeightAverage", "DistillationCallback"]


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


class DistillationCallback(Callback):
    """Knowledge distillation (Hinton et al. 2015): on each training batch, the teacher scores the same augmented
    crops (self-blended pseudo-fakes included), and the loss becomes

        (1 - alpha) * hard + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

    where ``hard`` is the learner's own loss (the class-weighted cross-entropy against the labels) and the soft
    term compares the two 2-class distributions at temperature ``T``.  Validation losses and metrics stay the
    plain ones.

    The teacher runs in eval mode without gradients at its own input size and normalisation: the student's batch
    is denormalised with the student's ``mean``/``std``, resized to the teacher's input size and renormalised with
    the teacher card's.  The last batch's two terms are kept in ``last`` ({hard, soft}).

    :param teacher: a loaded model (:func:`detector.models.classifier.load_model`): one network, or an ensemble
        whose members' probabilities are averaged
    :param alpha: weight of the soft loss, 0 to 1
    :param temperature: softmax temperature of both sides of the soft loss
    :param fake_index: the fake class's index in the student's logits
    :param mean: the student's normalisation mean (RGB, 0-1 scale)
    :param std: the student's normalisation standard deviation
    """

    order = 10  # before the recorder and the weight average read the loss (after_batch)

    def __init__(
        self,
        teacher,
        alpha: float,
        temperature: float = 1.0,
        fake_index: int = 0,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
    ):
        self.teacher, self.fake_index = teacher, fake_index
        self.alpha, self.temperature = float(alpha), float(temperature)
        self.nets = [m.net.eval().requires_grad_(False) for m in (teacher.members or [teacher])]
        card = teacher.card
        self.size, self.teacher_fake = card.input_size, card.fake_index
        stats = lambda v: torch.tensor(v, dtype=torch.float32).view(1, 3, 1, 1)  # noqa: E731
        self.mean, self.std = stats(mean), stats(std)
        self.t_mean, self.t_std = stats(card.mean), stats(card.std)
        self.last: dict[str, float] = {}

    @torch.no_grad()
    def teacher_probs(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's N x 2 class probabilities at temperature T, in the student's class order.

        :param x: the student's normalised N x 3 x S x S batch
        """
        x = x.as_subclass(torch.Tensor).float()
        device = next(self.nets[0].parameters()).device
        x = (x * self.std.to(x.device) + self.mean.to(x.device)).to(device)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > self.size
            )
        x = ((x - self.t_mean.to(device)) / self.t_std.to(device)).contiguous(memory_format=torch.channels_last)
        fake = torch.stack(
            [torch.softmax(net(x).float() / self.temperature, dim=1)[:, self.teacher_fake] for net in self.nets]
        ).mean(0)
        probs = torch.empty(len(fake), 2, device=device)
        probs[:, self.fake_index], probs[:, 1 - self.fake_index] = fake, 1 - fake
        return probs

    def soft_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """T^2 * KL(target || softmax(pred / T)), averaged over the batch.

        :param pred: the student's N x 2 logits
        :param target: the teacher's N x 2 probabilities at temperature T
        """
        log_p = F.log_softmax(pred.as_subclass(torch.Tensor).float() / self.temperature, dim=1)
        return F.kl_div(log_p, target.to(log_p.device), reduction="batchmean") * self.temperature**2

    def after_loss(self):
        if not self.training or not self.learn.yb:
            return
        hard = self.learn.loss_grad
        soft = self.soft_loss(self.learn.pred, self.teacher_probs(self.learn.xb[0]))
        loss = (1 - self.alpha) * hard + self.alpha * soft
        self.learn.loss_grad = loss
        self.learn.loss = loss.clone()
        self.last = {"hard": float(hard.detach()), "soft": float(soft.detach())}
