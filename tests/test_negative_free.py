"""Issue 18's options for the negative-free methods and MoCo's queue in steps: SimSiam's predictor on/off and BN
on the projector's output, BYOL's cosine momentum schedule, the SGD optimizer and the predictor's fixed learning
rate (train.make_optimizer), and TrainConfig.queue_steps. Tiny encoders: each test runs in about a second."""
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from clhelpers.config import TrainConfig
from clhelpers.methods import BYOL, SimSiam, build_method, cosine_momentum, queue_steps
from clhelpers.models import Encoder
from clhelpers.train import make_method, make_optimizer

B = 8


def enc():
    torch.manual_seed(0)
    return Encoder(widths=(4, 8, 8), depth=1)


def views(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 1, 28, 28, generator=g), torch.rand(B, 1, 28, 28, generator=g)


def test_cosine_momentum_goes_from_base_to_one_monotonically():
    values = [cosine_momentum(0.99, p / 10) for p in range(11)]
    assert values[0] == pytest.approx(0.99) and values[-1] == pytest.approx(1.0)
    assert values[5] == pytest.approx(0.995)
    assert all(a < b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="progress must be in"):
        cosine_momentum(0.99, 1.5)
    with pytest.raises(ValueError, match="momentum must be in"):
        cosine_momentum(1.2, 0.5)


def test_byol_cosine_schedule_sets_the_momentum_and_constant_keeps_it():
    cos = BYOL(enc(), proj_dim=16, hidden_dim=32, momentum=0.9, momentum_schedule="cosine")
    const = BYOL(enc(), proj_dim=16, hidden_dim=32, momentum=0.9)
    for m in (cos, const):
        m.set_progress(0.5)
    assert cos.momentum == pytest.approx(0.95) and const.momentum == pytest.approx(0.9)
    cos.set_progress(1.0)
    before = [p.clone() for p in cos.key_encoder.parameters()]
    with torch.no_grad():
        for p in cos.encoder.parameters():
            p.add_(1.0)
    cos.after_step()   # momentum 1 at the end: the target no longer moves
    assert all(torch.equal(a, b) for a, b in zip(before, cos.key_encoder.parameters()))
    with pytest.raises(ValueError, match="momentum_schedule must be one of"):
        BYOL(enc(), momentum_schedule="linear")


@pytest.mark.parametrize("cls", [SimSiam, BYOL])
def test_predictor_off_means_p_equals_z(cls):
    method = cls(enc(), proj_dim=16, hidden_dim=32, predictor=False)
    assert isinstance(method.predictor, nn.Identity) and method.predictor_parameters() == []
    on = cls(enc(), proj_dim=16, hidden_dim=32)
    assert len(on.predictor_parameters()) > 0
    with pytest.raises(ValueError, match="predictor must be True or False"):
        cls(enc(), predictor="no")


def test_simsiam_without_predictor_scores_minus_the_cosine_of_the_two_projections():
    # p = z: with the stop-gradient the loss still trains the encoder (through p); the value is -cos(z1, z2)
    method = SimSiam(enc(), proj_dim=16, hidden_dim=32, predictor=False)
    v1, v2 = views()
    z1, z2 = method.project(v1, v2).chunk(2)
    expected = -torch.nn.functional.cosine_similarity(z1, z2).mean()
    assert method(v1, v2).item() == pytest.approx(expected.item(), abs=1e-6)


def test_proj_out_bn_appends_a_batchnorm_without_affine_parameters():
    method = SimSiam(enc(), proj_dim=16, hidden_dim=32, proj_out_bn=True)
    bn = method.head[-1]
    assert isinstance(bn, nn.BatchNorm1d) and not bn.affine
    z = method.project(*views())
    assert z.mean(0).abs().max() < 1e-5   # training mode: every dimension of z is centred over the batch
    with pytest.raises(ValueError, match="proj_out_bn must be True or False"):
        SimSiam(enc(), proj_out_bn=1)


def test_queue_steps_and_config_queue_size_in_steps():
    assert queue_steps(8192, 64) == 64 and queue_steps(1024, 256) == 2
    with pytest.raises(ValueError, match="positive ints"):
        queue_steps(0, 64)
    cfg = TrainConfig(method="moco", batch_size=64, queue_steps=64, widths=(4, 8, 8), depth=1, proj_dim=16, hidden_dim=32)
    assert cfg.moco_queue_size == 8192 and make_method(cfg).queue.size == 8192
    assert replace(cfg, queue_steps=None, queue_size=100).moco_queue_size == 100
    with pytest.raises(ValueError, match="queue_steps must be None"):
        TrainConfig(queue_steps=0)


