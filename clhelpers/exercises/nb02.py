"""Notebook 02's exercises: 02.1 ``check_02_nt_xent`` (NT-Xent written from scratch) and 02.2
``check_02_collapse_value`` (the loss of a collapsed encoder for N = 32 pairs)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..checks import check_contrastive_loss
from ..lint import DIAGNOSES
from ._verdict import (Verdict, _batch, _call_answer, _collapse_bug, _mismatch, _near, _not_attempted, _number,
                       _unanswered, _wrong)

EX_02_LOSS, EX_02_COLLAPSE = "Exercise 02.1 · NT-Xent from scratch", "Exercise 02.2 · the collapse value"
COLLAPSE_N = 32


def _first_call(fn: Callable) -> Verdict | None:
    """A verdict when ``fn`` is not a finished function returning a scalar tensor; else None."""
    if not callable(fn):
        return _wrong(EX_02_LOSS, f"my_nt_xent should be a function, got {type(fn).__name__}.",
                      "define it with def my_nt_xent(z1, z2, temperature=0.5): ...")
    out = _call_answer(fn, EX_02_LOSS, "the body of my_nt_xent", "on a batch of 8 pairs",
                       "z1 and z2 are (N, D); return one number, e.g. F.cross_entropy(logits, targets)", *_batch(0), 0.5)
    if isinstance(out, Verdict):
        return out
    if not isinstance(out, torch.Tensor) or out.dim() != 0:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        return _wrong(EX_02_LOSS, f"it returned {got}, not a scalar tensor.",
                      "average the 2N per-anchor losses into one 0-dim tensor (.mean())")
    return None


def check_02_nt_xent(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2, temperature)``: all checks of ``check_contrastive_loss`` (a failure named with its likely
    bug, ``clhelpers.lint.DIAGNOSES`` or the collapsed batch's value), then equality with ``nt_xent``."""
    early = _not_attempted(EX_02_LOSS, "the body of my_nt_xent") if _unanswered(fn) else _first_call(fn)
    if early is not None:
        return early
    report = check_contrastive_loss(fn, name="my_nt_xent")
    if report.failed_checks:
        first = report.failed_checks[0]
        bug, fix = _collapse_bug(fn) or DIAGNOSES[first]
        return _wrong(EX_02_LOSS, f"failed check(s) {', '.join(report.failed_checks)} ({first}: "
                      f"{report[first].detail}). Likely bug: {bug}.", fix)
    differs = _mismatch(fn)
    if differs:
        return _wrong(EX_02_LOSS, differs[0] + ".", differs[1])
    return Verdict(EX_02_LOSS, "correct", f"passes all {len(report.results)} checks of check_contrastive_loss "
                   "and equals nt_xent on three random batches (t = 0.1, 0.5, 1).")


def check_02_collapse_value(value: Any) -> Verdict:
    """Check ``value``: NT-Xent of a collapsed encoder for a batch of ``COLLAPSE_N`` = 32 pairs, log(63)."""
    if _unanswered(value):
        return _not_attempted(EX_02_COLLAPSE, "collapse_32")
    n, hint = COLLAPSE_N, "count the candidates of one anchor: all 2N views but itself; all get the same logit"
    x = _number(value)
    if x is None:
        return _wrong(EX_02_COLLAPSE, f"collapse_32 should be one number, got {type(value).__name__}.", hint)
    if abs(x - math.log(2 * n - 1)) <= 1e-3:
        return Verdict(EX_02_COLLAPSE, "correct", f"log(2N - 1) = log(63) = {math.log(63):.3f}: each of the 63 "
                       "candidates gets probability 1/63. A loss stuck at 4.14 means the run has learned nothing yet.")
    known = ((math.log(2 * n), "log(2N) counts the anchor itself, but the diagonal is masked"),
             (math.log(2 * n - 2), "log(2N - 2) counts the negatives only; the positive is a candidate too"),
             (math.log(n), "log(N) counts the views of one side only; an anchor sees both views of every other pair"),
             (2 * n - 1, "that is the number of candidates; the loss is the log of it"),
             (1 / (2 * n - 1), "that is each candidate's probability; the loss is -log of it"),
             (math.log10(2 * n - 1), "log10: the loss uses the natural log (math.log)"))
    why = next((": " + why for target, why in known if _near(x, target, rel=1e-3)), "")
    return _wrong(EX_02_COLLAPSE, f"{x:.4g} is not the collapse value for N = {n}{why}.", hint)
