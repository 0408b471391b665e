"""Time the `cuda` preset end to end on a GPU and record it: ``python benchmarks/cuda_preset.py --out ...``.

Full MNIST cannot be downloaded on the machines this project is tested on, so by default the real 4,000 offline
training digits are tiled (repeated) to 60,000 (``--tile``), the size of MNIST's training set: the timing per epoch
is that of a full-MNIST epoch, but the accuracies are those of a 4,000-digit training set seen 15 times per epoch
(the views still differ), scored on the 1,000 held-out offline digits. With the official files in data/MNIST/raw,
``--data torchvision --tile 0`` runs the real thing. ``--compile`` compiles the encoder; ``--targets`` are the kNN
accuracies whose wall time is recorded.

One arm (``cuda``) through ``benchmarks/_driver.py`` (``--seeds``, default 0; baselines on the untiled split):
per epoch the training seconds, images/s and kNN accuracy; the wall time (training + evaluation) until kNN
first reaches each target; the median epoch time and images/s; peak GPU memory::

    python benchmarks/cuda_preset.py --seeds 0 --out benchmarks/cuda-preset.json
    python benchmarks/cuda_preset.py --seeds 0 --compile --out benchmarks/cuda-preset-compile.json
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main as record  # noqa: E402
from clhelpers.bench import tile  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.records import command_as_typed  # noqa: E402
from clhelpers.train import train  # noqa: E402


def timed_run(options: argparse.Namespace, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train ``cfg`` on ``split`` (training digits tiled to ``options.tile``) and time it (see the module docstring)."""
    x, y, xt, yt = split
    if options.tile and len(x) < options.tile:
        x, y = tile(x, options.tile), tile(y, options.tile)
    if x.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(x.device)
    t0 = time.perf_counter()
    result = train(cfg, progress=progress, data=(x, y, xt, yt))
    hist = result.history
    reached = {str(t): next((h["wall_s"] for h in hist if h["knn_acc"] is not None and h["knn_acc"] >= t), None)
               for t in options.targets}
    return {"train_images": len(x), "unique_train_images": len(torch.unique(x.flatten(1), dim=0)),
            "test_images": len(xt), "tiled": len(x) > len(split[0]), "knn_acc": result.knn_acc,
            "pixel_knn_acc": result.pixel_knn_acc, "final_loss": hist[-1]["loss"],
            "epoch_s_median": sorted(h["epoch_s"] for h in hist)[len(hist) // 2], "first_epoch_s": hist[0]["epoch_s"],
            "images_per_s_median": sorted(h["images_per_s"] for h in hist)[len(hist) // 2],
            "total_s": time.perf_counter() - t0, "wall_s_to_knn": reached,
            "peak_memory_gib": torch.cuda.max_memory_allocated(x.device) / 2**30 if x.device.type == "cuda" else None,
            "history": hist}


def main(argv: list[str] | None = None) -> int:
    """Parse this script's own flags, then record through the driver (which parses the shared ones)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data", default="offline", choices=["offline", "torchvision", "auto"])
    p.add_argument("--tile", type=int, default=60_000, help="tile the training digits to this many (0: no tiling)")
    p.add_argument("--compile", action="store_true", help="torch.compile the encoder")
    p.add_argument("--targets", type=float, nargs="*", default=[0.95, 0.97, 0.98, 0.99])
    options, rest = p.parse_known_args(argv)
    exp = Experiment("cuda_preset.py", {"cuda": partial(timed_run, options)}, preset="cuda",
                     fixed={"source": options.data, "compile": options.compile, "train_size": None, "device": "cuda"},
                     extra={"tile": options.tile, "targets": options.targets})
    command = command_as_typed(None if argv is None else ["python", "benchmarks/cuda_preset.py", *argv])  # all flags
    return record(exp, __doc__.split("\n\n")[0], ["--seeds", "0", *rest] if "--seeds" not in rest else rest, command)


if __name__ == "__main__":
    sys.exit(main())
