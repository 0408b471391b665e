"""The figures of the ideas, drawn from a few numbers, not from a training run: vectors on the unit circle,
softmax probabilities, the similarity matrix of 2N views, the InfoNCE bound, gradient steps on 2-D embeddings,
each negative's share of the push, hardness against temperature, and the 2-D playground's points."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from numpy.typing import ArrayLike

from ._style import PAIR_COLORS, SMALL_PT, _axes, _figure, _label_axes, _log_axis, _np, _unit_circle

def unit_circle_vectors(vectors: ArrayLike, labels: Sequence[str] | None = None,
                        title: str = "Vectors and the unit circle",
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


def probability_bars(probabilities: ArrayLike, labels: Sequence[str] | None = None,
                     title: str = "Softmax probabilities", highlight: int | None = None, ylabel: str = "probability",
                     n_candidates: int | None = None) -> Figure:
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


def similarity_heatmap(similarity: ArrayLike, n_pairs: int | None = None, mask_diagonal: bool = True,
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


def negative_weight_curves(similarities: ArrayLike, weights_by_temperature: Mapping[float, Sequence[float]],
                           highlight: float | None = None,
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


def plot_hardness(temperatures: Sequence[float], shares: Mapping[int, Sequence[float]], n_negatives: int,
                  title: str | None = None) -> Figure:
    """Share of the negative gradient on the k hardest negatives vs temperature on log-log axes, one line per k
    (``shares[k]``: ``metrics.hard_negative_share`` per temperature). Dashed: the even-spread level
    ``k / n_negatives`` it falls to at large temperatures (each negative then gets ``1 / n_negatives``)."""
    t = _np(temperatures).ravel()
    if not len(t) or not (t > 0).all() or int(n_negatives) != n_negatives or n_negatives < 1:
        raise ValueError(f"need positive temperatures (e.g. [0.05, 0.1, 0.5]) and n_negatives a positive integer (2N - 2), "
                         f"got {list(t)} and {n_negatives!r}")
    fig, ax = _axes((6, 3.6))
    lowest = 1.0
    for i, (k, values) in enumerate(sorted(shares.items())):
        v = _np(values).ravel()
        if v.shape != t.shape or not 1 <= k <= n_negatives:
            raise ValueError(f"shares[{k}]: need 1 <= k <= n_negatives and one share per temperature ({len(t)}), got {len(v)}")
        even = k / n_negatives
        ax.plot(t, v, marker="o", color=f"C{i}", label=f"top {k} of {n_negatives}", zorder=3)
        ax.axhline(even, color=f"C{i}", linestyle="--", lw=1.5, label=f"even spread {k}/{n_negatives} = {even:.2g}")
        lowest = min(lowest, even, float(np.min(v[v > 0], initial=1.0)))
    ax.set_ylim(lowest / 2, 1.3)
    _log_axis(ax, "y")
    title = title or "Hardness-awareness: where the gradient goes"
    _label_axes(ax, "temperature τ (log scale)", "share of negative gradient", title, log_x=t)
    return fig


def playground_points(z: ArrayLike, views: tuple[ArrayLike, ArrayLike], labels: ArrayLike, caption: str,
                      title: str) -> Figure:
    """The 2-D playground on the unit circle: each sample's embedding ``z`` (n, 2) as a large dot coloured by its
    hidden class (``labels``, n ints), the two views of the next step (``views`` = (z1, z2), each (n, 2)) as small
    circles and squares, and ``caption`` (e.g. the measures) written at the centre."""
    z, (z1, z2), labels = _np(z), (_np(v) for v in views), np.asarray(labels, dtype=int).ravel()
    if z.ndim != 2 or z.shape[1] != 2 or z1.shape != z.shape or z2.shape != z.shape or labels.shape != (len(z),):
        raise ValueError(f"need z, z1, z2 of one shape (n, 2) and n labels, got {z.shape}, {z1.shape}, {z2.shape}, "
                         f"{labels.shape}")
    fig, ax = _axes((4.6, 3.8))
    _unit_circle(ax, 1.3)
    for c in sorted(set(labels.tolist())):
        rows, color = labels == c, PAIR_COLORS[c % 10]
        ax.plot(*z1[rows].T, "o", ms=3, mfc="none", color=color, alpha=0.6)
        ax.plot(*z2[rows].T, "s", ms=3, mfc="none", color=color, alpha=0.6)
        ax.plot(*z[rows].T, "o", ms=7, color=color, alpha=0.8, label=f"class {c}")
    ax.text(0, 0, caption, ha="center", va="center", fontsize=SMALL_PT)
    ax.set(xticks=[-1, 0, 1], yticks=[-1, 0, 1], xlabel="coordinate 1", ylabel="coordinate 2")
    ax.tick_params(labelsize=SMALL_PT)
    ax.legend(fontsize=SMALL_PT, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title, fontsize=9)
    return fig
