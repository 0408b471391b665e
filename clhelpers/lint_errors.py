"""When the loss under ``python -m clhelpers check`` raises: the exception, where in the user's code, what to try.

A loss that raises is a usage problem (exit 2), never a list of failed checks. ``explain_error`` turns an
exception into three lines (what, where, what to try); ``LossCallError`` is raised when no calling
convention works, and ``returned_logits_hint`` recognizes a loss that returned ``(logits, labels)``.
"""
from __future__ import annotations

import inspect
import os
import re
import traceback
from typing import Any, Callable

import torch

_SKIP = (os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__)))


def error_location(err: BaseException) -> str:
    """``file:line: code`` of the deepest frame outside torch and clhelpers (the user's line)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not f.filename.startswith(_SKIP)]
    if not frames:
        return "inside torch (no frame of the loss's own code)"
    f = frames[-1]
    return f"{f.filename}:{f.lineno}: {(f.line or '').strip()}"


def _batch_hint(err: BaseException, n: int) -> str | None:
    """A shape error that names a row count other than the batch's (n pairs, 2n rows, 16 dimensions)."""
    if not isinstance(err, (RuntimeError, IndexError, ValueError)):
        return None
    others = sorted(x for x in map(int, re.findall(r"\b\d+\b", str(err))) if x > 2 and x not in (n, 2 * n, 16))
    if not others:
        return None
    built = others[-1] // 2 if others[-1] % 2 == 0 else others[-1]
    return (f"the loss seems built for batch {built} (a shape of {others[-1]} where the check's batch has {n} pairs, "
            f"{2 * n} rows): pass --batch-size {built}, or build it for the check's batch with --init batch_size={n}")


def error_hint(err: BaseException, n: int, device: str = "cpu") -> str:
    """What to try for the exception ``err`` the loss raised on a batch of ``n`` pairs."""
    message = str(err)
    attr = re.search(r"object has no attribute '(\w+)'", message)
    if attr and "namespace" in message.lower():
        return (f"the method reads self.{attr.group(1)}: give it with --attr {attr.group(1)}=VALUE, or build the real "
                "object with --init")
    if "cuda" in message.lower() or "nvidia" in message.lower():
        return (f"the loss puts tensors on CUDA while the batch is on {device}: make it follow its inputs (z.device), "
                "or run the check on a GPU machine with --device cuda")
    if "process group" in message or "distributed" in message.lower():
        return ("the loss gathers across processes with torch.distributed and no process group exists here: build it "
                "for one process (e.g. --init world_size=1) or check the loss without the gather")
    hint = _batch_hint(err, n)
    if hint:
        return hint
    if isinstance(err, TypeError) and "argument" in message:
        return ("the loss takes other arguments than the batch: choose --convention (and --layout), build a class "
                "with --init, or give a method's self with --attr")
    return "fix the line above, or tell the check how to call the loss (--convention, --layout, --returns, --init)"


def explain_error(err: BaseException, n: int, device: str = "cpu", during: str | None = None) -> str:
    """Three lines: the exception (and the check it happened in), the user's line, and what to try."""
    what = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    context = f" during check {during}" if during else ""
    return f"the loss raised {what}{context}\n  at {error_location(err)}\n  Try: {error_hint(err, n, device)}."


def returned_logits_hint(out: Any) -> str | None:
    """A sentence when ``out`` looks like ``(logits, labels)``, else None."""
    if isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(o, torch.Tensor) for o in out):
        logits, labels = out
        return (f"returned a tuple (logits of shape {list(logits.shape)}, labels of shape {list(labels.shape)}), not a "
                "loss: pass --returns logits and the check applies cross-entropy itself")
    return None


def _signature_mismatch(err: BaseException) -> bool:
    return isinstance(err, TypeError) and bool(re.search(r"positional argument|keyword argument|takes \d+", str(err)))


def _short(value: BaseException | str) -> str:
    if isinstance(value, str):
        return value
    text = str(value).strip().splitlines()
    return f"{type(value).__name__}: {text[0][:120]}" if text else type(value).__name__


class LossCallError(Exception):
    """No calling convention returned a scalar: ``errors`` maps each convention to what it raised or returned."""

    def __init__(self, fn: Callable, errors: dict[str, BaseException | str], n: int) -> None:
        super().__init__("could not call the loss in any known convention")
        self.fn, self.errors, self.n = fn, errors, n

    def _primary(self) -> BaseException | str:
        """The most telling failure: a returned tuple, else the first error raised inside the loss's body (not a
        TypeError about its arguments, which only says that convention did not fit)."""
        for value in self.errors.values():
            if isinstance(value, str) and "--returns logits" in value:
                return value
        for value in self.errors.values():
            if isinstance(value, BaseException) and not _signature_mismatch(value):
                return value
        return next(iter(self.errors.values()))

    def explain(self, target: str, device: str = "cpu") -> str:
        """What each convention raised, then the most telling error with its line and what to try."""
        lines = [f"could not call {target} so that it returns a scalar loss; each convention tried:"]
        lines += [f"  {name}: {_short(v)}" for name, v in self.errors.items()]
        primary = self._primary()
        if isinstance(primary, str):
            lines.append(f"The loss {primary}.")
        else:
            lines.append(explain_error(primary, self.n, device))
        lines.append("Choose one with --convention (and --layout for stacked rows) to see only its error.")
        return "\n".join(lines)
