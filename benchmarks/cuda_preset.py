"""Time the `cuda` preset end to end on a GPU and record it: ``python benchmarks/cuda_preset.py``.

Full MNIST cannot be downloaded on the machines this project is tested on, so by default the real
4,000 offline training digits are tiled (repeated) to 60,000, the size of MNIST's training set: the
timing per epoch is that of a full-MNIST epoch, but the accuracies are those of a 4,000-digit training
set seen 15 times per epoch (the views still differ), scored on the 1,000 held-out offline digits.
With the official files in data/MNIST/raw, ``--data torchvision --no-tile`` runs the real thing.

Records per epoch: training seconds, images/s, kNN accuracy; the wall time (training + evaluation)
until kNN first reaches each of ``--targets``; peak GPU memory; machine, command, date, git commit.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import torch

from clhelpers.bench import tile
from clhelpers.config import preset
from clhelpers.data import load_mnist
from clhelpers.device import machine_description, pick_device
from clhelpers.files import atomic_write_json
from clhelpers.sweeps import script_command
from clhelpers.train import train


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="offline", choices=["offline", "torchvision", "auto"])
    p.add_argument("--tile", type=int, default=60_000, help="tile the training digits to this many (0: no tiling)")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--compile", action="store_true", help="torch.compile the encoder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--targets", type=float, nargs="*", default=[0.95, 0.97, 0.98, 0.99])
    p.add_argument("--out", default="benchmarks/cuda-preset.json")
    args = p.parse_args(argv)
    device = pick_device("cuda")
    cfg = replace(preset("cuda"), source=args.data, compile=args.compile, seed=args.seed, train_size=None)
    if args.epochs:
        cfg = replace(cfg, epochs=args.epochs)
    x, y = load_mnist("train", source=args.data)
    xt, yt = load_mnist("test", source=args.data)
    if args.tile and len(x) < args.tile:
        print(f"tiling {len(x):,} training digits to {args.tile:,} (each digit {args.tile // len(x)}x per epoch)")
        x, y = tile(x, args.tile), tile(y, args.tile)
    torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    result = train(cfg, progress=False, data=(x, y, xt, yt),
                   on_epoch_end=lambda r: print(f"epoch {r['epoch']:3d} {r['epoch_s']:.2f} s  kNN {r['knn_acc']}", flush=True))
    total = time.perf_counter() - t0
    hist = result.history
    reached = {str(t): next((h["wall_s"] for h in hist if h["knn_acc"] is not None and h["knn_acc"] >= t), None)
               for t in args.targets}
    record = {
        "machine": machine_description(device), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": script_command("cuda_preset.py", argv),
        "git_commit": os.environ.get("GIT_COMMIT"), "seeds": [args.seed], "config": cfg.to_dict(),
        "train_images": len(x), "unique_train_images": len(torch.unique(x.flatten(1), dim=0)), "test_images": len(xt),
        "tiled": bool(args.tile and args.tile > 4000 and args.data == "offline"),
        "pixel_knn_acc": result.pixel_knn_acc, "final_knn_acc": result.knn_acc,
        "epoch_s_median": sorted(h["epoch_s"] for h in hist)[len(hist) // 2], "first_epoch_s": hist[0]["epoch_s"],
        "images_per_s_median": sorted(h["images_per_s"] for h in hist)[len(hist) // 2],
        "total_s": total, "wall_s_to_knn": reached,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30, "history": hist,
    }
    atomic_write_json(args.out, record)
    print(f"median epoch {record['epoch_s_median']:.2f} s, {record['images_per_s_median']:,.0f} images/s, "
          f"final kNN {result.knn_acc:.4f}, peak memory {record['peak_memory_gib']:.2f} GiB, to kNN: {reached}")
    return record


if __name__ == "__main__":
    main()
