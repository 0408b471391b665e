"""The checkers of notebook 08: the starting point is "not attempted", the reference solution is "correct", and
typical wrong answers are "wrong" with a message that says what is wrong. The notebook's hidden solutions pass too."""
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clhelpers.exercises import (check_08_barlow_twins, check_08_embedding_std, check_08_momentum_update,
                                 check_08_vicreg_variance, exercise_08_batches, exercise_08_networks, exercise_08_pairs,
                                 exercise_08_spreads)
from clhelpers.losses import barlow_twins_loss, vicreg_terms
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


# --------------------------------------------------------------------------- 08.3 the Barlow Twins loss
def my_barlow_twins(z1, z2, lambda_offdiag):
    n = z1.shape[0]
    a, b = (z1 - z1.mean(0)) / z1.std(0), (z2 - z2.mean(0)) / z2.std(0)
    c = a.T @ b / n
    off = ~torch.eye(c.shape[0], dtype=torch.bool)
    return (1 - c.diagonal()).pow(2).sum() + lambda_offdiag * c[off].pow(2).sum()


def barlow_variant(standardize=True, rows=False, per_n=True, power=2, mean=False, lam_all=False):
    def fn(z1, z2, lam):
        if rows:
            a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        elif standardize:
            a, b = (z1 - z1.mean(0)) / z1.std(0, correction=0), (z2 - z2.mean(0)) / z2.std(0, correction=0)
        else:
            a, b = z1 - z1.mean(0), z2 - z2.mean(0)
        c = a.T @ b / (z1.shape[0] if per_n else 1)
        off = ~torch.eye(c.shape[0], dtype=torch.bool)
        diag, rest = (1 - c.diagonal()).pow(2), c[off].abs().pow(power)
        if mean:
            return diag.mean() + lam * rest.mean()
        return diag.sum() + lam * (c.pow(2).sum() if lam_all else rest.sum())
    return fn


def test_barlow_twins_starting_points_are_not_attempted():
    for start in (None, ..., unfinished):
        assert_verdict(check_08_barlow_twins(start), "not attempted")


def test_barlow_twins_pairs_need_standardizing_and_hold_redundancy():
    z1, z2 = exercise_08_pairs()[0]
    assert z1.std(0).max() / z1.std(0).min() > 2 and z1.mean(0).abs().max() > 1
    assert torch.corrcoef(z1.T)[0, 5] > 0.7


def test_barlow_twins_reference_and_both_std_conventions_are_correct():
    assert_verdict(check_08_barlow_twins(my_barlow_twins), "correct", "C_05")
    assert_verdict(check_08_barlow_twins(lambda a, b, lam: barlow_twins_loss(a, b, lambda_offdiag=lam)), "correct")
    assert_verdict(check_08_barlow_twins(barlow_variant()), "correct")


@pytest.mark.parametrize("wrong, fragment", [
    (barlow_variant(standardize=False), "covariance, not a correlation"),
    (barlow_variant(rows=True), "L2-normalized"),
    (barlow_variant(per_n=False), "N times too large"),
    (barlow_variant(power=1), "not squared"),
    (barlow_variant(mean=True), "means"),
    (barlow_variant(lam_all=True), "includes the diagonal"),
    (lambda a, b, lam: (a.T @ b).diagonal(), "not one number"),
    (lambda a, b, lam: a.nonexistent(), "raised AttributeError"),
    (lambda a, b, lam: torch.tensor(1.0), "barlow_twins_loss gives"),
])
def test_barlow_twins_wrong_answers_name_the_bug(wrong, fragment):
    assert_verdict(check_08_barlow_twins(wrong), "wrong", fragment)


# --------------------------------------------------------------------------- 08.4 VICReg's variance term
def my_vicreg_variance(z):
    std = torch.sqrt(z.var(dim=0) + 1e-4)
    return torch.relu(1 - std).mean()


def test_vicreg_variance_starting_points_are_not_attempted():
    for start in (None, ..., unfinished):
        assert_verdict(check_08_vicreg_variance(start), "not attempted")


def test_vicreg_variance_reference_matches_the_library_and_both_conventions_pass():
    z = exercise_08_spreads()[0]
    assert my_vicreg_variance(z).item() == pytest.approx(vicreg_terms(z, z)["variance"].item(), rel=1e-6)
    assert_verdict(check_08_vicreg_variance(my_vicreg_variance), "correct", "cost nothing")
    biased = lambda z: torch.relu(1 - torch.sqrt(z.var(0, correction=0) + 1e-4)).mean()  # noqa: E731
    assert_verdict(check_08_vicreg_variance(biased), "correct")


@pytest.mark.parametrize("wrong, fragment", [
    (lambda z: (1 - torch.sqrt(z.var(0) + 1e-4)).mean(), "max(0, .)"),
    (lambda z: torch.relu(1 - (z.var(0) + 1e-4)).mean(), "variance, not the standard deviation"),
    (lambda z: torch.relu(1 - torch.sqrt(z.var(1) + 1e-4)).mean(), "along each row"),
    (lambda z: torch.relu(1 - torch.sqrt(z.var(0) + 1e-4)).sum(), "summed"),
    (lambda z: torch.relu(1 - z.std(0)).mean(), "eps = 1e-4 is missing"),
    (lambda z: torch.relu(1 - z.std(0)), "not one number"),
    (lambda z: z.nonexistent(), "raised AttributeError"),
    (lambda z: torch.tensor(0.5), "the variance term is"),
])
def test_vicreg_variance_wrong_answers_name_the_bug(wrong, fragment):
    assert_verdict(check_08_vicreg_variance(wrong), "wrong", fragment)


# --------------------------------------------------------------------------- the notebook's hidden solutions
def test_the_notebooks_hidden_solutions_are_correct():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    pattern = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)
    found = [code for c in cells if c["cell_type"] == "markdown" for code in pattern.findall("".join(c["source"]))]
    assert len(found) == 4, f"notebook 08: expected four exercises with a <details> solution, found {len(found)}"
    checkers = {"my_momentum_update": check_08_momentum_update, "my_embedding_std": check_08_embedding_std,
                "my_barlow_twins": check_08_barlow_twins, "my_vicreg_variance": check_08_vicreg_variance}
    for code in found:
        namespace = {"torch": torch, "F": F}
        exec(code, namespace)
        answered = [key for key in checkers if key in namespace]
        assert len(answered) == 1, f"a solution should define one of {list(checkers)}"
        assert_verdict(checkers[answered[0]](namespace[answered[0]]), "correct")
