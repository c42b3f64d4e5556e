"""The browser app: upload a video or a photo, get a verdict you can inspect.  ``python app.py``

A gradio Blocks app over the same :func:`detector.inference.pipeline.analyze` the CLI uses; the
pictures, plots and tables come from the gradio-free helpers in ``webapp/``.

* "Analyse a video or photo": verdict with the video score and how it was aggregated, warnings
  when it is shaky, a timeline of the fake probability per sampled frame (click a
  point, a face tile, or move the slider to see that frame with its boxes), face
  crops beside their CAM overlays, and the per-frame table as CSV / JSON; a shareable report (one
  self-contained HTML file: verdict, warnings, timeline, faces with their CAMs, model card summary).
* "Failure lab": perturb the clip or photo (the first tab's, or another) with JPEG, blur, noise, a sepia
  filter, flip... and compare verdicts and face crops; or run the three robustness levels (none / flip+rotate /
  heavy), with a warning where a level finds faces in fewer frames than the clean run.
* "Compare models": every installed model on one clip or photo (the first tab's, or another): their timelines
  overlaid with each threshold, each verdict, where they label faces differently, one CAM per model of the same
  face, and the comparison as JSON / CSV (what ``deepfake-lens compare`` writes); models load when first compared.
* HTTP API: ``/analyze_json`` returns the CLI's JSON report (see ``gradio_client``).

Serves on 127.0.0.1:7860; GRADIO_SERVER_NAME, GRADIO_SERVER_PORT or PORT change that
(a Space or a container sets 0.0.0.0).  Models come from assets/models (or the folder
in DEEPFAKE_MODELS_DIR).  No analytics, nothing downloaded.

This file only sets the environment gradio reads and starts :func:`webapp.server.main`; the page is in ``webapp/``,
one module per tab (its builder, and its handlers, which return ``{component: value}``):

    webapp/server.py         the page put together (build_demo), the HTTP API, and main: queue, address, theme
    webapp/analyse_tab.py    the first tab; webapp/lab_tab.py, compare_tab.py, about.py: the others
    webapp/clip_input.py     the lab's and the compare view's own video or photo
    webapp/common.py         what the tabs share: the models offered, the limits, the quick checks, the error guard
    webapp/session_files.py  the uploads and downloads each session holds, deleted when it ends
"""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()  # cold start is measured from here (see webapp.server.main)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from webapp.server import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    main(started=_T0)
