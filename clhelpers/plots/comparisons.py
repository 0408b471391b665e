"""The figures that compare settings over seeds (mean ± sd): ablations, the temperature and batch-size sweeps
(accuracy, alignment-uniformity plane) and the kinds of run of notebook 08 (accuracy and collapse diagnostic).
A run made here is drawn filled and solid ("this run"); a recorded one (a JSON file in ``benchmarks/``) hollow
and dashed, labelled with its machine and file (``recorded_label``)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._style import BASELINE_COLORS, SMALL_PT, _axes, _baselines, _figure, _label_axes, recorded_label

def ablation_bars(summary: Mapping[str, Mapping[str, Mapping[str, float]]], metrics: Mapping[str, str],
                  baselines: Sequence[str] = (), title: str = "Ablation") -> Figure:
    """One panel per metric (``metrics``: key in ``summary`` -> axis label), one row per setting: its mean as a
    dot with ± sd error bars (``summary[metric][setting] = {"mean", "sd", "n"}``, e.g. from
    ``sweeps.summarize_runs``); dots, not bars, since the axis does not start at 0. The settings named in
    ``baselines`` (e.g. "raw pixels") are dashed vertical lines instead of rows, so every row is read against them."""
    if not metrics or any(m not in summary for m in metrics):
        raise ValueError(f"metrics must name keys of summary ({sorted(summary)}), got {list(metrics)}")
    fig, axs = _figure(ncols=len(metrics), figsize=(min(10, 4.6 * len(metrics)), 3.8), sharey=True)
    for ax, (metric, label) in zip(axs[0], metrics.items()):
        rows = [s for s in summary[metric] if s not in baselines]
        means = [summary[metric][s]["mean"] for s in rows]
        ax.errorbar(means, range(len(rows)), xerr=[summary[metric][s]["sd"] for s in rows], fmt="o", color="C0", capsize=3)
        for i, name in enumerate(b for b in baselines if b in summary[metric]):
            ax.axvline(summary[metric][name]["mean"], color=BASELINE_COLORS[i % len(BASELINE_COLORS)], linestyle="--",
                       lw=1.2, label=f"{name} {summary[metric][name]['mean']:.3f}")
        ax.set_yticks(range(len(rows)), rows, fontsize=SMALL_PT + 1)
        ax.grid(axis="x", alpha=0.3)
        n = max(summary[metric][s]["n"] for s in rows)
        _label_axes(ax, f"{label} (mean ± sd, {n} seeds)", "", label, legend_loc=None)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=SMALL_PT, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    axs[0, 0].invert_yaxis()  # the first setting on top (the y axis is shared: invert it once)
    fig.suptitle(title, fontsize=11)
    return fig


def _series(runs: Sequence[Mapping], recorded: Sequence[Mapping]) -> list[tuple[str, Sequence[Mapping], dict]]:
    """``(label, runs, style)``: ``this run`` (filled, solid), then each ``load_sweeps`` record (hollow, dashed)."""
    out = [("this run", runs, dict(marker="o", color="C0", linestyle="-"))]
    for i, record in enumerate(recorded):
        if not isinstance(record, Mapping) or "runs" not in record:
            raise ValueError(f"recorded[{i}] is not a sweep record with 'runs'; pass what load_sweeps() returns")
        style = dict(marker="s", color=f"C{i + 1}", linestyle="--", markerfacecolor="none")
        out.append((recorded_label(record), record["runs"], style))
    return out


def _draw_sweep(ax: Axes, runs: Sequence[Mapping], sweep: str, keys: tuple[str, str], label: str, style: dict) -> list:
    """Draw the runs with ``run["sweep"] == sweep`` as one line through the means of ``keys`` (x, y) per swept
    value; a setting with >= 2 seeds gets ± sd error bars (sample sd, ddof 1). Returns ``[(value, x, y)]``."""
    groups: dict[float, list[tuple[float, float]]] = {}
    for i, r in enumerate(run for run in runs if run.get("sweep") == sweep):
        missing = [k for k in (sweep, *keys) if k not in r]
        if missing:
            raise ValueError(f"run {i} of the {sweep} sweep has no {missing[0]!r}; pass the dicts run_sweep returns")
        groups.setdefault(float(r[sweep]), []).append((float(r[keys[0]]), float(r[keys[1]])))
    if not groups:
        return []
    values, xy = sorted(groups), [np.array(groups[v]) for v in sorted(groups)]
    mean = np.array([a.mean(0) for a in xy])
    sd = np.array([a.std(0, ddof=1) if len(a) > 1 else np.zeros(2) for a in xy])
    lo, hi = min(map(len, xy)), max(map(len, xy))  # error bars only when some setting has several seeds
    several, label = hi >= 2, label + (f", mean ± sd of {lo if lo == hi else f'{lo}-{hi}'} seeds" if hi >= 2 else "")
    x_is_swept = keys[0] == sweep  # then x is the setting itself: exact, without error bars
    x = np.array(values) if x_is_swept else mean[:, 0]
    ax.errorbar(x, mean[:, 1], xerr=None if x_is_swept or not several else sd[:, 0], yerr=sd[:, 1] if several else None,
                capsize=3 if several else 0, label=label, **style)
    return list(zip(values, x, mean[:, 1]))


_LABEL_OFFSETS = ((5, 4), (5, -11), (-5, 4), (-5, -11))   # points: this run, then each record


def plot_alignment_uniformity(runs: list[dict], recorded: Sequence[dict] = (), title: str | None = None, *,
                              baselines: Mapping[str, float] = {}) -> Figure:
    """The alignment-uniformity plane (Wang & Isola, 2020) of the temperature sweep, in the loss space:
    ``alignment = E |f(x) - f(x+)|^2``, ``uniformity = log E exp(-2 |f(x) - f(y)|^2)``, lower is better on both.
    One point per temperature (several seeds: mean ± sd both ways), every point of every series labelled with its τ
    in the series' colour (this run above right, the records below right, then left, so coinciding points stay
    readable); ``recorded`` (``load_sweeps``) hollow; ``baselines`` (label -> alignment) as labelled dashed lines."""
    fig, ax = _axes((6, 4))
    for j, (label, rs, style) in enumerate(_series(runs, recorded)):
        offset = _LABEL_OFFSETS[j % len(_LABEL_OFFSETS)]
        for t, u, a in _draw_sweep(ax, rs, "temperature", ("uniformity", "alignment"), label, style):
            ax.annotate(f"τ={t:g}", (u, a), textcoords="offset points", xytext=offset, fontsize=SMALL_PT,
                        color=style["color"], ha="left" if offset[0] > 0 else "right")
    ax.margins(0.15)
    _baselines(ax, baselines)
    _label_axes(ax, "uniformity (lower = more spread out)", "alignment (lower = positives closer)",
                title or "Temperature on the alignment-uniformity plane")
    return fig


def plot_sweep_accuracy(runs: list[dict], recorded: Sequence[dict] = (), title: str | None = None, *,
                        baselines: Mapping[str, float] = {}) -> Figure:
    """kNN accuracy against temperature (left) and batch size (right), for ``runs`` and ``recorded`` sweeps;
    several seeds per setting: mean ± sd. ``baselines`` (label -> accuracy, e.g. ``{"raw pixels": 0.934}``):
    labelled dashed lines in both panels. One legend for both panels, below them (the labels name files)."""
    fig, axs = _figure(ncols=2, figsize=(10, 4))
    series = _series(runs, recorded)
    for ax, sweep, xlabel in zip(axs[0], ("temperature", "batch_size"), ("temperature τ (log scale)", "batch size (log scale)")):
        swept: set[float] = set()
        for label, rs, style in series:
            swept.update(p[0] for p in _draw_sweep(ax, rs, sweep, (sweep, "knn_acc"), label, style))
        if not swept:
            ax.text(0.5, 0.5, f"no runs with sweep = {sweep!r}", transform=ax.transAxes, ha="center", color="0.4")
        _baselines(ax, baselines)
        _label_axes(ax, xlabel, "kNN accuracy (test)", f"{sweep.replace('_', ' ')} sweep", log_x=sorted(swept) if swept else None,
                    legend_loc=None)
    handles: dict = {}
    for ax in axs[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)  # each label once: both panels draw the same series
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=2, fontsize=SMALL_PT)
    fig.suptitle(title or "kNN accuracy after the same number of epochs", fontsize=11)
    return fig


def _kind_panel(ax: Axes, kinds: list[str], runs: Mapping[str, Mapping], summary: Mapping[str, Mapping], metric: str,
                recorded_name: str) -> None:
    """One metric per kind: this run's value (filled dot) and the recorded mean ± sd (hollow square), side by side."""
    x = np.arange(len(kinds))
    live = [(i, float(runs[k][metric])) for i, k in enumerate(kinds) if k in runs and runs[k].get(metric) is not None]
    rec = [(i, summary[k]) for i, k in enumerate(kinds) if k in summary]
    if live:
        ax.plot([i - 0.12 for i, _ in live], [v for _, v in live], "o", color="C0", label="this run (1 seed)")
    if rec:
        n = sorted({int(s["n"]) for _, s in rec})
        ax.errorbar([i + 0.12 for i, _ in rec], [s["mean"] for _, s in rec], yerr=[s["sd"] for _, s in rec], fmt="s",
                    color="C1", markerfacecolor="none", capsize=3,
                    label=f"{recorded_name}, mean ± sd of {'-'.join(map(str, n))} seeds")
    ax.set_xticks(x, [k.replace("_", " ") for k in kinds], rotation=25, ha="right", fontsize=SMALL_PT)


