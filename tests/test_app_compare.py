"""The "Compare models" tab's events run through gradio itself, in process (no server, no browser).

Two UNTRAINED networks under two names with thresholds 0.01 and 0.99 (``pair_dir`` in test_compare.py): on every
face one says fake and the other real.  Plumbing only.
"""

from __future__ import annotations

import json
import os

import pytest
from gradio_events import (
    app_demo,
    by_elem,
    cancels_on,
    events,
    file_data,
    run_event,
)  # tests/ is on sys.path under pytest
from test_compare import pair_dir  # noqa: F401  (the fixture; tests/ is on sys.path under pytest)


@pytest.fixture(scope="module")
def demo(pair_dir):  # noqa: F811
    with app_demo(pair_dir) as built:
        yield built


def test_the_tab_lists_every_model_and_loads_none_before_a_comparison(demo, pair_dir):  # noqa: F811
    from detector.models import classifier

    (compare,) = events(demo, "on_compare_models")
    ui = compare.fn.args[0]
    assert [o._id for o in compare.outputs] == [c._id for c in ui.results]
    assert [getattr(c, "elem_id", None) for c in compare.inputs] == [
        "compare-video",
        "compare-photo",
        "compare-models",
        "compare-frames",
        "compare-cam",
        "compare-heat-colours",
    ]
    assert ui.models.value == ["eager", "wary"] and [v for _, v in ui.models.choices] == ["eager", "wary"]
    # the page was built without loading any of them (they load when a comparison runs)
    assert not [k for k in classifier._CACHE if k.startswith(str(pair_dir.resolve()))]


@pytest.mark.slow
def test_compare_event_through_gradio(demo, clips):
    from gradio.state_holder import SessionState

    state = SessionState(demo)
    (compare,) = events(demo, "on_compare_models")
    data = run_event(demo, compare, [file_data(clips["face"]), None, ["eager", "wary"], 4, "gradcam", "jet"], state)
    out = by_elem(compare.outputs, data)
    summary = out["compare-summary"]
    assert "the models disagree (1 fake, 1 real); eager fake" in summary and "wary real" in summary
    assert "4 of 4 faces are labelled differently" in summary and "gradcam CAM of each model" in summary
    table = out["compare-table"]
    assert table["headers"][:2] == ["model", "label"] and table["headers"][-1] == "architecture"  # verdict first
    assert [[row[0], row[1], row[-1]] for row in table["data"]] == [
        ["eager", "fake", "resnet18"],
        ["wary", "real", "resnet18"],
    ]
    # eager's threshold is a fixed one: the table and the summary say so, and what the calibrated one says
    assert [row[3] for row in table["data"]] == ["0.010 fixed", "0.990"]
    assert "**Thresholds:** eager uses a fixed threshold" in summary
    assert "the only model calibrated on real people, wary, says real." in summary
    timeline = out["compare-timeline"]  # an update: shown, as for every clip (a photo's is hidden)
    assert timeline["visible"] is True and timeline["value"]["type"] == "plotly"
    plot = json.loads(timeline["value"]["plot"])
    assert [t["name"] for t in plot["data"] if t.get("mode") == "lines+markers"] == [
        "eager: fake (threshold 0.010)",
        "wary: real (threshold 0.990)",
    ]
    cams = out["compare-cams"]  # one picture a model, each captioned with its model's name
    assert [item["caption"].split(":")[0] for item in cams["value"]] == ["eager", "wary"]
    # the pictures in words, for a screen reader (the gallery's label): the face and each model's score and label
    assert cams["label"].startswith("Face 0 at ") and "beside its heat map: eager: " in cams["label"]
    assert "(fake)" in cams["label"] and "wary: " in cams["label"]
    for elem in ("compare-json", "compare-csv"):
        assert out[elem]["visible"] is True
    saved = json.loads(open(out["compare-json"]["value"]["path"]).read())
    assert saved["video"] == "face.mp4" and [r["model"] for r in saved["models"]] == ["eager", "wary"]
    assert saved["explained_face"]["cam_method"] == "gradcam" and len(saved["faces_labelled_differently"]) == 4
    upload_dir = os.path.dirname(compare.inputs[0].preprocess(compare.inputs[0].data_model(**file_data(clips["face"]))))
    assert upload_dir not in json.dumps(saved)  # the server's upload folder is never in a download
    assert all(r["video"] == "face.mp4" for r in saved["reports"].values())
    assert open(out["compare-csv"]["value"]["path"]).readline().startswith("model,architecture,label")

    # no model ticked: a readable error, no stack trace
    with pytest.raises(Exception) as err:
        run_event(demo, compare, [file_data(clips["face"]), None, [], 4, "gradcam", "jet"], state)
    assert "Tick at least one model" in str(err.value)


