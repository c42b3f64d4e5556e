"""The "Compare models" view: what the app shows of a :class:`~detector.evaluation.compare.Comparison`.

    c = compare_models(path, [card.name for card in list_models()], frames=16, cam="gradcam")
    timeline_figure(c)        # one line per model (its top face score per sampled frame), each with its threshold
    verdict_rows(c)           # model, architecture, label, score, threshold, faces over threshold
    cam_tiles(c)              # one CAM tile per model, all of the same face, each under its model's name
    disagreement_markdown(c)  # which frames / faces the models label differently
    write_downloads(c, dir)   # the CLI's files: <clip>_compare.json and <clip>_compare.csv

The files are what ``deepfake-lens compare CLIP --json OUT --csv OUT`` writes.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from detector.evaluation.compare import (
    AGREEMENT_NOTE,
    Comparison,
    care_notes,
    disagreement,
    faces_line,
    own_warnings,
    write_csv,
)
from detector.inference.report import agreeing_figures, held_back, score_text
from explain import DEFAULT_HEAT_MAP

# plotly and the tile drawing are imported where used: the app imports this module (for its headers) while it builds

__all__ = [
    "VERDICT_HEADERS",
    "MODEL_COLOURS",
    "model_colour",
    "model_symbol",
    "threshold_labels",
    "timeline_figure",
    "verdict_rows",
    "cam_tiles",
    "cam_row_text",
    "disagreement_markdown",
    "is_photo",
    "write_downloads",
]

# the verdict first, the architecture last: on a phone the table shows its first columns and scrolls (a browser
# check: score and threshold were off the screen, behind the architecture)
VERDICT_HEADERS = ["model", "label", "score", "threshold", "faces over threshold", "architecture"]
MAX_TIMES = 8  # times listed per group of faces in the disagreement text
# the colours of webapp.plots.IDENTITY_COLOURS (Okabe-Ito, colour-blind-safe), one per model
MODEL_COLOURS = ["#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#009E73", "#F0E442", "#000000", "#D55E00"]


MODEL_SYMBOLS = ["circle", "square", "diamond", "triangle-up"]  # a second round of the colours gets other markers


def model_colour(k: int) -> str:
    """The colour of the ``k``-th model, the same in the timeline and above its CAM tile."""
    return MODEL_COLOURS[k % len(MODEL_COLOURS)]


def model_symbol(k: int) -> str:
    """The timeline's marker of the ``k``-th model: a circle for the first eight, then another shape for each round
    of the eight colours (a teacher's audit: with twelve models ticked, four pairs of lines looked alike)."""
    return MODEL_SYMBOLS[(k // len(MODEL_COLOURS)) % len(MODEL_SYMBOLS)]


def is_photo(c: Comparison) -> bool:
    """Whether the comparison is of a photo (one frame: no timeline)."""
    return bool(c.runs) and c.runs[0].report.is_photo


def threshold_labels(thresholds, gap: float = 0.06) -> list[tuple[float, str]]:
    """Labels for the thresholds' dashed lines, ``(height, text)``, printed in the plot's right margin (over the
    plot, a label hid the lines running at its height: a browser check): values closer than ``gap`` (about a
    label's height) share one label at the highest of them, so that labels do not print over each other (three
    ensembles at 0.903, 0.91 and 0.945 get "0.903-0.945"); the legend names each model's threshold."""
    groups: list[list[float]] = []
    for t in sorted(set(thresholds)):
        if groups and t - groups[-1][-1] < gap:
            groups[-1].append(t)
        else:
            groups.append([t])
    out = []
    for g in groups:
        low, high = g[0], g[-1]
        out.append((high, f"{low:.3f}" if len(g) == 1 else f"{low:.3f}-{high:.3f}"))  # 0.9446 is not "0.94"
    return out


def timeline_figure(c: Comparison, height: int | None = None):
    """Each model's fake score over time (the highest face score of each sampled frame), its own threshold
    as a dashed line of its colour, grey triangles at the bottom where the models label a face differently, and
    a dotted line at the explained face.  Returns a plotly Figure."""
    import plotly.graph_objects as go

    from webapp.plots import _base_layout

    fig = go.Figure()
    height = height or 420 + 22 * len(c.runs)  # the legend under the plot has a line per model
    times = [t for r in c.runs for t, _ in r.series()]
    duration = max(times + [0.1])
    thresholds: set[float] = set()
    for k, run in enumerate(c.runs):
        colour = model_colour(k)
        series = run.series()
        t = float(run.report.threshold)
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in series],
                y=[y for _, y in series],
                mode="lines+markers",
                name=f"{run.name}: {run.report.label} (threshold {t:.3f})",
                legendgroup=run.name,
                connectgaps=False,
                line=dict(color=colour, width=2.5),
                marker=dict(size=8, color=colour, symbol=model_symbol(k), line=dict(color="white", width=1)),
                hovertemplate=f"<b>{run.name}</b><br>time %{{x:.2f}} s<br>top face score %{{y:.3f}}"
                f"<br>threshold {t:.3f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[-0.02 * duration, duration * 1.02],
                y=[t, t],
                mode="lines",
                name=f"{run.name} threshold {t:.3f}",
                legendgroup=run.name,
                showlegend=False,
                line=dict(color=colour, width=1.5, dash="dash"),
                hovertemplate=f"{run.name} threshold {t:.3f}<extra></extra>",
            )
        )
        thresholds.add(round(t, 4))  # labelled as the table says it (0.666, not 0.670)
    for top, text in threshold_labels(thresholds):  # one label per group of close thresholds: none overlap
        fig.add_annotation(
            xref="paper",
            x=1.0,
            y=top,
            xanchor="left",
            yanchor="middle",
            text=text,
            showarrow=False,
            font=dict(size=11, color="#444"),
        )
    differ = c.disagreements()
    if differ:
        fig.add_trace(
            go.Scatter(
                x=[f["time"] for f in differ],
                y=[-0.03] * len(differ),
                mode="markers",
                name="labels differ",
                marker=dict(symbol="triangle-up", size=9, color="#777"),
                customdata=[[f["identity"], ", ".join(f"{m} {lab}" for m, lab in f["labels"].items())] for f in differ],
                hovertemplate="face %{customdata[0]} at %{x:.2f} s<br>%{customdata[1]}<extra></extra>",
            )
        )
    if c.face is not None:
        fig.add_vline(
            x=c.face.time,
            line=dict(color="#555", width=1, dash="dot"),
            annotation_text="explained face",
            annotation_position="top",
            annotation_font=dict(size=11, color="#555"),
        )
    # on two lines: on a phone one line was cut at "(top face of eac" (a browser check)
    _base_layout(fig, "Fake score per model<br><sup>the top face of each sampled frame</sup>", height)
    fig.update_layout(margin=dict(t=62))  # room for the title's second line
    # the legend under the plot: above it, it would cover the label of the explained face's line
    fig.update_layout(
        # under the axis title, not over it (a browser check), one entry a line: the names with their thresholds ran
        # into each other side by side
        legend=dict(orientation="v", yanchor="top", y=-0.28, xanchor="left", x=0.0),
        margin=dict(b=40, t=60, r=95),  # the thresholds' labels are printed in the right margin
    )
    fig.update_xaxes(
        title_text="time in the clip (s)", range=[-0.02 * duration, duration * 1.02], gridcolor="#eee", zeroline=False
    )
    fig.update_yaxes(
        title_text="fake score", range=[-0.07, 1.05], gridcolor="#eee", zeroline=False, tickvals=[0, 0.5, 1.0]
    )
    return fig


