"""The look every figure shares, and the private helpers that give it: a figure of at most 10 x 4 inches at
``DPI`` = 100, no text below ``SMALL_PT`` = 8 points, plain-number log axes, labelled dashed baselines, and the
label of a recorded result (``recorded_label``). Only the modules of ``clhelpers.plots`` import the private names."""
from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator
from numpy.typing import ArrayLike

DPI = 100
SMALL_PT = 8  # legends, tick labels of crowded axes: never smaller than this
AXIS_LABELS = {"loss": "training loss", "knn_acc": "kNN accuracy", "images_per_s": "images / s"}
PAIR_COLORS = plt.get_cmap("tab10").colors
BASELINE_COLORS = ("0.35", "tab:red", "tab:purple", "tab:brown")


def _np(x: ArrayLike) -> np.ndarray:
    """A tensor, array or list as a float NumPy array."""
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float)


def _figure(ncols: int = 1, nrows: int = 1, figsize: tuple[float, float] = (5, 4),
            **kw: Any) -> tuple[Figure, np.ndarray]:
    """``(fig, axes)``: a constrained-layout figure at ``DPI`` with a 2-D array of panels; at most 10 x 4 inches."""
    if figsize[0] > 10 or figsize[1] > 4:
        raise ValueError(f"figsize {figsize} is larger than the (10, 4) inches the notebooks allow; pass a smaller one")
    return plt.subplots(nrows, ncols, figsize=figsize, dpi=DPI, layout="constrained", squeeze=False, **kw)


def _axes(figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure with one panel: ``(fig, ax)``."""
    fig, axs = _figure(figsize=figsize)
    return fig, axs[0, 0]


def _label_axes(ax: Axes, xlabel: str, ylabel: str, title: str, log_x: Sequence[float] | None = None,
                legend_loc: str | None = "best") -> None:
    """The set-up every plot shares: optional log x axis (``_log_axis``), labels, title, legend unless loc None."""
    if log_x is not None:
        _log_axis(ax, "x", log_x)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    if legend_loc is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=SMALL_PT, loc=legend_loc)


def _log_axis(ax: Axes, which: str = "x", values: Sequence[float] = ()) -> None:
    """Log scale with plain-number ticks (0.05, 0.1, 0.2, not only 10^-1 and 10^0): at ``values`` (e.g. the
    swept temperatures) when there are 2 to 8, else 1-2-5 per decade (1-3 beyond two decades). Call it last."""
    getattr(ax, f"set_{which}scale")("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    ticks, (lo, hi) = sorted({float(v) for v in values if v > 0}), getattr(ax, f"get_{which}lim")()
    fixed, subs = 2 <= len(ticks) <= 8, (1.0, 2.0, 5.0) if hi / lo <= 100 else (1.0, 3.0)
    axis.set_major_locator(FixedLocator(ticks) if fixed else LogLocator(10, subs, numticks=30))
    axis.set_minor_locator(NullLocator() if fixed else LogLocator(10, "auto", numticks=30))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _unit_circle(ax: Axes, lim: float = 1.3) -> None:
    """The dotted unit circle and faint axes through the origin, on equal axes from -lim to lim."""
    ax.add_patch(Circle((0, 0), 1.0, fill=False, color="0.6", linestyle=":", linewidth=1))
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def _image_cell(ax: Axes, image: np.ndarray | None, vmax: float = 1.0, row_label: str | None = None) -> None:
    """One grey-scale image (or an empty cell) without ticks or frame; ``row_label`` is written left of it."""
    ax.set(xticks=[], yticks=[])
    ax.spines[:].set_visible(False)
    if image is not None:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest")
    if row_label is not None:
        ax.set_ylabel(row_label, rotation=0, ha="right", va="center", fontsize=9)


def _baselines(ax: Axes, baselines: Mapping[str, float]) -> None:
    """Labelled dashed horizontal lines, e.g. ``{"raw pixels": 0.934, "random init": 0.83}``."""
    for i, (label, value) in enumerate(baselines.items()):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"baseline {label!r} must be a finite number, got {value!r}; e.g. {{'raw pixels': 0.934}}")
        ax.axhline(value, color=BASELINE_COLORS[i % len(BASELINE_COLORS)], linestyle="--", lw=1.2, label=f"{label} {value:.3g}")


def recorded_label(record: Mapping) -> str:
    """``recorded on <GPU, or CPU model x cores>[, S steps per run] (<file>)`` for a record with ``machine``
    (and ``file``); the steps part when its ``command`` used ``--fixed-steps S``."""
    m = record.get("machine") or {}  # machine_description() keys, or the older machine_info() ones
    cpu = re.sub(r"\((R|TM)\)|\s*CPU\b|\s*@.*", "", str(m.get("cpu") or m.get("processor") or "?")).strip()
    where = m.get("gpu") or m.get("cuda_device") or f"{cpu} x{m.get('cpu_count', '?')} CPU"
    steps = re.search(r"--fixed-steps[ =](\d+)", str(record.get("command", "")))  # batch sizes at equal steps
    return f"recorded on {where}{f', {steps[1]} steps per run' if steps else ''} ({record.get('file', '?')})"
