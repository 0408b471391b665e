"""Lint anyone's contrastive loss: ``python -m clhelpers check path/to/file.py:my_loss [flags]``.

Loads the loss as it was written (``clhelpers.loss_targets``: a function, an instance, a class built with
``--init``, a ``Class.method``), adapts its calling convention to the check suite and runs every check of
``clhelpers.checks`` (``ALL_CHECKS``) on it, then names the bug each failure's numbers fit
(``clhelpers.diagnoses``). Conventions (``CONVENTIONS``; the rows laid out as ``--layout`` says):

* ``pair-t``: ``f(z1, z2, temperature)`` (this series' convention; a ``temperature=`` keyword is set through
  ``losses.with_temperature``)
* ``pair-scale``: ``f(z1, z2, logit_scale)`` with ``logit_scale = 1 / temperature`` (CLIP)
* ``pair``: ``f(z1, z2)`` (temperature fixed inside, or rebuilt from ``--init``/``--attr``)
* ``stacked-t`` / ``stacked``: ``f(features[, temperature])`` with the 2N views stacked
* ``labels``: ``f(embeddings, labels)`` as in pytorch-metric-learning and SupCon: the two views of sample i
  share the label i
* ``pair-labels``: ``f(z1, z2, labels)`` with ``labels[i] = i`` (this series' ``supcon``, ``SupConLoss``)

Layouts of stacked features: ``halves`` (sample i at rows i and i + N), ``interleaved`` (rows 2i and 2i + 1),
``views`` (SupCon's ``[batch, n_views, dim]``). ``--convention auto`` tries the conventions in that order
(halves, then views) on a batch of the loss's size and takes the first that returns a scalar.

Exit status: 0 when every check passes, 1 when one fails, 2 when the loss cannot be loaded or called, or
raises during a check (the exception, its file and line, and what to try).
"""
from __future__ import annotations

import argparse
import functools
import inspect
import sys
import warnings
from typing import Callable

import torch
import torch.nn.functional as F

from .checks import ALL_CHECKS, FAMILIES, LossRaisedError, check_contrastive_loss
from .diagnoses import DIAGNOSES, diagnose
from .lint_errors import LossCallError, explain_error, returned_logits_hint
from .loss_targets import LoadedLoss, load_target, parse_assignments
from .losses import takes_temperature, with_temperature

__all__ = ["CONVENTIONS", "DIAGNOSES", "LAYOUTS", "adapt", "detect_convention", "load_function", "add_arguments", "run"]

LAYOUTS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "halves": lambda z1, z2: torch.cat([z1, z2]),
    "interleaved": lambda z1, z2: torch.stack([z1, z2], dim=1).reshape(2 * len(z1), -1),
    "views": lambda z1, z2: torch.stack([z1, z2], dim=1),
}
LABELS: dict[str, Callable[[int, torch.device], torch.Tensor]] = {
    "halves": lambda n, device: torch.arange(n, device=device).repeat(2),
    "interleaved": lambda n, device: torch.arange(n, device=device).repeat_interleave(2),
    "views": lambda n, device: torch.arange(n, device=device),
}


def _with_t(f: Callable, t: float, *data: torch.Tensor) -> torch.Tensor:
    """``f(*data)`` at temperature ``t``: as a ``temperature=`` keyword when ``f`` takes one, else positionally."""
    return with_temperature(f, t)(*data) if takes_temperature(f) else f(*data, t)


def adapt(convention: str, f: Callable, layout: str = "halves") -> Callable:
    """``f`` in ``convention`` as the check suite's ``loss(z1, z2, t)``, stacked rows laid out as ``layout``."""
    stack, labels = LAYOUTS[layout], LABELS[layout]
    return {
        "pair-t": lambda z1, z2, t: _with_t(f, t, z1, z2),
        "pair-scale": lambda z1, z2, t: f(z1, z2, torch.tensor(1.0 / t, device=z1.device)),
        "pair": lambda z1, z2, t: with_temperature(f, t)(z1, z2),
        "stacked-t": lambda z1, z2, t: _with_t(f, t, stack(z1, z2)),
        "stacked": lambda z1, z2, t: with_temperature(f, t)(stack(z1, z2)),
        "labels": lambda z1, z2, t: with_temperature(f, t)(stack(z1, z2), labels(len(z1), z1.device)),
        "pair-labels": lambda z1, z2, t: with_temperature(f, t)(z1, z2, torch.arange(len(z1), device=z1.device)),
    }[convention]


