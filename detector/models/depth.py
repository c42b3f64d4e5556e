"""An RGB + depth sequence head: the frozen frame backbone's embedding and a small CNN over each face's landmark
depth map (:mod:`detector.inference.depth`: FaceMesh's z, not a measured depth), fused by cross-attention per
frame, then the transformer encoder of :class:`detector.models.temporal.TransformerHead` over the frames of one
identity track.

Per frame (B x T steps)::

    RGB token      standardised embedding (D) -> linear -> d_model                      (the query)
    depth tokens   depth map (1 x S x S) -> 3 strided convolutions -> grid x grid cells, each -> d_model,
                   plus a learned position per cell                                       (keys and values)
    fused          RGB token + cross-attention(RGB token -> [a learned "no depth" token, depth tokens])

Why one way (RGB queries depth, not also depth queries RGB): each frame has one RGB token, the backbone's pooled
embedding (the cache holds no spatial features).  A depth token attending to a single key gets all of its weight
on it, so the reverse attention would only add the same projection of the RGB token to every depth token, not a
learned choice.  Between frames, the RGB and depth information meet again in the transformer's self-attention.

A frame whose map is all zero (FaceMesh found no face, or padding) attends to the "no depth" token only.  Then
step positions, the transformer encoder, and the pooling every sequence head shares
(:class:`~detector.models.temporal.SequenceHead`): outputs ``logit``, ``frame_logits``, ``weights``,
``contributions`` (they sum to the logit), plus ``depth_attention``: B x T, the share of each frame's attention
that went to its depth tokens (0 for a frame without depth).

A model card names this head under ``temporal`` with ``"head": "rgbd"`` and a ``depth`` block
(:func:`depth_head_spec`); :func:`build_depth_head` rebuilds it.
"""

from __future__ import annotations

__all__ = ["DepthEncoder", "RGBDHead", "build_depth_head", "depth_head_spec", "is_depth_spec"]

import torch
from torch import nn

from detector.constants import DEPTH_SIZE
from detector.models.temporal import SequenceOutput, TransformerHead, sinusoid


class DepthEncoder(nn.Module):
    """1 x S x S depth map -> ``grid * grid`` tokens of ``d_model``: three 3x3 stride-2 convolutions (``width``,
    2 ``width``, 4 ``width`` channels, ReLU), average-pooled to a grid, each cell projected, plus a learned
    position per cell.  Tiny (a few thousand weights): it trains from scratch on CPU."""

    def __init__(self, d_model: int = 128, width: int = 8, grid: int = 4):
        super().__init__()
        self.width, self.grid = width, grid
        self.convs = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(grid),
        )
        self.project = nn.Linear(4 * width, d_model)
        self.position = nn.Parameter(torch.randn(grid * grid, d_model) * 0.02)

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        """depth: N x S x S -> N x grid² x d_model."""
        f = self.convs(depth.float().unsqueeze(1))  # N x C x grid x grid
        return self.project(f.flatten(2).transpose(1, 2)) + self.position


class RGBDHead(TransformerHead):
    """The transformer head with a depth stream fused into each step by cross-attention (module docstring)."""

    kind = "rgbd"

    def __init__(
        self,
        embed_dim: int = 1280,
        d_model: int = 128,
        layers: int = 2,
        nhead: int = 4,
        dropout: float = 0.3,
        depth_size: int = DEPTH_SIZE,
        depth_width: int = 8,
        depth_grid: int = 4,
        **_,
    ):
        super().__init__(embed_dim, d_model, layers, nhead, dropout)
        self.depth_size, self.depth_width, self.depth_grid = depth_size, depth_width, depth_grid
        self.depth = DepthEncoder(d_model, depth_width, depth_grid)
        self.null = nn.Parameter(torch.zeros(1, 1, d_model))  # the "no depth" key: attention may go nowhere
        self.norm_q, self.norm_kv = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.cross = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)

    def fuse(self, rgb: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N x d_model fused tokens, N shares of attention on depth) from N RGB tokens and N x S x S maps."""
        n = rgb.shape[0]
        has_depth = depth.flatten(1).abs().amax(1) > 0
        tokens = self.depth(depth)  # N x G x d
        keys = torch.cat([self.null.expand(n, 1, -1), tokens], 1)
        ignore = torch.cat(
            [torch.zeros(n, 1, dtype=torch.bool, device=rgb.device), (~has_depth)[:, None].expand(n, tokens.shape[1])],
            1,
        )
        kv = self.norm_kv(keys)
        out, attn = self.cross(self.norm_q(rgb).unsqueeze(1), kv, kv, key_padding_mask=ignore, need_weights=True)
        on_depth = attn[:, 0, 1:].sum(-1) * has_depth  # averaged over heads; 0 where there is no depth
        return rgb + out.squeeze(1), on_depth

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, depth: torch.Tensor | None = None
    ) -> SequenceOutput:
        """x: B x T x D embeddings; mask: B x T bool, True on real steps (None: all real); depth: B x T x S x S
        maps (None: no depth for any step, as if FaceMesh had found no face)."""
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        mask = mask.bool()
        b, t = x.shape[:2]
        if depth is None:
            depth = torch.zeros(b, t, self.depth_size, self.depth_size, device=x.device)
        depth = depth.float() * mask[..., None, None]
        x = (x.float() - self.mean) / self.std
        rgb = self.project(self.drop(x) * mask.unsqueeze(-1))
        fused, on_depth = self.fuse(rgb.reshape(b * t, -1), depth.reshape(b * t, *depth.shape[2:]))
        h = fused.reshape(b, t, -1) + sinusoid(t, self.d_model, x.device)
        pad = ~mask & mask.any(1, keepdim=True)  # an empty track attends to its padding (no NaN)
        h = self.drop(self.norm(self.encoder(h, src_key_padding_mask=pad)))
        frame_logits = self.score(h).squeeze(-1) * mask
        a = self.attend(h).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(a, dim=1), nan=0.0) * mask
        contributions = weights * frame_logits
        return SequenceOutput(
            logit=contributions.sum(1),
            frame_logits=frame_logits,
            weights=weights,
            contributions=contributions,
            depth_attention=on_depth.reshape(b, t) * mask,
        )


_SPEC_KEYS = ("embed_dim", "d_model", "layers", "nhead", "dropout")


def is_depth_spec(spec: dict) -> bool:
    """Whether a card's ``temporal`` block describes an RGB + depth head (it then needs depth maps)."""
    return isinstance(spec, dict) and spec.get("head") == RGBDHead.kind


def depth_head_spec(head: RGBDHead) -> dict:
    """What a card's ``temporal`` block says to rebuild ``head`` (:func:`build_depth_head`)."""
    return {
        "head": head.kind,
        "embed_dim": head.embed_dim,
        "d_model": head.d_model,
        "layers": head.layers,
        "nhead": head.nhead,
        "depth": {"size": head.depth_size, "width": head.depth_width, "grid": head.depth_grid, "source": "facemesh_z"},
    }


def build_depth_head(spec: dict) -> RGBDHead:
    """An RGB + depth head from a card's ``temporal`` block (ValueError when it is not one)."""
    if not is_depth_spec(spec):
        raise ValueError(f"not an RGB + depth head: {spec.get('head') if isinstance(spec, dict) else spec!r}")
    d = spec.get("depth") or {}
    return RGBDHead(
        **{k: spec[k] for k in _SPEC_KEYS if k in spec},
        depth_size=int(d.get("size", DEPTH_SIZE)),
        depth_width=int(d.get("width", 8)),
        depth_grid=int(d.get("grid", 4)),
    )
