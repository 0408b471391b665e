"""The figures of training runs, per epoch: losses and kNN accuracy of runs side by side (``training_curves``),
each loss on its own axis (``losses_apart``), the InfoNCE bound with the kNN accuracy of one run, and the positive's
rank (``plot_positive_rank``: the loss beside the top-1 and top-5 accuracy of the rank monitor, with chance)."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from matplotlib.figure import Figure

from ..losses import nt_xent_floor
from ._style import AXIS_LABELS, BASELINE_COLORS, PAIR_COLORS, _baselines, _figure, _label_axes

def training_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], keys: Sequence[str] = ("loss", "knn_acc"),
                    title: str = "Training runs compared", reference: Mapping[str, float] | None = None,
                    reference_label: str = "reference") -> Figure:
    """One panel per key (e.g. loss, kNN accuracy) against epoch, one line per run (``histories``: label -> list
    of per-epoch dicts with "epoch" and the keys); ``reference`` (key -> value) dotted; losses > 1e3 on a log axis."""
    fig, axs = _figure(ncols=len(keys), figsize=(min(10, 4.2 * len(keys)), 3.2))
    for ax, key in zip(axs[0], keys):
        big = False
        for i, (label, hist) in enumerate(histories.items()):
            values = [float(h[key]) for h in hist if key in h]
            big |= bool(values) and max(abs(v) for v in values) > 1e3
            ax.plot([h["epoch"] for h in hist if key in h], values, marker="o", color=PAIR_COLORS[i % 10], label=label)
        if reference and key in reference:
            ax.axhline(reference[key], color="0.4", linestyle=":", label=f"{reference_label} {reference[key]:.3g}")
        ax.set_yscale("log" if big else "linear")
        label = AXIS_LABELS.get(key, key.replace("_", " "))
        _label_axes(ax, "epoch", label + (" (log scale)" if big else ""), label)
    fig.suptitle(title, fontsize=11)
    return fig


def losses_apart(histories: Mapping[str, Sequence[Mapping[str, float]]], chance_loss: float | None = None,
                 references: Mapping[str, float] | None = None, title: str = "Training runs, each loss on its own axis") -> Figure:
    """One loss panel per run (``histories``: label -> per-epoch dicts with "epoch", "loss" and "knn_acc"), each on
    its own linear y axis, so that a stuck loss of 1e15 cannot flatten a falling loss of 6 drawn beside it; then one
    panel of kNN accuracy per epoch for all runs. ``chance_loss`` (e.g. log(2N-1), the loss of embeddings that tell
    nothing apart) is dotted in each loss panel whose values are within 1e3 of it; ``references`` (label -> accuracy,
    e.g. raw pixels) are dashed in the kNN panel."""
    if not 1 <= len(histories) <= 3:
        raise ValueError(f"need 1 to 3 runs (one loss panel each), got {len(histories)}; compare more runs in a table")
    fig, axs = _figure(ncols=len(histories) + 1, figsize=(min(10, 3.2 * (len(histories) + 1)), 3.2))
    for i, (ax, (label, hist)) in enumerate(zip(axs[0], histories.items())):
        if not hist or any("loss" not in h or "epoch" not in h for h in hist):
            raise ValueError(f"run {label!r}: every epoch needs 'epoch' and 'loss' (pass TrainResult.history)")
        values = [float(h["loss"]) for h in hist]
        ax.plot([h["epoch"] for h in hist], values, marker="o", color=PAIR_COLORS[i % 10], label=label)
        if chance_loss is not None and max(abs(v) for v in values) < 1e3 * max(abs(chance_loss), 1.0):
            ax.axhline(chance_loss, color="0.4", linestyle=":", label=f"log(2N-1) = {chance_loss:.3g}")
        _label_axes(ax, "epoch", "training loss", f"loss: {label}")
    ax = axs[0, -1]
    for i, (label, hist) in enumerate(histories.items()):
        points = [(h["epoch"], float(h["knn_acc"])) for h in hist if h.get("knn_acc") is not None]
        if points:
            ax.plot(*zip(*points), marker="o", color=PAIR_COLORS[i % 10], label=label)
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=BASELINE_COLORS[i % len(BASELINE_COLORS)], linestyle="--", lw=1.2, label=f"{label} {value:.3g}")
    _label_axes(ax, "epoch", "kNN accuracy", "kNN accuracy (test)")
    fig.suptitle(title, fontsize=11)
    return fig


def plot_bound_and_knn(history: Sequence[Mapping], batch_size: int, baselines: Mapping[str, float] = {},
                       title: str | None = None, temperature: float | None = None) -> Figure:
    """Left: the InfoNCE lower bound on the mutual information between the two views, ``log(2N - 1) - L`` per
    epoch (L: the epoch's mean NT-Xent loss, N = ``batch_size``; dotted: its ceiling log(2N - 1); with
    ``temperature`` t, dashed: the cap ``log(2N - 1) - nt_xent_floor(N, t)`` that the bound cannot pass at that
    temperature, since no batch of unit vectors scores below the loss floor, ``losses.nt_xent_floor``). Right: the
    kNN accuracy of the epochs where it was measured, with ``baselines`` (label -> accuracy) as dashed lines."""
    if int(batch_size) != batch_size or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (the N of log(2N - 1)), got {batch_size!r}")
    if not history or any("epoch" not in h or "loss" not in h for h in history):
        raise ValueError("history must be train()'s list of per-epoch dicts with 'epoch', 'loss' and 'knn_acc'")
    cap = math.log(2 * int(batch_size) - 1)
    fig, axs = _figure(ncols=2, figsize=(10, 3.6))
    left, right = axs[0]
    left.plot([h["epoch"] for h in history], [cap - h["loss"] for h in history], marker="o", ms=3, label="log(2N-1) - loss")
    left.axhline(cap, color="0.4", linestyle=":", label=f"ceiling log(2N-1) = {cap:.2f} (N = {int(batch_size)})")
    if temperature is not None:
        if not (isinstance(temperature, (int, float)) and 0 < temperature < math.inf):
            raise ValueError(f"temperature must be a positive number (the run's), got {temperature!r}")
        at_t = cap - nt_xent_floor(int(batch_size), temperature)
        left.axhline(at_t, color="tab:red", linestyle="--", label=f"floor at τ = {temperature:g}: bound ≤ {at_t:.2f}")
    _label_axes(left, "epoch", "bound on I(view 1; view 2) (nats)", "InfoNCE lower bound, per epoch", legend_loc="best")
    measured = [(h["epoch"], h["knn_acc"]) for h in history if h.get("knn_acc") is not None]
    if measured:
        right.plot(*zip(*measured), marker="o", ms=4, color="C0", label="SimCLR features h")
    _baselines(right, baselines)
    _label_axes(right, "epoch", "kNN accuracy (test)", "kNN accuracy on h", legend_loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_positive_rank(histories: Mapping[str, Sequence[Mapping[str, float]]], batch_size: int,
                       title: str = "The positive's rank during training") -> Figure:
    """Three panels against epoch, one line per run (``histories``: label -> ``TrainResult.history`` of a run with
    ``rank_monitor=True``): the training loss, the top-1 and the top-5 accuracy of the positive among the 2N - 1
    candidates (N = ``batch_size``, the monitor's batch), each accuracy with its chance level k / (2N - 1) dotted."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 3:
        raise ValueError(f"batch_size must be an int >= 3 (the monitor's N: top-5 needs 2N - 1 >= 5), got {batch_size!r}")
    if not histories:
        raise ValueError("histories is empty: pass {label: result.history} of at least one run trained with rank_monitor=True")
    for label, hist in histories.items():
        if not hist or any(not {"epoch", "loss", "top1_acc", "top5_acc"} <= set(h) for h in hist):
            raise ValueError(f"run {label!r}: every epoch needs 'top1_acc' and 'top5_acc'; train it with "
                             "replace(config, rank_monitor=True)")
    candidates = 2 * int(batch_size) - 1
    fig, axs = _figure(ncols=3, figsize=(10, 3.2))
    panels = (("loss", "training loss", None), ("top1_acc", "top-1 accuracy of the positive", 1),
              ("top5_acc", "top-5 accuracy of the positive", 5))
    for ax, (key, ylabel, k) in zip(axs[0], panels):
        for i, (label, hist) in enumerate(histories.items()):
            ax.plot([h["epoch"] for h in hist], [float(h[key]) for h in hist], marker="o", ms=4,
                    color=PAIR_COLORS[i % 10], label=label)
        if k is not None:
            ax.axhline(k / candidates, color="0.4", linestyle=":", label=f"chance {k}/{candidates} = {k / candidates:.3f}")
            ax.set_ylim(0, 1.02)
        _label_axes(ax, "epoch", ylabel, ylabel.replace(" of the positive", ""), legend_loc="best")
    fig.suptitle(title + f" (N = {int(batch_size)}: {candidates} candidates per view)", fontsize=11)
    return fig
