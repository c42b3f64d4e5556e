"""detector.training.run end to end on conftest's ``tiny_dataset`` of rendered clips (seconds, not a real training run).

A model trained on six astronaut clips means nothing; these tests check that one run
of the script writes everything the training issue asks for (plots, metrics, a loadable
safetensors model with a complete card), that the split keeps groups apart, and that
the crop cache is reused by a second run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector.data.datasets import read_dataset


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    from detector.training.run import main

    out = tmp_path_factory.mktemp("run")
    cache = out / "cache"
    argv = [
        "--data",
        str(tiny_dataset),
        "--arch",
        "resnet18",
        "--size",
        "32",
        "--frames",
        "4",
        "--epochs",
        "1",
        "--bs",
        "4",
        "--lr-find",
        "--lr-find-steps",
        "12",
        "--sbi",
        "0.5",
        "--downscale",
        "0.5",
        "--ema",
        "0.9",
        "--val-fraction",
        "0.34",
        "--workers",
        "1",
        "--cache",
        str(cache),
        "--half",
        "--out",
        str(out / "r"),
    ]
    rc = main(argv)
    return rc, out / "r", cache, argv


@pytest.mark.slow
def test_run_writes_plots_metrics_and_model(run):
    rc, out, _, _ = run
    assert rc == 0
    for name in ("lr_find.png", "loss_curve.png", "confusion_matrix.png", "top_losses.png"):
        assert (out / name).stat().st_size > 1000, name  # a real PNG, not an empty file
    metrics = json.loads((out / "metrics.json").read_text())
    for level in ("frame", "video"):
        block = metrics["metrics"][level]
        assert {"auc", "ap", "accuracy", "log_loss", "confusion"} <= set(block)
        assert 0.0 <= block["accuracy"] <= 1.0 and block["log_loss"] > 0
    assert "auc_ci95" in metrics["metrics"]["video"] and "auc_ci95" not in metrics["metrics"]["frame"]
    # --ema: the exported model is the average; the last weights are scored too, for a paired comparison
    assert {"auc", "log_loss", "confusion"} <= set(metrics["metrics"]["last_weights"]["video"])
    assert metrics["lr_find"]["valley"] > 0
    assert metrics["weight_mb"] > 1
    assert metrics["command"].startswith("deepfake-lens train --data")
    assert metrics["config"]["arch"] == "resnet18" and (out / "config.toml").is_file()


@pytest.mark.slow
def test_card_describes_the_model_and_it_loads(run):
    import torch

    from detector.models.card import ModelCard
    from detector.models.classifier import load_model

    _, out, _, _ = run
    card_path = out / "model" / "resnet18.json"
    card = ModelCard.from_file(card_path)
    assert (card.architecture, card.input_size, card.classes, card.dtype) == (
        "resnet18",
        32,
        ["fake", "real"],
        "float16",
    )
    assert card.trained["split"]["rule"].startswith("by group")
    cfg = card.trained["config"]
    assert cfg["sbi"] == 0.5 and cfg["downscale"] == 0.5 and cfg["ema"] == 0.9
    cal = card.trained["calibration"]  # the threshold comes from the validation reals, and says how
    assert card.threshold == cal["threshold"] and card.uncertain == cal["uncertain"]
    assert cal["target_false_alarms"] == 0.05 and "false alarms" in cal["rule"]
    assert card.trained["pretrained"] == "none"  # resnet18 has no offline ImageNet weights: from scratch
    assert set(card.metrics) >= {
        "video_auc",
        "video_auc_ci95",
        "video_accuracy",
        "video_ap",
        "video_log_loss",
        "video_confusion",
    }
    clf = load_model(str(card_path))
    crops = [np.full((48, 48, 3), v, np.uint8) for v in (0, 128, 255)]
    p = clf.predict(crops)
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
    # the saved weights are plain contiguous tensors (training ran in channels-last layout)
    from safetensors.torch import load_file

    state = load_file(str(out / "model" / card.weights))
    assert all(t.is_contiguous() for t in state.values())
    assert any(t.dtype == torch.float16 for t in state.values())


@pytest.mark.slow
def test_validation_groups_never_trained_on(run, tiny_dataset):
    _, out, _, _ = run
    card = json.loads((out / "model" / "resnet18.json").read_text())
    val_groups = set(card["trained"]["split"]["val_groups"])
    videos = json.loads((out / "val_videos.json").read_text())
    assert videos and {v["group"] for v in videos} == val_groups
    all_groups = {it.group for it in read_dataset(tiny_dataset)}
    assert val_groups and val_groups < all_groups  # some groups left for training, none on both sides


@pytest.mark.slow
def test_second_run_reuses_the_crop_cache(run, tmp_path):
    from detector.data.crops import extract_many

    _, _, cache, _ = run
    folders = sorted(p.name for p in cache.iterdir())
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("meta.json")}
    assert len(stamps) == 6
    videos = [json.loads(p.read_text())["video"] for p in stamps]
    extract_many(videos, frames=4, cache=cache, workers=1, progress=False)
    assert sorted(p.name for p in cache.iterdir()) == folders
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("meta.json")} == stamps


@pytest.mark.slow
def test_same_seed_same_run(run, tmp_path):
    """--seed fixes everything random (batch order, the head, albumentations, self-blending): the same command
    twice gives the same lr_find suggestion and the same weights, bit for bit."""
    from safetensors.torch import load_file

    from detector.training.run import main

    _, first, _, argv = run
    again = tmp_path / "again"
    assert main([*argv[:-1], str(again)]) == 0
    runs = [json.loads((d / "metrics.json").read_text()) for d in (first, again)]
    assert runs[0]["lr_find"] == runs[1]["lr_find"]
    assert runs[0]["metrics"] == runs[1]["metrics"]
    weights = [load_file(str(d / "model" / "resnet18.safetensors")) for d in (first, again)]
    assert weights[0].keys() == weights[1].keys()
    assert all(weights[0][k].equal(weights[1][k]) for k in weights[0])


def test_too_few_lr_find_steps_is_refused(tmp_path):
    from detector.training.run import main

    with pytest.raises(SystemExit) as e:
        main(["--data", str(tmp_path), "--arch", "resnet18", "--lr-find-steps", "4"])
    assert e.value.code == 2


@pytest.mark.parametrize(
    "extra",
    [
        ["--downscale", "1.5"],
        ["--sbi", "-0.1"],
        ["--cutout", "2"],
        ["--compress", "-1"],
        ["--tight-pad", "1.2"],
        ["--colour-cast", "1.5"],
        ["--tight-flat", "-0.2"],
        ["--tight-flat", "0.5"],  # without --tight-pad: nothing to fill
        ["--ema", "1"],
        ["--folds", "3", "--fold", "3"],
        ["--fold", "1"],
        ["--folds", "1"],
        ["--train-groups", "0"],
        ["--train-groups", "1.5"],
    ],
)
def test_out_of_range_option_is_refused(tmp_path, extra):
    from detector.training.run import main

    with pytest.raises(SystemExit) as e:
        main(["--data", str(tmp_path), "--arch", "resnet18", *extra])
    assert e.value.code == 2


def test_train_groups_leaves_out_faked_groups_only_and_always_the_same():
    from types import SimpleNamespace as Item

    from detector.training.run import fewer_groups

    items = [Item(group=f"pair{i}", label=label) for i in range(10) for label in (0, 1)]
    items += [Item(group=f"photo{i}", label=0) for i in range(50)]  # reals only: never left out
    dropped = fewer_groups(items, 0.5, "0-1")
    assert len(dropped) == 5 and all(g.startswith("pair") for g in dropped)
    assert fewer_groups(items, 0.5, "0-1") == dropped  # a fixed draw per seed and fold
    assert fewer_groups(items, 0.5, "0-2") != dropped
    assert fewer_groups(items, 1.0, "0-1") == set() and len(fewer_groups(items, 0.01, "0-1")) == 9
    assert fewer_groups(items, 0.5, "0-1") <= fewer_groups(items, 0.3, "0-1")  # nested: a learning curve


def test_weight_average_follows_training_steps_only_with_timm_warmup():
    from types import SimpleNamespace

    import torch

    from detector.training.callbacks import WeightAverage

    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    torch.nn.init.zeros_(net[0].weight)
    cb = WeightAverage(0.5)
    cb.learn = SimpleNamespace(model=net, training=True)
    cb.before_fit()
    torch.nn.init.ones_(net[0].weight)
    net[1].num_batches_tracked += 3
    cb.after_batch()  # first update: decay min(0.5, 2/11), so the average moves 9/11 of the way
    avg = cb.average.state_dict()
    assert torch.allclose(avg["0.weight"], torch.full((1, 2), 9 / 11))
    assert int(avg["1.num_batches_tracked"]) == 3  # integer buffers are copied, not averaged
    cb.learn.training = False
    torch.nn.init.constant_(net[0].weight, 5.0)
    cb.after_batch()  # a validation batch: no update
    assert torch.allclose(cb.average.state_dict()["0.weight"], torch.full((1, 2), 9 / 11))
    assert not any(p.requires_grad for p in cb.average.parameters())


def test_downscale_blurs_the_crop_and_is_off_by_default():
    """--downscale P puts albumentations' Downscale first with probability P: a sharp face comes out softer."""
    import cv2
    from skimage.data import astronaut

    from detector.training.augment import augmentations

    assert "Downscale" not in [type(t).__name__ for t in augmentations(160)]
    first = augmentations(160, downscale=1.0).transforms[0]
    assert type(first).__name__ == "Downscale" and first.p == 1.0
    face = cv2.resize(astronaut()[0:220, 140:360], (200, 200), interpolation=cv2.INTER_AREA)
    detail = lambda img: cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()  # noqa: E731
    assert detail(first(image=face)["image"]) < 0.6 * detail(face)


