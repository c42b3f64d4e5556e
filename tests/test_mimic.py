"""detector.training.mimic: label-free pretraining by feature mimicking, and ``train --init`` that starts from it.

The end-to-end test pretrains on conftest's rendered clips (seconds, not a real pretraining), then fine-tunes from
those weights with the stem and first stage kept frozen: the trained model's frozen layers must be exactly the
pretrained ones, and its card must say where they came from.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from detector.models import registry
from detector.training.mimic import MimicNet, features, load_init, mimic_loss


def test_taps_give_four_maps_at_strides_4_to_32():
    x = torch.zeros(2, 3, 64, 64)
    for arch in ("resnet18", "mobilenetv2"):
        net = registry.build(arch, num_classes=2).eval()
        with torch.no_grad():
            maps = features(arch, net, x)
        assert [m.shape[-1] for m in maps] == [16, 8, 4, 2], arch
    with pytest.raises(ValueError, match="feature mimicking knows"):
        features("coatnet_0", None, x)


def test_teacher_stays_in_eval_and_its_maps_are_standardised():
    torch.manual_seed(0)
    student = registry.build("resnet18", num_classes=2)
    teacher = registry.build("mobilenetv2", num_classes=2, pretrained="imagenet")
    model = MimicNet("resnet18", student, "mobilenetv2", teacher, 64)
    batches = [torch.randn(8, 3, 64, 64) for _ in range(2)]
    model.set_statistics(batches)
    model.train()
    assert student.training and not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())
    outs, targets = model(torch.cat(batches))
    assert [o.shape for o in outs] == [t.shape for t in targets]
    deep = targets[-1]  # 1,280 channels: each standardised over the statistics' own images
    alive = model.std3.flatten() > 1e-3  # a channel the images never fire is standardised to 0, not to 1
    assert alive.sum() > 100
    per_channel = deep.transpose(0, 1).flatten(1)[alive]
    assert per_channel.mean(1).abs().max() < 1e-3
    assert torch.allclose(per_channel.std(1, unbiased=False), torch.ones(int(alive.sum())), atol=1e-2)
    loss = mimic_loss((outs, targets), torch.zeros(16))
    loss.backward()
    assert student.conv1.weight.grad is not None and teacher.conv_stem.weight.grad is None


def _saved(tmp_path, arch="resnet18"):
    from safetensors.torch import save_file

    from detector.models.store import file_sha256

    net = registry.build(arch, num_classes=2)
    path = tmp_path / f"{arch}_mimic.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items() if not k.startswith("fc.")}, str(path))
    path.with_suffix(".json").write_text(json.dumps({"arch": arch, "sha256": file_sha256(path)}))
    return net, path


def test_load_init_loads_the_body_and_leaves_the_classifier(tmp_path):
    source, path = _saved(tmp_path)
    net = registry.build("resnet18", num_classes=2)
    fc = net.fc.weight.clone()
    record = load_init(net, "resnet18", path)
    assert record["arch"] == "resnet18"
    assert torch.equal(net.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert torch.equal(net.fc.weight, fc)


def test_load_init_refuses_another_architecture_a_changed_file_and_no_record(tmp_path):
    _, path = _saved(tmp_path)
    net = registry.build("resnet18", num_classes=2)
    record = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**record, "arch": "mobilenetv2"}))
    with pytest.raises(ValueError, match="weights of 'mobilenetv2', not of --arch resnet18"):
        load_init(net, "resnet18", path)
    path.with_suffix(".json").write_text(json.dumps({**record, "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="SHA-256 differs"):
        load_init(net, "resnet18", path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ValueError, match="no record"):
        load_init(net, "resnet18", path)
    with pytest.raises(ValueError, match="no such file"):
        load_init(net, "resnet18", tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="not a .safetensors file"):
        load_init(net, "resnet18", tmp_path / "weights.pt")


def test_load_init_refuses_weights_of_another_shape(tmp_path):
    from safetensors.torch import save_file

    from detector.models.store import file_sha256

    path = tmp_path / "resnet18_mimic.safetensors"
    save_file({"conv1.weight": torch.zeros(8, 3, 3, 3)}, str(path))
    path.with_suffix(".json").write_text(json.dumps({"arch": "resnet18", "sha256": file_sha256(path)}))
    with pytest.raises(ValueError, match="weights do not fit resnet18"):
        load_init(registry.build("resnet18", num_classes=2), "resnet18", path)
    path.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        load_init(registry.build("resnet18", num_classes=2), "resnet18", path)


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    from detector.training.mimic import main
    from detector.training.run import main as train

    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "m"), "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "m"), "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "m").exists()  # nothing written for input that cannot be used
    with pytest.raises(SystemExit) as e:  # refused while the options are read
        train(["--data", str(tmp_path), "--arch", "resnet18", "--init", "x.safetensors", "--pretrained", "imagenet"])
    assert e.value.code == 2
    assert "--init gives the starting weights" in capsys.readouterr().err
    rc = train(["--data", str(tmp_path), "--arch", "resnet18", "--init", str(tmp_path / "x.safetensors")])
    assert rc == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_pretrain_then_fine_tune_from_it_keeps_the_frozen_layers_and_says_so(tiny_dataset, tmp_path):
    from safetensors.torch import load_file

    from detector.training.mimic import pretrain
    from detector.training.run import main

    cache = tmp_path / "cache"
    record = pretrain(
        [str(tiny_dataset)],
        tmp_path / "m",
        size=32,
        epochs=1,
        bs=4,
        frames=4,
        cache=str(cache),
        workers=1,
        valid_share=0.2,
    )
    init = tmp_path / "m" / "resnet18_mimic.safetensors"
    assert init.is_file() and record["sha256"] and (tmp_path / "m" / "losses.png").is_file()
    pretrained = load_file(str(init))
    assert not any(k.startswith("fc.") for k in pretrained)
    out = tmp_path / "r"
    rc = main(
        [
            "--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1",
            "--bs", "4", "--val-fraction", "0.34", "--workers", "1", "--init", str(init), "--freeze-stages", "1",
            "--cache", str(cache), "--out", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    card = json.loads(next((out / "model").glob("*.json")).read_text())
    assert card["trained"]["pretrained"] == "mimic"
    assert card["trained"]["init"]["sha256"] == record["sha256"] and card["trained"]["init"]["file"] == str(init)
    assert "label-free pretraining" in card["notes"]
    trained = load_file(str(out / "model" / card["weights"]))
    early = [k for k in trained if k.startswith(("conv1.", "bn1.", "layer1."))]
    params = [k for k in early if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert params
    for k in params:  # kept frozen from the pretrained values (the card's weights are float32 here: no --half)
        assert torch.equal(trained[k], pretrained[k]), k
    later = [k for k in trained if k.startswith("layer3.") and k.endswith("conv1.weight")]
    assert any(not torch.equal(trained[k], pretrained[k]) for k in later)


def test_mimic_on_a_recipe_fold_needs_the_fold_and_no_data(tmp_path, capsys):
    from detector.training.mimic import main

    out = str(tmp_path / "m")
    assert main(["--out", out]) == 2
    assert "give --data ROOT... or --recipe R --fold I" in capsys.readouterr().err
    assert main(["--recipe", "resnet18_mimic_fold", "--out", out]) == 2
    assert "--recipe needs --fold I" in capsys.readouterr().err
    assert main(["--recipe", "resnet18_mimic_fold", "--data", str(tmp_path), "--fold", "0", "--out", out]) == 2
    assert "--data or --recipe, not both" in capsys.readouterr().err
    assert main(["--data", str(tmp_path), "--fold", "0", "--out", out]) == 2
    assert "--folds and --fold go with --recipe" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_an_init_named_per_fold_needs_folds(tmp_path, capsys):
    from detector.training.config import parse_config

    cfg = parse_config(["--data", str(tmp_path), "--arch", "resnet18", "--init", "m/fold{fold}/r.safetensors",
                        "--folds", "3", "--fold", "2"])  # fmt: skip
    assert cfg.init_file() == "m/fold2/r.safetensors"
    with pytest.raises(SystemExit) as e:
        parse_config(["--data", str(tmp_path), "--arch", "resnet18", "--init", "m/fold{fold}/r.safetensors"])
    assert e.value.code == 2
    assert "--init names '{fold}' but the run has no --folds" in capsys.readouterr().err


def test_weights_pretrained_on_one_fold_serve_that_fold_only(tmp_path):
    from detector.training.config import parse_config
    from detector.training.mimic import check_init_split

    def cfg(*more):
        return parse_config(["--data", "d/ffpp", "d/utk/", "--arch", "resnet18", *more])

    split = {"folds": 3, "fold": 0, "split_seed": 0, "data": ["d/ffpp", "d/utk"], "validation_groups": 40}
    check_init_split(cfg("--folds", "3", "--fold", "0", "--split-seed", "0"), {"split": split})  # its own fold
    check_init_split(cfg("--folds", "3", "--fold", "1"), {"split": None})  # pretrained without a split: any run
    for more, named in [
        (("--folds", "3", "--fold", "1"), "fold 0 (this run: 1)"),
        (("--folds", "5", "--fold", "0"), "folds 3 (this run: 5)"),
        (("--folds", "3", "--fold", "0", "--split-seed", "4"), "split_seed 0 (this run: 4)"),
        ((), "folds 3 (this run: None)"),
    ]:
        with pytest.raises(ValueError, match="pretrained on the training items of another split") as e:
            check_init_split(cfg(*more), {"split": split})
        assert named in str(e.value)
    with pytest.raises(ValueError, match="data"):
        check_init_split(parse_config(["--data", "d/ffpp", "--arch", "resnet18", "--folds", "3", "--fold", "0"]),
                         {"split": split})  # fmt: skip


@pytest.mark.slow
def test_a_fold_pretraining_sees_only_that_folds_training_crops(tiny_dataset, tmp_path, monkeypatch):
    import detector.training.mimic as mimic
    from detector.data.datasets import read_datasets
    from detector.data.splits import fold_by_group
    from detector.training.config import parse_config
    from detector.training.run import main

    seen: list[str] = []
    real_init = mimic.CropImages.__init__

    def spy(self, files, *a, **k):
        seen.extend(files)
        real_init(self, files, *a, **k)

    monkeypatch.setattr(mimic.CropImages, "__init__", spy)
    cache = str(tmp_path / "cache")
    common = ["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4", "--workers", "1",
              "--cache", cache, "--folds", "3"]  # fmt: skip
    split = parse_config([*common, "--fold", "0"])
    record = mimic.pretrain([], tmp_path / "m", size=32, epochs=1, bs=4, cache=cache, workers=1, split=split)
    val = {it.path for it in fold_by_group(read_datasets([str(tiny_dataset)]), 3, seed=0)[0]}
    assert record["items"] == 6 - len(val) and record["split"]["fold"] == 0 and record["split"]["folds"] == 3
    from detector.data.crops import extract_many

    crops = extract_many(sorted(val), frames=4, margin=split.margin, cache=cache, workers=1)
    val_files = {f for cs in crops.values() for f in cs.files}
    assert (
        seen and val_files and not val_files & set(seen)
    )  # no crop of the fold's validation videos, not even unlabelled
    init = str(tmp_path / "m" / "resnet18_mimic.safetensors")
    rest = ["--epochs", "1", "--bs", "4", "--out", str(tmp_path / "r"), "--init", init]
    assert main([*common, "--fold", "1", *rest]) == 2  # another fold: refused before any training
    assert not (tmp_path / "r" / "model").exists()


def test_splits_compare_their_groups_where_both_records_list_them():
    from detector.training.mimic import same_split

    a = {"folds": 3, "fold": 0, "split_seed": 0, "data": ["d/ffpp", "d/utk"], "validation_groups": 2}
    with_ids = {**a, "data": ["d/utk/", "d/ffpp"], "validation_group_ids": ["g1", "g2"]}
    assert same_split(a, with_ids)  # an older record without the groups: the rest decides
    assert same_split(with_ids, {**with_ids, "validation_group_ids": ["g2", "g1"]})
    assert not same_split(with_ids, {**with_ids, "validation_group_ids": ["g1", "g3"]})
    assert not same_split(a, {**a, "fold": 1}) and not same_split(a, {**a, "data": ["d/ffpp"]})


def test_a_run_whose_validation_groups_the_pretraining_trained_on_is_refused():
    from types import SimpleNamespace

    from detector.training.config import parse_config
    from detector.training.mimic import check_init_groups, check_init_split

    cfg = parse_config(["--data", "d/ffpp", "--arch", "resnet18", "--folds", "3", "--fold", "0", "--init", "w.sft"])
    items = [SimpleNamespace(group=g) for g in ("g1", "g2", "g2")]
    split = {"folds": 3, "fold": 0, "split_seed": 0, "data": ["d/ffpp"], "validation_group_ids": ["g1", "g2", "g9"]}
    check_init_groups(cfg, {"split": split}, items)  # every validation group of the run was held out of it
    check_init_groups(cfg, {"split": {k: v for k, v in split.items() if k != "validation_group_ids"}}, items)
    with pytest.raises(ValueError, match="pretrained on 1 of this run's validation groups") as e:
        check_init_groups(cfg, {"split": {**split, "validation_group_ids": ["g1"]}}, items)
    assert "g2" in str(e.value)
    # the pretraining it continued is checked too: a stage without a split over a fold-1 stage
    chained = {"split": None, "init": {"split": {**split, "fold": 1}}}
    with pytest.raises(ValueError, match=r"fold 1 \(this run: 0\)"):
        check_init_split(cfg, chained)


def test_a_teacher_model_needs_a_recipe_fold_and_its_own_fold(tmp_path, capsys):
    from test_distill import teacher_card

    from detector.training.config import parse_config
    from detector.training.mimic import main, pretrain

    out = str(tmp_path / "m")
    assert main(["--data", str(tmp_path), "--teacher-model", "t.json", "--out", out]) == 2
    assert "--teacher-model goes with --recipe" in capsys.readouterr().err
    card = teacher_card(tmp_path / "t", [str(tmp_path)], {"folds": 3, "fold": 1, "seed": 0})
    split = parse_config(["--data", str(tmp_path), "--arch", "resnet18", "--folds", "3", "--fold", "0"])
    with pytest.raises(ValueError, match="the teacher trained on this run's validation items"):
        pretrain([], out, split=split, teacher_model=str(card))  # refused before any crop is cut
    with pytest.raises(ValueError, match="needs --recipe"):
        pretrain([str(tmp_path)], out, teacher_model=str(card))
    assert not (tmp_path / "m").exists()


def test_mimic_on_a_recipe_passes_cache_and_workers_on(tmp_path, monkeypatch):
    import detector.training.mimic as mimic

    got = {}
    monkeypatch.setattr(mimic, "pretrain", lambda data, out, split=None, **k: got.update(split=split))
    cache = str(tmp_path / "cache")
    argv = ["--recipe", "resnet18_mimic_fold", "--fold", "1", "--cache", cache, "--workers", "3", "--out", "o"]
    assert mimic.main(argv) == 0
    assert got["split"].cache == cache and got["split"].workers == 3 and got["split"].fold == 1


def _teacher(tmp_path, data, split, size=32):
    """A tiny teacher card of ``split`` at ``size`` px (test_distill's, with its input size set)."""
    from test_distill import teacher_card

    from detector.models.card import ModelCard

    path = teacher_card(tmp_path, data, split)
    card = ModelCard.from_file(path)
    card.input_size = size
    path.write_text(card.to_json())
    return path


def test_a_teacher_model_must_show_its_split_and_take_mimics_crops(tmp_path):
    # found by review: a teacher card without a recorded split was only warned of, and a teacher at another input
    # size or normalisation was used as it came
    from detector.models.card import ModelCard
    from detector.training.config import parse_config
    from detector.training.mimic import load_detector_teacher

    split = parse_config(["--data", str(tmp_path), "--arch", "resnet18", "--folds", "3", "--fold", "0"])
    full = {"folds": 3, "fold": 0, "seed": 0, "val_groups": ["a"]}
    assert load_detector_teacher(split, str(_teacher(tmp_path / "ok", [str(tmp_path)], full)), 32).card.name
    for folder, card_split, size, message in [
        ("none", None, 32, "does not record its split"),
        ("nogroups", {"folds": 3, "fold": 0, "seed": 0}, 32, "does not record its split"),
        ("size", full, 48, "give --size 48"),
    ]:
        path = _teacher(tmp_path / folder, [str(tmp_path)], card_split, size)
        with pytest.raises(ValueError, match=message):
            load_detector_teacher(split, str(path), 32)
    odd = ModelCard.from_file(_teacher(tmp_path / "mean", [str(tmp_path)], full))
    odd.mean = [0.5, 0.5, 0.5]
    (tmp_path / "mean" / "teacher.json").write_text(odd.to_json())
    with pytest.raises(ValueError, match="another mean and std"):
        load_detector_teacher(split, str(tmp_path / "mean" / "teacher.json"), 32)


def test_a_stage_without_a_split_keeps_its_starts_split_only_if_it_sees_none_of_its_validation(tmp_path):
    from detector.training.mimic import _split_after_init

    def weights(name, record):
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
        return str(tmp_path / f"{name}.safetensors")

    split = {"folds": 3, "fold": 1, "split_seed": 0, "data": ["d"], "validation_group_ids": ["g1", "g2"]}
    fold1 = weights("fold1", {"split": split})
    assert _split_after_init(fold1, None, {"g3", "g4"}) == split  # none of its validation: it keeps the split
    with pytest.raises(ValueError, match=r"2 of these items are in that fold's validation groups .*--fold 1\)"):
        _split_after_init(fold1, None, {"g1", "g2", "g3"})
    older = weights("older", {"split": {k: v for k, v in split.items() if k != "validation_group_ids"}})
    with pytest.raises(ValueError, match="does not list"):
        _split_after_init(older, None, {"g3"})
    photos = weights("photos", {"split": None})
    assert _split_after_init(photos, None, {"g1"}) is None and _split_after_init(None, None, {"g1"}) is None
    assert _split_after_init(fold1, split, set()) == split
    with pytest.raises(ValueError, match="another split or fold"):
        _split_after_init(fold1, {**split, "fold": 2}, set())


@pytest.mark.slow
def test_a_fold_pretraining_copies_that_folds_detector_when_given_one(tiny_dataset, tmp_path):
    import detector.training.mimic as mimic
    from detector.data.datasets import read_datasets
    from detector.data.splits import fold_by_group
    from detector.training.config import parse_config

    cache = str(tmp_path / "cache")
    split = parse_config(["--data", str(tiny_dataset), "--arch", "resnet18", "--size", "32", "--frames", "4",
                          "--workers", "1", "--cache", cache, "--folds", "3", "--fold", "0"])  # fmt: skip
    val = sorted({str(it.group) for it in fold_by_group(read_datasets([str(tiny_dataset)]), 3, seed=0)[0]})
    card = _teacher(tmp_path / "t0", [str(tiny_dataset)], {"folds": 3, "fold": 0, "seed": 0, "val_groups": val})
    pattern = str(card).replace("t0", "t{fold}")
    record = mimic.pretrain([], tmp_path / "m", size=32, epochs=1, bs=4, split=split, teacher_model=pattern)
    assert record["kind"] == "feature distillation (a detector)" and record["teacher"] == "resnet18"
    assert record["distilled"] and str(card) in record["teacher_weights"]
    assert record["split"]["validation_group_ids"] == val
    # a stage after it on the whole data set, without a split, would see the fold's validation items: refused
    init = str(tmp_path / "m" / "resnet18_mimic.safetensors")
    with pytest.raises(ValueError, match="in that fold's validation groups"):
        mimic.pretrain([str(tiny_dataset)], tmp_path / "m2", size=32, epochs=1, bs=4, frames=4, cache=cache,
                       workers=1, init=init)  # fmt: skip
    assert not (tmp_path / "m2").exists()


def test_the_card_says_when_the_start_copied_a_detector(tmp_path):
    from detector.training.run import _init_note

    path = tmp_path / "resnet18_mimic.safetensors"
    (tmp_path / "resnet18_mimic.json").write_text(json.dumps({"kind": "feature mimicking (label-free)"}))
    assert "label-free" in _init_note(str(path)) and "trained detector" not in _init_note(str(path))
    (tmp_path / "resnet18_mimic.json").write_text(json.dumps({"kind": "feature distillation (a detector)"}))
    assert "a trained detector of the same fold" in _init_note(str(path))
    # two stages later: the flag travels with the weights
    later = {"kind": "feature mimicking (label-free)", "distilled": True, "init": {"kind": "feature mimicking"}}
    (tmp_path / "resnet18_mimic.json").write_text(json.dumps(later))
    assert "a trained detector of the same fold" in _init_note(str(path))


def test_weights_pretrained_without_a_split_on_the_runs_data_are_warned_of():
    from detector.training.config import parse_config
    from detector.training.run import init_overlap_warnings

    cfg = parse_config(["--data", "d/ffpp", "d/utk", "--arch", "resnet18", "--folds", "3", "--fold", "0",
                        "--init", "m/r.safetensors"])  # fmt: skip
    (line,) = init_overlap_warnings(cfg, {"split": None, "data": ["d/utk/"]})
    assert "pretrained without a split on d/utk" in line and "without labels" in line
    assert init_overlap_warnings(cfg, {"split": None, "data": ["elsewhere"]}) == []
    # the pretraining recorded the root as an absolute path, the run names it relative to here: one root
    (line,) = init_overlap_warnings(cfg, {"split": None, "data": [os.path.abspath("d/utk")]})
    assert "on d/utk," in line
    fold = {"folds": 3, "fold": 0, "split_seed": 0, "data": ["d/ffpp", "d/utk"]}
    assert init_overlap_warnings(cfg, {"split": fold, "data": ["d/utk"]}) == []  # checked strictly instead
