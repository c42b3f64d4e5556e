"""Decoding: even sampling, timestamps, limits, and every kind of bad file."""

import os
from fractions import Fraction

import numpy as np
import pytest

from detector.errors import InputError
from detector.inference.video import Limits, _upright, list_videos, probe, sample_frames, sample_times


def test_sample_times_even_and_fps():
    assert sample_times(10.0, 4) == [1.25, 3.75, 6.25, 8.75]
    assert sample_times(2.0, fps=2) == [0.0, 0.5, 1.0, 1.5]
    with pytest.raises(InputError, match="limit"):
        sample_times(100.0, fps=30, max_frames=512)


def test_samples_spread_over_clip(clips):
    info, frames = sample_frames(clips["face"], n_frames=8)
    assert (info.width, info.height, info.fps) == (640, 480, 25.0)
    assert abs(info.duration - 2.0) < 0.05
    assert len(frames) == 8
    times = [f.time for f in frames]
    assert times == sorted(times)
    # targets are (i + 0.5) * 2 s / 8: 0.125, 0.375, ... within one frame (0.04 s)
    assert np.allclose(times, [(i + 0.5) * 0.25 for i in range(8)], atol=0.041)
    assert [f.index for f in frames] == [round(t * 25) for t in times]
    assert frames[0].image.shape == (480, 640, 3) and frames[0].image.dtype == np.uint8
    # the clip pans: sampled frames differ
    assert np.abs(frames[0].image.astype(int) - frames[-1].image.astype(int)).mean() > 5


def test_more_targets_than_frames_gives_each_frame_once(clips):
    _, frames = sample_frames(clips["plain"], n_frames=100)  # 25 frames in the clip
    assert len(frames) == 25
    assert len({f.index for f in frames}) == 25


def test_fps_sampling(clips):
    _, frames = sample_frames(clips["face"], n_frames=None, fps=2)
    assert [round(f.time, 2) for f in frames] == [0.0, 0.52, 1.0, 1.52] or len(frames) == 4


def test_given_times_take_the_frames_of_those_moments(clips):
    """times=: another clip's moments (a fake's, for its target's frames): the frames of the same numbers."""
    _, even = sample_frames(clips["face"], n_frames=8)
    _, same = sample_frames(clips["face"], times=[f.time for f in reversed(even)])  # any order: sorted
    assert [f.index for f in same] == [f.index for f in even]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(same, even))
    _, late = sample_frames(clips["face"], times=[0.5, 60.0])  # past the end: the last frame, once
    assert [f.index for f in late] == [12, 49]
    for bad in ([], [-1.0], [float("nan")], [0.1] * 10_000):
        with pytest.raises(InputError, match="times to sample"):
            sample_frames(clips["face"], times=bad)


def test_seek_and_sequential_agree(clips):
    # seeking (gap 0) and decoding straight through (gap huge) must pick the same frames
    _, a = sample_frames(clips["face"], n_frames=6, seek_gap=0.0)
    _, b = sample_frames(clips["face"], n_frames=6, seek_gap=1e9)
    assert [f.index for f in a] == [f.index for f in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))


def test_upright_rotation():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 0] = 255  # top-left
    assert _upright(img, 0) is img
    r = _upright(img, 90)  # 90 deg counter-clockwise: top-left goes to bottom-left
    assert r.shape == (3, 2, 3) and r[2, 0, 0] == 255


def test_limits(clips):
    with pytest.raises(InputError, match="longer than"):
        probe(clips["face"], Limits(max_duration_s=1.0))
    with pytest.raises(InputError, match="megapixels"):
        probe(clips["face"], Limits(max_pixels=320 * 240))
    with pytest.raises(InputError, match="MB"):
        probe(clips["face"], Limits(max_file_mb=0.000001))


@pytest.mark.parametrize(
    "kind,match",
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("text", "not a readable video"),
        ("png", "picture under a name that is not a photo|not a readable"),
        ("truncated", "truncated|cannot be decoded|not a readable|no frame"),
        ("audio", "no video stream"),
        ("folder", "folder"),
    ],
)
def test_bad_files(tmp_path, clips, kind, match):
    path = bad_file(tmp_path, clips, kind)
    with pytest.raises(InputError, match=match) as e:
        sample_frames(path, 8)
    assert "\n" not in str(e.value)


