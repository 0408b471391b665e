"""Notebook 07's false-negative figure: how much of NT-Xent's push on the negatives lands on the anchor's own class."""
from __future__ import annotations

from typing import Mapping, Sequence

from matplotlib.figure import Figure

from ._style import _axes, _label_axes, _np

__all__ = ["plot_false_negative_share"]


def plot_false_negative_share(temperatures: Sequence[float], shares: Mapping[str, Sequence[float]], uniform: float,
                              title: str | None = None) -> Figure:
    """Same-class share of the negative gradient against temperature (log x axis), one line per encoder
    (``shares[name]``: ``metrics.same_class_negative_share(...)["share"]`` per temperature), and a dashed line at
    ``uniform``, the share an even split would give (the fraction of negatives that are same-class)."""
    t = _np(temperatures).ravel()
    if not len(t) or not (t > 0).all():
        raise ValueError(f"need positive temperatures (e.g. [0.05, 0.1, 0.5]), got {list(t)}")
    if not 0 <= float(uniform) <= 1:
        raise ValueError(f"uniform is a fraction of the negatives, in [0, 1], got {uniform!r}")
    fig, ax = _axes((5.6, 3.2))
    top = float(uniform)
    for i, (name, values) in enumerate(shares.items()):
        v = _np(values).ravel()
        if v.shape != t.shape or not ((v >= 0) & (v <= 1)).all():
            raise ValueError(f"shares[{name!r}]: need one share in [0, 1] per temperature ({len(t)}), got {list(v)}")
        ax.plot(t, v, marker="o", color=f"C{i}", label=name, zorder=3)
        top = max(top, float(v.max()))
    ax.axhline(float(uniform), color="0.4", linestyle="--", lw=1.5, label=f"even split: {float(uniform):.3f}")
    ax.set_ylim(0, min(1.0, top * 1.25) or 1.0)
    _label_axes(ax, "temperature τ (log scale)", "same-class share of the push",
                title or "False negatives: their share of the negative gradient", log_x=t)
    return fig
