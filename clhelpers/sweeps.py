"""Settings x seeds: train one run per combination, record the results, load the records.

* ``run_one(config)`` trains once and summarizes the run as one flat, JSON-friendly dict.
* ``run_sweep(base, temperatures=..., batch_sizes=..., seeds=..., fixed_steps=...)`` varies one setting at a
  time (``fixed_steps``: the batch-size sweep at a fixed number of optimizer steps, not of epochs).
* ``load_sweeps(folder)`` reads every ``sweep-*.json`` record back (``records.load_record``).
* ``summarize_runs(runs, by="temperature")`` gives each setting's mean ± sd over seeds.
* Alignment and uniformity come from ``evaluate.representation_quality``; the recording scripts of
  ``benchmarks/`` parse their flags and save through ``benchmarks/_driver.py``.
* ``python -m clhelpers sweep --preset cpu-sweep --seeds 0 1 2 --out benchmarks/sweep-cpu-2core.json`` (``cli``).
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from .config import TrainConfig
from .data import load_dataset
from .evaluate import representation_quality
from .records import load_record, summarize
from .train import train


def run_one(config: TrainConfig, loss: Callable | None = None, progress: bool = True, quality_images: int = 1000) -> dict:
    """Train once and summarize: ``method``, ``seed``, ``temperature``, ``batch_size``, ``epochs``, ``steps``,
    ``knn_acc`` (last epoch), ``pixel_knn_acc``, ``final_loss``, alignment/uniformity in z and h (first
    ``quality_images`` test images), ``images_per_s``, ``train_s`` (training only), ``device``, ``history``."""
    result = train(config, loss=loss, progress=progress)
    x_test, _ = load_dataset(config.dataset, "test", source=config.source)
    quality = representation_quality(result.method, x_test[:quality_images], config.views, seed=config.seed)
    hist = result.history
    return {
        "preset": config.preset, "method": config.method, "seed": config.seed,
        "loss": getattr(loss, "__name__", type(loss).__name__) if loss is not None else config.method,
        "temperature": config.temperature, "batch_size": config.batch_size, "epochs": config.epochs,
        "steps": len(hist) * (result.train_images // config.batch_size),
        "knn_acc": result.knn_acc, "pixel_knn_acc": result.pixel_knn_acc, "final_loss": hist[-1]["loss"], **quality,
        "images_per_s": sum(h["images_per_s"] for h in hist) / len(hist), "train_s": sum(h["epoch_s"] for h in hist),
        "device": result.device, "history": [{"epoch": h["epoch"], "loss": h["loss"], "knn_acc": h["knn_acc"]} for h in hist],
    }


def epochs_for_steps(config: TrainConfig, steps: int) -> int:
    """The whole number of epochs closest to ``steps`` optimizer steps at ``config.batch_size`` (at least 1)."""
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer (optimizer steps per run), got {steps!r}")
    n = config.train_size or len(load_dataset(config.dataset, "train", source=config.source)[0])
    per_epoch = n // config.batch_size
    if per_epoch < 1:
        raise ValueError(f"batch_size {config.batch_size} is larger than the training set ({n} images); lower it")
    return max(1, round(int(steps) / per_epoch))


def run_sweep(base: TrainConfig, temperatures: Sequence[float] = (), batch_sizes: Sequence[int] = (),
              seeds: Sequence[int] = (0,), progress: bool = True, fixed_steps: int | None = None) -> list[dict]:
    """One run per setting and seed; each ``run_one`` dict gets ``"sweep"`` (the setting's name).

    Every temperature at ``base.batch_size`` (``"sweep": "temperature"``), then every batch size at
    ``base.temperature`` (``"sweep": "batch_size"``); everything else stays ``base``'s. No checkpoints.
    At fixed epochs a smaller batch also takes more optimizer steps; ``fixed_steps=S`` removes that
    confound from the batch-size sweep: each batch size trains for about S steps
    (``epochs_for_steps``; the runs record their ``steps``), so only the number of negatives changes.
    """
    if not isinstance(base, TrainConfig):
        raise ValueError(f"base must be a TrainConfig (e.g. preset('cpu-sweep')), got {type(base).__name__}")
    if not temperatures and not batch_sizes:
        raise ValueError("nothing to sweep: give temperatures and/or batch_sizes")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=(0, 1, 2)")
    settings = [("temperature", {"temperature": float(t)}) for t in temperatures]
    for b in batch_sizes:
        sized = replace(base, batch_size=int(b))  # validates the value
        settings.append(("batch_size", {"batch_size": int(b)} if fixed_steps is None else
                         {"batch_size": int(b), "epochs": epochs_for_steps(sized, fixed_steps)}))
    runs = []
    for sweep, override in settings:
        for seed in seeds:
            config = replace(base, out_dir=None, resume=False, seed=int(seed), **override)  # validates the value
            runs.append({"sweep": sweep, **run_one(config, progress=progress)})
    return runs


def load_sweeps(folder: str | os.PathLike = "benchmarks", pattern: str = "sweep-*.json") -> list[dict]:
    """Every record matching ``pattern`` in ``folder`` (sorted by name, read by ``records.load_record``), each
    with ``"file"`` added; a record without runs is a ``ValueError`` naming the file."""
    found = []
    for path in sorted(Path(folder).glob(pattern)):
        record = load_record(path)
        if not record["runs"]:
            raise ValueError(f"{path} is not a sweep record (it has no runs); delete it or record it again")
        found.append({**record, "file": path.name})
    return found


def summarize_runs(runs: Sequence[dict], by: str, metric: str = "knn_acc", sweep: str | None = None) -> dict:
    """``{setting: {"mean", "sd", "n"}}`` of ``run[metric]`` for each value of ``run[by]`` (in order of first
    appearance); ``sd`` is the sample sd over the seeds (0.0 for a single run). With ``sweep``, only the runs
    whose ``"sweep"`` is that (a record holds both sweeps; the base setting appears in each)."""
    groups: dict = {}
    for i, r in enumerate(r for r in runs if sweep is None or r.get("sweep") == sweep):
        if by not in r or metric not in r:
            raise ValueError(f"run {i} has no {by if by not in r else metric!r}; pass run dicts as run_sweep or a "
                             f"record's 'runs' hold them, e.g. summarize_runs(record['runs'], by='temperature')")
        groups.setdefault(r[by], []).append(float(r[metric]))
    if not groups:
        raise ValueError(f"no runs{f' with sweep = {sweep!r}' if sweep else ''}: check the sweep name "
                         "('temperature' or 'batch_size') and that the record has runs")
    return {k: summarize(v) for k, v in groups.items()}
