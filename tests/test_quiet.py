"""No log spam: mediapipe's native TensorFlow Lite / absl lines never reach the user's terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a scan in a subprocess: Python, torch and mediapipe start each time


def test_scan_prints_only_its_own_lines(clips, tiny_model_dir):
    env = {**os.environ, "DEEPFAKE_MODELS_DIR": str(tiny_model_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "detector", "scan", clips["face"], "--frames", "4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for noise in ("XNNPACK", "W0000", "absl::InitializeLog", "inference_feedback_manager"):
        assert noise not in proc.stderr, proc.stderr
    lines = proc.stdout.strip().splitlines()  # the verdict and its warnings: the scan's result, on standard output
    assert lines[0].startswith(clips["face"]) and all(line.startswith("  warning: ") for line in lines[1:])
    assert not proc.stderr.strip(), proc.stderr  # nothing else: no native library's noise, no progress for one file


def test_the_second_face_finder_for_unsure_photo_faces_is_quiet_too(tmp_path, tiny_model_dir):
    # FaceMesh, asked about a photo's face BlazeFace was unsure of, printed its first-run lines into a scan's output
    import cv2
    import skimage.data

    cup = tmp_path / "coffee.png"  # BlazeFace 0.59 on the cup: FaceMesh is asked, finds none
    cv2.imwrite(str(cup), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    env = {**os.environ, "DEEPFAKE_MODELS_DIR": str(tiny_model_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "detector", "scan", str(cup)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for noise in ("W0000", "inference_feedback_manager", "landmark_projection_calculator"):
        assert noise not in proc.stderr + proc.stdout, proc.stderr
    assert "no face found" in proc.stdout
