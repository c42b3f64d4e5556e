"""The first tab's events run through gradio itself, in process (no server, no browser).

``Blocks.process_api`` does what a click in the page does: the frontend's payloads are
preprocessed by the input components, the handler runs, and its ``{component: value}``
is postprocessed by the output components.  Uses the UNTRAINED test model (plumbing only).
"""

from __future__ import annotations

import json
import os

import pytest
from gradio_events import app_demo, events, file_data, run_event  # tests/ is on sys.path under pytest


@pytest.fixture(scope="module")
def demo(tiny_model_dir):
    with app_demo(tiny_model_dir) as built:
        yield built


def _event(demo, name):
    """The first BlockFunction whose handler is ``name`` (see :func:`gradio_events.events`)."""
    return events(demo, name)[0]


def test_analyse_and_threshold_events_through_gradio(demo, clips, tmp_path, monkeypatch):
    from gradio.state_holder import SessionState
    from PIL import Image

    from detector.data.synthetic import astronaut
    from webapp import analyse_tab

    analyse, threshold = _event(demo, "on_analyze"), _event(demo, "on_threshold")
    ui = analyse.fn.args[0]
    # and the slider, which shows the card's threshold that judged the file (a small video's has its own)
    assert [o._id for o in analyse.outputs] == [c._id for c in [*ui.results, ui.threshold]]
    state = SessionState(demo)
    # the slider moved and the threshold button pressed before any analysis: nothing changes, and no error box (the
    # handler's empty dict read as one value: "didn't return enough output values", a browser check)
    inputs = [None, None, 0.3, 1, "time", "jet"]  # report, judged, threshold, frame, order, colours
    assert run_event(demo, threshold, inputs, state) is not None
    own = _event(demo, "on_own_threshold")
    assert run_event(demo, own, [None, None, "untrained_resnet18", None, None], state)[-1] == 0.5
    given = []  # the paths the analysis was given
    real_run = analyse_tab.run_analysis
    monkeypatch.setattr(
        analyse_tab, "run_analysis", lambda media, *a, **k: given.append(media) or real_run(media, *a, **k)
    )
    # video, photo, frames, model, cam, threshold, rule, cam faces, order, heat-map colours
    settings = [4, "untrained_resnet18", "gradcam", 0.5, "confident", 2, "time", "jet"]
    data = run_event(demo, analyse, [file_data(clips["face"]), None, *settings], state)
    by = dict(zip([c._id for c in ui.results], data))
    assert "verdict-label" in by[ui.verdict._id]
    assert by[ui.timeline._id]["visible"] is True and by[ui.timeline._id]["value"]["type"] == "plotly"
    exported = by[ui.report_json._id].root
    assert exported["video"] == "face.mp4" and exported["video_info"]["path"] == "face.mp4"
    upload_dir = os.path.dirname(given[0])  # gradio's cache folder of the upload: never in what goes out
    assert given[0] != clips["face"] and upload_dir not in json.dumps(exported)
    for button in (ui.csv_btn, ui.json_btn, ui.html_btn):
        assert upload_dir not in open(by[button._id]["value"]["path"]).read()
    assert by[ui.faces_box._id]["visible"] is True and len(by[ui.gallery._id]) >= 1
    report = state[ui.report_state._id]
    assert report.label in ("real", "fake") and state[ui.judged_state._id]["threshold"] == 0.5

    # the slider re-labels from the stored report (the state), without analysing again
    data = run_event(demo, threshold, [None, None, 0.0, 1, "time", "jet"], state)
    by = dict(zip([c._id for c in ui.judged], data))
    assert "Likely FAKE" in by[ui.verdict._id] and state[ui.report_state._id].label == "fake"
    assert state[ui.report_state._id].score == report.score
    jet_html = open(by[ui.html_btn._id]["value"]["path"]).read()
    assert "heat map (red = pushed towards fake)" in jet_html

    # other heat-map colours: the gallery and the HTML report drawn again from the stored report, in them
    colours = _event(demo, "on_heat_colours")
    assert [getattr(c, "elem_id", None) for c in colours.inputs][2:] == ["order", "heat-colours"]
    data = run_event(demo, colours, [None, None, "time", "inferno"], state)
    by = dict(zip([c._id for c in colours.outputs], data))
    html = open(by[ui.html_btn._id]["value"]["path"]).read()
    assert "heat map (bright yellow = pushed towards fake)" in html and "bright yellow is not evidence" in html
    assert len(by[ui.gallery._id]) == len(state[ui.positions_state._id]) >= 1
    with pytest.raises(Exception, match="unknown heat-map colours"):
        analyse_tab.on_heat_colours(ui, report, None, "time", "rainbow")

    # a photo: given to the analysis as the uploaded file itself (never re-encoded), no timeline
    photo = tmp_path / "portrait.jpg"
    Image.fromarray(astronaut()).save(photo, quality=90)
    data = run_event(demo, analyse, [None, file_data(str(photo)), *settings], state)
    assert open(given[-1], "rb").read() == photo.read_bytes()  # the very bytes that were uploaded
    by = dict(zip([c._id for c in ui.results], data))
    assert by[ui.timeline._id]["visible"] is False and by[ui.timeline_note._id]["visible"] is True
    assert by[ui.report_json._id].root["video"] == "portrait.jpg"
    assert "a photo with 1 face" in by[ui.verdict._id]


