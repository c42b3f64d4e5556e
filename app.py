"""The browser app: upload a video or a photo, get a verdict you can inspect.  ``python app.py``

A gradio Blocks app over the same :func:`detector.inference.pipeline.analyze` the CLI uses; the
pictures, plots and tables come from the gradio-free helpers in ``webapp/``.

* "Analyse a video or photo": verdict with the video score and how it was aggregated, warnings
  when it is shaky, a timeline of the fake probability per sampled frame (click a
  point, a face tile, or move the slider to see that frame with its boxes), face
  crops beside their CAM overlays, and the per-frame table as CSV / JSON; a shareable report (one
  self-contained HTML file: verdict, warnings, timeline, faces with their CAMs, model card summary).
* "Failure lab": perturb the clip or photo (the first tab's, or another) with JPEG, blur, noise, a sepia
  filter, flip... and compare verdicts and face crops; or run the three robustness levels (none / flip+rotate /
  heavy), with a warning where a level finds faces in fewer frames than the clean run.
* "Compare models": every installed model on one clip or photo (the first tab's, or another): their timelines
  overlaid with each threshold, each verdict, where they label faces differently, one CAM per model of the same
  face, and the comparison as JSON / CSV (what ``deepfake-lens compare`` writes); models load when first compared.
* HTTP API: ``/analyze_json`` returns the CLI's JSON report (see ``gradio_client``).

Serves on 127.0.0.1:7860; GRADIO_SERVER_NAME, GRADIO_SERVER_PORT or PORT change that
(a Space or a container sets 0.0.0.0).  Models come from assets/models (or the folder
in DEEPFAKE_MODELS_DIR).  No analytics, nothing downloaded.
"""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()  # cold start is measured from here (see main)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import atexit  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import partial  # noqa: E402
from importlib.resources import files  # noqa: E402

import gradio as gr  # noqa: E402

from detector.constants import APP_DOWNLOADS_PREFIX, DEFAULT_FRAMES, GIF_EXTENSIONS, LAB_PAIRS, model_dirs  # noqa: E402
from detector.errors import InputError, NoModelError  # noqa: E402
from detector.evaluation.perturb import (  # noqa: E402
    DESCRIPTIONS,
    LEVEL_DESCRIPTIONS,
    LEVELS,
    MENU_LABELS,
    PERTURBATIONS,
)
from detector.inference.stills import is_still  # noqa: E402
from detector.inference.video import Limits  # noqa: E402
from detector.models.store import list_models  # noqa: E402
from webapp.photo_input import photo_input  # noqa: E402
from webapp.tables import HEADERS  # noqa: E402
from webapp.verdict import THRESHOLD_STEP, message_html  # noqa: E402

MODELS_DIR = None  # where models are looked up: None for the user's and the shipped models (tests set a folder)

log = logging.getLogger("app")
_imported = time.perf_counter()

LIMITS = Limits(max_file_mb=200, max_duration_s=120, max_frames=128)
# the lab and compare tabs analyse a clip several times over (each change, each model): fewer frames at most
MANY_RUNS_MAX_FRAMES = 64
NO_CAM = "none (faster)"
TITLE = "Deepfake detector for videos and photos"
PHOTO_NOTE = "A photo is a single frame: there is no timeline. The photo with its faces is shown below."
PHOTO_NOTE_NO_FACE = "A photo is a single frame: there is no timeline. No face was found in the photo below."
EXAMPLE_LABELS = {"real": "real: astronaut, panned and zoomed", "fake": "fake: the same, face self-blended"}
# a teacher's audit: "self-blended" was said nowhere else, and the fake example is the easy case for the default
EXAMPLES_NOTE = (
    "*Self-blended*: the face pasted back onto itself with a slight change of colour and shape, as in the default "
    "model's training fakes: an easy case for it, not a fake from the wild."
)


# ---------------------------------------------------------------- choices


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


def is_peer(card) -> bool:
    """A model trained by others and converted (the MesoNet authors' weights), not by this project's recipes."""
    return card is not None and "converted_by" in (card.trained or {})


def compared_by_default(card) -> bool:
    """Ticked in the compare tab at first: the default model, and this project's models whose threshold was
    calibrated on real people they never trained on.  The early baselines (a fixed 0.5, which calls many real
    faces fake) and the peers are one tick away."""
    return card is not None and (card.default or (card.calibrated and not is_peer(card)))


def cam_choices() -> list[str]:
    """CAM methods offered: ``explain.METHOD_NAMES`` (the keys of ``explain.METHODS``, listed without importing
    torch or pytorch-grad-cam, so the page is served sooner), then "none"."""
    from explain import METHOD_NAMES

    return [*METHOD_NAMES, NO_CAM]


# ---------------------------------------------------------------- the analysis (a thin layer over analyze)


class _UserError(Exception):
    pass


def _friendly(e: Exception, video: str | None) -> str:
    """The one-line message of an InputError/NoModelError, without the server's temp path."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if video:
        msg = msg.replace(str(video), os.path.basename(str(video)))
    return re.sub(r"\[Errno -?\d+\] ", "", msg)  # FFmpeg's error numbers mean nothing to a user


GALLERY_COLUMNS = 4  # face tiles in a row of the Analyse tab's gallery
GALLERY_HEIGHT = 520  # its height, with a scroll bar, once its tiles fill more than two rows
SHOW_FRAME_JS = "() => document.querySelector('#frame-caption')?.scrollIntoView({behavior: 'smooth', block: 'start'})"


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


WELCOME = "Upload a video or a photo, or pick an example, then press Analyse."
NOT_ANALYSED = (
    "Nothing could be analysed: the reason is in the message box at the top right (the file, or the model chosen). "
    "Change what it names, then press Analyse."
)


def failure_reason(video, model_name, photo=None) -> str | None:
    """The one-line reason :func:`validate_input` gives for these inputs, or None where its checks pass (the
    analysis itself failed later)."""
    try:
        checked_media(video, model_name, photo)
    except gr.Error as e:
        return str(e.message)
    return None


def not_analysed(ui, video=None, model_name=None, photo=None, asked=None) -> dict:
    """Every result of the Analyse tab after an analysis failed: the verdict panel says so, and why where the quick
    checks can tell (:func:`failure_reason`: the error box at the top right says it too, but it can be closed),
    and the previous file's timeline, frame, faces, table, downloads and report go, so that nothing on the page,
    the threshold slider's re-labelling included, speaks of another file.

    ``asked``: the (video, photo, model) the analysis was asked for (:func:`check_and_remember`).  When the inputs
    are no longer those, the analysis did not fail: another file or model cancelled it, and that change's own
    handler speaks ("Ready: ...", "Model changed to ...").  Found by a browser check: a red "Nothing could be
    analysed: the reason is in the message box" with no message box, after a model was picked mid-analysis."""
    if asked is not None and tuple(asked) != (video, photo, model_name):
        return {ui.verdict: gr.skip()}
    reason = failure_reason(video, model_name, photo) if (video or photo) else None
    text = f"Nothing could be analysed: {reason}" if reason else NOT_ANALYSED
    return {**cleared_results(ui), ui.verdict: message_html(text, "error")}


NO_CLIP = "no video or photo in this tab: upload one, pick an example or use the first tab's."


def not_run(video, model_name, photo=None, more: str | None = None) -> str:
    """The lab's and the compare tab's panel after a run failed: why, where the quick checks (or ``more``, a reason
    the caller can tell) say it, else where to read it.  Found by a browser check: their panels went on saying
    "Analysing ..." under gradio's bare "Error" badge, and the reason was only in a box that can be closed."""
    reason = (failure_reason(video, model_name, photo) if (video or photo) else NO_CLIP) or more
    text = f"Not run: {reason}" if reason else "Not run: the reason is in the message box at the top right."
    return message_html(text, "error")


def compare_not_run(ui, video, photo, models, model_name) -> dict:
    """The compare tab after a comparison failed: :func:`not_run`'s line, and the previous comparison's table,
    timeline, CAMs and downloads go (they were offered on as if of this run)."""
    more = None if models else "tick at least one model to compare."
    hidden = gr.DownloadButton(value=None, visible=False)
    return {
        ui.summary: not_run(video, model_name, photo, more),
        ui.table: None,
        ui.timeline: None,
        ui.cams: None,
        ui.json_btn: hidden,
        ui.csv_btn: hidden,
    }


def cleared_results(ui) -> dict:
    """Every result of the Analyse tab emptied (the verdict panel left to the caller)."""
    return {
        ui.timeline: gr.update(value=None, visible=True),
        ui.timeline_note: gr.update(value="", visible=False),
        # hidden until there are frames to move through (a browser check: a 1-2 slider stood under a failure)
        ui.frame_slider: gr.Slider(minimum=1, maximum=2, value=1, visible=False),
        ui.frame_image: None,
        ui.frame_caption: "",
        ui.gallery: [],
        ui.faces_box: gr.update(visible=False),
        ui.order: gr.update(visible=False),
        ui.heat_colours: gr.update(visible=False),
        ui.positions_state: [],
        ui.table: [],
        ui.csv_btn: gr.DownloadButton(value=None, visible=False),
        ui.json_btn: gr.DownloadButton(value=None, visible=False),
        ui.html_btn: gr.DownloadButton(value=None, visible=False),
        ui.report_json: None,
        ui.report_state: None,
        ui.judged_state: None,
    }


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
    line (:func:`not_analysed`, :func:`not_run`).  Browser checks: a box that stayed covered the results of the next
    file, a bad photo gave two identical boxes, and the lab's lay over the next run's verdict.  A failure inside an
    analysis keeps its box until closed: the panel points to it.  Returns a "working" note.
    """
    try:
        media, info = checked_media(video, model_name, photo)
    except gr.Error as e:
        raise gr.Error(e.message, title=e.title, visible=False, print_exception=False) from None
    return message_html(f"Analysing {_media_line(media, info)}…")


def validate_comparison(video, model_name, photo=None, models=None):
    """:func:`validate_input`, and at least one model ticked: said beside the button, without a message box (a
    teacher's audit: the box of a run refused for no model stood over the next run's results)."""
    if not models:
        raise gr.Error("Tick at least one model to compare.", visible=False, print_exception=False)
    return validate_input(video, model_name, photo)


def check_and_remember(video, model_name, photo=None):
    """:func:`validate_input`'s note, and what was asked for (for :func:`not_analysed` to tell a cancelled run)."""
    return validate_input(video, model_name, photo), (video, photo, model_name)


