"""The figures of results: sweeps over settings and seeds, label efficiency, the InfoNCE bound during training,
nearest-neighbour retrieval. Each returns its Figure, with the conventions of ``clhelpers.plots`` (``DPI`` = 100,
at most 10 x 4 inches, no text below 8 points). A run made here is drawn filled and solid ("this run"); a
recorded one (a JSON file in ``benchmarks/``) hollow and dashed, labelled with its machine and file."""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .plots import BASELINE_COLORS, SMALL_PT, _axes, _figure, _image_cell, _label_axes, _log_axis, _np

__all__ = ["recorded_label", "plot_alignment_uniformity", "plot_sweep_accuracy", "plot_hardness", "plot_label_efficiency",
           "plot_bound_and_knn", "retrieval_grid", "plot_collapse"]


def recorded_label(record: Mapping) -> str:
    """``recorded on <GPU, or CPU model x cores>[, S steps per run] (<file>)`` for a record with ``machine``
    (and ``file``); the steps part when its ``command`` used ``--fixed-steps S``."""
    m = record.get("machine") or {}  # machine_description() keys, or the older machine_info() ones
    cpu = re.sub(r"\((R|TM)\)|\s*CPU\b|\s*@.*", "", str(m.get("cpu") or m.get("processor") or "?")).strip()
    where = m.get("gpu") or m.get("cuda_device") or f"{cpu} x{m.get('cpu_count', '?')} CPU"
    steps = re.search(r"--fixed-steps[ =](\d+)", str(record.get("command", "")))  # batch sizes at equal steps
    return f"recorded on {where}{f', {steps[1]} steps per run' if steps else ''} ({record.get('file', '?')})"


def _series(runs: Sequence[Mapping], recorded: Sequence[Mapping]) -> list[tuple[str, Sequence[Mapping], dict]]:
    """``(label, runs, style)``: ``this run`` (filled, solid), then each ``load_sweeps`` record (hollow, dashed)."""
    out = [("this run", runs, dict(marker="o", color="C0", linestyle="-"))]
    for i, record in enumerate(recorded):
        if not isinstance(record, Mapping) or "runs" not in record:
            raise ValueError(f"recorded[{i}] is not a sweep record with 'runs'; pass what load_sweeps() returns")
        style = dict(marker="s", color=f"C{i + 1}", linestyle="--", markerfacecolor="none")
        out.append((recorded_label(record), record["runs"], style))
    return out


def _draw_sweep(ax, runs: Sequence[Mapping], sweep: str, keys: tuple[str, str], label: str, style: dict) -> list:
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


def _baselines(ax, baselines: Mapping[str, float]) -> None:
    """Labelled dashed horizontal lines, e.g. ``{"raw pixels": 0.934, "random init": 0.83}``."""
    for i, (label, value) in enumerate(baselines.items()):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"baseline {label!r} must be a finite number, got {value!r}; e.g. {{'raw pixels': 0.934}}")
        ax.axhline(value, color=BASELINE_COLORS[i % len(BASELINE_COLORS)], linestyle="--", lw=1.2, label=f"{label} {value:.3g}")


def plot_alignment_uniformity(runs: list[dict], recorded: Sequence[dict] = (), title: str | None = None, *,
                              baselines: Mapping[str, float] = {}) -> Figure:
    """The alignment-uniformity plane (Wang & Isola, 2020) of the temperature sweep, in the loss space:
    ``alignment = E |f(x) - f(x+)|^2``, ``uniformity = log E exp(-2 |f(x) - f(y)|^2)``, lower is better on both.
    One point per temperature (several seeds: mean ± sd both ways) labelled τ; ``recorded`` (``load_sweeps``)
    hollow; ``baselines`` (label -> alignment) as labelled dashed lines."""
    fig, ax = _axes((6, 4))
    annotated = False
    for label, rs, style in _series(runs, recorded):
        points = _draw_sweep(ax, rs, "temperature", ("uniformity", "alignment"), label, style)
        for t, u, a in points if not annotated else ():  # label the first series only: recorded ones often coincide
            ax.annotate(f"τ={t:g}", (u, a), textcoords="offset points", xytext=(5, 4), fontsize=SMALL_PT, color=style["color"])
        annotated |= bool(points)
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


def plot_hardness(temperatures: Sequence[float], shares: Mapping[int, Sequence[float]], n_negatives: int,
                  title: str | None = None) -> Figure:
    """Share of the negative gradient on the k hardest negatives vs temperature on log-log axes, one line per k
    (``shares[k]``: ``metrics.hard_negative_share`` per temperature). Dashed: the even-spread level
    ``k / n_negatives`` it falls to at large temperatures (each negative then gets ``1 / n_negatives``)."""
    t = _np(temperatures).ravel()
    if not len(t) or not (t > 0).all() or int(n_negatives) != n_negatives or n_negatives < 1:
        raise ValueError(f"need positive temperatures (e.g. [0.05, 0.1, 0.5]) and n_negatives a positive integer (2N - 2), "
                         f"got {list(t)} and {n_negatives!r}")
    fig, ax = _axes((6, 3.6))
    lowest = 1.0
    for i, (k, values) in enumerate(sorted(shares.items())):
        v = _np(values).ravel()
        if v.shape != t.shape or not 1 <= k <= n_negatives:
            raise ValueError(f"shares[{k}]: need 1 <= k <= n_negatives and one share per temperature ({len(t)}), got {len(v)}")
        even = k / n_negatives
        ax.plot(t, v, marker="o", color=f"C{i}", label=f"top {k} of {n_negatives}", zorder=3)
        ax.axhline(even, color=f"C{i}", linestyle="--", lw=1.5, label=f"even spread {k}/{n_negatives} = {even:.2g}")
        lowest = min(lowest, even, float(np.min(v[v > 0], initial=1.0)))
    ax.set_ylim(lowest / 2, 1.3)
    _log_axis(ax, "y")
    title = title or "Hardness-awareness: where the gradient goes"
    _label_axes(ax, "temperature τ (log scale)", "share of negative gradient", title, log_x=t)
    return fig


