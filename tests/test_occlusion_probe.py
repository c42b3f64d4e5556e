"""scripts/occlusion_probe.py: covers drawn where the face's parts are, nothing drawn for "none", the clip table's
arithmetic with faces lost, and fold cards of another model refused."""

import json

import numpy as np
import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def probe():
    return load_script("scripts/occlusion_probe.py", "occlusion_probe")


def test_each_cover_lies_over_its_part_of_the_face(probe):
    from skimage.data import astronaut

    from detector.inference.faces import FaceDetector

    photo = np.ascontiguousarray(astronaut())
    faces = probe._faces(photo, FaceDetector())
    assert len(faces) == 1
    re, le, nose, mouth = (np.asarray(p) for p in faces[0].keypoints[:4])
    assert np.array_equal(probe.cover(photo, faces, "none"), photo)
    for name in probe.COVERS:
        if name == "none":
            continue
        out = probe.cover(photo, faces, name)
        changed = np.abs(out.astype(int) - photo).sum(axis=2) > 30
        ys, xs = np.nonzero(changed)
        assert len(ys) > 100, name
        middle = np.array([np.median(xs), np.median(ys)])
        d = np.hypot(*(le - re))
        if name in ("sunglasses", "glasses"):
            assert np.hypot(*(middle - (re + le) / 2)) < 0.6 * d, name  # across the eyes
        else:  # the mask, the microphone, the cup: the mouth and below
            assert middle[1] > nose[1] and np.hypot(*(middle - mouth)) < 1.5 * d, name
        assert not changed[: int(min(re[1], le[1]) - d)].any(), name  # nothing above the brows


def test_the_clip_table_counts_by_source_and_keeps_faces_lost_apart(probe, capsys):
    rows = [
        {
            "source": "ffpp",
            "label": 0,
            "none": {"score": 0.1, "label": "real"},
            "mask": {"score": None, "label": "unknown"},
        },
        {
            "source": "ffpp",
            "label": 1,
            "none": {"score": 0.9, "label": "fake"},
            "mask": {"score": 0.5, "label": "uncertain"},
        },
        {
            "source": "ffpp",
            "label": 1,
            "none": {"score": 0.7, "label": "fake"},
            "mask": {"score": 0.2, "label": "real"},
        },
        {
            "source": "wild_real",
            "label": 0,
            "none": {"score": 0.3, "label": "real"},
            "mask": {"score": 0.8, "label": "fake"},
        },
    ]
    probe._clip_tables(
        [{k: v for k, v in r.items() if k not in ("none", "mask")} | {"models": {"m": r}} for r in rows],
        ["none", "mask"],
    )
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("m (fold members out of fold")
    assert "| none: the face as it is | ffpp | 0 / 0 / 1 | 2 / 0 / 0 | 1.000 |" in out
    mask = "| mask: a light-blue surgical mask over nose and mouth"
    assert f"{mask} | ffpp | 0 / 0 / 0 (1 no face or error) | 0 / 1 / 1 | - |" in out
    assert f"{mask} | wild_real | 1 / 0 / 0 | - | - |" in out


def test_fold_cards_of_another_model_are_refused(probe, tmp_path):
    ensemble = tmp_path / "m.json"
    ensemble.write_text(json.dumps({"name": "mine", "members": ["mine_fold0.safetensors"]}))
    model = tmp_path / "folds" / "fold0" / "model"
    model.mkdir(parents=True)
    split = {"fold": 0, "val_groups": ["000_003", "actor01"]}
    card = {"name": "x", "trained": {"split": split, "unpacked_from": "mine (member mine_fold0.safetensors); ..."}}
    (model / "mobilenetv2.json").write_text(json.dumps(card))
    folds = probe._fold_of(str(ensemble), str(tmp_path / "folds"))
    assert folds == {g: (0, str(model / "mobilenetv2.json")) for g in split["val_groups"]}
    card["trained"]["unpacked_from"] = "other (member other_fold0.safetensors)"
    (model / "mobilenetv2.json").write_text(json.dumps(card))
    with pytest.raises(SystemExit, match="not a member"):
        probe._fold_of(str(ensemble), str(tmp_path / "folds"))


def test_the_covered_threshold_is_calibrations_rule_per_cover_and_refuses_a_run_without_shares(probe, tmp_path):
    import shutil

    card = tmp_path / "mnv2_tightpad.json"
    shutil.copy("assets/models/mnv2_tightpad.json", card)
    for f in ("mnv2_tightpad_fold0.safetensors", "mnv2_tightpad_fold1.safetensors", "mnv2_tightpad_fold2.safetensors"):
        (tmp_path / f).write_bytes(b"")  # the card names its members; --tier reads the card only
    rng = np.random.default_rng(0)
    photos = [f"{i}_0_0_x.jpg" for i in range(200)]
    rows = {
        # 200 covered photos per cover: scores spread 0-1, shares over COVER_SHARE; the cup's higher
        "cup|mnv2_tightpad": [[p, "real", float(s), [], 0.6] for p, s in zip(photos, rng.uniform(0.2, 1.0, 200))],
        "mask|mnv2_tightpad": [[p, "real", float(s), [], 0.6] for p, s in zip(photos, rng.uniform(0.0, 0.8, 200))],
        # bare: read as bare, left out
        "none|mnv2_tightpad": [[p, "real", 0.99, [], 0.0] for p in photos],
    }
    run = tmp_path / "calib.json"
    run.write_text(json.dumps({"photos": 200, "seed": 1, "skip": 200, "rows": rows}))
    assert probe.main(["--tier", str(run), "--card-file", str(card), "--write"]) == 0
    got = json.loads(card.read_text())["covered"]
    cup = sorted((r[2] for r in rows["cup|mnv2_tightpad"]), reverse=True)
    assert cup[10] < got["threshold"] <= cup[9] + 1e-6  # 5% of 200: ten cup photos at or over it, the mask's fewer
    assert got["measured"]["read_as_covered"] == {"cup": 200, "mask": 200, "none": 0}
    # a run from before each photo's share was recorded: refused, nothing written
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"photos": 200, "rows": {k: [r[:4] for r in v] for k, v in rows.items()}}))
    with pytest.raises(SystemExit, match="no lower-face shares"):
        probe.main(["--tier", str(old), "--card-file", str(card), "--write"])
