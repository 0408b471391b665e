"""The label-efficiency figure: test accuracy against labelled digits per class (log axis), mean ± sd over
label draws, for this run's curves and a recorded ``benchmarks/label_efficiency.py`` record."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

from ._style import SMALL_PT, _axes, _label_axes, recorded_label

def _per_class_curve(curve: Mapping, all_per_class: float | None, name: str) -> tuple[np.ndarray, ...]:
    """``(x, mean, sd)`` sorted by x from ``{per_class: {"mean", "sd"} or a number}``; key "all" sits at ``all_per_class``."""
    points = []
    for key, value in curve.items():
        if str(key) == "all" and all_per_class is None:
            raise ValueError(f"{name!r} has an 'all' point: pass all_per_class (training digits / classes, e.g. 400)")
        x = float(all_per_class) if str(key) == "all" else float(key)
        mean, sd = (value.get("mean"), value.get("sd") or 0.0) if isinstance(value, Mapping) else (value, 0.0)
        if not (x > 0 and isinstance(mean, (int, float)) and math.isfinite(mean)):
            raise ValueError(f"{name!r}: point {key!r} needs a per-class count > 0 and a finite mean, got {value!r}")
        points.append((x, float(mean), float(sd)))
    if not points:
        raise ValueError(f"{name!r} has no points; give {{per_class: {{'mean': ..., 'sd': ...}}}}, e.g. {{10: {{'mean': 0.9}}}}")
    return tuple(np.array(column) for column in zip(*sorted(points)))


def plot_label_efficiency(curves: Mapping[str, Mapping], recorded: Mapping | None = None,
                          recorded_curves: Mapping[str, str] | None = None, all_per_class: float | None = None,
                          metric: str = "probe", title: str | None = None) -> Figure:
    """Test accuracy against labelled digits per class (log x; "all" = every training label, drawn at
    ``all_per_class``), mean ± sd over label draws as error bars.

    ``curves``: label -> ``{per_class: {"mean", "sd"}}`` (per_class 1, 10, 100, ... or "all"; a plain number means
    sd 0) measured in this run: filled markers, solid lines. ``recorded``: a ``benchmarks/label_efficiency.py``
    record (with ``"file"``); for each ``kind -> label`` of ``recorded_curves``, ``recorded["summary"][kind][metric]``
    is drawn hollow and dashed, labelled with the record's machine and file (its "all" at its own
    ``all_per_class``). A recorded curve whose label is also a live one gets the same colour.
    """
    fig, ax = _axes((10, 4))
    colors: dict[str, str] = {}
    color = lambda label: colors.setdefault(label, f"C{len(colors) % 10}")  # noqa: E731
    ticks: dict[float, str] = {}
    series = [(label, curve, all_per_class, "(this run)", {}) for label, curve in curves.items()]
    if recorded_curves:
        if not isinstance(recorded, Mapping) or not isinstance(recorded.get("summary"), Mapping):
            raise ValueError("recorded must be a label-efficiency record with a 'summary' (json.load of "
                             "benchmarks/label-efficiency-cpu-2core.json, plus 'file'), or None with no recorded_curves")
        for kind, label in recorded_curves.items():
            if metric not in recorded["summary"].get(kind, {}):
                raise ValueError(f"the record has no {metric!r} for {kind!r}; kinds: {sorted(recorded['summary'])}")
            series.append((label, recorded["summary"][kind][metric], recorded.get("all_per_class"),
                           "\n" + recorded_label(recorded), dict(marker="s", markerfacecolor="none", linestyle="--")))
    for label, curve, all_at, suffix, style in series:
        x, mean, sd = _per_class_curve(curve, all_at, label)
        ax.errorbar(x, mean, yerr=sd, capsize=3, color=color(label), label=f"{label} {suffix}", **{"marker": "o", **style})
        ticks.update({v: f"{v:g}" for v in x})
        if "all" in {str(k) for k in curve}:
            ticks[float(all_at)] = f"all\n({float(all_at):g})"
    ax.set_xscale("log")
    ax.set_xticks(sorted(ticks), [ticks[v] for v in sorted(ticks)])
    ax.minorticks_off()
    _label_axes(ax, "labelled training digits per class (log scale)", f"test accuracy ({metric})",
                title or "Label efficiency: accuracy from a few labels (mean ± sd over label draws)", legend_loc=None)
    ax.legend(fontsize=SMALL_PT, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
