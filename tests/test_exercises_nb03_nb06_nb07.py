"""The checkers of notebooks 03, 06 and 07: the starting point is "not attempted", the reference solution is
"correct", and typical wrong answers are "wrong" with a message that says what is wrong."""
import json
import math
import re
import statistics
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import t as scipy_t

from clhelpers import exercises as er
from clhelpers.exercises import (check_03_fixed_loss, check_03_predicted_failures, check_06_few_label_probe,
                                 check_06_knn_by_hand, check_07_hardest_share, check_07_paired_difference,
                                 exercise_06_features, exercise_07_runs, one_way_nt_xent)
from clhelpers.exercises import (check_07_false_negative_share, check_07_mask_same_class, check_07_positive_rank,
                                 check_07_topk, exercise_07_ranks)
from clhelpers.losses import nt_xent
from clhelpers.metrics import hard_negative_share, linear_probe_accuracy
from clhelpers.records import paired_difference
from test_exercises import assert_verdict, unfinished

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


# --------------------------------------------------------------------------- reference solutions
def my_fixed_loss(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)                                   # all 2N views are anchors
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(logits, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))   # log-sum-exp inside


def my_few_label_probe(train_f, train_y, test_f, test_y, per_class, generator):
    picked = []
    for c in range(10):
        rows = torch.nonzero(train_y == c).flatten()
        picked.append(rows[torch.randperm(len(rows), generator=generator)[:per_class]])
    idx = torch.cat(picked)
    return linear_probe_accuracy(train_f[idx], train_y[idx], test_f, test_y)


def my_knn_accuracy(train_f, train_y, test_f, test_y, k=20, temperature=0.1):
    s = F.normalize(test_f, dim=1) @ F.normalize(train_f, dim=1).T
    sims, idx = s.topk(k, dim=1)
    votes = torch.zeros(len(test_f), 10).scatter_add_(1, train_y[idx], (sims / temperature).exp())
    return (votes.argmax(dim=1) == test_y).float().mean().item()


def hardest_share(similarities, temperature):
    return torch.softmax(similarities[1:] / temperature, dim=0).max()


def arms(runs):
    accs = {}
    for r in sorted(runs, key=lambda r: r["seed"]):
        accs.setdefault(r["batch_size"], []).append(r["knn_acc"])
    return accs[128], accs[512]


def paired_answer(runs, crit=None, spread=statistics.stdev, se=True, sign=1):
    """(diffs, mean_diff, ci_95, resolved) for batch 128 vs 512; the defaults give the paired 95% t-interval."""
    a, b = arms(runs)
    diffs = [sign * (x - y) for x, y in zip(a, b)]
    mean = statistics.fmean(diffs)
    crit = float(scipy_t.ppf(0.975, 2)) if crit is None else crit
    half = crit * spread(diffs) / (math.sqrt(3) if se else 1)
    return diffs, mean, (mean - half, mean + half), mean - half > 0 or mean + half < 0


CHECKERS = [check_03_predicted_failures, check_03_fixed_loss, check_06_few_label_probe, check_06_knn_by_hand,
            check_07_hardest_share, lambda a: check_07_paired_difference(a, a, a, a)]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: getattr(c, "__name__", "sweep"))
@pytest.mark.parametrize("start", [None, ..., unfinished], ids=["None", "Ellipsis", "raise"])
def test_an_untouched_starting_point_is_not_attempted(checker, start):
    if start is unfinished and checker in (check_03_predicted_failures, CHECKERS[-1]):
        # these two take values, not functions: a function handed to them is a wrong answer, named as such
        assert_verdict(checker(start), "wrong", "got function" if checker is check_03_predicted_failures
                       else "should be a list of 3 numbers")
    else:
        assert_verdict(checker(start), "not attempted")


# --------------------------------------------------------------------------- 03
def test_03_predicted_failures():
    assert_verdict(check_03_predicted_failures({"collapse_value", "symmetric", "finite_small_temperature"}),
                   "correct", "log N", "one-way convention", "the one real bug: at t = 0.01", "only the exp is a bug")
    assert_verdict(check_03_predicted_failures(["symmetric", "collapse_value"]), "wrong",
                   "finite_small_temperature fails", "overflows float32")
    assert_verdict(check_03_predicted_failures({"collapse_value", "symmetric", "finite_small_temperature",
                                        "pair_permutation_invariant"}), "wrong",
                   "pair_permutation_invariant passes", "positives stay on the diagonal")
    assert_verdict(check_03_predicted_failures("symmetric"), "wrong", "collapse_value fails", "log N")
    assert_verdict(check_03_predicted_failures({"symetric"}), "wrong", "no check is named 'symetric'")
    assert_verdict(check_03_predicted_failures(3), "wrong", "set of check names")


