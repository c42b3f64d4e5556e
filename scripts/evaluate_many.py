"""``deepfake-lens evaluate`` for several models at once, each video decoded and its faces found once.

    python scripts/evaluate_many.py --models mesonet_df_authors,mesoinception_df_authors --out runs/x/c23 \\
        -- ../shared/data/ffpp --split all --report

Everything after ``--`` is ``deepfake-lens evaluate``'s own arguments (DATA, ``--split``, ``--label``,
``--frames``, ...; not ``--model``, ``--json`` or ``--report DIR``).  For each model this runs evaluate's own
``main`` (same items, same rows, same metrics, table and JSON) and writes ``OUT/<model>.json`` (and, with
``--report``, ``OUT/<model>/``).  The only difference: the videos are analysed item by item for all the models
in one pass, and :func:`detector.inference.pipeline.analyze`'s decoding and face detection of a video are reused
by the next model when the frames asked for, the limits and the face margin are the same (a copy of the
faces each time; the MesoNet cards all crop at margin 0.2).  Decoding and BlazeFace are deterministic, so each
model's figures are those a separate ``deepfake-lens evaluate --model M`` gives (checked: the 100 c23 scores of
mesonet_df_authors are equal), for four MesoNet models in about a third of the time of four separate runs.
``"seconds"`` in the first model's JSON is the whole pass.

The split is chosen from the first model's card: use it only with models of one split (or none, as peer models).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def reuse_detection() -> None:
    """Patch the pipeline so that analysing one path again (same frames, limits and margin, no transform, no kept
    frames) reuses its decoded frames' faces: a one-entry memo, right for item-outer, model-inner loops."""
    from detector.inference import pipeline

    find = pipeline.frames_and_faces
    memo: dict = {"key": None, "value": None}

    def frames_and_faces(video_path, *, transform=None, keep_frames=False, **kw):
        if transform is not None or keep_frames:
            return find(video_path, transform=transform, keep_frames=keep_frames, **kw)
        key = (str(video_path), repr(sorted(kw.items())))
        if memo["key"] != key:
            memo["key"], memo["value"] = key, find(video_path, **kw)
        return copy.deepcopy(memo["value"])  # analyze tracks the faces and writes scores into them

    pipeline.frames_and_faces = frames_and_faces


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", required=True, help="comma-separated model names or card paths")
    p.add_argument("--out", required=True, help="folder for <model>.json (and <model>/ with --report)")
    p.add_argument("--report", action="store_true", help="also write evaluate's --report files per model")
    args = p.parse_args(own)
    if any(a in ("--model", "--json", "--report") or a.startswith(("--model=", "--json=")) for a in rest):
        p.error("--model, --json and --report are set per model by this script")
    models = [m for m in args.models.split(",") if m]

    from detector.evaluation import evaluate
    from detector.models.classifier import load_model

    reuse_detection()
    clfs = [load_model(m) for m in models]
    done: dict[tuple, dict[str, list[dict]]] = {}
    run_all = evaluate.evaluate_items

    def evaluate_items(items, clf, levels, frames, progress=True):
        key = (tuple(it.path for it in items), tuple(levels), frames)
        if key not in done:  # the first model: one pass over the items for every model
            from tqdm import tqdm

            rows = {c.name: [] for c in clfs}
            for item in tqdm(items, unit="item", file=sys.stderr, disable=not progress, desc="evaluating"):
                for c in clfs:
                    rows[c.name] += run_all([item], c, levels, frames, progress=False)
            done[key] = rows
        return done[key][clf.name]

    evaluate.evaluate_items = evaluate_items
    out, code = Path(args.out), 0
    for m, clf in zip(models, clfs):
        extra = ["--model", m, "--json", str(out / f"{clf.name}.json")]
        if args.report:
            extra += ["--report", str(out / clf.name)]
        code = max(code, evaluate.main(rest + extra))
    return code


if __name__ == "__main__":
    sys.exit(main())
