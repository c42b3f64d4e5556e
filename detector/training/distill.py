"""The teacher of a distilled run (``deepfake-lens train --teacher CARD``): load it from its card, and refuse one
that trained on the run's validation items.

    deepfake-lens train --recipe resnet18_distill --folds 3 --fold 0 --out runs/cvr18d/fold0

The teacher is read like any model (:func:`detector.models.classifier.load_model`: JSON card + safetensors from
the card's own folder, never a pickle).  Its card says how it was trained (``trained.split``: folds, fold, split
seed, validation groups; ``trained.config`` or ``trained.command``: the data roots), and a cross-validated student
must not learn from a teacher that saw the student's validation fold, or its out-of-fold scores would not be:

* :func:`check_teacher` (before any work): the teacher's split (folds and fold, or validation share) and split seed
  and data roots must be the student's; an ensemble (its members saw every fold) is refused for ``--folds``; a card
  that records no split only gets a warning;
* :func:`check_teacher_groups` (after the split): every validation group of the student must be one of the
  teacher's validation groups, where its card lists them.

The loss itself is :class:`detector.training.callbacks.DistillationCallback`.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from detector.training.config import TrainConfig

__all__ = [
    "load_teacher",
    "check_teacher",
    "check_feature_grid",
    "check_teacher_groups",
    "teacher_data",
    "distillation_record",
]


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def teacher_data(card) -> list[str] | None:
    """The data roots a card's model was trained on: ``trained.config.data``, else the ``--data`` words of
    ``trained.command``; None where the card records neither.

    :param card: a :class:`detector.models.card.ModelCard`
    :returns: the roots as written when it was trained, or None
    """
    trained = card.trained if isinstance(card.trained, dict) else {}
    config = trained.get("config")
    if isinstance(config, dict) and config.get("data"):
        data = config["data"]
        return [data] if isinstance(data, str) else [str(d) for d in data]
    command = trained.get("command")
    if isinstance(command, str) and "--data" in command:
        try:
            words = shlex.split(command)
        except ValueError:
            return None
        start = words.index("--data") + 1
        roots = []
        for w in words[start:]:
            if w.startswith("--"):
                break
            roots.append(w)
        return roots or None
    return None


def _same_roots(a: list[str], b: list[str]) -> bool:
    """Whether two lists of data roots name the same folders (as written, or resolved from here)."""

    def norm(roots, resolve):
        return sorted(str(Path(r).resolve()) if resolve else os.path.normpath(r) for r in roots)

    return norm(a, False) == norm(b, False) or norm(a, True) == norm(b, True)


def check_teacher(cfg: TrainConfig, card) -> list[str]:
    """Refuse (ValueError, one line) a teacher whose card shows that it trained on items the run validates on;
    returns the warnings for what its card does not record.

    :param cfg: the student's config (``cfg.teacher`` set)
    :param card: the teacher's :class:`detector.models.card.ModelCard`
    :returns: warning lines (empty: every check could be made)
    """
    where = f"--teacher {cfg.teacher_card()}"
    trained = card.trained if isinstance(card.trained, dict) else {}
    split = trained.get("split") if isinstance(trained.get("split"), dict) else {}
    if cfg.folds and (card.members or ("folds" in split and "fold" not in split)):
        raise ValueError(
            f"{where}: {card.name} is an ensemble whose members together trained on every fold; distil fold I "
            "from the fold-I model of the same cross-validation (a path with '{fold}')"
        )
    warnings = []
    seed = cfg.effective_split_seed
    if "seed" not in split or ("folds" not in split and "val_fraction" not in split):
        warnings.append(
            f"{where}: its card records no training split, so it cannot be checked that the teacher never trained "
            "on this run's validation items"
        )
    else:
        mine = f"fold {cfg.fold} of {cfg.folds}" if cfg.folds else f"a {cfg.val_fraction} validation share"
        if split.get("folds"):
            theirs = f"fold {split.get('fold')} of {split['folds']}"
        else:
            theirs = f"a {split.get('val_fraction')} validation share"
        same = (
            split.get("folds") == cfg.folds and split.get("fold") == cfg.fold
            if cfg.folds
            else not split.get("folds") and split.get("val_fraction") == cfg.val_fraction
        )
        if not same or split["seed"] != seed:
            raise ValueError(
                f"{where}: {card.name} validated on {theirs} (split seed {split['seed']}), this run on {mine} "
                f"(split seed {seed}): the teacher trained on this run's validation items"
            )
    roots = teacher_data(card)
    if roots is None:
        warnings.append(f"{where}: its card does not record its data roots; they could not be compared")
    elif not _same_roots(roots, cfg.data):
        raise ValueError(
            f"{where}: {card.name} was trained on {' '.join(roots)}, this run on {' '.join(cfg.data)}: another "
            "split of other data, so the teacher may have trained on this run's validation items"
        )
    return warnings


def load_teacher(cfg: TrainConfig):
    """The run's teacher (None without ``--teacher``), checked by :func:`check_teacher` (warnings printed) and
    loaded from its card; ValueError (one line) for a card that cannot be used or is refused.

    :param cfg: the student's config
    :returns: a :class:`detector.models.classifier.Classifier` (an ``Ensemble`` for a card with members), or None
    """
    path = cfg.teacher_card()
    if not path:
        return None
    from detector.errors import NoModelError
    from detector.models.card import ModelCard
    from detector.models.classifier import load_model
    from detector.models.store import resolve

    try:
        card_path = resolve(path)
        card = ModelCard.from_file(card_path)
    except NoModelError as e:
        raise ValueError(f"--teacher {path}: {e}") from None
    for w in check_teacher(cfg, card):
        _warn(w)
    try:
        teacher = load_model(str(card_path))
    except NoModelError as e:
        raise ValueError(f"--teacher {path}: {e}") from None
    if len(teacher.card.classes) != 2:
        raise ValueError(f"--teacher {path}: {teacher.card.name} has {len(teacher.card.classes)} classes, not 2")
    if float(teacher.card.face_margin) != float(cfg.margin):
        raise ValueError(
            f"--teacher {path}: {teacher.card.name} scores faces cropped at margin {teacher.card.face_margin}, "
            f"this run crops at {cfg.margin}: give --margin {teacher.card.face_margin}"
        )
    if cfg.distill_features and teacher.members:
        raise ValueError(f"--distill-features: {teacher.card.name} is an ensemble; give one network as --teacher")
    return teacher


def check_feature_grid(cfg: TrainConfig, arch, size: int, teacher) -> None:
    """Before any work: refuse (ValueError, one line) a ``--distill-grid`` G that the student or the teacher cannot
    give: a student without a ``global_pool`` module (whose input is its feature map), or a feature map with fewer
    than G cells a side (averaging it onto the grid would copy cells, not compare regions).  Each network runs
    once on a blank image at its input size.

    :param cfg: the student's config
    :param arch: the student's registry entry
    :param size: the student's input size
    :param teacher: what :func:`load_teacher` gave
    """
    g = cfg.distill_grid
    if not g or teacher is None:
        return
    import torch

    student = arch.build(num_classes=2, size=size).eval()
    if not isinstance(getattr(student, "global_pool", None), torch.nn.Module):
        raise ValueError(
            f"--distill-grid: {cfg.arch} has no global_pool module whose input is its feature map "
            "(resnet18, efficientnet_lite0/2 and inception_resnet_v2 have one)"
        )
    with torch.no_grad():
        for who, net, side in (
            (f"the student ({cfg.arch} at {size} px)", student, size),
            (
                f"the teacher ({teacher.card.architecture} at {teacher.card.input_size} px)",
                teacher.net,
                teacher.card.input_size,
            ),
        ):
            cells = min(net.forward_features(torch.zeros(1, 3, side, side)).shape[-2:])
            if cells < g:
                raise ValueError(
                    f"--distill-grid {g}: {who} has a feature map of {cells} x {cells} cells; give G at most {cells}"
                )


def check_teacher_groups(cfg: TrainConfig, teacher, val_items) -> None:
    """After the split: refuse (ValueError, one line) a teacher whose card lists its validation groups when one of
    the run's validation groups is not among them (the teacher trained on it).

    :param cfg: the student's config
    :param teacher: what :func:`load_teacher` gave (None: nothing to check)
    :param val_items: the run's validation items (``Prepared.val_items``)
    """
    if teacher is None:
        return
    split = teacher.card.trained.get("split") if isinstance(teacher.card.trained, dict) else None
    if not isinstance(split, dict) or not isinstance(split.get("val_groups"), list):
        return
    seen = sorted({it.group for it in val_items} - set(split["val_groups"]))
    if seen:
        raise ValueError(
            f"--teacher {cfg.teacher_card()}: {teacher.card.name} trained on {len(seen)} of this run's validation "
            f"groups (e.g. {seen[0]})"
        )


def distillation_record(cfg: TrainConfig, teacher, teacher_size: int | None = None) -> dict:
    """What the student's card records of its teacher (``trained.distillation``).

    :param cfg: the student's config
    :param teacher: the loaded teacher
    :param teacher_size: where the teacher scored the training crops at its own size (not the student's): that size
    :returns: {teacher: as given, card: this fold's card, name, architecture, input_size, alpha, temperature, and
        features: the pooled-feature loss weight where there is one, feature_grid: its grid where it compares
        feature maps, teacher_size: the size in px at which the teacher
        scored the training crops where it was not the student's (``--distill-teacher-size``)}
    """
    return {
        "teacher": cfg.teacher,
        "card": cfg.teacher_card(),
        "name": teacher.card.name,
        "architecture": teacher.card.architecture,
        "input_size": teacher.card.input_size,
        "alpha": cfg.effective_distill_alpha,
        "temperature": cfg.distill_temperature,
        **({"features": cfg.distill_features} if cfg.distill_features else {}),
        **({"feature_grid": cfg.distill_grid} if cfg.distill_grid else {}),
        **({"teacher_size": teacher_size} if teacher_size else {}),
    }