def clip_style(z1, z2, temperature=0.5):   # symmetric and stable, but still N candidates per anchor
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    target = torch.arange(len(z1))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def no_self_mask(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    return F.cross_entropy(z @ z.T / temperature, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))


@pytest.mark.parametrize("wrong, fragments", [
    (one_way_nt_xent, ("convert it to NT-Xent, stably", "3 check(s) of NT-Xent's suite", "N views of the other side",
                       "only one view's anchors", "plain exp overflows")),
    (clip_style, ("1 check(s)", "collapse_value", "N views of the other side")),
    (no_self_mask, ("anchor itself stays among the candidates",)),
    (lambda z1, z2, t=0.5: my_fixed_loss(z1, z2, 1 / t), ("multiplies",)),
    (lambda z1, z2, t=0.5: torch.ones(3), ("scalar tensor",)),
    (lambda z1, z2, t=0.5: z1 @ z2, ("RuntimeError",)),
], ids=["unchanged", "clip-style", "no-mask", "multiplied-t", "vector", "crash"])
def test_03_fixed_loss_names_what_still_fails(wrong, fragments):
    assert_verdict(check_03_fixed_loss(wrong), "wrong", *fragments)


def test_03_fixed_loss_accepts_the_reference():
    assert_verdict(check_03_fixed_loss(my_fixed_loss), "correct", "all 9 checks")
    assert_verdict(check_03_fixed_loss(nt_xent), "correct")
    assert_verdict(check_03_fixed_loss("nt_xent"), "wrong", "should be a function")


# --------------------------------------------------------------------------- 06
def test_07_features_are_small_synthetic_and_repeatable():
    train_f, train_y, test_f, test_y = exercise_06_features()
    assert train_f.shape == (300, 16) and test_f.shape == (200, 16) and set(train_y.tolist()) == set(range(10))
    assert torch.equal(train_f, exercise_06_features()[0]) and train_y[:10].unique().numel() > 3   # shuffled


def first_rows(train_f, train_y, test_f, test_y, per_class, generator):
    idx = torch.arange(10 * per_class)
    return linear_probe_accuracy(train_f[idx], train_y[idx], test_f, test_y)


def scored_on_training_rows(train_f, train_y, test_f, test_y, per_class, generator):
    idx = torch.cat([r[torch.randperm(len(r), generator=generator)[:per_class]]
                     for r in (torch.nonzero(train_y == c).flatten() for c in range(10))])
    return linear_probe_accuracy(train_f[idx], train_y[idx], train_f[idx], train_y[idx])


def ignores_generator(train_f, train_y, test_f, test_y, per_class, generator):
    return my_few_label_probe(train_f, train_y, test_f, test_y, per_class, None)


def first_rows_per_class(train_f, train_y, test_f, test_y, per_class, generator):
    idx = torch.cat([torch.nonzero(train_y == c).flatten()[:per_class] for c in range(10)])
    return linear_probe_accuracy(train_f[idx], train_y[idx], test_f, test_y)


@pytest.mark.parametrize("wrong, fragment", [
    (first_rows, "first rows of the whole set"),
    (scored_on_training_rows, "scored on the labelled training rows"),
    (ignores_generator, "the generator is not used"),
    (first_rows_per_class, "first rows of each class"),
    (lambda *a: 100 * my_few_label_probe(*a), "percentage"),
    (lambda *a: "0.7", "not one accuracy"),
], ids=["first-rows", "train-scored", "no-generator", "no-shuffle", "percent", "string"])
def test_07_few_label_probe_rejects_typical_mistakes(wrong, fragment):
    assert_verdict(check_06_few_label_probe(wrong), "wrong", fragment)


def test_07_few_label_probe_accepts_the_reference():
    assert_verdict(check_06_few_label_probe(my_few_label_probe), "correct", "draw for draw")


def unnormalized(train_f, train_y, test_f, test_y, k=20, temperature=0.1):
    return _vote(test_f @ train_f.T, train_y, test_y, k, lambda s: (s / temperature).exp())


def _vote(scores, train_y, test_y, k, weight):
    s, idx = scores.topk(k, dim=1)
    votes = torch.zeros(len(test_y), 10).scatter_add_(1, train_y[idx], weight(s))
    return float((votes.argmax(1) == test_y).float().mean())


def majority(train_f, train_y, test_f, test_y, k=20, temperature=0.1):
    return _vote(F.normalize(test_f, dim=1) @ F.normalize(train_f, dim=1).T, train_y, test_y, k, torch.ones_like)


def euclidean(train_f, train_y, test_f, test_y, k=20, temperature=0.1):
    return _vote(-torch.cdist(test_f, train_f), train_y, test_y, k, torch.ones_like)


