"""The "Compare models" tab: every ticked model on one clip or photo.  The drawing is :mod:`webapp.compare`; here
are the tab's components (:class:`CompareTab`), its builder and its handlers."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial

import gradio as gr

from detector.constants import DEFAULT_FRAMES
from detector.errors import InputError
from detector.models.store import list_models
from explain import DEFAULT_HEAT_MAP
from webapp import common, session_files
from webapp.analyse_tab import AnalyseTab
from webapp.clip_input import clip_input, media_note
from webapp.common import (
    DRAWING,
    LIMITS,
    MANY_RUNS_MAX_FRAMES,
    NO_CAM,
    _before_drawing,
    _check_video,
    _heat_colours,
    _run_guarded,
    _without_server_path,
    cam_choices,
    check_and_remember,
    not_run,
    pick_media,
    show_js,
)

__all__ = [
    "CompareTab",
    "build_compare_tab",
    "on_compare_models",
    "compare_not_run",
    "validate_comparison",
    "is_peer",
    "compared_by_default",
]


def is_peer(card) -> bool:
    """A model trained by others and converted (the MesoNet authors' weights), not by this project's recipes."""
    return card is not None and "converted_by" in (card.trained or {})


def compared_by_default(card) -> bool:
    """Ticked in the compare tab at first: the default model, and this project's models whose threshold was
    calibrated on real people they never trained on.  The early baselines (a fixed 0.5, which calls many real
    faces fake) and the peers are one tick away."""
    return card is not None and (card.default or (card.calibrated and not is_peer(card)))


def validate_comparison(video, model_name, photo=None, models=None):
    """:func:`validate_input`, and at least one model ticked: said beside the button, without a message box (a
    teacher's audit: the box of a run refused for no model stood over the next run's results); and what was asked
    for (:func:`compare_not_run` tells a run cancelled by a new file from one that failed)."""
    if not models:
        raise gr.Error("Tick at least one model to compare.", visible=False, print_exception=False)
    return check_and_remember(video, model_name, photo)


def compare_not_run(ui, video, photo, models, model_name, asked=None) -> dict:
    """The compare tab after a comparison failed: :func:`not_run`'s line, and the previous comparison's table,
    timeline, CAMs and downloads go (they were offered on as if of this run).  ``asked``: the run's (video, photo,
    model); where the inputs are no longer those, a new file cancelled it and has cleared the results itself:
    nothing changes."""
    if asked is not None and tuple(asked) != (video, photo, model_name):
        return {c: gr.skip() for c in ui.results}
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


def on_compare_models(ui, video, photo, models, frames, cam, colours=DEFAULT_HEAT_MAP, progress=gr.Progress()) -> dict:
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
            directory=common.MODELS_DIR,
            limits=LIMITS,
            progress=_before_drawing(progress),
        )

    from webapp.session import release_memory

    comparison = _run_guarded(work, video)
    session_files._hold_for_session(video)
    for run in comparison.runs:
        _without_server_path(run.report, video)
    comparison.path = os.path.basename(str(video))
    progress(DRAWING, desc="drawing the results")
    folder = tempfile.mkdtemp(prefix="compare_", dir=session_files._downloads_root())
    session_files._hold_for_session(folder, upload=False)
    csv_path, json_path = view.write_downloads(comparison, folder)
    one_frame = view.is_photo(comparison)  # a photo: no timeline
    out = {
        ui.summary: view.disagreement_markdown(comparison),
        ui.table: view.verdict_rows(comparison),
        ui.timeline: gr.Plot(value=None if one_frame else view.timeline_figure(comparison), visible=not one_frame),
        ui.cams: gr.update(
            value=view.cam_tiles(comparison, colours=colours) or None, label=view.cam_row_text(comparison)
        ),
        ui.json_btn: gr.DownloadButton(value=json_path, visible=True),
        ui.csv_btn: gr.DownloadButton(value=csv_path, visible=True),
    }
    del comparison  # the reports and face crops go now; the page keeps only what it shows
    release_memory()
    return out


def _same(value):
    """The value given, for another component (one choice shown in two places)."""
    return value


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
    cams: gr.Gallery
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
    cards = {c.name: c for c in list_models(common.MODELS_DIR)}  # read once
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
                    value=DEFAULT_HEAT_MAP,
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
                    column_widths=["22%", "16%", "11%", "13%", "16%", "22%"],  # "uncertain" unbroken (at 600 px too)
                    elem_id="compare-table",
                )
                timeline = gr.Plot(show_label=False, elem_id="compare-timeline")
                gr.Markdown(
                    "**The same face, as each model saw it, beside its CAM** (each map scaled to its own strongest "
                    "spot: on a face a model scores real, the hottest part is where it leaned most towards fake, not "
                    "evidence of a fake)"
                )
                cam_row = gr.Gallery(  # its label, hidden, says what the pictures show (a screen reader's text)
                    label="The same face, as each model saw it, beside its CAM",
                    show_label=False,
                    columns=3,
                    height="auto",
                    object_fit="contain",
                    elem_id="compare-cams",
                    allow_preview=True,
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
        [summary, clip.asked],
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
    for step, guarded in ((checked, False), (run, True)):  # a run cancelled by a new file: nothing said
        inputs = [*clip.media, chosen, analyse.model, *([clip.asked] if guarded else [])]
        step.failure(partial(compare_not_run, ui), inputs, ui.results, **quick).then(
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
