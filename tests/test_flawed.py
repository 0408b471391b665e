"""The gallery of notebook 03: each flawed reproduction fails the checks the notebook says it fails, each fix passes."""
import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers import flawed
from clhelpers.cli import main
from clhelpers.checks import check_contrastive_loss
from clhelpers.lint import CONVENTIONS, DIAGNOSES
from clhelpers.losses import nt_xent, supcon
from clhelpers.metrics import knn_accuracy


def unit_pairs(n=8, d=16, noise=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    z1 = F.normalize(torch.randn(n, d, generator=g), dim=1)
    return z1, F.normalize(z1 + noise * torch.randn(n, d, generator=g), dim=1)


def sigmoid_collapse():
    return flawed.SigmoidLossLearnedScale(0.5).collapse_value()


# --------------------------------------------------------------------------- InfoNCE with exp(-beta * sim)
def test_sign_flipped_info_nce_fails_pairing_and_gradient_direction_with_the_sign_flip_diagnosis():
    report = check_contrastive_loss(flawed.info_nce_sign_flipped)
    assert report.failed_checks == ["aligned_pairs_lower_loss", "gradient_direction"]
    assert "wrong way" in report["gradient_direction"].detail
    assert "sign flip" in DIAGNOSES["gradient_direction"][0]


def test_sign_flipped_info_nce_prefers_strangers_and_beta_flattens_it():
    z1, z2 = unit_pairs()
    aligned, mismatched = flawed.info_nce_sign_flipped(z1, z2), flawed.info_nce_sign_flipped(z1, z2.roll(1, 0))
    assert aligned > mismatched  # the loss rewards mismatched pairs
    # beta multiplies: a small "temperature" flattens the softmax toward log(2N - 1), whatever the batch
    assert abs(flawed.info_nce_sign_flipped(z1, z1, 0.01) - math.log(15)) < 0.02
    assert nt_xent(z1, z1, 0.01) < 1e-6  # a real temperature makes perfect alignment cost ~0


def test_the_cli_names_the_sign_flip(capsys):
    assert main(["check", "clhelpers.flawed:info_nce_sign_flipped"]) == 1
    out = capsys.readouterr().out
    assert "(pair-t)" in out and "gradient_direction failed. Likely bug" in out and "sign flip" in out


# --------------------------------------------------------------------------- the sigmoid loss and its temperature
def test_sigmoid_module_called_with_embeddings_fails_its_checks_and_ignores_its_temperature():
    report = check_contrastive_loss(lambda z1, z2, t: flawed.SigmoidLossUnusedTemperature(t)(z1, z2),
                                    expected_collapse=sigmoid_collapse())
    assert {"uses_temperature", "symmetric", "aligned_pairs_lower_loss", "scale_invariant"} <= set(report.failed_checks)
    assert "temperature is ignored" in DIAGNOSES["uses_temperature"][0]


def test_unused_temperature_gets_no_gradient_and_embeddings_are_pushed_apart():
    z1, z2 = (z.clone().requires_grad_(True) for z in unit_pairs())
    module = flawed.SigmoidLossUnusedTemperature(0.5)
    module(z1, z2).backward()
    assert module.temperature.grad is None
    assert (z1.grad < 0).all() and (z2.grad > 0).all()  # every coordinate of z1 up, of z2 down: no similarity


def test_learned_scale_sigmoid_loss_passes_and_its_scale_learns_positive_and_clamped():
    report = check_contrastive_loss(lambda z1, z2, t: flawed.SigmoidLossLearnedScale(t)(z1, z2),
                                    expected_collapse=sigmoid_collapse())
    assert report.passed, str(report)
    loss = flawed.SigmoidLossLearnedScale(0.5)
    loss(*unit_pairs()).backward()
    assert loss.log_scale.grad is not None and loss.log_scale.grad != 0 and loss.bias.grad is not None
    with torch.no_grad():
        loss.log_scale.fill_(math.log(1e4))
    assert loss.scale.item() == pytest.approx(100.0)
    with torch.no_grad():
        loss.log_scale.fill_(-50.0)
    assert loss.scale.item() > 0
    with pytest.raises(ValueError, match="temperature"):
        flawed.SigmoidLossLearnedScale(0.0)


# --------------------------------------------------------------------------- BCE on random labels
def test_bce_random_labels_is_not_a_function_of_its_inputs():
    z1, z2 = unit_pairs()
    torch.manual_seed(0)
    values = {round(flawed.bce_random_labels(z1, z2).item(), 6) for _ in range(5)}
    assert len(values) > 1


def test_bce_broadcast_only_sees_the_fraction_of_ones_and_pytorch_refuses_the_shapes():
    z1, z2 = unit_pairs()
    labels = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(3)).float()
    value = flawed.bce_random_labels(z1, z2, generator=torch.Generator().manual_seed(3))
    score = F.cosine_similarity(z1, z2)
    assert torch.isclose(value, F.binary_cross_entropy_with_logits(score, labels.mean().expand(8)))
    with pytest.raises(ValueError, match="size"):
        F.binary_cross_entropy_with_logits(score[:, None], labels)


