"""Scanning many inputs: results streamed one JSON line per input as it finishes, resumable, on N worker processes.

    deepfake-lens scan archive/ --jsonl results.jsonl --workers 2

* **Streaming**: each finished input is appended to the JSONL file as one line and flushed to disk at once,
  so a run that is interrupted (Ctrl-C, ``kill -9``, a crash) loses at most the inputs in flight.
* **Resume**: run the same command again and the inputs already in the file (same path, size and modification
  time, same model and settings) are skipped; a torn last line of an interrupted run is ignored and redone.
* **Workers**: ``workers`` processes (spawned), each loading the model once, with torch threads split so that
  workers x threads = the CPUs this process may use; a bad input fails alone, as an ``error`` line.

A line is ``{"key": {...}, "report": {...}}`` for an analysed input or ``{"key": {...}, "error": "..."}`` for one
that could not be; :func:`summary` reads the file back (the summary JSON and CSV are made from it).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

from detector.provenance import software_version

__all__ = ["ScanSettings", "input_key", "key_path", "read_done", "scan_many", "summary", "available_cpus"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; a container's share where the OS says so)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ScanSettings:
    """What changes a result: part of every line's key, so a rerun with other settings does not skip."""

    model: str | None = None
    frames: int | None = 32
    fps: float | None = None
    rule: str = "confident"
    threshold: float | None = None
    cam: str | None = None
    cam_faces: int | None = None  # explain at most this many faces (None: every face)
    max_duration: float = 600.0
    extra: dict = field(default_factory=dict, compare=False)

    def key_part(self, model_name: str) -> dict:
        return {
            "model": model_name,
            "frames": self.frames,
            "fps": self.fps,
            "rule": self.rule,
            "threshold": self.threshold,
            "cam": self.cam,
            "max_duration": self.max_duration,
            # only when set, so that the lines of a scan made before the option existed still match
            **({"cam_faces": self.cam_faces} if self.cam and self.cam_faces else {}),
        }


def key_path(path: str) -> str:
    """How a line names its input: a local file by its absolute path, a URI (s3://...) as given."""
    from detector.inference.ray_engine import is_uri

    return path if is_uri(path) else os.path.abspath(path)


def input_key(
    path: str, settings: ScanSettings, model_name: str, stat: tuple[int | None, int | None] | None = None
) -> dict:
    """What identifies one result: the file (absolute path, size, modification time) and the settings.
    ``stat``: (size, mtime) when already known (a listing of a remote filesystem), else read from the file."""
    if stat is not None:
        size, mtime = stat
    else:
        try:
            st = os.stat(path)
            size, mtime = st.st_size, int(st.st_mtime)
        except OSError:
            size, mtime = None, None
    return {"path": key_path(path), "size": size, "mtime": mtime, **settings.key_part(model_name)}


def model_id(clf) -> str:
    """The model's name and a short hash of its card's and weight files' contents: a model retrained and installed
    under the same name does not reuse the old results, and a copy of the same files does (times were part of it
    once, and a fresh clone or a container build re-scanned a whole archive without a word: an archive audit).  The
    model its colour second opinion would ask is part of it (it changes verdicts too: a review), by its files alone:
    its weights are not loaded for this."""
    card = getattr(clf, "card", None)
    second = _second_id(card)
    return _files_id(clf.name, getattr(clf, "path", None), card, [f"second:{second}"] if second else [])


