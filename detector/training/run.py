"""Train a face classifier with fastai and export it as safetensors + model card.

    deepfake-lens train --recipe realfaces --folds 3 --fold 0 --out runs/cv/fold0
    deepfake-lens train --data ../shared/data/ffpp --arch efficientnet_lite0 --size 160 --epochs 6 --lr-find

The run, top to bottom (:func:`train`), each step a function:

1. :func:`prepare` -- read the data roots, split by group (a fake and its target real, a video and its twin at
   another compression, an actor's clips: never on both sides; a fixed fifth of each photo folder is held out of
   every run), and extract face crops with the pipeline's own decoder and detector (cached outside the
   repository, :mod:`detector.data.crops`);
2. :func:`learner` -- fastai DataLoaders (albumentations, self-blended pseudo-fakes, balanced epochs:
   :mod:`detector.training.augment`), the network and a fastai ``Learner``;
3. :func:`fit` -- ``lr_find`` (plot saved), then ``fine_tune`` (pretrained, ImageNet or ``--init``'s label-free
   weights from ``deepfake-lens mimic``: frozen body first, then
   discriminative rates) or ``fit_one_cycle`` (from scratch);
4. :func:`validate` -- every validation crop scored; per-video and per-photo metrics, by method, source and
   population group; the threshold calibrated for a false-alarm rate on the validation reals
   (:mod:`detector.evaluation.calibration`); plots (losses, confusion matrix, top losses);
5. :func:`export` -- safetensors + card (with the config), metrics.json, config.toml; ``--install`` copies the
   model into the user's model folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np  # noqa: E402

from detector.errors import InputError  # noqa: E402
from detector.evaluation.calibration import calibrate_threshold, false_alarms_by_population  # noqa: E402
from detector.evaluation.metrics import metrics_block  # noqa: E402
from detector.evaluation.scores import (  # noqa: E402
    false_alarms_by_subgroup,
    metrics_by_source,
    video_metrics,
    video_metrics_by_method,
    video_scores,
)
from detector.training.config import TrainConfig, parse_config  # noqa: E402

__all__ = ["train", "prepare", "learner", "fit", "validate", "export", "main", "Prepared"]

VOCAB = ["fake", "real"]  # fastai sorts the vocab: logits come in this order
PROJECTION = "distill_projection"  # --distill-features: the student-to-teacher feature map, attached for training only
MASK_HEAD = "mask_head"  # --mask-weight: the feature map's cells to their share of changed pixels, for training only
MIMIC = "mimic"  # Prepared.pretrained for a run that starts from --init's weights
IDENTITY_HEAD = "identity_head"  # --identity-adversary: pooled features to the training person, for training only


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


@dataclass
class Prepared:
    """What :func:`prepare` found: the items on each side, the crop table, and timings."""

    items: list  # every item read, held-out photos apart (--train-groups' and --train-sources' left-out included)
    train_items: list
    val_items: list
    heldout: list
    df: object  # pandas DataFrame, one row per crop (see build_table)
    arch: object  # the registry's Architecture
    pretrained: str
    size: int
    seconds: dict = field(default_factory=dict)


def init_overlap_warnings(cfg: TrainConfig, record: dict) -> list[str]:
    """Warnings for ``--init`` weights pretrained without a split on data roots this run also validates on: its
    validation items may have been among their crops, without labels (the pretraining of the ``resnet18_mimic``
    recipes on ``faces_utk``).  Weights made on one fold's training items are checked strictly instead."""
    from detector.training.mimic import _init_splits

    if _init_splits(record):
        return []
    theirs = [str(d) for d in record.get("data") or []]
    # as written or resolved from here (distill._same_roots): "../shared/data/x" and its absolute path are one root
    names = {os.path.normpath(d) for d in theirs} | {str(Path(d).resolve()) for d in theirs}
    shared = sorted(d for d in cfg.data if os.path.normpath(d) in names or str(Path(d).resolve()) in names)
    if not shared:
        return []
    return [
        f"--init {cfg.init_file()} was pretrained without a split on {', '.join(shared)}, which this run validates "
        "on too: some validation items may have been among its crops, without labels"
    ]


def _init_note(path: str) -> str:
    """The card's sentence on ``--init`` weights: label-free (an ImageNet network's maps) or, where a stage copied
    a trained detector's maps (``mimic --teacher-model``), distilled."""
    from detector.training.mimic import init_record, is_distilled

    if is_distilled(init_record(path)):
        return (
            "initialised by pretraining on face crops (deepfake-lens mimic; trained.init): the network learnt to "
            "approximate the feature maps of a trained detector of the same fold (mimic --teacher-model), after "
            "those of an ImageNet network; no ImageNet weights of its own."
        )
    return (
        "initialised by label-free pretraining on face crops (deepfake-lens mimic: the network learnt to "
        "approximate an ImageNet network's feature maps; trained.init), no ImageNet weights of its own."
    )


