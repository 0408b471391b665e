"""check_contrastive_loss: the correct loss passes, each broken one fails a named check."""
import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers.checks import CHECKS, check_contrastive_loss, check_per_sample_augmentation
from clhelpers.flawed import nt_xent_flawed_targets, nt_xent_no_positives
from clhelpers.losses import NTXentLoss, nt_xent, nt_xent_by_definition


def test_nt_xent_passes_every_check():
    report = check_contrastive_loss(nt_xent)
    assert report.passed and report.failed_checks == []
    assert [r.name for r in report.results] == list(CHECKS)
    assert "9/9 checks passed" in str(report) and "<table>" in report._repr_html_()


def test_flawed_targets_fail_collapse_and_gradient_direction():
    report = check_contrastive_loss(nt_xent_flawed_targets)
    assert not report.passed
    assert {"collapse_value", "gradient_direction", "aligned_pairs_lower_loss"} <= set(report.failed_checks)
    assert "wrong way" in report["gradient_direction"].detail
    assert "FAIL" in str(report)


def test_no_positives_fails_pairing_scale_and_small_temperature():
    report = check_contrastive_loss(lambda z1, z2, t: nt_xent_no_positives(torch.cat([z1, z2]), t), name="np")
    assert {"aligned_pairs_lower_loss", "scale_invariant", "finite_small_temperature"} <= set(report.failed_checks)
    assert report.loss_name == "np"
    # it also fails gradient_direction: from random embeddings its step moves positives by < 0.001,
    # far below the 0.01 that any loss with a real pull clears (NT-Xent: about 0.04)
    assert "gradient_direction" in report.failed_checks and "wrong way" in report["gradient_direction"].detail


def test_naive_definition_fails_only_small_temperature():
    assert check_contrastive_loss(nt_xent_by_definition).failed_checks == ["finite_small_temperature"]


def test_loss_ignoring_temperature_is_caught():
    report = check_contrastive_loss(lambda z1, z2, t: nt_xent(z1, z2, 0.5))
    assert report.failed_checks == ["uses_temperature"]


def test_asymmetric_loss_is_caught():
    def one_direction(z1, z2, t):
        logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / t
        return F.cross_entropy(logits, torch.arange(len(z1)))

    report = check_contrastive_loss(one_direction)
    assert "symmetric" in report.failed_checks
    # its collapse value is log(N), not log(2N-1): the expectation is a parameter
    assert check_contrastive_loss(one_direction, expected_collapse=math.log(8), checks=["collapse_value"]).passed


def test_unnormalized_loss_fails_scale_invariance():
    def no_normalization(z1, z2, t):
        z = torch.cat([z1, z2])
        logits = (z @ z.T / t).masked_fill(torch.eye(len(z), dtype=torch.bool), float("-inf"))
        return F.cross_entropy(logits, (torch.arange(len(z)) + len(z1)) % len(z))

    assert check_contrastive_loss(no_normalization).failed_checks == ["scale_invariant"]


def test_crashing_loss_fails_with_the_error_as_detail():
    def broken(z1, z2, t):
        raise RuntimeError("boom")

    report = check_contrastive_loss(broken, checks=["finite", "symmetric"])
    assert report.failed_checks == ["finite", "symmetric"] and "RuntimeError: boom" in report["finite"].detail


def test_report_is_reproducible_and_validates_input():
    assert str(check_contrastive_loss(nt_xent, seed=3)) == str(check_contrastive_loss(nt_xent, seed=3))
    with pytest.raises(ValueError):
        check_contrastive_loss(nt_xent, checks=["nope"])
    with pytest.raises(ValueError):
        check_contrastive_loss(nt_xent, n=1)
    with pytest.raises(ValueError):
        check_contrastive_loss("not a function")
    with pytest.raises(KeyError):
        check_contrastive_loss(nt_xent, checks=["finite"])["symmetric"]


@pytest.mark.parametrize("t", [0, -0.5, float("nan"), float("inf"), "warm", None])
def test_bad_temperature_is_a_value_error_with_a_hint(t):
    with pytest.raises(ValueError, match=r"temperature must be .*try 0\.1 to 1\.0"):
        check_contrastive_loss(nt_xent, temperature=t)


def test_loss_object_wrapped_as_loss_fn_passes_like_the_function():
    report = check_contrastive_loss(lambda z1, z2, t: NTXentLoss(t)(z1, z2), name="NTXentLoss")
    assert report.passed, str(report)
    assert str(report).replace("NTXentLoss", "nt_xent") == str(check_contrastive_loss(nt_xent))


def _per_image_noise(images, generator=None):
    noise = lambda: 0.1 * torch.randn(images.shape, generator=generator)
    return images + noise(), images + noise()


def _one_shift_for_all(images, generator=None):
    shift = int(torch.randint(1, 4, (1,), generator=generator))
    return images.roll(shift, dims=-1), images.roll(-shift, dims=-1)


def test_per_sample_augmentation_check():
    image = torch.rand(28, 28)
    good = check_per_sample_augmentation(_per_image_noise, image)
    assert good.passed and "8 distinct" in good.detail
    bad = check_per_sample_augmentation(_one_shift_for_all, image, copies=5)
    assert not bad.passed and "1 distinct" in bad.detail
    identity = check_per_sample_augmentation(lambda x, generator=None: (x, x), image)
    assert not identity.passed and "0/8" in identity.detail
    with pytest.raises(ValueError):
        check_per_sample_augmentation(_per_image_noise, torch.rand(2, 2, 28, 28))


def test_takes_temperature_reads_a_modules_forward_not_its_call():
    from clhelpers.losses import takes_temperature, with_temperature

    loss = NTXentLoss(0.5)
    assert not takes_temperature(loss) and with_temperature(loss, 0.1) is loss
    assert takes_temperature(nt_xent)


def test_loss_object_in_the_package_convention_is_checked_as_is():
    report = check_contrastive_loss(NTXentLoss(0.5))
    assert report.passed, str(report)
    assert "uses_temperature" not in [r.name for r in report.results]
    assert any("temperature is fixed" in note for note in report.notes) and "note:" in str(report)