def test_compare_tab_takes_the_first_tabs_video_and_clears_on_a_new_clip(demo, clips, tmp_path):
    from gradio.state_holder import SessionState
    from PIL import Image

    state = SessionState(demo)
    prefill = [fn for fn in events(demo, "on_clip_from_first_tab") if fn.fn.args == ("compare",)]
    opened = next(fn for fn in prefill if not fn.fn.keywords)  # the tab is opened
    button = next(fn for fn in prefill if fn.fn.keywords)  # "Use the video or photo from the first tab"
    assert [getattr(c, "elem_id", None) for c in opened.outputs] == [
        "compare-video",
        "compare-photo",
        "compare-media",
        "compare-note",
    ]
    assert [c.elem_id for c in opened.inputs] == ["compare-video", "compare-photo", "video-in", "photo-in"]
    data = run_event(demo, opened, [None, None, file_data(clips["face"]), None], state)
    assert data[0]["orig_name"] == "face.mp4"
    data = run_event(demo, opened, [file_data(clips["plain"]), None, file_data(clips["face"]), None], state)
    assert all(d.get("__type__") == "update" and len(d) == 1 for d in data)  # its own clip stays
    photo = tmp_path / "p.jpg"
    Image.new("RGB", (64, 64)).save(photo)
    data = run_event(demo, button, [file_data(clips["plain"]), None, None, file_data(str(photo))], state)
    assert data[0] is None and data[1]["path"].endswith("p.jpg") and data[2]["selected"] == "compare-photo-tab"

    # a new clip: its name, the old results gone, a comparison still going cancelled
    (compare,) = events(demo, "on_compare_models")
    cleared_by = [
        fn
        for fn in demo.fns.values()
        if getattr(getattr(fn.fn, "func", fn.fn), "__name__", "") == "cleared" and fn.inputs[:1] == compare.inputs[:1]
    ]
    assert [fn.fn.keywords["slot"] for fn in cleared_by] == ["video", "photo"]
    cleared = cleared_by[1]  # the photo slot's
    assert [c.elem_id for c in cleared.inputs] == ["compare-video", "compare-photo"]
    ids = [getattr(c, "elem_id", None) for c in cleared.outputs]
    assert ids == ["compare-note", "compare-summary", "compare-table", "compare-timeline", "compare-cams"] + [
        "compare-json",
        "compare-csv",
    ]
    # cancelled by the user's own change of file, not by the slots' change events (see the lab's test)
    cancels = {k: v for k, v in cancels_on(demo).items() if k[0].startswith("compare-")}
    runs = {"on_compare_models", "validate_comparison"}  # the run, and its checks if still going
    assert cancels == {
        (f"compare-{e}", ev): runs for e, ev in (("video", "input"), ("photo", "input"), ("stop", "click"))
    }
    out = by_elem(cleared.outputs, run_event(demo, cleared, [None, file_data(str(photo))], state))
    assert out["compare-note"] == "Photo: **p.jpg**"
    out = by_elem(cleared.outputs, run_event(demo, cleared, [file_data(clips["face"]), None], state))
    assert out["compare-note"] == "Clip: **face.mp4**"
    assert out["compare-json"]["visible"] is False and out["compare-csv"]["visible"] is False
    assert not out["compare-summary"] and not out["compare-cams"] and not out["compare-timeline"]


