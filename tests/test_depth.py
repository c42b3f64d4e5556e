"""The RGB + depth model: the FaceMesh landmark depth map of a face crop (detector.inference.depth), the two-stream
sequence head (detector.models.depth), its fastai training (detector.training.depth), and an RGB + depth card in
the pipeline."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from detector.constants import DEPTH_FLOOR, DEPTH_SIZE
from detector.inference.depth import depth_maps, face_depth, raster
from detector.models.depth import RGBDHead, build_depth_head, depth_head_spec, is_depth_spec
from tests.conftest import FFPP, needs_ffpp


@pytest.fixture(scope="module")
def astronaut_face() -> np.ndarray:
    """A square face crop of skimage's astronaut (her face fills about half of it)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[40:210, 140:310])


def test_depth_map_of_a_face_is_nonzero_inside_and_zero_outside(astronaut_face):
    from detector.inference.depth import landmarks

    d = face_depth(astronaut_face)
    assert d.found and d.depth.shape == (DEPTH_SIZE, DEPTH_SIZE) and d.depth.dtype == np.float32
    pts = landmarks(astronaut_face)
    assert pts.shape == (468, 3)
    nose = pts[1]  # FaceMesh's nose tip: the nearest point, the brightest
    r, c = int(nose[1] * DEPTH_SIZE), int(nose[0] * DEPTH_SIZE)
    assert d.depth[r, c] > 0.8
    inside = d.depth > 0
    assert 0.15 < inside.mean() < 0.8  # a face, not the whole crop
    assert d.depth[inside].min() >= DEPTH_FLOOR - 1e-6 and d.depth.max() <= 1.0
    for corner in (d.depth[0, 0], d.depth[0, -1], d.depth[-1, 0], d.depth[-1, -1]):
        assert corner == 0.0  # outside the face
    assert face_depth(astronaut_face, size=32).depth.shape == (32, 32)