def test_bce_with_fixed_labels_fails_collapse_and_temperature_and_likes_collapse():
    def fixed(z1, z2, t):
        return flawed.bce_random_labels(z1, z2, generator=torch.Generator().manual_seed(0))

    report = check_contrastive_loss(fixed)
    assert {"collapse_value", "uses_temperature"} <= set(report.failed_checks)
    z1, z2 = unit_pairs()
    collapsed = z1[:1].expand(8, 16)
    assert fixed(collapsed, collapsed, 0.5) <= fixed(z1, z2, 0.5)  # no negatives: collapse is as good as it gets


# --------------------------------------------------------------------------- the "contrastive CNN"
def first_row_gradient(loss_of_rows, rows):
    rows = rows.clone().requires_grad_(True)
    loss_of_rows(rows).backward()
    return rows.grad[0]


def test_contrastive_cnn_is_per_sample_cross_entropy_unlike_nt_xent_and_supcon():
    torch.manual_seed(0)
    cnn = flawed.ContrastiveCNN()
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(8) % 10
    assert torch.isfinite(cnn.loss(images, labels)) and cnn.loss(images, labels).dim() == 0
    z1, z2 = unit_pairs(seed=1)
    w1, w2 = unit_pairs(seed=2)
    other1, other2 = torch.cat([z1[:1], w1[1:]]), torch.cat([z2[:1], w2[1:]])  # same row 0, the rest replaced
    losses = {
        "cross-entropy": lambda a, b: F.cross_entropy(a, labels),
        "nt_xent": lambda a, b: nt_xent(a, b, 0.5),
        "supcon": lambda a, b: supcon(a, b, labels, 0.5),
    }
    moved = {name: (first_row_gradient(lambda r: f(r, z2), z1)
                    - first_row_gradient(lambda r: f(r, other2), other1)).norm().item() for name, f in losses.items()}
    assert moved["cross-entropy"] < 1e-7
    assert moved["nt_xent"] > 1e-3 and moved["supcon"] > 1e-3


def test_cross_entropy_in_the_labels_convention_fails_the_suite():
    def contrastive_loss(outputs, labels):
        return F.cross_entropy(outputs, labels)

    report = check_contrastive_loss(CONVENTIONS["labels"](contrastive_loss))
    assert {"collapse_value", "pair_permutation_invariant", "scale_invariant", "uses_temperature"} <= set(report.failed_checks)


def test_supcon_with_unique_labels_is_nt_xent():
    z1, z2 = unit_pairs()
    assert torch.isclose(supcon(z1, z2, torch.arange(8), 0.5), nt_xent(z1, z2, 0.5))


# --------------------------------------------------------------------------- NCE by name, a garbled formula
def test_noise_contrastive_estimation_is_nt_xent_under_another_name():
    z1, z2 = unit_pairs()
    for t in (0.1, 0.5):
        assert torch.isclose(flawed.noise_contrastive_estimation(z1, z2, t), nt_xent(z1, z2, t))
    assert check_contrastive_loss(flawed.noise_contrastive_estimation).passed


def test_garbled_formula_fails_only_collapse_with_the_self_in_denominator_diagnosis():
    report = check_contrastive_loss(flawed.nt_xent_garbled_formula)
    assert report.failed_checks == ["collapse_value"]
    collapsed = torch.ones(8, 16)
    assert flawed.nt_xent_garbled_formula(collapsed, collapsed).item() == pytest.approx(math.log(16), abs=1e-4)
    assert "anchor itself stays in the denominator" in DIAGNOSES["collapse_value"][0]


# --------------------------------------------------------------------------- kNN on a split test set
def clusters(n_per_class=40, classes=4, d=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    centers = F.normalize(torch.randn(classes, d, generator=g), dim=1)
    labels = torch.arange(classes).repeat_interleave(n_per_class)  # stored by class
    feats = centers[labels] + 0.15 * torch.randn(len(labels), d, generator=g)
    return feats, labels


def test_knn_on_a_class_sorted_test_split_scores_zero():
    feats, labels = clusters()
    assert flawed.knn_accuracy_on_test_split(feats, labels, k=5) == 0.0  # fitted on classes the queries lack
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    assert flawed.knn_accuracy_on_test_split(feats[perm], labels[perm], k=5) > 0.95


def test_euclidean_knn_depends_on_row_lengths_cosine_knn_does_not():
    feats, labels = clusters()
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    feats, labels = feats[perm], labels[perm]
    lengths = torch.empty(len(labels), 1).uniform_(0.2, 5.0, generator=torch.Generator().manual_seed(1))
    base, scaled = (flawed.knn_accuracy_on_test_split(f, labels, k=5) for f in (feats, feats * lengths))
    assert base > 0.95 and scaled < base - 0.05
    train, test = slice(0, 80), slice(80, None)
    cos = [knn_accuracy(f[train], labels[train], f[test], labels[test], k=5) for f in (feats, feats * lengths)]
    assert cos[0] == cos[1]


def test_knn_on_test_split_rejects_bad_sizes():
    feats, labels = clusters()
    for kwargs in ({"k": 0}, {"k": 200}, {"fit_fraction": 0.0}, {"fit_fraction": 1.0}):
        with pytest.raises(ValueError, match="k <= fitted rows"):
            flawed.knn_accuracy_on_test_split(feats, labels, **kwargs)


def test_every_reproduction_says_what_is_wrong():
    for name in flawed.__all__:
        assert len(getattr(flawed, name).__doc__ or "") > 200, f"{name}: document what the source did wrong and why"
