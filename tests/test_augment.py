"""Tests for clhelpers.augment: per-image views, determinism, shapes, the batch-wide bug (pictures: test_plots)."""
import ast
from pathlib import Path

import pytest
import torch

from clhelpers.augment import (
    TwoViewDataset,
    ViewParams,
    affine_matrices,
    batchwide_views,
    make_views,
    random_affine,
    to_unit_float,
    torchvision_views_transform,
)


def blob_digits(n: int = 16, seed: int = 0) -> torch.Tensor:
    """n uint8 28x28 images, each a different random blob of strokes in the central 20x20 box."""
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(n, 28, 28)
    img[:, 4:24, 4:24] = torch.rand(n, 20, 20, generator=g)
    img = torch.nn.functional.avg_pool2d(img[:, None], 3, stride=1, padding=1)[:, 0]
    img = (img > 0.5).float() * 255
    return img.to(torch.uint8)


def one_digit_repeated(n: int = 32) -> torch.Tensor:
    return blob_digits(1).expand(n, 28, 28).contiguous()


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def pairwise_min_distance(v: torch.Tensor) -> float:
    flat = v.flatten(1)
    d = torch.cdist(flat, flat)
    d.fill_diagonal_(float("inf"))
    return d.min().item()


# --- ViewParams --------------------------------------------------------------------------------

def test_default_params_are_valid_and_have_no_flip_field():
    p = ViewParams()
    assert 0 < p.crop_scale[0] <= p.crop_scale[1] <= 1.0
    assert 0 < p.rotation <= 45
    assert not any("flip" in name for name in p.as_dict())


@pytest.mark.parametrize("kwargs", [
    dict(crop_scale=(0.0, 1.0)), dict(crop_scale=(0.9, 0.5)), dict(crop_scale=(0.5,)),
    dict(aspect_ratio=(-1.0, 1.0)), dict(rotation=-5.0), dict(rotation=float("nan")),
    dict(shear=60.0), dict(translate=1.5), dict(noise_std=-0.1), dict(erase_prob=1.2),
    dict(erase_scale=(0.2, 1.5)),
])
def test_bad_params_raise_value_error_naming_the_field(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        ViewParams(**kwargs)


def test_scaled_zero_is_identity_and_one_is_unchanged_and_two_is_stronger():
    p = ViewParams(noise_std=0.05, erase_prob=0.3)
    assert p.scaled(0.0) == ViewParams.identity()
    one = p.scaled(1.0)
    for name, value in p.as_dict().items():
        assert getattr(one, name) == pytest.approx(value)
    two = p.scaled(2.0)
    assert two.rotation == pytest.approx(2 * p.rotation)
    assert two.crop_scale[0] < p.crop_scale[0]
    assert two.aspect_ratio[1] > p.aspect_ratio[1]
    with pytest.raises(ValueError, match="strength"):
        p.scaled(-1.0)


# --- make_views: shape, dtype, range, device ---------------------------------------------------

@pytest.mark.parametrize("kind", ["uint8_3d", "uint8_4d", "float_3d", "float64_4d"])
def test_views_have_shape_dtype_and_range(kind):
    x = blob_digits(8)
    if kind == "uint8_4d":
        x = x[:, None]
    elif kind == "float_3d":
        x = x.float() / 255
    elif kind == "float64_4d":
        x = (x.double() / 255)[:, None]
    params = ViewParams(noise_std=0.1, erase_prob=0.5)
    v1, v2 = make_views(x, params, gen(0))
    for v in (v1, v2):
        assert v.shape == (8, 1, 28, 28)
        assert v.dtype == torch.float32
        assert v.device == x.device
        assert v.min() >= 0.0 and v.max() <= 1.0
    assert not torch.equal(v1, v2)


def test_uint8_and_float_inputs_give_the_same_views():
    x = blob_digits(8)
    a = make_views(x, generator=gen(3))
    b = make_views(x.float() / 255, generator=gen(3))
    assert torch.allclose(a[0], b[0], atol=1e-6) and torch.allclose(a[1], b[1], atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(4, 28), "shape"),
    (torch.zeros(2, 3, 1, 28, 28), "shape"),
    (torch.zeros(4, 1, 28, 20), "shape"),
    (torch.zeros(4, 28, 28, dtype=torch.int64), "dtype"),
    (torch.full((4, 28, 28), 255.0), r"\[0, 1\]"),
    ([[0.0]], "Tensor"),
])
def test_bad_images_raise_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        make_views(bad)


