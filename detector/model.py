"""Trained models: a safetensors weight file beside a JSON card that describes it.

    assets/models/efficientnet_lite0.safetensors
    assets/models/efficientnet_lite0.json      <- the card

The card says everything needed to use the weights without the training code:
architecture name (see :mod:`detector.architectures`), input size, normalisation,
class order, the decision threshold, and where the model came from (data, split,
metrics, command).  Loading never unpickles anything: safetensors holds tensors
only, and the card is JSON.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import architectures
from .errors import NoModelError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MODELS_DIR = Path(os.environ.get("DEEPFAKE_MODELS_DIR", ASSETS / "models"))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ModelCard:
    name: str
    architecture: str
    input_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    classes: list[str] = field(default_factory=lambda: ["real", "fake"])  # order of the logits
    fake_class: str = "fake"
    threshold: float = 0.5  # video score >= threshold -> "fake"
    uncertain: list[float] | None = None  # [low, threshold): scores labelled "uncertain" (see detector.calibration)
    face_margin: float = 0.3  # crop margin the model was trained with
    weights: str = ""  # file name of the safetensors beside the card
    dtype: str = "float32"  # how the weights are stored
    default: bool = False  # the model scan and the app use when none is named
    trained: dict = field(default_factory=dict)  # data, split, epochs, command, wall time...
    metrics: dict = field(default_factory=dict)  # measured on the validation split
    notes: str = ""

    @property
    def fake_index(self) -> int:
        return self.classes.index(self.fake_class)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "ModelCard":
        with open(path) as f:
            data = json.load(f)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        card = cls(**known)
        card.mean, card.std = tuple(card.mean), tuple(card.std)
        return card


class Classifier:
    """A loaded model: crops in, fake probabilities out."""

    def __init__(self, card: ModelCard, net: torch.nn.Module, path: Path | None = None):
        self.card = card
        # channels-last (NHWC) tensors: 1.4-2x faster convolutions on CPU than NCHW (bench/speed.py)
        # BatchNorm folded into the convs (about a third less forward time; checked, see detector/fold.py)
        from detector.fold import fold_batchnorm

        net, _ = fold_batchnorm(net.eval(), size=card.input_size)
        self.net = net.to(memory_format=torch.channels_last)
        self.path = path
        self._mean = torch.tensor(card.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(card.std, dtype=torch.float32).view(1, 3, 1, 1)

    @property
    def name(self) -> str:
        return self.card.name

    def cam_layer(self) -> torch.nn.Module:
        return architectures.get(self.card.architecture).cam_layer(self.net)

    def preprocess(self, crops: list[np.ndarray]) -> torch.Tensor:
        """RGB uint8 crops of any size -> normalised N x 3 x S x S float tensor."""
        import cv2

        s = self.card.input_size
        batch = np.stack([
            cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA if c.shape[0] > s else cv2.INTER_LINEAR) for c in crops
        ])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
        return ((x - self._mean) / self._std).contiguous(memory_format=torch.channels_last)

    def fake_probability_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits.float(), dim=1)[:, self.card.fake_index]

    @torch.inference_mode()
    def predict(self, crops: list[np.ndarray], batch_size: int = 8) -> np.ndarray:
        """Fake probability for each crop (one batched forward pass per ``batch_size`` crops).

        Small batches are faster on CPU (their activations stay in cache) and need less memory.
        """
        if not crops:
            return np.zeros(0, dtype=np.float32)
        out = []
        for i in range(0, len(crops), batch_size):
            logits = self.net(self.preprocess(crops[i : i + batch_size]))
            out.append(self.fake_probability_from_logits(logits))
        return torch.cat(out).numpy().astype(np.float32)


def save_model(net: torch.nn.Module, card: ModelCard, directory: str | os.PathLike, half: bool = False) -> Path:
    """Write ``<name>.safetensors`` and ``<name>.json`` into ``directory``; returns the card's path."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    card.weights = f"{card.name}.safetensors"
    card.dtype = "float16" if half else "float32"
    save_file(state, str(directory / card.weights), metadata={"architecture": card.architecture})
    path = directory / f"{card.name}.json"
    path.write_text(card.to_json())
    return path


def install_model(card_path: str | os.PathLike, default: bool = False,
                  directory: str | os.PathLike = MODELS_DIR) -> Path:
    """Copy a card and its weights (e.g. ``runs/x/model/<name>.json``) into ``directory``.

    With ``default``, it becomes the only default model.  Returns the installed card's path.
    """
    import shutil

    src = Path(card_path)
    card = ModelCard.from_file(src)  # fails clearly on a file that is not a card
    weights = src.parent / card.weights
    if not card.weights or not weights.exists():
        raise NoModelError(f"{src}: the weights {card.weights!r} are not beside the card")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if default:
        for other in list_models(directory):
            if other.default and other.name != card.name:
                other.default = False
                (directory / f"{other.name}.json").write_text(other.to_json())
    card.default = default or card.default
    if (directory / weights.name).resolve() != weights.resolve():
        shutil.copy2(weights, directory / weights.name)
    (directory / f"{card.name}.json").write_text(card.to_json())
    _CACHE.clear()
    return directory / f"{card.name}.json"


def list_models(directory: str | os.PathLike = MODELS_DIR) -> list[ModelCard]:
    """Cards of the installed models whose weights exist, the default first."""
    directory = Path(directory)
    cards = []
    for p in sorted(directory.glob("*.json")):
        try:
            card = ModelCard.from_file(p)
        except (ValueError, TypeError, KeyError):
            continue
        if card.weights and (directory / card.weights).exists():
            cards.append(card)
    return sorted(cards, key=lambda c: (not c.default, c.name))


def resolve(name_or_path: str | None = None, directory: str | os.PathLike = MODELS_DIR) -> Path:
    """Path of a model card: ``None`` -> the default; a name -> ``assets/models/<name>.json``; or a path."""
    directory = Path(directory)
    if name_or_path:
        p = Path(name_or_path)
        if p.suffix == ".safetensors":
            p = p.with_suffix(".json")
        if p.suffix == ".json" and p.exists():
            return p
        if p.is_dir() and list(p.glob("*.json")):
            cards = list_models(p)
            if cards:
                return p / f"{cards[0].name}.json"
        candidate = directory / f"{name_or_path}.json"
        if candidate.exists():
            return candidate
        known = ", ".join(c.name for c in list_models(directory)) or "none installed"
        raise NoModelError(f"no model {name_or_path!r} (installed: {known})")
    cards = list_models(directory)
    if not cards:
        raise NoModelError(
            f"no trained model is installed in {directory}: train one with "
            "`python -m detector.train` (see README) or pass --model PATH"
        )
    return directory / f"{cards[0].name}.json"


_CACHE: dict[str, Classifier] = {}


def load_model(name_or_path: str | None = None, directory: str | os.PathLike = MODELS_DIR) -> Classifier:
    """Load (once per process) the model a card describes.  No pickle: safetensors + JSON."""
    from safetensors.torch import load_file

    card_path = resolve(name_or_path, directory).resolve()
    key = str(card_path)
    if key not in _CACHE:
        card = ModelCard.from_file(card_path)
        net = architectures.build(card.architecture, num_classes=len(card.classes), size=card.input_size)
        state = load_file(str(card_path.parent / card.weights))
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        net.load_state_dict(state, strict=True)
        _CACHE[key] = Classifier(card, net, card_path)
    return _CACHE[key]
