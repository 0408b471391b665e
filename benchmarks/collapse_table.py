"""Notebook 07's "avoiding collapse" table over several seeds: methods with and without negatives, same budget.

For every seed, one run of each kind (``KINDS``) with ``clhelpers.train.train`` on the preset (default
``cpu-sweep``): SimSiam with and without the stop-gradient, BYOL (EMA target), MoCo with momentum 0.99 and
with momentum 0 (keys from the query encoder itself) and 0.999, and SimCLR; the SimSiam pair again at 30 epochs
(how far the collapse goes), and queue vs batch at about 120 optimizer steps (SimCLR at batch 128 and 1024,
MoCo at batch 128 with 256 and 2,048 queued keys). A kind's own ``epochs`` wins over ``--epochs``. Each run
records its kNN accuracy, final training loss and the collapse diagnostic ``clhelpers.metrics.embedding_std`` (about 1/sqrt(d) when spread,
0 when collapsed) of the projections z and of the encoder features h on the first 1,000 test digits (no
augmentation, eval mode). Baselines on the same split: the untrained network (``random_init``: the kNN
accuracy of its encoder and the spread of its z, at the initialization the SimSiam run starts from) and raw
pixels (``pixel_knn_acc`` of every run). Writes a record with machine, command, date, git commit, seeds and
a ``summary`` (mean, sd, n per kind, for ``knn_acc``, the spreads and the effective ranks), after every
seed, so an interrupted run keeps the seeds it finished (``"finished": false`` until the last)::

    CLHELPERS_OFFLINE=1 python benchmarks/collapse_table.py --seeds 0 1 2 --quiet --out benchmarks/collapse-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace

import torch
from torch import nn

from clhelpers.config import TrainConfig, preset
from clhelpers.data import load_dataset
from clhelpers.device import pick_device, set_seed
from clhelpers.evaluate import embed
from clhelpers.methods import Method
from clhelpers.metrics import effective_rank, embedding_std
from clhelpers.sweeps import recording_args, representation_quality, save_script_record, summarize_runs
from clhelpers.train import knn_monitor, load_split, make_method, train

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
STD_IMAGES = 1000  # test digits the collapse diagnostic is measured on


def config_for(kind: str, base: TrainConfig) -> TrainConfig:
    """``base`` with the fields of ``KINDS[kind]`` (MoCo: a queue of 4 batches of keys, as in notebook 06, unless the
    kind sets its own)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    extra = {"queue_size": 4 * base.batch_size} if KINDS[kind]["method"] == "moco" else {}
    return replace(base, out_dir=None, resume=False, **{**extra, **KINDS[kind]})


@torch.no_grad()
def collapse_stats(method: Method, images: torch.Tensor, batch_size: int = 250) -> dict:
    """``embedding_std`` of z = head(encoder(x)) and of h = encoder(x) on ``images`` in eval mode (BatchNorm's running
    statistics, as kNN sees the features), of z in training mode (``"embedding_std_batch"``: BatchNorm normalizes
    with each batch of ``batch_size`` images, as the loss sees z; on a copy, so the running statistics stay), and
    the 1/sqrt(d) references, and ``clhelpers.metrics.effective_rank`` of z (training mode, as the loss sees it) and
    of h: ``{"embedding_std", "embedding_std_h", "embedding_std_batch", "std_reference", "std_reference_h",
    "effective_rank", "effective_rank_h"}``."""
    h = embed(method.encoder, images)
    z = embed(nn.Sequential(method.encoder, method.head), images)
    z_batch = embed(nn.Sequential(method.encoder, method.head), images, batch_size=batch_size, batch_stats=True)
    return {"embedding_std": embedding_std(z), "embedding_std_h": embedding_std(h),
            "embedding_std_batch": embedding_std(z_batch), "std_reference": z.shape[1] ** -0.5,
            "std_reference_h": h.shape[1] ** -0.5, "effective_rank": effective_rank(z_batch), "effective_rank_h": effective_rank(h)}