def test_compress_adds_heavy_jpeg_before_the_mild_one_and_is_off_by_default():
    """--compress P adds a JPEG compression at quality 15-40 with probability P, before the mild one every run has:
    at P = 1 the face comes out blocky (its 8 x 8 block edges stand out) and close to the original in colour."""
    import cv2
    from skimage.data import astronaut

    from detector.training.augment import augmentations

    def jpegs(aug):
        return [t for t in aug.transforms if type(t).__name__ == "ImageCompression"]

    assert [t.quality_range for t in jpegs(augmentations(160))] == [(60, 100)]
    heavy, mild = jpegs(augmentations(160, compress=1.0, seed=3))
    assert heavy.quality_range == (15, 40) and heavy.p == 1.0 and mild.quality_range == (60, 100)
    face = cv2.resize(astronaut()[0:220, 140:360], (200, 200), interpolation=cv2.INTER_AREA)
    out = heavy(image=face)["image"]
    assert out.shape == face.shape and np.abs(out.astype(float) - face).mean() < 12

    def block_edges(img):  # how much larger the steps across 8 x 8 block borders are than those inside blocks
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(float)
        steps = np.abs(np.diff(g, axis=1))
        border = steps[:, 7::8].mean()
        return border / np.delete(steps, np.s_[7::8], axis=1).mean()

    assert block_edges(out) > 1.2 * block_edges(face)


