"""The app's two example clips, rendered by the project itself (nothing copied from any data set).

* ``astronaut_real.mp4`` -- scikit-image's public-domain astronaut photo, panned and zoomed
  (:func:`detector.data.synthetic.render_clip`): a real face.
* ``astronaut_selfblended_fake.mp4`` -- the same clip with every frame self-blended
  (:class:`detector.training.sbi.SelfBlender`: the face blended back onto itself with a slightly
  changed copy, the training trick of Shiohara & Yamasaki 2022): a synthetic fake.

They are written into ``assets/examples/`` (git-ignored) on the app's first start, or by
``python scripts/make_examples.py``.  Two more, for the README's teaching demonstrations, are made from them only on
request (``python scripts/make_examples.py --teaching``, :func:`ensure_teaching`):

* ``astronaut_forwarded.mp4`` -- the fake example as a messaging app forwards it: every other frame, shrunk to
  480 x 360 and encoded at H.264 CRF 36 (``scripts/forward_probe.py``'s "forwarded" condition);
* ``astronaut_part_swapped.mp4`` -- the real example with its last third self-blended (a clip fake in part).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from detector.constants import FACE_MARGIN
from detector.constants import REPO_ASSETS as ASSETS

EXAMPLES_DIR = ASSETS / "examples"


def _fallback_dirs() -> tuple[Path, ...]:
    """Where the clips go when the app's own folder cannot be written: the user's cache, else a folder of this
    user's own in the system's temporary folder (a review: one name for every user let another plant clips there)."""
    out = []
    try:
        out.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "deepfake-lens" / "examples")
    except RuntimeError:  # no HOME and no passwd entry for this user (a container's arbitrary user id)
        pass
    out.append(Path(tempfile.gettempdir()) / f"deepfake-lens-examples-{os.getuid() if hasattr(os, 'getuid') else 0}")
    return tuple(out)


FALLBACK_DIRS = _fallback_dirs()
REAL = "astronaut_real.mp4"
FAKE = "astronaut_selfblended_fake.mp4"
FORWARDED = "astronaut_forwarded.mp4"
PART_SWAPPED = "astronaut_part_swapped.mp4"
SWAPPED_FROM = 2 / 3  # the part-swapped clip's frames from this share of it on are self-blended
SECONDS, FPS, SIZE = 6.0, 25, (640, 480)

log = logging.getLogger(__name__)


def render_real(path: str | os.PathLike, seconds: float = SECONDS, fps: int = FPS, size=SIZE) -> str:
    from detector.data.synthetic import render_clip

    return render_clip(str(path), seconds=seconds, fps=fps, size=size)


def self_blend_frame(frame, detector, blender, seed: int = 0, margin: float = FACE_MARGIN):
    """``frame`` with its most confident face self-blended in place (unchanged if no face is found).

    The blender is re-seeded for every frame, so each frame gets the same colour change,
    mask deformation and blend ratio (relative to its face): the fake does not flicker.
    """
    import numpy as np

    from detector.inference.faces import crop_box, crop_face

    faces = detector.detect(frame)
    if not faces:
        return frame
    box = faces[0].box
    h, w = frame.shape[:2]
    x, y, side = crop_box(box, w, h, margin)
    blender.rng = np.random.default_rng(seed)
    result = blender.blend(crop_face(frame, box, margin))
    if result is None:
        return frame
    fake, _ = result
    out = frame.copy()
    sx0, sy0, sx1, sy1 = max(x, 0), max(y, 0), min(x + side, w), min(y + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0:sy1, sx0:sx1] = fake[sy0 - y : sy1 - y, sx0 - x : sx1 - x]
    return out


def render_fake(
    path: str | os.PathLike, seconds: float = SECONDS, fps: int = FPS, size=SIZE, seed: int = 0, start: int = 0
) -> str:
    """The real clip with the face of every frame (from frame ``start`` on) self-blended (:func:`self_blend_frame`)."""
    from detector.data.synthetic import render_clip
    from detector.inference.faces import FaceDetector
    from detector.training.sbi import SelfBlender

    detector = FaceDetector()
    with SelfBlender(seed=seed) as blender:
        try:
            return render_clip(
                str(path),
                seconds=seconds,
                fps=fps,
                size=size,
                transform=lambda frame, i: self_blend_frame(frame, detector, blender, seed) if i >= start else frame,
            )
        finally:
            detector.close()


def render_part_swapped(path: str | os.PathLike, seconds: float = SECONDS, fps: int = FPS, size=SIZE, seed: int = 0):
    """The real clip with the face of its frames from :data:`SWAPPED_FROM` of it on self-blended, as the fake's."""
    return render_fake(path, seconds, fps, size, seed, start=int(round(seconds * fps * SWAPPED_FROM)))


