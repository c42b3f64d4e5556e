"""scripts/split_screen_probe.py: two frames side by side on a flat ground, each at most 854 x 480, never enlarged."""

import numpy as np
from conftest import load_script


def test_two_frames_side_by_side_each_in_its_half_on_the_ground():
    probe = load_script("scripts/split_screen_probe.py", "split_screen_probe")
    left = np.full((480, 640, 3), 200, np.uint8)
    right = np.full((720, 1280, 3), 100, np.uint8)  # shrunk to 854 x 480
    out = probe.split_screen(left, right, ground=(1, 2, 3))
    assert out.shape == (1080, 1920, 3)
    assert (out[300:780, 160:800] == 200).all() and (out[300:780, 960 + 53 : 960 + 53 + 853] == 100).all()
    assert (out[0, 0] == (1, 2, 3)).all() and (out[540, 900] == (1, 2, 3)).all()  # the ground between the panes
