"""Notebook 07's exercises 3 and 4 (the positive's rank, top-k accuracy and chance): the starting point is "not
attempted", the reference is "correct", and the typical mistakes are "wrong" with a message that names them."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clhelpers.exercises import check_07_positive_rank, check_07_topk, exercise_07_rank_batch, exercise_07_ranks
from clhelpers.metrics import positive_rank
from test_exercises import assert_verdict, unfinished

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_temperature_batch_size_and_beyond.ipynb"


def ranks_with(z1, z2, normalize=True, compare=torch.ge, count_self=False, zero_based=False):
    """A rank answer with one switch per typical slip."""
    n = len(z1)
    z = torch.cat([z1, z2])
    z = F.normalize(z, dim=1) if normalize else z
    s = z @ z.T
    pos_idx = (torch.arange(2 * n) + n) % (2 * n)
    pos = s[torch.arange(2 * n), pos_idx][:, None]
    keep = ~torch.eye(2 * n, dtype=torch.bool)
    keep[torch.arange(2 * n), pos_idx] = False
    if count_self:
        keep |= torch.eye(2 * n, dtype=torch.bool)
    return (compare(s, pos) & keep).sum(dim=1) + (0 if zero_based else 1)


def my_positive_rank(z1, z2):   # the notebook's solution
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    s = z @ z.T
    pos = s[torch.arange(2 * n), (torch.arange(2 * n) + n) % (2 * n)]
    ahead = (s >= pos[:, None]).sum(dim=1)
    return ahead - 2 + 1


# --------------------------------------------------------------------------- 07.3
def test_rank_not_attempted():
    assert_verdict(check_07_positive_rank(None), "not attempted", "my_positive_rank")
    assert_verdict(check_07_positive_rank(unfinished), "not attempted")


@pytest.mark.parametrize("answer", [my_positive_rank, positive_rank, lambda a, b: ranks_with(a, b).tolist(),
                                    lambda a, b: ranks_with(a, b).numpy()])
def test_rank_correct(answer):
    assert_verdict(check_07_positive_rank(answer), "correct", "[1, 2, 5, 1, 1, 1, 7, 2]")


@pytest.mark.parametrize("answer, fragment", [
    (lambda a, b: ranks_with(a, b, count_self=True), "includes the anchor itself"),
    (lambda a, b: ranks_with(a, b, zero_based=True), "starts at 1"),
    (lambda a, b: ranks_with(a, b, normalize=False), "not cosines"),
    (lambda a, b: ranks_with(a, b, compare=torch.gt), "(>=, not >)"),
    (lambda a, b: ranks_with(a, b, compare=torch.le), "from the bottom"),
    (lambda a, b: ranks_with(a, b)[: len(a)], "only the N views of z1"),
    (lambda a, b: ranks_with(a, b)[:3], "2N = 8 views"),
    (lambda a, b: ranks_with(a, b).float() + 0.5, "whole numbers"),
    (lambda a, b: "1 2 5", "not a list or tensor"),
    (lambda a, b: ranks_with(a, b).flip(0), "expected [1, 2, 5, 1, 1, 1, 7, 2]"),
    (lambda a, b: a[99], "raised IndexError"),
])
def test_rank_wrong_answers_are_named(answer, fragment):
    assert_verdict(check_07_positive_rank(answer), "wrong", fragment)


def test_rank_batch_is_fixed_and_tie_free():
    z1, z2 = exercise_07_rank_batch()
    assert z1.shape == z2.shape == (4, 2) and torch.equal(exercise_07_rank_batch()[0], z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    gaps = (z @ z.T).sort(dim=1).values.diff(dim=1)
    assert gaps.min() > 0.02                                                  # no rank hinges on rounding
    assert ranks_with(z1, z2, normalize=False).tolist() != positive_rank(z1, z2).tolist()   # lengths matter


# --------------------------------------------------------------------------- 07.4
def reference_topk():
    r = exercise_07_ranks()
    return float((r <= 1).float().mean()), float((r <= 5).float().mean()), 1 / 511, 5 / 511


def test_topk_not_attempted():
    assert_verdict(check_07_topk(None, None, None, None), "not attempted", "top1, top5, chance_top1 and chance_top5")
    top1, top5, _, _ = reference_topk()
    assert_verdict(check_07_topk(top1, top5, None, ...), "not attempted", "chance_top1")


def test_topk_correct():
    assert_verdict(check_07_topk(*reference_topk()), "correct", "0.400", "0.701", "times chance")
    r = exercise_07_ranks()
    assert_verdict(check_07_topk((r <= 1).float().mean(), (r <= 5).float().mean(), torch.tensor(1 / 511), 5 / 511), "correct")


@pytest.mark.parametrize("change, fragment", [
    ({1: float((exercise_07_ranks() < 5).float().mean())}, "ranks < 5"),
    ({1: float((exercise_07_ranks() <= 5).sum())}, "number of views"),
    ({0: 2 * reference_topk()[0]}, "divided by N"),
    ({1: 100 * reference_topk()[1]}, "percentage"),
    ({1: float((exercise_07_ranks() == 5).float().mean())}, "exactly 5"),
    ({2: 1 / 256}, "k / N"),
    ({2: 1 / 512}, "anchor itself"),
    ({3: 5 / 510}, "leaves out the positive"),
    ({3: 1 / 511}, "top-1 level"),
    ({0: [0.4]}, "one number"),
    ({2: 0.5}, "expected 0.0019569"),
])
def test_topk_wrong_answers_are_named(change, fragment):
    answers = list(reference_topk())
    for i, value in change.items():
        answers[i] = value
    assert_verdict(check_07_topk(*answers), "wrong", fragment)


def test_exercise_ranks_are_fixed_and_valid():
    r = exercise_07_ranks()
    assert r.shape == (512,) and r.dtype == torch.int64 and torch.equal(r, exercise_07_ranks())
    assert r.min() == 1 and r.max() <= 511 and int((r <= 5).sum()) == 359


# --------------------------------------------------------------------------- the notebook
def test_notebook_starting_points_and_solutions_agree_with_the_checkers():
    """The stored starting points say "not attempted"; the solutions in the <details> blocks are correct."""
    nb = json.loads(NOTEBOOK.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    start_rank = next(c for c in code if "def my_positive_rank" in c)
    start_topk = next(c for c in code if "chance_top5 = None" in c)
    for start, check in ((start_rank, "check_07_positive_rank(my_positive_rank)"),
                         (start_topk, "check_07_topk(top1, top5, chance_top1, chance_top5)")):
        assert any(check in c for c in code), check
        scope = {"torch": torch, "F": F, "exercise_07_rank_batch": exercise_07_rank_batch,
                 "exercise_07_ranks": exercise_07_ranks}
        exec(start, scope)
        verdict = eval(check, {**scope, "check_07_positive_rank": check_07_positive_rank, "check_07_topk": check_07_topk})
        assert_verdict(verdict, "not attempted")
    solutions = [m for m in md if "<summary>Solution</summary>" in m and ("my_positive_rank" in m or "chance_top5" in m)]
    assert len(solutions) == 2
    for sol in solutions:
        body = sol.split("```python")[1].split("```")[0]
        scope = {"torch": torch, "F": F, "exercise_07_rank_batch": exercise_07_rank_batch,
                 "exercise_07_ranks": exercise_07_ranks}
        exec(body, scope)
        if "my_positive_rank" in scope:
            assert_verdict(check_07_positive_rank(scope["my_positive_rank"]), "correct")
        else:
            assert_verdict(check_07_topk(scope["top1"], scope["top5"], scope["chance_top1"], scope["chance_top5"]), "correct")
