"""The SimCLR training engine: one file, no DataLoader, resumable. ``python -m clhelpers.train``.

The loop, per step::

    idx = permutation[step * B : (step + 1) * B]        # the whole training set is ONE uint8
    view1, view2 = make_views(images[idx], ...)          # tensor on the device; views are made
    h, z = model(cat([view1, view2]))                    # there too, per image, in one batch
    loss = loss_fn(z[:B], z[B:], temperature)            # NT-Xent by default
    loss.backward(); optimizer.step(); scheduler.step()  # AdamW, linear warm-up then cosine decay

Each epoch is one pass over a fresh random permutation (the last incomplete batch is dropped),
followed by a kNN evaluation of the encoder on the held-out test split. On CUDA the forward pass
runs under bf16 autocast with channels-last tensors (``torch.compile`` is optional: ``compile``).
The ``"cpu"`` preset uses bf16 autocast too when the CPU has native bf16 (``cpu_has_bf16()``):
on the 2-core AMD EPYC it roughly halves the run time at the same accuracy (kNN 0.950 vs 0.953).

Presets (``preset(name)``): ``"cpu"`` (the default without a GPU: 4,000 training digits, a small
encoder, under 5 minutes on 2 cores), ``"cuda"`` (the default with a GPU: all 60,000 digits, the
full-size encoder), and small ``"cpu-tiny"`` (~15 s) and ``"cpu-sweep"`` (~10 s) runs for
notebooks. ``--data auto`` uses the full MNIST when it is on disk (or downloadable) and otherwise
the offline 5,000-digit subset; the CPU presets cap the training set at 4,000 digits either way.

Files in ``out_dir`` (all written atomically: temporary file, then ``os.replace``):

* ``checkpoint.pt``: model, optimizer, scheduler, epoch, history and every random-number state
  (permutation generator, view generator, torch's global RNG), written after every epoch.
* ``encoder.pt``: the encoder alone (``clhelpers.models.load_encoder`` reads it).
* ``metrics.json``: configuration, device, data sizes, raw-pixel kNN baseline and per-epoch history.

Resuming (``resume=True`` / ``--resume``) restores the last checkpoint and continues; because all
random states are restored at an epoch boundary, the resumed loss curve is identical to an
uninterrupted run's (same device and settings). Ctrl-C (``KeyboardInterrupt``) in the middle of an
epoch saves the state at the END OF THE LAST COMPLETED EPOCH (the partial epoch is discarded: a
half-applied optimizer step cannot be resumed exactly), then re-raises; ``--resume`` redoes that
epoch.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import torch

from .augment import ViewParams, make_views
from .data import load_mnist
from .device import pick_device, set_seed
from .evaluate import embed, knn_accuracy
from .losses import nt_xent
from .models import Encoder, SimCLRModel, save_encoder

DATA_SOURCES = ("auto", "offline", "torchvision")
DEVICES = ("auto", "cpu", "cuda", "mps")
CHECKPOINT_FORMAT = "clhelpers-train-v1"
# settings that may differ between an interrupted run and its resumption
_RESUME_FREE = {"resume", "out_dir", "compile", "eval_every"}


@dataclass
class TrainConfig:
    """Everything that defines a training run. Invalid values raise ``ValueError`` on creation.

    Use ``preset(name)`` for tested defaults and ``dataclasses.replace(cfg, epochs=...)`` to change them.
    """

    preset: str = "custom"            # name of the preset this came from (informational)
    data: str = "auto"                # "auto" | "offline" | "torchvision" (see clhelpers.data)
    device: str = "auto"              # "auto" | "cpu" | "cuda" | "mps"
    epochs: int = 30
    batch_size: int = 256             # images per step; the model sees 2 * batch_size views
    temperature: float = 0.2          # NT-Xent's tau
    lr: float = 2e-3                  # peak learning rate (AdamW), reached after the warm-up
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0        # linear warm-up from 0, then cosine decay to 0
    seed: int = 0
    widths: tuple[int, int, int] = (32, 64, 128)   # Encoder(widths, depth)
    depth: int = 2
    proj_dim: int = 64                # projection head output (the loss space)
    hidden_dim: int = 256             # projection head hidden layer
    views: ViewParams = field(default_factory=ViewParams)  # augmentation strengths
    train_size: int | None = None     # use a fixed random subset of this many training digits
    test_size: int | None = None      # evaluate kNN on the first this-many test digits
    knn_k: int = 20
    eval_every: int = 1               # kNN every this-many epochs (and always after the last)
    amp: bool = True                  # bf16 autocast on CUDA
    cpu_amp: bool = False             # bf16 autocast on the CPU too (a win only with native bf16: cpu_has_bf16())
    channels_last: bool = True        # channels-last memory format (faster convolutions)
    compile: bool = False             # torch.compile the model (CUDA; first epoch pays compile time)
    out_dir: str | None = None        # where checkpoint.pt / encoder.pt / metrics.json go
    resume: bool = False              # continue from out_dir/checkpoint.pt if it exists

    def __post_init__(self) -> None:
        if isinstance(self.views, dict):
            self.views = ViewParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in self.views.items()})
        self.widths = tuple(int(w) for w in self.widths)
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad setting and what would be valid."""
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        need(self.data in DATA_SOURCES, f"data must be one of {DATA_SOURCES}, got {self.data!r}")
        need(self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}")
        for name in ("epochs", "batch_size", "seed", "depth", "proj_dim", "hidden_dim", "knn_k", "eval_every"):
            need(isinstance(getattr(self, name), int) and not isinstance(getattr(self, name), bool),
                 f"{name} must be an int, got {getattr(self, name)!r}")
        need(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        need(self.batch_size >= 2, f"batch_size must be >= 2 (NT-Xent needs negatives), got {self.batch_size}")
        need(isinstance(self.temperature, (int, float)) and 0 < self.temperature < math.inf,
             f"temperature must be a positive number (typically 0.05 to 1), got {self.temperature!r}")
        need(isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf, f"lr must be positive, got {self.lr!r}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(len(self.widths) == 3 and min(self.widths) >= 1, f"widths must be three positive ints, got {self.widths}")
        need(self.depth >= 1 and self.proj_dim >= 1 and self.hidden_dim >= 1, "depth, proj_dim and hidden_dim must be >= 1")
        need(isinstance(self.views, ViewParams), f"views must be a clhelpers.augment.ViewParams, got {type(self.views).__name__}")
        for name in ("train_size", "test_size"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, int) and value >= 1), f"{name} must be None or an int >= 1, got {value!r}")
        need(self.train_size is None or self.train_size >= self.batch_size,
             f"train_size ({self.train_size}) must be at least batch_size ({self.batch_size})")
        need(self.knn_k >= 1, f"knn_k must be >= 1, got {self.knn_k}")
        need(self.eval_every >= 1, f"eval_every must be >= 1, got {self.eval_every}")
        need(not self.resume or self.out_dir is not None, "resume=True needs out_dir (where checkpoint.pt is)")

    def to_dict(self) -> dict:
        """Plain JSON-friendly values (tuples become lists, views a dict)."""
        d = asdict(self)
        d["views"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.views.as_dict().items()}
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Augmentations for the "cpu" preset: the defaults plus pixel noise and random erasing, which
# measurably helped on the 4,000-digit subset (kNN 0.937 vs 0.915 after 15 epochs). The small
# presets keep the ViewParams defaults (notebooks 03 and 06 were built on them).
CPU_VIEWS = ViewParams(crop_scale=(0.4, 1.0), rotation=20.0, shear=10.0, translate=0.1, noise_std=0.15, erase_prob=0.5)


def cpu_has_bf16() -> bool:
    """True on a (Linux) CPU with native bfloat16 instructions (AVX512-BF16 or AMX), where bf16
    autocast roughly doubles this encoder's training speed (measured on a 2-core AMD EPYC).
    Elsewhere bf16 is emulated and slower than float32, so the CPU preset leaves it off."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _cpu_common(**overrides) -> TrainConfig:
    base = dict(device="auto", widths=(16, 32, 64), depth=2, proj_dim=64, hidden_dim=128,
                train_size=4000, batch_size=256, temperature=0.2, lr=3e-3, warmup_epochs=1.0)
    base.update(overrides)
    return TrainConfig(**base)


PRESETS: dict[str, Callable[[], TrainConfig]] = {
    # the default without a GPU: under 5 minutes end to end on 2 CPU cores
    "cpu": lambda: _cpu_common(preset="cpu", epochs=90, eval_every=5, views=CPU_VIEWS, cpu_amp=cpu_has_bf16()),
    # notebook 03 (flawed vs fixed loss): about 15 s per run
    "cpu-tiny": lambda: _cpu_common(preset="cpu-tiny", epochs=6),
    # notebook 06 (temperature / batch-size sweeps): about 10 s per run
    "cpu-sweep": lambda: _cpu_common(preset="cpu-sweep", epochs=5, widths=(16, 32, 64), depth=1),
    # the default with a GPU: all 60,000 digits, the full-size encoder
    "cuda": lambda: TrainConfig(preset="cuda", device="auto", epochs=30, batch_size=1024, lr=4e-3,
                                temperature=0.2, widths=(32, 64, 128), depth=2, proj_dim=128,
                                hidden_dim=512, warmup_epochs=2.0),
}


def preset(name_or_device: str | torch.device = "auto") -> TrainConfig:
    """A ``TrainConfig`` by preset name (``"cpu"``, ``"cuda"``, ``"cpu-tiny"``, ``"cpu-sweep"``) or
    by device: ``"auto"`` picks ``"cuda"`` when torch sees a GPU, else ``"cpu"``; a ``torch.device``
    or ``"mps"`` maps to the preset of that kind of device (the CPU preset for MPS).
    """
    name = name_or_device.type if isinstance(name_or_device, torch.device) else str(name_or_device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "mps":
        return replace(PRESETS["cpu"](), device="mps")
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name_or_device!r}: use one of {sorted(PRESETS)} or 'auto'")
    return PRESETS[name]()


@dataclass
class TrainResult:
    """What ``train`` returns. ``history``: one dict per epoch (see ``train``)."""

    model: SimCLRModel
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


# ------------------------------------------------------------------------------------ helpers
def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier: linear warm-up 1/w, 2/w, ..., 1 over ``warmup_steps``, then a
    cosine decay from 1 to 0 over the remaining steps: ``0.5 * (1 + cos(pi * progress))``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _atomic_write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def _atomic_torch_save(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _to_cpu_copy(obj):
    """A deep copy of a (nested) state dict with every tensor on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu_copy(v) for v in obj)
    return copy.deepcopy(obj)


def _load_data(cfg: TrainConfig, device: torch.device):
    x_train, y_train = load_mnist("train", source=cfg.data)
    x_test, y_test = load_mnist("test", source=cfg.data)
    if cfg.train_size is not None and cfg.train_size < len(x_train):
        keep = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.train_size]
        keep = keep.sort().values
        x_train, y_train = x_train[keep], y_train[keep]
    if cfg.test_size is not None:
        x_test, y_test = x_test[: cfg.test_size], y_test[: cfg.test_size]
    if len(x_train) < cfg.batch_size:
        raise ValueError(f"batch_size {cfg.batch_size} is larger than the training set ({len(x_train)} digits)")
    return x_train.to(device), y_train.to(device), x_test.to(device), y_test.to(device)


def _pixel_baseline(x_train, y_train, x_test, y_test, k: int, device: torch.device) -> float | None:
    """Raw-pixel kNN on the same split; skipped on a CPU when it would take more than a few seconds."""
    if device.type == "cpu" and len(x_train) * len(x_test) > 5e7:
        return None
    flat = lambda x: x.flatten(1).float().div_(255.0)  # noqa: E731
    return knn_accuracy(flat(x_train), y_train, flat(x_test), y_test, k=k)


def _knn(model: SimCLRModel, x_train, y_train, x_test, y_test, k: int, device: torch.device) -> float:
    encoder = getattr(model, "_orig_mod", model).encoder
    f_train = embed(encoder, x_train, device=device).to(device)
    f_test = embed(encoder, x_test, device=device).to(device)
    return knn_accuracy(f_train, y_train, f_test, y_test, k=k)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------------- training
def train(
    config: TrainConfig,
    loss_fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor] = nt_xent,
    progress: bool = True,
    on_epoch_end: Callable[[dict], None] | None = None,
    with_labels: bool = False,
) -> TrainResult:
    """Train a ``SimCLRModel`` as ``config`` says and return a ``TrainResult``.

    ``loss_fn(z1, z2, temperature)`` gets the two views' projections (float32) and returns a scalar;
    NT-Xent by default, any other loss with that signature plugs in. With ``with_labels=True`` the
    loss also gets the batch's class labels, as ``loss_fn(z1, z2, labels, temperature)`` (e.g.
    ``clhelpers.losses.supcon``): supervised contrastive learning with the same recipe. ``progress`` shows a tqdm bar
    (loss, images/s, last kNN accuracy). ``on_epoch_end(record)`` is called after every epoch (after
    the checkpoint is written) with that epoch's history record::

        {"epoch": 1-based epoch, "loss": mean training loss, "knn_acc": kNN accuracy on the test split
         (None when not evaluated that epoch), "images_per_s": training images per second (each image
         gives two views; evaluation time excluded), "epoch_s": training seconds, "eval_s": kNN seconds,
         "wall_s": seconds since the run started (earlier sessions of a resumed run included), "lr": last lr}
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig (e.g. preset('cpu')), got {type(config).__name__}")
    config.validate()
    cfg = config
    device = pick_device(cfg.device)
    out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None
    ckpt_path = out_dir / "checkpoint.pt" if out_dir is not None else None
    on_cuda = device.type == "cuda"

    # ---- data, model, optimizer, schedule, random states
    perm_gen = set_seed(cfg.seed)                      # seeds torch/numpy/python; CPU generator for permutations
    view_gen = torch.Generator(device=device if on_cuda else "cpu").manual_seed(cfg.seed + 1)
    x_train, y_train, x_test, y_test = _load_data(cfg, device)
    pixel_acc = _pixel_baseline(x_train, y_train, x_test, y_test, cfg.knn_k, device)

    model = SimCLRModel(Encoder(cfg.widths, cfg.depth), proj_dim=cfg.proj_dim, hidden_dim=cfg.hidden_dim).to(device)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(x_train) // cfg.batch_size
    total_steps = steps_per_epoch * cfg.epochs
    warmup_steps = round(cfg.warmup_epochs * steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup_steps, total_steps))

    history: list[dict] = []
    start_epoch, wall_before = 0, 0.0
    if cfg.resume and ckpt_path is not None and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        _check_resumable(ckpt, cfg, device, ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        perm_gen.set_state(ckpt["perm_rng"])
        view_gen.set_state(ckpt["view_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        history, start_epoch, wall_before = list(ckpt["history"]), int(ckpt["epoch"]), float(ckpt["wall_s"])
        if progress:
            print(f"resuming from {ckpt_path} after epoch {start_epoch}", file=sys.stderr)
    elif cfg.resume and progress:
        print(f"no checkpoint in {out_dir}: starting from scratch", file=sys.stderr)

    if on_cuda:
        torch.backends.cudnn.benchmark = True
    step_model = torch.compile(model) if (cfg.compile and on_cuda) else model
    use_amp = (cfg.amp and on_cuda) or (cfg.cpu_amp and device.type == "cpu")

    def snapshot(epoch: int) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "config": cfg.to_dict(), "device_type": device.type, "epoch": epoch,
            "model": _to_cpu_copy(model.state_dict()), "optimizer": _to_cpu_copy(optimizer.state_dict()),
            "scheduler": _to_cpu_copy(scheduler.state_dict()), "perm_rng": perm_gen.get_state(),
            "view_rng": view_gen.get_state().cpu(), "torch_rng": torch.get_rng_state(),
            "history": copy.deepcopy(history), "wall_s": wall_before + (time.perf_counter() - t_start),
        }

    def write_outputs(state: dict, finished: bool, interrupted: bool = False) -> None:
        if out_dir is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        _atomic_torch_save(ckpt_path, state)
        if not interrupted:  # after an interruption encoder.pt stays the last completed epoch's
            save_encoder(model, out_dir / "encoder.pt")
        _atomic_write_json(out_dir / "metrics.json", {
            "config": cfg.to_dict(), "device": device.type, "device_name": _device_name(device),
            "torch": torch.__version__, "train_images": len(x_train), "test_images": len(x_test),
            "steps_per_epoch": steps_per_epoch, "pixel_knn_acc": pixel_acc, "epochs_done": state["epoch"],
            "finished": finished, "interrupted": interrupted, "history": state["history"],
        })

    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    last_good = snapshot(start_epoch)
    bar = tqdm(total=total_steps, initial=start_epoch * steps_per_epoch, desc=f"SimCLR {cfg.preset}",
               unit="step", disable=not progress, dynamic_ncols=True)
    try:
        model.train()
        for epoch in range(start_epoch, cfg.epochs):
            perm = torch.randperm(len(x_train), generator=perm_gen).to(device)
            loss_sum = torch.zeros((), device=device)
            t0 = time.perf_counter()
            for step in range(steps_per_epoch):
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                view1, view2 = make_views(x_train[idx], cfg.views, generator=view_gen)
                views = torch.cat([view1, view2]).contiguous(memory_format=memory_format)
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                    _, z = step_model(views)
                z = z.float()
                z1, z2 = z[: cfg.batch_size], z[cfg.batch_size:]
                if with_labels:
                    loss = loss_fn(z1, z2, y_train[idx], cfg.temperature)
                else:
                    loss = loss_fn(z1, z2, cfg.temperature)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach()
                if progress and (step % 10 == 0 or step == steps_per_epoch - 1):
                    rate = (step + 1) * cfg.batch_size / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", img_s=f"{rate:.0f}", refresh=False)
                bar.update(1)
            mean_loss = float(loss_sum) / steps_per_epoch
            if not math.isfinite(mean_loss):
                raise FloatingPointError(f"loss became {mean_loss} in epoch {epoch + 1}; lower lr or raise temperature")
            epoch_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            knn = None
            if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
                knn = _knn(model, x_train, y_train, x_test, y_test, cfg.knn_k, device)
                model.train()
            record = {
                "epoch": epoch + 1, "loss": mean_loss, "knn_acc": knn,
                "images_per_s": steps_per_epoch * cfg.batch_size / epoch_s, "epoch_s": epoch_s,
                "eval_s": time.perf_counter() - t1, "wall_s": wall_before + time.perf_counter() - t_start,
                "lr": scheduler.get_last_lr()[0],
            }
            history.append(record)
            last_good = snapshot(epoch + 1)
            write_outputs(last_good, finished=epoch + 1 == cfg.epochs)
            bar.set_postfix(epoch=epoch + 1, loss=f"{mean_loss:.3f}", knn="-" if knn is None else f"{knn:.3f}", refresh=True)
            if on_epoch_end is not None:
                on_epoch_end(record)
    except KeyboardInterrupt:
        bar.close()
        if out_dir is not None:
            write_outputs(last_good, finished=False, interrupted=True)
            print(f"\ninterrupted: saved the state after epoch {last_good['epoch']} to {ckpt_path}; "
                  f"continue with resume=True (--resume)", file=sys.stderr)
        raise
    bar.close()
    model.eval()
    return TrainResult(model=model, encoder=model.encoder, history=history, config=cfg, out_dir=out_dir,
                       device=device.type, pixel_knn_acc=pixel_acc, train_images=len(x_train), test_images=len(x_test))


def _check_resumable(ckpt: dict, cfg: TrainConfig, device: torch.device, path: Path) -> None:
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a clhelpers training checkpoint; delete it or use another out_dir")
    if ckpt["device_type"] != device.type:
        raise ValueError(f"{path} was written on {ckpt['device_type']} but this run uses {device.type}; "
                         "resume on the same kind of device (random streams differ between devices)")
    saved, now = ckpt["config"], cfg.to_dict()
    diff = [k for k in now if k not in _RESUME_FREE and saved.get(k) != now[k]]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {now[k]!r}" for k in diff)
        raise ValueError(f"cannot resume {path} with different settings ({detail}); use the original settings or a new out_dir")


# -------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m clhelpers.train",
        description="Train a SimCLR encoder on MNIST (defaults: the preset for the device, see --preset).",
        epilog="example: python -m clhelpers.train --out runs/cpu   (then: --resume to continue after Ctrl-C)",
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from this preset (default: 'cuda' with a GPU, else 'cpu')")
    p.add_argument("--data", choices=DATA_SOURCES, help="MNIST source (default auto: full set if available, else offline subset)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--train-size", type=int, help="train on a fixed random subset of this many digits")
    p.add_argument("--full", action="store_true", help="use the whole training set (undo the CPU presets' 4,000-digit cap)")
    p.add_argument("--eval-every", type=int, help="kNN evaluation every N epochs (default 1)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA only)")
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast (CUDA, or a CPU preset that uses it)")
    p.add_argument("--out", help="output folder for checkpoint.pt, encoder.pt, metrics.json (e.g. runs/cpu)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainConfig:
    """The preset (named, or chosen by device) with the given command-line overrides applied."""
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA GPU here; use --device auto or cpu")
    device_kind = pick_device(args.device).type
    cfg = preset(args.preset or ("cuda" if device_kind == "cuda" else "cpu"))
    overrides = {"device": args.device}
    for name in ("data", "epochs", "batch_size", "temperature", "lr", "weight_decay", "warmup_epochs", "seed",
                 "train_size", "eval_every"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.full:
        overrides["train_size"] = None
    if args.compile:
        overrides["compile"] = True
    if args.no_amp:
        overrides["amp"] = False
        overrides["cpu_amp"] = False
    if args.resume and not args.out:
        parser.error("--resume needs --out DIR (the folder with checkpoint.pt)")
    overrides["out_dir"] = args.out
    overrides["resume"] = args.resume
    try:
        return replace(cfg, **overrides)
    except ValueError as err:
        parser.error(str(err))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = config_from_args(args, parser)
    print(f"preset {cfg.preset}: device {pick_device(cfg.device).type}, {cfg.epochs} epochs, batch {cfg.batch_size}, "
          f"lr {cfg.lr:g}, temperature {cfg.temperature:g}, encoder widths {list(cfg.widths)} depth {cfg.depth}", file=sys.stderr)

    def report(r: dict) -> None:
        knn = "" if r["knn_acc"] is None else f"  kNN {r['knn_acc']:.4f}"
        line = f"epoch {r['epoch']:3d}  loss {r['loss']:.4f}{knn}  {r['images_per_s']:.0f} images/s  {r['wall_s']:.0f} s"
        if args.quiet:
            print(line, file=sys.stderr)
        else:
            from tqdm.auto import tqdm
            tqdm.write(line, file=sys.stderr)

    try:
        result = train(cfg, progress=not args.quiet, on_epoch_end=report)
    except KeyboardInterrupt:
        return 130
    except ValueError as err:
        parser.error(str(err))
    pixels = "" if result.pixel_knn_acc is None else f" (raw-pixel kNN on the same split: {result.pixel_knn_acc:.4f})"
    print(f"done: {result.train_images} training digits, kNN accuracy {result.knn_acc:.4f} on {result.test_images} test digits{pixels}")
    if result.out_dir is not None:
        print(f"wrote {result.out_dir}/checkpoint.pt, encoder.pt, metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
