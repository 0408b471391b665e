"""Contrastive losses, written to be read next to their formulas.

Conventions used throughout:

* ``z1`` and ``z2`` have shape (N, D): row i of ``z1`` and row i of ``z2`` are two views of the
  same sample (a *positive pair*). Any D >= 1 works.
* Embeddings are L2-normalized inside the loss, so similarities are cosines in [-1, 1] and the
  loss does not depend on the scale of its inputs.
* ``temperature`` (tau) divides the cosine similarities before the softmax.
* Losses return the mean over anchors as a 0-dim tensor.

The module also keeps *faithful reproductions of broken tutorial losses*
(``nt_xent_flawed_targets``, ``nt_xent_no_positives``) so that the notebooks can show how to
detect and fix them. Do not train with those.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .similarity import _check_temperature

__all__ = [
    "nt_xent",
    "nt_xent_by_definition",
    "info_nce",
    "nt_xent_flawed_targets",
    "nt_xent_no_positives",
    "positive_index",
    "collapse_value",
]


# --------------------------------------------------------------------------- input checks
def _check_embeddings(x: torch.Tensor, name: str, min_rows: int = 1) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D), got shape {tuple(x.shape)}; flatten or pool it first")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has D = 0 features; embeddings need at least one dimension")
    if x.shape[0] < min_rows:
        raise ValueError(
            f"{name} has N = {x.shape[0]} rows but at least {min_rows} are needed: "
            "a contrastive loss needs negatives, so use a batch of 2 or more samples"
        )
    if not torch.is_floating_point(x):
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; call .float() first")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf; check the encoder output and the learning rate")


def _check_pair(z1: torch.Tensor, z2: torch.Tensor) -> None:
    _check_embeddings(z1, "z1", min_rows=2)
    _check_embeddings(z2, "z2", min_rows=2)
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (N, D), got {tuple(z1.shape)} and {tuple(z2.shape)}; "
            "row i of each must be a view of the same sample"
        )


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    """L2-normalize rows in float32 (or float64 if given), robust to any input scale.

    Each row is first divided by its largest absolute entry (a constant for autograd, which is
    exact because normalization is scale invariant), so norms of 1e30 or 1e-30 cannot overflow
    or underflow. Half-precision inputs are upcast: the loss is computed in float32.
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    scale = x.detach().abs().amax(dim=1, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return F.normalize(x / scale, dim=1)


def positive_index(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Index of each view's positive among the 2N stacked views: i <-> i + N (mod 2N)."""
    return (torch.arange(2 * n, device=device) + n) % (2 * n)


# --------------------------------------------------------------------------- NT-Xent
def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR (Chen et al., 2020).

    Stack the views ``z = [z1; z2]`` (2N rows), normalize each row, and let
    ``s_ij = z_i . z_j / tau``. View i's positive is ``p(i) = i + N (mod 2N)``; every other view
    except i itself is a negative (2N - 2 of them). Then

    .. math::
        \ell_i = -\log \frac{\exp(s_{i,p(i)})}{\sum_{k \ne i} \exp(s_{ik})}, \qquad
        L = \frac{1}{2N} \sum_{i=1}^{2N} \ell_i

    Implementation: the self-similarities are set to -inf and the rows go through
    ``F.cross_entropy`` with targets ``p(i)``, which uses log-sum-exp, so nothing overflows even at
    tau = 0.01. The computation runs in float32 (float64 if given) with autocast switched off.

    Sanity values: ``log(2N - 1)`` when all embeddings are identical (collapse); close to 0 when
    every view matches only its positive and tau is small.
    """
    _check_pair(z1, z2)
    t = _check_temperature(temperature)
    n = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = _unit_rows(torch.cat([z1, z2], dim=0))
        logits = (z @ z.T) / t
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        return F.cross_entropy(logits, positive_index(n, z.device))


def nt_xent_by_definition(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent computed term by term with Python loops, exactly as the formula in ``nt_xent`` reads.

    Slow and numerically naive (plain ``exp``; it overflows in float32 below tau of about 0.011):
    it exists so tests and notebooks can check the fast version against the definition.
    """
    _check_pair(z1, z2)
    t = _check_temperature(temperature)
    n = z1.shape[0]
    z = torch.cat([z1, z2], dim=0)
    z = z / z.norm(dim=1, keepdim=True)
    total = z.new_zeros(())
    for i in range(2 * n):
        p = (i + n) % (2 * n)
        numerator = torch.exp(torch.dot(z[i], z[p]) / t)
        denominator = z.new_zeros(())
        for k in range(2 * n):
            if k != i:
                denominator = denominator + torch.exp(torch.dot(z[i], z[k]) / t)
        total = total - torch.log(numerator / denominator)
    return total / (2 * n)


def info_nce(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float = 0.1,
) -> torch.Tensor:
    r"""InfoNCE with explicit negatives (van den Oord et al., 2018).

    ``query`` and ``positive`` have shape (B, D). ``negatives`` is either (M, D), shared by every
    query (as in MoCo's queue), or (B, M, D), one set per query. With normalized vectors,

    .. math::
        \ell_b = -\log \frac{\exp(q_b \cdot k_b^+ / \tau)}
                 {\exp(q_b \cdot k_b^+ / \tau) + \sum_{m} \exp(q_b \cdot k_{b,m}^- / \tau)}

    and the mean over b is returned. It is cross-entropy over M + 1 logits with the positive at
    index 0. NT-Xent is the special case where the negatives are the other views in the batch.
    """
    _check_embeddings(query, "query")
    _check_embeddings(positive, "positive")
    if query.shape != positive.shape:
        raise ValueError(f"query and positive must have the same shape, got {tuple(query.shape)} and {tuple(positive.shape)}")
    if not isinstance(negatives, torch.Tensor) or negatives.dim() not in (2, 3):
        raise ValueError("negatives must be a tensor of shape (M, D) or (B, M, D)")
    b, d = query.shape
    if negatives.shape[-1] != d or negatives.shape[-2] == 0 or (negatives.dim() == 3 and negatives.shape[0] != b):
        raise ValueError(f"negatives must have shape (M, {d}) or ({b}, M, {d}) with M >= 1, got {tuple(negatives.shape)}")
    _check_embeddings(negatives.reshape(-1, d), "negatives")
    t = _check_temperature(temperature)
    with torch.autocast(device_type=query.device.type, enabled=False):
        q, k = _unit_rows(query), _unit_rows(positive)
        neg = _unit_rows(negatives.reshape(-1, d)).reshape(negatives.shape)
        pos_logit = (q * k).sum(dim=1, keepdim=True)
        neg_logits = q @ neg.T if neg.dim() == 2 else torch.einsum("bd,bmd->bm", q, neg)
        logits = torch.cat([pos_logit, neg_logits], dim=1) / t
        return F.cross_entropy(logits, torch.zeros(b, dtype=torch.long, device=q.device))


# --------------------------------------------------------------------------- broken on purpose
def nt_xent_flawed_targets(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """A faithful reproduction (our code) of a popular tutorial's NT-Xent bug. Do not train with it.

    The tutorial builds a two-hot "same sample" label matrix (``labels[i, j] = 1`` when i and j are
    views of the same sample, the diagonal included), fills the diagonal of the scaled similarity
    matrix with -9e15, then uses ``labels.argmax(dim=1)`` as the cross-entropy targets. ``argmax``
    returns the *first* maximum, so for rows 0..N-1 the target is the row itself: the masked
    self-similarity. Those N anchors each cost about 9e15 (mean loss about 4.5e15 whatever tau),
    and their gradient pushes their true positive away like a negative. Rows N..2N-1 happen to
    get the right target (i - N).
    """
    _check_pair(z1, z2)
    t = _check_temperature(temperature)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    sample_id = torch.arange(2 * n, device=z.device) % n
    labels = (sample_id[:, None] == sample_id[None, :]).float()  # two-hot rows, diagonal included
    logits = (z @ z.T) / t
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -9e15)
    targets = labels.argmax(dim=1)  # the bug: row i < N gets target i (itself)
    return F.cross_entropy(logits, targets)


def nt_xent_no_positives(features: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """A faithful reproduction (our code) of a second tutorial's loss. Do not train with it.

    It takes one batch of *un-normalized* features, computes ``E = exp(F F^T / tau)`` and returns
    ``-mean(log((E - I) / (E.sum(1) - I)))``. Nothing in it says which rows are positive pairs, so
    it cannot reward aligning them (any permutation of the batch gives the same value), ``E - I``
    is not a mask (the diagonal keeps ``exp(|f|^2 / tau) - 1``), and without normalization
    ``exp`` overflows to inf for moderately large features, giving inf/inf = NaN.
    """
    _check_embeddings(features, "features", min_rows=2)
    t = _check_temperature(temperature)
    eye = torch.eye(features.shape[0], dtype=features.dtype, device=features.device)
    e = torch.exp(features @ features.T / t)
    numerator = e - eye
    denominator = e.sum(dim=1) - eye  # broadcasts the row sums along columns, as the tutorial does
    return -torch.log(numerator / denominator).mean()


def collapse_value(n: int) -> float:
    """NT-Xent of a fully collapsed batch of N pairs: ``log(2N - 1)`` (all 2N - 1 candidates tie)."""
    if n < 2:
        raise ValueError(f"N must be at least 2, got {n}")
    return math.log(2 * n - 1)

