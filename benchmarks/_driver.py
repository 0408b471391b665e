"""The shared driver of the recording scripts: arms x seeds, baselines, a record saved after every seed.

A recording script says only what differs: its arms (kind -> a function that trains one run and measures
it), what to measure for the baselines (``knn_score`` or ``probe_score``), the metrics to summarize and the
reference arm. The driver does the rest, the same way for every script::

    for seed in seeds:                                     # the same seeds for every arm: a paired design
        cfg = preset + flags + fixed fields, seed=seed;  split = load_split(cfg)
        runs += [random_init]                              # evaluate.untrained_encoder(cfg), scored by `score`
        runs += [arm(cfg, split) for arm in arms]          # each row: {"kind", "seed", ...measures}
        runs += [raw_pixels]                               # evaluate.PIXELS, scored by `score`
        save(record)                                       # records.new_record / save_record, finished=False

The record (``clhelpers.records`` schema: created, command as typed, git commit, code hash, machine, seeds,
config) adds ``preset``, ``finished`` (false until the last seed is done), ``summary`` = ``{metric: {kind:
{mean, sd, n}}}`` (``records.summarize`` over seeds), and with a reference arm and >= 2 seeds ``reference`` and
``paired`` = ``{metric: {kind: {mean, lo, hi, n, verdict}}}`` (``records.paired_difference`` of kind - reference
over the seeds both have). A killed run keeps every seed it finished.

Each baseline row comes once per seed; ``random_init`` is first and ``raw_pixels`` last in a seed, so
``runs[1]`` is the first trained run (with its ``pixel_knn_acc``), as the notebooks read it.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from clhelpers.config import PRESETS, TrainConfig, preset
from clhelpers.device import pick_device
from clhelpers.evaluate import PIXELS, knn_monitor, split_scores, untrained_encoder
import json

from clhelpers.records import command_as_typed, load_record, new_record, paired_difference, save_record, summarize
from clhelpers.train import load_split

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
Arm = Callable[[TrainConfig, Split, bool], dict]  # (this seed's config, its split, progress) -> the run's measures
# (a "kind" or "seed" it returns is replaced by the driver's)
Score = Callable[[nn.Module, Split, TrainConfig], dict]
RANDOM_INIT, RAW_PIXELS = "random_init", "raw_pixels"

__all__ = ["Experiment", "knn_score", "probe_score", "recording_args", "baseline_rows", "summary_of", "paired_of",
           "save", "record_seeds", "merge_parts", "main", "RANDOM_INIT", "RAW_PIXELS"]


def knn_score(encoder: nn.Module, split: Split, cfg: TrainConfig) -> dict:
    """``{"knn_acc"}``: the kNN monitor ``train`` runs (features h, k = ``cfg.knn_k``)."""
    return {"knn_acc": knn_monitor(encoder, *split, k=cfg.knn_k)}


def probe_score(encoder: nn.Module, split: Split, cfg: TrainConfig) -> dict:
    """``{"knn_acc", "probe10"}``: kNN and the 10-labels-per-class probe (5 draws seeded by ``cfg.seed``)."""
    return split_scores(encoder, split, cfg.knn_k, seed=cfg.seed)


@dataclass(frozen=True)
class Experiment:
    """What a recording script records.

    ``script``: its file name (the recorded command is ``python benchmarks/<script> ...``); ``arms``: kind -> Arm;
    ``metrics``: the run keys to summarize; ``score``: how the baselines are measured (use the same numbers the
    arms report); ``reference``: the arm every other kind is paired against; ``preset``: the default preset;
    ``fixed``: config fields every run gets (e.g. float32); ``untrained_extra(cfg, split)``: more measures of
    the untrained network for the ``random_init`` row; ``extra``: more record keys.
    """

    script: str
    arms: Mapping[str, Arm]
    metrics: tuple[str, ...] = ("knn_acc",)
    score: Score = knn_score
    reference: str | None = None
    preset: str = "cpu-sweep"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    untrained_extra: Callable[[TrainConfig, Split], dict] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.arms:
            raise ValueError(f"{self.script}: an experiment needs at least one arm (kind -> function)")
        if self.reference is not None and self.reference not in (*self.arms, RANDOM_INIT, RAW_PIXELS):
            raise ValueError(f"reference {self.reference!r} is not an arm; choose one of {', '.join(self.arms)}")


def recording_args(description: str, kinds: Sequence[str], argv: list[str] | None = None,
                   default_preset: str = "cpu-sweep") -> tuple[argparse.Namespace, dict]:
    """Parse the flags every recording script shares: ``--preset``, ``--seeds`` (0 1 2), ``--kinds`` (a subset of
    ``kinds``), ``--epochs``, ``--device``, ``--quiet``, ``--out`` (required). Returns the arguments and the
    ``TrainConfig`` overrides they give (``epochs``, ``device``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--preset", default=default_preset, choices=sorted(PRESETS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds, the same for every kind")
    p.add_argument("--kinds", nargs="+", default=list(kinds), choices=list(kinds), metavar="KIND",
                   help=f"the arms to run (default all: {', '.join(kinds)})")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="device (default: the preset's)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="write the record (JSON) here, after every seed")
    args = p.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        p.error(f"--seeds has repeats ({args.seeds}); give each seed once")
    return args, {k: getattr(args, k) for k in ("epochs", "device") if getattr(args, k) is not None}