def test_tight_pad_gives_a_crop_a_tight_photos_mirrored_border_and_is_off_by_default():
    """--tight-pad P: a training crop keeps a random inner rectangle and the rest mirrors it, as the pipeline pads a
    photo whose face fills it (found by scripts/tight_photos.py: a fake cut as a tight photo scored as real)."""
    from skimage.data import astronaut

    from detector.training.augment import item_transforms, tight_box, tight_pad
    from detector.training.config import TrainConfig

    assert TrainConfig().tight_pad == 0.0
    face = np.ascontiguousarray(astronaut()[0:200, 150:350])
    for seed in range(20):
        out = tight_pad(face, np.random.default_rng(seed))
        x0, y0, iw, ih = tight_box(200, 200, np.random.default_rng(seed))  # the same draw
        assert out.shape == face.shape and out.dtype == face.dtype and (iw < 190 or ih < 190)
        assert 120 <= min(iw, ih) and x0 + iw <= 200 and y0 + ih <= 200
        inner = face[y0 : y0 + ih, x0 : x0 + iw]
        assert np.array_equal(out[y0 : y0 + ih, x0 : x0 + iw], inner)  # kept in place
        if x0 > 1:  # left of it: the kept part mirrored about its first column
            assert np.array_equal(out[y0 : y0 + ih, x0 - 1], inner[:, 1]) and not np.array_equal(out, face)
    rng = np.random.default_rng(0)
    with_mask = np.dstack([face, np.zeros(face.shape[:2], np.uint8)])
    assert tight_pad(with_mask, rng).shape == with_mask.shape  # --mask-weight's fourth channel moves with it
    (aug,) = item_transforms(64, 0.0, ["fake", "real"], seed=1, tight=1.0)
    (plain,) = item_transforms(64, 0.0, ["fake", "real"], seed=1)
    from fastai.vision.all import PILImage

    img = PILImage.create(face)
    valid = np.asarray(aug(img, split_idx=1))  # validation: never padded
    assert np.array_equal(valid, np.asarray(plain(img, split_idx=1)))
    # training: padded first, then the same seeded augmentations
    assert not np.array_equal(np.asarray(aug(img, split_idx=0)), np.asarray(plain(img, split_idx=0)))


def test_cutout_blacks_out_part_of_the_crop_and_is_off_by_default():
    """--cutout P adds albumentations' CoarseDropout with probability P, before the final resize: at P = 1 a
    patch of the face comes out black (0) while the crop keeps its size."""
    import cv2
    from skimage.data import astronaut

    from detector.training.augment import augmentations

    assert "CoarseDropout" not in [type(t).__name__ for t in augmentations(160)]
    names = [type(t).__name__ for t in augmentations(160, cutout=1.0, seed=3)]
    assert names[-2:] == ["CoarseDropout", "Resize"]
    cut = augmentations(160, cutout=1.0, seed=3).transforms[-2]
    assert cut.p == 1.0
    face = cv2.resize(astronaut()[0:220, 140:360], (200, 200), interpolation=cv2.INTER_AREA)
    face = np.clip(face, 1, 255).astype(np.uint8)  # no black pixel of its own
    out = cut(image=face)["image"]
    black = (out == 0).all(axis=2).mean()
    assert out.shape == face.shape and 0.15**2 <= black <= 2 * 0.35**2


def test_bad_data_folder_is_one_line_error(tmp_path, capsys):
    from detector.training.run import main

    rc = main(["--data", str(tmp_path / "nope"), "--arch", "resnet18", "--out", str(tmp_path / "r")])
    assert rc == 2
    assert "no such folder" in capsys.readouterr().err


