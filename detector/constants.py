"""Every constant the package shares, in one place: paths, margins, limits, thresholds.

Paths
    SHIPPED_MODELS   the trained models that come with the package (read through importlib.resources when
                     installed; the repository's ``assets/models`` when run from a checkout)
    USER_MODELS      where ``deepfake-lens models --install`` and ``train --install`` put models: a user data
                     folder, never the installed package (``$DEEPFAKE_LENS_HOME/models``, default
                     ``$XDG_DATA_HOME/deepfake-lens/models`` or ``~/.local/share/deepfake-lens/models``)
    MODEL_DIRS       where models are looked up, in order: ``$DEEPFAKE_MODELS_DIR`` alone when set (one folder,
                     for tests and benchmarks), else USER_MODELS then SHIPPED_MODELS
    CROP_CACHE       face crops made for training and evaluation (``$DEEPFAKE_CACHE``, default
                     ``~/.cache/deepfake-lens/crops``)
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "FACE_MARGIN",
    "SMALLEST_FACE_PX",
    "FEW_FRAMES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "DEFAULT_THRESHOLD",
    "DEFAULT_FRAMES",
    "SCORE_DECIMALS",
    "SHIPPED_MODELS",
    "USER_MODELS",
    "MODEL_DIRS",
    "CROP_CACHE",
    "model_dirs",
    "REPO_ASSETS",
    "DEPTH_SIZE",
    "DEPTH_FLOOR",
    "APP_DOWNLOADS_PREFIX",
    "LAB_PAIRS",
    "AGE_BANDS",
    "SMALLEST_TRAINING_CLIP_SIDE",
    "HEAVY_COMPRESSION_BPP",
    "HEAVY_KEYFRAME_BPP",
]

# ---------------------------------------------------------------- faces and models
FACE_MARGIN = 0.3  # a face crop is the detector's box grown by this share of its longer side, squared
# a face whose box is smaller across (its longer side, px) is found but not judged: blown up from a few pixels to the
# model's input it holds nothing a verdict could rest on (a browser check: 9 px faces got "Likely REAL"). The
# FaceForensics++ training faces' 2nd percentile is 70 px (the default's card, ranges); halved, as when the smallest
# training clips (480 px) are forwarded at 240 px, where the small-video threshold was set, that is 35 px
SMALLEST_FACE_PX = 24
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_THRESHOLD = 0.5  # a card without a calibrated threshold
DEFAULT_FRAMES = 32  # frames sampled evenly over a clip
# a clip's score from fewer sampled frames with a face is warned of: the thresholds were set on clips scored over 32-64
# frames, and with few one frame moves the score far (an audit: a real wild clip was "fake 0.865" at 4 frames and
# 0.82 at 2, uncertain at 0.58-0.62 from 8 to 64)
FEW_FRAMES = 8
# reports write scores (and a sequence head's weights and contributions) to this many decimals; labels compare the raw
# score (report.verdict)
SCORE_DECIMALS = 6
CROP_MAX_SIDE = 320  # cached training crops are stored at most this large
DEPTH_SIZE = 64  # side of a face crop's landmark depth map (detector.inference.depth)
DEPTH_FLOOR = 0.1  # the farthest face point's value in a depth map (0 is kept for "no face there")

# ---------------------------------------------------------------- training
DEFAULT_DISTILL_ALPHA = 0.7  # train --teacher: weight of the teacher's soft loss (the labels' loss gets the rest)
DEFAULT_DISTILL_TEMPERATURE = 1.0  # train --teacher: softmax temperature of the soft loss

# ---------------------------------------------------------------- evaluation
# the age bands of the fairness tables (the lowest age of each, and its name): babies and old people apart, as their
# faces differ most from the adults most training faces show
AGE_BANDS = ((0, "0-2"), (3, "3-12"), (13, "13-19"), (20, "20-39"), (40, "40-59"), (60, "60-79"), (80, "80+"))

# the training clips' smallest short side: FaceForensics++ (c23, c40, its actor clips) is 480p or larger; a video
# below it is warned of (scripts/forward_probe.py: real clips shrunk to 360 px and compressed again, as when forwarded,
# were called fake more than twice as often out of fold, and fewer fakes were caught)
SMALLEST_TRAINING_CLIP_SIDE = 480
# a video file under this many bits per pixel and frame (its size over duration x fps x width x height) is compressed
# as heavily as FaceForensics++'s c40 videos: c40 reals and fakes and the actor clips 0.0024-0.0117, the c23 videos
# 0.0256-0.0836, the wild clips 0.065-0.54 (H.264 all). At c40 the models catch far fewer fakes (the default: AUC
# 0.742 against 0.949 at c23, 11 of 32 fakes called fake), so a verdict short of "fake" is warned of
HEAVY_COMPRESSION_BPP = 0.015
# ... unless its keyframes (whole pictures) are this large or more, in bits per pixel (their median): a still or slow
# picture costs few bits between keyframes at any quality (an audit: real portraits as 2 s still clips at CRF 20,
# 0.007-0.014 over all, were warned of as c40). Keyframes: c40 reals and fakes and actor clips 0.042-0.144, c23
# 0.140-1.18, still clips of photos at CRF 20 0.27-0.64 (slowly zoomed 0.28-0.68), at CRF 36 0.073-0.143
# (scripts/compression_probe.py --clips)
HEAVY_KEYFRAME_BPP = 0.2

# ---------------------------------------------------------------- inputs
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv", ".mpg", ".mpeg", ".wmv", ".flv")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")  # photos: analysed as one-frame clips
GIF_EXTENSIONS = (".gif",)  # a photo when it holds one frame, a clip when animated (detector.inference.stills)
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS + GIF_EXTENSIONS  # what a folder scan takes

# the shared data's sources (a data folder's name; ":actors" for FF++ actor clips) by their names for readers
SOURCE_NAMES = {
    "ffpp": "FaceForensics++ c23",
    "ffpp_c40": "FaceForensics++ c40",
    "ffpp_c40:actors": "DeepFakeDetection actor clips",
    "faces_utk": "UTKFace photos",
    "all": "all",
}

# ---------------------------------------------------------------- the app
LAB_PAIRS = 6  # the failure lab's "faces before and after": that many sampled frames, spread over the clip
APP_DOWNLOADS_PREFIX = "deepfake_app_"  # the app's one folder of report downloads in the temp dir, removed at exit

# ---------------------------------------------------------------- paths
REPO_ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _shipped() -> Path:
    try:  # installed: the package data ``detector/assets`` (pyproject maps the repository's assets/ there)
        from importlib.resources import files

        p = Path(str(files("detector.assets") / "models"))
        if p.is_dir():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return REPO_ASSETS / "models"


def _data_home() -> Path:
    if os.environ.get("DEEPFAKE_LENS_HOME"):
        return Path(os.environ["DEEPFAKE_LENS_HOME"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "deepfake-lens"


SHIPPED_MODELS = _shipped()
USER_MODELS = _data_home() / "models"
CROP_CACHE = Path(os.environ.get("DEEPFAKE_CACHE") or Path.home() / ".cache" / "deepfake-lens" / "crops")


def model_dirs() -> list[Path]:
    """Folders models are looked up in, first match wins (read from the environment at each call)."""
    if os.environ.get("DEEPFAKE_MODELS_DIR"):
        return [Path(os.environ["DEEPFAKE_MODELS_DIR"])]
    return [USER_MODELS, SHIPPED_MODELS]


MODEL_DIRS = model_dirs()
