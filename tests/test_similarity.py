import math

import pytest
import torch

from clhelpers.similarity import cosine_similarity_matrix, softmax_with_temperature, unit_rows
from clhelpers.validate import check_embeddings, check_features, check_labels, check_pair, check_positive, check_same_shape, check_temperature


def test_cosine_matrix_matches_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(4, 3, generator=g)
    sim = cosine_similarity_matrix(a, b)
    assert sim.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            expected = torch.dot(a[i], b[j]) / (a[i].norm() * b[j].norm())
            assert sim[i, j].item() == pytest.approx(expected.item(), abs=1e-6)


def test_cosine_self_similarity_and_range():
    a = torch.randn(6, 8) * 100
    sim = cosine_similarity_matrix(a)
    assert torch.allclose(sim.diagonal(), torch.ones(6), atol=1e-6)
    assert torch.allclose(sim, sim.T, atol=1e-6)
    assert sim.max() <= 1 + 1e-6 and sim.min() >= -1 - 1e-6


def test_cosine_known_angles():
    a = torch.tensor([[1.0, 0.0]])
    b = torch.tensor([[0.0, 2.0], [-3.0, 0.0], [1.0, 1.0]])
    assert torch.allclose(cosine_similarity_matrix(a, b), torch.tensor([[0.0, -1.0, math.sqrt(0.5)]]), atol=1e-6)


def test_cosine_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        cosine_similarity_matrix(torch.randn(3))
    with pytest.raises(ValueError, match="match"):
        cosine_similarity_matrix(torch.randn(3, 2), torch.randn(3, 4))


def test_softmax_temperature_limits():
    logits = torch.tensor([0.9, 0.5, 0.1, -0.3])
    cold = softmax_with_temperature(logits, 0.01)
    hot = softmax_with_temperature(logits, 100.0)
    assert cold[0] > 0.999
    assert torch.allclose(hot, torch.full((4,), 0.25), atol=0.01)
    mid = softmax_with_temperature(logits, 0.5)
    assert torch.allclose(mid, torch.softmax(logits / 0.5, 0))
    assert mid.sum().item() == pytest.approx(1.0)


def test_softmax_stable_with_large_logits():
    p = softmax_with_temperature(torch.tensor([1000.0, 999.0]), 0.01)
    assert torch.isfinite(p).all() and p[0] > 0.99


@pytest.mark.parametrize("t", [0, -1, float("nan"), float("inf"), "x"])
def test_softmax_bad_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        softmax_with_temperature(torch.tensor([1.0, 2.0]), t)


# --------------------------------------------------------------------------- shared input checks
def test_check_positive_and_temperature_return_floats():
    assert check_positive(3, "margin") == 3.0 and isinstance(check_positive(3, "margin"), float)
    assert check_temperature(torch.tensor(0.5)) == 0.5
    with pytest.raises(ValueError, match=r"margin must be positive and finite, got -1 \(use 1\)"):
        check_positive(-1, "margin", hint="use 1")
    with pytest.raises(ValueError, match=r"temperature must be a positive number, got 'x' \(try 0.1 to 1.0\)"):
        check_temperature("x")


@pytest.mark.parametrize("x,message", [
    ([[1.0, 2.0]], "must be a torch.Tensor"),
    (torch.ones(3), r"shape \(N, D\)"),
    (torch.ones(3, 0), "D = 0"),
    (torch.ones(1, 2), "N = 1 rows but at least 2"),
    (torch.ones(3, 2, dtype=torch.int64), r"floating-point.*\.float\(\)"),
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), "NaN or Inf"),
])
def test_check_embeddings_says_what_is_wrong(x, message):
    with pytest.raises(ValueError, match=message):
        check_embeddings(x, "z", min_rows=2)


def test_check_embeddings_accepts_good_input():
    check_embeddings(torch.randn(1, 3), "z")
    check_embeddings(torch.randn(2, 1, dtype=torch.float16), "z", min_rows=2)


def test_check_pair_and_same_shape():
    check_pair(torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"z2 must have the same shape as z1 \(4, 3\), got \(4, 2\)"):
        check_pair(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="N = 1"):
        check_pair(torch.randn(1, 3), torch.randn(1, 3))
    check_same_shape("a", torch.randn(1, 3), b=torch.randn(1, 3), c=torch.randn(1, 3))
    with pytest.raises(ValueError, match="c must have the same shape as a"):
        check_same_shape("a", torch.randn(2, 3), b=torch.randn(2, 3), c=torch.randn(3, 3))
    with pytest.raises(ValueError, match="b contains NaN"):
        check_same_shape("a", torch.randn(2, 3), b=torch.full((2, 3), float("nan")))


@pytest.mark.parametrize("x,message", [
    ("feats", "must be a torch.Tensor"),
    (torch.ones(2, 2, 2), r"\(images: x.flatten\(1\)\)"),
    (torch.ones(0, 2), "N = 0 rows but at least 1 are needed$"),
    (torch.ones(2, 0), "D = 0"),
    (torch.ones(2, 2, dtype=torch.uint8), r"\.float\(\)"),
    (torch.tensor([[float("inf")]]), "NaN or Inf"),
])
def test_check_features_says_what_is_wrong(x, message):
    with pytest.raises(ValueError, match=message):
        check_features(x, "train_feats")


@pytest.mark.parametrize("y,message", [
    (torch.tensor([0, 1]), r"one label per row \(3\)"),
    ([0, 1, 2], r"one label per row \(3\), got list"),
    (torch.tensor([[0, 1, 2]]), "1-D"),
    (torch.tensor([0.0, 1.0, 2.0]), r"integer class labels.*\.long\(\)"),
    (torch.tensor([True, False, True]), "integer class labels"),
    (torch.tensor([0, -1, 2]), "labels >= 0"),
])
def test_check_labels_says_what_is_wrong(y, message):
    check_labels(torch.tensor([0, 1, 2]), 3, "y")
    with pytest.raises(ValueError, match=message):
        check_labels(y, 3, "y")


@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e30])
def test_unit_rows_is_scale_robust(scale):
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    u = unit_rows(x * scale)
    assert torch.allclose(u, torch.tensor([[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]]), atol=1e-6)
    assert u.dtype == torch.float32


def test_unit_rows_upcasts_half_and_keeps_float64_and_gradients():
    assert unit_rows(torch.ones(2, 3, dtype=torch.bfloat16)).dtype == torch.float32
    assert unit_rows(torch.ones(2, 3, dtype=torch.float16)).dtype == torch.float32
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert unit_rows(x).dtype == torch.float64
    assert torch.autograd.gradcheck(unit_rows, (x,))
