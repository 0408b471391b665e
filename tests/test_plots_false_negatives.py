"""clhelpers.plots.plot_false_negative_share: one line per encoder, the even-split line, readable log ticks."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from clhelpers.plots import DPI, plot_false_negative_share  # noqa: E402


def test_lines_per_encoder_and_the_even_split_line():
    temps = [0.05, 0.1, 0.2, 0.5, 1.0]
    fig = plot_false_negative_share(temps, {"trained": [0.6, 0.4, 0.25, 0.14, 0.11], "untrained": [0.3, 0.2, 0.15, 0.11, 0.1]},
                                    0.098)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert fig.dpi == DPI and fig.get_size_inches()[1] <= 4
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["0.05", "0.1", "0.2", "0.5", "1"]
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert [list(ln.get_ydata()) for ln in solid] == [[0.6, 0.4, 0.25, 0.14, 0.11], [0.3, 0.2, 0.15, 0.11, 0.1]]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 0.098
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["trained", "untrained", "even split: 0.098"]
    assert 0.6 < ax.get_ylim()[1] <= 1.0 and "τ" in ax.get_xlabel()
    plt.close(fig)


def test_bad_inputs_raise_with_what_to_pass():
    with pytest.raises(ValueError, match="positive temperatures"):
        plot_false_negative_share([0.0, 1.0], {"a": [0.1, 0.1]}, 0.1)
    with pytest.raises(ValueError, match="one share in"):
        plot_false_negative_share([0.1, 1.0], {"a": [0.1]}, 0.1)
    with pytest.raises(ValueError, match="one share in"):
        plot_false_negative_share([0.1, 1.0], {"a": [0.1, 1.5]}, 0.1)
    with pytest.raises(ValueError, match="uniform"):
        plot_false_negative_share([0.1, 1.0], {"a": [0.1, 0.2]}, 2)
