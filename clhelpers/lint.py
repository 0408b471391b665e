"""Lint anyone's contrastive loss: ``python -m clhelpers check path/to/file.py:my_loss``.

Loads the named function from a Python file (or an importable module, ``package.module:function``),
adapts its calling convention to the check suite's ``loss(z1, z2, temperature)`` and runs
``clhelpers.checks.check_contrastive_loss`` on it. Conventions:

* ``pair-t``: ``f(z1, z2, temperature)`` (this series' convention)
* ``pair``: ``f(z1, z2)`` (temperature fixed inside; the temperature check is left out)
* ``stacked-t`` / ``stacked``: ``f(features[, temperature])`` with the 2N views stacked, the views of
  sample i at rows i and i + N
* ``labels``: ``f(embeddings, labels)`` as in pytorch-metric-learning: the 2N views stacked, and
  ``labels[i] == labels[i + N] == i`` says which rows are positives

``--convention auto`` (the default) tries them in that order on a small batch and takes the first
that returns a scalar. Exit status: 0 when every check passes, 1 when one fails, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Callable

import torch

from .checks import CHECKS, check_contrastive_loss

CONVENTIONS: dict[str, Callable[[Callable], Callable]] = {
    "pair-t": lambda f: (lambda z1, z2, t: f(z1, z2, t)),
    "pair": lambda f: (lambda z1, z2, t: f(z1, z2)),
    "stacked-t": lambda f: (lambda z1, z2, t: f(torch.cat([z1, z2]), t)),
    "stacked": lambda f: (lambda z1, z2, t: f(torch.cat([z1, z2]))),
    "labels": lambda f: (lambda z1, z2, t: f(torch.cat([z1, z2]), torch.arange(len(z1), device=z1.device).repeat(2))),
}

# check -> (the bug a failure usually means, the fix); printed under a failed report
DIAGNOSES: dict[str, tuple[str, str]] = {
    "finite": ("NaN or Inf in the loss or its gradient (an overflowing exp, a division by zero)",
               "compute with log-sum-exp (F.cross_entropy / torch.logsumexp) on normalized embeddings"),
    "collapse_value": ("the targets point at the masked diagonal (argmax over a two-hot label matrix), or the "
                       "anchor itself stays in the denominator", "mask the diagonal with -inf and use targets i <-> i + N"),
    "symmetric": ("only one view's anchors are used", "average the loss over all 2N anchors (both views)"),
    "pair_permutation_invariant": ("the loss depends on where pairs sit in the batch, not on which rows are pairs",
                                   "derive the positive of row i from the pairing (i + N), not from fixed positions"),
    "aligned_pairs_lower_loss": ("positives never enter the numerator: the loss cannot see which rows are pairs",
                                 "put exp(s(i, p(i)) / t) in the numerator, every other view in the denominator"),
    "scale_invariant": ("embeddings are not normalized", "L2-normalize the rows (F.normalize(z, dim=1)) before the dot products"),
    "uses_temperature": ("the temperature is ignored", "divide the cosine similarities by the temperature"),
    "finite_small_temperature": ("plain exp overflows at small temperatures", "use F.cross_entropy or logsumexp, never exp(s / t)"),
    "gradient_direction": ("a gradient step does not pull positives together: a sign flip (exp(-s)) or no positive term",
                           "minimize -log softmax of the positive's logit s / t (check the sign of the similarity)"),
}


def load_function(target: str) -> Callable:
    """``FILE.py:NAME`` or ``module.path:NAME`` -> the callable; ``ValueError`` saying what is wrong otherwise."""
    if ":" not in target:
        raise ValueError(f"{target!r}: name the function too, as FILE.py:FUNCTION (e.g. my_losses.py:nt_xent)")
    where, name = target.rsplit(":", 1)
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"no file {path}; give the path of the .py file that defines {name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            raise ValueError(f"importing {path} failed ({type(err).__name__}: {err}); fix the file so it imports") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ValueError(f"cannot import module {where!r} ({err}); give FILE.py:FUNCTION instead") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ValueError(f"{where} has no function {name!r}; callables there: {', '.join(found[:12]) or 'none'}")
    return fn


def detect_convention(fn: Callable) -> str:
    """The first convention under which ``fn`` returns a finite 0-dim tensor on a small random batch."""
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    for name, adapt in CONVENTIONS.items():
        try:
            out = adapt(fn)(z1, z2, 0.5)
        except Exception:
            continue
        if isinstance(out, torch.Tensor) and out.dim() == 0:
            return name
    params = ", ".join(inspect.signature(fn).parameters) if callable(fn) else "?"
    raise ValueError(f"could not call the loss ({params}) in any known convention {list(CONVENTIONS)} so that it returns "
                     "a scalar tensor; pass --convention, or wrap it as f(z1, z2, temperature)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``python -m clhelpers check``."""
    parser.add_argument("target", help="FILE.py:FUNCTION or module:function, e.g. my_losses.py:nt_xent")
    parser.add_argument("--convention", default="auto", choices=["auto", *CONVENTIONS], help="how to call the loss")
    parser.add_argument("--checks", nargs="+", choices=list(CHECKS), help="run only these checks")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print the report; 0 if every check passes, 1 if any fails."""
    try:
        fn = load_function(args.target)
        convention = detect_convention(fn) if args.convention == "auto" else args.convention
    except ValueError as err:
        parser.error(str(err))
    checks = args.checks or [c for c in CHECKS if not (c == "uses_temperature" and not convention.endswith("-t"))]
    report = check_contrastive_loss(CONVENTIONS[convention](fn), checks=checks, name=f"{args.target} ({convention})")
    print(report)
    for name in report.failed_checks:
        bug, fix = DIAGNOSES[name]
        print(f"\n{name} failed. Likely bug: {bug}.\n  Fix: {fix}.")
    if convention == "labels" and not report.passed and _zero_on_random_batch(CONVENTIONS[convention](fn)):
        print("\nThe loss is exactly 0 on a random batch: it found no positive pairs. The check gives both views of "
              "image i the label i (labels = arange(N).repeat(2)); if it was called that way, the loss ignores or "
              "replaces the labels. In your training code, give the two views of an image the same label.")
    return 0 if report.passed else 1


def _zero_on_random_batch(loss: Callable) -> bool:
    z1, z2 = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return float(loss(z1, z2, 0.5)) == 0.0
