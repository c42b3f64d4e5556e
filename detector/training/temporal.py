"""Train a temporal head (:mod:`detector.models.temporal`) over the frame embeddings of frozen fold backbones, and
measure it against the backbone alone, out of fold.

    deepfake-lens train-temporal --recipe realfaces --out runs/temporal   (recipes/temporal/realfaces.toml)

Steps, each cached under ``--out``:

1. **Embeddings** (:func:`embed_items`): every video of the recipe's data (and of ``extra_reals``, real-only
   folders for a false-alarm check) is sampled (``frames`` evenly, as the pipeline samples), its faces found and
   tracked by the pipeline's own :func:`~detector.inference.pipeline.detect_faces`, and each face crop run through
   each fold member of the backbone ensemble once: its pooled features (the embedding) and its fake probability.
   Written as ``tracks.json`` (which face of which frame of which video) and ``embeddings_fold{k}.npz``.
2. **Cross-validated heads** (:func:`crossval`): the folds are the backbone's own (:func:`fold_items`, the code
   that made them, with the recipe's split seed).  For fold k, member k is the frozen backbone (it never trained
   on fold k); the head trains with fastai on the other folds' main-identity tracks and scores fold k.  Videos
   of ``extra_reals`` (no member trained on them) are scored by every fold's head and averaged.
3. **The comparison**: pooled out-of-fold video AUC (all, per source, per method) and false alarms on reals,
   cross-fitted (each fold's reals at the threshold calibrated on the other folds' scores, as
   :func:`detector.evaluation.crossval.cross_fitted_false_alarms` does), for the backbone alone (mean of its
   frame probabilities over the same frames of the same track) and each head.

Stacking bias: the training folds' embeddings come from a backbone that trained on those very videos, so they
are more separable than embeddings of unseen videos; the head learns on data easier than what it is scored on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

__all__ = [
    "TemporalConfig",
    "fold_items",
    "embed_video",
    "crossval_result",
    "embed_items",
    "embedding_key",
    "embeddings_cached",
    "faces_key",
    "write_result",
    "load_embeddings",
    "SequenceData",
    "sequences",
    "train_head",
    "fit_head",
    "score_head",
    "crossval",
    "fit_plain",
    "compare",
    "export",
    "main",
]

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


@dataclass
class TemporalConfig:
    """A temporal recipe (``recipes/temporal/*.toml``): what the backbone is, how its folds were made, the heads."""

    data: list[str] = field(default_factory=lambda: ["../shared/data/ffpp", "../shared/data/ffpp_c40"])
    split_data: list[str] = field(default_factory=list)  # the backbone recipe's data (for its folds); default data
    extra_reals: list[str] = field(default_factory=list)  # real-only folders: a false-alarm check, never trained on
    backbone: str = "effnet_realfaces"  # an ensemble of fold models (member k validated on fold k)
    folds: int = 3
    split_seed: int = 0
    frames: int = 64  # sampled per video for the cache; training and scoring use every ``stride``-th
    stride: int = 2  # scoring sequence = frames[::stride] (32 of 64: the pipeline's default frame count)
    heads: list[str] = field(default_factory=lambda: ["lstm", "transformer"])
    hidden: int = 64  # LSTM hidden size
    d_model: int = 128  # transformer width
    layers: int = 2  # transformer layers
    nhead: int = 4
    dropout: float = 0.3
    epochs: int = 20
    bs: int = 16
    lr: float | None = None  # None: lr_find's suggestion
    wd: float = 0.05
    window: int = 24  # training sequences: random windows of this many steps (of a stride-subsampled track)
    samples_per_video: int = 8  # training sequences drawn per video per epoch
    target_fa: float = 0.05
    seed: int = 0

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TemporalConfig:
        with open(path, "rb") as fh:
            d = tomllib.load(fh)
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown recipe key(s): {', '.join(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------- data and folds


def fold_items(cfg: TemporalConfig) -> tuple[list, dict[str, int]]:
    """(the videos to embed, fold of each video path): the backbone's folds, from
    :func:`detector.data.splits.fold_by_group` over the backbone recipe's data with its split seed (the code and
    the call that made them in :func:`detector.training.run.prepare`).  Photos are left out (one-frame: no
    sequence).  Videos of ``extra_reals`` get fold -1: no member trained on them."""
    from detector.data.datasets import REAL, held_out, read_datasets, read_labelled_folder
    from detector.data.splits import fold_by_group

    everything = [it for it in read_datasets(cfg.split_data or cfg.data) if not held_out(it)]
    folds = fold_by_group(everything, cfg.folds, seed=cfg.split_seed)
    fold_of = {it.path: k for k, fold in enumerate(folds) for it in fold}
    items = [it for it in read_datasets(cfg.data) if it.kind == "video"]
    missing = [it.path for it in items if it.path not in fold_of]
    if missing:
        raise ValueError(f"{len(missing)} videos of data are not in split_data's folds, e.g. {missing[0]}")
    for root in cfg.extra_reals:
        extra = [it for it in read_labelled_folder(root, REAL) if it.kind == "video"]
        items += extra
        fold_of.update({it.path: -1 for it in extra})
    return items, fold_of


def embed_video(path: str, backbones: list, frames: int, margin: float) -> list[dict]:
    """Every face track of one video: {track, frame_index, time, emb: [K x T x D], prob: [K x T]} for K backbones
    (one detection and crop per face, shared by the backbones)."""
    from detector.inference.pipeline import detect_faces
    from detector.inference.video import sample_frames

    _, sampled = sample_frames(path, n_frames=frames)
    per_frame = detect_faces(sampled, margin=margin)
    tracks: dict[int, list] = {}
    for pos, (fr, faces) in enumerate(zip(sampled, per_frame)):
        for f in faces:
            tracks.setdefault(f.identity, []).append((pos, fr.time, f))
    out = []
    for ident, seq in sorted(tracks.items()):
        crops = [f.crop for _, _, f in seq]
        embs, probs = zip(*(b.embed(crops) for b in backbones))
        out.append(
            {
                "track": int(ident),
                "position": [p for p, _, _ in seq],  # place among the sampled frames
                "time": [round(float(t), 4) for _, t, _ in seq],
                "side": [int(max(f.box[2], f.box[3])) for _, _, f in seq],
                "emb": np.stack(embs),
                "prob": np.stack(probs),
            }
        )
    return out


def backbone_digest(name: str) -> str | None:
    """A short SHA-1 of the backbone's weight files (its members' for an ensemble), so that a cache made by other
    weights under the same name (a retrained default) is never read; None when the backbone cannot be found."""
    import hashlib

    from detector.errors import NoModelError
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    try:
        path = resolve(name)
        card = ModelCard.from_file(path)
        digest = hashlib.sha1()
        for f in card.weight_files:
            with open(path.parent / f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    except (NoModelError, OSError, ValueError, TypeError):
        return None
    return digest.hexdigest()[:16]


def faces_key(cfg: TemporalConfig) -> dict:
    """Which faces an embedding cache's rows are: frames, backbone (by name), data, extra reals, and how faces are cut
    (:data:`detector.data.crops.VIDEO_CUT`: rows embedded before tilted faces were cut upright are not reused)."""
    from detector.data.crops import VIDEO_CUT

    return {
        "frames": cfg.frames,
        "backbone": cfg.backbone,
        "data": cfg.data,
        "extra_reals": cfg.extra_reals,
        "cut": VIDEO_CUT,
    }


def embedding_key(cfg: TemporalConfig) -> dict:
    """What an embedding cache holds: the faces' embeddings (:func:`faces_key`), by which weights of the backbone
    (:func:`backbone_digest`), and each video's fold (split)."""
    # no split_data: the folds of data
    split = [cfg.split_data or cfg.data, cfg.folds, cfg.split_seed]
    return {**faces_key(cfg), "backbone_weights": backbone_digest(cfg.backbone), "split": split}


def _cached_key(out: Path) -> dict | None:
    meta_path = out / "tracks.json"
    return json.loads(meta_path.read_text()).get("key") if meta_path.exists() else None


def embeddings_cached(cfg: TemporalConfig, out: Path) -> bool:
    """Whether ``out`` holds what :func:`embed_items` would write for ``cfg``: the same :func:`embedding_key` (the
    same faces, by the same backbone weights, in the same folds)."""
    return _cached_key(out) == embedding_key(cfg)


def embed_items(cfg: TemporalConfig, out: Path) -> None:
    """Write ``out/tracks.json`` and ``out/embeddings_fold{k}.npz`` (see the module docstring); skipped when they
    are cached for the same settings (:func:`embeddings_cached`)."""
    from detector.errors import InputError
    from detector.models.classifier import load_model

    key = embedding_key(cfg)  # hashes the backbone's weight files: once
    if _cached_key(out) == key:
        log(f"embeddings cached in {out}")
        return
    items, fold_of = fold_items(cfg)
    ens = load_model(cfg.backbone)
    members = ens.members or [ens]
    if len(members) != cfg.folds:
        raise ValueError(f"{cfg.backbone} has {len(members)} members, the recipe {cfg.folds} folds")
    log(f"embedding {len(items)} videos x {cfg.frames} frames with {len(members)} members of {cfg.backbone}")
    rows, embs, probs, n, t0 = [], [[] for _ in members], [[] for _ in members], 0, time.time()
    for i, it in enumerate(items):
        try:
            tracks = embed_video(it.path, members, cfg.frames, ens.card.face_margin)
        except InputError as e:
            log(f"skipped: {e}")
            continue
        main = max(tracks, key=lambda t: (len(t["position"]), float(np.median(t["side"]))), default=None)
        for t in tracks:
            length = len(t["position"])
            rows.append(
                {
                    "video": it.path,
                    "id": it.id,
                    "label": int(it.label),
                    "method": it.method or "original",
                    "group": it.group,
                    "source": it.source,
                    "kind": it.kind,
                    "subgroup": it.subgroup or "",
                    "fold": fold_of[it.path],
                    "track": t["track"],
                    "main": t is main,
                    "start": n,
                    "length": length,
                    "position": t["position"],
                    "time": t["time"],
                }
            )
            for k in range(len(members)):
                embs[k].append(t["emb"][k])
                probs[k].append(t["prob"][k])
            n += length
        if (i + 1) % 10 == 0 or i + 1 == len(items):
            log(f"{i + 1}/{len(items)} videos, {n} faces, {time.time() - t0:.0f} s")
    out.mkdir(parents=True, exist_ok=True)
    for k in range(len(members)):
        np.savez(out / f"embeddings_fold{k}.npz", emb=np.concatenate(embs[k]), prob=np.concatenate(probs[k]))
    meta = {"key": key, "frames": cfg.frames, "seconds": round(time.time() - t0, 1), "tracks": rows}
    (out / "tracks.json").write_text(json.dumps(meta))
    log(f"wrote {len(rows)} tracks ({n} faces) to {out} in {time.time() - t0:.0f} s")


def load_embeddings(out: Path, fold: int) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """(tracks, N x D embeddings, N frame probabilities) of backbone member ``fold``, as :func:`embed_items` wrote
    them."""
    meta = json.loads((out / "tracks.json").read_text())
    z = np.load(out / f"embeddings_fold{fold}.npz")
    return meta["tracks"], z["emb"], z["prob"]


def steps_of(track: dict, stride: int, phase: int = 0) -> np.ndarray:
    """Row numbers (into the embedding arrays) of the track's faces in sampled frames ``phase, phase + stride...``:
    with phase 0, the faces of the frames a ``frames // stride`` sampling would have given."""
    pos = np.asarray(track["position"])
    return track["start"] + np.flatnonzero(pos % stride == phase)


def pad(emb: np.ndarray, rows: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(length x D embeddings, length mask): ``rows`` first, zero padding after."""
    rows = rows[:length]
    x = np.zeros((length, emb.shape[1]), np.float32)
    x[: len(rows)] = emb[rows]
    mask = np.zeros(length, bool)
    mask[: len(rows)] = True
    return x, mask


class SequenceData:
    """A torch dataset of (embeddings, mask, label) for fastai: each track's scoring sequence (``train=False``),
    or ``samples`` random views per track per epoch (``train=True``: a random sampling phase, then a random
    window of at least ``window`` steps)."""

    def __init__(
        self,
        tracks: list[dict],
        emb: np.ndarray,
        stride: int,
        length: int,
        train: bool = False,
        window: int = 24,
        samples: int = 1,
        seed: int = 0,
    ):
        self.tracks, self.emb, self.stride, self.length = tracks, emb, stride, length
        self.train, self.window, self.samples = train, window, samples if train else 1
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.tracks) * self.samples

    def rows(self, i: int) -> np.ndarray:
        t = self.tracks[i % len(self.tracks)]
        if not self.train:
            return steps_of(t, self.stride, 0)
        rows = steps_of(t, self.stride, int(self.rng.integers(self.stride)))
        if len(rows) == 0:
            rows = steps_of(t, self.stride, 0)
        n = min(len(rows), self.length)
        size = int(self.rng.integers(min(self.window, n), n + 1)) if n else 0
        start = int(self.rng.integers(0, len(rows) - size + 1)) if n else 0
        return rows[start : start + size]

    def __getitem__(self, i: int):
        import torch

        x, mask = pad(self.emb, self.rows(i), self.length)
        y = float(self.tracks[i % len(self.tracks)]["label"])
        return torch.from_numpy(x), torch.from_numpy(mask), torch.tensor(y, dtype=torch.float32)


def sequences(tracks: list[dict], emb: np.ndarray, stride: int, length: int):
    """(B x length x D, B x length mask) of the tracks' scoring sequences, as tensors."""
    import torch

    xs, ms = zip(*(pad(emb, steps_of(t, stride, 0), length) for t in tracks)) if tracks else ((), ())
    d = emb.shape[1]
    return (
        torch.from_numpy(np.stack(xs) if xs else np.zeros((0, length, d), np.float32)),
        torch.from_numpy(np.stack(ms) if ms else np.zeros((0, length), bool)),
    )


class ClipLogit:
    """Wraps a head for fastai: (x, mask) in, the clip logit out (the loss needs no more)."""

    def __new__(cls, head):
        import torch

        class _ClipLogit(torch.nn.Module):
            def __init__(self, head):
                super().__init__()
                self.head = head

            def forward(self, x, mask):
                return self.head(x, mask)["logit"]

        return _ClipLogit(head)


def train_head(
    cfg: TemporalConfig, head_name: str, train_tracks: list[dict], valid_tracks: list[dict], emb: np.ndarray
) -> tuple:
    """Fit one head with fastai (lr_find's valley unless the recipe gives ``lr``, then ``fit_one_cycle``) on the
    training tracks' random views; ``valid_tracks`` only shows a validation loss (nothing is chosen by it).
    Returns (head in eval mode, {lr, lr_find, fit_seconds, losses})."""
    from fastai.torch_core import set_seed

    from detector.models.temporal import build_head

    set_seed(cfg.seed)  # torch, numpy and Python's random (fastai's DataLoader draws its shuffle from the last)
    length = -(-cfg.frames // cfg.stride)
    spec = {
        "head": head_name,
        "embed_dim": int(emb.shape[1]),
        "hidden": cfg.hidden,
        "d_model": cfg.d_model,
        "layers": cfg.layers,
        "nhead": cfg.nhead,
        "dropout": cfg.dropout,
    }
    head = build_head(spec)
    views = {"window": cfg.window, "samples": cfg.samples_per_video, "seed": cfg.seed}
    train_ds = SequenceData(train_tracks, emb, cfg.stride, length, train=True, **views)
    valid_ds = SequenceData(valid_tracks, emb, cfg.stride, length)
    return fit_head(cfg, head, ClipLogit(head), train_tracks, emb, train_ds, valid_ds)


def fit_head(cfg: TemporalConfig, head, model, train_tracks: list[dict], emb: np.ndarray, train_ds, valid_ds) -> tuple:
    """Fit a sequence ``head`` (wrapped as ``model``: its batch in, the clip logit out) with fastai: the embeddings
    standardised on every training face, the classes weighted, lr_find's valley unless the recipe gives ``lr``, then
    ``fit_one_cycle``.  Returns (head in eval mode, {lr, lr_find, fit_seconds, losses})."""
    import torch
    from fastai.callback.schedule import valley  # also patches Learner.lr_find / fit_one_cycle
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.learner import Learner
    from fastai.losses import BCEWithLogitsLossFlat

    from detector.training.run import lr_find

    rows = np.concatenate([steps_of(t, 1) for t in train_tracks])  # every training face: the standardisation
    head.set_normalisation(torch.from_numpy(emb[rows].mean(0)), torch.from_numpy(emb[rows].std(0)))
    dls = DataLoaders(
        DataLoader(train_ds, bs=cfg.bs, shuffle=True, drop_last=True),
        DataLoader(valid_ds, bs=64, shuffle=False),
        device="cpu",
    )
    labels = np.array([t["label"] for t in train_tracks])
    pos_weight = torch.tensor(max(1, int((labels == 0).sum())) / max(1, int((labels == 1).sum())))
    learn = Learner(dls, model, loss_func=BCEWithLogitsLossFlat(pos_weight=pos_weight), wd=cfg.wd)
    learn.recorder.train_metrics = False
    lr, found = cfg.lr, None
    with learn.no_bar(), learn.no_logging():
        if lr is None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            found = lr_find(learn, 100, (valley,))
            plt.close("all")
            lr = found.get("valley", 1e-3)
        t0 = time.time()
        learn.fit_one_cycle(cfg.epochs, lr)
    seconds = time.time() - t0
    losses = [[round(float(v), 4) for v in vals[:2]] for vals in learn.recorder.values]
    return head.eval(), {"lr": lr, "lr_find": found, "fit_seconds": round(seconds, 1), "losses": losses}


def score_head(head, tracks: list[dict], emb: np.ndarray, stride: int, length: int) -> np.ndarray:
    """Clip fake probability of each track's scoring sequence."""
    import torch

    if not tracks:
        return np.zeros(0, np.float32)
    x, mask = sequences(tracks, emb, stride, length)
    with torch.inference_mode():
        return torch.sigmoid(head.eval()(x, mask)["logit"]).numpy().astype(np.float32)


# ---------------------------------------------------------------- cross-validation: heads against their backbone


def fit_plain(cfg: TemporalConfig, name: str, train: list[dict], test: list[dict], emb: np.ndarray, length: int):
    """:func:`crossval`'s default ``fit``: head ``name`` by :func:`train_head`, scored by :func:`score_head`."""
    head, fitted = train_head(cfg, name, train, test, emb)
    return head, fitted, lambda tracks: (score_head(head, tracks, emb, cfg.stride, length), {})


def crossval(cfg: TemporalConfig, out: Path, fit=fit_plain, step_scores=None) -> dict:
    """Train each head on each fold (member k frozen, trained on the other folds' main-identity tracks) and score
    the held-out fold, next to the backbone alone on the same frames.  Returns {videos: per-video scores, heads:
    per fold and head the fit's record, models: the fitted heads by (head, fold)}.

    ``fit(cfg, name, train, test, emb, length)`` -> (head, its fit record, ``score(tracks)`` -> (clip fake
    probabilities, {key: a value per track} kept on the held-out videos)) trains one head (:func:`fit_plain`);
    ``step_scores(rows)`` -> {key: value} adds scores of a video's scored embedding rows beside the backbone's."""
    from detector.inference.report import confident_rule

    length = -(-cfg.frames // cfg.stride)
    videos: dict[str, dict] = {}
    record: dict[str, list] = {h: [] for h in cfg.heads}
    models: dict[tuple[str, int], object] = {}
    extra_scores: dict[str, dict[str, list[float]]] = {}
    for k in range(cfg.folds):
        tracks, emb, prob = load_embeddings(out, k)
        main = [t for t in tracks if t["main"] and len(steps_of(t, cfg.stride, 0))]
        train = [t for t in main if t["fold"] not in (k, -1)]
        test = [t for t in main if t["fold"] == k]
        extra = [t for t in main if t["fold"] == -1]
        for t in test + extra:
            steps = steps_of(t, cfg.stride, 0)
            p = prob[steps]
            scores = {"backbone_mean": float(p.mean()), "backbone_confident": confident_rule(p)}
            scores.update(step_scores(steps) if step_scores else {})
            if t["fold"] == -1:
                for key, v in scores.items():
                    extra_scores.setdefault(t["video"], {}).setdefault(key, []).append(v)
            else:
                videos[t["video"]] = {**_describe(t), "frames": int(len(p)), **scores}
        for name in cfg.heads:
            t0 = time.time()
            head, fitted, score = fit(cfg, name, train, test, emb, length)
            fitted["wall_seconds"] = round(time.time() - t0, 1)
            fitted["train_videos"] = len(train)
            record[name].append(fitted)
            models[(name, k)] = head
            s_test, more = score(test)
            for key, values in more.items():
                for t, v in zip(test, values):
                    videos[t["video"]][key] = float(v)
            for t, s in zip(test, s_test):
                videos[t["video"]][name] = float(s)
            for t, s in zip(extra, score(extra)[0]):
                extra_scores.setdefault(t["video"], {}).setdefault(name, []).append(float(s))
            log(f"fold {k} {name}: {len(train)} training tracks, lr {fitted['lr']:.2e}, {fitted['wall_seconds']} s")
    meta = {t["video"]: t for t in json.loads((out / "tracks.json").read_text())["tracks"] if t["main"]}
    for video, scores in extra_scores.items():  # no member trained on them: every fold's model, averaged
        videos[video] = {**_describe(meta[video]), "frames": None, **{k: float(np.mean(v)) for k, v in scores.items()}}
    return {"videos": list(videos.values()), "heads": record, "models": models}


def _describe(track: dict) -> dict:
    keys = ("video", "id", "label", "method", "group", "source", "kind", "subgroup", "fold")
    return {k: track[k] for k in keys}


def compare(videos: list[dict], keys: list[str], target: float) -> dict:
    """Per score key: pooled out-of-fold AUC (all, per source, per method), the AUC difference to the backbone's
    mean with its paired bootstrap interval, cross-fitted false alarms on the out-of-fold reals, and false alarms
    of the extra reals at the threshold calibrated on all out-of-fold reals."""
    from detector.evaluation.calibration import calibrate_threshold, false_alarm_table
    from detector.evaluation.metrics import metrics_block, paired_auc_difference
    from detector.evaluation.scores import video_metrics_by_method

    oof = [v for v in videos if v["fold"] >= 0]
    extra = [v for v in videos if v["fold"] < 0]
    sources = sorted({v["source"] for v in oof if len({w["label"] for w in oof if w["source"] == v["source"]}) == 2})
    result = {}
    for key in keys:

        def auc(vs, key=key):
            return metrics_block([v["label"] for v in vs], [v[key] for v in vs], ci=True)

        folds = sorted({v["fold"] for v in oof})
        thresholds = {
            f: calibrate_threshold([v for v in oof if v["fold"] != f], target=target, score_key=key)["threshold"]
            for f in folds
        }
        pooled = calibrate_threshold(oof, target=target, score_key=key)["threshold"]
        row = {
            "auc": auc(oof),
            "by_source": {s: auc([v for v in oof if v["source"] == s]) for s in sources},
            "by_method": {
                m: b["auc"] for m, b in video_metrics_by_method([{**v, "confident": v[key]} for v in oof]).items()
            },
            "cross_fitted_false_alarms": false_alarm_table(oof, lambda v, t=thresholds: t[v["fold"]], key, by="source"),
            "threshold": pooled,
            "extra_false_alarms": false_alarm_table(extra, pooled, key, by="source") if extra else [],
        }
        if key != "backbone_mean":
            row["auc_minus_backbone"] = {
                "all": paired_auc_difference(
                    [v["label"] for v in oof], [v[key] for v in oof], [v["backbone_mean"] for v in oof]
                )
            }
            for s in sources:
                vs = [v for v in oof if v["source"] == s]
                row["auc_minus_backbone"][s] = paired_auc_difference(
                    [v["label"] for v in vs], [v[key] for v in vs], [v["backbone_mean"] for v in vs]
                )
        result[key] = row
    return result


LABELS = {
    "backbone_mean": "backbone alone (mean of frame scores)",
    "backbone_confident": "backbone alone (confident-frames rule)",
    "lstm": "LSTM head",
    "transformer": "transformer head",
}


def render(result: dict) -> str:
    """The comparison as a plain-text table."""

    def auc(b):
        if not b or b.get("auc") is None:
            return "n/a"
        ci = b.get("auc_ci95")
        return f"{b['auc']:.3f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else "")

    lines = [
        f"Temporal heads against their frame backbone, pooled out of fold ({result['videos_scored']} videos; "
        f"{result['frames']} frames sampled, every {result['stride']}th scored: {result['steps']} per track)",
        "",
    ]
    for key, row in result["compare"].items():
        fit = result["fit_seconds"].get(key)
        lines += [
            f"{LABELS.get(key, key)}",
            f"  video AUC, all out-of-fold: {auc(row['auc'])}"
            + (f"   minus backbone: 95% {row['auc_minus_backbone']['all']}" if "auc_minus_backbone" in row else ""),
            "  by source: " + ", ".join(f"{s} {auc(b)}" for s, b in row["by_source"].items()),
            "  by method: " + ", ".join(f"{m} {v:.3f}" for m, v in row["by_method"].items() if v is not None),
            "  false alarms (cross-fitted, target 5%): "
            + ", ".join(f"{r['name']} {r['false_alarms']}/{r['reals']}" for r in row["cross_fitted_false_alarms"]),
            f"  extra reals at the pooled threshold {row['threshold']:.3f}: "
            + (", ".join(f"{r['name']} {r['false_alarms']}/{r['reals']}" for r in row["extra_false_alarms"]) or "-"),
        ]
        if fit is not None:
            lines.append(f"  training: {fit:.0f} s for {result['folds']} folds (lr_find + fit_one_cycle)")
        lines.append("")
    lines.append(f"embedding pass: {result['embed_seconds']:.0f} s (all videos, {result['folds']} members)")
    return "\n".join(lines) + "\n"


def export(cfg: TemporalConfig, out: Path, name: str, head_name: str, models: dict, result: dict) -> Path:
    """A model card folder ``out/name/``: the backbone's card with a ``temporal`` block, the fold heads in one
    safetensors file (``member{k}.*``: head k goes with backbone member k, as they were cross-validated), and
    copies of the backbone's member weights (a card reads weights from its own folder only)."""
    from safetensors.torch import save_file

    from detector.models.card import ModelCard
    from detector.models.classifier import load_model
    from detector.models.temporal import head_spec

    backbone = load_model(cfg.backbone)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for f in backbone.card.weight_files:
        shutil.copyfile(backbone.path.parent / f, folder / f)
    state = {}
    for k in range(cfg.folds):
        head = models[(head_name, k)]
        state.update({f"member{k}.{key}": v.detach().contiguous() for key, v in head.state_dict().items()})
    heads_file = f"{name}_heads.safetensors"
    save_file(state, str(folder / heads_file))
    row = result["compare"][head_name]
    card = ModelCard(**{**asdict(backbone.card), "name": name, "default": False})
    card.temporal = {
        **head_spec(models[(head_name, 0)]),
        "weights": heads_file,
        "backbone": cfg.backbone,
        "threshold": row["threshold"],
        "rule": "sequence score = mean over the fold pairs (backbone member k, head k) of the head's clip "
        "probability; threshold calibrated on the out-of-fold scores for 5% false alarms on real videos",
        "recipe": asdict(cfg),
    }
    card.metrics = {
        "out_of_fold": True,
        "sequence_video_auc": row["auc"]["auc"],
        "sequence_by_source_auc": {s: b["auc"] for s, b in row["by_source"].items()},
        "backbone_video_auc": result["compare"]["backbone_mean"]["auc"]["auc"],
    }
    card.notes = (
        f"A temporal model: {cfg.backbone}'s frame scores as they are, plus a {head_name} sequence head per fold "
        f"member over that member's frame embeddings of each identity track (trained with fastai on the other folds' "
        f"videos, the member frozen; deepfake-lens train-temporal).  Frame data as {cfg.backbone}: FaceForensics++ "
        f"(non-commercial research terms)."
    )
    (folder / f"{name}.json").write_text(card.to_json())
    return folder


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="deepfake-lens train-temporal",
        description="Train sequence heads (LSTM, transformer) over a frozen fold ensemble's frame embeddings, "
        "cross-validated on the backbone's own folds, and compare them with the backbone alone",
    )
    p.add_argument("--recipe", default="realfaces", help="a temporal TOML recipe (path, or the name of a shipped one)")
    p.add_argument("--out", default="runs/temporal", help="where the embeddings, the results and a model go")
    p.add_argument("--heads", nargs="+", choices=["lstm", "transformer"], help="override the recipe's heads")
    p.add_argument("--export", metavar="HEAD", help="also write a model card folder of this head's fold models")
    p.add_argument("--name", default="effnet_temporal", help="the exported model's name")
    return p.parse_args(argv)


RECIPES = Path(__file__).resolve().parent / "recipes" / "temporal"  # apart from the frame recipes: other keys


def recipe_path(name_or_path: str) -> Path:
    """A temporal recipe: a .toml path, or a shipped one by name (``realfaces``: recipes/temporal/realfaces.toml)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return p
    if (RECIPES / f"{name_or_path}.toml").is_file():
        return RECIPES / f"{name_or_path}.toml"
    known = ", ".join(sorted(q.stem for q in RECIPES.glob("*.toml")))
    raise ValueError(f"no temporal recipe {name_or_path!r} (a .toml file, or one of: {known})")


def crossval_result(cfg: TemporalConfig, cv: dict, embeddings: Path, **extra) -> dict:
    """What ``crossval.json`` holds for a :func:`crossval` result ``cv`` over the cache ``embeddings``: the recipe,
    the sequence set-up, times, the comparison of the backbone and the heads out of fold, and per head and per
    video figures; ``extra`` keys go in before the comparison."""
    return {
        "recipe": asdict(cfg),
        "folds": cfg.folds,
        "frames": cfg.frames,
        "stride": cfg.stride,
        "steps": -(-cfg.frames // cfg.stride),
        "videos_scored": sum(v["fold"] >= 0 for v in cv["videos"]),
        "embed_seconds": json.loads((embeddings / "tracks.json").read_text())["seconds"],
        "fit_seconds": {h: sum(r["wall_seconds"] for r in cv["heads"][h]) for h in cfg.heads},
        **extra,
        "compare": compare(cv["videos"], ["backbone_mean", "backbone_confident", *cfg.heads], cfg.target_fa),
        "heads": cv["heads"],
        "videos": cv["videos"],
    }


def write_result(out: Path, result: dict, text: str) -> None:
    """``out/crossval.json`` and ``out/crossval.txt`` (``text``, also printed)."""
    (out / "crossval.json").write_text(json.dumps(result, indent=1))
    (out / "crossval.txt").write_text(text)
    print(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = TemporalConfig.from_toml(recipe_path(args.recipe))
    except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as e:
        print(f"error: --recipe {args.recipe}: {e}")
        return 2
    if args.heads:
        cfg.heads = args.heads
    if args.export and args.export not in cfg.heads:
        print(f"error: --export {args.export}: not one of the heads trained ({', '.join(cfg.heads)})")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embed_items(cfg, out)
    cv = crossval(cfg, out)
    result = crossval_result(cfg, cv, out)
    write_result(out, result, render(result))
    if args.export:
        print(f"wrote {export(cfg, out, args.name, args.export, cv['models'], result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
