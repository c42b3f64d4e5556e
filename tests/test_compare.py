"""Several models on one clip: detector.evaluation.compare (the CLI's ``compare``) and webapp/compare.py (the app's
"Compare models" view).

Hand-made reports for the presentation; for the runs, two UNTRAINED 64-px networks (the same weights) saved under
two names with thresholds 0.01 and 0.99, so that on any face one says fake and the other real: a disagreement
made on purpose, plumbing only (their scores mean nothing).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_app_units import _report  # tests/ is on sys.path under pytest


@pytest.fixture(scope="session")
def pair_dir(tmp_path_factory):
    """Two untrained resnet18 cards over the same weights: "eager" (threshold 0.01, the default, not calibrated)
    and "wary" (threshold 0.99, recorded as calibrated)."""
    import torch

    from detector.models import registry as architectures
    from detector.models.card import ModelCard
    from detector.models.store import save_model

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("pair")
    net = architectures.build("resnet18", num_classes=2)
    for name, threshold, default in (("eager", 0.01, True), ("wary", 0.99, False)):
        card = ModelCard(
            name=name, architecture="resnet18", input_size=64, default=default, threshold=threshold, notes="tests only"
        )
        if not default:  # as train writes it (detector.evaluation.calibration), by hand
            card.trained = {"calibration": {"threshold": threshold, "rule": "tests only", "strata": {"videos": 9}}}
        save_model(net, card, d)
    return d


def _comparison(threshold_b=0.5):
    """Two hand-made runs over the same three frames: model a and model b (b's threshold ``threshold_b``)."""
    from detector.evaluation.compare import Comparison, ModelRun, choose_face

    a = _report([[(0, 0.9)], [(0, 0.7), (1, 0.2)], []], threshold=0.5)
    b = _report([[(0, 0.8)], [(0, 0.3), (1, 0.1)], []], threshold=threshold_b)
    a.model, b.model = "a", "b"
    c = Comparison("clip.mp4", [ModelRun("a", "resnet18", a), ModelRun("b", "3 x efficientnet_lite0", b)])
    c.face = choose_face(c)
    for run in c.runs:
        run.face = next(f for f in run.report.frames[c.face.position].faces if f.identity == c.face.identity)
    return c


# ---------------------------------------------------------------- detector.evaluation.compare


def test_faces_are_matched_by_frame_and_identity_and_the_disagreement_chosen():
    c = _comparison()
    faces = c.faces()
    assert [(f["time"], f["identity"]) for f in faces] == [(0.0, 0), (0.4, 0), (0.4, 1)]  # the empty frame: none
    assert faces[1]["scores"] == {"a": 0.7, "b": 0.3} and faces[1]["labels"] == {"a": "fake", "b": "real"}
    assert faces[1]["spread"] == pytest.approx(0.4)
    assert [(f["frame"], f["identity"]) for f in c.disagreements()] == [(10, 0)]
    # the face explained: the one labelled differently (not the most fake under a, frame 0)
    assert (c.face.frame, c.face.identity, c.face.time) == (10, 0, 0.4) and "disagree" in c.face.why
    assert [r.face.score for r in c.runs] == [0.7, 0.3]
    assert c.runs[0].series() == [(0.0, 0.9), (0.4, 0.7), (0.8, None)]  # top face per frame, None: no face
    rows = c.rows
    assert rows[0]["faces_over_threshold"] == 2 and rows[1]["faces_over_threshold"] == 1 and rows[0]["faces"] == 3
    assert rows[1]["architecture"] == "3 x efficientnet_lite0"


def test_when_the_models_agree_the_most_fake_face_of_the_first_is_explained():
    c = _comparison(threshold_b=0.25)  # b now says fake on 0.3 too: every face labelled alike
    assert c.disagreements() == []
    assert (c.face.frame, c.face.identity) == (0, 0) and "most fake face under a" in c.face.why


def test_the_comparison_json_has_rows_face_disagreements_and_reports():
    from detector.evaluation.compare import AGREEMENT_NOTE, disagreement, faces_line

    c = _comparison()
    data = json.loads(json.dumps(c.to_dict()))  # plain JSON
    assert data["video"] == "clip.mp4" and [r["model"] for r in data["models"]] == ["a", "b"]
    assert data["verdicts_agree"] is True  # both videos score fake; only one face differs
    assert data["explained_face"]["frame"] == 10 and data["faces_compared"] == 3
    assert data["faces_labelled_differently"] == [
        {"frame": 10, "time": 0.4, "identity": 0, "scores": {"a": 0.7, "b": 0.3}, "labels": {"a": "fake", "b": "real"}}
    ]
    assert set(data["reports"]) == {"a", "b"} and data["reports"]["b"]["frames"][1]["faces"][0]["score"] == 0.3
    assert disagreement(c.rows) == "the models agree: fake"  # agreeing on fake needs no caveat
    real = [{**r, "label": "real"} for r in c.rows]  # on real, agreement is not read as corroboration
    assert disagreement(real) == f"the models agree: real ({AGREEMENT_NOTE})"
    assert disagreement([{**r, "label": "unknown"} for r in c.rows]) == "no model judged it (no face it could judge)"
    assert disagreement(c.rows[:1]) == "one model: fake"  # not "the models agree" of one (an audit)
    import copy

    from detector.evaluation.compare import choose_face

    one = copy.copy(c)
    one.runs = c.runs[:1]  # one model: its explained face is not said of "the models" (a browser check)
    assert "models" not in choose_face(one).why and "models" in choose_face(c).why
    from webapp.compare import disagreement_markdown

    one.face = choose_face(one)
    assert disagreement_markdown(one).startswith("**Verdicts on the whole clip:** one model: fake; ")  # says what
    assert faces_line(c) == "1 of 3 faces are labelled differently, at 0.40 s"


@pytest.mark.slow
def test_compare_models_explains_the_same_face_with_every_model(clips, pair_dir):
    from detector.evaluation.compare import compare_models, disagreement

    steps = []
    c = compare_models(
        clips["face"], ["eager", "wary"], 4, cam="gradcam", directory=pair_dir, progress=lambda f, d: steps.append(f)
    )
    assert [r.name for r in c.runs] == ["eager", "wary"] and c.cam_method == "gradcam"
    assert [r["label"] for r in c.rows] == ["fake", "real"]
    assert disagreement(c.rows) == (  # eager's threshold is not calibrated
        "the models disagree (1 fake, 1 real): eager says fake, wary says real; the only model calibrated on real "
        "people, wary, "
        "says real"
    )
    assert [r["calibrated"] for r in c.rows] == [False, True]
    assert len(c.faces()) == 4 and len(c.disagreements()) == 4  # every face: one says fake, the other real
    assert c.face is not None and "disagree" in c.face.why
    # the same face (frame, identity, box) in both runs, each with its CAM over its crop
    for run in c.runs:
        face = next(f for f in run.report.frames[c.face.position].faces if f.identity == c.face.identity)
        assert face is run.face and tuple(face.box) == c.face.box
        assert run.face.cam is not None and run.face.cam.shape == run.face.crop.shape[:2]
        assert 0.0 <= float(run.face.cam.min()) and float(run.face.cam.max()) <= 1.0
        assert len(run.series()) == 4 and all(s is not None for _, s in run.series())
    assert c.runs[0].face.score == pytest.approx(c.runs[1].face.score)  # the same weights
    assert steps == sorted(steps) and steps[-1] == 1.0
    # no CAM method: the face is still chosen, without CAMs
    plain = compare_models(clips["face"], ["eager", "wary"], 4, directory=pair_dir)
    assert plain.face is not None and all(r.face.cam is None for r in plain.runs)


@pytest.mark.slow
def test_cli_compare_to_a_reader_that_stops_early_ends_quietly(clips, pair_dir, monkeypatch, capsys):
    # `compare CLIP --json - | head -c 10` said "error: None: cannot be written (Broken pipe)": the pipe's
    # BrokenPipeError was taken for a file that could not be written
    import io

    from detector.cli import main

    class GoneReader(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return 1

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(pair_dir))
    monkeypatch.setattr("sys.stdout", GoneReader())
    monkeypatch.setattr("os.dup2", lambda *a: None)  # main silences stdout's descriptor: not the test runner's
    assert main(["compare", clips["face"], "--frames", "4", "--json", "-"]) == 1
    assert "cannot be written" not in capsys.readouterr().err


@pytest.mark.slow
def test_cli_compare_says_where_the_models_disagree(clips, pair_dir, tmp_path, monkeypatch, capsys):
    from detector.cli import main

    monkeypatch.setenv("DEEPFAKE_MODELS_DIR", str(pair_dir))
    out, table = tmp_path / "cmp.json", tmp_path / "cmp.csv"
    assert main(["compare", clips["face"], "--frames", "4", "--json", str(out), "--csv", str(table)]) == 0
    printed = capsys.readouterr().out
    assert "the models disagree (1 fake, 1 real): eager says fake, wary says real" in printed
    assert "4 of 4 faces are labelled differently, between" in printed
    # a teacher's audit: each model's warnings were in the JSON alone; a fake verdict from 4 frames is said of eager
    assert (
        "eager: Only 4 frames were sampled (each with a face); the score rests on few faces. A fake verdict" in printed
    )
    assert "wary: Only 4 frames were sampled (each with a face); the score rests on few faces.\n" in printed
    # a full disk under --json (checked writable before the run): one line naming the option, not "None: ..."
    assert main(["compare", clips["face"], "--frames", "4", "--json", "/dev/full"]) == 2
    assert "error: --json /dev/full: cannot be written (No space left on device)" in capsys.readouterr().err
    data = json.loads(out.read_text())
    assert [r["model"] for r in data["models"]] == ["eager", "wary"] and data["verdicts_agree"] is False
    assert len(data["faces_labelled_differently"]) == 4 and set(data["reports"]) == {"eager", "wary"}
    assert data["explained_face"]["cam_method"] is None  # the CLI explains nothing
    rows = list(csv.DictReader(table.open()))
    assert [(r["model"], r["label"], r["threshold"], r["calibrated"]) for r in rows] == [
        ("eager", "fake", "0.01", "0"),
        ("wary", "real", "0.99", "1"),
    ]
    eager = next(line for line in printed.splitlines() if line.startswith("eager "))
    assert "threshold 0.010 (fixed, not calibrated)" in eager
    assert "the only model calibrated on real people, wary, says real" in printed
    assert [r["calibrated"] for r in data["models"]] == [False, True]


def test_cli_compare_checks_its_outputs_and_models_before_any_run(tmp_path, monkeypatch, capsys):
    # found by review: an unwritable --json crashed after the whole comparison; "--models ," said no model was
    # installed; a file name with a line break gave two error lines
    import detector.evaluation.compare as compare

    def never(*args, **kwargs):
        raise AssertionError("no model may run before the outputs are checked")

    monkeypatch.setattr(compare, "compare_models", never)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    cases = [
        (["--json", str(clip / "x.json")], "its folder cannot be made"),
        (["--csv", str(tmp_path)], "is a folder"),
        (["--json", str(clip)], "is one of the inputs"),
        (["--models", ","], "no model name in it"),
        (["--json", ""], "--json: empty"),  # an empty name wrote nothing and said nothing (an audit)
    ]
    for extra, pattern in cases:
        assert compare.main([str(clip), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and pattern in err[0], err
    made = tmp_path / "new" / "deeper" / "out.json"  # a folder that can be made is made, and said (a typo shows)
    from detector.cliargs import check_outputs

    assert check_outputs([("--json", str(made))]) is None and made.parent.is_dir()
    assert capsys.readouterr().err.strip() == f"note: --json: made the folder {made.parent}"
    assert check_outputs([("--json", str(made))]) is None and capsys.readouterr().err == ""  # there now: no word
    with pytest.raises(SystemExit) as e:
        compare.main([str(clip), "--frames", "0"])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1

    from detector.errors import InputError

    def refuse(path, *args, **kwargs):
        raise InputError(f"{path}: not a readable video")

    monkeypatch.setattr(compare, "compare_models", refuse)
    # an input that cannot be read exits 1, as scan does, and so does a path that is not there (scan's 1 too)
    hostile = tmp_path / "new\nline.mp4"
    hostile.write_bytes(b"not a video")
    assert compare.main([str(hostile), "--models", "a"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "new\\nline.mp4: not a readable video" in err[0]
    assert compare.main([str(tmp_path / "gone.mp4"), "--models", "a"]) == 1
    assert "gone.mp4: not a readable video" in capsys.readouterr().err

    from detector.errors import NoModelError

    def no_model(path, models, frames):
        raise NoModelError(f"{models[0]}: no such model")

    monkeypatch.setattr(compare, "compare_models", no_model)
    assert compare.main([str(hostile), "--models", "nope"]) == 2  # a model that is not there: 2, as scan's
    assert "nope: no such model" in capsys.readouterr().err

    asked = []
    monkeypatch.setattr(compare, "compare_models", lambda path, models, frames: asked.append(models) or refuse(path))
    assert compare.main([str(clip), "--models", "a, b,a,,b"]) == 1
    assert asked == [["a", "b"]]  # each model once, in the order first named


# ---------------------------------------------------------------- webapp/compare.py


def test_timeline_has_a_line_and_a_threshold_per_model_and_marks_the_disagreement():
    from webapp import compare as view

    c = _comparison(threshold_b=0.6)
    fig = view.timeline_figure(c)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    # b's video score 0.55 (the mean of 0.8 and 0.3); each model's threshold in the legend
    assert [t.name for t in lines] == ["a: fake (threshold 0.500)", "b: real (threshold 0.600)"]
    assert list(lines[1].y) == [0.8, 0.3, None]  # the frame with no face is a gap
    thresholds = [t for t in fig.data if t.mode == "lines"]
    assert [tuple(t.y) for t in thresholds] == [(0.5, 0.5), (0.6, 0.6)]
    assert [t.line.color for t in thresholds] == [t.line.color for t in lines] == view.MODEL_COLOURS[:2]
    assert {a.text for a in fig.layout.annotations} >= {"0.500", "0.600", "explained face"}
    # the thresholds' labels lie in the right margin, beside the plot: over it they hid the lines at their height
    assert all(a.xref == "paper" and a.x == 1.0 for a in fig.layout.annotations if a.text in ("0.500", "0.600"))
    (differ,) = [t for t in fig.data if t.name == "labels differ"]
    assert list(differ.x) == [0.4] and "a fake, b real" in differ.customdata[0][1]
    assert fig.layout.shapes[0].x0 == 0.4  # the dotted line at the explained face
    # twelve models: the ninth to twelfth share the first four's colours, not their markers (a teacher's audit)
    pairs = {(view.model_colour(k), view.model_symbol(k)) for k in range(12)}
    assert len(pairs) == 12 and view.model_symbol(0) == "circle" != view.model_symbol(8)
    assert [t.marker.symbol for t in lines] == ["circle", "circle"]


def test_close_thresholds_share_one_label_so_none_print_over_another():
    from webapp.compare import threshold_labels

    labels = threshold_labels([0.5, 0.91, 0.91, 0.9, 0.94, 0.6])
    assert labels == [(0.5, "0.500"), (0.6, "0.600"), (0.94, "0.900-0.940")]
    assert threshold_labels([]) == []


def test_verdict_rows_and_the_disagreement_text():
    from webapp import compare as view

    c = _comparison()
    assert view.verdict_rows(c) == [
        ["a", "fake", "0.900", "0.500", "2 of 3", "resnet18"],
        ["b", "fake", "0.550", "0.500", "1 of 3", "3 x efficientnet_lite0"],
    ]  # video scores by the confident rule: a's one frame over 0.8 (0.9); b's plain mean of 0.8 and 0.3
    text = view.disagreement_markdown(c)
    assert text.startswith("**Verdicts on the whole clip:** the models agree: fake; a fake (0.90), b fake (0.55).")
    assert "**Face by face:** 1 of 3 faces are labelled differently, at 0.40 s." in text
    assert "- a **fake** · b **real**: 1 face (0.40 s)" in text
    assert "**Explained face:** face 0 at 0.40 s (frame 10), the face the models disagree on most; no CAM" in text
    assert view.disagreement_markdown(_comparison(threshold_b=0.25)).count("\n- ") == 0  # none to list
    # found by a browser check: five model names on every line; the most common label's models are "the other N"
    five = (("t", "real"), ("e", "uncertain"), ("c", "real"), ("r", "real"), ("l", "uncertain"))
    assert view._pattern(five) == "e, l **uncertain** · the other 3 **real**"
    two_two = (("a", "real"), ("b", "fake"), ("c", "fake"), ("d", "real"))  # no label holds most: each named
    assert view._pattern(two_two) == "a, d **real** · b, c **fake**"
    assert view._pattern((*five[:4], ("l", "real"))) == "e **uncertain** · the other 4 **real**"
    assert view._pattern((("a", "fake"), ("b", "real"), ("c", "real"), ("d", "real"), ("e", "uncertain"))) == (
        "a **fake** · e **uncertain** · the other 3 **real**"
    )
    # found by review: the table printed 0.908 (fake) beside a threshold of 0.91
    close = _comparison(threshold_b=0.5504)
    assert view.verdict_rows(close)[1][2:4] == ["0.5500", "0.5504"] and "b real (0.5500)" in view.disagreement_markdown(
        close
    )


def test_models_that_found_no_face_are_not_counted_as_agreeing():
    from detector.evaluation.compare import disagreement

    rows = [
        {"model": "a", "label": "real", "calibrated": True},
        {"model": "b", "label": "unknown", "calibrated": True},
        {"model": "c", "label": "fake", "calibrated": False},
    ]
    assert disagreement(rows).endswith("; the only model calibrated on real people, a, says real")


def test_cam_tiles_are_one_picture_per_model():
    from webapp import compare as view
    from webapp.faces import face_tile

    c = _comparison()
    c.runs[0].face.cam = np.linspace(0, 1, 96 * 96, dtype=np.float32).reshape(96, 96)
    tiles = view.cam_tiles(c, side=100)
    tile = face_tile(c.runs[0].face, 0.5, 100)
    # one picture a model (a browser check: drawn as one image, a phone shrank its names and scores to 4-5 px)
    assert [caption.split(":")[0] for _, caption in tiles] == ["a", "b"]
    (a, a_said), (b, _) = tiles
    assert a.dtype == np.uint8 and a.shape == (tile.shape[0] + 30, tile.shape[1], 3)  # a title strip over the tile
    assert tuple(a[30 + 2, 2]) == (214, 39, 40)  # a says fake on this face: red frame
    assert tuple(b[30 + 2, 2]) == (44, 160, 44)  # b says real: green
    assert tuple(a[15, 9]) == (0, 114, 178)  # a's colour square in its title (#0072B2)
    assert "(fake)" in a_said  # the caption says the score and label in words
    c.face = None
    assert view.cam_tiles(c) == []


def test_downloads_are_the_clis_files(tmp_path):
    from detector.evaluation.compare import FIELDS
    from webapp import compare as view

    c = _comparison()
    csv_path, json_path = view.write_downloads(c, str(tmp_path / "out"))
    assert csv_path.endswith("clip_compare.csv") and json_path.endswith("clip_compare.json")
    assert json.loads(open(json_path).read()) == json.loads(json.dumps(c.to_dict()))
    rows = list(csv.DictReader(open(csv_path)))
    assert (
        list(rows[0]) == FIELDS and [r["model"] for r in rows] == ["a", "b"] and rows[1]["faces_over_threshold"] == "1"
    )


def test_models_share_one_decode_and_each_gets_its_own_margin(clips, tmp_path, monkeypatch):
    """The clip is decoded and its faces found once for all the models; each model still scores crops at its own
    margin, exactly as a run of analyze() with that model alone does."""
    import torch

    from detector.evaluation.compare import compare_models
    from detector.inference import pipeline
    from detector.models import registry as architectures
    from detector.models.card import ModelCard
    from detector.models.store import save_model

    torch.manual_seed(1)
    net = architectures.build("resnet18", num_classes=2)
    for name, margin in (("tight", 0.1), ("wide", 0.6)):
        save_model(net, ModelCard(name=name, architecture="resnet18", input_size=64, face_margin=margin), tmp_path)
    calls = []
    find = pipeline.frames_and_faces
    monkeypatch.setattr(pipeline, "frames_and_faces", lambda *a, **k: calls.append(k) or find(*a, **k))
    c = compare_models(clips["face"], ["tight", "wide"], 4, directory=tmp_path)
    assert len(calls) == 1 and calls[0]["margins"] == [0.1, 0.6]
    alone = {n: pipeline.analyze(clips["face"], frames=4, model=str(tmp_path / f"{n}.json")) for n in ("tight", "wide")}
    for run in c.runs:
        got = [(f.identity, f.box, f.score) for fr in run.report.frames for f in fr.faces]
        want = [(f.identity, f.box, f.score) for fr in alone[run.name].frames for f in fr.faces]
        assert got == want and len(got) == 4
    tight, wide = (r.report.frames[0].faces[0] for r in c.runs)
    assert tight.crop.shape[0] < wide.crop.shape[0]  # its own margin's crop, not a shared one
    assert tight.score != wide.score


def test_faces_at_refuses_a_margin_the_faces_were_not_cropped_at(clips):
    from detector.inference.pipeline import faces_at, frames_and_faces
    from detector.inference.video import Limits

    found = frames_and_faces(clips["face"], frames=2, fps=None, limits=Limits(), margin=0.3, margins=[0.3, 0.5])
    info, frames, _ = faces_at(found, 0.5)
    face = frames[0].faces[0]
    assert face.crop is found[1][0].faces[0].crops[0.5][0] and face.crops is None and face.identity == -1
    with pytest.raises(ValueError, match="not cropped at margin 0.2"):
        faces_at(found, 0.2)


def test_the_summary_says_which_models_trained_on_the_file_and_what_every_report_warns_of():
    # a teacher's audit: "the models agree: fake" on a FaceForensics++ clip the models had trained on, where Analyse
    # warned of it; and a warning every model gave (few faces) was not said either
    from detector.data.seen import SEEN_TEXT
    from webapp import compare as view

    c = _comparison()
    seen = f"This video is one of the fake videos of FaceForensics++ c23 {SEEN_TEXT}: its score shows ..."
    few = "Faces were found in only 2 of 3 sampled frames; the score rests on few faces."
    c.runs[0].report.warnings[:] = [seen, few, "a's own range warning"]
    c.runs[1].report.warnings[:] = [few]
    text = view.disagreement_markdown(c)
    assert "**Treat with care:** this clip is one the model a trained or validated on: its verdict shows" in text
    assert f"⚠ {few}" in text and "⚠ a's own range warning" not in text  # shared warnings only, with ⚠
    assert "**Each model's own warnings:**\n- a: a's own range warning" in text  # and each model's own, listed
    assert text.index("**Treat with care:**") < text.index("**Face by face:**")
    c.runs[1].report.warnings.insert(0, seen)
    assert "the models a, b trained or validated on: their verdicts show" in view.disagreement_markdown(c)
    assert "Treat with care" not in view.disagreement_markdown(_comparison())


def test_a_small_video_is_said_once_and_the_models_judged_at_their_threshold_for_small_videos_are_named():
    # a browser check: the default's own line on its threshold for small videos made its warnings differ from the
    # other models', and the warning that the video is small, shared by every model, went from the summary
    from webapp.compare import disagreement_markdown

    c = _comparison()
    small = (
        "The video is 480x360, smaller than every FaceForensics++ clip the model trained on (480 px on the short "
        "side), as a clip forwarded through a messaging app often is."
    )
    c.runs[0].report.warnings = [small, "For a video this small the model uses a stricter threshold, 0.942 ..."]
    c.runs[1].report.warnings = []  # a model not trained on FaceForensics++ does not say it
    text = disagreement_markdown(c)
    assert text.count("⚠ The video is 480x360") == 1
    assert "Judged at the model's threshold for small videos: a at 0.500" in text
    c.runs[0].report.warnings = [small]  # no model judged at one: nothing named
    assert "Judged at the model's threshold" not in disagreement_markdown(c)


def test_models_that_found_only_faces_too_small_say_so_not_no_face():
    from detector.evaluation.compare import Comparison, ModelRun
    from webapp import compare as view

    runs = []
    for name in ("a", "b"):
        r = _report([[], []], threshold=0.5)
        r.frames[1].too_small = [(10, 10, 12, 14)]  # found in one frame, under SMALLEST_FACE_PX: not judged
        runs.append(ModelRun(name, "resnet18", r))
    c = Comparison("clip.mp4", runs)
    assert [row["faces_too_small"] for row in c.rows] == [1, 1]
    assert [row[2] for row in view.verdict_rows(c)] == ["faces too small"] * 2
    plain = Comparison("clip.mp4", [ModelRun("a", "resnet18", _report([[], []], threshold=0.5))])
    assert view.verdict_rows(plain)[0][2] == "no face" and plain.rows[0]["faces_too_small"] == 0


def test_heavy_compression_is_said_once_of_the_file_and_each_models_own_warnings_are_listed():
    # a browser check: each model's compression warning quotes its own AUCs, so none was "shared" and Compare said
    # nothing of it; and a model's own warnings were in the JSON download alone
    from detector.evaluation.compare import shared_warnings
    from detector.inference.video import heavy_compression_warning
    from webapp import compare as view

    c = _comparison()
    a, b = (run.report for run in c.runs)
    for r in (a, b):  # the file's figure, as pipeline.analyze records it beside the warning
        r.video_info["bits_per_pixel"] = 0.0038
    a.warnings = [heavy_compression_warning(0.0038, 0.742, 0.949), "The video score 0.90 is close to the threshold."]
    b.warnings = [heavy_compression_warning(0.0038, 0.777, 0.937)]
    said = [w for w in shared_warnings(c) if "compressed very heavily" in w]
    assert said == [heavy_compression_warning(0.0038).replace(" (this model was not measured at that compression)", "")]
    assert "(0.0038 bits per pixel)" in said[0] and "AUC" not in said[0]
    text = view.disagreement_markdown(c)
    assert text.count("compressed very heavily") == 1
    assert "**Each model's own warnings:**\n- a: The video score 0.90 is close to the threshold." in text
    b.warnings = []  # one model alone judged short of fake: still said, once
    assert len([w for w in shared_warnings(c) if "compressed very heavily" in w]) == 1
    a.warnings = b.warnings = [heavy_compression_warning(0.0038)]  # alike, "this model was not measured": of the file
    assert [w for w in shared_warnings(c) if "compressed very heavily" in w] == said  # no one model's words


def test_a_models_doubt_of_itself_is_said_once_for_all_the_models_it_concerns():
    # a browser check: the same 45-word "uncalibrated threshold" text four times over, "teaching model" twice
    from detector.evaluation.compare import care_notes, own_warnings
    from detector.inference.report import MODEL_DOUBTS

    c = _comparison()
    a, b = (run.report for run in c.runs)
    a.warnings = [f"{MODEL_DOUBTS[1]} 'a' is close to chance (video AUC 0.58): ...", "a's own"]
    b.warnings = [f"{MODEL_DOUBTS[1]} 'b' is close to chance (video AUC 0.60): ...", f"{MODEL_DOUBTS[2]} 'b' ..."]
    notes = [text for kind, text in care_notes(c) if kind == "note"]
    assert notes == [
        "Teaching models (close to chance on their validation videos, shipped to show how such a model fails, not to "
        "judge a clip): a, b."
    ]
    assert own_warnings(c) == [("a", "a's own")]  # b's fixed threshold: the table says it


def test_how_fragile_a_verdict_is_is_said_once_for_the_models_it_concerns():
    # a teacher's audit: the same fragile-verdict sentence after each model's close-to-threshold line
    from detector.evaluation.compare import care_notes, own_warnings
    from detector.inference.report import FRAGILE
    from webapp import compare as view

    c = _comparison()
    a, b = (run.report for run in c.runs)
    a.warnings = ["The video score 0.70 is close to the threshold 0.666." + FRAGILE]
    b.warnings = ["Frame scores are split: 40% of faces score above the threshold, the rest below." + FRAGILE]
    assert own_warnings(c) == [
        ("a", "The video score 0.70 is close to the threshold 0.666."),
        ("b", "Frame scores are split: 40% of faces score above the threshold, the rest below."),
    ]
    notes = [text for kind, text in care_notes(c) if FRAGILE in text]
    assert len(notes) == 1 and notes[0].startswith("a, b:")
    assert view.disagreement_markdown(c).count(FRAGILE.strip()) == 1
    b.warnings = []
    assert [text for _, text in care_notes(c) if FRAGILE in text][0].startswith("a:")
    # a review: the same line from both models was "shared" with the sentence, said again, and again bare
    split = "Frame scores are split: 50% of faces score above the threshold, the rest below."
    a.warnings = b.warnings = [split + FRAGILE]
    text = view.disagreement_markdown(c)
    assert text.count(FRAGILE.strip()) == 1 and text.count(split) == 1
    one = type(c)(c.path, c.runs[:1])  # one model: its own line once, the sentence once
    text = view.disagreement_markdown(one)
    assert text.count(FRAGILE.strip()) == 1 and text.count(split) == 1
    # a stretch of strongly fake frames: one line naming the models (a browser check: six near-alike lines)
    from detector.inference.report import PART_FAKE

    a.warnings = [f"{PART_FAKE}: face 0 scores over 0.8 in 12 ..."]
    b.warnings = [f"{PART_FAKE}: face 0 scores over 0.897 in 10 ..."]
    notes = [text for _, text in care_notes(c) if "part of the clip scores strongly fake" in text]
    assert len(notes) == 1 and notes[0].startswith("a, b:") and not own_warnings(c)
    assert view.disagreement_markdown(c).lower().count("part of the clip scores strongly fake") == 1


def test_disagreement_says_first_how_many_say_what_and_that_none_says_fake():
    # a Space host's audit: on a real clip five models said real and one uncertain, and the summary opened "the models
    # disagree", which reads as an alarm
    from detector.evaluation.compare import disagreement

    rows = [{"model": f"m{i}", "label": "real"} for i in range(5)] + [{"model": "u", "label": "uncertain"}]
    line = disagreement(rows)
    assert line.startswith("the models disagree, none says fake (1 uncertain, 5 real): m0 says real")
    rows[0]["label"] = "fake"
    assert disagreement(rows).startswith("the models disagree (1 fake, 1 uncertain, 4 real): m0 says fake")
    rows[1]["label"] = "unknown"  # a model that judged no face is counted too: the figures add up to the models
    assert disagreement(rows).startswith("the models disagree (1 fake, 1 uncertain, 3 real, 1 no face judged): ")
