"""Label-free pretraining by feature mimicking: a network with no offline ImageNet weights (ResNet-18) learns to
reproduce, from face crops alone, the feature maps of one that has them (MobileNetV2), so that it starts its
fine-tuning from ImageNet-like features instead of random ones.

    deepfake-lens mimic --arch resnet18 --teacher mobilenetv2 --data ../shared/data/faces_utk --size 112 \\
        --epochs 8 --out runs/mimic
    deepfake-lens train --recipe resnet18_mimic --folds 3 --fold 0 --out runs/cvr18i/fold0

The teacher is the ImageNet network itself, not a deepfake model: the pretraining sees no label, real or fake.
(With ``--teacher-model CARD`` and a fold, it is instead that fold's trained detector, whose card must show it never
trained on the fold's validation items: distillation of its feature maps, no longer label-free.)

At four depths (strides 4, 8, 16 and 32) a 1 x 1 convolution maps the student's feature map onto the
teacher's, whose channels are standardised by statistics of the first batches; the loss is the mean squared error
summed over the four (in the spirit of FitNets, Romero et al. 2015, by default with the teacher's ImageNet features
as the target instead of a trained detector's).  Trained with fastai (``fit_one_cycle``), bfloat16 autocast on the CPU.

What it writes, into ``--out``:

* ``{arch}_mimic.safetensors``: the student's weights without its classifier (safetensors: never a pickle);
* ``{arch}_mimic.json``: how they were made (architecture, teacher, data, items, epochs, losses, timings, the
  weight file's SHA-256), read back by ``train --init`` (:func:`load_init`), which refuses weights of another
  architecture or a file whose hash is not the one recorded;
* ``losses.png``: fastai's training and validation losses.

The crops are those of training (:func:`detector.data.crops.extract_many`: the pipeline's detector and margin),
held-out photos left out, as every training run does.

**On one fold's training items** (``--recipe R --folds K --fold I``): the crops are exactly those fold I of recipe R
trains on (its data, frames, margin, split seed and ``train_sources``; this stage never sees a crop of the fold's
validation groups, though an ``--init`` pretrained without a split, on photos, may have seen some of them
unlabelled), so the pretraining may use the videos themselves, fakes included, and not only photos. The record names
the split, and ``train --init`` refuses the weights for any other fold, split or data (:func:`check_init_split`).
``--init FILE`` starts the student from an earlier pretraining instead of random weights (the mapping layers start
afresh), e.g. the photo-only pretraining continued on a fold's videos::

    deepfake-lens mimic --recipe resnet18_mimic_fold --folds 3 --fold 0 --init runs/mimic/resnet18_mimic.safetensors \\
        --epochs 2 --out runs/mimicf/fold0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from detector.constants import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from detector.models.store import file_sha256  # noqa: E402

__all__ = [
    "FEATURE_TAPS",
    "features",
    "MimicNet",
    "mimic_loss",
    "CropImages",
    "pretrain",
    "load_init",
    "init_record",
    "is_distilled",
    "check_init_split",
    "check_init_groups",
    "same_split",
    "main",
]

SUFFIX = "_mimic"


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def _resnet_taps(m: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    x = m.maxpool(m.act1(m.bn1(m.conv1(x))))
    out = []
    for stage in (m.layer1, m.layer2, m.layer3, m.layer4):
        x = stage(x)
        out.append(x)
    return out


def _mobilenetv2_taps(m: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    x = m.bn1(m.conv_stem(x))
    out = []
    for i, block in enumerate(m.blocks):
        x = block(x)
        if i in (1, 2, 4):  # strides 4, 8, 16 (24, 32, 96 channels)
            out.append(x)
    out.append(m.bn2(m.conv_head(x)))  # stride 32, 1,280 channels: what the classifier pools
    return out


# architecture name -> the feature maps at strides 4, 8, 16 and 32, in that order
FEATURE_TAPS = {"resnet18": _resnet_taps, "mobilenetv2": _mobilenetv2_taps}


def _taps(arch: str):
    """The feature-map taps of ``arch`` (ValueError for an architecture without them)."""
    if arch not in FEATURE_TAPS:
        raise ValueError(f"feature mimicking knows {', '.join(sorted(FEATURE_TAPS))}; not {arch!r}")
    return FEATURE_TAPS[arch]


def features(arch: str, net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """``net``'s feature maps at strides 4, 8, 16 and 32 for the batch ``x`` (ValueError for an architecture
    without taps)."""
    return _taps(arch)(net, x)


class MimicNet(nn.Module):
    """The student, one 1 x 1 convolution per depth onto the teacher's channels, and the frozen teacher (kept in
    eval mode whatever ``train()`` says: its batch-norm statistics are ImageNet's).  ``forward`` gives
    ``(student maps, standardised teacher maps)``, resized to the teacher's grid where they differ."""

    def __init__(self, arch: str, student: nn.Module, teacher_arch: str, teacher: nn.Module, size: int):
        super().__init__()
        self.arch, self.teacher_arch = arch, teacher_arch
        self.bf16 = False  # bfloat16 autocast of the forward pass (the loss is taken in float32)
        self.student = student
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            probe = torch.zeros(1, 3, size, size)
            s_ch = [f.shape[1] for f in features(arch, student.eval(), probe)]
            t_ch = [f.shape[1] for f in features(teacher_arch, self.teacher, probe)]
        student.train()
        self.adapters = nn.ModuleList(nn.Conv2d(s, t, kernel_size=1) for s, t in zip(s_ch, t_ch))
        for i, c in enumerate(t_ch):
            self.register_buffer(f"mean{i}", torch.zeros(1, c, 1, 1))
            self.register_buffer(f"std{i}", torch.ones(1, c, 1, 1))

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    @torch.no_grad()
    def teacher_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [t.float() for t in features(self.teacher_arch, self.teacher, x)]

    @torch.no_grad()
    def set_statistics(self, batches) -> None:
        """Per-channel mean and standard deviation of the teacher's maps over ``batches`` (image tensors)."""
        per_batch = [[(t.mean((0, 2, 3)), (t**2).mean((0, 2, 3))) for t in self.teacher_maps(x)] for x in batches]
        n = len(per_batch)
        sums = [(sum(b[i][0] for b in per_batch), sum(b[i][1] for b in per_batch)) for i in range(len(per_batch[0]))]
        for i, (m1, m2) in enumerate(sums):
            mean, sq = m1 / n, m2 / n
            getattr(self, f"mean{i}").copy_(mean.view(1, -1, 1, 1))
            getattr(self, f"std{i}").copy_((sq - mean**2).clamp_min(1e-6).sqrt().view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return self._forward(x)

    def _forward(self, x: torch.Tensor):
        maps = self.teacher_maps(x)
        targets = [(t - getattr(self, f"mean{i}")) / getattr(self, f"std{i}") for i, t in enumerate(maps)]
        outs, kept = [], []
        for adapter, s, t in zip(self.adapters, features(self.arch, self.student, x), targets):
            s = adapter(s).float()
            t = t.float()
            if s.shape[-2:] != t.shape[-2:]:
                s = F.interpolate(s, size=t.shape[-2:], mode="bilinear", align_corners=False)
            outs.append(s)
            kept.append(t)
        return outs, kept


def mimic_loss(pred, *_) -> torch.Tensor:
    """The mean squared error between each mapped student map and the standardised teacher map, summed over the
    depths (the labels fastai passes are dummies: the pretraining has none)."""
    outs, targets = pred
    return sum(F.mse_loss(s, t) for s, t in zip(outs, targets))


class CropImages(torch.utils.data.Dataset):
    """Cached face crops as normalised ``size`` x ``size`` tensors, augmented for training (a random crop of 60-100%
    of the area, flips, colour, JPEG, blur), with a dummy label for fastai."""

    def __init__(self, files: list[str], size: int, train: bool, seed: int = 0):
        import albumentations as A

        self.files, self.size, self.train = list(files), size, train
        if train:
            self.tfm = A.Compose(
                [
                    A.RandomResizedCrop(size=(size, size), scale=(0.6, 1.0), ratio=(0.85, 1.18)),
                    A.HorizontalFlip(),
                    A.ColorJitter(0.2, 0.2, 0.2, 0.03, p=0.5),
                    A.ImageCompression(quality_range=(40, 95), p=0.4),
                    A.GaussianBlur(blur_limit=(3, 5), p=0.15),
                ],
                seed=seed,
            )
        else:
            self.tfm = A.Compose([A.Resize(size, size)])
        self.mean = np.array(IMAGENET_MEAN, dtype=np.float32) * 255
        self.std = np.array(IMAGENET_STD, dtype=np.float32) * 255

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from detector.data.crops import read_crop

        img = self.tfm(image=read_crop(self.files[i]))["image"].astype(np.float32)
        img = (img - self.mean) / self.std
        return torch.from_numpy(img.transpose(2, 0, 1).copy()), torch.tensor(0)


def _classifier_keys(net: nn.Module) -> set[str]:
    """The state-dict keys of ``net``'s classifier (not pretrained: they keep their fresh values)."""
    ids = {id(p) for p in net.get_classifier().parameters()}
    return {n for n, p in net.named_parameters() if id(p) in ids}


def pretrain(
    data: list[str],
    out: str | os.PathLike,
    arch: str = "resnet18",
    teacher: str = "mobilenetv2",
    size: int = 112,
    epochs: int = 6,
    lr: float = 2e-3,
    bs: int = 64,
    valid_share: float = 0.05,
    frames: int = 64,
    cache: str | None = None,
    workers: int = 2,
    seed: int = 0,
    precision: str = "bf16",
    limit: int | None = None,
    init: str | os.PathLike | None = None,
    split=None,
    teacher_model: str | None = None,
) -> dict:
    """Pretrain ``arch`` to mimic ``teacher``'s ImageNet feature maps on the face crops of ``data`` (held-out photos
    left out); write the weights and their record into ``out``.  Returns the record.

    :param data: data roots, read as training reads them (their labels are not used)
    :param valid_share: a share of the crops (by item) kept to watch the loss on crops not trained on
    :param limit: use at most this many items (tests)
    :param init: start the student from these earlier ``*_mimic.safetensors`` weights (:func:`load_init`)
    :param split: a :class:`~detector.training.config.TrainConfig` with ``folds`` and ``fold``: pretrain on the crops
        that fold trains on (its recipe's data, frames and margin; ``data`` and ``frames`` are then not used)
    :param teacher_model: with ``split``: a trained detector's card (``{fold}`` replaced by the fold) whose feature
        maps the student copies instead of the ImageNet network's; refused unless its card shows it trained on this
        fold's training items only (:func:`detector.training.distill.check_teacher` and ``check_teacher_groups``).
        The stage is then distillation: the teacher learned from labels, so the student's features carry them.
    """
    from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (patches Learner)
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.learner import Learner
    from fastai.torch_core import set_seed

    from detector.constants import CROP_CACHE, FACE_MARGIN
    from detector.data.crops import extract_many
    from detector.data.datasets import held_out, read_datasets
    from detector.errors import InputError
    from detector.models import registry

    t0 = time.time()
    set_seed(seed, reproducible=True)  # fastai's shuffle (Python's random), numpy and torch
    out = Path(out)
    detector_teacher = None
    if teacher_model is not None:  # a fold's trained detector: checked against the split before any work
        detector_teacher = load_detector_teacher(split, teacher_model, size)
        teacher = detector_teacher.card.architecture
    student_arch, teacher_arch = registry.get(arch), registry.get(teacher)
    if detector_teacher is None and teacher_arch.offline_imagenet is None:
        raise ValueError(f"the teacher must have offline ImageNet weights; {teacher} has none")
    for name in (arch, teacher):  # both must have taps: refused before any crop is made
        _taps(name)
    size = student_arch.check_size(size)
    rng = np.random.default_rng(seed)
    split_record = None
    if split is not None:  # the crops one fold of a recipe trains on, and nothing of its validation
        from detector.training.run import prepare

        if not split.folds:
            raise ValueError("mimic on a recipe's training items needs --folds K and --fold I")
        prep = prepare(split, resolved=(student_arch, size, "none"))
        train_rows = prep.df[~prep.df.is_valid]
        files_by_item = {video: list(g.path) for video, g in train_rows.groupby("video", sort=True)}
        keys = _shuffled(sorted(files_by_item), rng, limit)
        train_files, valid_files = _held_back(keys, files_by_item, valid_share)
        data, frames, n_items = list(split.data), split.frames, len(keys)
        split_record = _split_after_init(init, split_of(split, prep.val_items), set())
        if detector_teacher is not None:
            from dataclasses import replace

            from detector.training.distill import check_teacher_groups

            check_teacher_groups(replace(split, teacher=teacher_model), detector_teacher, prep.val_items)
    else:
        items = _shuffled([it for it in read_datasets(data) if not held_out(it)], rng, limit)
        split_record = _split_after_init(init, None, {str(it.group) for it in items})  # before any crop is cut
        paths = [it.path for it in items]
        crops = extract_many(paths, frames=frames, margin=FACE_MARGIN, cache=cache or CROP_CACHE, workers=workers)
        files_by_item = {path: list(cs.files) for path, cs in crops.items() if not isinstance(cs, str)}  # str: failed
        train_files, valid_files = _held_back(paths, files_by_item, valid_share)
        n_items = len(items)
    if not train_files or not valid_files:
        raise InputError("mimic: no face crops to train on (or none left to watch the loss)")
    out.mkdir(parents=True, exist_ok=True)
    log(f"mimic: {len(train_files)} training crops, {len(valid_files)} watched, from {n_items} items")

    student = registry.build(arch, num_classes=2, size=size)
    init_info = None
    if init is not None:
        loaded = load_init(student, arch, init)
        keep = ("kind", "distilled", "teacher", "teacher_weights", "data", "items", "epochs", "size", "split", "sha256")
        init_info = {k: loaded.get(k) for k in keep}
        init_info["file"] = str(init)
    if detector_teacher is not None:
        teacher_net = detector_teacher.net.to(memory_format=torch.contiguous_format).float()
        card_file = teacher_model.replace("{fold}", str(split.fold))
        teacher_weights = f"the trained detector {detector_teacher.card.name} ({card_file})"
    else:
        teacher_net = registry.build(teacher, num_classes=2, pretrained="imagenet", size=size)
        teacher_weights = "ImageNet (offline, detector.models.pretrained)"
    model = MimicNet(arch, student, teacher, teacher_net, size)
    train_ds, valid_ds = CropImages(train_files, size, True, seed), CropImages(valid_files, size, False)
    picked = rng.choice(len(train_ds), size=min(512, len(train_ds)), replace=False)  # for the teacher's statistics
    first = [train_ds[int(i)][0] for i in picked]
    stat_batches = [torch.stack(first[j : j + bs]) for j in range(0, len(first), bs)]
    model.set_statistics(stat_batches)
    dls = DataLoaders(
        DataLoader(train_ds, bs=bs, shuffle=True, drop_last=True, num_workers=0),
        DataLoader(valid_ds, bs=bs, num_workers=0),
        device="cpu",
    )
    learn = Learner(
        dls,
        model,
        loss_func=mimic_loss,
        splitter=lambda m: [list(m.student.parameters()) + list(m.adapters.parameters())],
        path=out,
        model_dir=".",
    )
    model.bf16 = precision == "bf16"
    t_fit = time.time()
    learn.fit_one_cycle(epochs, lr)
    fit_seconds = time.time() - t_fit
    try:
        import matplotlib

        matplotlib.use("Agg")
        learn.recorder.plot_loss()
        import matplotlib.pyplot as plt

        plt.savefig(out / "losses.png", dpi=80)
        plt.close("all")
    except Exception as e:  # a plot is a nicety: never lose the weights for it
        log(f"warning: no loss plot ({e})")

    from safetensors.torch import save_file

    student.eval()
    classifier = _classifier_keys(student)
    state = {k: v.detach().contiguous() for k, v in student.state_dict().items() if k not in classifier}
    weights = out / f"{arch}{SUFFIX}.safetensors"
    save_file(state, str(weights))
    values = [list(map(float, v)) for v in learn.recorder.values]
    record = {
        "kind": "feature mimicking (label-free)" if detector_teacher is None else "feature distillation (a detector)",
        # a detector's maps were copied here or in a stage these weights continued: never label-free again
        "distilled": detector_teacher is not None or is_distilled(init_info),
        "arch": arch,
        "size": size,
        "teacher": teacher,
        "teacher_weights": teacher_weights,
        "taps": "strides 4, 8, 16, 32",
        "data": list(data),
        "items": n_items,
        "train_crops": len(train_files),
        "watched_crops": len(valid_files),
        "epochs": epochs,
        "lr": lr,
        "batch_size": bs,
        "precision": precision,
        "seed": seed,
        "init": init_info,
        "split": split_record,
        "losses": {"train_last": float(learn.recorder.losses[-1]), "valid_by_epoch": [v[1] for v in values]},
        "fit_seconds": round(fit_seconds, 1),
        "wall_seconds": round(time.time() - t0, 1),
        "threads": torch.get_num_threads(),
        "weights": weights.name,
        "sha256": file_sha256(weights),
    }
    (out / f"{arch}{SUFFIX}.json").write_text(json.dumps(record, indent=2))
    log(json.dumps({k: record[k] for k in ("arch", "teacher", "train_crops", "fit_seconds", "wall_seconds")}))
    return record


def _shuffled(keys: list, rng, limit: int | None) -> list:
    """``keys`` shuffled in place by ``rng`` and cut to ``limit`` (the items a pretraining uses, in its order)."""
    rng.shuffle(keys)
    return keys[:limit] if limit else keys


def _held_back(keys: list, files_by_item: dict, valid_share: float) -> tuple[list, list]:
    """(training crops, watched crops): the crops of the first ``valid_share`` of ``keys`` (at least one item) are
    kept to watch the loss on; an item without crops counts, as it was drawn."""
    n_valid = max(1, int(round(len(keys) * valid_share)))
    valid = [f for k in keys[:n_valid] for f in files_by_item.get(k, ())]
    train = [f for k in keys[n_valid:] for f in files_by_item.get(k, ())]
    return train, valid


def is_distilled(record) -> bool:
    """Whether weights with this record (a ``*_mimic.json``, or the ``init`` part of one) copied a trained detector's
    feature maps, in their own stage or one they continued (``distilled``, or the stage's ``kind``)."""
    if not isinstance(record, dict):
        return False
    parent = record.get("init") if isinstance(record.get("init"), dict) else {}
    kinds = (str(r.get("kind", "")) for r in (record, parent))
    return bool(record.get("distilled") or parent.get("distilled")) or any(
        k.startswith("feature distillation") for k in kinds
    )


def _split_after_init(init, split_record: dict | None, groups: set[str]) -> dict | None:
    """The split this pretraining records, given the one it ``--init`` weights were made on: ValueError (one line)
    for weights of another split or fold; a stage without a split (``split_record`` None) from weights of one fold
    keeps that fold's split, refused where its items (``groups``) include the fold's validation groups or the
    record does not list them (it would pass as having seen only the fold's training items)."""
    if init is None:
        return split_record
    splits = _init_splits(init_record(init))
    if split_record is not None:
        if any(not same_split(s, split_record) for s in splits):
            raise ValueError(f"--init {init}: pretrained on another split or fold than this one")
        return split_record
    if not splits:
        return None
    theirs = splits[0]
    ids = theirs.get("validation_group_ids")
    again = f"continue it on that fold (--recipe R --folds {theirs.get('folds')} --fold {theirs.get('fold')})"
    if not isinstance(ids, list):
        raise ValueError(f"--init {init}: pretrained on one fold's training items, whose validation groups its "
                         f"record does not list: {again}")  # fmt: skip
    seen = sorted(groups & set(map(str, ids)))
    if seen:
        raise ValueError(
            f"--init {init}: pretrained on fold {theirs.get('fold')}'s training items, and {len(seen)} of these items "
            f"are in that fold's validation groups (e.g. {seen[0]}): {again}"
        )
    return theirs


def load_detector_teacher(split, teacher_model: str, size: int):
    """The trained detector ``mimic --teacher-model`` copies (``{fold}`` in the path becomes the fold), checked before
    any work; ValueError (one line) unless its card shows it trained on this fold's training items only (its split,
    data roots and validation groups recorded, and the same as this fold's: :func:`detector.training.distill.
    check_teacher`, where a missing record only warns, is strict here), and unless it takes the crops as ``mimic``
    makes them (ImageNet normalisation, ``size`` pixels: its features are those it learnt at its own size)."""
    from dataclasses import replace

    from detector.errors import NoModelError
    from detector.models.card import ModelCard
    from detector.models.store import resolve
    from detector.training.distill import check_teacher, load_teacher

    if split is None or not split.folds:
        raise ValueError("--teacher-model needs --recipe R --folds K --fold I (the teacher's own fold)")
    cfg = replace(split, teacher=teacher_model)
    path = cfg.teacher_card()
    try:
        card = ModelCard.from_file(resolve(path))
    except NoModelError as e:
        raise ValueError(f"--teacher-model {path}: {e}") from None
    gaps = check_teacher(cfg, card)  # raises for another fold, split seed or data
    trained = card.trained if isinstance(card.trained, dict) else {}
    tsplit = trained.get("split") if isinstance(trained.get("split"), dict) else {}
    if gaps or not isinstance(tsplit.get("val_groups"), list):
        raise ValueError(
            f"--teacher-model {path}: its card does not record its split, data roots and validation groups, so it "
            "cannot be shown that it never trained on this fold's validation items"
        )
    if card.members:
        raise ValueError(f"--teacher-model {path}: an ensemble; give the fold's own model")
    if not (np.allclose(card.mean, IMAGENET_MEAN, atol=1e-4) and np.allclose(card.std, IMAGENET_STD, atol=1e-4)):
        raise ValueError(f"--teacher-model {path}: it normalises crops with another mean and std than ImageNet's")
    if int(card.input_size) != int(size):
        raise ValueError(
            f"--teacher-model {path}: it scores faces at {card.input_size} px; give --size {card.input_size}"
        )
    return load_teacher(cfg)


def split_of(cfg, val_items) -> dict:
    """What a fold-restricted pretraining records of its split: what :func:`check_init_split` and
    :func:`check_init_groups` compare (the validation groups themselves, sorted, beside their number)."""
    groups = sorted({str(it.group) for it in val_items})
    return {
        "folds": int(cfg.folds),
        "fold": int(cfg.fold),
        "split_seed": int(cfg.effective_split_seed),
        "data": sorted(os.path.normpath(d) for d in cfg.data),
        "validation_groups": len(groups),
        "validation_group_ids": groups,
    }


def _init_splits(record) -> list[dict]:
    """The splits a pretraining's record names: its own and its ``--init``'s (a chain of stages), each a dict."""
    if not isinstance(record, dict):
        return []
    found = [record["split"]] if isinstance(record.get("split"), dict) and record["split"] else []
    parent = record.get("init")
    if isinstance(parent, dict) and isinstance(parent.get("split"), dict) and parent["split"]:
        found.append(parent["split"])
    return found


def _same_data(a, b) -> bool:
    from detector.training.distill import _same_roots

    return isinstance(a, list) and isinstance(b, list) and _same_roots([str(x) for x in a], [str(x) for x in b])


def same_split(a: dict, b: dict) -> bool:
    """Whether two recorded splits are one: folds, fold, split seed and data roots (as written or resolved), and
    the validation groups where both records list them."""
    if any(a.get(k) != b.get(k) for k in ("folds", "fold", "split_seed")):
        return False
    if not _same_data(a.get("data"), b.get("data")):
        return False
    ids_a, ids_b = a.get("validation_group_ids"), b.get("validation_group_ids")
    return ids_a is None or ids_b is None or sorted(ids_a) == sorted(ids_b)


def check_init_split(cfg, record: dict) -> None:
    """ValueError (one line) where ``--init`` weights were pretrained on one fold's training items (their record's
    ``split``, or that of the pretraining they continued) and this run is not that fold of that split of the same
    data: its validation items would have been seen.  Weights pretrained without a split (on photos) pass.  The
    groups themselves are compared after the split, by :func:`check_init_groups`."""
    mine = {
        "folds": cfg.folds or None,
        "fold": cfg.fold if cfg.folds else None,
        "split_seed": cfg.effective_split_seed,
        "data": sorted(os.path.normpath(d) for d in cfg.data),
    }
    for split in _init_splits(record):
        theirs = {k: split.get(k) for k in mine}
        differ = [k for k in mine if (not _same_data(mine[k], theirs[k]) if k == "data" else mine[k] != theirs[k])]
        if differ:
            named = ", ".join(f"{k} {theirs[k]} (this run: {mine[k]})" for k in differ)
            raise ValueError(
                f"--init {cfg.init_file()}: pretrained on the training items of another split ({named}); its crops "
                "would include this run's validation items"
            )


def check_init_groups(cfg, record: dict, val_items) -> None:
    """After the split: ValueError (one line) where a fold pretraining's record lists its validation groups and one
    of this run's validation groups is not among them (the pretraining trained on it, if without labels)."""
    mine = {str(it.group) for it in val_items}
    for split in _init_splits(record):
        ids = split.get("validation_group_ids")
        if not isinstance(ids, list):
            continue
        seen = sorted(mine - set(map(str, ids)))
        if seen:
            raise ValueError(
                f"--init {cfg.init_file()}: pretrained on {len(seen)} of this run's validation groups "
                f"(e.g. {seen[0]}); its crops included them"
            )


def init_record(path: str | os.PathLike) -> dict:
    """The record beside ``*_mimic.safetensors`` weights (ValueError, one line, for none or an unreadable one)."""
    path = Path(path)
    record_path = path.with_suffix(".json")
    if not record_path.is_file():
        raise ValueError(f"--init {path}: no record {record_path.name} beside it (deepfake-lens mimic writes both)")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"--init {path}: unreadable record {record_path.name} ({e})") from None
    if not isinstance(record, dict):
        raise ValueError(f"--init {path}: the record {record_path.name} is not a JSON object")
    return record


