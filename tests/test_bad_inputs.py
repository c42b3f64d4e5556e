"""Inputs that used to crash, mislead or stall the decoder (issue "Nothing lost, nothing leaked").

Every clip here is small and rendered on the spot with PyAV; nothing needs ../shared/data.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import time
import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest

from detector.errors import InputError
from detector.inference import video
from detector.inference.video import probe, sample_frames, sample_times


def frame_image(i: int, width: int, height: int) -> np.ndarray:
    """A frame that tells its index: a gradient with a bright square that moves one step per frame."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:] = np.linspace(30, 200, width, dtype=np.uint8)[None, :, None]
    x = (i * 4) % max(1, width - 16)
    y = (i * 2) % max(1, height - 16)
    img[y : y + 16, x : x + 16] = (250, 250, 40)
    return img


def encode(
    path,
    n: int = 25,
    fps: int = 25,
    size: tuple[int, int] = (64, 48),
    options: dict | None = None,
    first_pts: int = 0,
    time_base: Fraction | None = None,
    fmt: str | None = None,
    rotation: float | None = None,
    pts: list[int] | None = None,
) -> str:
    """An H.264 clip of ``n`` frames.  ``first_pts``/``time_base``: timestamps that start late; ``pts``: each
    frame's own (in ``time_base``), e.g. gaps that the rate ``fps`` does not tell; ``fmt``: a container format
    (``"h264"`` writes a raw stream, no container); ``rotation``: a display matrix."""
    width, height = size
    time_base = time_base or Fraction(1, fps)
    per_frame = int(round(1 / (fps * time_base)))
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        stream.options = {"preset": "ultrafast", "crf": "20", **(options or {"g": str(fps)})}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frame_image(i, width, height), format="rgb24")
            frame.pts = first_pts + (pts[i] if pts is not None else i * per_frame)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


# ---------------------------------------------------------------- crashes: every PyAV error is an InputError


def test_raw_h264_stream_is_analysed_not_a_traceback(tmp_path):
    # a raw H.264 stream has no container: no duration, no timestamps, and seeking is refused (EPERM)
    path = encode(tmp_path / "raw.mp4", n=5, fmt="h264")
    info, frames = sample_frames(path, 32)
    assert abs(info.duration - 0.2) < 1e-6 and info.frame_count == 5  # counted: the container says nothing
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert probe(path).frame_count == 5


def test_ico_named_mp4_is_refused_in_one_line(tmp_path):
    from PIL import Image

    p = tmp_path / "icon.ico"
    Image.fromarray(frame_image(0, 32, 32)).save(p)
    named = tmp_path / "icon.mp4"
    os.replace(p, named)
    with pytest.raises(InputError, match="picture under a name that is not a photo.s; name it .jpg") as e:
        sample_frames(str(named), 8)
    assert "\n" not in str(e.value)


class _AvWith:
    """The av module as video.py sees it, with each container that av.open returns wrapped in ``wrapper``."""

    def __init__(self, wrapper):
        self._wrapper = wrapper

    def open(self, *args, **kwargs):
        return self._wrapper(av.open(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(av, name)


class _Refusing:
    """A container whose seek fails as FFmpeg's does on a stream that cannot seek."""

    def __init__(self, container):
        self._c = container

    def seek(self, *args, **kwargs):
        raise av.error.PermissionError(1, "Operation not permitted")

    def __getattr__(self, name):
        return getattr(self._c, name)


def test_refused_seek_decodes_straight_through(tmp_path, monkeypatch):
    path = encode(tmp_path / "keys.mp4", n=100, options={"g": "10"})
    _, expected = sample_frames(path, 4, seek_gap=1e9)
    monkeypatch.setattr(video, "av", _AvWith(_Refusing))
    _, frames = sample_frames(path, 4, seek_gap=0.1)
    assert [f.index for f in frames] == [f.index for f in expected]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, expected))


