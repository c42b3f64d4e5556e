"""Balanced training epochs: by class (``sampling_weights``) and by source, each half real
(``domain_sampling_weights``), and the pseudo-fake rows the second one draws from."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from detector.training.augment import CropLoader, domain_sampling_weights, sampling_weights, with_pseudo_fakes


def table(counts: dict[tuple[str, str], int], pseudo_of: tuple[str, ...] = ()) -> pd.DataFrame:
    """A training table: ``counts[(label, source)]`` crops, plus a pseudo-fake copy of each real crop of the
    sources in ``pseudo_of``."""
    rows = []
    for (label, source), n in counts.items():
        for i in range(n):
            rows.append({"path": f"{source}/{label}/{i}.png", "label": label, "source": source, "pseudo": False})
            if label == "real" and source in pseudo_of:
                rows.append({"path": f"{source}/{label}/{i}.png", "label": "fake", "source": source, "pseudo": True})
    return pd.DataFrame(rows)


def mass(df, w, **where) -> float:
    keep = np.ones(len(df), bool)
    for k, v in where.items():
        keep &= (df[k] == v).to_numpy()
    return float(w[keep].sum())


COUNTS = {
    ("real", "ffpp"): 100,
    ("fake", "ffpp"): 300,
    ("real", "photos"): 1600,
    ("real", "actors"): 25,
}


def test_each_source_is_half_real_and_gets_the_square_root_of_its_crops():
    df = table(COUNTS, pseudo_of=("ffpp", "photos", "actors"))
    w, shares = domain_sampling_weights(df, pseudo_share=0.25)
    assert w.sum() == pytest.approx(1.0)
    roots = {"ffpp": 20.0, "photos": 40.0, "actors": 5.0}  # sqrt of 400, 1600 and 25 crops (copies not counted)
    for source, root in roots.items():
        share = root / sum(roots.values())
        assert mass(df, w, source=source) == pytest.approx(share)
        assert mass(df, w, source=source, label="real") == pytest.approx(share / 2)
    # ffpp has fakes of its own: its fake half is 3/4 those, 1/4 pseudo-fakes; the others' all pseudo-fakes
    ffpp = roots["ffpp"] / sum(roots.values())
    assert mass(df, w, source="ffpp", label="fake", pseudo=False) == pytest.approx(0.375 * ffpp)
    assert mass(df, w, source="ffpp", pseudo=True) == pytest.approx(0.125 * ffpp)
    assert mass(df, w, source="photos", pseudo=True) == pytest.approx(0.5 * 40 / 65)
    parts = {"real:ffpp", "fake:ffpp", "sbi:ffpp", "real:photos", "sbi:photos", "real:actors", "sbi:actors"}
    assert set(shares) == parts
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    # every crop of a part is drawn alike
    ffpp_fakes = w[((df.source == "ffpp") & (df.label == "fake") & ~df.pseudo).to_numpy()]
    assert np.ptp(ffpp_fakes) == 0


def test_balance_by_class_lets_the_source_tell_the_label():
    """The reason for balancing by source: balanced by class, a real-only photo source makes most of the real
    half while ffpp's draws are mostly fake."""
    df = table(COUNTS)
    w, shares = sampling_weights(df)
    assert mass(df, w, label="real") == pytest.approx(0.5)
    ffpp_real = mass(df, w, source="ffpp", label="real") / mass(df, w, source="ffpp")
    assert ffpp_real < 0.35
    assert shares["fake:ffpp"] == pytest.approx(0.5)


def test_a_source_with_one_class_only_keeps_it():
    """Reals where FaceMesh finds no face have no pseudo-fake copies: that source can only be drawn real."""
    df = table({("real", "ffpp"): 10, ("fake", "ffpp"): 10, ("real", "blurry"): 9}, pseudo_of=("ffpp",))
    w, shares = domain_sampling_weights(df, pseudo_share=0.5)
    assert shares["real:blurry"] == pytest.approx(3 / (np.sqrt(20) + 3), abs=1e-4)
    assert "sbi:blurry" not in shares and w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_pseudo_share_out_of_range_is_refused(share):
    with pytest.raises(ValueError, match="pseudo-fakes"):
        domain_sampling_weights(table(COUNTS), pseudo_share=share)


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    """Two crops of the astronaut's face (one mirrored) and a blank one, as PNG files."""
    from skimage import data

    from detector.inference.faces import FaceDetector, crop_face

    image = data.astronaut()
    detector = FaceDetector()
    face = detector.detect(image)[0]
    detector.close()
    crop = crop_face(image, face.box)
    folder = tmp_path_factory.mktemp("crops")
    paths = []
    for name, arr in (("face", crop), ("mirror", crop[:, ::-1]), ("blank", np.full_like(crop, 128))):
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR))
        paths.append(str(path))
    return paths


def test_pseudo_fake_rows_copy_the_real_training_crops_with_a_face(crops):
    face, mirror, blank = crops
    df = pd.DataFrame(
        [
            {"path": face, "label": "real", "is_valid": False, "method": "original", "source": "s"},
            {"path": blank, "label": "real", "is_valid": False, "method": "original", "source": "s"},
            {"path": mirror, "label": "real", "is_valid": True, "method": "original", "source": "s"},
            {"path": mirror, "label": "fake", "is_valid": False, "method": "Deepfakes", "source": "s"},
        ]
    )
    loader = CropLoader(64, sbi_seed=0)
    out = with_pseudo_fakes(df, loader)
    pseudo = out[out.pseudo]
    # one copy: the training real with a face (not the blank one, not the validation crop, not the fake)
    assert pseudo.path.tolist() == [face]
    assert pseudo.iloc[0][["label", "method", "is_valid"]].tolist() == ["fake", "sbi", False]
    assert len(out) == len(df) + 1 and not out.iloc[: len(df)].pseudo.any()
    real_row, pseudo_row = out.iloc[0], pseudo.iloc[0]
    real = loader(real_row)
    assert real.shape[0] == 80  # training crops are kept at 1.25x the input size
    first, second = loader(pseudo_row), loader(pseudo_row)
    assert first.shape == real.shape
    assert np.abs(first.astype(int) - real).mean() > 0.5  # blended
    assert not np.array_equal(first, second)  # a new blend at every draw
    assert np.array_equal(loader(real_row), real)  # the real crop itself is never changed


def test_a_loader_without_a_seed_makes_no_pseudo_fakes(crops):
    df = pd.DataFrame([{"path": crops[0], "label": "real", "is_valid": False}])
    with pytest.raises(ValueError, match="pseudo-fakes"):
        with_pseudo_fakes(df, CropLoader(64))


def test_sbi_regions_reach_the_class_balance_blender():
    """--balance class blends in the item transform: --sbi-regions reaches its blender too (0 by default)."""
    from detector.training.augment import item_transforms

    for regions in (0.0, 0.7):
        tfms = item_transforms(64, 0.5, ["fake", "real"], 0, sbi_regions=regions)
        assert type(tfms[0]).__name__ == "SelfBlend" and tfms[0].blender.regions == regions
    assert "SelfBlend" not in [type(t).__name__ for t in item_transforms(64, 0.0, ["fake", "real"], 0)]
