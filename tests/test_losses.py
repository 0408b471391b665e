import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers.flawed import nt_xent_flawed_targets, nt_xent_no_positives
from clhelpers.losses import (
    InfoNCELoss,
    NTXentLoss,
    PairContrastiveLoss,
    SupConLoss,
    TripletLoss,
    collapse_value,
    info_nce,
    nt_xent,
    nt_xent_by_definition,
    pair_in_batch,
    positive_index,
    supcon,
    triplet_in_batch,
)


def pairs(n, d, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randn(n, d, generator=g, dtype=dtype)


@pytest.mark.parametrize("n,d", [(2, 1), (3, 5), (8, 16), (17, 3)])
@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_matches_definition(n, d, t):
    z1, z2 = pairs(n, d, seed=n * 100 + d)
    assert torch.allclose(nt_xent(z1, z2, t), nt_xent_by_definition(z1, z2, t), rtol=1e-10, atol=1e-10)


def test_matches_definition_in_float32():
    z1, z2 = pairs(16, 32, dtype=torch.float32)
    assert torch.allclose(nt_xent(z1, z2, 0.2), nt_xent_by_definition(z1, z2, 0.2), rtol=1e-5)


def test_matches_cross_entropy_over_masked_matrix():
    n = 6
    z1, z2 = pairs(n, 4)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T / 0.3).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    assert torch.equal(positive_index(n), targets)
    assert torch.allclose(nt_xent(z1, z2, 0.3), F.cross_entropy(sim, targets))


@pytest.mark.parametrize("n", [2, 5, 64])
def test_collapse_gives_log_2n_minus_1(n):
    z = torch.ones(n, 7)
    for t in (0.01, 0.5, 3.0):
        assert nt_xent(z, z.clone(), t).item() == pytest.approx(math.log(2 * n - 1), rel=1e-6)
    assert collapse_value(n) == pytest.approx(math.log(2 * n - 1))


def test_separated_views_give_near_zero():
    z = torch.eye(8)  # orthogonal samples, identical views
    assert nt_xent(z, z.clone(), 0.05).item() < 1e-6


def test_symmetric_in_views():
    z1, z2 = pairs(10, 6)
    assert torch.allclose(nt_xent(z1, z2, 0.4), nt_xent(z2, z1, 0.4), atol=1e-12)


def test_invariant_to_scale_and_pair_permutation():
    z1, z2 = pairs(12, 8)
    base = nt_xent(z1, z2, 0.3)
    assert torch.allclose(nt_xent(1e3 * z1, 1e-3 * z2, 0.3), base, atol=1e-10)
    p = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(nt_xent(z1[p], z2[p], 0.3), base, atol=1e-10)
    # ...but breaking the pairing changes it: the loss does see which rows are positives
    assert not torch.allclose(nt_xent(z1, z2[p], 0.3), base)


SCALES = {  # input scales each dtype can represent (float16's largest finite value is 65504)
    torch.float32: [1e-20, 1.0, 1e4, 1e30],
    torch.bfloat16: [1e-20, 1.0, 1e4, 1e30],
    torch.float16: [1e-3, 1.0, 1e3],
}


@pytest.mark.parametrize("dtype,scale", [(d, s) for d, scales in SCALES.items() for s in scales])
def test_finite_at_small_temperature_any_scale(dtype, scale):
    z1, z2 = pairs(32, 16, dtype=torch.float32)
    z1, z2 = (z1 * scale).to(dtype), (z2 * scale).to(dtype)
    assert torch.isfinite(z1).all() and torch.isfinite(z2).all()
    z1.requires_grad_()
    loss = nt_xent(z1, z2, 0.01)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()
    # and it is the same loss as for the unscaled inputs (scale invariance survives the dtype)
    ref = nt_xent(z1.detach().double(), z2.double(), 0.01)
    assert loss.double().item() == pytest.approx(ref.item(), rel=1e-4)


def test_input_norm_1e4_at_t_001_agrees_with_float64():
    z1, z2 = pairs(16, 8, dtype=torch.float32)
    ref = nt_xent(z1.double(), z2.double(), 0.01)
    assert torch.allclose(nt_xent(1e4 * z1, 1e4 * z2, 0.01).double(), ref, rtol=1e-3)


def test_under_bfloat16_autocast():
    z1, z2 = pairs(16, 8, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nt_xent(z1, z2, 0.1)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(nt_xent(z1, z2, 0.1).item(), rel=1e-5)


def test_gradcheck_float64():
    z1, z2 = pairs(4, 3)
    z1.requires_grad_()
    z2.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.3), (z1, z2))


def test_gradient_descent_pulls_positives_together():
    z1, z2 = pairs(8, 4)
    z1.requires_grad_()
    before = F.cosine_similarity(z1, z2).mean()
    nt_xent(z1, z2, 0.5).backward()
    after = F.cosine_similarity(z1.detach() - 0.5 * z1.grad, z2).mean()
    assert after > before


