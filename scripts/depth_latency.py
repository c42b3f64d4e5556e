"""Per-face cost of the depth stream: the FaceMesh depth map of a 200 px astronaut face crop, and the 3 fold rgbd
heads over a 32-step track; 2 torch threads, median of 15 after 3 warm-ups.

    python scripts/depth_latency.py     # after deepfake-lens train-depth ... --export (runs/depth)
"""

import statistics
import time

import cv2
import numpy as np
import torch
from skimage import data

from detector.inference.depth import depth_maps
from detector.models.classifier import load_model

torch.set_num_threads(2)
crop = cv2.resize(np.ascontiguousarray(data.astronaut()[40:210, 140:310]), (200, 200))
crops = [crop] * 32
clf = load_model("runs/depth/effnet_rgbd/effnet_rgbd.json")
emb = [np.random.default_rng(0).normal(size=(32, 1280)).astype(np.float32)] * 3


def timed(fn):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(15):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


maps, found = depth_maps(crops)
print(f"depth map: {timed(lambda: depth_maps(crops)) / 32 * 1000:.1f} ms a face ({int(found.sum())}/32 found)")
print(f"rgbd heads (3 folds): {timed(lambda: clf.sequence(emb, maps)) / 32 * 1000:.2f} ms a face (32-step track)")
print("parameters per head:", sum(p.numel() for p in clf.heads[0].parameters()))
print("of which depth CNN:", sum(p.numel() for p in clf.heads[0].depth.parameters()))
