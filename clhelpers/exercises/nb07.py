"""Notebook 07's exercises: ``exercise_07_runs()`` gives a recorded sweep; 07.1
``check_07_paired_difference(diffs, mean_diff, ci_95, resolved)`` (batch 128 against batch 512, paired by seed,
with the 95% t-interval of ``records.paired_difference``) and 07.2 ``check_07_hardest_share(fn)``; 07.3
``check_07_positive_rank(fn)`` on ``exercise_07_rank_batch()`` and 07.4 ``check_07_topk(...)`` on ``exercise_07_ranks()``;
false negatives: 07.5 ``check_07_false_negative_share(fn)`` and 07.6 ``check_07_mask_same_class(fn)``."""
from __future__ import annotations

import itertools
import math
import statistics
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..metrics import positive_rank
from ..records import PairedDifference, paired_difference
from ._verdict import Verdict, _call_answer, _not_attempted, _number, _scalar_answer, _unanswered, _wrong

EX_07_PAIRED, EX_07_HARD = "Exercise 07.1 · resolved with 3 seeds?", "Exercise 07.2 · the hardest negative's share"
#: kNN accuracy of the 3-seed batch-size sweep, benchmarks/archive/sweep-cpu-2core-3seeds.json (cpu-sweep, 5 epochs,
#: seeds 0, 1, 2, the 5,000-digit subset of 2026-11-24; benchmarks/sweep-cpu-2core.json is its 5-seed successor)
_RECORDED = {64: (0.913, 0.908, 0.905), 128: (0.898, 0.902, 0.894), 256: (0.890, 0.900, 0.883),
             512: (0.883, 0.895, 0.877)}
BETTER, WORSE = 128, 512
_TOL = 1e-5   # the accuracies have 3 decimals; 1e-5 tells t = 4.303 (or 4.30) from the band rule's half-width
_NAMES = ("diffs", "mean_diff", "ci_95", "resolved")


def exercise_07_runs() -> list[dict]:
    """The recorded batch-size sweep as run dicts ``{"batch_size", "seed", "knn_acc"}``, 4 settings x 3 seeds."""
    return [{"batch_size": b, "seed": s, "knn_acc": acc} for b, accs in _RECORDED.items() for s, acc in enumerate(accs)]


def paired_reference() -> PairedDifference:
    """Batch 128 minus batch 512, paired by seed: ``records.paired_difference`` (mean +0.013, 95% CI includes 0)."""
    return paired_difference(_RECORDED[BETTER], _RECORDED[WORSE])


def _close(x: float, y: float) -> bool:
    """Whether ``x`` and ``y`` agree to ``_TOL``."""
    return abs(x - y) <= _TOL


def _all_close(xs: list[float], ys: list[float]) -> bool:
    """Whether ``xs`` and ``ys`` have the same length and agree entry by entry to ``_TOL``."""
    return len(xs) == len(ys) and all(_close(x, y) for x, y in zip(xs, ys))


def _numbers(answer: Any) -> list[float] | None:
    """``answer`` (list, tuple, numpy array or tensor of real numbers) as a list of floats, else None."""
    if isinstance(answer, torch.Tensor) or hasattr(answer, "tolist"):
        answer = answer.flatten().tolist() if isinstance(answer, torch.Tensor) else answer.tolist()
    if not isinstance(answer, (list, tuple)):
        return None
    xs = [_number(x) for x in answer]
    return None if None in xs else xs


def _diffs_error(diffs: Any) -> tuple[str, str] | None:
    """(what is wrong, hint) with ``diffs``, the per-seed differences batch 128 - batch 512, or None when right."""
    a, b = _RECORDED[BETTER], _RECORDED[WORSE]
    ref = [x - y for x, y in zip(a, b)]
    hint = "diffs = [x - y for x, y in zip(acc_128, acc_512)], both lists in seed order 0, 1, 2"
    xs = _numbers(diffs)
    if xs is None:
        return f"diffs should be a list of 3 numbers (one per seed), got {type(diffs).__name__}", hint
    if len(xs) == 9 and _all_close(sorted(xs), sorted(x - y for x in a for y in b)):
        return ("diffs holds all 9 pairs of a batch-128 seed with a batch-512 seed: the runs are not paired by "
                "seed", hint)
    if len(xs) != 3:
        return f"diffs should hold 3 differences, one per seed, got {len(xs)} values", hint
    if _all_close(sorted(xs), sorted(ref)):
        return None
    if _all_close(sorted(xs), sorted(-d for d in ref)):
        return ("wrong sign: that is batch 512 minus batch 128; the exercise asks for 128 minus 512 (then a "
                "positive mean says 128 is ahead)", "diffs = [acc_128[s] - acc_512[s] for s in (0, 1, 2)]")
    for perm in itertools.permutations(range(3)):
        if _all_close(xs, [a[i] - b[j] for i, j in enumerate(perm)]):
            pairs = ", ".join(f"128 seed {i} - 512 seed {j}" for i, j in enumerate(perm))
            return (f"the differences are not paired by seed ({pairs}): a paired comparison subtracts the runs that "
                    "share a seed", "sort each arm's runs by r['seed'] before subtracting")
    return f"diffs = {[round(x, 4) for x in xs]}, but the paired differences are {[round(d, 4) for d in ref]}", hint


