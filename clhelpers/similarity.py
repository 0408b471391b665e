"""Similarity between embeddings, the temperature-scaled softmax, and the input checks shared by Math.

Every loss and metric validates its inputs with the checks here, so a wrong shape, dtype or
temperature fails the same way everywhere: a ``ValueError`` that says what was wrong and how to
fix it. ``unit_rows`` is the one L2 normalization the losses use.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "cosine_similarity_matrix",
    "softmax_with_temperature",
    "check_positive",
    "check_temperature",
    "check_embeddings",
    "check_pair",
    "check_same_shape",
    "check_features",
    "check_labels",
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


# --------------------------------------------------------------------------- input checks
def check_positive(value: float, name: str, hint: str = "") -> float:
    """``float(value)`` if it is a positive, finite number; otherwise a ``ValueError`` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}" + (f" ({hint})" if hint else "")) from None
    if not (x > 0 and x < float("inf")):
        raise ValueError(f"{name} must be positive and finite, got {value!r}" + (f" ({hint})" if hint else ""))
    return x


def check_temperature(temperature: float) -> float:
    """``float(temperature)`` if it is positive and finite, else a ``ValueError`` (try 0.1 to 1.0)."""
    return check_positive(temperature, "temperature", hint="try 0.1 to 1.0")


def check_embeddings(x: torch.Tensor, name: str, min_rows: int = 1) -> None:
    """``ValueError`` unless ``x`` is a finite floating-point (N, D) tensor with N >= ``min_rows``, D >= 1."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}; wrap it with torch.as_tensor")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D), got shape {tuple(x.shape)}; flatten it first "
                         "(images: x.flatten(1)) or pool it")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has D = 0 features; embeddings need at least one dimension")
    if x.shape[0] < min_rows:
        why = ": a contrastive loss needs negatives, so use a batch of 2 or more samples" if min_rows >= 2 else ""
        raise ValueError(f"{name} has N = {x.shape[0]} rows but at least {min_rows} are needed{why}")
    if not torch.is_floating_point(x):
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; call .float() first")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf; check the encoder output and the learning rate")


def check_pair(z1: torch.Tensor, z2: torch.Tensor) -> None:
    """``ValueError`` unless ``z1`` and ``z2`` are two valid (N, D) embedding batches of one shape, N >= 2."""
    check_same_shape("z1", z1, min_rows=2, z2=z2)


def check_same_shape(first_name: str, first: torch.Tensor, *, min_rows: int = 1, **others: torch.Tensor) -> None:
    """``check_embeddings`` on ``first`` and every tensor in ``others``, then a ``ValueError`` unless all
    have the shape of ``first`` (row i of each belongs to the same sample)."""
    check_embeddings(first, first_name, min_rows)
    for name, x in others.items():
        check_embeddings(x, name, min_rows)
        if x.shape != first.shape:
            raise ValueError(f"{name} must have the same shape as {first_name} {tuple(first.shape)}, got "
                             f"{tuple(x.shape)}; row i of each must belong to the same sample")


def check_features(x: torch.Tensor, name: str) -> None:
    """``ValueError`` unless ``x`` is a finite float (N, D) feature tensor with N, D >= 1 (``check_embeddings``)."""
    check_embeddings(x, name, min_rows=1)


def check_labels(y: torch.Tensor, n: int, name: str) -> None:
    """``ValueError`` unless ``y`` is a 1-D integer tensor of ``n`` class labels, all >= 0."""
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.shape[0] != n:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be a 1-D tensor with one label per row ({n}), got {shape}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class labels, got {y.dtype}; convert with .long()")
    if n and int(y.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0, got {int(y.min())}; number the classes 0, 1, 2, ...")


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