CONVENTIONS: dict[str, Callable[[Callable], Callable]] = {
    name: (lambda f, _name=name: adapt(_name, f))
    for name in ("pair-t", "pair-scale", "pair", "stacked-t", "stacked", "labels", "pair-labels")
}


def _fixed_temperature(convention: str, fn: Callable) -> bool:
    """Whether the temperature cannot reach the loss: a convention without one, and no ``temperature=`` keyword."""
    return convention in ("pair", "stacked", "labels", "pair-labels") and not takes_temperature(fn)


def _third_is_scale(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn.forward if isinstance(fn, torch.nn.Module) else fn).parameters)
    except (TypeError, ValueError):
        return False
    return len(params) >= 3 and "scale" in params[2].lower()


def detect_convention(fn: Callable, n: int = 8, layout: str | None = None, device: str = "cpu") -> str | tuple[str, str]:
    """The first convention under which ``fn`` returns a 0-dim tensor on a random batch of ``n`` pairs.

    Returns the convention's name when ``layout`` is None and halves worked (``(name, layout)`` when only
    SupCon's views layout did, or when ``layout`` is given). ``LossCallError`` when none did: it carries the
    error each convention raised."""
    z1, z2 = torch.randn(2, n, 16, generator=torch.Generator().manual_seed(0)).to(device)
    names = [c for c in CONVENTIONS if c != "pair-scale"]
    if _third_is_scale(fn):  # f(z1, z2, logit_scale): try the scale first
        names.insert(0, "pair-scale")
    errors: dict[str, BaseException | str] = {}
    for lay in [layout] if layout else ["halves", "views"]:
        for name in names:
            try:
                with warnings.catch_warnings():  # a wrong guess may warn (x.T on 3-d features); only the result counts
                    warnings.simplefilter("ignore")
                    out = adapt(name, fn, lay)(z1, z2, 0.5)
            except Exception as err:
                errors.setdefault(name, err)
                continue
            if isinstance(out, torch.Tensor) and out.dim() == 0:
                return name if layout is None and lay == "halves" else (name, lay)
            errors.setdefault(name, returned_logits_hint(out) or f"returned {type(out).__name__}, not a scalar tensor")
    raise LossCallError(fn, errors, n)