def _mean_error(mean_diff: Any) -> tuple[str, str] | None:
    """(what is wrong, hint) with ``mean_diff``, the mean of the per-seed differences, or None when right."""
    ref, got = paired_reference().mean, _number(mean_diff)
    hint = "mean_diff = statistics.fmean(diffs)"
    if got is None:
        return f"mean_diff should be one number, got {type(mean_diff).__name__}", hint
    if _close(got, ref):
        return None
    if _close(got, -ref):
        return f"wrong sign: {got:+.4f} is batch 512 minus batch 128; the mean of 128 - 512 is {ref:+.4f}", hint
    return f"the mean of the 3 differences is {ref:+.4f}, not {got:+.4f}", hint


def _half_width_bug(half: float) -> str | None:
    """The likely bug when ``half`` is a typical wrong half-width of the 95% interval, else None."""
    from scipy.stats import t as student_t

    a, b = _RECORDED[BETTER], _RECORDED[WORSE]
    d = [x - y for x, y in zip(a, b)]
    if _close(half, statistics.stdev(a) + statistics.stdev(b)):
        return ("that is the old band rule (mean ± (sd_128 + sd_512), the two arms' sds unpaired), and it differs "
                "from the paired interval by only 0.00002 here: a coincidence of these numbers, not a rule")
    crits = ((student_t.ppf(0.975, 2), ""), (1.96, "z = 1.96 (the normal) instead of t with n - 1 = 2 degrees of "
                                                     "freedom, 4.303: with 3 seeds the sd itself is uncertain"),
             (student_t.ppf(0.975, 3), "t with n = 3 degrees of freedom instead of n - 1 = 2"),
             (student_t.ppf(0.95, 2), "t.ppf(0.95, 2) makes a 90% interval; a two-sided 95% one takes t.ppf(0.975, 2)"))
    spreads = ((statistics.stdev(d), ""),
               (statistics.pstdev(d), "the population sd (divides by n = 3) instead of the sample sd (n - 1 = 2)"),
               (statistics.variance(d), "the variance instead of the sd"),
               (math.hypot(statistics.stdev(a), statistics.stdev(b)),
                "the sds of the two arms (unpaired) instead of the sd of the paired differences"))
    scales = ((1 / math.sqrt(3), ""), (1.0, "the sd instead of the standard error sd / sqrt(3)"))
    for (c, c_bug), (sd, sd_bug), (k, k_bug) in itertools.product(crits, spreads, scales):
        bugs = [x for x in (c_bug, sd_bug, k_bug) if x]
        if bugs and abs(half - float(c) * sd * k) <= min(_TOL, 5e-4 * float(c) * sd * k):   # variance: tiny
            return "; ".join(bugs)
    return None


