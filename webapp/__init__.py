"""Gradio-free helpers of the browser app (``app.py``): what it shows, computed from a Report.

    verdict.py   the verdict card (label, score, how it was aggregated, warnings) as HTML
    plots.py     plotly figures: the score timeline, the robustness-level bars
    faces.py     the face gallery (CAM overlays, captions, order) and frames with boxes drawn
    tables.py    the per-frame table and the CSV / JSON downloads
    html_report.py  the shareable report: one self-contained HTML file (images inline, no script)
    lab.py       the failure lab: analyse a clip with and without a perturbation
    compare.py   the compare view: every model on one clip, timelines overlaid, one CAM each, where they disagree
    session.py   what a browser session keeps (frames as small JPEGs), uploads and memory freed when it ends
    examples.py  the two example clips (rendered here: a real one and a self-blended fake)

Nothing here imports gradio, so each piece is testable (and reusable) on its own.
"""