def load_function(target: str) -> Callable:
    """``FILE.py:NAME`` or ``module.path:NAME`` -> the callable as ``load_target`` builds it without --init/--attr."""
    return load_target(target).fn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``python -m clhelpers check``."""
    parser.add_argument("target", help="FILE.py:NAME or module:NAME; NAME a function, instance, class or Class.method")
    parser.add_argument("--convention", default="auto", choices=["auto", *CONVENTIONS], help="how to call the loss")
    parser.add_argument("--layout", choices=list(LAYOUTS), help="how stacked views are laid out (default: halves, "
                        "then views tried): halves i, i+N; interleaved 2i, 2i+1; views [batch, n_views, dim] (SupCon)")
    parser.add_argument("--init", nargs="+", metavar="KEY=VALUE", help="constructor arguments for a class (literals)")
    parser.add_argument("--attr", nargs="+", metavar="KEY=VALUE", help="attributes of self for Class.method "
                        "(dotted keys nest: args.temperature=0.5)")
    parser.add_argument("--batch-size", type=int, help="the fixed batch size (pairs) the loss is built for; "
                        "default: the constructor's batch_size if any, else 8 (and 256 for float64_reference)")
    parser.add_argument("--temperature", type=float, help="the temperature to check at (default: the loss's own, else 0.5)")
    parser.add_argument("--device", default="cpu", help="device of the test batches, e.g. cpu or cuda")
    parser.add_argument("--returns", choices=["loss", "logits"], default="loss",
                        help="logits: the loss returns (logits, labels) and the check applies cross-entropy")
    parser.add_argument("--family", choices=list(FAMILIES), default="nt-xent",
                        help="sets the expected collapse value (log(2N-1), or log(N) for clip/infonce) and symmetry")
    parser.add_argument("--normalized-inputs", action="store_true",
                        help="the model normalizes before the loss: scale invariance is not required")
    parser.add_argument("--checks", nargs="+", choices=list(ALL_CHECKS), metavar="CHECK",
                        help=f"run only these checks (default: all): {', '.join(ALL_CHECKS)}")


def _cross_entropy_of(f: Callable) -> Callable:
    @functools.wraps(f)  # keeps f's signature: whether it takes temperature= is still read from it
    def loss(*args, **kwargs) -> torch.Tensor:
        out = f(*args, **kwargs)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"--returns logits: expected (logits, labels), got {type(out).__name__}")
        return F.cross_entropy(out[0], out[1])
    return loss


def _on(device: str, f: Callable) -> Callable:
    return f.to(device) if isinstance(f, torch.nn.Module) else f


def _temperature_aware(loaded: LoadedLoss, returns: str, device: str = "cpu") -> Callable:
    """The callable the conventions get: rebuilt per temperature (a ``temperature=`` keyword) when possible."""
    def wrap(f: Callable) -> Callable:
        return _cross_entropy_of(_on(device, f)) if returns == "logits" else _on(device, f)

    if loaded.at_temperature is None:
        return wrap(loaded.fn)
    built: dict[float, Callable] = {}

    def at(*data: torch.Tensor, temperature: float = loaded.temperature or 0.5) -> torch.Tensor:
        if temperature not in built:
            built[temperature] = wrap(loaded.at_temperature(temperature))
        return built[temperature](*data)
    return at


def _batch(args: argparse.Namespace, loaded: LoadedLoss) -> tuple[int, bool, str]:
    """(pairs per batch, whether every check must use it, a sentence saying where it came from)."""
    if args.batch_size is not None:
        if args.batch_size < 2:
            raise ValueError(f"--batch-size {args.batch_size}: give the number of pairs, at least 2")
        if loaded.batch_size is not None and loaded.batch_size != args.batch_size:
            raise ValueError(f"--batch-size {args.batch_size} but the loss is built for batch {loaded.batch_size}: "
                             f"drop --batch-size, or build it with --init batch_size={args.batch_size}")
        return args.batch_size, True, f"batch: {args.batch_size} pairs for every check (--batch-size)"
    if loaded.batch_size is not None:
        return loaded.batch_size, True, (f"batch: {loaded.batch_size} pairs for every check (the loss is built for it: "
                                         "batch_size)")
    return 8, False, "batch: 8 pairs (256 for float64_reference); a loss built for a fixed batch needs --batch-size"


def _prepare(args: argparse.Namespace) -> tuple[Callable, str, bool, int, bool, list[str], float]:
    """Load, detect and describe; ``ValueError`` for a usage error, ``LossCallError`` when no call works."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: this machine has no CUDA device; use --device cpu")
    loaded = load_target(args.target, parse_assignments(args.init, "--init"), parse_assignments(args.attr, "--attr"))
    n, fixed, batch_line = _batch(args, loaded)
    fn = _temperature_aware(loaded, args.returns, args.device)
    if args.convention == "auto":
        found = detect_convention(fn, n, args.layout, args.device)
        convention, layout = found if isinstance(found, tuple) else (found, "halves")
    else:
        convention, layout = args.convention, args.layout or "halves"
    t = args.temperature or loaded.temperature or 0.5
    settable = not _fixed_temperature(convention, fn)
    lines = [*loaded.messages, f"loss: {loaded.description}; convention {convention}, layout {layout}", batch_line,
             f"temperature: {t:g}" + ("" if settable else " (fixed inside the loss: temperature checks left out)")]
    return adapt(convention, fn, layout), convention, settable, n, fixed, lines, t


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print the report and a diagnosis per failed check; 0 if every check passes, 1 if one fails, 2 if it cannot run."""
    try:
        loss, convention, settable, n, fixed, lines, t = _prepare(args)
    except ValueError as err:
        parser.error(str(err))
    except LossCallError as err:
        print(f"{parser.prog}: error: {err.explain(args.target, args.device)}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    try:
        report = check_contrastive_loss(loss, n=n, temperature=t, checks=args.checks or list(ALL_CHECKS),
                                        name=f"{args.target} ({convention})", family=args.family,
                                        normalized_inputs=args.normalized_inputs,
                                        temperature_settable=settable, fixed_batch=fixed,
                                        device=args.device, raise_errors=True)
    except LossRaisedError as err:
        print(f"{parser.prog}: error: {explain_error(err.error, n, args.device, err.check)}", file=sys.stderr)
        return 2
    print(report)
    for d in diagnose(report):
        print(f"\n{d}")
    if convention == "labels" and not report.passed and _zero_on_random_batch(loss, n, args.device):
        print("\nThe loss is exactly 0 on a random batch: it found no positive pairs. The check gives both views of "
              "image i the label i; if it was called that way, the loss ignores or replaces the labels. In your "
              "training code, give the two views of an image the same label.")
    return 0 if report.passed else 1


def _zero_on_random_batch(loss: Callable, n: int, device: str) -> bool:
    z1, z2 = torch.randn(2, n, 16, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.no_grad():
        return float(loss(z1, z2, 0.5)) == 0.0
