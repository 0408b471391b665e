"""What one training step of the `cpu` preset costs, and what its variants cost: ``python benchmarks/step_cost.py``.

Times ``clhelpers.bench.bench_model_step`` (forward, backward and AdamW on one batch of views made once: no
augmentation, no data loading, the preset's memory format and precision) for the preset and for each variant in
``VARIANTS`` (the fields it changes), ``--repeats`` times each, round-robin so that a slow moment of the machine
falls on every variant alike. The record keeps every repeat's ms per step, and per variant the median and its ratio
to the recipe's median. The numbers the README's round 4 and speed section cite::

    python benchmarks/step_cost.py --out benchmarks/step-cost-cpu-bf16.json
    CLHELPERS_BF16=0 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/step_cost.py --out benchmarks/step-cost-cpu-avx2.json
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from clhelpers.bench import bench_model_step  # noqa: E402
from clhelpers.config import preset  # noqa: E402
from clhelpers.records import command_as_typed, new_record, save_record  # noqa: E402

VARIANTS: dict[str, dict] = {
    "recipe": {},
    "contiguous": {"channels_last": False},
    "compiled": {"compile": True},
    "depth 1": {"depth": 1},
    "24-48-96 depth 1": {"widths": (24, 48, 96), "depth": 1},
}


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, time every variant, write the record, print one line per variant."""
    p = argparse.ArgumentParser(prog="python benchmarks/step_cost.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--kinds", nargs="+", default=list(VARIANTS), help=f"variants to time (default: all of {list(VARIANTS)})")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    p.add_argument("--steps", type=int, default=30, help="timed steps per repeat (after two warm-up steps)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", required=True, help="where the record goes, e.g. benchmarks/step-cost-cpu-bf16.json")
    args = p.parse_args(argv)
    unknown = [k for k in args.kinds if k not in VARIANTS]
    if unknown or "recipe" not in args.kinds:
        p.error(f"--kinds must include recipe (the reference) and name only {list(VARIANTS)}; got {args.kinds}")
    if args.steps < 1 or args.repeats < 1 or (args.batch_size is not None and args.batch_size < 2):
        p.error("--steps and --repeats must be >= 1 and --batch-size >= 2")
    base = replace(preset("cpu"), device="cpu")
    if args.batch_size is not None:
        base = replace(base, batch_size=args.batch_size)
    device = torch.device("cpu")
    runs = []
    for repeat in range(args.repeats):
        for kind in args.kinds:
            rate = bench_model_step(replace(base, **VARIANTS[kind]), device, steps=args.steps)
            runs.append({"kind": kind, "repeat": repeat, "ms_per_step": 1000 * base.batch_size / rate})
            print(f"repeat {repeat} {kind:20s} {runs[-1]['ms_per_step']:7.1f} ms per step", flush=True)
    median = {k: statistics.median(r["ms_per_step"] for r in runs if r["kind"] == k) for k in args.kinds}
    summary = {k: {"changes": {f: list(v) if isinstance(v, tuple) else v for f, v in VARIANTS[k].items()},
                   "median_ms_per_step": median[k], "ratio_to_recipe": median[k] / median["recipe"]} for k in args.kinds}
    precision = "bf16 autocast" if base.bf16_autocast(device) else "float32"
    command = command_as_typed(None if argv is None else ["python", "benchmarks/step_cost.py", *argv])
    record = new_record(runs, base.to_dict(), command=command, device=device, precision=precision,
                        batch_size=base.batch_size, steps=args.steps, repeats=args.repeats, summary=summary)
    save_record(args.out, record)
    for k, v in summary.items():
        print(f"{k:20s} median {v['median_ms_per_step']:7.1f} ms per step ({precision}), {v['ratio_to_recipe']:.2f} of the recipe")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
