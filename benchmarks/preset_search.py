"""The `cpu` preset on the full training set: candidate recipes, chosen on the validation split, never on the test set.

The `cpu` recipe (temperature 0.7, batch 256, lr 0.003, the ``CPU_VIEWS``) was searched on the 4,000-digit subset
(``archive/recipe_search.py``); on all 60,000 digits it runs 4 epochs. This script asks whether a small change does
better at the same training budget, with the protocol of issue 17: every run trains on the first 50,000 official
training digits and is scored on the **last 10,000 (the validation split, ``holdout="val"``)**; the official test
digits are not read. Scores of the features h: kNN (k = 20, the 50,000 training digits as the bank) and the linear
probe with 1, 10 and 100 labels per class (mean of 5 label draws seeded by the training seed, so every arm of a seed
sees the same draws). ``train_s`` is each run's training time on the machine that recorded it.

Arms (``CANDIDATES``: the fields each changes; everything else is the preset's): the recipe itself (the reference
every arm is paired against), lower temperatures (notebook 07's sweep found 0.05-0.2 ahead of 0.5 and 1 on a
small budget), batch 128 (twice the optimizer steps at the same epochs, and notebook 07 found smaller batches ahead at
equal epochs), and both. Each keeps the preset's 4 epochs, so each fits the same time budget within the cost of the
smaller batch.

A successive-halving search: first every arm on one seed (a screen: one seed separates nothing, it only ranks),
then the reference and the leader (the best validation kNN of the screen, a rule fixed before it ran) on 5 paired
seeds, where ``records.paired_difference`` decides. The commands of the records::

    python benchmarks/preset_search.py --preset cpu --seeds 0 --quiet --out benchmarks/preset-search-screen-cpu-2core.json
    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "batch 128" --quiet --out benchmarks/preset-search-cpu-2core.json

Precision: the preset's own (bf16 autocast on a CPU with native bf16, float32 elsewhere); the record says which.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from torch import nn  # noqa: E402

from _driver import Experiment, main  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.evaluate import embed, label_scores  # noqa: E402
from clhelpers.train import train  # noqa: E402

CANDIDATES: dict[str, dict] = {
    "recipe": {},
    "tau 0.5": {"temperature": 0.5},
    "tau 0.3": {"temperature": 0.3},
    "tau 0.2": {"temperature": 0.2},
    "batch 128": {"batch_size": 128},
    "batch 128, tau 0.3": {"batch_size": 128, "temperature": 0.3},
}
PER_CLASS = (1, 10, 100)
METRICS = ("knn_acc", "probe1", "probe10", "probe100")


def target_scores(encoder: nn.Module, split: tuple, cfg: TrainConfig) -> dict:
    """``{"knn_acc", "probe1", "probe10", "probe100"}`` of ``encoder``'s h on ``split``: the numbers issue 17's
    targets name (kNN over the whole training bank; each probe the mean of 5 draws seeded by ``cfg.seed``)."""
    x_train, y_train, x_test, y_test = split
    f_train, f_test = embed(encoder, x_train), embed(encoder, x_test)
    scores = label_scores(f_train, y_train.to(f_train.device), f_test, y_test.to(f_test.device), PER_CLASS, draws=5,
                          seed=cfg.seed, k=cfg.knn_k)
    return {"knn_acc": scores["knn"]["all"][0],
            **{f"probe{n}": sum(scores["probe"][str(n)]) / len(scores["probe"][str(n)]) for n in PER_CLASS}}


def run_candidate(name: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train the preset with candidate ``name``'s changes on ``split`` (the validation split) and score it."""
    run_cfg = replace(cfg, **CANDIDATES[name])
    if run_cfg.holdout != "val":
        raise ValueError(f"a preset search is scored on the validation split, got holdout={run_cfg.holdout!r}; "
                         "run it through this script (its Experiment fixes holdout='val')")
    result = train(run_cfg, progress=progress, data=split)
    return {"changes": CANDIDATES[name], **target_scores(result.method.encoder, split, run_cfg),
            "epochs": run_cfg.epochs, "steps": run_cfg.epochs * (len(split[0]) // run_cfg.batch_size),
            "train_s": sum(h["epoch_s"] for h in result.history)}


EXPERIMENT = Experiment("preset_search.py", {name: partial(run_candidate, name) for name in CANDIDATES},
                        metrics=METRICS, score=target_scores, reference="recipe", preset="cpu",
                        fixed={"holdout": "val"}, extra={"split": "fit 50,000 / validation 10,000 of the official training set"})

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
