"""Notebook 03's "does it matter in training?" at the recipe's budget, over seeds.

For every seed: the untrained encoder (random-init baseline), then the ``cpu`` preset's recipe (60 epochs on
the 4,000 offline training digits) trained twice, once with the fixed NT-Xent (``clhelpers.losses.nt_xent``)
and once with the tutorial's flawed one (``clhelpers.flawed.nt_xent_flawed_targets``: the argmax over a
two-hot label matrix). Everything else (seed, data, views, model) is the same. Each run records the kNN
accuracy of h on the 1,000 held-out digits, a 10-labels-per-class linear probe (5 label draws), the mean
cosine of two views of the same test digit in the loss space (z), and the per-epoch history. Raw-pixel kNN
comes with every run. In float32 (``amp`` and ``cpu_amp`` off), so the numbers match the CPU path; on a
GPU the whole record takes about a minute, on two CPU cores about 30 minutes::

    python benchmarks/flawed_vs_fixed.py --seeds 0 1 2 --out benchmarks/flawed-vs-fixed-gpu.json
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import partial

import torch
import torch.nn.functional as F

from clhelpers.augment import make_views
from clhelpers.config import PRESETS, preset
from clhelpers.device import pick_device
from clhelpers.evaluate import split_scores
from clhelpers.flawed import nt_xent_flawed_targets
from clhelpers.losses import nt_xent
from clhelpers.sweeps import save_record, script_command, summarize_runs
from clhelpers.train import load_split, train, untrained_encoder

LOSSES = {"fixed": nt_xent, "flawed": nt_xent_flawed_targets}


@torch.no_grad()
def positive_cosine(method: torch.nn.Module, images: torch.Tensor, views, seed: int) -> float:
    """Mean cosine, in the loss space z, of two random views of each of ``images``."""
    device = next(method.parameters()).device
    v1, v2 = make_views(images, views, generator=torch.Generator().manual_seed(seed))
    method.eval()
    z1, z2 = (method.head(method.encoder(v.to(device))).float() for v in (v1, v2))
    return float(F.cosine_similarity(z1, z2).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    device = pick_device(args.device)
    runs = []
    for seed in args.seeds:
        cfg = replace(preset(args.preset), source="offline", device=device.type, amp=False, cpu_amp=False, seed=seed,
                      out_dir=None, resume=False, **({"epochs": args.epochs} if args.epochs else {}))
        split = load_split(cfg, device)
        untrained = untrained_encoder(cfg, device)
        runs.append({"kind": "random_init", "seed": seed, **split_scores(untrained, split, cfg.knn_k, seed=seed)})
        for kind, fn in LOSSES.items():
            result = train(cfg, progress=not args.quiet, loss=partial(fn, temperature=cfg.temperature))
            runs.append({"kind": kind, "seed": seed, **split_scores(result.method.encoder, split, cfg.knn_k, seed=seed),
                         "pixel_knn_acc": result.pixel_knn_acc, "final_loss": result.history[-1]["loss"],
                         "positive_cosine": positive_cosine(result.method, split[2][:512].cpu(), cfg.views, seed),
                         "epochs": cfg.epochs, "history": result.history})
            r = runs[-1]
            print(f"seed {seed} {kind:7s} kNN {r['knn_acc']:.4f} probe10 {r['probe10']:.4f} "
                  f"pos-cos {r['positive_cosine']:.3f}", file=sys.stderr, flush=True)
        save(args, argv, runs, device, finished=False)  # after every seed: an interrupted run keeps what it did
    summary = save(args, argv, runs, device, finished=True)
    for kind in summary["knn_acc"]:
        print(f"{kind:12s} kNN {summary['knn_acc'][kind]['mean']:.4f} ± {summary['knn_acc'][kind]['sd']:.4f}  "
              f"probe10 {summary['probe10'][kind]['mean']:.4f} ± {summary['probe10'][kind]['sd']:.4f}")
    return 0


def save(args: argparse.Namespace, argv: list[str] | None, runs: list[dict], device: torch.device, finished: bool) -> dict:
    """Write the record (with its summary: mean ± sd per kind) to ``args.out``; return the summary."""
    summary = {m: summarize_runs(runs, by="kind", metric=m) for m in ("knn_acc", "probe10")}
    summary["positive_cosine"] = summarize_runs([r for r in runs if "positive_cosine" in r], by="kind",
                                                metric="positive_cosine")
    command = script_command("flawed_vs_fixed.py", argv)
    save_record(args.out, runs, command, device=device, preset=args.preset, float32=True, finished=finished, summary=summary)
    return summary


if __name__ == "__main__":
    sys.exit(main())
