"""Notebook 06's exercises: ``exercise_06_features()`` gives synthetic features; 06.1
``check_06_few_label_probe(fn)`` and 06.2 ``check_06_knn_by_hand(fn)``; the map: 06.3
``check_06_map_agreement(fn)`` (on ``exercise_06_map()``) and 06.4 ``check_06_tsne_statements(answer)`` (on
``TSNE_STATEMENTS``); fine-tuning: 06.5 ``check_06_param_groups(fn)`` and 06.6 ``check_06_paired_gain(...)`` (on
``FINE_TUNE_DRAWS``). Self-contained: small synthetic data, not the notebook's training runs, in well under a
second."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from ..metrics import few_label_probe, knn_accuracy, linear_probe_accuracy
from ._verdict import Verdict, _call_answer, _not_attempted, _number, _scalar_answer, _unanswered, _wrong

EX_06_PROBE, EX_06_KNN = "Exercise 06.1 · a few-label probe by hand", "Exercise 06.2 · kNN by hand"
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
                                  "@ train.T, s.topk(k), votes[c] += exp(s / τ) for each neighbour of class c, argmax")
    return Verdict(EX_06_KNN, "correct", "matches knn_accuracy for k = 20, 1 and 100: cosine neighbours, "
                   "votes weighted by exp(s / τ). The rows' lengths play no part, as in the loss.")


# --------------------------------------------------------------------------- 06.3 and 06.4: the map
EX_06_MAP, EX_06_TSNE = "Exercise 06.3 · the map's neighbour agreement", "Exercise 06.4 · what a t-SNE map shows"
TSNE_STATEMENTS = {  # letter: (statement, true?, why)
    "a": ("two clusters far apart on the map are more different in h than two clusters close together", False,
          "t-SNE keeps neighbourhoods, not the distances between clusters; their places on the map carry no meaning"),
    "b": ("a large cluster on the map holds features that are more spread out in h than a small cluster", False,
          "t-SNE evens out densities (each point keeps about `perplexity` neighbours), so cluster sizes mean nothing"),
    "c": ("a digit whose map neighbours are of its own class mostly has neighbours of its own class in h too", True,
          "what t-SNE tries to keep is who is near whom: its cost compares neighbour probabilities in h and on the map"),
    "d": ("another perplexity or another seed can give a different picture of the very same h", True,
          "the map is one local optimum of a non-convex cost whose neighbourhood size is set by the perplexity"),
    "e": ("if the colours are well separated on the map, the linear probe on h will be accurate", False,
          "a map is not an accuracy: t-SNE can separate classes that no linear classifier on h separates; measure it"),
}


def exercise_06_map(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A made-up 2-D map: ``(points (200, 2), labels (200,))``, 10 classes whose clusters overlap a little."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(CLASSES).repeat_interleave(20)
    centers = 6 * torch.randn(CLASSES, 2, generator=g)
    return centers[labels] + 1.5 * torch.randn(len(labels), 2, generator=g), labels


def _map_variants(points: torch.Tensor, labels: torch.Tensor) -> list[tuple[float, str, str]]:
    """(share, the mistake, hint) of typical wrong neighbour-agreement answers on the exercise's map."""
    d = torch.cdist(points.double(), points.double())
    off = d.clone().fill_diagonal_(float("inf"))
    share = lambda idx: float((labels[idx] == labels).double().mean())   # noqa: E731
    return [(share(d.argmin(1)), "every point is its own nearest neighbour (the diagonal is 0), so the share is 1",
             "exclude the point itself: d.fill_diagonal_(float('inf')) before argmin"),
            (share(d.argmax(1)), "it takes the FARTHEST point", "the nearest point is d.argmin(dim=1)"),
            (share(off.argmin(1)) * len(labels), "a count, not a share", "divide by the number of points (.mean())")]


def check_06_map_agreement(fn: Callable | None) -> Verdict:
    """Check ``fn(points, labels) -> share`` (of points whose nearest other point has their label) against
    ``metrics.map_neighbour_agreement`` on ``exercise_06_map()`` and on a second map."""
    from ..metrics import map_neighbour_agreement

    if _unanswered(fn):
        return _not_attempted(EX_06_MAP, "the body of my_map_agreement")
    for seed in (0, 1):
        points, labels = exercise_06_map(seed)
        value = _scalar_answer(fn, EX_06_MAP, "the body of my_map_agreement", "on the exercise's map",
                               "keep the signature fn(points, labels)", "return a float in [0, 1]", points, labels)
        if isinstance(value, Verdict):
            return value
        expected = map_neighbour_agreement(points, labels)
        if abs(value - expected) > 1e-6:
            known = [(v, bug, fix) for v, bug, fix in _map_variants(points, labels) if math.isclose(value, v, rel_tol=1e-5)]
            return _named_mistake(EX_06_MAP, f"on map {seed} it gives {value:.3f}, expected {expected:.3f}", value,
                                  expected, [(value, bug, fix) for _, bug, fix in known], "d = torch.cdist(points, "
                                  "points); d.fill_diagonal_(inf); share of labels[d.argmin(1)] == labels")
    return Verdict(EX_06_MAP, "correct", f"{expected:.3f} of the points on map 1 have a nearest neighbour of their own "
                   "class. On a t-SNE map this number reads who sits next to whom, the one thing such a map keeps; "
                   "it is still not an accuracy on h.")


