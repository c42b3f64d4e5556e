"""The exported RGB + depth fold heads rescored out of fold with their depth maps replaced (zeros; another face's
maps), the paired AUC difference rgbd - transformer, and the c23 / c40 AUCs by method.

    python scripts/depth_ablation.py    # after deepfake-lens train-depth ... --export (runs/depth)
"""

import json
from pathlib import Path

import numpy as np

from detector.evaluation.metrics import metrics_block, paired_auc_difference
from detector.models.classifier import load_model
from detector.training.depth import score_rgbd_head
from detector.training.temporal import load_embeddings, steps_of

r = json.load(open("runs/depth/crossval.json"))
oof = [v for v in r["videos"] if v["fold"] >= 0]
y = [v["label"] for v in oof]
print("rgbd - transformer, 95%:", paired_auc_difference(y, [v["rgbd"] for v in oof], [v["transformer"] for v in oof]))
for name, vs in {
    "c23": [v for v in oof if v["source"] == "ffpp"],
    "c40 (8 YouTube reals, 32 fakes)": [v for v in oof if v["source"] == "ffpp_c40"],
}.items():
    reals = [v for v in vs if v["label"] == 0]
    row = []
    for key in ("backbone_mean", "transformer", "rgbd"):
        b = metrics_block([v["label"] for v in vs], [v[key] for v in vs], ci=True)
        by = []
        for m in ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"):
            s = reals + [v for v in vs if v["method"] == m]
            a = metrics_block([v["label"] for v in s], [v[key] for v in s])["auc"]
            by.append(None if a is None else round(a, 3))
        row.append(f"{key} {b['auc']:.3f} ({b['auc_ci95'][0]:.2f}-{b['auc_ci95'][1]:.2f}) by method {by}")
    print(name, f"({len(reals)} reals, {len(vs) - len(reals)} fakes)")
    print("  " + "\n  ".join(row))

clf = load_model("runs/depth/effnet_rgbd/effnet_rgbd.json")
z = np.load("runs/depth/depth64.npz")
depth = z["depth"]
rng = np.random.default_rng(0)
scores = {"depth": {}, "zeros": {}, "shuffled": {}}
for k in range(3):
    tracks, emb, _ = load_embeddings(Path("runs/temporal"), k)
    test = [t for t in tracks if t["main"] and t["fold"] == k and len(steps_of(t, 2, 0))]
    main_rows = np.concatenate([steps_of(t, 1) for t in tracks if t["main"]])
    shuffled = depth.copy()
    shuffled[main_rows] = depth[rng.permutation(main_rows)]  # each face gets some other face's map
    for name, d in (("depth", depth), ("zeros", np.zeros_like(depth)), ("shuffled", shuffled)):
        s, _ = score_rgbd_head(clf.heads[k], test, emb, d, 2, 32)
        scores[name].update({t["video"]: float(x) for t, x in zip(test, s)})
ref = {v["video"]: v["rgbd"] for v in oof}
print("exported heads reproduce the crossval scores:", max(abs(scores["depth"][k] - ref[k]) for k in ref) < 1e-5)
for name, s in scores.items():
    b = metrics_block(y, [s[v["video"]] for v in oof], ci=True)
    diff = np.abs(np.array([s[v["video"]] for v in oof]) - np.array([scores["depth"][v["video"]] for v in oof]))
    print(
        f"depth maps {name}: AUC {b['auc']:.3f} ({b['auc_ci95'][0]:.2f}-{b['auc_ci95'][1]:.2f}), "
        f"median |score change| {np.median(diff):.4f}, max {diff.max():.4f}"
    )