def test_info_nce_reduces_to_nt_xent_with_in_batch_negatives():
    n = 5
    z1, z2 = pairs(n, 4)
    z = torch.cat([z1, z2])
    losses = []
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        negatives = z[[k for k in range(2 * n) if k not in (i, p)]]
        losses.append(info_nce(z[i : i + 1], z[p : p + 1], negatives, 0.3))
    assert torch.allclose(torch.stack(losses).mean(), nt_xent(z1, z2, 0.3))


def test_info_nce_shared_and_per_query_negatives_agree():
    q, k = pairs(4, 6)
    neg = torch.randn(10, 6, dtype=torch.float64)
    shared = info_nce(q, k, neg, 0.2)
    per_query = info_nce(q, k, neg.expand(4, 10, 6), 0.2)
    assert torch.allclose(shared, per_query)
    by_hand = torch.stack([
        -torch.log_softmax(torch.cat([F.cosine_similarity(q[b], k[b], dim=0)[None], F.cosine_similarity(q[b][None], neg)]) / 0.2, 0)[0]
        for b in range(4)
    ]).mean()
    assert torch.allclose(shared, by_hand)


def test_flawed_targets_shows_its_flaw():
    z1, z2 = pairs(8, 16, dtype=torch.float32)
    for t in (0.1, 0.5, 1.0):
        loss = nt_xent_flawed_targets(z1, z2, t)
        assert loss.item() > 1e15
        assert loss.item() == pytest.approx(4.5e15, rel=1e-3)
    # Once views are aligned, the N anchors with the wrong target push their own positive away harder
    # than the correct half pulls it back: a gradient step moves each z1[i] away from z2[i].
    z2 = z1 + 0.1 * torch.randn(z1.shape, generator=torch.Generator().manual_seed(5))
    toward = F.normalize(z2, dim=1) - F.normalize(z1, dim=1)
    a = z1.clone().requires_grad_()
    nt_xent_flawed_targets(a, z2, 0.1).backward()
    assert ((-a.grad) * toward).sum(dim=1).lt(0).all()
    # the correct loss, at the same point, pulls them together (on average: it is nearly converged)
    b = z1.clone().requires_grad_()
    nt_xent(b, z2, 0.1).backward()
    assert ((-b.grad) * toward).sum(dim=1).mean() > 0


def test_no_positives_loss_cannot_see_the_pairs():
    g = torch.Generator().manual_seed(3)
    f = torch.randn(8, 32, generator=g)
    p = torch.randperm(8, generator=g)
    aligned = nt_xent_no_positives(torch.cat([f, f]), 0.5)
    misaligned = nt_xent_no_positives(torch.cat([f, f[p]]), 0.5)
    # aligning the positives does not lower it below a wrong alignment: it ignores the pairs
    assert torch.allclose(aligned, misaligned)
    # and un-normalized features of ordinary size overflow to NaN
    big = torch.randn(16, 128, generator=g) * 3
    assert torch.isnan(nt_xent_no_positives(big, 0.5))


BAD_PAIRS = [
    (torch.randn(4, 3), torch.randn(5, 3), "same shape"),
    (torch.randn(4, 3), torch.randn(4, 2), "same shape"),
    (torch.randn(1, 3), torch.randn(1, 3), "N = 1"),
    (torch.randn(4, 0), torch.randn(4, 0), "D = 0"),
    (torch.randn(4), torch.randn(4), "shape"),
    (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), torch.randn(2, 2), "NaN"),
    (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), torch.randn(2, 2), "NaN or Inf"),
    (torch.ones(3, 2, dtype=torch.long), torch.ones(3, 2, dtype=torch.long), "floating-point"),
]


@pytest.mark.parametrize("fn", [nt_xent, nt_xent_by_definition, nt_xent_flawed_targets])
@pytest.mark.parametrize("z1,z2,message", BAD_PAIRS)
def test_bad_pairs_raise(fn, z1, z2, message):
    with pytest.raises(ValueError, match=message):
        fn(z1, z2, 0.5)


@pytest.mark.parametrize("t", [0, -0.1, float("nan"), float("inf"), "hot", None])
def test_bad_temperature_raises(t):
    z1, z2 = pairs(4, 3)
    for fn in (nt_xent, nt_xent_by_definition, nt_xent_flawed_targets):
        with pytest.raises(ValueError, match="temperature"):
            fn(z1, z2, t)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent_no_positives(z1, t)
    with pytest.raises(ValueError, match="temperature"):
        info_nce(z1, z2, z1, t)


