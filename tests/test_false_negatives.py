"""False negatives (issue 20): the debiased loss, NT-Xent without same-class negatives, their methods and CLI,
the same-class share of the gradient, and the recording script."""
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

from clhelpers.cli import main
from clhelpers.config import TrainConfig
from clhelpers.losses import (DebiasedNTXentLoss, MaskedNTXentLoss, debiased_nt_xent, nt_xent, nt_xent_masked,
                              same_class_mask, takes_temperature, with_temperature)
from clhelpers.methods import DebiasedSimCLR, MaskedSimCLR, build_method
from clhelpers.metrics import negative_weight_matrix, same_class_negative_share
from clhelpers.models import Encoder


def pair(n=8, d=16, seed=0, dtype=torch.float64, noise=0.5):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype)
    return z1, z1 + noise * torch.randn(n, d, generator=g, dtype=dtype)


# --------------------------------------------------------------------------- the debiased loss
@pytest.mark.parametrize("t", [0.05, 0.2, 1.0])
def test_debiased_with_tau_plus_zero_is_nt_xent(t):
    z1, z2 = pair()
    assert torch.allclose(debiased_nt_xent(z1, z2, t, tau_plus=0.0), nt_xent(z1, z2, t), rtol=1e-10)


def debiased_by_definition(z1, z2, t, tau_plus):
    """The paper's formula term by term, plain exp (float64, moderate t only)."""
    n, z = len(z1), torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    m, total = 2 * n - 2, 0.0
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        pos = math.exp(float(z[i] @ z[p]) / t)
        negs = [math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k not in (i, p)]
        g = max((sum(negs) / m - tau_plus * pos) / (1 - tau_plus), math.exp(-1 / t))
        total += -math.log(pos / (pos + m * g))
    return total / (2 * n)


@pytest.mark.parametrize("t, tau_plus", [(0.5, 0.1), (0.2, 0.3), (1.0, 0.9)])
def test_debiased_matches_the_formula_including_the_clamp(t, tau_plus):
    z1, z2 = pair(noise=2.0)
    assert math.isclose(float(debiased_nt_xent(z1, z2, t, tau_plus=tau_plus)), debiased_by_definition(z1, z2, t, tau_plus),
                        rel_tol=1e-9)


def test_the_clamp_binds_when_the_prior_is_large_and_the_positive_close():
    z1, z2 = pair(noise=0.01)        # positives almost identical: the estimate of the true negatives goes below 0
    loss = debiased_nt_xent(z1, z2, 0.5, tau_plus=0.9)
    n, t = len(z1), 0.5
    floor = -math.log(math.exp(1 / t) / (math.exp(1 / t) + (2 * n - 2) * math.exp(-1 / t)))  # cos(pos) ~ 1, g at its floor
    assert math.isclose(float(loss), floor, rel_tol=1e-3)


def test_debiased_is_finite_with_finite_gradients_at_small_temperature():
    z1, z2 = pair(dtype=torch.float32, noise=3.0)   # positives not always the closest: the loss is far from 0
    z1.requires_grad_(True)
    for t in (0.01, 0.05, 0.5):
        loss = debiased_nt_xent(z1, z2, t, tau_plus=0.1)
        (grad,) = torch.autograd.grad(loss, z1)
        assert torch.isfinite(loss) and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_debiased_follows_the_loss_convention_and_rejects_bad_inputs():
    z1, z2 = pair()
    assert takes_temperature(debiased_nt_xent) and not takes_temperature(DebiasedNTXentLoss(0.3))
    module = DebiasedNTXentLoss(0.3, tau_plus=0.2)
    assert torch.equal(module(z1, z2), debiased_nt_xent(z1, z2, 0.3, tau_plus=0.2))
    assert torch.equal(with_temperature(debiased_nt_xent, 0.3)(z1, z2), debiased_nt_xent(z1, z2, 0.3))
    assert "tau_plus=0.2" in repr(module)
    for bad in (-0.1, 1.0, "a", float("nan")):
        with pytest.raises(ValueError, match=r"tau_plus must be a probability in \[0, 1\).*0.1 for 10"):
            debiased_nt_xent(z1, z2, 0.3, tau_plus=bad)
        with pytest.raises(ValueError, match="tau_plus"):
            DebiasedNTXentLoss(0.3, tau_plus=bad)
    with pytest.raises(ValueError, match="temperature"):
        debiased_nt_xent(z1, z2, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        debiased_nt_xent(z1, z2[:4])


# --------------------------------------------------------------------------- NT-Xent without same-class negatives
def test_same_class_mask_marks_only_same_class_negatives():
    mask = same_class_mask(torch.tensor([0, 1, 0]))   # views 0..2, then their second views 3..5
    expected = torch.zeros(6, 6, dtype=torch.bool)
    for i, k in ((0, 2), (0, 5), (2, 0), (2, 3), (3, 2), (3, 5), (5, 0), (5, 3)):
        expected[i, k] = True
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match="one per sample"):
        same_class_mask(torch.zeros(2, 3, dtype=torch.long))


