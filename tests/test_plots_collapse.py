"""clhelpers.plots.plot_collapse: notebook 08's figure (kNN accuracy and embedding_std per kind of run)."""
import matplotlib.pyplot as plt
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from clhelpers.plots import plot_collapse

SUMMARY = {
    "knn_acc": {"random_init": {"mean": 0.83, "sd": 0.01, "n": 3}, "simsiam": {"mean": 0.71, "sd": 0.02, "n": 3},
                "simsiam_no_stopgrad": {"mean": 0.65, "sd": 0.01, "n": 3}},
    "embedding_std": {"simsiam": {"mean": 0.07, "sd": 0.004, "n": 3}, "simsiam_no_stopgrad": {"mean": 0.027, "sd": 0.002, "n": 3}},
}
LIVE = {"simsiam": {"knn_acc": 0.72, "embedding_std": 0.066}, "simsiam_no_stopgrad": {"knn_acc": 0.67, "embedding_std": 0.031},
        "byol": {"knn_acc": 0.74, "embedding_std": 0.075}}


def test_live_dots_recorded_error_bars_references_and_labels():
    fig = plot_collapse(LIVE, SUMMARY, std_reference=0.125, baselines={"raw pixels": 0.93, "random init": 0.83})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    acc_ax, std_ax = fig.axes
    ticks = [t.get_text() for t in std_ax.get_xticklabels()]
    assert ticks == ["simsiam", "simsiam no stopgrad", "byol"]  # recorded kinds first, then live-only ones
    live = [line for line in std_ax.lines if line.get_label().startswith("this run")][0]
    assert list(live.get_ydata()) == [0.066, 0.031, 0.075]
    bars = [c for c in std_ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and "mean ± sd of 3 seeds" in bars[0].get_label()
    assert list(bars[0].lines[0].get_ydata()) == [0.07, 0.027]
    assert acc_ax.get_legend() is None and std_ax.get_legend() is None and len(fig.legends) == 1  # one, below
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("1/sqrt(d) = 0.125" in t for t in legend) and any("collapsed" in t for t in legend)
    assert any(t.startswith("raw pixels") for t in legend) and any(t.startswith("random init") for t in legend)
    assert sum(t.startswith("this run") for t in legend) == 1  # drawn in both panels, listed once
    assert fig.get_size_inches()[0] <= 10 and fig.get_size_inches()[1] <= 4
    plt.close(fig)


def test_live_only_and_bad_input():
    fig = plot_collapse(LIVE, std_reference=0.125)
    assert not [c for c in fig.axes[1].containers if isinstance(c, ErrorbarContainer)]
    plt.close(fig)
    with pytest.raises(ValueError, match="summary"):
        plot_collapse(LIVE, {"runs": []}, std_reference=0.125)
    with pytest.raises(ValueError, match="std_reference"):
        plot_collapse(LIVE, std_reference=0.0)
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_collapse({}, std_reference=0.125)