# --------------------------------------------------------------------------- label efficiency
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
                             "benchmarks/label-efficiency-gpu.json, plus 'file'), or None with no recorded_curves")
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


# --------------------------------------------------------------------------- one training run
def plot_bound_and_knn(history: Sequence[Mapping], batch_size: int, baselines: Mapping[str, float] = {},
                       title: str | None = None, temperature: float | None = None) -> Figure:
    """Left: the InfoNCE lower bound on the mutual information between the two views, ``log(2N - 1) - L`` per
    epoch (L: the epoch's mean NT-Xent loss, N = ``batch_size``; dotted: its ceiling log(2N - 1); with
    ``temperature`` t, dashed: the lower cap ``log(2N - 1) - log(1 + (2N - 2) exp(-2 / t))`` that the bound
    cannot pass at that temperature, where every positive has cosine 1 and every negative -1). Right: the kNN
    accuracy of the epochs where it was measured, with ``baselines`` (label -> accuracy) as dashed lines."""
    if int(batch_size) != batch_size or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (the N of log(2N - 1)), got {batch_size!r}")
    if not history or any("epoch" not in h or "loss" not in h for h in history):
        raise ValueError("history must be train()'s list of per-epoch dicts with 'epoch', 'loss' and 'knn_acc'")
    cap = math.log(2 * int(batch_size) - 1)
    fig, axs = _figure(ncols=2, figsize=(10, 3.6))
    left, right = axs[0]
    left.plot([h["epoch"] for h in history], [cap - h["loss"] for h in history], marker="o", ms=3, label="log(2N-1) - loss")
    left.axhline(cap, color="0.4", linestyle=":", label=f"ceiling log(2N-1) = {cap:.2f} (N = {int(batch_size)})")
    if temperature is not None:
        if not (isinstance(temperature, (int, float)) and 0 < temperature < math.inf):
            raise ValueError(f"temperature must be a positive number (the run's), got {temperature!r}")
        at_t = cap - math.log1p((2 * int(batch_size) - 2) * math.exp(-2.0 / temperature))
        left.axhline(at_t, color="tab:red", linestyle="--", label=f"cap at temperature {temperature:g}: {at_t:.2f}")
    _label_axes(left, "epoch", "bound on I(view 1; view 2) (nats)", "InfoNCE lower bound, per epoch", legend_loc="best")
    measured = [(h["epoch"], h["knn_acc"]) for h in history if h.get("knn_acc") is not None]
    if measured:
        right.plot(*zip(*measured), marker="o", ms=4, color="C0", label="SimCLR features h")
    _baselines(right, baselines)
    _label_axes(right, "epoch", "kNN accuracy (test)", "kNN accuracy on h", legend_loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def retrieval_grid(queries, query_labels, neighbours, neighbour_labels, title: str | None = None, blocks: int = 2) -> Figure:
    """Nearest-neighbour retrieval: each query image ((Q, 28, 28) or (Q, 1, 28, 28)) followed by its K neighbours
    ((Q, K, 28, 28) or (Q, K, 1, 28, 28)). Every image is titled with its label (the query "query 3", bold); a neighbour whose label
    differs from its query's is titled in red inside a red frame. The Q rows are laid out in ``blocks`` side by side."""
    q, n = _np(queries), _np(neighbours)
    q, n = q.reshape(-1, *q.shape[-2:]), n[:, :, 0] if n.ndim == 5 else n  # drop a channel axis of 1
    ql, nl = [int(v) for v in _np(query_labels).ravel()], _np(neighbour_labels).astype(int)
    if not len(q) or n.ndim != 4 or n.shape[0] != len(q) or len(ql) != len(q) or nl.shape != n.shape[:2]:
        raise ValueError(f"need Q query images with Q labels and (Q, K) neighbours with (Q, K) labels, got {len(q)} queries, "
                         f"{len(ql)} labels, neighbours {n.shape}, labels {nl.shape}")
    k, rows = n.shape[1], math.ceil(len(q) / blocks)
    fig, axs = _figure(ncols=blocks * (k + 1), nrows=rows,
                       figsize=(min(10, 0.62 * blocks * (k + 1) + 0.2), min(4, 0.78 * rows + 0.35)))
    vmax = 255.0 if max(q.max(), n.max()) > 1 else 1.0
    for ax in axs.ravel():
        _image_cell(ax, None)
    for i in range(len(q)):
        row, col = i % rows, (i // rows) * (k + 1)
        _image_cell(axs[row, col], q[i], vmax)
        axs[row, col].set_title(f"query {ql[i]}", fontsize=SMALL_PT + 1, fontweight="bold")
        for j in range(k):
            ax, wrong = axs[row, col + 1 + j], nl[i, j] != ql[i]
            _image_cell(ax, n[i, j], vmax)
            ax.set_title(str(nl[i, j]), fontsize=SMALL_PT + 1, color="tab:red" if wrong else "0.25")
            if wrong:
                ax.spines[:].set_visible(True)
                ax.spines[:].set(color="tab:red", linewidth=2)
    fig.suptitle(title or f"Each query and its {k} nearest training digits (title: label; red: not the query's label)",
                 fontsize=10)
    return fig


def _kind_panel(ax, kinds: list[str], runs: Mapping[str, Mapping], summary: Mapping[str, Mapping], metric: str,
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
    """Notebook 07's collapse figure, one column per kind of run: kNN accuracy (left, with ``baselines`` such as
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
