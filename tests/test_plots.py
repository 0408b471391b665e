"""Each plots helper returns a Figure with the expected labels, titles and artists."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from clhelpers import plots


def test_unit_circle_vectors_labels_and_legend():
    fig = plots.unit_circle_vectors([[2.0, 0.0], [0.0, 1.0]], labels=["a", "b"], title="T")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "T" and ax.get_xlabel() and ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["a", "b"] and "normalized" in legend[2]
    assert len(ax.texts) == 2  # one arrow annotation per vector
    plt.close(fig)
    assert not plt.fignum_exists(fig.number)


def test_unit_circle_vectors_rejects_label_mismatch():
    with pytest.raises(ValueError):
        plots.unit_circle_vectors(np.ones((3, 2)), labels=["a"])


def test_probability_bars_counts_and_highlight():
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5]), 0)
    fig = plots.probability_bars(p, highlight=0, title="bars")
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 5
    assert np.allclose([b.get_height() for b in bars], p.numpy())
    assert bars[0].get_facecolor() != bars[1].get_facecolor()
    assert ax.get_ylabel() == "probability" and ax.get_title() == "bars"
    fig = plots.probability_bars(p, n_candidates=4)
    assert np.isclose(fig.axes[0].lines[0].get_ydata()[0], 0.25)


def test_similarity_heatmap_masks_diagonal_and_frames_positives():
    n = 3
    sim = torch.rand(2 * n, 2 * n) * 2 - 1
    fig = plots.similarity_heatmap(sim)
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    assert np.ma.getmaskarray(data).diagonal().all() and not np.ma.getmaskarray(data)[0, 1]
    frames = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() == 1]
    corners = sorted((round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in frames)
    assert corners == sorted(((i + n) % (2 * n), i) for i in range(2 * n))
    assert [t.get_text() for t in ax.get_yticklabels()][n] == "z2[0]"
    assert len(fig.axes) == 2  # heatmap + colorbar
    with pytest.raises(ValueError):
        plots.similarity_heatmap(torch.zeros(3, 3))


def test_mi_bound_curves_one_line_per_batch_size():
    fig = plots.mi_bound_curves([4, 32])
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    top = max(line.get_ydata().max() for line in ax.lines)
    assert np.isclose(top, np.log(63))
    assert "loss" in ax.get_xlabel() and "bound" in ax.get_ylabel()


def test_gradient_frames_small_multiples():
    n = 2
    pos = [torch.nn.functional.normalize(torch.randn(2 * n, 2), dim=1) for _ in range(3)]
    fig = plots.gradient_frames(pos, [torch.randn(2 * n, 2) for _ in range(3)], n, titles=["a", "b", "c"])
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert all(len(ax.texts) == 2 * n for ax in fig.axes)  # one arrow per embedding
    with pytest.raises(ValueError):
        plots.gradient_frames(pos, pos[:2], n)


def test_negative_weight_curves_and_training_curves():
    s = np.linspace(-1, 1, 5)
    fig = plots.negative_weight_curves(s, {0.1: np.full(5, 0.2), 1.0: np.full(5, 0.2)}, highlight=0.1)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3  # two curves + equal-share line
    hist = {"a": [{"epoch": 1, "loss": 2.0, "knn_acc": 0.5}, {"epoch": 2, "loss": 1.0, "knn_acc": 0.6}],
            "b": [{"epoch": 1, "loss": 4e15, "knn_acc": 0.3}, {"epoch": 2, "loss": 4e15, "knn_acc": 0.3}]}
    fig = plots.training_curves(hist, reference={"knn_acc": 0.8})
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_yscale() == "log" and len(loss_ax.lines) == 2 and len(acc_ax.lines) == 3
    assert loss_ax.get_ylabel() == "training loss (log scale)" and acc_ax.get_ylabel() == "kNN accuracy"
    fig = plots.training_curves({"a": hist["a"]}, reference={"knn_acc": 0.8}, reference_label="raw pixels")
    assert fig.axes[0].get_yscale() == "linear"
    assert "raw pixels 0.8" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]


def test_image_grid_rows_and_labels():
    fig = plots.image_grid({"one": torch.rand(4, 1, 28, 28), "two": torch.rand(2, 28, 28)}, title="grid")
    assert len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == "one" and fig.axes[4].get_ylabel() == "two"
    assert sum(len(ax.images) for ax in fig.axes) == 6


def test_figures_are_small():
    with pytest.raises(ValueError):
        plots._figure(figsize=(12, 4))
