"""The pieces every widget shares: ``_show`` (print a callback's line, display its figure, close it), ``_STYLE``
(labels shown whole) and ``_log_slider`` (a log-scale temperature slider). ipywidgets is imported only when a
widget is built. Only the modules of ``clhelpers.widgets`` import these private names."""
from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from ipywidgets import FloatLogSlider


def _show(fig: Figure, line: str) -> None:
    """Print ``line``, display ``fig`` below it and close it (so a redrawn widget does not pile up figures)."""
    from IPython.display import display

    print(line)
    display(fig)
    plt.close(fig)


_STYLE = {"description_width": "initial"}  # show the whole label, e.g. "temperature"


def _log_slider(value: float, description: str = "temperature") -> FloatLogSlider:
    """A log-scale slider from 0.01 to 10 starting at ``value``, updating while dragged."""
    import ipywidgets as w

    return w.FloatLogSlider(value=value, base=10, min=-2, max=1, step=0.01, description=description,
                            readout_format=".3f", continuous_update=True, style=_STYLE)
