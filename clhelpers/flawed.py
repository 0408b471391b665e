"""Broken on purpose: faithful reproductions, in our own code, of contrastive losses found in tutorials.

Notebook 03 reproduces each one, detects it with ``clhelpers.checks.check_contrastive_loss`` and fixes
it. Never train with these; the correct losses are in ``clhelpers.losses``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .similarity import check_embeddings, check_pair, check_temperature

__all__ = ["nt_xent_flawed_targets", "nt_xent_no_positives"]


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
    check_pair(z1, z2)
    t = check_temperature(temperature)
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
    check_embeddings(features, "features", min_rows=2)
    t = check_temperature(temperature)
    eye = torch.eye(features.shape[0], dtype=features.dtype, device=features.device)
    e = torch.exp(features @ features.T / t)
    numerator = e - eye
    denominator = e.sum(dim=1) - eye  # broadcasts the row sums along columns, as the tutorial does
    return -torch.log(numerator / denominator).mean()
