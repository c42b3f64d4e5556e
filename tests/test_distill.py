"""Knowledge distillation in ``deepfake-lens train --teacher CARD``: the mixed loss, the ``{fold}`` substitution, the
refusal of a teacher that trained on the run's validation items, and one tiny distilled run (tiny cards made here:
no shared data)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch

from detector.models.card import ModelCard
from detector.training.config import parse_config

BASE = ["--data", "d", "--arch", "resnet18"]


class FixedLogits(torch.nn.Module):
    """A teacher network whose logits are the same for every crop; it keeps its last input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float32), requires_grad=False)
        self.seen = None

    def forward(self, x):
        self.seen = x
        return self.logits.expand(len(x), -1)


def fixed_teacher(p_fake: float, size: int = 8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)):
    """A loaded-model stand-in whose card orders the classes real, fake (the student's are fake, real)."""
    card = ModelCard(name="t", architecture="resnet18", input_size=size, mean=mean, std=std, classes=["real", "fake"])
    net = FixedLogits([0.0, math.log(p_fake / (1 - p_fake))])
    return SimpleNamespace(card=card, members=[], net=net)


def kl(q: list[float], logits: list[float], t: float) -> float:
    z = [v / t for v in logits]
    log_norm = math.log(sum(math.exp(v) for v in z))
    return sum(qc * (math.log(qc) - (zc - log_norm)) for qc, zc in zip(q, z) if qc > 0)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_loss_is_the_weighted_mix_of_the_labels_and_the_teachers_probabilities(temperature):
    from detector.training.callbacks import DistillationCallback

    teacher = fixed_teacher(0.8)
    cb = DistillationCallback(teacher, alpha=0.7, temperature=temperature, fake_index=0)
    gray = torch.full((2, 3, 16, 16), 0.5)  # the student's input size, normalised with the student's stats
    x = (gray - cb.mean) / cb.std
    pred = torch.tensor([[1.0, -1.0], [0.0, 2.0]], requires_grad=True)  # student logits: fake, real
    y = torch.tensor([0, 1])
    hard = torch.nn.functional.cross_entropy(pred, y)
    cb.learn = SimpleNamespace(training=True, xb=(x,), yb=(y,), pred=pred, loss_grad=hard, loss=hard.clone())
    cb.after_loss()

    seen = teacher.net.seen  # resized to the teacher's size, renormalised with its stats: 0.5 gray -> 0
    assert seen.shape == (2, 3, 8, 8) and seen.abs().max() < 1e-5
    q_fake = 1 / (1 + math.exp(-math.log(4) / temperature))  # teacher p_fake 0.8 at T=1, softened at T
    q = [q_fake, 1 - q_fake]  # in the student's order: fake, real
    soft = temperature**2 * (kl(q, [1.0, -1.0], temperature) + kl(q, [0.0, 2.0], temperature)) / 2
    expected = 0.3 * hard.item() + 0.7 * soft
    assert cb.learn.loss_grad.item() == pytest.approx(expected, rel=1e-5)
    assert cb.learn.loss.item() == pytest.approx(expected, rel=1e-5)
    assert cb.last["soft"] == pytest.approx(soft, rel=1e-5)
    cb.learn.loss_grad.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0

    cb.learn = SimpleNamespace(training=False, xb=(x,), yb=(y,), pred=pred, loss_grad=hard, loss=hard)
    cb.after_loss()  # validation: the plain loss
    assert cb.learn.loss_grad is hard


def test_teacher_path_takes_the_runs_fold():
    cfgs = [
        parse_config([*BASE, "--teacher", "runs/cv/fold{fold}/model/m.json", "--folds", "3", "--fold", str(i)])
        for i in range(3)
    ]
    assert [c.teacher_card() for c in cfgs] == [f"runs/cv/fold{i}/model/m.json" for i in range(3)]
    assert cfgs[0].recipe() == cfgs[2].recipe()  # one recipe over the folds: crossval pools them
    assert cfgs[0].effective_distill_alpha == 0.7 and cfgs[0].distill_temperature == 1.0
    assert parse_config(BASE).teacher_card() is None and parse_config(BASE).effective_distill_alpha == 0.0


