"""Notebook 03's "does it matter in training?" over seeds: the fixed and the flawed loss, paired by seed.

Arms: the ``cpu-sweep`` preset (a declared 4,000-digit subset of the official 60,000 training digits, the small
encoder) for 15 epochs (60,000 images seen, as many as one pass over the full training set), trained with the fixed
NT-Xent (``clhelpers.losses.nt_xent``, kind ``fixed``) and with the tutorial's flawed one
(``clhelpers.flawed.nt_xent_flawed_targets``, kind ``flawed``: the argmax over a two-hot label matrix); everything
else (seed, data, views, model) is the same. Measured per run, on the official 10,000 test digits: kNN accuracy of
h (the 4,000 training digits as the neighbour bank), a 10-labels-per-class linear probe
(``benchmarks/_driver.probe_score``: 5 label draws), the mean cosine of two views of the same test digit in the loss
space z (``evaluate.positive_cosine``: 1 - alignment / 2 on 512 test digits), the final loss and the per-epoch
history. Baselines, summary, paired differences against ``fixed`` and saving after every seed:
``benchmarks/_driver.py``. In float32 (``amp`` and ``cpu_amp`` off), so the numbers match the CPU path; about 5
minutes on two idle CPU cores::

    CLHELPERS_OFFLINE=1 CLHELPERS_BF16=0 python benchmarks/flawed_vs_fixed.py --seeds 0 1 2 3 4 --epochs 15 --quiet --out benchmarks/flawed-vs-fixed-cpu-2core.json
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Callable

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main, probe_score  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.evaluate import positive_cosine, representation_quality  # noqa: E402
from clhelpers.flawed import nt_xent_flawed_targets  # noqa: E402
from clhelpers.losses import nt_xent  # noqa: E402
from clhelpers.train import train  # noqa: E402

LOSSES = {"fixed": nt_xent, "flawed": nt_xent_flawed_targets}
COSINE_IMAGES = 512  # test digits the positive cosine is measured on


def run_loss(loss: Callable, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train ``cfg`` with ``loss`` on ``split``; kNN, probe, positive cosine in z, final loss and history."""
    result = train(cfg, progress=progress, loss=loss, data=split)
    quality = representation_quality(result.method, split[2][:COSINE_IMAGES], cfg.views, seed=cfg.seed)
    return {**probe_score(result.method.encoder, split, cfg), "pixel_knn_acc": result.pixel_knn_acc,
            "final_loss": result.history[-1]["loss"], "positive_cosine": positive_cosine(quality["alignment"]),
            "epochs": cfg.epochs, "history": result.history}


EXPERIMENT = Experiment("flawed_vs_fixed.py", {kind: partial(run_loss, fn) for kind, fn in LOSSES.items()},
                        metrics=("knn_acc", "probe10", "positive_cosine"), score=probe_score, reference="fixed",
                        fixed={"amp": False, "cpu_amp": False}, extra={"float32": True})

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
