"""Notebook 04's augmentation ablation: which parts of the views matter, over seeds.

Every setting trains the same preset (default ``cpu-sweep``: 4,000 digits, small encoder, 5 epochs) with
other views and is scored on the 1,000 held-out digits by kNN and by a 10-labels-per-class linear probe
(mean of 5 label draws), the number where short runs separate best. The settings (``SETTINGS``): no
augmentation, crops only, the ``cpu`` recipe's views (``clhelpers.config.CPU_VIEWS``), the recipe with
random erasing added, the recipe at twice its strength, the recipe with one part left out at a time
(crop, rotation, shear, shift, noise), and the recipe's views made batch-wide (``TrainConfig.batchwide_views``:
one crop/rotation/shear/shift per view for the whole batch, the bug notebook 04 shows). The untrained encoder and raw pixels are scored on the same split.
Writes a record with machine, command, date, git commit and seeds (``clhelpers.sweeps.save_record``), after
every seed, so an interrupted run keeps what it finished::

    CLHELPERS_OFFLINE=1 python benchmarks/augment_ablation.py --seeds 0 1 2 --out benchmarks/augment-ablation-cpu-2core.json
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import torch

from clhelpers.augment import ViewParams
from clhelpers.config import CPU_VIEWS, PRESETS, preset
from clhelpers.device import pick_device
from clhelpers.evaluate import split_scores
from clhelpers.sweeps import save_record, script_command, summarize_runs
from clhelpers.train import load_split, train, untrained_encoder

SETTINGS: dict[str, ViewParams] = {
    "none": ViewParams.identity(),
    "crop only": replace(ViewParams.identity(), crop_scale=CPU_VIEWS.crop_scale, aspect_ratio=CPU_VIEWS.aspect_ratio),
    "recipe": CPU_VIEWS,
    "recipe + erasing": replace(CPU_VIEWS, erase_prob=0.5),
    "recipe x2 (too strong)": replace(CPU_VIEWS, crop_scale=(0.2, 1.3), rotation=40.0, shear=20.0, translate=0.2,
                                      noise_std=0.3),  # every strength doubled; crops down to 20 % of the area
    "recipe - crop": replace(CPU_VIEWS, crop_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0)),
    "recipe - rotation": replace(CPU_VIEWS, rotation=0.0),
    "recipe - shear": replace(CPU_VIEWS, shear=0.0),
    "recipe - shift": replace(CPU_VIEWS, translate=0.0),
    "recipe - noise": replace(CPU_VIEWS, noise_std=0.0),
    "recipe, batch-wide": CPU_VIEWS,  # the recipe's views, one geometry per view for the whole batch (noise per image)
}
BATCH_WIDE = {"recipe, batch-wide"}  # settings trained with TrainConfig.batchwide_views (notebook 04's bug, measured)


def baselines(cfg, split: tuple, seed: int) -> list[dict]:
    """The untrained encoder (seeded like a run) and raw pixels, scored like the runs."""
    untrained = untrained_encoder(cfg, split[0].device)
    pixels = torch.nn.Flatten()  # embed() hands it images as floats in [0, 1]: the raw-pixel features
    return [{"setting": "random init", "seed": seed, **split_scores(untrained, split, cfg.knn_k, seed=seed)},
            {"setting": "raw pixels", "seed": seed, **split_scores(pixels, split, cfg.knn_k, seed=seed)}]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu-sweep", choices=sorted(PRESETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS), metavar="SETTING")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    device, runs = pick_device(args.device), []
    command = script_command("augment_ablation.py", argv)
    for seed in args.seeds:
        cfg = replace(preset(args.preset), source="offline", device=device.type, seed=seed, out_dir=None, resume=False,
                      **({"epochs": args.epochs} if args.epochs else {}))
        split = load_split(cfg, device)
        runs += baselines(cfg, split, seed)
        for name in args.settings:
            result = train(replace(cfg, views=SETTINGS[name], batchwide_views=name in BATCH_WIDE), progress=not args.quiet)
            runs.append({"setting": name, "seed": seed, "views": SETTINGS[name].as_dict(), "batchwide_views": name in BATCH_WIDE,
                         **split_scores(result.method.encoder, split, cfg.knn_k, seed=seed),
                         "train_s": sum(h["epoch_s"] for h in result.history)})
            print(f"seed {seed} {name:24s} kNN {runs[-1]['knn_acc']:.4f} probe10 {runs[-1]['probe10']:.4f}",
                  file=sys.stderr, flush=True)
        summary = {m: summarize_runs(runs, by="setting", metric=m) for m in ("knn_acc", "probe10")}
        save_record(args.out, runs, command, device=device, preset=args.preset, epochs=cfg.epochs,
                    finished=seed == args.seeds[-1], summary=summary)
    for name, s in summary["probe10"].items():
        print(f"{name:24s} kNN {summary['knn_acc'][name]['mean']:.4f} ± {summary['knn_acc'][name]['sd']:.4f}   "
              f"probe10 {s['mean']:.4f} ± {s['sd']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
