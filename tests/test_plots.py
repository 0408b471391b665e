"""Each plots helper returns a Figure with the expected labels, titles and artists."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from clhelpers import plots
from clhelpers.plots._style import _figure
from clhelpers.augment import random_affine
from clhelpers.losses import nt_xent, nt_xent_floor


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
        _figure(figsize=(12, 4))


# --------------------------------------------------------------------------- every figure
def blob_digits(n: int, seed: int = 0) -> torch.Tensor:
    """n different uint8 28x28 blobs in the central 20x20 box."""
    img = torch.zeros(n, 28, 28)
    img[:, 4:24, 4:24] = torch.rand(n, 20, 20, generator=torch.Generator().manual_seed(seed))
    return ((torch.nn.functional.avg_pool2d(img[:, None], 3, stride=1, padding=1)[:, 0] > 0.5) * 255).to(torch.uint8)


LIVE_CURVES = {"SimCLR h": {1: {"mean": 0.6, "sd": 0.05}, 10: {"mean": 0.9, "sd": 0.02}, "all": 0.97},
               "raw pixels": {1: {"mean": 0.4, "sd": 0.04}, 10: {"mean": 0.7, "sd": 0.03}, "all": {"mean": 0.88}}}
LE_RECORD = {"machine": {"gpu": "NVIDIA H100 80GB HBM3", "cpu": "Intel Xeon", "cpu_count": 16}, "file": "le.json",
             "all_per_class": 6000, "summary": {
                 "simclr_h": {"probe": {"1": {"mean": 0.62, "sd": 0.06}, "10": {"mean": 0.91, "sd": 0.01},
                                        "all": {"mean": 0.98, "sd": 0.002}}},
                 "supervised": {"probe": {"1": {"mean": 0.3, "sd": 0.05}, "all": {"mean": 0.99, "sd": 0.001}}}}}
HISTORY = [{"epoch": e, "loss": 5.0 - e, "knn_acc": 0.8 + 0.05 * e if e % 2 == 0 else None} for e in range(1, 5)]


def all_figures():
    n = 4
    pos = [torch.nn.functional.normalize(torch.randn(2 * n, 2), dim=1) for _ in range(4)]
    yield plots.unit_circle_vectors([[2.0, 0.0], [0.0, 1.0]])
    yield plots.probability_bars(torch.softmax(torch.randn(8), 0), highlight=0)
    yield plots.similarity_heatmap(torch.rand(2 * n, 2 * n) * 2 - 1)
    yield plots.mi_bound_curves()
    yield plots.gradient_frames(pos, pos, n, titles=["a", "b", "c", "d"])
    yield plots.negative_weight_curves(np.linspace(-1, 1, 5), {0.1: np.full(5, 0.2)}, highlight=0.1)
    yield plots.image_grid({"one": torch.rand(4, 28, 28)})
    yield plots.training_curves({"a": [{"epoch": 1, "loss": 2.0, "knn_acc": 0.5}]}, reference={"knn_acc": 0.8})
    yield plots.preview_views(blob_digits(10), n_views=4)
    yield plots.plot_sweep_accuracy(sweep_runs(seeds=3), [record()], baselines={"raw pixels": 0.934})
    yield plots.plot_alignment_uniformity(sweep_runs(seeds=3), [record()])
    yield plots.plot_hardness([0.05, 0.1, 0.2, 0.5, 1.0], {1: [0.2, 0.08, 0.03, 0.008, 0.004]}, 510)
    yield plots.plot_label_efficiency(LIVE_CURVES, LE_RECORD, {"simclr_h": "SimCLR h", "supervised": "supervised"},
                                              all_per_class=400)
    yield plots.plot_bound_and_knn(HISTORY, 256, baselines={"raw pixels": 0.93})
    yield plots.retrieval_grid(blob_digits(10), range(10), blob_digits(60).reshape(10, 6, 28, 28),
                                       np.arange(60).reshape(10, 6) % 10)


@pytest.mark.slow
def test_every_figure_is_small_at_100_dpi_with_text_of_at_least_8_points():
    assert plots.DPI == 100
    for fig in all_figures():
        fig.canvas.draw()  # tick labels exist only once drawn
        w, h = fig.get_size_inches()
        assert fig.dpi == 100 and w <= 10 and h <= 4, (fig.dpi, w, h)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 8]
        assert texts and not small, small
        plt.close(fig)


# --------------------------------------------------------------------------- views
def test_plot_views_grid_and_labels():
    x = blob_digits(5)
    views = [random_affine(x, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    fig = plots.plot_views(x, views, title="t", col_titles=list("abcde"))
    axes = fig.axes
    assert len(axes) == 4 * 5
    assert [axes[r * 5].get_ylabel() for r in range(4)] == ["original", "view 1", "view 2", "view 3"]
    assert axes[0].get_title() == "a" and fig.get_suptitle() == "t"
    assert np.allclose(axes[5].images[0].get_array(), views[0][0, 0].numpy())  # row 1 = first views
    w, h = fig.get_size_inches()
    assert w <= 10 and h <= 4
    with pytest.raises(ValueError, match="row_titles"):
        plots.plot_views(x, views, row_titles=["only one"])
    with pytest.raises(ValueError, match="col_titles"):
        plots.plot_views(x, views, col_titles=["a"])
    with pytest.raises(ValueError, match="shape"):
        plots.plot_views(x, [views[0][:2]])


def test_preview_views_callback_is_seeded_and_reacts_to_sliders():
    x = blob_digits(4)

    def pixels(fig):
        return [torch.as_tensor(ax.images[0].get_array()) for ax in fig.axes]

    f1 = plots.preview_views(x, rotation=30, n_views=2)
    f2 = plots.preview_views(x, rotation=30, n_views=2)
    f3 = plots.preview_views(x, rotation=0, crop_min=1.0, aspect=1.0, shear=0, translate=0, n_views=2)
    assert len(f1.axes) == 3 * 4
    assert all(torch.equal(a, b) for a, b in zip(pixels(f1), pixels(f2)))
    assert not all(torch.equal(a, b) for a, b in zip(pixels(f1), pixels(f3)))
    p3 = pixels(f3)  # strengths all zero: every view equals its original
    assert all(torch.allclose(p3[c], p3[r * 4 + c], atol=1e-4) for r in range(3) for c in range(4))
    assert "rotation ±30" in f1.get_suptitle()
    with pytest.raises(ValueError, match="aspect"):
        plots.preview_views(x, aspect=0.5)


def test_preview_views_works_as_an_ipywidgets_callback():
    from ipywidgets import fixed, interactive

    w = interactive(plots.preview_views, images=fixed(blob_digits(3)), rotation=(0.0, 45.0, 5.0), n_views=fixed(2))
    first = w.result
    slider = w.children[0]
    assert slider.description == "rotation"
    slider.value = 40.0
    assert w.result is not first and "rotation ±40" in w.result.get_suptitle()
    assert math.isclose(slider.value, 40.0)


# --------------------------------------------------------------------------- sweeps
def sweep_runs(seeds: int = 1, temps=(0.1, 1.0), batches=(64, 256)) -> list[dict]:
    """Runs of a temperature and a batch-size sweep; seed s shifts accuracy by 0.01 s and the rest by 0.1 s."""
    runs = []
    for sweep, values in (("temperature", temps), ("batch_size", batches)):
        for i, v in enumerate(values):
            for s in range(seeds):
                runs.append({"sweep": sweep, "seed": s, "temperature": v if sweep == "temperature" else 0.2,
                             "batch_size": v if sweep == "batch_size" else 256, "knn_acc": 0.9 - 0.05 * i + 0.01 * s,
                             "alignment": 0.3 - 0.1 * i + 0.1 * s, "uniformity": -3.2 + 0.7 * i + 0.1 * s})
    return runs


def record(machine=None, runs=None) -> dict:
    machine = machine or {"cpu": "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", "cpu_count": 2, "gpu": None}
    return {"machine": machine, "command": "c", "runs": runs or sweep_runs(), "file": "sweep-x.json"}


def legend_texts(ax) -> list[str]:
    """The panel's legend, or the figure's (plots that share one legend below their panels)."""
    legend = ax.get_legend() or ax.figure.legends[0]
    return [t.get_text() for t in legend.get_texts()]


def test_sweep_plots_draw_live_and_recorded_runs_of_one_seed():
    live = sweep_runs()
    old = record({"processor": "x86_64", "cpu_count": 2})  # machine keys of records written before the redesign
    fig = plots.plot_alignment_uniformity(live, [old, record()])
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and list(ax.lines[0].get_xdata()) == [-3.2, -2.5]
    assert legend_texts(ax)[1:] == ["recorded on x86_64 x2 CPU (sweep-x.json)",
                                    "recorded on Intel Xeon Platinum 8481C x2 CPU (sweep-x.json)"]
    # every point of every series carries its τ, in its series' colour, each series at its own offset
    assert [t.get_text() for t in ax.texts] == ["τ=0.1", "τ=1"] * 3
    assert [t.get_color() for t in ax.texts] == [line.get_color() for line in ax.lines for _ in range(2)]
    assert np.allclose([t.xy for t in ax.texts[:2]], [(-3.2, 0.3), (-2.5, 0.2)])   # (uniformity, alignment) of each τ
    assert len({tuple(t.xyann) for t in ax.texts}) == 3                  # coinciding points: labels apart
    assert not any(c.has_xerr or c.has_yerr for c in ax.containers)  # one seed: no error bars
    fig = plots.plot_sweep_accuracy(live, [old])
    assert [len(a.lines) for a in fig.axes] == [2, 2]
    assert list(fig.axes[1].lines[0].get_xdata()) == [64, 256] and fig.axes[1].get_xscale() == "log"
    fig = plots.plot_sweep_accuracy([r for r in live if r["sweep"] == "temperature"])
    assert "no runs" in fig.axes[1].texts[0].get_text()


def test_recorded_label_says_when_a_record_ran_at_fixed_steps():
    fixed = dict(record(), command="python -m clhelpers sweep --batch-sizes 64 512 --fixed-steps 120 --out b.json")
    assert plots.recorded_label(fixed) == "recorded on Intel Xeon Platinum 8481C x2 CPU, 120 steps per run (sweep-x.json)"
    assert "steps" not in plots.recorded_label(dict(record(), command="python -m clhelpers sweep --epochs 5"))


def test_sweep_accuracy_with_three_seeds_draws_mean_and_sd_error_bars():
    fig = plots.plot_sweep_accuracy(sweep_runs(seeds=3), title="T")
    for ax in fig.axes:
        (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert bars.has_yerr and not bars.has_xerr
        line, _, (ycol,) = bars.lines
        assert np.allclose(line.get_ydata(), [0.91, 0.86])  # mean of 0.90, 0.91, 0.92
        half = [abs(seg[1, 1] - seg[0, 1]) / 2 for seg in ycol.get_segments()]
        assert np.allclose(half, 0.01)  # sample sd (ddof 1) of 0.90, 0.91, 0.92
        assert "mean ± sd of 3 seeds" in legend_texts(ax)[0]
    assert fig.get_suptitle() == "T"
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)  # one shared legend, each label once
    assert len(legend_texts(fig.axes[0])) == len(set(legend_texts(fig.axes[0])))


def test_alignment_uniformity_with_seeds_has_error_bars_both_ways():
    runs = sweep_runs(seeds=2)
    fig = plots.plot_alignment_uniformity(runs + [dict(runs[0], seed=9)])  # 3 seeds at t = 0.1, 2 at t = 1
    ax = fig.axes[0]
    (bars,) = ax.containers
    assert bars.has_xerr and bars.has_yerr
    assert np.allclose(bars.lines[0].get_xdata(), [(-3.2 - 3.1 - 3.2) / 3, -2.45])
    assert "mean ± sd of 2-3 seeds" in legend_texts(ax)[0]


def test_baselines_are_labelled_dashed_horizontal_lines():
    base = {"raw pixels": 0.934, "random init": 0.83}
    fig = plots.plot_sweep_accuracy(sweep_runs(), baselines=base)
    for ax in fig.axes:
        dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
        assert [tuple(ln.get_ydata()) for ln in dashed] == [(0.934, 0.934), (0.83, 0.83)]
        assert dashed[0].get_color() != dashed[1].get_color()
        assert {"raw pixels 0.934", "random init 0.83"} <= set(legend_texts(ax))
        assert ax.get_ylim()[0] < 0.83 and ax.get_ylim()[1] > 0.934  # visible inside the panel
    ax = plots.plot_alignment_uniformity(sweep_runs(), baselines={"raw pixels": 0.5}).axes[0]
    assert "raw pixels 0.5" in legend_texts(ax)
    with pytest.raises(ValueError, match="raw pixels"):
        plots.plot_sweep_accuracy(sweep_runs(), baselines={"raw pixels": "high"})


def test_sweep_plots_reject_what_is_not_a_sweep():
    with pytest.raises(ValueError, match="load_sweeps"):
        plots.plot_sweep_accuracy(sweep_runs(), [{"machine": {}}])
    broken = [dict(r) for r in sweep_runs()]
    del broken[0]["knn_acc"]
    with pytest.raises(ValueError, match="knn_acc"):
        plots.plot_sweep_accuracy(broken)


def test_hardness_has_readable_log_ticks_and_a_visible_even_spread_line():
    temps = [0.05, 0.1, 0.2, 0.5, 1.0]
    fig = plots.plot_hardness(temps, {1: [0.19, 0.08, 0.03, 0.008, 0.004], 10: [0.7, 0.4, 0.2, 0.07, 0.04]}, 510)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["0.05", "0.1", "0.2", "0.5", "1"]
    lo, hi = ax.get_ylim()
    yticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert ax.get_yscale() == "log" and len(yticks) >= 3 and all(float(t) > 0 for t in yticks), yticks
    even = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert [ln.get_ydata()[0] for ln in even] == [1 / 510, 10 / 510]
    for ln in even:  # well inside the axes, not squashed onto the x axis
        y = ln.get_ydata()[0]
        assert (math.log(y) - math.log(lo)) / (math.log(hi) - math.log(lo)) > 0.05
    assert "even spread 1/510 = 0.002" in legend_texts(ax)
    ax = plots.plot_hardness([0.1, 1.0], {1: [0.5, 0.1]}, 30).axes[0]
    assert len(ax.get_xticks()) >= 2 and ax.get_legend() is not None
    with pytest.raises(ValueError, match="temperatures"):
        plots.plot_hardness([0.0, 1.0], {1: [0.5, 0.1]}, 30)
    with pytest.raises(ValueError, match="shares"):
        plots.plot_hardness([0.1, 1.0], {1: [0.5]}, 30)


# --------------------------------------------------------------------------- label efficiency, bound, retrieval
def test_label_efficiency_draws_live_and_recorded_curves_with_error_bars():
    fig = plots.plot_label_efficiency(LIVE_CURVES, LE_RECORD, {"simclr_h": "SimCLR h", "supervised": "supervised"},
                                              all_per_class=400)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 4 and all(b.has_yerr for b in bars)
    simclr, pixels, rec_simclr, rec_sup = (b.lines[0] for b in bars)
    assert list(simclr.get_xdata()) == [1, 10, 400] and list(simclr.get_ydata()) == [0.6, 0.9, 0.97]
    assert list(rec_simclr.get_xdata()) == [1, 10, 6000] and list(rec_sup.get_xdata()) == [1, 6000]
    assert simclr.get_color() == rec_simclr.get_color() != pixels.get_color()  # same kind, same colour
    assert rec_simclr.get_linestyle() == "--" and rec_simclr.get_markerfacecolor() == "none"
    half = [abs(seg[1, 1] - seg[0, 1]) / 2 for seg in bars[0].lines[2][0].get_segments()]
    assert np.allclose(half, [0.05, 0.02, 0.0])
    texts = legend_texts(ax)
    assert texts[0] == "SimCLR h (this run)" and "recorded on NVIDIA H100 80GB HBM3 (le.json)" in texts[2]
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "10", "all\n(400)", "all\n(6000)"]


def test_label_efficiency_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="all_per_class"):
        plots.plot_label_efficiency({"a": {"all": 0.9}})
    with pytest.raises(ValueError, match="finite mean"):
        plots.plot_label_efficiency({"a": {10: {"mean": float("nan")}}})
    with pytest.raises(ValueError, match="kinds"):
        plots.plot_label_efficiency({}, LE_RECORD, {"pixels": "raw pixels"})
    with pytest.raises(ValueError, match="summary"):
        plots.plot_label_efficiency({}, {"runs": []}, {"simclr_h": "SimCLR h"})


def test_bound_and_knn_plots_the_bound_per_epoch_and_the_measured_knn():
    fig = plots.plot_bound_and_knn(HISTORY, 256, baselines={"raw pixels": 0.93})
    left, right = fig.axes
    cap = math.log(511)
    assert np.allclose(left.lines[0].get_ydata(), [cap - 4, cap - 3, cap - 2, cap - 1])
    assert np.allclose(left.lines[1].get_ydata(), cap) and left.lines[1].get_linestyle() == ":"
    assert list(right.lines[0].get_xdata()) == [2, 4] and np.allclose(right.lines[0].get_ydata(), [0.9, 1.0])
    assert "raw pixels 0.93" in legend_texts(right)
    capped = plots.plot_bound_and_knn(HISTORY, 256, temperature=0.7).axes[0].lines[2]
    floor = math.log(1 + 510 * math.exp(-(1 + 1 / 255) / 0.7))                     # the tight floor, 4.81
    assert np.allclose(capped.get_ydata(), cap - floor) and floor == pytest.approx(nt_xent_floor(256, 0.7))
    assert "floor at τ = 0.7: bound ≤ 1.43" in legend_texts(capped.axes)            # 6.24 - 4.81, not 2.83
    with pytest.raises(ValueError, match="temperature"):
        plots.plot_bound_and_knn(HISTORY, 256, temperature=0)
    with pytest.raises(ValueError, match="batch_size"):
        plots.plot_bound_and_knn(HISTORY, 1)
    with pytest.raises(ValueError, match="history"):
        plots.plot_bound_and_knn([{"epoch": 1}], 256)


@pytest.mark.parametrize("t", [0.1, 0.5, 0.7, 2.0])
def test_nt_xent_floor_is_reached_by_the_simplex_and_random_batches_score_above_it(t):
    tetrahedron = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    assert float(nt_xent(tetrahedron, tetrahedron.clone(), t)) == pytest.approx(nt_xent_floor(4, t), rel=1e-12)
    simplex = torch.eye(8, dtype=torch.float64) - 1 / 8                       # N = 8 pair-points, cosines -1/7
    assert float(nt_xent(simplex, simplex.clone(), t)) == pytest.approx(nt_xent_floor(8, t), rel=1e-12)
    g = torch.Generator().manual_seed(0)
    for dim in (3, 8):
        scores = [float(nt_xent(z, z + 0.1 * torch.randn(z.shape, generator=g, dtype=torch.float64), t))
                  for z in torch.randn(100, 4, dim, generator=g, dtype=torch.float64)]
        assert min(scores) > nt_xent_floor(4, t)
    assert nt_xent_floor(4, t) > math.log1p(6 * math.exp(-2 / t))              # tighter than "every negative at -1"


@pytest.mark.parametrize("n, t, match", [(1, 0.5, "n must be an int >= 2"), (2.0, 0.5, "n must be an int"),
                                         (True, 0.5, "n must be"), (4, 0, "temperature"), (4, math.inf, "temperature"),
                                         (4, None, "temperature")])
def test_nt_xent_floor_rejects_bad_inputs(n, t, match):
    with pytest.raises(ValueError, match=match):
        nt_xent_floor(n, t)


def test_retrieval_grid_titles_labels_and_marks_wrong_neighbours():
    labels = np.array([[3, 3, 5], [1, 7, 1]])
    fig = plots.retrieval_grid(blob_digits(2), [3, 1], blob_digits(6).reshape(2, 3, 1, 28, 28), labels, blocks=1)
    axes = np.array(fig.axes).reshape(2, 4)
    assert [ax.get_title() for ax in axes[0]] == ["query 3", "3", "3", "5"]
    assert [ax.get_title() for ax in axes[1]] == ["query 1", "1", "7", "1"]
    red = [ax.get_title() for ax in fig.axes if ax.spines["left"].get_visible()]
    assert red == ["5", "7"]  # only the neighbours with another label than their query are framed
    assert sum(len(ax.images) for ax in fig.axes) == 8
    with pytest.raises(ValueError, match="neighbours"):
        plots.retrieval_grid(blob_digits(2), [3, 1], blob_digits(6).reshape(2, 3, 28, 28), labels[:1])


def test_losses_apart_gives_each_loss_its_own_axis_and_draws_the_references():
    fixed = [{"epoch": e, "loss": 6.0 - e, "knn_acc": 0.8 + e / 100} for e in (1, 2, 3)]
    stuck = [{"epoch": e, "loss": 4.5e15, "knn_acc": 0.82} for e in (1, 2, 3)]
    fig = plots.losses_apart({"fixed": fixed, "flawed": stuck}, chance_loss=6.2,
                             references={"raw pixels": 0.934, "random init": 0.84})
    loss_fixed, loss_flawed, knn = fig.axes
    assert loss_fixed.get_ylim()[1] < 10 and loss_flawed.get_ylim()[0] > 1e15  # neither squashes the other
    assert [ln.get_ydata()[0] for ln in loss_fixed.lines[1:]] == [6.2] and len(loss_flawed.lines) == 1
    assert {"raw pixels 0.934", "random init 0.84"} <= set(legend_texts(knn)) and len(knn.lines) == 4
    with pytest.raises(ValueError, match="1 to 3 runs"):
        plots.losses_apart({})
    with pytest.raises(ValueError, match="'loss'"):
        plots.losses_apart({"x": [{"epoch": 1}]})


def test_ablation_bars_one_dot_per_setting_with_sd_and_baselines_as_lines():
    stats = lambda m, s: {"mean": m, "sd": s, "n": 3}
    summary = {"probe10": {"none": stats(0.63, 0.02), "recipe": stats(0.86, 0.01), "raw pixels": stats(0.74, 0.0)},
               "knn_acc": {"none": stats(0.80, 0.01), "recipe": stats(0.89, 0.01), "raw pixels": stats(0.934, 0.0)}}
    fig = plots.ablation_bars(summary, {"probe10": "10-labels probe", "knn_acc": "kNN"}, baselines=["raw pixels"])
    for ax, expected in zip(fig.axes, ([0.63, 0.86], [0.80, 0.89])):
        (dots,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert list(dots.lines[0].get_xdata()) == expected and dots.has_xerr    # one dot per setting, not the baseline
        assert any(ln.get_linestyle() == "--" for ln in ax.lines)               # the baseline as a line
        assert ax.get_ylim()[0] > ax.get_ylim()[1]                              # first setting on top
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["none", "recipe"]  # shared by both panels
    assert "raw pixels 0.934" in legend_texts(fig.axes[1])
    with pytest.raises(ValueError, match="metrics must name"):
        plots.ablation_bars(summary, {"probe1": "x"})