def _files_id(name: str, path, card, extra: list[str]) -> str:
    """``name@hash`` of the contents of the card at ``path`` and of its weight files, and ``extra``."""
    import hashlib

    digest = hashlib.sha1(name.encode())
    if path is not None and os.path.exists(path):
        folder = os.path.dirname(path)
        heads = [card.temporal["weights"]] if card.temporal else []  # a temporal model's sequence heads
        for file in [os.path.basename(path), *card.weight_files, *heads]:
            digest.update(f"|{file}:".encode())
            try:
                with open(os.path.join(folder, file), "rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(block)
            except OSError:
                digest.update(b"missing")
    for part in extra:
        digest.update(f"|{part}".encode())
    return f"{name}@{digest.hexdigest()[:10]}"


def _second_id(card) -> str | None:
    """:func:`_files_id` of the model :func:`~detector.inference.pipeline.colour_second_opinion` would ask for
    ``card``'s tinted faces, or None (see :func:`~detector.inference.report.second_opinion_model`)."""
    from detector.inference.report import second_opinion_model
    from detector.models.card import ModelCard
    from detector.models.store import resolve

    # without colour ranges on its card no face of it is warned of as tinted, and no second opinion is asked
    name = second_opinion_model(card) if getattr(card, "ranges", None) else None
    if not name:
        return None
    try:
        path = resolve(name)
        other = ModelCard.from_file(path)
    except Exception:  # noqa: BLE001 -- unreadable: analyze points to it by name instead
        return None
    return _files_id(other.name, path, other, [])


def _key_id(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


def jsonl_problem(jsonl: str) -> str | None:
    """Why ``jsonl`` cannot be the ``--jsonl`` of a scan, or None: a file that exists holds an earlier scan's lines
    (each starts ``{"key"``), or nothing; anything else (notes, a CSV, a video) would get lines appended to it.  It is
    read back to resume, so it must be a plain file: a named pipe would block that read for good (found by a
    hostile-input review: the scan hung with no word)."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(jsonl).st_mode):
            return "is not a plain file (a scan reads its --jsonl back to resume); give a file name"
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    try:
        with open(jsonl, "rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if head.strip() and not head.lstrip().startswith(b'{"key"'):
        return "exists and is not a scan's JSONL; give a new file, or the --jsonl of an earlier scan to resume it"
    return None


def read_done(jsonl: str) -> dict[str, dict]:
    """The lines of an earlier run by key (a line that does not parse, e.g. the torn last line of a killed run,
    is left out, so that input is done again)."""
    done: dict[str, dict] = {}
    if not os.path.exists(jsonl):
        return done
    with open(jsonl, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line)
                done[_key_id(row["key"])] = row
            except (json.JSONDecodeError, KeyError, TypeError, RecursionError):  # RecursionError: nested thousands deep
                continue
    return done


# ---------------------------------------------------------------- one input, in this process or a worker

_WORKER: dict = {}


PARENT_POLL_S = 1.0  # how often a worker looks whether the scan that started it is still there


def _exit_with_parent(parent: int, poll: float = PARENT_POLL_S) -> None:
    """End this process (at once, without cleanup) when ``parent`` is no longer its parent: a scan killed with
    ``kill -9`` left its workers blocked on a pipe for good, about 1 GB each (an archive audit).  Runs in a daemon
    thread of each worker."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(settings: ScanSettings, threads: int, parent: int | None, mid: str) -> None:
    """A worker's start: the model loaded once; ``parent``: the scan's pid, whose end ends this worker (None: a Ray
    actor, which Ray ends); ``mid``: the scan's :func:`model_id` of the model (its files are not read again)."""
    if parent is not None:
        _exit_with_parent(parent)
        # Ctrl-C reaches the whole process group: the scan decides (it ends the workers); a worker that took it as
        # its own went on with the next input, and the scan waited for them all (an archive audit: 23 s, or a hang)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(max(1, threads))
    from detector.models.classifier import load_model

    clf = load_model(settings.model)
    _WORKER.update(clf=clf, settings=settings, model_id=mid)


def _analyse(path: str) -> dict:
    """One input -> a line (report or error); never raises for bad input."""
    from detector.errors import InputError
    from detector.inference.pipeline import analyze
    from detector.inference.video import Limits

    if os.environ.get("DEEPFAKE_TEST_CRASH_ON") and path.endswith(os.environ["DEEPFAKE_TEST_CRASH_ON"]):
        os._exit(70)  # tests only: a worker killed by the input it was given (native crash, out of memory)
    settings: ScanSettings = _WORKER["settings"]
    clf = _WORKER["clf"]
    key = input_key(path, settings, _WORKER["model_id"])
    try:
        report = analyze(
            path,
            frames=None if settings.fps else settings.frames,
            fps=settings.fps,
            model=clf,
            rule=settings.rule,
            threshold=settings.threshold,
            cam=settings.cam,
            cam_faces=settings.cam_faces,
            limits=Limits(max_duration_s=settings.max_duration),
        )
        return {"key": key, "report": report.to_dict(), "version": report.software}  # the worker's own code
    except InputError as e:  # every error names its input (a limit on the frames asked for says nothing of which)
        message = str(e)
        return {"key": key, "error": message if message.startswith(f"{path}: ") else f"{path}: {message}"}
    except Exception as e:  # noqa: BLE001 -- one input's bug must not cost the others: recorded as its error
        text = " ".join(str(e).split())[:200]  # one line, whatever the exception says
        return {"key": key, "error": f"{os.path.basename(path)}: could not be analysed ({type(e).__name__}: {text})"}


def scan_many(
    paths: list[str],
    settings: ScanSettings,
    jsonl: str | None = None,
    workers: int | None = 1,
    engine: str = "local",
    address: str | None = None,
    stats: dict[str, tuple[int | None, int | None]] | None = None,
    notes: list[str] | None = None,
    redo_older: bool = False,
) -> Iterator[tuple[dict, bool]]:
    """Analyse ``paths``, yielding ``(line, skipped)`` for each, in completion order.  With ``jsonl``, each new line
    is appended and flushed as it comes, and inputs already there are yielded as skipped without work, their reports
    naming each input as ``paths`` does (a resume from another folder mixed two spellings: an archive audit).
    ``notes``: where given, a line is appended for inputs whose earlier lines were made with other settings, another
    model or another version of the file, and so are analysed again (that happened without a word), and for inputs
    whose lines were made by another version of deepfake-lens or of the code that makes its reports
    (:func:`software_version`):
    kept as they are, or with ``redo_older`` analysed again.

    engine  -- "local": ``workers`` processes on this machine; "ray": Ray Data with ``workers`` actors on the Ray
               cluster at ``address`` (None: a local Ray with this machine's CPUs), see
               :mod:`detector.inference.ray_engine`; paths may then be URIs (s3://...).
    stats   -- (size, mtime) per path where already known (from :func:`ray_engine.list_inputs`).
    """
    from detector.models.classifier import load_model

    if engine not in ("local", "ray"):
        raise ValueError(f"engine {engine!r}: 'local' or 'ray'")
    stats = stats or {}
    clf = load_model(settings.model)  # fail here, once, for a bad model: before any worker starts
    done = read_done(jsonl) if jsonl else {}
    mid = model_id(clf)  # once: it reads the model's files (the workers are given it)
    todo = []
    # inputs with a result made another way (a line of a crashed worker has a short key that never matches)
    earlier = {row["key"].get("path") for row in done.values() if "report" in row and isinstance(row["key"], dict)}
    changed, older, redone = 0, set(), 0
    version = software_version()
    for p in paths:
        key = input_key(p, settings, mid, stats.get(p))
        row = done.get(_key_id(key))
        made_by = row and str(row.get("version") or "an earlier one, not recorded")
        if row is not None and "error" not in row and (made_by == version or not redo_older):
            if made_by != version:
                older.add(made_by)
            yield _named_as(row, p), True
        else:  # an input that failed is tried again; one made by another version too where asked
            changed += row is None and key["path"] in earlier
            redone += row is not None and "error" not in row
            todo.append(p)
    if changed and notes is not None:
        notes.append(
            f"{changed} input(s) in {jsonl} were analysed before with other settings, another model or another "
            "version of the file: analysed again (the file keeps both lines; the last one of each input counts)"
        )
    if older and notes is not None:  # kept, not redone (a whole archive again at each upgrade), but said (an audit)
        notes.append(
            f"some results reused from {jsonl} were made by another version of deepfake-lens or of the code that makes "
            "its reports "
            f"({', '.join(sorted(older))}; this is {version}): their verdicts and warnings may differ from this "
            "version's; --redo-older analyses them again"
        )
    if redone and notes is not None:
        notes.append(
            f"{redone} input(s) in {jsonl} made by another version of deepfake-lens or of the code that makes its "
            "reports: "
            "analysed again (--redo-older; the file keeps both lines, the last one of each input counts)"
        )
    out = open(jsonl, "a+", encoding="utf-8") if jsonl else None
    if out is not None and out.tell() > 0:  # a killed run may have left a torn last line: start on a new one
        out.seek(out.tell() - 1)
        if out.read(1) != "\n":
            out.write("\n")
    rows = None
    try:
        if engine == "ray":
            rows = _run_ray(todo, settings, workers, address, mid, stats)
        else:
            rows = _run(todo, settings, workers or 1, clf, mid)
        for row in rows:
            # which deepfake-lens made it, said when a later one reuses it: the worker's (a Ray cluster's nodes run
            # their own install), else this one's
            row.setdefault("version", version)
            if out is not None:
                try:
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as e:  # a full disk: said in one line (a traceback before: a hostile-input review)
                    from detector.cliargs import write_failed
                    from detector.errors import OutputError

                    raise OutputError(write_failed("--jsonl", jsonl, e)) from None
            yield row, False
    finally:
        if rows is not None:  # stopped early (Ctrl-C, a reader gone): its workers end now, not when it is collected
            rows.close()
        if out is not None:
            try:
                out.close()
            except OSError:  # nothing more could be written: the error above, or the lines so far, say it
                pass


def _named_as(row: dict, path: str) -> dict:
    """An earlier line's ``row`` with its report naming the input as ``path`` (the same file, by its key)."""
    report = row.get("report")
    if not isinstance(report, dict) or report.get("video") == path:
        return row
    report = {**report, "video": path}
    if isinstance(report.get("video_info"), dict) and "path" in report["video_info"]:
        report["video_info"] = {**report["video_info"], "path": path}
    return {**row, "report": report}


def _run(paths: list[str], settings: ScanSettings, workers: int, clf, mid: str) -> Iterator[dict]:
    if not paths:
        return
    workers = max(1, min(workers, len(paths)))
    if workers == 1:
        _WORKER.update(clf=clf, settings=settings, model_id=mid)
        for p in paths:
            yield _analyse(p)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    threads = max(1, available_cpus() // workers)
    pending, breaks = list(paths), 0
    while pending:  # a worker that dies (a crash in native code, memory) breaks the pool: start a new one
        if breaks >= 2:  # an input keeps killing workers: the rest go one by one, so only that one fails
            for p in pending:
                yield _alone(p, settings, threads, mid)
            return
        with ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(settings, threads, os.getpid(), mid),
        ) as pool:
            futures = {pool.submit(_analyse, p): p for p in pending}
            finished: set[str] = set()
            try:
                for fut in as_completed(futures):
                    row = fut.result()
                    finished.add(futures[fut])
                    yield row
                pending = []
            except BrokenProcessPool:
                pending, breaks = [p for p in pending if p not in finished], breaks + 1
            except BaseException:  # Ctrl-C, SIGTERM, the reader gone: stop now, not after every queued input
                _stop(pool)
                raise


def _stop(pool) -> None:
    """End ``pool``'s workers at once and drop its queue (the inputs in flight are lost, as the docs say): its own
    shutdown waits for every queued input, and a second Ctrl-C in that wait left the scan hanging (an archive
    audit)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):  # already gone
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _run_ray(
    paths: list[str], settings: ScanSettings, workers: int | None, address: str | None, mid: str, stats: dict
) -> Iterator[dict]:
    """The Ray engine: ``workers`` actors (None: one per CPU of the cluster), each with threads = CPUs / actors,
    no more than the smallest node has."""
    if not paths:
        return
    from detector.inference import ray_engine

    ray_engine.connect(address, cpus=available_cpus())
    import ray

    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    smallest = min((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=cpus)
    workers = max(1, min(workers or cpus, len(paths), cpus))
    threads = max(1, min(cpus // workers, smallest))  # an actor must fit on one node
    items = []
    for p in paths:
        if p not in stats:
            key = input_key(p, settings, mid)
            stats[p] = (key["size"], key["mtime"])
        items.append((p, *stats[p]))
    yield from ray_engine.run(items, settings, workers, threads, mid)


def _alone(path: str, settings: ScanSettings, threads: int, mid: str) -> dict:
    """One input in a fresh worker of its own; an error line if that worker dies too."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(settings, threads, os.getpid(), mid)
    ) as pool:
        try:
            return pool.submit(_analyse, path).result()
        except BrokenProcessPool:
            key = {"path": os.path.abspath(path), "model": settings.model}
            return {
                "key": key,
                "error": f"{os.path.basename(path)}: the worker analysing it died (a crash in native "
                "code, or out of memory)",
            }


def summary(jsonl: str, paths: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """(reports, errors) from a JSONL file, in the order of ``paths`` when given (else the file's), one per input:
    the latest line of each path wins, whatever its settings (a file may hold runs of several settings: give each
    settings its own file).  ``scan`` builds its JSON and CSV from the lines it yields instead."""
    rows: dict[str, dict] = {}
    with open(jsonl, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line)
                rows[row["key"]["path"]] = row
            except (json.JSONDecodeError, KeyError, TypeError, RecursionError):  # RecursionError: nested thousands deep
                continue
    order = [key_path(p) for p in paths] if paths is not None else list(rows)
    picked = [rows[p] for p in order if p in rows]
    return [r["report"] for r in picked if "report" in r], [r for r in picked if "error" in r]
