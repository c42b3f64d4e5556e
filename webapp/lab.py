"""The failure lab: run the same clip through the pipeline with and without a perturbation.

Teaching aid: how much does a verdict move when the video is re-compressed, blurred,
mirrored...?  Every run goes through :func:`detector.inference.pipeline.analyze` with a frame
``transform`` from :mod:`detector.evaluation.perturb`; nothing here re-implements the pipeline.

    original, perturbed = compare(path, "jpeg", 0.8, model="...", frames=16)
    reports = levels(path, model="...")          # {"none": Report, "fliprot": ..., "heavy": ...}
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detector.evaluation.perturb import DESCRIPTIONS, LEVELS, PERTURBATIONS, make_transform
from detector.inference.pipeline import analyze
from detector.inference.report import Report

Progress = Callable[[float, str], None]


def _part(progress: Progress | None, start: float, span: float, label: str) -> Progress:
    """Map one run's progress (0..1) into ``[start, start + span]`` of the whole job, labelled."""
    if progress is None:
        return lambda f, d: None
    return lambda f, d: progress(start + span * f, f"{label}: {d}")


def describe(name: str, strength: float) -> str:
    """A short human description: 'jpeg 0.80 (JPEG re-compression ...)' or a level's steps."""
    if name in LEVELS:
        return f"{name}: {LEVELS[name].describe()}"
    return f"{name} at strength {strength:.2f} ({DESCRIPTIONS.get(name, name)})"


def run(
    video: str,
    name: str | None,
    strength: float = 0.5,
    *,
    model=None,
    frames: int = 16,
    threshold: float | None = None,
    seed: int = 0,
    limits=None,
    progress: Progress | None = None,
    label: str = "",
) -> Report:
    """One analysis of ``video`` with perturbation/level ``name`` (None: unchanged); frames are kept."""
    transform = None if name in (None, "", "none") else make_transform(name, strength, seed)
    kwargs = {"limits": limits} if limits is not None else {}
    return analyze(
        video,
        frames=frames,
        model=model,
        threshold=threshold,
        cam=None,
        keep_frames=True,
        transform=transform,
        progress=_part(progress, 0.0, 1.0, label or (name or "original")),
        **kwargs,
    )


def compare(
    video: str,
    name: str,
    strength: float,
    *,
    original: Report | None = None,
    progress: Progress | None = None,
    **kwargs,
) -> tuple[Report, Report]:
    """(unchanged, perturbed) reports of ``video``; pass ``original`` to reuse an earlier unchanged run."""
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
    if original is None:
        original = run(video, None, progress=_part(progress, 0.0, 0.5, "original"), **kwargs)
    perturbed = run(video, name, strength, progress=_part(progress, 0.5, 0.5, f"{name} {strength:.2f}"), **kwargs)
    return original, perturbed


def levels(video: str, *, progress: Progress | None = None, **kwargs) -> dict[str, Report]:
    """One report per robustness level of :data:`detector.evaluation.perturb.LEVELS` (none, fliprot, heavy)."""
    out = {}
    n = len(LEVELS)
    for i, name in enumerate(LEVELS):
        out[name] = run(video, name, progress=_part(progress, i / n, 1 / n, name), **kwargs)
    return out


def preview_position(report: Report) -> int:
    """Position of the frame to show: the face frame nearest the middle of the clip (else the middle)."""
    if not report.frames:
        return 0
    mid = len(report.frames) // 2
    with_face = [i for i, fr in enumerate(report.frames) if fr.faces]
    return min(with_face, key=lambda i: abs(i - mid)) if with_face else mid


def frame_at(report: Report, pos: int) -> np.ndarray | None:
    if not report.frames or not report.frame_images:
        return None
    return report.frame_images.get(report.frames[min(pos, len(report.frames) - 1)].index)


__all__ = ["run", "compare", "levels", "describe", "preview_position", "frame_at"]
