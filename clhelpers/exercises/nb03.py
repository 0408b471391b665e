"""Notebook 03's exercises on ``one_way_nt_xent``, the one-way InfoNCE of CPC and MoCo (CLIP averages it over both
directions): a different convention from NT-Xent, whose one real bug is its unstabilized exp. 03.1
``check_03_predicted_failures(fails)``: which checks of NT-Xent's suite it fails; 03.2 ``check_03_fixed_loss(fn)``:
the loss converted to NT-Xent's convention, stably."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..checks import CHECKS, check_contrastive_loss
from ..lint import DIAGNOSES
from ._verdict import Verdict, _call_answer, _collapse_bug, _mismatch, _not_attempted, _unanswered, _wrong

EX_03_PREDICT = "Exercise 03.1 · predict the failed checks"
EX_03_FIX = "Exercise 03.2 · convert it to NT-Xent, stably"


def one_way_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """The loss of exercises 03.1 and 03.2: one-way InfoNCE (the CPC/MoCo convention), the N view-1 anchors each
    against the N views 2. A different convention from NT-Xent, not a broken NT-Xent; its one bug, in any
    convention, is the plain exp, which overflows at a small temperature where a log-sum-exp would not."""
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    e = torch.exp(a @ b.T / temperature)                  # (N, N): anchor i of view 1 against every view 2
    return -torch.log(e.diagonal() / e.sum(dim=1)).mean()  # the positive of anchor i is z2[i], the diagonal


#: check -> (why one_way_nt_xent fails it, why it passes it); the first two failures are its convention, not bugs
ONE_WAY_REASONS = {
    "finite": ("", "at t = 0.5 a logit is at most 1 / 0.5 = 2 and exp(2) is harmless"),
    "collapse_value": ("the one-way convention gives each anchor N candidates (the N views 2), so a collapsed batch "
                       "gives log N = log 8, not NT-Xent's log(2N - 1) = log 15", ""),
    "symmetric": ("the one-way convention makes only the views 1 anchors: L(z2, z1) softmaxes over the columns of "
                  "z1 z2^T instead of its rows (CLIP averages the two directions)", ""),
    "pair_permutation_invariant": ("", "one permutation of z1 and z2 permutes the rows and columns of z1 z2^T "
                                   "alike: the positives stay on the diagonal"),
    "aligned_pairs_lower_loss": ("", "the positive z2[i] is in the numerator, so aligned pairs score lower"),
    "scale_invariant": ("", "F.normalize runs first: a scaled embedding gives the same cosines"),
    "uses_temperature": ("", "the cosines are divided by the temperature"),
    "finite_small_temperature": ("the one real bug: at t = 0.01 an aligned pair's logit is about 100 and exp(100) = "
                                 "2.7e43 overflows float32 (max 3.4e38): inf / inf = nan; a log-sum-exp stays finite",
                                 ""),
    "gradient_direction": ("", "it minimizes -log softmax of the positive: a step pulls the positives together"),
}


def _check_names(answer: Any) -> set[str] | None:
    """``answer`` (one name or a collection of names) as a set of stripped check names, else None."""
    names = [answer] if isinstance(answer, str) else answer
    ok = isinstance(names, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in names)
    return {a.strip() for a in names} if ok else None


def check_03_predicted_failures(fails: Any) -> Verdict:
    """Check ``fails``: the names of the checks of ``check_contrastive_loss`` that ``one_way_nt_xent`` fails."""
    if _unanswered(fails):
        return _not_attempted(EX_03_PREDICT, "fails")
    chosen = _check_names(fails)
    unknown = sorted(chosen - set(CHECKS)) if chosen is not None else []
    if chosen is None or unknown:
        return _wrong(EX_03_PREDICT, f"no check is named {', '.join(map(repr, unknown))}." if unknown else
                      f"fails should be a set of check names, got {type(fails).__name__}.",
                      f"choose among {', '.join(CHECKS)}")
    report = check_contrastive_loss(one_way_nt_xent)
    failed = set(report.failed_checks)
    if chosen == failed:
        why = "; ".join(f"{c}: {ONE_WAY_REASONS[c][0]}" for c in report.failed_checks)
        return Verdict(EX_03_PREDICT, "correct", f"it fails exactly {', '.join(report.failed_checks)}. {why}. "
                       "Two of the three measure the one-way convention against NT-Xent's; only the exp is a bug.")
    parts = [f"{c} fails ({report[c].detail}): {ONE_WAY_REASONS[c][0] or report[c].detail}"
             for c in report.failed_checks if c not in chosen]
    parts += [f"{c} passes ({report[c].detail}): {ONE_WAY_REASONS[c][1] or report[c].detail}"
              for c in CHECKS if c in chosen - failed]
    return _wrong(EX_03_PREDICT, f"{len(chosen & failed)} of your {len(chosen)} right, {len(failed)} fail in all. "
                  + "; ".join(parts) + ".", "read the loss line by line against each check of CHECKS: how many "
                  "candidates, which rows are anchors, what exp does at t = 0.01")


def _diagnosis(fn: Callable, check: str) -> str:
    """``check (likely cause: ...; fix: ...)`` for a failed check, from the collapsed batch's value or DIAGNOSES
    (a cause may be a bug or, for collapse_value and symmetric, a convention other than NT-Xent's)."""
    bug = (_collapse_bug(fn) if check == "collapse_value" else None) or DIAGNOSES[check]
    return f"{check} (likely cause: {bug[0]}; fix: {bug[1]})"


def check_03_fixed_loss(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2, temperature)``, ``one_way_nt_xent`` converted to NT-Xent's convention and made stable:
    every check of ``check_contrastive_loss`` (each failure with the linter's diagnosis), then equality with
    ``nt_xent``."""
    if _unanswered(fn):
        return _not_attempted(EX_03_FIX, "the body of my_fixed_loss")
    if not callable(fn):
        return _wrong(EX_03_FIX, f"my_fixed_loss should be a function, got {type(fn).__name__}.",
                      "define it with def my_fixed_loss(z1, z2, temperature=0.5): ...")
    g = torch.Generator().manual_seed(0)
    out = _call_answer(fn, EX_03_FIX, "the body of my_fixed_loss", "on a batch of 8 pairs",
                       "z1 and z2 are (N, D); return one number", torch.randn(8, 16, generator=g),
                       torch.randn(8, 16, generator=g), 0.5)
    if isinstance(out, Verdict):
        return out
    if not isinstance(out, torch.Tensor) or out.dim() != 0:
        return _wrong(EX_03_FIX, "it should return a scalar tensor (0-dim).", "average the per-anchor losses: .mean()")
    report = check_contrastive_loss(fn, name="my_fixed_loss")
    if report.failed_checks:
        first = report.failed_checks[0]
        return _wrong(EX_03_FIX, f"still fails {len(report.failed_checks)} check(s) of NT-Xent's suite: "
                      + "; ".join(_diagnosis(fn, c) for c in report.failed_checks) + ".",
                      f"start with {first} ({report[first].detail})")
    differs = _mismatch(fn)
    if differs:
        return _wrong(EX_03_FIX, differs[0] + ".", differs[1])
    return Verdict(EX_03_FIX, "correct", f"passes all {len(report.results)} checks and equals nt_xent: in NT-Xent's "
                   "convention all 2N views are anchors, each with 2N - 1 candidates, and log-sum-exp keeps t = 0.01 "
                   "finite (the one-way form, stabilized the same way, is a sound loss of its own convention).")