def load_init(net: nn.Module, arch: str, path: str | os.PathLike) -> dict:
    """Load the body weights of ``path`` (a ``*_mimic.safetensors`` with its ``.json`` record beside it) into
    ``net`` (an ``arch`` network); the classifier keeps its fresh values.  Returns the record.  ValueError (one line)
    for a missing record, another architecture, a hash that is not the recorded one, or weights that do not fit."""
    from safetensors.torch import load_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"--init {path}: not a .safetensors file (deepfake-lens mimic writes one)")
    if not path.is_file():
        raise ValueError(f"--init {path}: no such file")
    record = init_record(path)
    if record.get("arch") != arch:
        raise ValueError(f"--init {path}: weights of {record.get('arch')!r}, not of --arch {arch}")
    if record.get("sha256") != file_sha256(path):
        raise ValueError(f"--init {path}: the file is not the one its record describes (SHA-256 differs)")
    try:
        state = load_file(str(path))
        missing, unexpected = net.load_state_dict(state, strict=False)
    except (OSError, RuntimeError, ValueError) as e:  # an unreadable file, or tensors of other shapes
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"--init {path}: weights do not fit {arch} ({first})") from None
    classifier = _classifier_keys(net)
    missing = [k for k in missing if k not in classifier]
    if missing or unexpected:
        raise ValueError(
            f"--init {path}: weights do not fit {arch} ({len(missing)} missing, {len(unexpected)} unexpected)"
        )
    return record


