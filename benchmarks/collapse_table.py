"""Notebook 08's "avoiding collapse" table over several seeds: methods with and without negatives, same budget.

For every seed, one run of each kind (``KINDS``) with ``clhelpers.train.train`` on the preset (default
``cpu-sweep``): SimSiam with and without the stop-gradient, BYOL (EMA target), MoCo with momentum 0.99 and
with momentum 0 (keys from the query encoder itself) and 0.999, and SimCLR; the SimSiam pair again at 30 epochs
(how far the collapse goes), and queue vs batch at about 120 optimizer steps (SimCLR at batch 128 and 1024,
MoCo at batch 128 with 256 and 2,048 queued keys). A kind's own ``epochs`` wins over ``--epochs``. Each run
records its kNN accuracy, final training loss, ``clhelpers.evaluate.collapse_stats`` (``embedding_std``: about
1/sqrt(d) when spread, 0 when collapsed, and the effective rank, of z and h) and ``representation_quality`` on
the first 1,000 test digits. Through ``benchmarks/_driver.py``: the baselines on the same split (the untrained
network, ``random_init``: the kNN of its encoder and ``collapse_stats`` at the initialization the SimSiam run
starts from; raw pixels, ``raw_pixels``), the summary per kind (``summary[metric][kind]``), paired differences
against SimSiam, and a record saved after every seed (``"finished": false`` until the last)::

    CLHELPERS_OFFLINE=1 python benchmarks/collapse_table.py --seeds 0 1 2 --quiet --out benchmarks/collapse-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, knn_score, main  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.device import set_seed  # noqa: E402
from clhelpers.evaluate import collapse_stats, representation_quality  # noqa: E402
from clhelpers.train import make_method, train  # noqa: E402

# kind -> the TrainConfig fields that make it (on top of the preset)
KINDS: dict[str, dict] = {
    "simsiam": {"method": "simsiam", "stop_gradient": True},
    "simsiam_no_stopgrad": {"method": "simsiam", "stop_gradient": False},
    "byol": {"method": "byol", "momentum": 0.99},
    "moco_m0.99": {"method": "moco", "momentum": 0.99},
    "moco_m0": {"method": "moco", "momentum": 0.0},
    "simclr": {"method": "simclr"},
    "moco_m0.999": {"method": "moco", "momentum": 0.999},
    # the SimSiam pair trained 6x longer: does the spread without stop-gradient keep falling towards 0?
    "simsiam_30ep": {"method": "simsiam", "stop_gradient": True, "epochs": 30},
    "simsiam_no_stopgrad_30ep": {"method": "simsiam", "stop_gradient": False, "epochs": 30},
    # queue vs batch at about the same number of optimizer steps (~120): MoCo's 2,048 queued keys at batch 128
    # against SimCLR's 2,046 in-batch negatives at batch 1024 (and the small versions of both)
    "simclr_b128": {"method": "simclr", "batch_size": 128, "epochs": 4},
    "moco_b128_q256": {"method": "moco", "momentum": 0.99, "batch_size": 128, "queue_size": 256, "epochs": 4},
    "moco_b128_q2048": {"method": "moco", "momentum": 0.99, "batch_size": 128, "queue_size": 2048, "epochs": 4},
    "simclr_b1024": {"method": "simclr", "batch_size": 1024, "epochs": 40},
}
STD_IMAGES = 1000  # test digits the collapse diagnostics are measured on
METRICS = ("knn_acc", "embedding_std", "embedding_std_h", "embedding_std_batch", "effective_rank", "effective_rank_h")


def config_for(kind: str, base: TrainConfig) -> TrainConfig:
    """``base`` with the fields of ``KINDS[kind]`` (MoCo: a queue of 4 batches of keys, as in notebook 07, unless the
    kind sets its own)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    extra = {"queue_size": 4 * base.batch_size} if KINDS[kind]["method"] == "moco" else {}
    return replace(base, out_dir=None, resume=False, **{**extra, **KINDS[kind]})


def run_kind(kind: str, base: TrainConfig, split: tuple, progress: bool) -> dict:
    """One run of ``kind`` on ``split``: kNN, loss, ``collapse_stats`` and ``representation_quality`` of the trained method."""
    config = config_for(kind, base)
    result = train(config, progress=progress, data=split)
    x_test, hist = split[2][:STD_IMAGES].cpu(), result.history
    return {
        "preset": config.preset, "method": config.method, "stop_gradient": config.stop_gradient,
        "momentum": config.momentum, "epochs": config.epochs, "batch_size": config.batch_size,
        "steps": len(hist) * (result.train_images // config.batch_size),
        "knn_acc": result.knn_acc, "pixel_knn_acc": result.pixel_knn_acc, "final_loss": hist[-1]["loss"],
        **collapse_stats(result.method, x_test), **representation_quality(result.method, x_test, config.views, seed=config.seed),
        "train_s": sum(h["epoch_s"] for h in hist), "device": result.device,
    }


def untrained_collapse(base: TrainConfig, split: tuple) -> dict:
    """``collapse_stats`` of the untrained SimSiam network (encoder + head) of this seed, as ``train`` initializes it."""
    set_seed(base.seed)
    method = make_method(config_for("simsiam", base)).to(split[0].device).eval()
    return collapse_stats(method, split[2][:STD_IMAGES].cpu())


EXPERIMENT = Experiment("collapse_table.py", {kind: partial(run_kind, kind) for kind in KINDS}, metrics=METRICS,
                        score=knn_score, reference="simsiam", untrained_extra=untrained_collapse)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
