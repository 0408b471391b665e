"""Experiments for notebook 06: temperature / batch-size sweeps and hardness-awareness.

* ``hard_negative_share(z1, z2, temperature, k)`` measures, with autograd, which share of the
  NT-Xent gradient on the negatives goes to each anchor's ``k`` hardest (most similar) negatives.
* ``run_sweep(...)`` trains one short run per setting with ``clhelpers.train.train`` and
  returns one dict per run (kNN accuracy, alignment, uniformity, time).
* Command line: ``python -m clhelpers.experiments sweep --preset cpu-sweep --temperatures 0.1 0.5
  --out benchmarks/sweep-cpu.json`` records the results with the machine and the command.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from .augment import ViewParams, make_views, to_unit_float
from .data import load_mnist
from .evaluate import alignment, uniformity
from .losses import _check_pair, _unit_rows, nt_xent, positive_index
from .similarity import _check_temperature
from .train import PRESETS, TrainConfig, preset, train

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]

__all__ = [
    "negative_weights",
    "hard_negative_share",
    "projections",
    "representation_quality",
    "run_one",
    "run_sweep",
    "machine_info",
    "save_sweep",
    "load_sweeps",
    "plot_alignment_uniformity",
    "plot_sweep_accuracy",
    "plot_hardness",
    "write_truncated_mnist",
]


def negative_weights(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""Size of the NT-Xent gradient on each negative similarity, measured with autograd.

    With the 2N views stacked and normalized, ``s_ik = cos(z_i, z_k)``, the loss is
    ``L = (1/2N) sum_i -log softmax_k(s_ik / tau)[p(i)]``. Returns the (2N, 2N) matrix
    ``W[i, k] = |dL / ds_ik|`` for the negatives k (zero at k = i and k = p(i)), where ``s_ik``
    is treated as anchor i's own similarity (row i of the matrix). In closed form
    ``W[i, k] = softmax_k(s_ik / tau) / (2N tau)``: the harder (more similar) a negative, the
    larger its weight, and the smaller tau, the more the weight concentrates on the hardest ones
    (Wang & Liu, 2021, call this the hardness-aware property).
    """
    _check_pair(z1, z2)
    t = _check_temperature(temperature)
    n = z1.shape[0]
    with torch.enable_grad():
        z = _unit_rows(torch.cat([z1, z2], dim=0).detach())
        sim = (z @ z.T).requires_grad_(True)
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        loss = F.cross_entropy((sim / t).masked_fill(self_mask, float("-inf")), positive_index(n, z.device))
        (grad,) = torch.autograd.grad(loss, sim)
    return grad.abs() * _negative_mask(n, z.device)


def _negative_mask(n: int, device: torch.device) -> torch.Tensor:
    """(2N, 2N) boolean mask of anchor i's negatives: every k except i itself and its positive p(i)."""
    mask = ~torch.eye(2 * n, dtype=torch.bool, device=device)
    mask[torch.arange(2 * n, device=device), positive_index(n, device)] = False
    return mask


def hard_negative_share(z1: torch.Tensor, z2: torch.Tensor, temperature: float, k: int = 1) -> float:
    """Mean over anchors of (gradient on its ``k`` hardest negatives) / (gradient on all its negatives).

    Uses ``negative_weights``; "hardest" means most similar to the anchor. If the gradient were
    spread evenly the share would be ``k / (2N - 2)``; at small temperatures it approaches 1.
    """
    _check_pair(z1, z2)
    n = z1.shape[0]
    if int(k) != k or not 1 <= k <= 2 * n - 2:
        raise ValueError(f"k must be an integer between 1 and 2N - 2 = {2 * n - 2} (the number of negatives), got {k!r}")
    w = negative_weights(z1, z2, temperature)
    with torch.no_grad():
        z = _unit_rows(torch.cat([z1, z2], dim=0).detach())
        sim = (z @ z.T).masked_fill(~_negative_mask(n, z.device), float("-inf"))  # negatives only
        hardest = sim.topk(int(k), dim=1).indices
        top = w.gather(1, hardest).sum(dim=1)
        return float((top / w.sum(dim=1)).mean())


