"""MesoNet: the two architectures, and the authors' Keras weights converted by ``deepfake-lens import-mesonet``.

The conversion is checked against a small NumPy re-implementation of the Keras forward pass that reads the .h5
arrays as they are (channels-last activations, HWIO kernels, (in, out) dense kernels, Keras' flatten order), layer
block by layer block, on random inputs.  TensorFlow is not needed (nor installed).  Converted models are written to
a temporary folder, never into assets/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.models import registry

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers" / "mesonet"
FILES = ["Meso4_DF.h5", "Meso4_F2F.h5", "MesoInception_DF.h5", "MesoInception_F2F.h5"]

try:
    import h5py  # noqa: F401

    HAVE_H5PY = True
except ImportError:
    HAVE_H5PY = False

_WEIGHT_MARKS = [
    pytest.mark.data,
    pytest.mark.skipif(not PEERS.is_dir(), reason=f"the MesoNet authors' weights are not at {PEERS}"),
    pytest.mark.skipif(not HAVE_H5PY, reason="h5py is not installed (pip install 'deepfake-lens[train]')"),
]


def needs_weights(test):
    """Marks ``data`` and skips, with the reason, where ../shared/peers/mesonet or h5py is missing."""
    for mark in _WEIGHT_MARKS:
        test = mark(test)
    return test


# ---------------------------------------------------------------- the architectures


@pytest.mark.parametrize("name,params", [("meso4", 27977), ("mesoinception4", 28615)])
def test_mesonet_builds_and_gives_two_logits_at_256px(name, params):
    arch = registry.get(name)
    assert arch.default_size == 256 and arch.offline_imagenet is None
    net = registry.build(name, num_classes=2).eval()
    assert (
        sum(p.numel() for p in net.parameters()) == params
    )  # the paper's counts (Meso-4 27,977; MesoInception-4 28,615)
    with torch.no_grad():
        logits = net(torch.rand(3, 3, 256, 256))
    assert logits.shape == (3, 2)
    assert torch.allclose(logits[:, 0], -logits[:, 1])  # [-z/2, z/2]: softmax gives sigmoid(z) for the 2nd class
    body, head = arch.param_groups(net)
    assert head == list(net.fc2.parameters()) and len(body) + len(head) == len(list(net.parameters()))
    stem, stages = arch.stages(net)
    assert stem == [] and len(stages) == 4 and arch.cam_layer(net) is stages[-1]
    with pytest.raises(ValueError, match="no 'imagenet' weights"):
        registry.build(name, pretrained="imagenet")


# ---------------------------------------------------------------- a NumPy Keras forward pass, straight from the .h5


def _h5_layers(path: Path) -> dict[str, dict[str, np.ndarray]]:
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        for raw in g.attrs["layer_names"]:
            name = raw.decode()
            out[name] = {
                w.decode().rsplit("/", 1)[-1].split(":")[0]: np.asarray(g[name][w.decode()], dtype=np.float64)
                for w in g[name].attrs.get("weight_names", [])
            }
    return out


def _by_creation(layers, kind):
    names = [n for n in layers if n.startswith(kind + "_") and layers[n]]
    return [layers[n] for n in sorted(names, key=lambda n: int(n.rsplit("_", 1)[1]))]


def _conv_same(x, w, b, dilation=1, relu=True):
    """Keras Conv2D(padding='same', stride 1) on NHWC ``x`` with an HWIO kernel."""
    kh, kw = w.shape[:2]
    ph, pw = dilation * (kh - 1), dilation * (kw - 1)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    n, h, wd, _ = x.shape
    y = np.zeros((n, h, wd, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dilation : i * dilation + h, j * dilation : j * dilation + wd, :]
            y += patch @ w[i, j]
    y += b
    return np.maximum(y, 0) if relu else y


def _bn(x, p, eps=1e-3):
    return (x - p["moving_mean"]) / np.sqrt(p["moving_variance"] + eps) * p["gamma"] + p["beta"]


def _maxpool(x, k):
    n, h, w, c = x.shape
    assert h % k == 0 and w % k == 0  # 256 px: every pool divides, 'same' adds no padding
    return x.reshape(n, h // k, k, w // k, k, c).max(axis=(2, 4))


def keras_forward(layers, x, inception: bool):
    """The authors' classifiers.py (Meso4 / MesoInception4) in NumPy float64, NHWC.  Returns the output of each
    of the four blocks (NHWC), the first dense layer's output (before LeakyReLU) and the final pre-sigmoid z."""
    convs = iter(_by_creation(layers, "conv2d"))
    bns, dense = _by_creation(layers, "batch_normalization"), _by_creation(layers, "dense")
    blocks = []
    for i, bn in enumerate(bns):
        if inception and i < 2:
            c = [next(convs) for _ in range(7)]  # x1; x2 1x1, 3x3; x3 1x1, 3x3 d2; x4 1x1, 3x3 d3 (creation order)
            x1 = _conv_same(x, c[0]["kernel"], c[0]["bias"])
            x2 = _conv_same(_conv_same(x, c[1]["kernel"], c[1]["bias"]), c[2]["kernel"], c[2]["bias"])
            x3 = _conv_same(_conv_same(x, c[3]["kernel"], c[3]["bias"]), c[4]["kernel"], c[4]["bias"], dilation=2)
            x4 = _conv_same(_conv_same(x, c[5]["kernel"], c[5]["bias"]), c[6]["kernel"], c[6]["bias"], dilation=3)
            y = np.concatenate([x1, x2, x3, x4], axis=-1)
        else:
            c = next(convs)
            y = _conv_same(x, c["kernel"], c["bias"])
        x = _maxpool(_bn(y, bn), 4 if i == 3 else 2)
        blocks.append(x)
    flat = x.reshape(len(x), -1)  # Keras Flatten: channels-last order
    h = flat @ dense[0]["kernel"] + dense[0]["bias"]
    a = np.where(h > 0, h, 0.1 * h)  # LeakyReLU(alpha=0.1); dropout is the identity at inference
    z = a @ dense[1]["kernel"] + dense[1]["bias"]
    return blocks, h, z[:, 0]


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """The four models as ``deepfake-lens import-mesonet`` writes them, in a temporary folder."""
    from detector.cli import main

    out = tmp_path_factory.mktemp("mesonet")
    assert main(["import-mesonet", str(PEERS), "--out", str(out)]) == 0
    return out