def verdict_rows(c: Comparison) -> list[list]:
    """One row per model (:data:`VERDICT_HEADERS`): its label, video score, threshold and how many of its faces
    score at or above it."""
    out = []
    for r in c.rows:
        score, threshold = (_unscored(r), f"{r['threshold']:.3f}")
        if r["score"] is not None:  # printed so that they compare as the raw figures do
            score, threshold = agreeing_figures(r["score"], r["threshold"])
        out.append(
            [
                r["model"],
                r["label"],
                score,
                threshold + ("" if r.get("calibrated", True) else " fixed"),
                f"{r['faces_over_threshold']} of {r['faces']}",
                r["architecture"],
            ]
        )
    return out


def _title(text: str, width: int, colour: tuple[int, int, int], height: int = 30) -> np.ndarray:
    """A white strip ``width`` wide with ``text`` in dark letters after a square of the model's colour."""
    from webapp.faces import FONT, _fitting_scale

    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.rectangle(strip, (2, 8), (16, 22), colour, -1)
    scale = _fitting_scale(text, width - 14, 0.55, smallest=0.25)  # the text starts 22 px in, 4 px to spare
    cv2.putText(strip, text, (22, 21), FONT, scale, (30, 30, 30), 1, cv2.LINE_AA)
    return strip


