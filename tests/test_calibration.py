"""The calibrated threshold, its uncertain band, and the three-way verdict."""

from __future__ import annotations

import numpy as np
import pytest

from detector.evaluation.calibration import calibrate_threshold, false_alarm_table
from detector.inference.report import verdict


def item(score, label=0, kind="video", subgroup=None):
    return {"confident": score, "label": label, "kind": kind, "subgroup": subgroup}


def test_threshold_keeps_every_stratum_at_or_under_the_target():
    rng = np.random.default_rng(0)
    videos = [item(s) for s in rng.uniform(0, 0.6, 40)]
    white = [item(s, kind="image", subgroup="white") for s in rng.uniform(0, 0.3, 200)]
    black = [item(s, kind="image", subgroup="black") for s in rng.uniform(0, 0.9, 60)]  # the hardest group
    fakes = [item(s, label=1) for s in rng.uniform(0.5, 1, 50)]
    everything = videos + white + black + fakes
    cal = calibrate_threshold(everything, target=0.05)
    for rows in (videos, white, black):
        fa = sum(r["confident"] >= cal["threshold"] for r in rows)
        assert fa <= int(0.05 * len(rows))
    # the hardest group sets it: just above its 4th highest score (floor(0.05 * 60) = 3 false alarms allowed)
    assert cal["threshold"] == pytest.approx(sorted(r["confident"] for r in black)[-4], abs=1e-6)
    low, high = cal["uncertain"]
    assert low <= high == cal["threshold"] and cal["strata"] == {"photos:black": 60, "photos:white": 200, "videos": 40}
    table = {r["name"]: r for r in false_alarm_table(everything, cal["threshold"])}
    assert table["all"]["reals"] == 300 and table["photos:black"]["rate"] <= 0.05


def test_no_reals_leaves_the_threshold_at_a_half():
    assert calibrate_threshold([item(0.9, label=1)])["threshold"] == 0.5


def test_verdict_has_three_ways_and_unknown():
    band = [0.6, 0.8]
    assert [verdict(s, 0.8, band) for s in (0.2, 0.6, 0.79, 0.8, 0.99)] == [
        "real",
        "uncertain",
        "uncertain",
        "fake",
        "fake",
    ]
    assert verdict(float("nan"), 0.8, band) == "unknown" and verdict(0.7, 0.8, None) == "real"


def test_faces_unlike_the_training_faces_are_warned_about():
    from detector.inference.quality import face_stats, out_of_range, ranges_of

    rng = np.random.default_rng(0)
    kps = [(40.0, 50.0), (80.0, 50.0), (60.0, 70.0)]
    sharp = [face_stats(rng.integers(0, 255, (160, 160, 3), dtype=np.uint8), (0, 0, 150, 150), kps) for _ in range(20)]
    ranges = ranges_of(sharp)
    assert ranges["faces"] == 20 and ranges["face_px"] == [150.0, 150.0] and abs(ranges["yaw"][0]) < 1e-6
    assert out_of_range(sharp, ranges) == []  # their median is inside
    flat = [face_stats(np.full((40, 40, 3), 90, np.uint8), (0, 0, 30, 30), kps)]
    warnings = out_of_range(flat, ranges)
    assert any("smaller" in w for w in warnings) and any("blurrier" in w for w in warnings)