@needs_weights
@pytest.mark.parametrize("file", FILES)
def test_converted_weights_match_a_numpy_keras_forward_pass(file, record_property):
    from detector.models.mesonet_import import WEIGHT_FILES, convert, read_keras_weights

    name, arch, _ = WEIGHT_FILES[file]
    net = convert(read_keras_weights(PEERS / file), arch, source=file)
    layers = _h5_layers(PEERS / file)
    x = np.random.default_rng(0).random((2, 256, 256, 3))  # RGB in [0, 1], as the authors feed it
    blocks, hidden, z = keras_forward(layers, x, inception=arch == "mesoinception4")

    feats, outs = torch.from_numpy(x).permute(0, 3, 1, 2).float(), []
    with torch.no_grad():
        for block in net.blocks:
            feats = block(feats)
            outs.append(feats.permute(0, 2, 3, 1).double().numpy())  # back to NHWC for the comparison
        ours_hidden = net.fc1(net.flatten(feats)).double().numpy()
        logits = net(torch.from_numpy(x).permute(0, 3, 1, 2).float()).double().numpy()
    worst = 0.0
    for what, a, b in [
        *((f"block {i + 1}", a, b) for i, (a, b) in enumerate(zip(outs, blocks))),
        ("dense 16", ours_hidden, hidden),
    ]:
        err = np.abs(a - b).max() / max(1.0, np.abs(b).max())  # relative to the layer's largest activation
        worst = max(worst, err)
        assert err < 1e-4, f"{file} {what}: difference {err:.2e} of the largest activation"
    assert np.allclose(logits[:, 1] - logits[:, 0], z, atol=1e-4), f"{file} z: {logits[:, 1] - logits[:, 0]} vs {z}"
    p_real = torch.softmax(torch.from_numpy(logits), dim=1)[:, 1].numpy()
    assert np.allclose(p_real, 1 / (1 + np.exp(-z)), atol=1e-5)  # softmax over [-z/2, z/2] == the Keras sigmoid
    record_property("worst_relative_error", worst)


