"""Notebook 07's "false negatives" table: NT-Xent, the debiased loss, and NT-Xent without same-class negatives.

Arms (``KINDS``), each trained once per seed with ``clhelpers.train.train`` on the preset (default ``cpu-sweep``:
a declared 4,000-digit subset of the official training set, scored on the official 10,000 test digits):
``nt_xent`` (SimCLR, the reference), ``debiased`` (Chuang et al., 2020, class prior tau_plus = 0.1) and
``masked`` (same-class negatives removed from the denominator: uses the labels, so not self-supervised).
Measured with ``probe_score`` (kNN on h, and the 10-labels-per-class probe, 5 draws). Baselines from the driver
(``benchmarks/_driver.py``): the untrained encoder and raw pixels, scored the same way; paired differences
against ``nt_xent``. Recorded at 3 epochs (the preset has 5) to keep 5 seeds x 3 arms within about 12 minutes
on 2 cores::

    CLHELPERS_OFFLINE=1 python benchmarks/false_negatives.py --seeds 0 1 2 3 4 --epochs 3 --quiet --out benchmarks/false-negatives-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main, probe_score  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.train import train  # noqa: E402

KINDS: dict[str, dict] = {"nt_xent": {"method": "simclr"}, "debiased": {"method": "debiased", "tau_plus": 0.1},
                          "masked": {"method": "simclr-masked"}}


def run_kind(kind: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """One run of ``kind`` on this seed's ``split``: kNN and 10-label probe of h, final loss, training time."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    config = replace(cfg, out_dir=None, resume=False, **KINDS[kind])
    result = train(config, progress=progress, data=split)
    hist = result.history
    return {"method": config.method, "tau_plus": config.tau_plus, "epochs": config.epochs,
            **probe_score(result.encoder, split, config), "final_loss": hist[-1]["loss"],
            "train_s": sum(h["epoch_s"] for h in hist)}


# the kNN monitor only after the last epoch (the scores come from probe_score): it would cost more than training
EXPERIMENT = Experiment("false_negatives.py", {kind: partial(run_kind, kind) for kind in KINDS},
                        metrics=("knn_acc", "probe10"), score=probe_score, reference="nt_xent",
                        fixed={"eval_every": 100})

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