def test_a_sepia_face_is_yellower_than_training_and_a_grey_face_has_no_hue():
    """Real photos with a sepia filter were called fake 36 times in 100 (scripts/circulation_probe.py): the hue of
    the face's middle is measured (CIELAB angle: skin 35-70, sepia 85-100) and warned of outside the card's range;
    a black and white face has no hue, and nothing is said of it."""
    from skimage.data import astronaut

    from detector.inference.quality import face_stats, out_of_range

    kps = [(40.0, 50.0), (80.0, 50.0), (60.0, 70.0)]
    face = np.ascontiguousarray(astronaut()[20:220, 150:350])
    sepia = np.clip(face @ np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]).T, 0, 255)
    grey = np.repeat(face.mean(2, keepdims=True), 3, 2)
    plain, toned, bw = (face_stats(x.astype(np.uint8), (0, 0, 150, 150), kps) for x in (face, sepia, grey))
    assert 20 < plain["hue"] < 75 and toned["hue"] > 80 and np.isnan(bw["hue"])
    ranges = {"hue": [35.0, 70.0]}
    (warning,) = out_of_range([toned], ranges)
    assert warning.startswith("The face is yellower or greener in colour (a sepia or warm filter") and "°" in warning
    assert out_of_range([bw], ranges) == [] and out_of_range([toned], {"face_px": [10.0, 500.0]}) == []
    # a cyan cast: its faces' hues sat either side of +-180 (178, -179), and their median read 0, "pinker"
    cyan = np.clip(face * np.array([0.3, 1.1, 1.1]), 0, 255).astype(np.uint8)
    hues = [face_stats(np.roll(cyan, k, axis=1), (0, 0, 150, 150), kps)["hue"] for k in range(0, 40, 10)]
    assert all(150 < h < 225 for h in hues)
    (warning,) = out_of_range([{"hue": h} for h in (178.0, 181.0, 179.0)], ranges)
    assert "greener" in warning and "hue 179°" in warning and warning.startswith("The faces are")  # several
    blue = np.clip(face * np.array([0.6, 0.8, 1.5]), 0, 255).astype(np.uint8)
    assert -135 <= face_stats(blue, (0, 0, 150, 150), kps)["hue"] < 10


def test_a_warm_face_is_more_strongly_coloured_than_training_and_a_grey_one_is_not_warned_of():
    """Real photos with a warm white balance were called fake 11 times in 100, and the hue (still skin's) warned of
    one: the chroma of the face's middle is measured too, and warned of above the card's range only (training
    turns some crops grey, so a faded or black and white face is not unlike it)."""
    from skimage.data import astronaut

    from detector.inference.quality import face_stats, out_of_range

    kps = [(40.0, 50.0), (80.0, 50.0), (60.0, 70.0)]
    face = np.ascontiguousarray(astronaut()[20:220, 150:350])
    warm = np.clip(face * np.array([1.15, 1.0, 0.8]), 0, 255).astype(np.uint8)
    grey = np.repeat(face.mean(2, keepdims=True), 3, 2).astype(np.uint8)
    plain, warmer, bw = (face_stats(x, (0, 0, 150, 150), kps) for x in (face, warm, grey))
    assert warmer["chroma"] > plain["chroma"] + 8 and bw["chroma"] < 1
    assert abs(warmer["hue"] - plain["hue"]) < 15  # the hue alone hardly moves
    ranges = {"hue": [-28.0, 70.0], "chroma": [4.0, plain["chroma"] + 4]}
    (warning,) = out_of_range([warmer], ranges)
    assert (
        warning.startswith("The face is more strongly coloured (a warm or vivid filter")
        and "colour strength" in warning
    )
    assert out_of_range([plain], ranges) == [] and out_of_range([bw], ranges) == []  # grey: below, not warned of


