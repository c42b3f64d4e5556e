"""TrainConfig: recipes as TOML data, flags over them, and the comparison crossval makes."""

from __future__ import annotations

import pytest

from detector.training.config import RECIPES, TrainConfig, parse_config


def test_flags_override_the_recipe_and_the_rest_keep_their_defaults(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = ["a", "b"]\narch = "resnet18"\nepochs = 3\nsbi = 0.5\n')
    cfg = parse_config(["--recipe", str(recipe), "--epochs", "7", "--lr-find"])
    assert (cfg.data, cfg.arch, cfg.epochs, cfg.sbi, cfg.lr_find, cfg.bs) == (["a", "b"], "resnet18", 7, 0.5, True, 32)
    again = TrainConfig.from_dict(__import__("tomllib").loads(cfg.to_toml()))
    assert again == cfg  # a run's config.toml is itself a recipe


def test_recipe_leaves_out_where_and_how_a_run_was_done():
    a = parse_config(["--data", "d", "--arch", "resnet18", "--folds", "3", "--fold", "0", "--out", "x"])
    b = parse_config(["--data", "d", "--arch", "resnet18", "--folds", "3", "--fold", "2", "--threads", "1"])
    assert a.recipe() == b.recipe() and a != b
    assert parse_config(["--data", "d", "--arch", "resnet18", "--epochs", "2"]).recipe() != a.recipe()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--arch", "resnet18"], "no data"),
        (["--data", "d", "--arch", "resnet18", "--sbi", "2"], "probabilities"),
        (["--data", "d", "--arch", "resnet18", "--fold", "1"], "--fold I needs --folds K"),
        (["--recipe", "no_such_recipe"], "no recipe"),
        (["--data", "d", "--arch", "resnet18", "--margin", "-0.1"], "--margin M is a share"),
        (["--data", "d", "--arch", "resnet18", "--margin", "nan"], "--margin M is a share"),
        (["--data", "d", "--arch", "resnet18", "--margin", "1.5"], "--margin M is a share"),
        # an audit: these trained (or failed with a traceback) instead
        (["--data", "d", "--arch", "resnet18", "--lr", "nan"], "--lr is a learning rate above 0"),
        (["--data", "d", "--arch", "resnet18", "--lr", "0"], "--lr is a learning rate above 0"),
        (["--data", "d", "--arch", "resnet18", "--epochs", "-1"], "--epochs is at least 1"),
        (["--data", "d", "--arch", "resnet18", "--size", "0"], "--size is the input's side"),
        (["--data", "d", "--arch", "resnet18", "--bs", "0"], "--bs and --frames are at least 1"),
        (["--data", "d", "--arch", "resnet18", "--frames", "0"], "--bs and --frames are at least 1"),
        (["--data", "d", "--arch", "resnet18", "--workers", "-1"], "--workers, --threads and --max-train-frames"),
        (["--data", "d", "--arch", "resnet18", "--lr-mult", "inf"], "--lr-mult is above 0"),
        (["--data", "d", "--arch", "resnet18", "--val-fraction", "1"], "--val-fraction is a share"),
    ],
)
def test_bad_configs_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        parse_config(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_unknown_recipe_keys_are_refused(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('data = ["d"]\narch = "resnet18"\nepochz = 3\n')
    with pytest.raises(SystemExit):
        parse_config(["--recipe", str(bad)])
    assert "unknown recipe key(s): epochz" in capsys.readouterr().err


def test_shipped_recipes_parse():
    names = sorted(p.stem for p in RECIPES.glob("*.toml"))
    assert "realfaces" in names
    for name in names:
        cfg = parse_config(["--recipe", name])
        assert cfg.data and cfg.arch


def test_on_off_flags_override_a_recipe_both_ways(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = ["d"]\narch = "resnet18"\nhalf = true\nlr = 0.004\nlr_find = true\n')
    assert parse_config(["--recipe", str(recipe)]).half is True
    assert parse_config(["--recipe", str(recipe), "--no-half"]).half is False
    kept = parse_config(["--recipe", str(recipe)])
    assert kept.lr_find and kept.lr == 0.004  # the recipe's rate, lr_find for the record
    asked = parse_config(["--recipe", str(recipe), "--lr-find"])
    assert asked.lr_find and asked.lr is None  # asked for on the command line: its suggestion is used
    assert parse_config(["--recipe", str(recipe), "--lr-find", "--lr", "0.01"]).lr == 0.01


def test_a_recipe_with_an_unknown_precision_is_refused(tmp_path, capsys):
    """--precision's choices guard the command line only: a recipe's "BF16" would have trained in float32."""
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = ["a"]\narch = "resnet18"\nprecision = "BF16"\n')
    with pytest.raises(SystemExit):
        parse_config(["--recipe", str(recipe)])
    assert "--precision is fp32 or bf16, not 'BF16'" in capsys.readouterr().err
    recipe.write_text('data = ["a"]\narch = "resnet18"\nprecision = "bf16"\n')
    assert parse_config(["--recipe", str(recipe)]).precision == "bf16"


def test_train_sources_are_one_sorted_list_from_a_recipe_or_flags(tmp_path, capsys):
    """A recipe's single name is a list of one; order and repeats do not make another recipe (folds trained alike
    must pool in crossval); an empty list is refused rather than read as "all"."""
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = ["D"]\narch = "resnet18"\ntrain_sources = "ffpp"\n')
    assert parse_config(["--recipe", str(recipe)]).train_sources == ["ffpp"]
    flags = ["--data", "D", "--arch", "resnet18", "--train-sources", "ffpp", "faces_utk", "ffpp"]
    assert parse_config(flags).train_sources == ["faces_utk", "ffpp"]
    assert parse_config(flags).recipe() == parse_config([*flags[:-3], "faces_utk", "ffpp"]).recipe()
    recipe.write_text('data = ["D"]\narch = "resnet18"\ntrain_sources = []\n')
    with pytest.raises(SystemExit) as info:
        parse_config(["--recipe", str(recipe)])
    assert info.value.code == 2 and "--train-sources names at least one source" in capsys.readouterr().err


def test_train_sources_all_turns_a_recipes_list_off_and_a_bad_one_is_a_usage_error(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('data = ["D"]\narch = "resnet18"\ntrain_sources = ["ffpp", "faces_utk"]\n')
    assert parse_config(["--recipe", str(recipe), "--train-sources", "x"]).train_sources == ["x"]  # the flag wins
    assert parse_config(["--recipe", str(recipe), "--train-sources", "all"]).train_sources is None
    again = TrainConfig.from_dict(__import__("tomllib").loads(parse_config(["--recipe", str(recipe)]).to_toml()))
    assert again.train_sources == ["faces_utk", "ffpp"]
    for bad in ("5", '[1, "a"]', '[["a"]]', '[""]'):
        recipe.write_text(f'data = ["D"]\narch = "resnet18"\ntrain_sources = {bad}\n')
        with pytest.raises(SystemExit) as info:
            parse_config(["--recipe", str(recipe)])
        assert info.value.code == 2 and "train_sources is a list of data source names" in capsys.readouterr().err


def _index():
    from detector.training.config import recipe_index

    return recipe_index()


def test_the_recipe_index_names_every_recipe_once_and_only_recipes():
    from detector.training.config import recipe_path

    index = _index()
    files = {p.relative_to(RECIPES).with_suffix("").as_posix() for p in RECIPES.rglob("*.toml")}
    assert set(index) == files
    assert [k for k, v in index.items() if v["status"] == "default"] == ["realfaces_tightpad"]
    for name, entry in index.items():
        assert entry["status"] in ("default", "shipped", "not shipped"), name
        assert ("model" in entry) == (entry["status"] != "not shipped"), name
        assert entry["summary"] and 0.0 <= entry["c23"] <= 1.0, name
        if "/" not in name:
            assert recipe_path(name).is_file()


def test_the_recipe_index_points_at_headings_that_exist_in_the_results():
    import re
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "docs" / "results.md"
    anchors, fenced = set(), False
    for line in results.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if line.startswith("#") and not fenced:  # GitHub's anchors: lower case, punctuation dropped, spaces to -
            anchors.add(re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-"))
    missing = {k: v["results"] for k, v in _index().items() if v["results"] not in anchors}
    assert not missing


def test_the_recipe_index_agrees_with_the_shipped_model_cards():
    import json

    from detector.constants import SHIPPED_MODELS

    for name, entry in _index().items():
        if entry["status"] == "not shipped":
            continue
        card = json.loads((SHIPPED_MODELS / f"{entry['model']}.json").read_text())
        assert card["default"] == (entry["status"] == "default"), name
        recipe = parse_config(["--recipe", name])
        trained = card["trained"].get("config", card["trained"])  # fold ensembles keep the whole config
        assert (card["architecture"], card["input_size"]) == (recipe.arch, recipe.size), name
        assert trained["epochs"] == recipe.epochs, name


def test_models_recipes_lists_the_index_the_default_first(capsys):
    import json

    from detector.cli import main

    assert main(["models", "--recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("realfaces_tightpad") and "default: mnv2_tightpad" in lines[0]
    assert main(["models", "--recipes", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows][0] == "realfaces_tightpad" and {r["name"] for r in rows} == set(_index())