# ============================================================================ sweeps
@torch.no_grad()
def projections(model, images: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h, z)`` of a ``SimCLRModel`` for many images (float [0, 1] or uint8), in eval mode, on the CPU."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    hs, zs = [], []
    for start in range(0, len(images), batch_size):
        x = to_unit_float(images[start : start + batch_size].to(device))
        h, z = model(x)
        hs.append(h.float().cpu())
        zs.append(z.float().cpu())
    model.train(was_training)
    return torch.cat(hs), torch.cat(zs)


def representation_quality(model, images: torch.Tensor, views: ViewParams | None = None, seed: int = 0) -> dict:
    """Alignment and uniformity (Wang & Isola, 2020) of a trained model on ``images``.

    Two random views of every image (fixed ``seed``) give the positive pairs for ``alignment``;
    ``uniformity`` uses the first view's embeddings. Measured both in the loss space (``z``, the
    projection head output, where temperature acts) and on the encoder features (``h``, what kNN
    evaluates). Returns ``{"alignment", "uniformity", "alignment_h", "uniformity_h"}``.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(seed)
    v1, v2 = make_views(images.to(device), views, generator=gen)
    h1, z1 = projections(model, v1)
    h2, z2 = projections(model, v2)
    return {
        "alignment": alignment(z1, z2),
        "uniformity": uniformity(z1),
        "alignment_h": alignment(h1, h2),
        "uniformity_h": uniformity(h1),
    }


def run_one(config: TrainConfig, loss_fn: LossFn = nt_xent, progress: bool = True, quality_images: int = 1000) -> dict:
    """Train once with ``clhelpers.train.train`` and summarize: one flat dict of JSON-friendly values.

    Keys: ``temperature``, ``batch_size``, ``epochs``, ``preset``, ``loss`` (loss_fn's name),
    ``knn_acc`` (last epoch), ``final_loss``, ``alignment``/``uniformity`` (loss space),
    ``alignment_h``/``uniformity_h`` (encoder features), ``images_per_s`` (mean over epochs),
    ``train_s`` (training seconds, evaluation excluded), ``device``, ``history`` (per-epoch
    loss and kNN). Alignment/uniformity use the first ``quality_images`` test digits.
    """
    result = train(config, loss_fn=loss_fn, progress=progress)
    x_test, _ = load_mnist("test", source=config.data)
    quality = representation_quality(result.model, x_test[:quality_images], config.views, seed=config.seed)
    hist = result.history
    return {
        "preset": config.preset,
        "loss": getattr(loss_fn, "__name__", type(loss_fn).__name__),
        "temperature": config.temperature,
        "batch_size": config.batch_size,
        "epochs": config.epochs,
        "knn_acc": result.knn_acc,
        "final_loss": hist[-1]["loss"],
        **quality,
        "images_per_s": sum(h["images_per_s"] for h in hist) / len(hist),
        "train_s": sum(h["epoch_s"] for h in hist),
        "device": result.device,
        "history": [{"epoch": h["epoch"], "loss": h["loss"], "knn_acc": h["knn_acc"]} for h in hist],
    }


def run_sweep(
    base: TrainConfig,
    temperatures: Sequence[float] = (),
    batch_sizes: Sequence[int] = (),
    loss_fn: LossFn = nt_xent,
    progress: bool = True,
) -> list[dict]:
    """One short training run per setting; returns one ``run_one`` dict per run, with ``"sweep"``.

    Two one-dimensional sweeps around ``base``: every temperature in ``temperatures`` at
    ``base.batch_size`` (``"sweep": "temperature"``), then every batch size in ``batch_sizes`` at
    ``base.temperature`` (``"sweep": "batch_size"``). All other settings (epochs, seed, data,
    model) stay those of ``base``, so runs differ only in the swept value. Runs never write
    checkpoints (``out_dir`` is cleared).
    """
    if not isinstance(base, TrainConfig):
        raise ValueError(f"base must be a TrainConfig (e.g. preset('cpu-sweep')), got {type(base).__name__}")
    if not temperatures and not batch_sizes:
        raise ValueError("nothing to sweep: give temperatures and/or batch_sizes")
    settings = [("temperature", {"temperature": float(t)}) for t in temperatures]
    settings += [("batch_size", {"batch_size": int(b)}) for b in batch_sizes]
    runs = []
    for sweep, override in settings:
        config = replace(base, out_dir=None, resume=False, **override)  # validates the value
        runs.append({"sweep": sweep, **run_one(config, loss_fn, progress=progress)})
    return runs


def machine_info() -> dict:
    """Where a benchmark ran: platform, CPU count, torch version, device name."""
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
    return info


def save_sweep(path: str | os.PathLike, runs: list[dict], command: str, machine: dict | None = None) -> Path:
    """Write ``{"machine", "command", "created", "runs"}`` to ``path`` as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": machine if machine is not None else machine_info(),
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path


def load_sweeps(folder: str | os.PathLike = "benchmarks") -> list[dict]:
    """Every ``sweep-*.json`` in ``folder`` (sorted by name), each with ``"file"`` added. Missing folder: []."""
    folder = Path(folder)
    records = []
    for path in sorted(folder.glob("sweep-*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err}); delete it or record it again") from None
        if not isinstance(record, dict) or not {"machine", "command", "runs"} <= set(record):
            raise ValueError(f"{path} is not a sweep record (needs machine, command, runs); delete it or record it again")
        records.append({**record, "file": path.name})
    return records


# ============================================================================ labels-aware training
# ============================================================================ CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m clhelpers.experiments", description="Sweeps for notebook 06.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sweep", help="temperature and batch-size sweeps with clhelpers.train")
    s.add_argument("--preset", default="cpu-sweep", choices=sorted(PRESETS), help="base settings (default cpu-sweep)")
    s.add_argument("--epochs", type=int, help="override the preset's epochs")
    s.add_argument("--data", choices=["auto", "offline", "torchvision"], help="MNIST source (default: the preset's)")
    s.add_argument("--temperatures", type=float, nargs="*", default=[0.05, 0.1, 0.2, 0.5, 1.0])
    s.add_argument("--batch-sizes", type=int, nargs="*", default=[64, 128, 256, 512])
    s.add_argument("--out", help="write the results as JSON here, e.g. benchmarks/sweep-cpu-2core.json")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    base = preset(args.preset)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("data", args.data)) if v is not None}
    try:
        base = replace(base, **overrides)
        runs = run_sweep(base, args.temperatures, args.batch_sizes, progress=not args.quiet)
    except ValueError as err:
        parser.error(str(err))
    print(f"{'sweep':<12} {'temp':>6} {'batch':>6} {'kNN':>7} {'align':>7} {'unif':>7} {'train s':>8}")
    for r in runs:
        print(f"{r['sweep']:<12} {r['temperature']:>6g} {r['batch_size']:>6d} {r['knn_acc']:>7.4f} "
              f"{r['alignment']:>7.3f} {r['uniformity']:>7.3f} {r['train_s']:>8.1f}")
    if args.out:
        command = "python -m clhelpers.experiments " + " ".join(sys.argv[1:] if argv is None else argv)
        print(f"wrote {save_sweep(args.out, runs, command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ============================================================================ plots (notebook 06)
def _record_label(record: dict) -> str:
    m = record.get("machine", {})
    where = m.get("cuda_device") or f"{m.get('processor', '?')} x{m.get('cpu_count', '?')} CPU"
    return f"recorded on {where} ({record.get('file', '?')})"


def plot_alignment_uniformity(runs: list[dict], recorded: Sequence[dict] = (), title: str | None = None):
    """The alignment-uniformity plane (Wang & Isola, 2020) for the temperature sweep, loss space.

    One point per run of ``runs`` with ``"sweep" == "temperature"`` (labelled with tau), joined in
    temperature order; ``recorded`` sweep records (``load_sweeps``) are drawn hollow. Both axes:
    lower is better, so good runs sit bottom left.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=75)
    series = [("this run", runs, "o", "C0")]
    series += [(_record_label(r), r["runs"], "s", f"C{i + 1}") for i, r in enumerate(recorded)]
    annotated = False
    for label, rs, marker, color in series:
        pts = sorted((r["temperature"], r["uniformity"], r["alignment"]) for r in rs if r.get("sweep") == "temperature")
        if not pts:
            continue
        hollow = label != "this run"
        ax.plot([p[1] for p in pts], [p[2] for p in pts], marker=marker, color=color, label=label,
                markerfacecolor="none" if hollow else color, linestyle="--" if hollow else "-")
        if not annotated:  # label the points of the first series only (recorded ones often coincide)
            for t, u, a in pts:
                ax.annotate(f"τ={t:g}", (u, a), textcoords="offset points", xytext=(5, 4), fontsize=8, color=color)
            annotated = True
    ax.margins(0.15)
    ax.set_xlabel("uniformity (lower = more spread out)")
    ax.set_ylabel("alignment (lower = positives closer)")
    ax.set_title(title or "Temperature on the alignment-uniformity plane")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sweep_accuracy(runs: list[dict], recorded: Sequence[dict] = (), title: str | None = None):
    """kNN accuracy against temperature (left) and batch size (right), live runs and recorded ones."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 2, figsize=(10, 3.6), dpi=75)
    series = [("this run", runs, "o", "C0", "-")]
    series += [(_record_label(r), r["runs"], "s", f"C{i + 1}", "--") for i, r in enumerate(recorded)]
    for ax, sweep, key, xlabel in ((axs[0], "temperature", "temperature", "temperature τ (log scale)"),
                                   (axs[1], "batch_size", "batch_size", "batch size (log scale)")):
        ticks = set()
        for label, rs, marker, color, style in series:
            pts = sorted((r[key], r["knn_acc"]) for r in rs if r.get("sweep") == sweep)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color, linestyle=style, label=label)
                ticks.update(p[0] for p in pts)
        ax.set_xscale("log")
        if ticks:  # label the swept values themselves, not powers of ten
            ax.set_xticks(sorted(ticks), [f"{v:g}" for v in sorted(ticks)])
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel("kNN accuracy (test)")
        ax.set_title(f"{sweep.replace('_', ' ')} sweep", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(title or "kNN accuracy after the same number of epochs", fontsize=11)
    fig.tight_layout()
    return fig


def plot_hardness(temperatures: Sequence[float], shares: dict[int, Sequence[float]], n_negatives: int, title: str | None = None):
    """Share of the negative gradient on the k hardest negatives vs temperature, one line per k,
    with the even-spread baseline ``k / n_negatives`` dotted."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=75)
    for i, (k, values) in enumerate(sorted(shares.items())):
        ax.plot(temperatures, values, marker="o", color=f"C{i}", label=f"top {k} of {n_negatives}")
        ax.axhline(k / n_negatives, color=f"C{i}", linestyle=":", label=f"even spread, k={k}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("temperature τ (log scale)")
    ax.set_ylabel("share of negative gradient")
    ax.set_title(title or "Hardness-awareness: where the gradient goes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ============================================================================ robustness demo
def write_truncated_mnist(root: str | os.PathLike, keep_images: int = 1000) -> Path:
    """Write what an interrupted download leaves in ``ROOT/MNIST/raw``: valid IDX headers, complete
    label files, but image files that stop after ``keep_images`` digits. For demos and tests of
    ``load_mnist(source="torchvision", root=ROOT)``, which must refuse them. Returns the raw folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + bytes(keep_images * 28 * 28))
        header = (2049).to_bytes(4, "big") + n.to_bytes(4, "big")
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header + bytes(n))
    return raw
