"""Files a model trained on, known by content (detector/data/seen.py): the index, the card's sources, the warning."""

from __future__ import annotations

import shutil
from functools import partial
from types import SimpleNamespace

import pytest
from conftest import FFPP, SHARED_DATA, needs_ffpp  # tests/ is on sys.path under pytest

from detector.data.seen import SEEN_DATA, digest, read_index, seen_warning, trained_sources, write_index


def _card(**trained):
    return SimpleNamespace(trained=trained)


def test_the_sources_a_card_trained_on():
    default = _card(config={"train_sources": ["faces_utk", "ffpp", "ffpp_c40/real"], "data": ["x/ffpp_c40"]})
    assert trained_sources(default) == ["faces_utk", "ffpp", "ffpp_c40/real"]  # its own list wins
    assert trained_sources(_card(config={"data": ["../shared/data/ffpp/", "/d/ffpp_c40"]})) == [
        "ffpp",
        "ffpp_c40",
        "ffpp:actors",
        "ffpp_c40:actors",
    ]
    old = _card(command="python -m detector.train --data ../shared/data/ffpp --arch resnet18 --out runs/r")
    assert trained_sources(old) == ["ffpp", "ffpp:actors"]  # an early card: its training command's --data
    assert trained_sources(_card(data="the paper's Deepfake set")) is None  # a peer model: nothing known
    assert trained_sources(SimpleNamespace(trained=None)) is None
    assert trained_sources(_card(command="train --data 'unclosed")) is None
    assert trained_sources(_card(command="train --data=../d/ffpp --arch resnet18")) == ["ffpp", "ffpp:actors"]
    assert trained_sources(_card(command="train --data= --arch x")) is None


def test_a_training_file_is_named_and_others_are_not(tmp_path, clips, tiny_model, monkeypatch):
    # a teacher's FaceForensics++ clip scored by a model that trained on it: a confident right verdict that proves
    # nothing, and nothing said so (a review)
    data = tmp_path / "mydata"
    (data / "real").mkdir(parents=True)
    (data / "fake").mkdir()
    shutil.copy(clips["face"], data / "real" / "face.mp4")
    (data / "fake" / "face.mp4").write_bytes(b"not the same bytes")
    index = tmp_path / "seen.tsv"
    assert write_index([str(data)], index) == 2
    rows = index.read_text().splitlines()
    assert rows[0].startswith("#") and all(len(r.split("\t")) == 4 for r in rows[1:])
    assert "face" not in index.read_text()  # sizes and hashes, no names
    read_index.cache_clear()
    card = _card(config={"data": [str(data)]})
    warning = seen_warning(clips["face"], card, index)  # the same bytes under another name
    assert warning.startswith("This video is one of the real videos of mydata that this model was trained or")
    assert seen_warning(clips["plain"], card, index) is None  # a file it never saw
    assert seen_warning(clips["face"], _card(config={"train_sources": ["mydata/fake"]}), index) is None  # its class
    assert seen_warning(clips["face"], _card(), index) is None  # a card that does not say what it trained on
    assert seen_warning(clips["face"], card, tmp_path / "missing.tsv") is None  # an install without the index
    assert seen_warning(tmp_path / "gone.mp4", card, index) is None
    # the same bytes in two sources (a review: the index kept one of them, and the other source's card said nothing)
    other = tmp_path / "other"
    (other / "real").mkdir(parents=True)
    shutil.copy(clips["face"], other / "real" / "copy.mp4")
    assert write_index([str(data), str(other)], index) == 3
    read_index.cache_clear()
    assert "of other that" in seen_warning(clips["face"], _card(config={"train_sources": ["other"]}), index)
    assert "of mydata that" in seen_warning(clips["face"], card, index)
    for first, second in (("other", "mydata"), ("mydata", "other")):  # the card's own order names the source
        both = _card(config={"train_sources": [first, second]})
        assert f"of {first} that" in seen_warning(clips["face"], both, index)
    read_index.cache_clear()

    import detector.inference.pipeline as pipeline
    from detector.inference.pipeline import analyze

    monkeypatch.setattr(pipeline, "seen_warning", partial(seen_warning, index_file=index))
    monkeypatch.setattr(tiny_model.card, "trained", {"config": {"data": [str(data)]}})
    report = analyze(clips["face"], model=tiny_model, frames=4)
    assert report.warnings[0] == warning  # first: it outweighs every other caveat

    from webapp.verdict import relabel

    assert relabel(report, 0.3, report.threshold).warnings[0] == warning  # kept first when the threshold moves


@pytest.mark.data
@needs_ffpp
def test_the_shipped_index_knows_the_shared_data():
    from detector.constants import SHIPPED_MODELS
    from detector.data.datasets import held_out, read_dataset
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    read_index.cache_clear()
    index = read_index(str(SEEN_DATA))
    real = FFPP / "original_sequences" / "youtube" / "c23" / "videos" / "033.mp4"
    assert ("ffpp", "real") in index[real.stat().st_size][digest(real)]
    default = ModelCard.from_file(resolve(None, SHIPPED_MODELS))
    assert "FaceForensics++ c23" in seen_warning(real, default)
    photos = SHARED_DATA / "faces_utk"
    if photos.is_dir():
        kept_out = next(it for it in read_dataset(photos) if held_out(it))  # the held-out fifth: never trained on
        assert seen_warning(kept_out.path, default) is None
