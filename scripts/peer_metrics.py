"""Write the figures ``deepfake-lens evaluate --json`` measured for a peer model (weights trained by others, on
none of our data) into its card's ``metrics``.

    python scripts/peer_metrics.py assets/models/mesonet_df_authors.json \\
        --c23 runs/mesonet/c23/mesonet_df_authors.json \\
        --c40 runs/mesonet/c40/mesonet_df_authors.json --utk runs/mesonet/utk/mesonet_df_authors.json \\
        --wild runs/mesonet/wild/mesonet_df_authors.json --command "python scripts/evaluate_many.py ..."

Every figure is copied from the evaluation files, except the c40 AUC without the DeepFakeDetection actor clips
(``c40_video_auc_youtube``: the 8 YouTube reals against the 32 fakes, as the cross-validation of
``effnet_realfaces`` reports its c40 figure), computed here from the evaluation's per-video scores with
:func:`detector.evaluation.metrics.metrics_block`.  The card says they are
unseen-by-the-model figures (``unseen``: true), not out-of-fold or validation-split ones.  Refuses an evaluation
of another model or at another threshold than the card's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load(path: str | None, card: dict) -> dict | None:
    if not path:
        return None
    ev = json.loads(Path(path).read_text())
    if ev["model"] != card["name"] or abs(ev["threshold"] - card["threshold"]) > 1e-9:
        sys.exit(f"{path}: an evaluation of {ev['model']} at {ev['threshold']}, not of {card['name']}")
    if ev["frames"] != 32 or "none" not in ev["levels"]:
        sys.exit(f"{path}: not a clean 32-frame evaluation")
    return ev["levels"]["none"]


def _auc(block: dict) -> float | None:
    return None if block.get("auc") is None else round(block["auc"], 3)


def _alarms(level: dict, name: str = "all") -> str:
    row = next(r for r in level["false_alarms"] if r["name"] == name)
    return f"{row['false_alarms']} of {row['reals']}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("card")
    p.add_argument("--c23", required=True, help="evaluate --json of FaceForensics++ c23 (all videos)")
    p.add_argument("--c40", help="evaluate --json of ffpp_c40 (all videos)")
    p.add_argument("--utk", help="evaluate --json of faces_utk --split heldout")
    p.add_argument("--wild", help="evaluate --json of wild_real --label real")
    p.add_argument("--command", required=True, help="the command that made the evaluation files")
    args = p.parse_args(argv)
    path = Path(args.card)
    card = json.loads(path.read_text())
    from detector.evaluation.metrics import metrics_block

    c23, c40, utk, wild = (_load(f, card) for f in (args.c23, args.c40, args.utk, args.wild))
    c40_videos = json.loads(Path(args.c40).read_text())["videos"] if args.c40 else []
    m = {
        "video_auc": _auc(c23["video"]),
        "video_auc_ci95": c23["video"].get("auc_ci95"),
        "unseen": True,
        "out_of_fold": False,
        "measured_on": f"all {c23['videos']} FaceForensics++ c23 videos of ../shared/data/ffpp (none trained on by "
        "these weights), 32 frames each, this project's pipeline",
        "by_method": {k: _auc(v["video"]) for k, v in c23["by_method"].items()},
        "frame_auc": _auc(c23["frame"]),
        "false_alarms_ffpp_c23_reals": _alarms(c23),
    }
    if c40:
        m["c40_video_auc"] = _auc(c40["video"])  # every c40 video, the 10 actor clips among the reals
        youtube = [v for v in c40_videos if v["score"] is not None and v["source"] == "ffpp_c40"]
        yt = metrics_block(
            [int(v["label_name"] == "fake") for v in youtube], [v["score"] for v in youtube], card["threshold"], ci=True
        )
        m["c40_video_auc_youtube"] = _auc(yt)
        m["c40_video_auc_youtube_ci95"] = yt.get("auc_ci95")
        m["c40_by_method"] = {k: _auc(v["video"]) for k, v in c40["by_method"].items()}
        m["false_alarms_ffpp_c40_reals"] = {
            r["name"]: f"{r['false_alarms']} of {r['reals']}" for r in c40.get("false_alarms_by_source", [])
        }
    if utk:
        m["false_alarms_utk_heldout"] = {r["name"]: f"{r['false_alarms']} of {r['reals']}" for r in utk["false_alarms"]}
        m["utk_heldout_no_face"] = utk["no_face"]
    if wild:
        m["false_alarms_wild_real"] = _alarms(wild)
    m["threshold"] = card["threshold"]
    m["command"] = args.command
    card["metrics"] = m
    path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