# ---------------------------------------------------------------- the converted models as the app loads them


def _astronaut_crops() -> list[np.ndarray]:
    from skimage import data

    img = data.astronaut()  # 512 x 512 RGB; Eileen Collins' face is around rows 20-220, columns 140-330
    return [
        img[20:220, 140:340],  # the face, a little margin
        img[0:260, 110:370],  # the face, wider
        img[50:200, 170:320],  # the face, tight
        np.ascontiguousarray(img[20:220, 140:340][:, ::-1]),  # mirrored
    ]


@needs_weights
@pytest.mark.parametrize("name", ["mesonet_df_authors", "mesonet_f2f_authors", "mesoinception_df_authors"])
def test_a_converted_model_loads_and_scores_faces(converted, name):
    from detector.models.card import ModelCard
    from detector.models.classifier import load_model

    card = ModelCard.from_file(converted / f"{name}.json")
    assert card.classes == ["fake", "real"] and card.fake_class == "fake" and card.input_size == 256
    assert tuple(card.mean) == (0.0, 0.0, 0.0) and tuple(card.std) == (1.0, 1.0, 1.0) and card.threshold == 0.5
    assert card.trained["license"] == "Apache-2.0" and "sha256" in card.trained["source"]
    assert "calibrat" in card.trained["calibration"]
    clf = load_model(str(converted / f"{name}.json"))
    crops = _astronaut_crops()
    p = clf.predict(crops)
    assert p.shape == (len(crops),) and np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    # the same probability as the plain network on the same preprocessed batch (BN folding, channels-last: no change)
    from detector.models.card import weights_path
    from detector.models.classifier import _network

    plain = _network(card, weights_path(card, converted)).eval()
    with torch.no_grad():
        expected = torch.softmax(plain(clf.preprocess(crops).contiguous()), dim=1)[:, 0].numpy()
    assert np.allclose(p, expected, atol=1e-5)


@needs_weights
def test_the_importer_writes_four_cards_with_the_license_beside_them(converted):
    names = sorted(p.stem for p in converted.glob("*.json"))
    assert names == sorted(
        ["mesonet_df_authors", "mesonet_f2f_authors", "mesoinception_df_authors", "mesoinception_f2f_authors"]
    )
    assert (converted / "LICENSE-MESONET").read_bytes() == (PEERS / "LICENSE").read_bytes()
    assert (converted / "NOTICE-MESONET").read_bytes() == (PEERS / "NOTICE").read_bytes()
    for n in names:
        card = json.loads((converted / f"{n}.json").read_text())
        assert (converted / card["weights"]).is_file()
        assert card["architecture"] == ("meso4" if n.startswith("mesonet_") else "mesoinception4")
    assert not list(converted.glob("*.h5"))  # nothing reads .h5 at run time: none is copied


@needs_weights
def test_grad_cam_sees_the_fake_logit(converted):
    """Grad-CAM targets the fake logit: with [-z/2, z/2] its gradient is not zero, so the map is not empty."""
    from detector.models.classifier import load_model
    from explain import explain_faces

    clf = load_model(str(converted / "mesonet_df_authors.json"))
    exps = explain_faces(clf, _astronaut_crops()[:2], method="gradcam", faithfulness=False)
    assert len(exps) == 2 and all(np.isfinite(e.cam).all() for e in exps)
    assert any(float(e.cam.max()) > 0 for e in exps)