def _interval_error(ci: Any) -> tuple[str, str] | None:
    """(what is wrong, hint) with ``ci``, the 95% interval (lo, hi) of the mean difference, or None when right."""
    ref = paired_reference()
    hint = ("ci_95 = (mean - t * se, mean + t * se), t = scipy.stats.t.ppf(0.975, 2), "
            "se = statistics.stdev(diffs) / 3 ** 0.5")
    if hasattr(ci, "lo") and hasattr(ci, "hi"):   # records.paired_difference's answer
        ci = (ci.lo, ci.hi)
    xs = _numbers(ci)
    if xs is None or len(xs) != 2:
        return f"ci_95 should be a pair (lo, hi), got {ci!r}", hint
    lo, hi = xs
    (ma, sa), (mb, sb) = ((statistics.fmean(_RECORDED[k]), statistics.stdev(_RECORDED[k])) for k in (BETTER, WORSE))
    if _all_close(sorted(xs), sorted((ma - sa, mb + sb))):
        return ("those are the band rule's edges (mean_128 - sd_128, mean_512 + sd_512), not an interval of the "
                "difference", hint)
    if lo > hi:
        return f"ci_95 = ({lo:+.4f}, {hi:+.4f}) has its low end second", "ci_95 = (lo, hi), lo first"
    centre, half, ref_half = (lo + hi) / 2, (hi - lo) / 2, (ref.hi - ref.lo) / 2
    if _close(centre, -ref.mean):
        return f"wrong sign: centred on {centre:+.4f}, batch 512 minus batch 128; 128 - 512 gives {ref.mean:+.4f}", hint
    if not _close(centre, ref.mean):
        return f"the interval should be centred on the mean difference {ref.mean:+.4f}, yours is on {centre:+.4f}", hint
    if _close(half, ref_half):
        return None
    bug = _half_width_bug(half)
    flips = " (and it excludes 0: the comparison would look resolved)" if lo > 0 or hi < 0 else ""
    return (f"the half-width is {half:.5f}, the paired 95% t-interval's is {ref_half:.5f}"
            + (f": {bug}" if bug else "") + flips, hint)


def check_07_paired_difference(diffs: Any, mean_diff: Any, ci_95: Any, resolved: Any) -> Verdict:
    """Check the paired comparison of batch 128 and batch 512 in ``exercise_07_runs()``: ``diffs`` (128 - 512 per
    seed), ``mean_diff``, ``ci_95`` = (lo, hi) (mean ± t_{0.975, 2} sd / sqrt(3)) and ``resolved`` (False: the
    interval includes 0). Each part is checked in turn; an unanswered one (None, ...) is "not attempted"."""
    answers = (diffs, mean_diff, ci_95, resolved)
    if all(_unanswered(x) for x in answers):
        return _not_attempted(EX_07_PAIRED, "diffs, mean_diff, ci_95 and resolved")
    for i, (answer, find_error) in enumerate(zip(answers[:3], (_diffs_error, _mean_error, _interval_error))):
        if _unanswered(answer):
            missing = [n for n, x in zip(_NAMES[i:], answers[i:]) if _unanswered(x)]
            return _not_attempted(EX_07_PAIRED, ", ".join(missing[:-1]) + " and " * (len(missing) > 1) + missing[-1])
        error = find_error(answer)
        if error is not None:
            return _wrong(EX_07_PAIRED, error[0] + ".", error[1])
    if _unanswered(resolved):
        return _not_attempted(EX_07_PAIRED, "resolved")
    ref = paired_reference()
    ci = f"95% CI [{ref.lo:+.4f}, {ref.hi:+.4f}]"
    if not (isinstance(resolved, bool) or type(resolved).__name__ in ("bool", "bool_")):   # numpy bools too
        return _wrong(EX_07_PAIRED, f"resolved should be True or False, got {resolved!r}.",
                      "resolved = lo > 0 or hi < 0")
    if bool(resolved):
        return _wrong(EX_07_PAIRED, f"the {ci} includes 0, if only by 0.0001: not resolved with 3 seeds. Batch 128 "
                      "wins on all 3 seeds, but 3 wins of 3 happen by chance one time in eight.",
                      "resolved = lo > 0 or hi < 0: the interval must exclude 0")
    wins = sum(x > 0 for x in (a - b for a, b in zip(_RECORDED[BETTER], _RECORDED[WORSE])))
    return Verdict(EX_07_PAIRED, "correct", f"batch 128 wins on {wins} of 3 seeds by {ref.mean:+.4f} on average, yet "
                   f"the {ci} includes 0, just: {ref.verdict('batch 128', 'batch 512', 4)}. With z = 1.96 it would "
                   "have looked resolved: with 3 seeds t has 2 degrees of freedom. Not resolved means not shown "
                   "with 3 seeds, not 'no difference'.")


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


