"""The figures of the ideas, images and views, and training curves; each returns its Figure. The figures of
results (sweeps, label efficiency, the InfoNCE bound during training, retrieval) are in ``clhelpers.plots_results``.

Made with ``matplotlib.pyplot`` (Jupyter shows them at the end of a cell) at ``DPI`` = 100, at most 10 x 4
inches, no text below ``SMALL_PT`` = 8 points; close them with ``plt.close(fig)`` when drawing many.
Inputs may be tensors, arrays or lists. Sweeps with several seeds per setting are drawn as mean ± sd."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from .augment import ViewParams, random_affine, to_unit_float

DPI = 100
SMALL_PT = 8  # legends, tick labels of crowded axes: never smaller than this
AXIS_LABELS = {"loss": "training loss", "knn_acc": "kNN accuracy", "images_per_s": "images / s"}
PAIR_COLORS = plt.get_cmap("tab10").colors
BASELINE_COLORS = ("0.35", "tab:red", "tab:purple", "tab:brown")


def _np(x) -> np.ndarray:
    """A tensor, array or list as a float NumPy array."""
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float)


def _figure(ncols: int = 1, nrows: int = 1, figsize: tuple[float, float] = (5, 4), **kw):
    if figsize[0] > 10 or figsize[1] > 4:
        raise ValueError(f"figsize {figsize} is larger than the (10, 4) inches the notebooks allow; pass a smaller one")
    return plt.subplots(nrows, ncols, figsize=figsize, dpi=DPI, layout="constrained", squeeze=False, **kw)


def _axes(figsize: tuple[float, float]):
    """A figure with one panel: ``(fig, ax)``."""
    fig, axs = _figure(figsize=figsize)
    return fig, axs[0, 0]


def _label_axes(ax, xlabel: str, ylabel: str, title: str, log_x: Sequence[float] | None = None, legend_loc: str | None = "best"):
    """The set-up every plot shares: optional log x axis (``_log_axis``), labels, title, legend unless loc None."""
    if log_x is not None:
        _log_axis(ax, "x", log_x)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    if legend_loc is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=SMALL_PT, loc=legend_loc)


def _log_axis(ax, which: str = "x", values: Sequence[float] = ()) -> None:
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


def _unit_circle(ax, lim: float = 1.3) -> None:
    ax.add_patch(Circle((0, 0), 1.0, fill=False, color="0.6", linestyle=":", linewidth=1))
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def _image_cell(ax, image: np.ndarray | None, vmax: float = 1.0, row_label: str | None = None) -> None:
    """One grey-scale image (or an empty cell) without ticks or frame; ``row_label`` is written left of it."""
    ax.set(xticks=[], yticks=[])
    ax.spines[:].set_visible(False)
    if image is not None:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest")
    if row_label is not None:
        ax.set_ylabel(row_label, rotation=0, ha="right", va="center", fontsize=9)


def unit_circle_vectors(vectors, labels: Sequence[str] | None = None, title: str = "Vectors and the unit circle",
                        show_normalized: bool = True) -> Figure:
    """Arrows from the origin for 2-D ``vectors`` (K, 2), with the unit circle; with
    ``show_normalized`` each vector's L2-normalized version ``v / |v|`` is drawn dashed on the circle."""
    v = _np(vectors).reshape(-1, 2)
    labels = list(labels) if labels is not None else [f"v{i}" for i in range(len(v))]
    if len(labels) != len(v):
        raise ValueError(f"got {len(v)} vectors but {len(labels)} labels; give one label per vector")
    fig, ax = _axes((4.5, 4))
    _unit_circle(ax, max(1.3, 1.15 * float(np.abs(v).max(initial=0))))
    for i, (vec, lab) in enumerate(zip(v, labels)):
        color = PAIR_COLORS[i % 10]
        ax.annotate("", xy=vec, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=lab)
        norm = float(np.linalg.norm(vec))
        if show_normalized and norm > 0 and abs(norm - 1) > 1e-6:
            ax.plot([0, vec[0] / norm], [0, vec[1] / norm], color=color, linestyle="--", lw=1, marker="o", ms=5, markevery=[1])
    if show_normalized:
        ax.plot([], [], color="0.4", linestyle="--", lw=1, label="normalized (on the circle)")
    _label_axes(ax, "coordinate 1", "coordinate 2", title, legend_loc="lower left")
    return fig


