"""scripts/inner_edges_probe.py and scripts/turned_photos_probe.py: busy squares get no inner picture, a missing
data folder is a one-line error, and on the research data most portrait edges of 48 px collages are found."""

import os

import pytest
from conftest import load_script

UTK = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "faces_utk")


@pytest.fixture(scope="module")
def probe():
    return load_script("scripts/inner_edges_probe.py", "inner_edges_probe")


def test_busy_squares_get_no_inner_picture(probe):
    assert probe.busy_squares(25) == {58: 0, 130: 0}


def test_a_missing_data_folder_is_a_one_line_error(probe, tmp_path, capsys):
    assert probe.main(["--utk", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder" in err[0]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(UTK), reason="the UTKFace photos (../shared/data/faces_utk) are not here")
def test_most_edges_of_small_portraits_in_a_collage_are_found(probe):
    counts, why = probe.collage_edges(UTK, collages=3, side=48)
    total = counts["found"] + counts["missed"]
    assert total >= 40 and counts["found"] >= 0.85 * total, (counts, why)


def test_the_turned_photos_probe_says_a_missing_data_folder_in_one_line(tmp_path, capsys):
    turned = load_script("scripts/turned_photos_probe.py", "turned_photos_probe")
    assert turned.main(["--utk", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder" in err[0]


def test_the_cutout_probe_cuts_an_oval_and_says_a_missing_folder_in_one_line(tmp_path, capsys):
    import numpy as np

    cut = load_script("scripts/cutout_probe.py", "cutout_probe")
    image = np.full((100, 80, 3), 90, np.uint8)
    out = cut.cut_out(image, "alpha")
    assert out.shape == (100, 80, 4) and out[48, 40, 3] == 255 and out[0, 0, 3] == 0  # the middle kept, corners gone
    assert cut.cut_out(image, "none") is image
    assert cut.main(["--utk", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder" in err[0]