def test_bad_params_or_generator_raise_value_error():
    with pytest.raises(ValueError, match="ViewParams"):
        make_views(blob_digits(2), params={"rotation": 10})
    with pytest.raises(ValueError, match="Generator"):
        make_views(blob_digits(2), generator=0)


# --- the point: every image gets its own parameters ---------------------------------------------

def test_identical_images_get_different_views():
    x = one_digit_repeated(32)
    v1, v2 = make_views(x, generator=gen(0))
    # no two of the 64 views coincide (a shared parameter set would give distance 0)
    assert pairwise_min_distance(torch.cat([v1, v2])) > 1.0


def test_batchwide_views_give_identical_images_identical_views():
    x = one_digit_repeated(32)
    b1, b2 = batchwide_views(x, generator=gen(0))
    assert b1.shape == (32, 1, 28, 28) and b1.dtype == torch.float32
    assert torch.equal(b1, b1[:1].expand_as(b1))  # the bug: one transform for the whole batch
    assert torch.equal(b2, b2[:1].expand_as(b2))
    assert not torch.equal(b1[0], b2[0])  # but the two views still differ from each other
    assert not torch.equal(b1[0], to_unit_float(x)[0])  # and it did transform something


def test_affine_matrices_differ_per_row_and_identity_params_give_identity():
    theta = affine_matrices(100, generator=gen(0))
    assert theta.shape == (100, 2, 3)
    assert torch.unique(theta.flatten(1), dim=0).shape[0] == 100
    eye = affine_matrices(5, ViewParams.identity(), gen(0))
    assert torch.allclose(eye, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(5, 2, 3), atol=1e-6)


def test_rotation_only_keeps_the_digit_size():
    """Crop 1, no shear/shift: the matrix is a pure rotation with angle within +-rotation."""
    p = ViewParams(crop_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0), rotation=30.0, shear=0.0, translate=0.0)
    theta = affine_matrices(500, p, gen(1))
    a = theta[:, :, :2]
    det = torch.linalg.det(a)
    assert torch.allclose(det, torch.ones(500), atol=1e-5)
    angles = torch.rad2deg(torch.atan2(a[:, 1, 0], a[:, 0, 0]))
    assert angles.abs().max() <= 30.0 + 1e-3
    assert angles.abs().max() > 25.0  # the range is actually used
    assert torch.allclose(theta[:, :, 2], torch.zeros(500, 2))


# --- determinism ----------------------------------------------------------------------------------

def test_same_seed_same_views_different_seed_different_views():
    x = blob_digits(16)
    p = ViewParams(noise_std=0.05, erase_prob=0.5)
    a1, a2 = make_views(x, p, gen(7))
    b1, b2 = make_views(x, p, gen(7))
    c1, c2 = make_views(x, p, gen(8))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, c1) and not torch.equal(a2, c2)
    d1, _ = batchwide_views(x, generator=gen(7))
    e1, _ = batchwide_views(x, generator=gen(7))
    f1, _ = batchwide_views(x, generator=gen(8))
    assert torch.equal(d1, e1) and not torch.equal(d1, f1)


def test_batchwide_views_with_generator_leave_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    batchwide_views(blob_digits(4), generator=gen(0))
    assert torch.equal(torch.rand(3), expected)


# --- identity and sanity ---------------------------------------------------------------------------

def test_identity_params_return_the_input():
    x = blob_digits(8)
    v1, v2 = make_views(x, ViewParams.identity(), gen(0))
    ref = to_unit_float(x)
    assert (v1 - ref).abs().max() < 1e-4 and (v2 - ref).abs().max() < 1e-4


