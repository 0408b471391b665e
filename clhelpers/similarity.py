"""Similarity between embeddings, and the temperature-scaled softmax that turns it into probabilities."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """All pairwise cosine similarities.

    ``sim[i, j] = <a_i, b_j> / (|a_i| |b_j|)`` for ``a`` of shape (N, D) and ``b`` of shape (M, D);
    with ``b=None`` it compares ``a`` with itself, giving an (N, N) matrix with ones on the diagonal.
    Rows are L2-normalized first (with ``eps`` guarding zero vectors), so the result lies in [-1, 1].
    """
    if a.dim() != 2:
        raise ValueError(f"a must have shape (N, D), got {tuple(a.shape)}")
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
    temperature = _check_temperature(temperature)
    logits = torch.as_tensor(logits)
    if not torch.is_floating_point(logits):
        logits = logits.float()
    return torch.softmax(logits / temperature, dim=dim)


def _check_temperature(temperature: float) -> float:
    return check_positive(temperature, "temperature", hint="try 0.1 to 1.0")


def check_positive(value: float, name: str, hint: str = "") -> float:
    """``float(value)`` if it is a positive, finite number; otherwise a ``ValueError`` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (x > 0 and x < float("inf")):
        raise ValueError(f"{name} must be positive and finite, got {value!r}" + (f" ({hint})" if hint else ""))
    return x
