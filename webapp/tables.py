"""The per-frame table shown in the app, and the CSV / JSON files it offers for download.

The JSON download is exactly what the CLI writes (``Report.to_json``).  The CSV has the CLI's columns
(:data:`detector.inference.report.CSV_FIELDS`, same order, same values), then the columns the on-screen
table shows that the CLI's CSV lacks (:data:`EXTRA_CSV_FIELDS`: detector confidence and the CAM's
faithfulness figures), so every column on screen is in the file (:data:`CSV_COLUMN` says where).
"""

from __future__ import annotations

import io
import os
import re

from detector.inference.report import CSV_FIELDS, Report, SafeDictWriter, csv_rows_of

HEADERS = [
    "frame",
    "time (s)",
    "face",
    "fake score",
    "x",
    "y",
    "w",
    "h",
    "detector confidence",
    "CAM drop (blur)",
    "CAM mass on face",
]


# the on-screen column -> its column in the CSV download
CSV_COLUMN = {
    "frame": "frame",
    "time (s)": "time",
    "face": "identity",
    "fake score": "score",
    "x": "x",
    "y": "y",
    "w": "w",
    "h": "h",
    "detector confidence": "confidence",
    "CAM drop (blur)": "cam_drop_blur",
    "CAM mass on face": "cam_face_mass",
}
# what the app's CSV adds after the CLI's columns (empty on rows without a face, or without a CAM)
EXTRA_CSV_FIELDS = ["confidence", "cam_drop_blur", "cam_face_mass"]


def csv_fields() -> list[str]:
    """The app CSV's columns: the CLI's, then those of :data:`EXTRA_CSV_FIELDS` it does not have yet."""
    return CSV_FIELDS + [f for f in EXTRA_CSV_FIELDS if f not in CSV_FIELDS]


def _extras(data: dict) -> list[dict]:
    """The extra columns of each CSV row of a report's JSON form, in :func:`csv_rows_of`'s row order."""

    def value(v):
        v = _figure(v)
        return "" if v is None else v

    out = []
    for fr in data["frames"]:
        if not fr["faces"]:
            out.append(dict.fromkeys(EXTRA_CSV_FIELDS, ""))
        for f in fr["faces"]:
            exp = f.get("explanation") or {}
            out.append(
                {
                    "confidence": value(f.get("confidence")),
                    "cam_drop_blur": value(exp.get("drop_blur")),
                    "cam_face_mass": value(exp.get("face_mass")),
                }
            )
    return out


def csv_download(report: Report) -> str:
    """The CSV the app offers: one row per face (one per frame without a face), every on-screen column."""
    data = report.to_dict()
    rows = csv_rows_of(data)
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=csv_fields())
    writer.writeheader()
    for row, extra in zip(rows, _extras(data), strict=True):
        writer.writerow({**extra, **row})  # a column the CLI's CSV has keeps the CLI's value
    return buf.getvalue()


def _figure(v):
    """A CAM figure for the table: None (an empty cell) where there is none or it is NaN."""
    return None if v is None or (isinstance(v, float) and v != v) else v


def table_rows(report: Report) -> list[list]:
    """One row per face, and one (face columns empty) per sampled frame where no face was judged: "none" where none
    was found, "too small" where those found were too small to judge."""
    rows = []
    for fr in report.frames:
        if not fr.faces:
            said = "too small" if fr.too_small else "none"
            rows.append([fr.index, round(fr.time, 3), said, None, None, None, None, None, None, None, None])
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
                    _figure(exp.get("drop_blur")),
                    _figure(exp.get("face_mass")),
                ]
            )
    return rows


# the columns a photo's table leaves out: it has one frame, at no time (the CSV and JSON keep them, for one schema)
PHOTO_DROPS = ("frame", "time (s)")


def table_headers(report: Report) -> list[str]:
    """The on-screen table's columns for ``report``: :data:`HEADERS`, less :data:`PHOTO_DROPS` for a photo."""
    return [h for h in HEADERS if h not in PHOTO_DROPS] if report.is_photo else list(HEADERS)


def table_value(report: Report) -> dict:
    """The table as shown (app and HTML report): ``{"headers": ..., "data": ...}``, gradio's Dataframe value;
    a photo's has no frame or time column."""
    headers = table_headers(report)
    keep = [i for i, h in enumerate(HEADERS) if h in headers]
    return {"headers": headers, "data": [[row[i] for i in keep] for row in table_rows(report)]}


def stem(report: Report) -> str:
    """The downloads' file-name stem: the input's base name without extension, made safe."""
    base = os.path.splitext(os.path.basename(report.video))[0] or "video"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:60]


def write_downloads(report: Report, folder: str) -> tuple[str, str]:
    """Write ``<video>_report.csv`` (:func:`csv_download`) and ``<video>_report.json`` (the CLI's schema) into
    ``folder``."""
    os.makedirs(folder, exist_ok=True)
    name = stem(report)
    csv_path = os.path.join(folder, f"{name}_report.csv")
    json_path = os.path.join(folder, f"{name}_report.json")
    with open(csv_path, "w", newline="") as fh:
        fh.write(csv_download(report))
    with open(json_path, "w") as fh:
        fh.write(report.to_json())
    return csv_path, json_path


__all__ = [
    "HEADERS",
    "CSV_COLUMN",
    "EXTRA_CSV_FIELDS",
    "csv_fields",
    "csv_download",
    "table_rows",
    "table_headers",
    "table_value",
    "PHOTO_DROPS",
    "write_downloads",
    "stem",
]