def forward(src: str | os.PathLike, path: str | os.PathLike, short_side: int = 360, crf: int = 36) -> str:
    """``src`` as a messaging app forwards a clip: every other frame, shrunk so that its short side is at most
    ``short_side`` px (even sizes), H.264 at ``crf``."""
    from fractions import Fraction

    import av
    import cv2
    import numpy as np

    with av.open(str(src)) as inp, av.open(str(path), "w") as out:
        vin = inp.streams.video[0]
        w, h = vin.codec_context.width, vin.codec_context.height
        scale = min(1.0, short_side / min(w, h))
        size = (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2)
        stream = out.add_stream("libx264", rate=(vin.average_rate or Fraction(FPS)) / 2)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        for i, frame in enumerate(inp.decode(vin)):
            if i % 2:
                continue
            img = cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def ensure_teaching(folder: str | os.PathLike = EXAMPLES_DIR, force: bool = False) -> dict[str, str]:
    """The two teaching clips (:data:`FORWARDED`, :data:`PART_SWAPPED`) in ``folder``, rendered where missing (the
    fake example too, where the forwarded clip needs it); returns {"forwarded": path, "part_swapped": path}.
    Unlike :func:`ensure_examples`, a clip that cannot be made raises: it was asked for."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind, name in (("forwarded", FORWARDED), ("part_swapped", PART_SWAPPED)):
        path = folder / name
        if force or not path.is_file() or path.stat().st_size == 0:
            tmp = path.with_suffix(".part.mp4")
            try:
                if kind == "forwarded":
                    fake = folder / FAKE
                    if not fake.is_file() or fake.stat().st_size == 0:
                        render_fake(fake)
                    forward(fake, tmp)
                else:
                    render_part_swapped(tmp)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        out[kind] = str(path)
    return out


def _writable(folder: Path) -> bool:
    """Whether the example clips can be written into ``folder`` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def ensure_examples(folder: str | os.PathLike = EXAMPLES_DIR, force: bool = False) -> dict[str, str]:
    """Render the missing example clips; returns {"real": path, "fake": path} for those that exist.

    A clip that cannot be rendered (e.g. ``detector.training.sbi`` missing) is logged and left out.  Where ``folder``
    cannot be written (an app folder installed read-only, a container run as another user), the clips go to
    the first of :data:`FALLBACK_DIRS` that can be: the app starts either way.
    """
    wanted = Path(folder)
    made = all((wanted / name).is_file() and (wanted / name).stat().st_size > 0 for name in (REAL, FAKE))
    if made and not force:  # rendered already (a container image built with them, run as another user): used
        return {"real": str(wanted / REAL), "fake": str(wanted / FAKE)}
    folder = next((f for f in (wanted, *FALLBACK_DIRS) if _writable(f)), None)
    if folder is None:
        log.warning("no folder to render the example clips into (%s, ...): the app starts without them", wanted)
        return {}
    if folder != wanted:
        log.info("%s cannot be written: the example clips go to %s", wanted, folder)
    out = {}
    for kind, name, render in (("real", REAL, render_real), ("fake", FAKE, render_fake)):
        path = folder / name
        if force or not path.exists() or path.stat().st_size == 0:
            tmp = path.with_suffix(".part.mp4")
            try:
                render(tmp)
                os.replace(tmp, path)
            except Exception as e:  # an example is a nicety: the app starts without it
                log.warning("could not render the %s example clip: %s: %s", kind, type(e).__name__, e)
                tmp.unlink(missing_ok=True)
                continue
        out[kind] = str(path)
    return out


__all__ = [
    "ensure_examples",
    "ensure_teaching",
    "forward",
    "render_real",
    "render_fake",
    "render_part_swapped",
    "self_blend_frame",
    "EXAMPLES_DIR",
    "FALLBACK_DIRS",
]
