"""Notebook 08's redundancy-reduction table: Barlow Twins and VICReg beside SimCLR, same preset, same budget.

Arms: SimCLR (NT-Xent, the reference), Barlow Twins (``clhelpers.methods.BarlowTwins``, lambda = 5e-3) and VICReg
(``clhelpers.methods.VICReg``, weights 25/25/1), each trained once per seed with ``clhelpers.train.train`` on the
preset (default ``cpu-sweep``: a declared 4,000-digit subset of the official training set, 5 epochs, scored on the
official 10,000 test digits). The preset's head sizes serve all three (hidden 128, output 64: Barlow Twins' and
VICReg's three-layer expander is 128-128-64, scaled down from the papers' 8192-8192-8192). Measured: kNN on h and
the 10-labels-per-class linear probe (``benchmarks/_driver.probe_score``), plus the effective rank of z and h
(``clhelpers.evaluate.collapse_stats`` on 1,000 test digits). Baselines (untrained encoder, raw pixels), summary,
paired differences against SimCLR and saving after every seed: ``benchmarks/_driver.py``::

    CLHELPERS_OFFLINE=1 python benchmarks/redundancy_reduction.py --seeds 0 1 2 3 4 --quiet --out benchmarks/redundancy-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main, probe_score  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.evaluate import collapse_stats  # noqa: E402
from clhelpers.train import train  # noqa: E402

KINDS = ("simclr", "barlow_twins", "vicreg")  # each kind is the method of that name
STATS_IMAGES = 1000  # test digits the effective rank is measured on


def run_kind(kind: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train method ``kind`` on ``split``; kNN and the 10-labels probe of h, the final loss and the effective ranks."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    result = train(replace(cfg, method=kind), progress=progress, data=split)
    stats = collapse_stats(result.method, split[2][:STATS_IMAGES].cpu())
    return {"method": kind, "epochs": cfg.epochs, **probe_score(result.method.encoder, split, cfg),
            "final_loss": result.history[-1]["loss"], "effective_rank": stats["effective_rank"],
            "effective_rank_h": stats["effective_rank_h"], "train_s": sum(h["epoch_s"] for h in result.history)}


EXPERIMENT = Experiment("redundancy_reduction.py", {kind: partial(run_kind, kind) for kind in KINDS},
                        metrics=("knn_acc", "probe10", "effective_rank", "effective_rank_h"), score=probe_score,
                        reference="simclr")

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
