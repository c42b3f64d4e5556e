"""What each browser session holds on disk, until it ends: the uploads it used and its downloads folders.

The bookkeeping is :class:`webapp.session.Uploads` (gradio-free); this is the gradio side of it: which session the
event being handled belongs to, gradio's upload folder, and the page's unload.

    _hold_for_session(path)        keep an upload (or a downloads folder) until the event's session ends
    _downloads_root()              the process's folder for the downloads, removed at exit
    end_session(demo, request)     a tab closed: after a grace, free_session drops its state, files and memory
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading

import gradio as gr

from detector.constants import APP_DOWNLOADS_PREFIX

__all__ = ["end_session", "free_session"]

log = logging.getLogger("app")

_DOWNLOADS: list[str] = []


def _downloads_root() -> str:
    """One temporary folder per process for the downloads (gradio serves copies); removed at exit."""
    if not _DOWNLOADS:
        _DOWNLOADS.append(tempfile.mkdtemp(prefix=APP_DOWNLOADS_PREFIX))
        atexit.register(shutil.rmtree, _DOWNLOADS[0], ignore_errors=True)
    return _DOWNLOADS[0]


_FILES: list = []  # the webapp.session.Uploads of this process (made on first use)


def _session_files():
    """What each session uses: its uploads (in gradio's upload folder) and its downloads folders."""
    if not _FILES:
        from gradio.utils import get_upload_folder

        from webapp.session import Uploads

        _FILES.append(Uploads(get_upload_folder(), _downloads_root()))
    return _FILES[0]


def _hold_for_session(path: str | None, upload: bool = True) -> None:
    """Keep ``path`` until the session of the event being handled ends, then delete it (see :func:`end_session`;
    gradio keeps one file per upload content, so two tabs that upload the same clip share it: every handler that
    receives an upload holds it, or the other tab's end deletes it under this one;
    outside an event, e.g. in tests, nothing is noted).  ``upload``: a file the user uploaded (an example clip,
    which gradio copies into the same folder for every session, is never deleted); else a downloads folder."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)  # set by gradio in the handler's thread (handlers are partials here)
    session = getattr(request, "session_hash", None)
    if not path or not session:
        return
    blocks = LocalContext.blocks.get(None)
    if upload and str(path) not in getattr(blocks, "upload_file_set", ()):
        return
    _session_files().hold(str(path), session)


def _grace_s() -> float:
    """Seconds a closed tab's state and files are kept (DEEPFAKE_APP_SESSION_GRACE_S, default 60): a page whose
    connection dropped for a moment reconnects with the same session and finds them."""
    try:
        return max(0.0, float(os.environ.get("DEEPFAKE_APP_SESSION_GRACE_S", 60)))
    except ValueError:
        return 60.0


def end_session(demo: gr.Blocks, request: gr.Request) -> None:
    """A tab was closed or reloaded (``demo.unload``): after a short grace (:func:`_grace_s`), unless the tab has
    been used since, drop its state (gradio would keep it an hour after the page goes), delete the uploads and
    downloads no other session uses, and give the memory back to the system (:func:`free_session`)."""
    import datetime

    session = getattr(request, "session_hash", None)
    if session:
        timer = threading.Timer(_grace_s(), free_session, (demo, session, datetime.datetime.now()))
        timer.daemon = True
        timer.start()


def free_session(demo: gr.Blocks, session: str, closed_at=None) -> bool:
    """Drop the state, uploads and downloads of ``session`` (see :func:`end_session`); not when an event of it ran
    after ``closed_at`` (the tab reconnected).  Returns whether it was freed."""
    from webapp.session import release_memory

    holder = getattr(demo, "state_holder", None)
    if holder is not None and session in holder:
        last = holder.time_last_used.get(session)
        if closed_at is not None and last is not None and last > closed_at:
            log.info("session back after its page closed: kept")
            return False
        holder.delete_state(session)  # each gr.State's delete_callback runs, its value goes
        with holder.lock:
            holder.session_data.pop(session, None)  # the session's copy of the page's config goes too
            holder.time_last_used.pop(session, None)
    gone = _session_files().release(session)
    _session_files().sweep_empty()  # the empty folders gradio's own cache sweep leaves
    release_memory()
    log.info(
        "session ended: %d file(s) deleted; %d session(s) with state, %d file(s) held",
        len(gone),
        len(getattr(holder, "session_data", ())),
        _session_files().held(),
    )
    return True
