"""Train a face classifier with fastai and export it as safetensors + model card.

    python -m detector.train --data ../shared/data/ffpp --arch efficientnet_lite0 --pretrained imagenet \\
        --size 160 --epochs 6 --lr-find --out runs/effnet

Steps, top to bottom:
1. read the dataset (any layout :mod:`detector.datasets` accepts) and split it by
   pair group (a fake and its target real never sit on both sides);
2. extract face crops with the pipeline's own decoder and detector (cached on disk,
   outside the repository: :mod:`detector.crops`);
3. build fastai DataLoaders: albumentations augmentations on training crops,
   optional self-blended pseudo-fakes (``--sbi``), ImageNet normalisation;
4. ``lr_find`` (plot saved) then ``fine_tune`` (pretrained: frozen body first, then
   discriminative rates) or ``fit_one_cycle`` (from scratch); class balance by loss weights;
5. evaluate on validation at frame and video level, save plots (lr_find, losses,
   confusion matrix, top losses), metrics.json, and the model (safetensors + card).
``--install`` copies the model into ``assets/models`` (``--default`` makes it the default).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402

from .calibration import calibrate_threshold, false_alarm_table  # noqa: E402
from .metrics import metrics_block  # noqa: E402


def augmentations(size: int, downscale: float = 0.0, seed: int | None = None):
    """Training augmentations (albumentations), after the seeds' recipe for face-swap detection.

    ``seed``: albumentations draws from its own generator, which ``random.seed`` / ``torch.manual_seed`` do not
    reach; unseeded (None) it starts from fresh OS entropy, so two runs of one command augment differently.

    ``downscale``: probability of shrinking the crop to 35-70% of its side and back (a low-resolution source,
    upscaled), before the compression, for both classes, so that a blurry real face is not a fake by its blur."""
    import albumentations as A
    import cv2

    return A.Compose([
        *([A.Downscale(scale_range=(0.35, 0.7), interpolation_pair={"downscale": cv2.INTER_AREA,
                                                                    "upscale": cv2.INTER_LINEAR}, p=downscale)]
          if downscale > 0 else []),
        A.ImageCompression(quality_range=(60, 100), p=0.5),
        A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MedianBlur(blur_limit=3), A.Blur(blur_limit=3)], p=0.15),
        A.HorizontalFlip(p=0.5),
        A.OneOf([A.RandomRotate90(p=1.0), A.Transpose(p=1.0)], p=0.1),
        A.Affine(translate_percent=(-0.06, 0.06), scale=(0.9, 1.1), rotate=(-10, 10), border_mode=cv2.BORDER_CONSTANT,
                 p=0.5),  # ShiftScaleRotate
        A.OneOf([A.CLAHE(p=1.0), A.Sharpen(p=1.0), A.Emboss(p=1.0), A.RandomBrightnessContrast(p=1.0)], p=0.5),
        A.HueSaturationValue(hue_shift_limit=10, sat_shift_limit=20, val_shift_limit=10, p=0.3),
        A.ToGray(p=0.05),
        A.CropAndPad(percent=(-0.1, 0.1), keep_size=True, p=0.3),
        A.Resize(size, size, interpolation=cv2.INTER_AREA),
    ], seed=seed)


def _fastai_transforms(size: int, sbi_p: float, vocab: list[str], seed: int, downscale: float = 0.0):
    """Item transforms for fastai: self-blending (train only), albumentations (train) / resize (valid)."""
    import cv2
    from fastai.vision.all import ItemTransform, PILImage, RandTransform, TensorCategory

    train_aug = augmentations(size, downscale, seed)

    class AlbumentationsTransform(RandTransform):
        "Albumentations on training images; a plain resize on validation."
        split_idx, order = None, 2

        def before_call(self, b, split_idx):
            self.idx = split_idx

        def encodes(self, img):  # no annotation: fastai's dispatch cannot resolve postponed (string) hints
            if not isinstance(img, PILImage):
                return img
            arr = np.asarray(img)
            if self.idx == 0:
                out = train_aug(image=arr)["image"]
            else:
                out = cv2.resize(arr, (size, size), interpolation=cv2.INTER_AREA)
            return PILImage.create(out)

    class SelfBlend(ItemTransform):
        "Turn a real training crop into a self-blended pseudo-fake with probability p (Shiohara & Yamasaki 2022)."
        split_idx, order = 0, 1

        def __init__(self, p: float):
            from .sbi import SelfBlender

            self.p, self.blender = p, SelfBlender(seed=seed)
            self.real, self.fake = vocab.index("real"), vocab.index("fake")
            self._landmarks: dict[int, np.ndarray | None] = {}

        def encodes(self, xy):
            img, y = xy
            if int(y) != self.real or random.random() >= self.p:
                return xy
            arr = np.asarray(img)
            key = hash(arr.tobytes()[::997])
            if key not in self._landmarks:
                self._landmarks[key] = self.blender.landmarks(arr)
            if self._landmarks[key] is None:
                return xy
            out = self.blender.blend(arr, landmarks=self._landmarks[key])
            if out is None:
                return xy
            return PILImage.create(out[0]), TensorCategory(self.fake)

    tfms = [AlbumentationsTransform()]
    if sbi_p > 0:
        tfms.insert(0, SelfBlend(sbi_p))
    return tfms


class CropLoader:
    """fastai's ``get_x``: a table row -> its crop as an RGB array, decoded once and kept in memory.

    Decoding the PNG was a third of the data time of every epoch (about 3.5 of 10 ms per crop).  Training crops
    are kept shrunk to 1.25x the input size (augmenting and self-blending full 320-px crops cost 3x more);
    validation crops are kept whole, so that they are resized exactly as ``Classifier.preprocess`` does.
    About 120 kB per training crop at 160 px and 300 kB per validation crop: ~1 GB at 64 frames per video."""

    def __init__(self, size: int):
        self.side, self._memo = int(round(1.25 * size)), {}

    def __call__(self, row) -> np.ndarray:
        arr = self._memo.get(row["path"])
        if arr is None:
            import cv2

            from .crops import read_crop

            arr = read_crop(row["path"])
            if not row["is_valid"] and max(arr.shape[:2]) > self.side:
                arr = cv2.resize(arr, (self.side, self.side), interpolation=cv2.INTER_AREA)
            arr.setflags(write=False)  # shared by every epoch: a transform must not change it in place
            self._memo[row["path"]] = arr
        return arr


def keep_frozen(modules):
    """A fastai callback that keeps ``modules`` frozen through ``fine_tune``'s ``unfreeze()`` (which would train
    every body parameter, batch norms included).  With no parameter before them needing a gradient, autograd
    stops the backward pass above them.  Their batch-norm statistics still follow the data in training mode."""
    from fastai.callback.core import Callback

    class KeepFrozen(Callback):
        order = 0

        def before_fit(self):
            for m in modules:
                for p in m.parameters():
                    p.requires_grad_(False)
                    p.grad = None

    return KeepFrozen()


def weight_average(decay: float):
    """A fastai callback keeping an exponential moving average of the weights (and batch-norm statistics) over
    training steps, as timm's ``ModelEmaV3`` does: ``avg = decay * avg + (1 - decay) * w`` after each step, with
    timm's warm-up ``min(decay, (1 + n) / (10 + n))``.  It never changes the training itself: read the average
    from ``cb.average`` after the fit."""
    import copy

    import torch
    from fastai.callback.core import Callback

    class WeightAverage(Callback):
        order = 90  # after the optimiser step

        def __init__(self):
            self.average, self.updates, self.pairs = None, 0, []

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
            d = min(decay, (1 + self.updates) / (10 + self.updates))
            for a, w in self.pairs:
                if a.dtype.is_floating_point:
                    a.lerp_(w, 1 - d)
                else:
                    a.copy_(w)

    return WeightAverage()


def lr_find(learn, num_it: int, suggest_funcs) -> dict[str, float]:
    """fastai's ``lr_find``, then each suggestion rule that has enough points (fastai's own call fails as a whole
    when one rule does: ``slide`` needs ~17 losses, and the finder stops early when the loss diverges).
    Plots the curve with the suggestions into the current matplotlib figure."""
    import torch

    learn.lr_find(num_it=num_it, suggest_funcs=None, show_plot=False)
    rec = learn.recorder
    lrs = torch.tensor(rec.lrs[num_it // 10:-5])
    losses = torch.tensor([float(v) for v in rec.losses[num_it // 10:-5]])
    nan = torch.nonzero(torch.isnan(losses)).flatten()
    if len(nan):  # the loss diverged: keep what came before, as fastai does
        lrs, losses = lrs[: nan[0]], losses[: nan[0]]
    found, points, names = {}, [], []
    for func in suggest_funcs:
        try:
            value, point = func(lrs, losses, num_it)
        except (IndexError, ValueError, RuntimeError):
            continue  # not enough points for this rule
        found[func.__name__] = float(value)
        points.append(point)
        names.append(func.__name__)
    rec.plot_lr_find(suggestions=points, nms=names)
    return found


def build_table(items, crops, val_ids: set[str]):
    import pandas as pd

    rows = []
    for it in items:
        cs = crops.get(it.path)
        if cs is None or isinstance(cs, str):
            continue
        for f, t in zip(cs.files, cs.times):
            rows.append({"path": f, "label": "fake" if it.label == 1 else "real", "video": it.path, "time": t,
                         "group": it.group, "method": it.method or "original", "is_valid": it.path in val_ids,
                         "source": it.source or "data", "kind": it.kind, "subgroup": it.subgroup or ""})
    return pd.DataFrame(rows)


def sampling_weights(train_df) -> tuple[np.ndarray, dict]:
    """Per-crop sampling weights for a balanced epoch, and the share of the epoch each (label, source) gets.

    Half of an epoch's draws are real crops and half fake ones; within a class, each source (``ffpp``,
    ``ffpp_c40``, ``ffpp_c40:actors``, ``faces_utk``...) gets a share in proportion to the square root of its
    crop count, so thousands of photos count more than a few clips, but cannot drown them."""
    shares: dict[str, float] = {}
    w = np.zeros(len(train_df), dtype=np.float64)
    for label, g in train_df.groupby("label"):
        counts = g.groupby("source").size()
        root = np.sqrt(counts.astype(float))
        for source, n in counts.items():
            share = 0.5 * float(root[source] / root.sum()) if train_df["label"].nunique() > 1 else float(
                root[source] / root.sum())
            shares[f"{label}:{source}"] = round(share, 4)
            w[((train_df["label"] == label) & (train_df["source"] == source)).values] = share / n
    return w, shares


def balanced_dl_type():
    """A fastai TfmdDL that draws its training epoch with replacement by ``wgts`` (fastai's WeightedDL, with the
    epoch's length ``n`` free of the data set's: a fixed budget of crops per epoch however many there are)."""
    from fastai.callback.data import WeightedDL

    class BalancedDL(WeightedDL):
        def get_idxs(self):
            if self.n == 0:
                return []
            if not self.shuffle:
                return list(range(min(self.n, len(self.dataset))))
            return list(np.random.choice(len(self.dataset), self.n, p=self.wgts))

    return BalancedDL


def video_scores(df_valid, fake_prob: np.ndarray):
    """Per-video scores with the pipeline's aggregation rules."""
    from .report import confident_rule, mean_rule

    d = df_valid.assign(p=fake_prob)
    out = []
    for video, g in d.groupby("video", sort=True):
        first = g.iloc[0]
        out.append({"video": video, "label": int(first["label"] == "fake"), "method": first["method"],
                    "group": first["group"], "frames": len(g), "confident": confident_rule(g["p"].values),
                    "mean": mean_rule(g["p"].values), "source": first.get("source", ""),
                    "kind": first.get("kind", "video"), "subgroup": first.get("subgroup", "") or None})
    return out