def test_data_without_a_face_is_one_line_error(tmp_path, capsys):
    # an audit: "crops: 0 train, 1 validation", then an IndexError traceback from the learner
    import cv2

    from detector.training.run import main

    rng = np.random.default_rng(0)
    for cls in ("real", "fake"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(tmp_path / "d" / cls / f"{i}.jpg"), rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    argv = ["--data", str(tmp_path / "d"), "--arch", "resnet18", "--out", str(tmp_path / "r"), "--workers", "1"]
    rc = main(argv + ["--cache", str(tmp_path / "cache"), "--epochs", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: no training crops" in err and "Traceback" not in err


@pytest.mark.slow
def test_freeze_stages_keeps_the_early_layers_at_imagenet_values(tiny_dataset, tmp_path):
    """--freeze-stages 2 on the ImageNet-initialised EfficientNet: the stem and first two stages (batch-norm
    weights included) leave training exactly as they came; the third stage and the head were trained."""
    import torch
    from safetensors.torch import load_file

    from detector.models.pretrained import efficientnet_lite0_state_dict
    from detector.training.run import main

    out = tmp_path / "r"
    rc = main(
        [
            "--data",
            str(tiny_dataset),
            "--arch",
            "efficientnet_lite0",
            "--size",
            "32",
            "--frames",
            "4",
            "--epochs",
            "1",
            "--bs",
            "4",
            "--val-fraction",
            "0.34",
            "--workers",
            "1",
            "--freeze-stages",
            "2",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    card = json.loads(next((out / "model").glob("*.json")).read_text())
    assert card["trained"]["config"]["freeze_stages"] == 2
    trained = load_file(str(out / "model" / card["weights"]))
    imagenet = efficientnet_lite0_state_dict()
    params = [k for k in trained if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    early = [k for k in params if k.startswith(("conv_stem.", "bn1.", "blocks.0.", "blocks.1."))]
    later = [k for k in params if k.startswith("blocks.2.") and ".conv" in k]  # BNs train in the frozen epoch too
    assert early and later
    for k in early:
        assert torch.equal(trained[k], imagenet[k]), k
    assert any(not torch.equal(trained[k], imagenet[k]) for k in later)


def test_freeze_stages_from_scratch_is_refused(tmp_path, capsys):
    from detector.training.run import main

    rc = main(["--data", str(tmp_path), "--arch", "resnet18", "--freeze-stages", "2", "--out", str(tmp_path / "r")])
    assert rc == 2
    assert "--freeze-stages" in capsys.readouterr().err


def test_freeze_stages_beyond_the_last_stage_is_refused(tmp_path, capsys):
    from detector.training.run import main

    rc = main(
        ["--data", str(tmp_path), "--arch", "efficientnet_lite0", "--freeze-stages", "7", "--out", str(tmp_path / "r")]
    )
    assert rc == 2
    assert "has 7 stages; freeze at most 6" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before any work


@pytest.mark.slow
def test_split_seed_keeps_the_validation_set_while_the_training_seed_changes(run, tiny_dataset, tmp_path):
    from detector.data.splits import split_by_group
    from detector.training.run import main

    items = read_dataset(tiny_dataset)
    seed = next(
        s
        for s in range(1, 50)  # a training seed whose own split differs from seed 0's
        if {i.group for i in split_by_group(items, 0.34, seed=s)[1]}
        != {i.group for i in split_by_group(items, 0.34, seed=0)[1]}
    )
    _, first, cache, _ = run  # seed 0
    out = tmp_path / "r"
    rc = main(
        [
            "--data",
            str(tiny_dataset),
            "--arch",
            "resnet18",
            "--size",
            "32",
            "--frames",
            "4",
            "--epochs",
            "1",
            "--bs",
            "4",
            "--val-fraction",
            "0.34",
            "--workers",
            "1",
            "--cache",
            str(cache),
            "--seed",
            str(seed),
            "--split-seed",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    cards = [json.loads((d / "model" / "resnet18.json").read_text())["trained"] for d in (first, out)]
    assert cards[0]["split"]["val_groups"] == cards[1]["split"]["val_groups"]
    assert cards[1]["split"]["seed"] == 0 and cards[1]["config"]["seed"] == seed


def test_scored_interpretation_equals_fastais_own_from_one_pass():
    """The confusion matrix and top losses of the training run's validation come from the scoring pass's own
    predictions, and equal what fastai's ClassificationInterpretation.from_learner computes with two more passes."""
    import numpy as np
    import torch
    from fastai.vision.all import (
        CategoryBlock,
        ClassificationInterpretation,
        CrossEntropyLossFlat,
        DataBlock,
        ImageBlock,
        Learner,
        PILImage,
        RandomSplitter,
    )
    from torch import nn

    from detector.training.run import scored_interpretation

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in range(48)]
    items = list(range(48))
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock),
        get_x=lambda i: PILImage.create(images[i]),
        get_y=lambda i: "fake" if i % 3 else "real",
        splitter=RandomSplitter(0.5, seed=0),
    )
    dls = block.dataloaders(items, bs=8, num_workers=0)
    torch.manual_seed(0)
    learn = Learner(dls, nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)), loss_func=CrossEntropyLossFlat())
    dl = dls.valid.new(shuffle=False, drop_last=False)
    calls = []
    get_preds = learn.get_preds
    learn.get_preds = lambda *a, **k: calls.append(k) or get_preds(*a, **k)
    preds, targs, losses = learn.get_preds(dl=dl, with_loss=True)
    ours = scored_interpretation(learn, dl, preds, targs, losses)
    cm = ours.confusion_matrix()
    assert len(calls) == 1 and cm.sum() == len(dl.dataset)
    theirs = ClassificationInterpretation.from_learner(learn, dl=dl)
    assert (cm == theirs.confusion_matrix()).all() and len(calls) == 3
    assert torch.allclose(ours.top_losses(5)[0], theirs.top_losses(5)[0])
    assert (ours.top_losses(5)[1] == theirs.top_losses(5)[1]).all()


@pytest.mark.slow
def test_domain_balanced_epoch_draws_pseudo_fakes_as_rows(run, tiny_dataset, tmp_path):
    """--balance domain: each source half real, its fake half partly self-blended copies of its real crops, drawn as
    rows of fastai's training set (the item transform no longer turns reals fake); the card records the shares."""
    from detector.training.config import parse_config
    from detector.training.run import learner, main, prepare

    _, _, cache, _ = run
    argv = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--val-fraction", "0.34", "--workers", "1", "--cache", str(cache)]
    argv += ["--epoch-size", "16", "--balance", "domain", "--sbi", "0.25"]
    cfg = parse_config(argv + ["--out", str(tmp_path / "l")])
    learn, full_valid, shares, weights = learner(cfg, prepare(cfg), tmp_path / "l")
    train = learn.dls.train
    rows = train.items
    assert rows.pseudo.any() and not full_valid.items.pseudo.any()
    assert (rows[rows.pseudo].label == "fake").all() and set(rows[rows.pseudo].path) <= set(rows[~rows.pseudo].path)
    assert "SelfBlend" not in [type(t).__name__ for t in train.after_item.fs]
    train.n = 20_000  # a long draw, to check the shares fastai actually draws by
    drawn = rows.iloc[train.get_idxs()]
    assert (drawn.label == "real").mean() == pytest.approx(0.5, abs=0.02)
    assert drawn[drawn.label == "fake"].pseudo.mean() == pytest.approx(0.25, abs=0.02)
    assert weights.tolist() == [1.0, 1.0]
    # a drawn pseudo-fake row decodes to a blend of its real crop, labelled fake
    i = int(np.flatnonzero(rows.pseudo.to_numpy())[0])
    j = int(np.flatnonzero(((rows.path == rows.iloc[i].path) & ~rows.pseudo).to_numpy())[0])
    (fake_img, fake_y), (real_img, real_y) = train.dataset[i], train.dataset[j]
    assert (train.vocab[int(fake_y)], train.vocab[int(real_y)]) == ("fake", "real")
    assert np.abs(np.asarray(fake_img).astype(int) - np.asarray(real_img)).mean() > 0.5

    out = tmp_path / "d"
    assert main(argv + ["--out", str(out)]) == 0
    trained = json.loads((out / "model" / "resnet18.json").read_text())["trained"]
    assert trained["config"]["balance"] == "domain" and trained["class_weights"] == [1.0, 1.0]
    assert trained["sampling"] == shares
    assert sum(v for k, v in shares.items() if k.startswith("real:")) == pytest.approx(0.5, abs=1e-3)
    assert sum(v for k, v in shares.items() if k.startswith("sbi:")) == pytest.approx(0.25 * 0.5, abs=1e-3)
    assert learn.crop_loader._blender.regions == 0.0 and trained["config"]["sbi_regions"] == 0.0

    # --sbi-regions P reaches the blender that makes the pseudo-fake rows (whole faces otherwise)
    cfg = parse_config(argv + ["--sbi-regions", "0.5", "--out", str(tmp_path / "r")])
    learn, *_ = learner(cfg, prepare(cfg), tmp_path / "r")
    assert learn.crop_loader._blender.regions == 0.5 and cfg.recipe()["sbi_regions"] == 0.5


def test_domain_balance_needs_an_epoch_size_and_pseudo_fakes(tmp_path, capsys):
    from detector.training.run import main

    for extra in (["--sbi", "0.5"], ["--epoch-size", "64"]):
        with pytest.raises(SystemExit):
            main(["--data", str(tmp_path), "--arch", "resnet18", "--balance", "domain", *extra])
        assert "--balance domain needs" in capsys.readouterr().err


def test_train_groups_leaves_the_groups_out_of_the_table_not_out_of_the_data_line(tiny_dataset, tmp_path):
    # the card's data line counts what was read, so that scripts/fold_models.py can still tell the folds
    from detector.training.config import parse_config
    from detector.training.run import describe_data, prepare

    base = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "2", "--workers", "1"]
    base += ["--cache", str(tmp_path / "cache"), "--folds", "3", "--fold", "0"]
    full, fewer = prepare(parse_config(base)), prepare(parse_config([*base, "--train-groups", "0.01"]))
    assert describe_data(fewer.items, fewer.heldout, [str(tiny_dataset)]) == describe_data(
        full.items, full.heldout, [str(tiny_dataset)]
    )
    assert len(fewer.train_items) < len(full.train_items)
    trained = set(fewer.df[~fewer.df.is_valid].video)
    assert trained < set(full.df[~full.df.is_valid].video)
    assert set(fewer.df[fewer.df.is_valid].video) == set(full.df[full.df.is_valid].video)  # validation whole


def test_train_sources_trains_on_some_sources_and_validates_all_of_the_same_folds(tiny_dataset, ffpp_tiny, tmp_path):
    """--train-sources: the folds are dealt as without it (so the scores pair with a run on all the sources), every
    validation item is kept, and only the named sources' training items are trained on; a name not in the data is
    a one-line error that lists the sources there are."""
    from detector.errors import InputError
    from detector.training.config import parse_config
    from detector.training.run import prepare

    base = ["--data", str(tiny_dataset), str(ffpp_tiny), "--arch", "resnet18", "--size", "32", "--frames", "2"]
    base += ["--workers", "1", "--cache", str(tmp_path / "cache"), "--folds", "2", "--fold", "0"]
    full = prepare(parse_config(base))
    some = prepare(parse_config([*base, "--train-sources", ffpp_tiny.name]))
    assert {it.source for it in full.train_items} == {tiny_dataset.name, ffpp_tiny.name}
    assert {it.source for it in some.train_items} == {ffpp_tiny.name}
    assert some.train_items == [it for it in full.train_items if it.source == ffpp_tiny.name]
    assert some.val_items == full.val_items
    assert set(some.df[some.df.is_valid].video) == set(full.df[full.df.is_valid].video)
    assert set(some.df[~some.df.is_valid].source) == {ffpp_tiny.name}
    with pytest.raises(InputError, match=f"no source nope in the data .its sources: {ffpp_tiny.name}"):
        prepare(parse_config([*base, "--train-sources", "nope"]))
    # SOURCE/real: one class of a source; the other sources whole
    reals = prepare(parse_config([*base, "--train-sources", f"{ffpp_tiny.name}/real", tiny_dataset.name]))
    kept = [it for it in full.train_items if it.source == tiny_dataset.name or it.label == 0]
    assert reals.train_items == kept and any(it.label == 1 for it in full.train_items if it not in kept)
    assert reals.val_items == full.val_items
    with pytest.raises(InputError, match="SOURCE/real or SOURCE/fake"):
        prepare(parse_config([*base, "--train-sources", f"{ffpp_tiny.name}/maybe"]))
    # a source of reals only, without pseudo-fakes: nothing fake to learn from
    photos = tmp_path / "photos" / "real"
    photos.mkdir(parents=True)
    import cv2
    from skimage import data

    for i in range(10):
        cv2.imwrite(str(photos / f"p{i}.jpg"), np.roll(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), 9 * i, 1))
    argv = [*base[:2], str(photos.parent), *base[2:], "--train-sources", "photos"]
    with pytest.raises(InputError, match="no fake left to train on"):
        prepare(parse_config(argv))


@pytest.mark.slow
def test_a_run_on_some_sources_says_so_in_its_card(tiny_dataset, ffpp_tiny, tmp_path):
    """The card of a --train-sources run names the sources it trained on and counts only their items as trained on,
    while its data line keeps every source read (scripts/fold_models.py checks that line against the data)."""
    from detector.models.card import ModelCard
    from detector.training.run import main

    argv = ["--data", str(tiny_dataset), str(ffpp_tiny), "--arch", "resnet18", "--size", "32", "--frames", "2"]
    argv += ["--epochs", "1", "--bs", "4", "--lr", "1e-3", "--sbi", "0.5", "--folds", "2", "--fold", "0"]
    argv += ["--workers", "1", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "r")]
    assert main([*argv, "--train-sources", ffpp_tiny.name]) == 0
    card = ModelCard.from_file(next((tmp_path / "r" / "model").glob("*.json")))
    split = card.trained["split"]
    assert split["train_sources"] == [ffpp_tiny.name] == card.trained["config"]["train_sources"]
    assert split["trained_on"].startswith(f"{ffpp_tiny.name}: ") and tiny_dataset.name not in split["trained_on"]
    assert tiny_dataset.name in card.trained["data"] and ffpp_tiny.name in card.trained["data"]
    assert f"Trained on the sources {ffpp_tiny.name} only" in card.notes


