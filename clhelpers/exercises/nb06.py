"""Notebook 06's exercises: ``exercise_06_features()`` gives synthetic features; 06.1
``check_06_few_label_probe(fn)`` and 06.2 ``check_06_knn_by_hand(fn)``. Self-contained: small synthetic data,
not the notebook's training runs, in well under a second."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from ..metrics import few_label_probe, knn_accuracy, linear_probe_accuracy
from ._verdict import Verdict, _call_answer, _not_attempted, _number, _unanswered, _wrong

EX_06_PROBE, EX_06_KNN = "Exercise 07.1 · a few-label probe by hand", "Exercise 07.2 · kNN by hand"
CLASSES, DIM = 10, 16


def exercise_06_features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
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
    """``fn(*args, **kwargs)`` as one accuracy, or the verdict when it is unfinished, raises or is not a number."""
    out = _call_answer(fn, exercise, what, "on the exercise's features", "keep the signature of the stub", *args, **kwargs)
    if isinstance(out, Verdict):
        return out
    got = _number(out)
    return _wrong(exercise, f"it returned {type(out).__name__}, not one accuracy.",
                  "return one number in [0, 1]") if got is None else got


@lru_cache(maxsize=None)
def _probe_variants(per_class: int, seed: int) -> tuple[tuple[float, str, str], ...]:
    """(accuracy, the mistake, hint) of typical wrong few-label probes on ``exercise_06_features()`` (cached)."""
    train_f, train_y, test_f, test_y = exercise_06_features()
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
    """The reference: ``few_label_probe``'s one draw of ``seed`` on ``exercise_06_features()`` (cached)."""
    return few_label_probe(*exercise_06_features(), per_class=per_class, draws=1, seed=seed)["mean"]


def _named_mistake(exercise: str, what: str, got: float, expected: float,
                   variants: Iterable[tuple[float, str, str]], hint: str) -> Verdict:
    """A wrong accuracy ``got``: named as a percentage or as the first typical mistake whose accuracy it equals."""
    if math.isclose(got, 100 * expected, rel_tol=1e-6):
        return _wrong(exercise, f"{what}: a percentage.", "return a fraction in [0, 1]")
    mistake = next(((bug, fix) for value, bug, fix in variants if abs(got - value) <= 1e-6), None)
    return _wrong(exercise, f"{what}: {mistake[0]}.", mistake[1]) if mistake else _wrong(exercise, f"{what}.", hint)


def _probe_mistake(fn: Callable, data: tuple, per_class: int, seed: int, got: float, what: str) -> Verdict:
    """The verdict for an accuracy ``got`` that differs from the reference: the likely mistake, when one fits."""
    again = _call_accuracy(fn, EX_06_PROBE, "the body of my_few_label_probe", *data, per_class,
                           torch.Generator().manual_seed(seed))
    if isinstance(again, float) and abs(again - got) > 1e-9:
        return _wrong(EX_06_PROBE, f"two calls with the same seed give {got:.3f} and {again:.3f}: the generator is "
                      "not used.", "pass generator=generator to torch.randperm")
    return _named_mistake(EX_06_PROBE, what, got, _expected_probe(per_class, seed),
                          _probe_variants(per_class, seed), "for c in 0..9: rows of class c, torch.randperm("
                          "len(rows), generator=generator)[:per_class]; then linear_probe_accuracy on those rows only")


def check_06_few_label_probe(fn: Callable | None) -> Verdict:
    """Check ``fn(train_f, train_y, test_f, test_y, per_class, generator) -> accuracy`` against ``few_label_probe``
    (one draw of ``seed``) on ``exercise_06_features()``, for (per_class, seed) = (3, 0) and (1, 1)."""
    if _unanswered(fn):
        return _not_attempted(EX_06_PROBE, "the body of my_few_label_probe")
    data, results = exercise_06_features(), []
    for per_class, seed in ((3, 0), (1, 1)):
        got = _call_accuracy(fn, EX_06_PROBE, "the body of my_few_label_probe", *data, per_class,
                             torch.Generator().manual_seed(seed))
        if isinstance(got, Verdict):
            return got
        expected = _expected_probe(per_class, seed)
        if abs(got - expected) > 1e-6:
            what = f"with {per_class} label(s) per class (seed {seed}) it gives {got:.3f}, expected {expected:.3f}"
            return _probe_mistake(fn, data, per_class, seed, got, what)
        results.append(f"{per_class}/class: {expected:.3f}")
    return Verdict(EX_06_PROBE, "correct", f"matches few_label_probe draw for draw ({', '.join(results)}). With one "
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


def check_06_knn_by_hand(fn: Callable | None) -> Verdict:
    """Check ``fn(train_f, train_y, test_f, test_y, k, temperature) -> accuracy`` against ``knn_accuracy`` on
    ``exercise_06_features()`` for (k, temperature) = (20, 0.1), (1, 0.5), (100, 1.0)."""
    if _unanswered(fn):
        return _not_attempted(EX_06_KNN, "the body of my_knn_accuracy")
    data = exercise_06_features()
    for k, t in ((20, 0.1), (1, 0.5), (100, 1.0)):
        got = _call_accuracy(fn, EX_06_KNN, "the body of my_knn_accuracy", *data, k, t)
        if isinstance(got, Verdict):
            return got
        expected = knn_accuracy(*data, k=k, temperature=t)
        if abs(got - expected) > 1e-6:
            what = f"at k = {k}, temperature {t} it gives {got:.3f}, knn_accuracy {expected:.3f}"
            return _named_mistake(EX_06_KNN, what, got, expected, _knn_variants(data, k, t), "normalize, s = test "
                                  "@ train.T, s.topk(k), votes[c] += exp(s / t) for each neighbour of class c, argmax")
    return Verdict(EX_06_KNN, "correct", "matches knn_accuracy for k = 20, 1 and 100: cosine neighbours, "
                   "votes weighted by exp(s / t). The rows' lengths play no part, as in the loss.")