def check_07_hardest_share(fn: Callable | None) -> Verdict:
    """Check ``fn(similarities, temperature) -> share``: ``hardest_share_reference`` on the rows of ``HARD_CASES``."""
    if _unanswered(fn):
        return _not_attempted(EX_07_HARD, "the body of hardest_share")
    hint = "p = torch.softmax(similarities[1:] / temperature, dim=0); return p.max()"
    for row, t in HARD_CASES:
        s = torch.tensor(row, dtype=torch.float64)
        expected = hardest_share_reference(s, t)
        got = _scalar_answer(fn, EX_07_HARD, "the body of hardest_share", f"for t = {t}", hint, hint, s.clone(), t)
        if isinstance(got, Verdict):
            return got
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-7):
            bug, fix = _hard_bug(s, t, got) or ("", hint)
            return _wrong(EX_07_HARD, f"at t = {t} it gives {got:.4g}, expected {expected:.4g}"
                          + (f": {bug}." if bug else "."), fix)
    s = torch.tensor(HARD_ROW, dtype=torch.float64)
    shares = ", ".join(f"t = {t}: {hardest_share_reference(s, t):.2f}" for t in (0.05, 0.2, 1.0))
    return Verdict(EX_07_HARD, "correct", f"with 14 negatives an even split gives each 1/14 = 0.07; the hardest gets "
                   f"{shares}. A small temperature hands most of the push to the hardest negative "
                   "(hard_negative_share with k = 1 averages this over the anchors of a batch).")


# --------------------------------------------------------------------------- 07.3 and 07.4: the positive's rank
EX_07_RANK, EX_07_TOPK = "Exercise 07.3 · the positive's rank", "Exercise 07.4 · top-k accuracy and chance"
#: a hand-made batch of N = 4 pairs in the plane: (angle in degrees, length) of each row of z1 and of z2
_RANK_Z1 = ((285, 2.0), (225, 0.5), (25, 1.0), (260, 0.5))
_RANK_Z2 = ((300, 1.0), (205, 3.0), (175, 3.0), (240, 0.5))


def _plane(rows: tuple) -> torch.Tensor:
    """(angle in degrees, length) pairs as the rows of an (n, 2) float32 tensor."""
    t = torch.tensor([a for a, _ in rows], dtype=torch.float64) * math.pi / 180
    lengths = torch.tensor([r for _, r in rows], dtype=torch.float64)
    return (torch.stack([t.cos(), t.sin()], dim=1) * lengths[:, None]).float()


def exercise_07_rank_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Exercise 07.3's batch ``(z1, z2)``: N = 4 pairs of 2-D vectors of different lengths (cosines at least 0.02
    apart within every row, so the ranks do not hinge on rounding); row i of z1 and row i of z2 are a positive pair."""
    return _plane(_RANK_Z1), _plane(_RANK_Z2)


def _rank_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, z1, z2) the rank answer is checked on: the exercise's batch, a random one, and one with an exact tie."""
    g = torch.Generator().manual_seed(7)
    z1 = torch.randn(8, 5, generator=g)
    e1, e2, e3 = torch.eye(3)
    return [("the exercise's batch", *exercise_07_rank_batch()),
            ("a random batch of N = 8", z1 * torch.rand(8, 1, generator=g).add(0.5), z1 + 0.9 * torch.randn(8, 5, generator=g)),
            ("a batch with a tie (view 2 is exactly as similar to view 0 as view 0's positive)",
             torch.stack([e1, e2, e1]), torch.stack([e1, e3, e2]))]


def _ranks_by(sim: torch.Tensor, counts: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], keep: torch.Tensor) -> list:
    """1 + the number of candidates k (``keep[i, k]``) with ``counts(sim[i, k], sim[i, p(i)])`` true, per row i."""
    n = sim.shape[0] // 2
    pos = sim[torch.arange(2 * n), (torch.arange(2 * n) + n) % (2 * n)][:, None]
    return (counts(sim, pos) & keep).sum(dim=1).add(1).tolist()


def _rank_variants(z1: torch.Tensor, z2: torch.Tensor) -> dict:
    """The typical wrong answers on one batch, each as the list of 2N ranks it gives: what went wrong -> ranks."""
    n = z1.shape[0]
    raw = torch.cat([z1, z2]).double()
    unit = F.normalize(raw, dim=1)
    sim = unit @ unit.T
    eye = torch.eye(2 * n, dtype=torch.bool)
    negatives = ~eye
    negatives[torch.arange(2 * n), (torch.arange(2 * n) + n) % (2 * n)] = False
    ge, gt = (lambda s, p: s >= p), (lambda s, p: s > p)
    return {"dot": _ranks_by(raw @ raw.T, ge, negatives), "strict": _ranks_by(sim, gt, negatives),
            "reversed": _ranks_by(sim, lambda s, p: s <= p, negatives)}


def _int_list(answer: Any) -> list[int] | None:
    """``answer`` (tensor, array, list) as a flat list of ints when every entry is a whole number, else None."""
    xs = _numbers(answer)
    if xs is None or any(not math.isfinite(x) or x != round(x) for x in xs):
        return None
    return [int(round(x)) for x in xs]