def small_cfg(**kw):
    return TrainConfig(method="simsiam", widths=(4, 8, 8), depth=1, proj_dim=16, hidden_dim=32, epochs=2, batch_size=8,
                       lr=0.1, warmup_epochs=0.0, **kw)


def test_make_optimizer_sgd_with_momentum_and_the_predictor_at_a_fixed_lr():
    cfg = small_cfg(optimizer="sgd", fix_predictor_lr=True)
    method = make_method(cfg)
    optimizer, scheduler = make_optimizer(cfg, method, steps_per_epoch=4)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0.9
    pred_ids = {id(p) for p in method.predictor_parameters()}
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == pred_ids
    assert not pred_ids & {id(p) for p in optimizer.param_groups[0]["params"]}
    for _ in range(6):
        optimizer.step()
        scheduler.step()
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert lrs[1] == pytest.approx(0.1) and lrs[0] < 0.05   # cosine decay for the rest, none for the predictor
    plain, _ = make_optimizer(small_cfg(), make_method(small_cfg()), 4)
    assert isinstance(plain, torch.optim.AdamW) and len(plain.param_groups) == 1
    with pytest.raises(ValueError, match="optimizer must be one of"):
        small_cfg(optimizer="lars")
    with pytest.raises(ValueError, match="steps_per_epoch"):
        make_optimizer(cfg, method, 0)


def test_train_passes_progress_to_byol_schedule():
    from clhelpers.train import train
    g = torch.Generator().manual_seed(0)
    data = (torch.randint(0, 255, (32, 28, 28), generator=g, dtype=torch.uint8), torch.arange(32) % 10,
            torch.randint(0, 255, (20, 28, 28), generator=g, dtype=torch.uint8), torch.arange(20) % 10)
    cfg = replace(small_cfg(), method="byol", momentum=0.9, momentum_schedule="cosine", device="cpu", knn_k=3)
    result = train(cfg, progress=False, data=data)
    assert result.method.momentum == pytest.approx(1.0)   # the last step's progress is 1


def test_build_method_passes_the_new_options():
    siam = build_method("simsiam", enc(), predictor=False, proj_out_bn=True, momentum_schedule="cosine")
    assert isinstance(siam.predictor, nn.Identity) and isinstance(siam.head[-1], nn.BatchNorm1d)
    byol = build_method("byol", enc(), momentum_schedule="cosine", proj_out_bn=True)
    assert byol.momentum_schedule == "cosine" and not isinstance(byol.head, nn.Sequential)
    assert not math.isnan(byol(*views()).item())


def _collapse_table():
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("collapse_table", bench / "collapse_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collapse_table_merges_parts_recorded_on_disjoint_seeds(tmp_path):
    from clhelpers.records import load_record, new_record, save_record

    table = _collapse_table()
    assert table.KINDS["simsiam"]["proj_out_bn"] and table.KINDS["simsiam_no_predictor"]["predictor"] is False
    assert all(k["queue_steps"] == table.QUEUE_STEPS for name, k in table.MOCO.items()) and all(name.startswith("moco_q") for name in table.MOCO)
    stats = {m: 1.0 for m in table.METRICS}
    parts = []
    for seeds in ([0, 1], [2]):
        runs = [{"kind": kind, "seed": s, **stats, "knn_acc": 0.5 + 0.1 * (kind == "simsiam") + 0.01 * s}
                for s in seeds for kind in ("random_init", "simclr", "simsiam")]
        path = tmp_path / f"part{seeds[0]}.json"
        save_record(path, new_record(runs, {"lr": 1}, command=f"part {seeds}", finished=True))
        parts.append(str(path))
    merged = table.merge(parts, str(tmp_path / "all.json"))
    assert load_record(tmp_path / "all.json")["seeds"] == [0, 1, 2] == merged["seeds"] and merged["finished"]
    assert merged["summary"]["knn_acc"]["simsiam"]["n"] == 3
    assert merged["paired"]["knn_acc"]["simsiam"]["mean"] == pytest.approx(0.1)
    assert merged["command"] == "part [0, 1] ; part [2]" and merged["reference"] == "simclr"
    save_record(parts[1], new_record([{"kind": "simclr", "seed": 1, **stats}], {"lr": 1}, command="again"))
    with pytest.raises(ValueError, match="disjoint seeds"):
        table.merge(parts, str(tmp_path / "bad.json"))
