"""Shared fixtures: clips rendered from skimage's astronaut, bad files, and a small untrained model.

The untrained model exists only so the plumbing can be tested without the shipped
weights; it lives in a temporary folder and is never written into assets/.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
if "GRADIO_TEMP_DIR" not in os.environ:  # gradio's copies of the tests' uploads and outputs go with the run
    _tmp = tempfile.mkdtemp(prefix="deepfake_tests_")
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(_tmp, "gradio")  # ".../gradio/": what the privacy checks look for
    atexit.register(shutil.rmtree, _tmp, ignore_errors=True)

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


def _face_patch(frame: np.ndarray, i: int) -> np.ndarray:
    """A 'manipulation': the inner half of each detected face brightened (everything else untouched)."""
    from detector.inference.pipeline import face_detector

    out = frame.copy()
    for f in face_detector().detect(frame):
        x, y, w, h = f.box
        x0, y0 = x + w // 4, y + h // 4
        out[y0 : y0 + h // 2, x0 : x0 + w // 2] = np.clip(
            out[y0 : y0 + h // 2, x0 : x0 + w // 2].astype(int) + 70, 0, 255
        ).astype(np.uint8)
    return out


@pytest.fixture(scope="session")
def ffpp_tiny(tmp_path_factory) -> Path:
    """FaceForensics++'s layout, two pair groups: reals 001, 002, 003, 004 and fakes 001_002, 003_004 made from
    their targets 001, 003 by brightening the faces (Deepfakes), and a Face2Face 001_002 made the same way from a
    narrower cut of 001."""
    from detector.data.synthetic import _frame, astronaut, render_clip

    root = tmp_path_factory.mktemp("ffpp")
    real = root / "original_sequences" / "youtube" / "c23" / "videos"
    fake = root / "manipulated_sequences" / "Deepfakes" / "c23" / "videos"
    real.mkdir(parents=True)
    fake.mkdir(parents=True)
    small = dict(seconds=1, fps=8, size=(320, 240))
    looks = {"001": lambda f: f, "002": lambda f: np.ascontiguousarray(f[:, ::-1]), "003": lambda f: f // 2 + 50}
    looks["004"] = lambda f: np.ascontiguousarray((f // 2 + 50)[:, ::-1])
    for stem, look in looks.items():
        render_clip(str(real / f"{stem}.mp4"), transform=lambda f, i, look=look: look(f), **small)
    for target, source in (("001", "002"), ("003", "004")):
        look = looks[target]
        render_clip(
            str(fake / f"{target}_{source}.mp4"), transform=lambda f, i, look=look: _face_patch(look(f), i), **small
        )
    # Face2Face's way: made from a copy of the target cut to a narrower width (here 8 pixels off each side)
    f2f = root / "manipulated_sequences" / "Face2Face" / "c23" / "videos"
    f2f.mkdir(parents=True)
    render_clip(
        str(f2f / "001_002.mp4"),
        transform=lambda f, i: _face_patch(np.ascontiguousarray(_frame(astronaut(), i / 7, 320, 240)[:, 8:312]), i),
        **{**small, "size": (304, 240)},
    )
    return root
