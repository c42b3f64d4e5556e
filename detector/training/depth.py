"""Train the RGB + depth sequence head (:class:`detector.models.depth.RGBDHead`) over the frozen fold backbones'
frame embeddings and each face's landmark depth map, cross-validated exactly as the temporal heads are
(:mod:`detector.training.temporal`), and compare it with the backbone alone and the RGB-only transformer head.

    deepfake-lens train-depth --recipe rgbd --embeddings runs/temporal --out runs/depth
                                                          (recipes/temporal/rgbd.toml)

Steps:

1. **Embeddings**: the ones ``deepfake-lens train-temporal`` cached in ``--embeddings`` (``tracks.json``,
   ``embeddings_fold{k}.npz``), made with the same recipe settings (checked), else made there first
   (:func:`detector.training.temporal.embed_items`).
2. **Depth maps** (:func:`depth_cache`): the face crops of the same frames of each video's main identity, from the
   crop cache (:func:`detector.data.crops.extract_crops` with the recipe's ``frames`` and the backbone's margin:
   the same decoder and face detector, so the same faces; matched to the embeddings by frame time), each run
   through FaceMesh (:func:`detector.inference.depth.face_depth`: the landmark model's z, not a measured depth).
   Cached under ``--out`` as ``depth{size}.npz`` (uint8 maps, found flags), one row per embedding row (rows of
   other identities stay zero and unfound: only main-identity tracks are trained and scored).
3. **Cross-validated heads** (:func:`crossval_depth`): for fold k, member k frozen; each head trains with fastai
   (lr_find's valley, fit_one_cycle) on the other folds' main-identity tracks and scores fold k; the extra reals
   are scored by every fold's head and averaged.  ``transformer`` is the RGB-only head, trained here on the same
   tracks with the same seed, so the two differ by the depth stream only.
4. **The comparison**: :func:`detector.training.temporal.compare` (pooled out-of-fold AUC, paired bootstrap
   difference to the backbone, cross-fitted false alarms).
"""

from __future__ import annotations

__all__ = [
    "DepthConfig",
    "depth_cache",
    "DepthSequenceData",
    "train_rgbd_head",
    "score_rgbd_head",
    "crossval_depth",
    "export_depth",
    "main",
]

import argparse
import json
import os
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detector.constants import DEPTH_SIZE
from detector.training.temporal import (
    SequenceData,
    TemporalConfig,
    crossval_result,
    embed_items,
    faces_key,
    fit_head,
    log,
    pad,
    recipe_path,
    render,
    write_result,
)

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

RGBD = "rgbd"


@dataclass
class DepthConfig(TemporalConfig):
    """A temporal recipe with the depth stream's settings (``recipes/temporal/rgbd.toml``)."""

    heads: list[str] = field(default_factory=lambda: ["transformer", RGBD])
    depth_size: int = DEPTH_SIZE  # side of each depth map
    depth_width: int = 8  # channels of the depth CNN's first convolution (then 2x, 4x)
    depth_grid: int = 4  # depth tokens per frame: grid x grid


# ---------------------------------------------------------------- depth maps of the embedded faces


