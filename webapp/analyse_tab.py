"""The "Analyse a video or photo" tab: its components (:class:`AnalyseTab`), its builder and its handlers, which
return ``{component: value}``; and the HTTP API's analysis, :func:`analyze_json`.

    run_analysis(video, frames, model_name, cam, threshold)  the page's inputs -> a Report (detector's analyze)
    on_analyze(ui, ...)                    the Analyse button: every result of the tab
    on_threshold(ui, ...)                  the threshold slider: the same scores labelled again, no new analysis
    build_analyse_tab(models, examples)    the tab and its events
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from functools import partial

import gradio as gr

from detector.constants import DEFAULT_FRAMES, GIF_EXTENSIONS
from detector.errors import InputError
from detector.inference.stills import is_still
from explain import DEFAULT_HEAT_MAP
from webapp import common, session_files
from webapp.common import (
    CAM_FACES,
    DRAWING,
    LIMITS,
    NO_CAM,
    _before_drawing,
    _check_photo,
    _check_video,
    _heat_colours,
    _keep_one,
    _media_line,
    _model,
    _run_guarded,
    _slider_threshold,
    _without_server_path,
    cam_choices,
    check_and_remember,
    checked_media,
    example_list,
    failure_reason,
    model_card,
    model_choices,
    pick_media,
    show_js,
)
from webapp.photo_input import photo_input
from webapp.tables import HEADERS
from webapp.verdict import THRESHOLD_STEP, message_html

__all__ = [
    "AnalyseTab",
    "build_analyse_tab",
    "run_analysis",
    "analyze_json",
    "on_analyze",
    "on_threshold",
    "on_new_media",
    "on_model_changed",
    "on_model",
    "on_frame",
    "on_order",
    "on_heat_colours",
    "on_gallery_select",
    "on_timeline_pick",
    "face_gallery",
    "frame_shown",
    "not_analysed",
    "cleared_results",
    "limits_line",
    "on_settings_changed",
    "SETTINGS_CHANGED",
    "slider_value",
    "card_markdown",
]

PHOTO_NOTE = "A photo is a single frame: there is no timeline. The photo with its faces is shown below."
PHOTO_NOTE_NO_FACE = "A photo is a single frame: there is no timeline. No face was found in the photo below."
# a teacher's audit: "self-blended" was said nowhere else, and the fake example is the easy case for the default
EXAMPLES_NOTE = (
    "*Self-blended*: the face pasted back onto itself with a slight change of colour and shape, as in the default "
    "model's training fakes: an easy case for it, not a fake from the wild."
)
GALLERY_COLUMNS = 4  # face tiles in a row of the Analyse tab's gallery
GALLERY_HEIGHT = 520  # its height, with a scroll bar, once its tiles fill more than two rows
SHOW_FRAME_JS = "() => document.querySelector('#frame-caption')?.scrollIntoView({behavior: 'smooth', block: 'start'})"
WELCOME = "Upload a video or a photo, or pick an example, then press Analyse."
# Analyse pressed with no file (a browser check: the panel pointed to a message box that never opened)
NOTHING_GIVEN = "Nothing to analyse yet: upload a video or a photo first (or pick an example), then press Analyse."
NOT_ANALYSED = (
    "Nothing could be analysed: the reason is in the message box at the top right (the file, or the model chosen). "
    "Change what it names, then press Analyse."
)


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
    if not (video or photo):  # the quick check's refusal has no message box: the panel is the only place it shows
        return {**cleared_results(ui), ui.verdict: message_html(NOTHING_GIVEN, "error")}
    reason = failure_reason(video, model_name, photo)
    text = f"Nothing could be analysed: {reason}" if reason else NOT_ANALYSED
    return {**cleared_results(ui), ui.verdict: message_html(text, "error")}


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


# video codecs browsers play in a <video> element; others (MPEG-4 Part 2, say) leave the player blank
def _playable_note(info, photo: bool) -> str:
    """:func:`webapp.lab.playable_note` for the "Ready" line (a leading space, "" for a photo)."""
    from webapp.lab import info_note

    note = "" if photo else info_note(info)
    return f" {note}" if note else ""


VIDEO_LIMITS = (
    f"mp4, mov, webm or avi · up to {LIMITS.max_file_mb:.0f} MB and {LIMITS.max_duration_s:.0f} s · "
    "a photo goes in the Photo tab"  # a jpg dropped here got only the browser's "Invalid file type" (a review)
)


def limits_line(video) -> str:
    """The line under the first tab's video: the formats and limits; for a clip the browser will likely show blank,
    that it is analysed all the same (the "Ready" line said it, but the verdict replaces it); for a file that cannot
    be analysed, why, beside the player that shows it (a browser check: on a phone the verdict panel saying so was a
    screen further down, and gradio's own "Video not playable" pop-up, hidden now, was all that showed)."""
    from webapp.lab import info_note

    if not video:
        return VIDEO_LIMITS
    try:
        _, info = checked_media(video, None)
    except gr.Error as e:
        return f"{VIDEO_LIMITS}  \n**This file cannot be analysed: {e.message}**"
    note = info_note(info, video)
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
    # uploads are shared by content: the same file in another tab must outlive its end
    session_files._hold_for_session(media)
    photo = is_still(media)
    try:  # the file is read once: its header for the "Ready" line, or the reason it cannot be analysed
        media, info = checked_media(None if photo else media, model_name, media if photo else None)
        # an animated gif comes in through the Photo tab and is shown as a picture: no player to fail to play it (a
        # journalist's audit: "your browser may not play this clip (gif video) in the player above", with none)
        shown_as_picture = photo or str(media).lower().endswith(GIF_EXTENSIONS)
        panel = message_html(
            f"Ready: {_media_line(media, info)}. Press Analyse.{_playable_note(info, shown_as_picture)}"
        )
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


def slider_value(threshold: float) -> float:
    """A card's threshold as the slider shows it: to its step, :data:`webapp.verdict.THRESHOLD_STEP` (0.90793 shows
    as 0.908, as the verdict prints it; :func:`_slider_threshold` reads any value within half a step of the card's
    as the card's own)."""
    return round(round(float(threshold) / THRESHOLD_STEP) * THRESHOLD_STEP, 6)


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
    colours=DEFAULT_HEAT_MAP,
    progress=gr.Progress(),
) -> dict:
    """The Analyse button: one analysis of the video or photo; returns ``{component of ui: value}`` for every
    output of the first tab (``ui``: its :class:`AnalyseTab`).

    The session keeps a slim copy of the report (:func:`webapp.session.slim_report`: frames as small JPEGs), and
    the uploaded file until the session ends (the lab and a second analysis use it again)."""
    from detector.inference.pipeline import judged_side
    from detector.inference.report import judged_faces
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
    session_files._hold_for_session(pick_media(video, photo))
    report = slim_report(report)  # the full-size frames go now, not when the session ends
    release_memory()
    progress(DRAWING, desc="drawing the results")
    photo = is_photo(report)  # one frame: no timeline, no frame slider
    card = _card_of(model_name)
    # the card's threshold and band for this file (a small file's, or a photo with several faces', where the card has
    # one), as analyze chose them; where the slider stood at one of the card's own, that one judged the file and the
    # slider now shows it
    own = card is not None and _slider_threshold(threshold, _model(model_name)) is None
    info = report.video_info
    side = judged_side(report.video, info.get("width"), info.get("height"), photo, report.faces if photo else ())
    card_t, card_band = card.threshold_for(side, photo, judged_faces(report)) if card is not None else (None, None)
    judged = {  # what the threshold slider needs to judge these scores again
        "threshold": card_t,
        "uncertain": list(card_band) if card_band else None,
        "card": card,  # for the HTML report (its summary of the model card)
    }
    pos = _first_fake_position(report)
    image, caption = frame_shown(report, pos)
    items, positions = gallery_items(report, order, colours=colours)
    csv_path, json_path, html_path = _write_downloads(report, judged, colours)
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
        **({ui.threshold: gr.update(value=slider_value(judged["threshold"]))} if own else {}),
    }