def _rank_error(got: list[int], ref: list[int], variants: dict, case: str) -> tuple[str, str] | None:
    """(what is wrong, hint) with the ranks ``got`` on one case, or None when they are ``ref``."""
    n2 = len(ref)
    if got == ref:
        return None
    if len(got) == n2 // 2 and got == ref[: n2 // 2]:
        return ("only the N views of z1 are ranked; every one of the 2N views is an anchor (view i + N's positive is "
                "view i)", "z = torch.cat([z1, z2]); rank all 2N rows")
    if len(got) != n2:
        return f"on {case} it gave {len(got)} ranks; there are 2N = {n2} views, one rank each", "one rank per row of torch.cat([z1, z2])"
    if got == [r + 1 for r in ref]:
        return ("every rank is one too high: the count includes the anchor itself (its cosine with itself, 1, is the "
                "largest) or the positive (s >= s_pos holds for the positive too)",
                "count only the 2N - 2 negatives: mask the diagonal and the positive's column")
    if got == [r - 1 for r in ref]:
        return ("every rank is one too low: that counts the negatives ahead of the positive (0 = top); the rank "
                "starts at 1", "rank = 1 + (number of negatives at least as similar as the positive)")
    known = (("dot", "the similarities are dot products of the raw rows, not cosines: longer rows win",
              "normalize the rows first: F.normalize(z, dim=1)"),
             ("strict", "a negative exactly as similar as the positive should count against it (>=, not >); otherwise "
                        "collapsed embeddings, all cosines equal, would rank every positive first",
              "count negatives with sim >= the positive's sim"),
             ("reversed", "that counts the negatives LESS similar than the positive: the rank from the bottom",
              "count the negatives at least as similar: sim >= positive's sim"))
    return next(((f"on {case}: {bug}", hint) for key, bug, hint in known if got == variants[key]),
                (f"on {case} it gives {got}, expected {ref}", "s = z @ z.T of the normalized 2N rows; positive of i is "
                 "(i + N) % 2N; rank = 1 + #(negatives k with s[i, k] >= s[i, positive])"))


