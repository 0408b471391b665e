"""Small figure helpers for the notebooks. Each function draws one picture and returns its Figure.

Figures are created with ``matplotlib.pyplot`` (so Jupyter's inline backend shows them at the end
of a cell) at 80 dpi and at most 10 x 4 inches. Close them with ``plt.close(fig)`` when drawing
many. Inputs may be tensors, NumPy arrays or lists.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

DPI = 80
AXIS_LABELS = {"loss": "training loss", "knn_acc": "kNN accuracy", "images_per_s": "images / s"}
PAIR_COLORS = plt.get_cmap("tab10").colors


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def _figure(ncols: int = 1, nrows: int = 1, figsize: tuple[float, float] = (5, 4), **kw):
    if figsize[0] > 10 or figsize[1] > 4:
        raise ValueError(f"figsize {figsize} is larger than the (10, 4) inches the notebooks allow")
    return plt.subplots(nrows, ncols, figsize=figsize, dpi=DPI, layout="constrained", squeeze=False, **kw)


def _unit_circle(ax, lim: float = 1.3) -> None:
    ax.add_patch(Circle((0, 0), 1.0, fill=False, color="0.6", linestyle=":", linewidth=1))
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


def unit_circle_vectors(vectors, labels: Sequence[str] | None = None, title: str = "Vectors and the unit circle",
                        show_normalized: bool = True) -> Figure:
    """Arrows from the origin for 2-D ``vectors`` (K, 2), with the unit circle; with
    ``show_normalized`` each vector's L2-normalized version is drawn dashed on the circle."""
    v = _np(vectors).reshape(-1, 2)
    labels = list(labels) if labels is not None else [f"v{i}" for i in range(len(v))]
    if len(labels) != len(v):
        raise ValueError(f"got {len(v)} vectors but {len(labels)} labels")
    lim = max(1.3, 1.15 * float(np.abs(v).max(initial=0)))
    fig, axs = _figure(figsize=(4.5, 4))
    ax = axs[0, 0]
    _unit_circle(ax, lim)
    for i, (vec, lab) in enumerate(zip(v, labels)):
        color = PAIR_COLORS[i % 10]
        ax.annotate("", xy=vec, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=color, lw=2))
        ax.plot([], [], color=color, lw=2, label=lab)
        norm = float(np.linalg.norm(vec))
        if show_normalized and norm > 0 and abs(norm - 1) > 1e-6:
            u = vec / norm
            ax.plot([0, u[0]], [0, u[1]], color=color, linestyle="--", lw=1)
            ax.plot(*u, "o", color=color, ms=5)
    if show_normalized:
        ax.plot([], [], color="0.4", linestyle="--", lw=1, label="normalized (on the circle)")
    ax.set_xlabel("coordinate 1")
    ax.set_ylabel("coordinate 2")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return fig