def depth_cache(cfg: DepthConfig, embeddings: Path, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N x size x size uint8 depth maps, N found flags), one row per row of ``embeddings``' arrays (see the
    module docstring); cached as ``out/depth{size}.npz``."""
    from detector.data.crops import extract_crops, read_crop
    from detector.errors import InputError
    from detector.inference.depth import face_depth
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    meta = json.loads((embeddings / "tracks.json").read_text())
    rows = sum(t["length"] for t in meta["tracks"])
    path = out / f"depth{cfg.depth_size}.npz"
    # the faces, not their folds nor the backbone's weights: the depth maps depend on neither
    key = json.dumps({**faces_key(cfg), "rows": rows, "size": cfg.depth_size}, sort_keys=True)
    if path.exists():
        z = np.load(path)
        if str(z["key"]) == key:
            log(f"depth maps cached in {path}")
            return z["depth"], z["found"]
    margin = ModelCard.from_file(resolve(cfg.backbone)).face_margin
    depth = np.zeros((rows, cfg.depth_size, cfg.depth_size), np.uint8)
    found = np.zeros(rows, bool)
    main = [t for t in meta["tracks"] if t["main"]]
    t0, matched, missing = time.time(), 0, 0
    for i, t in enumerate(main):
        try:
            crops = extract_crops(t["video"], frames=cfg.frames, margin=margin)
        except InputError as e:
            log(f"skipped: {e}")
            continue
        by_time = {round(s, 2): f for s, f in zip(crops.times, crops.files)}
        for j, s in enumerate(t["time"]):
            file = by_time.get(round(s, 2))
            if file is None:  # not the crop cache's main identity in this frame: no depth
                missing += 1
                continue
            d = face_depth(read_crop(file), cfg.depth_size)
            depth[t["start"] + j] = np.round(d.depth * 255).astype(np.uint8)
            found[t["start"] + j] = d.found
            matched += 1
        if (i + 1) % 10 == 0 or i + 1 == len(main):
            done = f"{matched} crops, {int(found.sum())} with a mesh"
            log(f"depth: {i + 1}/{len(main)} tracks, {done}, {time.time() - t0:.0f} s")
    log(f"depth maps: {matched} crops matched ({missing} without a cached crop), {int(found.sum())} with a mesh")
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, depth=depth, found=found, key=np.array(key))
    return depth, found


# ---------------------------------------------------------------- data and training


class DepthSequenceData(SequenceData):
    """:class:`~detector.training.temporal.SequenceData` with each step's depth map: items are (embeddings,
    depth maps (length x S x S, 0..1), mask, label); the same steps for both streams."""

    def __init__(self, tracks: list[dict], emb: np.ndarray, depth: np.ndarray, stride: int, length: int, **kw):
        super().__init__(tracks, emb, stride, length, **kw)
        self.depth = depth

    def __getitem__(self, i: int):
        import torch

        rows = self.rows(i)[: self.length]
        x, mask = pad(self.emb, rows, self.length)
        d = np.zeros((self.length, *self.depth.shape[1:]), np.float32)
        d[: len(rows)] = self.depth[rows] / 255.0
        y = float(self.tracks[i % len(self.tracks)]["label"])
        return torch.from_numpy(x), torch.from_numpy(d), torch.from_numpy(mask), torch.tensor(y, dtype=torch.float32)


def _wrap(head):
    """The head for fastai: (x, depth, mask) in, the clip logit out."""
    import torch

    class _RGBDLogit(torch.nn.Module):
        def __init__(self, head):
            super().__init__()
            self.head = head

        def forward(self, x, depth, mask):
            return self.head(x, mask, depth)["logit"]

    return _RGBDLogit(head)


def train_rgbd_head(
    cfg: DepthConfig, train_tracks: list[dict], valid_tracks: list[dict], emb: np.ndarray, depth: np.ndarray
) -> tuple:
    """Fit one RGB + depth head with fastai, as :func:`detector.training.temporal.train_head` fits the others
    (same views, standardisation, class weighting, lr_find's valley unless the recipe gives ``lr``, then
    ``fit_one_cycle``).  Returns (head in eval mode, {lr, lr_find, fit_seconds, losses})."""
    from fastai.torch_core import set_seed

    from detector.models.depth import RGBDHead

    set_seed(cfg.seed)
    length = -(-cfg.frames // cfg.stride)
    head = RGBDHead(
        embed_dim=int(emb.shape[1]),
        d_model=cfg.d_model,
        layers=cfg.layers,
        nhead=cfg.nhead,
        dropout=cfg.dropout,
        depth_size=int(depth.shape[1]),
        depth_width=cfg.depth_width,
        depth_grid=cfg.depth_grid,
    )
    views = {"window": cfg.window, "samples": cfg.samples_per_video, "seed": cfg.seed}
    train_ds = DepthSequenceData(train_tracks, emb, depth, cfg.stride, length, train=True, **views)
    valid_ds = DepthSequenceData(valid_tracks, emb, depth, cfg.stride, length)
    return fit_head(cfg, head, _wrap(head), train_tracks, emb, train_ds, valid_ds)


def score_rgbd_head(
    head, tracks: list[dict], emb: np.ndarray, depth: np.ndarray, stride: int, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """(clip fake probability, mean share of attention on depth over the real steps) of each track's scoring
    sequence."""
    import torch

    if not tracks:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    ds = DepthSequenceData(tracks, emb, depth, stride, length)
    x, d, mask, _ = (torch.stack(v) for v in zip(*(ds[i] for i in range(len(ds)))))
    with torch.inference_mode():
        out = head.eval()(x, mask, d)
    share = (out["depth_attention"].sum(1) / mask.sum(1).clamp_min(1)).numpy()
    return torch.sigmoid(out["logit"]).numpy().astype(np.float32), share.astype(np.float32)


# ---------------------------------------------------------------- cross-validation


def crossval_depth(cfg: DepthConfig, embeddings: Path, depth: np.ndarray, found: np.ndarray) -> dict:
    """:func:`detector.training.temporal.crossval` with the RGB + depth head beside the others (the heads named
    in the recipe; ``rgbd`` reads the depth maps).  Returns {videos, heads, models}; each video also carries
    ``depth_found``, the share of its scored faces with a FaceMesh depth map."""
    from detector.training.temporal import crossval, fit_plain

    def fit(cfg, name, train, test, emb, length):
        if name != RGBD:
            return fit_plain(cfg, name, train, test, emb, length)
        head, fitted = train_rgbd_head(cfg, train, test, emb, depth)

        def score(tracks):
            probs, on_depth = score_rgbd_head(head, tracks, emb, depth, cfg.stride, length)
            return probs, {"rgbd_depth_attention": on_depth}

        return head, fitted, score

    return crossval(cfg, embeddings, fit=fit, step_scores=lambda rows: {"depth_found": float(found[rows].mean())})


def export_depth(cfg: DepthConfig, out: Path, name: str, models: dict, result: dict) -> Path:
    """A model card folder ``out/name/`` of the RGB + depth fold heads (:func:`detector.training.temporal.export`,
    its ``temporal`` block naming the depth stream)."""
    from detector.models.depth import depth_head_spec
    from detector.training.temporal import export

    folder = export(cfg, out, name, RGBD, models, result)
    card_path = folder / f"{name}.json"
    card = json.loads(card_path.read_text())
    card["temporal"].update(depth_head_spec(models[(RGBD, 0)]))
    card["notes"] = (
        f"An RGB + depth temporal model: {cfg.backbone}'s frame scores as they are, plus per fold member an RGB + "
        f"depth sequence head (the member's frame embedding cross-attending to a small CNN's tokens of the face's "
        f"depth map, then a transformer encoder over each identity track; deepfake-lens train-depth).  The depth "
        f"is the mediapipe FaceMesh landmark model's z rasterised on the crop, not a measured depth.  Frame data "
        f"as {cfg.backbone}: FaceForensics++ (non-commercial research terms)."
    )
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return folder


# ---------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="deepfake-lens train-depth",
        description="Train the RGB + depth sequence head (frame embeddings + FaceMesh landmark depth) over a frozen "
        "fold ensemble, cross-validated on the backbone's own folds, and compare it with the backbone alone "
        "and the RGB-only transformer head",
    )
    p.add_argument("--recipe", default="rgbd", help="a temporal TOML recipe (path, or the name of a shipped one)")
    p.add_argument("--embeddings", default="runs/temporal", help="where train-temporal cached the embeddings")
    p.add_argument("--out", default="runs/depth", help="where the depth maps, the results and a model go")
    p.add_argument("--heads", nargs="+", choices=["lstm", "transformer", RGBD], help="override the recipe's heads")
    p.add_argument("--export", action="store_true", help="also write a model card folder of the rgbd fold heads")
    p.add_argument("--name", default="effnet_rgbd", help="the exported model's name")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = DepthConfig.from_toml(recipe_path(args.recipe))
    except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as e:
        print(f"error: --recipe {args.recipe}: {e}")
        return 2
    if args.heads:
        cfg.heads = args.heads
    if args.export and RGBD not in cfg.heads:
        print(f"error: --export: {RGBD} is not one of the heads trained ({', '.join(cfg.heads)})")
        return 2
    embeddings, out = Path(args.embeddings), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embed_items(cfg, embeddings)  # a no-op when they are cached for this recipe's faces and folds
    depth, found = depth_cache(cfg, embeddings, out)
    cv = crossval_depth(cfg, embeddings, depth, found)
    oof = [v for v in cv["videos"] if v["fold"] >= 0]
    found_share = {
        "faces": round(float(np.mean([v["depth_found"] for v in oof])), 4),
        "videos_without_any": sum(v["depth_found"] == 0 for v in oof),
    }
    result = crossval_result(cfg, cv, embeddings, depth_found=found_share)
    text = render(result) + f"depth maps: {found_share['faces']:.1%} of the scored faces have a FaceMesh mesh"
    if RGBD in cfg.heads:
        result["rgbd_depth_attention"] = round(float(np.mean([v["rgbd_depth_attention"] for v in oof])), 4)
        text += f"; the rgbd head puts {result['rgbd_depth_attention']:.1%} of its cross-attention on depth tokens"
    write_result(out, result, text + "\n")
    if args.export:
        print(f"wrote {export_depth(cfg, out, args.name, cv['models'], result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