@pytest.mark.parametrize(
    "extra",
    [
        ["--teacher", "fold{fold}/m.json"],  # no --folds
        ["--distill-alpha", "0.5"],  # no --teacher
        ["--teacher", "m.json", "--distill-alpha", "1.5"],
        ["--teacher", "m.json", "--distill-temperature", "0"],
    ],
)
def test_bad_distillation_options_are_refused(extra):
    with pytest.raises(SystemExit) as e:
        parse_config([*BASE, *extra])
    assert e.value.code == 2


def teacher_card(folder, data, split: dict | None, members=()):
    """A tiny resnet18 teacher (random weights) with a card recording ``split`` and ``data``; returns its path."""
    from detector.models import registry
    from detector.models.store import save_model

    torch.manual_seed(0)
    trained = {"config": {"data": [str(d) for d in data]}}
    if split is not None:
        trained["split"] = split
    card = ModelCard(name="teacher", architecture="resnet18", input_size=48, classes=["fake", "real"], trained=trained)
    path = save_model(registry.build("resnet18", num_classes=2), card, folder)
    if members:
        card = ModelCard.from_file(path)
        card.members = list(members)
        path.write_text(card.to_json())
    return path


def test_a_teacher_of_another_fold_split_or_data_is_refused(tmp_path):
    from detector.training.distill import check_teacher

    card = ModelCard.from_file(teacher_card(tmp_path, ["d"], {"folds": 3, "fold": 1, "seed": 0}))
    same = parse_config([*BASE, "--teacher", "x.json", "--folds", "3", "--fold", "1"])
    assert check_teacher(same, card) == []
    for extra in (["--fold", "0"], ["--fold", "1", "--split-seed", "1"]):
        cfg = parse_config([*BASE, "--teacher", "x.json", "--folds", "3", *extra])
        with pytest.raises(ValueError, match="trained on this run's validation items"):
            check_teacher(cfg, card)
    with pytest.raises(ValueError, match="validated on fold 1 of 3"):
        check_teacher(parse_config([*BASE, "--teacher", "x.json"]), card)  # a plain split
    other = parse_config(["--data", "e", "--arch", "resnet18", "--teacher", "x.json", "--folds", "3", "--fold", "1"])
    with pytest.raises(ValueError, match="was trained on d, this run on e"):
        check_teacher(other, card)
    unrecorded = ModelCard(name="u", architecture="resnet18", input_size=48)
    assert len(check_teacher(same, unrecorded)) == 2  # warned, not refused: nothing to compare


def test_an_ensemble_teacher_is_refused_for_a_cross_validated_run(tmp_path):
    from detector.training.distill import check_teacher

    card = ModelCard.from_file(teacher_card(tmp_path, ["d"], {"folds": 3, "seed": 0}, members=["teacher.safetensors"]))
    cfg = parse_config([*BASE, "--teacher", "x.json", "--folds", "3", "--fold", "0"])
    with pytest.raises(ValueError, match="ensemble whose members together trained on every fold"):
        check_teacher(cfg, card)


def test_the_shipped_ensemble_is_refused_as_a_fold_teacher():
    from detector.constants import REPO_ASSETS
    from detector.training.distill import check_teacher

    path = REPO_ASSETS / "models" / "effnet_realfaces.json"
    if not path.is_file():
        pytest.skip("the shipped ensemble is not in this checkout")
    card = ModelCard.from_file(path)
    cfg = parse_config(["--recipe", "resnet18_distill", "--folds", "3", "--fold", "0", "--teacher", str(path)])
    with pytest.raises(ValueError, match="ensemble"):
        check_teacher(cfg, card)


