"""clhelpers.losses, redundancy reduction: Barlow Twins and VICReg (values by hand, invariances, collapse, dtypes)."""
import pytest
import torch

from clhelpers.losses import (
    BarlowTwinsLoss, VICRegLoss, barlow_twins_loss, cross_correlation, standardize_columns, takes_temperature,
    vicreg_loss, vicreg_terms, with_temperature,
)


def rand(n, d, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def barlow_by_definition(z1, z2, lam):
    """The formula term by term: standardize each column (biased std), C = a^T c / N, then the two sums."""
    n, d = z1.shape
    a = (z1 - z1.mean(0)) / z1.std(0, unbiased=False)
    c = (z2 - z2.mean(0)) / z2.std(0, unbiased=False)
    total = 0.0
    for i in range(d):
        for j in range(d):
            cij = sum(a[b, i] * c[b, j] for b in range(n)) / n
            total += (1 - cij) ** 2 if i == j else lam * cij ** 2
    return float(total)


# --------------------------------------------------------------------------- Barlow Twins
def test_barlow_hand_computed_two_samples():
    # columns standardize to (1, -1) and (-1, 1): C = [[1, -1], [-1, 1]], so L = 0 + lambda * (1 + 1)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert barlow_twins_loss(z, z, lambda_offdiag=0.5).item() == pytest.approx(1.0, abs=1e-4)
    assert torch.allclose(cross_correlation(z, z), torch.tensor([[1.0, -1.0], [-1.0, 1.0]]), atol=1e-4)


def test_barlow_matches_the_definition():
    z1, z2 = rand(6, 3, 1), rand(6, 3, 2)
    assert barlow_twins_loss(z1, z2, lambda_offdiag=0.3).item() == pytest.approx(barlow_by_definition(z1, z2, 0.3), rel=1e-4)


def test_barlow_is_zero_for_decorrelated_identical_views():
    # 4 samples, 2 dimensions with mean 0, variance 1 and zero correlation: C = I
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    assert barlow_twins_loss(z, z).item() == pytest.approx(0.0, abs=1e-4)


def test_barlow_is_invariant_to_per_dimension_affine_changes():
    z1, z2 = rand(16, 5, 3), rand(16, 5, 4)
    scale, shift = torch.tensor([0.5, 2.0, 3.0, 0.7, 10.0], dtype=torch.float64), rand(1, 5, 5)
    assert barlow_twins_loss(z1 * scale + shift, z2 * scale.flip(0) - shift).item() == pytest.approx(
        barlow_twins_loss(z1, z2).item(), rel=1e-5)
    # ... and sign flips of a dimension on both views
    flip = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    assert barlow_twins_loss(z1 * flip, z2 * flip).item() == pytest.approx(barlow_twins_loss(z1, z2).item(), rel=1e-6)


def test_barlow_collapse_costs_d_and_spread_is_cheaper():
    d = 8
    collapsed = torch.ones(32, d)
    assert barlow_twins_loss(collapsed, collapsed).item() == pytest.approx(d, rel=1e-6)
    z = rand(32, d, 6).float()
    assert barlow_twins_loss(z, z + 0.01 * rand(32, d, 7).float()).item() < 1.0  # aligned views, little redundancy
    # dimensional collapse: every column a copy of one: the diagonal is fine, the off-diagonal term is large
    one_dim = z[:, :1].repeat(1, d)
    assert barlow_twins_loss(one_dim, one_dim, lambda_offdiag=1.0).item() == pytest.approx(d * (d - 1), rel=1e-3)


def test_standardize_columns():
    z = rand(10, 3, 8) * 5 + 2
    s = standardize_columns(z)
    assert torch.allclose(s.mean(0), torch.zeros(3, dtype=s.dtype), atol=1e-8)
    assert torch.allclose(s.pow(2).mean(0), torch.ones(3, dtype=s.dtype), atol=1e-5)


# --------------------------------------------------------------------------- VICReg
def test_vicreg_hand_computed():
    # both views [[0, 0], [2, 2]]: MSE 0; each column's unbiased variance 2 (std > 1, hinge 0);
    # covariance [[2, 2], [2, 2]]: off-diagonal squares 4 + 4 = 8, / D = 4, per view -> 8
    z = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    terms = vicreg_terms(z, z)
    assert terms["invariance"].item() == 0 and terms["variance"].item() == 0
    assert terms["covariance"].item() == pytest.approx(8.0, rel=1e-6)
    assert vicreg_loss(z, z).item() == pytest.approx(8.0, rel=1e-6)
    # invariance alone: z2 = z1 + 1 everywhere -> MSE 1, times sim_weight
    assert vicreg_loss(z, z + 1, sim_weight=3.0, var_weight=0, cov_weight=0).item() == pytest.approx(3.0, rel=1e-6)


def test_vicreg_variance_hinge_by_hand():
    # one column with values (0, 0.5): unbiased variance 0.125, std sqrt(0.125 + 1e-4), hinge 1 - std
    z = torch.tensor([[0.0], [0.5]], dtype=torch.float64)
    expected = 1 - (0.125 + 1e-4) ** 0.5
    assert vicreg_terms(z, z)["variance"].item() == pytest.approx(expected, rel=1e-9)


def test_vicreg_zero_for_the_ideal_case_and_high_for_collapse():
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]) * 2  # std > 1, uncorrelated, same views
    assert vicreg_loss(z, z).item() == pytest.approx(0.0, abs=1e-6)
    collapsed = torch.full((16, 4), 0.3)
    assert vicreg_loss(collapsed, collapsed).item() == pytest.approx(25 * (1 - 1e-2), rel=1e-4)
    spread = rand(64, 4, 9).float() * 2  # std about 2, weakly correlated columns
    assert vicreg_loss(collapsed, collapsed).item() > 3 * vicreg_loss(spread, spread).item()


