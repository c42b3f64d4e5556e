"""The models shipped in assets/models: cards are complete, weights load without pickle, the default scores a clip.

These guard the repository's own assets (a card pointing at a missing file, a card
that claims metrics the training never wrote, fp16 weights that no longer load).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detector.constants import SHIPPED_MODELS as MODELS_DIR
from detector.models.classifier import load_model
from detector.models.store import list_models

CARDS = sorted(MODELS_DIR.glob("*.json"))
needs_models = pytest.mark.skipif(not CARDS, reason=f"no model installed in {MODELS_DIR}")


@needs_models
def test_exactly_one_default_and_every_card_has_weights():
    cards = list_models(MODELS_DIR)
    assert len(cards) == len(CARDS), "a card in assets/models has no weights beside it"
    assert sum(c.default for c in cards) == 1
    for c in cards:
        for name in c.weight_files:  # an ensemble: each member's file
            assert (MODELS_DIR / name).suffix == ".safetensors"
            assert (MODELS_DIR / name).stat().st_size < 30 * 2**20, f"{name} is over 30 MB"
        assert (MODELS_DIR / f"{c.name}.md").is_file(), f"{c.name} has no model card (<name>.md)"


@needs_models
@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_card_records_how_it_was_trained_and_measured(card_path):
    data = json.loads(card_path.read_text())
    for key in ("architecture", "input_size", "mean", "std", "classes", "threshold", "weights"):
        assert key in data, key
    assert sorted(data["classes"]) == ["fake", "real"]
    trained, metrics = data["trained"], data["metrics"]
    if trained.get("source", "").startswith("authors' published weights"):  # a peer model (import-mesonet)
        assert not data["default"] and trained["license_files"], "a peer model ships with its authors' licence"
        for name in trained["license_files"]:
            assert (MODELS_DIR / name).is_file(), f"{name} must ship beside {card_path.name}"
        assert "calibration" in trained and "converted_by" in trained
        if metrics:  # measured by our pipeline on data these weights never trained on, with the command
            assert metrics["unseen"] is True and metrics["out_of_fold"] is False and metrics["command"]
            assert 0.0 <= metrics["video_auc"] <= 1.0 and metrics["threshold"] == data["threshold"]
        return
    assert "command" in trained and " train " in f" {trained['command']} ".replace(".train ", " train ")
    if data.get("members"):  # an ensemble of fold models: measured and calibrated out of fold
        assert len(data["members"]) >= 2 and metrics["out_of_fold"] is True
        assert (
            trained["calibration"]["threshold"] == data["threshold"] and "out-of-fold" in trained["calibration"]["on"]
        )
        assert data["uncertain"][0] <= data["threshold"] and 0.5 <= metrics["video_auc"] <= 1.0
        assert data["ranges"]["faces"] > 100, "the card records what the training faces looked like"
        # measured over every source it trained on, not a random draw of 19 photos to 1 video
        assert len(data["ranges"].get("sources", {})) >= 3, data["ranges"]
        return
    assert trained["split"]["val_groups"], "the card must name the validation pair groups"
    assert trained["split"]["val_videos"] > 0 and trained["wall_seconds"] > 0
    assert 0.0 <= metrics["video_auc"] <= 1.0
    assert sum(metrics["video_confusion"].values()) == trained["split"]["val_videos"]


@needs_models
def test_default_model_scores_a_face_clip(clips):
    from detector.inference.pipeline import analyze

    clf = load_model()
    assert clf.card.default
    report = analyze(clips["face"], frames=6, model=clf)
    scores = [f.score for fr in report.frames for f in fr.faces]
    assert scores, "the astronaut clip should have faces"
    assert all(0.0 <= s <= 1.0 and not math.isnan(s) for s in scores)
    assert 0.0 <= report.score <= 1.0
    assert report.label in ("real", "uncertain", "fake")


@needs_models
@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_each_model_is_deterministic_and_sensitive_to_input(card_path):
    clf = load_model(str(card_path))
    rng = np.random.default_rng(0)
    size = clf.card.input_size
    crops = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8), np.full((size, size, 3), 128, np.uint8)]
    a = clf.predict(crops)
    b = clf.predict(crops)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.shape == (2,)
    assert abs(float(a[0]) - float(a[1])) > 1e-6, "two very different crops got the same score"


def test_install_model_copies_card_and_weights_and_keeps_one_default(tiny_model_dir, tmp_path):
    from detector.errors import NoModelError
    from detector.models.store import install_model, list_models

    target = tmp_path / "models"
    card = tiny_model_dir / "untrained_resnet18.json"
    install_model(card, default=True, directory=target)
    assert [c.name for c in list_models(target)] == ["untrained_resnet18"]
    # a second model made default takes the flag from the first
    data = json.loads(card.read_text())
    data["name"], data["default"] = "other", False
    other = tmp_path / "run" / "other.json"
    other.parent.mkdir()
    other.write_text(json.dumps(data))
    (other.parent / data["weights"]).write_bytes((tiny_model_dir / data["weights"]).read_bytes())
    install_model(other, default=True, directory=target)
    cards = {c.name: c.default for c in list_models(target)}
    assert cards == {"other": True, "untrained_resnet18": False}
    # a run's model folder, holding one card, stands for it (an audit: refused as "not a regular file")
    data["name"] = "third"
    (other.parent / "other.json").unlink()
    (other.parent / "third.json").write_text(json.dumps(data))
    assert install_model(other.parent, directory=target) == target / "third.json"
    with pytest.raises(NoModelError, match="holds no model card"):
        install_model(tmp_path, directory=target / "x")  # a folder holding none: said so


def test_install_model_refuses_a_card_without_weights(tmp_path, tiny_model_dir):
    from detector.errors import NoModelError
    from detector.models.store import install_model

    lone = tmp_path / "lone.json"
    lone.write_text((tiny_model_dir / "untrained_resnet18.json").read_text())
    with pytest.raises(NoModelError):
        install_model(lone, directory=tmp_path / "models")


@needs_models
def test_compare_ticks_the_default_and_the_calibrated_models_only():
    """The compare tab's first ticks: a real clip is not shown "models disagree" because of the two early baselines
    with a fixed 0.5 threshold (they call many real faces fake) or the peers; those stay one tick away."""
    from webapp.compare_tab import compared_by_default, is_peer

    cards = list_models()
    ticked = {c.name for c in cards if compared_by_default(c)}
    assert next(c.name for c in cards if c.default) in ticked
    for c in cards:
        if c.members:  # the ensembles: calibrated out of fold on real people, ticked
            assert c.name in ticked and c.calibrated, c.name
        if is_peer(c) or (c.threshold == 0.5 and not c.calibrated):  # a fixed threshold: one tick away
            assert c.name not in ticked, c.name
    assert {"efficientnet_lite0", "resnet18"}.isdisjoint(ticked) and len(ticked) >= 2


@pytest.mark.skipif(not (MODELS_DIR / "mnv2_colour.json").is_file(), reason="mnv2_colour is not installed")
def test_analyze_hears_the_installed_colour_model_on_a_tinted_face_called_fake(tiny_model, tmp_path):
    """Through analyze, as the command line, the app and evaluate call it: a model that never trained with colour
    casts calls a sepia photo fake (a threshold near 0) with its tint warned (a narrow hue range on its card); the
    report carries mnv2_colour's verdict on the same face, in its JSON too, says it, and is fake only if that one
    says fake as well."""
    import dataclasses

    import cv2
    from skimage import data

    from detector import analyze
    from detector.inference.report import with_second_opinion
    from detector.models.classifier import Classifier

    sepia = np.clip(data.astronaut().astype(float) @ np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168],
                                                               [0.272, 0.534, 0.131]]).T, 0, 255)  # fmt: skip
    photo = tmp_path / "sepia.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(sepia.astype(np.uint8), cv2.COLOR_RGB2BGR))
    card = dataclasses.replace(tiny_model.card, threshold=0.001, ranges={"hue": [-30.0, 40.0]})
    report = analyze(str(photo), model=Classifier(card, tiny_model.net))
    second = report.second_opinion
    assert second is not None and second["model"] == "mnv2_colour" and 0 <= second["score"] <= 1
    assert report.label == with_second_opinion("fake", second)
    assert any(w.startswith("A second opinion:") and "mnv2_colour" in w for w in report.warnings)
    assert json.loads(report.to_json())["second_opinion"] == second and "second_opinion" in report.timings
    assert analyze(str(photo), model=Classifier(card, tiny_model.net), second_opinion=False).second_opinion is None
