"""Notebook 08's collapse records (issue 18): negative-free methods beside SimCLR, and MoCo's key consistency.

Three groups of kinds (``KINDS``), each a paired design over the seeds (every kind of a seed trains from the same
initialization, data subset and data order), at small declared budgets fitted to 2 shared CPU cores:

* ``NEGATIVE_FREE``: SimCLR (the reference, the preset's AdamW recipe), SimSiam with the paper's architectural
  recipe (BatchNorm on the projector's output, the predictor at a fixed learning rate; Chen & He, 2021), SimSiam
  without the stop-gradient, SimSiam without the predictor (p = z; their Table 1), and BYOL with its EMA momentum
  raised from 0.99 to 1 by a cosine schedule (Grill et al., 2020). All at batch 32 on a 2,000-digit subset, 1 epoch
  (62 steps); the negative-free kinds use AdamW at lr 5e-4 (chosen on the validation split, ``holdout="val"``:
  SGD with momentum 0.9 at the paper's lr 0.05 x B/256 did no better there).
* ``MOCO``: MoCo with a queue spanning ``QUEUE_STEPS`` = 48 optimizer steps (each step enqueues both views' keys,
  2B = 64, so 3,072 keys) at momentum 0, 0.9, 0.99 and 0.999: batch 32, 2,000 digits, 2 epochs (124 steps; the queue holds
  real keys after 48 steps and never an image's own earlier keys, since an epoch is 62 steps).
* ``QUEUE_OR_BATCH``: at about 120 optimizer steps each, on the same 2,000 digits: SimCLR at batch 128 (254 negatives
  per anchor), MoCo at batch 128 with a queue of 1 or 8 steps (256 or 2,048 keys; momentum 0.99) and SimCLR at batch
  1,024 (2,046 negatives, one step per epoch); the warm-up is about 4 steps in each.

Each run records its kNN accuracy (on h, the official 10,000 test digits), the final training loss, the queue's
size in keys and in steps (MoCo), and ``clhelpers.evaluate.collapse_stats`` on the first 1,000 test digits
(``embedding_std`` of z and h, and the **effective rank of z and of h**). Through ``benchmarks/_driver.py``: the
baselines of every seed on the same 2,000-digit split (the untrained network, ``random_init``, with its
``collapse_stats``; raw pixels, ``raw_pixels``), the summary per kind, paired differences against SimCLR, a
record saved after every seed. The three records, 5 seeds each (``collapse-cpu-2core.json`` was recorded in parallel
processes on disjoint seeds and joined with ``--merge OUT PART ...``: runs in seed order, summary and paired
differences over all seeds; the commands as typed are in each record)::

    python benchmarks/collapse_table.py --seeds 0 1 2 3 4 --kinds simclr simsiam simsiam_no_predictor byol --quiet --out benchmarks/collapse-cpu-2core.json
    python benchmarks/collapse_table.py --seeds 0 1 2 3 4 --kinds simclr simsiam_no_stopgrad moco_q48_m0 moco_q48_m0.9 moco_q48_m0.99 moco_q48_m0.999 --quiet --out benchmarks/collapse-moco-cpu-2core.json
    python benchmarks/collapse_table.py --seeds 0 1 2 3 4 --kinds simclr_b128 moco_b128_q256 moco_b128_q2048 simclr_b1024 --quiet --out benchmarks/queue-or-batch-cpu-2core.json

The previous record (3 seeds, 5 epochs of ``cpu-sweep``, a MoCo queue of only 2 steps, and the queue-vs-batch
kinds) is kept as ``benchmarks/archive/collapse-cpu-2core-3seeds.json``.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, knn_score, main, merge_parts  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.device import set_seed  # noqa: E402
from clhelpers.evaluate import collapse_stats  # noqa: E402
from clhelpers.methods import queue_steps  # noqa: E402
from clhelpers.train import make_method, train  # noqa: E402

QUEUE_STEPS = 48  # MoCo's queue in optimizer steps (2B keys per step)
SUBSET = 2000  # training digits (a subset of the official training set fixed by the seed; also the kNN memory)
_SMALL = {"batch_size": 32, "epochs": 1, "warmup_epochs": 0.25}
_NEG_FREE = {**_SMALL, "lr": 5e-4}
_SIMSIAM = {**_NEG_FREE, "method": "simsiam", "proj_out_bn": True, "fix_predictor_lr": True}
NEGATIVE_FREE: dict[str, dict] = {
    "simclr": {**_SMALL, "method": "simclr"},
    "simsiam": _SIMSIAM,
    "simsiam_no_predictor": {**_SIMSIAM, "predictor": False},
    "byol": {**_NEG_FREE, "method": "byol", "momentum": 0.99, "momentum_schedule": "cosine"},
    "simsiam_no_stopgrad": {**_SIMSIAM, "stop_gradient": False},
}
MOCO: dict[str, dict] = {f"moco_q{QUEUE_STEPS}_m{m:g}": {**_SMALL, "epochs": 2, "method": "moco", "momentum": m,
                                                       "queue_steps": QUEUE_STEPS} for m in (0.0, 0.9, 0.99, 0.999)}
_Q_STEPS = 120  # queue or batch: every run takes about this many optimizer steps (2,000 digits: 15 per epoch at 128)
QUEUE_OR_BATCH: dict[str, dict] = {
    "simclr_b128": {"batch_size": 128, "epochs": 8, "warmup_epochs": 0.25, "eval_every": 8},
    **{f"moco_b128_q{256 * q}": {"batch_size": 128, "epochs": 8, "warmup_epochs": 0.25, "eval_every": 8, "method": "moco",
                                 "queue_steps": q} for q in (1, 8)},   # 1 or 8 steps: 256 or 2,048 keys (2B = 256 per step)
    "simclr_b1024": {"batch_size": 1024, "epochs": _Q_STEPS, "warmup_epochs": 4.0, "eval_every": _Q_STEPS},  # 1 step/epoch
}
KINDS: dict[str, dict] = {**NEGATIVE_FREE, **MOCO, **QUEUE_OR_BATCH}  # kind -> the TrainConfig fields that make it (on top of the preset)
STD_IMAGES = 1000  # test digits the collapse diagnostics are measured on
METRICS = ("knn_acc", "embedding_std", "embedding_std_h", "embedding_std_batch", "effective_rank", "effective_rank_h")


def config_for(kind: str, base: TrainConfig) -> TrainConfig:
    """``base`` with the fields of ``KINDS[kind]`` (a kind's own budget wins over the preset's and ``--epochs``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return replace(base, out_dir=None, resume=False, **KINDS[kind])


def run_kind(kind: str, base: TrainConfig, split: tuple, progress: bool) -> dict:
    """One run of ``kind`` on ``split`` (``SUBSET`` training digits chosen by the seed, the official test set):
    kNN, loss, ``collapse_stats`` of the trained method, the queue in keys and steps (MoCo)."""
    config = config_for(kind, base)
    result = train(config, progress=progress, data=split)
    x_test, hist = split[2][:STD_IMAGES].cpu(), result.history
    return {
        "preset": config.preset, "method": config.method, "stop_gradient": config.stop_gradient,
        "momentum": config.momentum, "epochs": config.epochs, "batch_size": config.batch_size,
        "train_size": config.train_size, "lr": config.lr, "predictor": config.predictor,
        "momentum_schedule": config.momentum_schedule, "proj_out_bn": config.proj_out_bn,
        "fix_predictor_lr": config.fix_predictor_lr, "optimizer": config.optimizer,
        **({"queue_size": config.moco_queue_size, "queue_steps": queue_steps(config.moco_queue_size, config.batch_size)}
           if config.method == "moco" else {}),
        "steps": len(hist) * (result.train_images // config.batch_size),
        "knn_acc": result.knn_acc, "pixel_knn_acc": result.pixel_knn_acc, "final_loss": hist[-1]["loss"],
        **collapse_stats(result.method, x_test),
        "train_s": sum(h["epoch_s"] for h in hist), "device": result.device,
    }


def untrained_collapse(base: TrainConfig, split: tuple) -> dict:
    """``collapse_stats`` of the untrained SimSiam network (encoder + head) of this seed, as ``train`` initializes it."""
    set_seed(base.seed)
    method = make_method(replace(config_for("simsiam", base), proj_out_bn=False)).to(split[0].device).eval()
    return collapse_stats(method, split[2][:STD_IMAGES].cpu())


def merge(parts: list[str], out: str) -> dict:
    """``_driver.merge_parts`` for this script's experiment (kept for its callers and tests)."""
    return merge_parts(EXPERIMENT, parts, out)


EXPERIMENT = Experiment("collapse_table.py", {kind: partial(run_kind, kind) for kind in KINDS}, metrics=METRICS,
                        score=knn_score, reference="simclr", fixed={"train_size": SUBSET},
                        untrained_extra=untrained_collapse)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
