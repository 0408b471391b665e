"""Notebook 08's exercises, avoiding collapse; each brings its own small networks or embeddings.

* 08.1: ``check_08_momentum_update(fn)``: ``fn(target, online, momentum)`` must do the EMA update of
  ``clhelpers.methods.momentum_update`` in place; ``exercise_08_networks()`` gives a pair to try it on.
* 08.2: ``check_08_embedding_std(fn)``: ``fn(z)`` must compute SimSiam's collapse diagnostic
  (``clhelpers.metrics.embedding_std``); ``exercise_08_batches()`` gives the embeddings it is scored on, among
  them one that has collapsed to 2 of its 64 dimensions, which the diagnostic does not see.
* 08.3: ``check_08_barlow_twins(fn)``: ``fn(z1, z2, lambda_offdiag)`` must compute Barlow Twins' loss
  (``clhelpers.losses.barlow_twins_loss``) on the batches of ``exercise_08_pairs()``.
* 08.4: ``check_08_vicreg_variance(fn)``: ``fn(z)`` must compute VICReg's variance term of one branch, the mean
  over dimensions of ``max(0, 1 - sqrt(Var(z_d) + 1e-4))``, on ``exercise_08_spreads()``.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable

import torch
from torch import nn

from ..losses import VICREG_EPS, barlow_twins_loss, standardize_columns
from ..metrics import embedding_std
from ..similarity import unit_rows
from ._verdict import Verdict, _call_answer, _near, _not_attempted, _scalar_answer, _unanswered, _wrong

EX_08_EMA, EX_08_STD = "Exercise 08.1 · the momentum update", "Exercise 08.2 · the collapse diagnostic"
EMA_MOMENTUM = 0.9  # the checker's momentum: far enough from 0.5 that swapping m and 1 - m shows


# =========================================================================== 08.1 the momentum update
def exercise_08_networks(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """``(target, online)``: two small nets (Linear - BatchNorm - ReLU - Linear) of one architecture with different
    weights and BatchNorm statistics; the target's parameters do not require gradients, as in MoCo and BYOL."""
    torch.manual_seed(seed)
    online = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in target.parameters():
            p.add_(torch.randn_like(p))                    # the target lags behind: other weights
    online.train()(torch.randn(16, 4) * 3 + 1)             # a forward in training mode moves online's running stats
    for p in target.parameters():
        p.requires_grad_(False)
    return target, online


