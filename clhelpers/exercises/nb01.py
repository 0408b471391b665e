"""Notebook 01's exercises: 01.1 ``check_01_p_positive`` (the softmax probability of the positive) and 01.2
``check_01_temperature_for_half`` (the temperature at which the positive gets p = 1/2)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..similarity import softmax_with_temperature
from ._verdict import Verdict, _call_answer, _near, _not_attempted, _number, _unanswered, _wrong

EX_01_P, EX_01_TAU = "Exercise 01.1 · p(positive)", "Exercise 01.2 · the temperature for p = 1/2"
_ROW = (0.8, 0.6, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7)
#: (similarities, temperature) cases for p_positive: candidate 0 is the positive
P_POSITIVE_CASES = ((_ROW, 0.1), (_ROW, 1.0), ((0.2, 0.9, -0.3), 0.3), ((0.5, 0.4, 0.45, -0.2, 0.1), 0.05))
HALF_ROW = (0.8, 0.5, 0.5, 0.5)   # exercise 01.2: the positive at cosine 0.8, three negatives at 0.5
TAU_HALF = (HALF_ROW[0] - HALF_ROW[1]) / math.log(3)   # exp(0.3 / t) = 3


def _p_positive_bug(s: torch.Tensor, t: float, got: float) -> tuple[str, str] | None:
    """(likely bug, hint) when ``got`` equals a typical wrong formula's value, else None."""
    e = torch.exp(s / t)
    candidates = ((torch.softmax(s * t, 0)[0], "the temperature multiplies the similarities instead of dividing them",
                   "logits are s / temperature: a small temperature makes them larger"),
                  (torch.softmax(s, 0)[0], "the temperature is ignored (the value does not change with it)",
                   "divide every similarity by the temperature before the softmax"),
                  (e[0] / e[1:].sum(), "the denominator leaves out the positive (it sums over the negatives only)",
                   "the softmax sums exp(s_j / t) over ALL candidates, the positive included"),
                  (torch.softmax(-s / t, 0)[0], "the sign is flipped: exp(-s / t) favours the least similar candidate",
                   "use exp(+s / t): the most similar candidate gets the largest probability"))
    for value, bug, hint in candidates:
        if math.isclose(got, float(value), rel_tol=1e-3, abs_tol=1e-6):
            return bug, hint
    return None


def check_01_p_positive(fn: Callable | None) -> Verdict:
    """Check ``fn(similarities, temperature) -> p``, the softmax probability of candidate 0 of a 1-D row of cosines."""
    if _unanswered(fn):
        return _not_attempted(EX_01_P, "the body of p_positive")
    hint = "p = exp(s[0] / t) / sum_j exp(s[j] / t); torch.softmax(s / t, dim=0)[0] does it in one line"
    for row, t in P_POSITIVE_CASES:
        s = torch.tensor(row, dtype=torch.float64)
        out = _call_answer(fn, EX_01_P, "the body of p_positive", f"for similarities {list(row)} at t = {t}", hint,
                           s.clone(), t)
        if isinstance(out, Verdict):
            return out
        if isinstance(out, torch.Tensor) and out.numel() == len(row):
            return _wrong(EX_01_P, f"it returned {len(row)} numbers, the whole softmax.",
                          "return only the positive's probability, the entry at index 0")
        got, expected = _number(out), float(softmax_with_temperature(s, t)[0])
        if got is None:
            return _wrong(EX_01_P, f"it returned {type(out).__name__}, not one number.", hint)
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            what = f"for similarities {list(row)} at t = {t} it gives {got:.4g}, expected {expected:.4g}"
            bug = _p_positive_bug(s, t, got)
            return _wrong(EX_01_P, f"{what}: {bug[0]}.", bug[1]) if bug else _wrong(EX_01_P, f"{what}.", hint)
    return Verdict(EX_01_P, "correct", f"matches the softmax on {len(P_POSITIVE_CASES)} rows, temperatures from "
                   "0.05 to 1, also when the positive is not the most similar candidate.")


def check_01_temperature_for_half(tau: Any) -> Verdict:
    """Check ``tau``: the temperature at which the positive of ``HALF_ROW`` gets probability 1/2 (+- 0.005)."""
    if _unanswered(tau):
        return _not_attempted(EX_01_TAU, "tau_half")
    hint = ("p+ = 1 / (1 + 3 exp((0.5 - 0.8) / t)); set it to 1/2 and solve for t "
            "(or bisect with your p_positive: p+ falls as t grows)")
    t = _number(tau)
    if t is None:
        return _wrong(EX_01_TAU, f"tau_half should be one number, got {type(tau).__name__}.", hint)
    if not (t > 0 and math.isfinite(t)):
        return _wrong(EX_01_TAU, f"a temperature is a positive number, got {t}.", hint)
    p = float(softmax_with_temperature(torch.tensor(HALF_ROW, dtype=torch.float64), t)[0])
    if abs(p - 0.5) <= 0.005:
        return Verdict(EX_01_TAU, "correct", f"at t = {t:.4g} the positive gets p = {p:.3f}. Exactly: the positive's "
                       "weight exp(0.8 / t) must equal the three negatives' 3 exp(0.5 / t), so t = 0.3 / ln 3 = 0.273.")
    known = ((0.3 / math.log(2), "you solved for ONE negative (ln 2); there are three of them"),
             (0.3 / math.log(4), "ln 4 counts all four candidates; at p = 1/2 the positive's weight equals the "
              "negatives' summed weight, a ratio of 3"),
             (math.log(3) / 0.3, "the fraction is upside down: t = 0.3 / ln 3, not ln 3 / 0.3"))
    for value, why in known:
        if _near(t, value):
            return _wrong(EX_01_TAU, f"at t = {t:.4g} the positive gets p = {p:.3f}: {why}.", hint)
    direction = ("too large: the softmax is too flat; a smaller t sharpens it towards the positive" if p < 0.5
                 else "too small: the softmax is too sharp; a larger t flattens it")
    return _wrong(EX_01_TAU, f"at t = {t:.4g} the positive gets p = {p:.3f}, not 0.5: t is {direction}.", hint)
