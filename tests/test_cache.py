"""deepfake-lens cache: the crop cache's entries by state, and --prune removing only what no run can read again."""

import json
import os
import time

import pytest

from detector.data.cache import QUIET_SECONDS, entries, main, prune, survey

HOUR_AGO = time.time() - 2 * QUIET_SECONDS


def _source(path, text="clip") -> str:
    path.write_text(text)
    return str(path)


def _entry(cache, key, source, *, version=2, size=None, mtime=None, fingerprint=None, png_bytes=100, cut=True):
    from detector.data.crops import cut_of, source_fingerprint

    folder = cache / key
    folder.mkdir(parents=True)
    (folder / "000000.png").write_bytes(b"x" * png_bytes)
    meta = {"video": source, "files": ["000000.png"], "times": [0.0], "frames": 1, "with_face": 1, "margin": 0.3}
    st = os.stat(source)
    meta |= {"size": st.st_size if size is None else size, "mtime": int(st.st_mtime) if mtime is None else mtime}
    if version >= 2:
        meta |= {"version": version, "fingerprint": fingerprint or source_fingerprint(source)}
    if cut:  # as its faces are cut now (cut=False: an entry cut before tilted faces were cut upright)
        meta["cut"] = cut_of(source)
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def cache(tmp_path):
    """One entry of every kind, plus things that are not entries."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    kept = _source(data / "kept.mp4")
    _entry(cache, "a" * 20, kept)  # current: size and mtime as recorded
    _entry(cache, "b" * 20, _source(data / "rewritten.mp4"), size=1, fingerprint="0" * 40)  # changed: other bytes
    _entry(cache, "c" * 20, _source(data / "copied.mp4"), mtime=1)  # copied again: a new mtime, the same bytes: current
    _entry(cache, "d" * 20, _source(data / "v1.mp4"), version=1)  # keyed by path and mtime, as before: outdated
    _entry(cache, "2" * 20, _source(data / "tilted.mp4"), cut=False)  # its tilted faces cut as they lay: outdated
    gone = _source(data / "gone.mp4")
    _entry(cache, "e" * 20, gone)
    os.remove(gone)  # orphaned
    (cache / ("f" * 20)).mkdir()  # incomplete, fresh: an extraction running now, kept
    (cache / ("f" * 20) / "000000.png").write_bytes(b"x" * 50)
    stale = cache / ("0" * 20)  # incomplete, untouched for two hours: removable
    stale.mkdir()
    os.utime(stale, (HOUR_AGO, HOUR_AGO))
    bad = _entry(cache, "1" * 20, kept)  # unreadable meta: incomplete, and old
    (bad / "meta.json").write_text("{not json")
    os.utime(bad, (HOUR_AGO, HOUR_AGO))
    (cache / "notes").mkdir()  # not a cache key: never touched
    (cache / "README.txt").write_text("mine")
    return cache


def test_entries_are_judged_by_their_source(cache):
    states = {e.path.name[0]: (e.state, e.removable) for e in entries(cache)}
    assert states == {
        "a": ("current", False),
        "b": ("changed", True),
        "c": ("current", False),
        "d": ("outdated", True),
        "2": ("outdated", True),
        "e": ("orphaned", True),
        "f": ("incomplete", False),
        "0": ("incomplete", True),
        "1": ("incomplete", True),
    }
    found = survey(cache)
    assert found["total"]["entries"] == 9 and found["removable"]["entries"] == 6
    metas = sum(len((cache / (k * 20) / "meta.json").read_text()) for k in "ac")
    assert found["current"] == {"entries": 2, "bytes": 2 * 100 + metas}


def test_a_fingerprint_follows_the_bytes_not_the_path_or_the_time(tmp_path):
    from detector.data.crops import source_fingerprint

    big = bytearray(os.urandom((9 << 20) + 12345))  # over a megabyte block, read whole
    first = tmp_path / "a.mp4"
    first.write_bytes(big)
    copy = tmp_path / "copy" / "a.mp4"
    copy.parent.mkdir()
    copy.write_bytes(big)
    os.utime(copy, (HOUR_AGO, HOUR_AGO))
    assert source_fingerprint(first) == source_fingerprint(copy)
    for where in (100, 5 << 20, len(big) - 1):  # a byte anywhere, the middle of the file included
        changed = bytearray(big)
        changed[where] ^= 1
        copy.write_bytes(changed)
        os.utime(copy, (HOUR_AGO, HOUR_AGO))  # same size, same old mtime: read again all the same
        assert source_fingerprint(copy) != source_fingerprint(first)
    (tmp_path / "short.mp4").write_bytes(big[:-1])
    assert source_fingerprint(tmp_path / "short.mp4") != source_fingerprint(first)


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing"])
def test_what_is_not_a_file_is_a_one_line_error_and_never_opened(tmp_path, kind):
    from detector.data.crops import _extract_one, source_fingerprint
    from detector.errors import InputError

    path = tmp_path / "clip.mp4"
    if kind == "fifo":
        os.mkfifo(path)  # opening it would block for ever
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(InputError) as err:
        source_fingerprint(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    message = _extract_one((str(path), 4, 0.3, str(tmp_path / "cache")))  # extract_many's worker: skipped, said why
    assert isinstance(message, str) and str(path) in message


def test_odd_sources_and_versions_are_judged_without_hanging(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    fifo = _source(data / "fifo.mp4")
    _entry(cache, "a" * 20, fifo, size=1)  # recorded as another size: its bytes would be read
    os.remove(fifo)
    os.mkfifo(fifo)  # now a pipe where the file was
    folder = _source(data / "folder.mp4")
    _entry(cache, "b" * 20, folder, size=1)
    os.remove(folder)
    os.mkdir(folder)
    _entry(cache, "c" * 20, _source(data / "newer.mp4"), version=3)  # a newer checkout's: left alone
    nul = _entry(cache, "d" * 20, _source(data / "nul.mp4"))
    meta = json.loads((nul / "meta.json").read_text())
    (nul / "meta.json").write_text(json.dumps(meta | {"video": "bad\0name"}))
    os.utime(nul, (HOUR_AGO, HOUR_AGO))
    states = {e.path.name[0]: (e.state, e.removable) for e in entries(cache)}
    assert states == {
        "a": ("orphaned", True),
        "b": ("orphaned", True),
        "c": ("newer", False),
        "d": ("incomplete", True),
    }


def test_prune_judges_each_entry_again_before_it_goes(cache, monkeypatch):
    """An entry that a run found again between the survey and its removal (its new path recorded) stays."""
    from detector.data import cache as cache_mod

    stale = [cache_mod.Entry(cache / ("a" * 20), "orphaned", 100, "gone", removable=True)]  # current, in truth
    monkeypatch.setattr(cache_mod, "entries", lambda *a, **k: iter(stale))
    assert prune(cache) == {"entries": 0, "bytes": 0, "failed": 0}
    assert (cache / ("a" * 20) / "meta.json").exists()


def test_prune_removes_only_what_no_run_reads_again(cache):
    dry = prune(cache, dry_run=True)
    assert dry["entries"] == 6 and dry["failed"] == 0
    assert len(list(cache.iterdir())) == 11  # nothing removed
    done = prune(cache)
    assert done == dry
    assert sorted(p.name for p in cache.iterdir()) == sorted(["a" * 20, "c" * 20, "f" * 20, "notes", "README.txt"])
    assert prune(cache)["entries"] == 0


def test_an_entry_follows_its_bytes_to_a_copy_and_goes_when_they_change(tmp_path, monkeypatch):
    import shutil

    import cv2
    from skimage import data as skdata

    from detector.data.crops import extract_crops

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    cache = tmp_path / "cache"
    crops = extract_crops(str(photo), cache=cache)
    assert crops.files, "the astronaut's face should be found"
    (entry,) = entries(cache)
    assert entry.state == "current" and entry.source == os.path.abspath(photo)
    written = (entry.path / crops.files[0].rsplit("/", 1)[1]).stat().st_mtime_ns
    copy = tmp_path / "restored" / "astronaut.png"  # the data set copied elsewhere: a new path and mtime
    copy.parent.mkdir()
    shutil.copy(photo, copy)
    os.utime(copy, (HOUR_AGO, HOUR_AGO))
    again = extract_crops(str(copy), cache=cache)
    assert [p.rsplit("/", 1)[1] for p in again.files] == [p.rsplit("/", 1)[1] for p in crops.files]
    (entry,) = entries(cache)  # not cut again: the same entry, now recording the copy
    assert entry.state == "current" and entry.source == os.path.abspath(copy)
    assert (entry.path / crops.files[0].rsplit("/", 1)[1]).stat().st_mtime_ns == written
    from detector.data import crops as crops_mod

    def read_only(*args):
        raise PermissionError("read-only cache")

    other = tmp_path / "elsewhere.png"  # a hit that cannot record its new path is still a hit
    shutil.copy(photo, other)
    monkeypatch.setattr(crops_mod, "write_json", read_only)
    assert extract_crops(str(other), cache=cache).files == again.files
    monkeypatch.undo()
    cv2.imwrite(str(copy), cv2.cvtColor(skdata.astronaut()[:, ::-1], cv2.COLOR_RGB2BGR))  # other bytes
    (entry,) = entries(cache)
    assert entry.state == "changed"
    assert extract_crops(str(copy), cache=cache).files  # cut again under the new key
    assert sorted(e.state for e in entries(cache)) == ["changed", "current"]
    assert prune(cache)["entries"] == 1
    assert [e.state for e in entries(cache)] == ["current"]


def test_cli_reports_prunes_and_refuses_nonsense(cache, tmp_path, capsys):
    assert main(["--dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "9 entries" in out and "orphaned" in out and "--prune would remove 6" in out
    assert main(["--dir", str(cache), "--prune", "--dry-run"]) == 0
    assert "would remove 6 entries" in capsys.readouterr().out
    assert len([p for p in cache.iterdir() if len(p.name) == 20]) == 9
    assert main(["--dir", str(cache), "--prune", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pruned"]["entries"] == 6 and report["survey"]["total"]["entries"] == 9
    assert main(["--dir", str(cache), "--dry-run"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["--dir", str(afile)]) == 2
    assert main(["--dir", str(tmp_path / "none")]) == 0  # no cache yet: nothing in it
    assert "0 entries" in capsys.readouterr().out


def test_the_command_line_routes_cache(tmp_path, capsys):
    from detector.cli import main as cli

    assert cli(["cache", "--dir", str(tmp_path)]) == 0
    assert "0 entries" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error, one line
        cli(["cache", "--prune", "--bogus"])
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