def test_import_mesonet_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    from detector.cli import main

    assert main(["import-mesonet", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing" in err and len(err.splitlines()) == 1


@needs_weights
def test_import_mesonet_install_puts_the_models_and_the_license_in_the_model_folder(tmp_path, monkeypatch):
    from detector.cli import main
    from detector.models.store import list_models

    installed = tmp_path / "installed"
    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(installed))  # install_model's folder, and the only one looked in
    assert main(["import-mesonet", str(PEERS), "--out", str(tmp_path / "out"), "--install"]) == 0
    names = {c.name for c in list_models()}
    assert {"mesonet_df_authors", "mesoinception_f2f_authors"} <= names and len(names) == 4
    assert not any(c.default for c in list_models())  # importing never changes the default model
    assert (installed / "LICENSE-MESONET").is_file() and (installed / "NOTICE-MESONET").is_file()


# ---------------------------------------------------------------- the converted models shipped in assets/models

SHIPPED = ["mesonet_df_authors", "mesonet_f2f_authors", "mesoinception_df_authors", "mesoinception_f2f_authors"]


def _shipped_dir() -> Path:
    from detector.constants import SHIPPED_MODELS

    return SHIPPED_MODELS


def test_the_shipped_peer_models_carry_the_authors_license_and_are_never_the_default():
    from detector.models.store import list_models

    folder = _shipped_dir()
    cards = {c.name: c for c in list_models(folder)}
    missing = [n for n in SHIPPED if n not in cards]
    if len(missing) == len(SHIPPED):
        pytest.skip(f"no MesoNet peer model shipped in {folder}")
    assert not missing, f"only some peer models are shipped: {missing} missing"
    assert "Apache License" in (folder / "LICENSE-MESONET").read_text()
    assert "Darius Afchar" in (folder / "NOTICE-MESONET").read_text()
    if PEERS.is_dir():  # the authors' own files, byte for byte
        assert (folder / "LICENSE-MESONET").read_bytes() == (PEERS / "LICENSE").read_bytes()
        assert (folder / "NOTICE-MESONET").read_bytes() == (PEERS / "NOTICE").read_bytes()
    for n in SHIPPED:
        card = cards[n]
        assert not card.default, f"{n} must not be the default model"
        assert card.trained["license"] == "Apache-2.0" and card.trained["license_files"] == [
            "LICENSE-MESONET",
            "NOTICE-MESONET",
        ]
        assert "sha256" in card.trained["source"] and "DariusAf/MesoNet" in card.trained["source"]
        assert card.threshold == 0.5 and card.face_margin == 0.2 and card.input_size == 256
        assert (folder / f"{n}.md").is_file() and "Apache-2.0" in (folder / f"{n}.md").read_text()
    assert not list(folder.glob("*.h5")), "the .h5 files are converted once, never shipped"


def test_the_shipped_peer_models_load_and_score_without_h5py(monkeypatch):
    """load_model reads safetensors + JSON only: with h5py made unimportable, every peer model still loads and
    scores the astronaut's face crops."""
    from detector.models.classifier import clear_cache, load_model

    folder = _shipped_dir()
    if not (folder / f"{SHIPPED[0]}.json").is_file():
        pytest.skip(f"no MesoNet peer model shipped in {folder}")
    monkeypatch.setitem(sys.modules, "h5py", None)  # any `import h5py` now raises ImportError
    clear_cache()
    crops = _astronaut_crops()
    try:
        for n in SHIPPED:
            p = load_model(str(folder / f"{n}.json")).predict(crops)
            assert p.shape == (len(crops),) and np.all((p >= 0) & (p <= 1)), n
    finally:
        clear_cache()


def test_a_shipped_peer_model_scores_a_rendered_face_clip(clips):
    from detector.inference.pipeline import analyze

    card = _shipped_dir() / "mesonet_df_authors.json"
    if not card.is_file():
        pytest.skip(f"mesonet_df_authors is not shipped in {card.parent}")
    report = analyze(clips["face"], frames=4, model=str(card))
    scores = [f.score for fr in report.frames for f in fr.faces]
    assert scores and all(0.0 <= s <= 1.0 for s in scores), "the astronaut clip has a face in every frame"
    assert report.model == "mesonet_df_authors" and report.label in ("real", "uncertain", "fake")