def test_a_duotone_face_has_its_colour_follow_its_brightness():
    """Real photos as a duotone were called fake 67 times in 100, and the hue warned of 20: a duotone maps dark to
    one colour and light to another, so the colour of the face's middle follows its lightness (the CIELAB a*-b*
    slope against L*), where skin keeps its colour from shadow to highlight; a sepia tone, a grey face and a flat
    patch do not warn."""
    import cv2
    from skimage.data import astronaut

    from detector.inference.quality import face_stats, out_of_range, tint_warned

    kps = [(40.0, 50.0), (80.0, 50.0), (60.0, 70.0)]
    face = np.ascontiguousarray(astronaut()[20:220, 150:350])
    grey = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float64)[..., None] / 255.0
    dark, light = np.array([20.0, 30.0, 90.0]), np.array([245.0, 230.0, 190.0])  # dark blue to cream
    duotone = np.clip(dark + grey * (light - dark), 0, 255).astype(np.uint8)
    sepia = np.clip(face @ np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]).T, 0, 255)
    flat = np.full_like(face, 120)
    plain, two, toned, bw, same = (
        face_stats(x.astype(np.uint8), (0, 0, 150, 150), kps)
        for x in (face, duotone, sepia, np.repeat(grey * 255, 3, 2), flat)
    )
    assert two["colour_slope"] > 0.3 > plain["colour_slope"] and toned["colour_slope"] < 0.3
    assert bw["colour_slope"] < 0.05 and np.isnan(same["colour_slope"])
    ranges = {"colour_slope": [0.01, 0.29]}
    (warning,) = out_of_range([two], ranges)
    assert warning.startswith("The face is more two-toned (their colour following their brightness: a duotone") and (
        "colour change with brightness" in warning
    )
    assert tint_warned([warning]) and out_of_range([bw], ranges) == [] and out_of_range([plain], ranges) == []


def test_a_model_trained_with_colour_casts_is_not_warned_of_tints():
    """A model trained with --colour-cast saw sepia, warm and cool faces that the ranges (measured on the untouched
    training faces) do not show: its card keeps no hue range, and says why."""
    from detector.inference.quality import out_of_range, trained_away

    ranges = {"faces": 9, "hue": [-28.0, 70.0], "chroma": [2.0, 40.0], "face_px": [70.0, 400.0]}
    ranges["by_source"] = {"a": {"hue": [0.0, 60.0], "chroma": [3.0, 38.0]}}
    assert trained_away(ranges, {"colour_cast": 0.0}) is ranges and trained_away(ranges, None) is ranges
    cast = trained_away(ranges, {"colour_cast": 0.3})
    assert "hue" not in cast and "chroma" not in cast and cast["by_source"] == {"a": {}}
    assert "colour-cast" in cast["untested"]["hue"] and "colour-cast" in cast["untested"]["chroma"]
    assert cast["face_px"] == [70.0, 400.0] and "hue" in ranges  # the rest kept; the card's dict untouched
    assert out_of_range([{"hue": 95.0, "chroma": 55.0, "face_px": 100.0}], cast) == []


def test_ranges_join_each_sources_own_percentiles():
    # found by a browser check: 8 frames of each of 118 videos outweighed 282 photos in one pooled percentile, and
    # an ordinary training photo read as "sharper than nearly all the model was trained on"
    from detector.inference.quality import out_of_range, ranges_of

    videos = [{"face_px": 150.0, "sharpness": 100.0 + i / 10, "brightness": 100.0, "yaw": 0.0} for i in range(1000)]
    photos = [{"face_px": 160.0, "sharpness": 1000.0 + i, "brightness": 105.0, "yaw": 0.0} for i in range(100)]
    pooled = ranges_of(videos + photos)
    joined = ranges_of(videos + photos, groups=["ffpp"] * 1000 + ["faces_utk"] * 100)
    assert pooled["sharpness"][1] < 1080 <= joined["sharpness"][1]  # the photos' upper tail is theirs
    assert joined["sharpness"][0] == joined["by_source"]["ffpp"]["sharpness"][0] < 105
    assert set(joined["by_source"]) == {"ffpp", "faces_utk"} and joined["faces"] == 1100
    a_photo = [{"face_px": 160.0, "sharpness": 1080.0, "brightness": 105.0, "yaw": 0.0}]
    assert out_of_range(a_photo, pooled) and not out_of_range(a_photo, joined)