# --------------------------------------------------------------------------- both
@pytest.mark.parametrize("loss", [barlow_twins_loss, vicreg_loss, BarlowTwinsLoss(), VICRegLoss()])
def test_gradients_finite_and_float32_under_bf16(loss):
    z1 = rand(16, 8, 10).float().requires_grad_(True)
    z2 = rand(16, 8, 11).float().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(z1.bfloat16(), z2.bfloat16())
    assert value.dtype == torch.float32 and value.shape == ()
    value.backward()
    assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all() and z1.grad.abs().sum() > 0
    collapsed = torch.ones(16, 8, requires_grad=True)
    loss(collapsed, collapsed).backward()
    assert torch.isfinite(collapsed.grad).all()


def test_objects_match_functions_and_take_no_temperature():
    z1, z2 = rand(12, 4, 12), rand(12, 4, 13)
    assert BarlowTwinsLoss(0.1)(z1, z2).item() == pytest.approx(barlow_twins_loss(z1, z2, lambda_offdiag=0.1).item())
    assert VICRegLoss(1, 2, 3)(z1, z2).item() == pytest.approx(
        vicreg_loss(z1, z2, sim_weight=1, var_weight=2, cov_weight=3).item())
    assert "lambda_offdiag=0.1" in repr(BarlowTwinsLoss(0.1))
    for loss in (barlow_twins_loss, vicreg_loss, BarlowTwinsLoss(), VICRegLoss()):
        assert not takes_temperature(loss) and with_temperature(loss, 0.5) is loss


@pytest.mark.parametrize("call, match", [
    (lambda: barlow_twins_loss(torch.randn(1, 4), torch.randn(1, 4)), "2 or more"),
    (lambda: vicreg_loss(torch.randn(1, 4), torch.randn(1, 4)), "2 or more"),
    (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 2)), "same shape"),
    (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(5, 3)), "same shape"),
    (lambda: barlow_twins_loss(torch.randn(4, 3, 2), torch.randn(4, 3, 2)), "flatten"),
    (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), lambda_offdiag=-1), "lambda_offdiag"),
    (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), var_weight=float("nan")), "var_weight"),
    (lambda: VICRegLoss(cov_weight="x"), "cov_weight"),
    (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), 0.1), "positional"),
])
def test_bad_input_says_the_fix(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
