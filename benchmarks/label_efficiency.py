"""Label efficiency: test accuracy against labelled digits per class, for SimCLR features and their baselines.

Records, as JSON (``clhelpers.records``: the one schema, saved after every finished job), how well each
representation classifies the held-out digits when only 1, 10, 100 or all labels per class are known. This is
the evidence behind notebook 06's central figure; the notebook draws the recorded curves beside its live run.

Setting: the ``--preset`` (default ``cpu``, the notebook's CPU run: all 60,000 training digits, read from
``clhelpers.config.preset`` at run time) on one fixed split (``--data``, default ``auto``: the official MNIST files,
scored on the official 10,000 test digits; ``offline`` is the 5,000-digit subset), in **float32** (``amp`` and
``cpu_amp`` off) so that the numbers match the CPU path, or with ``--precision preset`` in the preset's own precision
(bf16 autocast on a CPU with native bf16, as ``python -m clhelpers train`` runs the ``cpu`` preset there). The split
is loaded once (the preset's ``train_size`` subset, if any, drawn with ``--data-seed``) and every run trains on it
(``train(config, data=...)``); the test digits are never trained on.

Kinds (the keys of the record's ``summary``), each measured by ``clhelpers.evaluate.label_scores`` with the linear
probe (``probe``: multinomial logistic regression on frozen, standardized features, ``metrics.few_label_probe``) and
kNN (``knn``: cosine, weighted vote, k = min(knn_k, per_class), so 1-NN for one label per class):

* ``simclr_h``: SimCLR trained with the preset (``--seeds``), the backbone features h (what we evaluate);
* ``simclr_z``: the same runs' projections z = head(h) (eval mode), the space the loss acts in;
* ``nohead_h``: SimCLR trained **without** a projection head (method ``simclr-nohead``: the loss on h itself);
* ``random_h``: the same encoder at random initialization (``evaluate.untrained_encoder``, seeded like each run);
* ``pixels``: raw pixels in [0, 1] (``evaluate.PIXELS``; nothing trained, so measured once; the same label draws);
* ``supervised``: the same encoder + a linear classifier trained from scratch with cross-entropy (method
  ``supervised``) on **only the labelled digits** of a draw, with the preset's views, learning rate, weight
  decay and schedule. Budget: the **same number of optimizer steps** as a SimCLR run (preset epochs x steps
  per epoch: 4 x 468 = 1,872 for ``cpu``, batch 128 on 60,000 digits). With n labelled digits the batch is ``min(batch_size, max(10, n // 4))``
  (10 for one label per class, 25 for ten: small batches, each image seen many times) and the epochs are
  ``steps / (n // batch)``; the warm-up keeps its length in steps. ``probe`` is the accuracy of its own
  classifier on the test digits; ``knn`` uses its features h with the labelled digits as neighbours.

Label draws: ``--draws`` draws per count, ``clhelpers.metrics.label_draws`` (the draws of ``few_label_probe``, seed
``--label-seed``), the same for every kind and seed (a paired comparison); supervised draw d is trained with seed
d. "all" uses every training label (one value per seed). Summary: mean and sample sd over all seed x draw values
(``records.summarize``).

Why not ``benchmarks/_driver.py``'s seed loop: the supervised runs are seeded by label draw, not by training seed,
and the independent trainings run in parallel processes (``--workers``); the record is written after every
finished job instead of after every seed. Everything measured comes from ``clhelpers.evaluate``.

    python benchmarks/label_efficiency.py --seeds 0 1 2 3 4 --precision preset --out benchmarks/label-efficiency-cpu-2core.json
    python benchmarks/label_efficiency.py --device cuda --workers 8 --data offline --out benchmarks/archive/label-efficiency-gpu.json  # the earlier record
    python benchmarks/label_efficiency.py --data offline --epochs 1 --seeds 0 --draws 2 --per-class 1 10 --out /tmp/le.json  # smoke
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clhelpers.config import PRESETS, TrainConfig, preset  # noqa: E402
from clhelpers.device import pick_device  # noqa: E402
from clhelpers.evaluate import PIXELS, embed, features, label_scores, untrained_encoder  # noqa: E402
from clhelpers.metrics import knn_accuracy, label_draws  # noqa: E402
from clhelpers.records import command_as_typed, new_record, save_record, summarize  # noqa: E402
from clhelpers.train import load_split, train  # noqa: E402

KINDS = ("simclr_h", "simclr_z", "nohead_h", "random_h", "pixels", "supervised")


def encoder_scores(encoder: torch.nn.Module, split: tuple, options: dict, knn_k: int, device: torch.device,
            space_of: torch.nn.Module | None = None) -> dict:
    """``evaluate.label_scores`` of ``encoder``'s features (or, with ``space_of`` = a trained method, its z) on
    ``split``, for ``options["per_class"]`` counts, ``options["draws"]`` draws seeded by ``options["label_seed"]``."""
    x_train, y_train, x_test, y_test = split
    if space_of is None:
        f_train, f_test = embed(encoder, x_train), embed(encoder, x_test)
    else:
        f_train, f_test = features(space_of, x_train, "z"), features(space_of, x_test, "z")
    return label_scores(f_train.to(device), y_train.to(device), f_test.to(device), y_test.to(device),
                        options["per_class"], options["draws"], options["label_seed"], k=knn_k)


# ----------------------------------------------------------------------------------------- one job
def supervised_config(cfg: TrainConfig, n: int, steps: int, seed: int) -> TrainConfig:
    """The supervised run on ``n`` labelled digits with ``steps`` optimizer steps (see the module docstring)."""
    batch = min(cfg.batch_size, max(10, n // 4))
    per_epoch = n // batch
    warmup_steps = cfg.warmup_epochs * (steps / cfg.epochs)
    return replace(cfg, method="supervised", seed=seed, batch_size=batch, epochs=max(1, round(steps / per_epoch)),
                   warmup_epochs=warmup_steps / per_epoch, eval_every=10**6, train_size=None,
                   knn_k=min(cfg.knn_k, n))  # train()'s kNN monitor needs k <= the training digits


def ssl_job(job: dict, cfg: TrainConfig, split: tuple, options: dict, device: torch.device) -> dict:
    """SimCLR (``simclr_h`` and ``simclr_z``) or SimCLR without a head (``nohead_h``) trained with ``job["seed"]``."""
    run_cfg = replace(cfg, seed=job["seed"], method="simclr" if job["kind"] == "simclr" else "simclr-nohead")
    result = train(run_cfg, progress=False, data=split)
    out = {f"{job['kind']}_h": encoder_scores(result.encoder, split, options, cfg.knn_k, device)}
    if job["kind"] == "simclr":
        out["simclr_z"] = encoder_scores(result.encoder, split, options, cfg.knn_k, device, space_of=result.method)
    return {"results": out, "knn_history": [h["knn_acc"] for h in result.history if h["knn_acc"] is not None],
            "final_loss": result.history[-1]["loss"], "train_s": sum(h["epoch_s"] for h in result.history)}


def supervised_job(job: dict, cfg: TrainConfig, split: tuple, options: dict, device: torch.device) -> dict:
    """The supervised CNN trained on the labelled digits of one draw (``metrics.label_draws``) or on all of them:
    the accuracy of its own classifier and the kNN of its features h with the labelled digits as neighbours."""
    x_train, y_train, x_test, y_test = split
    idx = torch.arange(len(y_train)) if job["per_class"] == "all" else \
        label_draws(y_train, y_test, job["per_class"], options["draws"], options["label_seed"])[job["draw"]]
    run_cfg = supervised_config(cfg, len(idx), options["steps"], job["seed"])
    result = train(run_cfg, progress=False, data=(x_train[idx], y_train[idx], x_test, y_test))
    method = result.method.eval()
    h_test, h_lab = embed(result.encoder, x_test), embed(result.encoder, x_train[idx])
    with torch.no_grad():
        acc = float((method.classifier(h_test.to(device)).argmax(1).cpu() == y_test).float().mean())
    k = cfg.knn_k if job["per_class"] == "all" else min(cfg.knn_k, job["per_class"])
    return {"accuracy": acc, "knn": knn_accuracy(h_lab, y_train[idx], h_test, y_test, k=k), "batch_size": run_cfg.batch_size,
            "epochs": run_cfg.epochs, "steps": run_cfg.epochs * (len(idx) // run_cfg.batch_size),
            "train_s": sum(h["epoch_s"] for h in result.history)}


def run_job(job: dict, cfg_dict: dict, split: tuple, options: dict) -> dict:
    """Train what ``job`` says on ``split`` and measure it; runs in a worker process."""
    torch.set_num_threads(options["threads"])
    cfg, t0 = TrainConfig.from_dict(cfg_dict), time.perf_counter()
    run = ssl_job if job["kind"] in ("simclr", "nohead") else supervised_job
    return {**job, **run(job, cfg, split, options, pick_device(cfg.device)), "job_s": time.perf_counter() - t0}


def baseline_runs(cfg: TrainConfig, split: tuple, seeds: list[int], options: dict, device: torch.device) -> list[dict]:
    """Raw pixels once (nothing trained: every seed would give the same numbers) and the untrained encoder per seed."""
    runs = [{"kind": "pixels", "results": {"pixels": encoder_scores(PIXELS, split, options, cfg.knn_k, device)}}]
    for s in seeds:
        encoder = untrained_encoder(replace(cfg, seed=s), device)
        runs.append({"kind": "random", "seed": s, "results": {"random_h": encoder_scores(encoder, split, options, cfg.knn_k, device)}})
    return runs


# ----------------------------------------------------------------------------------------- summary
def summary_by_kind(runs: list[dict], per_class: list[int]) -> dict:
    """``{kind: {"probe" | "knn": {pc: {"mean", "sd", "n"}}}}`` over every seed x draw value found in ``runs``."""
    pooled: dict = {}
    for run in runs:
        for kind, res in run.get("results", {}).items():
            for metric, by_pc in res.items():
                for pc, accs in by_pc.items():
                    pooled.setdefault(kind, {}).setdefault(metric, {}).setdefault(pc, []).extend(accs)
        if run.get("kind") == "supervised":
            for metric, key in (("probe", "accuracy"), ("knn", "knn")):
                pooled.setdefault("supervised", {}).setdefault(metric, {}).setdefault(str(run["per_class"]), []).append(run[key])
    order = [str(pc) for pc in per_class] + ["all"]
    return {kind: {metric: {pc: summarize(by_pc[pc]) for pc in order if pc in by_pc} for metric, by_pc in metrics.items()}
            for kind, metrics in pooled.items()}


# ----------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """This script's flags (its own: the label draws, the data seed and the workers are not the driver's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cpu", choices=sorted(PRESETS), help="training settings (default cpu)")
    parser.add_argument("--data", default="auto", choices=["auto", "offline", "torchvision"],
                        help="data source (default auto: the verified official files; offline: the 5,000-digit subset)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (smoke tests)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    parser.add_argument("--draws", type=int, default=5, help="label draws per count (default 5)")
    parser.add_argument("--per-class", type=int, nargs="+", default=[1, 10, 100], help="labels per class (plus all)")
    parser.add_argument("--label-seed", type=int, default=0, help="seed of the label draws (default 0)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the preset's training subset (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--precision", default="float32", choices=["float32", "preset"],
                        help="float32 (default: amp and cpu_amp off) or the preset's own (bf16 autocast on a GPU or on a "
                             "CPU with native bf16, e.g. the cpu preset on an AVX512-BF16 machine)")
    parser.add_argument("--out", required=True, help="JSON record, rewritten after every finished job")
    return parser.parse_args(argv)


def jobs_for(args: argparse.Namespace) -> list[dict]:
    """The trainings, longest first: SimCLR with and without head per seed, then the supervised runs."""
    jobs = [{"kind": kind, "seed": s} for s in args.seeds for kind in ("simclr", "nohead")]
    jobs += [{"kind": "supervised", "per_class": "all", "seed": s} for s in args.seeds]
    jobs += [{"kind": "supervised", "per_class": pc, "draw": d, "seed": d} for pc in sorted(args.per_class, reverse=True)
             for d in range(args.draws)]
    return jobs


def setting(args: argparse.Namespace) -> tuple[TrainConfig, tuple, dict]:
    """The config (float32 unless ``--precision preset``; the preset's subset drawn with ``--data-seed``), the split
    (CPU) and the options."""
    precision = {"amp": False, "cpu_amp": False} if args.precision == "float32" else {}
    cfg = replace(preset(args.preset), source=args.data, device=pick_device(args.device).type, out_dir=None, seed=args.data_seed,
                  **precision, **({"epochs": args.epochs} if args.epochs else {}))
    split = tuple(t.cpu() for t in load_split(cfg, torch.device("cpu")))
    options = {"per_class": args.per_class, "draws": args.draws, "label_seed": args.label_seed,
               "steps": cfg.epochs * (len(split[0]) // cfg.batch_size),
               "threads": max(1, (os.cpu_count() or 1) // max(1, args.workers))}
    return cfg, split, options


def main(argv: list[str] | None = None) -> int:
    """Baselines first, then every job (in ``--workers`` processes), the record rewritten after each."""
    args = parse_args(argv)
    cfg, split, options = setting(args)
    device = pick_device(cfg.device)
    command = None if argv is None else command_as_typed(["python", "benchmarks/label_efficiency.py", *argv])
    extra = dict(per_class=args.per_class + ["all"], draws=args.draws, label_seed=args.label_seed,
                 all_per_class=len(split[0]) / len(torch.unique(split[1])), train_images=len(split[0]),
                 test_images=len(split[2]), supervised_steps=options["steps"], kinds=list(KINDS),
                 float32=not cfg.bf16_autocast(device))
    runs = baseline_runs(cfg, split, args.seeds, options, device)
    jobs, t0 = jobs_for(args), time.perf_counter()

    def write(finished: bool) -> None:
        """Save the record as it stands (the one schema, atomically)."""
        record = new_record(runs, cfg.to_dict(), command=command, device=device, **extra, finished=finished,
                            summary=summary_by_kind(runs, args.per_class))
        save_record(args.out, record)

    def finished(run: dict) -> None:
        """Keep a finished job's run, save, report."""
        runs.append(run)
        write(False)
        shown = {k: v for k, v in run.items() if k in ("kind", "seed", "per_class", "draw", "accuracy", "job_s")}
        print(f"[{time.perf_counter() - t0:6.1f} s] done {len(runs) - 1 - len(args.seeds)}/{len(jobs)}: {shown}", flush=True)

    write(False)
    if args.workers == 1:  # in this process (no pickling, easy to debug)
        for job in jobs:
            finished(run_job(job, cfg.to_dict(), split, options))
    else:
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
            for future in as_completed([pool.submit(run_job, job, cfg.to_dict(), split, options) for job in jobs]):
                finished(future.result())
    write(True)
    for kind, row in summary_by_kind(runs, args.per_class).items():
        print(f"{kind:11s}", "  ".join(f"{pc}: {v['mean']:.3f}±{v['sd']:.3f}" for pc, v in row.get("probe", {}).items()))
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