def test_a_range_end_is_never_set_by_a_sources_few_most_extreme_faces():
    # found reading a card: the 2nd percentile of the actor clips' 80 faces was a turned head (-0.99), one of its
    # two most turned faces, and so no clip was ever "more turned than the training faces"
    from detector.inference.quality import TAIL_FACES, out_of_range, ranges_of

    frontal = [{"face_px": 150.0, "sharpness": 100.0, "brightness": 100.0, "yaw": i / 100} for i in range(-20, 21)]
    turned = [dict(frontal[0], yaw=-0.99), dict(frontal[0], yaw=-0.97)]  # two faces of one clip turned away
    many = [dict(frontal[0], yaw=-0.3 + i / 1000) for i in range(600)]  # a large source: 2% is 12 faces
    r = ranges_of(frontal + turned + many, groups=["actors"] * 43 + ["ffpp"] * 600)
    assert r["tail_faces"] == TAIL_FACES == 5
    assert r["by_source"]["actors"]["yaw"][0] == -0.18  # its 5th most turned face, not the two at -0.97 and -0.99
    yaws = [f["yaw"] for f in many]  # a large source keeps its plain percentiles
    assert r["by_source"]["ffpp"]["yaw"] == [round(float(np.percentile(yaws, q)), 3) for q in (2, 98)]
    assert out_of_range([dict(frontal[0], yaw=-0.9)], r) and not out_of_range([dict(frontal[0], yaw=-0.25)], r)
    tiny = ranges_of([dict(frontal[0], yaw=v) for v in (0.1, 0.2, 0.3)])
    assert tiny["yaw"] == [0.104, 0.296]  # under twice the tail: its plain percentiles (one face beyond each end)


def test_cross_fitted_false_alarms_judge_each_fold_by_the_others_threshold():
    from detector.evaluation.crossval import cross_fitted_false_alarms

    rng = np.random.default_rng(1)
    videos = []
    for fold in range(3):
        shift = 0.3 if fold == 2 else 0.0  # fold 2's reals score higher than the others': its false alarms show
        videos += [dict(item(float(s) + shift), fold=fold, source="ffpp") for s in rng.uniform(0, 0.6, 40)]
        videos += [dict(item(float(s), label=1), fold=fold, source="ffpp") for s in rng.uniform(0.5, 1, 40)]
    cf = cross_fitted_false_alarms(videos, target=0.05)
    assert set(cf["thresholds"]) == {0, 1, 2}
    rows = {r["name"]: r for r in cf["by_source"]}
    assert rows["ffpp"]["reals"] == 120 and rows["all"]["false_alarms"] == rows["ffpp"]["false_alarms"]
    fold2 = [v for v in videos if v["fold"] == 2 and v["label"] == 0]
    expected = sum(v["confident"] >= cf["thresholds"][2] for v in fold2)
    assert expected > 0.05 * 40  # judged by the others' threshold, the shifted fold pays
    assert rows["ffpp"]["false_alarms"] >= expected


def test_verdict_keeps_the_calibrated_guarantee():
    """The calibrated threshold sits just above the highest real it lets through (rounded up at the 6th decimal):
    the verdict compares the raw score, so that real stays below it.  (Found by review: comparing the score
    rounded to 6 decimals, as the report writes it, made a real at 0.7000006 "fake" at a threshold of 0.700001.)"""
    from detector.evaluation.calibration import calibrate_threshold
    from detector.inference.report import verdict

    reals = [0.99, 0.7000006] + [0.10 + 0.01 * i for i in range(18)]
    items = [{"label": 0, "confident": p, "kind": "video"} for p in reals]
    cal = calibrate_threshold(items, target=0.05)
    assert 0.7000006 < cal["threshold"] <= 0.700001
    labels = [verdict(p, cal["threshold"], cal["uncertain"]) for p in reals]
    assert labels.count("fake") == 1  # 0.99 only: 1 of 20, within the 5% asked for
    assert verdict(0.7000006, cal["threshold"]) != "fake"
    assert verdict(float("nan"), 0.5) == "unknown"