def plot_collapse(runs: Mapping[str, Mapping], recorded: Mapping[str, Mapping] | None = None, *, std_reference: float,
                  baselines: Mapping[str, float] = {}, recorded_name: str = "recorded", title: str | None = None) -> Figure:
    """Notebook 08's collapse figure, one column per kind of run: kNN accuracy (left, with ``baselines`` such as
    ``{"raw pixels": 0.93, "random init": 0.83}`` as dashed lines) and ``embedding_std`` of z (right, with the
    spread reference ``std_reference`` = 1/sqrt(d) and 0 = collapsed).

    ``runs``: kind -> this run's dict with ``"knn_acc"`` and ``"embedding_std"`` (filled dots, "this run").
    ``recorded``: a ``benchmarks/collapse_table.py`` record's ``"summary"``, i.e. ``{"knn_acc": {kind: {"mean",
    "sd", "n"}}, "embedding_std": {...}}`` (hollow squares with ± sd). Kinds: the recorded ones in their order,
    then the live ones the record lacks."""
    recorded = recorded or {}
    if recorded and not all(isinstance(recorded.get(m), Mapping) for m in ("knn_acc", "embedding_std")):
        raise ValueError("recorded must be a collapse record's 'summary' with 'knn_acc' and 'embedding_std' "
                         "(kind -> {'mean', 'sd', 'n'}); pass json.load(...)['summary']")
    if not std_reference > 0:
        raise ValueError(f"std_reference must be 1/sqrt(d) > 0 for the d-dimensional z, got {std_reference!r}")
    kinds = [k for k in recorded.get("embedding_std", {})] + [k for k in runs if k not in recorded.get("embedding_std", {})]
    if not kinds:
        raise ValueError("nothing to draw: give runs (kind -> run dict) and/or a recorded summary")
    fig, axs = _figure(ncols=2, figsize=(10, 3.8))
    acc_ax, std_ax = axs[0]
    _kind_panel(acc_ax, kinds, runs, recorded.get("knn_acc", {}), "knn_acc", recorded_name)
    _baselines(acc_ax, baselines)
    _label_axes(acc_ax, "", "kNN accuracy (test)", "kNN accuracy", legend_loc=None)
    _kind_panel(std_ax, kinds, runs, recorded.get("embedding_std", {}), "embedding_std", recorded_name)
    std_ax.axhline(std_reference, color=BASELINE_COLORS[0], linestyle="--", lw=1.2,
                   label=f"spread: 1/sqrt(d) = {std_reference:.3f}")
    std_ax.axhline(0.0, color=BASELINE_COLORS[1], linestyle=":", lw=1.2, label="collapsed: 0")
    std_ax.set_ylim(-0.01, 1.25 * std_reference)
    _label_axes(std_ax, "", "std of normalized z, per dimension", "Collapse diagnostic (embedding_std of z)",
                legend_loc=None)
    handles: dict = {}  # one legend below both panels (label -> first handle), clear of the points
    for ax in axs[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=3, fontsize=SMALL_PT)
    fig.suptitle(title or "Avoiding collapse: accuracy and spread of the embeddings", fontsize=11)
    return fig
