"""A CAM drawn over its crop as a heat map (pytorch-grad-cam's ``show_cam_on_image``).

Two colour maps (:data:`HEAT_MAPS`): ``jet``, the Grad-CAM convention (blue = least, red = most), and ``inferno``
(black = least, bright yellow = most), whose brightness rises with the value: it reads the same with red-green
colour blindness, where jet's red peak and its yellow-green shoulder look alike, and in greyscale, where jet's
peak is as dark as its lowest values.
"""

from __future__ import annotations

import cv2
import numpy as np

HEAT_MAPS = {"jet": cv2.COLORMAP_JET, "inferno": cv2.COLORMAP_INFERNO}  # name -> OpenCV colour map
DEFAULT_HEAT_MAP = "jet"


def overlay(crop: np.ndarray, cam: np.ndarray, alpha: float = 0.5, colours: str = DEFAULT_HEAT_MAP) -> np.ndarray:
    """RGB uint8 image the size of ``crop``: ``alpha`` of heat map over ``1 - alpha`` of the crop.

    ``cam`` holds values in [0, 1]; it is resized to the crop if their sizes differ.  ``colours``: a name of
    :data:`HEAT_MAPS`.
    """
    crop = np.asarray(crop)
    if crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"overlay needs an RGB crop (H x W x 3), got shape {crop.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    if colours not in HEAT_MAPS:
        raise ValueError(f"unknown heat map colours {colours!r}: one of {', '.join(HEAT_MAPS)}")
    h, w = crop.shape[:2]
    if alpha == 0.0:
        return crop.astype(np.uint8) if crop.dtype == np.uint8 else np.uint8(np.clip(crop, 0, 1) * 255)
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32))
    if cam.shape != (h, w):
        cam = cv2.resize(cam, (w, h), interpolation=cv2.INTER_LINEAR)
    from pytorch_grad_cam.utils.image import show_cam_on_image  # (imports torch: on first use, not at import)

    image = crop.astype(np.float32) / 255.0 if crop.dtype == np.uint8 else np.clip(crop.astype(np.float32), 0, 1)
    return show_cam_on_image(
        image, np.clip(cam, 0.0, 1.0), use_rgb=True, colormap=HEAT_MAPS[colours], image_weight=1.0 - alpha
    )


__all__ = ["overlay", "HEAT_MAPS", "DEFAULT_HEAT_MAP"]
