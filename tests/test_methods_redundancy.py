"""clhelpers.methods.BarlowTwins and VICReg: the expander, a few training steps on tiny data, the CLI and config names.

Tiny encoders (widths (4, 8, 8)) and tiny random or offline data: each test runs in a few seconds.
"""
import pytest
import torch

from clhelpers.cli import main
from clhelpers.config import TrainConfig
from clhelpers.losses import BarlowTwinsLoss, VICRegLoss, barlow_twins_loss, vicreg_loss
from clhelpers.methods import METHODS, BarlowTwins, VICReg, build_method, expander, method_options
from clhelpers.models import Encoder, load_encoder
from clhelpers.train import train

NAMES = ("barlow_twins", "vicreg")


def make(name, **options):
    torch.manual_seed(0)
    return build_method(name, Encoder(widths=(4, 8, 8), depth=1), **{"proj_dim": 16, "hidden_dim": 32, **options})


def test_registered_under_the_names_the_cli_and_config_use():
    assert METHODS["barlow_twins"] is BarlowTwins and METHODS["vicreg"] is VICReg
    for name in NAMES:
        assert TrainConfig(method=name).method == name
    assert "lambda_offdiag" in method_options("barlow_twins")
    assert {"sim_weight", "var_weight", "cov_weight"} <= set(method_options("vicreg"))
    assert "temperature" not in method_options("barlow_twins")  # build_method drops the config's temperature


def test_expander_is_three_layers_with_batchnorm():
    net = expander(8, 32, 16)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert net(torch.randn(5, 8)).shape == (5, 16)
    with pytest.raises(ValueError, match="hidden_dim"):
        expander(8, 0, 16)


@pytest.mark.parametrize("name", NAMES)
def test_symmetric_no_negatives_no_momentum_no_predictor(name):
    method = make(name)
    assert not hasattr(method, "predictor") and not hasattr(method, "key_encoder") and not hasattr(method, "queue")
    assert isinstance(method.criterion, (BarlowTwinsLoss, VICRegLoss)) and method.out_dim == 16
    g = torch.Generator().manual_seed(1)
    v1, v2 = torch.rand(8, 1, 28, 28, generator=g), torch.rand(8, 1, 28, 28, generator=g)
    method.eval()  # BatchNorm with running statistics: the same network for both orders
    assert method(v1, v2).item() == pytest.approx(method(v2, v1).item(), rel=1e-5)  # symmetric in the views
    z1, z2 = method.project(v1, v2).chunk(2)
    plain = barlow_twins_loss(z1, z2) if name == "barlow_twins" else vicreg_loss(z1, z2)
    assert method(v1, v2).item() == pytest.approx(plain.item(), rel=1e-5)


def test_options_reach_the_loss_and_bad_ones_say_the_fix():
    assert make("barlow_twins", lambda_offdiag=0.02).criterion.lambda_offdiag == 0.02
    assert make("vicreg", var_weight=5.0).criterion.var_weight == 5.0
    with pytest.raises(ValueError, match="lambda_offdiag"):
        make("barlow_twins", lambda_offdiag=-1.0)
    with pytest.raises(ValueError, match="sim_weight"):
        make("vicreg", sim_weight=float("inf"))


@pytest.mark.parametrize("name", NAMES)
def test_a_few_steps_on_tiny_data_lower_the_loss(name):
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    method = make(name)
    opt = torch.optim.AdamW(method.trainable_parameters(), lr=3e-3)
    losses = []
    for _ in range(8):  # the same batch, no augmentation noise: the loss must go down
        loss = method(x, x.flip(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        method.after_step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]


@pytest.mark.parametrize("name", NAMES)
def test_train_engine_and_cli_accept_the_method(name, tmp_path):
    cfg = TrainConfig(preset="test", method=name, source="offline", device="cpu", epochs=1, batch_size=64,
                      widths=(4, 8, 8), depth=1, proj_dim=16, hidden_dim=32, train_size=192, test_size=100, knn_k=5)
    result = train(cfg, progress=False)
    assert torch.isfinite(torch.tensor(result.history[-1]["loss"])) and 0 <= result.knn_acc <= 1
    out = tmp_path / name
    assert main(["train", "--method", name, "--data", "offline", "--device", "cpu", "--epochs", "1", "--train-size",
                 "128", "--test-size", "100", "--widths", "4", "8", "8", "--depth", "1", "--batch-size", "64",
                 "--quiet", "--out", str(out)]) == 0
    assert load_encoder(out / "encoder.pt")(torch.rand(2, 1, 28, 28)).shape == (2, 8)
