"""Grad-CAM explanations of the classifier's face scores, with figures that say how far to trust them.

    from explain import explain_faces, overlay, METHODS
    exps = explain_faces(classifier, crops, method="gradcam")   # one Explanation per crop
    image = overlay(crops[0], exps[0].cam)                       # RGB heat map over the crop
    exps[0].figures()   # {"score", "drop_blur", "drop_remove", "face_mass", "face_area"}

Files, one job each (after pytorch-grad-cam's layout):
    methods.py       METHODS: name -> pytorch-grad-cam class (gradcam, gradcam++, hirescam, ...)
    recorder.py      activations and gradients of the target layer, hooked only during a call
    cam.py           one cached CAM object per (classifier, method); CAMs of a batch at input size
    faithfulness.py  probability drop when the top CAM pixels are blurred/removed; CAM mass on the face
    explanation.py   Explanation and explain_faces(), which ties the above together
    overlay.py       the CAM as a heat map over the crop

The target layer of each architecture is ``detector.models.registry.get(name).cam_layer``.
This package never imports gradio.
"""

from .explanation import Explanation, explain_faces
from .methods import METHODS
from .overlay import overlay

__all__ = ["explain_faces", "Explanation", "METHODS", "overlay"]
