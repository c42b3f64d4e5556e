"""Where a fake was changed (detector.data.masks) and the training loss that learns it (train --mask-weight)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch


def test_difference_mask_marks_the_changed_pixels_and_refuses_frames_that_do_not_line_up():
    import cv2

    from detector.data.masks import difference_mask

    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3)).astype(np.uint8)
    real = cv2.GaussianBlur(noise, (0, 0), 1.5)  # a textured frame: a shifted cut of it differs everywhere
    fake = real.copy()
    fake[60:140, 60:140] = np.clip(fake[60:140, 60:140].astype(int) + 60, 0, 255)
    mask = difference_mask(fake, real)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert (mask[70:130, 70:130] == 255).mean() > 0.95
    assert (mask[:40] == 0).all() and (mask[:, :40] == 0).all()
    assert (difference_mask(real, real) == 0).all()
    # shifted by 8 pixels (another crop of the frame): the border differs, no mask rather than a wrong one
    assert difference_mask(np.ascontiguousarray(np.roll(fake, 8, axis=1)), real) is None
    assert difference_mask(fake[:100], real) is None
    # a bright band along the border (a head that moved between two frames a moment apart): not a changed face
    moved = fake.copy()
    moved[:, :30] = np.clip(moved[:, :30].astype(int) + 60, 0, 255)
    assert difference_mask(moved, real) is None


def test_frame_offset_finds_where_a_narrower_fake_was_cut_from_its_target():
    import cv2

    from detector.data.masks import frame_offset

    noise = np.random.default_rng(1).integers(0, 256, (120, 200, 3)).astype(np.uint8)
    real = cv2.GaussianBlur(noise, (0, 0), 1.0)
    fake = np.ascontiguousarray(real[2:118, 11:187])  # 16 pixels narrower on each side pair, as Face2Face's copies
    assert frame_offset(fake, real) == (11, 2)
    assert frame_offset(real, real) == (0, 0)
    assert frame_offset(real, fake) is None  # the target smaller than the fake: not a cut of it
    assert frame_offset(fake[:10, :10], real) is None  # too many places to try: not a cut of it either


@pytest.mark.parametrize("method", ["Deepfakes", "Face2Face"])
def test_manipulation_masks_cut_the_fakes_crops_from_their_target(ffpp_tiny, tmp_path, method):
    from detector.data.crops import extract_crops, read_crop
    from detector.data.masks import manipulation_masks

    fake = ffpp_tiny / "manipulated_sequences" / method / "c23" / "videos" / "001_002.mp4"
    target = ffpp_tiny / "original_sequences" / "youtube" / "c23" / "videos" / "001.mp4"
    masks = manipulation_masks(str(fake), str(target), frames=4, cache=tmp_path)
    crops = extract_crops(str(fake), frames=4, cache=tmp_path)
    assert set(masks) == set(crops.files) and len(masks) >= 3
    assert all(m is not None for m in masks.values())
    for crop, m in masks.items():
        mask = read_crop(m)[..., 0]
        assert mask.shape == read_crop(crop).shape[:2]
        n = mask.shape[0]
        centre, border = mask[n // 3 : 2 * n // 3, n // 3 : 2 * n // 3], mask[: n // 8]
        assert (centre == 255).mean() > 0.5 and (border == 0).all()
        assert (mask == 255).mean() < 0.5  # the patch, not a misaligned frame's everything
    if method == "Face2Face":
        return

    # cached: the same answer without decoding; a target that changed is compared again
    meta = Path(crops.files[0]).parent / "masks.json"
    stamp = meta.stat().st_mtime_ns
    assert manipulation_masks(str(fake), str(target), frames=4, cache=tmp_path) == masks
    assert meta.stat().st_mtime_ns == stamp
    moved = tmp_path / "copied" / Path(target).name  # its target copied elsewhere: the same bytes, reused
    moved.parent.mkdir()
    shutil.copy(target, moved)
    assert manipulation_masks(str(fake), str(moved), frames=4, cache=tmp_path) == masks
    assert meta.stat().st_mtime_ns == stamp
    other = ffpp_tiny / "original_sequences" / "youtube" / "c23" / "videos" / "002.mp4"
    unlike = manipulation_masks(str(fake), str(other), frames=4, cache=tmp_path)  # not its target: no line-up
    assert set(unlike) == set(masks) and all(m is None for m in unlike.values())
    from detector.data.crops import source_fingerprint

    assert json.loads(meta.read_text())["stamp"]["target"] == source_fingerprint(other)


def test_mask_loss_counts_only_samples_with_a_mask():
    from detector.training.augment import UNKNOWN_MASK, MaskBuffer
    from detector.training.callbacks import MaskSupervision

    torch.manual_seed(0)
    head = torch.nn.Conv2d(8, 1, 1)
    cb = MaskSupervision(head, 2.0, MaskBuffer())
    fmap = torch.randn(3, 8, 2, 2)
    mask = torch.zeros(3, 8, 8)
    mask[0, :4, :4] = 1.0  # one cell of four changed
    mask[2] = UNKNOWN_MASK / 255  # no mask
    loss = cb.mask_loss(fmap, mask)
    target = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logits = head(fmap[:2])[:, 0]
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target.expand(2, 2, 2) * torch.tensor([1.0, 0.0]).view(2, 1, 1)
    )
    assert torch.allclose(loss, expected)
    assert cb.mask_loss(fmap[2:], mask[2:]) is None

    # added to the training loss, times the weight; validation batches untouched
    cb.features, cb.buffer.mask = fmap, mask
    base = torch.tensor(0.5, requires_grad=True)
    cb.learn = SimpleNamespace(training=True, loss_grad=base * 1, loss=None)
    cb.after_loss()
    assert torch.allclose(cb.learn.loss_grad, 0.5 + 2.0 * expected.detach())
    assert cb.last == pytest.approx(float(expected.detach()))
    cb.learn = SimpleNamespace(training=False, loss_grad=base * 1, loss=None)
    cb.after_loss()
    assert float(cb.learn.loss_grad) == 0.5


@pytest.mark.slow
def test_mask_weight_trains_on_rgb_and_mask_and_exports_without_the_head(ffpp_tiny, tmp_path):
    from detector.training.config import parse_config
    from detector.training.run import MASK_HEAD, learner, main, prepare

    cache = tmp_path / "cache"
    argv = ["--data", str(ffpp_tiny), "--arch", "resnet18", "--size", "32", "--frames", "4", "--epochs", "1"]
    argv += ["--bs", "4", "--folds", "2", "--fold", "0", "--workers", "1", "--cache", str(cache)]
    argv += ["--epoch-size", "16", "--balance", "domain", "--sbi", "0.25", "--mask-weight", "1"]
    cfg = parse_config(argv + ["--out", str(tmp_path / "l")])
    learn, full_valid, *_ = learner(cfg, prepare(cfg), tmp_path / "l")
    rows = learn.dls.train.items
    fakes = rows[(rows.label == "fake") & ~rows.pseudo]
    assert len(fakes) and (fakes["mask"] != "").all()  # every training fake has its target's difference mask
    assert (rows[rows.label == "real"]["mask"] == "").all() and (full_valid.items["mask"] == "").all()
    # a training item is RGB + mask; the batch reaches the network as RGB, the masks wait in the buffer
    i = int(np.flatnonzero(((rows.label == "fake") & ~rows.pseudo).to_numpy())[0])
    img, _ = learn.dls.train.dataset[i]
    assert np.asarray(img).shape[2] == 4 and np.asarray(img)[..., 3].max() == 255
    xb, yb = learn.dls.train.one_batch()
    assert xb.shape[1] == 3
    cb = next(c for c in learn.cbs if type(c).__name__ == "MaskSupervision")
    assert cb.buffer.mask is not None and cb.buffer.mask.shape == (len(xb), 32, 32)
    assert 0 <= float(cb.buffer.mask.min()) and float(cb.buffer.mask.max()) <= 1  # after IntToFloatTensor
    vx, _ = full_valid.one_batch()
    assert vx.shape[1] == 3 and cb.buffer.mask is None

    out = tmp_path / "m"
    assert main(argv + ["--out", str(out)]) == 0
    from safetensors.torch import load_file

    weights = load_file(str(out / "model" / "resnet18.safetensors"))
    assert not any(k.startswith(MASK_HEAD) for k in weights)
    trained = json.loads((out / "model" / "resnet18.json").read_text())["trained"]
    assert trained["config"]["mask_weight"] == 1.0


def test_mask_weight_needs_domain_balance(tmp_path, capsys):
    from detector.training.run import main

    for extra in (["--mask-weight", "1"], ["--mask-weight", "-1", "--balance", "domain", "--sbi", "0.5"]):
        with pytest.raises(SystemExit):
            main(["--data", str(tmp_path), "--arch", "resnet18", "--epoch-size", "64", *extra])
        assert "--mask-weight W is a loss weight" in capsys.readouterr().err


def test_crop_loader_gives_training_crops_a_mask_channel(tmp_path):
    """--mask-weight: a training row is RGB + mask (a pseudo-fake: where its blend changed it; a real: nothing; a
    fake without a mask: UNKNOWN_MASK); a validation row stays RGB."""
    import cv2
    import pandas as pd

    from detector.data.synthetic import astronaut
    from detector.training.augment import UNKNOWN_MASK, CropLoader, with_pseudo_fakes

    crop = np.ascontiguousarray(cv2.resize(astronaut()[20:260, 120:360], (200, 200)))
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    row = dict(path=str(path), video="v", time=0.0, group="g", method="original", source="s", kind="video")
    df = pd.DataFrame(
        [
            {**row, "label": "real", "is_valid": False, "mask": ""},
            {**row, "label": "fake", "is_valid": False, "mask": "", "method": "Deepfakes"},
            {**row, "label": "real", "is_valid": True, "mask": ""},
        ]
    )
    loader = CropLoader(160, sbi_seed=0, masks=True)
    df = with_pseudo_fakes(df, loader)
    real, fake, valid, pseudo = (df.iloc[i] for i in range(4))
    assert pseudo.pseudo and pseudo.label == "fake"
    out = loader(pseudo)
    assert out.shape == (200, 200, 4) and out[..., 3].max() == 255
    changed = np.abs(out[..., :3].astype(int) - crop).max(axis=2) > 0
    assert (out[..., 3][changed] == 255).mean() > 0.7  # where the blend changed the crop
    assert (loader(real)[..., 3] == 0).all() and (loader(fake)[..., 3] == UNKNOWN_MASK).all()
    assert loader(valid).shape == (200, 200, 3)


def test_the_mask_moves_with_the_crop_through_the_training_augmentations():
    """Flips, rotations, affine moves, crops and the resize move the mask channel exactly as the image."""
    from fastai.vision.all import PILImage

    from detector.training.augment import item_transforms

    arr = np.zeros((80, 80, 4), np.uint8)
    arr[8:28, 8:44] = 255  # an off-centre white block, and its mask
    (augment,) = item_transforms(64, 0.0, ["fake", "real"], seed=0)
    for _ in range(30):
        out = np.asarray(augment(PILImage.create(arr), split_idx=0))
        assert out.shape == (64, 64, 4)
        block, mask = out[..., :3].mean(axis=2) > 128, out[..., 3] > 128
        assert (block & mask).sum() / max((block | mask).sum(), 1) > 0.7
    valid = np.asarray(augment(PILImage.create(arr), split_idx=1))
    assert valid.shape == (64, 64, 4)  # validation only resizes (its crops never carry a mask)


def test_masks_for_a_table_without_targets_is_empty_not_an_error():
    import pandas as pd

    from detector.data.masks import masks_for_table

    df = pd.DataFrame(
        {
            "path": ["a.png", "b.png"],
            "label": ["real", "fake"],
            "video": ["r.mp4", "f.mp4"],
            "is_valid": [False, False],
            "target": ["", ""],
            "pseudo": [False, False],
        }
    )
    out, stats = masks_for_table(df, frames=4, workers=1, progress=False)
    assert list(out["mask"]) == ["", ""]
    assert stats == {"with mask": 0, "fake crops": 0, "videos": 0, "failed": []}
    df.loc[1, "target"] = "/no/such/target.mp4"  # a target not in the data: no mask, no error
    out, stats = masks_for_table(df, frames=4, workers=1, progress=False)
    assert stats["videos"] == 0 and list(out["mask"]) == ["", ""]


def test_the_mask_head_trains_with_the_classifier():
    from detector.models import registry
    from detector.training.run import _in_head

    net = registry.build("resnet18", num_classes=2)
    head = torch.nn.Conv2d(net.num_features, 1, 1)
    net.add_module("mask_head", head)
    body, last = _in_head(registry.get("resnet18").param_groups(net), None, head)
    ids = {id(p) for p in head.parameters()}
    assert ids <= {id(p) for p in last} and not ids & {id(p) for p in body}
    assert len(body) + len(last) == len(list(net.parameters()))


@pytest.mark.parametrize("arch", ["coatnet_0", "meso4"])
def test_mask_weight_refuses_a_network_without_a_global_pool_module_before_any_work(arch, tmp_path):
    from detector.training.config import TrainConfig
    from detector.training.run import resolve_arch

    cfg = TrainConfig.from_dict(
        {"data": [str(tmp_path)], "arch": arch, "mask_weight": 1.0, "balance": "domain", "sbi": 0.25, "epoch_size": 8}
    )
    with pytest.raises(ValueError, match="global pool module"):
        resolve_arch(cfg)


def test_a_tilted_faces_mask_is_cut_from_its_target_turned_alike(tmp_path):
    # a review: the fake's crop of a tilted face is cut turned upright (quality.straighten_by) and the target's was
    # not, so the two squares never lined up and every tilted face lost its mask; here the "fake" is the target
    # itself: each of its masks must be there, and empty
    import shutil

    import cv2
    from skimage import data as skdata

    from detector.data.masks import manipulation_masks
    from detector.data.synthetic import render_clip
    from detector.inference.pipeline import detect_faces
    from detector.inference.video import sample_frames

    picture = skdata.astronaut()
    h, w = picture.shape[:2]
    big = cv2.copyMakeBorder(picture, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)
    turn = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), -30, 1.0)
    tilted = cv2.warpAffine(big, turn, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    target = render_clip(str(tmp_path / "000.mp4"), seconds=1.0, source=tilted)
    fake = shutil.copy(target, tmp_path / "000_001.mp4")
    _, sampled = sample_frames(str(fake), n_frames=4)
    assert all(f.straightened for faces in detect_faces(sampled) for f in faces)  # cut upright
    masks = manipulation_masks(str(fake), target, frames=4, cache=tmp_path / "cache")
    assert masks and all(m is not None for m in masks.values())
    assert all(not cv2.imread(m, cv2.IMREAD_GRAYSCALE).any() for m in masks.values())