@pytest.mark.slow
def test_margin_crops_wider_faces_and_the_card_says_so(run, tmp_path):
    """--margin 0.6: the run crops (and caches) the faces at 0.6, 1.6/1.3 times as wide as at the default 0.3 around
    the same detections, and its card records the margin (which the pipeline crops at)."""
    from detector.data.crops import read_crop
    from detector.models.card import ModelCard
    from detector.training.run import main

    _, _, cache, argv = run
    out = tmp_path / "wide"
    assert main([*argv[:-1], str(out), "--margin", "0.6"]) == 0
    assert ModelCard.from_file(next((out / "model").glob("*.json"))).face_margin == 0.6
    metas = [json.loads(p.read_text()) | {"dir": p.parent} for p in cache.rglob("meta.json")]
    by_margin = {m: {d["video"]: d for d in metas if d["margin"] == m} for m in (0.3, 0.6)}
    assert len(by_margin[0.3]) == len(by_margin[0.6]) == 6
    ratios = []
    for video, wide in by_margin[0.6].items():
        narrow = by_margin[0.3][video]
        for name in set(wide["files"]) & set(narrow["files"]):
            ratios.append(read_crop(wide["dir"] / name).shape[0] / read_crop(narrow["dir"] / name).shape[0])
    assert ratios and abs(float(np.median(ratios)) - 1.6 / 1.3) < 0.05


