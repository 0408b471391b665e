"""Sanity checks for contrastive losses: run them on any loss before training with it.

``check_contrastive_loss(loss_fn)`` feeds a loss small random batches and checks values and
invariants that every correct NT-Xent-style loss satisfies, returning a readable report::

    report = check_contrastive_loss(nt_xent)
    print(report)               # a text table, one row per check
    report.passed               # True when every check passed
    report.failed_checks        # names of the checks that failed

Conventions: row i of ``z1`` and row i of ``z2`` are a positive pair (two views of sample i) and the
loss returns a scalar tensor. The loss follows the project's one convention (data at call, options as
keywords or at construction): ``nt_xent`` (its ``temperature=`` keyword is set through
``losses.with_temperature``) or ``NTXentLoss(0.5)`` (temperature fixed: the temperature checks are
left out). A three-argument ``loss_fn(z1, z2, t)`` is called positionally, so wrappers work:
``lambda z1, z2, t: nt_xent_no_positives(torch.cat([z1, z2]), t)``.

The checks (``CHECKS`` maps name -> description; run by default) and what they assume:

=============================  ===============================================================
finite                         loss is a finite 0-dim tensor with finite gradients (any loss)
collapse_value                 all embeddings equal -> ``expected_collapse``, by default the
                               family's: ``log(2N - 1)`` for NT-Xent and SupCon (2N - 1
                               candidates), ``log(N)`` for CLIP and one-way InfoNCE
symmetric                      ``L(z1, z2) == L(z2, z1)`` (not required of one-way InfoNCE)
pair_permutation_invariant     shuffling the pairs (same permutation of z1 and z2) changes nothing
aligned_pairs_lower_loss       aligned positives give a lower loss than mismatched pairs
scale_invariant                ``L(c z1, c z2) == L(z1, z2)``: the loss normalizes its inputs
                               (waived with ``normalized_inputs=True``: the model normalizes)
uses_temperature               the value depends on the temperature (temperature-scaled losses)
finite_small_temperature       finite loss and gradients at temperature 0.01 (stable log-sum-exp)
gradient_direction             one gradient-descent step raises the mean positive cosine, by at
                               least ``MIN_RANDOM_GAIN`` (0.01) from random embeddings and at all
                               from nearly aligned ones (temperature 0.1)
=============================  ===============================================================

``EXTRA_CHECKS`` (run when named, and by ``python -m clhelpers check``; ``ALL_CHECKS`` is both):

=============================  ===============================================================
temperature_direction          a lower temperature sharpens: aligned pairs score lower at 0.1
                               than at 1.0 (catches a temperature that multiplies)
per_anchor_mean                one mismatched pair costs its anchors about 1/t each: the mean
                               of -log p per anchor, not -log of the mean (pooled) p
float64_reference              at batch >= 256 and t = 0.1, 0.05, 0.03 the float32 value agrees
                               with float64 (catches cancellation, e.g. e^(1/t) subtracted
                               from a row sum)
non_negative                   a cross-entropy is never below 0
=============================  ===============================================================

A check that does not apply (a fixed temperature, a batch too small for the reference) is left
out with a note in the report. For losses that are not pair losses over 2N views (triplet with
margins), choose the applicable checks with ``checks=[...]`` and set ``expected_collapse``.

``check_per_sample_augmentation(view_fn, image)`` checks the data side: a batch of copies of one
image must come out as different views (each image gets its own random transform).
"""
from __future__ import annotations

import html
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from .losses import nt_xent, takes_temperature, with_temperature
from .validate import check_temperature

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]

CHECKS: dict[str, str] = {
    "finite": "finite scalar loss and finite gradients on random unit embeddings",
    "collapse_value": "identical embeddings give the collapse value (log(2N-1) by default)",
    "symmetric": "swapping the two views, L(z1, z2) == L(z2, z1)",
    "pair_permutation_invariant": "the same permutation of z1 and z2 leaves the loss unchanged",
    "aligned_pairs_lower_loss": "aligned positive pairs score lower than mismatched pairs",
    "scale_invariant": "multiplying the embeddings by 0.1 or 10 leaves the loss unchanged",
    "uses_temperature": "the loss changes when the temperature changes (0.1 vs 1.0)",
    "finite_small_temperature": "finite loss and gradients at temperature 0.01",
    "gradient_direction": "a gradient-descent step raises the mean positive cosine",
}

