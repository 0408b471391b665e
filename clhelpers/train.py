"""The training engine: one loop for every method, no DataLoader, resumable. ``python -m clhelpers train``.

The loop, per step (``train`` below; it fits on one screen)::

    idx = permutation[step * B : (step + 1) * B]       # the whole training set is ONE uint8 tensor
    view1, view2 = make_views(images[idx], ...)         # on the device; views are made there, per image
    loss = method(view1, view2, labels[idx])            # SimCLR, SupCon, MoCo, SimSiam: the loop can't tell
    loss.backward(); optimizer.step(); scheduler.step() # AdamW, linear warm-up then cosine decay
    method.after_step()                                 # e.g. MoCo's momentum update and queue push

Each epoch is one pass over a fresh random permutation (the last incomplete batch is dropped), then
a kNN evaluation of the encoder features on the held-out test split (every ``eval_every`` epochs).

Files in ``out_dir`` (each written atomically: a temporary file, then ``os.replace``):

* ``checkpoint.pt``: the method (encoder, heads, queues), optimizer, scheduler, epoch, history and
  every random state (permutation, views, torch's global RNG), written after every epoch.
* ``encoder.pt``: the encoder alone (``clhelpers.models.load_encoder`` reads it).
* ``metrics.json``: configuration, machine, data sizes, raw-pixel kNN baseline and per-epoch history.

``resume=True`` restores the last checkpoint; because all random states are restored at an epoch
boundary, the resumed run is identical to an uninterrupted one (same device and settings). Ctrl-C in
the middle of an epoch saves the state at the END OF THE LAST COMPLETED EPOCH, then re-raises.

The progress bar advances once per epoch, so the number of messages a notebook cell receives depends
on the number of epochs, never on how long they take (nbval loses messages from very chatty cells).
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .augment import make_views
from .config import TrainConfig
from .data import describe_data, load_dataset
from .device import compile_encoder, machine_description, pick_device, set_seed
from .files import atomic_torch_save, atomic_write_json, load_checked
from .evaluate import knn_monitor, pixel_baseline
from .methods import Method, build_method
from .metrics import topk_positive_accuracy
from .models import Encoder, save_encoder

CHECKPOINT_FORMAT = "clhelpers-train-v2"
_RESUME_FREE = {"resume", "out_dir", "compile", "eval_every", "rank_monitor"}  # may differ between a run and its resumption


@dataclass
class TrainResult:
    """What ``train`` returns. ``history``: one dict per epoch (see ``train``)."""

    method: Method
    encoder: Encoder
    history: list[dict]
    config: TrainConfig
    out_dir: Path | None
    device: str
    pixel_knn_acc: float | None = None   # raw-pixel kNN on the same split (None if skipped)
    train_images: int = 0
    test_images: int = 0

    @property
    def knn_acc(self) -> float | None:
        """The last evaluated kNN accuracy."""
        values = [h["knn_acc"] for h in self.history if h.get("knn_acc") is not None]
        return values[-1] if values else None

    @property
    def model(self) -> Method:
        """The trained method (encoder + heads); an alias kept for older notebooks."""
        return self.method


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier: linear warm-up 1/w, 2/w, ..., 1 over ``warmup_steps``, then a cosine
    decay from 1 to 0 over the remaining steps: ``0.5 * (1 + cos(pi * progress))``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def load_split(cfg: TrainConfig, device: torch.device) -> tuple[torch.Tensor, ...]:
    """``(x_train, y_train, x_test, y_test)`` on ``device`` as the config says: with ``holdout="test"`` the
    official training and test sets, with ``holdout="val"`` the training set minus its validation split and
    that split (for choosing settings). The training subset of ``train_size`` images is a fixed random choice
    made from ``seed``; the held-out split is never trained on."""
    fit_split, held_split = ("train", "test") if cfg.holdout == "test" else ("fit", "val")
    x_train, y_train = load_dataset(cfg.dataset, fit_split, source=cfg.source)
    x_test, y_test = load_dataset(cfg.dataset, held_split, source=cfg.source)
    if cfg.train_size is not None and cfg.train_size < len(x_train):
        keep = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.train_size].sort().values
        x_train, y_train = x_train[keep], y_train[keep]
    if cfg.test_size is not None:
        x_test, y_test = x_test[: cfg.test_size], y_test[: cfg.test_size]
    if len(x_train) < cfg.batch_size:
        raise ValueError(f"batch_size {cfg.batch_size} is larger than the training set ({len(x_train)} images); lower it")
    return x_train.to(device), y_train.to(device), x_test.to(device), y_test.to(device)


def _given_split(data: tuple, cfg: TrainConfig, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Checked ``(x_train, y_train, x_test, y_test)`` given by the caller, on ``device``."""
    if not (isinstance(data, (tuple, list)) and len(data) == 4 and all(isinstance(t, torch.Tensor) for t in data)):
        raise ValueError("data must be four tensors (x_train, y_train, x_test, y_test); or leave it None to load config.dataset")
    for x, y, name in ((data[0], data[1], "train"), (data[2], data[3], "test")):
        if x.dim() not in (3, 4) or y.shape != (len(x),):
            raise ValueError(f"{name} images must be (N, H, W) or (N, C, H, W) with one label each, got {tuple(x.shape)} "
                             f"and {tuple(y.shape)} labels")
    if len(data[0]) < cfg.batch_size:
        raise ValueError(f"batch_size {cfg.batch_size} is larger than the training set ({len(data[0])} images); lower it")
    return tuple(t.to(device) for t in data)


