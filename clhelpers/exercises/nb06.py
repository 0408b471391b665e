"""Notebook 06's exercises: ``exercise_06_runs()`` gives a recorded sweep; 06.1
``check_06_sweep_spread(summary, beats)`` and 06.2 ``check_06_hardest_share(fn)``."""
from __future__ import annotations

import math
import statistics
from typing import Any, Callable

import torch

from ._verdict import Verdict, _call_answer, _not_attempted, _number, _unanswered, _wrong

EX_06_SPREAD, EX_06_HARD = "Exercise 06.1 · beyond the spread?", "Exercise 06.2 · the hardest negative's share"
#: kNN accuracy of the batch-size sweep in benchmarks/sweep-cpu-2core.json (cpu-sweep, 5 epochs, seeds 0, 1, 2)
_RECORDED = {64: (0.913, 0.908, 0.905), 128: (0.898, 0.902, 0.894), 256: (0.890, 0.900, 0.883),
             512: (0.883, 0.895, 0.877)}
BETTER, WORSE = 128, 512


def exercise_06_runs() -> list[dict]:
    """The recorded batch-size sweep as run dicts ``{"batch_size", "seed", "knn_acc"}``, 4 settings x 3 seeds."""
    return [{"batch_size": b, "seed": s, "knn_acc": acc} for b, accs in _RECORDED.items() for s, acc in enumerate(accs)]


def _mean_sd(entry: Any) -> tuple[float, float] | None:
    """``entry`` ((mean, sd) or {"mean", "sd"}) as two floats, else None."""
    if isinstance(entry, dict) and {"mean", "sd"} <= set(entry):
        entry = (entry["mean"], entry["sd"])
    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        pair = (_number(entry[0]), _number(entry[1]))
        return None if None in pair else pair
    return None


def _summary_error(summary: Any) -> tuple[str, str] | None:
    """(what is wrong, hint) with ``summary`` = {batch size: (mean, sd)}, or None when every entry is right."""
    if not isinstance(summary, dict) or set(summary) != set(_RECORDED):
        return (f"summary should be a dict with the keys {list(_RECORDED)}",
                "summary = {b: (mean, sd) for b, accs in ...}, one entry per batch size")
    for b, accs in _RECORDED.items():
        pair = _mean_sd(summary[b])
        if pair is None:
            return f"summary[{b}] should be a pair (mean, sd), got {summary[b]!r}", "use a tuple (mean, sd)"
        mean, sd, close = *pair, (lambda x, y: abs(x - y) <= 1e-4)
        if close(mean, accs[0]) and not close(accs[0], statistics.fmean(accs)):
            return f"summary[{b}] holds seed 0's accuracy, not the mean of 3 seeds", "average the 3 seeds"
        if not close(mean, statistics.fmean(accs)):
            return f"the mean of batch {b} is {statistics.fmean(accs):.4f}, not {mean:.4f}", "statistics.fmean"
        if close(sd, statistics.pstdev(accs)):
            return (f"the sd of batch {b} is the population sd (divides by n = 3): {sd:.4f}, the sample sd is "
                    f"{statistics.stdev(accs):.4f}", "statistics.stdev divides by n - 1 = 2, as the series does")
        if close(sd, statistics.variance(accs)):
            return f"summary[{b}] holds the variance, not the sd", "take the square root: statistics.stdev"
        if not close(sd, statistics.stdev(accs)):
            return f"the sd of batch {b} is {statistics.stdev(accs):.4f}, not {sd:.4f}", "statistics.stdev"
    return None


def check_06_sweep_spread(summary: Any, beats: Any) -> Verdict:
    """Check ``summary`` ({batch size: (mean, sample sd)} of ``exercise_06_runs()``) and ``beats``: does batch 128
    beat batch 512 beyond the spread (the series' rule: a.mean - a.sd > b.mean + b.sd)? False."""
    if _unanswered(summary) or _unanswered(beats):
        return _not_attempted(EX_06_SPREAD, "batch_summary and beats_512")
    error = _summary_error(summary)
    pop = {b: (statistics.fmean(a), statistics.pstdev(a)) for b, a in _RECORDED.items()}
    if error is not None:
        flips = pop[BETTER][0] - pop[BETTER][1] > pop[WORSE][0] + pop[WORSE][1]
        note = " (with it 128 would seem to beat 512: the wrong sd flips the verdict)" if "population" in error[0] \
            and flips else ""
        return _wrong(EX_06_SPREAD, error[0] + note + ".", error[1])
    if not isinstance(beats, bool):
        return _wrong(EX_06_SPREAD, f"beats should be True or False, got {beats!r}.", "beats = a_low > b_high")
    (ma, sa), (mb, sb) = (_mean_sd(summary[b]) for b in (BETTER, WORSE))
    edges = f"128: {ma:.4f} - {sa:.4f} = {ma - sa:.4f}; 512: {mb:.4f} + {sb:.4f} = {mb + sb:.4f}"
    if beats:
        wins = sum(x > y for x, y in zip(_RECORDED[BETTER], _RECORDED[WORSE]))
        return _wrong(EX_06_SPREAD, f"{edges}: the bands overlap, if only by 0.0002. Batch 128 wins seed by seed "
                      f"({wins} of 3), but a comparison of single seeds is not the rule.",
                      "beats = mean_128 - sd_128 > mean_512 + sd_512")
    return Verdict(EX_06_SPREAD, "correct", f"{edges}: the bands overlap by 0.0002, no difference beyond the spread "
                   "(with the population sd they would not: the n - 1 matters with 3 seeds).")