def test_a_teacher_that_trained_on_a_validation_group_is_refused(tmp_path):
    from detector.training.distill import check_teacher_groups

    cfg = parse_config([*BASE, "--teacher", "x.json", "--folds", "3", "--fold", "0"])
    teacher = SimpleNamespace(card=ModelCard(name="t", architecture="resnet18", input_size=48))
    teacher.card.trained = {"split": {"val_groups": ["a", "b"]}}
    check_teacher_groups(cfg, teacher, [SimpleNamespace(group="a"), SimpleNamespace(group="b")])
    with pytest.raises(ValueError, match="trained on 1 of this run's validation groups"):
        check_teacher_groups(cfg, teacher, [SimpleNamespace(group="a"), SimpleNamespace(group="c")])


def test_train_refuses_a_teacher_of_another_fold_before_any_work(tmp_path, capsys):
    from detector.training.run import main

    card = teacher_card(tmp_path / "t", [tmp_path], {"folds": 3, "fold": 2, "seed": 0})
    argv = ["--data", str(tmp_path), "--arch", "resnet18", "--folds", "3", "--fold", "0"]
    rc = main([*argv, "--teacher", str(card), "--out", str(tmp_path / "r")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "validated on fold 2 of 3" in err[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@pytest.mark.parametrize("grid", [0, 1])
def test_a_distilled_run_records_its_teacher(tiny_dataset, tmp_path, capsys, grid):
    """A tiny run with ``--teacher .../fold{fold}/...``: it trains, and its card names the teacher as given (with
    ``--distill-grid``, the feature maps' grid too)."""
    from detector.data.datasets import read_dataset
    from detector.data.splits import fold_by_group
    from detector.models.classifier import load_model
    from detector.training.run import main

    groups = sorted({it.group for it in fold_by_group(read_dataset(tiny_dataset), 3, seed=0)[1]})
    teacher_card(tmp_path / "fold1", [tiny_dataset], {"folds": 3, "fold": 1, "seed": 0, "val_groups": groups})
    given = str(tmp_path / "fold{fold}" / "teacher.json")
    out = tmp_path / "r"
    argv = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--folds", "3", "--fold", "1", "--workers", "1", "--cache", str(tmp_path / "cache")]
    argv += ["--teacher", given, "--distill-alpha", "0.5", "--distill-temperature", "2", "--out", str(out)]
    argv += ["--distill-features", "0.5", "--distill-teacher-size"] + ["--distill-grid", str(grid)] * bool(grid)
    argv += ["--mixup", "1"] * bool(grid)  # the teacher scores the blended crops
    # (at 32 px the student's map is 1 x 1, so the grid is 1: this checks the hook and the records in a real run)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert ("mixup: each training crop blended with another of its batch" in err) == bool(grid)
    kind = "the feature maps averaged onto a 1 x 1 grid, cell by cell" if grid else "the pooled features"
    assert "distilling from teacher" in err and f"feature loss weight 0.5 ({kind})" in err
    assert "training crops at 48 px for the teacher, 32 px for the student" in err
    card = json.loads((out / "model" / "resnet18.json").read_text())
    record = card["trained"]["distillation"]
    assert record == {
        "teacher": given,
        "card": str(tmp_path / "fold1" / "teacher.json"),
        "name": "teacher",
        "architecture": "resnet18",
        "input_size": 48,
        "alpha": 0.5,
        "temperature": 2.0,
        "features": 0.5,
        **({"feature_grid": grid} if grid else {}),
        "teacher_size": 48,
    }
    assert card["trained"]["config"]["teacher"] == given and "Distilled from teacher" in card["notes"]
    assert "the teacher scored the training crops at 48 px" in card["notes"]
    assert f"feature loss weight 0.5 ({kind})" in card["notes"]
    assert json.loads((out / "metrics.json").read_text())["distillation"] == record
    from safetensors import safe_open

    with safe_open(str(out / "model" / "resnet18.safetensors"), "pt") as f:
        assert f.keys() and not any(k.startswith("distill_projection") for k in f.keys())  # training only
    assert load_model(str(out / "model" / "resnet18.json")).predict([]).shape == (0,)


def test_feature_loss_regresses_the_projected_student_onto_the_standardised_teacher():
    """--distill-features: the third term is the weight times the mean square between the projected student
    features and the teacher's, standardised by the running mean and spread (the first batch's here); the
    projection gets a gradient and the loss reaches zero when it maps onto the standardised target."""
    import timm

    from detector.training.callbacks import DistillationCallback

    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=2).eval()
    card = ModelCard(name="t", architecture="resnet18", input_size=16, classes=["real", "fake"])
    teacher = SimpleNamespace(card=card, members=[], net=net)
    projection = torch.nn.Linear(8, net.num_features)
    with pytest.raises(ValueError, match="one network and a projection"):
        DistillationCallback(teacher, alpha=0.5, feature_weight=1.0)
    cb = DistillationCallback(teacher, alpha=0.5, temperature=1.0, feature_weight=2.0, projection=projection)
    x = torch.randn(6, 3, 16, 16)
    probs, pooled = cb.teacher_outputs(x, features=True)
    assert pooled.shape == (6, net.num_features) and torch.allclose(probs.sum(1), torch.ones(6))
    assert torch.allclose(probs[:, 1], cb.teacher_outputs(x, features=False)[0][:, 1], atol=1e-6)

    student = torch.randn(6, 8)
    spread = pooled.var(0, unbiased=False).sqrt()
    target = (pooled - pooled.mean(0)) / spread.clamp_min(float(spread.mean()) * 0.01)
    expected = ((projection(student) - target) ** 2).mean()
    pred = torch.tensor([[1.0, -1.0]] * 6, requires_grad=True)
    y = torch.zeros(6, dtype=torch.long)
    hard = torch.nn.functional.cross_entropy(pred, y)
    cb.student_features = student
    cb.learn = SimpleNamespace(training=True, xb=(x,), yb=(y,), pred=pred, loss_grad=hard, loss=hard.clone())
    cb.after_loss()
    assert cb.last["feature"] == pytest.approx(expected.item(), rel=1e-5)
    mix = 0.5 * cb.last["hard"] + 0.5 * cb.last["soft"] + 2.0 * cb.last["feature"]
    assert cb.learn.loss_grad.item() == pytest.approx(mix, rel=1e-5)
    cb.learn.loss_grad.backward()
    assert projection.weight.grad is not None and projection.weight.grad.abs().sum() > 0

    exact = torch.nn.Linear(8, net.num_features)  # maps these 6 students onto their targets (9 unknowns, 6 equations)
    with torch.no_grad():
        solution = torch.linalg.lstsq(torch.cat([student, torch.ones(6, 1)], 1), target).solution
        exact.weight.copy_(solution[:8].T)
        exact.bias.copy_(solution[8])
    cb.projection = exact
    assert cb.feature_loss(student, pooled).item() < 1e-6  # same batch again: the running estimates stay put


def test_feature_maps_on_a_grid_are_compared_cell_by_cell():
    """--distill-grid G: the hook reads the student's map at its global_pool, both maps are averaged onto G x G
    cells (here 4 x 4 maps onto 2 x 2: each cell the mean of a 2 x 2 block), and the loss is the pooled loss's
    formula over one row a cell."""
    import timm

    from detector.models import registry
    from detector.training.callbacks import DistillationCallback

    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=2).eval()
    teacher = SimpleNamespace(card=ModelCard(name="t", architecture="resnet18", input_size=128), members=[], net=net)
    student = registry.build("resnet18", num_classes=2)
    projection = torch.nn.Linear(student.num_features, net.num_features)
    cb = DistillationCallback(teacher, alpha=0.5, feature_weight=1.0, projection=projection, feature_grid=2)
    x = torch.randn(4, 3, 128, 128)  # a 4 x 4 map for both networks at 128 px
    blocks = (
        lambda m: torch.stack(  # noqa: E731
            [
                torch.stack([m[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean((2, 3)) for j in range(2)], -1)
                for i in range(2)
            ],
            -2,
        )
    )
    probs, cells = cb.teacher_outputs(x, features=True)
    fmap = net.forward_features(x)
    assert fmap.shape[-2:] == (4, 4) and cells.shape == (4, net.num_features, 2, 2)
    assert torch.allclose(cells, blocks(fmap), atol=1e-5)
    assert torch.allclose(probs[:, 1], cb.teacher_outputs(x, features=False)[0][:, 1], atol=1e-6)

    cb.learn = SimpleNamespace(model=student, training=True)
    cb.before_train()
    pred = student(x)
    assert cb.student_features.shape == (4, student.num_features, 4, 4)  # the map, not the pooled features
    rows = lambda t: t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])  # noqa: E731
    target = rows(blocks(fmap))
    spread = target.var(0, unbiased=False).sqrt()
    target = (target - target.mean(0)) / spread.clamp_min(float(spread.mean()) * 0.01)
    expected = ((projection(rows(blocks(cb.student_features))) - target) ** 2).mean()
    y = torch.zeros(4, dtype=torch.long)
    hard = torch.nn.functional.cross_entropy(pred, y)
    cb.learn = SimpleNamespace(training=True, xb=(x,), yb=(y,), pred=pred, loss_grad=hard, loss=hard.clone())
    cb.after_loss()
    assert cb.last["feature"] == pytest.approx(expected.item(), rel=1e-5)
    cb.learn.loss_grad.backward()
    assert projection.weight.grad.abs().sum() > 0 and student.conv1.weight.grad.abs().sum() > 0
    cb.after_train()
    assert cb.hook is None


