"""Tests for clhelpers.evaluate: kNN, linear probe, alignment, uniformity, embed."""
import math

import pytest
import torch

from clhelpers.evaluate import alignment, embed, knn_accuracy, linear_probe_accuracy, uniformity
from clhelpers.models import Encoder


def clusters(n_per_class=50, classes=4, dim=16, spread=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 3
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    feats = centres[labels] + spread * torch.randn(len(labels), dim, generator=g)
    return feats, labels


def test_knn_separable_clusters_is_perfect():
    xtr, ytr = clusters(seed=0)
    xte, yte = clusters(seed=0, n_per_class=20)
    assert knn_accuracy(xtr, ytr, xte, yte, k=5) == 1.0


def test_knn_random_labels_is_near_chance():
    g = torch.Generator().manual_seed(1)
    xtr, xte = torch.randn(2000, 8, generator=g), torch.randn(1000, 8, generator=g)
    ytr, yte = torch.randint(0, 10, (2000,), generator=g), torch.randint(0, 10, (1000,), generator=g)
    acc = knn_accuracy(xtr, ytr, xte, yte, k=20, batch_size=128)
    assert 0.05 < acc < 0.16


def test_knn_bad_input():
    x, y = clusters()
    with pytest.raises(ValueError):
        knn_accuracy(x, y, x, y, k=0)
    with pytest.raises(ValueError):
        knn_accuracy(x, y, x, y, k=len(x) + 1)
    with pytest.raises(ValueError):
        knn_accuracy(x, y[:-1], x, y)
    with pytest.raises(ValueError):
        knn_accuracy(x, y, x[:, :3], y)
    with pytest.raises(ValueError):
        knn_accuracy(x.reshape(len(x), 4, 4), y, x, y)


def test_linear_probe_separable_and_random():
    xtr, ytr = clusters(spread=0.5)
    xte, yte = clusters(spread=0.5, seed=0, n_per_class=20)
    assert linear_probe_accuracy(xtr, ytr, xte, yte) == 1.0
    g = torch.Generator().manual_seed(2)
    acc = linear_probe_accuracy(torch.randn(500, 8, generator=g), torch.randint(0, 4, (500,), generator=g),
                                torch.randn(400, 8, generator=g), torch.randint(0, 4, (400,), generator=g))
    assert acc < 0.4


def test_alignment_values():
    z = torch.randn(100, 8)
    assert alignment(z, z * 3.0) == pytest.approx(0.0, abs=1e-6)  # same direction: aligned
    assert alignment(z, -z) == pytest.approx(4.0, rel=1e-5)       # opposite points: distance 2, squared
    assert alignment(z, torch.randn(100, 8)) > 0.5
    with pytest.raises(ValueError):
        alignment(z, z[:10])


def test_uniformity_values():
    same = torch.ones(50, 4)
    assert uniformity(same) == pytest.approx(0.0, abs=1e-6)  # log(1)
    spread = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    clumped = torch.ones(500, 16) + 0.1 * spread
    u_spread, u_clumped = uniformity(spread), uniformity(clumped)
    assert u_spread < u_clumped < 0
    n, t = 500, 2
    assert u_spread >= -2 * t * n / (n - 1) - 1e-6  # Jensen's lower bound
    with pytest.raises(ValueError):
        uniformity(torch.ones(1, 4))


def test_embed_restores_mode_and_shapes():
    enc = Encoder(widths=(4, 8, 8), depth=1)
    enc.train()
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    feats = embed(enc, images, batch_size=3)
    assert feats.shape == (10, 8) and feats.dtype == torch.float32 and enc.training
    enc.eval()
    # batching and mode do not change the result: eval-mode features are per-image
    assert torch.allclose(embed(enc, images, batch_size=10), feats, atol=1e-5) and not enc.training
    assert math.isfinite(float(feats.sum()))
    with pytest.raises(ValueError):
        embed(enc, images, batch_size=0)


def test_evaluate_cli(tmp_path, capsys):
    from clhelpers.evaluate import main
    from clhelpers.models import save_encoder

    with pytest.raises(SystemExit):
        main(["--encoder", str(tmp_path / "missing.pt")])
    save_encoder(Encoder(widths=(4, 8, 8), depth=1), tmp_path / "encoder.pt")
    with pytest.raises(SystemExit):
        main(["--encoder", str(tmp_path / "encoder.pt"), "--k", "0"])
    main(["--encoder", str(tmp_path / "encoder.pt"), "--data", "offline", "--device", "cpu"])
    out = capsys.readouterr().out
    from clhelpers.data import load_mnist
    from clhelpers.evaluate import pixel_knn_accuracy

    expected = pixel_knn_accuracy(*load_mnist("train", source="offline"), *load_mnist("test", source="offline"))
    assert "kNN accuracy" in out and f"raw-pixel kNN baseline: {expected:.4f}" in out