def metrics_by_source(vids, threshold: float = 0.5) -> dict:
    """Per data source: metrics where it holds both classes, false alarms where it holds reals only."""
    out = {}
    for source in sorted({v.get("source", "") for v in vids}):
        sub = [v for v in vids if v.get("source", "") == source]
        out[source or "data"] = video_metrics(sub, ci=True) if len({v["label"] for v in sub}) == 2 else \
            false_alarm_table(sub, threshold)[-1]
    return out


def false_alarms_by_subgroup(vids, threshold: float = 0.5) -> list[dict]:
    """False alarms of the real photos per population group (UTKFace's race field), where the data names one."""
    photos = [v for v in vids if v.get("kind") == "image" and v["label"] == 0]
    return false_alarm_table(photos, threshold) if photos else []


def describe_data(items, heldout, roots) -> str:
    """One line for the model card: what the model was trained and validated on."""
    from collections import Counter

    parts = []
    for source, n in sorted(Counter(it.source for it in items).items()):
        sub = [it for it in items if it.source == source]
        kind = "photos" if all(it.kind == "image" for it in sub) else "videos"
        parts.append(f"{source}: {n} {kind} ({sum(it.label == 0 for it in sub)} real, "
                     f"{sum(it.label == 1 for it in sub)} fake)")
    held = f"; {len(heldout)} photos held out of training for testing" if heldout else ""
    return "; ".join(parts) + held + " (" + " ".join(map(str, roots)) + ")"