@pytest.mark.parametrize(
    "arch, size, grid, message",
    [
        ("meso4", 256, 2, "meso4 has no global_pool module"),
        ("resnet18", 64, 3, "the student (resnet18 at 64 px) has a feature map of 2 x 2 cells; give G at most 2"),
        ("resnet18", 160, 3, "the teacher (resnet18 at 48 px) has a feature map of 2 x 2 cells; give G at most 2"),
    ],
)
def test_train_refuses_a_grid_it_cannot_give_before_any_work(tiny_dataset, tmp_path, capsys, arch, size, grid, message):
    """--distill-grid G needs a student with a global_pool and maps of at least G x G cells on both sides: one line,
    exit 2, before any crop is cut."""
    from detector.training.run import main

    teacher_card(tmp_path, [str(tiny_dataset)], {"val_fraction": 0.2, "seed": 0})  # resnet18, 48 px
    argv = ["--data", str(tiny_dataset), "--arch", arch, "--size", str(size), "--cache", str(tmp_path / "cache")]
    argv += ["--teacher", str(tmp_path / "teacher.json"), "--distill-features", "1", "--distill-grid", str(grid)]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "r").exists()


def test_a_grid_needs_feature_distillation_and_is_recorded(capsys):
    from detector.training.distill import distillation_record

    for flags in (["--distill-grid", "2"], ["--distill-features", "1", "--distill-grid", "-1"]):
        with pytest.raises(SystemExit):
            parse_config([*BASE, "--teacher", "m.json", *flags])
        assert "--distill-grid G is a number of cells a side" in capsys.readouterr().err
    cfg = parse_config([*BASE, "--teacher", "m.json", "--distill-features", "1", "--distill-grid", "4"])
    card = ModelCard(name="t", architecture="efficientnet_lite0", input_size=160)
    record = distillation_record(cfg, SimpleNamespace(card=card))
    assert record["features"] == 1.0 and record["feature_grid"] == 4 and "teacher_size" not in record
    plain = parse_config([*BASE, "--teacher", "m.json"])
    assert "feature_grid" not in distillation_record(plain, SimpleNamespace(card=card))


