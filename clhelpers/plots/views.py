"""The figures of images: rows of digits, an image with its augmented views (and the augmentation sliders'
callback), and nearest-neighbour retrieval (each query followed by its neighbours, wrong labels framed red)."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ..augment import ViewParams, random_affine, to_unit_float
from ._style import SMALL_PT, _figure, _image_cell, _np

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


def retrieval_grid(queries: ArrayLike, query_labels: ArrayLike, neighbours: ArrayLike, neighbour_labels: ArrayLike,
                   title: str | None = None, blocks: int = 2) -> Figure:
    """Nearest-neighbour retrieval: each query image ((Q, 28, 28) or (Q, 1, 28, 28)) followed by its K neighbours
    ((Q, K, 28, 28) or (Q, K, 1, 28, 28)). Every image is titled with its label (the query "query 3", bold); a neighbour whose label
    differs from its query's is titled in red inside a red frame. The Q rows are laid out in ``blocks`` side by side."""
    q, n = _np(queries), _np(neighbours)
    q, n = q.reshape(-1, *q.shape[-2:]), n[:, :, 0] if n.ndim == 5 else n  # drop a channel axis of 1
    ql, nl = [int(v) for v in _np(query_labels).ravel()], _np(neighbour_labels).astype(int)
    if not len(q) or n.ndim != 4 or n.shape[0] != len(q) or len(ql) != len(q) or nl.shape != n.shape[:2]:
        raise ValueError(f"need Q query images with Q labels and (Q, K) neighbours with (Q, K) labels, got {len(q)} queries, "
                         f"{len(ql)} labels, neighbours {n.shape}, labels {nl.shape}")
    k, rows = n.shape[1], math.ceil(len(q) / blocks)
    fig, axs = _figure(ncols=blocks * (k + 1), nrows=rows,
                       figsize=(min(10, 0.62 * blocks * (k + 1) + 0.2), min(4, 0.78 * rows + 0.35)))
    vmax = 255.0 if max(q.max(), n.max()) > 1 else 1.0
    for ax in axs.ravel():
        _image_cell(ax, None)
    for i in range(len(q)):
        row, col = i % rows, (i // rows) * (k + 1)
        _image_cell(axs[row, col], q[i], vmax)
        axs[row, col].set_title(f"query {ql[i]}", fontsize=SMALL_PT + 1, fontweight="bold")
        for j in range(k):
            ax, wrong = axs[row, col + 1 + j], nl[i, j] != ql[i]
            _image_cell(ax, n[i, j], vmax)
            ax.set_title(str(nl[i, j]), fontsize=SMALL_PT + 1, color="tab:red" if wrong else "0.25")
            if wrong:
                ax.spines[:].set_visible(True)
                ax.spines[:].set(color="tab:red", linewidth=2)
    fig.suptitle(title or f"Each query and its {k} nearest training digits (title: label; red: not the query's label)",
                 fontsize=10)
    return fig
