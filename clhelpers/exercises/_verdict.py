"""The shared parts of every exercise checker: the ``Verdict`` a checker returns and the private helpers that
read a reader's answer (unanswered? one number? did calling it raise?) and name a loss's likely bug.

Only the modules of ``clhelpers.exercises`` import the private names here.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..losses import nt_xent

STATUSES = ("not attempted", "correct", "wrong")
_HEADS = {"not attempted": "not attempted yet", "correct": "correct", "wrong": "wrong"}
_COLORS = {"not attempted": "gray", "correct": "green", "wrong": "crimson"}


@dataclass(frozen=True, repr=False)
class Verdict:
    """A checker's answer: the ``exercise`` title, ``status`` (one of ``STATUSES``), ``message``, ``hint``."""

    exercise: str
    status: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"[{self.exercise}] {_HEADS[self.status]}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        hint = f"<br><i>hint:</i> {html.escape(self.hint)}" if self.hint else ""
        return (f"<div><b>{html.escape(self.exercise)}</b> &middot; <b style='color:{_COLORS[self.status]}'>"
                f"{_HEADS[self.status]}</b>: {html.escape(self.message)}{hint}</div>")


def _not_attempted(exercise: str, what: str) -> Verdict:
    """The verdict of an untouched starting point: fill in ``what``."""
    return Verdict(exercise, "not attempted", f"fill in {what} in the cell above, run it, then run this cell again.")


def _wrong(exercise: str, message: str, hint: str) -> Verdict:
    """The verdict of a wrong answer: what is wrong (``message``) and what to try (``hint``)."""
    return Verdict(exercise, "wrong", message, hint)


def _unanswered(answer: Any) -> bool:
    """Whether ``answer`` is still a starting point, ``None`` or ``...``."""
    return answer is None or answer is Ellipsis


def _number(answer: Any) -> float | None:
    """``answer`` as a float if it is one real number (int, float, numpy or 1-element tensor), else None."""
    if isinstance(answer, (str, bytes, bool)) or (isinstance(answer, torch.Tensor) and answer.numel() != 1):
        return None
    try:
        return float(answer)
    except (TypeError, ValueError):
        return None


def _near(a: float, b: float, rel: float = 0.02) -> bool:
    """Whether ``a`` is finite and within ``rel`` (relative) of ``b``."""
    return math.isfinite(a) and abs(a - b) <= rel * abs(b)


def _raised(err: Exception) -> str:
    """``it raised <type>: <first line of the message>`` for a verdict's message."""
    return f"it raised {type(err).__name__}" + (f": {str(err).splitlines()[0][:120]}" if str(err) else "")


def _call_answer(fn: Callable, exercise: str, what: str, where: str, hint: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or the verdict: "not attempted" (fill in ``what``) or "wrong" (it raised, ``where``)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        return _not_attempted(exercise, what)
    except Exception as err:
        return _wrong(exercise, f"{where} {_raised(err)}.", hint)


def _scalar_answer(fn: Callable, exercise: str, what: str, where: str, hint: str, number_hint: str, *args: Any) -> float | Verdict:
    """``fn(*args)`` as one float, or the verdict: "not attempted" (fill in ``what``), "wrong" (it raised, ``where``,
    with ``hint``) or "wrong" (it returned something that is not one number, with ``number_hint``)."""
    out = _call_answer(fn, exercise, what, where, hint, *args)
    if isinstance(out, Verdict):
        return out
    value = _number(out)
    return _wrong(exercise, f"it returned {type(out).__name__}, not one number.", number_hint) if value is None else value


# --------------------------------------------------------------------------- a loss answer (notebooks 02 and 03)
def _batch(seed: int, n: int = 8, dim: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of ``n`` pairs ``(z1, z2)`` of width ``dim``, each z2 a noisy copy of its z1."""
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, dim, generator=g)
    return z1, z1 + 0.8 * torch.randn(n, dim, generator=g)


def _collapse_bug(fn: Callable, n: int = 8) -> tuple[str, str] | None:
    """(likely bug, fix) read off the loss of a fully collapsed batch, when its value is a telling one."""
    try:
        value = float(fn(torch.ones(n, 16), torch.ones(n, 16), 0.5))
    except Exception:
        return None
    known = ((math.inf, "the targets point at the masked diagonal (loss = inf)",
              "the target of row i is its OTHER view, i + N (mod 2N), not i"),
             (math.log(2 * n), "the anchor itself stays among the candidates (collapsed loss log(2N))",
              "mask the diagonal: logits.masked_fill(torch.eye(2N, dtype=bool), -inf)"),
             (2 * n * math.log(2 * n - 1), "the 2N anchor losses are summed, not averaged",
              "take the mean over the 2N rows (F.cross_entropy averages by default)"),
             (math.log(n), "each anchor only sees the N views of the other side (collapsed loss log(N))",
              "use the full 2N x 2N matrix of torch.cat([z1, z2]): 2N - 1 candidates per anchor"))
    return next(((bug, fix) for target, bug, fix in known if math.isclose(value, target, rel_tol=1e-3)), None)


def _mismatch(fn: Callable) -> tuple[str, str] | None:
    """(what differs, hint) when ``fn`` differs from ``nt_xent`` on three random batches, else None."""
    try:
        for seed, t in ((1, 0.1), (2, 0.5), (3, 1.0)):
            z1, z2 = _batch(seed)
            with torch.no_grad():
                got, expected, inverse = (float(f(z1, z2, tt)) for f, tt in ((fn, t), (nt_xent, t), (nt_xent, 1 / t)))
            if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
                differs = f"at t = {t} it gives {got:.4f} where nt_xent gives {expected:.4f}"
                if math.isclose(got, inverse, rel_tol=1e-4):
                    return f"{differs}: the temperature multiplies the similarities", "logits = cosines / temperature"
                return f"passes the checks, but {differs}", "follow the formula: normalize, z @ z.T / t, mask, i + N"
    except Exception as err:
        return f"on a random batch {_raised(err)}", "it must work for any N, D and temperature"
    return None
