"""How much faster is the engine than the usual tutorial pipeline? ``python -m clhelpers.bench``.

Two measurements, both on this machine in one run, printed as absolute numbers and ratios:

1. Augmentation: views/s of ``augment.make_views`` (whole batch on the device, one
   ``grid_sample``) vs the usual per-image torchvision pipeline (``torchvision_views_transform``
   in a ``TwoViewDataset`` behind a ``DataLoader`` with ``--workers`` worker processes).
2. Training: images/s of ``train.train`` (one uint8 tensor on the device, views made there, the
   preset's model and batch size; the second epoch's rate, so start-up is excluded) vs the usual
   tutorial loop: ``DataLoader`` + per-image torchvision views + the same model, AdamW and
   ``nt_xent``, same batch size (timed after one warm-up batch).

The offline subset has 4,000 training digits; for the augmentation timing it is tiled (repeated)
up to ``--n-images`` digits, which the output says. Results go to ``benchmarks/results-<device>.json``
and a markdown table is printed for the README.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from .augment import TwoViewDataset, ViewParams, make_views, torchvision_views_transform
from .data import load_mnist
from .device import pick_device
from .losses import nt_xent
from .models import Encoder, SimCLRModel
from .train import preset, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def machine_description(device: torch.device) -> dict:
    """CPU model (from /proc/cpuinfo when there is one), core count, GPU name, torch version, date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "device": device.type, "torch": torch.__version__, "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def tile(images: torch.Tensor, n: int) -> torch.Tensor:
    """``images`` repeated (and cut) to exactly ``n`` rows."""
    reps = -(-n // len(images))
    return images.repeat(reps, 1, 1)[:n]


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


def bench_engine_training(cfg) -> float:
    """Images per second of ``train`` (second epoch, so model/allocator warm-up is excluded)."""
    result = train(replace(cfg, epochs=2, eval_every=10**6, out_dir=None, resume=False), progress=False)
    return result.history[-1]["images_per_s"]


def markdown_table(r: dict) -> str:
    m = r["machine"]
    where = f"{m['gpu']}" if m["gpu"] else f"{m['cpu']}, {m['cores']} cores"
    rows = [
        "| measurement | clhelpers | usual torchvision pipeline | speed-up |",
        "|---|---|---|---|",
        f"| augmentation, views/s (batch {r['batch_size']}) | {r['make_views_views_per_s']:,.0f} | "
        f"{r['torchvision_views_per_s']:,.0f} ({r['workers']} workers) | {r['augment_speedup']:.1f}x |",
        f"| training, images/s (batch {r['batch_size']}, preset `{r['preset']}`) | {r['engine_images_per_s']:,.0f} | "
        f"{r['tutorial_images_per_s']:,.0f} | {r['train_speedup']:.1f}x |",
    ]
    return "\n".join(rows) + f"\n\n{where}, torch {m['torch']}, {m['date']}."


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m clhelpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--data", choices=["auto", "offline", "torchvision"], default="auto")
    parser.add_argument("--n-images", type=int, default=12_000, help="digits for the augmentation timing (tiled if needed)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers for the torchvision pipeline")
    parser.add_argument("--tutorial-steps", type=int, default=12, help="timed steps of the tutorial training loop")
    parser.add_argument("--out", default=None, help="results JSON (default benchmarks/results-<device>.json)")
    args = parser.parse_args(argv)
    for name in ("n_images", "tutorial_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    try:
        device = pick_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    cfg = replace(preset("cuda" if device.type == "cuda" else "cpu"), device=device.type, data=args.data)
    machine = machine_description(device)
    print(f"device: {device.type} ({machine['gpu'] or machine['cpu']}), {machine['cores']} cores, torch {machine['torch']}")
    if device.type != "cuda":
        print("no GPU used in this run: CPU figures only (run on a CUDA machine for GPU figures)")

    images, _ = load_mnist("train", source=args.data)
    if len(images) < args.n_images:
        print(f"the training split has {len(images):,} digits: tiled to {args.n_images:,} for the augmentation timing")
    pool = tile(images, args.n_images)
    bs = cfg.batch_size

    print("timing make_views ...", flush=True)
    mv = bench_make_views(pool.to(device), bs, cfg.views, device)
    print("timing torchvision per-image views in a DataLoader ...", flush=True)
    tv = bench_torchvision_views(pool, bs, cfg.views, args.workers, device)
    print("timing the engine (train, 2 epochs) ...", flush=True)
    engine = bench_engine_training(cfg)
    print("timing the tutorial loop ...", flush=True)
    tutorial = bench_tutorial_training(pool, cfg, args.workers, args.tutorial_steps, device)

    results = {
        "machine": machine, "preset": cfg.preset, "batch_size": bs, "workers": args.workers,
        "augment_images": args.n_images, "training_set": len(images), "tiled": len(images) < args.n_images,
        "make_views_views_per_s": mv, "torchvision_views_per_s": tv, "augment_speedup": mv / tv,
        "engine_images_per_s": engine, "tutorial_images_per_s": tutorial, "train_speedup": engine / tutorial,
        "views": cfg.views.as_dict(), "model": {"widths": list(cfg.widths), "depth": cfg.depth},
    }
    out = Path(args.out or f"benchmarks/results-{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out)
    print()
    print(markdown_table(results))
    print(f"\nwrote {out}")
    return results


if __name__ == "__main__":
    main()