def test_feature_distillation_needs_a_teacher(capsys):
    for flag in (["--distill-features", "1"], ["--distill-teacher-size"]):
        with pytest.raises(SystemExit):
            parse_config([*BASE, *flag])
        assert "--distill-teacher-size need --teacher CARD" in capsys.readouterr().err
    cfg = parse_config([*BASE, "--teacher", "m.json", "--distill-features", "1"])
    assert cfg.distill_features == 1.0 and "distill_features" in cfg.recipe()


def test_feature_hook_lives_for_training_passes_and_the_projection_trains_with_the_head():
    """The hook keeps the student's pooled features during training only (gone after, so a copy of the model for
    --ema does not drag the callback along); a batch without them is an error, not a silent skip; the projection
    joins the head's parameter group (trained in a frozen epoch, at the head's rate)."""
    import copy

    import timm

    from detector.models import registry
    from detector.training.callbacks import DistillationCallback
    from detector.training.run import _in_head

    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=2).eval()
    teacher = SimpleNamespace(card=ModelCard(name="t", architecture="resnet18", input_size=16), members=[], net=net)
    student = registry.build("resnet18", num_classes=2)
    projection = torch.nn.Linear(student.num_features, net.num_features)
    student.add_module("distill_projection", projection)
    cb = DistillationCallback(teacher, alpha=0.5, feature_weight=1.0, projection=projection)
    cb.learn = SimpleNamespace(model=student, training=True)
    cb.before_train()
    student(torch.randn(2, 3, 32, 32))
    assert cb.student_features.shape == (2, student.num_features)
    cb.after_train()
    assert cb.hook is None and cb.student_features is None
    copy.deepcopy(student)  # no hook left on it
    student(torch.randn(2, 3, 32, 32))
    assert cb.student_features is None  # validation passes are not kept
    y = torch.zeros(2, dtype=torch.long)
    pred = torch.zeros(2, 2, requires_grad=True)
    cb.learn = SimpleNamespace(training=True, xb=(torch.randn(2, 3, 16, 16),), yb=(y,), pred=pred, loss_grad=pred.sum())
    with pytest.raises(RuntimeError, match="saw no input"):
        cb.after_loss()

    body, head = _in_head(registry.get("resnet18").param_groups(student), projection)
    ids = {id(p) for p in projection.parameters()}
    assert ids <= {id(p) for p in head} and not ids & {id(p) for p in body}
    assert len(body) + len(head) == len(list(student.parameters()))