def test_damaged_middle_is_an_input_error_or_frames(tmp_path):
    path = encode(tmp_path / "ok.mp4", n=50)
    raw = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(0)
    for lo in range(len(raw) // 4, len(raw), 997):
        raw[lo : lo + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(raw))
    try:
        _, frames = sample_frames(str(bad), 8)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert frames


# ---------------------------------------------------------------- misleading messages


def test_device_is_not_called_empty():
    with pytest.raises(InputError, match="not a regular file") as e:
        sample_frames("/dev/urandom", 8)
    assert "is empty" not in str(e.value)


def test_fifo_is_not_called_empty(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(InputError, match="not a regular file") as e:
        sample_frames(str(fifo), 8)  # never opened: opening a FIFO with no writer would wait forever
    assert "is empty" not in str(e.value) and time.monotonic() - t0 < 5


def test_socket_is_not_called_empty(tmp_path):
    path = str(tmp_path / "s.mp4")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        with pytest.raises(InputError, match="not a regular file") as e:
            sample_frames(path, 8)
        assert "is empty" not in str(e.value)
    finally:
        sock.close()


@pytest.mark.parametrize("name", ["concat:a.mp4", "file:a.mp4"])
def test_protocol_like_names_are_plain_files(tmp_path, monkeypatch, name):
    from detector.data.synthetic import render_clip

    # a.mp4 is another clip: read as a protocol, the name would give a.mp4's 320x240 frames
    render_clip(str(tmp_path / "a.mp4"), seconds=0.4, fps=10, size=(320, 240), source="plain")
    render_clip(str(tmp_path / "real.mp4"), seconds=0.4, fps=10, size=(160, 128))
    shutil.copy(tmp_path / "real.mp4", tmp_path / name)
    monkeypatch.chdir(tmp_path)
    info, frames = sample_frames(name, 4)
    _, expected = sample_frames("real.mp4", 4)
    assert (info.width, info.height) == (160, 128)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, expected))


def _zero_display_matrix(src: str, dst) -> str:
    """A copy of an mp4 whose track header holds an all-zero (degenerate) display matrix."""
    raw = bytearray(open(src, "rb").read())
    at = raw.find(b"tkhd") - 4
    offset = at + (48 if raw[at + 8] == 0 else 60)  # the matrix: after the times, ids, layer and volume
    assert struct.unpack(">9i", raw[offset : offset + 36]) == (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)
    raw[offset : offset + 36] = bytes(36)
    open(dst, "wb").write(raw)
    return str(dst)


def test_degenerate_display_matrix_is_no_rotation(tmp_path):
    plain = encode(tmp_path / "plain.mp4", n=5)
    zero = _zero_display_matrix(plain, tmp_path / "zero.mp4")
    info, frames = sample_frames(zero, 3)
    _, expected = sample_frames(plain, 3)
    assert info.rotation == 0
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, expected))  # not turned upside down


def test_real_display_matrix_still_rotates(tmp_path):
    plain = encode(tmp_path / "plain.mp4", n=5)
    turned = encode(tmp_path / "turned.mp4", n=5, rotation=90)
    info, frames = sample_frames(turned, 3)
    _, expected = sample_frames(plain, 3)
    assert info.rotation == 90 and (info.width, info.height) == (48, 64)
    assert all(np.array_equal(a.image, np.rot90(b.image)) for a, b in zip(frames, expected))


@pytest.mark.parametrize("rotation", [45, 89.5])
def test_rotation_is_reported_as_applied(tmp_path, rotation):
    # found by bench/corpus.py: a 45-degree display matrix was reported as rotation 45 (and a tag of 1e20 degrees
    # as 80) while the frames were not turned; only quarter turns are applied, within a degree
    plain = encode(tmp_path / "plain.mp4", n=5)
    turned = encode(tmp_path / "turned.mp4", n=5, rotation=rotation)
    info, frames = sample_frames(turned, 3)
    _, expected = sample_frames(plain, 3)
    if rotation == 45:
        assert info.rotation == 0 and (info.width, info.height) == (64, 48)
        assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, expected))
    else:
        assert info.rotation == 90 and (info.width, info.height) == (48, 64)
        assert all(np.array_equal(a.image, np.rot90(b.image)) for a, b in zip(frames, expected))
    assert video._quarter(-1e20) == 0 and video._quarter(-90.0) == 270 and video._quarter(359.5) == 0


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize("suffix", ["mkv", "mp4"])
def test_clip_whose_timestamps_start_late(tmp_path, suffix):
    # 1 s at 25 fps whose first timestamp is 10**9 ms: Matroska's container duration counts from 0 (1000001 s)
    path = encode(tmp_path / f"late.{suffix}", n=25, first_pts=10**9, time_base=Fraction(1, 1000))
    info, frames = sample_frames(path, 8)
    assert abs(info.duration - 1.0) < 0.05 and info.frame_count == 25
    assert len(frames) == 8
    assert np.allclose([f.time for f in frames], [(i + 0.5) / 8 for i in range(8)], atol=0.041)
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    assert frames[-1].index < 25