def cam_tiles(c: Comparison, side: int = 150, colours: str = DEFAULT_HEAT_MAP) -> list[tuple[np.ndarray, str]]:
    """For each model, one picture and its caption: the explained face as the model saw it beside its CAM overlay
    (in heat map ``colours``), framed in the colour of its label, under the model's name; the caption says its score
    and label in words.  One picture a model, not one image of them all: on a phone that image was shrunk until its
    names and scores were 4-5 px high (a browser check); a gallery puts them one under the other there.  An empty
    list when no face was scored by every model."""
    from webapp.faces import crop_note, face_tile, hex_rgb, score_said

    if c.face is None or not c.runs:
        return []
    out = []
    for k, run in enumerate(c.runs):
        tile = face_tile(
            run.face,
            run.report.threshold,
            side,
            band=run.report.uncertain,
            cam_off=c.cam_method is None,
            second=run.report.second_opinion,
            colours=colours,
        )
        head = _title(run.name, tile.shape[1], hex_rgb(model_colour(k)))
        said = score_said(
            run.face.score, run.report.threshold, run.report.uncertain, run.report.second_opinion, held_back(run.face)
        )
        out.append((np.concatenate([head, tile], axis=0), f"{run.name}: {said}{crop_note(run.face)}"))
    return out


def cam_row_text(c: Comparison) -> str | None:
    """What :func:`cam_tiles` show, in words (the image's text for a screen reader): the face and each model's
    score and label of it."""
    from webapp.faces import score_said

    if c.face is None or not c.runs:
        return None
    where = "" if is_photo(c) else f" at {c.face.time:.2f} s"
    said = "; ".join(
        f"{run.name}: "
        + score_said(
            run.face.score, run.report.threshold, run.report.uncertain, run.report.second_opinion, held_back(run.face)
        )
        for run in c.runs
        if run.face is not None
    )
    heat = ", beside its heat map" if c.cam_method else " (no heat map: the CAM was off)"
    return f"Face {c.face.identity}{where} as each model saw it{heat}: {said}"


def _unscored(row: dict) -> str:
    """Why a row has no video score: "no face", or "faces too small" where those found were too small to judge."""
    return "faces too small" if row.get("faces_too_small") else "no face"


def _score(row: dict) -> str:
    """A row's video score, to as many decimals as it takes to compare with its threshold as the raw one does."""
    if row["score"] is None:
        return _unscored(row)
    band = [row["uncertain_from"]] if row.get("uncertain_from") is not None else None
    return score_text(row["score"], row["threshold"], band)


def _times(faces: list[dict], photo: bool) -> str:
    if photo:
        return ""
    shown = [f"{f['time']:.2f} s" for f in faces[:MAX_TIMES]]
    more = len(faces) - MAX_TIMES
    return " (" + ", ".join(shown) + (f", and {more} more" if more > 0 else "") + ")"