def test_feature_distillation_refuses_an_ensemble_teacher_when_it_is_loaded(tmp_path):
    """Pooled features of several networks cannot be averaged: load_teacher refuses the card before any work."""
    from detector.training.distill import load_teacher

    path = teacher_card(tmp_path, ["d"], {"val_fraction": 0.2, "seed": 0}, members=["teacher.safetensors"] * 2)
    plain = parse_config([*BASE, "--teacher", str(path)])
    assert load_teacher(plain).members  # an ensemble teacher is fine for the probabilities
    with pytest.raises(ValueError, match="is an ensemble; give one network"):
        load_teacher(parse_config([*BASE, "--teacher", str(path), "--distill-features", "1"]))


@pytest.mark.parametrize("name", ["meso4", "mesoinception4", "resnet18", "efficientnet_lite0"])
def test_every_student_hands_its_classifier_pooled_features(name):
    """--distill-features and frame embeddings read the classifier's input: every architecture names its width
    (``num_features``) and gives it with ``forward_head(..., pre_logits=True)``; the training hook sees the same
    tensor, and ``logits_from_pooled`` maps it to the network's logits (MesoNet's one unit z as [-z/2, z/2])."""
    from detector.models import registry
    from detector.training.callbacks import DistillationCallback

    torch.manual_seed(0)
    size = 64 if name.startswith("meso") else 32
    student = registry.build(name, num_classes=2, size=size).eval()
    teacher_net = registry.build("resnet18", num_classes=2).eval()
    card = ModelCard(name="t", architecture="resnet18", input_size=32)
    teacher = SimpleNamespace(card=card, members=[], net=teacher_net)
    projection = torch.nn.Linear(student.num_features, teacher_net.num_features)
    cb = DistillationCallback(teacher, alpha=0.5, feature_weight=1.0, projection=projection)
    cb.learn = SimpleNamespace(model=student, training=True)
    x = torch.randn(3, 3, size, size)
    cb.before_train()
    with torch.no_grad():
        logits = student(x)
        seen = cb.student_features
        pooled = student.forward_head(student.forward_features(x), pre_logits=True)
        out = registry.logits_from_pooled(student, pooled)
    cb.after_train()
    assert pooled.shape == seen.shape == (3, student.num_features)
    assert torch.allclose(seen, pooled, atol=1e-6)
    assert torch.allclose(out, logits, atol=1e-5)


