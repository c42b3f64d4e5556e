"""The page's photo slot: gradio's ``Image`` that leaves a file PIL cannot open to the app's own checks."""

from __future__ import annotations

import gradio as gr

__all__ = ["photo_input"]


def photo_input(**kwargs) -> gr.Image:
    """``gr.Image(type="filepath", **kwargs)`` whose preprocessing never fails on the file itself.

    gradio opens an uploaded image with PIL before any handler runs, so an empty, truncated or mislabelled file, or
    one over PIL's decompression-bomb limit, ended in gradio's several-line "Could not preprocess input" error with
    the server's upload path in it.  Here such a file is passed on as its path, and the app's own checks
    (:func:`detector.inference.stills.read_still`) give their one-line message.  The instance's ``preprocess`` is
    wrapped rather than the class subclassed: gradio writes a ``.pyi`` stub beside the module of every component
    subclass, at import, which fails where the package is installed read-only.
    """
    image = gr.Image(type="filepath", **kwargs)
    plain = image.preprocess

    def preprocess(payload):
        try:
            return plain(payload)
        except Exception:  # noqa: BLE001 -- whatever PIL makes of the file, the app's checks judge it
            path = getattr(payload, "path", None)
            return str(path) if path else None

    image.preprocess = preprocess
    return image