def test_info_nce_bad_shapes():
    q, k = pairs(4, 6)
    with pytest.raises(ValueError, match="negatives"):
        info_nce(q, k, torch.randn(10, 5), 0.1)
    with pytest.raises(ValueError, match="negatives"):
        info_nce(q, k, torch.randn(3, 10, 6), 0.1)
    with pytest.raises(ValueError, match="same shape"):
        info_nce(q, k[:3], torch.randn(10, 6), 0.1)
    with pytest.raises(ValueError, match="N = 1"):
        nt_xent_no_positives(torch.randn(1, 6), 0.1)
    with pytest.raises(ValueError, match="at least 2"):
        collapse_value(1)


def test_device_agnostic_on_meta_free_path():
    # the loss follows its inputs' device and dtype conventions (CPU here; CUDA runs the same code)
    z1, z2 = pairs(4, 3, dtype=torch.float32)
    loss = nt_xent(z1, z2)
    assert loss.device == z1.device and loss.dim() == 0


# --------------------------------------------------------------------------- loss objects
def _labels(n):
    return torch.arange(n) // 2  # classes of two samples


OBJECTS = {  # name: (loss object, the functional form with the same options)
    "ntxent": (NTXentLoss(0.3), lambda a, b: nt_xent(a, b, 0.3)),
    "ntxent_default": (NTXentLoss(), lambda a, b: nt_xent(a, b)),
    "supcon": (SupConLoss(temperature=0.2), lambda a, b: supcon(a, b, _labels(len(a)), 0.2)),
    "infonce": (InfoNCELoss(0.7), lambda a, b: info_nce(a, b, torch.roll(b, 1, 0), 0.7)),
    "pair": (PairContrastiveLoss(margin=1.3), lambda a, b: pair_in_batch(a, b, margin=1.3)),
    "pair_default": (PairContrastiveLoss(), lambda a, b: pair_in_batch(a, b, margin=1.0)),
    "triplet": (TripletLoss(0.4), lambda a, b: triplet_in_batch(a, b, margin=0.4)),
    "triplet_default": (TripletLoss(), lambda a, b: triplet_in_batch(a, b, margin=0.2)),
}


def _call(obj, a, b):
    if isinstance(obj, SupConLoss):
        return obj(a, b, _labels(len(a)))
    if isinstance(obj, InfoNCELoss):
        return obj(a, b, torch.roll(b, 1, 0))
    return obj(a, b)


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_loss_object_equals_functional_form_with_gradients(name):
    obj, fn = OBJECTS[name]
    z1, z2 = pairs(6, 5, seed=40)
    a1, a2 = z1.clone().requires_grad_(), z1.clone().requires_grad_()
    by_object, by_function = _call(obj, a1, z2), fn(a2, z2)
    assert by_object.dim() == 0 and by_object.item() == by_function.item()
    by_object.backward()
    by_function.backward()
    assert torch.equal(a1.grad, a2.grad) and a1.grad.abs().sum() > 0


def test_loss_object_options_matter():
    z1, z2 = pairs(6, 5, seed=41)
    assert NTXentLoss(0.1)(z1, z2).item() != pytest.approx(NTXentLoss(1.0)(z1, z2).item())
    assert TripletLoss(0.1)(z1, z2).item() != pytest.approx(TripletLoss(1.5)(z1, z2).item())


def test_loss_objects_are_modules_without_parameters_and_show_options():
    loss = NTXentLoss(0.25)
    assert isinstance(loss, torch.nn.Module) and list(loss.parameters()) == []
    assert repr(loss) == "NTXentLoss(temperature=0.25)"
    assert repr(SupConLoss()) == "SupConLoss(temperature=0.1)"
    assert repr(InfoNCELoss()) == "InfoNCELoss(temperature=0.2)"
    assert repr(PairContrastiveLoss(2)) == "PairContrastiveLoss(margin=2.0)"
    assert repr(TripletLoss()) == "TripletLoss(margin=0.2, mining='semi-hard')"


@pytest.mark.parametrize("cls,option", [(NTXentLoss, "temperature"), (SupConLoss, "temperature"),
                                        (InfoNCELoss, "temperature"), (PairContrastiveLoss, "margin"),
                                        (TripletLoss, "margin")])
@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), "big", None])
def test_loss_objects_reject_bad_options_at_construction(cls, option, bad):
    with pytest.raises(ValueError, match=f"{option} must be"):
        cls(bad)
    with pytest.raises(ValueError, match=f"{option} must be"):
        cls(**{option: bad})


def test_loss_objects_check_their_data_at_call():
    z1, z2 = pairs(4, 3)
    with pytest.raises(ValueError, match="same shape"):
        NTXentLoss()(z1, z2[:3])
    with pytest.raises(ValueError, match="one label per row"):
        SupConLoss()(z1, z2, torch.arange(3))
    with pytest.raises(ValueError, match="negatives"):
        InfoNCELoss()(z1, z2, torch.randn(5, 4, dtype=torch.float64))
