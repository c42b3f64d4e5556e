"""The face quality measures (detector.inference.quality): a face lying on its side."""

import numpy as np
import pytest


def test_a_face_lying_on_its_side_is_said_to_and_its_head_turn_is_not_misread():
    # a journalist's audit: a real photo turned 90 degrees went from 0.08 to 0.62 with a warning of a "head turn
    # +0.70", and no word that the picture was sideways
    from types import SimpleNamespace

    from detector.inference.quality import face_stats, roll_degrees, sideways_warning

    upright = [(40, 50), (80, 50), (60, 70)]  # right eye, left eye, nose (as BlazeFace gives them)
    on_side = [(50, 80), (50, 40), (70, 60)]  # the same face turned 90 degrees
    assert abs(roll_degrees(upright)) < 1 and abs(abs(roll_degrees(on_side)) - 90) < 1
    crop = np.full((128, 128, 3), 128, np.uint8)
    assert face_stats(crop, (0, 0, 100, 100), upright)["yaw"] == pytest.approx(0.0)
    said = sideways_warning([SimpleNamespace(keypoints=on_side)])
    assert said.startswith("The face lies on its side in the picture (turned about 90 degrees)")
    assert "turn it upright and analyse it again" in said
    assert sideways_warning([SimpleNamespace(keypoints=upright)]) == ""
    assert sideways_warning([SimpleNamespace(keypoints=None)]) == ""
    upside_down = [(80, 70), (40, 70), (60, 50)]
    two = [SimpleNamespace(keypoints=upside_down), SimpleNamespace(keypoints=upside_down)]
    assert sideways_warning(two).startswith("The faces lie upside down in the picture (turned about 180 degrees)")
    mixed = [SimpleNamespace(keypoints=on_side), SimpleNamespace(keypoints=upright), SimpleNamespace(keypoints=upright)]
    assert sideways_warning(mixed) == ""  # one face of three on its side (a person lying down): not the picture


def test_a_photo_turned_on_its_side_is_analysed_upright_and_said_so(tmp_path):
    # it was warned of ("the face lies on its side ... its score means little"), and a real portrait so turned was
    # called fake (a journalist's audit): a photo is now turned upright first (a video's frames are warned of)
    import cv2

    from detector.data.synthetic import astronaut
    from detector.inference.pipeline import analyze

    path = tmp_path / "sideways.png"
    cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(np.rot90(astronaut())), cv2.COLOR_RGB2BGR))
    report = analyze(str(path), cam=None)
    assert report.faces and report.video_info["turned_upright"] == 270
    assert any(w.startswith("The photo lay on its side, so it was analysed turned a quarter") for w in report.warnings)
    assert not any(w.startswith("The face lies on its side") or "(head turn" in w for w in report.warnings)