def test_a_failed_analysis_says_so_in_the_verdict_panel(demo, tmp_path, monkeypatch):
    # found by a browser check: after a bad upload the verdict panel kept "Upload a video or a photo..." under an
    # error badge; the reason is in the error box, and the panel now says the file could not be analysed
    from webapp import analyse_tab

    check, analyse = _event(demo, "check_and_remember"), _event(demo, "on_analyze")
    ui = analyse.fn.args[0]
    after = {fn.trigger_after for fn in events(demo, "not_analysed")}
    assert {check._id, analyse._id} <= after
    for fn in events(demo, "not_analysed"):
        if fn.trigger_after in (check._id, analyse._id):
            assert fn.trigger_only_on_failure and [o._id for o in fn.outputs] == [o._id for o in ui.results]
    # found by a browser check: after a failure the previous file's timeline, frame and faces stayed, and moving
    # the threshold re-labelled the previous file's report; every result is cleared now
    cleared = analyse_tab.not_analysed(ui)
    assert set(cleared) == set(ui.results)
    # a browser check: Analyse with no file pointed to a message box; the quick check's refusal opens none
    assert analyse_tab.NOTHING_GIVEN in cleared[ui.verdict] and "message box" not in cleared[ui.verdict]
    monkeypatch.setattr(analyse_tab, "failure_reason", lambda *a: None)  # the checks pass; the analysis failed
    failed = analyse_tab.not_analysed(ui, "clip.mp4", "m")[ui.verdict]
    assert "Nothing could be analysed" in failed and "the file, or the model" in failed
    monkeypatch.undo()
    assert (
        cleared[ui.report_state] is None
        and cleared[ui.judged_state] is None
        and cleared[ui.gallery] == []
        and not cleared[ui.faces_box]["visible"]
        and not cleared[ui.frame_slider].visible  # no frames to move through
    )
    # nothing to re-label: nothing changes (through gradio: test_analyse_and_threshold_events_through_gradio)
    assert list(analyse_tab.on_threshold(ui, cleared[ui.report_state], None, 0.5, 1, "time")) == [ui.verdict]
    # found by a browser check: once the error box was closed, the reason was gone; the panel says it too
    for fn in events(demo, "not_analysed"):
        assert [getattr(c, "elem_id", None) for c in fn.inputs][:3] == ["video-in", "model", "photo-in"]
        assert fn.inputs[3] is ui.asked_state
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    told = analyse_tab.not_analysed(ui, str(bad), None, None, (str(bad), None, None))[ui.verdict]
    assert "Nothing could be analysed: notes.mp4" in told and "the file, or the model" not in told
    # found by a browser check: another model (or a photo) picked mid-analysis cancels it, and gradio then runs the
    # failure handler: it must leave the panel to that change's own line, not say "Nothing could be analysed"
    import gradio as gr

    assert analyse_tab.not_analysed(ui, str(bad), "other_model", None, (str(bad), None, "m")) == {ui.verdict: gr.skip()}
    assert analyse_tab.not_analysed(ui, None, "m", "photo.jpg", (str(bad), None, "m")) == {ui.verdict: gr.skip()}


