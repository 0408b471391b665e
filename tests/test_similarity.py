import math

import pytest
import torch

from clhelpers.similarity import cosine_similarity_matrix, softmax_with_temperature


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
