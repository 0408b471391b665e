"""Notebook 08's redundancy-reduction figure: cross-correlation matrices (Barlow Twins' C) side by side."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ._style import SMALL_PT, _figure, _np

__all__ = ["plot_cross_correlation"]


def plot_cross_correlation(matrices: Mapping[str, ArrayLike], title: str = "Cross-correlation C of the two views",
                           ) -> Figure:
    """One heatmap per (D, D) matrix of ``matrices`` (panel title -> C, e.g. ``{"untrained": c0, "trained": c1}``),
    on one colour scale from -1 to 1 (``losses.cross_correlation``'s range) with one colour bar. Under each panel:
    the mean of its diagonal (Barlow Twins wants 1) and the root mean square of its off-diagonal entries (it
    wants 0). At most 4 panels."""
    if not isinstance(matrices, Mapping) or not 1 <= len(matrices) <= 4:
        raise ValueError("matrices must be a dict of 1 to 4 panels, title -> (D, D) matrix, e.g. {'trained': c}")
    arrays = {name: _np(c) for name, c in matrices.items()}
    for name, c in arrays.items():
        if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
            raise ValueError(f"matrix {name!r} must be square (D, D) with D >= 2, got shape {c.shape}; "
                             "pass losses.cross_correlation(z1, z2)")
    fig, axs = _figure(ncols=len(arrays), figsize=(3.2 * len(arrays) + 1, 3.6))
    for ax, (name, c) in zip(axs[0], arrays.items()):
        im = ax.imshow(c, cmap=plt.get_cmap("coolwarm"), vmin=-1, vmax=1)
        off = c[~np.eye(c.shape[0], dtype=bool)]
        ax.set_title(name, fontsize=SMALL_PT + 2)
        ax.set_xlabel(f"dimension j of z2\nmean C_ii {np.mean(np.diag(c)):.2f}, rms C_ij (i≠j) "
                      f"{np.sqrt(np.mean(off ** 2)):.2f}", fontsize=SMALL_PT)
        ax.set_ylabel("dimension i of z1", fontsize=SMALL_PT)
        ax.tick_params(labelsize=SMALL_PT)
    fig.colorbar(im, ax=axs[0].tolist(), label="C_ij", shrink=0.8)
    fig.suptitle(title, fontsize=SMALL_PT + 3)
    return fig
