"""Sanity checks for contrastive losses: run them on any loss before training with it.

``check_contrastive_loss(loss_fn)`` feeds a loss small random batches and checks values and
invariants that every correct NT-Xent-style loss satisfies, returning a readable report::

    report = check_contrastive_loss(nt_xent)
    print(report)               # a text table, one row per check
    report.passed               # True when every check passed
    report.failed_checks        # names of the checks that failed

Conventions: ``loss_fn(z1, z2, temperature)`` returns a scalar tensor; row i of ``z1`` and row i
of ``z2`` are a positive pair (two views of sample i). A loss with another signature is wrapped,
e.g. ``lambda z1, z2, t: nt_xent_no_positives(torch.cat([z1, z2]), t)``; a loss without a
temperature as ``lambda z1, z2, t: triplet_in_batch(z1, z2, margin=0.3)``, a loss object as
``lambda z1, z2, t: NTXentLoss(t)(z1, z2)``.

The checks (``CHECKS`` maps name -> description) and what they assume:

=============================  ===============================================================
finite                         loss is a finite 0-dim tensor with finite gradients (any loss)
collapse_value                 all embeddings equal -> ``expected_collapse``, by default
                               ``log(2N - 1)``: softmax over 2N - 1 candidates (NT-Xent family;
                               pass another value, or leave the check out, for other losses)
symmetric                      ``L(z1, z2) == L(z2, z1)`` (symmetric pair losses)
pair_permutation_invariant     shuffling the pairs (same permutation of z1 and z2) changes nothing
aligned_pairs_lower_loss       aligned positives give a lower loss than mismatched pairs
scale_invariant                ``L(c z1, c z2) == L(z1, z2)``: the loss normalizes its inputs
uses_temperature               the value depends on the temperature (temperature-scaled losses)
finite_small_temperature       finite loss and gradients at temperature 0.01 (stable log-sum-exp)
gradient_direction             one gradient-descent step raises the mean positive cosine, by at
                               least ``MIN_RANDOM_GAIN`` (0.01) from random embeddings and at all
                               from nearly aligned ones (temperature 0.1)
=============================  ===============================================================

For losses that are not pair losses over 2N views (SupCon with labels, triplet with margins),
choose the applicable checks with ``checks=[...]`` and set ``expected_collapse``.

``check_per_sample_augmentation(view_fn, image)`` checks the data side: a batch of copies of one
image must come out as different views (each image gets its own random transform).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

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


@dataclass
class CheckResult:
    """Outcome of one check: its ``name``, whether it ``passed``, and a one-line ``detail``."""

    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class LossCheckReport:
    """All check results for one loss. ``str(report)`` is a text table; notebooks render HTML."""

    loss_name: str
    results: list[CheckResult]
    settings: dict = field(default_factory=dict)

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
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='color:{'green' if r.passed else 'crimson'}'>{'ok' if r.passed else 'FAIL'}</td>"
            f"<td><code>{html.escape(r.name)}</code></td><td style='text-align:left'>{html.escape(r.detail)}</td></tr>"
            for r in self.results
        )
        return (
            f"<p><b>{html.escape(self.summary())}</b></p>"
            f"<table><tr><th></th><th>check</th><th style='text-align:left'>detail</th></tr>{rows}</table>"
        )


# --------------------------------------------------------------------------- helpers
@dataclass
class _Setup:
    loss_fn: LossFn
    n: int
    dim: int
    temperature: float
    seed: int
    expected_collapse: float

    def unit(self, offset: int = 0) -> torch.Tensor:
        """Random unit rows (n, dim); ``offset`` picks an independent, reproducible draw."""
        g = torch.Generator().manual_seed(self.seed * 1000 + offset)
        return F.normalize(torch.randn(self.n, self.dim, generator=g), dim=1)

    def aligned(self, noise: float = 0.1, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch whose positives are close: z2 = normalize(z1 + noise * eps)."""
        z1 = self.unit(offset)
        g = torch.Generator().manual_seed(self.seed * 1000 + offset + 500)
        z2 = F.normalize(z1 + noise * torch.randn(self.n, self.dim, generator=g), dim=1)
        return z1, z2

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


def _check_collapse(s: _Setup) -> tuple[bool, str]:
    v = s.unit(3)[:1].expand(s.n, s.dim).clone()
    value = s.loss(v, v.clone())
    return _close(value, s.expected_collapse, rtol=1e-3, atol=1e-3), (
        f"loss = {_fmt(value)}, expected {_fmt(s.expected_collapse)}")