@pytest.mark.parametrize("suffix", ["mkv", "mp4"])
def test_frames_further_apart_than_the_rate_are_not_lost(tmp_path, suffix):
    # found by bench/corpus.py: declared 25 fps, frames 0, 1, 2, 3, 4 s apart.  Each target took the nearer of
    # two frames and then skipped every target up to the later one, so a frame whose targets came after the
    # midpoint was never kept (4 of these 5 frames; 2 of 4 frames at 0, 1, 100 and 500 s)
    ms = Fraction(1, 1000)
    spread = encode(tmp_path / f"spread.{suffix}", n=5, pts=[0, 1000, 2000, 3000, 4000], time_base=ms)
    _, frames = sample_frames(spread, 32)
    assert [round(f.time, 3) for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    far = encode(tmp_path / f"far.{suffix}", n=4, pts=[0, 1000, 100_000, 500_000], time_base=ms)
    for gap in (2.0, 1e9):  # seeking or decoding straight through
        _, frames = sample_frames(far, 32, seek_gap=gap)
        times = [round(f.time, 3) for f in frames]
        assert times[-2:] == [100.0, 500.0] and len(times) == 3, times  # 0 s or 1 s for the first targets


# ---------------------------------------------------------------- limits before allocation


def test_sample_times_refuses_before_building_the_list():
    # smallest first: before the fix, fps=1e6 over 2 s built a list of two million times (tens of MB) before
    # refusing it, and fps=5e7 one of a hundred million
    tracemalloc.start()
    try:
        for kwargs in (dict(fps=1e6), dict(n_frames=10**6), dict(fps=5e7), dict(n_frames=5e7)):
            tracemalloc.reset_peak()
            with pytest.raises(InputError, match="limit"):
                sample_times(2.0, max_frames=512, **kwargs)
            assert tracemalloc.get_traced_memory()[1] < 1_000_000, kwargs
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "kwargs",
    [dict(fps=float("nan")), dict(fps=float("inf")), dict(fps=-1.0), dict(n_frames=-1), dict(n_frames=float("nan"))],
)
def test_sample_times_refuses_nonsense(kwargs):
    with pytest.raises(InputError):
        sample_times(2.0, **{"n_frames": None, **kwargs})


def test_sample_frames_checks_the_request_before_opening(tmp_path):
    with pytest.raises(InputError, match="limit"):
        sample_frames(str(tmp_path / "never_opened.mp4"), n_frames=5 * 10**7)


# ---------------------------------------------------------------- sparse keyframes


class _Counting:
    """av.open's container, counting the frames it decodes and the seeks it makes."""

    decoded = 0
    seeks = 0

    def __init__(self, container):
        self._c = container

    def decode(self, *args, **kwargs):
        for frame in self._c.decode(*args, **kwargs):
            _Counting.decoded += 1
            yield frame

    def seek(self, *args, **kwargs):
        _Counting.seeks += 1
        return self._c.seek(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._c, name)


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setattr(video, "av", _AvWith(_Counting))
    _Counting.decoded = _Counting.seeks = 0

    def run(*args, **kwargs):
        _Counting.decoded = _Counting.seeks = 0
        return (*sample_frames(*args, **kwargs), _Counting.decoded, _Counting.seeks)

    return run


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_one_keyframe_is_decoded_once_not_per_sample(tmp_path, counting, suffix):
    size = (320, 240)
    one_key = encode(
        tmp_path / f"one_key.{suffix}", n=300, size=size, options={"x264-params": "keyint=100000:scenecut=0"}
    )
    with av.open(one_key) as c:
        assert sum(p.is_keyframe for p in c.demux(video=0) if p.size) == 1
    keyed = encode(tmp_path / f"keyed.{suffix}", n=300, size=size, options={"g": "25"})

    # 8 targets 1.5 s apart: with a seek per target each would decode from frame 0 again (~1200 frames)
    _, frames, decoded, _ = counting(one_key, 8, seek_gap=0.5)
    assert decoded <= 300 + 40, decoded
    _, straight, _, _ = counting(one_key, 8, seek_gap=1e9)
    _, with_keys, decoded_keyed, seeks_keyed = counting(keyed, 8, seek_gap=0.5)
    assert [f.index for f in frames] == [f.index for f in straight] == [f.index for f in with_keys]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, straight))
    assert all(np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 4 for a, b in zip(frames, with_keys))
    # a clip with keyframes still seeks, and decodes far fewer frames than it holds
    assert seeks_keyed >= 6 and decoded_keyed < 200, (seeks_keyed, decoded_keyed)


# ---------------------------------------------------------------- photos


