"""The "Failure lab" tab: perturb the clip or photo and compare the verdicts, or run the three robustness levels.
The work itself is :mod:`webapp.lab`; here are the tab's builder and handlers."""

from __future__ import annotations

from functools import partial

import gradio as gr

from detector.constants import DEFAULT_FRAMES, LAB_PAIRS
from detector.evaluation.perturb import DESCRIPTIONS, LEVEL_DESCRIPTIONS, LEVELS, MENU_LABELS, PERTURBATIONS
from webapp import session_files
from webapp.analyse_tab import AnalyseTab
from webapp.clip_input import clip_input, media_note
from webapp.common import (
    LIMITS,
    MANY_RUNS_MAX_FRAMES,
    _before_drawing,
    _check_video,
    _model,
    _run_guarded,
    _slider_threshold,
    check_and_remember,
    not_run,
    pick_media,
    show_js,
)

__all__ = [
    "build_lab_tab",
    "on_compare",
    "on_levels",
    "on_strength",
    "lab_strength_info",
    "on_lab_new_clip",
    "lab_shown",
    "lab_cleared",
]

# where the lab's frames are seen, so that their box labels are drawn to be read there (faces.label_style): the
# before and after pictures (two to a row, or one on a phone), and a tile of the three levels' gallery (three to a
# row, 260 px high).
# Drawn for the Analyse tab's larger frame view, a teacher's audit found the levels' labels 7 px high at 1280 px.
PREVIEW_VIEW = (380, 290)
LEVELS_VIEW = (240, 180)


def lab_strength_info(name: str, strength: float) -> str:
    """:func:`webapp.lab.strength_info` (the lab's strength slider's help)."""
    from webapp.lab import strength_info

    return strength_info(name, strength)


def on_strength(name: str, strength: float):
    """The lab's perturbation or strength changed: the slider's help says what it now does."""
    return gr.Slider(info=lab_strength_info(name, strength))


def _run_lab(job, video, photo, model_name, frames, threshold, seed, progress, *args):
    """``job`` (:func:`webapp.lab.compare` or :func:`webapp.lab.levels`) on the tab's file with the first tab's model
    and threshold, every failure a readable gr.Error (:func:`webapp.common._run_guarded`).  The file is held for this
    session too: another tab's end must not delete it."""
    video = pick_media(video, photo)
    session_files._hold_for_session(video)

    def work(video):
        video = _check_video(video)
        model = _model(model_name)
        return job(
            video,
            *args,
            model=model,
            frames=int(frames),
            threshold=_slider_threshold(threshold, model),
            seed=int(seed),
            limits=LIMITS,
            progress=_before_drawing(progress),
        )

    return _run_guarded(work, video)


def on_compare(video, photo, name, strength, frames, seed, model_name, threshold, progress=gr.Progress()):
    """The lab's compare button: verdicts, timelines (none for a photo), the same frame and the face crops before /
    after, and the score change with a face-coverage warning."""
    from webapp import lab
    from webapp.faces import draw_boxes, faces_text
    from webapp.plots import timeline_figure
    from webapp.verdict import verdict_html

    run = (video, photo, model_name, frames, threshold, seed, progress)
    original, perturbed = _run_lab(lab.compare, *run, name, float(strength))
    pos = lab.preview_position(original)
    a, b = lab.frame_at(original, pos), lab.frame_at(perturbed, pos)
    preview = []  # the same frame before and after: two pictures, each with its title and its faces in words
    if a is not None and b is not None:
        titles = lab.preview_titles(original, pos, name, float(strength))
        for img, title, r in zip((a, b), titles, (original, perturbed)):
            fr = r.frames[pos]
            boxed = draw_boxes(
                img, fr.faces, r.threshold, r.uncertain, view=PREVIEW_VIEW, second=r.second_opinion, small=fr.too_small
            )
            # the caption is also the picture's alt text: the faces' scores for a screen reader
            said = faces_text(fr.faces, r.threshold, r.uncertain, r.second_opinion, fr.too_small)
            preview.append((boxed, f"{title}: {said}"))
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

    reports = _run_lab(lab.levels, video, photo, model_name, frames, threshold, seed, progress)
    first = next(iter(reports.values()))
    scores = {name: r.score for name, r in reports.items()}
    figure = levels_figure(
        scores,
        first.threshold,
        {n: LEVEL_DESCRIPTIONS[n] for n in reports},
        uncertain=first.uncertain,
        photo=first.is_photo,
        unscored={n: lab.unscored_word(r) for n, r in reports.items()},
        labels={n: r.label for n, r in reports.items()},  # as the table says them (a review: a green "uncertain")
    )
    pos = lab.preview_position(first)
    tiles = []
    for name, r in reports.items():
        img = lab.frame_at(r, pos)
        if img is not None:
            # the caption the clip's score, the box this frame's: said, as they differ (a browser audit)
            whole = "photo" if r.is_photo else "clip"
            said = f"{whole} {score_text(r.score, r.threshold, r.uncertain)} {r.label}"
            score = lab.unscored_word(r) if r.score != r.score else said
            fr = r.frames[pos]
            boxed = draw_boxes(
                img, fr.faces, r.threshold, r.uncertain, view=LEVELS_VIEW, second=r.second_opinion, small=fr.too_small
            )
            tiles.append((boxed, f"{name}: {score}"))
    return figure, tiles, lab.levels_table(reports), lab.levels_summary(reports)


