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
