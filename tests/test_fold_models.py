"""scripts/fold_models.py: a shipped fold ensemble written back into its fold folders, usable as fold teachers."""

from __future__ import annotations

import json

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest

from detector.errors import InputError


def _ensemble(tmp_path, tiny_model_dir, data, names=None, described=None) -> str:
    """An ensemble card of three (untrained) fold members over ``data``, as ``deepfake-lens ensemble`` writes it
    (``names``: other member names in the card; ``described``: another ``trained.data`` line)."""
    from safetensors.torch import load_file, save_file

    from detector.data.datasets import held_out, read_datasets
    from detector.training.run import describe_data

    src = json.loads((tiny_model_dir / "untrained_resnet18.json").read_text())
    d = tmp_path / "shipped"
    d.mkdir(exist_ok=True)
    members = []
    for i in range(3):  # each member's weights differ, so a swapped copy shows
        members.append(f"tiny_fold{i}.safetensors")
        state = load_file(str(tiny_model_dir / src["weights"]))
        state = {k: v + i if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(d / members[-1]))
    items = read_datasets([str(data)])
    card = {
        **src,
        "name": "tiny",
        "weights": "",
        "members": members if names is None else names,
        "trained": {
            "data": described
            or describe_data([i for i in items if not held_out(i)], [i for i in items if held_out(i)], [str(data)]),
            "split": {"rule": "by group", "folds": 3, "seed": 0, "heldout_photos": 0},
            "config": {"data": [str(data)], "arch": "resnet18", "size": 64},
            "ensemble_of": "the 3 fold models of one recipe",
        },
    }
    (d / "tiny.json").write_text(json.dumps(card))
    return str(d / "tiny.json")


def test_unpacked_folds_are_the_members_with_their_own_split(tmp_path, tiny_model_dir, tiny_dataset):
    from detector.data.datasets import held_out, read_datasets
    from detector.data.splits import fold_by_group
    from detector.models.classifier import load_model
    from detector.training.config import parse_config
    from detector.training.distill import check_teacher, check_teacher_groups

    mod = load_script("scripts/fold_models.py", "fold_models")
    ens = _ensemble(tmp_path, tiny_model_dir, tiny_dataset)
    cards = mod.unpack(ens, tmp_path / "cv")
    assert [c.relative_to(tmp_path / "cv").as_posix() for c in cards] == [
        f"fold{i}/model/resnet18.json" for i in range(3)
    ]
    items = [it for it in read_datasets([str(tiny_dataset)]) if not held_out(it)]
    folds = fold_by_group(items, 3, seed=0)
    for i, path in enumerate(cards):
        model = load_model(str(path))
        assert not model.members and model.card.trained["split"]["fold"] == i
        assert (path.parent / "resnet18.safetensors").read_bytes() == (
            tmp_path / "shipped" / f"tiny_fold{i}.safetensors"
        ).read_bytes()
        assert model.card.trained["split"]["val_groups"] == sorted({it.group for it in folds[i]})
        # train accepts it as fold i's teacher, checks every record, and refuses it for another fold
        args = [
            "--data",
            str(tiny_dataset),
            "--arch",
            "resnet18",
            "--folds",
            "3",
            "--split-seed",
            "0",
            "--teacher",
            str(path),
        ]
        assert check_teacher(parse_config([*args, "--fold", str(i)]), model.card) == []
        check_teacher_groups(parse_config([*args, "--fold", str(i)]), model, folds[i])
        with pytest.raises(ValueError, match="trained on this run's validation items"):
            check_teacher(parse_config([*args, "--fold", str((i + 1) % 3)]), model.card)
        with pytest.raises(ValueError, match="validation groups"):
            check_teacher_groups(parse_config([*args, "--fold", str(i)]), model, folds[(i + 1) % 3])


def test_a_single_model_is_refused(tmp_path, tiny_model_dir, capsys):
    mod = load_script("scripts/fold_models.py", "fold_models")
    with pytest.raises(InputError, match="not an ensemble"):
        mod.unpack(tiny_model_dir / "untrained_resnet18.json", tmp_path / "cv")
    assert mod.main([str(tiny_model_dir / "untrained_resnet18.json"), str(tmp_path / "cv")]) == 2
    assert "not an ensemble" in capsys.readouterr().err
    assert not (tmp_path / "cv").exists()


def test_members_outside_the_card_folder_or_misnamed_are_refused(tmp_path, tiny_model_dir, tiny_dataset):
    from detector.models.card import BadCardError

    mod = load_script("scripts/fold_models.py", "fold_models")
    names = ["tiny_fold0.safetensors", "tiny_fold1.safetensors", "tiny_fold2.safetensors"]
    outside = tmp_path / "tiny_fold0.safetensors"
    outside.write_bytes(b"not these")
    for bad, err in (
        (["../tiny_fold0.safetensors", *names[1:]], BadCardError),  # beside the card's folder, not in it
        ([str(outside), *names[1:]], BadCardError),
        ([names[1], names[0], names[2]], InputError),  # fold 1's weights as fold 0
        (["tiny_fold10.safetensors", *names[1:]], InputError),
    ):
        card = _ensemble(tmp_path, tiny_model_dir, tiny_dataset, names=bad)
        with pytest.raises(err):
            mod.unpack(card, tmp_path / "cv")
        assert not (tmp_path / "cv").exists()


def test_other_data_or_a_trained_run_are_refused(tmp_path, tiny_model_dir, tiny_dataset, capsys):
    mod = load_script("scripts/fold_models.py", "fold_models")
    card = _ensemble(tmp_path, tiny_model_dir, tiny_dataset, described="real_fake: 900 videos (450 real, 450 fake)")
    with pytest.raises(InputError, match="not what its members were trained on"):
        mod.unpack(card, tmp_path / "cv")  # its split would not be the members'
    assert not (tmp_path / "cv").exists()

    card = _ensemble(tmp_path, tiny_model_dir, tiny_dataset)
    run = tmp_path / "cv" / "fold1" / "model"
    run.mkdir(parents=True)
    (run / "resnet18.safetensors").write_bytes(b"a trained run's own weights")
    assert mod.main([card, str(tmp_path / "cv")]) == 2
    assert "give --force" in capsys.readouterr().err
    assert (run / "resnet18.safetensors").read_bytes() == b"a trained run's own weights"
    assert not (tmp_path / "cv" / "fold0" / "model").exists()  # nothing written before the refusal
    assert mod.main([card, str(tmp_path / "cv"), "--force"]) == 0
    assert (run / "resnet18.safetensors").read_bytes() == (tmp_path / "shipped" / "tiny_fold1.safetensors").read_bytes()
    assert mod.main([card, str(tmp_path / "cv")]) == 0  # the same weights again: nothing to refuse
