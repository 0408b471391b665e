"""Notebook 08's machinery: the ``stop_gradient`` setting reaches SimSiam, the stop-gradient cuts the target
tensor itself, every parameter and buffer of a momentum branch follows the EMA, and the recording script
``benchmarks/collapse_table.py`` builds each kind as named, and ``evaluate.collapse_stats`` measures collapse where it
should.

Already covered in tests/test_methods.py (not repeated here): the encoder gets no gradient through the target
branch with stop-gradient on (and does with it off), the EMA of the first key-encoder weight, MoCo's
momentum 0 = keys from the query encoder, and MoCo's queue being FIFO and bounded.
Tiny encoders and batches of 8 random images: every test runs in well under a second.
"""
import argparse
import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from clhelpers import methods
from clhelpers.config import TrainConfig, add_config_arguments, config_from_args, preset
from clhelpers.evaluate import collapse_stats
from clhelpers.methods import SimSiam, build_method
from clhelpers.models import Encoder
from clhelpers.train import make_method

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "collapse_table.py"
spec = importlib.util.spec_from_file_location("collapse_table", SCRIPT)
ct = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ct)

B = 8
TINY = dict(widths=(4, 8, 8), depth=1, proj_dim=16, hidden_dim=32, batch_size=B)


def views(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 1, 28, 28, generator=g), torch.rand(B, 1, 28, 28, generator=g)


def tiny(**fields) -> TrainConfig:
    return replace(preset("cpu-tiny"), **{**TINY, **fields})


# --------------------------------------------------------------------------- the setting
@pytest.mark.parametrize("flag", [True, False])
def test_stop_gradient_setting_reaches_simsiam(flag):
    method = make_method(tiny(method="simsiam", stop_gradient=flag))
    assert isinstance(method, SimSiam) and method.stop_gradient is flag


def test_stop_gradient_is_on_by_default_and_ignored_by_other_methods():
    assert TrainConfig().stop_gradient is True and preset("cpu-sweep").stop_gradient is True
    assert make_method(tiny(method="simsiam")).stop_gradient is True
    byol = make_method(tiny(method="byol", stop_gradient=False))  # BYOL's target has no gradient anyway
    assert not hasattr(byol, "stop_gradient")


def test_stop_gradient_command_line_flag_and_round_trip():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    off = config_from_args(parser.parse_args(["--preset", "cpu-tiny", "--method", "simsiam", "--no-stop-gradient"]), parser)
    on = config_from_args(parser.parse_args(["--preset", "cpu-tiny", "--method", "simsiam"]), parser)
    assert off.stop_gradient is False and on.stop_gradient is True
    assert TrainConfig.from_dict(off.to_dict()).stop_gradient is False
    assert make_method(replace(off, **TINY)).stop_gradient is False


def test_stop_gradient_must_be_a_bool():
    with pytest.raises(ValueError, match="stop_gradient must be True or False"):
        TrainConfig(stop_gradient="no")


# --------------------------------------------------------------------------- the stop-gradient itself
@pytest.mark.parametrize("flag", [True, False])
def test_stop_gradient_blocks_the_gradient_into_the_target_tensor(flag, monkeypatch):
    method = build_method("simsiam", Encoder(widths=(4, 8, 8), depth=1), proj_dim=16, hidden_dim=32, stop_gradient=flag)
    seen = {}
    plain = SimSiam.symmetric_loss

    def spy(p, target):
        if target.requires_grad:
            target.retain_grad()
        seen["target"] = target
        return plain(p, target)

    monkeypatch.setattr(SimSiam, "symmetric_loss", staticmethod(spy))
    method(*views()).backward()
    target = seen["target"]
    if flag:
        assert not target.requires_grad and target.grad is None  # detached: no gradient can reach the target branch
    else:
        assert target.requires_grad and target.grad is not None and target.grad.abs().sum() > 0


