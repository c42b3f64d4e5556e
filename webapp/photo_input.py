"""The page's photo slots: gradio's ``Image`` that leaves a file PIL cannot open to the app's own checks."""

from __future__ import annotations

import functools

import gradio as gr

__all__ = ["photo_input", "PHOTO_SLOTS"]

PHOTO_SLOTS: set[str] = set()  # elem_ids of the slots made by photo_input (a session's copies keep them)


def photo_input(**kwargs) -> gr.Image:
    """``gr.Image(type="filepath", **kwargs)`` whose preprocessing never fails on the file itself; by default
    labelled "Photo", taking an upload or the clipboard, and the uploaded file as it is (``image_mode=None``: never
    re-encoded before the analysis; a pasted picture is saved as PNG).

    gradio opens an uploaded image with PIL before any handler runs, so an empty, truncated or mislabelled file, or
    one over PIL's decompression-bomb limit, ended in gradio's several-line "Could not preprocess input" error with
    the server's upload path in it.  Here such a file is passed on as its path, and the app's own checks
    (:func:`detector.inference.stills.read_still`) give their one-line message.

    The guard is on the class, for the slots named in :data:`PHOTO_SLOTS` (by ``elem_id``; one without an elem_id
    is given one), not on the instance: any update a handler sends to a slot (``gr.skip()`` included) makes gradio
    build a fresh ``gr.Image`` from the slot's constructor arguments for the session, which dropped a guard set on
    the instance (a browser check: a text file named .jpg in the lab's Photo slot gave gradio's tracebacks once the
    tab had been opened with the first tab empty).  No subclass: gradio writes a ``.pyi`` stub beside the module of
    every component subclass, at import, which fails where the package is installed read-only.
    """
    kwargs = {"label": "Photo", "sources": ["upload", "clipboard"], "image_mode": None, "format": "png", **kwargs}
    kwargs.setdefault("elem_id", f"photo-slot-{len(PHOTO_SLOTS)}")
    PHOTO_SLOTS.add(kwargs["elem_id"])
    _guard_image_class()
    return gr.Image(type="filepath", **kwargs)


def _guard_image_class() -> None:
    """Wrap ``gr.Image.preprocess`` once: for a slot of :data:`PHOTO_SLOTS`, a file PIL cannot open is passed on as
    its path; every other Image is left to gradio."""
    if getattr(gr.Image.preprocess, "_photo_slots", False):
        return
    plain = gr.Image.preprocess

    @functools.wraps(plain)
    def preprocess(self, payload):
        try:
            return plain(self, payload)
        except Exception:  # noqa: BLE001 -- whatever PIL makes of the file, the app's checks judge it
            path = getattr(payload, "path", None)
            if not path or self.elem_id not in PHOTO_SLOTS or self.type != "filepath":
                raise  # not a file of a photo slot (a pasted image that did not decode, another Image): gradio's
            return str(path)

    preprocess._photo_slots = True
    gr.Image.preprocess = preprocess
