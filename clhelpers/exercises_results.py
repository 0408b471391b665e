"""Exercises with automatic feedback for notebooks 03, 05 and 06 (the conventions of ``clhelpers.exercises``).

Each checker returns a ``Verdict`` ("not attempted", "correct" or "wrong" with a hint) and never raises on a
wrong answer. Every exercise is self-contained: it runs on small synthetic or recorded data from this module,
not on the notebook's training runs, in well under a second.

* 03: ``one_way_nt_xent`` is the broken loss; ``check_03_predicted_failures(fails)`` (which checks it fails),
  ``check_03_fixed_loss(fn)`` (the repaired loss).
* 05: ``exercise_05_features()`` gives the features; ``check_05_few_label_probe(fn)``,
  ``check_05_knn_by_hand(fn)``.
* 06: ``exercise_06_runs()`` gives a recorded sweep; ``check_06_sweep_spread(summary, beats)``,
  ``check_06_hardest_share(fn)``.
"""
from __future__ import annotations

import math
import statistics
from functools import lru_cache
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from .checks import CHECKS, check_contrastive_loss
from .exercises import Verdict, _call_answer, _collapse_bug, _mismatch, _not_attempted, _number, _unanswered, _wrong
from .lint import DIAGNOSES
from .metrics import few_label_probe, knn_accuracy, linear_probe_accuracy

# =========================================================================== notebook 03
EX_03_PREDICT, EX_03_FIX = "Exercise 03.1 · predict the failed checks", "Exercise 03.2 · fix the one-way loss"


def one_way_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """THE BROKEN LOSS of exercises 03.1 and 03.2: view-1 anchors against the N views 2, with a plain exp."""
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    e = torch.exp(a @ b.T / temperature)                  # (N, N): anchor i of view 1 against every view 2
    return -torch.log(e.diagonal() / e.sum(dim=1)).mean()  # the positive of anchor i is z2[i], the diagonal


#: check -> (why one_way_nt_xent fails it, why it passes it)
ONE_WAY_REASONS = {
    "finite": ("", "at t = 0.5 a logit is at most 1 / 0.5 = 2 and exp(2) is harmless"),
    "collapse_value": ("each anchor has only N candidates (the N views 2), so a collapsed batch gives log N = "
                       "log 8, not log(2N - 1) = log 15", ""),
    "symmetric": ("only the views 1 are anchors: L(z2, z1) softmaxes over the columns of z1 z2^T instead of its rows",
                  ""),
    "pair_permutation_invariant": ("", "one permutation of z1 and z2 permutes the rows and columns of z1 z2^T "
                                   "alike: the positives stay on the diagonal"),
    "aligned_pairs_lower_loss": ("", "the positive z2[i] is in the numerator, so aligned pairs score lower"),
    "scale_invariant": ("", "F.normalize runs first: a scaled embedding gives the same cosines"),
    "uses_temperature": ("", "the cosines are divided by the temperature"),
    "finite_small_temperature": ("at t = 0.01 an aligned pair's logit is about 100 and exp(100) = 2.7e43 overflows "
                                 "float32 (max 3.4e38): inf / inf = nan", ""),
    "gradient_direction": ("", "it minimizes -log softmax of the positive: a step pulls the positives together"),
}


def _check_names(answer: Any) -> set[str] | None:
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
        return Verdict(EX_03_PREDICT, "correct", f"it fails exactly {', '.join(report.failed_checks)}. {why}.")
    parts = [f"{c} fails ({report[c].detail}): {ONE_WAY_REASONS[c][0] or report[c].detail}"
             for c in report.failed_checks if c not in chosen]
    parts += [f"{c} passes ({report[c].detail}): {ONE_WAY_REASONS[c][1] or report[c].detail}"
              for c in CHECKS if c in chosen - failed]
    return _wrong(EX_03_PREDICT, f"{len(chosen & failed)} of your {len(chosen)} right, {len(failed)} fail in all. "
                  + "; ".join(parts) + ".", "read the loss line by line against each check of CHECKS: how many "
                  "candidates, which rows are anchors, what exp does at t = 0.01")


def _diagnosis(fn: Callable, check: str) -> str:
    bug = (_collapse_bug(fn) if check == "collapse_value" else None) or DIAGNOSES[check]
    return f"{check} (likely bug: {bug[0]}; fix: {bug[1]})"


