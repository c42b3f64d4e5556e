"""A loaded model: crops in, fake probabilities out.  :func:`load_model` reads a card and its weights (once per
process); a card with ``members`` loads as an :class:`Ensemble`, whose probability is the members' mean; a card
with ``temporal`` as a :class:`TemporalClassifier` (the same frame scores, plus a sequence score per track)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from detector.errors import NoModelError
from detector.models import registry
from detector.models.card import BadCardError, ModelCard, weights_path

__all__ = ["Classifier", "Ensemble", "TemporalClassifier", "load_model", "clear_cache"]


class Classifier:
    """One network and its card: crops in, fake probabilities out."""

    def __init__(self, card: ModelCard, net: torch.nn.Module, path: Path | None = None):
        self.card = card
        # channels-last (NHWC) tensors: 1.4-2x faster convolutions on CPU than NCHW (bench/speed.py)
        # BatchNorm folded into the convs (about a third less forward time; checked, see detector/models/bnfold.py)
        from detector.models.bnfold import fold_batchnorm

        net, _ = fold_batchnorm(net.eval(), size=card.input_size)
        self.net = net.to(memory_format=torch.channels_last)
        self.path = path
        self._mean = torch.tensor(card.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(card.std, dtype=torch.float32).view(1, 3, 1, 1)

    @property
    def name(self) -> str:
        return self.card.name

    members: list[Classifier] = []  # a single model has none

    def cam_layer(self) -> torch.nn.Module:
        return registry.get(self.card.architecture).cam_layer(self.net)

    def preprocess(self, crops: list[np.ndarray]) -> torch.Tensor:
        """RGB uint8 crops of any size -> normalised N x 3 x S x S float tensor."""
        import cv2

        s = self.card.input_size
        batch = np.stack(
            [cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA if c.shape[0] > s else cv2.INTER_LINEAR) for c in crops]
        )
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

    @torch.inference_mode()
    def embed(self, crops: list[np.ndarray], batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """(N x D pooled features before the classifier layer, N fake probabilities) of each crop, from one forward
        pass: the frame embeddings a temporal head (:mod:`detector.models.temporal`) reads, with the frame scores."""
        if not crops:
            return np.zeros((0, self.net.num_features), np.float32), np.zeros(0, dtype=np.float32)
        feats, probs = [], []
        for i in range(0, len(crops), batch_size):
            f = self.net.forward_head(
                self.net.forward_features(self.preprocess(crops[i : i + batch_size])), pre_logits=True
            )
            feats.append(f.float())
            probs.append(self.fake_probability_from_logits(registry.logits_from_pooled(self.net, f)))
        return torch.cat(feats).numpy().astype(np.float32), torch.cat(probs).numpy().astype(np.float32)


class Ensemble(Classifier):
    """Several networks of one architecture and input size as one model: the fake probability of a crop is the
    mean of the members' (e.g. the K fold models of a cross-validated recipe).  ``explain.explain_faces`` averages
    the members' CAMs.  Each member is a :class:`Classifier` sharing the ensemble's card."""

    def __init__(self, card: ModelCard, members: list[Classifier], path: Path | None = None):
        self.card, self.path, self.members = card, path, members
        self.net = members[0].net  # for code that only needs a network of the ensemble's architecture
        self._mean, self._std = members[0]._mean, members[0]._std

    @torch.inference_mode()
    def predict(self, crops: list[np.ndarray], batch_size: int = 8) -> np.ndarray:
        if not crops:
            return np.zeros(0, dtype=np.float32)
        out = []
        for i in range(0, len(crops), batch_size):
            x = self.preprocess(crops[i : i + batch_size])  # once for all members: same card, same input
            probs = [m.fake_probability_from_logits(m.net(x)) for m in self.members]
            out.append(torch.stack(probs).mean(0))
        return torch.cat(out).numpy().astype(np.float32)


class TemporalClassifier(Ensemble):
    """A frame model (one network, or an ensemble's members) with a sequence head per member
    (:mod:`detector.models.temporal`, from the card's ``temporal`` block): frames score as before, and
    :meth:`sequence` scores one identity track from its members' frame embeddings.  Head k reads member k's
    embeddings; the sequence probability is the mean over the (member, head) pairs."""

    def __init__(
        self, card: ModelCard, members: list[Classifier], heads: list[torch.nn.Module], path: Path | None = None
    ):
        super().__init__(card, members, path)
        self.heads = [h.eval() for h in heads]

    @torch.inference_mode()
    def embed_members(self, crops: list[np.ndarray], batch_size: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
        """(each member's N x D embeddings, N fake probabilities: the members' mean, as :meth:`predict` gives)."""
        out = [m.embed(crops, batch_size) for m in self.members]
        probs = np.mean([p for _, p in out], axis=0).astype(np.float32) if crops else np.zeros(0, np.float32)
        return [e for e, _ in out], probs

    @property
    def depth_size(self) -> int | None:
        """The side of the depth maps its heads read (an RGB + depth model, :mod:`detector.models.depth`), else
        None."""
        from detector.models.depth import is_depth_spec

        return int(self.heads[0].depth_size) if is_depth_spec(self.card.temporal) else None

    @torch.inference_mode()
    def sequence(self, embeddings: list[np.ndarray], depth: np.ndarray | None = None) -> dict:
        """One track (each member's T x D embeddings, in time order) -> {score: clip fake probability, weights: T
        pooling weights (sum 1), contributions: T shares of the clip logit}, averaged over the (member, head)
        pairs.  An RGB + depth model also reads ``depth`` (T x S x S maps, :mod:`detector.inference.depth`) and
        adds ``depth_attention`` (T shares of each step's attention on its depth tokens)."""
        scores, weights, contributions, on_depth = [], [], [], []
        for head, emb in zip(self.heads, embeddings):
            x = torch.from_numpy(np.asarray(emb, np.float32)).unsqueeze(0)
            if self.depth_size is not None:
                d = None if depth is None else torch.from_numpy(np.asarray(depth, np.float32)).unsqueeze(0)
                out = head(x, None, d)
                on_depth.append(out["depth_attention"][0].numpy())
            else:
                out = head(x)
            scores.append(float(torch.sigmoid(out["logit"])[0]))
            weights.append(out["weights"][0].numpy())
            contributions.append(out["contributions"][0].numpy())
        return {
            "score": float(np.mean(scores)),
            "weights": np.mean(weights, axis=0),
            "contributions": np.mean(contributions, axis=0),
            **({"depth_attention": np.mean(on_depth, axis=0)} if on_depth else {}),
        }


def _heads(card: ModelCard, folder: Path, n: int) -> list[torch.nn.Module]:
    """The card's ``n`` sequence heads (``member{k}.*`` in its ``temporal.weights`` file; a lone model: ``member0``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from detector.models.depth import build_depth_head, is_depth_spec
    from detector.models.temporal import build_head

    build = build_depth_head if is_depth_spec(card.temporal) else build_head
    file = weights_path(card, folder, card.temporal["weights"])
    if not file.is_file():
        raise NoModelError(f"{card.name}: its sequence heads {file.name} are missing")
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError) as e:
        raise BadCardError(f"{card.name}: cannot read the sequence heads {file.name} ({e})") from None
    heads = []
    for k in range(n):
        prefix = f"member{k}."
        try:
            head = build(card.temporal)
            head.load_state_dict({key[len(prefix) :]: v.float() for key, v in state.items() if key.startswith(prefix)})
        except (ValueError, TypeError, RuntimeError) as e:
            raise BadCardError(f"{card.name}: the sequence heads do not fit ({str(e).splitlines()[0][:100]})") from None
        heads.append(head)
    return heads


_CACHE: dict[str, Classifier] = {}


def clear_cache() -> None:
    _CACHE.clear()


def _network(card: ModelCard, file: Path) -> torch.nn.Module:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    net = registry.build(card.architecture, num_classes=len(card.classes), size=card.input_size)
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError) as e:
        raise BadCardError(f"{card.name}: cannot read the weights {file.name} ({e})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise BadCardError(
            f"{card.name}: the weights {file.name} do not fit a {card.architecture} ({str(e).splitlines()[0][:100]})"
        ) from None
    return net


def load_model(name_or_path: str | None = None, directory: str | os.PathLike | list | None = None) -> Classifier:
    """Load (once per process) the model a card describes: the default, an installed name, or a card path.
    No pickle: safetensors + JSON.  NoModelError / BadCardError (one line) when it cannot."""
    from detector.models.store import resolve

    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):  # analyze(model=5): one line
        raise NoModelError(
            f"a model is a name, a card's path or a loaded model; got {type(name_or_path).__name__} {name_or_path!r}"
        )
    card_path = resolve(name_or_path, directory).resolve()
    key = str(card_path)
    if key not in _CACHE:
        card = ModelCard.from_file(card_path)
        if card.architecture not in registry.REGISTRY:
            raise BadCardError(
                f"{card_path.name}: unknown architecture {card.architecture!r} "
                f"(known: {', '.join(sorted(registry.REGISTRY))})"
            )
        files = [weights_path(card, card_path.parent, f) for f in card.weight_files]
        for f in files:
            if not f.exists():
                raise NoModelError(f"{card_path.name}: its weights {f.name} are missing")
            if not f.is_file():  # a FIFO or a device: never opened (an audit: said "missing")
                raise BadCardError(f"{card_path.name}: its weights {f.name} are not a regular file")
        nets = [Classifier(card, _network(card, f), card_path) for f in files]
        if card.temporal:
            _CACHE[key] = TemporalClassifier(card, nets, _heads(card, card_path.parent, len(nets)), card_path)
        else:
            _CACHE[key] = Ensemble(card, nets, card_path) if card.members else nets[0]
    return _CACHE[key]
