"""Temporal heads (detector.models.temporal), their fastai training (detector.training.temporal), and a temporal
model card in the pipeline: sequence scores per identity track beside the frame scores."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
import torch

from detector.models.temporal import HEADS, build_head, head_spec


def _batch(d: int = 16):
    torch.manual_seed(0)
    x = torch.randn(3, 10, d)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[1, 6:] = False  # a short track, padded after its 6 steps
    mask[2, :] = False  # a track with no face at all
    return x, mask


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_shapes_weights_and_contributions(name):
    head = build_head({"head": name, "embed_dim": 16, "hidden": 8, "d_model": 16, "nhead": 2}).eval()
    x, mask = _batch()
    out = head(x, mask)
    assert out["logit"].shape == (3,)
    for key in ("frame_logits", "weights", "contributions"):
        assert out[key].shape == (3, 10)
    w = out["weights"].detach()
    assert torch.allclose(w[:2].sum(1), torch.ones(2), atol=1e-6)  # a distribution over the real steps
    assert torch.all(w[1, 6:] == 0) and torch.all(w[2] == 0)  # none on padding, none on an empty track
    assert torch.all(w[:2, :6] > 0)
    assert torch.allclose(out["contributions"].sum(1), out["logit"], atol=1e-6)  # they add up to the clip logit
    assert out["logit"][2].item() == 0.0 and torch.isfinite(out["logit"]).all()


@pytest.mark.parametrize("name", sorted(HEADS))
def test_padding_does_not_change_a_track(name):
    head = build_head({"head": name, "embed_dim": 16, "hidden": 8, "d_model": 16, "nhead": 2}).eval()
    x, mask = _batch()
    noisy = x.clone()
    noisy[1, 6:] = 100.0  # whatever sits in the padding
    with torch.inference_mode():
        a, b = head(x, mask), head(noisy, mask)
        alone = head(x[1:2, :6], None)  # the same track, unpadded
    assert torch.allclose(a["logit"], b["logit"], atol=1e-5)
    assert torch.allclose(a["logit"][1], alone["logit"][0], atol=1e-5)
    assert torch.allclose(a["contributions"][1, :6], alone["contributions"][0], atol=1e-5)


def test_head_spec_rebuilds_the_head_and_unknown_heads_are_refused():
    for name in HEADS:
        head = build_head({"head": name, "embed_dim": 16, "hidden": 8, "d_model": 16, "nhead": 2, "layers": 1})
        again = build_head(head_spec(head))
        again.load_state_dict(head.state_dict())  # same shapes
        assert head_spec(again) == head_spec(head)
    with pytest.raises(ValueError, match="unknown temporal head"):
        build_head({"head": "gru"})


def _tracks(n: int, d: int, seed: int):
    """Random tracks whose fake ones drift upwards over time in one direction: a temporal signal."""
    rng = np.random.default_rng(seed)
    tracks, rows, start = [], [], 0
    for i in range(n):
        length, label = int(rng.integers(12, 40)), i % 2
        e = rng.normal(size=(length, d)).astype(np.float32)
        e[:, 0] += label * np.linspace(0, 3, length)
        rows.append(e)
        tracks.append({"label": label, "start": start, "length": length, "position": list(range(length))})
        start += length
    return tracks, np.concatenate(rows)


@pytest.mark.slow  # fastai's import and two short fits: about 7 s
@pytest.mark.parametrize("name", sorted(HEADS))
def test_fastai_training_learns_a_separable_signal(name):
    from sklearn.metrics import roc_auc_score

    from detector.training.temporal import SequenceData, TemporalConfig, score_head, train_head

    tracks, emb = _tracks(48, 8, seed=0)
    train, test = tracks[:32], tracks[32:]
    cfg = TemporalConfig(frames=64, stride=2, epochs=3, lr=3e-3, hidden=8, d_model=16, nhead=2, layers=1, bs=8)
    head, fitted = train_head(cfg, name, train, test, emb)
    assert fitted["lr"] == 3e-3 and len(fitted["losses"]) == 3
    scores = score_head(head, test, emb, cfg.stride, 32)
    assert scores.shape == (16,) and np.all((scores >= 0) & (scores <= 1))
    assert roc_auc_score([t["label"] for t in test], scores) > 0.8
    # training views: random phase and window, padded to the scoring length, labelled
    x, mask, y = SequenceData(train, emb, 2, 32, train=True, window=6, samples=2)[3]
    assert x.shape == (32, 8) and mask.dtype == torch.bool and 0 < int(mask.sum()) <= 20 and y.item() == 1.0
    assert not mask[int(mask.sum()) :].any()


@pytest.fixture(scope="module")
def temporal_dir(tiny_model_dir, tmp_path_factory):
    """The untrained test model with an untrained LSTM head: a temporal card, for plumbing tests only."""
    from safetensors.torch import save_file

    from detector.models.card import ModelCard

    d = tmp_path_factory.mktemp("temporal")
    card = ModelCard.from_file(tiny_model_dir / "untrained_resnet18.json")
    shutil.copyfile(tiny_model_dir / card.weights, d / card.weights)
    torch.manual_seed(0)
    head = build_head({"head": "lstm", "embed_dim": 512, "hidden": 8})
    save_file({f"member0.{k}": v.contiguous() for k, v in head.state_dict().items()}, str(d / "heads.safetensors"))
    card.name, card.default = "untrained_temporal", False
    card.temporal = {**head_spec(head), "weights": "heads.safetensors", "threshold": 0.5}
    (d / "untrained_temporal.json").write_text(card.to_json())
    return d


def test_a_temporal_card_loads_with_its_heads(temporal_dir, tiny_model):
    from detector.models.classifier import TemporalClassifier, load_model

    clf = load_model("untrained_temporal", directory=temporal_dir)
    assert isinstance(clf, TemporalClassifier) and len(clf.heads) == len(clf.members) == 1
    crops = [np.random.default_rng(i).integers(0, 255, (80, 80, 3), dtype=np.uint8) for i in range(5)]
    embeddings, probs = clf.embed_members(crops)
    assert embeddings[0].shape == (5, 512)
    np.testing.assert_allclose(probs, tiny_model.predict(crops), atol=1e-5)  # the same frame scores as before
    out = clf.sequence(embeddings)
    assert 0 <= out["score"] <= 1 and out["weights"].shape == (5,)
    assert out["score"] == pytest.approx(1 / (1 + np.exp(-out["contributions"].sum())), abs=1e-5)


def test_temporal_weights_outside_the_cards_folder_are_refused(temporal_dir, tmp_path):
    from detector.models.card import BadCardError
    from detector.models.classifier import load_model

    data = json.loads((temporal_dir / "untrained_temporal.json").read_text())
    data["name"] = "escaping"
    data["temporal"]["weights"] = "../heads.safetensors"
    shutil.copyfile(temporal_dir / data["weights"], tmp_path / data["weights"])
    (tmp_path / "escaping.json").write_text(json.dumps(data))
    with pytest.raises(BadCardError, match="card's folder"):
        load_model("escaping", directory=tmp_path)


def test_pipeline_reports_sequence_and_frame_scores(temporal_dir, tiny_model, clips):
    from detector.inference.pipeline import analyze
    from detector.inference.report import csv_text
    from detector.models.classifier import load_model

    clf = load_model("untrained_temporal", directory=temporal_dir)
    report = analyze(clips["face"], frames=6, model=clf)
    plain = analyze(clips["face"], frames=6, model=tiny_model)
    assert report.score == pytest.approx(plain.score, abs=1e-5)  # the frame verdict is the frame model's
    seq = report.sequence
    assert seq is not None and seq["tracks"] and seq["threshold"] == 0.5
    main = seq["tracks"][0]
    faces = [f for f in report.faces if f.identity == main["identity"]]
    assert len(main["frames"]) == len(main["weights"]) == len(main["contributions"]) == len(faces)
    assert sum(main["weights"]) == pytest.approx(1.0, abs=1e-4)
    assert main["frame_score"] == pytest.approx(report.identities[0].score, abs=1e-5)
    assert seq["score"] == max(t["score"] for t in seq["tracks"])
    assert seq["label"] in ("fake", "real")
    assert "sequence" in report.timings
    data = json.loads(report.to_json())
    assert data["sequence"]["tracks"][0]["identity"] == main["identity"]
    assert "sequence" not in plain.to_dict()  # a frame model's report is unchanged
    rows = list(csv.DictReader(io.StringIO(csv_text([report]))))
    with_face = [r for r in rows if r["face_found"] == "1" and r["identity"] == str(main["identity"])]
    assert with_face and all(float(r["sequence_score"]) == main["score"] for r in with_face)
    assert [float(r["contribution"]) for r in with_face] == main["contributions"]


def test_compare_pools_out_of_fold_scores_and_keeps_extra_reals_apart():
    from sklearn.metrics import roc_auc_score

    from detector.training.temporal import compare, render

    rng = np.random.default_rng(0)
    videos = []
    for i in range(60):
        label, source = i % 2, "ffpp" if i < 40 else "ffpp_c40"
        base = float(np.clip(0.3 + 0.3 * label + rng.normal(0, 0.2), 0, 1))
        videos.append(
            {
                "video": f"v{i}",
                "label": label,
                "method": "Deepfakes" if label else "original",
                "source": source,
                "kind": "video",
                "subgroup": "",
                "fold": i % 3,
                "backbone_mean": base,
                "lstm": float(np.clip(base + rng.normal(0, 0.1), 0, 1)),
            }
        )
    videos += [
        {**videos[0], "video": f"w{i}", "label": 0, "source": "wild_real", "fold": -1, "backbone_mean": s, "lstm": s}
        for i, s in enumerate([0.1, 0.99])
    ]
    result = compare(videos, ["backbone_mean", "lstm"], target=0.05)
    oof = [v for v in videos if v["fold"] >= 0]
    for key in ("backbone_mean", "lstm"):
        row = result[key]
        assert row["auc"]["auc"] == pytest.approx(roc_auc_score([v["label"] for v in oof], [v[key] for v in oof]))
        assert set(row["by_source"]) == {"ffpp", "ffpp_c40"}  # wild_real holds one class: false alarms only
        assert row["cross_fitted_false_alarms"][-1]["reals"] == 30  # the out-of-fold reals, not the extra ones
        assert row["extra_false_alarms"][0]["name"] == "wild_real" and row["extra_false_alarms"][0]["reals"] == 2
        assert row["extra_false_alarms"][0]["false_alarms"] == int(0.99 >= row["threshold"]) + int(
            0.1 >= row["threshold"]
        )
    low, high = result["lstm"]["auc_minus_backbone"]["all"]
    assert low <= result["lstm"]["auc"]["auc"] - result["backbone_mean"]["auc"]["auc"] <= high
    assert "backbone_mean" not in result["backbone_mean"].get("auc_minus_backbone", {})
    text = render(
        {
            "videos_scored": 60,
            "frames": 64,
            "stride": 2,
            "steps": 32,
            "folds": 3,
            "compare": result,
            "fit_seconds": {"lstm": 12.0},
            "embed_seconds": 100.0,
        }
    )
    assert "LSTM head" in text and "minus backbone" in text


@pytest.mark.slow  # two lr_find + fit runs: about 5 s
def test_training_is_reproducible_whatever_the_global_random_state():
    import random

    from detector.training.temporal import TemporalConfig, score_head, train_head

    tracks, emb = _tracks(24, 8, seed=1)
    cfg = TemporalConfig(epochs=1, hidden=8, bs=8)
    runs = []
    for _ in range(2):
        random.random()
        np.random.rand()
        torch.rand(1)  # whatever ran before: the recipe's seed decides lr_find, the shuffle and the views
        head, fitted = train_head(cfg, "lstm", tracks[:16], tracks[16:], emb)
        runs.append((fitted["lr"], score_head(head, tracks[16:], emb, 2, 32)))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_export_writes_a_card_that_loads_as_a_temporal_model(tiny_model_dir, tmp_path):
    from detector.models.card import ModelCard
    from detector.models.classifier import TemporalClassifier, load_model
    from detector.training.temporal import TemporalConfig, export

    cfg = TemporalConfig(backbone=str(tiny_model_dir / "untrained_resnet18.json"), folds=1, hidden=8)
    torch.manual_seed(1)
    head = build_head({"head": "lstm", "embed_dim": 512, "hidden": 8}).eval()
    row = {"threshold": 0.7, "auc": {"auc": 0.6}, "by_source": {"ffpp": {"auc": 0.6}}}
    result = {"compare": {"lstm": row, "backbone_mean": {"auc": {"auc": 0.65}}}}
    folder = export(cfg, tmp_path, "tiny_temporal", "lstm", {("lstm", 0): head}, result)
    card = ModelCard.from_file(folder / "tiny_temporal.json")
    assert card.temporal["head"] == "lstm" and card.temporal["threshold"] == 0.7 and not card.default
    assert card.metrics["sequence_video_auc"] == 0.6 and card.metrics["backbone_video_auc"] == 0.65
    clf = load_model(str(folder / "tiny_temporal.json"))
    assert isinstance(clf, TemporalClassifier)
    x = torch.randn(1, 7, 512)
    with torch.inference_mode():
        assert torch.allclose(clf.heads[0](x)["logit"], head(x)["logit"])  # the very head that was trained


def test_an_embedding_cache_is_read_only_with_the_recipes_faces_and_folds(tmp_path, monkeypatch):
    from detector.training import temporal
    from detector.training.temporal import TemporalConfig, embedding_key, embeddings_cached

    cfg = TemporalConfig(data=["d"], folds=2)
    folds = {"a.mp4": 0, "b.mp4": 1}
    monkeypatch.setattr(temporal, "fold_items", lambda c: ([], dict(folds)))
    tracks = [{"video": v, "fold": k} for v, k in folds.items()]

    def cache(key):
        (tmp_path / "tracks.json").write_text(json.dumps({"key": key, "tracks": tracks}))
        return embeddings_cached(cfg, tmp_path)

    assert not embeddings_cached(cfg, tmp_path)  # nothing there
    assert cache(embedding_key(cfg))
    assert not cache({**embedding_key(cfg), "frames": 32})  # other faces
    assert not cache({**embedding_key(cfg), "split": [[], 2, 1]})  # other folds
    assert not cache({**embedding_key(cfg), "backbone_weights": "0" * 16})  # other weights under the same name
    assert not cache({k: v for k, v in embedding_key(cfg).items() if k != "split"})  # a key without the split
    # the recipe's data as split_data, or none (the folds of data): the same folds, the same key
    assert embedding_key(TemporalConfig(data=["d"], split_data=["d"], folds=2)) == embedding_key(cfg)

    # embed_items reads nothing and loads no model when the cache is there
    def no_model(*a, **k):
        raise AssertionError("the backbone was loaded")

    import detector.models.classifier as classifier

    monkeypatch.setattr(classifier, "load_model", no_model)
    cache(embedding_key(cfg))
    temporal.embed_items(cfg, tmp_path)
    with pytest.raises(AssertionError, match="backbone was loaded"):
        temporal.embed_items(TemporalConfig(data=["d"], folds=2, frames=8), tmp_path)


def test_backbone_digest_follows_the_weights_not_the_name(tiny_model_dir, tmp_path):
    """A retrained model installed under the same name must not reuse the old model's embedding cache."""
    import shutil

    from detector.training.temporal import backbone_digest

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    card = next(d.glob("*.json"))
    first = backbone_digest(str(card))
    assert first and first == backbone_digest(str(card))
    weights = next(d.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # other weights, same name and card
    weights.write_bytes(bytes(data))
    assert backbone_digest(str(card)) not in (None, first)
    assert backbone_digest(str(tmp_path / "missing.json")) is None