def test_views_keep_most_of_the_digit_mass_on_average():
    x = blob_digits(64)
    mass = to_unit_float(x).sum(dim=(1, 2, 3))
    v1, v2 = make_views(x, generator=gen(0))
    for v in (v1, v2):
        ratio = v.sum(dim=(1, 2, 3)) / mass  # a zoom by 1/sqrt(area) scales mass by ~1/area
        kept = ratio.mean().item()
        assert 0.7 < kept < 1.8, kept
        assert ratio.min().item() > 0.3


def test_random_affine_is_one_view_per_image():
    x = blob_digits(5)
    v = random_affine(x, generator=gen(0))
    assert v.shape == (5, 1, 28, 28)
    assert not torch.equal(v, to_unit_float(x))


def test_erasing_with_probability_one_blacks_out_pixels_that_were_lit():
    x = torch.full((16, 28, 28), 255, dtype=torch.uint8)
    p = ViewParams.identity()
    p = ViewParams(**{**p.as_dict(), "erase_prob": 1.0, "erase_scale": (0.1, 0.1)})
    v = random_affine(x, p, gen(0))
    erased = (v == 0).float().mean(dim=(1, 2, 3))
    assert torch.all(erased > 0.04) and torch.all(erased < 0.2)
    assert pairwise_min_distance(v) > 0  # each image its own rectangle


# --- torchvision per-image baseline ------------------------------------------------------------------

def test_two_view_dataset_with_torchvision_transform():
    x = blob_digits(6)
    ds = TwoViewDataset(x, torchvision_views_transform(ViewParams(noise_std=0.05, erase_prob=0.5)))
    assert len(ds) == 6
    torch.manual_seed(0)
    v1, v2 = ds[2]
    for v in (v1, v2):
        assert v.shape == (1, 28, 28) and v.dtype == torch.float32
        assert 0.0 <= v.min() and v.max() <= 1.0
    assert not torch.equal(v1, v2)
    loader = torch.utils.data.DataLoader(ds, batch_size=3)
    b1, b2 = next(iter(loader))
    assert b1.shape == (3, 1, 28, 28) and b2.shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="uint8"):
        TwoViewDataset(x.float(), torchvision_views_transform())
    with pytest.raises(ValueError, match="callable"):
        TwoViewDataset(x, None)


def test_augment_draws_no_pictures():
    """Views are Data layer: augment.py must not import matplotlib (plot_views lives in clhelpers.plots)."""
    import clhelpers.augment as augment

    tree = ast.parse(Path(augment.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("matplotlib") for name in imported), imported
    assert not hasattr(augment, "plot_views") and not hasattr(augment, "preview_views")


def test_shared_views_give_every_image_one_geometry_and_independent_views_do_not():
    """make_views(shared=True), the batch-wide bug in our pipeline: the same digit 6 times gets one view-1 image and
    one view-2 image (the views still differ from each other); without it, 6 different views."""
    from clhelpers.augment import ViewParams, make_views

    digit = torch.zeros(1, 28, 28, dtype=torch.uint8)
    digit[0, 6:22, 12:16] = 255
    same = digit.repeat(6, 1, 1)
    params = ViewParams(crop_scale=(0.5, 1.0), rotation=30.0, shear=10.0, translate=0.1, noise_std=0.0, erase_prob=0.0)
    s1, s2 = make_views(same, params, torch.Generator().manual_seed(0), shared=True)
    assert torch.allclose(s1, s1[:1].expand_as(s1)) and torch.allclose(s2, s2[:1].expand_as(s2))
    assert not torch.allclose(s1[0], s2[0]), "view 1 and view 2 still get different geometry"
    p1, _ = make_views(same, params, torch.Generator().manual_seed(0))
    assert len({tuple(v.flatten().tolist()) for v in p1}) == 6


def test_batchwide_views_setting_must_be_a_bool():
    from clhelpers.config import TrainConfig

    with pytest.raises(ValueError, match="batchwide_views must be True or False"):
        TrainConfig(batchwide_views="yes")
