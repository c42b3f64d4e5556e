"""The command line, ``deepfake-lens`` (also ``python -m detector``)::

    deepfake-lens scan PATH [PATH...] [--frames N] [--json OUT] [--csv OUT]   videos, photos or folders of them
    deepfake-lens models [--install CARD [--default]]                          the installed models
    deepfake-lens train [--recipe NAME|FILE] [flags]                            detector.training.run
    deepfake-lens evaluate DATA [--split val|heldout|...]                       detector.evaluation.evaluate
    deepfake-lens crossval RUN_DIR...                                           detector.evaluation.crossval
    deepfake-lens ensemble RUN_DIR... --name NAME                               detector.training.ensemble

Bad input ends with a one-line message on stderr and a non-zero exit code, never a
traceback.  Exit codes: 0 all inputs analysed; 1 some could not be analysed (the
others are still written); 2 bad arguments or no model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepfake-lens", description="Explainable deepfake detector for videos and photos")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scan", help="score videos and photos (files or folders)")
    s.add_argument("paths", nargs="+", metavar="PATH", help="video or photo files, or folders of them")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--frames", type=int, default=32, help="frames sampled evenly over each clip (default 32)")
    g.add_argument("--fps", type=float, help="sample this many frames per second instead")
    s.add_argument("--model", help="model name in assets/models, or a path to its .json card (default: the default)")
    s.add_argument("--rule", choices=["confident", "mean"], default="confident", help="frame-to-video aggregation")
    s.add_argument("--threshold", type=float, help="fake if score >= threshold (default: the model card's)")
    s.add_argument("--cam", help="also compute CAM explanations with this method (e.g. gradcam)")
    s.add_argument("--json", metavar="OUT", help="write the report(s) as JSON ('-' for stdout)")
    s.add_argument("--csv", metavar="OUT", help="write one row per face (and per faceless frame) as CSV")
    s.add_argument("--max-duration", type=float, default=600.0, help="longest clip accepted, seconds (default 600)")
    s.add_argument("--quiet", action="store_true", help="no progress bar or summary lines")
    m = sub.add_parser("models", help="list the installed models, or install one from a training run")
    m.add_argument("--json", action="store_true")
    m.add_argument(
        "--install",
        metavar="CARD",
        help="copy a trained model (its .json card and weights) into the user's model folder",
    )
    m.add_argument("--default", action="store_true", help="with --install: make it the default model")
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return p


# subcommands with a parser of their own: deepfake-lens NAME ARGS... runs MODULE.main(ARGS)
DELEGATED = {
    "train": ("detector.training.run", "train a face classifier with fastai (see --recipe)"),
    "evaluate": ("detector.evaluation.evaluate", "evaluate a model on a labelled data set, clean and perturbed"),
    "crossval": ("detector.evaluation.crossval", "pool the runs of a cross-validation"),
    "ensemble": ("detector.training.ensemble", "make one model of the fold runs of a cross-validation"),
    "import-mesonet": ("detector.models.mesonet_import", "convert the MesoNet authors' Keras weights into model cards"),
}


def _fail(msg: str, code: int = 2) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return code


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
        auc = c.metrics.get("video_auc")
        kind = f"ensemble of {len(c.members)}" if c.members else c.architecture
        print(
            f"{c.name:24s} {kind:20s} {c.input_size:4d}px  threshold {c.threshold:.3f}  "
            f"AUC {auc if auc is not None else '?'}{'  (default)' if c.default else ''}  {c.path}"
        )
    return 0


def _scan(args) -> int:
    from detector.errors import InputError, NoModelError
    from detector.inference.pipeline import analyze
    from detector.inference.report import write_csv
    from detector.inference.video import Limits, list_videos
    from detector.models.classifier import load_model

    if args.frames is not None and args.frames < 1:
        return _fail("--frames must be at least 1")
    try:
        clf = load_model(args.model)
    except NoModelError as e:
        return _fail(str(e))
    videos: list[str] = []
    for path in args.paths:
        try:
            videos.extend(list_videos(path))
        except InputError as e:
            return _fail(str(e))
    limits = Limits(max_duration_s=args.max_duration)
    reports, failures = [], []
    bar = None
    if len(videos) > 1 and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(videos), unit="video", file=sys.stderr, dynamic_ncols=True)
    for path in videos:
        try:
            report = analyze(
                path,
                frames=None if args.fps else args.frames,
                fps=args.fps,
                model=clf,
                rule=args.rule,
                threshold=args.threshold,
                cam=args.cam,
                limits=limits,
            )
            reports.append(report)
            if not args.quiet:
                line = (
                    f"{path}: {report.label} (score {report.score:.3f}, threshold {report.threshold:.3f}, "
                    f"faces in {report.face_rate:.0%} of {len(report.frames)} frames, "
                    f"{report.timings['total']:.1f} s)"
                )
                (bar.write(line, file=sys.stderr) if bar else print(line, file=sys.stderr))
                for w in report.warnings:
                    (
                        bar.write(f"  warning: {w}", file=sys.stderr)
                        if bar
                        else print(f"  warning: {w}", file=sys.stderr)
                    )
        except InputError as e:
            failures.append(str(e))
            (bar.write(f"error: {e}", file=sys.stderr) if bar else print(f"error: {e}", file=sys.stderr))
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    _write_outputs(args, reports, write_csv)
    return 1 if failures else 0


def _write_outputs(args, reports, write_csv) -> None:
    if args.json:
        data = [r.to_dict() for r in reports]
        text = json.dumps(data[0] if len(data) == 1 and _single_input(args) else data, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            write_csv(reports, f)


def _single_input(args) -> bool:
    return len(args.paths) == 1 and not os.path.isdir(args.paths[0])


if __name__ == "__main__":
    sys.exit(main())