def resolve_arch(cfg: TrainConfig):
    """(architecture, input size, pretrained) for ``cfg``; ValueError for an input size the net does not take or
    a --freeze-stages that cannot work, checked now (the latter on a throwaway net), not after the crop extraction."""
    from detector.models import registry

    arch = registry.get(cfg.arch)
    size = arch.check_size(cfg.size or arch.default_size)
    pretrained = cfg.pretrained
    if cfg.init:  # label-free pretrained weights (deepfake-lens mimic), checked now: the record, the hash, the fit
        from detector.training.mimic import check_init_split, load_init

        record = load_init(arch.build(num_classes=2, size=size), cfg.arch, cfg.init_file())
        check_init_split(cfg, record)  # and a pretraining that saw another fold's validation items
        for line in init_overlap_warnings(cfg, record):
            print(f"warning: {line}", file=sys.stderr)
        pretrained = MIMIC
    elif pretrained == "auto":
        pretrained = "imagenet" if arch.offline_imagenet else "none"
    if cfg.freeze_stages and pretrained == "none":
        raise ValueError(
            "--freeze-stages keeps pretrained layers at their values; from scratch it would keep random ones"
        )
    if cfg.freeze_stages or cfg.mask_weight or cfg.identity_adversary:  # one throwaway net for the checks
        net = arch.build(num_classes=2, size=size)
        if cfg.freeze_stages:
            arch.early_modules(net, cfg.freeze_stages)
        if cfg.mask_weight:
            _check_mask_head(net, cfg.arch)
        if cfg.identity_adversary and not (hasattr(net, "get_classifier") and getattr(net, "num_features", 0)):
            raise ValueError(f"--identity-adversary reads the classifier's input; {cfg.arch} has no classifier layer")
    return arch, size, pretrained


def training_persons(train_df) -> tuple[np.ndarray, list[str]]:
    """(per training row, the index of the real person it shows or -1; the persons' names): rows of real
    FaceForensics++ and actor videos (:func:`detector.data.datasets.real_person`), not their pseudo-fakes, fakes
    or photos."""
    from detector.data.datasets import real_person

    pseudo = train_df["pseudo"].to_numpy(bool) if "pseudo" in train_df else np.zeros(len(train_df), bool)
    who = [
        real_person(video) if label == "real" and not p else None
        for video, label, p in zip(train_df["video"], train_df["label"], pseudo)
    ]
    names = sorted({w for w in who if w is not None})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index.get(w, -1) for w in who], dtype=np.int64), names


def check_identity_people(cfg: TrainConfig, prep: Prepared) -> None:
    """--identity-adversary needs training crops of at least two known real people (ValueError), found before the
    slow steps (pseudo-fakes, masks), which add none."""
    if cfg.identity_adversary:
        people = training_persons(prep.df[~prep.df.is_valid])[1]
        if len(people) < 2:
            raise ValueError(
                f"--identity-adversary: the training crops show {len(people)} known real person(s) "
                "(real FaceForensics++ or actor videos); it needs at least two"
            )


def _check_mask_head(net, name: str) -> None:
    """--mask-weight reads the feature map at the input of a ``global_pool`` module (ValueError where there is none:
    coatnet_0's is a setting, MesoNet has none)."""
    import torch

    if not isinstance(getattr(net, "global_pool", None), torch.nn.Module) or not getattr(net, "num_features", 0):
        raise ValueError(f"--mask-weight needs a network with a global pool module; {name} has none")


def build_table(items, crops, val_ids: set[str]):
    import pandas as pd

    rows = []
    for it in items:
        cs = crops.get(it.path)
        if cs is None or isinstance(cs, str):
            continue
        for f, t in zip(cs.files, cs.times):
            rows.append(
                {
                    "path": f,
                    "label": "fake" if it.label == 1 else "real",
                    "video": it.path,
                    "time": t,
                    "group": it.group,
                    "method": it.method or "original",
                    "is_valid": it.path in val_ids,
                    "source": it.source or "data",
                    "kind": it.kind,
                    "subgroup": it.subgroup or "",
                    "target": it.target or "",
                }
            )
    return pd.DataFrame(rows)


def fewer_groups(train_items, share: float, seed: str) -> set[str]:
    """The groups to leave out so that ``share`` of the training groups holding a fake remain (rounded, at least
    one): a fixed draw for ``seed``, nested (a smaller share leaves out a superset).  Groups of reals only are
    never left out."""
    import random

    faked = sorted({it.group for it in train_items if it.label == 1})
    random.Random(seed).shuffle(faked)  # one order per seed: a smaller share leaves out more of the same groups
    keep = max(1, round(len(faked) * share))
    return set(faked[: len(faked) - keep])