def check_03_fixed_loss(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2, temperature)``, the repaired ``one_way_nt_xent``: every check of ``check_contrastive_loss``
    (each failure with the linter's diagnosis), then equality with ``nt_xent``."""
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
        return _wrong(EX_03_FIX, f"still fails {len(report.failed_checks)} check(s): "
                      + "; ".join(_diagnosis(fn, c) for c in report.failed_checks) + ".",
                      f"start with {first} ({report[first].detail})")
    differs = _mismatch(fn)
    if differs:
        return _wrong(EX_03_FIX, differs[0] + ".", differs[1])
    return Verdict(EX_03_FIX, "correct", f"passes all {len(report.results)} checks and equals nt_xent: all 2N views "
                   "are anchors, each with 2N - 1 candidates, and log-sum-exp keeps t = 0.01 finite.")


# =========================================================================== notebook 05
EX_05_PROBE, EX_05_KNN = "Exercise 05.1 · a few-label probe by hand", "Exercise 05.2 · kNN by hand"
CLASSES, DIM = 10, 16


def exercise_05_features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Synthetic "embeddings": (train_f (300, 16), train_y, test_f (200, 16), test_y), 10 overlapping classes, every
    row with its own length (as un-normalized encoder features have); the training rows are shuffled."""
    g = torch.Generator().manual_seed(seed)
    centers = F.normalize(torch.randn(CLASSES, DIM, generator=g), dim=1)

    def split(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(CLASSES).repeat_interleave(per_class)
        x = F.normalize(centers[y] + 0.25 * torch.randn(len(y), DIM, generator=g), dim=1)
        x = x * torch.empty(len(y), 1).uniform_(0.3, 3.0, generator=g)
        order = torch.randperm(len(y), generator=g)
        return x[order], y[order]

    return (*split(30), *split(20))


def _call_accuracy(fn: Callable, exercise: str, what: str, *args: Any, **kwargs: Any) -> float | Verdict:
    out = _call_answer(fn, exercise, what, "on the exercise's features", "keep the signature of the stub", *args, **kwargs)
    if isinstance(out, Verdict):
        return out
    got = _number(out)
    return _wrong(exercise, f"it returned {type(out).__name__}, not one accuracy.",
                  "return one number in [0, 1]") if got is None else got


@lru_cache(maxsize=None)
def _probe_variants(per_class: int, seed: int) -> tuple[tuple[float, str, str], ...]:
    """(accuracy, the mistake, hint) of typical wrong few-label probes on ``exercise_05_features()`` (cached)."""
    train_f, train_y, test_f, test_y = exercise_05_features()
    g = torch.Generator().manual_seed(seed)
    idx = torch.cat([r[torch.randperm(len(r), generator=g)[:per_class]]
                     for r in (torch.nonzero(train_y == c).flatten() for c in range(CLASSES))])
    first = torch.arange(per_class * CLASSES)
    in_order = torch.cat([torch.nonzero(train_y == c).flatten()[:per_class] for c in range(CLASSES)])
    anywhere = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(seed))[:per_class * CLASSES]
    probe = linear_probe_accuracy
    return ((probe(train_f[idx], train_y[idx], train_f[idx], train_y[idx]), "it is scored on the labelled training "
             "rows it was fit on", "score on ALL test rows: linear_probe_accuracy(..., test_f, test_y)"),
            (probe(train_f[first], train_y[first], test_f, test_y), "it uses the first rows of the whole set, not "
             "per_class rows of every class", "loop over the classes: rows = torch.nonzero(train_y == c).flatten()"),
            (probe(train_f[anywhere], train_y[anywhere], test_f, test_y), "it draws rows from the whole set, not "
             "per_class rows of every class", "draw inside a loop over the classes 0..9"),
            (probe(train_f[in_order], train_y[in_order], test_f, test_y), "it takes the first rows of each class "
             "instead of a random draw", "rows[torch.randperm(len(rows), generator=generator)[:per_class]]"))


@lru_cache(maxsize=None)
def _expected_probe(per_class: int, seed: int) -> float:
    return few_label_probe(*exercise_05_features(), per_class=per_class, draws=1, seed=seed)["mean"]


def _named_mistake(exercise: str, what: str, got: float, expected: float,
                   variants: Iterable[tuple[float, str, str]], hint: str) -> Verdict:
    """A wrong accuracy ``got``: named as a percentage or as the first typical mistake whose accuracy it equals."""
    if math.isclose(got, 100 * expected, rel_tol=1e-6):
        return _wrong(exercise, f"{what}: a percentage.", "return a fraction in [0, 1]")
    mistake = next(((bug, fix) for value, bug, fix in variants if abs(got - value) <= 1e-6), None)
    return _wrong(exercise, f"{what}: {mistake[0]}.", mistake[1]) if mistake else _wrong(exercise, f"{what}.", hint)


def _probe_mistake(fn: Callable, data: tuple, per_class: int, seed: int, got: float, what: str) -> Verdict:
    """The verdict for an accuracy ``got`` that differs from the reference: the likely mistake, when one fits."""
    again = _call_accuracy(fn, EX_05_PROBE, "the body of my_few_label_probe", *data, per_class,
                           torch.Generator().manual_seed(seed))
    if isinstance(again, float) and abs(again - got) > 1e-9:
        return _wrong(EX_05_PROBE, f"two calls with the same seed give {got:.3f} and {again:.3f}: the generator is "
                      "not used.", "pass generator=generator to torch.randperm")
    return _named_mistake(EX_05_PROBE, what, got, _expected_probe(per_class, seed),
                          _probe_variants(per_class, seed), "for c in 0..9: rows of class c, torch.randperm("
                          "len(rows), generator=generator)[:per_class]; then linear_probe_accuracy on those rows only")


def check_05_few_label_probe(fn: Callable | None) -> Verdict:
    """Check ``fn(train_f, train_y, test_f, test_y, per_class, generator) -> accuracy`` against ``few_label_probe``
    (one draw of ``seed``) on ``exercise_05_features()``, for (per_class, seed) = (3, 0) and (1, 1)."""
    if _unanswered(fn):
        return _not_attempted(EX_05_PROBE, "the body of my_few_label_probe")
    data, results = exercise_05_features(), []
    for per_class, seed in ((3, 0), (1, 1)):
        got = _call_accuracy(fn, EX_05_PROBE, "the body of my_few_label_probe", *data, per_class,
                             torch.Generator().manual_seed(seed))
        if isinstance(got, Verdict):
            return got
        expected = _expected_probe(per_class, seed)
        if abs(got - expected) > 1e-6:
            what = f"with {per_class} label(s) per class (seed {seed}) it gives {got:.3f}, expected {expected:.3f}"
            return _probe_mistake(fn, data, per_class, seed, got, what)
        results.append(f"{per_class}/class: {expected:.3f}")
    return Verdict(EX_05_PROBE, "correct", f"matches few_label_probe draw for draw ({', '.join(results)}). With one "
                   "label per class the number depends a lot on which rows were drawn: that is why few_label_probe "
                   "averages several draws and reports their sd.")


def _knn_variants(data: tuple, k: int, t: float) -> list[tuple[float, str, str]]:
    """(accuracy, the mistake, hint) of typical wrong kNN classifiers."""
    train_f, train_y, test_f, test_y = data
    cos = F.normalize(test_f, dim=1) @ F.normalize(train_f, dim=1).T

    def vote(scores: torch.Tensor, weight: Callable[[torch.Tensor], torch.Tensor], largest: bool = True) -> float:
        s, idx = scores.topk(k, dim=1, largest=largest)
        votes = torch.zeros(len(test_y), CLASSES).scatter_add_(1, train_y[idx], weight(s))
        return float((votes.argmax(1) == test_y).float().mean())

    return [(vote(cos, torch.ones_like), "a plain majority vote: every neighbour counts 1",
             "weight each neighbour's vote by exp(s_j / temperature)"),
            (vote(test_f @ train_f.T, lambda s: (s / t).exp()), "the features are not normalized (dot products, not "
             "cosines)", "F.normalize both train_f and test_f (dim=1) before the product"),
            (vote(-torch.cdist(test_f, train_f), torch.ones_like), "Euclidean distances on raw features",
             "rank by cosine similarity of the normalized rows"),
            (vote(cos, lambda s: (s / t).exp(), largest=False), "it takes the LEAST similar rows",
             "topk(k, dim=1) returns the largest by default")]


def check_05_knn_by_hand(fn: Callable | None) -> Verdict:
    """Check ``fn(train_f, train_y, test_f, test_y, k, temperature) -> accuracy`` against ``knn_accuracy`` on
    ``exercise_05_features()`` for (k, temperature) = (20, 0.1), (1, 0.5), (100, 1.0)."""
    if _unanswered(fn):
        return _not_attempted(EX_05_KNN, "the body of my_knn_accuracy")
    data = exercise_05_features()
    for k, t in ((20, 0.1), (1, 0.5), (100, 1.0)):
        got = _call_accuracy(fn, EX_05_KNN, "the body of my_knn_accuracy", *data, k, t)
        if isinstance(got, Verdict):
            return got
        expected = knn_accuracy(*data, k=k, temperature=t)
        if abs(got - expected) > 1e-6:
            what = f"at k = {k}, temperature {t} it gives {got:.3f}, knn_accuracy {expected:.3f}"
            return _named_mistake(EX_05_KNN, what, got, expected, _knn_variants(data, k, t), "normalize, s = test "
                                  "@ train.T, s.topk(k), votes[c] += exp(s / t) for each neighbour of class c, argmax")
    return Verdict(EX_05_KNN, "correct", "matches knn_accuracy for k = 20, 1 and 100: cosine neighbours, "
                   "votes weighted by exp(s / t). The rows' lengths play no part, as in the loss.")


# =========================================================================== notebook 06
EX_06_SPREAD, EX_06_HARD = "Exercise 06.1 · beyond the spread?", "Exercise 06.2 · the hardest negative's share"
#: kNN accuracy of the batch-size sweep in benchmarks/sweep-cpu-2core.json (cpu-sweep, 5 epochs, seeds 0, 1, 2)
_RECORDED = {64: (0.913, 0.908, 0.905), 128: (0.898, 0.902, 0.894), 256: (0.890, 0.900, 0.883),
             512: (0.883, 0.895, 0.877)}
BETTER, WORSE = 128, 512


def exercise_06_runs() -> list[dict]:
    """The recorded batch-size sweep as run dicts ``{"batch_size", "seed", "knn_acc"}``, 4 settings x 3 seeds."""
    return [{"batch_size": b, "seed": s, "knn_acc": acc} for b, accs in _RECORDED.items() for s, acc in enumerate(accs)]


def _mean_sd(entry: Any) -> tuple[float, float] | None:
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