def test_at_the_teachers_size_the_teacher_scores_the_batch_and_the_student_a_shrunk_copy():
    """--distill-teacher-size: a training batch at the teacher's size reaches the student shrunk to its own size as
    the pipeline shrinks a crop (INTER_AREA), and the teacher scores the batch as it came; a validation batch
    passes unchanged."""
    import cv2
    import numpy as np
    import timm

    from detector.training.callbacks import DistillationCallback

    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=2).eval()
    teacher = SimpleNamespace(card=ModelCard(name="t", architecture="resnet18", input_size=48), members=[], net=net)
    cb = DistillationCallback(teacher, alpha=0.5, student_size=32)
    x, y = torch.randn(4, 3, 48, 48), torch.zeros(4, dtype=torch.long)
    cb.learn = SimpleNamespace(training=True, xb=(x,), yb=(y,))
    cb.before_batch()
    assert cb.learn.xb[0].shape == (4, 3, 32, 32) and cb.teacher_x is x
    pipeline = np.stack([cv2.resize(a, (32, 32), interpolation=cv2.INTER_AREA) for a in x.permute(0, 2, 3, 1).numpy()])
    assert torch.allclose(cb.learn.xb[0].permute(0, 2, 3, 1), torch.from_numpy(pipeline), atol=1e-5)
    seen = []
    real_outputs = cb.teacher_outputs
    cb.teacher_outputs = lambda batch, features: seen.append(batch.shape) or real_outputs(batch, features)
    pred = torch.zeros(4, 2, requires_grad=True)
    hard = torch.nn.functional.cross_entropy(pred, y)
    cb.learn.pred, cb.learn.loss_grad, cb.learn.loss = pred, hard, hard.clone()
    cb.after_loss()
    assert seen == [(4, 3, 48, 48)] and cb.learn.loss_grad.requires_grad
    valid = torch.randn(4, 3, 32, 32)
    cb.learn = SimpleNamespace(training=False, xb=(valid,), yb=(y,))
    cb.before_batch()
    assert cb.learn.xb[0] is valid and cb.teacher_x is None


def test_training_crops_are_augmented_at_the_teachers_size_and_validation_at_the_students():
    """--distill-teacher-size's data side: the item transforms give training crops at ``train_size`` and
    validation crops at the model's size."""
    import numpy as np
    from fastai.vision.all import PILImage

    from detector.training.augment import item_transforms

    (resize,) = item_transforms(32, 0.0, ["fake", "real"], seed=0, train_size=48)
    img = PILImage.create(np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8))
    sides = {}
    for split in (0, 1):
        resize.before_call(None, split)
        sides[split] = np.asarray(resize.encodes(img)).shape
    assert sides == {0: (48, 48, 3), 1: (32, 32, 3)}


