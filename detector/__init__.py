"""Deepfake video detector: video -> sampled frames -> faces -> scores -> explanations -> report.

from detector import analyze
report = analyze("clip.mp4", frames=32, cam="gradcam")
print(report.label, report.score)
"""

from detector.errors import InputError, NoModelError
from detector.inference.pipeline import analyze
from detector.inference.report import Report

__all__ = ["analyze", "Report", "InputError", "NoModelError"]