def test_a_new_file_clears_the_old_results_and_says_at_once_if_it_can_be_analysed(demo, clips, tmp_path):
    # found by a browser check: a text file named .mp4 was only found out on pressing Analyse, and until then the
    # previous file's verdict stayed beside the new file
    from gradio.state_holder import SessionState

    state = SessionState(demo)
    new_file = events(demo, "on_new_media")
    ui = new_file[0].fn.args[0]
    assert [[getattr(c, "elem_id", None) for c in fn.inputs] for fn in new_file] == [
        ["video-in", "photo-in", "model"],
        ["photo-in", "video-in", "model"],
    ]
    video_event, photo_event = new_file

    def run(inputs):
        return dict(zip([o._id for o in video_event.outputs], run_event(demo, video_event, inputs, state)))

    out = run([file_data(clips["face"]), None, None])
    assert "Ready: face.mp4 (" in out[ui.verdict._id] and "Press Analyse" in out[ui.verdict._id]
    assert (
        out[ui.report_state._id] is None and out[ui.gallery._id] == [] and out[ui.faces_box._id]["visible"] is False
    )  # the previous file's results are gone
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    out = run([file_data(str(bad)), None, None])
    assert "This file cannot be analysed: notes.mp4" in out[ui.verdict._id]
    # the photo input emptied because a video was put in: nothing changes (the video's event speaks)
    data = run_event(demo, photo_event, [None, file_data(clips["face"]), None], state)
    # every output a bare update: no value given (the verdict's is gradio's skip, {"__type__": "update"})
    assert data[0] == {"props": {"__type__": "update"}, "__type__": "update"}  # the verdict: skipped
    assert all(
        d is None or (isinstance(d, dict) and "value" not in d and "value" not in (d.get("props") or {})) for d in data
    )

    # found by a browser check: the bad file removed with its X, its error stayed; now the welcome line returns
    out = run([None, None, None])
    assert "Upload a video or a photo" in out[ui.verdict._id] and out[ui.report_state._id] is None


def test_another_file_or_model_cancels_a_running_analysis_and_a_new_model_clears_the_old_ones_results(
    demo, clips, tmp_path
):
    # found by a browser check: a clip swapped for another during its analysis got the first clip's "Likely FAKE";
    # a model picked after an analysis left that analysis' verdict beside the new model's threshold
    from gradio.state_holder import SessionState

    (analysed,) = events(demo, "on_analyze")
    ui = analysed.fn.args[0]
    (checked,) = [fn for fn in events(demo, "check_and_remember") if ui.analyse_btn._id in (t[0] for t in fn.targets)]
    cancelling = [fn for fn in demo.fns.values() if fn.cancels]
    by_trigger = {}
    for fn in cancelling:
        for block, event in fn.targets:
            by_trigger.setdefault((demo.blocks[block].elem_id, event), set()).update(fn.cancels)
    # the user's own change (input), not change: found by CI's browser test, an upload's change event delivered
    # after Analyse was pressed cancelled the analysis of that very file
    for elem in ("video-in", "photo-in", "model"):
        assert {analysed._id, checked._id} <= by_trigger.get((elem, "input"), set()), elem
        assert not by_trigger.get((elem, "change")), elem
    examples = [k for k in by_trigger if k[1] == "click" and {analysed._id, checked._id} <= by_trigger[k]]
    assert examples or not ui.example_sets, "picking an example cancels too"
    (changed,) = events(demo, "on_model_changed")
    assert [t[1] for t in changed.targets] == ["input"]  # the user's pick only, not a model set by code
    state = SessionState(demo)
    nothing = run_event(demo, changed, [None, "untrained_resnet18", None, None], state)
    assert nothing[0] == {"props": {"__type__": "update"}, "__type__": "update"}  # nothing analysed: no change
    from webapp import analyse_tab, common

    report = analyse_tab.run_analysis(clips["face"], 4, str(ui.model.value), common.NO_CAM, 0.5)
    same = analyse_tab.on_model_changed(ui, report, str(ui.model.value), clips["face"], None)
    assert same == {ui.verdict: same[ui.verdict]} and "Model changed" not in str(same[ui.verdict])  # picked again
    out = analyse_tab.on_model_changed(ui, report, "mesonet_df_authors", clips["face"], None)
    assert out[ui.report_state] is None and out[ui.gallery] == [] and not out[ui.faces_box]["visible"]
    assert "Model changed to mesonet_df_authors: press Analyse to score face.mp4 with it." in out[ui.verdict]