def test_pillow_warnings_do_not_reach_stderr(tmp_path):
    # found by bench/corpus.py: a JPEG with malformed EXIF made Pillow warn "Corrupt EXIF data", two lines on the
    # scan's stderr beside its one-line errors; the picture itself is read, unrotated
    import warnings

    from PIL import Image

    from detector.inference.stills import read_still

    path = tmp_path / "exif_junk.jpg"
    Image.fromarray(frame_image(0, 64, 48)).save(path, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + bytes(40))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info, frames = read_still(str(path))
    assert [str(w.message) for w in caught] == []
    assert (info.width, info.height) == (64, 48) and frames[0].image.shape == (48, 64, 3)


def test_an_absurd_rate_is_refused_in_a_short_line():
    # found by bench/corpus.py: --fps 1e308 was refused with the frame count written out in 309 digits
    with pytest.raises(InputError, match=r"about 2e\+308 frames|about inf frames") as e:
        sample_times(2.0, n_frames=None, fps=1e308)
    assert len(str(e.value)) < 120


def test_a_model_folder_with_a_card_that_is_no_regular_file_is_one_line_not_a_hang_or_a_memory_blowup(tmp_path):
    # a hostile-input audit: a *.json in a models folder linked to /dev/zero read until 24 GB were gone, and a FIFO
    # named *.json hung the scan (every *.json of a folder is read as a card)
    from detector.errors import NoModelError
    from detector.models.card import BadCardError, ModelCard
    from detector.models.store import list_models, resolve

    folder = tmp_path / "models"
    folder.mkdir()
    os.mkfifo(folder / "pipe.json")
    if os.path.exists("/dev/zero"):
        os.symlink("/dev/zero", folder / "zero.json")
    for card in folder.iterdir():
        with pytest.raises(BadCardError, match="not a regular file"):
            ModelCard.from_file(card)
    assert list_models(folder) == []
    with pytest.raises(NoModelError, match="holds no usable model card .*not a regular file"):
        resolve(str(folder))
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(17 << 20)  # a sparse 17 MB "card"
    with pytest.raises(BadCardError, match="far too large for a card"):
        ModelCard.from_file(big)


def test_a_model_that_is_not_a_name_a_path_or_a_model_and_a_pickle_are_said_so(tmp_path, clips):
    from detector.errors import NoModelError
    from detector.inference.pipeline import analyze
    from detector.models.store import resolve

    with pytest.raises(NoModelError, match="a model is a name, a card's path or a loaded model; got int 5"):
        analyze(clips["face"], model=5)
    pickle = tmp_path / "evil.pt"
    pickle.write_bytes(b"\x80\x04not read")
    with pytest.raises(NoModelError, match="a .pt file is not a model card and is never loaded"):
        resolve(str(pickle))


def test_a_cards_weights_that_are_a_pipe_are_not_called_missing(tmp_path, tiny_model_dir):
    import json
    import shutil

    from detector.models.card import BadCardError
    from detector.models.classifier import load_model

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    card = next(folder.glob("*.json"))
    weights = folder / json.loads(card.read_text())["weights"]
    weights.unlink()
    os.mkfifo(weights)
    with pytest.raises(BadCardError, match="are not a regular file"):
        load_model(str(card))


def test_limits_that_are_not_positive_numbers_are_refused():
    from detector.errors import InputError
    from detector.inference.video import Limits

    for bad in (dict(max_duration_s=float("nan")), dict(max_file_mb=0), dict(max_frames=-1), dict(max_pixels="x")):
        with pytest.raises(InputError, match="must be a positive number"):
            Limits(**bad)
    assert Limits(max_duration_s=float("inf")).max_duration_s == float("inf")  # no limit, said so


def test_an_output_named_pipe_that_nothing_reads_is_refused_before_the_work(tmp_path):
    # a hostile-input audit: --json naming a FIFO nothing read hung once the analysis was done
    from detector.cliargs import check_outputs

    pipe = tmp_path / "out.json"
    os.mkfifo(pipe)
    assert (
        check_outputs([("--json", str(pipe))])
        == f"--json {pipe}: is a named pipe that nothing reads: start its reader first"
    )
    from detector.cliargs import release_held_pipes

    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader there: fine, and it is not told "the end" yet
    try:
        assert check_outputs([("--json", str(pipe))]) is None
        with open(pipe, "w") as fh:
            fh.write("{}")
        assert os.read(reader, 10) == b"{}"
        with pytest.raises(BlockingIOError):  # no end yet: the check's writer is still held ...
            os.read(reader, 10)
        release_held_pipes()
        assert os.read(reader, 10) == b""  # ... until the command ends: then the reader sees the end
    finally:
        release_held_pipes()
        os.close(reader)