def main(argv=None) -> int:
    from detector.errors import InputError

    p = argparse.ArgumentParser(
        prog="deepfake-lens mimic",
        description="Label-free pretraining: a network without offline ImageNet weights learns to reproduce the "
        "feature maps of one with them, on face crops (then: train --init OUT/ARCH_mimic.safetensors)",
    )
    p.add_argument("--data", nargs="+", help="data roots (their labels are not used)")
    p.add_argument(
        "--recipe",
        help="instead of --data: the crops that fold --fold of this training recipe trains on (with --folds K)",
    )
    p.add_argument("--folds", type=int, default=None, help="with --recipe: the number of folds (default: the recipe's)")
    p.add_argument("--fold", type=int, default=None, help="with --recipe: the fold whose training items to use")
    p.add_argument("--init", default=None, help="start from these *_mimic.safetensors weights (an earlier pretraining)")
    p.add_argument("--out", required=True, help="folder for the weights, their record and the loss plot")
    p.add_argument("--arch", default="resnet18", choices=sorted(FEATURE_TAPS), help="the student")
    p.add_argument("--teacher", default="mobilenetv2", help="an architecture with offline ImageNet weights")
    p.add_argument(
        "--teacher-model",
        default=None,
        help="with --recipe: copy this trained detector's feature maps instead (a card; '{fold}' becomes --fold); "
        "refused unless it trained on this fold's training items only",
    )
    p.add_argument("--size", type=int, default=112, help="input size in pixels")
    p.add_argument("--epochs", type=int, default=6, help="passes over the training crops (default 6)")
    p.add_argument("--lr", type=float, default=2e-3, help="the one-cycle schedule's peak learning rate (default 2e-3)")
    p.add_argument("--bs", type=int, default=64, help="batch size")
    p.add_argument("--frames", type=int, default=64, help="frames sampled per video (photos: one)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the draw and the training (default 0)")
    p.add_argument(
        "--precision", choices=["bf16", "fp32"], default="bf16", help="bf16: bfloat16 training passes (default)"
    )
    p.add_argument("--limit", type=int, default=None, help="use at most N items")
    p.add_argument("--cache", default=None, help="crop cache folder (default: train's, see detector.constants)")
    p.add_argument("--workers", type=int, default=2, help="processes for crop extraction")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    args = p.parse_args(argv)
    problems = [
        (not args.data and not args.recipe, "give --data ROOT... or --recipe R --fold I"),
        (bool(args.data and args.recipe), "--data or --recipe, not both (the recipe names its data)"),
        (bool(args.recipe) and args.fold is None, "--recipe needs --fold I (and the recipe's --folds K, or one given)"),
        (not args.recipe and (args.fold is not None or args.folds is not None), "--folds and --fold go with --recipe"),
        (bool(args.teacher_model) and not args.recipe, "--teacher-model goes with --recipe R --folds K --fold I"),
        (args.threads < 0, "--threads must be 0 (all cores) or more"),
        (args.limit is not None and args.limit < 1, "--limit must be at least 1"),
        *((getattr(args, n) < 1, f"--{n} must be at least 1") for n in ("epochs", "bs", "size", "frames", "workers")),
        (not args.lr > 0, "--lr must be positive"),
    ]
    for bad, message in problems:
        if bad:
            print(f"error: {message}", file=sys.stderr)
            return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    split = None
    if args.recipe:  # the fold's own config, as train reads it: a bad recipe or fold is a usage error (exit 2)
        from detector.training.config import parse_config

        argv_split = ["--recipe", args.recipe, "--fold", str(args.fold), "--init", ""]
        if args.folds is not None:
            argv_split += ["--folds", str(args.folds)]
        if args.cache:
            argv_split += ["--cache", args.cache]
        argv_split += ["--workers", str(args.workers)]
        split = parse_config(argv_split, prog="deepfake-lens mimic")
    try:
        options = ("arch", "teacher", "size", "epochs", "lr", "bs", "frames", "seed", "precision", "limit", "cache")
        pretrain(
            args.data or [],
            args.out,
            workers=args.workers,
            init=args.init,
            split=split,
            teacher_model=args.teacher_model,
            **{k: getattr(args, k) for k in options},
        )
    except (InputError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