def baseline_rows(exp: Experiment, cfg: TrainConfig, split: Split) -> tuple[dict, dict]:
    """The ``random_init`` row (``untrained_encoder(cfg)``, scored by ``exp.score``, plus ``untrained_extra``)
    and the ``raw_pixels`` row (``evaluate.PIXELS`` scored the same way) of this seed."""
    untrained = {"kind": RANDOM_INIT, "seed": cfg.seed, **exp.score(untrained_encoder(cfg, split[0].device), split, cfg)}
    if exp.untrained_extra is not None:
        untrained.update(exp.untrained_extra(cfg, split))
    return untrained, {"kind": RAW_PIXELS, "seed": cfg.seed, **exp.score(PIXELS, split, cfg)}


def _by_kind(runs: Sequence[dict], metric: str) -> dict[str, dict[int, float]]:
    """``{kind: {seed: value}}`` of ``metric`` (runs without it, or with ``None``, are left out)."""
    out: dict[str, dict[int, float]] = {}
    for r in runs:
        if r.get(metric) is not None:
            out.setdefault(r["kind"], {})[r["seed"]] = float(r[metric])
    return out


def summary_of(runs: Sequence[dict], metrics: Sequence[str]) -> dict:
    """``{metric: {kind: {"mean", "sd", "n"}}}`` over the seeds (``records.summarize``), kinds in run order."""
    return {m: {kind: summarize(list(v.values())) for kind, v in _by_kind(runs, m).items()} for m in metrics}


def paired_of(runs: Sequence[dict], metrics: Sequence[str], reference: str) -> dict:
    """``{metric: {kind: {"mean", "lo", "hi", "n", "verdict"}}}``: kind - ``reference`` over the seeds both ran
    (``records.paired_difference``, 95% t-interval); kinds sharing fewer than 2 seeds with it are left out."""
    out: dict = {}
    for m in metrics:
        values = _by_kind(runs, m)
        ref = values.get(reference, {})
        for kind, v in values.items():
            seeds = [s for s in v if s in ref]
            if kind == reference or len(seeds) < 2:
                continue
            d = paired_difference([v[s] for s in seeds], [ref[s] for s in seeds])
            out.setdefault(m, {})[kind] = {"mean": d.mean, "lo": d.lo, "hi": d.hi, "n": d.n,
                                           "verdict": d.verdict(kind, reference)}
    return out


def save(exp: Experiment, out: str | Path, runs: list[dict], base: TrainConfig, command: str | None,
         finished: bool) -> dict:
    """Build the record (``records.new_record``: the one schema) with its summary and paired differences, write
    it atomically (``records.save_record``) and return it."""
    extra: dict = {"preset": base.preset, "finished": finished, **exp.extra, "summary": summary_of(runs, exp.metrics)}
    if exp.reference is not None:
        paired = paired_of(runs, exp.metrics, exp.reference)
        if paired:
            extra.update(reference=exp.reference, paired=paired)
    record = new_record(runs, base.to_dict(), command=command, device=pick_device(base.device), **extra)
    save_record(out, record)
    return record


