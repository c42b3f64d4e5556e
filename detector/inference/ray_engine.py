"""Scanning an archive on a Ray cluster: Ray Data over the list of inputs, an actor pool holding the model.

    pip install "deepfake-lens[scale]"
    deepfake-lens scan s3://bucket/archive/ --engine ray --address auto --jsonl results.jsonl

The same JSONL lines as the local engine (:mod:`detector.inference.batch`), keyed the same way, so the two engines
resume each other's runs.  Ray does the scheduling, the retries and the placement; each actor loads the model once
and reads its inputs through a pyarrow filesystem (a local path, or any URI pyarrow resolves: ``s3://``, ``gs://``,
``hdfs://``, ``file://``), so nothing here moves data or retries work by hand.  An input whose task keeps failing
(its actor crashes on it) is given up after Ray's retries and recorded as an error line; the others go on.

Local folder paths must be visible at the same place on every node (a shared filesystem); use a URI otherwise.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator

from detector.constants import MEDIA_EXTENSIONS

__all__ = ["is_uri", "list_inputs", "connect", "run", "settings_env"]

CHUNK = 2000  # inputs per Ray Data execution: bounds the driver's bookkeeping on a million-input archive
TASK_RETRIES = 2  # Ray retries an input whose actor died this many times, then it is recorded as an error


def is_uri(path: str) -> bool:
    """``scheme://...`` (s3://, gs://, file://...), read through a pyarrow filesystem."""
    head, sep, _ = path.partition("://")
    return bool(sep) and head.isalnum()


def list_inputs(
    path: str,
    unreadable: list[str] | None = None,
    skipped: list[str] | None = None,
    hidden: list[str] | None = None,
) -> list[tuple[str, int | None, int | None]]:
    """The videos and photos at ``path`` (a file, a folder, or a URI of either) as ``(path, size, mtime)``.
    Raises InputError when there is nothing to analyse there; ``unreadable``, ``skipped`` and ``hidden``: as
    :func:`detector.inference.video.list_videos` takes them (below a URI, a hidden file, or any file in a hidden
    folder, goes to ``hidden``)."""
    from detector.errors import InputError

    if not is_uri(path):
        from detector.inference.video import list_videos

        out = []
        for p in list_videos(path, unreadable, skipped, hidden):
            try:
                st = os.stat(p)
                out.append((p, st.st_size, int(st.st_mtime)))
            except OSError:
                out.append((p, None, None))
        return out
    import pyarrow.fs as pafs

    try:
        fs, root = pafs.FileSystem.from_uri(path)
        info = fs.get_file_info(root)
        scheme = path.split("://", 1)[0]
        if info.type == pafs.FileType.Directory:
            infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
        elif info.type == pafs.FileType.File:
            infos = [info]
        else:
            raise InputError(f"{path}: not found")
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 -- pyarrow raises OSError, ArrowInvalid...: one line for all
        raise InputError(f"{path}: cannot be listed ({' '.join(str(e).split())[:200]})") from None
    files = [i for i in infos if i.type == pafs.FileType.File]
    dotted = {i.path for i in files if _hidden_below(i.path, root)}
    if hidden is not None:
        hidden.extend(sorted(f"{scheme}://{p}" for p in dotted))
    found = sorted(
        (f"{scheme}://{i.path}", i.size, int(i.mtime.timestamp()) if i.mtime else None)
        for i in files
        if i.base_name.lower().endswith(MEDIA_EXTENSIONS) and i.path not in dotted
    )
    if not found:
        raise InputError(f"{path}: no videos or photos there (looked for {', '.join(MEDIA_EXTENSIONS)})")
    return found


def _hidden_below(path: str, root: str) -> bool:
    """Whether ``path``, below the listed ``root``, is hidden or in a hidden folder (a file given itself is not)."""
    rel = os.path.relpath(path, root)
    return rel != "." and any(part.startswith(".") for part in rel.split("/"))


def connect(address: str | None, cpus: int) -> None:
    """Join the Ray cluster at ``address`` ("auto": the one this node belongs to), or start a local one with ``cpus``
    CPUs; no dashboard and no usage reporting (nothing phones home)."""
    import logging

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}  # the scan's own lines, not Ray's chatter
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, **quiet)