def prepare(cfg: TrainConfig, resolved=None) -> Prepared:
    """Read, split and crop the data (InputError / ValueError for data that cannot be used).  ``resolved``: what
    :func:`resolve_arch` gave for ``cfg``, when the caller has it already."""
    from detector.constants import CROP_CACHE
    from detector.data.crops import extract_many
    from detector.data.datasets import held_out, in_sources, read_datasets
    from detector.data.splits import fold_by_group, split_by_group

    arch, size, pretrained = resolved or resolve_arch(cfg)
    items = read_datasets(cfg.data)
    heldout = [it for it in items if held_out(it)]  # a fixed part of each photo folder: never trained on
    items = [it for it in items if not held_out(it)]
    seed = cfg.effective_split_seed
    if cfg.folds:
        val_items = fold_by_group(items, cfg.folds, seed=seed)[cfg.fold]
        val_groups = {it.group for it in val_items}
        train_items = [it for it in items if it.group not in val_groups]
    else:
        train_items, val_items = split_by_group(items, val_fraction=cfg.val_fraction, seed=seed)
    everything = items  # the data as read (the card's data line), whatever --train-groups leaves out
    if cfg.train_groups < 1:  # a learning curve: fewer faked people, the same validation
        dropped = fewer_groups(train_items, cfg.train_groups, f"{seed}-{cfg.fold}")
        train_items = [it for it in train_items if it.group not in dropped]
        items = [it for it in items if it.group not in dropped]
        log(f"--train-groups {cfg.train_groups}: {len(dropped)} training groups with fakes left out")
    if cfg.train_sources:  # train on some sources only; the folds and their validation stay those of all the data
        known = sorted({it.source or "data" for it in everything})
        unknown = sorted(set(cfg.train_sources) - set(known) - {f"{s}/{lab}" for s in known for lab in VOCAB})
        if unknown:
            raise InputError(
                f"--train-sources: no source {', '.join(unknown)} in the data (its sources: {', '.join(known)}; "
                f"SOURCE/real or SOURCE/fake for one class of a source)"
            )
        left_out = {it.path for it in train_items if not in_sources(it, cfg.train_sources)}
        train_items = [it for it in train_items if it.path not in left_out]
        items = [it for it in items if it.path not in left_out]
        log(
            f"--train-sources {' '.join(cfg.train_sources)}: {len(left_out)} training items of other sources "
            "(or classes) left out"
        )
        for name in cfg.train_sources:
            if not any(in_sources(it, [name]) for it in train_items):
                log(f"warning: --train-sources {name}: none of its items is left to train on in this fold")
        if not train_items:
            raise InputError("--train-sources: nothing left to train on in this fold")
        if not cfg.sbi and not any(it.label == 1 for it in train_items):
            raise InputError("--train-sources: no fake left to train on (name a source with fakes, or give --sbi P)")
    log(
        f"{len(items)} videos and photos: {len(train_items)} train, {len(val_items)} validation "
        f"({len({i.group for i in val_items})} validation groups); {len(heldout)} photos held out of every run"
    )

    t0 = time.time()
    crops = extract_many(
        [it.path for it in items],
        frames=cfg.frames,
        margin=cfg.margin,
        cache=cfg.cache or CROP_CACHE,
        workers=cfg.workers,
    )
    for v in crops.values():
        if isinstance(v, str):
            log(f"skipped: {v}")
    t_crops = time.time() - t0
    df = build_table(items, crops, {it.path for it in val_items})
    for name, part in (("training", train_items), ("validation", val_items)):  # (an audit: "crops: 0 train", then
        # a traceback)
        if not part:
            raise InputError(f"no {name} files: the data's groups all went to the other side (give more groups)")
        if not len(df) or not (df.is_valid == (name == "validation")).any():
            raise InputError(f"no {name} crops: no face was found in the {name} files that could be read")
    if cfg.max_train_frames:
        import pandas as pd

        keep = (
            df[~df.is_valid]
            .groupby("video", group_keys=False)
            .apply(lambda g: g.iloc[np.linspace(0, len(g) - 1, min(len(g), cfg.max_train_frames)).round().astype(int)])
        )
        df = pd.concat([keep, df[df.is_valid]]).reset_index(drop=True)
    log(f"crops: {int((~df.is_valid).sum())} train, {int(df.is_valid.sum())} validation ({t_crops:.0f} s)")
    return Prepared(
        everything, train_items, val_items, heldout, df, arch, pretrained, size, {"crops": round(t_crops, 1)}
    )


