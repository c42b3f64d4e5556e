"""The names of the CAM methods (see ``methods.py``), importable without torch or pytorch-grad-cam."""

METHOD_NAMES = ("gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam")