def actor_class(settings, threads: int, model_id: str) -> type:
    """The Ray actor: the model loaded once, then one input per call (a batch of one path).  The settings are bound
    in the class rather than passed as constructor arguments, so an actor Ray restarts after a crash needs nothing
    from the object store."""

    class ScanActor:
        def __init__(self):
            from detector.inference import batch

            batch._init_worker(settings, threads, None, model_id)  # the driver's model id: its files are not read again

        def __call__(self, rows: dict) -> dict:
            import json

            lines = []
            for path, size, mtime in zip(rows["path"], rows["size"], rows["mtime"]):
                size = None if size < 0 else int(size)
                mtime = None if mtime < 0 else int(mtime)
                lines.append(json.dumps(_analyse_any(str(path), size, mtime)))
            return {"line": lines}

    return ScanActor


def _analyse_any(path: str, size: int | None, mtime: int | None) -> dict:
    """A local path is analysed in place; a URI is first copied to a temporary file (same name) through pyarrow."""
    from detector.inference import batch

    if not is_uri(path):
        return batch._analyse(path)
    key = batch.input_key(path, batch._WORKER["settings"], batch._WORKER["model_id"], stat=(size, mtime))
    name = os.path.basename(path.rstrip("/")) or "input"
    try:
        import pyarrow.fs as pafs

        fs, inner = pafs.FileSystem.from_uri(path)
        with tempfile.TemporaryDirectory(prefix="deepfake-lens-") as tmp:
            local = os.path.join(tmp, name)
            with fs.open_input_stream(inner) as src, open(local, "wb") as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
            row = batch._analyse(local)
    except Exception as e:  # noqa: BLE001 -- unreadable remote file: its error line, not the run's end
        return {"key": key, "error": f"{path}: cannot be read ({' '.join(str(e).split())[:200]})"}
    row["key"] = key
    for named in (local, name):  # the URI, not the temporary copy's path (or its bare name)
        if "error" in row and row["error"].startswith(f"{named}: "):
            row["error"] = f"{path}: {row['error'][len(named) + 2 :]}"
            break
    return batch._named_as(row, path)  # the report names the input as given (as a resumed line does), not the copy


def settings_env() -> dict[str, str]:
    """This process's ``DEEPFAKE_*`` variables (model folder, home...), for the actors: a Ray worker's environment
    is the one its node started with, not the driver's."""
    return {k: v for k, v in os.environ.items() if k.startswith("DEEPFAKE_")}


def run(
    items: list[tuple[str, int | None, int | None]], settings, workers: int, threads: int, model_id: str
) -> Iterator[dict]:
    """Lines for ``items`` as the actors finish them (completion order).  ``workers`` actors of ``threads`` CPUs."""
    import json
    import logging

    import ray.data

    from detector.inference.batch import input_key

    for handler in logging.getLogger("ray.data").handlers:  # Ray Data's own console lines: errors only
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.max_errored_blocks = -1  # an input that kills its actor past the retries is skipped, not the whole run
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = False
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        rows = [{"path": p, "size": -1 if s is None else s, "mtime": -1 if m is None else m} for p, s, m in chunk]
        with warnings.catch_warnings():  # max_task_retries has no named parameter yet in the pinned Ray
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated", category=DeprecationWarning)
            ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                actor_class(settings, threads, model_id),
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
                num_cpus=threads,
                runtime_env={"env_vars": settings_env()},
                max_task_retries=TASK_RETRIES,
            )
        seen: set[str] = set()
        for out in ds.iter_rows():
            row = json.loads(out["line"])
            seen.add(row["key"]["path"])
            yield row
        for p, s, m in chunk:  # given up by Ray after its retries
            key = input_key(p, settings, model_id, stat=(s, m))
            if key["path"] not in seen:
                yield {
                    "key": key,
                    "error": f"{os.path.basename(p)}: the worker analysing it died {TASK_RETRIES + 1} times "
                    "(a crash in native code, or out of memory)",
                }
