"""The notebooks' figures, one module per kind of figure; each function returns its Figure.

* ``basics``: the ideas, from a few numbers (vectors, softmax bars, the similarity heatmap, the InfoNCE bound,
  gradient steps, each negative's share, hardness against temperature, the 2-D playground's points).
* ``views``: images (digits, augmented views and the sliders' preview, nearest-neighbour retrieval).
* ``training``: per-epoch curves of training runs (losses, kNN accuracy, the InfoNCE bound of one run).
* ``comparisons``: settings compared over seeds, mean ± sd (ablations, sweeps, the kinds of run of notebook 08).
* ``label_efficiency``: accuracy against labelled digits per class.
* ``redundancy``: cross-correlation matrices of two views (Barlow Twins), before and after training.
* ``false_negatives``: the same-class share of the negative gradient against temperature (notebook 07).
* ``embeddings``: 2-D maps of an embedding (t-SNE of h), coloured by class.
* ``_style``: the shared look (``DPI``, ``SMALL_PT``, colours) and its private helpers; ``recorded_label``.

Made with ``matplotlib.pyplot`` (Jupyter shows them at the end of a cell) at ``DPI`` = 100, at most 10 x 4
inches, no text below ``SMALL_PT`` = 8 points; close them with ``plt.close(fig)`` when drawing many.
Inputs may be tensors, arrays or lists. Import from here, e.g. ``from clhelpers.plots import plot_views``.
"""
from ._style import AXIS_LABELS, BASELINE_COLORS, DPI, PAIR_COLORS, SMALL_PT, recorded_label
from .basics import (gradient_frames, mi_bound_curves, negative_weight_curves, playground_points, plot_hardness,
                     probability_bars, similarity_heatmap, unit_circle_vectors)
from .false_negatives import plot_false_negative_share
from .comparisons import ablation_bars, plot_alignment_uniformity, plot_collapse, plot_sweep_accuracy
from .label_efficiency import plot_label_efficiency
from .embeddings import plot_embedding_maps
from .redundancy import plot_cross_correlation
from .training import losses_apart, plot_bound_and_knn, plot_positive_rank, training_curves
from .views import image_grid, plot_views, preview_views, retrieval_grid

__all__ = [
    "AXIS_LABELS", "BASELINE_COLORS", "DPI", "PAIR_COLORS", "SMALL_PT", "recorded_label",
    "gradient_frames", "mi_bound_curves", "negative_weight_curves", "playground_points", "plot_hardness",
    "probability_bars", "similarity_heatmap", "unit_circle_vectors",
    "ablation_bars", "plot_alignment_uniformity", "plot_collapse", "plot_sweep_accuracy",
    "plot_label_efficiency",
    "plot_embedding_maps",
    "losses_apart", "plot_bound_and_knn", "plot_positive_rank", "training_curves",
    "image_grid", "plot_views", "preview_views", "retrieval_grid",
    "plot_cross_correlation",
    "plot_false_negative_share",
]