def learner(cfg: TrainConfig, prep: Prepared, out: Path, teacher=None):
    """(fastai Learner, the full validation DataLoader, the training sampling shares, the class weights).
    ``teacher``: a loaded model (:func:`detector.training.distill.load_teacher`) to distil from, or None."""
    import torch
    from fastai.callback.mixup import MixUp
    from fastai.vision.all import (
        CategoryBlock,
        ColReader,
        ColSplitter,
        CrossEntropyLossFlat,
        DataBlock,
        ImageBlock,
        Learner,
        Normalize,
        RocAucBinary,
        accuracy,
        imagenet_stats,
    )

    from detector.training.augment import (
        CropLoader,
        MaskBuffer,
        balanced_dl_type,
        domain_sampling_weights,
        item_transforms,
        pair_partners,
        paired_dl_type,
        paired_shares,
        pseudo_fake_counts,
        sampling_weights,
        split_mask,
        with_pseudo_fakes,
    )
    from detector.training.callbacks import (
        CpuAutocast,
        DistillationCallback,
        IdentityAdversary,
        KeepFrozen,
        MaskSupervision,
        PairedRanking,
    )

    arch, size, pretrained = prep.arch, prep.size, prep.pretrained
    df = prep.df
    by_domain = cfg.balance == "domain"
    train_size = size  # --distill-teacher-size: training crops at the teacher's size, shrunk for the student
    if teacher is not None and cfg.distill_teacher_size:
        train_size = max(size, teacher.card.input_size)
        if train_size == size:
            log(
                f"warning: --distill-teacher-size changes nothing: the teacher's input size "
                f"({teacher.card.input_size} px) is not above the student's ({size} px)"
            )
    with_masks = cfg.mask_weight > 0
    loader = CropLoader(
        train_size, sbi_seed=cfg.seed if by_domain else None, sbi_regions=cfg.sbi_regions, masks=with_masks
    )
    if by_domain:  # pseudo-fakes are rows of their own, so that the epoch's draw decides their share per source
        t0 = time.time()
        df = with_pseudo_fakes(df, loader)
        counts = pseudo_fake_counts(df)
        log(f"pseudo-fake rows (copies, real crops) per source: {counts} ({time.time() - t0:.0f} s)")
        fakes = set(df[(~df.is_valid) & (df.label == "fake") & ~df.pseudo].source)
        for source, (copies, _) in counts.items():
            if not copies and source not in fakes:
                log(f"warning: FaceMesh found no face in {source}'s crops: it has no fakes, so it is drawn all real")
    if with_masks:
        from detector.constants import CROP_CACHE
        from detector.data.masks import masks_for_table

        t0 = time.time()
        df, mask_stats = masks_for_table(
            df, cfg.frames, cache=cfg.cache or CROP_CACHE, workers=cfg.workers, margin=cfg.margin
        )
        failed = mask_stats.pop("failed")
        log(f"masks of the training fakes: {mask_stats} ({time.time() - t0:.0f} s)")
        for msg in failed[:5]:
            log(f"no masks: {msg}")
        if len(failed) > 5:
            log(f"no masks for {len(failed) - 5} more videos")
        if not mask_stats["with mask"]:
            log("warning: --mask-weight: no training fake has a mask (no fake names its target real video)")
    buffer = MaskBuffer() if with_masks else None
    transform_sbi = 0.0 if by_domain else cfg.sbi  # the share of real draws the item transform turns fake
    dblock = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=VOCAB)),
        get_x=loader,
        get_y=ColReader("label"),
        splitter=ColSplitter("is_valid"),
        item_tfms=item_transforms(
            size,
            transform_sbi,
            VOCAB,
            cfg.seed,
            cfg.downscale,
            train_size=train_size,
            cutout=cfg.cutout,
            sbi_regions=cfg.sbi_regions,
            compress=cfg.compress,
            tight=cfg.tight_pad,
            tight_flat=cfg.tight_flat,
            colour=cfg.colour_cast,
            captions=cfg.captions,
            margin=cfg.margin,
            occlude=cfg.occlude,
        ),
        # the distillation callback undoes Normalize for the teacher; split_mask takes --mask-weight's masks off
        batch_tfms=[*([split_mask(buffer)] if with_masks else []), Normalize.from_stats(*imagenet_stats)],
    )
    shares = None
    if cfg.epoch_size:  # a balanced epoch of a fixed size: by class (sources by their square root) or by source
        train_df = df[~df.is_valid].reset_index(drop=True)
        wgts, shares = domain_sampling_weights(train_df, cfg.sbi) if by_domain else sampling_weights(train_df)
        dl_type = balanced_dl_type()
        if cfg.pairs:  # each draw brings its partner: the same frame, once real and once fake
            partners = pair_partners(train_df)
            paired = np.array([len(p) > 0 for p in partners])
            log(
                f"pairs: {int(paired.sum())} of {len(paired)} training rows have a partner; the epoch's draws by "
                f"share among them: {float(wgts[paired].sum() / wgts.sum()):.3f} of the weight"
            )
            if not paired.any():
                raise ValueError("--pairs: no training crop has a partner (no pseudo-fakes and no fake with a target)")
            dl_type = paired_dl_type(partners)
            shares = paired_shares(train_df, wgts, partners)  # what the paired epoch draws, not the weights alone
        dls = dblock.datasets(df).dataloaders(
            bs=cfg.bs,
            num_workers=0,
            dl_type=dl_type,
            dl_kwargs=({"wgts": wgts, "n": cfg.epoch_size}, {}),
            after_item=dblock.item_tfms,
            after_batch=dblock.batch_tfms,
        )
        log(f"epoch: {cfg.epoch_size} crops drawn{' in pairs' * bool(cfg.pairs)} by share {shares}")
        n_real = float(wgts[(train_df.label == "real").to_numpy()].sum() / wgts.sum())
        n_fake, n_train = 1.0 - n_real, 1.0
    else:
        dls = dblock.dataloaders(df, bs=cfg.bs, num_workers=0)
        labels = df[~df.is_valid]["label"].value_counts()
        n_real, n_fake = labels.get("real", 1), labels.get("fake", 1)
        n_train = n_real + n_fake
    assert list(dls.vocab) == VOCAB, dls.vocab
    full_valid = dls.valid
    if cfg.fit_valid and df.is_valid.sum() > cfg.fit_valid:  # a fixed sample of the validation crops per epoch
        dls.loaders[1] = dls.test_dl(df[df.is_valid].sample(n=cfg.fit_valid, random_state=cfg.seed), with_labels=True)
    # class balance: weight each class by the inverse of its share of training crops
    # (with --sbi P, a share P of the real crops arrives as pseudo-fakes: count them as such)
    counts = {"real": n_real * (1 - transform_sbi), "fake": n_fake + n_real * transform_sbi}
    weights = torch.tensor([n_train / (2 * max(counts[c], 1e-6)) for c in VOCAB], dtype=torch.float32)
    log(f"class weights {dict(zip(VOCAB, weights.tolist()))}")

    net = arch.build(num_classes=2, pretrained=None if pretrained in ("none", MIMIC) else pretrained, size=size)
    init_record = None
    if pretrained == MIMIC:
        from detector.training.mimic import load_init

        record = load_init(net, cfg.arch, cfg.init_file())
        init_record = {"file": cfg.init_file(), **record}  # for the card: the record of the weights loaded, as loaded
        log(
            f"init: {cfg.init_file()} ({record.get('kind')}: {record.get('teacher')}'s features on "
            f"{record.get('train_crops')} crops of {', '.join(record.get('data', []))}, {record.get('epochs')} epochs)"
        )
    projection = None
    if teacher is not None and cfg.distill_features:  # one network (load_teacher); trains with the head, not exported
        projection = torch.nn.Linear(net.num_features, teacher.net.num_features)
        net.add_module(PROJECTION, projection)
    mask_head = None
    if with_masks:  # trains with the head, not exported (resolve_arch checked the network has a global pool)
        mask_head = torch.nn.Conv2d(net.num_features, 1, kernel_size=1)
        net.add_module(MASK_HEAD, mask_head)
    identity_head = None
    if cfg.identity_adversary:  # trains with the head, not exported (resolve_arch checked the classifier layer)
        train_rows = df[~df.is_valid].reset_index(drop=True)  # the training loader's rows, in its order
        persons, names = training_persons(train_rows)
        width = getattr(net.get_classifier(), "in_features", net.num_features)  # what the classifier reads
        identity_head = torch.nn.Linear(width, len(names))
        net.add_module(IDENTITY_HEAD, identity_head)
    learn = Learner(
        dls,
        net,
        loss_func=CrossEntropyLossFlat(weight=weights),
        metrics=[accuracy, RocAucBinary()],
        splitter=lambda m: _in_head(arch.param_groups(m), projection, mask_head, identity_head),
        path=out,
        model_dir=".",
    )
    # channels-last weights (fastai's ChannelsLast callback without its mixed precision, which autocasts CUDA only;
    # --precision bf16 autocasts on the CPU): a training step of EfficientNet-Lite0 at 160 px took ~40 ms per image
    # instead of ~70 ms here
    learn.to_channelslast(use_amp=False)
    if cfg.precision == "bf16":
        learn.add_cb(CpuAutocast(torch.bfloat16))
    if pretrained != "none":
        learn.freeze()
    if cfg.freeze_stages:
        learn.add_cb(KeepFrozen(arch.early_modules(learn.model, cfg.freeze_stages)))
    if cfg.mixup:  # before the distillation callback reads the batch (order 0 < 10): the teacher sees the blends
        learn.add_cb(MixUp(float(cfg.mixup)))  # a TOML 1 is an int: Beta needs floats
        log(f"mixup: each training crop blended with another of its batch, weights from Beta({cfg.mixup}, {cfg.mixup})")
    if cfg.pairs:
        learn.add_cb(PairedRanking(cfg.pairs, fake_index=VOCAB.index("fake")))
        log(f"ranking loss on (real, fake) pairs of one frame, weight {cfg.pairs}")
    if teacher is not None:
        alpha, temperature = cfg.effective_distill_alpha, cfg.distill_temperature
        learn.add_cb(
            DistillationCallback(
                teacher,
                alpha,
                temperature,
                fake_index=VOCAB.index("fake"),
                mean=imagenet_stats[0],
                std=imagenet_stats[1],
                feature_weight=cfg.distill_features,
                projection=projection,
                student_size=size if train_size != size else None,
                feature_grid=cfg.distill_grid,
            )
        )
        log(
            f"distilling from {teacher.card.name} ({cfg.teacher_card()}): soft loss weight {alpha}, T {temperature}"
            + (f", feature loss weight {cfg.distill_features} ({_feature_kind(cfg)})" if projection is not None else "")
            + (f"; training crops at {train_size} px for the teacher, {size} px for the student" * (train_size != size))
        )
    if with_masks:
        learn.add_cb(MaskSupervision(mask_head, cfg.mask_weight, buffer))
        log(f"mask loss weight {cfg.mask_weight}: where each fake was changed, on the last feature map's cells")
    if identity_head is not None:
        labels = [VOCAB.index(v) for v in train_rows["label"]]
        learn.add_cb(IdentityAdversary(identity_head, cfg.identity_adversary, persons, labels))
        log(
            f"identity adversary, weight {cfg.identity_adversary}: {len(names)} training people, "
            f"{int((persons >= 0).sum())} of {len(persons)} training rows; its gradient reaches the network reversed"
        )
    learn.crop_loader = loader  # its failed blends are reported after the fit
    learn.init_record = init_record
    return learn, full_valid, shares, weights


