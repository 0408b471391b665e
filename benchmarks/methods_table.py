"""Notebook 07's "beyond NT-Xent" table over several seeds: each loss or method, same preset, same budget.

Arms (``KINDS``): NT-Xent (SimCLR), the pairwise contrastive loss, the triplet loss (semi-hard in-batch
negative), MoCo (momentum encoder, a queue of 4B keys: since both views' keys are enqueued, 2B per step, the
keys of the last 2 steps) and SupCon (given the labels), each trained once
per seed with ``clhelpers.sweeps.run_one`` on the preset (default ``cpu-sweep``: a declared 4,000-digit subset of
the official training set, drawn by the seed); measured: kNN accuracy on the official 10,000 test digits (and
everything ``run_one`` reports, without the history). Baselines from the driver (``benchmarks/_driver.py``):
the untrained encoder and raw pixels, kNN on the same split. Paired differences against NT-Xent::

    CLHELPERS_OFFLINE=1 CLHELPERS_BF16=0 python benchmarks/methods_table.py --seeds 0 1 2 3 4 --quiet --out benchmarks/methods-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.losses import pair_in_batch, triplet_in_batch  # noqa: E402
from clhelpers.sweeps import run_one  # noqa: E402

KINDS = ("nt_xent", "pair", "triplet", "moco", "supcon")


def run_kind(kind: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """One training run of ``kind`` on ``cfg`` (``run_one`` loads the same split itself); its dict without the history."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    loss = {"pair": pair_in_batch, "triplet": triplet_in_batch}.get(kind)
    config = {"moco": replace(cfg, method="moco", queue_size=4 * cfg.batch_size),
              "supcon": replace(cfg, method="supcon")}.get(kind, cfg)
    out = run_one(config, loss=loss, progress=progress)
    return {k: v for k, v in out.items() if k != "history"}


EXPERIMENT = Experiment("methods_table.py", {kind: partial(run_kind, kind) for kind in KINDS}, reference="nt_xent")

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
