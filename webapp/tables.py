"""The per-frame table shown in the app, and the CSV / JSON files it offers for download.

The downloads are exactly what the CLI writes (``Report.csv_text`` / ``Report.to_json``),
so a file saved from the app and one from ``python -m detector scan`` read the same.
"""

from __future__ import annotations

import os
import re

from detector.inference.report import Report, csv_text

HEADERS = [
    "frame",
    "time (s)",
    "face",
    "fake probability",
    "x",
    "y",
    "w",
    "h",
    "detector confidence",
    "CAM drop (blur)",
    "CAM mass on face",
]


def table_rows(report: Report) -> list[list]:
    """One row per face, and one (face columns empty) per sampled frame where no face was found."""
    rows = []
    for fr in report.frames:
        if not fr.faces:
            rows.append([fr.index, round(fr.time, 3), "none", None, None, None, None, None, None, None, None])
        for f in fr.faces:
            x, y, w, h = (int(v) for v in f.box)
            exp = f.explanation or {}
            rows.append(
                [
                    fr.index,
                    round(fr.time, 3),
                    f.identity,
                    round(float(f.score), 4),
                    x,
                    y,
                    w,
                    h,
                    round(float(f.confidence), 3),
                    exp.get("drop_blur"),
                    exp.get("face_mass"),
                ]
            )
    return rows


def stem(report: Report) -> str:
    """The downloads' file-name stem: the input's base name without extension, made safe."""
    base = os.path.splitext(os.path.basename(report.video))[0] or "video"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:60]


def write_downloads(report: Report, folder: str) -> tuple[str, str]:
    """Write ``<video>_report.csv`` and ``<video>_report.json`` (the CLI's schema) into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    name = stem(report)
    csv_path = os.path.join(folder, f"{name}_report.csv")
    json_path = os.path.join(folder, f"{name}_report.json")
    with open(csv_path, "w", newline="") as fh:
        fh.write(csv_text([report]))
    with open(json_path, "w") as fh:
        fh.write(report.to_json())
    return csv_path, json_path


__all__ = ["HEADERS", "table_rows", "write_downloads", "stem"]
