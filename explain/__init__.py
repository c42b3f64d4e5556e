"""Grad-CAM explanations of the classifier's face scores, with figures that say how far to trust them.

    from explain import explain_faces, overlay, METHODS
    exps = explain_faces(classifier, crops, method="gradcam")   # one Explanation per crop
    image = overlay(crops[0], exps[0].cam)                       # RGB heat map over the crop (jet)
    image = overlay(crops[0], exps[0].cam, colours="inferno")    # brightness = value: colour-blind safe
    exps[0].figures()   # {"score", "drop_blur", "drop_remove", "face_mass", "face_area"}

Files, one job each (after pytorch-grad-cam's layout):
    methods.py       METHODS: name -> pytorch-grad-cam class (gradcam, gradcam++, hirescam, ...)
    recorder.py      activations and gradients of the target layer, hooked only during a call
    cam.py           one cached CAM object per (classifier, method); CAMs of a batch at input size
    faithfulness.py  probability drop when the top CAM pixels are blurred/removed; CAM mass on the face
    explanation.py   Explanation and explain_faces(), which ties the above together
    overlay.py       the CAM as a heat map over the crop; HEAT_MAPS: its colour maps (jet, inferno)

The target layer of each architecture is ``detector.models.registry.get(name).cam_layer``.
This package never imports gradio.
"""

from .names import METHOD_NAMES
from .overlay import (
    DEFAULT_HEAT_MAP,
    HEAT_MAPS,
    overlay,
)  # light (OpenCV, NumPy); bound now so the name is never shadowed by its module

__all__ = ["explain_faces", "Explanation", "METHODS", "METHOD_NAMES", "overlay", "HEAT_MAPS", "DEFAULT_HEAT_MAP"]

_LAZY = {"explain_faces": "explanation", "Explanation": "explanation", "METHODS": "methods"}


def __getattr__(name: str):
    """torch and pytorch-grad-cam load on first use, not on ``import explain`` (the app lists METHOD_NAMES at
    start without paying for them)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
