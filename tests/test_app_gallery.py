"""The face gallery and the frame viewer's boxes: what can be checked without a browser.

Tiles: nothing drawn over the crop or its heat map (the score is in the frame's bottom strip), a placeholder
that says the CAM was off when it was; the page's captions go under the tiles (static/app.css); box labels
sized for the viewer on portrait and 1080p frames, and kept inside the frame.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from detector.inference.report import FaceResult


def _face(score=0.9, cam=False, side=96):
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 180, (side, side, 3), dtype=np.uint8)  # darker than any text: white = drawn
    f = FaceResult(identity=0, box=(10, 10, 50, 50), confidence=0.9, score=score, crop=crop)
    if cam:
        f.cam = np.tile(np.linspace(0, 1, side, dtype=np.float32), (side, 1))
    return f


def test_nothing_is_drawn_over_the_crop_or_its_heat_map():
    from explain import overlay
    from webapp.faces import face_tile

    side, border = 176, 6
    f = _face(cam=True)
    tile = face_tile(f, 0.5, side=side, border=border)
    crop = cv2.resize(f.crop, (side, side), interpolation=cv2.INTER_LINEAR)
    heat = overlay(crop, cv2.resize(f.cam, (side, side)))
    left = tile[border : border + side, border : border + side]
    right = tile[border : border + side, border + side + 4 : border + 2 * side + 4]
    assert np.array_equal(left, crop) and np.array_equal(right, heat)
    strip = tile[border + side :]  # the score is written under both pictures
    assert strip.shape[0] >= 18 and (strip == 255).all(axis=2).any()


def test_an_rgbd_face_shows_its_depth_map_as_a_third_panel():
    from webapp.faces import face_tile

    side, border = 176, 6
    f = _face(cam=True)
    plain = face_tile(f, 0.5, side=side, border=border)
    yy, xx = np.mgrid[:32, :32]
    f.depth = np.where((yy - 16) ** 2 + (xx - 16) ** 2 < 144, 0.3 + 0.7 * (1 - np.hypot(yy - 16, xx - 16) / 12), 0)
    f.depth = f.depth.astype(np.float32)
    tile = face_tile(f, 0.5, side=side, border=border)
    assert tile.shape[1] == plain.shape[1] + side + 4 and tile.shape[0] == plain.shape[0]
    assert np.array_equal(tile[:, : border + 2 * side + 4], plain[:, : border + 2 * side + 4])  # crop, CAM alike
    depth = tile[border : border + side, border + 2 * side + 8 : border + 3 * side + 8].astype(int)
    centre, corner = depth[side // 2, side // 2].sum(), depth[8, 8].sum()
    assert centre > corner + 300  # nearer brighter; off the face dark
    # FaceMesh found no face: a grey panel says so instead of a black square
    f.depth = np.zeros((32, 32), np.float32)
    none = face_tile(f, 0.5, side=side, border=border)[border : border + side, border + 2 * side + 8 :][:, :side]
    text = (none >= 250).all(axis=2)
    assert text.any() and np.median(none[~text]) == 90  # words on a grey panel
    assert face_tile(f, 0.5, side=side, border=border, depth=False).shape == plain.shape  # depth=False: no panel


def test_an_empty_heat_map_says_so_instead_of_a_flat_blue_overlay():
    # found by a browser check: a face whose CAM was zero everywhere got a flat blue overlay, blank figures and no word
    from webapp import faces

    side, border = 176, 6
    f = _face()
    f.cam = np.zeros((32, 32), np.float32)
    empty = faces.face_tile(f, 0.5, side=side, border=border)
    panel = empty[border : border + side, border + side + 4 : border + 2 * side + 4]
    text = (panel >= 250).all(axis=2)
    assert text.any() and not text[:, :4].any() and not text[:, -4:].any()  # words, within the panel
    f.cam = np.ones((32, 32), np.float32)  # a map with something in it: the overlay, no words
    assert (
        not (faces.face_tile(f, 0.5, side=side, border=border)[border : border + side, border + side + 4 :] >= 250)
        .all(axis=2)
        .any()
    )
    assert "More settings" not in " ".join(faces.NOT_EXPLAINED_TEXT)  # the tile goes into the HTML report too


def test_cam_off_placeholder_says_so(monkeypatch):
    from test_app_units import _report

    from webapp import faces

    assert "off" in " ".join(faces.CAM_OFF_TEXT) and "off" not in " ".join(faces.NOT_EXPLAINED_TEXT)
    side, border = 176, 6
    off = faces.face_tile(_face(), 0.5, side=side, border=border, cam_off=True)
    unexplained = faces.face_tile(_face(), 0.5, side=side, border=border)
    panel = (slice(border, border + side), slice(border + side + 4, border + 2 * side + 4))
    assert np.array_equal(off[:, : border + side], unexplained[:, : border + side])  # the crop side is the same
    assert not np.array_equal(off[panel], unexplained[panel])  # the panel's words differ
    for tile in (off, unexplained):  # the words fit the panel: nothing written at its edges
        text = (tile[panel] >= 250).all(axis=2)
        assert text.any() and not text[:, :4].any() and not text[:, -4:].any()
    # the gallery says "off" when the analysis had no CAM method, "not explained" when it had one
    r = _report([[(0, 0.9)], [(0, 0.2)]])
    seen = []
    real_tile = faces.face_tile
    monkeypatch.setattr(faces, "face_tile", lambda *a, **k: seen.append(k.get("cam_off")) or real_tile(*a, **k))
    r.cam_method = None
    faces.gallery_items(r)
    r.cam_method = "gradcam"
    faces.gallery_items(r)
    assert seen == [True, True, False, False]


def test_captions_go_under_the_tiles():
    from webapp import server

    css = re.sub(r"\s+", " ", server.CSS)
    rules = dict(re.findall(r"([^{}]+)\{([^{}]*)\}", css))
    caption = next(body for sel, body in rules.items() if "#face-gallery .caption-label" in sel)
    assert "position: static !important" in caption and "opacity: 1 !important" in caption
    thumb = next(body for sel, body in rules.items() if "#face-gallery .thumbnail-item.thumbnail-lg" in sel)
    assert "aspect-ratio: auto" in thumb and "flex-direction: column" in thumb
    assert any("#lab-crops .caption-label" in sel for sel in rules)  # the lab's before/after crops too


@pytest.mark.parametrize("width,height", [(1080, 1920), (1920, 1080), (3840, 2160), (640, 480), (480, 640)])
def test_box_labels_are_readable_in_the_viewer(width, height):
    from webapp.faces import FONT, VIEW, label_style

    scale, letters, line = label_style(height, width)
    shown = min(VIEW[0] / width, VIEW[1] / height)  # the page scales the frame to fit the viewer
    (_, th), _ = cv2.getTextSize("face 0: 0.93", FONT, scale, letters)
    assert 10 <= th * shown <= 16, "letters about 13 px high on screen"
    assert letters * shown >= 0.6 and line * shown >= 1.5, "strokes and box lines do not vanish when scaled down"


def test_small_frames_keep_a_legible_minimum():
    from webapp.faces import label_style

    scale, letters, line = label_style(120, 160)
    assert scale >= 0.45 and letters >= 1 and line >= 2


@pytest.mark.parametrize("width,height", [(1080, 1920), (1920, 1080)])
def test_box_labels_stay_inside_the_frame(width, height):
    from webapp.faces import EDGE, FONT, RED, _label, draw_boxes, label_style

    # a face at the top-right corner: its label would stick out above and to the right
    side = width // 5
    face = FaceResult(identity=0, box=(width - side - 2, 2, side, side), confidence=1.0, score=0.93)
    out = draw_boxes(np.full((height, width, 3), 60, np.uint8), [face], 0.5)
    scale, letters, _ = label_style(height, width)
    (tw, th), base = cv2.getTextSize("face 0: 0.93", FONT, scale, letters)
    red = (out == RED).all(axis=2)
    top = face.box[1] + face.box[3]  # pushed off the top, the label goes under the box, not over the face
    ys, xs = np.nonzero(red[top + 4 : top + th + base + 40])
    assert width - 3 <= xs.max() <= width - 1 and xs.max() - xs.min() + 1 >= tw, "the whole label, moved inside"
    x0, y0, x1, y1 = _label(np.zeros((100, 200, 3), np.uint8), "face 12: 0.99", (190, 3), RED, 0.5)
    assert x0 > 0 and y0 == 0 and x1 == 199 and y1 <= 100  # moved left and down, just inside
    narrow = np.zeros((60, 120, 3), np.uint8)  # narrower than the label at its scale: smaller letters, all inside
    x0, _, x1, _ = _label(narrow, "face 0: 0.34 real", (10, 30), RED, 0.5, edge=True)
    assert x0 >= 1 and x1 <= 118  # its dark edge inside too (a browser check: at the right edge it lost its border)
    assert x1 + 1 <= 119 and (narrow[:, x1 + 1] == EDGE).all(axis=-1).any()  # the edge's column is in the image


def test_close_faces_labels_do_not_cover_each_other(monkeypatch):
    # a group photo's faces side by side: each label was drawn above its box, the second over the first
    from webapp import faces as drawing

    drawn = []
    label = drawing._label
    monkeypatch.setattr(drawing, "_label", lambda *a, **k: drawn.append(label(*a, **k)) or drawn[-1])
    width, height = 640, 360
    close = [
        FaceResult(identity=i, box=(60 + 70 * i, 120, 64, 64), confidence=1.0, score=s)
        for i, s in enumerate((0.93, 0.12, 0.95))
    ]
    drawing.draw_boxes(np.full((height, width, 3), 60, np.uint8), close, 0.5, small=[(300, 120, 64, 64)])
    assert len(drawn) == 4
    assert not any(drawing._overlaps(a, b) for k, a in enumerate(drawn) for b in drawn[:k])
    # nor a face: moved under its box, not inside it (a browser check: inside, labels covered the faces' eyes)
    inner = [(x + 4, y + 4, x + 60, y + 60) for x, y, _, _ in [f.box for f in close] + [(300, 120, 64, 64)]]
    assert not any(drawing._overlaps(a, b) for a in drawn for b in inner)
    scale, letters, line = drawing.label_style(height, width)
    above = drawing._label_place(
        (height, width), "face 1: 0.12 real", (130 - line // 2, 120 - line // 2), scale, letters, edge=True
    )[0]
    assert drawing._overlaps(drawn[1], above) and not drawing._overlaps(
        drawn[2], above
    )  # face 1 moved off the place above its box, which face 0's label covers
    # two rows, and a face at the top edge (a review: a label "above" its box lay over the face above; one pushed
    # down from the top edge lay on its own face and its neighbour's)
    for rows in (
        [(100, 50, 64, 64), (100, 135, 64, 64)],
        [(100, 2, 64, 64), (180, 2, 64, 64), (260, 2, 64, 64)],
    ):
        drawn.clear()
        faces = [FaceResult(identity=i, box=b, confidence=1.0, score=0.9) for i, b in enumerate(rows)]
        drawing.draw_boxes(np.full((height, width, 3), 60, np.uint8), faces, 0.5)
        insides = [(x + 4, y + 4, x + 60, y + 60) for x, y, _, _ in rows]
        assert not any(drawing._overlaps(a, b) for a in drawn for b in insides), rows
        assert not any(drawing._overlaps(a, b) for k, a in enumerate(drawn) for b in drawn[:k]), rows
    drawn.clear()
    apart = [FaceResult(identity=i, box=(60 + 300 * i, 120, 64, 64), confidence=1.0, score=0.9) for i in range(2)]
    drawing.draw_boxes(np.full((height, width, 3), 60, np.uint8), apart, 0.5)
    assert [b[3] for b in drawn] == [120 - line // 2] * 2  # faces apart: each label above its box, as before


def test_a_long_score_fits_a_narrow_tile():
    # found by review: "0.9078 uncertain" (a score printed to 4 decimals beside its threshold) ran off a 64-px tile
    from webapp.faces import face_tile

    face = FaceResult(identity=0, box=(0, 0, 64, 64), confidence=1.0, score=0.9078)
    face.crop = np.full((64, 64, 3), 128, np.uint8)
    tile = face_tile(face, 0.90793, 64, band=[0.473685, 0.90793], panel=False)
    strip = tile[-12:, :, :]
    amber = tile[2, 2].copy()
    assert (strip[:, -3] == amber).all(), "the last columns of the strip stay the frame's colour: no text there"
    assert (strip != amber).any(), "the score was written"


def test_a_small_photo_is_labelled_at_the_size_it_is_seen_with_a_dark_edge():
    # found by review: on a tiny photo the labels were drawn in its own few pixels and blown up by the viewer into a
    # blur; on a red background a red label and box had no edge
    from webapp.faces import EDGE, MAX_ENLARGE, RED, VIEW, draw_boxes

    red = np.zeros((90, 120, 3), np.uint8)
    red[:] = RED
    face = FaceResult(identity=0, box=(40, 30, 40, 40), confidence=1.0, score=0.93)
    out = draw_boxes(red, [face], 0.5)
    k = min(MAX_ENLARGE, VIEW[0] / 120, VIEW[1] / 90)
    assert out.shape[:2] == (round(90 * k), round(120 * k))
    x, y = round(40 * k), round(30 * k)
    assert (out[y + 20, x - 3 : x + 4] == EDGE).all(axis=1).any(), "the box has a dark edge on the red"
    assert (out > 200).all(axis=2).sum() > 50, "white letters"
    big = np.full((1080, 1920, 3), 60, np.uint8)
    assert draw_boxes(big, [face], 0.5).shape == big.shape  # a frame the viewer shrinks is drawn as it is


def test_the_colour_blind_safe_heat_map_gets_brighter_as_the_map_rises_and_jet_does_not():
    # jet's red peak is darker than its yellow-green shoulder, and with red-green colour blindness the two look alike;
    # inferno's brightness rises with the value, so the most telling spot is the brightest for everyone
    from explain import HEAT_MAPS, overlay
    from webapp.faces import HEAT_MAP_LOOKS, face_tile, gallery_items

    assert set(HEAT_MAP_LOOKS) == set(HEAT_MAPS)
    side = 176
    grey = np.full((side, side, 3), 128, np.uint8)  # a flat crop: the overlay's brightness is the map's
    ramp = np.tile(np.linspace(0, 1, side, dtype=np.float32), (side, 1))

    def brightness(image):  # luma along the ramp, one value per column
        return (image.astype(float) @ [0.299, 0.587, 0.114]).mean(axis=0)

    inferno = brightness(overlay(grey, ramp, colours="inferno"))
    jet = brightness(overlay(grey, ramp, colours="jet"))
    assert np.all(np.diff(inferno[::8]) > 0)  # every step up the map is brighter
    assert jet.argmax() < side - 30 and jet[-1] < jet.max() - 20  # jet's brightest is mid-way, not at the peak
    with pytest.raises(ValueError, match="unknown heat map colours"):
        overlay(grey, ramp, colours="rainbow")

    f = _face(cam=True)
    border = 6
    tiles = {c: face_tile(f, 0.5, side=side, border=border, colours=c) for c in HEAT_MAPS}
    crops = {c: t[border : border + side, border : border + side] for c, t in tiles.items()}
    maps = {c: t[border : border + side, border + side + 4 : border + 2 * side + 4] for c, t in tiles.items()}
    assert np.array_equal(crops["jet"], crops["inferno"]) and not np.array_equal(maps["jet"], maps["inferno"])

    from test_app_units import _report

    report = _report([[(0, 0.9)]])
    report.cam_method = "gradcam"
    report.frames[0].faces[0].cam = f.cam
    (tile, _), *_ = gallery_items(report, colours="inferno")[0]
    face = report.frames[0].faces[0]
    assert np.array_equal(tile, face_tile(face, 0.5, side=176, band=report.uncertain, colours="inferno"))
    assert not np.array_equal(tile, gallery_items(report)[0][0][0])  # jet unless asked


def test_the_words_on_tiles_and_box_labels_contrast_with_their_colour():
    # an accessibility audit: white on the amber strip was 2.8:1 and on the green 3.4:1 (4.5 is the least for
    # small text); the letters are now white or black, whichever contrasts more
    from webapp import faces

    for colour in (faces.RED, faces.AMBER, faces.GREEN, faces.GREY):
        assert faces.contrast(faces.ink(colour), colour) >= 4.5, colour
    assert faces.ink(faces.RED) == (255, 255, 255) and faces.ink(faces.AMBER) == faces.ink(faces.GREEN) == (0, 0, 0)
    assert round(faces.contrast((255, 255, 255), (0, 0, 0)), 1) == 21.0

    side, border = 176, 6
    for score, band, colour in ((0.9, None, faces.RED), (0.45, [0.4, 0.5], faces.AMBER), (0.1, None, faces.GREEN)):
        tile = faces.face_tile(_face(score=score), 0.5, side=side, border=border, band=band)
        strip = tile[border + side + 2 : -2, border:-border]
        letters = ~(strip == colour).all(axis=2)  # what is not the strip's colour is its text (and its smoothing)
        assert letters.any()
        strongest = max(strip[letters], key=lambda px: faces.contrast(px, colour))  # the letters' core
        assert faces.contrast(strongest, colour) >= 4.5


def test_padding_is_hatched_in_grey_over_an_inferno_heat_map():
    # light stripes over the padding read as "hot" on inferno, whose brightest is the most telling spot (a review)
    from explain.faithfulness import padding_mask
    from webapp import faces

    side, border = 176, 6
    f = _face(cam=True)
    f.cam = np.zeros_like(f.cam)
    f.cam[40:56, 40:56] = 1.0  # a hot spot inside the picture; the padding is cold
    f.inside = (0.0, 0.0, 0.75, 1.0)  # the right quarter of the square is beyond the picture's edge
    outside = padding_mask((side, side), f.inside)
    for colours, light in (("jet", True), ("inferno", False)):
        tile = faces.face_tile(f, 0.5, side=side, border=border, colours=colours)
        heat = tile[border : border + side, border + side + 4 : border + 2 * side + 4]
        assert ((heat[outside] > 170).all(axis=1).any()) == light, colours


def test_a_face_too_small_to_judge_is_boxed_grey_and_said_not_no_face():
    from detector.inference.report import FaceResult
    from webapp.faces import UNJUDGED, draw_boxes, faces_text

    frame = np.full((240, 320, 3), 60, np.uint8)
    out = draw_boxes(frame, [], 0.5, small=[(100, 100, 16, 18)])
    k = out.shape[1] / frame.shape[1]  # a small frame is enlarged for the viewer before it is drawn on
    grey = np.all(out == np.array(UNJUDGED, np.uint8), axis=-1)
    assert grey[round(100 * k) : round(118 * k), round(100 * k) : round(116 * k)].any()  # its box
    assert not grey[round(150 * k) :].any()  # and its label above it: nothing elsewhere
    assert not np.any(draw_boxes(frame, [], 0.5) != 60)  # nothing found: nothing drawn (the frame, enlarged)
    assert faces_text([], 0.5) == "no face found"
    assert faces_text([], 0.5, small=[(0, 0, 16, 18)]) == "face too small to judge (18 px)"
    judged = FaceResult(identity=0, box=(0, 0, 80, 80), confidence=0.9, score=0.9)
    said = faces_text([judged], 0.5, small=[(0, 0, 16, 18), (5, 5, 20, 12)])
    assert said.startswith("face 0 0.90 (fake), ") and said.endswith("2 faces too small to judge (the largest 20 px)")


def test_the_html_report_shows_the_frame_of_faces_too_small_to_judge(monkeypatch):
    from test_app_units import _report  # tests/ is on sys.path under pytest

    from detector.inference.report import TOO_SMALL
    from webapp.html_report import report_html

    r = _report([[], [], []])
    r.frames[1].too_small = [(100, 100, 12, 14)]  # found there, under SMALLEST_FACE_PX: not judged
    r.warnings = [f"{TOO_SMALL}: 1 face found over the sampled frames, ..."]  # as pipeline.analyze words it
    page = report_html(r, None)
    assert 'alt="frame 10, a box around each face: face too small to judge (14 px)"' in page
    assert "grey = too small to judge (no score)" in page
    assert "grey = too small" not in report_html(_report([[], [], []]), None)  # only where there are such faces
    # a browser check: the report's faces section said "No face was found" and its table "none" on every row
    assert "The faces found were all too small to judge (under 24 px across)" in page
    assert "No face was found" not in page
    assert "<td>too small</td>" in page and page.count("<td>none</td>") == 2  # the other two frames found none
    assert "A frame with faces too small to judge (t = 0.40 s)" in page and "highest-scoring face" not in page
    from webapp.faces import verdict_strip
    from webapp.verdict import verdict_html

    card = verdict_html(r)
    assert "faces judged in 0 of 3 sampled frames" in card and "1 face too small to judge" in card
    assert "faces in 0 of 3 sampled frames" in verdict_html(_report([[], [], []]))  # none found: as before
    # the strip under the frame: what the grey box is, not "each box: that face's own score"
    import cv2

    drawn = []
    real_put = cv2.putText
    monkeypatch.setattr(cv2, "putText", lambda img, text, *a, **k: drawn.append(text) or real_put(img, text, *a, **k))
    verdict_strip(r, 640)
    assert drawn[-1] == "Grey box: a face too small to judge, not scored"
    drawn.clear()
    verdict_strip(_report([[], [], []]), 640)  # no face at all: no line about boxes
    assert len(drawn) == 1 and drawn[0].startswith("Whole clip")


def test_the_verdict_strip_breaks_its_lines_on_a_narrow_frame_and_stays_low_under_a_panorama():
    # a review: under a 240 px frame the verdict's figures were cut off; under a 3000 x 500 one the strip was tall
    from test_app_units import _report  # tests/ is on sys.path under pytest

    from webapp.faces import verdict_strip

    r = _report([[(0, 0.9)], [(0, 0.6)]], threshold=0.9079)
    for width in (169, 240, 320, 640):  # (a frame narrower than the viewer is drawn enlarged: 169 px is a phone's)
        strip = verdict_strip(r, width, round(width * 0.75))
        assert (strip[:, -6:] == 255).all(), width  # no text runs into the right edge: every line fits
        assert (strip[:, :-6] < 200).any(), width
    narrow, wide = verdict_strip(r, 240, 180), verdict_strip(r, 640, 480)
    assert narrow.shape[0] > wide.shape[0]  # more lines, not letters too small to read
    assert verdict_strip(r, 3000, 500).shape[0] < 500 / 4  # as under a 16:9 frame of its height, not its width
    assert verdict_strip(r, 3000, 500).shape[0] < verdict_strip(r, 3000).shape[0]
    # an upright or square frame is shown by its height (360 px on the page): its strip's letters scale with that
    # (a journalist's audit: under a 576 x 768 clip they were about 6 px high on screen)
    for w, h in ((576, 768), (512, 512), (720, 1280)):
        strip = verdict_strip(r, w, h)
        assert strip.shape[0] * 360 / (h + strip.shape[0]) >= 40, (w, h)  # three lines or more of 10+ px, as shown
        assert (strip[:, -6:] == 255).all(), (w, h)
