"""Sequence heads over frame embeddings: one identity track in, a clip logit and each frame's share of it out.

A frame backbone (:class:`detector.models.classifier.Classifier`) gives each face crop an embedding (its pooled
features before the classifier layer, :meth:`~detector.models.classifier.Classifier.embed`).  A head reads the
embeddings of one identity's faces in time order (B x T x D, with a mask: True on real steps, padding after
them) and returns, per track::

    logit          the clip logit (fake)
    frame_logits   B x T: what each step, in its context, says on its own
    weights        B x T: attention-pooling weights, softmax over the real steps (0 on padding; sum 1)
    contributions  B x T: weights * frame_logits; they sum to the clip logit (the timeline's per-frame share)

Two heads share that pooling (the temporal lines of the literature, small enough to train on CPU in minutes over
a frozen backbone):

* ``lstm``: a bidirectional one-layer LSTM (the ResNet-LSTM line);
* ``transformer``: a linear projection to ``d_model``, sinusoidal step positions, and a small transformer encoder
  (the RGB+depth transformer line, without depth).

Both standardise their input with the training embeddings' mean and std (buffers, saved with the weights).
A model card names its head under ``temporal`` (:func:`build_head` reads that block).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SequenceOutput", "SequenceHead", "LSTMHead", "TransformerHead", "HEADS", "build_head", "head_spec"]


class SequenceOutput(dict):
    """The head's outputs (a dict, so fastai and torch treat it as one value): logit, frame_logits, weights,
    contributions."""

    @property
    def logit(self) -> torch.Tensor:
        return self["logit"]


class SequenceHead(nn.Module):
    """Standardise, encode (subclasses: :meth:`encode`), then score each step and pool by attention."""

    def __init__(self, embed_dim: int, width: int, dropout: float = 0.3):
        super().__init__()
        self.embed_dim = embed_dim
        self.register_buffer("mean", torch.zeros(embed_dim))
        self.register_buffer("std", torch.ones(embed_dim))
        self.drop = nn.Dropout(dropout)
        self.score = nn.Linear(width, 1)  # per-step logit
        self.attend = nn.Linear(width, 1)  # per-step pooling weight (before the softmax)

    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-4))

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SequenceOutput:
        """x: B x T x D embeddings; mask: B x T bool, True on real steps (None: all real).  A track with no real
        step gets logit 0 and zero weights."""
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        mask = mask.bool()
        x = (x.float() - self.mean) / self.std
        h = self.encode(self.drop(x) * mask.unsqueeze(-1), mask)
        h = self.drop(h)
        frame_logits = self.score(h).squeeze(-1) * mask
        a = self.attend(h).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(a, dim=1), nan=0.0) * mask  # an empty track: all -inf -> NaN -> 0
        contributions = weights * frame_logits
        return SequenceOutput(
            logit=contributions.sum(1), frame_logits=frame_logits, weights=weights, contributions=contributions
        )


class LSTMHead(SequenceHead):
    """A bidirectional one-layer LSTM over the standardised embeddings (``hidden`` units each way)."""

    kind = "lstm"

    def __init__(self, embed_dim: int = 1280, hidden: int = 64, dropout: float = 0.3, **_):
        super().__init__(embed_dim, 2 * hidden, dropout)
        self.hidden = hidden
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=1, batch_first=True, bidirectional=True)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out


def sinusoid(steps: int, dim: int, device=None) -> torch.Tensor:
    """steps x dim sinusoidal position codes (Vaswani et al. 2017)."""
    pos = torch.arange(steps, dtype=torch.float32, device=device).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(steps, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return pe


class TransformerHead(SequenceHead):
    """Linear projection to ``d_model``, step positions, a ``layers``-layer transformer encoder (``nhead`` heads,
    pre-norm), padding masked out of the attention."""

    kind = "transformer"

    def __init__(
        self, embed_dim: int = 1280, d_model: int = 128, layers: int = 2, nhead: int = 4, dropout: float = 0.3, **_
    ):
        super().__init__(embed_dim, d_model, dropout)
        self.d_model, self.layers, self.nhead = d_model, layers, nhead
        self.project = nn.Linear(embed_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.project(x) + sinusoid(x.shape[1], self.d_model, x.device)
        # a track with no real step would make every key masked (NaN): let it attend to its padding instead
        pad = ~mask & mask.any(1, keepdim=True)
        return self.norm(self.encoder(h, src_key_padding_mask=pad))


HEADS: dict[str, type[SequenceHead]] = {"lstm": LSTMHead, "transformer": TransformerHead}

_SPEC_KEYS = ("embed_dim", "hidden", "d_model", "layers", "nhead", "dropout")


def head_spec(head: SequenceHead) -> dict:
    """What a model card's ``temporal`` block says to rebuild ``head`` (:func:`build_head`)."""
    spec = {"head": head.kind, "embed_dim": head.embed_dim}
    if isinstance(head, LSTMHead):
        spec["hidden"] = head.hidden
    if isinstance(head, TransformerHead):
        spec.update(d_model=head.d_model, layers=head.layers, nhead=head.nhead)
    return spec


def build_head(spec: dict) -> SequenceHead:
    """A head from a card's ``temporal`` block: ``{"head": "lstm"|"transformer", "embed_dim": ..., ...}``
    (ValueError for an unknown head)."""
    name = spec.get("head")
    if name not in HEADS:
        raise ValueError(f"unknown temporal head {name!r} (known: {', '.join(HEADS)})")
    return HEADS[name](**{k: spec[k] for k in _SPEC_KEYS if k in spec})
