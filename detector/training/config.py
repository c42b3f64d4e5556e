"""A training recipe as data: :class:`TrainConfig`, filled from a TOML recipe file and/or command-line flags.

    deepfake-lens train --recipe realfaces --folds 3 --fold 0 --out runs/cv/fold0
    deepfake-lens train --data ../shared/data/ffpp --arch efficientnet_lite0 --epochs 4

A recipe is a TOML file whose keys are the fields below (``recipes/*.toml`` in this
package ship the recipes of the shipped models: ``--recipe NAME`` finds them by
name).  Flags given on the command line override the recipe.  The whole config is
saved with the run (``config.toml``, ``metrics.json``) and in the model card, and
``crossval`` compares runs by :meth:`TrainConfig.recipe` (the config without the
fold and where the run was written), not by their command lines.

Every flag of ``train`` is a field here, with its help text: the parser is built
from this class (:func:`parser`), so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import math
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from detector.constants import DEFAULT_DISTILL_ALPHA, DEFAULT_DISTILL_TEMPERATURE, FACE_MARGIN

__all__ = [
    "TrainConfig",
    "parser",
    "parse_config",
    "recipe_path",
    "recipe_index",
    "RECIPES",
    "RECIPE_INDEX",
    "NOT_RECIPE",
]

RECIPES = Path(__file__).resolve().parent / "recipes"
# one table per recipe: summary, status (default / shipped / not shipped), model, c23 figure, results anchor
RECIPE_INDEX = Path(__file__).resolve().parent / "recipe_index.toml"
# where and how a run is done, not what is trained: left out of recipe comparisons
NOT_RECIPE = ("folds", "fold", "out", "cache", "workers", "threads", "name", "install", "default")


def _f(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    data: list[str] = _f(
        None,
        "dataset root(s): FaceForensics++ trees, DFDC metadata.json, real/+fake/ folders of "
        "videos or photos; several are read as one set (FF++ twins at two compressions in one "
        "group)",
        nargs="+",
    )
    arch: str = _f(None, "architecture (deepfake-lens models --architectures lists them)")
    size: int | None = _f(None, "input size in pixels (default: the architecture's)")
    pretrained: str = _f(
        "auto",
        "auto: offline ImageNet weights where the architecture has them, else none",
        choices=["auto", "none", "imagenet", "timm"],
    )
    init: str | None = _f(
        None,
        "start from the body weights of this *_mimic.safetensors (deepfake-lens mimic: label-free pretraining on face "
        "crops, with its .json record beside it) and fine-tune as a pretrained network (the frozen epoch, "
        "discriminative rates, --freeze-stages); needs --pretrained auto or none; '{fold}' in it becomes --fold (a "
        "pretraining made on one fold's training items, `mimic --recipe R --folds K --fold I`, serves that fold only)",
        metavar="FILE",
    )
    epochs: int = _f(5, "epochs after the frozen epoch (pretrained) or in all")
    freeze_epochs: int = _f(1, "epochs with the body frozen (pretrained only)")
    freeze_stages: int = _f(
        0,
        "pretrained only: keep the stem and first K stages at their ImageNet (or --init) values "
        "throughout (no backward pass through them: faster steps on CPU)",
        metavar="K",
    )
    lr: float | None = _f(None, "learning rate (default: lr_find's suggestion with --lr-find, else 1e-3)")
    lr_mult: float = _f(10.0, "fine_tune: the body learns this many times slower than the head")
    lr_find: bool = _f(
        False,
        "run fastai's lr_find and save its plot; its suggestion is used unless a learning rate "
        "is set (given with --lr-find on the command line and no --lr, the suggestion is used "
        "even over a recipe's lr)",
    )
    lr_find_steps: int = _f(60, "mini-batches lr_find tries")
    frames: int = _f(32, "frames sampled per video for crops")
    margin: float = _f(
        FACE_MARGIN,
        "face crop margin: the detector's box grown by this share of its longer side, squared (the card records it, "
        "and the pipeline crops the faces it scores alike); more shows the network more of the head and its "
        "surroundings at the same input size",
        metavar="M",
    )
    bs: int = _f(32, "batch size")
    val_fraction: float = _f(0.2, "share of the groups in validation (without --folds)")
    seed: int = _f(0, "seed of training (initial head, batch order, augmentations)")
    split_seed: int | None = _f(None, "seed of the train/validation split (default: --seed)")
    folds: int = _f(
        0,
        "cross-validation: deal the groups into K folds and validate on fold --fold, training on "
        "the rest (0: one split by --val-fraction); pool the K runs with deepfake-lens crossval",
        metavar="K",
    )
    fold: int = _f(0, "with --folds: the validation fold, 0 to K-1", metavar="I")
    sbi: float = _f(
        0.0,
        "self-blended pseudo-fakes (0: off): with --balance class, the probability that a real training crop is "
        "turned into one; with --balance domain, their share of the fake half of a source that has fakes of its "
        "own (a source of reals only gets all of its fake half from them)",
        metavar="P",
    )
    sbi_regions: float = _f(
        0.0,
        "with --sbi: the share of pseudo-fakes blended over one part of the face (mouth, lower face, eyes or nose, "
        "alike) instead of the whole face, as a reenactment changes the mouth and jaw only (0: whole faces only)",
        metavar="P",
    )
    downscale: float = _f(0.0, "shrink a training crop to 35-70%% of its side and back with probability P", metavar="P")
    compress: float = _f(
        0.0,
        "compress a training crop heavily (JPEG quality 15-40, both classes) with probability P, as a strongly "
        "compressed video (FaceForensics++ c40) is",
        metavar="P",
    )
    cutout: float = _f(
        0.0, "black out 1-2 random rectangles (15-35%% of the side) of a training crop with probability P", metavar="P"
    )
    tight_pad: float = _f(
        0.0,
        "with probability P, give a training crop (both classes) a tightly cropped photo's border: keep a random "
        "60-100%% of each side and mirror it outwards, as the pipeline pads a photo whose face fills it",
        metavar="P",
    )
    tight_flat: float = _f(
        0.0,
        "with --tight-pad: the share P of those borders filled with one colour (white, black, grey or any) "
        "instead of mirrored, as round a photo captured on a page or a screen",
        metavar="P",
    )
    colour_cast: float = _f(
        0.0,
        "with probability P, give a training crop (both classes) a whole-picture colour cast: a sepia filter, a "
        "warm or cool white balance, low light or a faded print",
        metavar="P",
    )
    captions: float = _f(
        0.0,
        "with probability P, burn a line of text across a training crop's lower face (both classes), as social "
        "video burns its captions and memes lay words over a photo",
        metavar="P",
    )
    occlude: float = _f(
        0.0,
        "with probability P, draw something in front of a training crop's face (both classes): a microphone or "
        "phone under the mouth, a mask, glasses, a hand, an object at the edge",
        metavar="P",
    )
    pairs: float = _f(
        0.0,
        "weight W of a ranking loss on (real, fake) pairs of one frame (0: off; needs --balance domain and an "
        "even --bs): half the epoch is drawn by the balance's shares among crops that have a partner, each "
        "followed by a partner (a fake: its target real video's crop nearest in time, within 0.5 s; a "
        "pseudo-fake: the real crop it is blended from; a real crop: one of those, at random), and the loss adds "
        "W * softplus(z_real - z_fake) per pair, z being the fake logit minus the real one",
        metavar="W",
    )
    mask_weight: float = _f(
        0.0,
        "weight W of a loss that asks the network where a fake was changed (0: off; needs --balance domain and a "
        "network with a global pool): a 1 x 1 convolution on the last feature map, dropped at export, predicts "
        "each cell's share of changed pixels, against the difference of a FaceForensics++ fake with its target "
        "real video (cached beside the crops), a pseudo-fake's blend mask, and nothing on reals",
        metavar="W",
    )
    identity_adversary: float = _f(
        0.0,
        "weight W of a loss that keeps the network from knowing who a real person is (0: off; needs --balance "
        "domain and a network with a classifier layer; not with --pairs or --mixup): a linear head, dropped at "
        "export, learns which training person a real FaceForensics++ or actor crop shows from the pooled features, "
        "and its gradient reaches the network reversed (gradient reversal, Ganin & Lempitsky 2015), scaled up from 0 "
        "over each fit as 2 / (1 + exp(-10 p)) - 1",
        metavar="W",
    )
    mixup: float = _f(
        0.0,
        "blend each training crop with another crop of its batch (fastai's MixUp: the weight of the larger part "
        "drawn from Beta(A, A), the labels' loss blended alike; 0: off); with --teacher the teacher scores the "
        "blended crops, so the student matches the teacher's function between the crops too (function matching, "
        "Beyer et al. 2022)",
        metavar="A",
    )
    ema: float = _f(0.0, "export a moving average of the weights over steps (e.g. 0.998; 0: off)", metavar="DECAY")
    teacher: str | None = _f(
        None,
        "distil from this model card: the loss mixes the labels' cross-entropy with the teacher's probabilities on "
        "the same augmented batch; '{fold}' in it becomes --fold, so one recipe serves every fold (a teacher whose "
        "card shows it trained on this run's validation items is refused)",
        metavar="CARD",
    )
    distill_alpha: float | None = _f(
        None, f"with --teacher: weight of the teacher's soft loss (default {DEFAULT_DISTILL_ALPHA})", metavar="A"
    )
    distill_temperature: float = _f(
        DEFAULT_DISTILL_TEMPERATURE,
        "with --teacher: softmax temperature of the teacher's and the student's logits in the soft loss (which is "
        "scaled by T^2)",
        metavar="T",
    )
    distill_features: float = _f(
        0.0,
        "with --teacher (one network): weight of a loss that regresses the student's pooled features, through a "
        "linear map dropped at export, onto the teacher's standardised pooled features on the same crops "
        "(FitNets-style; 0: off)",
        metavar="W",
    )
    distill_grid: int = _f(
        0,
        "with --distill-features: compare the feature maps before pooling, each averaged onto a G x G grid, cell by "
        "cell, instead of the pooled features (0: pooled); students: resnet18, efficientnet_lite0/2, "
        "inception_resnet_v2; G at most either map's side (about the input size / 32: 4 at 112-128 px)",
        metavar="G",
    )
    distill_teacher_size: bool = _f(
        False,
        "with --teacher: augment the training crops at the teacher's input size where it is larger than --size; "
        "the teacher scores them there and the student sees each batch shrunk to its own size (validation stays "
        "at the student's size)",
    )
    epoch_size: int = _f(
        0,
        "draw N training crops per epoch, balanced as --balance says (0: every crop once, "
        "with class weights in the loss)",
        metavar="N",
    )
    balance: str = _f(
        "class",
        "with --epoch-size: class (half real, half fake; each class's sources by the square root of their "
        "crops) or domain (each source by the square root of its crops, half of it real and half fake, so that "
        "no source's look tells the label; needs --sbi P > 0, the pseudo-fakes of sources of reals only)",
        choices=["class", "domain"],
    )
    fit_valid: int = _f(
        0,
        "score at most N validation crops after each epoch, for the curves (0: all); the final metrics use them all",
        metavar="N",
    )
    precision: str = _f(
        "fp32",
        "arithmetic of the training passes: fp32, or bf16 (bfloat16 autocast on the CPU: 0.83x of a training step "
        "and 0.4x of a validation batch on a CPU with AVX512-BF16, bench/train_step.py; a CPU without bfloat16 "
        "instructions may gain nothing; weights, gradients and the optimiser stay float32, and the validation "
        "scores that set the threshold are computed in float32, as the pipeline computes them)",
        choices=["fp32", "bf16"],
    )
    target_fa: float = _f(0.05, "false-alarm rate on the validation reals that sets the card's threshold")
    max_train_frames: int = _f(0, "use at most this many crops per training video (0: all)")
    train_groups: float = _f(
        1.0,
        "train on this share of the training groups that hold fakes (FaceForensics++ pair groups, c23 and c40 "
        "twins together), a fixed draw per split seed and fold; sources of reals only (photos, actors) and the "
        "validation items are kept whole: a learning curve in the number of faked people (1: all)",
        metavar="F",
    )
    train_sources: list[str] | None = _f(
        None,
        "train only on the items of these data sources (a root folder's name, e.g. ffpp faces_utk; "
        "ffpp_c40:actors for FF++'s actor clips: the clips of a DeepFakeDetection tree's actors are a source apart "
        "from its fakes; SOURCE/real or SOURCE/fake for one class of a source, e.g. ffpp_c40/real); the folds are "
        "dealt and validated over all the data as without it, so a source left out is scored out of fold by models "
        "that never trained on any of it (a --teacher may have; --train-groups "
        "counts the groups of every source); 'all' trains on every source, as without it (default: all)",
        nargs="+",
        metavar="SOURCE",
    )
    half: bool = _f(False, "store the weights as float16")
    out: str | None = _f(None, "run folder (default runs/<arch>-<time>)")
    cache: str | None = _f(None, "crop cache folder (default: the user cache, see detector.constants)")
    workers: int = _f(2, "processes for crop extraction")
    threads: int = _f(0, "torch threads (0: all cores)")
    name: str | None = _f(None, "model name in the card (default: the architecture)")
    install: bool = _f(False, "copy the exported model into the user's model folder")
    default: bool = _f(False, "with --install: make it the default model")

    # ------------------------------------------------------------------ checks and views

    def check(self) -> None:
        """Raise ValueError (one line) for a config that cannot be trained."""
        if not self.data:
            raise ValueError("no data: give --data ROOT [ROOT...] or a recipe with data = [...]")
        if not self.arch:
            raise ValueError('no architecture: give --arch NAME or a recipe with arch = "..."')
        probabilities = (
            self.downscale,
            self.compress,
            self.sbi,
            self.cutout,
            self.sbi_regions,
            self.tight_pad,
            self.tight_flat,
            self.colour_cast,
            self.captions,
            self.occlude,
        )
        if not all(0 <= p <= 1 for p in probabilities):
            raise ValueError(
                "--downscale, --compress, --sbi, --sbi-regions, --cutout, --tight-pad, --tight-flat, "
                "--colour-cast, --captions and --occlude are probabilities: between 0 and 1"
            )
        if self.tight_flat > 0 and not self.tight_pad > 0:
            raise ValueError("--tight-flat P is a share of --tight-pad's borders: give --tight-pad too")
        if not 0 < self.train_groups <= 1:
            raise ValueError("--train-groups F is a share of the training groups: above 0 and at most 1")
        if self.train_sources is not None and not self.train_sources:
            raise ValueError("--train-sources names at least one source (leave it out to train on all of them)")
        if self.sbi_regions and not self.sbi:
            raise ValueError("--sbi-regions P is a share of the pseudo-fakes: it needs --sbi P > 0")
        if self.init and self.pretrained not in ("auto", "none"):
            raise ValueError(
                f"--init gives the starting weights: it cannot go with --pretrained {self.pretrained} "
                "(--init '' turns a recipe's off)"
            )
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"--precision is fp32 or bf16, not {self.precision!r}")
        if not 0 <= self.ema < 1:
            raise ValueError("--ema is a decay: at least 0 and below 1 (0.998 averages over about the last 500 steps)")
        if self.folds and not 0 <= self.fold < self.folds or self.folds == 1 or self.fold and not self.folds:
            raise ValueError("--fold I needs --folds K with K >= 2 and 0 <= I < K")
        if self.epoch_size < 0 or self.fit_valid < 0 or not 0 < self.target_fa < 1:
            raise ValueError("--epoch-size and --fit-valid are counts (0 or more); --target-fa is a rate in (0, 1)")
        if self.balance == "domain" and not (self.epoch_size and self.sbi):
            raise ValueError("--balance domain needs --epoch-size N and --sbi P (pseudo-fakes for real-only sources)")
        if self.mask_weight < 0 or self.mask_weight and self.balance != "domain":
            raise ValueError("--mask-weight W is a loss weight (0 or more) and needs --balance domain")
        if not (math.isfinite(self.margin) and 0 <= self.margin <= 1):
            raise ValueError("--margin M is a share of the face box's side: between 0 and 1")
        if not math.isfinite(self.mixup) or self.mixup < 0 or self.mixup and (self.mask_weight or self.pairs):
            raise ValueError(
                "--mixup A is a Beta parameter (0: off, else above 0) and works with neither "
                "--mask-weight nor --pairs (a blended crop has neither one mask nor one partner)"
            )
        if (
            not math.isfinite(self.identity_adversary)
            or self.identity_adversary < 0
            or self.identity_adversary
            and (self.balance != "domain" or self.pairs or self.mixup)
        ):
            raise ValueError(
                "--identity-adversary W is a loss weight (0 or more) and needs --balance domain, without --pairs "
                "or --mixup"
            )
        if self.pairs < 0 or self.pairs and not (self.balance == "domain" and self.bs % 2 == 0):
            raise ValueError("--pairs W is a loss weight (0 or more) and needs --balance domain and an even --bs")
        if self.distill_alpha is not None and not 0 <= self.distill_alpha <= 1 or not self.distill_temperature > 0:
            raise ValueError("--distill-alpha is a weight between 0 and 1; --distill-temperature is above 0")
        if self.teacher is None and (
            self.distill_alpha is not None
            or self.distill_temperature != DEFAULT_DISTILL_TEMPERATURE
            or self.distill_features
            or self.distill_teacher_size
        ):
            raise ValueError(
                "--distill-alpha, --distill-temperature, --distill-features and --distill-teacher-size need "
                "--teacher CARD"
            )
        if self.distill_features < 0:
            raise ValueError("--distill-features is a loss weight: 0 or more")
        if self.distill_grid < 0 or self.distill_grid and not self.distill_features:
            raise ValueError("--distill-grid G is a number of cells a side (0 or more) and needs --distill-features W")
        if self.teacher and "{fold}" in self.teacher and not self.folds:
            raise ValueError("--teacher names '{fold}' but the run has no --folds")
        if self.init and "{fold}" in self.init and not self.folds:
            raise ValueError("--init names '{fold}' but the run has no --folds")
        if self.lr_find_steps < 10:
            raise ValueError(
                "--lr-find-steps must be at least 10 (lr_find drops the first tenth and the last 5 losses)"
            )
        # (an audit: --lr nan trained and wrote invalid JSON, --epochs -1 exported an untrained model, --size 0 became
        # the architecture's size, --bs 0 ended in a ZeroDivisionError traceback)
        if self.epochs < 1 or self.freeze_epochs < 0:
            raise ValueError("--epochs is at least 1 and --freeze-epochs at least 0")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"--lr is a learning rate above 0 (leave it out for the default); got {self.lr}")
        if not (math.isfinite(self.lr_mult) and self.lr_mult > 0):
            raise ValueError(f"--lr-mult is above 0; got {self.lr_mult}")
        if self.size is not None and not 16 <= self.size <= 1024:
            raise ValueError(
                f"--size is the input's side in pixels, 16 to 1024 (leave it out for the default); got {self.size}"
            )
        if self.bs < 1 or self.frames < 1 or min(self.workers, self.threads, self.max_train_frames) < 0:
            raise ValueError("--bs and --frames are at least 1; --workers, --threads and --max-train-frames at least 0")
        if not self.folds and not (math.isfinite(self.val_fraction) and 0 < self.val_fraction < 1):
            raise ValueError(f"--val-fraction is a share of the groups, above 0 and below 1; got {self.val_fraction}")

    @property
    def effective_split_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    def init_file(self) -> str | None:
        """The starting weights of this run: ``--init`` with ``{fold}`` replaced by ``--fold`` (None: none)."""
        return self.init.replace("{fold}", str(self.fold)) if self.init else None

    def teacher_card(self) -> str | None:
        """The teacher's card for this run: ``--teacher`` with ``{fold}`` replaced by ``--fold`` (None: no teacher;
        an empty ``--teacher ''`` turns a recipe's teacher off)."""
        return self.teacher.replace("{fold}", str(self.fold)) if self.teacher else None

    @property
    def effective_distill_alpha(self) -> float:
        """The soft loss's weight: ``--distill-alpha``, else the default with a teacher, else 0."""
        if not self.teacher:
            return 0.0
        return DEFAULT_DISTILL_ALPHA if self.distill_alpha is None else self.distill_alpha

    def to_dict(self) -> dict:
        return asdict(self)

    def recipe(self) -> dict:
        """What is trained, without where and how the run was done (fold, output folder, cache, threads...)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_RECIPE}

    def to_toml(self) -> str:
        """The config as a TOML recipe (None values left out: they mean 'the default')."""
        lines = []
        for k, v in self.to_dict().items():
            if v is None:
                continue
            if isinstance(v, bool):
                lines.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, (int, float)):
                lines.append(f"{k} = {v!r}")
            elif isinstance(v, list):
                lines.append(f"{k} = [{', '.join(_quote(x) for x in v)}]")
            else:
                lines.append(f"{k} = {_quote(v)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown recipe key(s): {', '.join(unknown)}")
        cfg = cls(**d)
        if isinstance(cfg.data, str):
            cfg.data = [cfg.data]
        if isinstance(cfg.train_sources, str):
            cfg.train_sources = [cfg.train_sources]
        if cfg.train_sources is not None and not (
            isinstance(cfg.train_sources, list) and all(isinstance(x, str) and x for x in cfg.train_sources)
        ):
            raise ValueError('train_sources is a list of data source names (e.g. ["ffpp", "faces_utk"])')
        if cfg.init is not None and not isinstance(cfg.init, str):
            raise ValueError('init is the path of a *_mimic.safetensors file ("runs/mimic/resnet18_mimic.safetensors")')
        if cfg.train_sources == ["all"]:  # --train-sources all: a recipe's list turned off
            cfg.train_sources = None
        if cfg.train_sources:  # one recipe whatever the order: folds trained alike pool in crossval
            cfg.train_sources = sorted(set(cfg.train_sources))
        return cfg


def _quote(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def recipe_path(name_or_path: str) -> Path:
    """A recipe file: a path, or the name of a shipped recipe (``realfaces`` -> recipes/realfaces.toml)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.is_file():
        return p
    shipped = RECIPES / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(q.stem for q in RECIPES.glob("*.toml")))
    raise ValueError(f"no recipe {name_or_path!r} (a .toml file, or one of: {known})")