def _feature_kind(cfg: TrainConfig) -> str:
    """What ``--distill-features`` compares, in words."""
    g = cfg.distill_grid
    return f"the feature maps averaged onto a {g} x {g} grid, cell by cell" if g else "the pooled features"


def _in_head(groups: list, *modules) -> list:
    """Training-only modules (``--distill-features``' projection, ``--mask-weight``'s and ``--identity-adversary``'s
    heads; None: absent) train with the head (at the full rate, and in a frozen epoch), not with the body, where the
    architecture's [body, head] groups put every module but the classifier."""
    extra = [p for m in modules if m is not None for p in m.parameters()]
    if not extra:
        return groups
    ids = {id(p) for p in extra}
    return [[p for p in g if id(p) not in ids] for g in groups[:-1]] + [groups[-1] + extra]


def lr_find(learn, num_it: int, suggest_funcs) -> dict[str, float]:
    """fastai's ``lr_find``, then each suggestion rule that has enough points (fastai's own call fails as a whole
    when one rule does: ``slide`` needs ~17 losses, and the finder stops early when the loss diverges).
    Plots the curve with the suggestions into the current matplotlib figure."""
    import torch

    learn.lr_find(num_it=num_it, suggest_funcs=None, show_plot=False)
    rec = learn.recorder
    lrs = torch.tensor(rec.lrs[num_it // 10 : -5])
    losses = torch.tensor([float(v) for v in rec.losses[num_it // 10 : -5]])
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


def fit(cfg: TrainConfig, learn, pretrained: str, out: Path) -> dict:
    """lr_find (with --lr-find), then fine_tune or fit_one_cycle; returns {lr, lr_find, fit_seconds, average}."""
    import matplotlib.pyplot as plt
    from fastai.vision.all import minimum, slide, steep, valley

    from detector.training.callbacks import TrainingTerm, WeightAverage

    lr, suggestion = cfg.lr or 1e-3, None
    if cfg.lr_find:
        suggestion = lr_find(learn, cfg.lr_find_steps, (minimum, steep, valley, slide))
        best = suggestion.get("valley") or suggestion.get("minimum")
        plt.title(
            f"lr_find ({cfg.arch}): "
            + (f"valley {suggestion['valley']:.2e}" if "valley" in suggestion else "too few points for the valley rule")
        )
        plt.savefig(out / "lr_find.png", dpi=110, bbox_inches="tight")
        plt.close("all")
        if not cfg.lr and best:
            lr = best
        log(f"lr_find suggestions {suggestion}; using {lr:.2e}")
    terms = [c for c in learn.cbs if isinstance(c, TrainingTerm)]  # --mask-weight's, --identity-adversary's
    for cb in terms:
        cb.history.clear()  # lr_find's passes are not an epoch
    average = WeightAverage(cfg.ema) if cfg.ema else None
    if average is not None:  # added after lr_find, which must not feed the average
        learn.add_cb(average)
    t0 = time.time()
    if pretrained != "none":
        learn.fine_tune(cfg.epochs, base_lr=lr, freeze_epochs=cfg.freeze_epochs, lr_mult=cfg.lr_mult)
    else:
        learn.fit_one_cycle(cfg.epochs, lr)
    t_fit = time.time() - t0
    failed = getattr(learn, "crop_loader", None) and learn.crop_loader.failed_blends
    if failed:
        log(f"pseudo-fake draws whose blend failed 5 times (trained on as their real crop, labelled fake): {failed}")
    for cb in terms:
        log(f"{cb.name}, before its weight, mean over each epoch's training batches: {cb.history}")
    learn.recorder.plot_loss()
    plt.title(f"losses ({cfg.arch})")
    plt.savefig(out / "loss_curve.png", dpi=110, bbox_inches="tight")
    plt.close("all")
    return {"lr": lr, "lr_find": suggestion, "fit_seconds": round(t_fit, 1), "average": average}


def _score(learn, dl, df_valid) -> tuple[list[dict], dict, tuple]:
    """The validation crops' fake probabilities -> per-video scores, and frame + video metrics; and the pass's
    (probabilities, targets, losses) for :class:`ScoredInterpretation`."""
    preds, targs, losses = learn.get_preds(dl=dl, with_loss=True)
    prob = preds[:, VOCAB.index("fake")].numpy()
    labels = (targs.numpy() == VOCAB.index("fake")).astype(int)
    vids = video_scores(df_valid, prob)
    return vids, {"frame": metrics_block(labels, prob), "video": video_metrics(vids, ci=True)}, (preds, targs, losses)


def scored_interpretation(learn, dl, preds, targs, losses):
    """fastai's ClassificationInterpretation (confusion matrix, top losses) over predictions already made: one pass
    over the validation crops instead of three (``from_learner`` predicts them all for the losses, and
    ``confusion_matrix`` all again)."""
    import torch
    from fastai.vision.all import ClassificationInterpretation

    class ScoredInterpretation(ClassificationInterpretation):
        def confusion_matrix(self):
            "Confusion matrix as an ``np.ndarray`` (rows: actual, columns: predicted), from the stored predictions."
            x = torch.arange(0, len(self.vocab))
            d, t = preds.argmax(dim=1), targs.view(-1)
            return ((d == x[:, None]) & (t == x[:, None, None])).long().sum(2).numpy()

    return ScoredInterpretation(learn, dl, losses)


def float32_scoring(learn) -> None:
    """Remove ``--precision bf16``'s autocast: what follows scores as the pipeline will score the exported weights,
    in float32 (the calibrated threshold is read off these scores)."""
    from detector.training.callbacks import CpuAutocast

    for cb in [c for c in learn.cbs if isinstance(c, CpuAutocast)]:
        cb.leave()  # in case a failed batch left it entered
        learn.remove_cb(cb)


def validate(cfg: TrainConfig, learn, full_valid, prep: Prepared, fitted: dict, out: Path) -> tuple[list, dict]:
    """Score every validation crop (the exported weights: --ema's average in place of the last ones); metrics by
    method, source and group; the calibrated threshold; the confusion matrix and top losses."""
    import matplotlib.pyplot as plt

    df_valid = prep.df[prep.df.is_valid].reset_index(drop=True)
    float32_scoring(learn)
    last_weights = None
    average = fitted["average"]
    if average is not None:  # score the last weights, then put the average in their place for everything below
        _, last_weights, _ = _score(learn, full_valid, df_valid)
        learn.remove_cb(average)
        learn.model.load_state_dict(average.average.state_dict())
    vids, metrics, scored = _score(learn, full_valid, df_valid)
    calibration = calibrate_threshold(vids, target=cfg.target_fa)
    metrics.update(
        {
            "video_mean_rule": video_metrics(vids, rule="mean"),
            "video_by_method": video_metrics_by_method(vids),
            "by_source": metrics_by_source(vids),
            "by_subgroup": false_alarms_by_subgroup(vids),
            "by_subgroup_at_threshold": false_alarms_by_subgroup(vids, calibration["threshold"]),
            "by_population_at_threshold": false_alarms_by_population(vids, calibration["threshold"]),
            "calibration": calibration,
        }
    )
    if last_weights is not None:
        metrics["last_weights"] = last_weights  # without --ema's average: the same run's paired comparison
    (out / "val_videos.json").write_text(json.dumps(vids, indent=1))

    interp = scored_interpretation(learn, full_valid, *scored)
    interp.plot_confusion_matrix(title=f"frames, validation ({cfg.arch})")
    plt.savefig(out / "confusion_matrix.png", dpi=110, bbox_inches="tight")
    plt.close("all")
    k = min(9, len(df_valid))  # a tiny validation set has fewer than 9 crops
    interp.plot_top_losses(k, nrows=max(1, int(np.ceil(np.sqrt(k)))))
    plt.savefig(out / "top_losses.png", dpi=90, bbox_inches="tight")
    plt.close("all")
    return vids, metrics


def describe_data(items, heldout, roots=()) -> str:
    """One line for the model card: what the model was trained and validated on (the data roots read, if given, in
    parentheses at its end)."""
    from collections import Counter

    parts = []
    for source, n in sorted(Counter(it.source for it in items).items()):
        sub = [it for it in items if it.source == source]
        kind = "photos" if all(it.kind == "image" for it in sub) else "videos"
        parts.append(
            f"{source}: {n} {kind} ({sum(it.label == 0 for it in sub)} real, {sum(it.label == 1 for it in sub)} fake)"
        )
    held = f"; {len(heldout)} photos held out of training for testing" if heldout else ""
    read = f" ({' '.join(map(str, roots))})" if roots else ""
    return "; ".join(parts) + held + read


def export(
    cfg: TrainConfig,
    learn,
    prep: Prepared,
    fitted: dict,
    metrics: dict,
    weights,
    shares,
    out: Path,
    t_start: float,
    argv,
) -> dict:
    """Write the model (safetensors + card with the config), config.toml and metrics.json; --install it."""
    import torch

    from detector.models.card import ModelCard
    from detector.models.store import install_model, save_model
    from detector.training.callbacks import DistillationCallback
    from detector.training.distill import distillation_record

    distiller = next((cb for cb in learn.cbs if isinstance(cb, DistillationCallback)), None)
    distillation = None
    if distiller is not None:
        teacher_size = distiller.teacher.card.input_size if distiller.student_size else None
        distillation = distillation_record(cfg, distiller.teacher, teacher_size=teacher_size)

    name = cfg.name or cfg.arch
    wall = time.time() - t_start
    calibration = metrics["calibration"]
    command = "deepfake-lens train " + " ".join(sys.argv[1:] if argv is None else argv)
    card = ModelCard(
        name=name,
        architecture=cfg.arch,
        input_size=prep.size,
        classes=VOCAB,
        fake_class="fake",
        threshold=calibration["threshold"],
        uncertain=calibration["uncertain"],
        face_margin=cfg.margin,
        default=cfg.default,
        trained={
            "data": describe_data(prep.items, prep.heldout, cfg.data),
            "split": {
                "rule": "by group (FF++ pair groups with their twins, actors by person, photos by file)",
                "seed": cfg.effective_split_seed,
                **({"folds": cfg.folds, "fold": cfg.fold} if cfg.folds else {"val_fraction": cfg.val_fraction}),
                "val_groups": sorted({i.group for i in prep.val_items}),
                "train_videos": len(prep.train_items),
                "val_videos": len(prep.val_items),
                "heldout_photos": len(prep.heldout),
                **(
                    {
                        "train_sources": cfg.train_sources,
                        "trained_on": describe_data(prep.train_items, []),
                    }
                    if cfg.train_sources
                    else {}
                ),
            },
            "pretrained": prep.pretrained,
            **({"init": learn.init_record} if getattr(learn, "init_record", None) else {}),
            "calibration": calibration,
            "sampling": shares,
            "lr": fitted["lr"],
            "lr_find": fitted["lr_find"],
            "class_weights": weights.tolist(),
            "train_crops": int((~prep.df.is_valid).sum()),
            "val_crops": int(prep.df.is_valid.sum()),
            **({"distillation": distillation} if distillation else {}),
            "fit_seconds": fitted["fit_seconds"],
            "wall_seconds": round(wall, 1),
            "crop_seconds": prep.seconds.get("crops"),
            "threads": torch.get_num_threads(),
            "config": cfg.to_dict(),
            "command": command,
        },
        metrics={
            "video_auc": metrics["video"]["auc"],
            "video_auc_ci95": metrics["video"]["auc_ci95"],
            "video_accuracy": metrics["video"]["accuracy"],
            "video_ap": metrics["video"]["ap"],
            "video_log_loss": metrics["video"]["log_loss"],
            "video_confusion": metrics["video"]["confusion"],
            "frame_auc": metrics["frame"]["auc"],
            "frame_accuracy": metrics["frame"]["accuracy"],
        },
        notes=(
            "Trained by deepfake-lens train (detector/training/run.py); data under non-commercial research terms "
            "(FaceForensics++, UTKFace where used); "
            + (
                _init_note(cfg.init_file())
                if prep.pretrained == MIMIC
                else "ImageNet-initialised."
                if prep.pretrained != "none"
                else "trained from scratch (no offline ImageNet weights)."
            )
            + (
                f" Trained on the sources {', '.join(cfg.train_sources)} only (trained.config.train_sources); the "
                "others in the data line were never trained on (those in a fold's validation groups were validated)."
                if cfg.train_sources
                else ""
            )
            + (
                f" Distilled from {distillation['name']} ({distillation['card']}; soft loss weight "
                f"{distillation['alpha']}, temperature {distillation['temperature']}"
                + (
                    f", feature loss weight {distillation['features']} ({_feature_kind(cfg)})"
                    if "features" in distillation
                    else ""
                )
                + (
                    f"; the teacher scored the training crops at {distillation['teacher_size']} px"
                    if "teacher_size" in distillation
                    else ""
                )
                + ")."
                if distillation
                else ""
            )
        ),
    )
    learn.model.eval()
    for name in (PROJECTION, MASK_HEAD, IDENTITY_HEAD):  # training only: --distill-features' map, the extra heads
        if name in learn.model._modules:
            del learn.model._modules[name]
    card_path = save_model(learn.model, card, out / "model", half=cfg.half)
    weight_mb = (out / "model" / card.weights).stat().st_size / 2**20
    (out / "config.toml").write_text(cfg.to_toml())
    result = {
        "arch": cfg.arch,
        "size": prep.size,
        "pretrained": prep.pretrained,
        "split": card.trained["split"],
        "metrics": metrics,
        "lr": fitted["lr"],
        "lr_find": fitted["lr_find"],
        "fit_seconds": fitted["fit_seconds"],
        "wall_seconds": round(wall, 1),
        "weight_mb": round(weight_mb, 2),
        **({"distillation": distillation} if distillation else {}),
        "model_card": str(card_path),
        "config": cfg.to_dict(),
        "command": command,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    log(json.dumps({k: result[k] for k in ("arch", "size", "fit_seconds", "wall_seconds", "weight_mb")}))
    v = metrics["video"]
    log(
        f"video AUC {v['auc']} (95% bootstrap interval {v['auc_ci95']}), accuracy {v['accuracy']}, "
        f"log loss {v['log_loss']}, confusion {v['confusion']}; threshold {calibration['threshold']}"
    )
    if "last_weights" in metrics:
        lw = metrics["last_weights"]["video"]
        log(f"the last weights, without the average: video AUC {lw['auc']}, log loss {lw['log_loss']}")
    if cfg.install:
        log(f"installed {name} as {install_model(card_path, default=cfg.default)}")
    return result


def train(cfg: TrainConfig, argv=None) -> dict:
    """The whole run for one config; returns what metrics.json holds."""
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from fastai.vision.all import set_seed

    from detector.training.distill import check_feature_grid, check_teacher_groups, load_teacher

    t_start = time.time()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    set_seed(cfg.seed, reproducible=True)
    try:
        resolved = resolve_arch(cfg)  # fail on a bad --freeze-stages before any work (once: it builds a net)
        teacher = load_teacher(cfg)  # and on a teacher that cannot be used or saw this run's validation items
        check_feature_grid(cfg, resolved[0], resolved[1], teacher)  # and on a --distill-grid it cannot give
        out = Path(cfg.out or f"runs/{cfg.arch}-{time.strftime('%Y%m%d-%H%M%S')}")
        out.mkdir(parents=True, exist_ok=True)
        prep = prepare(cfg, resolved)
        check_teacher_groups(cfg, teacher, prep.val_items)
        if cfg.init:  # a fold pretraining's record lists its validation groups: they must cover this run's
            from detector.training.mimic import check_init_groups, init_record

            check_init_groups(cfg, init_record(cfg.init_file()), prep.val_items)
        check_identity_people(cfg, prep)
    except (ValueError, OSError) as e:  # a config or data that cannot be used: one line, before any training
        raise InputError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    learn, full_valid, shares, weights = learner(cfg, prep, out, teacher)
    fitted = fit(cfg, learn, prep.pretrained, out)
    _, metrics = validate(cfg, learn, full_valid, prep, fitted, out)
    return export(cfg, learn, prep, fitted, metrics, weights, shares, out, t_start, argv)


def main(argv=None) -> int:
    """``deepfake-lens train``: 0 done; 2 bad arguments or data (one line on stderr)."""

    cfg = parse_config(argv)
    try:
        train(cfg, argv)
    except InputError as e:
        log(f"error: {e}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