def test_a_failed_comparison_or_lab_run_says_why_and_drops_the_previous_results(demo, clips, tmp_path):
    # found by a browser check: with no model ticked, the panel kept "Analysing ..." under a bare "Error" badge and
    # the previous comparison's downloads were still offered; the lab's panel likewise
    import gradio as gr

    from webapp import common, compare_tab

    failed = events(demo, "compare_not_run")
    assert len(failed) == 2  # the checks' failure and the run's
    ui = failed[0].fn.args[0]
    lab_failed = events(demo, "_not_run")  # the lab: checks and run, of both of its buttons
    assert len(lab_failed) == 4
    # the runs' failure handlers are told what was asked (a run cancelled by a new file says nothing), the checks' not
    assert sorted(len(fn.inputs) for fn in lab_failed) == [3, 3, 4, 4]
    assert sorted(len(fn.inputs) for fn in failed) == [4, 5]
    out = compare_tab.compare_not_run(ui, clips["face"], None, [], str(pair_dir_model(demo)))
    assert "Not run: tick at least one model to compare." in out[ui.summary]
    assert out[ui.table] is None and out[ui.timeline] is None and not out[ui.json_btn].visible
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert "Not run: notes.mp4" in compare_tab.compare_not_run(ui, str(bad), None, ["a"], None)[ui.summary]
    assert "Not run: no video or photo in this tab" in common.not_run(None, None)
    bad_photo = tmp_path / "notes.jpg"
    bad_photo.write_text("not a photo")
    assert "Not run: notes.jpg" in common.not_run(None, None, str(bad_photo))
    assert "message box at the top right" in common.not_run(clips["face"], None)  # the checks pass: the run failed
    # a run cancelled by a new file: the inputs are no longer those asked for, and nothing is said or cleared
    asked = (clips["face"], None, None)
    assert common.not_run(str(bad), None, None, asked=asked) == gr.skip()
    assert "message box" in common.not_run(clips["face"], None, None, asked=asked)  # the same file: it failed
    skipped = compare_tab.compare_not_run(ui, str(bad), None, ["a"], None, asked)
    assert set(skipped) == set(ui.results) and all(v == gr.skip() for v in skipped.values())
    _, remembered = compare_tab.validate_comparison(clips["face"], None, None, ["a"])
    assert remembered == asked


def pair_dir_model(demo):
    """The first tab's model (its dropdown's value)."""
    (analysed,) = events(demo, "on_analyze")
    return analysed.fn.args[0].model.value


def test_models_are_compared_on_a_photo(demo, tmp_path):
    # the tab took videos only ("for a photo: the CLI"); a photo has one frame, so no timeline
    import cv2

    from detector.data.synthetic import astronaut
    from webapp import compare_tab

    photo = tmp_path / "portrait.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    (compare,) = events(demo, "on_compare_models")
    ui = compare.fn.args[0]
    # ticked in the other order: the results keep the menus' (a browser check: they came in another order)
    out = compare_tab.on_compare_models(
        ui, None, str(photo), ["wary", "eager"], 4, "gradcam", progress=lambda *a, **k: None
    )
    assert "Verdicts on the whole photo" in out[ui.summary] and "in the photo" in out[ui.summary]
    # one face, one frame: no "1 of 1 faces ... at 0.00 s" (a browser check)
    assert "the face is labelled differently." in out[ui.summary] and " s." not in out[ui.summary]
    assert out[ui.timeline].visible is False and out[ui.timeline].value is None
    assert [[row[0], row[1], row[-1]] for row in out[ui.table]] == [
        ["eager", "fake", "resnet18"],
        ["wary", "real", "resnet18"],
    ]
    assert len(out[ui.cams]["value"]) == 2 and out[ui.json_btn].visible
    assert out[ui.cams]["label"].startswith("Face 0 as each model saw it")  # a photo: no time
    # the heat maps in the colour-blind safe colours: the same faces and models, other colours
    bright = compare_tab.on_compare_models(
        ui, None, str(photo), ["wary", "eager"], 4, "gradcam", "inferno", progress=lambda *a, **k: None
    )
    jet, inferno = out[ui.cams]["value"][0][0], bright[ui.cams]["value"][0][0]
    assert inferno.shape == jet.shape and not (inferno == jet).all()
    assert [row[:4] for row in bright[ui.table]] == [row[:4] for row in out[ui.table]]


def test_one_choice_of_heat_map_colours_for_both_tabs(demo):
    # a teacher's audit: inferno picked over the gallery, the Compare tab still drew jet
    from webapp import compare_tab

    (compare,) = events(demo, "on_compare_models")
    ui = compare.fn.args[0]
    analyse = events(demo, "on_analyze")[0].fn.args[0]
    links = {
        (fn.inputs[0]._id, fn.outputs[0]._id) for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "_same"
    }
    assert {(analyse.heat_colours._id, ui.heat_colours._id), (ui.heat_colours._id, analyse.heat_colours._id)} <= links
    assert compare_tab._same("inferno") == "inferno"


def test_no_model_ticked_is_said_beside_the_button_without_a_message_box(clips):
    # a teacher's audit: the "Tick at least one model" box stayed over the next run's results
    import gradio as gr

    from webapp import compare_tab

    with pytest.raises(gr.Error) as e:
        compare_tab.validate_comparison(clips["face"], None, None, [])
    assert "Tick at least one model" in e.value.message and e.value.visible is False
