"""Notebook 04's checkers: the starting point is "not attempted", typical mistakes are named, the reference passes."""
from __future__ import annotations

import math

import pytest
import torch

from clhelpers import flawed
from clhelpers.exercises import GARBLED_N, check_04_garbled_collapse, check_04_logit_scale


def assert_verdict(verdict, status, *fragments):
    assert verdict.status == status, str(verdict)
    for fragment in fragments:
        assert fragment in str(verdict), (fragment, str(verdict))


def test_garbled_collapse_value_is_what_the_flawed_loss_gives():
    collapsed = torch.ones(GARBLED_N, 8)
    for t in (0.1, 0.5, 2.0):   # the checker's answer is the loss's real value, at any temperature
        value = float(flawed.nt_xent_garbled_formula(collapsed, collapsed.clone(), t))
        assert_verdict(check_04_garbled_collapse(value), "correct", "log(32)")


@pytest.mark.parametrize("wrong, fragment", [(math.log(31), "NT-Xent's value"), (math.log(30), "negatives only"),
                                             (math.log(16), "one side only"), (32, "number of candidates"),
                                             (1.0, "not the garbled formula's collapse value"),
                                             ("log 32", "one number")])
def test_garbled_collapse_names_typical_mistakes(wrong, fragment):
    assert_verdict(check_04_garbled_collapse(wrong), "wrong", fragment)


def test_garbled_collapse_not_attempted():
    assert_verdict(check_04_garbled_collapse(None), "not attempted", "garbled_collapse_16")
    assert_verdict(check_04_garbled_collapse(...), "not attempted")


def unfinished(w):
    raise NotImplementedError


@pytest.mark.parametrize("wrong, fragment", [
    (lambda w: w, "returns w itself"),
    (lambda w: torch.exp(w), "No clamp"),
    (lambda w: torch.exp(w.clamp(max=100)), "No clamp"),
    (lambda w: torch.exp(-w).clamp(max=100), "exp(w)"),
    (lambda w: torch.tensor(math.exp(float(w))).clamp(max=100), "autograd"),
    (lambda w: torch.exp(w).clamp(min=0.5, max=100), "expected"),
    (lambda w: [1.0], "not a one-number tensor"),
    (lambda w: 1 / 0, "ZeroDivisionError"),
    (3, "should be a function"),
])
def test_logit_scale_names_typical_mistakes(wrong, fragment):
    assert_verdict(check_04_logit_scale(wrong), "wrong", fragment)


def test_logit_scale_reference_and_starting_point():
    assert_verdict(check_04_logit_scale(unfinished), "not attempted", "logit_scale")
    assert_verdict(check_04_logit_scale(lambda w: torch.exp(w).clamp(max=100)), "correct", "positive")
    assert_verdict(check_04_logit_scale(lambda w: w.exp().clamp(max=flawed.SigmoidLossLearnedScale.MAX_SCALE)), "correct")
