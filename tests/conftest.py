"""Shared fixtures: clips rendered from skimage's astronaut, bad files, and a small untrained model.

The untrained model exists only so the plumbing can be tested without the shipped
weights; it lives in a temporary folder and is never written into assets/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FFPP = SHARED_DATA / "ffpp"
needs_ffpp = pytest.mark.skipif(not FFPP.is_dir(), reason=f"FaceForensics++ sample not found at {FFPP}")


def load_script(path: str, name: str):
    """A script of the repository that is not part of the package (``scripts/``, ``bench/``), imported as the module
    ``name`` (registered in ``sys.modules``, so its dataclasses and pickles resolve)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, str]:
    """Small H.264 clips: 'face' (astronaut, 2 s, 640x480), 'plain' (no face), 'rotated' (tagged 90 deg)."""
    from detector.data.synthetic import render_clip

    d = tmp_path_factory.mktemp("clips")
    return {
        "face": render_clip(str(d / "face.mp4"), seconds=2, fps=25, size=(640, 480)),
        "plain": render_clip(str(d / "plain.mp4"), seconds=1, fps=25, size=(320, 240), source="plain"),
        "rotated": render_clip(str(d / "rotated.mp4"), seconds=1, fps=25, size=(640, 480), rotate=90),
    }


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """An UNTRAINED resnet18 at 64 px saved as a model card + safetensors, for plumbing tests only."""
    import torch

    from detector.models import registry as architectures
    from detector.models.card import ModelCard
    from detector.models.store import save_model

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("models")
    net = architectures.build("resnet18", num_classes=2)
    card = ModelCard(
        name="untrained_resnet18",
        architecture="resnet18",
        input_size=64,
        default=True,
        notes="random weights, for tests only",
    )
    save_model(net, card, d)
    return d


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from detector.models.classifier import load_model

    return load_model("untrained_resnet18", directory=tiny_model_dir)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A training set of six rendered clips, real/{a,b,c}.mp4 and fake/Deepfakes/{a,b,c}.mp4: three groups (a
    real and its fake share a stem), for tests of detector.training.run and detector.evaluation.crossval."""
    import numpy as np

    from detector.data.synthetic import render_clip

    root = tmp_path_factory.mktemp("trainset")
    (root / "real").mkdir()
    (root / "fake" / "Deepfakes").mkdir(parents=True)
    small = dict(seconds=1, fps=8, size=(320, 240))
    looks = {
        "a": lambda f, i: f,
        "b": lambda f, i: np.ascontiguousarray(f[:, ::-1]),
        "c": lambda f, i: (f * 0.9).astype(np.uint8),
    }
    for stem, look in looks.items():
        render_clip(str(root / "real" / f"{stem}.mp4"), transform=look, **small)
        render_clip(
            str(root / "fake" / "Deepfakes" / f"{stem}.mp4"),
            transform=lambda f, i, look=look: (look(f, i) // 2 + 60).astype(np.uint8),
            **small,
        )
    return root