def _check_symmetric(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(4), s.unit(5)
    a, b = s.loss(z1, z2), s.loss(z2, z1)
    return _close(a, b, rtol=1e-5, atol=1e-5), f"L(z1, z2) = {_fmt(a)}, L(z2, z1) = {_fmt(b)}"


def _check_permutation(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(6), s.unit(7)
    perm = torch.randperm(s.n, generator=torch.Generator().manual_seed(s.seed))
    a, b = s.loss(z1, z2), s.loss(z1[perm], z2[perm])
    return _close(a, b, rtol=1e-5, atol=1e-5), f"original {_fmt(a)}, pairs shuffled {_fmt(b)}"


def _check_aligned_lower(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.aligned(noise=0.1, offset=8)
    mismatched = torch.roll(z2, shifts=1, dims=0)  # every z1[i] now meets a stranger
    a, b = s.loss(z1, z2), s.loss(z1, mismatched)
    ok = math.isfinite(a) and math.isfinite(b) and a < b - 1e-3 * (1 + abs(b))
    return ok, f"aligned {_fmt(a)} vs mismatched {_fmt(b)}"


def _check_scale(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(9), s.unit(10)
    base = s.loss(z1, z2)
    scaled = {c: s.loss(c * z1, c * z2) for c in (0.1, 10.0)}
    ok = all(_close(v, base, rtol=1e-4, atol=1e-5) for v in scaled.values())
    return ok, f"x1: {_fmt(base)}, x0.1: {_fmt(scaled[0.1])}, x10: {_fmt(scaled[10.0])}"


def _check_temperature_used(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.unit(11), s.unit(12)
    a, b = s.loss(z1, z2, 0.1), s.loss(z1, z2, 1.0)
    ok = math.isfinite(a) and math.isfinite(b) and not _close(a, b, rtol=1e-4, atol=1e-6)
    return ok, f"t=0.1: {_fmt(a)}, t=1.0: {_fmt(b)}"


def _check_small_temperature(s: _Setup) -> tuple[bool, str]:
    z1, z2 = s.aligned(noise=0.05, offset=13)
    value, ga, gb = _loss_and_grads(s, z1, z2, 0.01)
    grads_ok = bool(torch.isfinite(ga).all() and torch.isfinite(gb).all())
    return math.isfinite(value) and grads_ok, f"t=0.01: loss = {_fmt(value)}, gradients finite: {grads_ok}"


def _positive_cos_after_step(s: _Setup, z1: torch.Tensor, z2: torch.Tensor, t: float, step: float = 0.02):
    """Mean positive cosine before and after one normalized gradient-descent step on z1 and z2."""
    _, ga, gb = _loss_and_grads(s, z1, z2, t)
    scale = torch.cat([ga, gb]).abs().max()
    if not torch.isfinite(scale) or scale == 0:
        return float(F.cosine_similarity(z1, z2).mean()), float("nan")
    before = float(F.cosine_similarity(z1, z2).mean())
    after = float(F.cosine_similarity(z1 - step * ga / scale, z2 - step * gb / scale).mean())
    return before, after


# From random embeddings, one step of a loss that really pulls positives together raises their mean
# cosine by about 0.04 (NT-Xent, pairwise, triplet: 0.042-0.056); a loss without positives drifts by
# less than 0.001. Requiring 0.01 tells the two apart with a wide gap on both sides.
MIN_RANDOM_GAIN = 0.01


def _check_gradient_direction(s: _Setup) -> tuple[bool, str]:
    parts, ok = [], True
    for label, (z1, z2) in (("random", (s.unit(14), s.unit(15))), ("aligned", s.aligned(noise=0.3, offset=16))):
        before, after = _positive_cos_after_step(s, z1, z2, 0.1)
        good = math.isfinite(after) and after - before > (MIN_RANDOM_GAIN if label == "random" else 0.0)
        ok &= good
        if not math.isfinite(after):
            moved = "no step: the gradient is zero or not finite"
        else:
            moved = f"{after:.3f}" + ("" if good else " (wrong way)")
        parts.append(f"{label}: cos+ {before:.3f} -> {moved}")
    return ok, "; ".join(parts)


_IMPLEMENTATIONS: dict[str, Callable[[_Setup], tuple[bool, str]]] = {
    "finite": _check_finite,
    "collapse_value": _check_collapse,
    "symmetric": _check_symmetric,
    "pair_permutation_invariant": _check_permutation,
    "aligned_pairs_lower_loss": _check_aligned_lower,
    "scale_invariant": _check_scale,
    "uses_temperature": _check_temperature_used,
    "finite_small_temperature": _check_small_temperature,
    "gradient_direction": _check_gradient_direction,
}


def check_contrastive_loss(
    loss_fn: LossFn,
    n: int = 8,
    dim: int = 16,
    temperature: float = 0.5,
    seed: int = 0,
    checks: Iterable[str] | None = None,
    expected_collapse: float | None = None,
    name: str | None = None,
) -> LossCheckReport:
    """Run the sanity checks in ``CHECKS`` (or the named subset ``checks``) on ``loss_fn``.

    ``loss_fn(z1, z2, temperature)`` gets (n, dim) float32 batches built from ``seed``, so the
    report is reproducible. ``expected_collapse`` is the loss of a fully collapsed batch
    (default ``log(2n - 1)``). A check that raises counts as failed, with the error as detail.
    """
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable as loss_fn(z1, z2, temperature)")
    if int(n) != n or n < 2 or int(dim) != dim or dim < 2:
        raise ValueError(f"n and dim must be integers >= 2, got n={n!r}, dim={dim!r}")
    temperature = check_temperature(temperature)
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [c for c in names if c not in CHECKS]
    if unknown or not names:
        raise ValueError(f"unknown or empty checks {unknown or names}; choose from {list(CHECKS)}")
    setup = _Setup(loss_fn, int(n), int(dim), float(temperature), int(seed),
                   math.log(2 * n - 1) if expected_collapse is None else float(expected_collapse))
    results = []
    for check in names:
        try:
            passed, detail = _IMPLEMENTATIONS[check](setup)
        except Exception as err:  # a loss that crashes fails the check, it does not stop the report
            passed, detail = False, f"raised {type(err).__name__}: {str(err).splitlines()[0][:100] if str(err) else ''}"
        results.append(CheckResult(check, bool(passed), detail))
    label = name or getattr(loss_fn, "__name__", "loss")
    return LossCheckReport(label, results, {"n": n, "dim": dim, "temperature": temperature, "seed": seed})


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