def probability_bars(probabilities, labels: Sequence[str] | None = None, title: str = "Softmax probabilities",
                     highlight: int | None = None, ylabel: str = "probability", n_candidates: int | None = None) -> Figure:
    """Bar chart of a probability vector, bar ``highlight`` (e.g. the positive) orange; dotted: the uniform level
    ``1 / n_candidates`` (default one per bar; pass 2N - 1 when a masked self-similarity is a bar of height 0)."""
    p = _np(probabilities).ravel()
    labels = list(labels) if labels is not None else [str(i) for i in range(len(p))]
    if len(labels) != len(p):
        raise ValueError(f"got {len(p)} probabilities but {len(labels)} labels; give one label per bar")
    fig, ax = _axes((6, 3))
    ax.bar(range(len(p)), p, color=["tab:orange" if i == highlight else "tab:blue" for i in range(len(p))])
    ax.set_xticks(range(len(p)), labels, fontsize=SMALL_PT + 1)
    ax.set_ylim(0, 1.05)
    k = len(p) if n_candidates is None else int(n_candidates)
    ax.axhline(1 / k, color="0.5", linestyle=":", linewidth=1, label=f"uniform (1/{k})")
    _label_axes(ax, "candidate", ylabel, title, legend_loc="upper right")
    return fig