def make_method(cfg: TrainConfig, loss: Callable | None = None) -> Method:
    """The configured method around a fresh ``Encoder`` (``loss`` replaces SimCLR's NT-Xent, e.g. a flawed loss)."""
    options = dict(proj_dim=cfg.proj_dim, hidden_dim=cfg.hidden_dim, temperature=cfg.temperature,
                   momentum=cfg.momentum, queue_size=cfg.moco_queue_size, stop_gradient=cfg.stop_gradient,
                   predictor=cfg.predictor, proj_out_bn=cfg.proj_out_bn, momentum_schedule=cfg.momentum_schedule,
                   tau_plus=cfg.tau_plus)
    if loss is not None:
        if cfg.method != "simclr":
            raise ValueError(f"a custom loss plugs into method 'simclr' only, not {cfg.method!r}; set method='simclr'")
        options["loss"] = loss
    return build_method(cfg.method, Encoder(cfg.widths, cfg.depth), **options)


def optimizer_step(method: Method, optimizer: torch.optim.Optimizer, v1: torch.Tensor, v2: torch.Tensor,
                   labels: torch.Tensor, amp: bool) -> torch.Tensor:
    """One optimizer step of ``method`` on a pair of views: the loss (under bf16 autocast on the views' device when
    ``amp``), gradients cleared, backward, ``optimizer.step()``; returns the loss. The training loop and the bench's
    step timing (``bench.bench_model_step``) both step through it; the scheduler and ``method.after_step`` stay in
    the loop."""
    with torch.autocast(device_type=v1.device.type, dtype=torch.bfloat16, enabled=amp):
        loss = method(v1, v2, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def make_optimizer(cfg: TrainConfig, method: Method, steps_per_epoch: int) -> tuple:
    """``(optimizer, scheduler)``: AdamW, or SGD with momentum 0.9 (``cfg.optimizer``), warm-up then cosine
    (``lr_factor``); with ``cfg.fix_predictor_lr`` the predictor's parameters keep the peak lr (SimSiam's recipe)."""
    if int(steps_per_epoch) != steps_per_epoch or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}; lower batch_size")
    fixed = {id(p) for p in method.predictor_parameters()} if cfg.fix_predictor_lr else set()
    groups = [{"params": [p for p in method.trainable_parameters() if id(p) not in fixed]}]
    if fixed:
        groups.append({"params": [p for p in method.trainable_parameters() if id(p) in fixed]})
    if cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup, total = round(cfg.warmup_epochs * steps_per_epoch), steps_per_epoch * cfg.epochs
    schedules = [lambda s: lr_factor(s, warmup, total)] + [lambda s: 1.0] * (len(groups) - 1)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedules)