def test_a_threshold_other_than_the_cards_keeps_the_bands_lower_edge():
    from detector.inference.report import band_at

    assert band_at(0.9, 0.9, [0.47, 0.9]) == [0.47, 0.9]  # the card's own
    assert band_at(0.95, 0.9, [0.47, 0.9]) == [0.47, 0.95]  # raised: 0.6 stays uncertain, not real
    assert band_at(0.5, 0.9, [0.47, 0.9]) == [0.47, 0.5]
    assert band_at(0.4, 0.9, [0.47, 0.9]) is None and band_at(0.47, 0.9, [0.47, 0.9]) is None
    assert band_at(0.95, 0.9, None) is None


def test_a_faces_printed_score_compares_with_the_printed_threshold_as_the_raw_ones_do():
    from detector.inference.report import score_text

    # found by a browser check: a face at 0.9078 under the threshold 0.90793 read "fake 0.91 (uncertain)"
    assert score_text(0.9078, 0.90793, [0.473685, 0.90793]) == "0.9078"
    assert score_text(0.9080, 0.90793) == "0.91" and score_text(0.55, 0.90793, [0.473685, 0.90793]) == "0.55"
    assert score_text(0.4735, 0.90793, [0.473685, 0.90793]) == "0.473"  # just under the band: real
    assert score_text(0.90793, 0.90793) == "0.91"  # at the threshold: fake, and reads so


def test_a_tinted_face_called_fake_points_to_a_model_trained_with_tints(tmp_path, tiny_model_dir):
    """Real photos with a sepia filter: 36 in 100 called fake by the default, 0 by mnv2_colour (trained with casts).
    A report whose face is tinted beyond its model's training, and which says fake or uncertain, names such a model
    where one is installed; not for a real verdict, nor for a model trained with casts itself."""
    import json
    import shutil
    from types import SimpleNamespace

    from detector.inference.quality import out_of_range, tint_warned, trained_with_casts
    from detector.inference.report import tint_alternative_warning
    from detector.models.card import ModelCard

    warm = out_of_range([{"chroma": 55.0}], {"chroma": [7.0, 42.0]})
    sepia = out_of_range([{"hue": 95.0}], {"hue": [-28.0, 70.0]})
    small = out_of_range([{"face_px": 20.0}], {"face_px": [70.0, 400.0]})
    assert tint_warned(warm) and tint_warned(sepia) and not tint_warned(small) and not tint_warned([])
    src = tiny_model_dir / "untrained_resnet18.json"
    card = json.loads(src.read_text())
    calibration = {"threshold": 0.6, "strata": {"videos": {"reals": 10}}}
    for name, config in (("plain", {}), ("tinted", {"colour_cast": 0.3})):
        card.update(name=name, default=name == "plain", threshold=0.6)
        card["trained"] = {"config": config, "calibration": calibration}
        (tmp_path / f"{name}.json").write_text(json.dumps(card))
        shutil.copy(tiny_model_dir / card["weights"], tmp_path / card["weights"])
    plain, tinted = (ModelCard.from_file(tmp_path / f"{n}.json") for n in ("plain", "tinted"))
    assert trained_with_casts(tinted) and not trained_with_casts(plain) and tinted.calibrated

    def report(label, warnings):
        return SimpleNamespace(label=label, warnings=warnings)

    hint = tint_alternative_warning(report("fake", sepia), plain, tmp_path)
    assert hint.startswith("Colour filters mislead this model. tinted was trained with such filters") and (
        "the Model menu or Compare models in the app; --model tinted on the command line" in hint
    )
    assert tint_alternative_warning(report("uncertain", warm), plain, tmp_path) == hint
    assert tint_alternative_warning(report("real", sepia), plain, tmp_path) == ""  # nothing to doubt
    assert tint_alternative_warning(report("fake", small), plain, tmp_path) == ""  # not a tint
    assert tint_alternative_warning(report("fake", sepia), tinted, tmp_path) == ""  # it is the model trained so
    (tmp_path / "tinted.json").unlink()
    assert tint_alternative_warning(report("fake", sepia), plain, tmp_path) == ""  # none installed


