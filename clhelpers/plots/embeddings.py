"""Maps of an embedding: 2-D points (e.g. ``evaluate.tsne_map`` of h) drawn side by side, coloured by class."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ._style import PAIR_COLORS, SMALL_PT, _figure, _np


def plot_embedding_maps(maps: Mapping[str, ArrayLike], labels: ArrayLike, title: str | None = None,
                        point_size: float = 3.0) -> Figure:
    """One panel per entry of ``maps`` (panel title -> (N, 2) points), every point coloured by its class.

    ``labels``: N integer classes (0-9 get the ``tab10`` colours), the same rows in every map. The axes carry no
    ticks: a t-SNE map's coordinates, the distances between its clusters and the clusters' sizes mean nothing;
    only who sits next to whom does. One legend (the classes) for all panels.
    """
    if not maps:
        raise ValueError("maps is empty; pass {'panel title': points (N, 2)}, e.g. {'trained h': tsne_map(h)}")
    y = _np(labels).astype(int)
    if y.ndim != 1 or (y < 0).any() or y.max(initial=0) >= len(PAIR_COLORS):
        raise ValueError(f"labels must be N classes in 0..{len(PAIR_COLORS) - 1}, got shape {y.shape}; pass y_test[subset]")
    points = {name: _np(p) for name, p in maps.items()}
    for name, p in points.items():
        if p.shape != (len(y), 2) or not np.isfinite(p).all():
            raise ValueError(f"map {name!r} must be finite points of shape ({len(y)}, 2), one row per label, got {p.shape}")
    fig, axs = _figure(ncols=len(points), figsize=(min(10, 4.2 * len(points)), 4))
    colors = np.asarray(PAIR_COLORS)[y]
    for ax, (name, p) in zip(axs[0], points.items()):
        ax.scatter(p[:, 0], p[:, 1], c=colors, s=point_size, linewidths=0, rasterized=True)
        ax.set(xticks=[], yticks=[], aspect="equal")
        ax.set_title(name, fontsize=10)
    for c in sorted(set(y.tolist())):
        axs[0, -1].scatter([], [], color=PAIR_COLORS[c], s=20, label=str(c))
    axs[0, -1].legend(fontsize=SMALL_PT, loc="center left", bbox_to_anchor=(1.0, 0.5), title="class",
                      title_fontsize=SMALL_PT, frameon=False, handletextpad=0.1)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