def bad_file(tmp_path, clips, kind: str) -> str:
    """Write one kind of bad input; shared with the CLI tests."""
    import av

    p = tmp_path / f"{kind}.mp4"
    if kind == "missing":
        return str(tmp_path / "nope.mp4")
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not a video, only text renamed .mp4\n" * 20)
    elif kind == "png":
        import cv2
        from skimage import data

        p = tmp_path / "image_named.mp4"  # a photo under a video's name: refused, not read as a photo
        cv2.imwrite(str(tmp_path / "image.png"), data.astronaut())
        p.write_bytes((tmp_path / "image.png").read_bytes())
    elif kind == "truncated":
        raw = open(clips["face"], "rb").read()
        p.write_bytes(raw[: len(raw) // 3])  # moov atom (at the end) is lost
    elif kind == "audio":
        p = tmp_path / "audio.m4a"
        with av.open(str(p), "w") as out:
            s = out.add_stream("aac", rate=16000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            for _ in range(10):
                for packet in s.encode(frame):
                    out.mux(packet)
            for packet in s.encode():
                out.mux(packet)
    elif kind == "folder":
        return str(tmp_path)
    return str(p)


def test_list_videos(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.MOV").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.split("/")[-1] for p in list_videos(str(tmp_path))] == ["a.mp4", "b.MOV"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no videos or photos"):
        list_videos(str(empty))


def _clip(path, times, audio_s=None, fmt=None, faststart=False, tb=Fraction(1, 1000)) -> str:
    """A 64 x 64 MPEG-4 clip with a frame at each of ``times`` (seconds), and ``audio_s`` seconds of silence."""
    import av

    out = av.open(str(path), "w", format=fmt, options={"movflags": "faststart"} if faststart else {})
    video = out.add_stream("mpeg4", rate=10)
    video.width = video.height = 64
    video.pix_fmt = "yuv420p"
    video.codec_context.time_base = tb
    audio = out.add_stream("aac", rate=8000) if audio_s else None  # every stream before the first packet
    for k, t in enumerate(times):
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), k * 20 % 255, np.uint8), format="rgb24")
        frame.pts, frame.time_base = int(round(t / tb)), tb
        out.mux(video.encode(frame))
    out.mux(video.encode())
    if audio is not None:
        n = int(audio_s * 8000)
        for i in range(0, n, 1024):
            silence = np.zeros((1, min(1024, n - i)), np.float32)
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    out.close()
    return str(path)


def test_a_clip_cut_short_is_said_and_a_whole_one_is_not(tmp_path):
    # found by review: a file cut short kept its header's duration, and only its first part was analysed without a
    # word; the first warning for it also fired on whole clips (a slow rate, a longer audio track)
    from detector.inference.video import cut_short

    def warning(path, n=8):
        info, _ = sample_frames(path, n_frames=n)
        return cut_short(info)

    whole = _clip(tmp_path / "whole.mp4", [0.1 * i for i in range(120)], faststart=True)
    slow = _clip(tmp_path / "slow.mp4", [2.0 * i for i in range(10)], tb=Fraction(1, 2))  # 0.5 frames a second
    gap = _clip(tmp_path / "gap.mp4", [0.1 * i for i in range(101)] + [13.0])  # 3 s without a new frame
    longer_audio = _clip(tmp_path / "audio.mkv", [0.1 * i for i in range(100)], audio_s=13.0, fmt="matroska")
    for path in (whole, slow, gap, longer_audio):
        assert warning(path) is None and warning(path, 32) is None, path
    data = open(whole, "rb").read()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    said = warning(str(tmp_path / "cut.mp4"))
    assert said and "of the 12.0 s its header gives: the file looks cut short" in said


def test_list_videos_follows_linked_folders_once_and_leaves_hidden_ones_out(tmp_path):
    # an archive audit: a linked folder's clips were in no output, without a word, while linked files were read;
    # hidden files were dropped, yet those in hidden folders read
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.mp4").write_bytes(b"x")
    root = tmp_path / "archive"
    (root / ".thumbs").mkdir(parents=True)
    (root / ".thumbs" / "t.mp4").write_bytes(b"x")
    (root / ".hidden.mp4").write_bytes(b"x")
    (root / "a.mp4").write_bytes(b"x")
    (root / "link").symlink_to(outside)
    (root / "loop").symlink_to(root)  # a link back up the tree: each real folder is listed once
    (root / "2023").mkdir()
    (root / "2023" / "x.mp4").write_bytes(b"x")
    (root / "00_latest").symlink_to(root / "2023")  # inside the tree: read under the folder's own name
    hidden: list[str] = []
    found = list_videos(str(root), hidden=hidden)
    assert [os.path.relpath(p, root) for p in found] == ["2023/x.mp4", "a.mp4", os.path.join("link", "linked.mp4")]
    assert sorted(os.path.basename(p) for p in hidden) == [".hidden.mp4", ".thumbs"]


