"""clhelpers.plots.plot_cross_correlation: notebook 08's before/after heatmaps of Barlow Twins' C."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from clhelpers.losses import cross_correlation
from clhelpers.plots import plot_cross_correlation


def test_panels_share_one_scale_and_report_diagonal_and_off_diagonal():
    identity, c = np.eye(4), cross_correlation(torch.randn(32, 4), torch.randn(32, 4))
    fig = plot_cross_correlation({"ideal": identity, "random": c})
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_title() in ("ideal", "random")]
    assert [ax.get_title() for ax in panels] == ["ideal", "random"] and len(fig.axes) == 3  # + one colour bar
    for ax in panels:
        assert ax.images[0].get_clim() == (-1, 1)
    assert "mean C_ii 1.00" in panels[0].get_xlabel() and "rms C_ij (i≠j) 0.00" in panels[0].get_xlabel()
    assert "mean C_ii 1.00" not in panels[1].get_xlabel()
    assert np.array_equal(panels[0].images[0].get_array(), identity)
    assert fig.get_size_inches()[0] <= 10 and fig.get_size_inches()[1] <= 4
    plt.close(fig)


@pytest.mark.parametrize("bad, match", [({}, "1 to 4"), ({"a": np.ones((3, 2))}, "square"),
                                        ({"a": np.ones((1, 1))}, "D >= 2"), ([np.eye(3)], "dict"),
                                        ({str(i): np.eye(2) for i in range(5)}, "1 to 4")])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        plot_cross_correlation(bad)
