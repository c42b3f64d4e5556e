"""Plotly figures of the app: the fake-probability timeline and the robustness-level chart.

``timeline_figure(report)`` draws one line per face identity (fake score of each
sampled frame over time), the decision threshold, a shaded "fake" zone above it, and
grey crosses at the bottom for sampled frames where no face was found (grey rings where the faces
found were too small to judge); an amber band
below the threshold when the report has an "uncertain" band; and a red column over the stretch of
strongly fake frames where that stretch is what keeps the clip from "real" (:func:`stretch_span`).  Hovering a
point shows the time, the frame number, the face and its score; each point's
``customdata`` carries the position of its frame in ``report.frames`` so the app can
show that frame when a point is clicked.
"""

from __future__ import annotations

import plotly.graph_objects as go

from detector.inference.report import Report, score_text, segment_made_uncertain, unjudged_text, verdict

# colour-blind-safe identity colours (Okabe-Ito), none of them the red/green of the verdicts
IDENTITY_COLOURS = ["#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#009E73", "#F0E442", "#000000", "#D55E00"]
FAKE_RED = "#d62728"
REAL_GREEN = "#2ca02c"
UNCERTAIN_AMBER = "#f0b429"
FONT = dict(family="Inter, system-ui, sans-serif", size=13)


def _base_layout(fig: go.Figure, title: str, height: int) -> None:
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=15)) if title else None,
        height=height,
        margin=dict(l=55, r=20, t=45 if title else 15, b=45),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        clickmode="event",
    )


def _band(fig: go.Figure, uncertain: list[float] | None, threshold: float, label: bool = True) -> bool:
    """The uncertain band ``[low, threshold)`` as an amber strip behind the data, labelled inside at its bottom
    right where ``label``; whether there is a band."""
    if not (uncertain and float(uncertain[0]) < threshold):
        return False
    text = dict(
        annotation_text="uncertain",
        annotation_position="bottom right",  # the threshold's label is on the left: a thin band (a threshold
        # moved down near the band's edge) printed one over the other (a browser check)
        annotation_font=dict(color="#6d4c00", size=11),
    )
    fig.add_hrect(
        y0=float(uncertain[0]),
        y1=threshold,
        fillcolor=UNCERTAIN_AMBER,
        opacity=0.18,
        line_width=0,
        layer="below",
        **(text if label else {}),
    )
    return True


def stretch_span(report: Report) -> tuple[float, float, str] | None:
    """Where on the timeline to mark the stretch of strongly fake frames that makes a clip "uncertain" rather than
    "real" (:func:`~detector.inference.report.segment_made_uncertain`): ``(start, end, label)`` in seconds, widened
    to halfway to the sampled frame on each side (a stretch of frames, not of instants), or None."""
    seg = segment_made_uncertain(report)
    if not seg:
        return None
    times = sorted({fr.time for fr in report.frames})
    before = [t for t in times if t < seg["start"]]
    after = [t for t in times if t > seg["end"]]
    inside = [t for t in times if seg["start"] <= t <= seg["end"]]
    step = (inside[-1] - inside[0]) / (len(inside) - 1) if len(inside) > 1 else 0.0  # where it has no neighbour
    left = (seg["start"] - before[-1]) / 2 if before else step / 2
    right = (after[0] - seg["end"]) / 2 if after else step / 2
    label = f"face {seg['identity']}: {seg['frames']} frames in a row over {seg['over']:.3g}"  # as the warning says
    return max(0.0, seg["start"] - left), seg["end"] + right, label


