"""The failure lab: its gradio-free parts (webapp/lab.py) and its events run through gradio in process.

Hand-made reports and the UNTRAINED test model: plumbing and presentation only.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradio_events import (
    app_demo,
    by_elem,
    cancels_on,
    events,
    file_data,
    run_event,
)  # tests/ is on sys.path under pytest
from test_app_units import _report  # tests/ is on sys.path under pytest


def _levels():
    clean = _report([[(0, 0.9)], [(0, 0.8)], [(0, 0.7)], [(0, 0.9)]])
    flipped = _report([[(0, 0.6)], [(0, 0.5)], [(0, 0.4)], [(0, 0.6)]])
    heavy = _report([[(0, 0.3)], [], [], [(0, 0.2)]])
    blank = _report([[], [], [], []])
    return {"none": clean, "fliprot": flipped, "heavy": heavy, "blank": blank}


def test_levels_table_warns_where_faces_were_lost():
    from webapp import lab

    table = lab.levels_table(_levels())
    rows = table.splitlines()
    assert rows[0].startswith("| level |") and "face coverage" in rows[0] and len(rows) == 6
    assert "| **none** |" in rows[2] and "4 of 4" in rows[2] and "clean run" in rows[2] and "⚠" not in rows[2]
    assert "as the clean run" in rows[3] and "⚠" not in rows[3]
    assert "2 of 4" in rows[4] and "⚠ faces in only 2 of 4 frames, 2 fewer than the clean run" in rows[4]
    assert "no face" in rows[5] and "⚠ no face found in any of 4 frames (clean run: 4)" in rows[5]
    assert lab.levels_table({}) == ""
    assert "changes" in lab.levels_summary(_levels()) and "heavy real" in lab.levels_summary(_levels())
    same = {k: v for k, v in _levels().items() if k in ("none", "fliprot")}
    assert "holds at every level" in lab.levels_summary(same)
    # a level that lost the face has no verdict: not a change of verdict (a browser check)
    lost = {**same, "heavy": _levels()["blank"]}
    text = lab.levels_summary(lost)
    assert "changes" not in text and "holds at every level where a face was found (none, fliprot)" in text
    assert "At heavy, no face was found" in text
    assert "no verdict to compare" in lab.levels_summary({"heavy": _levels()["blank"]})


def test_compare_summary_says_the_change_and_the_lost_faces():
    from webapp import lab

    levels = _levels()
    text = lab.compare_summary(levels["none"], levels["heavy"])
    assert "**Score change:**" in text and "**flipped** (fake → real)" in text
    assert "⚠ **Face coverage:** perturbed, faces in only 2 of 4 frames" in text
    assert "Face coverage" not in lab.compare_summary(levels["none"], levels["fliprot"])
    assert "fake → no verdict (no face found)" in lab.compare_summary(levels["none"], levels["blank"])
    # each score to the digits its verdict card prints (a browser check: "0.942 → 0.689" beside an "uncertain" card
    # that read "0.9416 < threshold 0.9421")
    near = _report([[(0, 0.9416)]] * 4, threshold=0.942062)
    near.uncertain = [0.418374, 0.942062]
    assert "**Score change:** 0.9416 → 0.689 (-0.253)" in lab.compare_summary(near, _report([[(0, 0.689)]] * 4))
    # a teacher's audit: blur "flipped" a verdict on 3 frames of 16, the other "faces" not faces at all; the headline
    # taught "blur fools the classifier" where the change had defeated the face finder
    few = _report([[(0, 0.3)], [], [], []])
    text = lab.compare_summary(levels["none"], few)
    assert "changed (fake → real), but **not a fair comparison**: the perturbed run judged the original's face in " \
        "only 1 of its 4 frames" in text  # fmt: skip
    assert "flipped" not in text
    # lost in some frames and another "face" scored in others: each under half, together most (a review)
    mixed = _report([[(0, 0.3)], [], [(3, 0.2)], [(0, 0.3)], [], [(3, 0.1)]])
    clean6 = _report([[(0, 0.9)]] * 6)
    assert "only 2 of its 6 frames" in lab.compare_summary(clean6, mixed)
    # a flip by a hair says the score was near the line already
    near = _report([[(0, 0.5)], [(0, 0.5)], [(0, 0.5)], [(0, 0.5)]])
    nearer = _report([[(0, 0.49)], [(0, 0.49)], [(0, 0.49)], [(0, 0.49)]])
    assert "by a small change: the score was already near" in lab.compare_summary(near, nearer)
    # ...but not when the colour second opinion changed the label while the score stayed on the same side (a review)
    tinted = _report([[(0, 0.905)]] * 4)
    tinted.label = "uncertain"
    text = lab.compare_summary(_report([[(0, 0.9)]] * 4), tinted)
    assert "by the colour second opinion" in text and "near the line" not in text and "flipped" not in text
    # a photo says so in a photo's words (a review: "in 1 of 1 frames")
    photo, lost = _report([[(0, 0.9)]]), _report([[(3, 0.1)]])
    photo.video = lost.video = "portrait.jpg"
    text = lab.compare_summary(photo, lost)
    assert "the perturbed photo's run lost the face or scored something else" in text and "of 1 frames" not in text


def _swapped(fates: dict) -> tuple[int, int]:
    """(frames where the perturbed run found another face than the original's, frames with the original's face)."""
    return fates["swapped"], fates["n"]


def test_the_same_face_is_paired_and_a_background_face_is_not():
    # a review: heavy blur lost the face and found a "face" in the background; the lab paired the two (the largest
    # face of each run) and said nothing while that other face's score flipped the verdict
    from webapp import lab

    clean = _report([[(0, 0.9)], [(0, 0.8)], [(0, 0.9)], [(0, 0.9)]])
    blurred = _report([[(0, 0.85)], [(3, 0.2)], [(3, 0.1)], []])  # identity 3: a box far to the right
    captions = [c for _, c in lab.crop_pairs(clean, blurred, max_pairs=4, side=64)]
    assert captions[0].endswith("score 0.90 → 0.85")
    clean.frames[0].faces[0].straightened = 31.4  # a tilted face: the pair is shown upright, and its caption says so
    assert lab.crop_pairs(clean, blurred, max_pairs=4, side=64)[0][1].endswith("score 0.90 → 0.85 · turned 31° upright")
    assert captions[1].endswith("→ face lost (other faces found)") and captions[3].endswith("→ no face found")
    assert _swapped(lab.face_fates(clean, blurred)) == (2, 4)
    assert "⚠ **Other faces:** in 2 of 4 frames" in lab.compare_summary(clean, blurred)
    # mirrored: the face is where its mirror image was (the frames are 320 px wide here)
    mover = lab.face_mover("hflip", 1.0, 320, 240)
    assert lab.face_mover("blur", 1.0, 320, 240) is None and lab.face_mover("hflip", 0.0, 320, 240) is None
    mirrored = _report([[(2, 0.7)], [(2, 0.6)], [(0, 0.6), (2, 0.5)], [(2, 0.6)]])
    assert _swapped(lab.face_fates(clean, mirrored, mover)) == (0, 4)  # face 2's box (240..320) mirrors 0's (0..80)
    assert _swapped(lab.face_fates(clean, mirrored)) == (3, 4)  # unmoved, a face elsewhere is another face
    assert "Other faces" not in lab.compare_summary(clean, mirrored, mover)


def test_a_turn_moves_each_face_where_the_frame_turns_it():
    # a review: every face's mirror image was tried for a turn too, so in a two-shot a turned face was paired with
    # the other person, and at 30 degrees nothing overlapped ("face lost" though nothing was)
    import cv2

    from webapp import lab

    move = lab.face_mover("rotate", 0.5, 1280, 720)  # 15 degrees
    m = cv2.getRotationMatrix2D((640, 360), 15.0, 1.0)
    x, y, w, h = move((200, 300, 100, 100))
    assert np.allclose((x + 50, y + 50), m @ np.array([250.0, 350.0, 1.0]), atol=1e-6) and (w, h) == (100, 100)
    both = lab.face_mover("fliprot", 0.0, 1280, 720)  # a level: mirrored, then 10 degrees
    m10 = cv2.getRotationMatrix2D((640, 360), 10.0, 1.0)
    bx, by, _, _ = both((200, 300, 100, 100))
    assert np.allclose((bx + 50, by + 50), m10 @ np.array([1280 - 250.0, 350.0, 1.0]), atol=1e-6)
    for angle, strength in ((15, 0.5), (21, 0.7), (30, 1.0)):
        clean = _report([[(0, 0.2), (1, 0.6)]] * 2)
        turned = _report([[(0, 0.55), (1, 0.25)]] * 2)  # numbered anew; the first is face 1, turned
        for r in (clean, turned):
            r.video_info.update(width=1280, height=720)
        m = cv2.getRotationMatrix2D((640, 360), float(angle), 1.0)
        for fc, ft in zip(clean.frames, turned.frames):
            fc.faces[0].box, fc.faces[1].box = (200, 300, 100, 100), (900, 300, 100, 100)
            for f, (cx, cy) in zip(ft.faces, ((950, 350), (250, 350))):  # face 1's centre first, 3 px off
                tx, ty = m @ np.array([cx, cy, 1.0])
                f.box = (int(tx - 50) + 3, int(ty - 50) - 3, 100, 100)
        mover = lab.face_mover("rotate", strength, 1280, 720)
        assert _swapped(lab.face_fates(clean, turned, mover)) == (0, 2)
        lab.align_numbers(clean, turned, mover)
        assert [(f.identity, f.score) for f in turned.frames[0].faces] == [(0, 0.25), (1, 0.55)], angle


def test_crop_pairs_put_before_beside_after():
    from webapp import lab

    levels = _levels()
    items = lab.crop_pairs(levels["none"], levels["heavy"], max_pairs=4, side=64)
    assert [c for _, c in items] == [
        "t = 0.00 s · score 0.90 → 0.30",
        "t = 0.40 s · score 0.80 → no face found",
        "t = 0.80 s · score 0.70 → no face found",
        "t = 1.20 s · score 0.90 → 0.20",
    ]
    image = items[0][0]
    assert image.dtype == np.uint8 and image.shape[1] == 2 * (64 + 10) + 8  # two framed 64-px crops, a gap
    assert image.shape[0] > 64 + 10  # and the score strip under them
    assert tuple(image[2, 2]) == (214, 39, 40) and tuple(image[2, -3]) == (44, 160, 44)  # each in its colour
    assert len(lab.crop_pairs(levels["none"], levels["heavy"], max_pairs=2)) == 2  # spread: first and last
    assert lab.crop_pairs(levels["blank"], levels["none"]) == []  # no face before: nothing to pair
    photo = _report([[(0, 0.7)]])
    photo.video = "portrait.jpg"
    assert lab.crop_pairs(photo, photo)[0][1] == "score 0.70 → 0.70"  # a photo has no time
    # an RGB + depth model's faces: the pairs stay crop | crop, no depth panels
    for r in (levels["none"], levels["heavy"]):
        for f in r.faces:
            f.depth = np.full((16, 16), 0.5, np.float32)
    assert lab.crop_pairs(levels["none"], levels["heavy"], max_pairs=4, side=64)[0][0].shape == image.shape


def test_the_lab_and_compare_tabs_take_the_first_tabs_video_or_photo():
    from webapp import lab

    take = lab.clip_from_first_tab
    # opening the tab: an empty tab takes the first tab's video or photo, a file already there stays
    assert take(None, "/c/a.mp4") == ("/c/a.mp4", "")
    assert take("/c/mine.mp4", "/c/a.mp4") == (None, "")
    # a photo in the first tab was a dead end ("the lab works on videos"): it is taken as a video is
    assert take(None, None, "/c/p.jpg") == ("/c/p.jpg", "")
    assert take("/c/mine.mp4", None, "/c/p.jpg") == (None, "")  # the tab's own file stays: nothing to say
    # the button: the first tab's file replaces the tab's; nothing there is said so
    assert take("/c/mine.mp4", "/c/a.mp4", asked=True) == ("/c/a.mp4", "")
    assert take("/c/mine.mp4", None, "/c/p.jpg", asked=True) == ("/c/p.jpg", "")
    clip, note = take(None, None, None, asked=True)
    assert clip is None and "no video or photo yet" in note
    assert lab.clip_note("/tmp/gradio/x1/face.mp4") == "Clip: **face.mp4**" and lab.clip_note(None) == ""
    assert lab.clip_note("/tmp/gradio/x1/p.jpg") == "Photo: **p.jpg**"
    # found by a browser check: an MPEG-4 Part 2 clip left the player blank with no word, the analysis unaffected
    assert "may not play this clip (mpeg4 video)" in lab.playable_note("mpeg4") and lab.playable_note("h264") == ""
    # a review: H.264 in 4:4:4 or 10-bit pixels, and AVI files, also play blank; their note said nothing
    assert "(h264 video in yuv444p pixels)" in lab.playable_note("h264", "yuv444p")
    assert lab.playable_note("h264", "yuv420p", "/c/clip.mp4") == "" and lab.playable_note("vp9", "yuv420p") == ""
    assert "(an AVI file)" in lab.playable_note("h264", "yuv420p", "/c/clip.AVI")
    assert lab.playable_note("vp9", "yuv420p10le") == lab.playable_note("av1", "yuv420p10le") == ""  # these play
    assert "(mpeg4 video)" in lab.playable_note("mpeg4", "yuv420p", "/c/clip.avi")  # the codec says the most


def _encoded(path, codec: str, pix_fmt: str = "yuv420p"):
    """A 64x64, five-frame clip at ``path`` in ``codec`` and ``pix_fmt`` (PyAV)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, pix_fmt
        for i in range(5):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), 40 * i, np.uint8), format="rgb24")))
        out.mux(stream.encode())
    return path


