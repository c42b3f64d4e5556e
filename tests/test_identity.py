"""train --identity-adversary: a head that learns who a real person is, its gradient reversed into the network."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch


def test_real_person_names_ffpp_and_actor_reals_only():
    from detector.data.datasets import real_person

    assert real_person("/d/ffpp/original_sequences/youtube/c23/videos/183.mp4") == "183"
    assert real_person("/d/ffpp_c40/original_sequences/youtube/c40/videos/183.mp4") == "183"  # the twin: one person
    assert real_person("/d/x/original_sequences/actors/c40/videos/01__kitchen_pan.mp4") == "actor01"
    assert real_person("/d/ffpp/manipulated_sequences/Deepfakes/c23/videos/183_253.mp4") is None
    assert real_person("/d/faces_utk/real/10_0_0_2017.jpg.chip.jpg") is None
    assert real_person("/d/set/real/clip7.mp4") is None
    assert real_person("/actors/ffpp/original_sequences/youtube/c23/videos/183.mp4") == "183"  # a folder above


def test_training_persons_index_the_real_videos_not_their_pseudo_fakes():
    from detector.training.run import training_persons

    real = "/d/ffpp/original_sequences/youtube/c23/videos/{}.mp4"
    df = pd.DataFrame(
        {
            "video": [real.format("183"), real.format("183"), real.format("253"), real.format("253"), "/d/u/a.jpg"],
            "label": ["real", "real", "real", "fake", "real"],
            "pseudo": [False, False, False, True, False],
        }
    )
    persons, names = training_persons(df)
    assert names == ["183", "253"] and persons.tolist() == [0, 0, 1, -1, -1]


def test_gradient_reversal_flips_and_scales_the_gradient():
    from detector.training.callbacks import GradientReversal

    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = GradientReversal.apply(x, 0.5)
    assert torch.equal(y.detach(), x.detach())
    (3 * y).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-1.5, -1.5]))


def test_identity_loss_trains_the_head_and_pushes_the_features_away():
    """The head's step lowers its cross-entropy; the features' gradient is the reverse of what would lower it."""
    from detector.training.callbacks import IdentityAdversary

    torch.manual_seed(0)
    head = torch.nn.Linear(4, 2)
    cb = IdentityAdversary(head, 1.0, persons=[0, 1, -1], labels=[1, 1, 0])
    feats = torch.randn(3, 4, requires_grad=True)
    persons = torch.tensor([0, 1, -1])
    term = cb.identity_loss(feats, persons, scale=1.0)
    expected = torch.nn.functional.cross_entropy(head(feats[:2]), persons[:2])
    assert torch.allclose(term, expected)  # the row of no known person is not asked
    term.backward()
    plain = torch.autograd.grad(torch.nn.functional.cross_entropy(head(feats[:2]), persons[:2]), feats)[0]
    assert torch.allclose(feats.grad, -plain) and float(feats.grad[2].abs().sum()) == 0.0
    assert head.weight.grad is not None and float(head.weight.grad.abs().sum()) > 0
    assert cb.identity_loss(feats, torch.tensor([-1, -1, -1]), 1.0) is None
    assert cb.ramp(0.0) == 0.0 and 0.99 < cb.ramp(1.0) < 1.0 and cb.ramp(0.1) < cb.ramp(0.5)


def test_after_loss_adds_the_term_and_checks_the_batch_is_the_drawn_rows():
    from detector.training.callbacks import IdentityAdversary

    head = torch.nn.Linear(4, 2)
    cb = IdentityAdversary(head, 0.5, persons=[0, 1, -1, -1], labels=[1, 1, 0, 1])
    dl = SimpleNamespace(bs=2, drawn=[2, 0, 1, 3])  # batch 1 is rows 1, 3
    learn = SimpleNamespace(training=True, yb=(torch.tensor([1, 1]),), iter=1, dl=dl, pct_train=1.0)
    learn.loss_grad = torch.tensor(1.0)
    cb.learn = learn
    cb.features = torch.zeros(2, 4, requires_grad=True)
    cb.after_loss()
    # row 1 (person 1) is asked, row 3 is not; zero features: the head guesses from its bias alone
    expected = torch.nn.functional.cross_entropy(head(torch.zeros(1, 4)), torch.tensor([1]))
    assert (
        float(learn.loss_grad.detach()) == pytest.approx(1.0 + 0.5 * float(expected.detach()), rel=1e-5)
        and cb.last is not None
    )
    learn.yb = (torch.tensor([0, 1]),)  # not the labels of rows 1, 3
    with pytest.raises(RuntimeError, match="not the rows"):
        cb.after_loss()


@pytest.mark.parametrize(
    "extra",
    [
        ["--identity-adversary", "1"],  # no --balance domain
        ["--identity-adversary", "-1", "--balance", "domain", "--sbi", "0.5"],
        ["--identity-adversary", "nan", "--balance", "domain", "--sbi", "0.5"],
        ["--identity-adversary", "1", "--balance", "domain", "--sbi", "0.5", "--mixup", "1"],
        ["--identity-adversary", "1", "--balance", "domain", "--sbi", "0.5", "--pairs", "1"],
    ],
)
def test_identity_adversary_options_are_checked(tmp_path, capsys, extra):
    from detector.training.run import main

    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--arch", "resnet18", "--epoch-size", "64", *extra])
    assert "--identity-adversary W is a loss weight" in capsys.readouterr().err


def test_identity_adversary_needs_a_classifier_layer(monkeypatch):
    """Every registered network has one (timm's get_classifier; MesoNet's own); a network without is refused."""
    from detector.models.registry import Architecture
    from detector.training.config import parse_config
    from detector.training.run import resolve_arch

    monkeypatch.setattr(Architecture, "build", lambda self, **kw: torch.nn.Linear(2, 2))
    cfg = parse_config(["--data", "x", "--arch", "resnet18", "--epoch-size", "64", "--balance", "domain", "--sbi",
                        "0.5", "--identity-adversary", "1"])  # fmt: skip
    with pytest.raises(ValueError, match="reads the classifier's input; resnet18 has no classifier layer"):
        resolve_arch(cfg)


def test_identity_adversary_needs_two_known_people(tiny_dataset, tmp_path, capsys):
    """real/ + fake/ folders name no person: refused before the pseudo-fakes are made."""
    from detector.training.run import main

    argv = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--workers", "1", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "o")]
    argv += ["--epoch-size", "16", "--balance", "domain", "--sbi", "0.25", "--identity-adversary", "1"]
    assert main(argv) == 2
    assert "error: --identity-adversary: the training crops show 0 known real person(s)" in capsys.readouterr().err
    assert not (tmp_path / "o" / "model").exists()


@pytest.mark.slow
def test_identity_adversary_trains_and_exports_without_its_head(ffpp_tiny, tmp_path):
    from safetensors.torch import load_file

    from detector.training.callbacks import IdentityAdversary
    from detector.training.config import parse_config
    from detector.training.run import IDENTITY_HEAD, learner, main, prepare

    argv = ["--data", str(ffpp_tiny), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--folds", "2", "--fold", "0", "--workers", "1", "--cache", str(tmp_path / "cache")]
    argv += ["--epoch-size", "16", "--balance", "domain", "--sbi", "0.25", "--identity-adversary", "1"]
    cfg = parse_config(argv + ["--out", str(tmp_path / "l")])
    learn, *_ = learner(cfg, prepare(cfg), tmp_path / "l")
    cb = next(c for c in learn.cbs if isinstance(c, IdentityAdversary))
    rows = learn.dls.train.items
    known = rows[cb.persons.numpy() >= 0]
    assert len(known) and (known.label == "real").all() and not known.pseudo.any()
    assert cb.head.out_features == len({v for v in known.video}) >= 2  # one class per training real video here
    learn.fit(1, 1e-3)  # every batch checked against the loader's draw; the term is added
    assert len(cb.history) == 1 and cb.history[0] > 0

    out = tmp_path / "m"
    assert main(argv + ["--out", str(out)]) == 0
    weights = load_file(str(out / "model" / "resnet18.safetensors"))
    assert not any(k.startswith(IDENTITY_HEAD) for k in weights)
    trained = json.loads((out / "model" / "resnet18.json").read_text())["trained"]
    assert trained["config"]["identity_adversary"] == 1.0
    assert np.isfinite(json.loads((out / "metrics.json").read_text())["metrics"]["video"]["auc"] or 0.0)