def test_cpu_autocast_runs_the_batch_in_bfloat16_and_hands_float32_on():
    from types import SimpleNamespace

    import torch

    from detector.training.callbacks import CpuAutocast

    net = torch.nn.Linear(4, 2)
    cb = CpuAutocast()
    cb.learn = SimpleNamespace(pred=None)
    cb.before_batch()
    assert torch.is_autocast_enabled("cpu")
    cb.learn.pred = net(torch.ones(3, 4))
    assert cb.learn.pred.dtype == torch.bfloat16
    cb.after_pred()
    assert cb.learn.pred.dtype == torch.float32
    cb.after_loss()
    assert not torch.is_autocast_enabled("cpu")
    assert net.weight.dtype == torch.float32  # the weights themselves are never cast
    cb.before_batch()
    cb.after_cancel_batch()  # a batch cancelled before its loss leaves the autocast as well
    cb.after_batch()  # and leaving twice is harmless
    assert not torch.is_autocast_enabled("cpu")
    cb.before_batch()  # a batch that raised in its forward pass (fastai has no `finally`): never left...
    cb.before_batch()  # ...the next batch leaves it before entering again, so one exit closes everything
    cb.after_loss()
    assert not torch.is_autocast_enabled("cpu")
    cb.before_batch()
    cb.after_fit()  # and the end of a fit leaves it whatever happened
    assert not torch.is_autocast_enabled("cpu")


def test_training_terms_take_bfloat16_features():
    """Under --precision bf16 the hooked features are bfloat16 and the terms run after the autocast ends: the float32
    heads of --mask-weight and --identity-adversary take them (a dtype clash raised before)."""
    import torch

    from detector.training.callbacks import IdentityAdversary, MaskSupervision

    torch.manual_seed(0)
    fmap = torch.randn(2, 8, 4, 4).bfloat16().requires_grad_()
    term = MaskSupervision(torch.nn.Conv2d(8, 1, 1), 1.0, buffer=None).mask_loss(fmap, torch.zeros(2, 16, 16))
    assert term.dtype == torch.float32
    term.backward()
    assert fmap.grad is not None and fmap.grad.dtype == torch.bfloat16
    feats = torch.randn(3, 8).bfloat16()
    adversary = IdentityAdversary(torch.nn.Linear(8, 2), 0.3, persons=[0, 1, -1], labels=[1, 1, 0])
    loss = adversary.identity_loss(feats, torch.tensor([0, 1, -1]), 1.0)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_float32_scoring_removes_the_autocast_so_scores_equal_the_float32_model():
    """A Learner trained with CpuAutocast predicts in bfloat16 (scores rounded to ~3 digits); after
    float32_scoring its predictions are the float32 network's, bit for bit, as the pipeline computes them."""
    import torch
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from torch.utils.data import TensorDataset

    from detector.training.callbacks import CpuAutocast
    from detector.training.run import float32_scoring

    torch.manual_seed(0)
    x, y = torch.randn(16, 8), torch.randint(0, 2, (16,))
    dls = DataLoaders.from_dsets(TensorDataset(x, y), TensorDataset(x, y), bs=8, shuffle=False)
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    learn = Learner(dls, net, loss_func=torch.nn.CrossEntropyLoss(), cbs=[CpuAutocast()])
    with torch.no_grad():
        exact = torch.cat([net(x[:8]), net(x[8:])])  # in the loader's batches of 8, as get_preds computes
    preds, _ = learn.get_preds(dl=dls.valid)
    assert preds.dtype == torch.float32 and not torch.equal(preds, exact)  # bfloat16 arithmetic, handed on as float
    assert torch.allclose(preds, exact, atol=0.05)
    float32_scoring(learn)
    assert not any(isinstance(c, CpuAutocast) for c in learn.cbs)
    preds, _ = learn.get_preds(dl=dls.valid)
    assert torch.equal(preds, exact)


@pytest.mark.slow
def test_bf16_training_runs_and_the_card_records_it(run, tmp_path, monkeypatch):
    """--precision bf16 trains through the whole run (lr_find, the frozen epoch, fine_tune, validation, export):
    the arithmetic differs from float32's, so the weights do; the card records the precision."""
    import torch
    from safetensors.torch import load_file

    import detector.training.run as run_module
    from detector.training.callbacks import CpuAutocast
    from detector.training.run import main

    _, first, _, argv = run
    out = tmp_path / "bf16"
    scored = []

    def score_in_float32(learn, dl, df_valid):  # the final scoring, which sets the threshold
        assert not any(isinstance(c, CpuAutocast) for c in learn.cbs) and not torch.is_autocast_enabled("cpu")
        scored.append(len(df_valid))
        return score(learn, dl, df_valid)

    score = run_module._score
    monkeypatch.setattr(run_module, "_score", score_in_float32)
    assert main([*argv[:-2], "--precision", "bf16", "--out", str(out)]) == 0
    assert scored and not torch.is_autocast_enabled("cpu")
    card = json.loads((out / "model" / "resnet18.json").read_text())
    assert card["trained"]["config"]["precision"] == "bf16"
    assert 0 < card["threshold"] < 1
    a, b = (load_file(str(d / "model" / "resnet18.safetensors")) for d in (first, out))
    assert a.keys() == b.keys() and any(not a[k].equal(b[k]) for k in a)