def recipe_index() -> dict[str, dict]:
    """The shipped recipes' index (``recipe_index.toml``): recipe name (``temporal/rgbd`` for those under a folder) ->
    ``summary``, ``status`` ("default", "shipped" or "not shipped"), ``model`` (the card's name, where it ships),
    ``c23`` (pooled out-of-fold FF++ c23 video AUC; ``measured`` says how where it differs) and ``results`` (the
    heading's anchor in docs/results.md)."""
    with open(RECIPE_INDEX, "rb") as f:
        return tomllib.load(f)


def parser(prog: str = "deepfake-lens train") -> argparse.ArgumentParser:
    """The train command's parser, one flag per :class:`TrainConfig` field; every default is None, so that what
    was given on the command line can be told from what was not."""
    from detector.models.registry import REGISTRY

    p = argparse.ArgumentParser(
        prog=prog,
        description="Train a face classifier with fastai (lr_find, one-cycle "
        "fine-tuning) and export it as safetensors + model card",
    )
    p.add_argument("--recipe", help="a TOML recipe (path, or the name of a shipped one); flags override it")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        meta = dict(f.metadata)
        kw = {"help": meta.pop("help"), "default": None}
        if f.type in ("bool",):
            kw["action"] = argparse.BooleanOptionalAction  # --x / --no-x: either overrides the recipe
        else:
            kw["type"] = {"int": int, "float": float, "int | None": int, "float | None": float}.get(str(f.type), str)
            kw.update(meta)
        if f.name == "arch":
            kw["choices"] = sorted(REGISTRY)
        p.add_argument(flag, **kw)
    return p


def parse_config(argv=None, prog: str = "deepfake-lens train") -> TrainConfig:
    """Defaults <- the recipe file <- the flags given; exits with a one-line usage error on a bad config."""
    p = parser(prog)
    args = p.parse_args(argv)
    values: dict = {}
    if args.recipe:
        try:
            with open(recipe_path(args.recipe), "rb") as fh:
                values = tomllib.load(fh)
            TrainConfig.from_dict(values)  # unknown keys
        except (OSError, ValueError, tomllib.TOMLDecodeError) as e:
            p.error(f"--recipe {args.recipe}: {e}")
    for f in fields(TrainConfig):
        given = getattr(args, f.name)
        if given is not None:
            values[f.name] = given
    if args.lr_find and args.lr is None:  # asked for on the command line: use its suggestion, not a recipe's lr
        values["lr"] = None
    for f in fields(TrainConfig):
        values.setdefault(f.name, f.default if f.default is not MISSING else None)
    cfg = TrainConfig.from_dict(values)
    try:
        cfg.check()
    except ValueError as e:
        p.error(str(e))
    return cfg