def check_07_positive_rank(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2) -> ranks``: the rank (1 = most similar) of each of the 2N views' positive among its 2N - 1
    candidates by cosine, ties counted against the positive (``metrics.positive_rank``), on the exercise's batch, a
    random batch and a batch with a tie. Names the usual slips: the anchor counted, 0-based ranks, dot products,
    strict >, only N anchors, ranks from the bottom."""
    if _unanswered(fn):
        return _not_attempted(EX_07_RANK, "the body of my_positive_rank")
    hint = "z = F.normalize(torch.cat([z1, z2]), dim=1); s = z @ z.T; rank = 1 + #(negatives k with s[i, k] >= s[i, p(i)])"
    for case, z1, z2 in _rank_cases():
        out = _call_answer(fn, EX_07_RANK, "the body of my_positive_rank", f"on {case}", hint, z1.clone(), z2.clone())
        if isinstance(out, Verdict):
            return out
        got = _int_list(out)
        if got is None:
            return _wrong(EX_07_RANK, f"on {case} it returned {type(out).__name__} {out!r:.80}, not a list or tensor of "
                          "whole numbers.", "return one int per view, e.g. a LongTensor of shape (2N,)")
        error = _rank_error(got, positive_rank(z1, z2).tolist(), _rank_variants(z1, z2), case)
        if error is not None:
            return _wrong(EX_07_RANK, error[0] + ".", error[1])
    ranks = positive_rank(*exercise_07_rank_batch()).tolist()
    return Verdict(EX_07_RANK, "correct", f"the exercise's batch ranks {ranks}: {ranks.count(1)} of the 8 views have "
                   "their positive on top (top-1 accuracy 0.5), and view 6's positive is the last of its 7 candidates. "
                   "NT-Xent is a smooth version of this count: every negative that comes near or above the positive "
                   "adds to the loss, the more the closer it comes.")


#: the ranks of a batch of N = 256 pairs (2N = 512 views, 511 candidates each), as a trained encoder might give them
_TOPK_N = 256
_TOPK_COUNTS = {1: 205, 2: 70, 3: 40, 4: 25, 5: 19}


def exercise_07_ranks() -> torch.Tensor:
    """Exercise 07.4's ranks: a fixed (512,) int64 tensor, the positive's rank of each of the 2N views of a batch of
    N = 256 pairs (205 views at rank 1, 359 in the top 5, the others spread from rank 6 to rank 511)."""
    ranks = [r for r, c in _TOPK_COUNTS.items() for _ in range(c)]
    rest = 2 * _TOPK_N - len(ranks)
    ranks += [6 + (37 * j) % (2 * _TOPK_N - 6) for j in range(rest)]
    order = [(97 * j) % (2 * _TOPK_N) for j in range(2 * _TOPK_N)]   # a fixed shuffle (97 is coprime with 512)
    return torch.tensor([ranks[j] for j in order], dtype=torch.int64)


def _topk_error(name: str, got: float, k: int, ranks: torch.Tensor) -> tuple[str, str] | None:
    """(what is wrong, hint) with the top-``k`` accuracy ``got`` of ``ranks``, or None when right."""
    share = lambda mask: float(mask.float().mean())  # noqa: E731
    ref, n2 = share(ranks <= k), len(ranks)
    hint = f"{name} = (ranks <= {k}).float().mean(): the share of the 2N = {n2} views whose positive is in the top {k}"
    if math.isclose(got, ref, rel_tol=1e-6):
        return None
    known = ((share(ranks < k), f"ranks < {k} leaves out the views at rank {k} (top-{k} means rank <= {k})"),
             (float((ranks <= k).sum()), f"that is the number of views in the top {k}, not their share"),
             (2 * ref, "divided by N; there are 2N views, each one an anchor"),
             (100 * ref, "that is a percentage; give the share in [0, 1]"),
             (share(ranks == k), f"that counts only the views at rank exactly {k}"))
    bug = next((why for value, why in known if math.isclose(got, value, rel_tol=1e-6)), None)
    return f"{name} = {got:.4g}, expected {ref:.4g}" + (f": {bug}" if bug else ""), hint


def _chance_error(name: str, got: float, k: int) -> tuple[str, str] | None:
    """(what is wrong, hint) with the chance level ``got`` of top-``k`` accuracy at N = 256, or None when right."""
    n = _TOPK_N
    hint = f"{name} = {k} / (2 * N - 1): the positive is one of 2N - 1 = {2 * n - 1} equally likely candidates"
    if math.isclose(got, k / (2 * n - 1), rel_tol=1e-6):
        return None
    known = ((k / n, "k / N counts only the N views of one side as candidates"),
             (k / (2 * n), "k / 2N counts the anchor itself among the candidates"),
             (k / (2 * n - 2), "k / (2N - 2) leaves out the positive: it is one of the 2N - 1 candidates"),
             (1 / (2 * n - 1), f"that is the top-1 level; in the top {k} the positive has {k} chances"),
             (100 * k / (2 * n - 1), "that is a percentage; give the share in [0, 1]"))
    bug = next((why for value, why in known if math.isclose(got, value, rel_tol=1e-6)), None)
    return f"{name} = {got:.5g}, expected {k / (2 * n - 1):.5g}" + (f": {bug}" if bug else ""), hint


def check_07_topk(top1: Any, top5: Any, chance_top1: Any, chance_top5: Any) -> Verdict:
    """Check the top-1 and top-5 accuracy of ``exercise_07_ranks()`` and their chance levels at N = 256, 1/511 and
    5/511 (the positive is one of 2N - 1 candidates), in that order; an unanswered one is "not attempted"."""
    answers = {"top1": top1, "top5": top5, "chance_top1": chance_top1, "chance_top5": chance_top5}
    if all(_unanswered(x) for x in answers.values()):
        return _not_attempted(EX_07_TOPK, "top1, top5, chance_top1 and chance_top5")
    ranks = exercise_07_ranks()
    for name, answer in answers.items():
        if _unanswered(answer):
            return _not_attempted(EX_07_TOPK, name)
        got = _number(answer)
        if got is None:
            return _wrong(EX_07_TOPK, f"{name} should be one number, got {type(answer).__name__}.",
                          "a float, e.g. float((ranks <= 5).float().mean())")
        k = 5 if name.endswith("5") else 1
        error = _topk_error(name, got, k, ranks) if name.startswith("top") else _chance_error(name, got, k)
        if error is not None:
            return _wrong(EX_07_TOPK, error[0] + ".", error[1])
    t1, t5 = float((ranks <= 1).float().mean()), float((ranks <= 5).float().mean())
    return Verdict(EX_07_TOPK, "correct", f"top-1 {t1:.3f} and top-5 {t5:.3f}, against chance {1 / 511:.4f} and "
                   f"{5 / 511:.4f}: {t1 * 511:.0f} and {t5 * 511 / 5:.0f} times chance. Embeddings that carry no "
                   "information put the positive at rank N = 256 on average; the loss has its chance level from the "
                   f"same 2N - 1: with every cosine equal NT-Xent is log(2N - 1) = {math.log(511):.2f}.")
# =========================================================================== false negatives (07.5, 07.6)
EX_07_FN_SHARE, EX_07_MASK = "Exercise 07.5 · the same-class share of the push", "Exercise 07.6 · mask the same class"
#: one anchor: FN_ROW[0] is its positive, the rest its 14 negatives; FN_SAME flags the negatives of its own class
FN_ROW = (0.85, 0.75, 0.6, 0.5, 0.45, 0.3, 0.25, 0.2, 0.1, 0.0, -0.05, -0.1, -0.2, -0.3, -0.4)
FN_SAME = (True, False, True, False, False, False, False, False, False, False, False, False, False, False)
FN_CASES = ((FN_ROW, FN_SAME, 0.1), (FN_ROW, FN_SAME, 0.5), (FN_ROW, FN_SAME, 2.0),
            ((0.3, 0.8, 0.1, -0.4, 0.5), (False, False, True, True), 0.2))


def false_negative_share_reference(similarities: torch.Tensor, same_class: torch.Tensor, temperature: float) -> float:
    """The same-class negatives' share of the negatives' softmax weight (``similarities[0]`` is the positive)."""
    p = torch.softmax(similarities[1:] / temperature, dim=0)
    return float(p[same_class].sum())


def _share_bug(s: torch.Tensor, same: torch.Tensor, t: float, got: float) -> tuple[str, str] | None:
    """(likely bug, hint) when ``got`` equals a typical wrong same-class share, else None."""
    neg = s[1:]
    candidates = ((torch.softmax(s / t, 0)[1:][same].sum(), "the positive is in the softmax",
                   "the share is among the negatives only: softmax(similarities[1:] / temperature)"),
                  (same.double().mean(), "that is the fraction of negatives of the anchor's class (the even split), "
                   "not their share of the weight", "weigh each negative by softmax(similarities[1:] / temperature)"),
                  (torch.softmax(neg / t, 0)[~same].sum(), "that is the OTHER classes' share", "sum over same_class"),
                  (torch.softmax(neg * t, 0)[same].sum(), "the temperature multiplies", "divide by the temperature"),
                  (torch.softmax(neg, 0)[same].sum(), "the temperature is ignored", "softmax(similarities[1:] / t)"),
                  (torch.exp(neg / t)[same].sum(), "the weights are not normalized",
                   "divide by the sum over all negatives (a softmax)"))
    return next(((bug, hint) for value, bug, hint in candidates if math.isclose(got, float(value), rel_tol=1e-4)),
                None)


def check_07_false_negative_share(fn: Callable | None) -> Verdict:
    """Check ``fn(similarities, same_class, temperature) -> share`` against ``false_negative_share_reference`` on
    the rows of ``FN_CASES``."""
    if _unanswered(fn):
        return _not_attempted(EX_07_FN_SHARE, "the body of false_negative_share")
    hint = "p = torch.softmax(similarities[1:] / temperature, dim=0); return p[same_class].sum()"
    for row, flags, t in FN_CASES:
        s, same = torch.tensor(row, dtype=torch.float64), torch.tensor(flags)
        got = _scalar_answer(fn, EX_07_FN_SHARE, "the body of false_negative_share", f"for τ = {t}", hint, hint,
                             s.clone(), same.clone(), t)
        if isinstance(got, Verdict):
            return got
        expected = false_negative_share_reference(s, same, t)
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-7):
            bug, fix = _share_bug(s, same, t, got) or ("", hint)
            return _wrong(EX_07_FN_SHARE, f"at τ = {t} it gives {got:.4g}, expected {expected:.4g}"
                          + (f": {bug}." if bug else "."), fix)
    s, same = torch.tensor(FN_ROW, dtype=torch.float64), torch.tensor(FN_SAME)
    shares = ", ".join(f"τ = {t}: {false_negative_share_reference(s, same, t):.2f}" for t in (0.1, 0.5, 2.0))
    return Verdict(EX_07_FN_SHARE, "correct", f"2 of the 14 negatives are the anchor's class (even split 0.14); they "
                   f"get {shares} of the push. They are among the closest negatives here, so a small τ hands them most of it "
                   "(same_class_negative_share averages this over a batch).")


def mask_same_class_reference(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``logits`` (2N, 2N) with every same-class negative set to -inf (the diagonal and the positives untouched)."""
    n = labels.shape[0]
    both = torch.cat([labels, labels])
    drop = both[:, None] == both[None, :]
    rows = torch.arange(2 * n)
    drop[rows, rows] = False
    drop[rows, (rows + n) % (2 * n)] = False
    return logits.masked_fill(drop, float("-inf"))