@pytest.mark.parametrize("wrong, fragment", [
    (majority, "plain majority vote"), (unnormalized, "not normalized"), (euclidean, "Euclidean"),
    (lambda *a: 100 * my_knn_accuracy(*a), "percentage"),
    (lambda tf, ty, qf, qy, k=20, t=0.1: my_knn_accuracy(tf, ty, qf, qy, 20, t), "at k = 1,"),
], ids=["majority", "unnormalized", "euclidean", "percent", "k-ignored"])
def test_07_knn_rejects_typical_mistakes(wrong, fragment):
    assert_verdict(check_06_knn_by_hand(wrong), "wrong", fragment)


def test_07_knn_accepts_the_reference():
    assert_verdict(check_06_knn_by_hand(my_knn_accuracy), "correct", "exp(s / τ)")


# --------------------------------------------------------------------------- 07
def test_08_paired_difference_accepts_the_reference():
    runs = exercise_07_runs()
    assert len(runs) == 12 and {r["batch_size"] for r in runs} == {64, 128, 256, 512}
    ref = paired_difference(*arms(runs))
    assert not ref.resolved and ref.lo < 0 < ref.hi and ref.mean > 0          # 3 wins of 3, yet not resolved
    answer = paired_answer(runs)
    assert answer[2] == pytest.approx((ref.lo, ref.hi)) and answer[3] is False
    assert_verdict(check_07_paired_difference(*answer), "correct", "3 of 3 seeds", "not resolved with 3 seeds")
    assert_verdict(check_07_paired_difference(*answer[:2], ref, False), "correct")           # paired_difference itself
    assert_verdict(check_07_paired_difference(*paired_answer(runs, crit=4.303)), "correct")  # t rounded as printed
    assert_verdict(check_07_paired_difference(torch.tensor(answer[0]), *answer[1:]), "correct")


def test_08_paired_difference_starting_point_is_not_attempted_part_by_part():
    assert_verdict(check_07_paired_difference(None, None, None, None), "not attempted",
                   "diffs, mean_diff, ci_95 and resolved")
    diffs, mean, ci, _ = paired_answer(exercise_07_runs())
    assert_verdict(check_07_paired_difference(diffs, None, None, None), "not attempted",
                   "mean_diff, ci_95 and resolved")
    assert_verdict(check_07_paired_difference(diffs, mean, ci, ...), "not attempted", "fill in resolved")


def unpaired_sd(diffs):   # ignores the pairing: the sd of a difference of two independent arms
    a, b = arms(exercise_07_runs())
    return math.hypot(statistics.stdev(a), statistics.stdev(b))


def band_rule(diffs):     # the old rule: mean ± (sd_128 + sd_512), as a half-width
    a, b = arms(exercise_07_runs())
    return sum(map(statistics.stdev, (a, b)))


@pytest.mark.parametrize("kwargs, fragments", [
    (dict(spread=unpaired_sd), ("two arms (unpaired)",)),
    (dict(spread=band_rule, crit=1, se=False), ("old band rule",)),
    (dict(crit=1.96), ("z = 1.96", "would look resolved")),
    (dict(spread=statistics.pstdev), ("population sd", "would look resolved")),
    (dict(se=False), ("sd instead of the standard error",)),
    (dict(crit=scipy_t.ppf(0.975, 3)), ("n = 3 degrees of freedom",)),
    (dict(crit=1.96, spread=statistics.pstdev), ("z = 1.96", "population sd")),
    (dict(sign=-1), ("wrong sign", "128 minus 512")),
], ids=["unpaired-sds", "band-rule", "z", "population-sd", "sd-not-se", "t-df-3", "z-and-population", "sign"])
def test_08_paired_difference_names_each_typical_bug(kwargs, fragments):
    assert_verdict(check_07_paired_difference(*paired_answer(exercise_07_runs(), **kwargs)), "wrong", *fragments)


def test_08_paired_difference_names_the_other_slips():
    runs = exercise_07_runs()
    diffs, mean, (lo, hi), resolved = paired_answer(runs)
    a, b = arms(runs)
    shifted = [x - y for x, y in zip(a, b[1:] + b[:1])]                        # 128 seed s against 512 seed s + 1
    assert_verdict(check_07_paired_difference(shifted, mean, (lo, hi), resolved), "wrong", "not paired by seed")
    assert_verdict(check_07_paired_difference([x - y for x in a for y in b], mean, (lo, hi), resolved), "wrong",
                   "all 9 pairs")
    assert_verdict(check_07_paired_difference(diffs, -mean, (lo, hi), resolved), "wrong", "wrong sign")
    assert_verdict(check_07_paired_difference(diffs, mean, (-hi, -lo), resolved), "wrong", "wrong sign")
    assert_verdict(check_07_paired_difference(diffs, mean, (hi, lo), resolved), "wrong", "low end second")
    assert_verdict(check_07_paired_difference(diffs, mean, (lo, hi), True), "wrong", "includes 0", "one time in eight")
    assert_verdict(check_07_paired_difference(diffs, mean, (lo, hi), "no"), "wrong", "True or False")
    assert_verdict(check_07_paired_difference(diffs[:2], mean, (lo, hi), resolved), "wrong", "3 differences")
    assert_verdict(check_07_paired_difference(diffs, mean, 0.013, resolved), "wrong", "pair (lo, hi)")