def similarity_heatmap(similarity, n_pairs: int | None = None, mask_diagonal: bool = True,
                       title: str = "Cosine similarity of all 2N views") -> Figure:
    """Heatmap of a (2N, 2N) similarity matrix of stacked views ``[z1; z2]``: the diagonal (a view with itself,
    never a candidate) greyed out when ``mask_diagonal``, each row's positive (column i + N mod 2N) framed."""
    s = _np(similarity)
    n = (s.shape[0] if s.ndim == 2 else 0) // 2 if n_pairs is None else int(n_pairs)
    if n < 1 or s.shape != (2 * n, 2 * n):
        raise ValueError(f"similarity must be a square (2N, 2N) matrix with N = n_pairs, got shape {s.shape}, n_pairs={n_pairs}")
    shown = np.ma.masked_where(np.eye(2 * n, dtype=bool), s) if mask_diagonal else s
    fig, ax = _axes((5, 4))
    im = ax.imshow(shown, cmap=plt.get_cmap("coolwarm").with_extremes(bad="0.75"), vmin=-1, vmax=1)
    where = range(0, 2 * n, math.ceil(2 * n / 16))
    ticks = [f"z{1 + i // n}[{i % n}]" for i in where]  # z1[0..N-1], then z2[0..N-1]
    ax.set_xticks(where, ticks, rotation=90, fontsize=SMALL_PT)
    ax.set_yticks(where, ticks, fontsize=SMALL_PT)
    for i in range(2 * n):
        ax.add_patch(Rectangle(((i + n) % (2 * n) - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=2,
                               label="positive pair" if i == 0 else None))
    if mask_diagonal:
        ax.add_patch(Rectangle((0, 0), 0, 0, color="0.75", label="masked (self)"))
    _label_axes(ax, "candidate view j", "anchor view i", title, legend_loc=None)
    fig.legend(loc="outside lower center", ncol=2, fontsize=SMALL_PT, frameon=False)
    fig.colorbar(im, ax=ax, label="cosine similarity", shrink=0.8)
    return fig


def mi_bound_curves(batch_sizes: Sequence[int] = (4, 16, 64, 256),
                    title: str = "InfoNCE lower bound on mutual information") -> Figure:
    """For each batch size N: the bound ``I(view1; view2) >= log(2N - 1) - L`` against the loss L,
    from L = 0 (bound = log(2N-1), its ceiling) to the collapse value (bound = 0)."""
    if not batch_sizes or min(batch_sizes) < 2:
        raise ValueError("batch_sizes must be a non-empty list of integers >= 2, e.g. [4, 16, 64]")
    fig, ax = _axes((6, 3.5))
    for i, n in enumerate(batch_sizes):
        loss = np.linspace(0, cap := math.log(2 * n - 1), 50)
        ax.plot(loss, cap - loss, color=PAIR_COLORS[i % 10], label=f"N = {n}: ceiling log(2N-1) = {cap:.2f} nats")
    ax.set(xlim=(0, None), ylim=(0, None))
    _label_axes(ax, "NT-Xent loss L (nats)", "lower bound on I (nats)", title)
    return fig


def gradient_frames(positions: Sequence, directions: Sequence, n_pairs: int,
                    titles: Sequence[str] | None = None, title: str = "Gradient descent on 2-D embeddings") -> Figure:
    """Small multiples (1 to 6 frames) of 2-D embeddings on the unit circle: ``positions[f]`` is (2N, 2) (rows
    0..N-1 are z1, N..2N-1 z2), ``directions[f]`` the descent direction (minus the gradient) drawn as arrows.
    A pair shares one colour; z1 is a circle, z2 a square."""
    if len(positions) != len(directions) or not 1 <= len(positions) <= 6:
        raise ValueError("give 1 to 6 frames, with as many direction arrays as position arrays")
    fig, axs = _figure(ncols=len(positions), figsize=(min(10, 2.4 * len(positions) + 0.4), 3.1), sharey=True)
    for f, ax in enumerate(axs[0]):
        z, d = _np(positions[f]), _np(directions[f])
        if z.shape != (2 * n_pairs, 2) or d.shape != z.shape:
            raise ValueError(f"frame {f}: expected arrays of shape ({2 * n_pairs}, 2), got {z.shape} and {d.shape}")
        _unit_circle(ax, 1.45)
        scale = 0.4 / max(float(np.linalg.norm(d, axis=1).max()), 1e-12)
        for i in range(2 * n_pairs):
            color = PAIR_COLORS[(i % n_pairs) % 10]
            ax.plot(*z[i], "o" if i < n_pairs else "s", color=color, ms=6)
            ax.annotate("", xy=z[i] + scale * d[i], xytext=z[i], arrowprops=dict(arrowstyle="->", color=color, lw=1.2))
        ax.set(xticks=[-1, 0, 1], yticks=[-1, 0, 1], xlabel="coordinate 1")
        ax.set_title(titles[f] if titles is not None else f"frame {f}", fontsize=9)
        ax.tick_params(labelsize=SMALL_PT)
    axs[0, 0].set_ylabel("coordinate 2")
    axs[0, 0].legend(handles=[Line2D([], [], marker=m, ls="", color="0.3", label=v) for m, v in (("o", "z1 view"), ("s", "z2 view"))],
                     loc="lower left", fontsize=SMALL_PT)
    fig.suptitle(title + " (colour = pair, arrow = descent direction)", fontsize=10)
    return fig


def negative_weight_curves(similarities, weights_by_temperature: Mapping[float, Sequence[float]], highlight: float | None = None,
                           title: str = "Share of the push each negative receives") -> Figure:
    """Each negative's share of the gradient push, ``softmax(s_neg / t)``, against its similarity to the anchor:
    one curve per temperature (log y axis), the one for ``highlight`` thick."""
    s = _np(similarities).ravel()
    fig, ax = _axes((6, 3.5))
    for i, (t, w) in enumerate(sorted(weights_by_temperature.items())):
        w = _np(w).ravel()
        if w.shape != s.shape:
            raise ValueError(f"weights for temperature {t} have shape {w.shape}, expected {s.shape} (one per similarity)")
        thick = highlight is not None and math.isclose(t, highlight)
        ax.plot(s, w, marker="o", ms=4 if thick else 3, lw=2.5 if thick else 1, color=PAIR_COLORS[i % 10],
                label=f"t = {t:g}" + (" (selected)" if thick else ""))
    ax.axhline(1 / len(s), color="0.5", linestyle=":", lw=1, label=f"equal share (1/{len(s)})")
    ax.set_yscale("log")
    _label_axes(ax, "similarity of the negative to the anchor", "share of the gradient push", title, legend_loc="lower right")
    return fig


def image_grid(rows: Mapping[str, object], title: str = "Images", max_columns: int = 8) -> Figure:
    """One row of grey-scale images per entry of ``rows`` (label -> (K, 28, 28) or (K, 1, 28, 28)),
    at most ``max_columns`` images per row; the label is written left of its row."""
    if not rows:
        raise ValueError("rows must contain at least one labelled batch of images, e.g. {'originals': images[:8]}")
    arrays = {k: _np(v).reshape(-1, *_np(v).shape[-2:])[:max_columns] for k, v in rows.items()}
    ncols, nrows = max(len(a) for a in arrays.values()), len(arrays)
    fig, axs = _figure(ncols=ncols, nrows=nrows, figsize=(min(10, 1.1 * ncols + 1.2), min(4, 1.1 * nrows + 0.4)))
    for r, (label, imgs) in enumerate(arrays.items()):
        for c in range(ncols):
            _image_cell(axs[r, c], imgs[c] if c < len(imgs) else None, max(1.0, float(imgs.max())),
                        label if c == 0 else None)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_views(images: torch.Tensor, views_list: list[torch.Tensor], row_titles: list[str] | None = None,
               title: str | None = None, col_titles: list[str] | None = None, cell_inches: float = 0.8) -> Figure:
    """One column per image: the originals on top, then a row per entry of ``views_list`` (the same B images,
    (B, H, W) or (B, 1, H, W), uint8 or float in [0, 1]), labelled ``original``, ``view 1``, ... or ``row_titles``."""
    rows = [to_unit_float(images)] + [to_unit_float(v) for v in views_list]
    b = rows[0].shape[0]
    if b == 0 or any(r.shape != rows[0].shape for r in rows):
        raise ValueError(f"images and each of views_list need one non-empty shape, got {[tuple(r.shape) for r in rows]}")
    row_titles = row_titles or ["original"] + [f"view {k + 1}" for k in range(len(views_list))]
    if len(row_titles) != len(rows):
        raise ValueError(f"row_titles needs {len(rows)} entries (originals + views), got {len(row_titles)}")
    if col_titles is not None and len(col_titles) != b:
        raise ValueError(f"col_titles needs {b} entries (one per image), got {len(col_titles)}")
    fig, axes = _figure(b, len(rows), figsize=(min(10.0, 0.6 + cell_inches * b), min(4.0, 0.3 + cell_inches * len(rows))))
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
    for r, row in enumerate(rows):
        for c in range(b):
            _image_cell(axes[r, c], row[c, 0].cpu().numpy(), row_label=row_titles[r] if c == 0 else None)
            if r == 0 and col_titles is not None:
                axes[r, c].set_title(col_titles[c], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def preview_views(images: torch.Tensor, rotation: float = 20.0, crop_min: float = 0.6, aspect: float = 4 / 3,
                  shear: float = 10.0, translate: float = 0.1, noise_std: float = 0.0, erase_prob: float = 0.0,
                  n_views: int = 4, seed: int = 0) -> Figure:
    """The augmentation sliders' callback: ``plot_views`` of ``n_views`` seeded views (same strengths, same
    picture) with ``ViewParams(rotation, crop_scale=(crop_min, 1), aspect_ratio=(1/aspect, aspect), shear, ...)``."""
    if not aspect >= 1.0:
        raise ValueError(f"aspect must be >= 1 (the crop's aspect ratio ranges over [1/aspect, aspect]), got {aspect!r}")
    params = ViewParams(crop_scale=(crop_min, 1.0), aspect_ratio=(1.0 / aspect, aspect), rotation=rotation, shear=shear,
                        translate=translate, noise_std=noise_std, erase_prob=erase_prob)
    generator = torch.Generator().manual_seed(seed)
    views = [random_affine(images, params, generator) for _ in range(n_views)]
    title = (f"rotation ±{rotation:g}°, crop area {crop_min:g}-1, aspect ≤{aspect:.3g}, shear ±{shear:g}°, "
             f"shift ±{translate:g}, noise {noise_std:g}, erase p={erase_prob:g}")
    return plot_views(images, views, title=title)


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


def ablation_bars(summary: Mapping[str, Mapping[str, Mapping[str, float]]], metrics: Mapping[str, str],
                  baselines: Sequence[str] = (), title: str = "Ablation") -> Figure:
    """One panel per metric (``metrics``: key in ``summary`` -> axis label), one row per setting: its mean as a
    dot with ± sd error bars (``summary[metric][setting] = {"mean", "sd", "n"}``, e.g. from
    ``sweeps.summarize_runs``); dots, not bars, since the axis does not start at 0. The settings named in
    ``baselines`` (e.g. "raw pixels") are dashed vertical lines instead of rows, so every row is read against them."""
    if not metrics or any(m not in summary for m in metrics):
        raise ValueError(f"metrics must name keys of summary ({sorted(summary)}), got {list(metrics)}")
    fig, axs = _figure(ncols=len(metrics), figsize=(min(10, 4.6 * len(metrics)), 3.8), sharey=True)
    for ax, (metric, label) in zip(axs[0], metrics.items()):
        rows = [s for s in summary[metric] if s not in baselines]
        means = [summary[metric][s]["mean"] for s in rows]
        ax.errorbar(means, range(len(rows)), xerr=[summary[metric][s]["sd"] for s in rows], fmt="o", color="C0", capsize=3)
        for i, name in enumerate(b for b in baselines if b in summary[metric]):
            ax.axvline(summary[metric][name]["mean"], color=BASELINE_COLORS[i % len(BASELINE_COLORS)], linestyle="--",
                       lw=1.2, label=f"{name} {summary[metric][name]['mean']:.3f}")
        ax.set_yticks(range(len(rows)), rows, fontsize=SMALL_PT + 1)
        ax.grid(axis="x", alpha=0.3)
        n = max(summary[metric][s]["n"] for s in rows)
        _label_axes(ax, f"{label} (mean ± sd, {n} seeds)", "", label, legend_loc=None)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=SMALL_PT, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    axs[0, 0].invert_yaxis()  # the first setting on top (the y axis is shared: invert it once)
    fig.suptitle(title, fontsize=11)
    return fig
