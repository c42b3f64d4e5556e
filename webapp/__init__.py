"""The browser app (``python app.py``): its tabs, and the gradio-free helpers that compute what it shows from a Report.

The page, one module per job (these import gradio):

    server.py       the page put together (build_demo), the HTTP API, and main: queue, address, theme, warm-up
    analyse_tab.py  "Analyse a video or photo": AnalyseTab, its builder and handlers ({component: value}); the API's
                    analysis (analyze_json)
    lab_tab.py      "Failure lab": its builder and handlers (the work is lab.py)
    compare_tab.py  "Compare models": CompareTab, its builder and handlers (the drawing is compare.py)
    about.py        "How it works": the text and its tab
    clip_input.py   the lab's and the compare view's own video or photo, and the line that names it
    common.py       what the tabs share: the models offered, the limits, the quick checks, the error guard
    session_files.py  the uploads and downloads each session holds, deleted when the session ends
    photo_input.py  the photo slots (gradio's Image, with the app's own checks of a bad file)

The helpers (nothing in these imports gradio, so each is testable, and reusable, on its own):

    verdict.py   the verdict card (label, score, how it was aggregated, warnings) as HTML
    plots.py     plotly figures: the score timeline, the robustness-level bars
    faces.py     the face gallery (CAM overlays, captions, order) and frames with boxes drawn
    tables.py    the per-frame table and the CSV / JSON downloads
    html_report.py  the shareable report: one self-contained HTML file (images inline, no script)
    lab.py       the failure lab: analyse a clip with and without a perturbation
    compare.py   the compare view: every model on one clip, timelines overlaid, one CAM each, where they disagree
    session.py   what a browser session keeps (frames as small JPEGs), uploads and memory freed when it ends
    examples.py  the two example clips (rendered here: a real one and a self-blended fake)
"""

import os as _os

# before gradio is imported by any module of the package (app.py sets them too, for its own imports)
_os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
_os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _loopback_without_proxy(env=_os.environ) -> None:
    """The app's own address never through a proxy: gradio's launch calls the server it started
    (``http://127.0.0.1:PORT``), and with ``HTTP_PROXY`` set and the loopback not in ``NO_PROXY`` (a laptop behind a
    company proxy) that call went to the proxy and the app stopped with a ConnectError (a host's audit).  The entries
    of ``NO_PROXY`` and ``no_proxy`` are joined, with the loopback, into both (libraries read one or the other); a
    ``*`` (no proxy for anything) is left as it is."""
    have = []
    for key in ("NO_PROXY", "no_proxy"):
        have += [h.strip() for h in env.get(key, "").split(",") if h.strip() and h.strip() not in have]
    if "*" in have:
        return
    joined = ",".join(have + [h for h in ("127.0.0.1", "localhost", "::1") if h not in have])
    env["NO_PROXY"] = env["no_proxy"] = joined


_loopback_without_proxy()
