"""One record format for every recorded result, and the statistics every claim about records uses.

A record is one JSON file (in ``benchmarks/``, or ``metrics.json`` of a run) that carries what made it,
as airbench's records do::

    {"schema": "clhelpers-record-v1", "created": "2026-12-04T21:30:00Z",
     "command": "python benchmarks/methods_table.py --seeds 0 1 2 3 4 --out ...",   # as typed, quoted
     "git_commit": "88d2f08...", "code_hash": "3f2a...", "machine": {...}, "seeds": [0, 1, 2, 3, 4],
     "config": {...}, ...what the script adds (summary, data, ...)..., "runs": [...]}

* ``new_record`` / ``save_record`` (atomic) / ``load_record`` (reads records written before this schema too:
  ``date`` becomes ``created``, missing keys are ``None``) and ``command_as_typed``.
* ``seed_means(record, kind, metric, key)``: one number per training seed (the mean over its label draws), the
  values a paired comparison of two kinds, or of two records, takes.
* ``summarize(values)``: mean, sd (sample sd; 0.0 for one value) and n: the one mean ± sd of the project.
* ``paired_difference(a, b)``: the mean of per-seed differences with its 95% t-interval, and ``verdict``,
  the sentence a notebook may print: "A beats B by ..." only when the interval excludes 0, else
  "not resolved with n seeds (95% CI [lo, hi])". Text, tables, figures and asserts use this one helper,
  so a claim and its assert cannot disagree.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .device import machine_description
from .files import atomic_write_json

SCHEMA = "clhelpers-record-v1"
REQUIRED = ("schema", "created", "command", "git_commit", "code_hash", "machine", "seeds", "config", "runs")
PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = ["SCHEMA", "REQUIRED", "command_as_typed", "git_commit", "code_hash", "new_record", "save_record",
           "load_record", "summarize", "PairedDifference", "paired_difference"]


# ----------------------------------------------------------------------------- what made it
def command_as_typed(argv: Sequence[str] | None = None) -> str:
    """The command line that started this process, quoted as a shell needs it, interpreter as ``python``.

    Uses ``sys.orig_argv`` (Python >= 3.10), so ``python -m clhelpers.bench --device cuda`` and
    ``python -m clhelpers bench --device cuda`` are each recorded as typed. ``argv`` (a full command line,
    program first) replaces it, e.g. in tests.
    """
    words = list(sys.orig_argv if argv is None else argv)
    if not words:
        return ""
    if Path(words[0]).name.startswith("python") or words[0] == sys.executable:
        words[0] = "python"
    return shlex.join(words)


def git_commit(folder: str | os.PathLike | None = None) -> str | None:
    """The checked-out commit of the repository holding ``folder`` (default: this package); ``None`` outside git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=folder or PACKAGE_DIR)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def code_hash(folder: str | os.PathLike | None = None) -> str:
    """First 16 hex digits of the SHA-256 of every ``*.py`` under ``folder`` (default: the package), by path:
    two records with the same hash ran the same package code, committed or not."""
    root = Path(folder or PACKAGE_DIR)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def new_record(runs: list[dict], config: dict | None, command: str | None = None, device: Any = None,
               **extra: Any) -> dict:
    """A record in the one schema: ``created`` now, ``command`` (default: as typed), ``git_commit``,
    ``code_hash``, ``machine`` (of ``device``), ``seeds`` (from the runs' ``seed``), ``config``, ``extra``, ``runs``."""
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ValueError("runs must be a list of dicts (one per run); pass [] for a record without runs")
    return {"schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": command_as_typed() if command is None else command, "git_commit": git_commit(),
            "code_hash": code_hash(), "machine": machine_description(device),
            "seeds": sorted({int(r["seed"]) for r in runs if "seed" in r}), "config": config, **extra, "runs": runs}


