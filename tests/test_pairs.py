"""``train --pairs W``: (real, fake) pairs of one frame drawn together, and the ranking loss on them.

The pairing and the loss are checked on hand-made tables and logits; one short run on conftest's ``tiny_dataset``
checks that the training loader really yields whole pairs and that the run trains and records the option.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from detector.training.augment import pair_partners, paired_shares
from detector.training.callbacks import PairedRanking


def _table():
    """A fake G whose target is not in the table; real video R (times 2, 0, 1: not in time order) after it, with its
    fake F (target R; times 0.05, 1.3, 9.0) between R's rows; a real photo P with a pseudo-fake copy, and a real
    photo Q without one (FaceMesh found no face)."""
    rows = [
        dict(path="g", video="G", time=0.0, label="fake", target="elsewhere", pseudo=False, source="v"),
        dict(path="r2", video="R", time=2.0, label="real", target="", pseudo=False, source="v"),
        dict(path="f0", video="F", time=0.05, label="fake", target="R", pseudo=False, source="v"),
        dict(path="r0", video="R", time=0.0, label="real", target="", pseudo=False, source="v"),
        dict(path="f1", video="F", time=1.3, label="fake", target="R", pseudo=False, source="v"),
        dict(path="r1", video="R", time=1.0, label="real", target="", pseudo=False, source="v"),
        dict(path="f2", video="F", time=9.0, label="fake", target="R", pseudo=False, source="v"),  # R has no frame near
        dict(path="p", video="P", time=0.0, label="real", target="", pseudo=False, source="photos"),
        dict(path="p", video="P", time=0.0, label="fake", target="", pseudo=True, source="photos"),
        dict(path="q", video="Q", time=0.0, label="real", target="", pseudo=False, source="photos"),
    ]
    return pd.DataFrame(rows)


def test_partners_pair_a_fake_with_its_targets_frame_and_a_pseudo_fake_with_its_real():
    got = [p.tolist() for p in pair_partners(_table())]
    assert got == [
        [],  # G: its target is not trained on
        [],  # r2: f2 is 7 s away
        [3],  # f0 -> r0 (0.05 s apart)
        [2],
        [5],  # f1 -> r1 (0.3 s apart)
        [4],
        [],
        [8],  # the real photo and its own pseudo-fake
        [7],
        [],  # a photo FaceMesh found no face in: no pseudo-fake, so no pair
    ]
    assert [p.tolist() for p in pair_partners(_table(), max_gap=0.1)][4] == []  # 0.3 s is too far at 0.1
    # a "fake" naming itself as its target is no pair
    self_target = pd.DataFrame([dict(path="x", video="X", time=0.0, label="fake", target="X", pseudo=False)])
    assert [p.tolist() for p in pair_partners(self_target)] == [[]]


def test_paired_shares_follow_anchors_and_their_partners():
    table = _table()
    partners = pair_partners(table)
    wgts = np.ones(len(table))  # anchors: the six rows with a partner, 1/6 each
    shares = paired_shares(table, wgts, partners)
    # each anchor brings its only partner: every paired row is drawn 1/6 of the time
    assert shares == {
        "fake:v": pytest.approx(2 / 6, abs=1e-4),
        "real:v": pytest.approx(2 / 6, abs=1e-4),
        "real:photos": pytest.approx(1 / 6, abs=1e-4),
        "sbi:photos": pytest.approx(1 / 6, abs=1e-4),
    }
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)


def test_ranking_loss_is_softplus_of_real_minus_fake_over_mixed_pairs():
    rank = PairedRanking(1.0, fake_index=1)
    # z = fake logit - real logit per row: 2, -1 | 0.5, 3 | 1, 1 (both real: skipped)
    pred = torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.5], [-1.0, 2.0], [0.0, 1.0], [0.0, 1.0]])
    y = torch.tensor([1, 0, 0, 1, 0, 0])
    want = (F.softplus(torch.tensor(-1.0 - 2.0)) + F.softplus(torch.tensor(0.5 - 3.0))) / 2
    assert float(rank.ranking_loss(pred, y)) == pytest.approx(float(want), rel=1e-6)
    assert rank.ranking_loss(pred[4:], y[4:]) is None  # no pair has a real and a fake
    # an odd batch: the last row has no partner and is left out
    assert float(rank.ranking_loss(pred[:5], y[:5])) == pytest.approx(float(want), rel=1e-6)
    # the fake of a pair scored far above its real costs almost nothing; the other way round, a lot
    assert float(rank.ranking_loss(torch.tensor([[0.0, 9.0], [0.0, -9.0]]), torch.tensor([1, 0]))) < 1e-6
    assert float(rank.ranking_loss(torch.tensor([[0.0, -9.0], [0.0, 9.0]]), torch.tensor([1, 0]))) > 17


def test_ranking_term_is_added_to_the_training_loss_only():
    class Learn:
        training, yb = True, (torch.tensor([1, 0]),)
        pred = torch.tensor([[0.0, -1.0], [0.0, 1.0]], requires_grad=True)
        loss_grad = torch.tensor(0.25)
        loss = torch.tensor(0.25)

    rank = PairedRanking(2.0, fake_index=1)
    rank.learn = Learn()
    rank.after_loss()
    assert float(rank.learn.loss_grad.detach()) == pytest.approx(0.25 + 2.0 * float(F.softplus(torch.tensor(2.0))))
    assert rank.last == pytest.approx(float(F.softplus(torch.tensor(2.0))))
    rank.learn.loss_grad.backward()
    assert rank.learn.pred.grad is not None and rank.learn.pred.grad[0, 1] < 0  # pushes the fake's logit up
    Learn.training, Learn.loss_grad = False, torch.tensor(0.25)
    rank.learn = Learn()
    rank.after_loss()
    assert float(rank.learn.loss_grad) == 0.25  # validation is not paired: nothing added


@pytest.mark.parametrize("extra", [["--pairs", "-1"], ["--pairs", "1"], ["--pairs", "1", "--bs", "5"]])
def test_pairs_needs_domain_balance_and_an_even_batch(tmp_path, capsys, extra):
    from detector.training.run import main

    domain = ["--balance", "domain", "--epoch-size", "16", "--sbi", "0.25"] if "--bs" in extra else []
    with pytest.raises(SystemExit) as e:
        main(["--data", str(tmp_path), "--arch", "resnet18", *domain, *extra])
    assert e.value.code == 2
    assert "--pairs W is a loss weight" in capsys.readouterr().err


@pytest.mark.slow
def test_paired_run_draws_whole_pairs_and_records_the_option(tiny_dataset, tmp_path, capsys):
    """On the tiny set (real/x.mp4 beside fake/Deepfakes/x.mp4, so each fake's target is known): every training
    batch holds (real, fake) pairs of one frame at positions (0, 1), (2, 3)...; the run trains and its card keeps
    the option."""
    from detector.training.config import parse_config
    from detector.training.run import learner, main, prepare

    argv = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--val-fraction", "0.34", "--workers", "1", "--cache", str(tmp_path / "cache")]
    argv += ["--epoch-size", "16", "--balance", "domain", "--sbi", "0.25", "--pairs", "1"]
    cfg = parse_config(argv + ["--out", str(tmp_path / "l")])
    learn, *_ = learner(cfg, prepare(cfg), tmp_path / "l")
    train = learn.dls.train
    rows = train.items.reset_index(drop=True)
    partners = pair_partners(rows)
    assert any(len(p) for i, p in enumerate(partners) if rows.label[i] == "fake" and not rows.pseudo[i])
    train.n = 2_000
    idxs = np.asarray(train.get_idxs()).reshape(-1, 2)
    for a, b in idxs:
        assert b in partners[a]
        assert {rows.label[a], rows.label[b]} == {"real", "fake"}
        assert rows.video[a] == rows.video[b] or rows.target[a] == rows.video[b] or rows.target[b] == rows.video[a]
    fakes = [a if rows.label[a] == "fake" else b for a, b in idxs]
    assert 0.05 < np.mean([rows.pseudo[i] for i in fakes]) < 0.95  # both kinds of fake are paired
    # fastai's own batches, as the fit sees them: whole pairs in the order get_idxs gave
    train.n, train.bs = 64, 8
    np.random.seed(5)
    want = np.asarray(train.get_idxs()).reshape(-1, 8)
    np.random.seed(5)
    fake = train.vocab.o2i["fake"]
    for batch, idxs in zip(train, want):
        yb = batch[1]
        assert [train.vocab[int(v)] for v in yb] == rows.label[idxs].tolist()
        assert ((yb == fake).view(-1, 2).sum(1) == 1).all()  # one fake in each pair
    ranking = next(cb for cb in learn.cbs if type(cb).__name__ == "PairedRanking")
    assert ranking.last is None
    learn.fit(1)
    assert ranking.last is not None and ranking.last > 0  # the term was computed on the fit's batches

    out = tmp_path / "run"
    assert main(argv + ["--out", str(out)]) == 0
    trained = json.loads((out / "model" / "resnet18.json").read_text())["trained"]
    assert trained["config"]["pairs"] == 1.0
    assert sum(trained["sampling"].values()) == pytest.approx(1.0, abs=1e-3)  # the paired draw's mix, recorded
    assert sum(v for k, v in trained["sampling"].items() if k.startswith("real:")) == pytest.approx(0.5, abs=1e-3)
    assert "ranking loss on (real, fake) pairs of one frame, weight 1.0" in capsys.readouterr().err