def run_kind(kind: str, base: TrainConfig, progress: bool) -> dict:
    """One run of ``kind``: the fields ``clhelpers.sweeps.run_one`` records (without the history), plus
    ``"kind"`` and ``collapse_stats`` (``run_one`` does not hand back the trained method, so train here)."""
    config = config_for(kind, base)
    result = train(config, progress=progress)
    x_test, _ = load_dataset(config.dataset, "test", source=config.source)
    hist = result.history
    return {
        "kind": kind, "preset": config.preset, "method": config.method, "seed": config.seed,
        "stop_gradient": config.stop_gradient, "momentum": config.momentum, "epochs": config.epochs,
        "batch_size": config.batch_size, "steps": len(hist) * (result.train_images // config.batch_size),
        "knn_acc": result.knn_acc, "pixel_knn_acc": result.pixel_knn_acc, "final_loss": hist[-1]["loss"],
        **collapse_stats(result.method, x_test[:STD_IMAGES]),
        **representation_quality(result.method, x_test[:STD_IMAGES], config.views, seed=config.seed),
        "train_s": sum(h["epoch_s"] for h in hist), "device": result.device,
    }


def random_init_row(base: TrainConfig) -> dict:
    """The untrained baseline: kNN accuracy of the encoder and ``collapse_stats`` of encoder + head (SimSiam's),
    both at the initialization ``train()`` starts the ``"simsiam"`` run of this seed from."""
    device = pick_device(base.device)
    set_seed(base.seed)
    method = make_method(config_for("simsiam", base)).to(device).eval()
    split = load_split(base, device)
    x_test, _ = load_dataset(base.dataset, "test", source=base.source)
    return {"kind": "random_init", "seed": base.seed, "knn_acc": knn_monitor(method.encoder, *split, k=base.knn_k),
            **collapse_stats(method, x_test[:STD_IMAGES])}


def summarize(runs: list[dict]) -> dict:
    """mean, sd, n per kind of kNN accuracy, the three spreads and the two effective ranks, and of the raw-pixel kNN."""
    trained = [r for r in runs if r["kind"] != "random_init"]
    return {"knn_acc": summarize_runs(runs, by="kind"),
            **{m: summarize_runs(runs, by="kind", metric=m)
               for m in ("embedding_std", "embedding_std_h", "embedding_std_batch", "effective_rank", "effective_rank_h")},
            "pixel_knn_acc": summarize_runs([{**r, "kind": "raw_pixels"} for r in trained], by="kind",
                                            metric="pixel_knn_acc")["raw_pixels"]}


def main(argv: list[str] | None = None) -> int:
    args, overrides = recording_args(__doc__.split("\n\n")[0], KINDS, argv)
    runs: list[dict] = []
    for seed in args.seeds:
        base = replace(preset(args.preset), seed=seed, out_dir=None, resume=False, **overrides)
        runs.append(random_init_row(base))
        for kind in args.kinds:
            r = run_kind(kind, base, progress=not args.quiet)
            runs.append(r)
            print(f"seed {seed} {kind:20s} kNN {r['knn_acc']:.4f}  std(z) {r['embedding_std']:.4f} "
                  f"(batch {r['embedding_std_batch']:.4f})  rank(z) {r['effective_rank']:.1f}  "
                  f"std(h) {r['embedding_std_h']:.4f}  loss {r['final_loss']:.4f}  {r['train_s']:.1f} s",
                  file=sys.stderr, flush=True)
        summary = summarize(runs)
        save_script_record("collapse_table.py", args, overrides, runs, argv, summary=summary,
                           finished=seed == args.seeds[-1])
    for kind, s in summary["knn_acc"].items():
        std = summary["embedding_std"].get(kind)
        print(f"{kind:20s} kNN {s['mean']:.4f} ± {s['sd']:.4f}" +
              (f"   std(z) {std['mean']:.4f} ± {std['sd']:.4f}" if std else "") + f" (n = {s['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
