"""Tests for clhelpers.metrics: kNN, linear and few-label probes, alignment, uniformity, embedding_std, hardness."""
import math

import pytest
import torch

from clhelpers.metrics import (
    alignment,
    effective_rank,
    embedding_std,
    few_label_probe,
    hard_negative_share,
    knn_accuracy,
    linear_probe_accuracy,
    negative_weight_matrix,
    pixel_knn_accuracy,
    uniformity,
)


def clusters(n_per_class=50, classes=4, dim=16, spread=0.05, seed=0, noise_seed=None):
    """Gaussian clusters around fixed centres (``seed``); ``noise_seed`` draws other points around them."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 3
    if noise_seed is not None:
        g = torch.Generator().manual_seed(noise_seed)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    feats = centres[labels] + spread * torch.randn(len(labels), dim, generator=g)
    return feats, labels


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def random_split(n_train=500, n_test=400, dim=8, classes=4, seed=2):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n_train, dim, generator=g), torch.randint(0, classes, (n_train,), generator=g),
            torch.randn(n_test, dim, generator=g), torch.randint(0, classes, (n_test,), generator=g))


# --------------------------------------------------------------------------- kNN
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


def test_knn_matches_a_hand_vote():
    # one test point; neighbours at cosines 1.0 (class 0), 0.8 and 0.6 (class 1): the weights decide
    train = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0]])
    labels, test, y = torch.tensor([0, 1, 1, 0]), torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    # tau = 0.1: exp(10) > exp(8) + exp(6) -> class 0; tau = 10: nearly a majority vote -> class 1
    assert knn_accuracy(train, labels, test, y, k=3, temperature=0.1) == 1.0
    assert knn_accuracy(train, labels, test, y, k=3, temperature=10.0) == 0.0


def test_knn_bad_input():
    x, y = clusters()
    for bad_k in (0, len(x) + 1, 2.5, True):
        with pytest.raises(ValueError, match="k must be an integer"):
            knn_accuracy(x, y, x, y, k=bad_k)
    with pytest.raises(ValueError, match="one label per row"):
        knn_accuracy(x, y[:-1], x, y)
    with pytest.raises(ValueError, match="same width"):
        knn_accuracy(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="flatten"):
        knn_accuracy(x.reshape(len(x), 4, 4), y, x, y)
    with pytest.raises(ValueError, match="temperature"):
        knn_accuracy(x, y, x, y, temperature=0)
    with pytest.raises(ValueError, match="batch_size"):
        knn_accuracy(x, y, x, y, batch_size=0)


def test_pixel_knn_scales_uint8_like_float_images():
    g = torch.Generator().manual_seed(3)
    train = torch.randint(0, 256, (60, 1, 6, 6), generator=g, dtype=torch.uint8)
    test = torch.randint(0, 256, (20, 6, 6), generator=g, dtype=torch.uint8)
    ytr, yte = torch.randint(0, 3, (60,), generator=g), torch.randint(0, 3, (20,), generator=g)
    expected = knn_accuracy(train.flatten(1).float() / 255, ytr, test.flatten(1).float() / 255, yte, k=5)
    assert pixel_knn_accuracy(train, ytr, test, yte, k=5) == expected
    assert pixel_knn_accuracy(train.float() / 255, ytr, test.float() / 255, yte, k=5) == expected
    # raw pixels of separable "images" (the cluster features seen as 4x4 images) are classified perfectly
    xtr, ytr = clusters()
    xte, yte = clusters(n_per_class=20, noise_seed=9)
    assert pixel_knn_accuracy(xtr.reshape(-1, 4, 4), ytr, xte.reshape(-1, 4, 4), yte, k=5) == 1.0
    with pytest.raises(ValueError, match="image tensor"):
        pixel_knn_accuracy(torch.zeros(5), ytr, test, yte)


# --------------------------------------------------------------------------- linear probe
def test_linear_probe_separable_and_random():
    xtr, ytr = clusters(spread=0.5)
    xte, yte = clusters(spread=0.5, seed=0, n_per_class=20)
    assert linear_probe_accuracy(xtr, ytr, xte, yte) == 1.0
    acc = linear_probe_accuracy(*random_split())
    assert acc < 0.4


def test_linear_probe_is_deterministic_and_leaves_the_global_rng_alone():
    split = random_split(seed=5)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = linear_probe_accuracy(*split)
    assert torch.equal(torch.get_rng_state(), state)
    assert linear_probe_accuracy(*split) == first


def test_linear_probe_learns_a_linear_rule_beyond_nearest_neighbour():
    # the label is the sign of feature 0; the other 7 features are large noise
    g = torch.Generator().manual_seed(6)
    x = torch.randn(600, 8, generator=g) * torch.tensor([1.0] + [5.0] * 7)
    y = (x[:, 0] > 0).long()
    assert linear_probe_accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.95


def test_linear_probe_bad_options():
    split = random_split()
    for bad in (-1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="weight_decay"):
            linear_probe_accuracy(*split, weight_decay=bad)
    with pytest.raises(ValueError, match="max_iter"):
        linear_probe_accuracy(*split, max_iter=0)
    with pytest.raises(ValueError, match="NaN"):
        linear_probe_accuracy(torch.full((4, 2), float("nan")), torch.zeros(4, dtype=torch.long), *split[2:4])


# --------------------------------------------------------------------------- few-label probe
def test_few_label_probe_one_example_per_class_on_separable_clusters():
    xtr, ytr = clusters(spread=0.3)
    xte, yte = clusters(spread=0.3, n_per_class=30, noise_seed=11)
    result = few_label_probe(xtr, ytr, xte, yte, per_class=1, draws=4, seed=0)
    assert set(result) == {"mean", "sd", "accs", "per_class"}
    assert result["per_class"] == 1 and len(result["accs"]) == 4
    assert result["mean"] > 0.99 and min(result["accs"]) > 0.97


def test_few_label_probe_random_features_are_near_chance_and_draws_differ():
    xtr, ytr, xte, yte = random_split(n_train=400, n_test=2000, classes=4, seed=7)
    result = few_label_probe(xtr, ytr, xte, yte, per_class=5, draws=6, seed=1)
    assert 0.15 < result["mean"] < 0.35  # chance is 0.25
    assert len(set(result["accs"])) > 1  # each draw picks other rows
    assert result["sd"] == pytest.approx(torch.tensor(result["accs"]).std().item(), rel=1e-6)
    assert result["mean"] == pytest.approx(sum(result["accs"]) / 6)


def test_few_label_probe_is_reproducible_and_seeded():
    split = random_split(seed=8)
    a = few_label_probe(*split, per_class=3, draws=3, seed=4)
    assert few_label_probe(*split, per_class=3, draws=3, seed=4) == a
    assert few_label_probe(*split, per_class=3, draws=3, seed=5)["accs"] != a["accs"]


def test_few_label_probe_fits_on_per_class_distinct_rows_of_every_class(monkeypatch):
    import clhelpers.metrics as metrics

    xtr, ytr = clusters(n_per_class=6, classes=3)
    xtr = xtr + torch.arange(len(xtr))[:, None]  # every row unique, so rows can be told apart
    fits = []

    def record(train_feats, train_labels, test_feats, test_labels):
        fits.append((train_feats.clone(), train_labels.clone(), len(test_labels)))
        return 0.5

    monkeypatch.setattr(metrics, "linear_probe_accuracy", record)
    result = metrics.few_label_probe(xtr, ytr, xtr[:7], ytr[:7], per_class=4, draws=3, seed=0)
    assert result == {"mean": 0.5, "sd": 0.0, "accs": [0.5, 0.5, 0.5], "per_class": 4}
    assert len(fits) == 3
    for feats, labels, n_test in fits:
        assert torch.bincount(labels).tolist() == [4, 4, 4] and n_test == 7  # scored on all test rows
        assert len(torch.unique(feats[:, 0])) == 12  # without replacement
        rows = [int(torch.nonzero((xtr == f).all(dim=1))) for f in feats]
        assert torch.equal(ytr[rows], labels)  # features and labels stay together
    assert not torch.equal(fits[0][0], fits[1][0]) and not torch.equal(fits[1][0], fits[2][0])


def test_few_label_probe_bad_input():
    xtr, ytr = clusters(n_per_class=5)
    with pytest.raises(ValueError, match=r"per_class=6 .* fewer training rows .*\{0: 5, 1: 5, 2: 5, 3: 5\}"):
        few_label_probe(xtr, ytr, xtr, ytr, per_class=6)
    uneven = ytr.clone()
    uneven[:4] = 1  # class 0 keeps one row
    with pytest.raises(ValueError, match=r"\{0: 1\}; use per_class <= 1"):
        few_label_probe(xtr, uneven, xtr, ytr, per_class=2)
    with pytest.raises(ValueError, match=r"\{7: 0\}; give every test class training rows"):
        few_label_probe(xtr, ytr, xtr, torch.full_like(ytr, 7), per_class=1)
    for bad in ({"per_class": 0}, {"per_class": 1.5}, {"per_class": 1, "draws": 0}):
        with pytest.raises(ValueError, match="must be an integer"):
            few_label_probe(xtr, ytr, xtr, ytr, **bad)


# --------------------------------------------------------------------------- geometry
def test_alignment_values():
    z = torch.randn(100, 8)
    assert alignment(z, z * 3.0) == pytest.approx(0.0, abs=1e-6)  # same direction: aligned
    assert alignment(z, -z) == pytest.approx(4.0, rel=1e-5)       # opposite points: distance 2, squared
    assert alignment(z, -z, alpha=1) == pytest.approx(2.0, rel=1e-5)
    assert alignment(z, torch.randn(100, 8)) > 0.5
    with pytest.raises(ValueError, match="same shape"):
        alignment(z, z[:10])
    with pytest.raises(ValueError, match="alpha"):
        alignment(z, z, alpha=0)


def test_uniformity_values():
    same = torch.ones(50, 4)
    assert uniformity(same) == pytest.approx(0.0, abs=1e-6)  # log(1)
    spread = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    clumped = torch.ones(500, 16) + 0.1 * spread
    u_spread, u_clumped = uniformity(spread), uniformity(clumped)
    assert u_spread < u_clumped < 0
    n, t = 500, 2
    assert u_spread >= -2 * t * n / (n - 1) - 1e-6  # Jensen's lower bound
    # two antipodal points: log(exp(-t * 4))
    assert uniformity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), t=0.5) == pytest.approx(-2.0, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2 rows"):
        uniformity(torch.ones(1, 4))
    with pytest.raises(ValueError, match="t must be"):
        uniformity(spread, t=-1)


@pytest.mark.parametrize("dim", [4, 32, 128])
def test_embedding_std_spread_is_one_over_sqrt_d(dim):
    z = rand(20000, dim, seed=dim) * 7.0  # scale does not matter
    assert embedding_std(z) == pytest.approx(1 / math.sqrt(dim), rel=0.03)


def test_embedding_std_collapse_is_zero():
    direction = rand(1, 64, seed=1)
    collapsed = direction.repeat(500, 1) * torch.rand(500, 1, generator=torch.Generator().manual_seed(2)) * 10
    assert embedding_std(collapsed) < 1e-6
    nearly = direction + 1e-3 * rand(500, 64, seed=3)
    assert 0 < embedding_std(nearly) < 0.01 * embedding_std(rand(500, 64, seed=4))
    with pytest.raises(ValueError, match="at least 2 rows"):
        embedding_std(direction)


def test_effective_rank_counts_the_directions_the_rows_use():
    g = torch.Generator().manual_seed(0)
    lengths = torch.rand(2000, 1, generator=g) * 10 + 0.1            # row lengths must not matter
    spread = rand(2000, 16, seed=5) * lengths
    assert 14 < effective_rank(spread) <= 16, "spread over 16 dimensions: close to 16"
    plane = torch.linalg.qr(torch.randn(16, 3, generator=g)).Q        # 3 orthonormal directions in 16 dimensions
    in_3d = (torch.randn(2000, 3, generator=g) @ plane.T) * lengths
    assert 2.5 < effective_rank(in_3d) < 3.2, "dimensional collapse to 3 directions"
    assert embedding_std(in_3d) > 0.5 * 16 ** -0.5, "which embedding_std does not see"
    line = rand(1, 16, seed=6).repeat(50, 1) * lengths[:50]
    assert effective_rank(line) < 1.01
    with pytest.raises(ValueError, match="at least 2 rows"):
        effective_rank(line[:1])


# --------------------------------------------------------------------------- hardness-awareness
def test_negative_weight_matrix_matches_closed_form_softmax():
    z1, z2, t = rand(5, 8, seed=1), rand(5, 8, seed=2), 0.3
    w = negative_weight_matrix(z1, z2, t)
    assert w.shape == (10, 10)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n2 = 10
    for i in range(n2):
        p = (i + 5) % n2
        logits = torch.tensor([(z[i] @ z[k]).item() / t if k != i else float("-inf") for k in range(n2)])
        prob = torch.softmax(logits, dim=0)
        for k in range(n2):
            expected = 0.0 if k in (i, p) else prob[k].item() / (n2 * t)
            assert w[i, k].item() == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_negative_weight_matrix_needs_no_gradients_from_its_inputs():
    z1, z2 = rand(4, 3, seed=1).requires_grad_(), rand(4, 3, seed=2)
    with torch.no_grad():
        w = negative_weight_matrix(z1, z2, 0.5)
    assert not w.requires_grad and z1.grad is None and w.sum() > 0


def test_share_grows_as_temperature_falls():
    z1, z2 = rand(16, 8, seed=3), rand(16, 8, seed=4)
    shares = [hard_negative_share(z1, z2, t, k=3) for t in (2.0, 0.5, 0.1, 0.02)]
    assert all(a < b for a, b in zip(shares, shares[1:])), shares
    assert shares[-1] > 0.9  # nearly all the gradient on the 3 hardest of 30 negatives
    # very large temperature: spread evenly, share -> k / (2N - 2)
    assert hard_negative_share(z1, z2, 1e4, k=3) == pytest.approx(3 / 30, rel=1e-3)
    # all negatives: share 1 at any temperature
    assert hard_negative_share(z1, z2, 0.5, k=30) == pytest.approx(1.0)


def test_share_bad_input():
    z1, z2 = rand(4, 3), rand(4, 3, seed=1)
    with pytest.raises(ValueError, match="k must be"):
        hard_negative_share(z1, z2, 0.5, k=0)
    with pytest.raises(ValueError, match="k must be"):
        hard_negative_share(z1, z2, 0.5, k=7)
    with pytest.raises(ValueError, match="temperature"):
        hard_negative_share(z1, z2, -1.0)
    with pytest.raises(ValueError, match="same shape"):
        negative_weight_matrix(z1, rand(5, 3), 0.5)


def test_the_sliders_maths_lives_in_metrics_and_widgets_shows_it():
    """entropy_nats, infonce_gradient and negative_shares are Math: widgets re-exports the metrics functions."""
    from clhelpers import metrics, widgets

    for name in ("entropy_nats", "infonce_gradient", "negative_shares"):
        assert getattr(widgets, name) is getattr(metrics, name)
    s = torch.tensor([0.8, 0.3, -0.2], dtype=torch.float64, requires_grad=True)
    loss = -torch.log_softmax(s / 0.5, dim=0)[0]
    loss.backward()
    assert torch.allclose(metrics.infonce_gradient(s.detach(), 0.5), s.grad)
    assert torch.allclose(metrics.negative_shares([0.3, -0.2], 0.5), torch.softmax(torch.tensor([0.6, -0.4],
                                                                                              dtype=torch.float64), 0))
    assert math.isclose(metrics.entropy_nats(torch.full((4,), 0.25)), math.log(4))
