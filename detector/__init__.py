"""deepfake-lens, an explainable deepfake detector: input -> frames -> faces -> scores -> explanations -> report.

from detector import analyze
report = analyze("clip.mp4", frames=32, cam="gradcam")   # or a photo
print(report.label, report.score)
"""

import os

# OpenMP threads that wait for work sleep instead of spinning: beside another CPU-heavy process on 2 cores, the
# spinning threads of both fought for the cores (full analysis with CAM at 720p: 1.28 s alone, 8.96 s beside a
# torch neighbour; passive: 2.06 s, bench/speed.py --contended).  Read by OpenMP when torch loads, so it is set
# before anything imports torch; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from detector.errors import InputError, NoModelError  # noqa: E402
from detector.inference.pipeline import analyze  # noqa: E402
from detector.inference.report import Report  # noqa: E402

__all__ = ["analyze", "Report", "InputError", "NoModelError"]
