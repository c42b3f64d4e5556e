"""Model cards and their weights: ensembles of members, and cards that must be refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from detector.errors import NoModelError
from detector.models.card import BadCardError, ModelCard
from detector.models.classifier import Ensemble, load_model


def _copy_card(src_dir, dst_dir, **changes):
    dst_dir.mkdir(parents=True, exist_ok=True)
    card = json.loads((src_dir / "untrained_resnet18.json").read_text())
    card.update(changes)
    (dst_dir / f"{card['name']}.json").write_text(json.dumps(card))
    return dst_dir / f"{card['name']}.json"


def test_an_ensemble_averages_its_members(tiny_model_dir, tmp_path):
    import torch

    from detector.models import registry
    from detector.models.store import save_model

    torch.manual_seed(1)
    other = registry.build("resnet18", num_classes=2)
    second = ModelCard(name="second", architecture="resnet18", input_size=64)
    save_model(other, second, tmp_path)
    shutil.copy(tiny_model_dir / "untrained_resnet18.safetensors", tmp_path / "m0.safetensors")
    path = _copy_card(tiny_model_dir, tmp_path, name="pair", members=["m0.safetensors", "second.safetensors"])
    ens = load_model(str(path))
    assert isinstance(ens, Ensemble) and len(ens.members) == 2
    crops = [np.random.default_rng(i).integers(0, 255, (80, 80, 3), dtype=np.uint8) for i in range(3)]
    expected = np.mean([m.predict(crops) for m in ens.members], axis=0)
    assert np.allclose(ens.predict(crops), expected, atol=1e-6)

    from explain import explain_faces

    exps = explain_faces(ens, crops, method="gradcam", faithfulness=False)
    singles = [explain_faces(m, crops, method="gradcam", faithfulness=False) for m in ens.members]
    mean = (singles[0][0].cam + singles[1][0].cam) / 2
    assert np.allclose(exps[0].cam, mean / mean.max(), atol=1e-6)  # the mean map, scaled to [0, 1] again
    assert exps[1].score == pytest.approx((singles[0][1].score + singles[1][1].score) / 2, abs=1e-6)


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"weights": "../../../../etc/passwd"}, "must be a .safetensors file name"),
        ({"weights": "/etc/passwd.safetensors"}, "must be a .safetensors file name"),
        ({"members": ["ok.safetensors", "../x.safetensors"]}, "must be a .safetensors file name"),
        ({"architecture": "no_such_net"}, "unknown architecture"),
        ({"classes": ["a", "b"]}, "not a usable model card"),
    ],
)
def test_bad_cards_are_refused_without_reading_outside_their_folder(tiny_model_dir, tmp_path, changes, message):
    shutil.copy(tiny_model_dir / "untrained_resnet18.safetensors", tmp_path / "ok.safetensors")
    path = _copy_card(tiny_model_dir, tmp_path / "cards", name=f"bad{abs(hash(message)) % 1000}", **changes)
    shutil.copy(tmp_path / "ok.safetensors", path.parent / "ok.safetensors")
    with pytest.raises(NoModelError, match=message):
        load_model(str(path))


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"mean": [0.5, 0.5]}, "mean"),
        ({"std": [0.2, 0.0, 0.2]}, "std"),
        ({"std": [0.2, -1, 0.2]}, "std"),
        ({"mean": ["a", 0.5, 0.5]}, "mean"),
        ({"threshold": 2}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"uncertain": [0.4]}, "uncertain"),
        ({"uncertain": [0.6, 0.4]}, "uncertain"),
        ({"face_margin": -1}, "face_margin"),
        ({"dtype": "int8"}, "dtype"),
        ({"classes": ["fake", "fake"], "fake_class": "fake"}, "classes"),
        ({"classes": "fakereal"}, "classes"),
        ({"face_margin": 5}, "face_margin"),
        ({"uncertain": [0.2, 1.5]}, "uncertain"),
        ({"temporal": {"weights": "h.safetensors", "threshold": 3}}, "temporal.threshold"),
        ({"temporal": {"weights": "h.safetensors", "uncertain": [0.9, 0.1]}}, "temporal.uncertain"),
    ],
)
def test_a_card_with_unusable_numbers_is_refused_at_load_naming_the_field(tiny_model_dir, tmp_path, changes, field):
    path = _copy_card(tiny_model_dir, tmp_path, **changes)
    with pytest.raises(BadCardError, match=f"not a usable model card \\({field} "):
        ModelCard.from_file(path)


@pytest.mark.parametrize("field", ["threshold", "mean"])
def test_a_card_number_of_nan_or_infinity_is_refused(tiny_model_dir, tmp_path, field):
    path = _copy_card(tiny_model_dir, tmp_path)
    text = path.read_text()
    for value in ("NaN", "Infinity"):
        data = json.loads(text)
        data[field] = 12345.5 if field == "threshold" else [0.5, 12345.5, 0.5]
        path.write_text(json.dumps(data).replace("12345.5", value))
        with pytest.raises(BadCardError, match=f"\\({field} "):
            ModelCard.from_file(path)


def test_an_empty_uncertain_band_means_none(tiny_model_dir, tmp_path):
    card = ModelCard.from_file(_copy_card(tiny_model_dir, tmp_path, uncertain=[]))
    assert card.uncertain is None


def test_a_card_is_calibrated_only_when_it_records_how_its_threshold_was_chosen():
    card = ModelCard(name="m", architecture="resnet18", input_size=64)
    assert not card.calibrated  # a fixed 0.5
    card.trained = {"calibration": "none: threshold 0.5 is the authors' own rule"}  # what a converted peer records
    assert not card.calibrated
    card.threshold = 0.9
    card.trained = {"calibration": {"threshold": 0.9, "target_false_alarms": 0.05, "strata": {"videos": 40}}}
    assert card.calibrated
    card.threshold = 0.95  # set by hand after the calibration: not the calibrated one
    assert not card.calibrated
    # calibrate_threshold's fallback where validation held no real item: 0.5, no strata, no band
    card.threshold = 0.5
    card.trained = {"calibration": {"threshold": 0.5, "uncertain": None, "strata": {}, "rule": "no real item"}}
    assert not card.calibrated


def test_the_shipped_cards_pass_the_checks():
    from detector.constants import SHIPPED_MODELS

    cards = sorted(Path(SHIPPED_MODELS).glob("*.json"))
    assert cards
    for path in cards:
        card = ModelCard.from_file(path)
        assert 0.0 <= card.threshold <= 1.0 and len(card.mean) == 3


def test_not_json_is_a_bad_card(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(BadCardError, match="not a usable model card"):
        ModelCard.from_file(tmp_path / "x.json")
    # nested thousands deep: json.load recursed into a RecursionError traceback (a hostile-input review)
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(BadCardError, match="not a usable model card \\(nested too deep\\)"):
        ModelCard.from_file(tmp_path / "deep.json")


@pytest.mark.parametrize("name", ["../../../../tmp/x", "/tmp/x", "a b", "", "x" * 200])
def test_a_card_name_that_is_not_a_plain_file_name_is_refused(tiny_model_dir, tmp_path, name):
    from detector.models.store import install_model

    path = _copy_card(tiny_model_dir, tmp_path / "cards", name="ok")
    data = json.loads(path.read_text())
    data["name"] = name
    path.write_text(json.dumps(data))
    with pytest.raises(BadCardError, match="name"):
        install_model(path, directory=tmp_path / "models")
    assert not list((tmp_path / "models").glob("*")) if (tmp_path / "models").exists() else True


def test_a_card_with_wrong_types_is_skipped_not_fatal(tiny_model_dir, tmp_path):
    from detector.models.store import list_models

    shutil.copy(tiny_model_dir / "untrained_resnet18.safetensors", tmp_path / "untrained_resnet18.safetensors")
    _copy_card(tiny_model_dir, tmp_path)
    _copy_card(tiny_model_dir, tmp_path, name="broken", weights=5)
    assert [c.name for c in list_models(tmp_path)] == ["untrained_resnet18"]


def test_a_folder_of_several_cards_given_as_the_model_is_refused_not_guessed(tiny_model_dir, tmp_path):
    """Found by a probe: ``--model FOLDER`` with several cards silently used the folder's default."""
    from detector.models.store import resolve

    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(tiny_model_dir / "untrained_resnet18.safetensors", one)
    _copy_card(tiny_model_dir, one)
    assert resolve(str(one)).name == "untrained_resnet18.json"  # a folder holding one card: that card
    shutil.copy(tiny_model_dir / "untrained_resnet18.safetensors", one / "second.safetensors")
    _copy_card(tiny_model_dir, one, name="second", weights="second.safetensors")
    with pytest.raises(NoModelError, match="holds 2 model cards") as refused:
        resolve(str(one))
    assert "second" in str(refused.value) and "untrained_resnet18" in str(refused.value)
    (tmp_path / "empty").mkdir()  # a folder holding no card: said so, not "no model 'empty'" (a review)
    with pytest.raises(NoModelError, match="the folder holds no model card"):
        resolve(str(tmp_path / "empty"))
    (tmp_path / "empty" / "notes.json").write_text('{"a": 1}')  # and why a .json in it is not one
    with pytest.raises(NoModelError, match=r"holds no usable model card \(notes.json: .*no name"):
        resolve(str(tmp_path / "empty"))
    # a card whose weights lead out of its folder: the card's own reason, not "holds no model card" (an audit)
    outside = tmp_path / "outside"
    _copy_card(tiny_model_dir, outside, weights="../one/untrained_resnet18.safetensors")
    with pytest.raises(NoModelError, match=r"holds no usable model card \(.*must be a \.safetensors file name in"):
        resolve(str(outside))


def test_a_broken_card_in_the_models_folder_is_named_when_asked_for(tmp_path):
    # an audit: zz.json holding "{bad" was left out quietly, and --model zz said "no model 'zz'" as for a typo
    from detector.models.store import resolve

    (tmp_path / "zz.json").write_text("{bad")
    with pytest.raises(NoModelError) as refused:
        resolve("zz", tmp_path)
    said = str(refused.value)
    assert said.startswith("zz: ") and "zz.json does not give this model" in said and "\n" not in said
    with pytest.raises(NoModelError, match="no model 'yy'"):  # a name with no file: as before
        resolve("yy", tmp_path)
