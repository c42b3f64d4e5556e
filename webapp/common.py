"""What the app's tabs share: the models offered, the limits, the quick checks before a run, and the guard that
turns any failure into a one-line message.

    MODELS_DIR               where models are looked up: None for the user's and the shipped ones (tests set a
                             folder); the tabs read it here, as ``common.MODELS_DIR``, when they run
    model_choices()          the model menu, (label, name), the default first; cam_choices(): the CAM menu
    validate_input(...)      the quick checks before a run: a file given, readable, within LIMITS; the model exists
    _run_guarded(fn, video)  ``fn(video)``, every failure turned into a readable gr.Error (never a stack trace)
    not_run(...)             the failure lab's and the compare tab's panel after a run failed

The tabs import these functions by name: a test that replaces one patches it where it is called (the tab's module),
or reads it through ``common`` as the tabs read MODELS_DIR.
"""

from __future__ import annotations

import logging
import os
import re

import gradio as gr

from detector.constants import GIF_EXTENSIONS
from detector.errors import InputError, NoModelError
from detector.inference.stills import is_still
from detector.inference.video import Limits
from detector.models.store import list_models
from webapp.verdict import THRESHOLD_STEP, message_html

__all__ = [
    "MODELS_DIR",
    "LIMITS",
    "MANY_RUNS_MAX_FRAMES",
    "CAM_FACES",
    "NO_CAM",
    "EXAMPLE_LABELS",
    "model_choices",
    "model_card",
    "cam_choices",
    "show_js",
    "DRAWING",
    "failure_reason",
    "NO_CLIP",
    "not_run",
    "pick_media",
    "validate_input",
    "check_and_remember",
    "checked_media",
    "example_list",
]

MODELS_DIR = None  # where models are looked up: None for the user's and the shipped models (tests set a folder)

log = logging.getLogger("app")  # the app's one logger, whichever module logs ("INFO app: ...")

LIMITS = Limits(max_file_mb=200, max_duration_s=120, max_frames=128)
# the lab and compare tabs analyse a clip several times over (each change, each model): fewer frames at most
MANY_RUNS_MAX_FRAMES = 64
CAM_FACES = 16  # the Analyse tab explains at most this many faces, the most fake first (its slider's start)
NO_CAM = "none (faster)"
EXAMPLE_LABELS = {"real": "real: astronaut, panned and zoomed", "fake": "fake: the same, face self-blended"}


def model_choices(short: bool = False) -> list[tuple[str, str]]:
    """(label, name) of each installed model, the default first.  ``short``: for the first tab's closed menu, which
    cut the full label off mid-word (a browser check): the name, "default", the AUC ("one-split" where it was not
    measured on data the model never saw) and "not calibrated" where it is not; the model's card below the menu
    says the rest."""

    def auc(c) -> tuple[str, float | None]:
        """The honest figure first: cross-validated (out-of-fold) when the card has one, else its validation split."""
        cv = c.metrics.get("crossval_video_auc")
        if isinstance(cv, (int, float)):
            return "cross-validated", cv
        v = c.metrics.get("video_auc")
        if isinstance(v, (int, float)):
            how = "out-of-fold" if c.metrics.get("out_of_fold") else "one-split"
            how = "unseen-data" if c.metrics.get("unseen") else how  # a peer model measured on data it never saw
            return how, v
        return "untested", None

    def label(c) -> str:
        how, value = auc(c)
        if short:
            # measured on data it never saw (cross-validated, out of fold, unseen data) unless "one-split"
            figure = "untested" if value is None else f"{how + ' ' if how == 'one-split' else ''}AUC {value:.2f}"
            return f"{c.name} ({'default, ' if c.default else ''}{figure}{'' if c.calibrated else ', not calibrated'})"
        kind = f"{len(c.members)} x {c.architecture}" if c.members else c.architecture
        figure = ", untested" if value is None else f", {how} AUC {value:.2f}"
        threshold = "" if c.calibrated else f", threshold {c.threshold:g} not calibrated"
        return f"{c.name}  ({'default; ' if c.default else ''}{kind}{figure}{threshold})"

    from webapp.cards import menu_order

    # the default first, then the models installed beside it; the input size is on the card
    return [(label(c), c.name) for c in menu_order(list_models(MODELS_DIR))]


def model_card(name: str | None):
    for c in list_models(MODELS_DIR):
        if c.name == name:
            return c
    return None