def _flat(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """All ``tensors`` (parameters or buffers) as one detached float vector, to compare a network before and after."""
    return torch.cat([t.detach().flatten().float() for t in tensors])


def _ema_verdict(got: torch.Tensor, t0: torch.Tensor, o0: torch.Tensor, m: float) -> Verdict | None:
    """The "wrong" verdict naming the bug if the target's parameters ``got`` are not m t0 + (1 - m) o0, else None."""
    close = lambda a: torch.allclose(got, a, atol=1e-6)  # noqa: E731
    if close(m * t0 + (1 - m) * o0):
        return None
    if close(t0):
        return _wrong(EX_08_EMA, "the target's parameters did not change.",
                      "update them in place: p_t.mul_(m).add_(p_o, alpha=1 - m) (p_t = ... only rebinds the loop's name)")
    if close((1 - m) * t0 + m * o0):
        return _wrong(EX_08_EMA, f"m and 1 - m are swapped: with m = {m} the target jumped {m:.0%} of the way to "
                      "the online network instead of moving 1 - m of it.",
                      "theta_target <- m * theta_target + (1 - m) * theta_online: m multiplies the TARGET")
    if close(o0):
        return _wrong(EX_08_EMA, "the target became a copy of the online network: that is momentum 0.",
                      "keep m of the target's own weights: m * p_t + (1 - m) * p_o")
    return _wrong(EX_08_EMA, "the target's parameters are not m * target + (1 - m) * online.",
                  "for p_t, p_o in zip(target.parameters(), online.parameters()): p_t.mul_(m).add_(p_o, alpha=1 - m)")


def check_08_momentum_update(fn: Callable | None) -> Verdict:
    """Check ``fn(target, online, momentum)``: in place, no gradient, ``theta_t <- m theta_t + (1 - m) theta_o`` for
    every parameter, buffers (BatchNorm's running statistics) copied from ``online``, ``online`` untouched."""
    if _unanswered(fn):
        return _not_attempted(EX_08_EMA, "my_momentum_update")
    target, online = exercise_08_networks()
    t0, o0 = _flat(target.parameters()), _flat(online.parameters())
    o_buffers = _flat(online.buffers())
    got = _call_answer(fn, EX_08_EMA, "my_momentum_update", "my_momentum_update(target, online, 0.9)",
                       "zip the two parameter lists and update the target's tensors in place", target, online, EMA_MOMENTUM)
    if isinstance(got, Verdict):
        return got
    if not torch.equal(_flat(online.parameters()), o0) or not torch.equal(_flat(online.buffers()), o_buffers):
        return _wrong(EX_08_EMA, "the online network changed: the momentum update writes only the target.",
                      "read online's tensors, write target's: p_t.mul_(m).add_(p_o, alpha=1 - m)")
    if any(p.requires_grad or p.grad_fn is not None for p in target.parameters()):
        return _wrong(EX_08_EMA, "autograd recorded the update: the target's parameters now require a gradient, so the "
                      "next loss would backpropagate into the target through every past update.",
                      "decorate the function with @torch.no_grad() (or put the loop inside with torch.no_grad():)")
    wrong = _ema_verdict(_flat(target.parameters()), t0, o0, EMA_MOMENTUM)
    if wrong is not None:
        return wrong
    if not torch.equal(_flat(target.buffers()), o_buffers):
        return _wrong(EX_08_EMA, "the parameters are right, but the BatchNorm running statistics (buffers) were not "
                      "copied from the online network.",
                      "for b_t, b_o in zip(target.buffers(), online.buffers()): b_t.copy_(b_o)")
    return Verdict(EX_08_EMA, "correct", f"with m = {EMA_MOMENTUM} the target moves 1 - m = 10 % of the way towards the "
                   "online network per step, so it averages the online weights of about the last 1 / (1 - m) = 10 "
                   "steps (100 at m = 0.99): the slowly moving target of BYOL and MoCo.")


# =========================================================================== 08.2 the collapse diagnostic
def exercise_08_batches(n: int = 256, d: int = 64, seed: int = 0) -> dict[str, torch.Tensor]:
    """Four (n, d) batches of embeddings, NOT normalized (each row has its own length, 0.1 to 10):

    ``"spread"`` (directions uniform on the sphere), ``"one point"`` (one direction plus 2 % noise: complete collapse),
    ``"two dimensions"`` (all rows in one random 2-D plane of the d dimensions: dimensional collapse) and ``"offset"``
    (spread directions plus a common vector 3 times their length: every pair of rows has cosine near 0.9)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.exp(torch.empty(n, 1).uniform_(-2.3, 2.3, generator=g))   # 0.1 to 10: normalizing matters
    c = unit_rows(torch.randn(1, d, generator=g))
    plane = torch.linalg.qr(torch.randn(d, 2, generator=g)).Q                  # (d, 2): an orthonormal basis of a plane
    return {"spread": lengths * unit_rows(torch.randn(n, d, generator=g)),
            "one point": lengths * unit_rows(c + 0.02 * torch.randn(n, d, generator=g)),
            "two dimensions": lengths * unit_rows(torch.randn(n, 2, generator=g) @ plane.T),
            "offset": lengths * unit_rows(unit_rows(torch.randn(n, d, generator=g)) + 3 * c)}


def _std_bug(z: torch.Tensor, got: float) -> tuple[str, str] | None:
    """(what is wrong, hint) if ``got`` is one of the usual wrong versions of ``embedding_std(z)``, else None."""
    unit = unit_rows(z)
    wrong = {
        "the rows were not L2-normalized (the value depends on how long each row is)":
            ("normalize each row first: z / z.norm(dim=1, keepdim=True), or F.normalize(z, dim=1)", z.std(dim=0).mean()),
        "the columns were normalized instead of the rows (dim=0)":
            ("normalize along dim=1, so that every embedding (row) has length 1", (z / z.norm(dim=0)).std(dim=0).mean()),
        "the std was taken along each row (dim=1), across dimensions, instead of across the batch":
            ("take the std of every dimension over the rows: unit.std(dim=0), then the mean of those d numbers",
             unit.std(dim=1).mean()),
        "that is the variance, not the standard deviation":
            ("use .std(dim=0), not .var(dim=0) (the reference 1/sqrt(d) is a standard deviation)", unit.var(dim=0).mean()),
    }
    for what, (hint, value) in wrong.items():
        if _near(got, float(value), rel=1e-3):
            return what, hint
    return None


def check_08_embedding_std(fn: Callable | None) -> Verdict:
    """Check ``fn(z)`` against ``embedding_std`` on every batch of ``exercise_08_batches()`` (either std convention,
    n - 1 or n, passes); a wrong answer names the usual bug (no normalization, wrong dim, variance)."""
    if _unanswered(fn):
        return _not_attempted(EX_08_STD, "my_embedding_std")
    readings = {}
    for name, z in exercise_08_batches().items():
        value = _scalar_answer(fn, EX_08_STD, "my_embedding_std", f"my_embedding_std on the {name!r} batch",
                               "normalize the rows, take the std of every column, average", "end with .mean() (and .item())",
                               z.clone())
        if isinstance(value, Verdict):
            return value
        want = embedding_std(z)
        if not _near(value, want, rel=0.005):
            bug = _std_bug(z, value)
            return _wrong(EX_08_STD, f"on the {name!r} batch it gives {value:.4f}, embedding_std gives {want:.4f}"
                          + (f": {bug[0]}." if bug else "."), bug[1] if bug else "normalize rows, std over dim=0, mean")
        readings[name] = value
    ref = exercise_08_batches()["spread"].shape[1] ** -0.5
    said = ", ".join(f"{k} {v:.3f}" for k, v in readings.items())
    return Verdict(EX_08_STD, "correct", f"{said} (1/sqrt(64) = {ref:.3f}). The complete collapse and the common offset "
                   "read near 0, but the batch squeezed into 2 of its 64 dimensions reads almost like a spread one: "
                   "embedding_std sees complete collapse, not dimensional collapse (Jing et al., 2022); the singular "
                   "values of the normalized batch (torch.linalg.svdvals) do: only 2 are far from 0, and "
                   "clhelpers.metrics.effective_rank reads 2.0 for it, 62 for the spread batch.")



# =========================================================================== 08.3 the Barlow Twins loss
EX_08_BT, EX_08_VAR = "Exercise 08.3 · the Barlow Twins loss", "Exercise 08.4 · VICReg's variance term"
BT_LAMBDA = 0.05  # the checker's lambda: large enough that a wrong off-diagonal term shows


def exercise_08_pairs(seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Three seeded pairs (z1, z2) of shape (32, 6): correlated views whose dimensions have different means and
    scales (so standardizing matters) and some redundancy (dimension 5 nearly copies dimension 0)."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(3):
        base = torch.randn(32, 6, generator=g)
        base[:, 5] = base[:, 0] + 0.3 * torch.randn(32, generator=g)
        scale, shift = torch.rand(1, 6, generator=g) * 4 + 0.5, torch.randn(1, 6, generator=g) * 3
        pairs.append(tuple(scale * (base + 0.5 * torch.randn(32, 6, generator=g)) + shift for _ in range(2)))
    return pairs


def _bt_reference(z1: torch.Tensor, z2: torch.Tensor, lam: float, correction: int = 0) -> dict[str, float]:
    """Barlow Twins' loss (biased or unbiased std) and the values the usual mistakes give, by name."""
    n, d = z1.shape
    eye = torch.eye(d, dtype=torch.bool)

    def loss(c: torch.Tensor, off_power: int = 2, mean: bool = False, lam_all: bool = False) -> float:
        diag, off = (1 - c.diagonal()).pow(2), c[~eye].abs().pow(off_power)
        if mean:
            return float(diag.mean() + lam * off.mean())
        return float(diag.sum() + lam * (c.pow(2).sum() if lam_all else off.sum()))

    std = lambda z: (z - z.mean(0)) / z.std(0, correction=correction)  # noqa: E731
    c = std(z1).T @ std(z2) / n
    return {"correct": loss(c), "not standardized": loss((z1 - z1.mean(0)).T @ (z2 - z2.mean(0)) / n),
            "rows normalized": loss(unit_rows(z1).T @ unit_rows(z2) / n), "no 1/N": loss(c * n),
            "not squared": loss(c, off_power=1), "means": loss(c, mean=True), "lambda on all": loss(c, lam_all=True)}


_BT_BUGS = {
    "not standardized": ("C was computed from the centred embeddings without dividing by each dimension's std, so "
                         "it is a covariance, not a correlation", "divide each column by its std over the batch: "
                         "(z - z.mean(0)) / z.std(0), then C = a.T @ b / N"),
    "rows normalized": ("each row (sample) was L2-normalized: that is NT-Xent's normalization, not Barlow Twins'",
                        "standardize each COLUMN (dimension) over the batch: (z - z.mean(0)) / z.std(0)"),
    "no 1/N": ("C is N times too large: the sum over the batch was not divided by N",
               "C = a.T @ b / N, so that C_ii is a correlation in [-1, 1]"),
    "not squared": ("the off-diagonal entries were not squared", "lambda * (C_ij ** 2) summed over i != j"),
    "means": ("the two terms are means, the loss sums them", "sum over i of (1 - C_ii)^2, plus lambda times the SUM "
              "over i != j of C_ij^2"),
    "lambda on all": ("the redundancy term includes the diagonal", "leave out i == j: mask it with ~torch.eye(D, "
                      "dtype=bool), or subtract C.diagonal().pow(2).sum()"),
}


def check_08_barlow_twins(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2, lambda_offdiag)`` against ``barlow_twins_loss`` on ``exercise_08_pairs()`` (biased or
    unbiased std both pass); a wrong answer names the usual bug (no standardization, rows normalized, ...)."""
    if _unanswered(fn):
        return _not_attempted(EX_08_BT, "my_barlow_twins")
    for i, (z1, z2) in enumerate(exercise_08_pairs()):
        value = _scalar_answer(fn, EX_08_BT, "my_barlow_twins", f"my_barlow_twins on pair {i}",
                               "standardize each column, C = a.T @ b / N, then the two sums", "return a 0-dim tensor (a sum)",
                               z1.clone(), z2.clone(), BT_LAMBDA)
        if isinstance(value, Verdict):
            return value
        ref, unbiased = _bt_reference(z1, z2, BT_LAMBDA), _bt_reference(z1, z2, BT_LAMBDA, correction=1)["correct"]
        if _near(value, ref["correct"], rel=1e-3) or _near(value, unbiased, rel=1e-3):
            continue
        bug = next((name for name, v in ref.items() if name != "correct" and _near(value, v, rel=1e-3)), None)
        what, hint = _BT_BUGS.get(bug, ("", "standardize each column, C = a.T @ b / N, "
                                            "sum (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2"))
        return _wrong(EX_08_BT, f"on pair {i} it gives {value:.4f}, barlow_twins_loss gives {ref['correct']:.4f}"
                      + (f": {what}." if what else "."), hint)
    z1, z2 = exercise_08_pairs()[0]
    c = standardize_columns(z1).T @ standardize_columns(z2) / z1.shape[0]
    return Verdict(EX_08_BT, "correct", f"on pair 0 the diagonal of C averages {float(c.diagonal().mean()):.2f} (the "
                   f"views agree) and C_05 = {float(c[0, 5]):.2f}: dimension 5 repeats dimension 0, the redundancy the "
                   f"second term penalizes. The loss is {float(barlow_twins_loss(z1, z2, lambda_offdiag=BT_LAMBDA)):.3f}; "
                   "multiplying a column of z1 or z2 by a positive constant leaves it unchanged.")


# =========================================================================== 08.4 VICReg's variance term
VAR_STDS = (0.1, 0.5, 0.9, 1.0, 1.5, 3.0, 0.0, 0.7)  # the columns' spreads in exercise_08_spreads (0: a constant one)


def exercise_08_spreads(seed: int = 0) -> list[torch.Tensor]:
    """Two seeded (64, 8) batches whose columns have standard deviations about ``VAR_STDS`` (column 6 constant:
    a collapsed dimension) and nonzero means, the second with its columns in reverse order."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(64, 8, generator=g)
    z = (z - z.mean(0)) / z.std(0) * torch.tensor(VAR_STDS) + torch.randn(1, 8, generator=g) * 2
    return [z, z.flip(1).clone()]


def _var_values(z: torch.Tensor) -> dict[str, float]:
    """VICReg's variance term (unbiased and biased variance) and the values the usual mistakes give, by name."""
    std = lambda correction, eps=VICREG_EPS: torch.sqrt(z.var(0, correction=correction) + eps)  # noqa: E731
    return {"correct": float(torch.relu(1 - std(1)).mean()), "biased": float(torch.relu(1 - std(0)).mean()),
            "no hinge": float((1 - std(1)).mean()), "variance": float(torch.relu(1 - (z.var(0) + VICREG_EPS)).mean()),
            "rows": float(torch.relu(1 - torch.sqrt(z.var(1) + VICREG_EPS)).mean()),
            "sum": float(torch.relu(1 - std(1)).sum()), "no eps": float(torch.relu(1 - std(1, 0.0)).mean())}


_VAR_BUGS = {
    "no hinge": ("without the max(0, .), dimensions with a std above 1 lower the term (it rewards ever larger "
                 "spreads)", "clamp: torch.relu(1 - std), or (1 - std).clamp(min=0)"),
    "variance": ("that hinges the variance, not the standard deviation", "std = torch.sqrt(z.var(dim=0) + 1e-4)"),
    "rows": ("the spread was taken along each row (across dimensions), not over the batch",
             "z.var(dim=0): one variance per dimension, over the N samples"),
    "sum": ("the hinges were summed over the dimensions, not averaged", "end with .mean(), not .sum()"),
    "no eps": ("the constant dimension gets std exactly 0: eps = 1e-4 is missing under the square root (and the "
               "gradient of sqrt at 0 is infinite)", "std = torch.sqrt(z.var(dim=0) + 1e-4)"),
}


def check_08_vicreg_variance(fn: Callable | None) -> Verdict:
    """Check ``fn(z)`` against VICReg's variance term of one branch on ``exercise_08_spreads()`` (unbiased or biased
    variance both pass); a wrong answer names the usual bug (no hinge, variance not std, rows, sum, no eps)."""
    if _unanswered(fn):
        return _not_attempted(EX_08_VAR, "my_vicreg_variance")
    for i, z in enumerate(exercise_08_spreads()):
        value = _scalar_answer(fn, EX_08_VAR, "my_vicreg_variance", f"my_vicreg_variance on batch {i}",
                               "std of each column over the batch, then mean of max(0, 1 - std)", "end with .mean()", z.clone())
        if isinstance(value, Verdict):
            return value
        ref = _var_values(z)
        if _near(value, ref["correct"], rel=1e-4) or _near(value, ref["biased"], rel=1e-4):
            continue
        bug = next((name for name in _VAR_BUGS if _near(value, ref[name], rel=1e-4)), None)
        what, hint = _VAR_BUGS.get(bug, ("", "mean over d of max(0, 1 - sqrt(Var(z[:, d]) + 1e-4))"))
        return _wrong(EX_08_VAR, f"on batch {i} it gives {value:.4f}, the variance term is {ref['correct']:.4f}"
                      + (f": {what}." if what else "."), hint)
    return Verdict(EX_08_VAR, "correct", f"{_var_values(exercise_08_spreads()[0])['correct']:.4f}: only the columns with "
                   "a std below 1 (0.1, 0.5, 0.9, 0.7 and the constant one) contribute; those at 1, 1.5 and 3 cost "
                   "nothing, so the term stops a dimension from collapsing without pushing spreads ever larger.")