def test_an_h264_clip_in_4_4_4_pixels_is_said_to_play_blank(tmp_path):
    from webapp import analyse_tab, lab

    clip = _encoded(tmp_path / "screen.mp4", "libx264", "yuv444p")
    info = lab.clip_info(str(clip))
    assert info.codec == "h264" and info.pixel_format == "yuv444p" and "pixel_format" not in info.to_dict()
    assert "(h264 video in yuv444p pixels)" in analyse_tab.limits_line(str(clip))
    assert "(h264 video in yuv444p pixels)" in lab.clip_note(str(clip))


def test_the_tabs_read_an_uploads_header_once(tmp_path, monkeypatch):
    # the last note: the lab's clip notes probed under the CLI's limits, the Analyse tab under the app's (two reads)
    from detector.inference import video
    from webapp import analyse_tab, lab

    clip = str(_encoded(tmp_path / "once.mp4", "libx264"))
    reads = []
    real = video.probe
    monkeypatch.setattr(video, "probe", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    analyse_tab.limits_line(clip), lab.clip_note(clip), lab.clip_codec(clip)
    assert reads == [clip]


def test_a_clip_the_browser_cannot_play_is_said_under_the_player(tmp_path):
    from webapp import analyse_tab, lab

    clip = _encoded(tmp_path / "part2.mp4", "mpeg4")
    assert lab.clip_codec(str(clip)) == "mpeg4"
    assert "may not play this clip" in lab.clip_note(str(clip)) and "may not play" in analyse_tab.limits_line(str(clip))
    assert analyse_tab.limits_line(None) == analyse_tab.VIDEO_LIMITS
    # a file that cannot be analysed: why, under the player (gradio's "Video not playable" pop-up was all a phone
    # showed of it: a browser check), in plain words for FFmpeg's "Invalid data found when processing input"
    broken = tmp_path / "cut.mp4"
    broken.write_bytes(clip.read_bytes()[:300] if clip.stat().st_size > 300 else b"not a video at all")
    line = analyse_tab.limits_line(str(broken))
    assert line.startswith(analyse_tab.VIDEO_LIMITS) and "**This file cannot be analysed: " in line
    text = tmp_path / "notes.mp4"
    text.write_text("hello " * 50)
    assert "the file is damaged, cut off, or not a video at all" in analyse_tab.limits_line(str(text))


def test_on_compare_shows_crops_and_coverage(clips, tiny_model_dir, monkeypatch):
    import cv2

    from webapp import faces, lab_tab

    card = str(tiny_model_dir / "untrained_resnet18.json")
    views, draw = [], faces.draw_boxes  # the box labels are drawn for where the lab shows each frame
    monkeypatch.setattr(faces, "draw_boxes", lambda *a, **k: views.append(k.get("view")) or draw(*a, **k))
    out = lab_tab.on_compare(clips["face"], None, "hflip", 1.0, 4, 0, card, 0.5, progress=lambda *a, **k: None)
    verdict_a, verdict_b, plot_a, plot_b, preview, crops, delta = out
    assert "original" in verdict_a and "hflip" in verdict_b
    assert plot_a.visible and plot_a.value is not None and plot_b.visible
    # two pictures (one picture of both had 5 px labels on a phone), each captioned with its title and faces in words
    # (a gallery's caption is its picture's alt text, for a screen reader)
    assert len(preview) == 2 and all(img.ndim == 3 for img, _ in preview)
    assert preview[0][1].startswith("original, t = ") and preview[1][1].startswith("hflip at strength 1.00: ")
    assert all("face 0 " in caption for _, caption in preview)
    from webapp import lab

    first, second = lab.preview_titles(
        out_report := lab.run(clips["face"], None, frames=4, model=card), 1, "hflip", 1.0
    )
    assert first == f"original, t = {out_report.frames[1].time:.2f} s (frame {out_report.frames[1].index})"
    assert second == "hflip at strength 1.00"
    assert 1 <= len(crops) <= 4 and all(c.startswith("t = ") and "→" in c for _, c in crops)
    assert "Score change" in delta
    out = lab_tab.on_levels(clips["face"], None, 4, 0, card, 0.5, progress=lambda *a, **k: None)
    figure, tiles, table, summary = out
    assert len(tiles) == 3 and "face coverage" in table and "**none**" in table and "Three levels" in summary
    assert [c.split(" ")[:2] for _, c in tiles] == [["none:", "clip"], ["fliprot:", "clip"], ["heavy:", "clip"]]
    assert views == [lab_tab.PREVIEW_VIEW] * 2 + [lab_tab.LEVELS_VIEW] * 3
    # a teacher's audit: drawn for the Analyse tab's view, the levels' labels were 7 px high in their 242 px tiles
    scale, _, _ = faces.label_style(480, 640, view=lab_tab.LEVELS_VIEW)
    letters = cv2.getTextSize("0", faces.FONT, scale, 1)[0][1] * 242 / 640  # on screen: 640 px shown in 242
    assert letters >= 12


def test_the_lab_runs_on_a_photo(tmp_path, tiny_model_dir):
    # a teacher showing what a sepia filter does to a real photo's verdict: the lab took videos only
    import cv2

    from detector.data.synthetic import astronaut
    from webapp import lab_tab

    photo = tmp_path / "portrait.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    card = str(tiny_model_dir / "untrained_resnet18.json")
    quiet = dict(progress=lambda *a, **k: None)
    out = lab_tab.on_compare("/gone/old.mp4", str(photo), "sepia", 1.0, 4, 0, card, 0.5, **quiet)  # the photo is used
    verdict_a, verdict_b, plot_a, plot_b, preview, crops, delta = out
    assert "original" in verdict_a and "sepia" in verdict_b and "Score change" in delta
    assert not plot_a.visible and not plot_b.visible and plot_a.value is None  # one frame: no timelines
    assert [caption.split(":")[0] for _, caption in preview] == ["original", "sepia at strength 1.00"]
    from webapp import lab

    photo_report = lab.run(str(photo), None, frames=4, model=card)
    assert lab.preview_titles(photo_report, 0, "sepia", 1.0) == ("original", "sepia at strength 1.00")  # no time
    assert len(crops) == 1 and "t = " not in crops[0][1] and "→" in crops[0][1]
    figure, tiles, table, summary = lab_tab.on_levels(None, str(photo), 4, 0, card, 0.5, **quiet)
    assert len(tiles) == 3 and "**heavy**" in table and "Three levels" in summary
    assert all(c.split(" ")[1] in ("photo", "no") for _, c in tiles)  # the photo's score, or "no face"
    # one frame: a score and whether the face was found, not "video score" and "frames with a face: 1 of 1"
    assert table.startswith("| level | score | verdict | face found |") and "video" not in table
    assert figure.layout.title.text.startswith("Score at each") and "video" not in figure.layout.yaxis.title.text


def test_a_photo_lying_on_its_side_and_its_changed_copy_are_turned_alike(tmp_path, tiny_model_dir):
    # a review: the turn was decided after the lab's change, so a flip and a 10 degree turn left the copy sideways
    # while the original was turned upright, and the same face read as lost
    import cv2

    from detector.data.synthetic import astronaut
    from webapp import lab

    photo = tmp_path / "sideways.png"
    cv2.imwrite(str(photo), cv2.cvtColor(np.ascontiguousarray(np.rot90(astronaut()[:, 60:460])), cv2.COLOR_RGB2BGR))
    card = str(tiny_model_dir / "untrained_resnet18.json")
    reports = lab.levels(str(photo), frames=4, model=card)
    assert {r.video_info.get("turned_upright") for r in reports.values()} == {270}  # every level turned alike
    assert {(r.video_info["width"], r.video_info["height"]) for r in reports.values()} == {(400, 512)}
    fates = lab.face_fates(reports["none"], reports["fliprot"], lab.mover_of(reports["none"], "fliprot", 0.0))
    assert fates == {"kept": 1, "swapped": 0, "lost": 0, "n": 1}  # the same face, found where the change put it
    original, rotated = lab.compare(str(photo), "rotate", 1.0, frames=4, model=card)
    assert original.video_info["turned_upright"] == rotated.video_info["turned_upright"] == 270


# ---------------------------------------------------------------- the lab's events through gradio


@pytest.fixture(scope="module")
def demo(tiny_model_dir):
    with app_demo(tiny_model_dir) as built:
        yield built


def test_lab_events_prefill_and_clear(demo, clips, tmp_path):
    from gradio.state_holder import SessionState

    state = SessionState(demo)
    prefill = [fn for fn in events(demo, "on_clip_from_first_tab") if fn.fn.args == ("lab",)]
    opened = next(fn for fn in prefill if not fn.fn.keywords)  # the lab tab is opened
    button = next(fn for fn in prefill if fn.fn.keywords)  # "Use the video or photo from the first tab"
    assert button.fn.keywords == {"asked": True}
    assert [getattr(c, "elem_id", None) for c in opened.inputs] == ["lab-video", "lab-photo", "video-in", "photo-in"]
    assert [getattr(c, "elem_id", None) for c in opened.outputs] == ["lab-video", "lab-photo", "lab-media", "lab-note"]

    # an empty lab takes the first tab's video when the tab is opened, and shows its Video slot
    data = run_event(demo, opened, [None, None, file_data(clips["face"]), None], state)
    assert data[0]["orig_name"] == "face.mp4" and data[1] is None  # the Photo slot emptied at once
    assert data[2]["selected"] == "lab-video-tab" and data[3] == {"__type__": "update"}  # no note to show
    # a lab with its own clip keeps it
    data = run_event(demo, opened, [file_data(clips["plain"]), None, file_data(clips["face"]), None], state)
    assert all(d.get("__type__") == "update" and len(d) == 1 for d in data)  # skipped: nothing changes
    # the button with a photo in the first tab: the photo goes in the lab's Photo slot, shown
    photo = tmp_path / "p.jpg"
    from PIL import Image

    Image.new("RGB", (64, 64)).save(photo)
    data = run_event(demo, button, [file_data(clips["plain"]), None, None, file_data(str(photo))], state)
    assert data[0] is None and data[1]["path"].endswith("p.jpg")
    assert data[2]["selected"] == "lab-photo-tab"
    # nothing in the first tab: the lab is left alone, and says why
    data = run_event(demo, button, [file_data(clips["plain"]), None, None, None], state)
    assert data[0] == {"__type__": "update"} and "no video or photo yet" in data[3]
    # a text file named .jpg in the Photo slot after those updates (gradio rebuilt the slot for the session): the
    # app's one-line check speaks, not gradio's tracebacks with the server's path (a browser check)
    import gradio as gr

    from webapp import clip_input, common

    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    checks = [fn for fn in events(demo, "check_and_remember") if [c.elem_id for c in fn.inputs][0] == "lab-video"]
    with pytest.raises(gr.Error) as err:
        run_event(demo, checks[0], [None, None, file_data(str(notes))], state)
    assert err.value.message.startswith("notes.jpg: not a picture") and str(tmp_path) not in err.value.message
    # no message box: the panel under the buttons says it, and a box lay over the next run's verdict (a browser check)
    assert err.value.visible is False
    with pytest.raises(gr.Error) as err:  # nor in the first tab: its verdict panel says it (two boxes came up there)
        common.check_and_remember(None, None, str(notes))
    assert err.value.visible is False
    # and said under the slot as soon as it is put there, as the first tab does (a browser check)
    note = clip_input.media_note(None, str(notes), "photo")
    assert note.startswith("⚠ Cannot be analysed: notes.jpg: not a picture") and str(tmp_path) not in note
    assert clip_input.media_note(clips["face"], None, "video") == "Clip: **face.mp4**"
    # one file at a time: a photo put in empties the video slot, and the other way round
    keep = [fn for fn in events(demo, "_keep_one") if fn.inputs[0].elem_id in ("lab-video", "lab-photo")]
    assert sorted((fn.inputs[0].elem_id, fn.outputs[0].elem_id) for fn in keep) == [
        ("lab-photo", "lab-video"),
        ("lab-video", "lab-photo"),
    ]
    # told what the other slot holds, so that an empty one is not emptied again: its change event cancels the runs
    assert all([c.elem_id for c in fn.inputs] == [fn.inputs[0].elem_id, fn.outputs[0].elem_id] for fn in keep)

    # a new clip clears what was shown for the old one and names the new one
    new_clips = events(demo, "on_lab_new_clip")  # a new video, or a new photo
    assert [[c.elem_id for c in fn.inputs] for fn in new_clips] == [["lab-video", "lab-photo"]] * 2
    assert [fn.fn.keywords["slot"] for fn in new_clips] == ["video", "photo"]
    new_clip = new_clips[1]  # the photo slot's
    # a review: a video put in beside an old photo was named as the old photo until _keep_one emptied its slot
    video_clip = new_clips[0]
    out = by_elem(
        video_clip.outputs, run_event(demo, video_clip, [file_data(clips["face"]), file_data(str(photo))], state)
    )
    assert out["lab-note"] == "Clip: **face.mp4**"
    ids = [getattr(c, "elem_id", None) for c in new_clip.outputs]
    for elem in ("lab-note", "verdict-original", "verdict-perturbed", "timeline-original", "timeline-perturbed"):
        assert elem in ids
    for elem in ("lab-preview", "lab-crops", "lab-delta", "levels-plot", "levels-table", "levels-gallery"):
        assert elem in ids
    assert len(ids) == len(set(ids))
    # a run still going for the old clip is cancelled by the user's own change of file, not by the slots' change
    # events: a handler's emptying of a slot fired one after Compare was pressed, and it cancelled the run
    cancels = {k: v for k, v in cancels_on(demo).items() if k[0].startswith("lab-")}
    runs = {"on_compare", "on_levels"}
    assert cancels == {("lab-video", "input"): runs, ("lab-photo", "input"): runs, ("lab-stop", "click"): runs}
    # the first tab's file taken: the run stops only where it is another file (a browser audit: the same file there,
    # and the run stopped with "Not run"); the check's success clicks the off-screen stop button
    for tab in ("lab", "compare"):  # the stop is clicked only after the check passed (.then would click it always)
        (guard,) = [fn for fn in events(demo, "takes_another_file") if fn.inputs[0].elem_id == f"{tab}-video"]
        assert guard.preprocess is False
        assert [(demo.blocks[b].elem_id, e) for b, e in guard.targets] == [(f"{tab}-use-first", "click")]
        (stop,) = [f for f in demo.fns.values() if f.js and f"getElementById('{tab}-stop')?.click()" in f.js]
        assert (stop.trigger_after, stop.trigger_only_on_success) == (guard._id, True)
    same, other = {"path": clips["face"]}, {"path": clips["plain"]}
    clip_input.takes_another_file(same, None, other, None)  # another file: passes
    clip_input.takes_another_file(clips["face"], None, None, str(photo))  # a video here, the first tab's photo
    converted = {"path": "/tmp/gradio/abc/face.mp4"}  # gradio's playable copy of a face.avi: the same file
    for own, first in ((same, same), (same, None), (None, None), (converted, {"path": "/tmp/gradio/xyz/face.avi"})):
        with pytest.raises(gr.Error) as err:
            clip_input.takes_another_file(own, None, first, None)
        assert err.value.visible is False
    # and the result boxes go on the same triggers (a late change event hid the box of a run just started)
    hidden = [fn for fn in events(demo, "lab_shown") if fn.fn.args == (None,)]
    shown_on = {(getattr(demo.blocks.get(b), "elem_id", None), e) for fn in hidden for b, e in fn.targets}
    assert shown_on - {(None, "failure")} == set(cancels)
    with gr.Blocks() as shown:  # and by picking an example, where the tab has examples
        with_examples = clip_input.clip_input("ex", {"real": clips["face"]})
        run = gr.Button().click(lambda: None)
        with_examples.on_new_file(lambda v, p, slot: "", [], cancels=[run])
    picked = {(type(shown.blocks[t[0]]).__name__, t[1]) for f in shown.fns.values() if f.cancels for t in f.targets}
    assert picked == {("Video", "input"), ("Image", "input"), ("Button", "click"), ("Dataset", "click")}  # the stop
    out = by_elem(new_clip.outputs, run_event(demo, new_clip, [None, file_data(str(photo))], state))
    assert out["lab-note"] == "Photo: **p.jpg**"
    data = run_event(demo, new_clip, [file_data(clips["face"]), None], state)
    out = by_elem(new_clip.outputs, data)
    assert out["lab-note"] == "Clip: **face.mp4**"
    assert all(not v for k, v in out.items() if k != "lab-note"), out


def test_each_lab_run_clears_the_others_results(demo):
    # found by a browser check: after "Run the three levels" the comparison's cards stayed under the new headline
    cleared = events(demo, "lab_cleared")
    ids = {tuple(getattr(c, "elem_id", None) for c in fn.outputs) for fn in cleared}
    assert ids == {
        ("levels-plot", "levels-gallery", "levels-table"),
        ("verdict-original", "verdict-perturbed", "timeline-original", "timeline-perturbed")
        + ("lab-preview", "lab-crops"),
    }
    for fn in cleared:
        assert all(v is None for v in fn.fn())


def test_lab_progress_names_each_part_once_and_one_result_box_shows(clips):
    # found by a browser check: "jpeg 0.70: jpeg: decoding, finding faces"; and the comparison's empty boxes stood
    # above the levels' results
    from webapp import lab, lab_tab

    said = []
    lab.compare(clips["face"], "jpeg", 0.7, frames=4, progress=lambda f, d: said.append(d))
    assert said and all(d.count(":") == 1 for d in said), said
    assert {d.split(":")[0] for d in said} == {"original", "jpeg 0.70"}
    shown, hidden = lab_tab.lab_shown(False)
    assert (shown.visible, hidden.visible) == (False, True)
    # a run that failed: neither box, not empty plot and gallery frames under "Not run" (a browser check)
    assert [box.visible for box in lab_tab.lab_shown(None)] == [False, False]


def test_the_strength_slider_says_what_the_perturbation_does(demo):
    # a review: a flip ignored the strength without a word, and no strength said what it did in figures
    from gradio.state_holder import SessionState

    from webapp.lab import strength_info

    assert strength_info("jpeg", 0.7) == "at 0.70: JPEG re-compression at quality 32"
    assert strength_info("blur", 0.0) == "at 0.00: unchanged"
    assert strength_info("hflip", 0.3).startswith("a flip has no degree")
    changed = events(demo, "on_strength")
    assert len(changed) == 2  # the perturbation's change and the strength's
    assert all([c.elem_id for c in fn.outputs] == ["lab-strength"] for fn in changed)
    data = run_event(demo, changed[0], ["noise", 0.5], SessionState(demo))
    assert data[0]["info"] == "at 0.50: Gaussian noise, std 25 grey levels"


def test_a_flip_keeps_each_persons_number():
    # a review: a flipped frame numbered its faces left to right anew, so the perturbed timeline's "face 0" was the
    # other person, read as one face's score jumping from 0.2 to 0.45
    from webapp import lab

    clean = _report([[(0, 0.2), (1, 0.45)], [(0, 0.2), (1, 0.45)], [(0, 0.25)]])  # boxes x 40 and 140, 80 wide
    flipped = _report([[(0, 0.4), (1, 0.3)], [(0, 0.4), (1, 0.3)], [(1, 0.3)]])  # numbered anew, left to right
    for fr in flipped.frames:  # the detector's boxes move a little between runs
        for f in fr.faces:
            f.box = (f.box[0] + 3, f.box[1] - 2, f.box[2], f.box[3])
    # 260 px wide: face 0's box (40..120) mirrors onto face 1's (140..220)
    lab.align_numbers(clean, flipped, lab.face_mover("hflip", 1.0, 260, 200))
    assert [[(f.identity, f.score) for f in fr.faces] for fr in flipped.frames] == [
        [(0, 0.3), (1, 0.4)],
        [(0, 0.3), (1, 0.4)],
        [(0, 0.3)],
    ]
    assert [i.identity for i in flipped.identities] == [0, 1]
    stranger = _report([[(3, 0.9)]])  # a face paired with none gets a number of its own
    lab.align_numbers(_report([[(0, 0.2)]]), stranger)
    assert stranger.frames[0].faces[0].identity == 1 and stranger.identities[0].identity == 1


def test_the_pairs_follow_the_face_that_sets_the_score():
    # a review: a clip was "uncertain" because of its second face, while every pair showed the other one
    from webapp import lab

    clean = _report([[(0, 0.1), (1, 0.8)], [(0, 0.1), (1, 0.7)]])
    blurred = _report([[(0, 0.1), (1, 0.3)], [(0, 0.2), (1, 0.2)]])
    assert lab.key_identity(clean) == 1 and lab.key_identity(_report([[], []])) is None
    captions = [c for _, c in lab.crop_pairs(clean, blurred, max_pairs=2, side=64)]
    assert captions == ["t = 0.00 s · face 1 · score 0.80 → 0.30", "t = 0.40 s · face 1 · score 0.70 → 0.20"]


def test_a_photo_that_loses_its_face_and_a_narrow_preview_are_said_in_full(tmp_path):
    # a review: "no face found in any of 1 frames (clean run: 1)" for a photo; and an upright phone clip's frame,
    # 169 px wide, cut "original, t = 3.36 s (frame 84)" off mid-text (a title's scale, now for the compare view)
    import cv2
    from PIL import Image

    from webapp import lab
    from webapp.faces import FONT, _fitting_scale

    # an animated gif sits in the Photo slot, which has no player: no word on the browser's codecs
    wave = tmp_path / "wave.gif"
    frames = [Image.new("RGB", (32, 32), (40 * i, 0, 0)) for i in range(3)]
    frames[0].save(wave, save_all=True, append_images=frames[1:], duration=100)
    assert lab.clip_note(str(wave)) == "Animated gif: **wave.gif** (analysed as a short clip)"
    clean, lost = _report([[(0, 0.2)]]), _report([[]])
    clean.video = lost.video = "portrait.jpg"
    assert lab.coverage_warning(clean, lost).startswith("no face found in the photo")
    assert "frames" not in lab.compare_summary(clean, lost)
    text = "original, t = 3.36 s (frame 84)"
    scale = _fitting_scale(text, 169, 0.7)
    assert scale < 0.7 and cv2.getTextSize(text, FONT, scale, 1)[0][0] + 12 <= 169
    assert _fitting_scale("original", 400, 0.7) == 0.7


def _shrunk(report):
    """``report`` as a level whose faces were all found too small to judge (pipeline.analyze's form of it)."""
    from detector.inference.report import TOO_SMALL

    for fr in report.frames:
        fr.too_small = [(40, 30, 12, 14)]
    report.warnings = [f"{TOO_SMALL}: 4 faces found over the sampled frames, the largest 14 px across, ..."]
    return report


def test_a_level_whose_faces_shrank_too_small_is_not_said_to_have_lost_them():
    # a review: a downscaling level whose faces fell under SMALLEST_FACE_PX read "no face found" in the lab
    from webapp import lab

    levels = {**_levels(), "blank": _shrunk(_levels()["blank"])}
    row = lab.levels_table(levels).splitlines()[5]
    assert "faces too small" in row and "no verdict (faces too small to judge)" in row
    assert "⚠ faces too small to judge in every one of 4 frames (clean run: 4 judged)" in row and "no face" not in row
    text = lab.levels_summary({"none": levels["none"], "heavy": levels["blank"]})
    assert "At heavy, the faces were too small to judge: no verdict there." in text and "no face was found" not in text
    assert "no face was judged (too small) at any level" in lab.levels_summary({"heavy": levels["blank"]})
    assert "fake → no verdict (faces too small to judge)" in lab.compare_summary(levels["none"], levels["blank"])
    from webapp.plots import levels_figure

    bars = levels_figure(
        {"none": 0.9, "blank": float("nan")}, 0.5, unscored={"blank": lab.unscored_word(levels["blank"])}
    )
    assert list(bars.data[0].text) == ["0.90", "faces too small"]
    pairs = lab.crop_pairs(levels["none"], levels["blank"], max_pairs=2)
    assert pairs and all(caption.endswith("→ face too small to judge (14 px)") for _, caption in pairs)


def test_the_lab_says_when_a_label_stays_for_another_reason():
    # a browser check: blur took a swapped stretch's frames from 1.00 to about 0.47; "uncertain" before (the stretch)
    # and after (the band), and the lab said "verdict unchanged"
    from detector.inference.report import FaceResult, FrameResult, summarise
    from webapp.lab import compare_summary

    def clip(scores):
        frames = [
            FrameResult(
                index=i, time=i / 10, faces=[FaceResult(identity=0, box=(0, 0, 99, 99), confidence=0.9, score=s)]
            )
            for i, s in enumerate(scores)
        ]
        return summarise("v.mp4", frames, threshold=0.666, uncertain=[0.418, 0.666])

    before, after = clip([0.05] * 20 + [0.99] * 12), clip([0.45] * 32)
    assert before.label == after.label == "uncertain"
    said = compare_summary(before, after)
    assert "unchanged (uncertain), but for another reason" in said and "no longer found after the change" in said
    assert "found only after the change" in compare_summary(after, before)
    assert "for another reason" not in compare_summary(before, before)