# --------------------------------------------------------------------------- the momentum branch
@pytest.mark.parametrize("name", ["moco", "byol"])
def test_every_momentum_parameter_follows_the_ema_and_buffers_are_copied(name):
    m = 0.9
    torch.manual_seed(0)
    method = build_method(name, Encoder(widths=(4, 8, 8), depth=1), proj_dim=16, hidden_dim=32, queue_size=20, momentum=m)
    opt = torch.optim.SGD(method.trainable_parameters(), lr=0.5)
    method(*views()).backward()
    opt.step()
    key_modules, online_modules = (method.key_encoder, method.key_head), (method.encoder, method.head)
    old = [p.detach().clone() for k in key_modules for p in k.parameters()]
    online = [p.detach().clone() for o in online_modules for p in o.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(old, online))  # the step moved the online branch
    method.after_step()
    new = [p for k in key_modules for p in k.parameters()]
    assert len(new) == len(old) > 4
    for n, o, q in zip(new, old, online):
        assert torch.allclose(n, m * o + (1 - m) * q, atol=1e-6)
    for k, o in zip(key_modules, online_modules):
        for bk, bo in zip(k.buffers(), o.buffers()):
            assert torch.equal(bk, bo)  # BatchNorm statistics: copied, not averaged


# --------------------------------------------------------------------------- the recording script
def test_every_kind_builds_what_its_name_says():
    base = tiny()
    built = {kind: make_method(ct.config_for(kind, base)) for kind in ct.KINDS}
    assert built["simsiam"].stop_gradient is True and built["simsiam_no_stopgrad"].stop_gradient is False
    assert isinstance(built["byol"], methods.BYOL) and built["byol"].momentum == 0.99
    assert isinstance(built["simsiam_no_predictor"].predictor, torch.nn.Identity)                # p = z
    assert not isinstance(built["simsiam"].predictor, torch.nn.Identity)
    assert built["moco_q48_m0.99"].momentum == 0.99 and built["moco_q48_m0"].momentum == 0.0
    assert built["moco_q48_m0"].queue.size == ct.QUEUE_STEPS * 2 * ct.KINDS["moco_q48_m0"]["batch_size"]   # 48 steps of 2B keys
    assert type(built["simclr"]) is methods.SimCLR
    for keys in (256, 2048):   # queue or batch: the name gives the queue in keys, 2B = 256 per step at batch 128
        assert built[f"moco_b128_q{keys}"].queue.size == keys and built[f"moco_b128_q{keys}"].momentum == 0.99
    steps = {kind: ct.config_for(kind, base).epochs * (ct.SUBSET // ct.KINDS[kind]["batch_size"]) for kind in ct.QUEUE_OR_BATCH}
    assert set(steps.values()) == {120}, steps   # the same number of optimizer steps for every arm
    assert type(built["simclr_b1024"]) is methods.SimCLR and ct.config_for("simclr_b1024", base).batch_size == 1024
    with pytest.raises(ValueError, match="unknown kind"):
        ct.config_for("simsiam_nosg", base)


def test_collapse_stats_sees_a_collapsed_head_and_a_spread_one():
    torch.manual_seed(0)
    method = build_method("simsiam", Encoder(widths=(4, 8, 8), depth=1), proj_dim=16, hidden_dim=32)
    images = (torch.rand(64, 28, 28) * 255).to(torch.uint8)
    with torch.no_grad():  # calibrate BatchNorm's running statistics (eval mode uses them) on these images
        for m in method.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.momentum = None  # a plain average of the batches seen
        x = images.unsqueeze(1).float() / 255
        for _ in range(3):
            method.project(x, x)
    running = [b.clone() for b in method.buffers()]
    spread = collapse_stats(method, images)
    assert all(torch.equal(a, b) for a, b in zip(running, method.buffers()))  # measuring leaves BatchNorm's statistics
    assert spread["std_reference"] == pytest.approx(16 ** -0.5) and spread["std_reference_h"] == pytest.approx(8 ** -0.5)
    assert spread["embedding_std"] > 0.5 * spread["std_reference"]
    assert spread["embedding_std_batch"] > 0.5 * spread["std_reference"]  # BatchNorm with each batch's statistics
    last = method.head.net[-1]
    with torch.no_grad():  # every z the same vector: the collapsed solution
        last.weight.zero_()
        last.bias.normal_()
    collapsed = collapse_stats(method, images)
    assert collapsed["embedding_std"] < 1e-6 and collapsed["embedding_std_batch"] < 1e-6
    assert collapsed["embedding_std_h"] == pytest.approx(spread["embedding_std_h"])  # h is untouched