EXTRA_CHECKS: dict[str, str] = {
    "temperature_direction": "a lower temperature sharpens: aligned pairs score lower at t=0.1 than at t=1.0",
    "per_anchor_mean": "one mismatched pair costs about 1/t per anchor: mean(-log p), not -log(mean p)",
    "float64_reference": "float32 agrees with float64 at batch >= 256 and t down to 0.03 (no cancellation)",
    "non_negative": "the loss is never below 0 (a cross-entropy)",
}

ALL_CHECKS: dict[str, str] = {**CHECKS, **EXTRA_CHECKS}

REFERENCE_BATCH = 256  # float64_reference runs at this batch size (or the loss's own, if larger)


def _one_way(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(z1), device=z1.device))


def _clip(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    return (_one_way(z1, z2, temperature) + _one_way(z2, z1, temperature)) / 2


@dataclass(frozen=True)
class Family:
    """What a loss family promises: its collapse value for N pairs, symmetry, and a reference formula."""

    collapse: Callable[[int], float]
    candidates: str
    symmetric: bool
    reference: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


FAMILIES: dict[str, Family] = {
    "nt-xent": Family(lambda n: math.log(2 * n - 1), "2N-1", True, lambda a, b, t: nt_xent(a, b, temperature=t)),
    "supcon": Family(lambda n: math.log(2 * n - 1), "2N-1", True, lambda a, b, t: nt_xent(a, b, temperature=t)),
    "clip": Family(lambda n: math.log(n), "N", True, _clip),
    "infonce": Family(lambda n: math.log(n), "N", False, _one_way),
}


class LossRaisedError(Exception):
    """The loss raised inside a check (``raise_errors=True``): ``check`` names it, ``error`` is the exception."""

    def __init__(self, check: str, error: BaseException) -> None:
        super().__init__(f"the loss raised {type(error).__name__} in check {check}: {error}")
        self.check, self.error = check, error


@dataclass
class CheckResult:
    """Outcome of one check: its ``name``, whether it ``passed``, a one-line ``detail`` and the numbers measured."""

    name: str
    passed: bool
    detail: str
    measured: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class LossCheckReport:
    """All check results for one loss. ``str(report)`` is a text table; notebooks render HTML.

    ``notes`` say which checks were left out and why (printed under the table when there are any)."""

    loss_name: str
    results: list[CheckResult]
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed_checks(self) -> list[str]:
        return [r.name for r in self.results if not r.passed]

    def __getitem__(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no check named {name!r}; ran {[r.name for r in self.results]}")

    def summary(self) -> str:
        """One line: the loss name, how many checks passed, and which failed."""
        ok = sum(r.passed for r in self.results)
        verdict = "PASSED" if self.passed else "FAILED: " + ", ".join(self.failed_checks)
        return f"{self.loss_name}: {ok}/{len(self.results)} checks passed -- {verdict}"

    def __str__(self) -> str:
        width = max(len(r.name) for r in self.results) if self.results else 4
        lines = [self.summary()]
        for r in self.results:
            lines.append(f"  {'ok  ' if r.passed else 'FAIL'}  {r.name:<{width}}  {r.detail}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='color:{'green' if r.passed else 'crimson'}'>{'ok' if r.passed else 'FAIL'}</td>"
            f"<td><code>{html.escape(r.name)}</code></td><td style='text-align:left'>{html.escape(r.detail)}</td></tr>"
            for r in self.results
        )
        notes = "".join(f"<p>note: {html.escape(n)}</p>" for n in self.notes)
        return (
            f"<p><b>{html.escape(self.summary())}</b></p>"
            f"<table><tr><th></th><th>check</th><th style='text-align:left'>detail</th></tr>{rows}</table>{notes}"
        )


def as_three_argument(loss_fn: Callable) -> tuple[LossFn, bool]:
    """``(f(z1, z2, t), whether t reaches the loss)`` for a loss in the project's convention or ``loss_fn(z1, z2, t)``.

    A loss taking a ``temperature`` keyword is called through ``losses.with_temperature``; one with three or more
    positional parameters gets ``t`` as the third; a two-argument loss (its temperature fixed at construction)
    is called as ``loss_fn(z1, z2)``."""
    if takes_temperature(loss_fn):
        return (lambda z1, z2, t: with_temperature(loss_fn, t)(z1, z2)), True
    try:
        params = list(inspect.signature(loss_fn.forward if isinstance(loss_fn, torch.nn.Module) else loss_fn).parameters.values())
    except (TypeError, ValueError):
        return loss_fn, True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return loss_fn, True
    return (lambda z1, z2, t: loss_fn(z1, z2)), False


# --------------------------------------------------------------------------- helpers
@dataclass
class _Setup:
    loss_fn: LossFn
    n: int
    dim: int
    temperature: float
    seed: int
    expected_collapse: float
    family: Family
    normalized_inputs: bool = False
    temperature_settable: bool = True
    fixed_batch: bool = False
    device: torch.device = torch.device("cpu")

    def unit(self, offset: int = 0, n: int | None = None) -> torch.Tensor:
        """Random unit rows (n, dim); ``offset`` picks an independent, reproducible draw."""
        g = torch.Generator().manual_seed(self.seed * 1000 + offset)
        return F.normalize(torch.randn(n or self.n, self.dim, generator=g), dim=1).to(self.device)

    def aligned(self, noise: float = 0.1, offset: int = 0, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch whose positives are close: z2 = normalize(z1 + noise * eps)."""
        z1 = self.unit(offset, n)
        g = torch.Generator().manual_seed(self.seed * 1000 + offset + 500)
        eps = torch.randn(z1.shape, generator=g).to(self.device)
        return z1, F.normalize(z1 + noise * eps, dim=1)

    def loss(self, z1: torch.Tensor, z2: torch.Tensor, temperature: float | None = None) -> float:
        t = self.temperature if temperature is None else temperature
        with torch.no_grad():
            return float(self.loss_fn(z1, z2, t))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _close(a: float, b: float, rtol: float = 1e-4, atol: float = 1e-4) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)


def _loss_and_grads(s: _Setup, z1: torch.Tensor, z2: torch.Tensor, t: float):
    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    out = s.loss_fn(a, b, t)
    if not isinstance(out, torch.Tensor) or out.dim() != 0:
        raise ValueError(f"loss_fn must return a 0-dim tensor, got {type(out).__name__} "
                         f"{tuple(out.shape) if isinstance(out, torch.Tensor) else ''}")
    out.backward()
    ga = a.grad if a.grad is not None else torch.zeros_like(a)
    gb = b.grad if b.grad is not None else torch.zeros_like(b)
    return float(out.detach()), ga, gb


# --------------------------------------------------------------------------- the checks
def _check_finite(s: _Setup) -> tuple[bool, str]:
    value, ga, gb = _loss_and_grads(s, s.unit(1), s.unit(2), s.temperature)
    grads_ok = bool(torch.isfinite(ga).all() and torch.isfinite(gb).all())
    return math.isfinite(value) and grads_ok, f"loss = {_fmt(value)}, gradients finite: {grads_ok}"


def _check_collapse(s: _Setup) -> tuple[bool, str, dict]:
    v = s.unit(3)[:1].expand(s.n, s.dim).clone()
    value = s.loss(v, v.clone())
    measured = {"value": value, "expected": s.expected_collapse, "n": s.n, "temperature": s.temperature}
    if s.temperature_settable and math.isfinite(value):
        measured["value_at_half_t"] = s.loss(v, v.clone(), s.temperature / 2)
    ok = _close(value, s.expected_collapse, rtol=1e-3, atol=1e-3)  # clhelpers.diagnoses reads exp(value) as candidates
    return ok, f"loss = {_fmt(value)}, expected {_fmt(s.expected_collapse)}", measured


def _check_symmetric(s: _Setup) -> tuple[bool, str, dict]:
    z1, z2 = s.unit(4), s.unit(5)
    a, b = s.loss(z1, z2), s.loss(z2, z1)
    return _close(a, b, rtol=1e-5, atol=1e-5), f"L(z1, z2) = {_fmt(a)}, L(z2, z1) = {_fmt(b)}", {"forward": a, "swapped": b}


def _check_permutation(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(6), s.unit(7)
    perm = torch.randperm(s.n, generator=torch.Generator().manual_seed(s.seed)).to(s.device)
    a, b = s.loss(z1, z2), s.loss(z1[perm], z2[perm])
    return _close(a, b, rtol=1e-5, atol=1e-5), f"original {_fmt(a)}, pairs shuffled {_fmt(b)}"


def _check_aligned_lower(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.aligned(noise=0.1, offset=8)
    mismatched = torch.roll(z2, shifts=1, dims=0)  # every z1[i] now meets a stranger
    a, b = s.loss(z1, z2), s.loss(z1, mismatched)
    ok = math.isfinite(a) and math.isfinite(b) and a < b - 1e-3 * (1 + abs(b))
    return ok, f"aligned {_fmt(a)} vs mismatched {_fmt(b)}"


def _check_scale(s: _Setup) -> tuple[bool, str, dict]:
    z1, z2 = s.unit(9), s.unit(10)
    base = s.loss(z1, z2)
    scaled = {c: s.loss(c * z1, c * z2) for c in (0.1, 10.0)}
    ok = all(_close(v, base, rtol=1e-4, atol=1e-5) for v in scaled.values())
    return ok, f"x1: {_fmt(base)}, x0.1: {_fmt(scaled[0.1])}, x10: {_fmt(scaled[10.0])}", {"x1": base, **scaled}


def _check_temperature_used(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(11), s.unit(12)
    a, b = s.loss(z1, z2, 0.1), s.loss(z1, z2, 1.0)
    ok = math.isfinite(a) and math.isfinite(b) and not _close(a, b, rtol=1e-4, atol=1e-6)
    return ok, f"t=0.1: {_fmt(a)}, t=1.0: {_fmt(b)}"


def _check_small_temperature(s: _Setup) -> tuple[bool, str, dict]:
    z1, z2 = s.aligned(noise=0.05, offset=13)
    value, ga, gb = _loss_and_grads(s, z1, z2, 0.01)
    grads_ok = bool(torch.isfinite(ga).all() and torch.isfinite(gb).all())
    ok = math.isfinite(value) and grads_ok
    measured = {} if ok else {"collapsed": _collapsed_value(s, 0.01)}  # an overflow shows there too, an underflow not
    return ok, f"t=0.01: loss = {_fmt(value)}, gradients finite: {grads_ok}", measured


def _collapsed_value(s: _Setup, t: float) -> float:
    v = s.unit(3)[:1].expand(s.n, s.dim).clone()
    try:
        return s.loss(v, v.clone(), t)
    except Exception:
        return math.nan


def _tangential(g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The part of ``g`` that turns the unit rows ``z`` (what a normalizing model passes on)."""
    return g - (g * z).sum(dim=1, keepdim=True) * z


def _positive_cos_after_step(s: _Setup, z1: torch.Tensor, z2: torch.Tensor, t: float, step: float = 0.02):
    """Mean positive cosine before and after one normalized gradient-descent step, and the radial share of the step."""
    _, ga, gb = _loss_and_grads(s, z1, z2, t)
    g, z = torch.cat([ga, gb]), torch.cat([z1, z2])
    radial = float(((g * z).sum(dim=1) ** 2).sum() / (g ** 2).sum().clamp_min(1e-30))
    if s.normalized_inputs:
        ga, gb = _tangential(ga, z1), _tangential(gb, z2)
    scale = torch.cat([ga, gb]).abs().max()
    before = float(F.cosine_similarity(z1, z2).mean())
    if not torch.isfinite(scale) or scale == 0:
        return before, float("nan"), radial
    after = float(F.cosine_similarity(z1 - step * ga / scale, z2 - step * gb / scale).mean())
    return before, after, radial


# From random embeddings, one step of a loss that really pulls positives together raises their mean
# cosine by about 0.04 (NT-Xent, pairwise, triplet: 0.042-0.056); a loss without positives drifts by
# less than 0.001. Requiring 0.01 tells the two apart with a wide gap on both sides.
MIN_RANDOM_GAIN = 0.01


def _check_gradient_direction(s: _Setup) -> tuple[bool, str, dict]:
    parts, ok, measured = [], True, {}
    for label, (z1, z2) in (("random", (s.unit(14), s.unit(15))), ("aligned", s.aligned(noise=0.3, offset=16))):
        before, after, radial = _positive_cos_after_step(s, z1, z2, 0.1)
        good = math.isfinite(after) and after - before > (MIN_RANDOM_GAIN if label == "random" else 0.0)
        ok &= good
        measured[label] = {"before": before, "after": after, "radial_share": radial}
        if not math.isfinite(after):
            moved = "no step: the gradient is zero or not finite"
        else:
            moved = f"{after:.3f}" + ("" if good else " (wrong way)")
        parts.append(f"{label}: cos+ {before:.3f} -> {moved}")
    return ok, "; ".join(parts), measured


def _check_temperature_direction(s: _Setup) -> tuple[bool, str, dict]:
    z1, z2 = s.aligned(noise=0.1, offset=17)
    sharp, flat = s.loss(z1, z2, 0.1), s.loss(z1, z2, 1.0)
    same = _close(sharp, flat, rtol=1e-4, atol=1e-6)  # the temperature is ignored: uses_temperature's finding
    ok = math.isfinite(sharp) and math.isfinite(flat) and (sharp < flat or same)
    way = " (no change: see uses_temperature)" if same else "" if ok else " (a lower t should give aligned pairs a lower loss)"
    return ok, f"aligned pairs: t=0.1: {_fmt(sharp)}, t=1.0: {_fmt(flat)}{way}", {"t=0.1": sharp, "t=1.0": flat}


def _one_bad_pair(s: _Setup) -> tuple[torch.Tensor, torch.Tensor]:
    """Every pair identical except pair 0, whose views point in opposite directions."""
    z1 = s.unit(18)
    z2 = z1.clone()
    z2[0] = -z1[0]
    return z1, z2


def _check_per_anchor_mean(s: _Setup) -> tuple[bool, str, dict]:
    t = 0.1 if s.temperature_settable else s.temperature
    z1, z2 = _one_bad_pair(s)
    bad = s.loss(z1, z2, t)
    v = s.unit(3)[:1].expand(s.n, s.dim).clone()
    collapse = s.loss(v, v.clone(), t)
    if not (math.isfinite(collapse) and collapse > 0):
        collapse = s.expected_collapse  # the loss's own collapse value is unusable: compare with the family's
    # per anchor: the mismatched pair's anchors cost about 1/t each over N pairs; pooled: about -log(1 - 1/N)
    per_anchor, pooled = 1 / (s.n * t), -math.log(1 - 1 / s.n)
    if math.isfinite(bad) and bad < 0:
        return True, f"not measured: the loss is negative ({_fmt(bad)}; see non_negative)", {}
    ratio = bad / collapse
    ok = math.isfinite(bad) and ratio >= 0.5 * per_anchor / s.expected_collapse
    measured = {"one_bad_pair": bad, "collapse": collapse, "ratio": ratio, "per_anchor": per_anchor,
                "pooled": pooled, "expected_collapse": s.expected_collapse, "temperature": t}
    scale = s.expected_collapse
    return ok, (f"one mismatched pair at t={t:g}: loss = {_fmt(bad)} = {ratio:.3g} x the collapse value; "
                f"per-anchor mean ~ {per_anchor / scale:.3g}, pooled ~ {pooled / scale:.3g}"), measured


def _relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12) if math.isfinite(a) and math.isfinite(b) else math.inf


def _float64_value(s: _Setup, z1: torch.Tensor, z2: torch.Tensor, t: float) -> float | None:
    """The loss on float64 inputs, or None when it does not compute in float64 (raises or casts down)."""
    try:
        with torch.no_grad():
            out = s.loss_fn(z1.double(), z2.double(), t)
    except Exception:
        return None
    return float(out) if isinstance(out, torch.Tensor) and out.dtype == torch.float64 else None


def _matches_reference(s: _Setup, t: float) -> bool:
    """Whether the loss is its family's formula at ``t`` on a small, well-conditioned batch (no cancellation there)."""
    z1, z2 = s.aligned(noise=0.3, offset=19)
    return _close(s.loss(z1, z2, t), float(s.family.reference(z1.double(), z2.double(), t)), 1e-4, 1e-9)


def _check_float64_reference(s: _Setup) -> tuple[bool, str, dict]:
    n = s.n if s.fixed_batch else max(s.n, REFERENCE_BATCH)
    worst, parts, measured = 0.0, [], {}
    for t in (0.1, 0.05, 0.03) if s.temperature_settable else (s.temperature,):
        z1, z2 = s.aligned(noise=0.5, offset=20, n=n)
        value, errors = s.loss(z1, z2, t), []
        own = _float64_value(s, z1, z2, t)
        if own is not None:
            errors.append(_relative_error(value, own))
        if _matches_reference(s, t):
            errors.append(_relative_error(value, float(s.family.reference(z1.double(), z2.double(), t))))
        if not errors:
            continue
        worst = max(worst, *errors)
        measured[t] = max(errors)
        parts.append(f"t={t:g}: {max(errors):.2g}")
    if not parts:
        return True, "not measured: the loss neither computes in float64 nor matches its family's formula", {}
    return worst <= 1e-3, f"batch {n}, float32 vs float64 relative error " + ", ".join(parts), {"errors": measured, "n": n}


def _check_non_negative(s: _Setup) -> tuple[bool, str, dict]:
    batches = {"random": (s.unit(21), s.unit(22)), "aligned": s.aligned(noise=0.05, offset=23)}
    temperatures = (0.5, 0.1) if s.temperature_settable else (s.temperature,)
    values = {f"{k} t={t:g}": s.loss(*b, t) for k, b in batches.items() for t in temperatures}
    low = min(values, key=values.get)
    ok = all(math.isfinite(v) and v >= -1e-6 for v in values.values())
    return ok, f"lowest: {_fmt(values[low])} ({low})", {"lowest": values[low], "where": low}


_IMPLEMENTATIONS: dict[str, Callable[[_Setup], tuple]] = {
    "finite": _check_finite,
    "collapse_value": _check_collapse,
    "symmetric": _check_symmetric,
    "pair_permutation_invariant": _check_permutation,
    "aligned_pairs_lower_loss": _check_aligned_lower,
    "scale_invariant": _check_scale,
    "uses_temperature": _check_temperature_used,
    "finite_small_temperature": _check_small_temperature,
    "gradient_direction": _check_gradient_direction,
    "temperature_direction": _check_temperature_direction,
    "per_anchor_mean": _check_per_anchor_mean,
    "float64_reference": _check_float64_reference,
    "non_negative": _check_non_negative,
}

_NEEDS_TEMPERATURE = ("uses_temperature", "finite_small_temperature", "temperature_direction")


def _left_out(s: _Setup, check: str, family_name: str) -> str | None:
    """Why ``check`` does not apply to this loss, or None when it does."""
    if check in _NEEDS_TEMPERATURE and not s.temperature_settable:
        return f"{check} left out: the temperature is fixed inside the loss (pass it as a keyword or constructor argument)"
    if check == "scale_invariant" and s.normalized_inputs:
        return "scale_invariant waived: the inputs are declared normalized (the model normalizes before the loss)"
    if check == "symmetric" and not s.family.symmetric:
        return f"symmetric left out: the {family_name} family is one-way (queries against keys)"
    if check == "float64_reference" and s.fixed_batch and s.n < REFERENCE_BATCH:
        return (f"float64_reference left out: it needs batch >= {REFERENCE_BATCH} and the loss is fixed to batch {s.n} "
                f"(check with --batch-size {REFERENCE_BATCH} to measure cancellation)")
    return None


# Checks that push the loss to extremes (t = 0.01): an exception there is the failure they look for, not a crash.
_PROBES = ("finite_small_temperature",)


def _run_check(setup: _Setup, check: str, raise_errors: bool) -> CheckResult:
    try:
        passed, detail, *rest = _IMPLEMENTATIONS[check](setup)
    except Exception as err:
        if raise_errors and check not in _PROBES:
            raise LossRaisedError(check, err) from err
        # a loss that crashes fails the check, it does not stop the report
        passed, detail, rest = False, f"raised {type(err).__name__}: {str(err).splitlines()[0][:100] if str(err) else ''}", []
    return CheckResult(check, bool(passed), detail, rest[0] if rest else {})


def check_contrastive_loss(
    loss_fn: Callable,
    n: int = 8,
    dim: int = 16,
    temperature: float = 0.5,
    seed: int = 0,
    checks: Iterable[str] | None = None,
    expected_collapse: float | None = None,
    name: str | None = None,
    *,
    family: str = "nt-xent",
    normalized_inputs: bool = False,
    temperature_settable: bool | None = None,
    fixed_batch: bool = False,
    device: str | torch.device = "cpu",
    raise_errors: bool = False,
) -> LossCheckReport:
    """Run the sanity checks in ``CHECKS`` (or the named subset ``checks`` of ``ALL_CHECKS``) on ``loss_fn``.

    ``loss_fn`` gets (n, dim) float32 batches built from ``seed`` (on ``device``), so the report is reproducible;
    it is called as ``as_three_argument`` says. ``family`` (one of ``FAMILIES``) sets the expected collapse value
    (unless ``expected_collapse`` is given) and whether symmetry is required; ``normalized_inputs`` waives scale
    invariance; ``fixed_batch`` keeps every check at ``n`` rows. A check that does not apply is left out with a
    note. A check that raises counts as failed with the error as detail, or, with ``raise_errors``, raises
    ``LossRaisedError``.
    """
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable as loss_fn(z1, z2, temperature=t) or loss_fn(z1, z2, t)")
    if int(n) != n or n < 2 or int(dim) != dim or dim < 2:
        raise ValueError(f"n and dim must be integers >= 2, got n={n!r}, dim={dim!r}")
    temperature = check_temperature(temperature)
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {list(FAMILIES)}")
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [c for c in names if c not in ALL_CHECKS]
    if unknown or not names:
        raise ValueError(f"unknown or empty checks {unknown or names}; choose from {list(ALL_CHECKS)}")
    call, settable = as_three_argument(loss_fn)
    fam = FAMILIES[family]
    setup = _Setup(call, int(n), int(dim), float(temperature), int(seed),
                   fam.collapse(int(n)) if expected_collapse is None else float(expected_collapse), fam,
                   normalized_inputs, settable if temperature_settable is None else temperature_settable,
                   fixed_batch, torch.device(device))
    notes = [why for c in names if (why := _left_out(setup, c, family))]
    results = [_run_check(setup, c, raise_errors) for c in names if not _left_out(setup, c, family)]
    label = name or getattr(loss_fn, "__name__", type(loss_fn).__name__)
    settings = {"n": n, "dim": dim, "temperature": temperature, "seed": seed, "family": family,
                "normalized_inputs": normalized_inputs, "expected_collapse": setup.expected_collapse,
                "candidates": fam.candidates}
    return LossCheckReport(label, results, settings, notes)


# --------------------------------------------------------------------------- augmentation
def check_per_sample_augmentation(view_fn: Callable, image: torch.Tensor, copies: int = 8,
                                  seed: int = 0) -> CheckResult:
    """Does ``view_fn(images, generator=g) -> (view1, view2)`` draw random parameters per image?

    Feeds ``copies`` identical copies of ``image`` ((H, W) or (1, H, W)). Per-image augmentation
    turns them into ``copies`` different views; a transform that draws ONE set of parameters for
    the whole batch (torchvision's random transforms on a batched tensor) returns identical
    views. Passes when every pair of views 1 differs and every view 1 differs from its view 2.
    """
    if not isinstance(image, torch.Tensor) or image.dim() not in (2, 3):
        raise ValueError(f"image must be one (H, W) or (1, H, W) tensor, got {getattr(image, 'shape', type(image))}")
    if copies < 2:
        raise ValueError(f"copies must be at least 2, got {copies}")
    batch = image.reshape(1, 1, *image.shape[-2:]).expand(copies, 1, *image.shape[-2:]).contiguous()
    v1, v2 = view_fn(batch, generator=torch.Generator().manual_seed(seed))
    flat1, flat2 = v1.detach().float().flatten(1), v2.detach().float().flatten(1)
    dist = torch.cdist(flat1, flat1)
    distinct = copies - int(torch.tensor([(dist[i, :i] < 1e-6).any() for i in range(copies)]).sum())
    views_differ = int(((flat1 - flat2).abs().amax(dim=1) > 1e-6).sum())
    passed = distinct == copies and views_differ == copies
    detail = (f"{copies} copies of one image -> {distinct} distinct first views; "
              f"view 1 != view 2 for {views_differ}/{copies}")
    return CheckResult("per_sample_augmentation", passed, detail)
