"""The input checks shared by every loss, metric and method.

Every function here validates one kind of input, so a wrong shape, dtype or temperature fails the
same way everywhere: a ``ValueError`` that says what was wrong and how to fix it.
"""
from __future__ import annotations

import torch

__all__ = ["check_positive", "check_temperature", "check_embeddings", "check_pair", "check_same_shape",
           "check_features", "check_labels"]


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
