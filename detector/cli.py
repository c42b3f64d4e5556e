"""The command line, ``deepfake-lens`` (also ``python -m detector``)::

    deepfake-lens scan PATH [PATH...] [--frames N] [--json OUT] [--csv OUT]   videos, photos or folders of them
    deepfake-lens models [--install CARD [--default]]                          the installed models
    deepfake-lens train [--recipe NAME|FILE] [flags]                            detector.training.run
    deepfake-lens evaluate DATA [--split val|heldout|...]                       detector.evaluation.evaluate
    deepfake-lens crossval RUN_DIR...                                           detector.evaluation.crossval
    deepfake-lens ensemble RUN_DIR... --name NAME                               detector.training.ensemble
    deepfake-lens train-temporal [--recipe NAME|FILE] [--export HEAD]         detector.training.temporal
    deepfake-lens compare CLIP [--models a,b|all]                                detector.evaluation.compare

Bad input ends with a one-line message on stderr and a non-zero exit code, never a
traceback.  Exit codes: 0 all inputs analysed; 1 some could not be analysed (the
others are still written); 2 bad arguments, no model, nothing to analyse, or a
--json/--csv target that cannot be written, or that names an input or a video or photo
file (checked before any analysis, so no result is lost and no input overwritten); 130
interrupted (Ctrl-C), 143 terminated (SIGTERM): what was analysed so far is still written, the
rest listed as not analysed.

One input that fails, in any way, never costs the others: its error is printed and
the scan goes on, and --json and --csv list it with the reports (label ``unknown``, no
score, ``error``: the reason; see :func:`detector.inference.report.error_entry`).  CSV
rows are written as each input is analysed; the JSON at the end.  Output piped into a
reader that stops early (``| head``) ends the run quietly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict

from detector.cliargs import (
    STDOUT,
    Parser,
    check_outputs,
    face_count,
    fail,
    frame_count,
    frame_rate,
    model_name,
    positive,
    printable,
    probability,
    release_held_pipes,
    workers,
    write_failed,
)
from detector.constants import DEFAULT_FRAMES
from explain.names import METHOD_NAMES

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def _parser() -> Parser:
    p = Parser(prog="deepfake-lens", description="Explainable deepfake detector for videos and photos")
    from detector.provenance import software_version  # the package's, and its verdict rules' fingerprint

    p.add_argument("--version", action="version", version=f"%(prog)s {software_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "scan",
        aliases=["analyze"],  # the library's function is analyze(): a teacher's audit typed that first
        help="score videos and photos (files or folders)",
        description="Score each video and photo: per face and per input, a fake score, a label (real, uncertain, "
        "fake, or unknown where no face could be judged) and the warnings that say how far to trust it.",
        epilog="Exit codes: 0 every input analysed (whatever its verdict); 1 some inputs could not be read or "
        "analysed (the others are still written; each said on standard error as 'error: ...'); 2 bad arguments, no "
        "input found, no model, or an output that cannot be written; 130 Ctrl-C, 143 SIGTERM (what was analysed is "
        "written, the rest listed as not analysed). --json keys, --csv columns: see the README's 'Command line'.",
    )
    s.add_argument("paths", nargs="+", metavar="PATH", help="video or photo files, or folders of them")
    g = s.add_mutually_exclusive_group()
    g.add_argument(
        "--frames",
        type=frame_count,
        default=DEFAULT_FRAMES,
        help=f"frames sampled evenly over each clip (default {DEFAULT_FRAMES})",
    )
    g.add_argument("--fps", type=frame_rate, help="sample this many frames per second instead")
    s.add_argument(
        "--model",
        type=model_name,
        help="a model's name (deepfake-lens models lists them), its .json card, or a folder holding one card "
        "(default: the installed default model)",
    )
    s.add_argument(
        "--rule",
        choices=["confident", "mean"],
        default="confident",
        help="frame-to-video aggregation (default: confident)",
    )
    s.add_argument(
        "--threshold",
        type=probability,
        help="fake if score >= threshold (default: the model card's); uncertain from the lower edge of the card's "
        "band up to it",
    )
    s.add_argument(
        "--cam",
        choices=METHOD_NAMES,
        metavar="METHOD",
        help=f"also compute CAM explanations with this method ({', '.join(METHOD_NAMES)})",
    )
    s.add_argument(
        "--cam-faces",
        type=face_count,
        default=0,
        metavar="N",
        help="with --cam: explain at most N faces per input, the most fake first (default 0: every face)",
    )
    s.add_argument("--json", metavar="OUT", help="write the report(s) as JSON ('-' for stdout)")
    s.add_argument(
        "--csv", metavar="OUT", help="write one row per face (and per faceless frame) as CSV ('-' for stdout)"
    )
    s.add_argument("--max-duration", type=positive, default=600.0, help="longest clip accepted, seconds (default 600)")
    s.add_argument(
        "--jsonl",
        metavar="OUT",
        help="append one JSON line per input as it finishes; a rerun skips the inputs already there (same file, "
        "size, modification time, model and settings): an interrupted archive scan resumes where it stopped",
    )
    s.add_argument(
        "--redo-older",
        action="store_true",
        help="with --jsonl: analyse again the inputs whose lines were made by another version of deepfake-lens or "
        "of the code that makes its reports (by default they are kept, with a line saying so)",
    )
    s.add_argument(
        "--workers",
        type=workers,
        help="processes (local engine, default 1) or Ray actors (default: one per CPU of the cluster), "
        "each with the model loaded once",
    )
    s.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: worker processes on this machine; ray: Ray Data on a Ray cluster (pip install "
        "'deepfake-lens[scale]'), PATHs may then be URIs such as s3://bucket/archive/",
    )
    s.add_argument(
        "--address",
        help="with --engine ray: the cluster to join ('auto': the one this node belongs to, or ray://HOST:10001); "
        "default: a local Ray on this machine's CPUs",
    )
    s.add_argument(
        "--quiet", action="store_true", help="no progress bar, verdict or summary lines (errors still on stderr)"
    )
    m = sub.add_parser("models", help="list the installed models, or install one from a training run")
    m.add_argument("--json", action="store_true", help="the list as JSON (name, card, threshold, metrics...)")
    m.add_argument(
        "--install",
        metavar="CARD",
        help="copy a trained model (its .json card and weights, or a folder holding one card) into the user's model "
        "folder",
    )
    m.add_argument("--default", action="store_true", help="with --install: make it the default model")
    m.add_argument(
        "--architectures",
        action="store_true",
        help="list the architectures train --arch takes (input sizes, offline ImageNet weights) instead",
    )
    m.add_argument(
        "--recipes",
        action="store_true",
        help="list the training recipes train --recipe takes (what each trains, whether it ships, its c23 AUC) instead",
    )
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return p


# subcommands with a parser of their own: deepfake-lens NAME ARGS... runs MODULE.main(ARGS)
DELEGATED = {
    "train": ("detector.training.run", "train a face classifier with fastai (see --recipe)"),
    "evaluate": ("detector.evaluation.evaluate", "evaluate a model on a labelled data set, clean and perturbed"),
    "crossval": ("detector.evaluation.crossval", "pool the runs of a cross-validation"),
    "ensemble": ("detector.training.ensemble", "make one model of the fold runs of a cross-validation"),
    "compare": ("detector.evaluation.compare", "run several models on one clip or photo, side by side"),
    "train-temporal": ("detector.training.temporal", "train sequence heads over a fold ensemble's frame embeddings"),
    "train-depth": ("detector.training.depth", "train the RGB + depth (FaceMesh landmark depth) sequence head"),
    "mimic": ("detector.training.mimic", "label-free pretraining: mimic an ImageNet network's features on face crops"),
    "cache": ("detector.data.cache", "the face-crop cache: its size, and --prune for entries no run can read again"),
    "import-mesonet": ("detector.models.mesonet_import", "convert the MesoNet authors' Keras weights into model cards"),
}


def _unbreakable_stdout() -> None:
    """Standard output that writes any file name: a name that is not UTF-8 as its own bytes on a UTF-8 stream, and
    anything the stream cannot encode (``é`` on an ASCII console) as a backslash escape, not a traceback."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    try:
        sys.stdout.reconfigure(errors="surrogateescape" if encoding == "utf8" else "backslashreplace")
    except (AttributeError, ValueError):  # replaced by a stream without reconfigure (a test's capture)
        pass


