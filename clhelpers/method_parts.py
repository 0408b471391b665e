"""The stateful building blocks of the self-supervised methods in ``clhelpers.methods``.

* ``NegativeQueue``: MoCo's FIFO of past keys (registered buffers, so checkpoints hold it).
* ``QueueNTXent``: NT-Xent with a queue of past projections as extra negatives (no momentum encoder).
* ``momentum_update``: the EMA step of a momentum / target network.
* ``negative_cosine``: SimSiam's and BYOL's ``D(p, z)``.

``clhelpers.methods`` re-exports all of them (``from clhelpers.methods import NegativeQueue`` works).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .losses import positive_index
from .similarity import check_embeddings, check_pair, check_temperature, unit_rows

__all__ = ["NegativeQueue", "QueueNTXent", "momentum_update", "negative_cosine"]


class NegativeQueue(nn.Module):
    """A fixed-size FIFO of past keys to use as extra negatives, as in MoCo (He et al., 2020).

    Keys are stored **detached, L2-normalized, float32** (no gradient flows into the past) in a
    registered buffer ``keys`` of shape (size, dim), with the number of valid keys in the buffer
    ``count``: both are in ``state_dict()``. The valid keys are the last ``count`` rows, oldest
    first. Once the queue holds ``size`` keys, each ``enqueue`` drops the oldest ones.
    ``negatives()`` returns the stored keys, ready for ``info_nce(query, key, negatives, t)``.
    """

    def __init__(self, dim: int, size: int = 4096) -> None:
        super().__init__()
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer (the embedding size), got {dim!r}")
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer (how many keys to keep), got {size!r}")
        self.dim, self.size = int(dim), int(size)
        self.register_buffer("keys", torch.zeros(self.size, self.dim))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Append ``keys`` (shape (B, dim)); the oldest keys fall out beyond ``size``."""
        check_embeddings(keys, "keys")
        if keys.shape[1] != self.dim:
            raise ValueError(f"keys have dimension {keys.shape[1]} but this queue stores dimension {self.dim}")
        new = unit_rows(keys.detach()).to(self.keys)
        self.keys.copy_(torch.cat([self.keys, new], dim=0)[-self.size :])
        self.count.fill_(min(len(self) + new.shape[0], self.size))

    @torch.no_grad()
    def dequeue(self, count: int) -> torch.Tensor:
        """Remove and return the ``count`` oldest keys (fewer if the queue holds fewer)."""
        if int(count) != count or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        start, take = self.size - len(self), min(int(count), len(self))
        out = self.keys[start : start + take].clone()
        self.count.sub_(take)
        return out

    def negatives(self) -> torch.Tensor:
        """A copy of the stored keys, oldest first, shape (len(self), dim)."""
        if len(self) == 0:
            raise ValueError("the queue is empty: enqueue some keys before asking for negatives")
        return self.keys[self.size - len(self) :].clone()


class QueueNTXent:
    """NT-Xent whose negatives are extended with a ``NegativeQueue``: callable as ``loss_fn(z1, z2, t)``.

    For each of the 2N views the candidates are the 2N - 1 other views of the batch (exactly as in
    ``nt_xent``) plus the M keys in the queue; the positive is the other view of the same sample.
    After computing the loss, the detached ``z2`` of this batch is enqueued. With an empty queue
    the value equals ``nt_xent``. Unlike ``MoCo`` there is no momentum encoder, so the queued keys
    come from older versions of the same encoder: keep the queue a few batches long.
    """

    def __init__(self, dim: int, size: int = 1024) -> None:
        self.queue = NegativeQueue(dim, size)

    def __call__(self, z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
        check_pair(z1, z2)
        t = check_temperature(temperature)
        if z1.shape[1] != self.queue.dim:
            raise ValueError(f"embeddings have dimension {z1.shape[1]} but the queue stores dimension {self.queue.dim}")
        n = z1.shape[0]
        with torch.autocast(device_type=z1.device.type, enabled=False):
            z = unit_rows(torch.cat([z1, z2], dim=0))
            logits = ((z @ z.T) / t).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
            if len(self.queue):
                logits = torch.cat([logits, z @ self.queue.negatives().to(z).T / t], dim=1)
            loss = F.cross_entropy(logits, positive_index(n, z.device))
        self.queue.enqueue(z2)
        return loss


def _check_momentum(momentum: float) -> float:
    """``float(momentum)`` if it is in [0, 1], else a ``ValueError``."""
    m = float(momentum)
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r} (0.99 to 0.999 is typical)")
    return m


@torch.no_grad()
def momentum_update(target: nn.Module, online: nn.Module, momentum: float = 0.99) -> None:
    """MoCo's momentum (EMA) update, in place: ``theta_target <- m theta_target + (1 - m) theta_online``.

    ``target`` and ``online`` must have the same architecture. Buffers (e.g. BatchNorm running
    statistics) are copied from ``online``. ``momentum=0`` makes the target a copy of ``online``.
    """
    m = _check_momentum(momentum)
    t_params, o_params = list(target.parameters()), list(online.parameters())
    if len(t_params) != len(o_params) or any(a.shape != b.shape for a, b in zip(t_params, o_params)):
        raise ValueError("target and online must have the same architecture (parameters differ in number or shape)")
    for pt, po in zip(t_params, o_params):
        pt.mul_(m).add_(po.detach(), alpha=1.0 - m)
    for bt, bo in zip(target.buffers(), online.buffers()):
        bt.copy_(bo)


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""SimSiam's / BYOL's ``D(p, z) = -mean_b cos(p_b, z_b)``, in float32 (autocast off).

    Ranges from -1 (every prediction points along its target) to 1. BYOL writes the same loss as
    ``2 - 2 cos``: an affine change that moves neither the minimum nor the gradient direction.
    """
    check_pair(p, z)
    with torch.autocast(device_type=p.device.type, enabled=False):
        return -(unit_rows(p) * unit_rows(z)).sum(dim=1).mean()


def _frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` whose parameters never get gradients (a momentum/target network)."""
    twin = copy.deepcopy(module)
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin
