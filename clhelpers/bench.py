"""How much faster is the engine than the usual tutorial pipeline? ``python -m clhelpers bench``.

Four measurements, all on this machine in one run, printed as absolute numbers and ratios:

1. Augmentation: views/s of ``augment.make_views`` (whole batch on the device, one
   ``grid_sample``) vs the usual per-image torchvision pipeline (``torchvision_views_transform``
   in a ``TwoViewDataset`` behind a ``DataLoader`` with ``--workers`` worker processes).
2. Training: images/s of ``train.train`` (one uint8 tensor on the device, views made there, the
   preset's model and batch size; the second epoch's rate, so start-up is excluded) vs the usual
   tutorial loop: ``DataLoader`` + per-image torchvision views + the same model, AdamW and
   ``nt_xent``, same batch size (timed after one warm-up batch).
3. The ceiling: images/s of the training step alone (``bench_model_step``: views made once, no augmentation, no
   data loading; the step is ``train.optimizer_step``, the engine's own). No pipeline around this model trains
   faster on this machine, so ``step alone / tutorial`` is the most any engine could gain over the tutorial loop here.
4. Where the compute goes: the training step's achieved GFLOP/s (FLOPs counted by
   ``torch.utils.flop_counter``, times the engine's steps per second) next to the machine's measured
   matrix-product GFLOP/s in the engine's precision (bfloat16 when it runs bf16 autocast, else float32), the
   ceiling such a step could reach.

The timings use the first ``--n-images`` digits of the training split (all 60,000 with ``--n-images 60000``, a
full-MNIST epoch); only when the split is smaller (the 5,000-digit fallback) are its digits tiled (repeated) up to
that many, which the output and the record (``tiled``) say. Results go to ``benchmarks/results-<device>[-bf16].json``
and a markdown table is printed for the README.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from .augment import TwoViewDataset, ViewParams, make_views, torchvision_views_transform
from .config import preset
from .data import load_mnist
from .device import compile_encoder, machine_description, pick_device
from .losses import nt_xent
from .records import new_record, save_record
from .models import Encoder, SimCLRModel
from .train import make_method, make_optimizer, optimizer_step, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tile(images: torch.Tensor, n: int) -> torch.Tensor:
    """``images`` (or labels) repeated along the first dimension and cut to exactly ``n`` rows."""
    reps = -(-n // len(images))
    return images.repeat(reps, *([1] * (images.dim() - 1)))[:n]


def bench_make_views(images: torch.Tensor, batch_size: int, params: ViewParams, device: torch.device) -> float:
    """Views per second of ``make_views`` over all ``images`` (already on ``device``)."""
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(0)
    make_views(images[:batch_size], params, gen)  # warm-up
    _sync(device)
    t = time.perf_counter()
    for start in range(0, len(images) - batch_size + 1, batch_size):
        make_views(images[start:start + batch_size], params, gen)
    _sync(device)
    n = (len(images) // batch_size) * batch_size
    return 2 * n / (time.perf_counter() - t)


def _loader(images: torch.Tensor, batch_size: int, params: ViewParams, workers: int, device: torch.device):
    ds = TwoViewDataset(images.cpu(), torchvision_views_transform(params))
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True,
                                       pin_memory=device.type == "cuda", persistent_workers=False,
                                       generator=torch.Generator().manual_seed(0))


def bench_torchvision_views(images: torch.Tensor, batch_size: int, params: ViewParams, workers: int,
                            device: torch.device) -> float:
    """Views per second of the per-image torchvision pipeline through a DataLoader (first batch excluded)."""
    it = iter(_loader(images, batch_size, params, workers, device))
    next(it)  # workers started, first batch made
    t, n = time.perf_counter(), 0
    for v1, v2 in it:
        v1, v2 = v1.to(device, non_blocking=True), v2.to(device, non_blocking=True)
        n += len(v1)
    _sync(device)
    return 2 * n / (time.perf_counter() - t)


def bench_tutorial_training(images: torch.Tensor, cfg, workers: int, steps: int, device: torch.device) -> float:
    """Images per second of the usual loop: DataLoader + per-image views + model + AdamW + nt_xent."""
    torch.manual_seed(cfg.seed)
    model = SimCLRModel(Encoder(cfg.widths, cfg.depth), proj_dim=cfg.proj_dim, hidden_dim=cfg.hidden_dim).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    it = iter(_loader(images, cfg.batch_size, cfg.views, workers, device))

    def step(v1, v2):
        v1, v2 = v1.to(device, non_blocking=True), v2.to(device, non_blocking=True)
        _, z1 = model(v1)
        _, z2 = model(v2)
        loss = nt_xent(z1, z2, cfg.temperature)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(*next(it))  # warm-up batch (worker start-up)
    _sync(device)
    t, n = time.perf_counter(), 0
    for _ in range(steps):
        try:
            v1, v2 = next(it)
        except StopIteration:
            break
        step(v1, v2)
        n += len(v1)
    _sync(device)
    return n / (time.perf_counter() - t)


def bench_engine_training(cfg, data: tuple) -> float:
    """Images per second of ``train`` on ``data`` (the second epoch, so model/allocator warm-up is excluded)."""
    result = train(replace(cfg, epochs=2, eval_every=10**6, out_dir=None, resume=False), progress=False, data=data)
    return result.history[-1]["images_per_s"]


def bench_model_step(cfg, device: torch.device, steps: int = 10) -> float:
    """Images per second of the training step alone: ``cfg``'s method (the engine's memory format, precision,
    optimizer from ``train.make_optimizer`` and, with ``cfg.compile``, compiled encoder) takes ``steps`` forward /
    backward / optimizer steps on one batch of views made once, after two warm-up steps (which compile). Nothing is
    augmented or loaded, so this is the ceiling of any training pipeline for this model and batch."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    torch.manual_seed(cfg.seed)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    method = make_method(cfg).to(device=device, memory_format=fmt)
    opt, _ = make_optimizer(cfg, method, steps_per_epoch=1)  # the engine's optimizer (its schedule is not stepped)
    if cfg.compile:
        compile_encoder(method.encoder)
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(cfg.seed)
    images = (torch.rand(cfg.batch_size, 28, 28, generator=gen, device=device) * 255).to(torch.uint8)
    v1, v2 = (v.contiguous(memory_format=fmt) for v in make_views(images, cfg.views, gen))
    labels = torch.arange(cfg.batch_size, device=device) % 10
    method.train()
    amp = cfg.bf16_autocast(device)
    for _ in range(2):
        optimizer_step(method, opt, v1, v2, labels, amp)
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        optimizer_step(method, opt, v1, v2, labels, amp)
    _sync(device)
    return steps * cfg.batch_size / (time.perf_counter() - t)