def disagreement_markdown(c: Comparison) -> str:
    """Where the models disagree, in Markdown: the verdicts, how many faces are labelled differently, the faces
    grouped by who says what (with their times), and which face the CAMs show."""
    if not c.runs:
        return ""
    photo = is_photo(c)
    rows = c.rows
    verdicts = disagreement(rows)
    scores = ", ".join(f"{r['model']} {r['label']} ({_score(r)})" for r in rows)
    lead = verdicts.split(":")[0]  # "the models agree", "the models disagree, none says fake (1 uncertain, 5 real)"
    if lead in ("the models agree", "one model"):  # with what they say, first (a browser check: left to the list)
        lead = f"{lead}: {verdicts.split(':')[1].split('(')[0].strip()}"
    head = [f"**Verdicts on the whole {'photo' if photo else 'clip'}:** {lead}; {scores}."]
    if AGREEMENT_NOTE in verdicts:
        head[0] += f" Note: {AGREEMENT_NOTE}."
    fixed = [r["model"] for r in rows if not r.get("calibrated", True)]
    if fixed:
        agreed = verdicts.partition("; ")[2]  # "the N models calibrated on real people agree: real", or ""
        head.append(
            f"**Thresholds:** {', '.join(fixed)} {'uses' if len(fixed) == 1 else 'use'} a fixed threshold, not one "
            "chosen for a stated false-alarm rate on real people never trained on: read "
            f"{'its label' if len(fixed) == 1 else 'their labels'} with care" + (f"; {agreed}." if agreed else ".")
        )
    head += _care(c)
    head.append(f"**Face by face:** {faces_line(c)}.")
    groups: dict[tuple, list[dict]] = {}
    for f in c.disagreements():
        groups.setdefault(tuple(f["labels"].items()), []).append(f)
    items = []
    for labels, faces in sorted(groups.items(), key=lambda g: -len(g[1])):
        who = _pattern(labels)
        n = len(faces)
        items.append(f"- {who}: {n} face{'' if n == 1 else 's'}{_times(faces, photo)}")
    if items:
        head.append("\n".join(items))
    if c.face is not None:
        where = "in the photo" if photo else f"at {c.face.time:.2f} s (frame {c.face.frame})"
        cam = f"{c.cam_method} CAM" if c.cam_method else "no CAM (none chosen)"
        head.append(f"**Explained face:** face {c.face.identity} {where}, {c.face.why}; {cam} of each model below.")
    return "\n\n".join(head)


def _care(c: Comparison) -> list[str]:
    """What Analyse would warn of that concerns the comparison as a whole (:func:`care_notes`), then each model's own
    warnings (:func:`own_warnings`), in markdown."""
    marks = {"seen": "**Treat with care:** ", "warning": "⚠ "}
    out = [marks.get(kind, "") + text for kind, text in care_notes(c)]
    # and each model's own (a browser check: they were in the JSON download alone, as on the command line before)
    own = [f"- {name}: {w}" for name, w in own_warnings(c)]
    return out + (["**Each model's own warnings:**\n" + "\n".join(own)] if own else [])


def _pattern(labels: tuple) -> str:
    """How the models label one group of faces, each label once with its models ("a **fake** · b, c **real**");
    with three or more models on the most common label, those are "the other N" (five model names on every line
    made the list too long to read: a browser check)."""
    by: dict[str, list[str]] = {}
    for model, label in labels:
        by.setdefault(label, []).append(model)
    order = sorted(by.items(), key=lambda kv: -len(kv[1]))  # stable: among equals, the order of the models
    (top_label, top), rest = order[0], order[1:]
    if len(top) >= 3 and rest and len(top) > len(rest[0][1]):
        return " · ".join(f"{', '.join(ms)} **{lab}**" for lab, ms in rest) + f" · the other {len(top)} **{top_label}**"
    return " · ".join(f"{', '.join(ms)} **{lab}**" for lab, ms in order)


def _stem(c: Comparison) -> str:
    base = os.path.splitext(os.path.basename(c.path))[0] or "clip"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base)


def write_downloads(c: Comparison, folder: str) -> tuple[str, str]:
    """``<clip>_compare.json`` (:meth:`Comparison.to_dict`: rows, the explained face, the faces labelled
    differently, every model's report) and ``<clip>_compare.csv`` (one row per model, :data:`FIELDS`) in
    ``folder``: the files ``deepfake-lens compare --json --csv`` writes."""
    import json

    os.makedirs(folder, exist_ok=True)
    json_path = os.path.join(folder, f"{_stem(c)}_compare.json")
    csv_path = os.path.join(folder, f"{_stem(c)}_compare.csv")
    with open(json_path, "w") as fh:
        json.dump(c.to_dict(), fh, indent=1)
    with open(csv_path, "w", newline="") as fh:
        write_csv(c, fh)
    return csv_path, json_path
