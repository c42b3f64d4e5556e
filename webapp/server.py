"""The page and its server.  :func:`build_demo` puts the header, the tabs (:mod:`webapp.analyse_tab`,
:mod:`webapp.lab_tab`, :mod:`webapp.compare_tab`, :mod:`webapp.about`) and the HTTP API together; :func:`main`,
which ``python app.py`` runs, serves it: the queue, the address, the theme, the styles and scripts of
``webapp/static``, and a warm-up in the background.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from importlib.resources import files

import gradio as gr

from detector.constants import model_dirs
from webapp import common, session_files
from webapp.about import build_about_tab
from webapp.analyse_tab import AnalyseTab, analyze_json, build_analyse_tab
from webapp.common import LIMITS, model_choices
from webapp.compare_tab import build_compare_tab
from webapp.lab_tab import build_lab_tab
from webapp.verdict import message_html

__all__ = ["build_demo", "build_header", "build_api", "main", "queue_settings", "server_address", "CSS", "HEAD"]

log = logging.getLogger("app")
_imported = time.perf_counter()  # the app's imports done (gradio, the tabs): see main

TITLE = "Deepfake detector for videos and photos"
STATIC = files("webapp") / "static"
CSS = (STATIC / "app.css").read_text()
# gr.Plot has no click event (gradio 6): timeline_click.js forwards plotly's click on a timeline point; verdict_live.js
# tells a screen reader each new verdict; quiet_player.js closes gradio's "Video not playable" pop-up (see the files)
SCRIPTS = ("timeline_click.js", "verdict_live.js", "quiet_player.js")
HEAD = "".join(f"<script>\n{(STATIC / name).read_text()}</script>\n" for name in SCRIPTS)


def build_header(models: list) -> None:
    gr.Markdown(f"# {TITLE}", elem_id="title")
    gr.Markdown(
        "Finds the faces in a video or photo, scores each one with a trained classifier, and shows *where* the "
        "model looked. A score is one model's estimate, not proof.",
        elem_id="subtitle",
    )
    if not models:
        gr.HTML(
            message_html(
                f"No trained model is installed in {common.MODELS_DIR or ', '.join(map(str, model_dirs()))}. "
                "Train one with `deepfake-lens train` (see the README) or set DEEPFAKE_MODELS_DIR; "
                "until then nothing can be analysed.",
                "error",
            ),
            elem_id="no-model",
            apply_default_css=False,
        )


def build_api(analyse: AnalyseTab) -> None:
    """API only: the CLI's JSON report at ``/analyze_json``.  The hidden button is never shown; the endpoint is
    the point."""
    api_btn = gr.Button(visible=False)
    api_out = gr.JSON(visible=False)
    # the API's threshold is its own hidden input, empty by default: a caller who gives none gets the chosen model's
    # own threshold and uncertain band (the page's slider would hand every caller the default model's threshold)
    api_threshold = gr.Number(value=None, visible=False, minimum=0, maximum=1, label="threshold")
    api_btn.click(
        analyze_json,
        [analyse.video, analyse.frames, analyse.model, analyse.cam, api_threshold, analyse.photo],
        [api_out],
        api_name="analyze_json",
        concurrency_id="analysis",
    )


def build_demo(examples: dict[str, str] | None = None) -> gr.Blocks:
    models = model_choices()
    # an upload of an example clip is that clip
    session_files._session_files().keep_copies_of((examples or {}).values())
    with gr.Blocks(title=TITLE, delete_cache=(3600, 7200)) as demo:
        build_header(models)
        with gr.Tabs():
            analyse = build_analyse_tab(models, examples)
            build_lab_tab(analyse, examples)
            build_compare_tab(analyse, models, examples)
            build_about_tab()
        build_api(analyse)

        def ended(request: gr.Request) -> None:  # a closed or reloaded tab: its state, files and memory go now
            session_files.end_session(demo, request)

        demo.unload(ended)
    return demo


def _warm_up() -> None:
    """Load the default model and the face detector in the background (first analysis is faster)."""
    try:
        from detector.inference.pipeline import face_detector
        from detector.models.classifier import load_model

        face_detector()  # imports mediapipe here, not during an analysis (see run_analysis)
        load_model(None, common.MODELS_DIR)
        from explain import explain_faces  # noqa: F401  (torch, pytorch-grad-cam)
    except Exception as e:  # nothing installed yet: the UI says so
        log.info("warm-up skipped: %s", e)


def queue_settings() -> tuple[int, int]:
    """(analyses run at once, requests that may wait) from DEEPFAKE_APP_CONCURRENCY (default 1: an analysis takes
    both cores of a free Space) and DEEPFAKE_APP_QUEUE_SIZE (default 16; a request beyond it is told the queue is
    full).  On larger hardware, about one analysis per 2 cores."""

    def read(name: str, default: int, low: int, high: int) -> int:
        try:
            value = int(os.environ.get(name, default))
        except ValueError:
            log.warning("%s=%r is not a whole number: using %d", name, os.environ.get(name), default)
            return default
        return min(max(value, low), high)

    return read("DEEPFAKE_APP_CONCURRENCY", 1, 1, 64), read("DEEPFAKE_APP_QUEUE_SIZE", 16, 1, 10_000)


def server_address() -> tuple[str, int]:
    name = os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = int(os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("PORT") or 7860)
    return name, port


def _exit_on_sigterm(signum, frame) -> None:
    """A stop by SIGTERM (``docker stop``, a Space restart, ``kill``) takes Ctrl-C's path: gradio closes its server,
    ``main`` returns and the atexit handlers run, so the downloads folder is removed (Python's default for SIGTERM
    skips them).  A second SIGTERM while that runs is ignored."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(started: float | None = None) -> None:
    """Serve the app until it is stopped (``python app.py``).  ``started``: ``time.perf_counter()`` when the process
    started (app.py's first line), for the log's cold-start figures; by default when this module's imports ended."""
    started = _imported if started is None else started
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # before launch: gradio's SSR server sets its own after ours
    if os.environ.get("DEEPFAKE_APP_MMAP", "1") != "0":
        from webapp.session import fix_mmap_threshold

        fix_mmap_threshold()  # decoded frames are given back to the system when freed (see its doc)
    from webapp.examples import ensure_examples

    examples = {}
    if os.environ.get("DEEPFAKE_APP_EXAMPLES", "1") != "0":
        examples = ensure_examples()
    demo = build_demo(examples)
    concurrency, queue_size = queue_settings()
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    name, port = server_address()
    theme = gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="slate",
        font=["Inter", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    ).set(  # text contrast of at least 4.5:1 (an accessibility audit: labels 3.6:1, hints 2.5:1, buttons 4.5:1)
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        body_text_color_subdued="*neutral_600",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_600",
        checkbox_label_background_fill_selected="*primary_700",
        color_accent="*primary_700",
    )
    demo.launch(
        server_name=name,
        server_port=port,
        max_file_size=f"{LIMITS.max_file_mb:.0f}mb",
        show_error=True,
        theme=theme,
        css=CSS,
        head=HEAD,
        footer_links=["api"],
        run_history=False,
        prevent_thread_lock=True,
    )
    log.info(
        "ready in %.1f s after start (imports %.1f s; %.1f s of CPU) on http://%s:%d",
        time.perf_counter() - started,
        _imported - started,
        time.process_time(),
        name,
        port,
    )
    threading.Thread(target=_warm_up, daemon=True).start()  # after "ready": it must not slow the start
    demo.block_thread()