def test_masked_with_unique_labels_is_nt_xent_and_smaller_with_shared_labels():
    z1, z2 = pair()
    assert torch.allclose(nt_xent_masked(z1, z2, torch.arange(8), 0.3), nt_xent(z1, z2, 0.3), rtol=1e-12)
    shared = torch.tensor([0, 1, 0, 1, 2, 2, 3, 3])
    assert nt_xent_masked(z1, z2, shared, 0.3) < nt_xent(z1, z2, 0.3)   # fewer terms in each denominator


def test_masked_by_definition_and_its_gradient_ignores_same_class_negatives():
    z1, z2 = pair()
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 3, 3])
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    both, n, t, total = torch.cat([labels, labels]), 8, 0.3, 0.0
    for i in range(16):
        p = (i + n) % 16
        keep = [k for k in range(16) if k != i and (k == p or both[k] != both[i])]
        total += -math.log(math.exp(float(z[i] @ z[p]) / t) / sum(math.exp(float(z[i] @ z[k]) / t) for k in keep))
    assert math.isclose(float(nt_xent_masked(z1, z2, labels, t)), total / 16, rel_tol=1e-9)
    z2 = z2.clone().requires_grad_(True)            # sample 2's second view: a same-class negative of sample 0 only
    (grad,) = torch.autograd.grad(nt_xent_masked(z1, z2, torch.tensor([0, 1, 0, 4, 5, 6, 7, 8]), t), z2)
    (grad_alone,) = torch.autograd.grad(nt_xent_masked(z1, z2, torch.tensor([0, 1, 2, 4, 5, 6, 7, 8]), t), z2)
    assert not torch.allclose(grad[2], grad_alone[2])   # masked: anchor 0 no longer pushes it away


def test_masked_gradients_are_finite_and_bad_inputs_raise():
    z1, z2 = pair(dtype=torch.float32)
    z1.requires_grad_(True)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    (grad,) = torch.autograd.grad(nt_xent_masked(z1, z2, labels, 0.01), z1)
    assert torch.isfinite(grad).all()
    same = torch.zeros(8, dtype=torch.long)            # one class: only the positive is left, the loss is 0
    assert float(nt_xent_masked(z1.detach(), z2, same, 0.2)) == pytest.approx(0.0, abs=1e-6)
    assert torch.equal(MaskedNTXentLoss(0.3)(z1, z2, labels), nt_xent_masked(z1, z2, labels, 0.3))
    with pytest.raises(ValueError, match="one label per row"):
        nt_xent_masked(z1, z2, torch.arange(16), 0.3)
    with pytest.raises(ValueError, match="integer class labels"):
        nt_xent_masked(z1, z2, torch.zeros(8), 0.3)
    with pytest.raises(ValueError, match="temperature"):
        MaskedNTXentLoss(-1)


# --------------------------------------------------------------------------- the methods, the config, the CLI
def test_methods_build_from_the_registry_and_train_one_step():
    enc = lambda: Encoder(widths=(4, 8, 8), depth=1)  # noqa: E731
    debiased = build_method("debiased", enc(), proj_dim=8, hidden_dim=16, temperature=0.3, tau_plus=0.2, queue_size=5)
    masked = build_method("simclr-masked", enc(), proj_dim=8, hidden_dim=16, temperature=0.3, tau_plus=0.2)
    assert isinstance(debiased, DebiasedSimCLR) and debiased.tau_plus == 0.2 and not debiased.needs_labels
    assert isinstance(masked, MaskedSimCLR) and masked.needs_labels
    g = torch.Generator().manual_seed(0)
    v1, v2, y = torch.rand(6, 1, 28, 28, generator=g), torch.rand(6, 1, 28, 28, generator=g), torch.tensor([0, 1, 0, 1, 2, 2])
    for method in (debiased, masked):
        loss = method(v1, v2, y)
        loss.backward()
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in method.encoder.parameters())
    with pytest.raises(ValueError, match="needs the class labels"):
        masked(v1, v2)
    with pytest.raises(ValueError, match="tau_plus"):
        build_method("debiased", enc(), tau_plus=1.5)