def test_a_clip_the_browser_cannot_play_is_said_to_be_analysed_all_the_same(demo, clips, tmp_path):
    # found by a browser check: MPEG-4 Part 2 clips (the SadTalker ones) left the player blank with no word
    from detector.data.synthetic import render_clip
    from webapp import analyse_tab

    old = render_clip(str(tmp_path / "old codec.mp4"), seconds=0.4, codec="mpeg4")
    (video_event, _) = events(demo, "on_new_media")
    ui = video_event.fn.args[0]
    said = analyse_tab.on_new_media(ui, old, None, None)[ui.verdict]
    assert "Ready: old codec.mp4" in said and "may not play this clip (mpeg4 video)" in said
    assert "may not play" not in analyse_tab.on_new_media(ui, clips["face"], None, None)[ui.verdict]  # H.264 plays


def test_each_run_brings_its_results_into_view(demo):
    # a teacher's audit at 1280 x 800: after pressing a run's button (below its settings) the projector showed the
    # bottom of the results, or nothing at all when the run was refused: each run scrolls to its first result
    from webapp import common

    scrolls = {fn.js for fn in demo.fns.values() if fn.js and "scrollIntoView" in fn.js}
    for target in ("#verdict", "#lab-delta", "#compare-summary"):
        assert common.show_js(target) in scrolls, target
    for target, runs in (
        ("#verdict", ["on_analyze"]),
        ("#lab-delta", ["on_compare", "on_levels"]),
        ("#compare-summary", ["on_compare_models"]),
    ):
        hooks = [fn for fn in demo.fns.values() if fn.js == common.show_js(target)]
        on_success = {fn.trigger_after for fn in hooks if fn.trigger_only_on_success}
        for name in runs:  # after the run itself succeeds, not only after a failure's message
            assert _event(demo, name)._id in on_success, (target, name)


def test_the_threshold_button_sets_the_slider_and_the_slider_alone_labels_the_scores(demo):
    # a browser check: the button, then a click on the slider within half a second, left the slider at 0.666 and the
    # card at 1.000 (set by hand): both events labelled the scores, and the button's reply came last. Now the button
    # sets the slider only, then the page sends the slider's own input event; the slider's reply never sets the
    # slider (when it did, a slow drag snapped back to each stale value)
    from webapp.analyse_tab import SLIDER_INPUT_JS

    slider, button = _event(demo, "on_threshold"), _event(demo, "on_own_threshold")
    ui = slider.fn.args[0]
    assert ui.threshold._id not in [o._id for o in slider.outputs]
    assert [o._id for o in button.outputs] == [ui.threshold._id]
    items = demo.fns.items() if isinstance(demo.fns, dict) else enumerate(demo.fns)
    key = {id(f): k for k, f in items}
    fns = list(demo.fns.values() if isinstance(demo.fns, dict) else demo.fns)
    after = [f for f in fns if f.fn is None and f.js == SLIDER_INPUT_JS]
    assert len(after) == 1 and "#threshold input[type=range]" in SLIDER_INPUT_JS
    assert after[0].trigger_after == key[id(button)]  # sent once the button's reply has set the slider
