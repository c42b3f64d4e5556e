"""scripts/fold_models.py: a shipped fold ensemble written back into its fold folders, usable as fold teachers."""

from __future__ import annotations

import json

import pytest
from conftest import load_script  # tests/ is on sys.path under pytest

from detector.errors import InputError


def _ensemble(tmp_path, tiny_model_dir, data) -> str:
    """An ensemble card of three (untrained) fold members over ``data``, as ``deepfake-lens ensemble`` writes it."""
    from safetensors.torch import load_file, save_file

    src = json.loads((tiny_model_dir / "untrained_resnet18.json").read_text())
    d = tmp_path / "shipped"
    d.mkdir()
    members = []
    for i in range(3):  # each member's weights differ, so a swapped copy shows
        members.append(f"tiny_fold{i}.safetensors")
        state = load_file(str(tiny_model_dir / src["weights"]))
        state = {k: v + i if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(d / members[-1]))
    card = {
        **src,
        "name": "tiny",
        "weights": "",
        "members": members,
        "trained": {
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