def test_a_tinted_fake_verdict_hears_the_colour_trained_model_and_becomes_uncertain_not_real(tiny_model_dir, tmp_path):
    """Where the default calls a tinted face fake, the installed model trained with colour casts scores the same crops
    (colour_second_opinion): its "not fake" turns the verdict to uncertain, never real; its "fake" keeps it fake.
    The app's threshold slider keeps that rule, and says the second opinion only while this model says fake."""
    import json
    import shutil

    from detector.inference.pipeline import colour_second_opinion
    from detector.inference.quality import out_of_range
    from detector.inference.report import FaceResult, FrameResult, summarise, with_second_opinion
    from detector.models.classifier import load_model
    from webapp.verdict import relabel, verdict_html

    sepia = out_of_range([{"hue": 95.0}], {"hue": [-28.0, 70.0]})
    card = json.loads((tiny_model_dir / "untrained_resnet18.json").read_text())
    calibration = {"threshold": 0.5, "strata": {"videos": {"reals": 10}}}

    def install(name, config, threshold):
        card.update(name=name, default=name == "plain", threshold=threshold, uncertain=None)
        card["trained"] = {"config": config, "calibration": {**calibration, "threshold": threshold}}
        (tmp_path / f"{name}.json").write_text(json.dumps(card))
        shutil.copy(tiny_model_dir / card["weights"], tmp_path / card["weights"])

    install("plain", {}, 0.5)
    install("tinted", {"colour_cast": 0.3}, 0.999)  # an untrained net's scores stay far under it: "real"
    plain = load_model(str(tmp_path / "plain.json"))
    rng = np.random.default_rng(0)

    def face():
        return FaceResult(box=(0, 0, 64, 64), confidence=0.9, identity=0, score=0.9,
                          crop=rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))  # fmt: skip

    report = summarise("p.jpg", [FrameResult(index=0, time=0.0, faces=[face()])], threshold=0.5)
    report.warnings = sepia
    assert report.label == "fake"
    second = colour_second_opinion(report, plain, tmp_path)
    assert second["model"] == "tinted" and second["label"] == "real" and second["threshold"] == 0.999
    assert with_second_opinion("fake", second) == "uncertain"  # never "real"
    assert with_second_opinion("real", {"label": "fake"}) == "real" and with_second_opinion("fake", None) == "fake"
    # only for a tinted face called fake, by a model that never saw tints, with one installed
    assert colour_second_opinion(summarise("p.jpg", report.frames, threshold=0.95), plain, tmp_path) is None
    report.warnings = []
    assert colour_second_opinion(report, plain, tmp_path) is None
    report.warnings = sepia
    assert colour_second_opinion(report, load_model(str(tmp_path / "tinted.json")), tmp_path) is None
    # the slider: the downgrade stays while this model says fake; below its threshold the second opinion is not said
    report.second_opinion, report.label = second, "uncertain"
    moved = relabel(report, 0.6, 0.5)
    assert moved.label == "uncertain" and any(w.startswith("A second opinion:") for w in moved.warnings)
    assert "tinted, trained with such filters, does not call this fake" in verdict_html(moved)
    lower = relabel(report, 0.95, 0.5)  # 0.9 under 0.95, no band: real, and the second opinion is not said
    assert lower.label == "real" and not any(w.startswith("A second opinion:") for w in lower.warnings)
    # the face tiles and boxes read as the verdict does: not FAKE under an uncertain verdict (a browser check)
    from webapp.faces import face_label, gallery_items

    assert face_label(0.9, 0.5, None, second) == "uncertain" and face_label(0.9, 0.5, None, None) == "fake"
    items, _ = gallery_items(moved)
    assert items[0][1].endswith("(uncertain)")
    from detector.evaluation.compare import ModelRun  # and the compare view's face-by-face labels (a browser check)

    assert ModelRun("plain", "resnet18", moved).label_of(0.9) == "uncertain"
    install("tinted", {"colour_cast": 0.3}, 0.001)  # a second model that calls it fake too: the verdict stays fake
    from detector.models.classifier import clear_cache

    clear_cache()
    report.second_opinion, report.label = None, "fake"
    agreed = colour_second_opinion(report, plain, tmp_path)
    assert agreed["label"] == "fake" and with_second_opinion("fake", agreed) == "fake"