def timeline_figure(report: Report, title: str = "", height: int = 340, selected: int | None = None) -> go.Figure:
    """Fake score per sampled frame, one line per identity.  ``selected``: frame position to mark."""
    fig = go.Figure()
    t = report.threshold
    duration = max([fr.time for fr in report.frames] + [report.video_info.get("duration", 0.0) or 0.0, 0.1])
    fig.add_hrect(y0=t, y1=1.05, fillcolor=FAKE_RED, opacity=0.06, line_width=0, layer="below")
    _band(fig, report.uncertain, t)
    fig.add_hline(
        y=t,
        line=dict(color=FAKE_RED, dash="dash", width=1.5),
        annotation_text=f"threshold {t:.3f}",
        annotation_position="top left",
        annotation_font=dict(color=FAKE_RED, size=12),
    )
    span = stretch_span(report)
    if span:  # where the clip is fake in part: the warning names it, the timeline shows it (a teacher's audit)
        fig.add_vrect(x0=span[0], x1=span[1], fillcolor=FAKE_RED, opacity=0.12, line_width=0, layer="below")
    identities = sorted({f.identity for f in report.faces})
    for k, ident in enumerate(identities):
        xs, ys, custom = [], [], []
        for pos, fr in enumerate(report.frames):
            for f in fr.faces:
                if f.identity == ident:
                    xs.append(fr.time)
                    ys.append(f.score)
                    custom.append([pos, fr.index, ident])
        colour = IDENTITY_COLOURS[k % len(IDENTITY_COLOURS)]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                customdata=custom,
                mode="lines+markers",
                name=f"face {ident}",
                line=dict(color=colour, width=2),
                marker=dict(size=9, color=colour, line=dict(color="white", width=1)),
                hovertemplate=(
                    "<b>face %{customdata[2]}</b><br>time %{x:.2f} s (frame %{customdata[1]})"
                    "<br>fake score %{y:.3f}<extra></extra>"
                ),
            )
        )
    sequence_traces(fig, report, identities)
    if span:  # named in the legend, after the faces, not on the plot: a label on the column ran past it, under the
        # points or off the plot's edge (a browser check); the words under the chart give its figures
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name="strongly fake stretch",
                marker=dict(symbol="square", size=13, color=FAKE_RED, opacity=0.3),
                hoverinfo="skip",
            )
        )
    for small, name, symbol in ((False, "no face", "x-thin"), (True, "face too small", "circle-open")):
        missing = [(pos, fr) for pos, fr in enumerate(report.frames) if not fr.faces and bool(fr.too_small) == small]
        if missing:
            fig.add_trace(
                go.Scatter(
                    x=[fr.time for _, fr in missing],
                    y=[-0.03] * len(missing),
                    customdata=[[pos, fr.index, -1, unjudged_text(fr.too_small)] for pos, fr in missing],
                    mode="markers",
                    name=name,
                    marker=dict(symbol=symbol, size=9, color="#888", line=dict(color="#888", width=2)),
                    hovertemplate="%{customdata[3]}<br>time %{x:.2f} s (frame %{customdata[1]})<extra></extra>",
                )
            )
    if selected is not None and 0 <= selected < len(report.frames):
        fig.add_vline(x=report.frames[selected].time, line=dict(color="#555", width=1, dash="dot"))
    _base_layout(fig, title, height)
    fig.update_xaxes(
        title_text="time in the clip (s)", range=[-0.02 * duration, duration * 1.02], gridcolor="#eee", zeroline=False
    )
    fig.update_yaxes(
        title_text="fake score",
        range=[-0.07, 1.05],
        gridcolor="#eee",
        zeroline=False,
        tickvals=[0, 0.25, 0.5, 0.75, 1.0],
    )
    return fig


def sequence_traces(fig: go.Figure, report: Report, identities: list[int]) -> None:
    """A temporal model's sequence score of each person (:attr:`Report.sequence`), a dotted line across the frames
    its track covers, in the person's colour; hovered, each frame's share of the score (the head's weight)."""
    where = {fr.index: (pos, fr.time) for pos, fr in enumerate(report.frames)}
    for row in (report.sequence or {}).get("tracks") or []:
        frames = [(*where[i], i, w) for i, w in zip(row["frames"], row.get("weights") or []) if i in where]
        if not frames or row.get("score") is None:
            continue
        ident = row["identity"]
        k = identities.index(ident) if ident in identities else len(identities)
        colour = IDENTITY_COLOURS[k % len(IDENTITY_COLOURS)]
        fig.add_trace(
            go.Scatter(
                x=[t for _, t, _, _ in frames],
                y=[row["score"]] * len(frames),
                # as the faces' points: position in report.frames first (a click selects that frame), frame index,
                # identity; then the frame's weight
                customdata=[[pos, i, ident, w] for pos, _, i, w in frames],
                mode="lines",
                name=f"face {ident}: sequence (its threshold {float((report.sequence or {}).get('threshold', 0)):.3f})",
                line=dict(color=colour, width=2, dash="dot"),
                hovertemplate=(
                    "<b>face %{customdata[2]}, sequence score %{y:.3f}</b><br>time %{x:.2f} s (frame "
                    "%{customdata[1]}): %{customdata[3]:.0%} of its weight<extra></extra>"
                ),
            )
        )