def checked_media(video, model_name, photo=None):
    """(the file to analyse, its header info) after :func:`validate_input`'s checks; gr.Error (one line) on the
    first problem."""
    from detector.inference.video import probe
    from detector.models.store import resolve

    media = pick_media(video, photo)

    def check(media):
        media = _check_video(media)
        _check_photo(photo)
        if is_still(media):
            from detector.inference.stills import read_still

            info, _ = read_still(media)
        else:
            info = probe(media, LIMITS)
        resolve(model_name or None, MODELS_DIR)
        return info

    return media, _run_guarded(check, media)


def _media_line(media: str, info) -> str:
    """ "the photo a.jpg (512x512)" or "clip.mp4 (3.0 s, 640x360, 25 fps)"."""
    name = os.path.basename(media)
    if is_still(media):
        return f"the photo {name} ({info.width}x{info.height})"
    return f"{name} ({info.duration:.1f} s, {info.width}x{info.height}, {info.fps:.0f} fps)"


# video codecs browsers play in a <video> element; others (MPEG-4 Part 2, say) leave the player blank
def _playable_note(info, photo: bool) -> str:
    """:func:`webapp.lab.playable_note` for the "Ready" line (a leading space, "" for a photo)."""
    from webapp.lab import playable_note

    note = "" if photo else playable_note(getattr(info, "codec", ""))
    return f" {note}" if note else ""


VIDEO_LIMITS = (
    f"mp4, mov, webm or avi · up to {LIMITS.max_file_mb:.0f} MB and {LIMITS.max_duration_s:.0f} s · "
    "a photo goes in the Photo tab"  # a jpg dropped here got only the browser's "Invalid file type" (a review)
)


def limits_line(video) -> str:
    """The line under the first tab's video: the formats and limits, and, for a clip the browser will likely show
    blank, that it is analysed all the same (the "Ready" line said it, but the verdict replaces it)."""
    from webapp.lab import clip_codec, playable_note

    note = playable_note(clip_codec(video))
    return f"{VIDEO_LIMITS}  \n**{note}**" if note else VIDEO_LIMITS


def on_new_media(ui, media, other, model_name) -> dict:
    """A file put in the video or the photo input: the previous file's results go (they would be read as this
    one's), and the verdict panel says at once whether this file can be analysed, with the quick checks'
    one-line reason when not (a text file named .mp4 was only found out on pressing Analyse).  The input emptied
    and the ``other`` one empty too: the results and any message about the removed file go, the welcome line
    returns; emptied because a file was put in the other input: nothing changes (that input's event speaks)."""
    if not media:
        if other:
            return {ui.verdict: gr.skip()}  # a dict, so that gradio reads it as {component: value}: nothing to do
        return {**cleared_results(ui), ui.verdict: message_html(WELCOME)}
    _hold_for_session(media)  # uploads are shared by content: the same file in another tab must outlive its end
    photo = is_still(media)
    try:  # the file is read once: its header for the "Ready" line, or the reason it cannot be analysed
        media, info = checked_media(None if photo else media, model_name, media if photo else None)
        panel = message_html(f"Ready: {_media_line(media, info)}. Press Analyse.{_playable_note(info, photo)}")
    except gr.Error as e:
        panel = message_html(f"This file cannot be analysed: {e.message}", "error")
    return {**cleared_results(ui), ui.verdict: panel}


def run_analysis(
    video,
    frames,
    model_name,
    cam,
    threshold,
    rule="confident",
    cam_faces=0,
    progress=None,
    keep_frames=True,
    from_slider=True,
):
    """UI inputs -> :class:`~detector.inference.report.Report` through ``detector.inference.pipeline.analyze``
    (``keep_frames``: keep the decoded frames on the report, for the page; ``from_slider``: the threshold comes
    from the page's slider, which stands for the card's own within half a step, see :func:`_slider_threshold`;
    else it is taken exactly, as the command line takes it)."""
    from detector.inference.pipeline import analyze, face_detector
    from webapp.session import FRAME_SIDE

    video = _check_video(video)
    # this thread's face detector made before any frame is decoded: mediapipe's first import keeps the frames of its
    # callers alive for good, so made inside analyze() it held that analysis' frames (1.4 GB at 1440p) for ever
    face_detector()
    cam = None if not cam or cam == NO_CAM else cam
    model = _model(model_name)
    report = analyze(
        video,
        frames=_whole(frames, "frames"),
        model=model,
        rule=rule or "confident",
        threshold=_slider_threshold(threshold, model) if from_slider else threshold,
        cam=cam,
        cam_faces=_whole(cam_faces, "faces to explain") if cam_faces else None,
        faithfulness=True,
        limits=LIMITS,
        progress=progress,
        keep_frames=FRAME_SIDE if keep_frames else False,  # the page shows frames no larger: never kept full size
    )
    return _without_server_path(report, video)


def _whole(value, what: str) -> int:
    """A slider's number as a whole number; an InputError for NaN or infinity (a raw HTTP call can send them:
    gradio's range check lets NaN through)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number; got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be a finite number; got {value!r}")
    return int(round(number))


def _without_server_path(report, path: str):
    """The report with the uploaded file's base name wherever the server's upload path was (``video``,
    ``video_info.path``, warnings): the page, the downloads and the API never show gradio's cache folder."""
    name = os.path.basename(str(path))
    report.video = name
    report.video_info = {**report.video_info, "path": name} if "path" in report.video_info else report.video_info
    report.warnings = [w.replace(str(path), name) for w in report.warnings]
    return report


def slider_value(threshold: float) -> float:
    """A card's threshold as the slider shows it: to its step, :data:`webapp.verdict.THRESHOLD_STEP` (0.90793 shows
    as 0.908, as the verdict prints it; :func:`_slider_threshold` reads any value within half a step of the card's
    as the card's own)."""
    return round(round(float(threshold) / THRESHOLD_STEP) * THRESHOLD_STEP, 6)


def _slider_threshold(threshold, model) -> float | None:
    """The threshold slider's value as ``analyze`` takes it: None (the card's own threshold and its uncertain band)
    within half a slider step of the card's threshold, which the slider cannot show to the last digit."""
    if threshold is None or abs(float(threshold) - float(model.card.threshold)) <= THRESHOLD_STEP / 2 + 1e-9:
        return None
    return float(threshold)


def _model(model_name):
    """The classifier a model name (or card path) from the page means, looked up where the menu lists them
    (``MODELS_DIR``); loaded once per process."""
    from detector.models.classifier import load_model

    return load_model(model_name or None, MODELS_DIR)


def on_analyze(
    ui,
    video,
    photo,
    frames,
    model_name,
    cam,
    threshold,
    rule,
    cam_faces,
    order,
    colours="jet",
    progress=gr.Progress(),
) -> dict:
    """The Analyse button: one analysis of the video or photo; returns ``{component of ui: value}`` for every
    output of the first tab (``ui``: its :class:`AnalyseTab`).

    The session keeps a slim copy of the report (:func:`webapp.session.slim_report`: frames as small JPEGs), and
    the uploaded file until the session ends (the lab and a second analysis use it again)."""
    from webapp.faces import gallery_items
    from webapp.plots import timeline_figure, timeline_summary
    from webapp.session import release_memory, slim_report
    from webapp.tables import table_value
    from webapp.verdict import is_photo, verdict_html

    colours = _heat_colours(colours)  # before the analysis: a bad value is not found after minutes of work
    report = _run_guarded(
        run_analysis,
        pick_media(video, photo),
        frames,
        model_name,
        cam,
        threshold,
        rule,
        cam_faces,
        progress=_before_drawing(progress),
    )
    _hold_for_session(pick_media(video, photo))
    report = slim_report(report)  # the full-size frames go now, not when the session ends
    release_memory()
    progress(DRAWING, desc="drawing the results")
    card = _card_of(model_name)
    judged = {  # what the threshold slider needs to judge these scores again
        "threshold": None if card is None else float(card.threshold),
        "uncertain": None if card is None or not card.uncertain else list(card.uncertain),
        "card": card,  # for the HTML report (its summary of the model card)
    }
    pos = _first_fake_position(report)
    image, caption = frame_shown(report, pos)
    items, positions = gallery_items(report, order, colours=colours)
    csv_path, json_path, html_path = _write_downloads(report, judged, colours)
    photo = is_photo(report)  # one frame: no timeline, no frame slider
    return {
        ui.verdict: verdict_html(report),
        ui.timeline: gr.update(value=None if photo else timeline_figure(report), visible=not photo),
        ui.timeline_note: gr.update(  # a photo: why there is no timeline; a clip: the timeline in words
            value=(PHOTO_NOTE if report.faces else PHOTO_NOTE_NO_FACE) if photo else timeline_summary(report),
            visible=True,
        ),
        ui.frame_slider: _frame_slider(report, pos, visible=not photo),
        ui.frame_image: image,
        ui.frame_caption: caption,
        ui.gallery: face_gallery(items),
        ui.faces_box: gr.update(visible=bool(items)),  # no face: no empty box under an empty heading
        ui.order: gr.update(visible=len(items) > 1),  # one tile has no order to choose
        ui.heat_colours: gr.update(visible=report.cam_method is not None),  # no CAM: no heat map to colour
        ui.positions_state: positions,
        ui.table: table_value(report),
        ui.csv_btn: gr.DownloadButton(value=csv_path, visible=True),
        ui.json_btn: gr.DownloadButton(value=json_path, visible=True),
        ui.html_btn: gr.DownloadButton(value=html_path, visible=True),
        ui.report_json: report.to_dict(),
        ui.report_state: report,
        ui.judged_state: judged,
    }