def test_train_step_bench_times_both_precisions(capsys):
    """bench/train_step.py, tiny: a table row per pass and a JSON line with both precisions' medians."""
    import torch
    from conftest import load_script

    bench = load_script("bench/train_step.py", "bench_train_step")
    threads = str(torch.get_num_threads())  # the bench sets the process's torch threads and seed: keep both
    with torch.random.fork_rng():
        argv = ["--size", "64", "--bs", "2", "--rounds", "1", "--steps", "1", "--freeze-stages", "1"]
        assert bench.main([*argv, "--threads", threads]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["freeze_stages"] == 1 and len(result["step_bf16_rounds_ms"]) == 1
    assert all(result[f"{k}_ms"] > 0 for k in ("step_fp32", "step_bf16", "valid_fp32", "valid_bf16"))
    assert any(line.startswith("| training step |") for line in out)


def test_train_step_bench_refuses_a_bad_stage_count(capsys):
    import torch
    from conftest import load_script

    bench = load_script("bench/train_step.py", "bench_train_step")
    threads = str(torch.get_num_threads())
    with torch.random.fork_rng():
        assert bench.main(["--freeze-stages", "99", "--rounds", "1", "--steps", "1", "--threads", threads]) == 2
        assert bench.main(["--arch", "nosuchnet", "--threads", threads]) == 2
    err = capsys.readouterr().err
    assert "freeze at most" in err and "unknown architecture" in err


def test_colour_cast_tints_the_whole_crop_and_keeps_a_mask_channel():
    """--colour-cast P: a real photo with a sepia filter or a warm cast was called fake far more often than as it was
    (scripts/circulation_probe.py); each cast changes the colours of the whole crop, keeps its size and dtype, and
    leaves --mask-weight's fourth channel alone."""
    from skimage.data import astronaut

    from detector.training.augment import COLOUR_CASTS, colour_cast
    from detector.training.config import TrainConfig

    assert TrainConfig().colour_cast == 0.0 and TrainConfig().tight_flat == 0.0
    face = np.ascontiguousarray(astronaut()[0:200, 150:350])
    mask = np.arange(200 * 200, dtype=np.uint8).reshape(200, 200)
    for kind in COLOUR_CASTS:
        out = colour_cast(np.dstack([face, mask]), np.random.default_rng(0), kind)
        assert out.shape == (200, 200, 4) and out.dtype == np.uint8
        assert np.array_equal(out[..., 3], mask)
        assert np.abs(out[..., :3].astype(int) - face).mean() > 5, kind
    sepia = colour_cast(face, np.random.default_rng(0), "sepia").reshape(-1, 3).mean(0)
    assert sepia[0] > sepia[1] > sepia[2]  # brown: red over green over blue
    dark = colour_cast(face, np.random.default_rng(0), "low_light")
    assert dark.mean() < face.mean() * 0.8
    drawn = {tuple(colour_cast(face, np.random.default_rng(s))[100, 100]) for s in range(8)}
    assert len(drawn) > 4  # drawn from the generator: casts and strengths vary
    with pytest.raises(ValueError, match="unknown colour cast"):
        colour_cast(face, np.random.default_rng(0), "neon")


def test_tight_flat_fills_the_border_with_one_colour():
    """--tight-flat P: the border round the kept part is one colour (a photo inside a screenshot or on a page), the
    kept part stays in place, and the validation transform never changes."""
    from skimage.data import astronaut

    from detector.training.augment import item_transforms, tight_box, tight_pad

    face = np.ascontiguousarray(astronaut()[0:200, 150:350])
    for seed in range(10):
        out = tight_pad(face, np.random.default_rng(seed), flat=True)
        x0, y0, iw, ih = tight_box(200, 200, np.random.default_rng(seed))
        assert np.array_equal(out[y0 : y0 + ih, x0 : x0 + iw], face[y0 : y0 + ih, x0 : x0 + iw])
        border = np.ones((200, 200), bool)
        border[y0 : y0 + ih, x0 : x0 + iw] = False
        assert len(np.unique(out[border].reshape(-1, 3), axis=0)) == 1
    (aug,) = item_transforms(64, 0.0, ["fake", "real"], seed=1, tight=1.0, tight_flat=1.0, colour=1.0)
    (plain,) = item_transforms(64, 0.0, ["fake", "real"], seed=1)
    from fastai.vision.all import PILImage

    img = PILImage.create(face)
    assert np.array_equal(np.asarray(aug(img, split_idx=1)), np.asarray(plain(img, split_idx=1)))
    assert not np.array_equal(np.asarray(aug(img, split_idx=0)), np.asarray(plain(img, split_idx=1)))


def test_captions_burn_a_line_of_text_the_pipelines_finder_sees_over_the_face():
    """--captions P: a caption over the chin made real clips fake (scripts/subtitle_probe.py) because no training face
    carried text.  A captioned training crop keeps its size, dtype and --mask-weight's fourth channel, changes only
    a band of rows across it, mostly over the lower face, in every style, and is text the pipeline's own finder sees
    over the face; the validation transform never draws one; the option is a probability, off by default."""
    from fastai.vision.all import PILImage
    from skimage.data import astronaut

    from detector.inference.overlays import face_in_crop, text_over
    from detector.training.augment import caption_crop, item_transforms
    from detector.training.config import TrainConfig

    assert TrainConfig().captions == 0.0
    with pytest.raises(ValueError, match="--captions and --occlude are probabilities"):
        TrainConfig(data=["x"], arch="mobilenetv2", captions=1.5).check()
    face = np.ascontiguousarray(cv2_resize(astronaut()[20:280, 120:380], 260))
    mask = np.arange(260 * 260, dtype=np.uint8).reshape(260, 260)
    found, lower = 0, 0
    for seed in range(40):
        out = caption_crop(np.dstack([face, mask]), np.random.default_rng(seed))
        assert out.shape == (260, 260, 4) and out.dtype == np.uint8 and np.array_equal(out[..., 3], mask)
        rows = np.flatnonzero(np.abs(out[..., :3].astype(int) - face).sum(axis=(1, 2)) > 0)
        assert 0 < len(rows) < 260 * 0.4  # a band of rows, not the whole crop
        lower += rows.mean() > 130
        found += text_over(out[..., :3], face_in_crop((30, 30, 200, 200), 0.3)) > 0
    assert lower >= 28  # mostly across the lower face (a fifth of them anywhere over it)
    assert found >= 30, found  # what the pipeline looks for (captions of few short words, or cut by the edge, less)
    (aug,) = item_transforms(64, 0.0, ["fake", "real"], seed=1, captions=1.0)
    (plain,) = item_transforms(64, 0.0, ["fake", "real"], seed=1)
    img = PILImage.create(face)
    assert np.array_equal(np.asarray(aug(img, split_idx=1)), np.asarray(plain(img, split_idx=1)))
    assert aug(img, split_idx=0).shape == (64, 64)


def test_a_training_caption_is_never_mirrored_and_other_recipes_augment_as_before():
    """A caption is burned after the mirror and quarter turns (a review: burned before them, half the training
    captions read mirrored, as no picture shows them) and before the compression and noise; a recipe without captions
    keeps its augmentations in their old order, so it draws as before."""
    from detector.training.augment import augmentations

    def left_mark(img):  # an asymmetric "caption": the left third white
        out = img.copy()
        out[:, : img.shape[1] // 3] = 255
        return out

    grey = np.full((96, 96, 3), 90, np.uint8)
    aug = augmentations(64, seed=3, captions=1.0, caption=left_mark)
    for _ in range(60):
        out = aug(image=grey)["image"].astype(float)
        assert out[:, :16].mean() > out[:, -16:].mean() + 10  # the mark stays on the left: never mirrored
    names = [type(t).__name__ for t in augmentations(64, seed=3).transforms]
    assert names[:3] == ["ImageCompression", "GaussNoise", "OneOf"] and names[3:5] == ["HorizontalFlip", "OneOf"]
    with_captions = [type(t).__name__ for t in aug.transforms]
    assert with_captions[:4] == ["HorizontalFlip", "OneOf", "Lambda", "ImageCompression"]


def cv2_resize(img: np.ndarray, side: int) -> np.ndarray:
    import cv2

    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def test_occluders_cover_part_of_the_face_where_its_parts_lie_and_only_in_training(monkeypatch):
    """--occlude P: a microphone under the chin or a mask made real photos fake (scripts/occlusion_probe.py), since no
    training face was covered.  Each kind keeps the crop's size and dtype, covers a part of the crop (never all of
    it), where that kind lies: glasses across the upper face, a mask over the lower, a held object under the mouth, a
    hand at a side, an object at an edge; a hand takes its tone from the face; --mask-weight's fourth channel is
    cleared under the object (it shows no change) and kept elsewhere; tiny crops work, crops that are not square
    and unknown kinds are refused; the training transform draws them, the validation transform never; the option is
    a probability, off by default."""
    from fastai.vision.all import PILImage
    from skimage.data import astronaut

    import detector.training.augment as augment
    from detector.training.augment import OCCLUDERS, item_transforms, occlude_crop
    from detector.training.config import TrainConfig

    assert TrainConfig().occlude == 0.0
    with pytest.raises(ValueError, match="--occlude are probabilities"):
        TrainConfig(data=["x"], arch="mobilenetv2", occlude=-0.1).check()
    face = np.ascontiguousarray(cv2_resize(astronaut()[20:280, 120:380], 260))
    mask = np.full((260, 260), 200, np.uint8)  # a fake changed every pixel
    for kind in OCCLUDERS:
        rows_mean, cols_mean, shares = [], [], []
        for seed in range(12):
            out = occlude_crop(np.dstack([face, mask]), np.random.default_rng(seed), 0.3, kind)
            assert out.shape == (260, 260, 4) and out.dtype == np.uint8
            changed = np.abs(out[..., :3].astype(int) - face).sum(axis=2) > 24
            cleared = out[..., 3] == 0
            assert set(np.unique(out[..., 3])) <= {0, 200} and cleared.any()
            assert (changed & ~cleared).mean() < 0.02 and (cleared & ~changed).mean() < 0.02  # cleared where drawn
            shares.append(changed.mean())
            rows_mean.append(np.flatnonzero(changed.any(axis=1)).mean())
            cols_mean.append(abs(np.flatnonzero(changed.any(axis=0)).mean() - 130))
        assert 0.002 < np.median(shares) < 0.45, (kind, shares)  # a part of the crop, never all of it
        middle = float(np.median(rows_mean))
        if kind == "eyes":
            assert 30 < middle < 130, (kind, middle)  # across the upper face (the face's box: rows 30-230)
        elif kind in ("lower", "held"):
            assert middle > 150, (kind, middle)  # the lower face, the chin and below
        elif kind in ("hand", "edge"):
            assert np.median(cols_mean) > 40 or middle > 170, (kind, cols_mean)  # at a side (or the bottom edge)
    assert occlude_crop(face[:9, :9], np.random.default_rng(0), 0.3, "hand").shape == (9, 9, 3)
    with pytest.raises(ValueError, match="unknown occluder"):
        occlude_crop(face, np.random.default_rng(0), 0.3, "umbrella")
    with pytest.raises(ValueError, match="square"):
        occlude_crop(face[:, :200], np.random.default_rng(0), 0.3, "held")
    skin = np.median(face[110:150, 110:150].reshape(-1, 3), axis=0)
    hand = occlude_crop(face, np.random.default_rng(5), 0.3, "hand")
    covered = np.abs(hand.astype(int) - face).sum(axis=2) > 60
    assert np.abs(np.median(hand[covered], axis=0) - skin).max() < 60  # the face's own tone, roughly
    drawn = []
    monkeypatch.setattr(augment, "occlude_crop", lambda img, rng, margin: drawn.append(1) or img)
    (aug,) = item_transforms(64, 0.0, ["fake", "real"], seed=1, occlude=1.0)
    (plain,) = item_transforms(64, 0.0, ["fake", "real"], seed=1)
    img = PILImage.create(face)
    assert np.array_equal(np.asarray(aug(img, split_idx=1)), np.asarray(plain(img, split_idx=1))) and not drawn
    assert aug(img, split_idx=0).shape == (64, 64) and drawn == [1]
