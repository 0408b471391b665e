"""Notebook 06's "beyond NT-Xent" table over several seeds: each loss or method, same preset, same budget.

For every seed: NT-Xent (SimCLR), the pairwise contrastive loss, the triplet loss (semi-hard in-batch
negative), MoCo (momentum encoder, queue of 4 batches of keys) and SupCon (given the labels), each trained
once with ``clhelpers.sweeps.run_one`` on the preset (default ``cpu-sweep``), plus the untrained baseline:
the same encoder at its random initialization (seeded like the runs), scored with the same kNN on the
same split. Raw-pixel kNN comes with every run (``pixel_knn_acc``). Writes a record with machine,
command, date, git commit and seeds (``clhelpers.sweeps.save_record``)::

    CLHELPERS_OFFLINE=1 python benchmarks/methods_table.py --seeds 0 1 2 --out benchmarks/methods-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace

from clhelpers.config import preset
from clhelpers.device import pick_device
from clhelpers.losses import pair_in_batch, triplet_in_batch
from clhelpers.sweeps import recording_args, run_one, save_script_record, summarize_runs
from clhelpers.train import knn_monitor, load_split, untrained_encoder

KINDS = ("nt_xent", "pair", "triplet", "moco", "supcon")


def run_kind(kind: str, base, progress: bool) -> dict:
    """One training run of ``kind`` (one of ``KINDS``) on ``base``; the ``run_one`` dict plus ``"kind"``."""
    if kind == "pair":
        out = run_one(base, loss=pair_in_batch, progress=progress)
    elif kind == "triplet":
        out = run_one(base, loss=triplet_in_batch, progress=progress)
    elif kind == "moco":
        out = run_one(replace(base, method="moco", queue_size=4 * base.batch_size), progress=progress)
    elif kind == "supcon":
        out = run_one(replace(base, method="supcon"), progress=progress)
    else:
        out = run_one(base, progress=progress)
    return {"kind": kind, **{k: v for k, v in out.items() if k != "history"}}


def random_init_knn(base) -> float:
    """kNN accuracy of the untrained encoder, initialized from ``base.seed`` as ``train()`` does."""
    device = pick_device(base.device)
    return knn_monitor(untrained_encoder(base, device), *load_split(base, device), k=base.knn_k)


def main(argv: list[str] | None = None) -> int:
    args, overrides = recording_args(__doc__.split("\n\n")[0], KINDS, argv)
    runs = []
    for seed in args.seeds:
        base = replace(preset(args.preset), seed=seed, out_dir=None, resume=False, **overrides)
        runs.append({"kind": "random_init", "seed": seed, "knn_acc": random_init_knn(base)})
        for kind in args.kinds:
            runs.append(run_kind(kind, base, progress=not args.quiet))
            print(f"seed {seed} {kind:8s} kNN {runs[-1]['knn_acc']:.4f}", file=sys.stderr, flush=True)
    summary = summarize_runs(runs, by="kind")
    for kind, s in summary.items():
        print(f"{kind:12s} kNN {s['mean']:.4f} ± {s['sd']:.4f} (n = {s['n']})")
    save_script_record("methods_table.py", args, overrides, runs, argv, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