def levels_figure(
    scores: dict[str, float],
    threshold: float,
    notes: dict[str, str] | None = None,
    height: int = 320,
    uncertain: list[float] | None = None,
    photo: bool = False,
    unscored: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> go.Figure:
    """Bar chart: video score (a ``photo``'s score) at each perturbation level (NaN -> no face found, or ``unscored``'s
    word for that level: "faces too small"), coloured by its label (red fake, amber uncertain, green real: each
    level's report's label from ``labels`` where given, which a colour second opinion or a stretch of strongly fake
    frames may have made "uncertain"; else the score's at the threshold and band), the threshold line and the band."""
    names = list(scores)
    values = [scores[n] for n in names]
    shown = [0.0 if v != v else v for v in values]  # NaN (no face) drawn as an empty bar
    colour_of = {"fake": FAKE_RED, "uncertain": UNCERTAIN_AMBER, "real": REAL_GREEN}
    said = labels or {}
    colours = [
        "#bbb" if v != v else colour_of.get(said.get(n), colour_of[verdict(v, threshold, uncertain)])
        for n, v in zip(names, values)
    ]
    text = [
        (unscored or {}).get(n, "no face") if v != v else score_text(v, threshold, uncertain)
        for n, v in zip(names, values)
    ]
    hover = [(notes or {}).get(n, "") for n in names]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=shown,
            marker_color=colours,
            text=text,
            textposition="outside",
            customdata=hover,
            hovertemplate=f"<b>%{{x}}</b><br>{'score' if photo else 'video score'} %{{text}}<br>%{{customdata}}"
            "<extra></extra>",
            width=0.5,
        )
    )
    band = _band(fig, uncertain, threshold, label=False)  # labelled in the margin, below the threshold's label
    fig.add_hline(y=threshold, line=dict(color=FAKE_RED, dash="dash", width=1.5))
    # the labels in the right margin, just above and just below the line: over the plot, the last bar's top and its
    # score stood under "threshold" (a browser check), and the two labels never meet however thin the band
    labels = [(f"threshold {threshold:.3f}", "bottom", FAKE_RED)]
    if band:
        labels.append(("uncertain", "top", "#6d4c00"))
    for text, anchor, colour in labels:
        fig.add_annotation(
            xref="paper",
            x=1.0,
            y=threshold,
            xanchor="left",
            yanchor=anchor,
            text=text,
            showarrow=False,
            font=dict(color=colour, size=11),
        )
    what = "Score" if photo else "Video score"  # a photo is one frame (a browser check: "video" for a photo)
    _base_layout(fig, f"{what} at each perturbation level", height)
    fig.update_layout(margin=dict(r=105))  # the labels' room
    fig.update_yaxes(title_text=f"{'' if photo else 'video '}fake score", range=[0, 1.12], gridcolor="#eee")
    fig.update_xaxes(title_text="perturbation level")
    return fig


def timeline_summary(report: Report, most: int = 4) -> str:
    """The timeline in words, shown under it: to a screen reader the chart is an unnamed picture (an accessibility
    audit): :func:`timeline_words`, and where every score is."""
    return f"**In words:** {timeline_words(report, most)}. Every score is in the per-frame table under Downloads."


def timeline_words(report: Report, most: int = 4) -> str:
    """The timeline in plain words (the app's text under the chart, the HTML report picture's text): per face
    identity (the ``most`` seen most often), its sampled frames, the range of its fake probabilities and when it was
    highest; the frames without a face; a stretch of strongly fake frames that keeps the clip from "real"."""
    n = len(report.frames)
    parts = []
    identities = sorted(
        {f.identity for f in report.faces}, key=lambda i: (-sum(f.identity == i for f in report.faces), i)
    )
    for ident in identities[:most]:
        seen = [(fr.time, f.score) for fr in report.frames for f in fr.faces if f.identity == ident]
        scores = [s for _, s in seen]
        at = max(seen, key=lambda ts: ts[1])[0]
        parts.append(
            f"face {ident} in {len(seen)} of {n} sampled frames, fake score {min(scores):.2f} to "
            f"{max(scores):.2f}, highest at {at:.2f} s"
        )
    if len(identities) > most:
        parts.append(f"{len(identities) - most} more face identities")
    missing = sum(not fr.faces and not fr.too_small for fr in report.frames)
    if missing:
        parts.append(f"no face in {missing} of {n} sampled frames")
    small = sum(not fr.faces and bool(fr.too_small) for fr in report.frames)
    if small:
        parts.append(f"faces too small to judge in {small} of {n} sampled frames")
    seg = segment_made_uncertain(report)
    if seg:
        parts.append(
            f"a stretch of strongly fake frames (face {seg['identity']}, {seg['frames']} in a row over "
            f"{seg['over']:.3g}) from {seg['start']:.2f} s to {seg['end']:.2f} s, shaded red"
        )
    return "; ".join(parts)


__all__ = [
    "timeline_figure",
    "timeline_summary",
    "timeline_words",
    "stretch_span",
    "levels_figure",
    "IDENTITY_COLOURS",
    "FAKE_RED",
    "REAL_GREEN",
    "UNCERTAIN_AMBER",
]