#: (similarities, temperature): similarities[0] is the positive, the rest are 2N - 2 = 14 negatives (N = 8)
HARD_ROW = (0.9, 0.7, 0.55, 0.5, 0.4, 0.35, 0.3, 0.2, 0.1, 0.05, 0.0, -0.1, -0.2, -0.3, -0.5)
HARD_CASES = ((HARD_ROW, 0.05), (HARD_ROW, 0.2), (HARD_ROW, 1.0), ((0.3, 0.8, 0.1, -0.4), 0.1))


def hardest_share_reference(similarities: torch.Tensor, temperature: float) -> float:
    """The hardest negative's share of the negatives' softmax weight (similarities[0] is the positive)."""
    return float(torch.softmax(similarities[1:] / temperature, dim=0).max())


def _hard_bug(s: torch.Tensor, t: float, got: float) -> tuple[str, str] | None:
    """(likely bug, hint) when ``got`` equals a typical wrong share of the hardest negative, else None."""
    neg = s[1:]
    candidates = ((torch.softmax(s / t, 0)[1:].max(), "the positive is in the softmax",
                   "the share is among the negatives only: softmax(similarities[1:] / t)"),
                  (torch.softmax(s / t, 0).max(), "that is the largest weight over ALL candidates, the positive's",
                   "leave similarities[0], the positive, out"),
                  (torch.softmax(neg * t, 0).max(), "the temperature multiplies", "divide by the temperature"),
                  (torch.softmax(neg, 0).max(), "the temperature is ignored", "softmax(similarities[1:] / t)"),
                  (torch.softmax(neg / t, 0).min(), "that is the EASIEST negative's share", "take the max"),
                  (neg.max(), "that is the hardest negative's similarity, not its share of the weight",
                   "the weights are softmax(similarities[1:] / t)"))
    return next(((bug, hint) for value, bug, hint in candidates if math.isclose(got, float(value), rel_tol=1e-4)),
                None)


def _call_on_row(fn: Callable, s: torch.Tensor, t: float, hint: str) -> float | Verdict:
    """``fn(s, t)`` as one number, or the verdict when it is unfinished, raises or returns something else."""
    out = _call_answer(fn, EX_06_HARD, "the body of hardest_share", f"for t = {t}", hint, s.clone(), t)
    if isinstance(out, Verdict):
        return out
    got = _number(out)
    return _wrong(EX_06_HARD, f"it returned {type(out).__name__}, not one number.", hint) if got is None else got


def check_06_hardest_share(fn: Callable | None) -> Verdict:
    """Check ``fn(similarities, temperature) -> share``: ``hardest_share_reference`` on the rows of ``HARD_CASES``."""
    if _unanswered(fn):
        return _not_attempted(EX_06_HARD, "the body of hardest_share")
    hint = "p = torch.softmax(similarities[1:] / temperature, dim=0); return p.max()"
    for row, t in HARD_CASES:
        s = torch.tensor(row, dtype=torch.float64)
        expected = hardest_share_reference(s, t)
        got = _call_on_row(fn, s, t, hint)
        if isinstance(got, Verdict):
            return got
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-7):
            bug, fix = _hard_bug(s, t, got) or ("", hint)
            return _wrong(EX_06_HARD, f"at t = {t} it gives {got:.4g}, expected {expected:.4g}"
                          + (f": {bug}." if bug else "."), fix)
    s = torch.tensor(HARD_ROW, dtype=torch.float64)
    shares = ", ".join(f"t = {t}: {hardest_share_reference(s, t):.2f}" for t in (0.05, 0.2, 1.0))
    return Verdict(EX_06_HARD, "correct", f"with 14 negatives an even split gives each 1/14 = 0.07; the hardest gets "
                   f"{shares}. A small temperature hands most of the push to the hardest negative "
                   "(hard_negative_share with k = 1 averages this over the anchors of a batch).")
