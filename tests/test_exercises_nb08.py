"""The checkers of notebook 08: the starting point is "not attempted", the reference solution is "correct", and
typical wrong answers are "wrong" with a message that says what is wrong. The notebook's hidden solutions pass too."""
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clhelpers.exercises import (check_08_embedding_std, check_08_momentum_update, exercise_08_batches,
                                 exercise_08_networks)
from clhelpers.methods import momentum_update
from clhelpers.metrics import embedding_std
from test_exercises import assert_verdict, unfinished

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08_avoiding_collapse.ipynb"


# --------------------------------------------------------------------------- 08.1 the momentum update
@torch.no_grad()
def swapped(target, online, momentum):
    for pt, po in zip(target.parameters(), online.parameters()):
        pt.mul_(1 - momentum).add_(po, alpha=momentum)
    for bt, bo in zip(target.buffers(), online.buffers()):
        bt.copy_(bo)


@torch.no_grad()
def rebinds(target, online, momentum):
    for pt, po in zip(target.parameters(), online.parameters()):
        pt = momentum * pt + (1 - momentum) * po  # noqa: F841 (the bug: a new tensor, the target never changes)


def without_no_grad(target, online, momentum):
    for pt, po in zip(target.parameters(), online.parameters()):
        pt.mul_(momentum).add_(po, alpha=1 - momentum)
    for bt, bo in zip(target.buffers(), online.buffers()):
        bt.copy_(bo)


@torch.no_grad()
def parameters_only(target, online, momentum):
    for pt, po in zip(target.parameters(), online.parameters()):
        pt.mul_(momentum).add_(po, alpha=1 - momentum)


@torch.no_grad()
def writes_online(target, online, momentum):
    for pt, po in zip(target.parameters(), online.parameters()):
        po.mul_(momentum).add_(pt, alpha=1 - momentum)


@torch.no_grad()
def copies(target, online, momentum):
    target.load_state_dict(online.state_dict())


def test_momentum_update_starting_points_are_not_attempted():
    for start in (None, ..., unfinished):
        assert_verdict(check_08_momentum_update(start), "not attempted")


def test_momentum_update_reference_is_correct_and_the_networks_differ():
    target, online = exercise_08_networks()
    assert not all(torch.equal(a, b) for a, b in zip(target.state_dict().values(), online.state_dict().values()))
    assert not any(p.requires_grad for p in target.parameters())
    assert_verdict(check_08_momentum_update(momentum_update), "correct", "10 %")


@pytest.mark.parametrize("wrong, fragment", [
    (swapped, "swapped"), (rebinds, "did not change"), (without_no_grad, "autograd recorded"),
    (parameters_only, "running statistics"), (writes_online, "online network changed"), (copies, "momentum 0"),
    (lambda t, o, m: 1 / 0, "raised ZeroDivisionError"),
])
def test_momentum_update_wrong_answers_name_the_bug(wrong, fragment):
    assert_verdict(check_08_momentum_update(wrong), "wrong", fragment)


# --------------------------------------------------------------------------- 08.2 the collapse diagnostic
def my_embedding_std(z):
    return (z / z.norm(dim=1, keepdim=True)).std(dim=0).mean()


def test_embedding_std_starting_points_are_not_attempted():
    for start in (None, ..., unfinished):
        assert_verdict(check_08_embedding_std(start), "not attempted")


def test_the_batches_show_what_the_diagnostic_sees_and_misses():
    batches = exercise_08_batches()
    ref = 64 ** -0.5
    readings = {k: embedding_std(z) for k, z in batches.items()}
    assert abs(readings["spread"] - ref) < 0.05 * ref
    assert readings["one point"] < 0.2 * ref and readings["offset"] < 0.4 * ref
    assert readings["two dimensions"] > 0.8 * ref, "dimensional collapse reads almost like a spread batch"
    singular = torch.linalg.svdvals(F.normalize(batches["two dimensions"], dim=1))
    assert (singular > 1e-3 * singular[0]).sum() == 2, "its singular values show the 2 dimensions"
    lengths = batches["spread"].norm(dim=1)
    assert lengths.max() / lengths.min() > 20, "rows of very different lengths: not normalizing shows"


def test_embedding_std_reference_and_both_std_conventions_are_correct():
    assert_verdict(check_08_embedding_std(my_embedding_std), "correct", "dimensional collapse")
    assert_verdict(check_08_embedding_std(embedding_std), "correct")
    biased = lambda z: F.normalize(z, dim=1).std(dim=0, correction=0).mean().item()  # noqa: E731
    assert_verdict(check_08_embedding_std(biased), "correct")


@pytest.mark.parametrize("wrong, fragment", [
    (lambda z: z.std(dim=0).mean(), "not L2-normalized"),
    (lambda z: F.normalize(z, dim=0).std(dim=0).mean(), "columns were normalized"),
    (lambda z: F.normalize(z, dim=1).std(dim=1).mean(), "along each row"),
    (lambda z: F.normalize(z, dim=1).var(dim=0).mean(), "variance"),
    (lambda z: F.normalize(z, dim=1).std(dim=0), "not one number"),
    (lambda z: F.normalize(z, dim=1).std(dim=0).max(), "embedding_std gives"),
    (lambda z: z.nonexistent(), "raised AttributeError"),
])
def test_embedding_std_wrong_answers_name_the_bug(wrong, fragment):
    assert_verdict(check_08_embedding_std(wrong), "wrong", fragment)


# --------------------------------------------------------------------------- the notebook's hidden solutions
def test_the_notebooks_hidden_solutions_are_correct():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    pattern = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)
    found = [code for c in cells if c["cell_type"] == "markdown" for code in pattern.findall("".join(c["source"]))]
    assert len(found) == 2, f"notebook 08: expected two exercises with a <details> solution, found {len(found)}"
    checkers = {"my_momentum_update": check_08_momentum_update, "my_embedding_std": check_08_embedding_std}
    for code in found:
        namespace = {"torch": torch, "F": F}
        exec(code, namespace)
        answered = [key for key in checkers if key in namespace]
        assert len(answered) == 1, f"a solution should define one of {list(checkers)}"
        assert_verdict(checkers[answered[0]](namespace[answered[0]]), "correct")
