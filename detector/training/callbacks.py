"""fastai callbacks of the training run, one class each (as fastai's own ``callback/`` modules are)."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback

from detector.constants import IMAGENET_MEAN, IMAGENET_STD
from detector.models.registry import logits_from_pooled

__all__ = [
    "KeepFrozen",
    "CpuAutocast",
    "WeightAverage",
    "DistillationCallback",
    "PairedRanking",
    "MaskSupervision",
    "TrainingTerm",
    "GradientReversal",
    "IdentityAdversary",
]


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


class CpuAutocast(Callback):
    """bfloat16 autocast of each batch's forward pass and loss on the CPU (fastai's ``MixedPrecision`` autocasts
    CUDA only: CPU operations stay float32 under it).  Weights, gradients and the optimiser's state stay float32,
    and bfloat16 has float32's range, so no gradient scaler is needed; the predictions reach the loss and the
    metrics as float32.  Remove it before scoring what the exported (float32) model will score
    (``detector.training.run.float32_scoring``).

    Its ``after_loss`` runs before every other callback's (order 5): the distillation teacher and the training
    terms (``--mask-weight``, ``--identity-adversary``) compute outside the autocast, in float32."""

    order = 5  # after_loss before DistillationCallback's (10) and the training terms' (60), whatever the add order

    def __init__(self, dtype=torch.bfloat16):
        self.dtype, self._ctx = dtype, None

    def before_fit(self):
        self.leave()

    def before_batch(self):
        self.leave()  # fastai has no `finally`: a batch that raised (not a cancel) never reached after_loss
        self._ctx = torch.autocast("cpu", dtype=self.dtype)
        self._ctx.__enter__()

    def after_pred(self):
        self.learn.pred = self.learn.pred.float()

    def after_loss(self):
        self.leave()

    def after_batch(self):  # a batch cancelled before its loss (CancelBatchException) leaves it too
        self.leave()

    def after_cancel_batch(self):
        self.leave()

    def after_fit(self):
        self.leave()

    def leave(self):
        """Leave the autocast if this callback entered it and has not left it yet (harmless otherwise)."""
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            ctx.__exit__(None, None, None)


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


def shrink(x: torch.Tensor, size: int) -> torch.Tensor:
    """A normalised N x 3 x H x W batch resized to ``size`` px a side as ``Classifier.preprocess`` resizes a crop
    (OpenCV ``INTER_AREA``, image by image; the normalisation is per channel, so it commutes with the resize)."""
    import cv2

    arr = x.as_subclass(torch.Tensor).detach().float().permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA) for a in arr])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device).contiguous(memory_format=torch.channels_last)


class DistillationCallback(Callback):
    """Knowledge distillation (Hinton et al. 2015): on each training batch, the teacher scores the same augmented
    crops (self-blended pseudo-fakes included), and the loss becomes

        (1 - alpha) * hard + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

    where ``hard`` is the learner's own loss (the class-weighted cross-entropy against the labels) and the soft
    term compares the two 2-class distributions at temperature ``T``.  Validation losses and metrics stay the
    plain ones.

    The teacher runs in eval mode without gradients at its own input size and normalisation: the student's batch
    is denormalised with the student's ``mean``/``std``, resized to the teacher's input size and renormalised with
    the teacher card's.  The last batch's terms are kept in ``last`` ({hard, soft} and, with features, feature).

    With ``feature_weight`` > 0 (a teacher of one network), a third term regresses the student's pooled features
    (the input of its classifier), mapped by ``projection`` (a linear layer the run attaches to the student as
    ``distill_projection``, so that the optimiser trains it, and drops before export), onto the teacher's pooled
    features on the same crops, each dimension standardised by running estimates of its mean and spread
    (FitNets, Romero et al. 2015, on pooled features): ``+ feature_weight * mean((P f_s - z(f_t))^2)``: 1,280
    numbers a crop to learn from instead of two probabilities.  With ``feature_grid`` G > 0 the term compares the
    feature maps before pooling instead (the input of the student's ``global_pool``, the teacher's
    ``forward_features``), each averaged onto a G x G grid: the projection maps each cell's student features onto
    the teacher's features of the same cell, G * G times the numbers a crop.  Where a map's side is not a multiple of
    G the cells overlap (adaptive average pooling), and the two networks' cells then cover somewhat different parts
    of the crop.

    With ``student_size`` (the run's ``--distill-teacher-size``), training batches arrive at the teacher's input
    size: the teacher scores them as they are, and the student sees each batch shrunk to ``student_size``
    (:func:`shrink`: the pipeline's own ``INTER_AREA`` resize) -- so the teacher is not handed crops
    that lost their detail at the student's size.  Validation batches, already at the student's size, pass
    unchanged.  The augmentations act before the shrink, at the teacher's size.

    :param teacher: a loaded model (:func:`detector.models.classifier.load_model`): one network, or an ensemble
        whose members' probabilities are averaged
    :param alpha: weight of the soft loss, 0 to 1
    :param temperature: softmax temperature of both sides of the soft loss
    :param fake_index: the fake class's index in the student's logits
    :param mean: the student's normalisation mean (RGB, 0-1 scale)
    :param std: the student's normalisation standard deviation
    :param feature_weight: weight of the feature term (0: off)
    :param projection: the student-to-teacher feature map (needed with ``feature_weight`` > 0)
    :param student_size: the student's input size, where training batches come at the teacher's (None: they come
        at the student's)
    :param feature_grid: with ``feature_weight`` > 0: compare the feature maps averaged onto this many cells a side
        (0: the pooled features); the student needs a ``global_pool`` module (timm networks have one)
    """

    order = 10  # before the recorder and the weight average read the loss (after_batch)
    momentum = 0.01  # of the running mean and spread of the teacher's features

    def __init__(
        self,
        teacher,
        alpha: float,
        temperature: float = 1.0,
        fake_index: int = 0,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        feature_weight: float = 0.0,
        projection: torch.nn.Module | None = None,
        student_size: int | None = None,
        feature_grid: int = 0,
    ):
        self.teacher, self.fake_index = teacher, fake_index
        self.student_size, self.teacher_x = student_size, None
        self.alpha, self.temperature = float(alpha), float(temperature)
        self.nets = [m.net.eval().requires_grad_(False) for m in (teacher.members or [teacher])]
        self.feature_weight, self.projection = float(feature_weight), projection
        self.feature_grid = int(feature_grid)
        if self.feature_weight and (len(self.nets) != 1 or projection is None):
            raise ValueError("feature distillation needs a teacher of one network and a projection")
        self.feature_mean = self.feature_var = None  # running estimates over the training batches
        self.student_features, self.hook = None, None
        card = teacher.card
        self.size, self.teacher_fake = card.input_size, card.fake_index
        stats = lambda v: torch.tensor(v, dtype=torch.float32).view(1, 3, 1, 1)  # noqa: E731
        self.mean, self.std = stats(mean), stats(std)
        self.t_mean, self.t_std = stats(card.mean), stats(card.std)
        self.last: dict[str, float] = {}

    # the hook lives for training passes only: not during validation, nor when WeightAverage copies the model
    # (before_fit), which would deep-copy this callback, the teacher and the Learner with it
    def before_train(self):
        if self.feature_weight and self.hook is None:  # the classifier's input (pooled features) or the pool's (map)
            model = self.learn.model
            module = model.global_pool if self.feature_grid else model.get_classifier()
            self.hook = module.register_forward_pre_hook(self._keep_features)

    def after_train(self):
        if self.hook is not None:
            self.hook.remove()
        self.hook, self.student_features = None, None

    after_fit = after_train  # an interrupted epoch too

    def before_batch(self):
        self.teacher_x = None
        if not (self.training and self.student_size and self.learn.xb):
            return
        x = self.learn.xb[0]
        if x.shape[-1] == self.student_size and x.shape[-2] == self.student_size:
            return
        self.teacher_x = x
        self.learn.xb = (shrink(x, self.student_size), *self.learn.xb[1:])

    def _keep_features(self, module, args):
        self.student_features = args[0]

    @torch.no_grad()
    def teacher_probs(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's N x 2 class probabilities at temperature T, in the student's class order.

        :param x: the student's normalised N x 3 x S x S batch
        """
        return self.teacher_outputs(x, features=False)[0]

    @torch.no_grad()
    def teacher_outputs(self, x: torch.Tensor, features: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the teacher's N x 2 probabilities at temperature T in the student's class order, its N x F pooled
        features -- or, with ``feature_grid`` G, its N x F x G x G feature map averaged onto the grid -- or None).
        ``features`` needs a network with pooled features (``forward_features``,
        ``forward_head(..., pre_logits=True)``).

        :param x: the student's normalised N x 3 x S x S batch
        :param features: also return the pooled features, or the map on the grid (one network)
        """
        x = self._teacher_input(x)
        if features:
            net = self.nets[0]
            fmap = net.forward_features(x)
            pooled = net.forward_head(fmap, pre_logits=True).float()
            logits = logits_from_pooled(net, pooled).float()
            fake = torch.softmax(logits / self.temperature, dim=1)[:, self.teacher_fake]
            target = self.on_grid(fmap) if self.feature_grid else pooled
        else:
            target = None
            fake = torch.stack(
                [torch.softmax(net(x).float() / self.temperature, dim=1)[:, self.teacher_fake] for net in self.nets]
            ).mean(0)
        probs = torch.empty(len(fake), 2, device=fake.device)
        probs[:, self.fake_index], probs[:, 1 - self.fake_index] = fake, 1 - fake
        return probs, target

    def _teacher_input(self, x: torch.Tensor) -> torch.Tensor:
        """The student's batch at the teacher's input size and normalisation."""
        x = x.as_subclass(torch.Tensor).float()
        device = next(self.nets[0].parameters()).device
        x = (x * self.std.to(x.device) + self.mean.to(x.device)).to(device)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > self.size
            )
        return ((x - self.t_mean.to(device)) / self.t_std.to(device)).contiguous(memory_format=torch.channels_last)

    def on_grid(self, fmap: torch.Tensor) -> torch.Tensor:
        """An N x C x H x W feature map averaged onto the ``feature_grid`` x ``feature_grid`` cells."""
        fmap = fmap.as_subclass(torch.Tensor).float()
        return F.adaptive_avg_pool2d(fmap, self.feature_grid).contiguous()

    @staticmethod
    def _rows(t: torch.Tensor) -> torch.Tensor:
        """N x C (pooled) stays; N x C x G x G becomes (N G G) x C, one row a cell."""
        t = t.as_subclass(torch.Tensor).float()
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1]) if t.ndim == 4 else t.flatten(1)

    def feature_loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """mean((projection(student) - z(teacher))^2), z standardising each teacher dimension by the running mean
        and spread (updated with this batch first; a dimension's spread is floored at 1% of the mean spread, so
        that a dead one is not blown up).

        :param student: the student's N x D pooled features (or N x D x G x G, on the grid)
        :param teacher: the teacher's N x F pooled features (or N x F x G x G, on the grid)
        """
        teacher = self._rows(teacher.detach())
        mean, var = teacher.mean(0), teacher.var(0, unbiased=False)
        if self.feature_mean is None:
            self.feature_mean, self.feature_var = mean, var
        else:
            self.feature_mean = self.feature_mean.lerp(mean, self.momentum)
            self.feature_var = self.feature_var.lerp(var, self.momentum)
        spread = self.feature_var.sqrt()
        spread = spread.clamp_min(max(float(spread.mean()) * 0.01, 1e-6))
        target = (teacher - self.feature_mean) / spread
        mapped = self.projection(self._rows(student))
        return ((mapped - target.to(mapped.device)) ** 2).mean()

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
        with_features = self.feature_weight > 0
        if with_features and self.student_features is None:
            raise RuntimeError(
                "feature distillation: the student's classifier (or global pool) saw no input on this batch"
            )
        x = self.teacher_x if self.teacher_x is not None else self.learn.xb[0]
        probs, target = self.teacher_outputs(x, features=with_features)
        soft = self.soft_loss(self.learn.pred, probs)
        loss = (1 - self.alpha) * hard + self.alpha * soft
        self.last = {"hard": float(hard.detach()), "soft": float(soft.detach())}
        if with_features:
            student = self.on_grid(self.student_features) if self.feature_grid else self.student_features
            feature = self.feature_loss(student, target)
            loss = loss + self.feature_weight * feature
            self.last["feature"] = float(feature.detach())
        self.learn.loss_grad = loss
        self.learn.loss = loss.clone()


class PairedRanking(Callback):
    """Add ``weight * softplus(z_real - z_fake)`` per (real, fake) pair to the training loss, ``z`` being a row's
    fake logit minus its real one: the fake of a pair must score above its real.  The training loader puts pairs at
    batch positions (0, 1), (2, 3)... (:func:`detector.training.augment.paired_dl_type`); a position pair whose
    two labels agree is skipped.  Validation batches are not paired and not touched."""

    order = 60  # after_loss after DistillationCallback's (order 10), so the term is not scaled by its alpha

    def __init__(self, weight: float, fake_index: int = 0):
        self.weight, self.fake_index = weight, fake_index  # fake_index: the project's VOCAB puts "fake" first
        self.last: float | None = None  # the last training batch's ranking term (None until one had a pair)

    def ranking_loss(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """The mean ranking term over the batch's pairs (None if no pair has one real and one fake).

        :param pred: N x 2 logits, pairs at rows (0, 1), (2, 3)...
        :param y: N class indices
        """
        n = len(y) // 2 * 2
        pred, y = pred.as_subclass(torch.Tensor).float()[:n], y.as_subclass(torch.Tensor)[:n]
        z = (pred[:, self.fake_index] - pred[:, 1 - self.fake_index]).view(-1, 2)
        fake = (y == self.fake_index).view(-1, 2)
        mixed = fake[:, 0] != fake[:, 1]
        if not bool(mixed.any()):
            return None
        z_fake = torch.where(fake[:, 0], z[:, 0], z[:, 1])
        z_real = torch.where(fake[:, 0], z[:, 1], z[:, 0])
        return F.softplus(z_real - z_fake)[mixed].mean()

    def after_loss(self):
        if not self.training or not self.learn.yb:
            return
        rank = self.ranking_loss(self.learn.pred, self.learn.yb[0])
        if rank is None:
            return
        self.last = float(rank.detach())
        loss = self.learn.loss_grad + self.weight * rank
        self.learn.loss_grad = loss
        self.learn.loss = loss.clone()


class TrainingTerm(Callback):
    """A loss term on the features a hooked module of the network sees on training batches (its input, kept by a
    forward pre-hook that lives for training passes only), added to the labels' loss times ``weight``.  Subclasses
    name the module (:meth:`hooked`) and compute the term in ``after_loss``, then call :meth:`add`.  ``last``: the
    last training batch's term (before the weight); ``history``: its mean over each epoch's training batches;
    ``name``: what the training log calls the term."""

    order = 60  # after_loss after DistillationCallback's (order 10), so the term is not scaled by its alpha

    name = "term"

    def __init__(self, weight: float):
        self.weight = float(weight)
        self.features, self.hook = None, None
        self.last: float | None = None
        self.history: list[float] = []
        self._sum, self._n = 0.0, 0

    def hooked(self, model: torch.nn.Module) -> torch.nn.Module:
        raise NotImplementedError

    def before_train(self):
        if self.hook is None:
            self.hook = self.hooked(self.learn.model).register_forward_pre_hook(self._keep)

    def after_train(self):
        if self.hook is not None:
            self.hook.remove()
        self.hook, self.features = None, None
        if self._n:
            self.history.append(round(self._sum / self._n, 4))
        self._sum, self._n = 0.0, 0

    after_fit = after_train

    def before_batch(self):
        self.features = None

    def _keep(self, module, args):
        self.features = args[0]

    def add(self, term: torch.Tensor) -> None:
        """Add ``weight * term`` to the batch's loss, and keep the term for ``last`` and ``history``."""
        self.last = float(term.detach())
        self._sum, self._n = self._sum + self.last, self._n + 1
        loss = self.learn.loss_grad + self.weight * term
        self.learn.loss_grad = loss
        self.learn.loss = loss.clone()


class MaskSupervision(TrainingTerm):
    """Add ``weight * BCE(head(feature map), mask on the map's grid)`` to the training loss: the network learns where
    a fake was changed, not only that it was (as Face X-ray and multi-task detectors do), from the difference masks
    of FaceForensics++ fakes (:mod:`detector.data.masks`), the blend masks of pseudo-fakes, and nothing changed on
    reals.  Each of the feature map's cells (5 x 5 at 160 px for EfficientNet-Lite0) is asked for the share of its
    pixels that changed.  A sample without a mask (``UNKNOWN_MASK``) adds nothing.

    ``head``: a 1 x 1 convolution from the feature map's channels to one, attached to the network for training only
    (dropped at export); ``buffer``: where :func:`detector.training.augment.split_mask` leaves the batch's masks.
    The feature map is the input of the network's ``global_pool``.  Validation batches are not touched."""

    name = "mask term"

    def __init__(self, head: torch.nn.Module, weight: float, buffer):
        super().__init__(weight)
        self.head, self.buffer = head, buffer

    def hooked(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.global_pool

    def mask_loss(self, fmap: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
        """The mean BCE over the cells of the samples that have a mask (None if none has).

        :param fmap: N x C x h x w feature map
        :param mask: N x H x W in [0, 1] (a sample without a mask all ``UNKNOWN_MASK`` / 255)
        """
        from detector.training.augment import UNKNOWN_MASK

        mask = mask.to(fmap.device).float()
        known = (mask.flatten(1).amax(1) - UNKNOWN_MASK / 255).abs() > 0.5 / 255
        if not bool(known.any()):
            return None
        target = F.adaptive_avg_pool2d(mask[known, None], fmap.shape[-2:])
        # .float(): under --precision bf16 the hooked map is bfloat16, and this term runs after the autocast ends
        logits = self.head(fmap[known].as_subclass(torch.Tensor).float()).float()
        return F.binary_cross_entropy_with_logits(logits, target)

    def after_loss(self):
        if not self.training or self.buffer.mask is None:
            return
        if self.features is None:
            raise RuntimeError("mask supervision: the network's global pool saw no input on this training batch")
        if len(self.buffer.mask) != len(self.features):
            raise RuntimeError("mask supervision: the batch's masks and feature maps do not match")
        term = self.mask_loss(self.features, self.buffer.mask)
        if term is None:
            return
        self.add(term)


class GradientReversal(torch.autograd.Function):
    """The identity forward; backward, the gradient times ``-scale`` (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = float(scale)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


class IdentityAdversary(TrainingTerm):
    """Add ``weight * CE(head(reverse(features)), person)`` over a training batch's crops of known people: ``head``
    (a linear layer, attached to the network for training only, dropped at export) learns who each crop shows from
    the pooled features (the classifier's input), and the network receives that gradient reversed and scaled by
    ``ramp`` = 2 / (1 + exp(-10 p)) - 1, p the fit's progress: it learns features that do not tell the people apart.

    A detector's score carries a level per person (a few real people score high in every frame); features that
    cannot tell the training people apart cannot carry such a level for them.  ``persons``: per training row (the
    order of the training loader's data set), a person index, or -1 (a fake, a pseudo-fake, a photo: not asked).
    ``labels``: per training row, its class index, checked against each batch's targets (the rows of a batch are
    read from the loader's ``drawn``; a mismatch means the batch is not the rows it is taken for).  Validation
    batches are not touched."""

    name = "identity term (the head's cross-entropy; ln K is chance for K people)"

    def __init__(self, head: torch.nn.Module, weight: float, persons: np.ndarray | list[int], labels: list[int]):
        super().__init__(weight)
        self.head = head
        self.persons = torch.as_tensor(np.asarray(persons), dtype=torch.long)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)

    def hooked(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.get_classifier()

    @staticmethod
    def ramp(progress: float) -> float:
        return float(2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0)

    def batch_rows(self) -> torch.Tensor:
        """The training rows of the current batch, from the loader's draw."""
        dl = self.learn.dl
        n = len(self.learn.yb[0])
        start = self.learn.iter * dl.bs
        rows = torch.as_tensor(np.asarray(dl.drawn[start : start + n]), dtype=torch.long)
        y = self.learn.yb[0].as_subclass(torch.Tensor).cpu()
        if len(rows) != n or not torch.equal(self.labels[rows], y):
            raise RuntimeError("identity adversary: the batch is not the rows the training loader drew for it")
        return rows

    def identity_loss(self, features: torch.Tensor, persons: torch.Tensor, scale: float) -> torch.Tensor | None:
        """The mean cross-entropy of the head's person guesses over the rows of a known person (None if none is),
        through gradient reversal at ``scale``."""
        known = persons >= 0
        if not bool(known.any()):
            return None
        # .float(): under --precision bf16 the hooked features are bfloat16, and this term runs after the autocast
        x = GradientReversal.apply(features.as_subclass(torch.Tensor).float()[known.to(features.device)], scale)
        return F.cross_entropy(self.head(x).float(), persons[known].to(features.device))

    def after_loss(self):
        if not self.training or not self.learn.yb:
            return
        if self.features is None:
            raise RuntimeError("identity adversary: the network's classifier saw no input on this training batch")
        term = self.identity_loss(self.features, self.persons[self.batch_rows()], self.ramp(self.learn.pct_train))
        if term is None:
            return
        self.add(term)
