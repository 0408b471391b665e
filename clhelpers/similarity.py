"""Similarity between embeddings and the temperature-scaled softmax.

``unit_rows`` is the one L2 normalization the losses use. The input checks every loss and metric
shares live in ``clhelpers.validate``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .validate import check_temperature

__all__ = [
    "cosine_similarity_matrix",
    "softmax_with_temperature",
    "unit_rows",
]


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """All pairwise cosine similarities.

    ``sim[i, j] = <a_i, b_j> / (|a_i| |b_j|)`` for ``a`` of shape (N, D) and ``b`` of shape (M, D);
    with ``b=None`` it compares ``a`` with itself, giving an (N, N) matrix with ones on the diagonal.
    Rows are L2-normalized first (with ``eps`` guarding zero vectors), so the result lies in [-1, 1].
    """
    if a.dim() != 2:
        raise ValueError(f"a must have shape (N, D), got {tuple(a.shape)}; flatten it with a.flatten(1)")
    if b is None:
        b = a
    if b.dim() != 2 or b.shape[1] != a.shape[1]:
        raise ValueError(f"b must have shape (M, {a.shape[1]}) to match a, got {tuple(b.shape)}")
    a_n = F.normalize(a, dim=1, eps=eps)
    b_n = a_n if b is a else F.normalize(b, dim=1, eps=eps)
    return a_n @ b_n.T


def softmax_with_temperature(logits: torch.Tensor, temperature: float, dim: int = -1) -> torch.Tensor:
    """``softmax(logits / temperature)`` along ``dim``, computed stably (max subtracted first).

    Small temperatures sharpen the distribution towards the argmax; large ones flatten it
    towards uniform.
    """
    temperature = check_temperature(temperature)
    logits = torch.as_tensor(logits)
    if not torch.is_floating_point(logits):
        logits = logits.float()
    return torch.softmax(logits / temperature, dim=dim)


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """L2-normalize rows in float32 (or float64 if given), robust to any input scale.

    Each row is first divided by its largest absolute entry (a constant for autograd, which is
    exact because normalization is scale invariant), so norms of 1e30 or 1e-30 cannot overflow
    or underflow. Half-precision inputs are upcast: the loss is computed in float32. A zero row
    stays zero.
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    scale = x.detach().abs().amax(dim=1, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return F.normalize(x / scale, dim=1)
