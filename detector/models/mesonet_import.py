"""Convert the MesoNet authors' published Keras weights into model cards: ``deepfake-lens import-mesonet``.

    deepfake-lens import-mesonet ../shared/peers/mesonet --out DIR [--install]

reads ``Meso4_DF.h5``, ``Meso4_F2F.h5``, ``MesoInception_DF.h5`` and ``MesoInception_F2F.h5`` (Keras 2.1.5 weight
files from github.com/DariusAf/MesoNet, Apache-2.0) with ``h5py``, maps them onto :mod:`detector.models.mesonet`
and writes ``mesonet_df_authors``, ``mesonet_f2f_authors``, ``mesoinception_df_authors`` and
``mesoinception_f2f_authors`` (safetensors + JSON card each) into DIR, with the authors' ``LICENSE`` and
``NOTICE`` beside them as ``LICENSE-MESONET`` and ``NOTICE-MESONET`` (Apache-2.0 section 4: they travel with the
weights).  ``--install`` copies the four models and both files into the user's model folder.

The .h5 files are read here only, once each: ``h5py`` is a conversion-time dependency (the ``train`` extra);
nothing reads .h5 at run time.  The mapping:

* conv kernels: Keras HWIO -> PyTorch OIHW; biases as they are;
* BatchNorm: gamma, beta, moving_mean, moving_variance -> weight, bias, running_mean, running_var (the nets use
  Keras' epsilon, 1e-3);
* dense kernels: (in, out) -> (out, in).  Keras flattens the last 8 x 8 x 16 map channels-last (h, w, c), PyTorch
  channels-first (c, h, w): the first dense layer's rows are permuted to match;
* layers of one kind are taken in the order Keras created them (the number in their name), the order of
  ``classifiers.py`` and of the PyTorch modules; every shape is checked.

The authors' output is one sigmoid, the probability that the face is REAL: their Keras data generator
(``flow_from_directory`` in ``example.py``) numbers its class folders alphabetically, ``df`` = 0 and ``real`` = 1,
and a real test image gets ``Real class : [1.]`` with a prediction of 0.998 (DariusAf/MesoNet issue #9).  So the
cards list the classes ``["fake", "real"]``: the net's logits ``[-z/2, z/2]`` give softmax ``sigmoid(z)`` for real.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from detector.models.store import file_sha256

__all__ = ["WEIGHT_FILES", "read_keras_weights", "convert", "import_mesonet", "main"]

# source file -> (model name, architecture, what the paper trained it on)
WEIGHT_FILES = {
    "Meso4_DF.h5": ("mesonet_df_authors", "meso4", "Deepfake"),
    "Meso4_F2F.h5": ("mesonet_f2f_authors", "meso4", "Face2Face"),
    "MesoInception_DF.h5": ("mesoinception_df_authors", "mesoinception4", "Deepfake"),
    "MesoInception_F2F.h5": ("mesoinception_f2f_authors", "mesoinception4", "Face2Face"),
}
LICENSE_FILES = {"LICENSE": "LICENSE-MESONET", "NOTICE": "NOTICE-MESONET"}  # source -> name beside the models

PAPER = (
    "Afchar, Nozick, Yamagishi, Echizen: MesoNet: a Compact Facial Video Forgery Detection Network. "
    "IEEE WIFS 2018, arXiv:1809.00888"
)
CODE = "https://github.com/DariusAf/MesoNet"
COMMIT = "2144d56"  # the authors' commit the weight files come from (../shared/peers/README.md)
DATA = {
    "Deepfake": "the paper's Deepfake set: faces from deepfake and real videos the authors collected online (which "
    "videos is not published; whether any share people or sources with FaceForensics++ is unknown)",
    "Face2Face": "the paper's Face2Face set: faces from the FaceForensics dataset (Roessler et al. 2018), whose "
    "real videos come from YouTube as FaceForensics++'s do: its training faces may overlap the YouTube sources (and "
    "people) of FaceForensics++ videos, ours included",
}
INPUT_SIZE = 256
# The authors' crop (pipeline.py): a square of 2.2 x 1.3 x max(eye distance, eye-to-mouth distance) around the
# nose.  Measured with BlazeFace on FaceForensics++ frames, that square is about 1.2 x the longer side of our
# detector's box: a margin of 0.2 frames a face as they did (centred on the box rather than the nose).
FACE_MARGIN = 0.2


def read_keras_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Every layer's arrays in a Keras HDF5 weight file: ``{layer: {"kernel": ..., "bias": ..., "gamma": ...}}``,
    layers in the file's order.  Reads the file once, with h5py; nothing else."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "converting Keras weights needs h5py: pip install 'deepfake-lens[train]' (or h5py==3.16.0)"
        ) from None
    out: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f  # a whole saved model, or weights only
        if "layer_names" not in g.attrs:
            raise ValueError(f"{Path(path).name}: not a Keras weight file (no layer_names)")
        for raw in g.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            arrays = {}
            for wraw in g[name].attrs.get("weight_names", []):
                wname = wraw.decode() if isinstance(wraw, bytes) else str(wraw)  # e.g. "conv2d_5/kernel:0"
                arrays[wname.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(g[name][wname], dtype=np.float32)
            out[name] = arrays
    return out


def _created(name: str) -> int:
    m = re.search(r"_(\d+)$", name)
    return int(m.group(1)) if m else 0


def _layers(weights: dict, kind: str) -> list[tuple[str, dict]]:
    """The layers of one kind (``conv2d``, ``batch_normalization``, ``dense``) in the order Keras created them."""
    found = [(n, a) for n, a in weights.items() if a and re.fullmatch(rf"{kind}(_\d+)?", n)]
    return sorted(found, key=lambda na: _created(na[0]))


def _copy(param, array: np.ndarray, what: str) -> None:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(array))
    if tuple(t.shape) != tuple(param.shape):
        raise ValueError(f"{what}: Keras shape {tuple(t.shape)} does not fit {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(t)


def convert(weights: dict[str, dict[str, np.ndarray]], architecture: str, source: str = "weights"):
    """A PyTorch :mod:`~detector.models.mesonet` net (eval mode) holding the Keras ``weights``; ValueError when
    they do not fit it."""
    from torch import nn

    from detector.models import registry

    net = registry.build(architecture, num_classes=2, size=INPUT_SIZE).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    k_convs, k_bns, k_dense = (
        _layers(weights, "conv2d"),
        _layers(weights, "batch_normalization"),
        _layers(weights, "dense"),
    )
    counts = (len(k_convs), len(k_bns), len(k_dense))
    if counts != (len(convs), len(bns), 2):
        raise ValueError(
            f"{source}: {counts[0]} conv, {counts[1]} BatchNorm and {counts[2]} dense layers; a {architecture} has "
            f"{len(convs)}, {len(bns)} and 2"
        )
    for conv, (name, a) in zip(convs, k_convs):
        _copy(conv.weight, a["kernel"].transpose(3, 2, 0, 1), f"{source} {name}")  # HWIO -> OIHW
        _copy(conv.bias, a["bias"], f"{source} {name}")
    for bn, (name, a) in zip(bns, k_bns):
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean")):
            _copy(getattr(bn, ours), a[theirs], f"{source} {name}")
        _copy(bn.running_var, a["moving_variance"], f"{source} {name}")
    (n1, d1), (n2, d2) = k_dense
    kernel = d1["kernel"]  # (h * w * c, 16), rows in Keras' channels-last flatten order
    side = INPUT_SIZE // 32
    c = net.fc1.in_features // side**2
    if kernel.shape[0] != side * side * c:
        raise ValueError(
            f"{source} {n1}: {kernel.shape[0]} inputs; a {architecture} at {INPUT_SIZE} px has {c * side**2}"
        )
    kernel = kernel.reshape(side, side, c, -1).transpose(2, 0, 1, 3).reshape(c * side * side, -1)  # -> (c, h, w)
    _copy(net.fc1.weight, kernel.T, f"{source} {n1}")
    _copy(net.fc1.bias, d1["bias"], f"{source} {n1}")
    _copy(net.fc2.weight, d2["kernel"].T, f"{source} {n2}")
    _copy(net.fc2.bias, d2["bias"], f"{source} {n2}")
    return net


def _card(name: str, architecture: str, trained_on: str, src: Path, sha: str):
    from detector.models.card import ModelCard

    return ModelCard(
        name=name,
        architecture=architecture,
        input_size=INPUT_SIZE,
        mean=(0.0, 0.0, 0.0),  # the authors rescale by 1/255 and nothing else
        std=(1.0, 1.0, 1.0),
        classes=["fake", "real"],  # logits [-z/2, z/2]: the authors' sigmoid(z) is P(real)
        fake_class="fake",
        threshold=0.5,
        uncertain=None,
        face_margin=FACE_MARGIN,
        trained={
            "source": f"authors' published weights, converted from {src.name} (sha256 {sha}) of {CODE} at commit "
            f"{COMMIT}",
            "license": "Apache-2.0",
            "license_files": list(LICENSE_FILES.values()),
            "paper": PAPER,
            "code": CODE,
            "data": DATA[trained_on],
            "output": "the Keras net's one sigmoid unit is P(real) (classes df = 0, real = 1, alphabetical); here "
            "logits [-z/2, z/2] for [fake, real]",
            "calibration": "none: threshold 0.5 is the authors' own rule (pipeline.py: p > 0.5), not calibrated "
            "on any data of ours",
            "converted_by": "deepfake-lens import-mesonet (detector/models/mesonet_import.py)",
        },
        notes=(
            f"MesoNet's {'Meso-4' if architecture == 'meso4' else 'MesoInception-4'} with the weights its authors "
            f"published ({CODE}, file {src.name}), trained by them on {trained_on} faces; converted from Keras to "
            "PyTorch without retraining and checked layer by layer against a NumPy forward pass of the .h5 "
            "(tests/test_mesonet.py). Apache-2.0: LICENSE-MESONET and NOTICE-MESONET must ship beside these weights. "
            "Not trained or calibrated by this project: threshold 0.5 is the authors' rule. Figures on our data, "
            "where the card has them (metrics), were measured after conversion with this project's pipeline on data "
            "these weights never trained on (see the model's .md card). Inputs: 256 x 256 RGB in [0, 1] (no "
            "mean/std normalisation); the authors cropped faces with their own aligner, so our crops (face_margin "
            "0.2) only approximate theirs."
        ),
    )


def import_mesonet(source: str | Path, out: str | Path, install: bool = False) -> list[Path]:
    """Convert the four weight files in ``source`` into cards in ``out``; returns the cards' paths (the installed
    ones with ``install``).  FileNotFoundError when a file is missing, ValueError when one does not fit."""
    from detector.models.store import install_model, save_model

    source, out = Path(source), Path(out)
    missing = [f for f in [*WEIGHT_FILES, *LICENSE_FILES] if not (source / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    for src, dst in LICENSE_FILES.items():
        shutil.copyfile(source / src, out / dst)
    cards = []
    for file, (name, architecture, trained_on) in WEIGHT_FILES.items():
        path = source / file
        sha = file_sha256(path)
        net = convert(read_keras_weights(path), architecture, source=file)
        cards.append(save_model(net, _card(name, architecture, trained_on, path, sha), out))
    if install:
        installed = [install_model(c) for c in cards]
        for dst in LICENSE_FILES.values():
            shutil.copyfile(out / dst, installed[0].parent / dst)
        return installed
    return cards


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="deepfake-lens import-mesonet",
        description="Convert the MesoNet authors' Keras weights (.h5, Apache-2.0) into model cards",
    )
    p.add_argument(
        "source",
        metavar="DIR",
        help="folder with Meso4_DF.h5, Meso4_F2F.h5, MesoInception_DF.h5, MesoInception_F2F.h5, LICENSE and NOTICE",
    )
    p.add_argument("--out", required=True, help="folder to write the converted models into")
    p.add_argument("--install", action="store_true", help="also install them into the user's model folder")
    args = p.parse_args(argv)
    from detector.errors import NoModelError

    try:
        for path in import_mesonet(args.source, args.out, install=args.install):
            print(f"{'installed' if args.install else 'wrote'} {path}")
    except (OSError, ValueError, ImportError, NoModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