def cam_choices() -> list[str]:
    """CAM methods offered: ``explain.METHOD_NAMES`` (the keys of ``explain.METHODS``, listed without importing
    torch or pytorch-grad-cam, so the page is served sooner), then "none"."""
    from explain import METHOD_NAMES

    return [*METHOD_NAMES, NO_CAM]


def _friendly(e: Exception, video: str | None) -> str:
    """The one-line message of an InputError/NoModelError, without the server's temp path."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if video:
        msg = msg.replace(str(video), os.path.basename(str(video)))
    return re.sub(r"\[Errno -?\d+\] ", "", msg)  # FFmpeg's error numbers mean nothing to a user


def show_js(selector: str) -> str:
    """JavaScript that scrolls ``selector`` into view unless its top is already in the upper part of the screen: a
    run's results (or its reason for not running) appear at the top of the right column, above the run's button
    (a teacher's audit at 1280 x 800: the projector showed the bottom of the results, or nothing at all)."""
    return (
        f"() => {{ const e = document.querySelector('{selector}'); if (!e) return; const r = e.getBoundingClientRect();"
        " if (r.top < 0 || r.top > window.innerHeight * 0.6) e.scrollIntoView({behavior: 'smooth', block: 'start'}); }"
    )


DRAWING = 0.9  # the progress bar's share for the analysis itself; drawing the results takes the rest


def _before_drawing(progress):
    """The analysis' progress (0 to 1) on the bar's first :data:`DRAWING` share: its "done" is not the page's (a
    browser check: the bar read "done - 100%" for seconds while the results were drawn)."""
    return lambda f, d: progress(DRAWING * f, desc="drawing the results" if f >= 1 else d)


def _run_guarded(fn, video, *args, **kwargs):
    """Call ``fn``; turn every failure into a readable gr.Error (never a stack trace in the UI)."""
    try:
        return fn(video, *args, **kwargs)
    except gr.Error:
        raise
    except InputError as e:
        raise gr.Error(
            _friendly(e, video), title="Cannot analyse this file", duration=None, print_exception=False
        ) from None
    except NoModelError as e:
        raise gr.Error(_friendly(e, video), title="No model", duration=None, print_exception=False) from None
    except Exception as e:  # a bug: log it for the operator, keep the user's message short
        log.exception("analysis failed")
        raise gr.Error(
            f"Something went wrong inside the detector ({type(e).__name__}: {_friendly(e, video)[:200]}).",
            title="Internal error",
            duration=None,
            print_exception=False,
        ) from None


def _check_video(video: str | None) -> str:
    if not video:
        raise InputError(
            "Upload a video (mp4, mov, webm or avi) or a photo (jpg, png, webp, bmp or gif) first, or pick an example."
        )
    return video


def failure_reason(video, model_name, photo=None) -> str | None:
    """The one-line reason :func:`validate_input` gives for these inputs, or None where its checks pass (the
    analysis itself failed later)."""
    try:
        checked_media(video, model_name, photo)
    except gr.Error as e:
        return str(e.message)
    return None


NO_CLIP = "no video or photo in this tab: upload one, pick an example or use the first tab's."


def not_run(video, model_name, photo=None, more: str | None = None, asked=None):
    """The lab's and the compare tab's panel after a run failed: why, where the quick checks (or ``more``, a reason
    the caller can tell) say it, else where to read it.  Found by a browser check: their panels went on saying
    "Analysing ..." under gradio's bare "Error" badge, and the reason was only in a box that can be closed.

    ``asked``: the (video, photo, model) the run was asked for (:func:`check_and_remember`); where the inputs are
    no longer those, the run did not fail: a new file cancelled it, and the new file's note speaks (``gr.skip()``;
    a review: "Not run: the reason is in the message box" stood under a new, valid file)."""
    if asked is not None and tuple(asked) != (video, photo, model_name):
        return gr.skip()
    reason = (failure_reason(video, model_name, photo) if (video or photo) else NO_CLIP) or more
    text = f"Not run: {reason}" if reason else "Not run: the reason is in the message box at the top right."
    return message_html(text, "error")


def pick_media(video: str | None, photo: str | None) -> str | None:
    """The file to analyse: the photo when one is given, else the video (the page keeps only one of them)."""
    return photo or video or None


def _check_photo(photo: str | None) -> None:
    """A photo must be a picture; an animated gif put in the photo slot is analysed as the short clip it is."""
    if photo and not (is_still(photo) or photo.lower().endswith(GIF_EXTENSIONS)):
        raise InputError(f"{os.path.basename(photo)}: photos must be jpg, png, webp, bmp or gif")


def validate_input(video, model_name, photo=None):
    """Quick checks before an analysis: a video or photo is given, readable, within the limits; the model exists.

    Raises gr.Error on the first problem, without a message box: each tab's panel, beside its button, says the same
    line (:func:`webapp.analyse_tab.not_analysed`, :func:`not_run`).  Browser checks: a box that stayed covered the
    results of the next file, a bad photo gave two identical boxes, and the lab's lay over the next run's verdict.
    A failure inside an analysis keeps its box until closed: the panel points to it. Returns a "working" note.
    """
    try:
        media, info = checked_media(video, model_name, photo)
    except gr.Error as e:
        raise gr.Error(e.message, title=e.title, visible=False, print_exception=False) from None
    return message_html(f"Analysing {_media_line(media, info)}…")


def check_and_remember(video, model_name, photo=None):
    """:func:`validate_input`'s note, and what was asked for (for :func:`not_run` and
    :func:`webapp.analyse_tab.not_analysed` to tell a cancelled run from a failed one)."""
    return validate_input(video, model_name, photo), (video, photo, model_name)


def checked_media(video, model_name, photo=None):
    """(the file to analyse, its header info) after :func:`validate_input`'s checks; gr.Error (one line) on the
    first problem."""
    from detector.inference.video import probe_cached
    from detector.models.store import resolve

    media = pick_media(video, photo)

    def check(media):
        media = _check_video(media)
        _check_photo(photo)
        if is_still(media):
            from detector.inference.stills import read_still

            info, _ = read_still(media)
        else:
            info = probe_cached(media, LIMITS)
        resolve(model_name or None, MODELS_DIR)
        return info

    return media, _run_guarded(check, media)


def _media_line(media: str, info) -> str:
    """ "the photo a.jpg (512x512)" or "clip.mp4 (3.0 s, 640x360, 25 fps)"."""
    name = os.path.basename(media)
    if is_still(media):
        return f"the photo {name} ({info.width}x{info.height})"
    return f"{name} ({info.duration:.1f} s, {info.width}x{info.height}, {info.fps:.0f} fps)"


def _without_server_path(report, path: str):
    """The report with the uploaded file's base name wherever the server's upload path was (``video``,
    ``video_info.path``, warnings): the page, the downloads and the API never show gradio's cache folder."""
    name = os.path.basename(str(path))
    report.video = name
    report.video_info = {**report.video_info, "path": name} if "path" in report.video_info else report.video_info
    report.warnings = [w.replace(str(path), name) for w in report.warnings]
    return report


def _slider_threshold(threshold, model) -> float | None:
    """The threshold slider's value as ``analyze`` takes it: None (the card's own threshold and its uncertain band)
    within half a slider step of one of the card's thresholds (its own, or its small videos'), which the slider
    cannot show to the last digit."""
    if threshold is None or model.card.is_own_threshold(threshold, tolerance=THRESHOLD_STEP / 2 + 1e-9):
        return None
    return float(threshold)


def _model(model_name):
    """The classifier a model name (or card path) from the page means, looked up where the menu lists them
    (``MODELS_DIR``); loaded once per process."""
    from detector.models.classifier import load_model

    return load_model(model_name or None, MODELS_DIR)


def _heat_colours(colours) -> str:
    """The heat maps' colours a handler was given, checked (the radio sends no other; raw HTTP may)."""
    from webapp.faces import HEAT_MAP_LOOKS

    if colours not in HEAT_MAP_LOOKS:
        known = ", ".join(HEAT_MAP_LOOKS)
        raise gr.Error(f"unknown heat-map colours {colours!r}: one of {known}", print_exception=False)
    return colours


def example_list(video: gr.Video, examples: dict[str, str], label: str = "Examples") -> gr.Examples:
    """The example clips (``{kind: path}``) under a Video slot, labelled as :data:`EXAMPLE_LABELS` says; picking one
    is a click on its ``dataset``."""
    return gr.Examples(
        [[p] for p in examples.values()],
        inputs=[video],
        example_labels=[EXAMPLE_LABELS.get(k, k) for k in examples],
        label=label,
    )


def _keep_one(value, other=None):
    """A file was put in one input: empty the other one where it holds a file (left unchanged when this one was
    emptied, or the other is empty already: emptying an empty slot fires its change event all the same, and that
    event's handlers cancel a run and clear its results; under load it came after the button was pressed, and the
    failure lab's run was cancelled with "Not run" and no reason, a flaky browser test)."""
    return None if value and other else gr.skip()