def test_false_alarms_by_age_band_and_sex_count_the_labelled_reals_in_the_bands_order():
    from detector.evaluation.calibration import false_alarms_by_population

    items = [
        {"label": 0, "confident": 0.9, "path": "/p/1_0_0_2017.jpg.chip.jpg"},  # a baby boy: called fake
        {"label": 0, "confident": 0.1, "path": "/p/2_1_0_2017.jpg.chip.jpg"},
        {"label": 0, "confident": 0.2, "video": "/p/70_1_2_2017.jpg.chip.jpg"},  # training's per-video scores
        {"label": 0, "confident": 0.8, "path": "/p/30_0_1_2017.jpg.chip.jpg", "age_band": "20-39", "sex": None},
        {"label": 1, "confident": 0.95, "path": "/p/40_0_0_2017.jpg.chip.jpg"},  # a fake: no false alarm
        {"label": 0, "confident": 0.99, "path": "/videos/183.mp4"},  # no labels in its name: not in these tables
    ]
    got = false_alarms_by_population(items, 0.5)
    ages = [(r["name"], r["reals"], r["false_alarms"]) for r in got["age_band"]]
    assert ages == [("0-2", 2, 1), ("20-39", 1, 1), ("60-79", 1, 0), ("all", 4, 2)]  # bands in age order
    sexes = [(r["name"], r["reals"], r["false_alarms"]) for r in got["sex"]]
    assert sexes == [("female", 2, 0), ("male", 1, 1), ("all", 3, 1)]  # an item whose sex is None: left out
    assert false_alarms_by_population([items[-1]], 0.5) == {}  # no labelled real: no tables


def test_cross_fitted_false_alarms_come_by_age_band_too():
    from detector.evaluation.crossval import cross_fitted_false_alarms, render
    from detector.evaluation.scores import video_metrics

    videos = []
    for fold in range(3):
        for i in range(40):
            s, photo = 0.01 * i, f"/p/{i % 90}_{i % 2}_0_2017{fold}{i}.jpg.chip.jpg"
            videos.append({"label": 0, "confident": s, "fold": fold, "kind": "image", "subgroup": "white",
                           "source": "faces_utk", "video": photo})  # fmt: skip
            videos.append({"label": 1, "confident": 0.5 + s, "fold": fold, "kind": "video", "source": "ffpp",
                           "video": f"/v/{fold}_{i}.mp4"})  # fmt: skip
    cf = cross_fitted_false_alarms(videos, target=0.05)
    by_age = cf["by_population"]["age_band"]
    assert by_age[-1]["reals"] == 120 and sum(r["reals"] for r in by_age[:-1]) == 120
    assert by_age[-1]["false_alarms"] == next(r for r in cf["by_source"] if r["name"] == "all")["false_alarms"]
    text = render({"folds": 3, "split_seed": 0, "folds_run": [0, 1, 2], "complete": True, "command": "x",
                   "per_fold": [], "fold_auc_sd": None, "by_method": {}, "pooled": video_metrics(videos),
                   "cross_fitted": cf, "reals_scored_most_fake": [], "fakes_scored_most_real": []})  # fmt: skip
    assert "by age (the data's age in years):" in text and "by sex (as the data labels it):" in text