def test_a_header_is_read_once_per_unchanged_file(tmp_path, clips, monkeypatch):
    # a review: the app read an upload's header two or three times (the line under the player, Ready, Analyse)
    import shutil

    from detector.inference import video

    reads = []
    real_probe = video.probe
    monkeypatch.setattr(video, "probe", lambda path, limits=Limits(): reads.append(path) or real_probe(path, limits))
    clip = str(tmp_path / "c.mp4")
    shutil.copy(clips["face"], clip)
    first, again = video.probe_cached(clip), video.probe_cached(clip)
    assert len(reads) == 1 and first == again and first is not again  # each caller gets its own copy
    video.probe_cached(clip, Limits(max_file_mb=100.0))  # other limits: read under them
    assert len(reads) == 2
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    for _ in range(2):  # a refusal is kept, and raised again in the same words
        with pytest.raises(InputError, match="bad.mp4"):
            video.probe_cached(str(bad))
    assert reads.count(str(bad)) == 1
    bad.write_bytes(open(clips["face"], "rb").read())  # the file changed (size, time): read again
    assert video.probe_cached(str(bad)).codec == "h264" and reads.count(str(bad)) == 2
    with pytest.raises(InputError):
        video.probe_cached(str(tmp_path / "gone.mp4"))  # not there: probe's own words, nothing kept


def _mpeg(path, image, frames: int = 25) -> None:
    """An MPEG program stream (.mpg, MPEG-2 video at 25 fps) of ``frames`` frames of ``image``."""
    import av

    with av.open(str(path), "w", format="mpeg") as c:
        s = c.add_stream("mpeg2video", rate=25)
        s.width, s.height, s.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        for _ in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_mpeg_files_joined_end_to_end_are_sampled_whole(tmp_path, tiny_model):
    # an audit: `cat a.mpg b.mpg` plays whole, but its header tells of the first file only: the second half (the face)
    # was never sampled, "no face found"
    import cv2
    from skimage import data

    from detector.inference.pipeline import analyze

    dark, face = tmp_path / "dark.mpg", tmp_path / "face.mpg"
    _mpeg(dark, np.zeros((240, 320, 3), np.uint8))
    _mpeg(face, cv2.resize(data.astronaut(), (320, 240)))
    joined = tmp_path / "joined.mpg"
    joined.write_bytes(dark.read_bytes() + face.read_bytes())
    assert probe(str(dark)).restarts == 0
    info, frames = sample_frames(str(joined), 10)
    assert info.restarts == 1 and info.frame_count == 50 and info.duration == pytest.approx(2.0)
    assert max(fr.time for fr in frames) > 1.5 and frames[-1].image.mean() > 50  # the second file's frames too
    report = analyze(str(joined), model=tiny_model, frames=8)
    assert report.label != "unknown" and any("timestamps start again once" in w for w in report.warnings)
    assert report.video_info["restarts"] == 1
    alone = analyze(str(face), model=tiny_model, frames=4)
    assert not any("start again" in w for w in alone.warnings) and "restarts" not in alone.video_info


def test_a_folder_whose_only_subfolder_cannot_be_read_is_named_with_the_reason(tmp_path):
    # an audit: a photo 60 folders down (a path over 4,096 characters) gave "1 folder(s) below it cannot be read",
    # naming neither the folder nor why
    deep = tmp_path / "top"
    os.makedirs(deep)
    here = os.getcwd()
    try:
        os.chdir(deep)
        for _ in range(60):  # made relative to the folder each time: the whole path is too long to give at once
            os.mkdir("a" * 72)
            os.chdir("a" * 72)
        open("x.jpg", "wb").write(b"x")
    finally:
        os.chdir(here)
    with pytest.raises(InputError) as err:
        list_videos(str(deep))
    said = str(err.value)
    assert "1 folder(s) below it cannot be read, the first ..." in said and "characters) (File name too long)" in said
    assert "\n" not in said and len(said) < 600
