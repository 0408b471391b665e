"""Notebook 07's false-negative exercises (07.5, 07.6): the starting point is "not attempted", the reference
solution "correct", and typical mistakes "wrong" with a message that names them."""
import json
import re
from pathlib import Path

import pytest
import torch

from clhelpers.exercises import (FN_ROW, FN_SAME, check_07_false_negative_share, check_07_mask_same_class,
                                 false_negative_share_reference, mask_same_class_reference)
from clhelpers.losses import nt_xent, nt_xent_masked
from clhelpers.metrics import same_class_negative_share
from test_exercises import assert_verdict, unfinished

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_temperature_batch_size_and_beyond.ipynb"


def false_negative_share(similarities, same_class, temperature):
    return torch.softmax(similarities[1:] / temperature, dim=0)[same_class].sum()


def mask_same_class(logits, labels):
    n = len(labels)
    both = torch.cat([labels, labels])
    same = both[:, None] == both[None, :]
    same[torch.arange(2 * n), (torch.arange(2 * n) + n) % (2 * n)] = False
    return logits.masked_fill(same, float("-inf"))


@pytest.mark.parametrize("checker", [check_07_false_negative_share, check_07_mask_same_class])
@pytest.mark.parametrize("start", [None, ..., unfinished], ids=["None", "Ellipsis", "raise"])
def test_an_untouched_starting_point_is_not_attempted(checker, start):
    assert_verdict(checker(start), "not attempted")


def test_the_same_class_share_correct_and_typical_mistakes():
    assert_verdict(check_07_false_negative_share(false_negative_share), "correct", "even split 0.14")
    mistakes = {
        "the positive is in the softmax": lambda s, m, t: torch.softmax(s / t, 0)[1:][m].sum(),
        "the fraction of negatives": lambda s, m, t: m.double().mean(),
        "OTHER classes": lambda s, m, t: torch.softmax(s[1:] / t, 0)[~m].sum(),
        "multiplies": lambda s, m, t: torch.softmax(s[1:] * t, 0)[m].sum(),
        "ignored": lambda s, m, t: torch.softmax(s[1:], 0)[m].sum(),
        "not normalized": lambda s, m, t: torch.exp(s[1:] / t)[m].sum(),
        "not one number": lambda s, m, t: torch.softmax(s[1:] / t, 0)[m],
        "it raised": lambda s, m, t: torch.softmax(s / t, 0)[m].sum(),   # the mask is one shorter than s
    }
    for fragment, answer in mistakes.items():
        assert_verdict(check_07_false_negative_share(answer), "wrong", fragment)


def test_the_exercise_share_is_what_same_class_negative_share_averages():
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(6, 8, generator=g, dtype=torch.float64)
    z2 = z1 + 0.3 * torch.randn(6, 8, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1, 2, 0])
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    sim, both, shares = z @ z.T, torch.cat([labels, labels]), []
    for i in range(12):
        p = (i + 6) % 12
        negs = [k for k in range(12) if k not in (i, p)]
        row = torch.cat([sim[i, p].view(1), sim[i, negs]])
        shares.append(false_negative_share_reference(row, both[negs] == both[i], 0.2))
    assert same_class_negative_share(z1, z2, labels, 0.2)["share"] == pytest.approx(sum(shares) / 12, rel=1e-9)
    assert len(FN_ROW) == len(FN_SAME) + 1


def test_the_mask_correct_and_typical_mistakes():
    assert_verdict(check_07_mask_same_class(mask_same_class), "correct", "keeps 7 of its 11")

    def positive_too(logits, labels):
        both = torch.cat([labels, labels])
        return logits.masked_fill(both[:, None] == both[None, :], float("-inf"))

    def zero(logits, labels):
        return logits.masked_fill(torch.isneginf(mask_same_class(logits, labels)) & ~torch.isneginf(logits), 0.0)

    def inverted(logits, labels):
        both = torch.cat([labels, labels])
        return logits.masked_fill(both[:, None] != both[None, :], float("-inf"))

    def one_view_block(logits, labels):
        n = len(labels)
        out = mask_same_class(logits, labels)
        out[:n, n:], out[n:, :n] = logits[:n, n:], logits[n:, :n]
        return out

    def not_repeated(logits, labels):
        return logits.masked_fill(labels[:, None] == labels[None, :], float("-inf"))   # (N, N) vs (2N, 2N)

    mistakes = {"the positive": positive_too, "not -inf": zero, "inverted": inverted, "other view's block": one_view_block,
                "it raised": not_repeated, "shape": lambda logits, labels: logits[: len(labels)]}
    for fragment, answer in mistakes.items():
        assert_verdict(check_07_mask_same_class(answer), "wrong", fragment)


def test_the_masked_logits_give_nt_xent_masked():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 8, generator=g, dtype=torch.float64), torch.randn(6, 8, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / 0.5).masked_fill(torch.eye(12, dtype=torch.bool), float("-inf"))
    targets = (torch.arange(12) + 6) % 12
    masked = torch.nn.functional.cross_entropy(mask_same_class_reference(logits, labels), targets)
    assert torch.allclose(masked, nt_xent_masked(z1, z2, labels, 0.5))
    assert torch.allclose(torch.nn.functional.cross_entropy(logits, targets), nt_xent(z1, z2, 0.5))


SOLUTION = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)


def test_the_notebooks_hidden_solutions_for_these_exercises_are_correct():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = [code for c in cells if c["cell_type"] == "markdown" for code in SOLUTION.findall("".join(c["source"]))]
    checks = {"false_negative_share": check_07_false_negative_share, "mask_same_class": check_07_mask_same_class}
    seen = set()
    for code in found:
        if not any(f"def {name}(" in code for name in checks):
            continue   # another exercise's solution
        namespace = {"torch": torch}
        exec(code, namespace)
        for name in checks.keys() & namespace.keys():
            assert_verdict(checks[name](namespace[name]), "correct")
            seen.add(name)
    assert seen == set(checks)