def matmul_gflops(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 1.0) -> float:
    """The machine's measured matrix-multiply speed: GFLOP/s of square products (n = 1024 on a CPU,
    8192 on a GPU), repeated for about ``seconds`` after a warm-up. The ceiling a training step can reach."""
    n = 8192 if device.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    t, count = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        a @ b
        count += 1
        _sync(device)
    return 2 * n**3 * count / (time.perf_counter() - t) / 1e9


def step_gflop(cfg, device: torch.device) -> float:
    """GFLOP of one training step (forward and backward of the configured method at ``cfg.batch_size``),
    counted by ``torch.utils.flop_counter`` (convolutions and matrix products; elementwise work excluded)."""
    method = make_method(cfg).to(device)
    views = torch.rand(2, cfg.batch_size, 1, 28, 28, device=device)
    labels = torch.arange(cfg.batch_size, device=device) % 10
    with FlopCounterMode(display=False) as counter:
        method(views[0], views[1], labels).backward()
    return counter.get_total_flops() / 1e9


def markdown_table(r: dict) -> str:
    """The README's table of one bench record."""
    m = r["machine"]
    where = m["gpu"] or f"{m['cpu']}, {m['cpu_count']} cores, {'native bf16' if m['cpu_bf16'] else 'no native bf16'}"
    rows = [
        "| measurement | clhelpers | usual torchvision pipeline | speed-up |",
        "|---|---|---|---|",
        f"| augmentation, views/s (batch {r['batch_size']}) | {r['make_views_views_per_s']:,.0f} | "
        f"{r['torchvision_views_per_s']:,.0f} ({r['workers']} workers) | {r['augment_speedup']:.1f}x |",
        f"| training, images/s (batch {r['batch_size']}, preset `{r['preset']}`, {r['precision']}) | "
        f"{r['engine_images_per_s']:,.0f} | {r['tutorial_images_per_s']:,.0f} (float32) | {r['train_speedup']:.1f}x |",
        f"| training step, achieved GFLOP/s | {r['step_gflops_per_s']:,.1f} | of {r['matmul_gflops_per_s']:,.1f} "
        f"measured for a {r.get('matmul_precision', 'float32')} matrix product | "
        f"{r['step_gflops_per_s'] / r['matmul_gflops_per_s']:.0%} |",
    ]
    if "step_alone_images_per_s" in r:  # records made before 2026-12-05 lack it
        rows.insert(4, f"| training step alone (views made once), images/s | {r['step_alone_images_per_s']:,.0f} | | "
                       f"ceiling {r['speedup_ceiling']:.1f}x |")
    return "\n".join(rows) + f"\n\n{where}, torch {m['torch']}, {r.get('created') or r.get('date')}."