def test_a_crop_without_a_face_gives_a_zero_map_and_a_flag():
    blank = np.full((120, 120, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    tiny = np.zeros((4, 4, 3), np.uint8)
    for crop in (blank, noise, tiny):
        d = face_depth(crop)
        assert not d.found and d.depth.shape == (DEPTH_SIZE, DEPTH_SIZE) and not d.depth.any()
    maps, found = depth_maps([blank, tiny])
    assert maps.shape == (2, DEPTH_SIZE, DEPTH_SIZE) and found.tolist() == [False, False]
    maps, found = depth_maps([])
    assert maps.shape == (0, DEPTH_SIZE, DEPTH_SIZE) and found.shape == (0,)


def test_raster_interpolates_z_nearer_brighter():
    # a pyramid: its apex (z smallest: nearest) in the middle, its base corners far
    pts = np.array([[0.25, 0.25, 0.0], [0.75, 0.25, 0.0], [0.25, 0.75, 0.0], [0.75, 0.75, 0.0], [0.5, 0.5, -0.1]])
    m = raster(pts, size=17)  # pixel 8's centre is the apex
    assert m[8, 8] == pytest.approx(1.0, abs=1e-5) and m[4, 4] == pytest.approx(DEPTH_FLOOR, abs=0.1)
    assert m[0, 0] == 0 and m[16, 16] == 0 and m[0, 8] == 0  # outside the hull
    assert m[6, 8] < m[7, 8] < m[8, 8]  # brighter towards the apex
    assert not raster(np.array([[0.1, 0.1, 0.0], [0.5, 0.5, 0.1], [0.9, 0.9, 0.2]]), size=8).any()  # on a line


def _batch(d: int = 16, s: int = 16):
    torch.manual_seed(0)
    x = torch.randn(3, 10, d)
    depth = torch.rand(3, 10, s, s)
    depth[0, 3] = 0  # a frame where FaceMesh found no face
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[1, 6:] = False  # a short track, padded after its 6 steps
    mask[2, :] = False  # a track with no face at all
    return x, depth, mask


def _head(s: int = 16) -> RGBDHead:
    torch.manual_seed(0)
    spec = {"head": "rgbd", "embed_dim": 16, "d_model": 16, "nhead": 2, "layers": 1, "depth": {"size": s}}
    return build_depth_head(spec).eval()


def test_rgbd_head_shapes_weights_and_contributions():
    head = _head()
    x, depth, mask = _batch()
    out = head(x, mask, depth)
    assert out["logit"].shape == (3,)
    for key in ("frame_logits", "weights", "contributions", "depth_attention"):
        assert out[key].shape == (3, 10)
    w = out["weights"].detach()
    assert torch.allclose(w[:2].sum(1), torch.ones(2), atol=1e-6)
    assert torch.all(w[1, 6:] == 0) and torch.all(w[2] == 0)
    assert torch.allclose(out["contributions"].sum(1), out["logit"], atol=1e-6)  # they add up to the clip logit
    assert out["logit"][2].item() == 0.0 and torch.isfinite(out["logit"]).all()
    a = out["depth_attention"].detach()
    assert a[0, 3] == 0 and torch.all(a[1, 6:] == 0) and torch.all(a[2] == 0)  # no depth, no attention on it
    assert torch.all((a >= 0) & (a <= 1 + 1e-6)) and a[0, 0] > 0


def test_rgbd_head_padding_and_depth_matter_as_they_should():
    head = _head()
    x, depth, mask = _batch()
    noisy_x, noisy_d = x.clone(), depth.clone()
    noisy_x[1, 6:], noisy_d[1, 6:] = 100.0, 1.0  # whatever sits in the padding
    with torch.inference_mode():
        a, b = head(x, mask, depth), head(noisy_x, mask, noisy_d)
        alone = head(x[1:2, :6], None, depth[1:2, :6])
        flat = head(x, mask, torch.zeros_like(depth))
        none = head(x, mask, None)
    assert torch.allclose(a["logit"], b["logit"], atol=1e-5)
    assert torch.allclose(a["logit"][1], alone["logit"][0], atol=1e-5)
    assert torch.allclose(a["contributions"][1, :6], alone["contributions"][0], atol=1e-5)
    assert not torch.allclose(a["logit"][:2], flat["logit"][:2])  # the depth stream is read
    assert torch.allclose(flat["logit"], none["logit"], atol=1e-6)  # no depth = zero maps


def test_depth_spec_rebuilds_the_head():
    head = _head()
    spec = depth_head_spec(head)
    assert is_depth_spec(spec) and spec["depth"]["source"] == "facemesh_z" and spec["depth"]["size"] == 16
    again = build_depth_head(json.loads(json.dumps(spec)))
    again.load_state_dict(head.state_dict())
    assert depth_head_spec(again) == spec
    assert not is_depth_spec({"head": "transformer"})
    with pytest.raises(ValueError, match="not an RGB"):
        build_depth_head({"head": "lstm"})


def _tracks(n: int, d: int, s: int, seed: int):
    """Random tracks whose fakes differ from the reals in their depth maps only (a bright patch)."""
    rng = np.random.default_rng(seed)
    tracks, embs, maps, start = [], [], [], 0
    for i in range(n):
        length, label = int(rng.integers(12, 40)), i % 2
        embs.append(rng.normal(size=(length, d)).astype(np.float32))
        m = rng.integers(20, 120, (length, s, s)).astype(np.uint8)
        if label:
            m[:, : s // 2, : s // 2] = 255
        maps.append(m)
        tracks.append({"label": label, "start": start, "length": length, "position": list(range(length))})
        start += length
    return tracks, np.concatenate(embs), np.concatenate(maps)


@pytest.mark.slow  # fastai's import and a short fit: a few seconds
def test_fastai_training_learns_a_depth_signal():
    from sklearn.metrics import roc_auc_score

    from detector.training.depth import DepthConfig, DepthSequenceData, score_rgbd_head, train_rgbd_head

    tracks, emb, depth = _tracks(48, 8, 16, seed=0)
    train, test = tracks[:32], tracks[32:]
    cfg = DepthConfig(frames=64, stride=2, epochs=4, lr=3e-3, d_model=16, nhead=2, layers=1, bs=8, depth_width=4)
    head, fitted = train_rgbd_head(cfg, train, test, emb, depth)
    assert fitted["lr"] == 3e-3 and len(fitted["losses"]) == 4
    scores, on_depth = score_rgbd_head(head, test, emb, depth, cfg.stride, 32)
    assert scores.shape == on_depth.shape == (16,) and np.all((scores >= 0) & (scores <= 1))
    assert roc_auc_score([t["label"] for t in test], scores) > 0.8  # only the depth stream can tell them apart
    x, d, mask, y = DepthSequenceData(train, emb, depth, 2, 32, train=True, window=6, samples=2)[3]
    n = int(mask.sum())
    assert x.shape == (32, 8) and d.shape == (32, 16, 16) and 0 < n <= 20 and y.item() == 1.0
    assert d[:n].max() == 1.0 and not d[n:].any() and not mask[n:].any()


def test_train_depth_is_a_subcommand_and_refuses_a_bad_recipe(tmp_path, capsys):
    from detector.cli import DELEGATED
    from detector.training.depth import DepthConfig, main

    assert DELEGATED["train-depth"][0] == "detector.training.depth"
    cfg = DepthConfig.from_toml("detector/training/recipes/temporal/rgbd.toml")
    assert "rgbd" in cfg.heads and cfg.depth_size == DEPTH_SIZE
    bad = tmp_path / "bad.toml"
    bad.write_text("depth_colour = 3\n")
    assert main(["--recipe", str(bad), "--out", str(tmp_path)]) == 2
    assert "unknown recipe key" in capsys.readouterr().out


@pytest.fixture(scope="module")
def depth_card_dir(tiny_model_dir, tmp_path_factory):
    """The untrained test model with an untrained RGB + depth head: an RGB + depth card, for plumbing tests only."""
    from safetensors.torch import save_file

    from detector.models.card import ModelCard

    d = tmp_path_factory.mktemp("rgbd")
    card = ModelCard.from_file(tiny_model_dir / "untrained_resnet18.json")
    shutil.copyfile(tiny_model_dir / card.weights, d / card.weights)
    torch.manual_seed(0)
    head = RGBDHead(embed_dim=512, d_model=16, layers=1, nhead=2, depth_size=32, depth_width=4)
    save_file({f"member0.{k}": v.contiguous() for k, v in head.state_dict().items()}, str(d / "heads.safetensors"))
    card.name, card.default = "untrained_rgbd", False
    card.temporal = {**depth_head_spec(head), "weights": "heads.safetensors", "threshold": 0.5}
    (d / "untrained_rgbd.json").write_text(card.to_json())
    return d


def test_pipeline_runs_the_depth_stream_of_an_rgbd_card(depth_card_dir, tiny_model, clips):
    from detector.inference.pipeline import analyze
    from detector.models.classifier import TemporalClassifier, load_model

    clf = load_model("untrained_rgbd", directory=depth_card_dir)
    assert isinstance(clf, TemporalClassifier) and clf.depth_size == 32
    report = analyze(clips["face"], frames=6, model=clf)
    plain = analyze(clips["face"], frames=6, model=tiny_model)
    assert report.score == pytest.approx(plain.score, abs=1e-5)  # the frame verdict is the frame model's
    seq = report.sequence
    assert seq["depth"]["source"] == "facemesh_z" and seq["depth"]["faces"] == len(report.faces)
    assert seq["depth"]["found"] > 0  # the astronaut's face has a mesh
    main = seq["tracks"][0]
    n = len(main["frames"])
    assert len(main["weights"]) == len(main["contributions"]) == len(main["depth_attention"]) == n
    assert sum(main["weights"]) == pytest.approx(1.0, abs=1e-4)
    assert all(0 <= a <= 1 for a in main["depth_attention"]) and max(main["depth_attention"]) > 0
    assert "depth" in report.timings and "sequence" in report.timings
    assert json.loads(report.to_json())["sequence"]["depth"]["found"] == seq["depth"]["found"]
    # each face keeps the map its depth stream read (the app shows it beside the crop); the JSON says if found
    assert all(f.depth is not None and f.depth.shape == (32, 32) for f in report.faces)
    assert sum(bool(f.depth.any()) for f in report.faces) == seq["depth"]["found"]
    assert [f["depth_found"] for fr in json.loads(report.to_json())["frames"] for f in fr["faces"]] == [
        bool(f.depth.any()) for f in report.faces
    ]
    assert all(f.depth is None for f in plain.faces) and "depth_found" not in plain.to_json()
    # the same track without depth maps scores differently: the depth is read
    faces = [f for f in report.faces if f.identity == main["identity"]]
    embeddings, _ = clf.embed_members([f.crop for f in faces])
    assert clf.sequence(embeddings)["score"] != pytest.approx(main["score"], abs=1e-6)


def test_rgbd_heads_outside_the_cards_folder_are_refused(depth_card_dir, tmp_path):
    from detector.models.card import BadCardError
    from detector.models.classifier import load_model

    data = json.loads((depth_card_dir / "untrained_rgbd.json").read_text())
    data["name"] = "escaping_rgbd"
    data["temporal"]["weights"] = "../heads.safetensors"
    shutil.copyfile(depth_card_dir / data["weights"], tmp_path / data["weights"])
    (tmp_path / "escaping_rgbd.json").write_text(json.dumps(data))
    with pytest.raises(BadCardError, match="card's folder"):
        load_model("escaping_rgbd", directory=tmp_path)


@needs_ffpp
def test_depth_of_cached_training_crops_of_a_real_video(tmp_path):
    """The trainer's path on one FaceForensics++ video: its cached main-identity crops get a mesh."""
    from detector.data.crops import extract_crops, read_crop

    video = sorted((FFPP / "original_sequences").rglob("*.mp4"))[0]
    crops = extract_crops(str(video), frames=4, cache=tmp_path)
    assert crops.files
    maps, found = depth_maps([read_crop(f) for f in crops.files])
    assert found.all() and (maps > 0).mean() > 0.2
