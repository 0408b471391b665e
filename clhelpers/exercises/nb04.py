"""Notebook 04's exercises: 04.1 ``check_04_garbled_collapse`` (the value the garbled formula of section 5 gives a
collapsed batch, and what it reveals) and 04.2 ``check_04_logit_scale`` (the one line that makes a learnable
temperature safe: a log-parameterized scale, clamped, as CLIP does it)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ._verdict import Verdict, _call_answer, _near, _not_attempted, _number, _unanswered, _wrong

EX_04_GARBLED, EX_04_SCALE = "Exercise 04.1 · the garbled formula's collapse value", "Exercise 04.2 · a safe logit scale"
GARBLED_N = 16
MAX_LOGIT_SCALE = 100.0


def check_04_garbled_collapse(value: Any) -> Verdict:
    """Check ``value``: the loss ``flawed.nt_xent_garbled_formula`` gives a fully collapsed batch of ``GARBLED_N``
    = 16 pairs, log(2N) = log(32) at any temperature (the anchor stays among its own candidates)."""
    if _unanswered(value):
        return _not_attempted(EX_04_GARBLED, "garbled_collapse_16")
    n, hint = GARBLED_N, ("collapsed: every logit of a row is the same; count how many candidates the garbled sum runs "
                          "over (k = 1 .. 2N, nothing excluded)")
    x = _number(value)
    if x is None:
        return _wrong(EX_04_GARBLED, f"garbled_collapse_16 should be one number, got {type(value).__name__}.", hint)
    if abs(x - math.log(2 * n)) <= 1e-3:
        return Verdict(EX_04_GARBLED, "correct", f"log(2N) = log(32) = {math.log(32):.3f}, not NT-Xent's log(31) = "
                       f"{math.log(31):.3f}: one candidate too many, the anchor itself. A collapsed batch gives every "
                       "candidate the same logit, so the temperature (multiplying or dividing) cannot change it.")
    known = ((math.log(2 * n - 1), "that is NT-Xent's value, log(2N - 1); the garbled sum has no 1[k != i], so the "
                                   "anchor's own similarity stays in the denominator"),
             (math.log(2 * n - 2), "log(2N - 2) counts the negatives only; the positive and the anchor itself are "
                                   "candidates too"),
             (math.log(n), "log(N) counts the views of one side only"),
             (2 * n, "that is the number of candidates; the loss is the log of it"),
             (math.log(2 * n) * 0.5, "the temperature does not enter: every logit of a collapsed row is equal"),
             (math.log(2 * n) * 2, "the temperature does not enter: every logit of a collapsed row is equal"))
    why = next((": " + why for target, why in known if _near(x, target, rel=1e-3)), "")
    return _wrong(EX_04_GARBLED, f"{x:.4g} is not the garbled formula's collapse value for N = {n}{why}.", hint)


def _scale_of(fn: Callable, w: float) -> torch.Tensor | Verdict:
    """``fn(tensor(w, requires_grad=True))`` as a tensor, or the verdict that says why it is not one."""
    hint = "return torch.exp(w).clamp(max=100): w is the learnable parameter, the scale is exp(w)"
    param = torch.tensor(float(w), requires_grad=True)
    out = _call_answer(fn, EX_04_SCALE, "the body of logit_scale", f"for w = {w}", hint, param)
    if isinstance(out, Verdict):
        return out
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        return _wrong(EX_04_SCALE, f"for w = {w} it returned {got}, not a one-number tensor.", hint)
    return out


def check_04_logit_scale(fn: Callable | None) -> Verdict:
    """Check ``fn(w)``: the logit scale ``exp(w)`` clamped at ``MAX_LOGIT_SCALE`` = 100, a tensor through which the
    gradient reaches ``w`` (1/scale is the temperature). Tries w from -10 (tiny but positive) to 10 (clamped)."""
    if _unanswered(fn):
        return _not_attempted(EX_04_SCALE, "the body of logit_scale")
    if not callable(fn):
        return _wrong(EX_04_SCALE, f"logit_scale should be a function, got {type(fn).__name__}.",
                      "define it with def logit_scale(w): ...")
    for w in (-10.0, -1.0, 0.0, math.log(1 / 0.07), 2.0, 5.0, 10.0):
        out = _scale_of(fn, w)
        if isinstance(out, Verdict):
            return out
        got, want = float(out.detach()), min(math.exp(w), MAX_LOGIT_SCALE)
        if not math.isclose(got, want, rel_tol=1e-4):
            return _wrong(EX_04_SCALE, f"for w = {w:g} it gives {got:.4g}, expected {want:.4g}. " + _why_scale(w, got),
                          "scale = exp(w), then clamp the SCALE (not w) from above at 100")
        if not out.requires_grad:
            return _wrong(EX_04_SCALE, f"for w = {w:g} the result does not depend on w through autograd (detached, "
                          "or rebuilt from a Python number), so the temperature would never be learned.",
                          "stay in torch: torch.exp(w).clamp(max=100), no float(), .item() or torch.tensor(...)")
    return Verdict(EX_04_SCALE, "correct", "exp(w) is positive for every w, so no gradient step can turn the "
                   "temperature negative (the sign flip of section 1); the clamp stops the scale at 100, i.e. "
                   "τ >= 0.01; and the gradient reaches w.")


def _why_scale(w: float, got: float) -> str:
    """The likely mistake behind a wrong scale ``got`` for parameter ``w``."""
    if math.isclose(got, w, rel_tol=1e-4, abs_tol=1e-6):
        return "It returns w itself: a raw scale can step through 0 and flip the sign of every logit."
    if w > math.log(MAX_LOGIT_SCALE) and math.isclose(got, math.exp(w), rel_tol=1e-4):
        return "No clamp: the scale runs off (exp(10) = 22,026 would mean τ = 0.00005)."
    if got <= 0:
        return "A scale must stay positive; exp(w) always is."
    if math.isclose(got, 1 / math.exp(w), rel_tol=1e-4):
        return "That is exp(-w), the temperature; the logit scale is its inverse, exp(w)."
    return ""
