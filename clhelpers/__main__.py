"""One command line: ``python -m clhelpers {train,evaluate,sweep,bench,check} ...``.

Examples::

    python -m clhelpers train --out runs/cpu                     # the preset for this device
    python -m clhelpers train --method moco --epochs 5 --out runs/moco
    python -m clhelpers train --out runs/cpu --resume             # continue after Ctrl-C
    python -m clhelpers evaluate --encoder runs/cpu/encoder.pt
    python -m clhelpers sweep --preset cpu-sweep --out benchmarks/sweep-cpu-2core.json
    python -m clhelpers bench
    python -m clhelpers check my_losses.py:my_nt_xent             # is my NT-Xent right?
    python -m clhelpers check nt_xent.py:NT_Xent --init batch_size=256 temperature=0.5 world_size=1

Exit status: 0 on success, 2 on a usage error (a bad flag, an unreadable file, or a loss that ``check``
cannot call or that raises), 1 when ``check`` finds a failing check, 130 after Ctrl-C.
"""
from __future__ import annotations

import argparse
import sys

from . import bench, evaluate, lint, sweeps
from .config import add_config_arguments, config_from_args


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .device import pick_device
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
    pixels = "" if result.pixel_knn_acc is None else f" (raw-pixel kNN on the same split: {result.pixel_knn_acc:.4f})"
    print(f"done: {result.train_images} training images, kNN accuracy {result.knn_acc:.4f} "
          f"on {result.test_images} test images{pixels}")
    if result.out_dir is not None:
        print(f"wrote {result.out_dir}/checkpoint.pt, encoder.pt, metrics.json")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar (one line per epoch)")


COMMANDS = {
    # name: (help, add_arguments, run)
    "train": ("train an encoder (SimCLR, SupCon, MoCo, SimSiam) with the engine", _add_train_arguments, _train),
    "evaluate": ("kNN and linear probes of a saved encoder, beside raw pixels", evaluate.add_arguments, evaluate.run),
    "sweep": ("temperature and batch-size sweeps over seeds, recorded as JSON", sweeps.add_arguments, sweeps.run),
    "bench": ("speed of the engine vs the usual tutorial pipeline on this machine", bench.add_arguments, bench.run),
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
    parser, subparsers = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command][2](args, subparsers[args.command])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