def test_a_mesonet_gives_the_same_frame_probabilities_from_its_embeddings(tmp_path):
    """Classifier.embed on a MesoNet (one output unit): its probabilities are predict()'s, not a softmax over
    one column (which would be 1 for every frame)."""
    import numpy as np

    from detector.models import registry
    from detector.models.classifier import load_model
    from detector.models.store import save_model

    torch.manual_seed(0)
    card = ModelCard(name="m", architecture="meso4", input_size=64, classes=["fake", "real"])
    model = load_model(str(save_model(registry.build("meso4", num_classes=2, size=64), card, tmp_path)))
    crops = [np.random.default_rng(i).integers(0, 255, (80, 80, 3), dtype=np.uint8) for i in range(5)]
    feats, probs = model.embed(crops)
    assert feats.shape == (5, 16)
    assert np.allclose(probs, model.predict(crops), atol=1e-5) and probs.std() > 0


@pytest.mark.parametrize(
    "extra",
    [["--mixup", "-1"], ["--mixup", "nan"], ["--mixup", "1", "--mask-weight", "1"], ["--mixup", "1", "--pairs", "1"]],
)
def test_bad_mixup_options_are_refused(extra):
    argv = [*BASE, "--epoch-size", "8", "--balance", "domain", "--sbi", "0.25", *extra]
    with pytest.raises(SystemExit) as e:
        parse_config(argv)
    assert e.value.code == 2


def test_mixup_blends_the_batch_before_the_teacher_scores_it():
    """--mixup with --teacher (function matching): in a fastai Learner with the run's two callbacks, the teacher
    scores the blended crops the student sees, not the crops as drawn."""
    from fastai.callback.core import Callback
    from fastai.callback.mixup import MixUp
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat

    from detector.training.callbacks import DistillationCallback

    torch.manual_seed(0)
    items = [(torch.full((3, 8, 8), float(i)), torch.tensor(i % 2)) for i in range(4)]  # crop i: every pixel i
    dls = DataLoaders(DataLoader(items, bs=4), DataLoader(items, bs=4))
    teacher = fixed_teacher(0.8)
    distill = DistillationCallback(teacher, alpha=0.5, temperature=1.0, fake_index=0)
    seen = []

    class Spy(Callback):
        order = 20  # after the distillation callback's after_loss

        def after_loss(self):
            if self.training:
                seen.append((self.learn.xb[0].clone(), teacher.net.seen.clone(), distill.last))

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    learn = Learner(dls, net, loss_func=CrossEntropyLossFlat(), cbs=[MixUp(1.0), distill, Spy()])
    learn.fit(1, lr=0.0)
    assert len(seen) == 1
    student, scored, last = seen[0]
    values = student[:, 0, 0, 0]
    assert torch.equal(student, values.view(4, 1, 1, 1).expand_as(student))  # each crop is still one value...
    blended = (values - values.round()).abs() > 1e-4
    assert blended.any()  # ...but not a drawn crop's: a blend of two (a crop blended with itself stays itself)
    assert torch.allclose(scored, distill._teacher_input(student), atol=1e-5)  # the teacher saw the blends
    assert set(last) == {"hard", "soft"}


def test_a_teacher_that_crops_faces_at_another_margin_is_refused(tmp_path):
    """The teacher scores the student's crops: at another margin it would score faces framed as it never saw them."""
    from detector.training.distill import load_teacher

    path = teacher_card(tmp_path, ["d"], {"val_fraction": 0.2, "seed": 0})
    assert load_teacher(parse_config([*BASE, "--teacher", str(path)])).card.face_margin == 0.3
    with pytest.raises(ValueError, match="margin 0.3, this run crops at 0.6: give --margin 0.3"):
        load_teacher(parse_config([*BASE, "--teacher", str(path), "--margin", "0.6"]))
