"""Notebook 07's positive's rank over several seeds: the top-1 / top-5 accuracy of the positive among the 2N - 1
candidates at τ = 0.2 (the preset's) and τ = 1, same preset, same budget, paired by seed.

Arms (``KINDS``): SimCLR trained with ``rank_monitor=True`` (``clhelpers.train.rank_record`` after every epoch, on one
fixed pair of views of the first ``batch_size`` test digits) at each temperature; measured: the last epoch's top-1 and
top-5 accuracy, the per-epoch curves, the kNN accuracy (evaluated after the last epoch only) and the final loss.
Baselines from the driver (``benchmarks/_driver.py``): the untrained network (kNN, and the rank measures of the
untrained encoder + head at the seed's initialization) and raw pixels. Paired differences against τ = 0.2::

    CLHELPERS_OFFLINE=1 CLHELPERS_BF16=0 python benchmarks/rank_table.py --seeds 0 1 2 3 4 --quiet --out benchmarks/rank-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.device import set_seed  # noqa: E402
from clhelpers.train import make_method, rank_record, rank_views, train  # noqa: E402

TEMPERATURES = {"tau_0.2": 0.2, "tau_1": 1.0}


def run_temperature(kind: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """One SimCLR run at ``TEMPERATURES[kind]`` on the seed's split, watched by the rank monitor."""
    if kind not in TEMPERATURES:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(TEMPERATURES)}")
    config = replace(cfg, temperature=TEMPERATURES[kind], rank_monitor=True, eval_every=cfg.epochs)
    result = train(config, progress=progress, data=split)
    hist = result.history
    return {"temperature": config.temperature, "batch_size": config.batch_size, "knn_acc": result.knn_acc,
            "top1_acc": hist[-1]["top1_acc"], "top5_acc": hist[-1]["top5_acc"], "final_loss": hist[-1]["loss"],
            "top1_by_epoch": [h["top1_acc"] for h in hist], "top5_by_epoch": [h["top5_acc"] for h in hist],
            "loss_by_epoch": [h["loss"] for h in hist], "train_s": sum(h["epoch_s"] for h in hist)}


def untrained_ranks(cfg: TrainConfig, split: tuple) -> dict:
    """The rank measures of the untrained encoder + head, initialized as the seed's training run starts."""
    set_seed(cfg.seed)
    method = make_method(cfg).to(split[2].device)
    return rank_record(method, rank_views(cfg, split[2]))


EXPERIMENT = Experiment("rank_table.py", {kind: partial(run_temperature, kind) for kind in TEMPERATURES},
                        metrics=("top1_acc", "top5_acc", "knn_acc"), reference="tau_0.2", untrained_extra=untrained_ranks,
                        extra={"rank_views": "the first batch_size official test digits, one fixed pair of views"})

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