def _not_run(video, model_name, photo=None, asked=None):
    """:func:`webapp.common.not_run` in the lab's panel; ``asked`` (the run's, not the checks'): a run cancelled by a
    new file says nothing."""
    return not_run(video, model_name, photo, asked=asked)


def lab_shown(compared: bool | None) -> tuple:
    """The lab's two result boxes, one shown at a time: the comparison's (``compared``) or the levels'; neither
    (``None``) after a run failed (a browser check: empty plot, image and gallery frames stood under "Not run")."""
    return gr.Column(visible=compared is True), gr.Column(visible=compared is False)


def lab_cleared(n: int) -> tuple:
    """``n`` empty lab results: a comparison's when the three levels run, and the levels' when a comparison runs
    (the two share the results column; one's cards must not stay under the other's headline)."""
    return tuple(None for _ in range(n))


def on_lab_new_clip(n: int, video, photo, slot: str = "photo") -> tuple:
    """A new clip or photo in the lab's ``slot`` (upload, example, the first tab's, or none): its name under it (or
    why it cannot be analysed), and ``n`` empty results (those of the previous file must not stay on screen)."""
    return (media_note(video, photo, slot), *lab_cleared(n))


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
                    "the unchanged clip's score, even its label, can differ from Analyse's where its frames differ "
                    "(a clip changed in part, a score near the threshold); a photo is one frame",
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
                    with gr.Row(elem_id="lab-verdicts"):
                        verdict_a = gr.HTML(elem_id="verdict-original", apply_default_css=False)
                        verdict_b = gr.HTML(elem_id="verdict-perturbed", apply_default_css=False)
                    with gr.Row():
                        plot_a = gr.Plot(show_label=False, elem_id="timeline-original")
                        plot_b = gr.Plot(show_label=False, elem_id="timeline-perturbed")
                    # two pictures, not one drawn side by side: on a phone its halves' labels were 5 px high
                    preview = gr.Gallery(
                        label="The same frame, original and perturbed",
                        show_label=False,
                        columns=2,
                        height="auto",
                        object_fit="contain",
                        elem_id="lab-preview",
                        allow_preview=True,
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
    compare_checked = compare_btn.click(check_and_remember, checked_inputs, [delta, clip.asked], **check)
    compare_run = compare_checked.success(
        on_compare,
        [*clip.media, pert, strength, lab_frames, seed, analyse.model, analyse.threshold],
        compared,
        api_visibility="private",
        concurrency_id="analysis",
    )
    levels_checked = levels_btn.click(check_and_remember, checked_inputs, [delta, clip.asked], **check)
    levels_run = levels_checked.success(
        on_levels,
        [*clip.media, lab_frames, seed, analyse.model, analyse.threshold],
        levelled,
        api_visibility="private",
        concurrency_id="analysis",
    )
    quick = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    for step, guarded in ((compare_checked, False), (compare_run, True), (levels_checked, False), (levels_run, True)):
        # the checks' failure or the run's: the panel says why, in view; a run cancelled by a new file says nothing
        inputs = [*checked_inputs, clip.asked] if guarded else checked_inputs
        step.failure(_not_run, inputs, [delta], **quick).then(None, js=show_js("#lab-delta"), api_visibility="private")
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
    for change in clip.user_changes():  # and their boxes go until a run fills one
        change(partial(lab_shown, None), None, [compare_box, levels_box], **quick)