def check_06_tsne_statements(answer: Any) -> Verdict:
    """Check ``answer``: the letters of every true statement in ``TSNE_STATEMENTS`` ("cd")."""
    if _unanswered(answer):
        return _not_attempted(EX_06_TSNE, "true_statements")
    hint = "for each statement ask: does t-SNE try to keep this (who is near whom), or is it free to change it?"
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        answer = "".join(answer)
    if not isinstance(answer, str):
        return _wrong(EX_06_TSNE, f"answer with a string of letters such as 'ab', got {type(answer).__name__}.", hint)
    chosen, true = {c for c in answer.lower() if c.isalnum()}, {k for k, (_, ok, _) in TSNE_STATEMENTS.items() if ok}
    if not chosen or chosen - set(TSNE_STATEMENTS):
        return _wrong(EX_06_TSNE, f"choose letters among a-e, got {answer!r}.", hint)
    if chosen == true:
        return Verdict(EX_06_TSNE, "correct", "; ".join(f"{k}: {TSNE_STATEMENTS[k][2]}" for k in sorted(TSNE_STATEMENTS)) + ".")
    parts = [f"{k} is false: {TSNE_STATEMENTS[k][2]}" for k in sorted(chosen - true)]
    missed = len(true - chosen)
    parts += [f"{missed} true statement{'s are' if missed > 1 else ' is'} missing"] if missed else []
    return _wrong(EX_06_TSNE, "; ".join(parts) + ".", hint)


# --------------------------------------------------------------------------- 06.5 and 06.6: fine-tuning
EX_06_GROUPS, EX_06_GAIN = "Exercise 06.5 · the fine-tuning optimizer", "Exercise 06.6 · fine-tune minus probe, paired"
ENCODER_LR_SCALE = 0.1   # the pretrained encoder learns at a tenth of the new head's rate
FINE_TUNE_DRAWS = {   # made-up accuracies of one probe and one fine-tuning run per label draw (draw d in both)
    "probe": [0.62, 0.71, 0.66, 0.75, 0.58],
    "fine-tune": [0.65, 0.73, 0.70, 0.77, 0.62],
}


def _groups_of(opt: Any, encoder: torch.nn.Module, head: torch.nn.Module) -> tuple[str, str] | dict:
    """``{"encoder": set of lrs, "head": set of lrs}`` of ``opt``'s groups, or (what is wrong, hint)."""
    if not isinstance(opt, torch.optim.Optimizer):
        return f"it returned {type(opt).__name__}, not an optimizer", "return torch.optim.Adam([{...}, {...}])"
    where = {}
    for group in opt.param_groups:
        for p in group["params"]:
            if id(p) in where:
                return "a parameter appears in two groups", "list each module's parameters once"
            where[id(p)] = group["lr"]
    lrs = {}
    for name, module in (("encoder", encoder), ("head", head)):
        found = [where.get(id(p)) for p in module.parameters()]
        if None in found:
            fix = ("the encoder is not in the optimizer: it stays frozen, which is the linear probe, not fine-tuning"
                   if name == "encoder" else "the head is not in the optimizer: it would never learn")
            return fix, f"add {{'params': {name}.parameters(), 'lr': ...}}"
        lrs[name] = set(found)
    return lrs


def check_06_param_groups(fn: Callable | None) -> Verdict:
    """Check ``fn(encoder, head, lr) -> optimizer``: every parameter once, the head at ``lr``, the encoder at
    ``lr * ENCODER_LR_SCALE``; tried with lr = 0.01 and 0.003 on a small made-up encoder and head."""
    if _unanswered(fn):
        return _not_attempted(EX_06_GROUPS, "the body of my_fine_tune_optimizer")
    torch.manual_seed(0)
    encoder, head = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)), torch.nn.Linear(4, 3)
    for lr in (0.01, 0.003):
        opt = _call_answer(fn, EX_06_GROUPS, "the body of my_fine_tune_optimizer", "with a small encoder and head",
                           "keep the signature fn(encoder, head, lr)", encoder, head, lr)
        if isinstance(opt, Verdict):
            return opt
        lrs = _groups_of(opt, encoder, head)
        if isinstance(lrs, tuple):
            return _wrong(EX_06_GROUPS, lrs[0] + ".", lrs[1])
        enc, hd = lrs["encoder"], lrs["head"]
        want_enc = lr * ENCODER_LR_SCALE
        if enc == {lr} and hd == {lr}:
            return _wrong(EX_06_GROUPS, "one learning rate for everything: the new head's large steps, pushed back "
                          "through the encoder, overwrite what pretraining learned.", "two groups: encoder at lr * 0.1")
        if enc == {lr} and hd == {want_enc}:
            return _wrong(EX_06_GROUPS, "the rates are swapped: the encoder gets lr and the head lr * 0.1.",
                          "the head is new (large steps), the encoder pretrained (small steps)")
        if not (len(enc) == 1 and math.isclose(enc.pop(), want_enc) and len(hd) == 1 and math.isclose(hd.pop(), lr)):
            return _wrong(EX_06_GROUPS, f"with lr = {lr} the encoder's rates are {sorted(lrs['encoder'])} and the "
                          f"head's {sorted(lrs['head'])}; expected {want_enc:g} and {lr:g}.", "encoder lr * 0.1, head lr")
    return Verdict(EX_06_GROUPS, "correct", "two parameter groups: the pretrained encoder moves ten times more slowly "
                   "than the new head. encoder_lr_scale = 0 would freeze it: the linear probe (trained by SGD).")


