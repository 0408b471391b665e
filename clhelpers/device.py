"""Pick a compute device and make runs repeatable."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def pick_device(prefer: str = "auto") -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` may be ``"auto"`` (default), ``"cuda"``, ``"mps"`` or ``"cpu"``. Asking for a
    device that is not available raises ``ValueError`` instead of failing later inside torch.
    """
    prefer = prefer.lower()
    if prefer not in {"auto", "cuda", "mps", "cpu"}:
        raise ValueError(f"unknown device {prefer!r}: use 'auto', 'cuda', 'mps' or 'cpu'")
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if prefer == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if prefer == "mps" and not has_mps:
        raise ValueError("device 'mps' was requested but it is not available; use 'auto' or 'cpu'")
    if prefer != "auto":
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if has_mps:
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator`` seeded alike."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return torch.Generator().manual_seed(seed)