def test_config_validates_tau_plus():
    assert TrainConfig(method="debiased", tau_plus=0.0).tau_plus == 0.0
    with pytest.raises(ValueError, match=r"tau_plus must be in \[0, 1\)"):
        TrainConfig(tau_plus=1.0)


TINY = ["--data", "offline", "--device", "cpu", "--epochs", "1", "--train-size", "256", "--quiet",
        "--widths", "4", "8", "8", "--depth", "1", "--batch-size", "128", "--test-size", "200"]


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--method", "debiased", "--tau-plus", "0.05"], ["--method", "simclr-masked"]])
def test_both_remedies_train_from_the_command_line(flags, tmp_path, capsys):
    assert main(["train", *flags, *TINY, "--out", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "metrics.json").read_text())["config"]
    assert config["method"] == flags[1] and (config["tau_plus"] == 0.05) == ("--tau-plus" in flags)
    assert (tmp_path / "encoder.pt").exists()


def test_a_bad_tau_plus_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as err:
        main(["train", "--method", "debiased", "--tau-plus", "1.5", *TINY])
    assert err.value.code == 2 and "tau_plus" in capsys.readouterr().err


# --------------------------------------------------------------------------- the same-class share of the gradient
def test_share_is_the_same_class_part_of_the_negative_gradient():
    z1, z2 = pair(n=12)
    labels = torch.arange(12) % 3
    t = 0.2
    w = negative_weight_matrix(z1, z2, t)             # |dL/ds_ik| on the negatives, from autograd
    both = torch.cat([labels, labels])
    same = (both[:, None] == both[None, :]) & (w > 0)
    expected = float(((w * same).sum(1) / w.sum(1)).mean())
    out = same_class_negative_share(z1, z2, labels, t)
    assert out["share"] == pytest.approx(expected, rel=1e-9)
    assert out["uniform"] == pytest.approx(6 / 22)   # 4 samples a class: 3 others x 2 views, of 2N - 2 = 22


def test_share_tends_to_the_uniform_reference_at_large_temperature_and_is_zero_with_unique_labels():
    z1, z2 = pair(n=10)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    out = same_class_negative_share(z1, z2, labels, 1e4)
    assert out["share"] == pytest.approx(out["uniform"], rel=1e-3) and out["uniform"] == pytest.approx(2 / 18)
    assert same_class_negative_share(z1, z2, torch.arange(10), 0.1) == {"share": 0.0, "uniform": 0.0}
    close = z1.clone()
    close[1] = z1[0] + 1e-3                         # sample 1 is a near-copy of sample 0 (same class)
    assert same_class_negative_share(close, z2, labels, 0.05)["share"] > out["uniform"]


def test_share_rejects_bad_inputs_with_fixes():
    z1, z2 = pair()
    with pytest.raises(ValueError, match="one class per sample.*not of the 2N views"):
        same_class_negative_share(z1, z2, torch.arange(16), 0.2)
    with pytest.raises(ValueError, match="integer class labels"):
        same_class_negative_share(z1, z2, torch.zeros(8), 0.2)
    with pytest.raises(ValueError, match="temperature"):
        same_class_negative_share(z1, z2, torch.arange(8), 0)
    with pytest.raises(ValueError, match="same shape"):
        same_class_negative_share(z1, z2[:3], torch.arange(8), 0.2)


# --------------------------------------------------------------------------- the recording script
def test_the_recording_script_is_an_experiment_of_the_driver():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "false_negatives.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("false_negatives", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exp = module.EXPERIMENT
    assert exp.script == "false_negatives.py" and exp.reference == "nt_xent"
    assert set(exp.arms) == {"nt_xent", "debiased", "masked"} and exp.metrics == ("knn_acc", "probe10")
    assert "benchmarks/false_negatives.py" in module.__doc__
    with pytest.raises(ValueError, match="unknown kind"):
        module.run_kind("swav", None, (), False)