def test_08_hardest_share():
    assert_verdict(check_07_hardest_share(hardest_share), "correct", "1/14")
    assert_verdict(check_07_hardest_share(lambda s, t: torch.softmax(s / t, 0)[1:].max()), "wrong",
                   "positive is in the softmax")
    assert_verdict(check_07_hardest_share(lambda s, t: torch.softmax(s[1:] * t, 0).max()), "wrong", "multiplies")
    assert_verdict(check_07_hardest_share(lambda s, t: torch.softmax(s[1:] / t, 0).min()), "wrong", "EASIEST")
    assert_verdict(check_07_hardest_share(lambda s, t: s[1:].max()), "wrong", "similarity, not its share")
    assert_verdict(check_07_hardest_share(lambda s, t: torch.softmax(s[1:] / t, 0)), "wrong", "not one number")


def test_08_hardest_share_is_what_hard_negative_share_averages():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(4, 8, generator=g)
    z2 = z1 + 0.5 * torch.randn(4, 8, generator=g)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim, pos = z @ z.T, torch.tensor([4, 5, 6, 7, 0, 1, 2, 3])
    others = [(torch.arange(8) != i) & (torch.arange(8) != pos[i]) for i in range(8)]   # anchor i's negatives
    shares = [er.hardest_share_reference(torch.cat([sim[i, pos[i]].view(1), sim[i][others[i]]]), 0.2)
              for i in range(8)]
    assert math.isclose(hard_negative_share(z1, z2, 0.2, k=1), sum(shares) / 8, rel_tol=1e-4)


# --------------------------------------------------------------------------- the notebooks' hidden solutions
ANSWERS = {"fails": check_03_predicted_failures, "my_fixed_loss": check_03_fixed_loss,
           "my_few_label_probe": check_06_few_label_probe, "my_knn_accuracy": check_06_knn_by_hand,
           "hardest_share": check_07_hardest_share, "false_negative_share": check_07_false_negative_share,
           "mask_same_class": check_07_mask_same_class, "my_positive_rank": check_07_positive_rank,
           "my_map_agreement": er.check_06_map_agreement, "my_fine_tune_optimizer": er.check_06_param_groups}
PYTHON_SOLUTIONS = {"06_simclr_on_mnist.ipynb": 5, "07_temperature_batch_size_and_beyond.ipynb": 6}   # 06.4 answers in prose
SOLUTION = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)


@pytest.mark.parametrize("name", ["03_debugging_the_flawed_loss.ipynb", "06_simclr_on_mnist.ipynb",
                                  "07_temperature_batch_size_and_beyond.ipynb"])
def test_the_notebooks_hidden_solutions_are_correct(name):
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    found = [code for c in cells if c["cell_type"] == "markdown" for code in SOLUTION.findall("".join(c["source"]))]
    expected = PYTHON_SOLUTIONS.get(name, 2)
    assert len(found) == expected, f"{name}: expected {expected} exercises with a <details> solution, found {len(found)}"
    for code in found:
        namespace = {"torch": torch, "F": F, "exercise_07_runs": exercise_07_runs, "exercise_07_ranks": exercise_07_ranks,
                     "FINE_TUNE_DRAWS": er.FINE_TUNE_DRAWS, "ENCODER_LR_SCALE": er.ENCODER_LR_SCALE}
        exec(code, namespace)
        if "FINE_TUNE_DRAWS" in code:
            assert_verdict(er.check_06_paired_gain(namespace["mean_diff"], namespace["ci_95"]), "correct")
            continue
        if "chance_top5" in namespace:
            assert_verdict(check_07_topk(*(namespace[k] for k in ("top1", "top5", "chance_top1", "chance_top5"))), "correct")
            continue
        if "ci_95" in namespace:
            assert_verdict(check_07_paired_difference(*(namespace[k] for k in ("diffs", "mean_diff", "ci_95",
                                                                              "resolved"))), "correct")
            continue
        answered = [key for key in ANSWERS if key in namespace]
        assert len(answered) == 1, f"{name}: a solution should define one of {list(ANSWERS)}"
        assert_verdict(ANSWERS[answered[0]](namespace[answered[0]]), "correct")