def save_record(path: str | os.PathLike, record: dict) -> Path:
    """Write ``record`` (from ``new_record``) to ``path`` atomically; a ``ValueError`` if a schema key is missing."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ValueError(f"not a record: {missing} missing; build it with records.new_record(runs, config, ...)")
    return atomic_write_json(path, record)


def load_record(path: str | os.PathLike) -> dict:
    """Read a record, upgrading one written before the schema (``date`` -> ``created``; absent keys ``None``,
    ``runs`` ``[]``); a ``ValueError`` naming the file for invalid JSON or a file that is not a JSON object."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable record ({err}); record it again with the command in its script") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} is not a record (a JSON object was expected); record it again")
    if "created" not in record and "date" in record:
        record["created"] = record["date"]
    for key in REQUIRED:
        record.setdefault(key, [] if key in ("runs", "seeds") else None)
    record["schema"] = record["schema"] or f"{SCHEMA} (upgraded on load)"
    return record


def seed_means(record: dict, kind: str, metric: str, key: str) -> dict[int | None, float]:
    """``{seed: mean of the values}`` of every run of ``record`` whose ``results[kind][metric][key]`` is a list of
    scores (one per label draw): the one number per training seed that a paired comparison takes. A run without a
    seed (raw pixels: nothing is trained) is keyed ``None``; a ``ValueError`` names what is missing when no run has it."""
    out: dict[int | None, float] = {}
    for run in record.get("runs", []):
        values = run.get("results", {}).get(kind, {}).get(metric, {}).get(key)
        if values:
            out[run.get("seed")] = statistics.fmean(float(v) for v in values)
    if not out:
        raise ValueError(f"no run of the record holds results[{kind!r}][{metric!r}][{key!r}]; kinds it holds: "
                         f"{sorted({k for r in record.get('runs', []) for k in r.get('results', {})})}")
    return out


# ----------------------------------------------------------------------------- statistics
def summarize(values: Sequence[float]) -> dict:
    """``{"mean", "sd", "n"}`` of ``values``: the sample sd (n - 1), 0.0 for a single value."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("no values to summarize: give at least one number")
    return {"mean": statistics.fmean(xs), "sd": statistics.stdev(xs) if len(xs) > 1 else 0.0, "n": len(xs)}


@dataclass(frozen=True)
class PairedDifference:
    """Mean of ``a[i] - b[i]`` over paired seeds with its two-sided t confidence interval."""

    mean: float
    lo: float
    hi: float
    n: int
    confidence: float = 0.95

    @property
    def resolved(self) -> bool:
        """True when the interval excludes 0: only then may a text say that one arm beats the other."""
        return self.lo > 0 or self.hi < 0

    def verdict(self, a: str = "A", b: str = "B", digits: int = 3) -> str:
        """"A beats B by 0.012 (95% CI [+0.004, +0.020], 5 seeds)", the reverse, or "A vs B: not resolved ...".

        The interval is always that of the difference the sentence names: A - B when A wins or nothing is resolved,
        B - A when B wins (so a winner's interval lies above 0)."""
        lo, hi, mean = (self.lo, self.hi, self.mean) if self.mean > 0 or not self.resolved else (-self.hi, -self.lo, -self.mean)
        ci = f"{self.confidence:.0%} CI [{lo:+.{digits}f}, {hi:+.{digits}f}], {self.n} seeds"
        if not self.resolved:
            return f"{a} vs {b}: not resolved with {self.n} seeds ({ci}; mean difference {mean:+.{digits}f})"
        win, lose = (a, b) if self.mean > 0 else (b, a)
        return f"{win} beats {lose} by {mean:.{digits}f} ({ci})"


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedDifference:
    """The paired comparison of two arms run on the same seeds (``a[i]`` and ``b[i]`` share seed i).

    Mean of the differences ``d_i = a_i - b_i`` and its interval ``mean ± t_{n-1} sd(d) / sqrt(n)``. Needs
    n >= 2 pairs; with identical differences the interval has zero width.
    """
    from scipy.stats import t as student_t

    if len(a) != len(b):
        raise ValueError(f"paired arms need one value per seed each: got {len(a)} and {len(b)}; run both on the same seeds")
    if len(a) < 2:
        raise ValueError(f"a paired interval needs at least 2 seeds, got {len(a)}; the project's rule asks for >= 5")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")
    d = [float(x) - float(y) for x, y in zip(a, b)]
    n, mean = len(d), statistics.fmean(d)
    half = float(student_t.ppf(0.5 + confidence / 2, n - 1)) * statistics.stdev(d) / math.sqrt(n)
    return PairedDifference(mean=mean, lo=mean - half, hi=mean + half, n=n, confidence=confidence)