def main(argv: list[str] | None = None) -> int:
    if sys.stdout is None:  # standard output closed (">&-"): what goes there goes nowhere, as the caller chose (an
        sys.stdout = open(os.devnull, "w")  # audit: the analysis ran, then its flush was a traceback)
    _unbreakable_stdout()
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at the interpreter's exit: a small output fits the buffer until then
        return code
    except BrokenPipeError as e:
        if not _stdout_is_broken():  # another pipe (a --csv FIFO whose reader went): said, as any failed output
            return fail(f"an output's reader went away before everything was written ({_one_line(e)})", code=1)
        # the reader of our output went away (| head): stop quietly, as a Unix tool does
        _stdout_to_devnull()
        return 1
    except OSError as e:  # standard output cannot be written (a full disk, "> /dev/full"), or another file: one line
        if _stdout_failed(e):
            _stdout_to_devnull()
            return fail(f"standard output could not be written ({_one_line(e)})", code=1)
        return fail(f"{e.filename or 'a file'}: could not be read or written ({_one_line(e)})", code=1)
    finally:
        release_held_pipes()  # a named pipe held open while the work ran: its reader may see the end now


def _stdout_to_devnull() -> None:
    """Send what is left in standard output's buffer nowhere: Python's flush at exit must not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # no descriptor (a test's capture): nothing is flushed at exit
        pass


def _stdout_failed(e: OSError) -> bool:
    """Whether standard output is what failed with ``e``: it cannot be flushed now, or ``e`` is a write error raised
    by a line writing to it (a print or a flush of it: after a failed write the buffer may be gone, and the flush
    fine)."""
    import errno
    import traceback

    try:
        sys.stdout.flush()
    except OSError:
        return True
    if e.errno not in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EPIPE):
        return False
    frames = traceback.extract_tb(e.__traceback__)
    line = (frames[-1].line or "") if frames else ""
    return "stdout" in line or (("print(" in line or "say(" in line) and "stderr" not in line)


def _stdout_is_broken() -> bool:
    """Whether standard output is a pipe without a reader (POLLERR on its write end)."""
    import select

    if not hasattr(select, "poll"):  # Windows: no way to ask; take the broken pipe for stdout's
        return True
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO): it cannot be the broken pipe
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


_PLAIN_NEGATIVE = re.compile(r"-\d+|-\d*\.\d+")  # the negative numbers argparse itself reads as values


def _negative_number(token: str) -> bool:
    """Whether ``token`` is a negative number argparse would take for an option: "-inf", "-nan", "-1e9", "-.5e1"."""
    if not token.startswith("-") or token == "-" or _PLAIN_NEGATIVE.fullmatch(token):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def _joined_values(argv: list[str]) -> list[str]:
    """``argv`` with an option's value written as such a negative number ("--threshold -inf") joined to it
    ("--threshold=-inf"): argparse said "expected one argument" (an audit), where the option's own check has the
    right words for it.  Nothing after "--" (file names) is touched."""
    out: list[str] = []
    for k, token in enumerate(argv):
        if token == "--":
            return out + argv[k:]
        if out and out[-1].startswith("--") and out[-1] != "--" and "=" not in out[-1] and _negative_number(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        return importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
    args = _parser().parse_args(_joined_values(argv))
    if args.command == "models":
        return _models(args)
    return _scan(args)


def _models(args) -> int:
    from detector.errors import NoModelError
    from detector.models.store import install_model, list_models

    if args.default and not args.install:
        return fail("--default goes with --install CARD (it makes the model installed the default)")
    if args.architectures:
        return _architectures(args.json)
    if args.recipes:
        return _recipes(args.json)
    if args.install:
        try:
            path = install_model(args.install, default=args.default)
        except (OSError, NoModelError) as e:
            return fail(f"{args.install}: cannot install ({e})")
        print(f"installed {path}")

    cards = list_models()
    if args.json:
        print(json.dumps([{**asdict(c), "path": str(c.path)} for c in cards], indent=2))
    elif not cards:
        print("no trained model is installed (see README: Training)")
    width = max([24] + [len(c.name) for c in cards])  # a longer name kept its row out of line
    for c in cards if not args.json else []:
        auc = c.metrics.get("crossval_video_auc", c.metrics.get("video_auc"))
        auc = f"{auc:.3f}" if isinstance(auc, (int, float)) else auc
        kind = f"ensemble of {len(c.members)}" if c.members else c.architecture
        print(
            f"{c.name:{width}s} {kind:20s} {c.input_size:4d}px  threshold {c.threshold:.3f}  "
            f"AUC {auc if auc is not None else '?'}{'  (default)' if c.default else ''}  {c.path}"
        )
    return 0


def _faces_seen(report: dict) -> str:
    """How many faces a report's input showed, in words: a photo's face count ("1 face", "no face found"; a photo
    was "faces in 100% of 1 frames"), a video's share of sampled frames with a face it judged, and in how many of the
    others the faces found were too small to judge."""
    from detector.inference.report import all_too_small
    from detector.inference.stills import is_photo_report

    if is_photo_report(report["video"], report.get("video_info")):
        n = sum(len(fr.get("faces") or []) for fr in report["frames"])
        if n == 0:  # faces found but all too small to judge (pipeline.small_faces_warning) are not "no face"
            return "faces too small to judge" if all_too_small(report["frames"]) else "no face found"
        return f"{n} face{'s' if n > 1 else ''}"
    said = f"faces in {report['face_rate']:.0%} of {len(report['frames'])} frames"
    small = sum(bool(fr.get("too_small")) and not fr.get("faces") for fr in report["frames"])
    return said + (f" (too small to judge in {small})" if small else "")


def _architectures(as_json: bool) -> int:
    """``models --architectures``: the registry's architectures, one line each (or JSON)."""
    from detector.models.registry import REGISTRY

    rows = []
    for name in sorted(REGISTRY):
        a = REGISTRY[name]
        sizes = [f"{a.min_size} px and up"] if a.min_size > 1 else []
        sizes += [f"multiples of {a.size_multiple}"] if a.size_multiple > 1 else []
        sizes = ", ".join(sizes) or "any size"
        rows.append(
            {
                "name": name,
                "default_size": a.default_size,
                "min_size": a.min_size,
                "size_multiple": a.size_multiple,
                "sizes": sizes,
                "offline_imagenet": a.offline_imagenet is not None,
                "description": a.description,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['name']:20s} {r['default_size']:3d} px ({r['sizes']})  {r['description']}")
    return 0


def _recipes(as_json: bool) -> int:
    """``models --recipes``: the recipe index, one line each (or JSON), the default first, then what ships."""
    from detector.training.config import recipe_index

    order = {"default": 0, "shipped": 1}
    rows = [{"name": k, **v} for k, v in recipe_index().items()]
    rows.sort(key=lambda r: order.get(r["status"], 2))  # stable: the index's own order within a status
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        status = f"{r['status']}: {r['model']}" if r.get("model") else r["status"]
        note = " *" if r.get("measured") else ""
        print(f"{r['name']:34s} c23 {r['c23']:.3f}{note:2s} {status:30s} {r['summary']}")
    print("c23: pooled out-of-fold FF++ c23 video AUC on the default's 3 folds; * measured otherwise (see --json)")
    print("figures and commands: docs/results.md, at each recipe's `results` anchor")
    return 0


NOT_ANALYSED = "not analysed: the scan was stopped before it (with --jsonl FILE, the same command goes on from there)"


class Terminated(KeyboardInterrupt):
    """SIGTERM during a scan, taken as Ctrl-C is: what was analysed so far is written."""


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise :class:`Terminated` in the main thread; returns what puts the handler it replaced back (a
    no-op where none was replaced: scan called from another thread, a review found it crashed there)."""

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process, as a second Ctrl-C would
        raise Terminated()

    try:
        before = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: left as it is
        return lambda: None
    # a handler set from C reads as None, which cannot be set again: the default then
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)


def _append_csv(path: str, entries: list[dict]) -> str | None:
    """The rows of ``entries`` added to the CSV at ``path`` (``-``: standard output); why not, or None."""
    from detector.inference.report import CSV_FIELDS, SafeDictWriter, csv_rows_of

    try:
        if path == STDOUT:
            SafeDictWriter(sys.stdout, fieldnames=CSV_FIELDS).writerows(r for e in entries for r in csv_rows_of(e))
            return None
        with open(path, "a", newline="", encoding="utf-8", errors="surrogateescape") as fh:
            SafeDictWriter(fh, fieldnames=CSV_FIELDS).writerows(r for e in entries for r in csv_rows_of(e))
    except BrokenPipeError:  # `--csv - | head`: the reader went away; main ends quietly, as for the rows before
        raise
    except OSError as e:
        return write_failed("--csv", path, e)
    return None


def _scan(args) -> int:
    if args.jsonl == STDOUT:
        return fail("--jsonl needs a file: a rerun reads it back to skip what is done")
    if args.redo_older and not args.jsonl:
        return fail("--redo-older needs --jsonl FILE: it redoes that file's lines made by another version")
    targets = [("--json", args.json), ("--csv", args.csv), ("--jsonl", args.jsonl)]
    problem = check_outputs(targets, inputs=args.paths)  # before anything is loaded or analysed
    if not problem and args.jsonl:
        from detector.inference.batch import jsonl_problem

        reason = jsonl_problem(args.jsonl)
        problem = reason and f"--jsonl {args.jsonl}: {reason}"
    if problem:
        return fail(problem)

    from detector.errors import InputError, NoModelError, OutputError
    from detector.inference.batch import ScanSettings, key_path, scan_many
    from detector.inference.ray_engine import is_uri, list_inputs
    from detector.inference.report import CSV_FIELDS, SafeDictWriter, agreeing_figures, csv_rows_of, error_entry
    from detector.inference.video import list_videos, skipped_line

    if args.address and args.engine != "ray":
        return fail("--address needs --engine ray")
    if args.cam_faces and not args.cam:
        return fail("--cam-faces needs --cam METHOD (it bounds the faces explained)")
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            return fail("--engine ray needs Ray: pip install 'deepfake-lens[scale]'")
    videos: list[str] = []
    stats: dict[str, tuple] = {}
    failures: list[str] = []
    # what --json and --csv hold, in the order of the inputs: each input's report or error entry, and the paths given
    # that could not be listed (a folder with nothing to analyse); a file named twice (a folder and a file in it) is
    # analysed and listed once
    results: dict[str, dict] = {}
    listed: set[str] = set()
    named_again = 0

    listing_failures = [0]  # how many of the failures are paths or folders that could not be listed

    def listing_failed(path: str, message: str) -> None:
        failures.append(message)
        listing_failures[0] += 1
        results[f"listing:{len(results)}"] = error_entry(path, message)
        print(f"error: {printable(message)}", file=sys.stderr)

    for path in args.paths:
        try:
            unreadable: list[str] = []
            skipped: list[str] = []
            hidden: list[str] = []
            if args.engine == "ray":
                found = []
                for p, size, mtime in list_inputs(path, unreadable, skipped, hidden):
                    found.append(p)
                    stats[p] = (size, mtime)
            elif is_uri(path):
                raise InputError(f"{path}: a URI is read by the Ray engine only (add --engine ray)")
            else:
                found = list_videos(path, unreadable, skipped, hidden)
            for p in found:
                if key_path(p) in listed:
                    named_again += 1
                    continue
                listed.add(key_path(p))
                videos.append(p)
                results[key_path(p)] = {}  # its place in the outputs' order
            if skipped and not args.quiet:  # said, not counted as failed: a folder holds other files too
                print(printable(skipped_line(path, skipped)), file=sys.stderr)
            if hidden and not args.quiet:
                print(
                    printable(f"{path}: {len(hidden)} hidden file(s) or folder(s) left out (names starting with '.')"),
                    file=sys.stderr,
                )
            for message in unreadable:  # a folder below it that cannot be read: said, and counted as failed
                listing_failed(message.split(": ", 1)[0], message)
        except InputError as e:  # a folder with nothing to analyse: the other paths still are
            listing_failed(path, str(e))
    given = {key_path(v): v for v in videos}  # how the error entry of an input names it: as it was given
    if named_again and not args.quiet:
        print(f"{named_again} input(s) named more than once: each is analysed once", file=sys.stderr)
    if not videos:
        problem = _write_json(args, list(results.values())) or _write_listing_csv(args, list(results.values()))
        return fail(problem) if problem else 2
    settings = ScanSettings(
        model=args.model,
        frames=None if args.fps else args.frames,
        fps=args.fps,
        rule=args.rule,
        threshold=args.threshold,
        cam=args.cam,
        cam_faces=args.cam_faces or None,
        max_duration=args.max_duration,
    )
    reports: dict[str, dict] = {}  # absolute path -> report dict
    bar = None
    # a bar on a terminal only: into a log it wrote a frame per input, 6 KB of carriage returns for 25 (an audit)
    if len(videos) > 1 and not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(videos), unit="input", file=sys.stderr, dynamic_ncols=True)

    # each input's verdict (and its warnings) is the scan's result: on standard output, unless that carries the JSON
    # or CSV (a review: "scan photo.jpg > v.txt" left v.txt empty); errors and progress on standard error
    verdicts = sys.stderr if STDOUT in (args.json, args.csv) else sys.stdout

    def say(line: str, out=sys.stderr) -> None:
        line = printable(line)
        (bar.write(line, file=out) if bar else print(line, file=out, flush=True))

    table = writer = None
    if args.csv == STDOUT:
        table = sys.stdout
    elif args.csv:
        try:
            # a file name that is not UTF-8 is written as its own bytes, not refused half way through
            table = open(args.csv, "w", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            return fail(write_failed("--csv", args.csv, e))
    if table is not None:
        writer = SafeDictWriter(table, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for entry in results.values():  # the paths that could not be listed come first, as in the JSON
            if entry:
                writer.writerows(csv_rows_of(entry))
    interrupted, skipped_n = "", 0  # "interrupted" (Ctrl-C) or "terminated" (SIGTERM) when the scan was stopped
    csv_problem = output_problem = None
    notes: list[str] = []

    def csv_failed(e: OSError) -> str:  # said once, when it happens; the scan goes on without the CSV
        problem = write_failed("--csv", args.csv, e)
        say(f"error: {problem}")
        return problem

    # a scheduler's or `docker stop`'s SIGTERM, as Ctrl-C: it lost the JSON without a word (an archive audit)
    put_back_sigterm = _sigterm_as_interrupt()
    rows = None
    try:
        rows = scan_many(
            videos,
            settings,
            jsonl=args.jsonl,
            workers=args.workers if args.engine == "ray" else args.workers or 1,
            engine=args.engine,
            address=args.address,
            stats=stats,
            notes=None if args.quiet else notes,
            redo_older=args.redo_older,
        )
        for row, skipped in rows:
            while notes:  # said before the first result (the generator has read the --jsonl by then)
                say(notes.pop(0))
            skipped_n += skipped
            if "error" in row:
                failures.append(row["error"])
                if not skipped:
                    say(f"error: {row['error']}")
                model = str(row["key"].get("model") or "").split("@")[0] or None  # its key's "name@files"
                report = error_entry(given.get(row["key"]["path"], row["key"]["path"]), row["error"], model)
                results[row["key"]["path"]] = report
            else:
                report = row["report"]
                reports[row["key"]["path"]] = results[row["key"]["path"]] = report
            if writer is not None:  # rows as they come: an interrupted scan keeps them
                try:
                    writer.writerows(csv_rows_of(report))
                    table.flush()
                except OSError as e:  # a full disk: the scan goes on, the JSON is still written (a review)
                    if table is sys.stdout:
                        raise
                    csv_problem = csv_failed(e)
                    writer = None
            if "error" not in row and not args.quiet and not skipped:
                score, thr = (
                    ("n/a", f"{report['threshold']:.3f}")
                    if report["score"] is None
                    else agreeing_figures(report["score"], report["threshold"])
                )
                seq, sequence = report.get("sequence"), ""
                if seq:  # a temporal model: its sequence verdict and score too
                    s, t = (
                        ("n/a", f"{seq['threshold']:.3f}")
                        if seq["score"] is None
                        else agreeing_figures(seq["score"], seq["threshold"])
                    )
                    sequence = f"sequence {seq['label']} {s} at threshold {t}, "
                say(
                    f"{report['video']}: {report['label']} (score {score}, threshold {thr}, "
                    f"{sequence}{_faces_seen(report)}, {report['timings'].get('total', 0.0):.1f} s)",
                    verdicts,
                )
                for w in report["warnings"]:
                    say(f"  warning: {w}", verdicts)
            if bar:
                bar.update(1)
    except NoModelError as e:
        return fail(str(e))
    except BrokenPipeError:  # a ConnectionError too, but the reader of --csv - went away (| head): main ends quietly
        raise
    except ConnectionError as e:  # the Ray engine could not join --address
        return fail(f"--address {args.address}: cannot join the Ray cluster ({_one_line(e)})")
    except OutputError as e:  # the --jsonl could not be written: the results so far still go to --json
        output_problem = str(e)
        say(f"error: {output_problem}")
    except KeyboardInterrupt as e:
        interrupted = "terminated" if isinstance(e, Terminated) else "interrupted"
        rest = sum(not entry for entry in results.values())
        say(
            f"{interrupted}: writing the {len(reports)} result(s) of the inputs analysed so far"
            + (f"; the {rest} not analysed are listed as such" if rest else "")
        )
    finally:
        put_back_sigterm()
        if rows is not None:  # stopped mid-row: its workers end now, not when this returns (a review)
            rows.close()
        if bar:
            bar.close()
        if table is not None and table is not sys.stdout:
            try:
                table.close()
            except OSError as e:
                csv_problem = csv_problem or csv_failed(e)
    for note in notes:  # not said yet (no input was analysed after it)
        print(printable(note), file=sys.stderr)
    if skipped_n and not args.quiet:
        print(f"{skipped_n} input(s) already in {args.jsonl}: not analysed again", file=sys.stderr)
    if len(videos) > 1 and not args.quiet:  # the tally a long scan ends on (errors scroll away above: a review)
        tally = f"{len(reports)} of {len(videos)} input(s) with a result" + _labels_tally(list(reports.values()))
        unlisted = len(failures) - listing_failures[0]  # inputs that were analysed, or tried
        if unlisted:
            tally += f"; {unlisted} could not be analysed (each said above, as 'error: ...')"
        if listing_failures[0]:  # a path or folder that could not be listed is not one of the inputs counted (an
            # audit: "1 of 2 input(s) with a result; 2 could not be analysed" summed to three)
            tally += f"; {listing_failures[0]} path(s) or folder(s) could not be listed"
        print(tally, file=sys.stderr)
    # every input is in the outputs, as the README says: the rest of a scan stopped early (Ctrl-C, SIGTERM, a --jsonl
    # that could not be written) as not analysed (an archive audit)
    rest = {p: error_entry(given.get(p, p), NOT_ANALYSED, args.model) for p, entry in results.items() if not entry}
    if rest:
        results.update(rest)
        if args.csv and not csv_problem:
            csv_problem = _append_csv(args.csv, list(rest.values()))
    ordered = [entry for entry in results.values() if entry]  # input order
    problem = _write_json(args, ordered)
    if problem:
        return fail(problem)
    if csv_problem or output_problem:  # said when it happened; 2, as for any output that cannot be written
        return 2
    if not interrupted and args.csv and args.csv != STDOUT:
        try:
            _csv_in_input_order(args.csv, ordered)
        except KeyboardInterrupt:  # the CSV as written so far is whole: only its order is left as it came
            return 130
    return {"terminated": 143, "interrupted": 130}.get(interrupted) or (1 if failures else 0)


def _labels_tally(reports: list[dict]) -> str:
    """ ": 2 fake, 3 uncertain, 35 real (4 of them close to the threshold or split: fragile; 1 with a stretch of
    strongly fake frames)": what an archive scan found, and which verdicts to look at again (before, only the JSON
    said it, report by report); "" for none."""
    from detector.inference.report import FRAGILE, PART_FAKE, label_tally

    said = label_tally(r.get("label") for r in reports)
    if not said:
        return ""
    fragile = sum(any(FRAGILE.strip() in w for w in r.get("warnings") or ()) for r in reports)
    part = sum(any(w.startswith(PART_FAKE) for w in r.get("warnings") or ()) for r in reports)
    notes = [f"{fragile} fragile verdict(s): close to the threshold or split"] if fragile else []
    notes += [f"{part} clip(s) with a stretch of strongly fake frames"] if part else []
    return f": {said}" + (f" ({'; '.join(notes)})" if notes else "")


def _csv_in_input_order(path: str, entries: list[dict]) -> None:
    """The finished scan's --csv again, its rows in the inputs' order (as the JSON): written as results came, it
    was in the order inputs finished, which differs between runs with several workers and after a resume (an
    archive audit).  Replaced whole, and only where it is a plain file of its own (not a link, which would be
    replaced instead of its target: /dev/stdout as root; not one of several hard links) owned by this user; else it
    stays as written."""
    import stat
    import tempfile

    from detector.inference.report import write_csv

    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
            return
        fd, tmp = tempfile.mkstemp(prefix=".scan-", suffix=".csv", dir=os.path.dirname(os.path.abspath(path)))
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            write_csv(entries, f)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
    except BaseException as e:  # a full disk, or Ctrl-C: the temporary file goes, the CSV stays as it was written
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(e, OSError):
            raise


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _write_json(args, reports) -> str | None:
    if not args.json:
        return None
    data = [r if isinstance(r, dict) else r.to_dict() for r in reports]
    text = json.dumps(data[0] if len(data) == 1 and _single_input(args) else data, indent=2)
    if args.json == STDOUT:
        print(text)
        return None
    try:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    except OSError as e:
        return write_failed("--json", args.json, e)
    return None


def _write_listing_csv(args, entries: list[dict]) -> str | None:
    """The --csv of a scan with nothing to analyse: a row for each path that could not be listed (so that no earlier
    scan's table is left in its place, read as this one's)."""
    if not args.csv:
        return None
    from detector.inference.report import write_csv

    if args.csv == STDOUT:
        write_csv(entries, sys.stdout)
        return None
    try:
        with open(args.csv, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            write_csv(entries, f)
    except OSError as e:
        return write_failed("--csv", args.csv, e)
    return None


def _single_input(args) -> bool:
    return len(args.paths) == 1 and not os.path.isdir(args.paths[0])


if __name__ == "__main__":
    sys.exit(main())