def _pair_reference() -> tuple[float, float, float]:
    """(mean, lo, hi) of fine-tune minus probe in ``FINE_TUNE_DRAWS``, by ``records.paired_difference``."""
    from ..records import paired_difference

    d = paired_difference(FINE_TUNE_DRAWS["fine-tune"], FINE_TUNE_DRAWS["probe"])
    return d.mean, d.lo, d.hi


def _gain_variants() -> list[tuple[tuple[float, float, float], str, str]]:
    """((mean, lo, hi), the mistake, hint) of typical wrong intervals."""
    from scipy.stats import t as student_t

    a, b = (torch.tensor(FINE_TUNE_DRAWS[k], dtype=torch.float64) for k in ("fine-tune", "probe"))
    n, d, (m, lo, hi) = len(a), a - b, _pair_reference()
    t = float(student_t.ppf(0.975, n - 1))
    half_unpaired = t * float((a.var() / n + b.var() / n).sqrt())
    return [((-m, -hi, -lo), "the sign is reversed: probe minus fine-tune", "fine-tune minus probe, draw by draw"),
            ((m, m - half_unpaired, m + half_unpaired), "the interval is unpaired: it adds the two arms' spreads, "
             "which mostly come from the draws, shared by both arms", "take sd of the per-draw differences d = a - b"),
            ((m, m - 1.96 * float(d.std()) / n ** 0.5, m + 1.96 * float(d.std()) / n ** 0.5), "1.96 is the normal "
             "quantile; with 5 draws use Student's t with 4 degrees of freedom", "t = scipy.stats.t.ppf(0.975, n - 1)"),
            ((m, m - t * float(d.std()), m + t * float(d.std())), "the half-width uses sd, not the standard error",
             "divide sd by sqrt(n)"),
            ((m, m - t * float(d.std(correction=0)) / n ** 0.5, m + t * float(d.std(correction=0)) / n ** 0.5),
             "the sd divides by n, not n - 1", "the sample sd: d.std() (torch) or statistics.stdev")]


def check_06_paired_gain(mean_diff: Any, ci_95: Any) -> Verdict:
    """Check ``mean_diff`` (fine-tune minus probe, mean over the draws of ``FINE_TUNE_DRAWS``) and ``ci_95`` = (lo, hi),
    its 95% interval mean ± t_{0.975, n-1} sd(d) / sqrt(n), as ``records.paired_difference`` computes it."""
    if _unanswered(mean_diff) and _unanswered(ci_95):
        return _not_attempted(EX_06_GAIN, "mean_diff and ci_95")
    if _unanswered(ci_95) or _unanswered(mean_diff):
        return _not_attempted(EX_06_GAIN, "ci_95" if _unanswered(ci_95) else "mean_diff")
    m, lo, hi = _pair_reference()
    got_m = _number(mean_diff)
    pair = list(ci_95.tolist() if hasattr(ci_95, "tolist") else ci_95) if isinstance(ci_95, (list, tuple)) or hasattr(ci_95, "tolist") else None
    got = None if pair is None or len(pair) != 2 else [_number(x) for x in pair]
    if got_m is None or got is None or None in got:
        return _wrong(EX_06_GAIN, "mean_diff must be one number and ci_95 a pair (lo, hi).", "ci_95 = (lo, hi)")
    answer = (got_m, *got)
    if all(abs(x - y) <= 1e-4 for x, y in zip(answer, (m, lo, hi))):
        return Verdict(EX_06_GAIN, "correct", f"fine-tune beats the probe by {m:.3f} (95% CI [{lo:+.4f}, {hi:+.4f}], "
                       f"{len(FINE_TUNE_DRAWS['probe'])} draws). Unpaired, the same numbers would not be resolved: the "
                       "draws move both arms together, and pairing removes that shared noise.")
    for values, bug, fix in _gain_variants():
        if all(abs(x - y) <= 1e-4 for x, y in zip(answer, values)):
            return _wrong(EX_06_GAIN, f"{bug}.", fix)
    return _wrong(EX_06_GAIN, f"got {got_m:.4f} with [{got[0]:.4f}, {got[1]:.4f}], expected a different mean or interval.",
                  "d = fine-tune - probe per draw; mean(d) ± t.ppf(0.975, n - 1) * stdev(d) / sqrt(n)")