def probability_bars(probabilities, labels: Sequence[str] | None = None, title: str = "Softmax probabilities",
                     highlight: int | None = None, ylabel: str = "probability",
                     n_candidates: int | None = None) -> Figure:
    """Bar chart of a probability vector; bar ``highlight`` (e.g. the positive) is drawn in orange.
    A dotted line marks the uniform level ``1 / n_candidates`` (default: one per bar; pass 2N - 1
    when a masked self-similarity is shown as a bar of height 0)."""
    p = _np(probabilities).ravel()
    labels = list(labels) if labels is not None else [str(i) for i in range(len(p))]
    if len(labels) != len(p):
        raise ValueError(f"got {len(p)} probabilities but {len(labels)} labels")
    colors = ["tab:orange" if i == highlight else "tab:blue" for i in range(len(p))]
    fig, axs = _figure(figsize=(6, 3))
    ax = axs[0, 0]
    ax.bar(range(len(p)), p, color=colors)
    ax.set_xticks(range(len(p)), labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    k = len(p) if n_candidates is None else int(n_candidates)
    ax.axhline(1 / k, color="0.5", linestyle=":", linewidth=1, label=f"uniform (1/{k})")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("candidate")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def similarity_heatmap(similarity, n_pairs: int | None = None, mask_diagonal: bool = True,
                       title: str = "Cosine similarity of all 2N views") -> Figure:
    """Heatmap of a (2N, 2N) similarity matrix of stacked views ``[z1; z2]``.

    The diagonal (a view compared with itself, never a candidate) is greyed out when
    ``mask_diagonal``; each row's positive (column i + N mod 2N) gets a black frame. Ticks read
    ``z1[i]`` for rows 0..N-1 and ``z2[i]`` for rows N..2N-1.
    """
    s = _np(similarity)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] % 2:
        raise ValueError(f"similarity must be a square (2N, 2N) matrix, got shape {s.shape}")
    n = s.shape[0] // 2 if n_pairs is None else int(n_pairs)
    if 2 * n != s.shape[0]:
        raise ValueError(f"n_pairs={n_pairs} does not match a matrix of size {s.shape[0]}")
    shown = np.ma.masked_where(np.eye(2 * n, dtype=bool), s) if mask_diagonal else s
    cmap = plt.get_cmap("coolwarm").with_extremes(bad="0.75")
    fig, axs = _figure(figsize=(4.6, 4))
    ax = axs[0, 0]
    im = ax.imshow(shown, cmap=cmap, vmin=-1, vmax=1)
    ticks = [f"z1[{i}]" for i in range(n)] + [f"z2[{i}]" for i in range(n)]
    ax.set_xticks(range(2 * n), ticks, rotation=90, fontsize=7)
    ax.set_yticks(range(2 * n), ticks, fontsize=7)
    for i in range(2 * n):
        ax.add_patch(Rectangle(((i + n) % (2 * n) - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=2))
    ax.add_patch(Rectangle((0, 0), 0, 0, fill=False, edgecolor="black", lw=2, label="positive pair"))
    if mask_diagonal:
        ax.add_patch(Rectangle((0, 0), 0, 0, color="0.75", label="masked (self)"))
    ax.set_xlabel("candidate view j")
    ax.set_ylabel("anchor view i")
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.colorbar(im, ax=ax, label="cosine similarity", shrink=0.8)
    return fig


def mi_bound_curves(batch_sizes: Sequence[int] = (4, 16, 64, 256),
                    title: str = "InfoNCE lower bound on mutual information") -> Figure:
    """For each batch size N: the bound ``I(view1; view2) >= log(2N - 1) - L`` against the loss L,
    from L = 0 (bound = log(2N-1), its ceiling) to the collapse value (bound = 0)."""
    if not batch_sizes or min(batch_sizes) < 2:
        raise ValueError("batch_sizes must be a non-empty list of integers >= 2")
    fig, axs = _figure(figsize=(6, 3.5))
    ax = axs[0, 0]
    for i, n in enumerate(batch_sizes):
        cap = math.log(2 * n - 1)
        loss = np.linspace(0, cap, 50)
        ax.plot(loss, cap - loss, color=PAIR_COLORS[i % 10], label=f"N = {n}: ceiling log(2N-1) = {cap:.2f} nats")
    ax.set_xlabel("NT-Xent loss L (nats)")
    ax.set_ylabel("lower bound on I (nats)")
    ax.set_title(title)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return fig


def gradient_frames(positions: Sequence, directions: Sequence, n_pairs: int,
                    titles: Sequence[str] | None = None, title: str = "Gradient descent on 2-D embeddings") -> Figure:
    """Small multiples of 2-D embeddings on the unit circle, one panel per frame.

    ``positions[f]`` is (2N, 2) (rows 0..N-1 are z1, N..2N-1 are z2) and ``directions[f]`` the
    (2N, 2) descent direction (minus the gradient) drawn as arrows. A pair shares one colour;
    z1 is a circle, z2 a square. At most 6 frames.
    """
    if len(positions) != len(directions) or not 1 <= len(positions) <= 6:
        raise ValueError("give 1 to 6 frames, with as many direction arrays as position arrays")
    k = len(positions)
    fig, axs = _figure(ncols=k, figsize=(min(10, 2.3 * k + 0.4), 2.9), sharey=True)
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
        ax.set_title(titles[f] if titles is not None else f"frame {f}", fontsize=9)
        ax.set_xlabel("coordinate 1", fontsize=8)
        ax.tick_params(labelsize=7)
    axs[0, 0].set_ylabel("coordinate 2", fontsize=8)
    axs[0, 0].plot([], [], "o", color="0.3", label="z1 view")
    axs[0, 0].plot([], [], "s", color="0.3", label="z2 view")
    axs[0, 0].legend(loc="lower left", fontsize=7)
    fig.suptitle(title + " (colour = pair, arrow = descent direction)", fontsize=10)
    return fig


def negative_weight_curves(similarities, weights_by_temperature: Mapping[float, Sequence[float]],
                           highlight: float | None = None,
                           title: str = "Share of the push each negative receives") -> Figure:
    """Relative gradient weight of each negative (its softmax probability among the negatives)
    against its similarity to the anchor, one curve per temperature (log y axis); the curve for
    ``highlight`` is drawn thick."""
    s = _np(similarities).ravel()
    fig, axs = _figure(figsize=(6, 3.5))
    ax = axs[0, 0]
    for i, (t, w) in enumerate(sorted(weights_by_temperature.items())):
        w = _np(w).ravel()
        if w.shape != s.shape:
            raise ValueError(f"weights for temperature {t} have shape {w.shape}, expected {s.shape}")
        thick = highlight is not None and math.isclose(t, highlight)
        ax.plot(s, w, marker="o", ms=4 if thick else 3, lw=2.5 if thick else 1, color=PAIR_COLORS[i % 10],
                label=f"t = {t:g}" + (" (selected)" if thick else ""))
    ax.axhline(1 / len(s), color="0.5", linestyle=":", lw=1, label=f"equal share (1/{len(s)})")
    ax.set_yscale("log")
    ax.set_xlabel("similarity of the negative to the anchor")
    ax.set_ylabel("share of the gradient push")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def image_grid(rows: Mapping[str, object], title: str = "Images", max_columns: int = 8) -> Figure:
    """One row of grey-scale images per entry of ``rows`` (label -> (K, 28, 28) or (K, 1, 28, 28)),
    at most ``max_columns`` images per row; the label is written left of its row."""
    if not rows:
        raise ValueError("rows must contain at least one labelled batch of images")
    arrays = {k: _np(v).reshape(-1, *_np(v).shape[-2:])[:max_columns] for k, v in rows.items()}
    ncols = max(len(a) for a in arrays.values())
    nrows = len(arrays)
    fig, axs = _figure(ncols=ncols, nrows=nrows, figsize=(min(10, 1.1 * ncols + 1.2), min(4, 1.1 * nrows + 0.4)))
    for r, (label, imgs) in enumerate(arrays.items()):
        for c in range(ncols):
            ax = axs[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(imgs):
                ax.imshow(imgs[c], cmap="gray", vmin=0, vmax=max(1.0, float(imgs.max())))
        axs[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def training_curves(histories: Mapping[str, Sequence[Mapping[str, float]]],
                    keys: Sequence[str] = ("loss", "knn_acc"),
                    title: str = "Training runs compared",
                    reference: Mapping[str, float] | None = None, reference_label: str = "reference") -> Figure:
    """One panel per key in ``keys`` (e.g. loss, kNN accuracy) against epoch, one line per run
    (``histories``: label -> list of per-epoch dicts with "epoch" and the keys). ``reference``
    (key -> value, e.g. raw-pixel kNN accuracy) draws a dotted horizontal line; losses above 1e3
    are drawn on a log axis."""
    fig, axs = _figure(ncols=len(keys), figsize=(min(10, 4.2 * len(keys)), 3.2))
    for ax, key in zip(axs[0], keys):
        big = False
        for i, (label, hist) in enumerate(histories.items()):
            epochs = [h["epoch"] for h in hist if key in h]
            values = [float(h[key]) for h in hist if key in h]
            big |= bool(values) and max(abs(v) for v in values) > 1e3
            ax.plot(epochs, values, marker="o", color=PAIR_COLORS[i % 10], label=label)
        if reference and key in reference:
            ax.axhline(reference[key], color="0.4", linestyle=":", label=f"{reference_label} {reference[key]:.3g}")
        if big:
            ax.set_yscale("log")
        label = AXIS_LABELS.get(key, key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label + (" (log scale)" if big else ""))
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    return fig