def record_seeds(exp: Experiment, base: TrainConfig, seeds: Sequence[int], kinds: Sequence[str],
                 out: str | Path, command: str | None = None, progress: bool = True) -> dict:
    """Run every kind of ``kinds`` on every seed (the baselines once per seed) and save the record after every
    seed; returns the last record. ``base``: the config before the seed; ``command``: default as typed."""
    unknown = [k for k in kinds if k not in exp.arms]
    if unknown or not kinds or not seeds:
        raise ValueError(f"give seeds and kinds out of {', '.join(exp.arms)}; got seeds {list(seeds)}, unknown kinds {unknown}")
    runs: list[dict] = []
    record: dict = {}
    for i, seed in enumerate(seeds):
        cfg = replace(base, seed=int(seed), out_dir=None, resume=False)
        split = load_split(cfg, pick_device(cfg.device))
        untrained, pixels = baseline_rows(exp, cfg, split)
        runs.append(untrained)
        for kind in kinds:
            measured = exp.arms[kind](cfg, split, progress)
            runs.append({"kind": kind, "seed": cfg.seed, **{k: v for k, v in measured.items() if k not in ("kind", "seed")}})
            shown = "  ".join(f"{m} {runs[-1][m]:.4f}" for m in exp.metrics if runs[-1].get(m) is not None)
            print(f"seed {seed} {kind:24s} {shown}", file=sys.stderr, flush=True)
        runs.append(pixels)
        record = save(exp, out, runs, base, command, finished=i == len(seeds) - 1)
    return record


def _with_defaults(config: Mapping) -> dict:
    """``config`` with every ``TrainConfig`` field it lacks at its default (a record made before a field existed ran
    with that default), so that parts recorded before and after a new field compare equal."""
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    return {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in defaults.items()}, **config}


def merge_parts(exp: Experiment, parts: Sequence[str | Path], out: str | Path) -> dict:
    """Join records of ``exp`` made with one config on disjoint seeds (e.g. in parallel processes, or a seed added
    later) into one record at ``out``: runs in seed order, the summary and the paired differences recomputed over all
    seeds; ``command`` lists every part's command (``parts`` keeps them); ``finished`` is true when every seed has the
    same kinds. Command line: ``python benchmarks/SCRIPT.py --merge OUT PART1 PART2 ...``."""
    records = [load_record(p) for p in parts]
    seeds = [s for r in records for s in r["seeds"]]
    if len(set(seeds)) != len(seeds) or len({json.dumps(_with_defaults(r["config"]), sort_keys=True) for r in records}) != 1:
        raise ValueError(f"parts must share one config and have disjoint seeds, got seeds {seeds}; record them again")
    runs = sorted((run for r in records for run in r["runs"]), key=lambda run: run["seed"])  # stable within a seed
    skip = ("schema", "created", "command", "git_commit", "code_hash", "machine", "seeds", "config", "runs", "summary",
            "paired", "parts")
    extra = {k: v for k, v in records[0].items() if k not in skip}
    kinds_of = {seed: {run["kind"] for run in runs if run["seed"] == seed} for seed in seeds}
    extra.update(finished=len({frozenset(k) for k in kinds_of.values()}) == 1, summary=summary_of(runs, exp.metrics),
                 parts=[c for r in records for c in (r.get("parts") or [r["command"]])])
    if exp.reference is not None:
        extra.update(reference=exp.reference, paired=paired_of(runs, exp.metrics, exp.reference))
    record = new_record(runs, records[0]["config"], command=" ; ".join(extra["parts"]), **extra)
    record["machine"] = records[0]["machine"]
    save_record(out, record)
    return record


def main(exp: Experiment, description: str, argv: list[str] | None = None, command: str | None = None) -> int:
    """The command line of a recording script: parse the shared flags, record, print the summary. ``command``:
    the command to record when ``argv`` is not the whole command line (default: as typed). ``--merge OUT PART...``
    joins records made on disjoint seeds instead (``merge_parts``)."""
    argv_ = sys.argv[1:] if argv is None else argv
    if argv_[:1] == ["--merge"]:
        if len(argv_) < 4:
            raise SystemExit("usage: --merge OUT PART1 PART2 [...]: the merged record, then at least two parts")
        merge_parts(exp, argv_[2:], argv_[1])
        print(f"wrote {argv_[1]}")
        return 0
    args, overrides = recording_args(description, list(exp.arms), argv, exp.preset)
    base = replace(preset(args.preset), **{**exp.fixed, **overrides})
    if command is None and argv is not None:
        command = command_as_typed(["python", f"benchmarks/{exp.script}", *argv])
    record = record_seeds(exp, base, args.seeds, args.kinds, args.out, command, progress=not args.quiet)
    for metric, by_kind in record["summary"].items():
        for kind, s in by_kind.items():
            print(f"{metric:>20s}  {kind:24s} {s['mean']:.4f} ± {s['sd']:.4f} (n = {s['n']})")
    for metric, by_kind in record.get("paired", {}).items():
        for d in by_kind.values():
            print(f"{metric}: {d['verdict']}")
    print(f"wrote {args.out}")
    return 0