def face_gallery(items: list) -> dict:
    """The Analyse tab's face gallery holding ``items``: as tall as its tiles for up to two rows, then
    :data:`GALLERY_HEIGHT` with a scroll bar (a browser check: a photo's one tile stood over 400 px of empty
    gallery)."""
    rows = -(-len(items) // GALLERY_COLUMNS)
    return gr.update(value=items, height="auto" if rows <= 2 else GALLERY_HEIGHT)


def on_threshold(ui, report, judged, threshold, position, order, colours="jet") -> dict:
    """The threshold slider: label the scores already computed again (no new analysis); ``{component: value}``.

    At the model card's own threshold its uncertain band applies; at another, the band keeps its lower edge.
    Redraws what shows the threshold: the verdict card, the timeline, the frame, the gallery and the downloads.
    """
    from webapp.faces import gallery_items
    from webapp.plots import timeline_figure
    from webapp.verdict import is_photo, relabel, verdict_html

    colours = _heat_colours(colours)
    if report is None or threshold is None:
        return {}  # nothing analysed yet: nothing to re-label
    if not (math.isfinite(float(threshold)) and 0 <= float(threshold) <= 1):  # the slider sends none: raw HTTP
        raise gr.Error(f"the threshold is a probability, between 0 and 1; got {threshold!r}", print_exception=False)
    judged = judged or {}
    report = relabel(report, float(threshold), judged.get("threshold"), judged.get("uncertain"))
    image, caption = frame_shown(report, int(position or 1) - 1)
    items, positions = gallery_items(report, order, colours=colours)
    csv_path, json_path, html_path = _write_downloads(report, judged, colours)
    out = {
        ui.verdict: verdict_html(report),
        ui.frame_image: image,
        ui.frame_caption: caption,  # its words (FAKE, uncertain, real) follow the threshold too
        ui.gallery: items,
        ui.positions_state: positions,
        ui.csv_btn: gr.DownloadButton(value=csv_path, visible=True),
        ui.json_btn: gr.DownloadButton(value=json_path, visible=True),
        ui.html_btn: gr.DownloadButton(value=html_path, visible=True),
        ui.report_json: report.to_dict(),
        ui.report_state: report,
    }
    if not is_photo(report):  # a photo has no timeline
        out[ui.timeline] = timeline_figure(report)
    return out


def _write_downloads(report, judged: dict, colours: str = "jet") -> tuple[str, str, str]:
    """The CSV, the JSON and the shareable HTML report of ``report``, in a fresh folder (gradio serves copies,
    and the folder is deleted when the session ends); ``judged``: the model card (see
    :func:`on_analyze`); ``colours``: the HTML report's heat maps'."""
    from webapp.html_report import write_html_report
    from webapp.tables import write_downloads

    folder = tempfile.mkdtemp(prefix="report_", dir=_downloads_root())
    _hold_for_session(folder, upload=False)
    csv_path, json_path = write_downloads(report, folder)
    html_path = write_html_report(report, judged.get("card"), folder, colours=colours)
    return csv_path, json_path, html_path


def _card_of(model_name):
    """The model card the analysis used (by name or path), or None."""
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    try:
        return ModelCard.from_file(resolve(model_name or None, MODELS_DIR))
    except Exception:  # the analysis itself said what was wrong
        return None


def _frame_slider(report, pos: int, visible: bool = True) -> gr.Slider:
    """The frame slider over the report's sampled frames (gradio wants maximum > minimum, even for one frame)."""
    n = len(report.frames)
    return gr.Slider(minimum=1, maximum=max(2, n), value=pos + 1, step=1, interactive=n > 1, visible=visible)


_DOWNLOADS: list[str] = []


def _downloads_root() -> str:
    """One temporary folder per process for the downloads (gradio serves copies); removed at exit."""
    if not _DOWNLOADS:
        _DOWNLOADS.append(tempfile.mkdtemp(prefix=APP_DOWNLOADS_PREFIX))
        atexit.register(shutil.rmtree, _DOWNLOADS[0], ignore_errors=True)
    return _DOWNLOADS[0]


_FILES: list = []  # the webapp.session.Uploads of this process (made on first use)


def _session_files():
    """What each session uses: its uploads (in gradio's upload folder) and its downloads folders."""
    if not _FILES:
        from gradio.utils import get_upload_folder

        from webapp.session import Uploads

        _FILES.append(Uploads(get_upload_folder(), _downloads_root()))
    return _FILES[0]


def _hold_for_session(path: str | None, upload: bool = True) -> None:
    """Keep ``path`` until the session of the event being handled ends, then delete it (see :func:`end_session`;
    gradio keeps one file per upload content, so two tabs that upload the same clip share it: every handler that
    receives an upload holds it, or the other tab's end deletes it under this one;
    outside an event, e.g. in tests, nothing is noted).  ``upload``: a file the user uploaded (an example clip,
    which gradio copies into the same folder for every session, is never deleted); else a downloads folder."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)  # set by gradio in the handler's thread (handlers are partials here)
    session = getattr(request, "session_hash", None)
    if not path or not session:
        return
    blocks = LocalContext.blocks.get(None)
    if upload and str(path) not in getattr(blocks, "upload_file_set", ()):
        return
    _session_files().hold(str(path), session)


def _grace_s() -> float:
    """Seconds a closed tab's state and files are kept (DEEPFAKE_APP_SESSION_GRACE_S, default 60): a page whose
    connection dropped for a moment reconnects with the same session and finds them."""
    try:
        return max(0.0, float(os.environ.get("DEEPFAKE_APP_SESSION_GRACE_S", 60)))
    except ValueError:
        return 60.0


def end_session(demo: gr.Blocks, request: gr.Request) -> None:
    """A tab was closed or reloaded (``demo.unload``): after a short grace (:func:`_grace_s`), unless the tab has
    been used since, drop its state (gradio would keep it an hour after the page goes), delete the uploads and
    downloads no other session uses, and give the memory back to the system (:func:`free_session`)."""
    import datetime

    session = getattr(request, "session_hash", None)
    if session:
        timer = threading.Timer(_grace_s(), free_session, (demo, session, datetime.datetime.now()))
        timer.daemon = True
        timer.start()


def free_session(demo: gr.Blocks, session: str, closed_at=None) -> bool:
    """Drop the state, uploads and downloads of ``session`` (see :func:`end_session`); not when an event of it ran
    after ``closed_at`` (the tab reconnected).  Returns whether it was freed."""
    from webapp.session import release_memory

    holder = getattr(demo, "state_holder", None)
    if holder is not None and session in holder:
        last = holder.time_last_used.get(session)
        if closed_at is not None and last is not None and last > closed_at:
            log.info("session back after its page closed: kept")
            return False
        holder.delete_state(session)  # each gr.State's delete_callback runs, its value goes
        with holder.lock:
            holder.session_data.pop(session, None)  # the session's copy of the page's config goes too
            holder.time_last_used.pop(session, None)
    gone = _session_files().release(session)
    release_memory()
    log.info(
        "session ended: %d file(s) deleted; %d session(s) with state, %d file(s) held",
        len(gone),
        len(getattr(holder, "session_data", ())),
        _session_files().held(),
    )
    return True


def analyze_json(video, frames=DEFAULT_FRAMES, model_name=None, cam=NO_CAM, threshold=None, photo=None):
    """HTTP API: the CLI's JSON report of one video or photo (``{"video", "score", "label", "frames", ...}``).

    ``video`` holds the uploaded file's name; ``video_info`` has no ``path``: gradio_client takes any
    ``{"path": str}`` in a result for a file on the server and fails fetching it (403), and the server's own
    path is nobody's business.
    """

    def work(media):
        media = _check_video(media)
        _check_photo(photo)
        # an API caller's threshold is taken as given (analyze refuses one that is no probability)
        exact = None if threshold is None else float(threshold)
        return run_analysis(media, frames, model_name, cam, exact, keep_frames=False, from_slider=False)

    from webapp.session import release_memory

    _hold_for_session(pick_media(video, photo))
    data = _run_guarded(work, pick_media(video, photo)).to_dict()
    data["video_info"] = {k: v for k, v in data["video_info"].items() if k != "path"}
    release_memory()
    return data


def _first_fake_position(report) -> int:
    """Frame to show first: the one with the highest-scoring face (else the first)."""
    best, best_score = 0, -1.0
    for pos, fr in enumerate(report.frames):
        for f in fr.faces:
            if f.score > best_score:
                best, best_score = pos, f.score
    return best


def frame_shown(report, pos: int) -> tuple[dict, str]:
    """The sampled frame at ``pos`` with its boxes (:func:`webapp.faces.frame_view`), as the frame image's new value,
    with its caption as the text a screen reader says for it (an accessibility audit: the picture had none); and
    the caption."""
    from webapp.faces import frame_view

    image, caption = frame_view(report, pos)
    faces = bool(report.frames) and bool(report.frames[min(max(pos, 0), len(report.frames) - 1)].faces)
    alt = caption + ("; a box around each face, labelled with its score" if faces else "")
    return gr.update(value=image, alt_text=alt if image is not None else None), caption


def on_frame(report, position):
    if report is None:
        return None, ""
    return frame_shown(report, int(position) - 1)


def on_order(report, order, colours="jet"):
    from webapp.faces import gallery_items

    if report is None:
        return [], []
    return gallery_items(report, order, colours=_heat_colours(colours))


def _same(value):
    """The value given, for another component (one choice shown in two places)."""
    return value


def _heat_colours(colours) -> str:
    """The heat maps' colours a handler was given, checked (the radio sends no other; raw HTTP may)."""
    from webapp.faces import HOT_WORDS

    if colours not in HOT_WORDS:
        raise gr.Error(f"unknown heat-map colours {colours!r}: one of {', '.join(HOT_WORDS)}", print_exception=False)
    return colours


def on_heat_colours(ui, report, judged, order, colours) -> dict:
    """Other heat-map colours: the gallery and the HTML report drawn again in them (no new analysis)."""
    from webapp.faces import gallery_items

    colours = _heat_colours(colours)
    if report is None:
        return {}
    items, positions = gallery_items(report, order, colours=colours)
    csv_path, json_path, html_path = _write_downloads(report, judged or {}, colours)
    return {
        ui.gallery: items,
        ui.positions_state: positions,
        ui.csv_btn: gr.DownloadButton(value=csv_path, visible=True),
        ui.json_btn: gr.DownloadButton(value=json_path, visible=True),
        ui.html_btn: gr.DownloadButton(value=html_path, visible=True),
    }


def _keep_one(value):
    """A file was put in one input: empty the other one (left unchanged when this one was emptied)."""
    return None if value else gr.skip()


def on_gallery_select(positions, evt: gr.SelectData):
    if not positions or evt.index is None or evt.index >= len(positions):
        return gr.Slider()
    return gr.Slider(value=positions[evt.index] + 1)


def on_timeline_pick(value):
    """The plot-click bridge: the page's script writes "<frame position>:<stamp>" into a hidden box."""
    try:
        return gr.Slider(value=int(str(value).split(":")[0]) + 1)
    except (TypeError, ValueError):
        return gr.Slider()


def on_model(name):
    card = model_card(name)
    if card is None:
        return gr.Slider(), ""
    return gr.Slider(value=slider_value(card.threshold)), card_markdown(card)


def on_model_changed(ui, report, model_name, video, photo) -> dict:
    """The user picked another model: results of the previous one go (the slider now shows the new model's
    threshold, and the panel went on showing the old model's verdict, "out of date" nowhere said: found by a
    browser check), and the panel says to press Analyse; nothing analysed yet: nothing changes."""
    card = _card_of(model_name) if report is not None else None
    if report is None or (card is not None and card.name == report.model):  # the same model picked again (a check)
        return {ui.verdict: gr.skip()}
    media = pick_media(video, photo)
    what = f" {os.path.basename(media)}" if media else ""
    out = {
        **cleared_results(ui),
        ui.verdict: message_html(f"Model changed to {model_name}: press Analyse to score{what} with it."),
    }
    if media and is_still(media):  # a photo keeps its page: no timeline, no frame slider (a browser check)
        out[ui.timeline] = gr.update(value=None, visible=False)
        out[ui.timeline_note] = gr.update(value=PHOTO_NOTE, visible=True)
        out[ui.frame_slider] = gr.Slider(minimum=1, maximum=2, value=1, visible=False)
    return out


def card_markdown(card) -> str:
    if card is None:
        return "No model selected."
    from webapp.cards import GLOSSARY, calibration_rule, card_figures, for_readers

    lines = [
        f"**{card.name}** — architecture `{card.architecture}`, input {card.input_size} px, "
        f"threshold {card.threshold:.3f}, face margin {card.face_margin:.0%}."
    ]
    if card.calibrated:
        lines.append(f"Threshold: {calibration_rule(card) or 'calibrated on validation reals (rule not recorded)'}.")
    else:
        lines.append("Threshold: fixed, not calibrated on real people.")
    if card.trained:
        data = card.trained.get("data") or card.trained.get("dataset")
        if data:
            data = ", ".join(map(str, data)) if isinstance(data, list) else data
            lines.append(f"Data (training and validation): {for_readers(data)}.")
    figures = card_figures(card)
    if figures:
        lines.append("\n".join(f"- {f}." for f in figures))
    else:
        lines.append("⚠ No validation metrics on this model's card.")
    if card.notes:
        lines.append(for_readers(card.notes))
    lines.append(f"<small>{GLOSSARY}</small>")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- failure lab


def lab_strength_info(name: str, strength: float) -> str:
    """:func:`webapp.lab.strength_info` (the lab's strength slider's help)."""
    from webapp.lab import strength_info

    return strength_info(name, strength)


def on_strength(name: str, strength: float):
    """The lab's perturbation or strength changed: the slider's help says what it now does."""
    return gr.Slider(info=lab_strength_info(name, strength))


def on_compare(video, photo, name, strength, frames, seed, model_name, threshold, progress=gr.Progress()):
    """The lab's compare button: verdicts, timelines (none for a photo), the same frame and the face crops before /
    after, and the score change with a face-coverage warning."""
    from webapp import lab
    from webapp.faces import draw_boxes, faces_text, side_by_side
    from webapp.plots import timeline_figure
    from webapp.verdict import verdict_html

    video = pick_media(video, photo)
    _hold_for_session(video)  # this session uses the upload too: another tab's end must not delete it

    def work(video):
        video = _check_video(video)
        model = _model(model_name)
        return lab.compare(
            video,
            name,
            float(strength),
            model=model,
            frames=int(frames),
            threshold=_slider_threshold(threshold, model),
            seed=int(seed),
            limits=LIMITS,
            progress=_before_drawing(progress),
        )

    original, perturbed = _run_guarded(work, video)
    pos = lab.preview_position(original)
    a, b = lab.frame_at(original, pos), lab.frame_at(perturbed, pos)
    preview, said = None, None
    if a is not None and b is not None:
        titles = lab.preview_titles(original, pos, name, float(strength))
        said = "; ".join(  # the picture in words, for a screen reader
            f"{title}: {faces_text(r.frames[pos].faces, r.threshold, r.uncertain, r.second_opinion)}"
            for title, r in zip(titles, (original, perturbed))
        )
        preview = side_by_side(
            draw_boxes(
                a, original.frames[pos].faces, original.threshold, original.uncertain, second=original.second_opinion
            ),
            draw_boxes(
                b,
                perturbed.frames[pos].faces,
                perturbed.threshold,
                perturbed.uncertain,
                second=perturbed.second_opinion,
            ),
            titles,
        )
    preview = gr.Image(value=preview, label="The same frame, original and perturbed", show_label=False, alt_text=said)
    mover = lab.mover_of(original, name, float(strength))
    one_frame = original.is_photo  # a photo: no timelines (their box was empty but for one dot)
    return (
        verdict_html(original, title="original", compact=True),
        # "warm at strength 1.00", not the description after it (a browser check: in capitals it wrapped and read twice)
        verdict_html(perturbed, title=lab.change_title(name, float(strength)), compact=True),
        gr.Plot(
            value=None if one_frame else timeline_figure(original, title="original", height=300),
            visible=not one_frame,
        ),
        gr.Plot(
            value=None if one_frame else timeline_figure(perturbed, title=f"{name} {float(strength):.2f}", height=300),
            visible=not one_frame,
        ),
        preview,
        lab.crop_pairs(original, perturbed, mover=mover),
        lab.compare_summary(original, perturbed, mover=mover),
    )


def on_levels(video, photo, frames, seed, model_name, threshold, progress=gr.Progress()):
    """The lab's levels button: the score at each level, one frame per level, the levels table (with its
    face-coverage warnings) and a one-line summary."""
    from detector.inference.report import score_text
    from webapp import lab
    from webapp.faces import draw_boxes
    from webapp.plots import levels_figure

    video = pick_media(video, photo)
    _hold_for_session(video)

    def work(video):
        video = _check_video(video)
        model = _model(model_name)
        return lab.levels(
            video,
            model=model,
            frames=int(frames),
            threshold=_slider_threshold(threshold, model),
            seed=int(seed),
            limits=LIMITS,
            progress=_before_drawing(progress),
        )

    reports = _run_guarded(work, video)
    first = next(iter(reports.values()))
    scores = {name: r.score for name, r in reports.items()}
    figure = levels_figure(
        scores,
        first.threshold,
        {n: LEVEL_DESCRIPTIONS[n] for n in reports},
        uncertain=first.uncertain,
        photo=first.is_photo,
    )
    pos = lab.preview_position(first)
    tiles = []
    for name, r in reports.items():
        img = lab.frame_at(r, pos)
        if img is not None:
            score = "no face" if r.score != r.score else f"{score_text(r.score, r.threshold, r.uncertain)} {r.label}"
            boxed = draw_boxes(img, r.frames[pos].faces, r.threshold, r.uncertain, second=r.second_opinion)
            tiles.append((boxed, f"{name}: {score}"))
    return figure, tiles, lab.levels_table(reports), lab.levels_summary(reports)


def on_clip_from_first_tab(prefix: str, own_video, own_photo, first_video, first_photo, asked: bool = False):
    """Fill a tab of its own input (:func:`clip_input` ``prefix``: the lab, the compare view) with the first tab's
    video or photo: on its button (``asked``), or when the tab is opened holding nothing.  Returns (video, photo,
    the input's tabs, note): the file goes in its slot, shown, and the other slot is emptied; ``gr.skip()`` where
    nothing changes."""
    from webapp.lab import clip_from_first_tab

    clip, note = clip_from_first_tab(pick_media(own_video, own_photo), first_video, first_photo, asked=asked)
    note = note or gr.skip()
    if clip is None:
        return gr.skip(), gr.skip(), gr.skip(), note
    # the other slot emptied here, not left to _keep_one's round trip (meanwhile both would hold a file)
    if clip == first_photo:  # (an animated gif from the first tab's Photo slot goes in the Photo slot)
        return None, clip, gr.Tabs(selected=f"{prefix}-photo-tab"), note
    return clip, None, gr.Tabs(selected=f"{prefix}-video-tab"), note


def lab_shown(compared: bool | None) -> tuple:
    """The lab's two result boxes, one shown at a time: the comparison's (``compared``) or the levels'; neither
    (``None``) after a run failed (a browser check: empty plot, image and gallery frames stood under "Not run")."""
    return gr.Column(visible=compared is True), gr.Column(visible=compared is False)


def lab_cleared(n: int) -> tuple:
    """``n`` empty lab results: a comparison's when the three levels run, and the levels' when a comparison runs
    (the two share the results column; one's cards must not stay under the other's headline)."""
    return tuple(None for _ in range(n))


def changed_media(video, photo, slot: str) -> str | None:
    """The file a tab holds after its ``slot`` ("video" or "photo") changed: that slot's file, or the other's where
    it was emptied.  Until :func:`_keep_one` empties the other slot, both hold one (a review: a video put in beside
    an old photo was named, and held, as the old photo for that moment)."""
    return (video or photo or None) if slot == "video" else (photo or video or None)


def media_note(video, photo, slot: str) -> str:
    """The line under a tab's Video and Photo slots after ``slot`` changed (:func:`changed_media`): the file's name,
    or at once why it cannot be analysed, as the first tab says on upload (a browser check: the lab and compare
    view said so only when a button was pressed).  The file is held for the session (see
    :func:`_hold_for_session`)."""
    from webapp.lab import clip_note

    media = changed_media(video, photo, slot)
    _hold_for_session(media)
    if not media:
        return ""
    photo_slot = media == photo
    reason = failure_reason(None if photo_slot else media, None, media if photo_slot else None)
    return f"⚠ Cannot be analysed: {reason}" if reason else clip_note(media)


def on_lab_new_clip(n: int, video, photo, slot: str = "photo") -> tuple:
    """A new clip or photo in the lab's ``slot`` (upload, example, the first tab's, or none): its name under it (or
    why it cannot be analysed), and ``n`` empty results (those of the previous file must not stay on screen)."""
    return (media_note(video, photo, slot), *lab_cleared(n))


# ---------------------------------------------------------------- compare models


def on_compare_models(ui, video, photo, models, frames, cam, colours="jet", progress=gr.Progress()) -> dict:
    """The compare tab's button: every ticked model on the same sampled frames of the clip or photo (each loaded
    when first used, then kept), their timelines overlaid (none for a photo), their verdicts, one CAM per model of
    the same face, where they disagree, and the CLI's JSON / CSV; returns ``{component of ui: value}`` (``ui``: its
    :class:`CompareTab`)."""
    video, colours = pick_media(video, photo), _heat_colours(colours)
    from detector.evaluation.compare import compare_models
    from webapp import compare as view

    def work(video):
        video = _check_video(video)
        if not models:
            raise InputError("Tick at least one model to compare.")
        menu = [name for _, name in ui.models.choices]  # the results in the menus' order, not the order ticked
        return compare_models(
            video,
            sorted(models, key=lambda n: menu.index(n) if n in menu else len(menu)),
            int(frames),
            cam=None if not cam or cam == NO_CAM else cam,
            directory=MODELS_DIR,
            limits=LIMITS,
            progress=_before_drawing(progress),
        )

    from webapp.session import release_memory

    comparison = _run_guarded(work, video)
    _hold_for_session(video)
    for run in comparison.runs:
        _without_server_path(run.report, video)
    comparison.path = os.path.basename(str(video))
    progress(DRAWING, desc="drawing the results")
    folder = tempfile.mkdtemp(prefix="compare_", dir=_downloads_root())
    _hold_for_session(folder, upload=False)
    csv_path, json_path = view.write_downloads(comparison, folder)
    one_frame = view.is_photo(comparison)  # a photo: no timeline
    out = {
        ui.summary: view.disagreement_markdown(comparison),
        ui.table: view.verdict_rows(comparison),
        ui.timeline: gr.Plot(value=None if one_frame else view.timeline_figure(comparison), visible=not one_frame),
        # top: the image's buttons covered the third tile's corner (a review)
        ui.cams: gr.update(
            value=view.cam_row(comparison, top=36, colours=colours), alt_text=view.cam_row_text(comparison)
        ),
        ui.json_btn: gr.DownloadButton(value=json_path, visible=True),
        ui.csv_btn: gr.DownloadButton(value=csv_path, visible=True),
    }
    del comparison  # the reports and face crops go now; the page keeps only what it shows
    release_memory()
    return out


# ---------------------------------------------------------------- layout: one builder per tab

STATIC = files("webapp") / "static"
CSS = (STATIC / "app.css").read_text()
# gr.Plot has no click event (gradio 6): timeline_click.js forwards plotly's click on a timeline point; verdict_live.js
# tells a screen reader each new verdict (see the files)
SCRIPTS = ("timeline_click.js", "verdict_live.js")
HEAD = "".join(f"<script>\n{(STATIC / name).read_text()}</script>\n" for name in SCRIPTS)


@dataclass
class ClipInput:
    """A tab's own video or photo (the lab's, the compare view's): :func:`clip_input`'s components."""

    prefix: str
    video: gr.Video
    photo: gr.Image
    tabs: gr.Tabs
    use_first: gr.Button
    note: gr.Markdown

    @property
    def media(self) -> list:
        """The two slots, as a handler takes them (one holds a file at a time)."""
        return [self.video, self.photo]

    def follow_first_tab(self, tab: gr.Tab, analyse: AnalyseTab) -> None:
        """Take the first tab's video or photo on the button, and when ``tab`` is opened holding nothing
        (:func:`on_clip_from_first_tab`)."""
        first, filled = [*self.media, analyse.video, analyse.photo], [*self.media, self.tabs, self.note]
        quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
        self.use_first.click(partial(on_clip_from_first_tab, self.prefix, asked=True), first, filled, **quick)
        tab.select(partial(on_clip_from_first_tab, self.prefix), first, filled, **quick)

    def on_new_file(self, fn, outputs: list, cancels: list) -> None:
        """``fn(video, photo, slot=...)`` on a new file in either slot (upload, example, the first tab's, or none),
        told which slot changed (see :func:`changed_media`); the note first among ``outputs``; the runs still going
        for the old file are cancelled."""
        quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
        for slot, changed in (("video", self.video.change), ("photo", self.photo.change)):
            changed(partial(fn, slot=slot), self.media, [self.note, *outputs], cancels=cancels, **quick)


def clip_input(prefix: str, examples: dict) -> ClipInput:
    """A tab's own video or photo (the lab's, the compare view's), one at a time as in the first tab: the Video and
    Photo slots, a button to take the first tab's file, the line that names it, and the example clips; elem_ids
    ``<prefix>-video``, ``-photo``, ``-use-first``, ``-note``."""
    with gr.Tabs(elem_id=f"{prefix}-media") as tabs:
        with gr.Tab("Video", id=f"{prefix}-video-tab"):
            video = gr.Video(label="Video", sources=["upload"], height=220, elem_id=f"{prefix}-video")
            if examples:
                gr.Examples(
                    [[p] for p in examples.values()],
                    inputs=[video],
                    example_labels=[EXAMPLE_LABELS.get(k, k) for k in examples],
                    label="Examples",
                )
        with gr.Tab("Photo", id=f"{prefix}-photo-tab"):
            photo = photo_input(height=220, elem_id=f"{prefix}-photo")
    with gr.Row():
        use_first = gr.Button(
            "Use the video or photo from the first tab", size="sm", variant="secondary", elem_id=f"{prefix}-use-first"
        )
    note = gr.Markdown(elem_id=f"{prefix}-note")
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    video.change(_keep_one, [video], [photo], **quick)
    photo.change(_keep_one, [photo], [video], **quick)
    return ClipInput(prefix, video, photo, tabs, use_first, note)


@dataclass
class AnalyseTab:
    """The first tab's components: its handlers return ``{component: value}`` over these."""

    video: gr.Video
    photo: gr.Image
    frames: gr.Slider
    model: gr.Dropdown
    cam: gr.Dropdown
    threshold: gr.Slider
    rule: gr.Radio
    cam_faces: gr.Slider
    model_info: gr.Markdown
    analyse_btn: gr.Button
    verdict: gr.HTML
    timeline: gr.Plot
    timeline_note: gr.Markdown
    pick: gr.Textbox
    frame_slider: gr.Slider
    frame_caption: gr.Markdown
    frame_image: gr.Image
    order: gr.Radio
    heat_colours: gr.Radio  # the heat maps' colours (webapp.faces.HEAT_MAP_CHOICES)
    gallery: gr.Gallery
    faces_box: gr.Column  # the faces' heading, order and gallery: hidden while there is no face
    csv_btn: gr.DownloadButton
    json_btn: gr.DownloadButton
    html_btn: gr.DownloadButton
    table: gr.Dataframe
    report_json: gr.JSON
    report_state: gr.State
    positions_state: gr.State
    judged_state: gr.State  # the model card's threshold and uncertain band, for the threshold slider
    asked_state: gr.State  # (video, photo, model) of the analysis last asked for (see not_analysed)
    example_sets: list = field(default_factory=list)  # the video's example lists (picking one cancels an analysis)

    @property
    def results(self) -> list:
        """What one analysis fills (the outputs of :func:`on_analyze`)."""
        return [
            self.verdict,
            self.timeline,
            self.timeline_note,
            self.frame_slider,
            self.frame_image,
            self.frame_caption,
            self.gallery,
            self.faces_box,
            self.order,
            self.heat_colours,
            self.positions_state,
            self.table,
            self.csv_btn,
            self.json_btn,
            self.html_btn,
            self.report_json,
            self.report_state,
            self.judged_state,
        ]

    @property
    def judged(self) -> list:
        """What shows the threshold (the outputs of :func:`on_threshold`)."""
        return [
            self.verdict,
            self.timeline,
            self.frame_image,
            self.frame_caption,
            self.gallery,
            self.positions_state,
            self.csv_btn,
            self.json_btn,
            self.html_btn,
            self.report_json,
            self.report_state,
        ]


def build_header(models: list) -> None:
    gr.Markdown(f"# {TITLE}", elem_id="title")
    gr.Markdown(
        "Finds the faces in a video or photo, scores each one with a trained classifier, and shows *where* the "
        "model looked. A score is one model's estimate, not proof.",
        elem_id="subtitle",
    )
    if not models:
        gr.HTML(
            message_html(
                f"No trained model is installed in {MODELS_DIR or ', '.join(map(str, model_dirs()))}. "
                "Train one with `deepfake-lens train` (see the README) or set DEEPFAKE_MODELS_DIR; "
                "until then nothing can be analysed.",
                "error",
            ),
            elem_id="no-model",
            apply_default_css=False,
        )


def _media_inputs(examples: dict[str, str]) -> tuple[gr.Video, gr.Image, list]:
    """The Video / Photo input tabs of the first tab; one file at a time (see :func:`_keep_one`)."""
    with gr.Tabs(elem_id="media-tabs"):
        with gr.Tab("Video", id="video-tab"):
            video = gr.Video(label="Video", sources=["upload"], height=280, elem_id="video-in")
            limits = gr.Markdown(VIDEO_LIMITS, elem_id="limits")
            video.change(limits_line, [video], [limits], api_visibility="private", show_progress="hidden")
            example_sets = []
            if examples:
                example_sets.append(
                    gr.Examples(
                        [[p] for p in examples.values()],
                        inputs=[video],
                        example_labels=[EXAMPLE_LABELS.get(k, k) for k in examples],
                        label="Examples (rendered by the project from a public-domain photo)",
                    )
                )
                gr.Markdown(EXAMPLES_NOTE, elem_id="examples-note")
        with gr.Tab("Photo", id="photo-tab"):
            photo = photo_input(height=280, elem_id="photo-in")
            gr.Markdown(
                f"jpg, png, webp, bmp or gif · up to {LIMITS.max_file_mb:.0f} MB · the photo is analysed as one frame "
                "(an animated gif as a short clip)",
                elem_id="photo-limits",
            )
    return video, photo, example_sets


def build_analyse_tab(models: list, examples: dict[str, str] | None = None) -> AnalyseTab:
    """The "Analyse a video or photo" tab: inputs and settings, verdict, timeline, frame, gallery, table; its events."""
    from webapp.faces import HEAT_MAP_CHOICES

    default_model = models[0][1] if models else None
    default_card = model_card(default_model)
    cams = cam_choices()
    with gr.Tab("Analyse a video or photo", id="analyse"):
        report_state, positions_state, judged_state = gr.State(None), gr.State([]), gr.State(None)
        asked_state = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                video, photo, example_sets = _media_inputs(examples or {})
                frames = gr.Slider(
                    4,
                    LIMITS.max_frames,
                    value=DEFAULT_FRAMES,
                    step=1,
                    label="Frames to sample",
                    info="spread evenly over a clip (a photo is one frame); more is steadier but slower",
                    elem_id="frames",
                )
                model = gr.Dropdown(model_choices(short=True), value=default_model, label="Model", elem_id="model")
                cam = gr.Dropdown(
                    cams,
                    value=cams[0],
                    label="Explanation (CAM method)",
                    elem_id="cam",
                    info="heat map of the pixels that pushed the score",
                )
                threshold = gr.Slider(
                    0.0,
                    1.0,
                    value=slider_value(default_card.threshold if default_card else 0.5),
                    step=THRESHOLD_STEP,
                    label="Threshold",
                    info="score at or above it → fake; from the model's uncertain band's lower edge up to it "
                    "→ uncertain. Moving it re-labels at once.",
                    elem_id="threshold",
                )
                with gr.Accordion("More settings", open=False):
                    rule = gr.Radio(
                        ["confident", "mean"],
                        value="confident",
                        label="Aggregation rule",
                        info="confident: the DFDC winner's rule; mean: plain mean per face",
                    )
                    cam_faces = gr.Slider(
                        0,
                        128,
                        value=16,
                        step=1,
                        label="Explain at most this many faces",
                        info="the most fake first; 0 = all (slower on CPU)",
                    )
                    model_info = gr.Markdown(card_markdown(default_card))
                analyse_btn = gr.Button("Analyse", variant="primary", elem_id="analyse-btn", size="lg")
            with gr.Column(scale=7, min_width=480):
                verdict = gr.HTML(
                    message_html(WELCOME),
                    elem_id="verdict",
                    apply_default_css=False,
                )
                timeline = gr.Plot(
                    label="Fake probability over time (click a point to see its frame)", elem_id="timeline"
                )
                timeline_note = gr.Markdown(visible=False, elem_id="timeline-note")
                pick = gr.Textbox(visible="hidden", elem_id="timeline-pick")
                frame_slider = gr.Slider(
                    1,
                    2,
                    value=1,
                    step=1,
                    label="Sampled frame",
                    interactive=False,
                    visible=False,  # shown with a clip's results (a browser check: an empty 1-2 slider on load)
                    elem_id="frame-slider",
                )
                frame_caption = gr.Markdown(elem_id="frame-caption")
                frame_image = gr.Image(
                    label="Frame with the detected faces",
                    show_label=False,  # its badge hid the label of a face at the picture's top edge (a review)
                    interactive=False,
                    height=360,
                    elem_id="frame-image",
                    buttons=["download", "fullscreen"],
                )
        with gr.Column(visible=False) as faces_box:  # shown with the first faces (no face: no empty box, a review)
            gr.Markdown(
                "## Faces and their explanations\nEach tile: the face as the model saw it and, beside it, its CAM "
                "heat map (pushed towards *fake*: red in jet, bright yellow in inferno; each map "
                "is scaled to its own strongest spot, so on a face scored real it shows where the model leaned most "
                "towards fake, not evidence of a fake) when a CAM method is chosen; with an RGB + depth model, last, "
                "the depth map its depth stream read (FaceMesh's estimate, brighter = nearer). Red frame = scored at "
                "or above the threshold, amber = in the model's uncertain band just below it, green = below; the "
                "score is in the frame's bottom strip. In a video, one face in one frame is not the verdict: the "
                "threshold was set for whole clips, and a few frames of a real clip can score above it. Hatched, "
                "beyond a dashed line: where the face's square runs past the picture's edge (a photo's border "
                "mirrored, a frame's black edge): the model saw it, the picture does not hold it. Click a tile to see "
                "its frame."
            )
            with gr.Row():
                # min widths: on a phone each takes its own line (side by side, their choices broke a word a line)
                order = gr.Radio(
                    # most fake first: the faces with heat maps (only the most fake get one) come first, not spread
                    # among "not explained" tiles (a teacher's audit)
                    ["most fake first", "time"],
                    value="most fake first",
                    label="Order",
                    elem_id="order",
                    min_width=260,
                )
                heat_colours = gr.Radio(
                    HEAT_MAP_CHOICES, value="jet", label="Heat-map colours", elem_id="heat-colours", min_width=340
                )
            gallery = gr.Gallery(
                label="Face crops with CAM overlays",
                show_label=False,
                columns=GALLERY_COLUMNS,
                fit_columns=False,  # one face: a quarter of the width, not the whole (its score strip fell out of view)
                height=GALLERY_HEIGHT,
                object_fit="contain",
                elem_id="face-gallery",
                allow_preview=True,
            )
        with gr.Accordion("Downloads (shareable report, CSV, JSON) and the per-frame table", open=False):
            with gr.Row():
                html_btn = gr.DownloadButton(
                    "Download report (one HTML file)", visible=False, elem_id="html-download", variant="primary"
                )
                csv_btn = gr.DownloadButton("Download CSV", visible=False, elem_id="csv-download")
                json_btn = gr.DownloadButton("Download JSON", visible=False, elem_id="json-download")
            table = gr.Dataframe(headers=HEADERS, interactive=False, max_height=420, elem_id="frame-table")
            report_json = gr.JSON(label="Report (the CLI's JSON schema)", open=False, elem_id="report-json")
    ui = AnalyseTab(
        video=video,
        photo=photo,
        example_sets=example_sets,
        frames=frames,
        model=model,
        cam=cam,
        threshold=threshold,
        rule=rule,
        cam_faces=cam_faces,
        model_info=model_info,
        analyse_btn=analyse_btn,
        verdict=verdict,
        timeline=timeline,
        timeline_note=timeline_note,
        pick=pick,
        frame_slider=frame_slider,
        frame_caption=frame_caption,
        frame_image=frame_image,
        order=order,
        heat_colours=heat_colours,
        gallery=gallery,
        faces_box=faces_box,
        csv_btn=csv_btn,
        json_btn=json_btn,
        html_btn=html_btn,
        table=table,
        report_json=report_json,
        report_state=report_state,
        positions_state=positions_state,
        judged_state=judged_state,
        asked_state=asked_state,
    )
    _wire_analyse_tab(ui)
    return ui


def _wire_analyse_tab(ui: AnalyseTab) -> None:
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    # one file at a time: a new video (upload or example) clears the photo, a new photo the video
    ui.video.change(_keep_one, [ui.video], [ui.photo], **quick)
    ui.photo.change(_keep_one, [ui.photo], [ui.video], **quick)
    for media, other in ((ui.video, ui.photo), (ui.photo, ui.video)):  # a new file: the old results go, and
        # the panel says whether it can be analysed
        media.change(partial(on_new_media, ui), [media, other, ui.model], ui.results, **quick)
    # a quick check first (header, limits, model): a bad file is reported once, on the verdict, in seconds
    checked = ui.analyse_btn.click(
        check_and_remember,
        [ui.video, ui.model, ui.photo],
        [ui.verdict, ui.asked_state],
        api_visibility="private",
        concurrency_limit=None,
        show_progress="minimal",
    )
    analysed = checked.success(
        partial(on_analyze, ui),
        [
            ui.video,
            ui.photo,
            ui.frames,
            ui.model,
            ui.cam,
            ui.threshold,
            ui.rule,
            ui.cam_faces,
            ui.order,
            ui.heat_colours,
        ],
        ui.results,
        api_name="analyze_page",  # undocumented: what the page calls (bench/app_soak.py calls it as a page would)
        api_visibility="undocumented",
        concurrency_id="analysis",
    )
    # the reason is in the error box; the verdict panel must not go on saying "Upload a video..." or "Analysing..."
    for step in (checked, analysed):
        step.failure(
            partial(not_analysed, ui), [ui.video, ui.model, ui.photo, ui.asked_state], ui.results, **quick
        ).then(None, js=show_js("#verdict"), api_visibility="private")
    analysed.success(None, js=show_js("#verdict"), api_visibility="private")  # the verdict in view
    # another file or another model while an analysis runs: it is cancelled (its verdict would land on the new file:
    # found by a browser check), and results already shown of another model go (on_model_changed)
    # the user's own change of file (upload, paste, clear, an example picked), not .change: the browser can deliver
    # an upload's change event after Analyse was pressed (seen with Debian's Chromium), and that cancelled the
    # analysis just asked for ("Nothing could be analysed" with no message box: CI's browser test)
    for media in (ui.video, ui.photo):
        media.input(None, None, None, cancels=[checked, analysed], **quick)
    for ex in ui.example_sets:
        ex.dataset.click(None, None, None, cancels=[checked, analysed], **quick)
    ui.model.input(
        partial(on_model_changed, ui),
        [ui.report_state, ui.model, ui.video, ui.photo],
        ui.results,
        cancels=[checked, analysed],
        **quick,
    )
    # .input, not .change: only the user's own moves re-label the report on screen; a new model's threshold, set on
    # the slider by on_model, must not re-judge the previous model's scores at it
    ui.threshold.input(
        partial(on_threshold, ui),
        [ui.report_state, ui.judged_state, ui.threshold, ui.frame_slider, ui.order, ui.heat_colours],
        ui.judged,
        trigger_mode="always_last",
        **{**quick, "api_visibility": "undocumented"},
        api_name="relabel_page",
    )
    ui.frame_slider.change(on_frame, [ui.report_state, ui.frame_slider], [ui.frame_image, ui.frame_caption], **quick)
    ui.order.change(
        on_order,
        [ui.report_state, ui.order, ui.heat_colours],
        [ui.gallery, ui.positions_state],
        api_visibility="private",
        concurrency_limit=None,
    )
    ui.heat_colours.change(
        partial(on_heat_colours, ui),
        [ui.report_state, ui.judged_state, ui.order, ui.heat_colours],
        [ui.gallery, ui.positions_state, ui.csv_btn, ui.json_btn, ui.html_btn],
        api_visibility="private",
        concurrency_limit=None,
    )
    # and the frame comes into view: on a phone it was 700 px above the tile, and a tap seemed to do nothing but
    # enlarge the tile (a browser check)
    ui.gallery.select(on_gallery_select, [ui.positions_state], [ui.frame_slider], **quick).then(
        None, js=SHOW_FRAME_JS, api_visibility="private"
    )
    ui.pick.change(on_timeline_pick, [ui.pick], [ui.frame_slider], **quick)
    ui.model.change(
        on_model, [ui.model], [ui.threshold, ui.model_info], api_visibility="private", concurrency_limit=None
    )


def build_lab_tab(analyse: AnalyseTab, examples: dict[str, str] | None = None) -> None:
    """The "Failure lab" tab (uses the first tab's model and threshold, and its video or photo) and its events."""
    examples = examples or {}
    with gr.Tab("Failure lab", id="lab") as tab:
        gr.Markdown(
            "**How fragile is the verdict?** Perturb the clip or photo and run it again, or run the three "
            "levels of a small robustness study. Uses the model and threshold chosen in the first tab, and its "
            "video or photo when this tab has none; no CAM here, to keep it quick."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                clip = clip_input("lab", examples)
                pert = gr.Dropdown(
                    [(f"{n}: {MENU_LABELS.get(n, DESCRIPTIONS[n])}", n) for n in PERTURBATIONS],
                    value="jpeg",
                    label="Perturbation",
                )
                strength = gr.Slider(
                    0.0,
                    1.0,
                    value=0.7,
                    step=0.05,
                    label="Strength (0 = unchanged)",
                    info=lab_strength_info("jpeg", 0.7),
                    elem_id="lab-strength",
                )
                # one above the other: side by side, the slider's help was squeezed into a narrow column (a review)
                lab_frames = gr.Slider(
                    4,
                    MANY_RUNS_MAX_FRAMES,
                    value=16,
                    step=1,
                    label="Frames to sample",
                    info=f"fewer than the {DEFAULT_FRAMES} that Analyse starts at, as each change is analysed again: "
                    "the unchanged clip's score can differ a little from Analyse's (a photo is one frame)",
                    elem_id="lab-frames",
                )
                seed = gr.Number(0, precision=0, label="Random seed (noise, dropout)", minimum=0, elem_id="lab-seed")
                compare_btn = gr.Button("Compare original vs perturbed", variant="primary", elem_id="compare-btn")
                levels_btn = gr.Button(
                    "Run the three levels (none / flip+rotate / heavy)",
                    variant="secondary",
                    elem_id="levels-btn",
                )
                gr.Markdown(
                    "\n".join(
                        f"- **{n}**: {LEVEL_DESCRIPTIONS[n]}" + (f" <small>({c.describe()})</small>" if c.steps else "")
                        for n, c in LEVELS.items()
                    )
                )
            with gr.Column(scale=7, min_width=480):
                delta = gr.Markdown(elem_id="lab-delta")
                # the comparison and the levels show one at a time: the other's empty boxes stood above the results
                with gr.Column(visible=False, elem_id="lab-compared") as compare_box:  # shown by a run
                    with gr.Row():
                        verdict_a = gr.HTML(elem_id="verdict-original", apply_default_css=False)
                        verdict_b = gr.HTML(elem_id="verdict-perturbed", apply_default_css=False)
                    with gr.Row():
                        plot_a = gr.Plot(show_label=False, elem_id="timeline-original")
                        plot_b = gr.Plot(show_label=False, elem_id="timeline-perturbed")
                    preview = gr.Image(
                        label="The same frame, original and perturbed",
                        show_label=False,
                        interactive=False,
                        height=300,
                        elem_id="lab-preview",
                    )
                    gr.Markdown(
                        f"**Faces before and after** (original | perturbed: the face that sets the original's score, "
                        f"in up to {LAB_PAIRS} of a clip's sampled frames spread over it, or a photo's, beside the "
                        "same face perturbed)"
                    )
                    crops = gr.Gallery(
                        label="Faces before and after (original | perturbed)",
                        show_label=False,
                        columns=3,
                        fit_columns=False,
                        height="auto",
                        object_fit="contain",
                        elem_id="lab-crops",
                        allow_preview=True,
                    )
                with gr.Column(visible=False, elem_id="lab-levelled") as levels_box:
                    levels_plot = gr.Plot(show_label=False, elem_id="levels-plot")
                    levels_table = gr.Markdown(elem_id="levels-table")
                    levels_gallery = gr.Gallery(
                        label="One frame at each level",
                        show_label=False,
                        columns=3,
                        height=260,
                        object_fit="contain",
                        elem_id="levels-gallery",
                    )
    compared = [verdict_a, verdict_b, plot_a, plot_b, preview, crops, delta]
    levelled = [levels_plot, levels_gallery, levels_table, delta]
    check = dict(api_visibility="private", concurrency_limit=None, show_progress="minimal")
    checked_inputs = [clip.video, analyse.model, clip.photo]  # validate_input's and not_run's order
    compare_checked = compare_btn.click(validate_input, checked_inputs, [delta], **check)
    compare_run = compare_checked.success(
        on_compare,
        [*clip.media, pert, strength, lab_frames, seed, analyse.model, analyse.threshold],
        compared,
        api_visibility="private",
        concurrency_id="analysis",
    )
    levels_checked = levels_btn.click(validate_input, checked_inputs, [delta], **check)
    levels_run = levels_checked.success(
        on_levels,
        [*clip.media, lab_frames, seed, analyse.model, analyse.threshold],
        levelled,
        api_visibility="private",
        concurrency_id="analysis",
    )
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    for step in (compare_checked, compare_run, levels_checked, levels_run):  # the checks' failure or the run's:
        step.failure(not_run, checked_inputs, [delta], **quick).then(  # the panel says why, in view
            None, js=show_js("#lab-delta"), api_visibility="private"
        )
        step.failure(partial(lab_shown, None), None, [compare_box, levels_box], **quick)  # and no empty frames
    compare_only, levels_only = [c for c in compared if c is not delta], [c for c in levelled if c is not delta]
    compare_btn.click(partial(lab_cleared, len(levels_only)), None, levels_only, **quick)
    levels_btn.click(partial(lab_cleared, len(compare_only)), None, compare_only, **quick)
    # a run's box shows once its checks pass (on the click itself it raced the failure's hiding: a browser check)
    for checked, shown in ((compare_checked, True), (levels_checked, False)):
        checked.success(partial(lab_shown, shown), None, [compare_box, levels_box], **quick)
    for run in (compare_run, levels_run):  # the score change and the verdicts in view
        run.success(None, js=show_js("#lab-delta"), api_visibility="private")
    for changed in (pert.change, strength.change):  # the slider says what the perturbation does at its strength
        changed(on_strength, [pert, strength], [strength], **quick)
    clip.follow_first_tab(tab, analyse)
    # a new clip or photo: the results shown are of the old one
    stale = list(dict.fromkeys(compared + levelled))
    clip.on_new_file(partial(on_lab_new_clip, len(stale)), stale, cancels=[compare_run, levels_run])
    for changed in (clip.video.change, clip.photo.change):  # and their boxes go until a run fills one
        changed(partial(lab_shown, None), None, [compare_box, levels_box], **quick)


@dataclass
class CompareTab:
    """The "Compare models" tab's components: :func:`on_compare_models` returns ``{component: value}`` over these."""

    video: gr.Video
    photo: gr.Image
    models: gr.CheckboxGroup
    frames: gr.Slider
    cam: gr.Dropdown
    heat_colours: gr.Radio
    run_btn: gr.Button
    summary: gr.Markdown
    table: gr.Dataframe
    timeline: gr.Plot
    cams: gr.Image
    json_btn: gr.DownloadButton
    csv_btn: gr.DownloadButton

    @property
    def results(self) -> list:
        """What one comparison fills (the outputs of :func:`on_compare_models`)."""
        return [self.summary, self.table, self.timeline, self.cams, self.json_btn, self.csv_btn]


def build_compare_tab(analyse: AnalyseTab, models: list, examples: dict[str, str] | None = None) -> CompareTab:
    """The "Compare models" tab (every installed model on one clip or photo, the first tab's when it has none) and
    its events.  The models are loaded when a comparison runs, not when the page is built."""
    from webapp.compare import VERDICT_HEADERS
    from webapp.faces import HEAT_MAP_CHOICES

    examples = examples or {}
    cams = cam_choices()
    cards = {c.name: c for c in list_models(MODELS_DIR)}  # read once
    with gr.Tab("Compare models", id="compare") as tab:
        gr.Markdown(
            "**Do the models agree?** Every ticked model runs on the same sampled frames of one clip, or on one "
            "photo: their timelines overlaid (each with its own threshold), each verdict, where they label faces "
            "differently, "
            "and one CAM per model of the same face. Each model is loaded when first compared (the first run is "
            "slower)."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                clip = clip_input("compare", examples)
                chosen = gr.CheckboxGroup(
                    models,
                    value=[n for _, n in models if compared_by_default(cards.get(n))],  # in the menus' order
                    label="Models to compare",
                    info="ticked: the default and the others calibrated on real people; the baselines with a fixed "
                    "0.5 threshold and the MesoNet authors' weights are one tick away",
                    elem_id="compare-models",
                )
                frames = gr.Slider(  # as Analyse and the CLI: a model's verdict here is the one it gives there
                    4,
                    MANY_RUNS_MAX_FRAMES,
                    value=DEFAULT_FRAMES,
                    step=1,
                    label="Frames to sample",
                    info=f"{DEFAULT_FRAMES} as Analyse and the command line start at: with the same number there, "
                    f"each verdict is the one it gives there; at most {MANY_RUNS_MAX_FRAMES} here (Analyse: "
                    f"{LIMITS.max_frames}), as every ticked model scores each",
                    elem_id="compare-frames",
                )
                cam = gr.Dropdown(
                    cams,
                    value=cams[0],
                    label="Explanation (CAM method)",
                    info="one heat map per model, of the same face",
                    elem_id="compare-cam",
                )
                heat_colours = gr.Radio(  # the comparison is not kept (memory): a new choice needs a new run
                    HEAT_MAP_CHOICES,
                    value="jet",
                    label="Heat-map colours",
                    info="for the next comparison",
                    elem_id="compare-heat-colours",
                )
                run_btn = gr.Button("Compare the models", variant="primary", elem_id="compare-models-btn")
            with gr.Column(scale=7, min_width=480):
                summary = gr.Markdown(elem_id="compare-summary")
                table = gr.Dataframe(
                    headers=VERDICT_HEADERS,
                    interactive=False,
                    wrap=True,
                    column_widths=["24%", "22%", "13%", "10%", "13%", "18%"],  # "uncertain" unbroken
                    elem_id="compare-table",
                )
                timeline = gr.Plot(show_label=False, elem_id="compare-timeline")
                gr.Markdown(
                    "**The same face, as each model saw it, beside its CAM** (each map scaled to its own strongest "
                    "spot: on a face a model scores real, the hottest part is where it leaned most towards fake, not "
                    "evidence of a fake)"
                )
                cam_row = gr.Image(
                    label="The same face, as each model saw it, beside its CAM",
                    show_label=False,
                    interactive=False,
                    elem_id="compare-cams",
                    buttons=["download", "fullscreen"],
                )
                with gr.Row():
                    json_btn = gr.DownloadButton("Download JSON", visible=False, elem_id="compare-json")
                    csv_btn = gr.DownloadButton("Download CSV", visible=False, elem_id="compare-csv")
    ui = CompareTab(
        clip.video,
        clip.photo,
        chosen,
        frames,
        cam,
        heat_colours,
        run_btn,
        summary,
        table,
        timeline,
        cam_row,
        json_btn,
        csv_btn,
    )
    checked = run_btn.click(
        validate_comparison,
        [clip.video, analyse.model, clip.photo, chosen],
        [summary],
        api_visibility="private",
        concurrency_limit=None,
        show_progress="minimal",
    )
    run = checked.success(
        partial(on_compare_models, ui),
        [*clip.media, chosen, frames, cam, heat_colours],
        ui.results,
        api_visibility="private",
        concurrency_id="analysis",
    )
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    for step in (checked, run):
        step.failure(partial(compare_not_run, ui), [*clip.media, chosen, analyse.model], ui.results, **quick).then(
            None, js=show_js("#compare-summary"), api_visibility="private"
        )
    run.success(None, js=show_js("#compare-summary"), api_visibility="private")  # the summary in view
    # one choice of heat-map colours for the page: a choice on either tab is the other's too (a teacher's audit)
    analyse.heat_colours.input(_same, [analyse.heat_colours], [heat_colours], **quick)
    heat_colours.input(_same, [heat_colours], [analyse.heat_colours], **quick)
    clip.follow_first_tab(tab, analyse)

    # a new clip or photo: the results shown are of the old one
    def cleared(video, photo, slot):
        hidden = gr.DownloadButton(value=None, visible=False)
        return media_note(video, photo, slot), None, None, None, None, hidden, hidden

    clip.on_new_file(cleared, ui.results, cancels=[checked, run])
    return ui


def build_about_tab() -> None:
    with gr.Tab("How it works", id="about"):
        gr.Markdown(ABOUT)


def build_api(analyse: AnalyseTab) -> None:
    """API only: the CLI's JSON report at ``/analyze_json``.  The hidden button is never shown; the endpoint is
    the point."""
    api_btn = gr.Button(visible=False)
    api_out = gr.JSON(visible=False)
    # the API's threshold is its own hidden input, empty by default: a caller who gives none gets the chosen model's
    # own threshold and uncertain band (the page's slider would hand every caller the default model's threshold)
    api_threshold = gr.Number(value=None, visible=False, minimum=0, maximum=1, label="threshold")
    api_btn.click(
        analyze_json,
        [analyse.video, analyse.frames, analyse.model, analyse.cam, api_threshold, analyse.photo],
        [api_out],
        api_name="analyze_json",
        concurrency_id="analysis",
    )


def build_demo(examples: dict[str, str] | None = None) -> gr.Blocks:
    models = model_choices()
    _session_files().keep_copies_of((examples or {}).values())  # an upload of an example clip is that clip
    with gr.Blocks(title=TITLE, delete_cache=(3600, 7200)) as demo:
        build_header(models)
        with gr.Tabs():
            analyse = build_analyse_tab(models, examples)
            build_lab_tab(analyse, examples)
            build_compare_tab(analyse, models, examples)
            build_about_tab()
        build_api(analyse)

        def ended(request: gr.Request) -> None:  # a closed or reloaded tab: its state, files and memory go now
            end_session(demo, request)

        demo.unload(ended)
    return demo


ABOUT = f"""
## In short
**video or photo → sampled frames → faces → a fake probability for each face → one verdict, and heat maps**

A *deepfake* here is a video or photo in which a computer swapped or changed a face. This tool finds each face, and
a neural network that learned from known real and fake faces gives it a *fake probability*. These become one
verdict: **real**, **uncertain** or **fake**. A heat map shows which pixels pushed the score towards fake. It is one
model's estimate, not proof: it can miss fakes unlike those it learned from, and it can call real people fake, more
often on compressed, filtered or forwarded material. The details follow.

## What happens to your video or photo
1. **Decode**: {DEFAULT_FRAMES} frames (up to {LIMITS.max_frames} on the slider) are sampled evenly over the clip
   (PyAV); rotation tags are applied. A photo (jpg, png, webp, bmp, a one-frame gif) is one frame, turned
   upright by its EXIF tag, its transparent parts laid on white; an animated gif is a clip.
2. **Find faces**: BlazeFace (mediapipe) finds faces in each sampled frame, and follows each person from frame to
   frame: face 0, face 1... numbered left to right as they first appear.
3. **Score**: each face crop gets a *fake probability* from the classifier (the model card says what it was trained on).
4. **Aggregate**: the *confident* rule (from the DFDC winning solution) turns frame scores into one score per person;
   the video score is the highest among the people seen often enough (a photo's: its most fake face's). At or above
   the threshold → *fake*; just below it, in the model's *uncertain* band (where real faces of its validation set
   also score) → *uncertain*.
5. **Explain**: a class-activation map (Grad-CAM and relatives) shows which pixels pushed the score towards *fake*,
   each map scaled to its own strongest spot (on a face scored real, red is not evidence of a fake); in jet colours
   (blue to red) or, chosen over the gallery or in the Compare tab, inferno (dark to bright yellow: its brightness
   rises with the map, so it reads the same with red-green colour blindness, where jet's red peak and yellow-green
   shoulder look alike, and in greyscale); its faithfulness
   figures are in the table: *CAM drop (blur)* is how far the fake probability falls when the map's hottest pixels
   are blurred (large: the map found what drove the score; near 0: it did not; negative: blurring those pixels
   made the face look *more* fake), and the share of the map on the face itself. Where a
   face's square runs past the picture's edge, the tile hatches that part: padding (a photo's border mirrored
   outwards, black beyond a video frame) that the model saw and the picture does not hold.

## Read the verdict with care
- No face, few faces, tiny faces, or frame scores split around the threshold all make a verdict shaky; the app says so.
- So do faces unlike all the model trained on: smaller or larger, blurrier or sharper (less compressed, or grainy:
  noise counts as fine detail), darker or brighter, more turned, tinted yellower or greener (a sepia or warm
  filter) or pinker or bluer (a colour filter or light), more strongly coloured (a warm or vivid filter), or
  two-toned, their colour following their brightness (a duotone), than nearly all its training faces (the ranges
  are in its card). Its training videos are compressed TV footage, so a
  clean HD clip can read "sharper": its score then means less, either way.
- A video smaller than every training clip (under 480 px on its short side), as a clip forwarded through a messaging
  app often is, is warned of: shrunk to 360 px and compressed again, real clips were called fake more than twice
  as often.
  Look for the original.
- A detector trained on one kind of fakes can miss other kinds, and compression or filters can fool it: try the
  *Failure lab*.
- A clip or photo of the research data the model trained on (FaceForensics++, UTKFace) is recognised by its bytes
  and named in the first warning: a right verdict on it proves nothing about new material.
- Limits: {LIMITS.max_file_mb:.0f} MB, {LIMITS.max_duration_s:.0f} s, 1440p. Analyses run one at a time (the host
  can allow more); others wait in the queue, which shows their position.

## The other tabs
- **Failure lab**: the same clip or photo changed on purpose (JPEG re-compression, blur, noise, shrinking,
  brightness, contrast, colour removed, a sepia or warm filter, a mirror flip, a turn, black squares), analysed
  again beside the original, with the original's faces paired with the same faces changed. *Three levels* runs a
  small robustness study: unchanged, *fliprot* (mirrored and turned by 10 degrees: a fair detector should not care)
  and *heavy* (several changes at once). The perturbation's strength is said in figures under its slider (blur's
  *sigma* is how wide the blur spreads, as a share of the frame's longer side). A verdict that flips under a change
  a person would not notice is a verdict to doubt.
- **Compare models**: every installed model on one clip or photo, their timelines overlaid (a clip's), each
  verdict, and one heat map per model for the same face; where they disagree, no single verdict should be trusted
  alone.

## Use it from code
`python -m detector scan clip.mp4 --json out.json` writes the same report as the JSON download here. Over HTTP:
`gradio_client.Client(url).predict(handle_file("clip.mp4"), 32, None, "none (faster)", None, api_name="/analyze_json")`
(the model `None`: the default; the threshold `None`: the model's own, with its uncertain band, as on this page; a
number there is used as given, the band ending at it); for a photo, pass `None` as the video and
`photo=handle_file("photo.jpg")`.
"""


def _warm_up() -> None:
    """Load the default model and the face detector in the background (first analysis is faster)."""
    try:
        from detector.inference.pipeline import face_detector
        from detector.models.classifier import load_model

        face_detector()  # imports mediapipe here, not during an analysis (see run_analysis)
        load_model(None, MODELS_DIR)
        from explain import explain_faces  # noqa: F401  (torch, pytorch-grad-cam)
    except Exception as e:  # nothing installed yet: the UI says so
        log.info("warm-up skipped: %s", e)


def queue_settings() -> tuple[int, int]:
    """(analyses run at once, requests that may wait) from DEEPFAKE_APP_CONCURRENCY (default 1: an analysis takes
    both cores of a free Space) and DEEPFAKE_APP_QUEUE_SIZE (default 16; a request beyond it is told the queue is
    full).  On larger hardware, about one analysis per 2 cores."""

    def read(name: str, default: int, low: int, high: int) -> int:
        try:
            value = int(os.environ.get(name, default))
        except ValueError:
            log.warning("%s=%r is not a whole number: using %d", name, os.environ.get(name), default)
            return default
        return min(max(value, low), high)

    return read("DEEPFAKE_APP_CONCURRENCY", 1, 1, 64), read("DEEPFAKE_APP_QUEUE_SIZE", 16, 1, 10_000)


def server_address() -> tuple[str, int]:
    name = os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = int(os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("PORT") or 7860)
    return name, port


def _exit_on_sigterm(signum, frame) -> None:
    """A stop by SIGTERM (``docker stop``, a Space restart, ``kill``) takes Ctrl-C's path: gradio closes its server,
    ``main`` returns and the atexit handlers run, so the downloads folder is removed (Python's default for SIGTERM
    skips them).  A second SIGTERM while that runs is ignored."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # before launch: gradio's SSR server sets its own after ours
    if os.environ.get("DEEPFAKE_APP_MMAP", "1") != "0":
        from webapp.session import fix_mmap_threshold

        fix_mmap_threshold()  # decoded frames are given back to the system when freed (see its doc)
    from webapp.examples import ensure_examples

    examples = {}
    if os.environ.get("DEEPFAKE_APP_EXAMPLES", "1") != "0":
        examples = ensure_examples()
    demo = build_demo(examples)
    concurrency, queue_size = queue_settings()
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    name, port = server_address()
    theme = gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="slate",
        font=["Inter", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    ).set(  # text contrast of at least 4.5:1 (an accessibility audit: labels 3.6:1, hints 2.5:1, buttons 4.5:1)
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        body_text_color_subdued="*neutral_600",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_600",
        checkbox_label_background_fill_selected="*primary_700",
        color_accent="*primary_700",
    )
    demo.launch(
        server_name=name,
        server_port=port,
        max_file_size=f"{LIMITS.max_file_mb:.0f}mb",
        show_error=True,
        theme=theme,
        css=CSS,
        head=HEAD,
        footer_links=["api"],
        run_history=False,
        prevent_thread_lock=True,
    )
    log.info(
        "ready in %.1f s after start (imports %.1f s; %.1f s of CPU) on http://%s:%d",
        time.perf_counter() - _T0,
        _imported - _T0,
        time.process_time(),
        name,
        port,
    )
    threading.Thread(target=_warm_up, daemon=True).start()  # after "ready": it must not slow the start
    demo.block_thread()


if __name__ == "__main__":
    main()