def _mask_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(logits with a -inf diagonal, labels) for N = 6 (classes 0, 1, 0, 2, 1, 0) and N = 4 (all different)."""
    out = []
    for seed, labels in ((0, (0, 1, 0, 2, 1, 0)), (1, (3, 1, 0, 2))):
        n = len(labels)
        g = torch.Generator().manual_seed(seed)
        z = torch.nn.functional.normalize(torch.randn(2 * n, 8, generator=g, dtype=torch.float64), dim=1)
        logits = (z @ z.T / 0.5).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        out.append((logits, torch.tensor(labels)))
    return out


def _mask_bug(got: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> tuple[str, str]:
    """(what is wrong, hint) for a masked matrix that differs from the reference."""
    n, hint = labels.shape[0], "both = torch.cat([labels, labels]); same = both[:, None] == both[None, :]; unmask i and i+N"
    expected = mask_same_class_reference(logits, labels)
    rows = torch.arange(2 * n)
    masked, want = torch.isneginf(got), torch.isneginf(expected)
    if bool(masked[rows, (rows + n) % (2 * n)].any()):
        return "the positive (view i + N mod 2N) is masked too: the loss has nothing left to pull", \
            "set same[i, (i + N) % (2N)] = False before masking"
    if bool(((got == 0) & want & ~masked).any()):
        return "same-class entries are set to 0, not -inf: exp(0) = 1 still counts in the denominator", \
            "masked_fill(same, float('-inf'))"
    if bool((masked & ~want & ~torch.isneginf(logits)).any()):
        return "entries of OTHER classes are masked: the mask is inverted", "mask where the labels are equal"
    if bool((want & ~masked).any()):
        missed = [(int(i), int(k)) for i, k in zip(*torch.nonzero(want & ~masked, as_tuple=True))][:3]
        cross = all((i < n) != (k < n) for i, k in missed)
        return (f"same-class negatives are left in, e.g. (row, column) {missed}"
                + (": the ones in the other view's block; the labels of the 2N views are the N labels twice" if cross
                   else "")), hint
    return "the unmasked entries changed: return the logits with only the same-class negatives set to -inf", hint


def check_07_mask_same_class(fn: Callable | None) -> Verdict:
    """Check ``fn(logits, labels) -> masked logits``: ``mask_same_class_reference`` on ``_mask_cases()``."""
    if _unanswered(fn):
        return _not_attempted(EX_07_MASK, "the body of mask_same_class")
    hint = "both = torch.cat([labels, labels]); same = both[:, None] == both[None, :]; unmask i and i+N; masked_fill"
    for logits, labels in _mask_cases():
        out = _call_answer(fn, EX_07_MASK, "the body of mask_same_class", f"for N = {len(labels)}", hint,
                           logits.clone(), labels.clone())
        if isinstance(out, Verdict):
            return out
        if not isinstance(out, torch.Tensor) or out.shape != logits.shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return _wrong(EX_07_MASK, f"it should return a tensor of the logits' shape {tuple(logits.shape)}, got "
                          f"{shape}.", hint)
        expected = mask_same_class_reference(logits, labels)
        if not torch.equal(torch.isneginf(out), torch.isneginf(expected)) or not torch.allclose(
                out[~torch.isneginf(expected)].double(), expected[~torch.isneginf(expected)]):
            what, fix = _mask_bug(out.double(), logits, labels)
            return _wrong(EX_07_MASK, f"for N = {len(labels)}: {what}.", fix)
    logits, labels = _mask_cases()[0]
    kept = int((~torch.isneginf(mask_same_class_reference(logits, labels))).sum(1)[0])
    return Verdict(EX_07_MASK, "correct", f"with labels {labels.tolist()} anchor 0 keeps {kept} of its {2 * len(labels) - 1} "
                   "candidates: its positive and the views of other classes. With all labels different nothing is "
                   "masked and it is NT-Xent again (nt_xent_masked does this with cross_entropy).")