def face_gallery(items: list) -> dict:
    """The Analyse tab's face gallery holding ``items``: as tall as its tiles for up to two rows, then
    :data:`GALLERY_HEIGHT` with a scroll bar (a browser check: a photo's one tile stood over 400 px of empty
    gallery)."""
    rows = -(-len(items) // GALLERY_COLUMNS)
    return gr.update(value=items, height="auto" if rows <= 2 else GALLERY_HEIGHT)


def on_threshold(ui, report, judged, threshold, position, order, colours=DEFAULT_HEAT_MAP) -> dict:
    """The threshold slider: label the scores already computed again (no new analysis); ``{component: value}``.

    At the model card's own threshold its uncertain band applies; at another, the band keeps its lower edge.
    Redraws what shows the threshold: the verdict card, the timeline, the frame, the gallery and the downloads.
    """
    from webapp.faces import gallery_items
    from webapp.plots import timeline_figure, timeline_summary
    from webapp.verdict import is_photo, relabel, verdict_html

    colours = _heat_colours(colours)
    if report is None or threshold is None:  # nothing analysed yet: nothing to re-label; a dict, so that gradio reads
        # it as {component: value} (an empty one it took for one value: "didn't return enough output values" in an
        # error box at each move of the slider before an analysis, a browser check)
        return {ui.verdict: gr.skip()}
    if not (math.isfinite(float(threshold)) and 0 <= float(threshold) <= 1):  # the slider sends none: raw HTTP
        raise gr.Error(f"the threshold is a probability, between 0 and 1; got {threshold!r}", print_exception=False)
    judged = judged or {}
    report = relabel(report, float(threshold), judged.get("threshold"), judged.get("uncertain"), judged.get("card"))
    image, caption = frame_shown(report, int(position or 1) - 1)
    items, positions = gallery_items(report, order, colours=colours)
    csv_path, json_path, html_path = _write_downloads(report, judged, colours)
    stale = message_html(SETTINGS_CHANGED) if judged.get("settings_changed") else ""  # still true: still said
    out = {
        ui.verdict: stale + verdict_html(report),
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
        out[ui.timeline_note] = timeline_summary(report)  # its words: a stretch that keeps the clip from real
    return out


def on_own_threshold(ui, report, judged, model_name, video, photo) -> dict:
    """The "Back to the model's threshold" button: the slider back at the threshold the model card judges this file
    at (a small file's, a photo with several faces', where the card has one); before any analysis, the chosen model's
    threshold for the file in the slots (as :func:`on_model` puts it).  The page then sends the slider's own input
    event (:data:`SLIDER_INPUT_JS`), so that the scores are labelled again by :func:`on_threshold`, as for a move of
    the slider, and the last value the slider took is the one that judges (a browser check: the button's reply,
    which also labelled the scores, landed after a click on the slider and left the slider at 0.666 under a card
    judged at 1.000).  Dragging the slider back to a card's threshold to the step (0.001) was all but impossible,
    and anywhere else the verdict reads "set by hand"."""
    card_t = (judged or {}).get("threshold")
    if report is None or card_t is None:
        card = model_card(model_name)
        if card is None:
            return {ui.threshold: gr.skip()}
        card_t = card.threshold_for(*_loaded_side(video, photo))[0]
    return {ui.threshold: slider_value(card_t)}


# the slider's input event, sent by the page once the button has put the slider back: the scores are labelled again
# at the value the slider shows (Svelte listens for it on the range input)
SLIDER_INPUT_JS = """() => {
  const range = document.querySelector('#threshold input[type=range]');
  if (range) range.dispatchEvent(new Event('input', {bubbles: true}));
}"""


def _write_downloads(report, judged: dict, colours: str = DEFAULT_HEAT_MAP) -> tuple[str, str, str]:
    """The CSV, the JSON and the shareable HTML report of ``report``, in a fresh folder (gradio serves copies,
    and the folder is deleted when the session ends); ``judged``: the model card (see
    :func:`on_analyze`); ``colours``: the HTML report's heat maps'."""
    from webapp.html_report import write_html_report
    from webapp.tables import write_downloads

    folder = tempfile.mkdtemp(prefix="report_", dir=session_files._downloads_root())
    session_files._hold_for_session(folder, upload=False)
    csv_path, json_path = write_downloads(report, folder)
    html_path = write_html_report(report, judged.get("card"), folder, colours=colours)
    return csv_path, json_path, html_path


def _card_of(model_name):
    """The model card the analysis used (by name or path), or None."""
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    try:
        return ModelCard.from_file(resolve(model_name or None, common.MODELS_DIR))
    except Exception:  # the analysis itself said what was wrong
        return None


def _frame_slider(report, pos: int, visible: bool = True) -> gr.Slider:
    """The frame slider over the report's sampled frames (gradio wants maximum > minimum, even for one frame)."""
    n = len(report.frames)
    return gr.Slider(minimum=1, maximum=max(2, n), value=pos + 1, step=1, interactive=n > 1, visible=visible)


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

    session_files._hold_for_session(pick_media(video, photo))
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


def on_order(report, order, colours=DEFAULT_HEAT_MAP):
    from webapp.faces import gallery_items

    if report is None:
        return [], []
    return gallery_items(report, order, colours=_heat_colours(colours))


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


SETTINGS_CHANGED = "The settings changed since this analysis: press Analyse to apply them to this file."


def on_settings_changed(report, judged=None) -> tuple:
    """The verdict panel after the frames, CAM method, rule or explained faces changed: the results shown were made
    with the old ones, and a line above the verdict says so (a browser check: the old gallery and downloads stayed
    with nothing to say they were not the new settings'); no report yet: nothing to say.  Returns (the panel, the
    analysis' ``judged`` state marked ``settings_changed``, so that the threshold slider's redraw says it again: a
    review found the line gone once the slider moved)."""
    from webapp.verdict import verdict_html

    if report is None:
        return gr.skip(), gr.skip()
    return message_html(SETTINGS_CHANGED) + verdict_html(report), {**(judged or {}), "settings_changed": True}


def on_model(name, video=None, photo=None):
    """Another model picked: the slider at its threshold for the file in the slots (a small video's where the card
    has one: a browser check saw the usual one until Analyse moved it), and its card in words."""
    card = model_card(name)
    if card is None:
        return gr.Slider(), ""
    return gr.Slider(value=slider_value(card.threshold_for(*_loaded_side(video, photo))[0])), card_markdown(card)


def _loaded_side(video, photo) -> tuple[int | None, bool]:
    """(the short side by which a card's threshold for small videos or small photos would judge the file in the
    slots (:func:`detector.inference.pipeline.judged_side`), whether it is a photo): a side of None for no file or
    one that cannot be read."""
    from detector.inference.pipeline import judged_side
    from detector.inference.video import probe_cached

    media = pick_media(video, photo)
    if not media:
        return None, False
    if is_still(media):
        from PIL import Image

        from detector.inference.stills import MAX_STILL_SIDE

        try:
            with Image.open(media) as im:  # the header only; the side read_still keeps (a huge photo is shrunk)
                w, h = im.size
        except Exception:  # noqa: BLE001 -- a file the checks refuse is said by them, on Analyse
            return None, True
        return judged_side(media, *(round(v * min(1.0, MAX_STILL_SIDE / max(w, h))) for v in (w, h)), photo=True), True
    try:
        info = probe_cached(media, LIMITS)
    except Exception:  # noqa: BLE001 -- a file the checks refuse is said by them, on Analyse; here: the usual threshold
        return None, False
    return judged_side(media, info.width, info.height, photo=False), False


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
    from webapp.cards import (
        GLOSSARY,
        calibration_rule,
        card_figures,
        covered_summary,
        for_readers,
        many_faces_summary,
        text_summary,
    )

    lines = [
        f"**{card.name}** — architecture `{card.architecture}`, input {card.input_size} px, "
        f"threshold {card.threshold:.3f}, face margin {card.face_margin:.0%}."
    ]
    if card.calibrated:
        lines.append(f"Threshold: {calibration_rule(card) or 'calibrated on validation reals (rule not recorded)'}.")
    else:
        lines.append("Threshold: fixed, not calibrated on real people.")
    for small in card.small_video_tiers:  # thresholds of its own for videos smaller than the training clips
        lines.append(
            f"Videos under {int(small['below'])} px on the short side (as a forwarded clip often is): threshold "
            f"{float(small['threshold']):.3f}, {small.get('rule') or 'rule not recorded'}."
        )
    for small in card.small_photo_tiers:  # and for photos smaller than the training photos
        lines.append(
            f"Photos under {int(small['below'])} px on the short side (a thumbnail, an avatar): threshold "
            f"{float(small['threshold']):.3f}, {small.get('rule') or 'rule not recorded'}."
        )
    many = many_faces_summary(card)  # and for photos with several faces
    if many:
        lines.append(f"{many}.")
    covered = covered_summary(card)  # and for faces read as covered
    if covered:
        lines.append(f"{covered}.")
    texted = text_summary(card)  # and for faces under text
    if texted:
        lines.append(f"{texted}.")
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


@dataclass
class AnalyseTab:
    """The first tab's components: its handlers return ``{component: value}`` over these."""

    video: gr.Video
    photo: gr.Image
    frames: gr.Slider
    model: gr.Dropdown
    cam: gr.Dropdown
    threshold: gr.Slider
    own_btn: gr.Button  # the slider back at the card's threshold for the file (see on_own_threshold)
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
            self.timeline_note,
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
                    example_list(video, examples, "Examples (rendered by the project from a public-domain photo)")
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
                    info="spread evenly over a clip (a photo is one frame); more is steadier but slower, and a score "
                    "near the threshold may still change with the number",
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
                    info="score at or above it → fake (a face under text, or with its mouth and chin covered: "
                    "uncertain, unless it reaches the model's own threshold for such faces); from the model's "
                    "uncertain band's lower edge up to it → uncertain. Moving it re-labels at once. A small video"
                    " or photo (under 480 px, or 80 px for a photo or its face), and a photo with several faces, "
                    "get the model's stricter threshold for such files, where it has one.",
                    elem_id="threshold",
                    # no reset button (Gradio shows one unless told): it sends "change", not "input", so the verdict
                    # kept the old threshold, and it went back to the value the page was built with, not the one
                    # the loaded file is judged at (a teacher's audit)
                    buttons=[],
                )
                # the slider back where the model judges this file (with the card's band): dragging back to it to
                # the step was all but impossible, and a verdict anywhere else reads "set by hand"
                own_btn = gr.Button("Back to the model's threshold", size="sm", elem_id="own-threshold")
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
                        value=CAM_FACES,
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
                timeline = gr.Plot(label="Fake score over time (click a point to see its frame)", elem_id="timeline")
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
                "## Faces and their explanations\nEach tile: the face as the model saw it (a head tilted by 10 to 45 "
                "degrees turned upright, or with text found over it: its caption says so) and, "
                "beside it, its CAM "
                "heat map (pushed towards *fake*: red in jet, bright yellow in inferno; each map "
                "is scaled to its own strongest spot, so on a face scored real it shows where the model leaned most "
                "towards fake, not evidence of a fake) when a CAM method is chosen; with an RGB + depth model, last, "
                "the depth map its depth stream read (FaceMesh's estimate, brighter = nearer). Red frame = scored at "
                "or above the threshold, amber = in the model's uncertain band just below it (or over it, under "
                "text or covered over the mouth and chin, short of the model's own threshold for such faces where it "
                "has one), green = "
                "below; the "
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
                    HEAT_MAP_CHOICES,
                    value=DEFAULT_HEAT_MAP,
                    label="Heat-map colours",
                    elem_id="heat-colours",
                    min_width=340,
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
        own_btn=own_btn,
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
    ui.video.change(_keep_one, [ui.video, ui.photo], [ui.photo], **quick)
    ui.photo.change(_keep_one, [ui.photo, ui.video], [ui.video], **quick)
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
        # and the slider: the card's threshold that judged the file (a small video's has its own)
        [*ui.results, ui.threshold],
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
    # the "Back to the model's threshold" button sets the slider only; the page then sends the slider's own input
    # event, so that one handler labels the scores, at the value the slider shows (a browser check: when the button
    # labelled them too, its reply landing after a click on the slider left the slider at 0.666 under a card judged
    # at 1.000; the slider's replies must not set the slider, or a slow drag snaps back to each stale value)
    ui.own_btn.click(
        partial(on_own_threshold, ui),
        [ui.report_state, ui.judged_state, ui.model, ui.video, ui.photo],
        [ui.threshold],
        trigger_mode="always_last",
        **quick,
    ).then(None, js=SLIDER_INPUT_JS, api_visibility="private")
    for setting in (ui.frames, ui.cam, ui.rule, ui.cam_faces):  # results of the old settings: said so
        setting.input(on_settings_changed, [ui.report_state, ui.judged_state], [ui.verdict, ui.judged_state], **quick)
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
        on_model,
        [ui.model, ui.video, ui.photo],
        [ui.threshold, ui.model_info],
        api_visibility="private",
        concurrency_limit=None,
    )