def measure(device: str = "auto", source: str = "auto", n_images: int = 12_000, workers: int = 2,
            tutorial_steps: int = 12, amp: bool = True, out: str | None = None, command: str | None = None) -> dict:
    """Time everything, write the record (``records`` schema) to ``out``, print the markdown table, return the record.

    ``amp=False`` runs the engine in float32 even where the preset uses bf16. Each precision's achieved
    GFLOP/s is compared with the matrix-product peak of the same precision. Bad values raise ``ValueError``.
    """
    if n_images < 1 or tutorial_steps < 1 or workers < 0:
        raise ValueError("n_images and tutorial_steps must be >= 1 and workers >= 0 (--n-images, --tutorial-steps, --workers)")
    dev = pick_device(device)
    cfg = replace(preset("cuda" if dev.type == "cuda" else "cpu"), device=dev.type, source=source)
    if n_images < 2 * cfg.batch_size:
        raise ValueError(f"n_images {n_images} is under two batches of {cfg.batch_size} (one is the warm-up): "
                         f"use --n-images {2 * cfg.batch_size} or more")
    if not amp:
        cfg = replace(cfg, amp=False, cpu_amp=False)
    machine = machine_description(dev)
    bf16 = cfg.bf16_autocast(dev)
    print(f"device: {dev.type} ({machine['gpu'] or machine['cpu']}), {machine['cpu_count']} cores, "
          f"native bf16: {machine['cpu_bf16']}, engine in {'bf16 autocast' if bf16 else 'float32'}")
    images, labels = load_mnist("train", source=source)
    if len(images) < n_images:
        print(f"the training split has {len(images):,} digits: tiled to {n_images:,} for the timings")
    pool = tile(images, n_images)
    print("timing make_views, the torchvision pipeline, the engine, the tutorial loop, the step alone, matmul ...", flush=True)
    mv = bench_make_views(pool.to(dev), cfg.batch_size, cfg.views, dev)
    tv = bench_torchvision_views(pool, cfg.batch_size, cfg.views, workers, dev)
    engine = bench_engine_training(cfg, (pool, tile(labels, n_images), *load_mnist("test", source=source)))
    tutorial = bench_tutorial_training(pool, cfg, workers, tutorial_steps, dev)
    step_alone = bench_model_step(cfg, dev)
    gflop, peak = step_gflop(cfg, dev), matmul_gflops(dev, torch.bfloat16 if bf16 else torch.float32)
    results = {
        "preset": cfg.preset, "precision": "bf16 autocast" if bf16 else "float32", "batch_size": cfg.batch_size,
        "workers": workers, "augment_images": n_images, "training_set": len(images), "tiled": len(images) < n_images,
        "make_views_views_per_s": mv, "torchvision_views_per_s": tv, "augment_speedup": mv / tv,
        "engine_images_per_s": engine, "tutorial_images_per_s": tutorial, "train_speedup": engine / tutorial,
        "step_alone_images_per_s": step_alone, "speedup_ceiling": step_alone / tutorial,
        "step_gflop": gflop, "step_gflops_per_s": gflop * engine / cfg.batch_size, "matmul_gflops_per_s": peak,
        "matmul_precision": "bfloat16" if bf16 else "float32",
        "views": cfg.views.as_dict(), "model": {"widths": list(cfg.widths), "depth": cfg.depth},
    }
    record = new_record([], cfg.to_dict(), command=command, device=dev, **results)
    path = Path(out or f"benchmarks/results-{dev.type}{'-bf16' if bf16 and dev.type == 'cpu' else ''}.json")
    save_record(path, record)
    print()
    print(markdown_table(record))
    print(f"\nwrote {path}")
    return record


if __name__ == "__main__":  # the older entry point, python -m clhelpers.bench; never imported
    from clhelpers.cli import main

    sys.exit(main(["bench", *sys.argv[1:]]))
