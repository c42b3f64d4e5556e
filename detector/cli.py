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
--json/--csv target that cannot be written (checked before any analysis); 130
interrupted (Ctrl-C: what was analysed so far is still written).

One input that fails, in any way, never costs the others: its error is printed and
the scan goes on.  CSV rows are written as each input is analysed; the JSON at the
end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import stat
import sys
from dataclasses import asdict

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: ...``) and exit code 2, like every other refusal."""

    def error(self, message: str):
        message = " ".join(str(message).split())
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text!r}")
    return value


def _frame_count(text: str) -> int:
    """A whole number of frames, at least 1 and at most the decoder's limit (checked before anything runs)."""
    from detector.inference.video import Limits

    value = _number(text)  # "5e7" is a number too: refused below by the limit, not as a typo
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a whole number of frames, at least 1, not {text!r}")
    if value > Limits.max_frames:
        raise argparse.ArgumentTypeError(f"at most {Limits.max_frames} frames may be sampled, not {text!r}")
    return int(value)


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"{n}: give 1 to 64 workers")
    return n


def _model_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: give a model name (deepfake-lens models lists them) or a card path")
    return text


def _probability(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="deepfake-lens", description="Explainable deepfake detector for videos and photos")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scan", help="score videos and photos (files or folders)")
    s.add_argument("paths", nargs="+", metavar="PATH", help="video or photo files, or folders of them")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--frames", type=_frame_count, default=32, help="frames sampled evenly over each clip (default 32)")
    g.add_argument("--fps", type=_positive, help="sample this many frames per second instead")
    s.add_argument(
        "--model",
        type=_model_name,
        help="model name in assets/models, or a path to its .json card (default: the default)",
    )
    s.add_argument("--rule", choices=["confident", "mean"], default="confident", help="frame-to-video aggregation")
    s.add_argument("--threshold", type=_probability, help="fake if score >= threshold (default: the model card's)")
    s.add_argument("--cam", help="also compute CAM explanations with this method (e.g. gradcam)")
    s.add_argument("--json", metavar="OUT", help="write the report(s) as JSON ('-' for stdout)")
    s.add_argument("--csv", metavar="OUT", help="write one row per face (and per faceless frame) as CSV")
    s.add_argument("--max-duration", type=_positive, default=600.0, help="longest clip accepted, seconds (default 600)")
    s.add_argument(
        "--jsonl",
        metavar="OUT",
        help="append one JSON line per input as it finishes; a rerun skips the inputs already there (same file, "
        "size, modification time, model and settings): an interrupted archive scan resumes where it stopped",
    )
    s.add_argument(
        "--workers",
        type=_workers,
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
    s.add_argument("--quiet", action="store_true", help="no progress bar or summary lines")
    m = sub.add_parser("models", help="list the installed models, or install one from a training run")
    m.add_argument("--json", action="store_true")
    m.add_argument(
        "--install",
        metavar="CARD",
        help="copy a trained model (its .json card and weights) into the user's model folder",
    )
    m.add_argument("--default", action="store_true", help="with --install: make it the default model")
    m.add_argument(
        "--architectures",
        action="store_true",
        help="list the architectures train --arch takes (input sizes, offline ImageNet weights) instead",
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
    "import-mesonet": ("detector.models.mesonet_import", "convert the MesoNet authors' Keras weights into model cards"),
}


def _fail(msg: str, code: int = 2) -> int:
    print(f"error: {_printable(msg)}", file=sys.stderr)
    return code


_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _printable(text: str) -> str:
    """``text`` as one line: control characters and line breaks (a newline in a file name) written as escapes."""
    return _BREAKS.sub(lambda m: repr(m.group())[1:-1], text)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        return importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "models":
        return _models(args)
    return _scan(args)


def _models(args) -> int:
    from detector.errors import NoModelError
    from detector.models.store import install_model, list_models

    if args.architectures:
        return _architectures(args.json)
    if args.install:
        try:
            path = install_model(args.install, default=args.default)
        except (OSError, NoModelError) as e:
            return _fail(f"{args.install}: cannot install ({e})")
        print(f"installed {path}")

    cards = list_models()
    if args.json:
        print(json.dumps([{**asdict(c), "path": str(c.path)} for c in cards], indent=2))
    elif not cards:
        print("no trained model is installed (see README: Training)")
    for c in cards if not args.json else []:
        auc = c.metrics.get("crossval_video_auc", c.metrics.get("video_auc"))
        auc = f"{auc:.3f}" if isinstance(auc, (int, float)) else auc
        kind = f"ensemble of {len(c.members)}" if c.members else c.architecture
        print(
            f"{c.name:24s} {kind:20s} {c.input_size:4d}px  threshold {c.threshold:.3f}  "
            f"AUC {auc if auc is not None else '?'}{'  (default)' if c.default else ''}  {c.path}"
        )
    return 0


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


def _scan(args) -> int:
    problem = _check_outputs(args)  # before anything is loaded or analysed
    if problem:
        return _fail(problem)

    import csv

    from detector.errors import InputError, NoModelError
    from detector.inference.batch import ScanSettings, key_path, scan_many
    from detector.inference.ray_engine import is_uri, list_inputs
    from detector.inference.report import CSV_FIELDS, csv_rows_of
    from detector.inference.video import list_videos

    if args.address and args.engine != "ray":
        return _fail("--address needs --engine ray")
    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            return _fail("--engine ray needs Ray: pip install 'deepfake-lens[scale]'")
    videos: list[str] = []
    stats: dict[str, tuple] = {}
    failures: list[str] = []
    for path in args.paths:
        try:
            if args.engine == "ray":
                for p, size, mtime in list_inputs(path):
                    videos.append(p)
                    stats[p] = (size, mtime)
            elif is_uri(path):
                raise InputError(f"{path}: a URI is read by the Ray engine only (add --engine ray)")
            else:
                videos.extend(list_videos(path))
        except InputError as e:  # a folder with nothing to analyse: the other paths still are
            failures.append(str(e))
            print(f"error: {_printable(str(e))}", file=sys.stderr)
    if not videos:
        return 2
    settings = ScanSettings(
        model=args.model,
        frames=None if args.fps else args.frames,
        fps=args.fps,
        rule=args.rule,
        threshold=args.threshold,
        cam=args.cam,
        max_duration=args.max_duration,
    )
    reports: dict[str, dict] = {}  # absolute path -> report dict
    bar = None
    if len(videos) > 1 and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(videos), unit="input", file=sys.stderr, dynamic_ncols=True)

    def say(line: str) -> None:
        line = _printable(line)
        (bar.write(line, file=sys.stderr) if bar else print(line, file=sys.stderr))

    table = writer = None
    if args.csv:
        try:
            # a file name that is not UTF-8 is written as its own bytes, not refused half way through
            table = open(args.csv, "w", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            return _fail(f"--csv {args.csv}: cannot be written ({e.strerror or e})")
        writer = csv.DictWriter(table, fieldnames=CSV_FIELDS)
        writer.writeheader()
    interrupted, skipped_n = False, 0
    try:
        rows = scan_many(
            videos,
            settings,
            jsonl=args.jsonl,
            workers=args.workers if args.engine == "ray" else args.workers or 1,
            engine=args.engine,
            address=args.address,
            stats=stats,
        )
        for row, skipped in rows:
            skipped_n += skipped
            if "error" in row:
                failures.append(row["error"])
                if not skipped:
                    say(f"error: {row['error']}")
            else:
                report = row["report"]
                reports[row["key"]["path"]] = report
                if writer is not None:  # rows as they come: an interrupted scan keeps them
                    writer.writerows(csv_rows_of(report))
                    table.flush()
                if not args.quiet and not skipped:
                    score = "n/a" if report["score"] is None else f"{report['score']:.3f}"
                    seq, sequence = report.get("sequence"), ""
                    if seq:  # a temporal model: its sequence verdict and score too
                        s = "n/a" if seq["score"] is None else f"{seq['score']:.3f}"
                        sequence = f"sequence {seq['label']} {s} at threshold {seq['threshold']:.6g}, "
                    say(
                        f"{report['video']}: {report['label']} (score {score}, threshold {report['threshold']:.3f}, "
                        f"{sequence}faces in {report['face_rate']:.0%} of {len(report['frames'])} frames, "
                        f"{report['timings'].get('total', 0.0):.1f} s)"
                    )
                    for w in report["warnings"]:
                        say(f"  warning: {w}")
            if bar:
                bar.update(1)
    except NoModelError as e:
        return _fail(str(e))
    except ConnectionError as e:  # the Ray engine could not join --address
        return _fail(f"--address {args.address}: cannot join the Ray cluster ({_one_line(e)})")
    except KeyboardInterrupt:
        interrupted = True
        say(f"interrupted: writing the {len(reports)} result(s) of the inputs analysed so far")
    finally:
        if bar:
            bar.close()
        if table is not None:
            table.close()
    if skipped_n and not args.quiet:
        print(f"{skipped_n} input(s) already in {args.jsonl}: not analysed again", file=sys.stderr)
    ordered = [reports[p] for p in (key_path(v) for v in videos) if p in reports]  # input order
    problem = _write_json(args, ordered)
    if problem:
        return _fail(problem)
    return 130 if interrupted else 1 if failures else 0


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _check_outputs(args) -> str | None:
    """Why the --json or --csv target cannot be written, or None: checked before any analysis."""
    targets = [("--json", args.json), ("--csv", args.csv), ("--jsonl", args.jsonl)]
    targets = [(flag, t) for flag, t in targets if t and not (flag == "--json" and t == "-")]
    if len({os.path.abspath(t) for _, t in targets}) < len(targets):
        return "--json, --csv and --jsonl must name different files"
    for flag, target in targets:
        problem = _unwritable(target)
        if problem:
            return f"{flag} {target}: {problem}"
    return None


def _unwritable(path: str) -> str | None:
    if os.path.isdir(path):
        return "is a folder; give a file name"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no such folder ({folder})"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    if mode is not None and stat.S_ISFIFO(mode):
        return None  # a named pipe: opening it here would wait for its reader
    try:
        with open(path, "a"):  # "a": an existing file is left as it is until the results are written
            pass
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    if mode is None:
        try:
            os.remove(path)  # created only to try: no empty file is left if the scan stops before writing
        except OSError:
            pass
    return None


def _write_json(args, reports) -> str | None:
    if not args.json:
        return None
    data = [r if isinstance(r, dict) else r.to_dict() for r in reports]
    text = json.dumps(data[0] if len(data) == 1 and _single_input(args) else data, indent=2)
    if args.json == "-":
        print(text)
        return None
    try:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    except OSError as e:
        return f"--json {args.json}: cannot be written ({e.strerror or e})"
    return None


def _single_input(args) -> bool:
    return len(args.paths) == 1 and not os.path.isdir(args.paths[0])


if __name__ == "__main__":
    sys.exit(main())