def video_metrics(vids, rule: str = "confident", ci: bool = False) -> dict:
    """:func:`metrics_block` of per-video scores (:func:`video_scores`' dicts) under one aggregation rule."""
    return metrics_block([v["label"] for v in vids], [v[rule] for v in vids], ci=ci)


def video_metrics_by_method(vids, ci: bool = False) -> dict:
    """Each manipulation method's fakes against all the reals (fakes of no named method are left out)."""
    methods = sorted({v["method"] for v in vids if v["label"] == 1} - {"original"})
    return {m: video_metrics([v for v in vids if v["label"] == 0 or v["method"] == m], ci=ci) for m in methods}


def parse_args(argv=None):
    from .architectures import REGISTRY

    p = argparse.ArgumentParser(prog="python -m detector.train", description="Train a face classifier with fastai")
    p.add_argument("--data", required=True, nargs="+",
                   help="dataset root(s) (FaceForensics++ trees, DFDC metadata.json, real/+fake/ folders of videos "
                        "or photos); several are read as one set, FF++ twins at two compressions in one group")
    p.add_argument("--arch", required=True, choices=sorted(REGISTRY))
    p.add_argument("--size", type=int, help="input size in pixels (default: the architecture's)")
    p.add_argument("--epochs", type=int, default=5, help="epochs after the frozen epoch (pretrained) or in all")
    p.add_argument("--freeze-epochs", type=int, default=1, help="epochs with the body frozen (pretrained only)")
    p.add_argument("--freeze-stages", type=int, default=0, metavar="K",
                   help="pretrained only: keep the stem and first K stages at their ImageNet values throughout "
                        "(no backward pass through them: faster steps on CPU)")
    p.add_argument("--lr", type=float, help="learning rate (default: lr_find's suggestion with --lr-find, else 1e-3)")
    p.add_argument("--lr-mult", type=float, default=10,
                   help="fine_tune: the body learns this many times slower than the head (fastai's default, 100, "
                        "left the body nearly frozen here: two layer groups, so the body gets the slowest rate)")
    p.add_argument("--lr-find", action="store_true", help="run fastai's lr_find, save its plot, use its suggestion")
    p.add_argument("--lr-find-steps", type=int, default=60, help="mini-batches lr_find tries (fastai's default: 100)")
    p.add_argument("--pretrained", default="auto", choices=["auto", "none", "imagenet", "timm"],
                   help="auto: offline ImageNet weights where the architecture has them, else none")
    p.add_argument("--frames", type=int, default=32, help="frames sampled per video for crops")
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0, help="seed of training (initial head, batch order, augmentations)")
    p.add_argument("--split-seed", type=int, default=None,
                   help="seed of the train/validation split (default: --seed); fix it to compare training seeds "
                        "on one validation set")
    p.add_argument("--folds", type=int, default=0, metavar="K",
                   help="cross-validation: deal the pair groups into K folds (by --split-seed) and validate on "
                        "fold --fold, training on the rest (0: one split by --val-fraction); pool the K runs "
                        "with python -m detector.crossval")
    p.add_argument("--fold", type=int, default=0, metavar="I", help="with --folds: the validation fold, 0 to K-1")
    p.add_argument("--sbi", type=float, default=0.0, metavar="P",
                   help="turn a real training crop into a self-blended pseudo-fake with probability P (0: off)")
    p.add_argument("--downscale", type=float, default=0.0, metavar="P",
                   help="shrink a training crop to 35-70%% of its side and back with probability P (0: off)")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="export an exponential moving average of the weights over training steps (e.g. 0.998; "
                        "0: off); metrics.json also scores the last weights, for comparison")
    p.add_argument("--epoch-size", type=int, default=0, metavar="N",
                   help="draw N training crops per epoch, balanced by class and source (0: every crop once, "
                        "unbalanced, with class weights in the loss)")
    p.add_argument("--fit-valid", type=int, default=0, metavar="N",
                   help="score at most N validation crops after each epoch, for the curves (0: all); the final "
                        "metrics always use them all")
    p.add_argument("--target-fa", type=float, default=0.05,
                   help="false-alarm rate on the validation reals that sets the card's threshold (default 0.05)")
    p.add_argument("--max-train-frames", type=int, default=0,
                   help="use at most this many crops per training video (0: all); validation always uses all")
    p.add_argument("--out", default=None, help="run folder (default runs/<arch>-<time>)")
    p.add_argument("--cache", default=None, help="crop cache folder (default ~/.cache/deepfake-detector/crops)")
    p.add_argument("--workers", type=int, default=2, help="processes for crop extraction")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--half", action="store_true", help="store the weights as float16")
    p.add_argument("--name", help="model name in the card (default: the architecture)")
    p.add_argument("--install", action="store_true", help="copy the exported model into assets/models")
    p.add_argument("--default", action="store_true", help="with --install: make it the default model")
    args = p.parse_args(argv)
    if not 0 <= args.downscale <= 1 or not 0 <= args.sbi <= 1:
        p.error("--downscale and --sbi are probabilities: between 0 and 1")
    if not 0 <= args.ema < 1:
        p.error("--ema is a decay: at least 0 and below 1 (0.998 averages over about the last 500 steps)")
    if args.folds and not 0 <= args.fold < args.folds or args.folds == 1 or args.fold and not args.folds:
        p.error("--fold I needs --folds K with K >= 2 and 0 <= I < K")
    if args.epoch_size < 0 or args.fit_valid < 0 or not 0 < args.target_fa < 1:
        p.error("--epoch-size and --fit-valid are counts (0 or more); --target-fa is a rate between 0 and 1")
    if args.lr_find_steps < 10:
        p.error("--lr-find-steps must be at least 10 (lr_find drops the first tenth and the last 5 losses)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from fastai.vision.all import (CategoryBlock, ClassificationInterpretation, ColReader, ColSplitter,
                                   CrossEntropyLossFlat, DataBlock, ImageBlock, Learner, Normalize, RocAucBinary,
                                   accuracy, imagenet_stats, minimum, set_seed, slide, steep, valley)

    from . import architectures
    from .crops import DEFAULT_CACHE, extract_many
    from .datasets import fold_by_group, held_out, read_datasets, split_by_group
    from .errors import InputError
    from .model import ModelCard, save_model

    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(args.seed, reproducible=True)
    arch = architectures.get(args.arch)
    size = args.size or arch.default_size
    pretrained = args.pretrained
    if pretrained == "auto":
        pretrained = "imagenet" if arch.offline_imagenet else "none"
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    if args.freeze_stages:
        try:  # checked on a throwaway net now, not after the crop extraction
            if pretrained == "none":
                raise ValueError("--freeze-stages keeps pretrained layers at their values; from scratch it would "
                                 "keep random ones")
            arch.early_modules(arch.build(num_classes=2, size=size), args.freeze_stages)
        except ValueError as e:
            log(f"error: {e}")
            return 2
    out = Path(args.out or f"runs/{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)

    split_seed = args.seed if args.split_seed is None else args.split_seed
    try:
        items = read_datasets(args.data)
        heldout = [it for it in items if held_out(it)]  # a fixed part of each photo folder: never trained on
        items = [it for it in items if not held_out(it)]
        if args.folds:
            val_items = fold_by_group(items, args.folds, seed=split_seed)[args.fold]
            val_groups = {it.group for it in val_items}
            train_items = [it for it in items if it.group not in val_groups]
        else:
            train_items, val_items = split_by_group(items, val_fraction=args.val_fraction, seed=split_seed)
    except (InputError, ValueError) as e:
        log(f"error: {e}")
        return 2
    log(f"{len(items)} videos and photos: {len(train_items)} train, {len(val_items)} validation "
        f"({len({i.group for i in val_items})} validation groups); {len(heldout)} photos held out of every run")

    t0 = time.time()
    crops = extract_many([it.path for it in items], frames=args.frames, cache=args.cache or DEFAULT_CACHE,
                         workers=args.workers)
    failed = {k: v for k, v in crops.items() if isinstance(v, str)}
    for v in failed.values():
        log(f"skipped: {v}")
    t_crops = time.time() - t0
    df = build_table(items, crops, {it.path for it in val_items})
    if args.max_train_frames:
        keep = df[~df.is_valid].groupby("video", group_keys=False).apply(
            lambda g: g.iloc[np.linspace(0, len(g) - 1, min(len(g), args.max_train_frames)).round().astype(int)])
        df = df[df.is_valid].pipe(lambda v: __import__("pandas").concat([keep, v])).reset_index(drop=True)
    log(f"crops: {int((~df.is_valid).sum())} train, {int(df.is_valid.sum())} validation ({t_crops:.0f} s)")

    vocab = ["fake", "real"]  # fastai sorts the vocab: logits come in this order
    dblock = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=vocab)),
        get_x=CropLoader(size), get_y=ColReader("label"), splitter=ColSplitter("is_valid"),
        item_tfms=_fastai_transforms(size, args.sbi, vocab, args.seed, args.downscale),
        batch_tfms=[Normalize.from_stats(*imagenet_stats)],
    )
    shares = None
    if args.epoch_size:  # a balanced epoch of a fixed size: each class half, each source by its square root
        wgts, shares = sampling_weights(df[~df.is_valid].reset_index(drop=True))
        dls = dblock.datasets(df).dataloaders(bs=args.bs, num_workers=0, dl_type=balanced_dl_type(),
                                              dl_kwargs=({"wgts": wgts, "n": args.epoch_size}, {}),
                                              after_item=dblock.item_tfms, after_batch=dblock.batch_tfms)
        log(f"epoch: {args.epoch_size} crops drawn by share {shares}")
        n_real = sum(v for k, v in shares.items() if k.startswith("real:"))
        n_fake, n_train = 1.0 - n_real, 1.0
    else:
        dls = dblock.dataloaders(df, bs=args.bs, num_workers=0)
        train_labels = df[~df.is_valid]["label"].value_counts()
        n_real, n_fake = train_labels.get("real", 1), train_labels.get("fake", 1)
        n_train = n_real + n_fake
    assert list(dls.vocab) == vocab, dls.vocab
    full_valid = dls.valid
    if args.fit_valid and df.is_valid.sum() > args.fit_valid:  # a fixed sample of the validation crops per epoch
        sample = df[df.is_valid].sample(n=args.fit_valid, random_state=args.seed)
        dls.loaders[1] = dls.test_dl(sample, with_labels=True)
    # class balance: weight each class by the inverse of its share of training crops
    # (with --sbi P, a share P of the real crops arrives as pseudo-fakes: count them as such)
    counts = {"real": n_real * (1 - args.sbi), "fake": n_fake + n_real * args.sbi}
    weights = torch.tensor([n_train / (2 * max(counts[c], 1e-6)) for c in vocab], dtype=torch.float32)
    log(f"class weights {dict(zip(vocab, weights.tolist()))}")

    net = arch.build(num_classes=2, pretrained=None if pretrained == "none" else pretrained, size=size)
    learn = Learner(dls, net, loss_func=CrossEntropyLossFlat(weight=weights), metrics=[accuracy, RocAucBinary()],
                    splitter=arch.param_groups, path=out, model_dir=".")
    # channels-last weights (fastai's ChannelsLast callback; no mixed precision on CPU): a training step of
    # EfficientNet-Lite0 at 160 px took ~40 ms per image instead of ~70 ms here; the convolutions then run
    # channels-last whatever the input's layout, so converting the batches too changed nothing measurable
    learn.to_channelslast(use_amp=False)
    if pretrained != "none":
        learn.freeze()
    if args.freeze_stages:
        learn.add_cb(keep_frozen(arch.early_modules(learn.model, args.freeze_stages)))

    lr = args.lr or 1e-3
    suggestion = None
    if args.lr_find:
        suggestion = lr_find(learn, args.lr_find_steps, (minimum, steep, valley, slide))
        best = suggestion.get("valley") or suggestion.get("minimum")
        plt.title(f"lr_find ({args.arch}): " + (f"valley {suggestion['valley']:.2e}" if "valley" in suggestion
                                                 else "too few points for the valley rule"))
        plt.savefig(out / "lr_find.png", dpi=110, bbox_inches="tight")
        plt.close("all")
        if not args.lr and best:
            lr = best
        log(f"lr_find suggestions {suggestion}; using {lr:.2e}")

    average = weight_average(args.ema) if args.ema else None
    if average is not None:  # added after lr_find, which must not feed the average
        learn.add_cb(average)
    t0 = time.time()
    if pretrained != "none":
        learn.fine_tune(args.epochs, base_lr=lr, freeze_epochs=args.freeze_epochs, lr_mult=args.lr_mult)
    else:
        learn.fit_one_cycle(args.epochs, lr)
    t_fit = time.time() - t0

    learn.recorder.plot_loss()
    plt.title(f"losses ({args.arch})")
    plt.savefig(out / "loss_curve.png", dpi=110, bbox_inches="tight")
    plt.close("all")

    df_valid = df[df.is_valid].reset_index(drop=True)

    def validate():
        "The validation crops' fake probabilities and labels, the per-video scores, and frame + video metrics."
        preds, targs = learn.get_preds(dl=full_valid)
        prob, labels = preds[:, vocab.index("fake")].numpy(), (targs.numpy() == vocab.index("fake")).astype(int)
        vids = video_scores(df_valid, prob)
        return vids, {"frame": metrics_block(labels, prob),
                      "video": video_metrics(vids, ci=True)}

    last_weights = None
    if average is not None:  # score the last weights, then put the average in their place for everything below
        _, last_weights = validate()
        learn.remove_cb(average)
        learn.model.load_state_dict(average.average.state_dict())
    vids, metrics = validate()
    metrics.update({"video_mean_rule": video_metrics(vids, rule="mean"),
                    "video_by_method": video_metrics_by_method(vids),
                    "by_source": metrics_by_source(vids), "by_subgroup": false_alarms_by_subgroup(vids)})
    calibration = calibrate_threshold(vids, target=args.target_fa)
    metrics["calibration"] = calibration
    if last_weights is not None:
        metrics["last_weights"] = last_weights  # without --ema's average: the same run's paired comparison
    (out / "val_videos.json").write_text(json.dumps(vids, indent=1))

    interp = ClassificationInterpretation.from_learner(learn, dl=full_valid)
    interp.plot_confusion_matrix(title=f"frames, validation ({args.arch})")
    plt.savefig(out / "confusion_matrix.png", dpi=110, bbox_inches="tight")
    plt.close("all")
    k = min(9, len(df_valid))  # a tiny validation set has fewer than 9 crops
    interp.plot_top_losses(k, nrows=max(1, int(np.ceil(np.sqrt(k)))))
    plt.savefig(out / "top_losses.png", dpi=90, bbox_inches="tight")
    plt.close("all")

    name = args.name or args.arch
    wall = time.time() - t_start
    card = ModelCard(
        name=name, architecture=args.arch, input_size=size, classes=vocab, fake_class="fake",
        threshold=calibration["threshold"], uncertain=calibration["uncertain"],
        face_margin=0.3, default=args.default,
        trained={
            "data": describe_data(items, heldout, args.data),
            "calibration": calibration, "sampling": shares, "epoch_size": args.epoch_size,
            "split": {"rule": "by pair group", "seed": split_seed,
                      **({"folds": args.folds, "fold": args.fold} if args.folds
                         else {"val_fraction": args.val_fraction}),
                      "val_groups": sorted({i.group for i in val_items}),
                      "train_videos": len(train_items), "val_videos": len(val_items)},
            "pretrained": pretrained, "epochs": args.epochs,
            "freeze_epochs": args.freeze_epochs if pretrained != "none" else 0,
            "freeze_stages": args.freeze_stages, "seed": args.seed,
            "lr": lr, "lr_mult": args.lr_mult if pretrained != "none" else None, "lr_find": suggestion,
            "max_train_frames": args.max_train_frames, "size": size, "batch_size": args.bs, "frames_per_video": args.frames,
            "sbi": args.sbi, "downscale": args.downscale, "ema": args.ema, "class_weights": weights.tolist(),
            "train_crops": int((~df.is_valid).sum()), "val_crops": int(df.is_valid.sum()),
            "fit_seconds": round(t_fit, 1), "wall_seconds": round(wall, 1), "crop_seconds": round(t_crops, 1),
            "threads": torch.get_num_threads(),
            "command": "python -m detector.train " + " ".join(sys.argv[1:] if argv is None else argv),
        },
        metrics={"video_auc": metrics["video"]["auc"], "video_auc_ci95": metrics["video"]["auc_ci95"],
                 "video_accuracy": metrics["video"]["accuracy"],
                 "video_ap": metrics["video"]["ap"], "video_log_loss": metrics["video"]["log_loss"],
                 "video_confusion": metrics["video"]["confusion"], "frame_auc": metrics["frame"]["auc"],
                 "frame_accuracy": metrics["frame"]["accuracy"]},
        notes=("Trained by detector/train.py on FaceForensics++ (non-commercial research terms); "
               + ("ImageNet-initialised." if pretrained != "none" else "trained from scratch (no offline ImageNet weights).")),
    )
    learn.model.eval()
    card_path = save_model(learn.model, card, out / "model", half=args.half)
    weight_mb = (out / "model" / card.weights).stat().st_size / 2**20
    result = {"arch": args.arch, "size": size, "pretrained": pretrained, "split": card.trained["split"],
              "metrics": metrics, "lr": lr,
              "lr_find": suggestion, "fit_seconds": round(t_fit, 1), "wall_seconds": round(wall, 1),
              "weight_mb": round(weight_mb, 2), "model_card": str(card_path), "command": card.trained["command"]}
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    log(json.dumps({k: result[k] for k in ("arch", "size", "fit_seconds", "wall_seconds", "weight_mb")}))
    log(f"video AUC {metrics['video']['auc']} (95% bootstrap interval {metrics['video']['auc_ci95']}), "
        f"accuracy {metrics['video']['accuracy']}, log loss {metrics['video']['log_loss']}, "
        f"confusion {metrics['video']['confusion']}")
    if last_weights is not None:
        log(f"the last weights, without the average: video AUC {last_weights['video']['auc']}, "
            f"log loss {last_weights['video']['log_loss']}")
    if args.install:
        from .model import install_model

        installed = install_model(card_path, default=args.default)
        log(f"installed {name} as {installed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