class _State:
    """Everything a checkpoint holds, and the files of ``out_dir``."""

    def __init__(self, cfg: TrainConfig, method: Method, optimizer, scheduler, device: torch.device) -> None:
        self.cfg, self.method, self.optimizer, self.scheduler, self.device = cfg, method, optimizer, scheduler, device
        self.perm_gen = torch.Generator().manual_seed(cfg.seed)  # the permutations' own stream
        self.view_gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(cfg.seed + 1)
        self.out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None
        self.history: list[dict] = []
        self.epoch, self.wall_before, self.t_start = 0, 0.0, time.perf_counter()
        self.info: dict = {}

    @property
    def ckpt_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoint.pt"

    def snapshot(self) -> dict:
        cpu = lambda obj: _to_cpu_copy(obj)  # noqa: E731
        return {"format": CHECKPOINT_FORMAT, "config": self.cfg.to_dict(), "device_type": self.device.type,
                "epoch": self.epoch, "method": cpu(self.method.state_dict()), "optimizer": cpu(self.optimizer.state_dict()),
                "scheduler": cpu(self.scheduler.state_dict()), "perm_rng": self.perm_gen.get_state(),
                "view_rng": self.view_gen.get_state().cpu(), "torch_rng": torch.get_rng_state(),
                "history": copy.deepcopy(self.history), "wall_s": self.wall_s()}

    def wall_s(self) -> float:
        return self.wall_before + time.perf_counter() - self.t_start

    def restore(self) -> None:
        """Continue from ``checkpoint.pt`` if ``resume`` is set and the file exists."""
        path = self.ckpt_path
        if not (self.cfg.resume and path is not None and path.is_file()):
            if self.cfg.resume:
                print(f"no checkpoint in {self.out_dir}: starting from scratch", file=sys.stderr)
            return
        ckpt = load_checked(path, "clhelpers training checkpoint", "delete it, or train into another --out folder")
        _check_resumable(ckpt, self.cfg, self.device, path)
        self.method.load_state_dict(ckpt["method"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.perm_gen.set_state(ckpt["perm_rng"])
        self.view_gen.set_state(ckpt["view_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        self.history, self.epoch, self.wall_before = list(ckpt["history"]), int(ckpt["epoch"]), float(ckpt["wall_s"])
        print(f"resuming from {path} after epoch {self.epoch}", file=sys.stderr)

    def write(self, state: dict, interrupted: bool = False) -> None:
        """checkpoint.pt, encoder.pt (not after an interruption: it stays the last completed epoch's), metrics.json."""
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(self.ckpt_path, state)
        if not interrupted:
            save_encoder(self.method.encoder, self.out_dir / "encoder.pt")
        atomic_write_json(self.out_dir / "metrics.json", {
            "config": self.cfg.to_dict(), "machine": machine_description(self.device), **self.info,
            "epochs_done": state["epoch"], "finished": state["epoch"] == self.cfg.epochs,
            "interrupted": interrupted, "history": state["history"]})


def _prepare(cfg: TrainConfig, loss: Callable | None, data: tuple | None) -> tuple[_State, tuple]:
    """Data on the device, the method, AdamW with warm-up + cosine, restored state when resuming."""
    device = pick_device(cfg.device)
    set_seed(cfg.seed)  # python, numpy and torch's global RNG (model initialization)
    split = load_split(cfg, device) if data is None else _given_split(data, cfg, device)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    method = make_method(cfg, loss).to(device=device, memory_format=fmt)
    steps = len(split[0]) // cfg.batch_size
    optimizer, scheduler = make_optimizer(cfg, method, steps)
    run = _State(cfg, method, optimizer, scheduler, device)
    run.restore()
    run.fmt, run.steps = fmt, steps
    run.rank_views = rank_views(cfg, split[2], fmt) if cfg.rank_monitor else None
    run.amp = cfg.bf16_autocast(device)
    run.info = {"train_images": len(split[0]), "test_images": len(split[2]), "steps_per_epoch": steps,
                "pixel_knn_acc": pixel_baseline(*split, cfg.knn_k), "holdout": cfg.holdout,
                "data": (describe_data(cfg.dataset, cfg.source).as_record() if data is None
                         else {"source": "tensors given to train(data=...)"})}
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if cfg.compile:
        compile_encoder(method.encoder)
    return run, split


def train(config: TrainConfig, progress: bool = True, on_epoch_end: Callable[[dict], None] | None = None,
          loss: Callable | None = None, data: tuple | None = None) -> TrainResult:
    """Train ``config.method`` as ``config`` says and return a ``TrainResult``.

    ``progress`` shows a bar that advances once per epoch. ``on_epoch_end(record)`` runs after every
    epoch (after the checkpoint is written) with that epoch's record: ``{"epoch", "loss" (mean training
    loss), "knn_acc" (None when not evaluated), "images_per_s" (training only), "epoch_s", "eval_s",
    "wall_s" (since the start, earlier sessions of a resumed run included), "lr"}``, and with ``rank_monitor``
    ``"top1_acc"``, ``"top5_acc"`` (``rank_record``). ``loss`` replaces
    SimCLR's NT-Xent with any ``loss(z1, z2) -> scalar`` (e.g. notebook 03's flawed losses). ``data``
    = ``(x_train, y_train, x_test, y_test)`` trains on these tensors instead of ``config.dataset``.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig (e.g. preset('cpu')), got {type(config).__name__}")
    config.validate()
    run, (x_train, y_train, x_test, y_test) = _prepare(config, loss, data)
    cfg, method, optimizer, scheduler, device, fmt, steps = (run.cfg, run.method, run.optimizer, run.scheduler,
                                                             run.device, run.fmt, run.steps)
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.epochs, initial=run.epoch, desc=f"{cfg.method} {cfg.preset}", unit="epoch", disable=not progress)
    last_good = run.snapshot()
    try:
        for epoch in range(run.epoch, cfg.epochs):
            method.train()
            perm, loss_sum, t0 = torch.randperm(len(x_train), generator=run.perm_gen).to(device), 0.0, time.perf_counter()
            for step in range(steps):
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                v1, v2 = (v.contiguous(memory_format=fmt) for v in make_views(x_train[idx], cfg.views, run.view_gen, cfg.batchwide_views))
                step_loss = optimizer_step(method, optimizer, v1, v2, y_train[idx], run.amp)
                scheduler.step()
                method.set_progress((epoch * steps + step + 1) / (steps * cfg.epochs))
                method.after_step()
                loss_sum = loss_sum + step_loss.detach()
            record = _end_epoch(run, epoch, float(loss_sum) / steps, time.perf_counter() - t0, (x_train, y_train, x_test, y_test))
            last_good = run.snapshot()
            run.write(last_good)
            bar.set_postfix(loss=f"{record['loss']:.3f}", knn="-" if record["knn_acc"] is None else f"{record['knn_acc']:.3f}", refresh=False)
            bar.update(1)
            if on_epoch_end is not None:
                on_epoch_end(record)
    except KeyboardInterrupt:
        bar.close()
        run.write(last_good, interrupted=True)
        if run.out_dir is not None:
            print(f"\ninterrupted: saved the state after epoch {last_good['epoch']} to {run.ckpt_path}; "
                  "continue with resume=True (--resume)", file=sys.stderr)
        raise
    bar.close()
    method.eval()
    return TrainResult(method=method, encoder=method.encoder, history=run.history, config=cfg, out_dir=run.out_dir,
                       device=device.type, pixel_knn_acc=run.info["pixel_knn_acc"], train_images=len(x_train),
                       test_images=len(x_test))


def _end_epoch(run: _State, epoch: int, mean_loss: float, epoch_s: float, split: tuple) -> dict:
    """Check the loss, run the kNN monitor when due, and append the epoch's record to the history."""
    cfg = run.cfg
    if not math.isfinite(mean_loss):
        raise FloatingPointError(f"the loss became {mean_loss} in epoch {epoch + 1}; lower lr or raise the temperature")
    t1, knn = time.perf_counter(), None
    if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
        knn = knn_monitor(run.method.encoder, *split, k=cfg.knn_k)
    ranks = rank_record(run.method, run.rank_views) if run.rank_views is not None else {}
    record = {"epoch": epoch + 1, "loss": mean_loss, "knn_acc": knn,
              "images_per_s": run.info["steps_per_epoch"] * cfg.batch_size / epoch_s, "epoch_s": epoch_s,
              "eval_s": time.perf_counter() - t1, "wall_s": run.wall_s(), "lr": run.scheduler.get_last_lr()[0], **ranks}
    run.history.append(record)
    run.epoch = epoch + 1
    return record


# --------------------------------------------------------------------------- the rank monitor (cfg.rank_monitor)
def rank_views(cfg: TrainConfig, x_held: torch.Tensor, fmt: torch.memory_format = torch.contiguous_format) -> tuple:
    """The rank monitor's fixed pair of views: the first ``batch_size`` held-out images (all of them if fewer), made
    once with a generator of their own (seed + 2), so the run's random streams, and its training, stay untouched."""
    x = x_held[: cfg.batch_size]
    if len(x) < 3:
        raise ValueError(f"rank_monitor needs at least 3 held-out images (top-5 among 2N - 1 candidates), got {len(x)}; "
                         "raise test_size or set rank_monitor=False")
    gen = torch.Generator(device=x.device if x.device.type == "cuda" else "cpu").manual_seed(cfg.seed + 2)
    return tuple(v.contiguous(memory_format=fmt) for v in make_views(x, cfg.views, gen))


def rank_record(method: Method, views: tuple) -> dict:
    """``{"top1_acc", "top5_acc"}``: the share of the 2N views of ``views`` whose positive is the most similar of their
    2N - 1 candidates (top 5), in the loss space z (``metrics.topk_positive_accuracy``). Eval mode and no gradient, so
    BatchNorm's running statistics and the weights stay as they were; the mode is restored."""
    was_training = method.training
    method.eval()
    with torch.no_grad():
        z1, z2 = method.project(*views).float().chunk(2)
    method.train(was_training)
    return {"top1_acc": topk_positive_accuracy(z1, z2, 1), "top5_acc": topk_positive_accuracy(z1, z2, 5)}


def _to_cpu_copy(obj):
    """A deep copy of a (nested) state dict with every tensor on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


def _check_resumable(ckpt: object, cfg: TrainConfig, device: torch.device, path: Path) -> None:
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a clhelpers training checkpoint of this version; delete it or use another out_dir")
    if ckpt["device_type"] != device.type:
        raise ValueError(f"{path} was written on {ckpt['device_type']} but this run uses {device.type}; "
                         "resume on the same kind of device (random streams differ between devices)")
    saved, now = TrainConfig.upgrade_dict(ckpt["config"]), cfg.to_dict()
    default = TrainConfig().to_dict()  # a field the checkpoint lacks is newer than it: it ran with the default
    diff = [k for k in now if k not in _RESUME_FREE and saved.get(k, default[k]) != now[k]]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k, default[k])!r} vs now {now[k]!r}" for k in diff)
        raise ValueError(f"cannot resume {path} with different settings ({detail}); use the original settings or a new out_dir")


if __name__ == "__main__":  # the older entry point, python -m clhelpers.train; never imported
    from clhelpers.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
