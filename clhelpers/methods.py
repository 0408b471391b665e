"""Self-supervised methods: what one training step computes, as ``nn.Module`` objects with one interface.

A ``Method`` owns the ``encoder`` (the backbone that is evaluated and saved) and whatever else the
method trains or keeps (heads, a momentum encoder, a queue). A training loop needs three calls::

    method = build_method("moco", Encoder(), temperature=0.2, queue_size=4096)
    loss = method(view1, view2, labels)       # a float32 scalar; labels only if method.needs_labels
    loss.backward(); optimizer.step(); method.after_step()

* ``SimCLR``: NT-Xent over the batch (Chen et al., 2020).
* ``SupCon``: the same, with every view of the same class as a positive (Khosla et al., 2020).
* ``MoCo``: InfoNCE against a queue of keys from a momentum encoder (He et al., 2020; v2 head).
* ``SimSiam``: predict the other view's projection, no negatives, stop-gradient (Chen & He, 2021).
* ``BYOL``: SimSiam's loss with a momentum (EMA) target network (Grill et al., 2020).
* ``SimCLRNoHead``: SimCLR with the loss on h itself (no projection head), for the head ablation.
* ``BarlowTwins``: decorrelate the dimensions: cross-correlation of the two views -> identity (Zbontar et al., 2021).
* ``VICReg``: invariance + a variance hinge + a covariance penalty on the batch's embedding (Bardes et al., 2022).
* ``Supervised``: the baseline: cross-entropy of a linear classifier on h, same encoder, same views.

The parts methods share come first: ``NegativeQueue`` (MoCo's FIFO of past keys), ``momentum_update`` (the
EMA step of a momentum / target network) and ``negative_cosine`` (SimSiam's and BYOL's ``D(p, z)``).

Everything a method keeps between steps is a parameter or a registered buffer, so
``method.state_dict()`` (and a checkpoint of it) holds it all and resuming is exact. The losses
run in float32 even under ``torch.autocast(..., dtype=torch.bfloat16)``. Build the method
*before* compiling anything (the momentum encoder is a ``deepcopy`` of the encoder); compiling
``method.encoder`` in place (``method.encoder.compile()``) is the safe way to use ``torch.compile``.
"""
from __future__ import annotations

import copy
import inspect
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .losses import (BarlowTwinsLoss, VICRegLoss, check_tau_plus, debiased_nt_xent, info_nce, nt_xent, nt_xent_masked,
                     supcon, with_temperature)
from .models import PredictionHead, ProjectionHead
from .similarity import unit_rows
from .validate import check_embeddings, check_pair, check_temperature

__all__ = [
    "Method", "SimCLR", "SimCLRNoHead", "SupCon", "MoCo", "SimSiam", "BYOL", "Supervised", "METHODS", "build_method",
    "method_options", "NegativeQueue", "momentum_update", "negative_cosine", "BarlowTwins", "VICReg", "expander",
    "cosine_momentum", "queue_steps", "MOMENTUM_SCHEDULES",
]


# ------------------------------------------------------------------------------ the parts methods share
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

    def negatives(self) -> torch.Tensor:
        """A copy of the stored keys, oldest first, shape (len(self), dim)."""
        if len(self) == 0:
            raise ValueError("the queue is empty: enqueue some keys before asking for negatives")
        return self.keys[self.size - len(self) :].clone()


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


# ------------------------------------------------------------------------------ negative-free recipes (issue 18)
MOMENTUM_SCHEDULES = ("constant", "cosine")


def cosine_momentum(base: float, progress: float) -> float:
    """BYOL's EMA momentum after a fraction ``progress`` (0 to 1) of training: ``1 - (1 - base) (cos(pi p) + 1) / 2``,
    ``base`` at the start, 1 at the end (Grill et al., 2020)."""
    b, p = _check_momentum(base), float(progress)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"progress must be in [0, 1] (the fraction of training done), got {progress!r}")
    return 1.0 - (1.0 - b) * (math.cos(math.pi * p) + 1.0) / 2.0


def queue_steps(queue_size: int, batch_size: int) -> float:
    """How many optimizer steps of keys a MoCo queue of ``queue_size`` keys spans: each step enqueues both views'
    keys, ``2 * batch_size``."""
    if int(queue_size) != queue_size or queue_size < 1 or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"queue_size and batch_size must be positive ints, got {queue_size!r} and {batch_size!r}")
    return queue_size / (2 * batch_size)


def _add_output_bn(method: Method, proj_out_bn: bool) -> None:
    """Append a BatchNorm without affine parameters to ``method.head`` (SimSiam's projector ends with BN)."""
    if not isinstance(proj_out_bn, bool):
        raise ValueError(f"proj_out_bn must be True or False (True: BatchNorm on the head's output), got {proj_out_bn!r}")
    if proj_out_bn:
        method.head = nn.Sequential(method.head, nn.BatchNorm1d(method.out_dim, affine=False))


# ------------------------------------------------------------------------------ the interface
class Method(nn.Module):
    """Base class: an ``encoder`` plus a projection ``head`` (features -> the loss space). ``proj_dim=0``
    means no head: ``head`` is the identity, z = h, and ``out_dim`` (the loss space's size) is feature_dim.

    Subclasses implement ``forward(view1, view2, labels=None) -> loss`` (a float32 scalar) and,
    when they keep state that changes after each optimizer step, ``after_step()``.
    ``needs_labels`` is True when ``forward`` requires the class labels of the batch.
    """

    needs_labels: bool = False

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256) -> None:
        super().__init__()
        feature_dim = getattr(encoder, "feature_dim", None)
        if not isinstance(encoder, nn.Module) or not isinstance(feature_dim, int):
            raise ValueError(
                f"encoder must be an nn.Module with an int .feature_dim (e.g. clhelpers.models.Encoder()), "
                f"got {type(encoder).__name__}"
            )
        self.encoder = encoder
        if int(proj_dim) != proj_dim or proj_dim < 0:
            raise ValueError(f"proj_dim must be an int >= 0 (0 = no projection head, z = h), got {proj_dim!r}")
        self.head = ProjectionHead(feature_dim, hidden_dim, int(proj_dim)) if proj_dim else nn.Identity()
        self.out_dim = int(proj_dim) or feature_dim

    def project(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """``head(encoder(cat([view1, view2])))``, shape (2B, proj_dim): one forward, one BatchNorm batch."""
        if not isinstance(view1, torch.Tensor) or not isinstance(view2, torch.Tensor) or view1.shape != view2.shape:
            shapes = [tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__ for v in (view1, view2)]
            raise ValueError(f"view1 and view2 must be image tensors of one shape (B, C, H, W), got {shapes[0]} and {shapes[1]}")
        return self.head(self.encoder(torch.cat([view1, view2], dim=0)))

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The scalar loss of one batch of view pairs (row i of ``view1`` and ``view2``: one image)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(view1, view2, labels=None)")

    def after_step(self) -> None:
        """Called after ``optimizer.step()``: update what the optimizer does not (no-op by default)."""

    def set_progress(self, progress: float) -> None:
        """Told the fraction of training done (0 to 1) before each ``after_step``, for schedules such as BYOL's
        momentum (no-op by default)."""

    def predictor_parameters(self) -> list[nn.Parameter]:
        """The parameters of a predictor (SimSiam, BYOL), which SimSiam trains at a fixed learning rate; none here."""
        return []

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters the optimizer should update (momentum/target networks excluded)."""
        return [p for p in self.parameters() if p.requires_grad]


class SimCLR(Method):
    """SimCLR: ``nt_xent(z1, z2, temperature)`` with z = head(encoder(view)); the other 2B - 2
    views of the batch are the negatives. ``loss`` replaces NT-Xent (e.g. a pairwise or triplet loss, or
    notebook 03's flawed losses) in the project's one convention, ``loss(z1, z2)`` with the temperature
    passed as a keyword when the loss takes one (``losses.with_temperature``); it gets float32 projections."""

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, temperature: float = 0.2,
                 loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> None:
        super().__init__(encoder, proj_dim, hidden_dim)
        self.temperature = check_temperature(temperature)
        self.loss = None if loss is None else with_temperature(loss, self.temperature)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """NT-Xent (or ``loss``) of the two views' projections (``labels`` is ignored)."""
        z1, z2 = self.project(view1, view2).float().chunk(2)
        return nt_xent(z1, z2, self.temperature) if self.loss is None else self.loss(z1, z2)


class SimCLRNoHead(SimCLR):
    """SimCLR without a projection head: NT-Xent on the backbone features h themselves (z = h, the seed
    tutorial's setup). The same as ``SimCLR(encoder, proj_dim=0)``, under a name a ``TrainConfig`` can
    select (``method="simclr-nohead"``; the configuration's ``proj_dim`` is ignored)."""

    def __init__(self, encoder: nn.Module, temperature: float = 0.2) -> None:
        super().__init__(encoder, proj_dim=0, temperature=temperature)


class SupCon(SimCLR):
    """Supervised contrastive learning: ``supcon(z1, z2, labels, temperature)``; every view of a
    sample with the same label is a positive. Needs the batch's labels."""

    needs_labels = True

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, temperature: float = 0.1) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, temperature)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """SupCon loss of the two views' projections, with ``labels`` of shape (B,)."""
        if labels is None:
            raise ValueError("SupCon needs the class labels of the batch: call method(view1, view2, labels)")
        z1, z2 = self.project(view1, view2).chunk(2)
        return supcon(z1, z2, torch.as_tensor(labels, device=z1.device), self.temperature)


class _MomentumMethod(Method):
    """A method with a momentum copy of encoder + head (MoCo's key encoder, BYOL's target network),
    updated by ``momentum_update`` in ``after_step`` and never by gradients."""

    def __init__(self, encoder: nn.Module, proj_dim: int, hidden_dim: int, momentum: float) -> None:
        super().__init__(encoder, proj_dim, hidden_dim)
        self.momentum = _check_momentum(momentum)
        self.key_encoder = _frozen_copy(self.encoder)
        self.key_head = _frozen_copy(self.head)

    @torch.no_grad()
    def keys(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """Momentum-branch projections of ``cat([view1, view2])``, shape (2B, proj_dim), no gradient."""
        return self.key_head(self.key_encoder(torch.cat([view1, view2], dim=0))).detach()

    def after_step(self) -> None:
        """EMA step of the momentum branch towards the (just updated) online encoder and head."""
        momentum_update(self.key_encoder, self.encoder, self.momentum)
        momentum_update(self.key_head, self.head, self.momentum)


class MoCo(_MomentumMethod):
    """MoCo v2 on one device: queries from encoder + head, keys from their momentum copy, and a
    queue of ``queue_size`` past keys as the negatives.

    Loss (symmetric): ``(info_nce(q1, k2, queue) + info_nce(q2, k1, queue)) / 2``. The keys of the
    batch, **both views' (2B keys per step)**, are enqueued in ``after_step``, so the queue never holds
    the current batch's keys when the loss is computed, and a queue of ``queue_size`` keys spans the last
    ``queue_size / (2B)`` optimizer steps (``queue_steps``; ``TrainConfig.queue_steps`` sets the size in
    steps). The queue starts **full of random unit vectors** (as in the official code), so every step has
    ``queue_size`` negatives; the random ones are pushed out after those ``queue_size / (2B)`` steps. ``momentum=0`` makes the keys come from the query encoder itself
    (the paper's failing ablation). The BatchNorm of the key encoder sees the whole batch (no
    shuffling BN: with one device, shuffling cannot change the batch statistics).
    """

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256,
                 temperature: float = 0.2, momentum: float = 0.99, queue_size: int = 4096) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, momentum)
        self.temperature = check_temperature(temperature)
        self.queue = NegativeQueue(self.out_dim, queue_size)
        self.queue.enqueue(torch.randn(self.queue.size, self.queue.dim))
        self._pending: torch.Tensor | None = None  # this batch's keys, enqueued by after_step

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Symmetric InfoNCE of queries against their keys and the queue (``labels`` is ignored)."""
        q1, q2 = self.project(view1, view2).chunk(2)
        k = self.keys(view1, view2)
        k1, k2 = k.chunk(2)
        negatives = self.queue.keys  # always full (random keys at the start): no .item(), compile-friendly
        loss = (info_nce(q1, k2, negatives, self.temperature) + info_nce(q2, k1, negatives, self.temperature)) / 2
        self._pending = k
        return loss

    def after_step(self) -> None:
        """Momentum update of the key encoder and head, then enqueue this batch's keys (k1, then k2)."""
        super().after_step()
        if self._pending is not None:
            self.queue.enqueue(self._pending)
            self._pending = None


class _Predicting(Method):
    """Adds SimSiam's / BYOL's predictor ``q`` (hidden size ``pred_hidden``, default proj_dim // 4)."""

    def _add_predictor(self, proj_dim: int, pred_hidden: int | None, predictor: bool = True) -> None:
        """Create ``self.predictor``: PredictionHead(proj_dim, pred_hidden or proj_dim // 4), or the identity
        when ``predictor`` is False (p = z)."""
        if not isinstance(predictor, bool):
            raise ValueError(f"predictor must be True or False (False: p = z, no predictor), got {predictor!r}")
        hidden = pred_hidden if pred_hidden is not None else max(proj_dim // 4, 1)
        self.predictor = PredictionHead(proj_dim, hidden) if predictor else nn.Identity()

    def predictor_parameters(self) -> list[nn.Parameter]:
        """The predictor's trainable parameters (empty without a predictor)."""
        return [p for p in self.predictor.parameters() if p.requires_grad]

    @staticmethod
    def symmetric_loss(p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(D(p1, t2) + D(p2, t1)) / 2`` for stacked (2B, d) predictions and targets."""
        p1, p2 = p.chunk(2)
        t1, t2 = target.chunk(2)
        return (negative_cosine(p1, t2) + negative_cosine(p2, t1)) / 2


class SimSiam(_Predicting):
    """SimSiam: z = head(encoder(view)), p = predictor(z), and

    ``L = (D(p1, stopgrad(z2)) + D(p2, stopgrad(z1))) / 2`` with ``D = negative_cosine``.

    No negatives: the stop-gradient (with the predictor) is what prevents collapse.
    ``stop_gradient=False`` lets gradients flow into the target branch too: the collapse demo
    (watch ``metrics.embedding_std`` fall towards 0). ``predictor=False`` drops the predictor (p = z):
    Chen & He (2021, Table 1) report that SimSiam then collapses even with the stop-gradient.
    ``proj_out_bn=True`` ends the projection head with a BatchNorm without affine parameters, as in the paper's
    projector (BN on its output too).
    """

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, pred_hidden: int | None = None,
                 stop_gradient: bool = True, predictor: bool = True, proj_out_bn: bool = False) -> None:
        super().__init__(encoder, proj_dim, hidden_dim)
        _add_output_bn(self, proj_out_bn)
        self._add_predictor(self.out_dim, pred_hidden, predictor)
        self.stop_gradient = bool(stop_gradient)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Symmetric negative cosine between each view's prediction and the other view's projection."""
        z = self.project(view1, view2)
        return self.symmetric_loss(self.predictor(z), z.detach() if self.stop_gradient else z)


class BYOL(_MomentumMethod, _Predicting):
    """BYOL: SimSiam's loss, but the targets come from a momentum (EMA) copy of encoder + head:

    ``L = (D(p1, t2) + D(p2, t1)) / 2`` with p = predictor(head(encoder(view))) and
    t = key_head(key_encoder(view)) (the "target network", never trained by gradients).
    ``momentum_schedule="cosine"`` raises the EMA momentum from ``momentum`` (the base) to 1 over training,
    ``1 - (1 - base) (cos(pi progress) + 1) / 2`` (Grill et al., 2020; ``cosine_momentum``), as ``set_progress``
    is told; ``"constant"`` keeps it at ``momentum``. ``predictor=False`` drops the predictor (p = z).
    """

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, pred_hidden: int | None = None,
                 momentum: float = 0.99, predictor: bool = True, momentum_schedule: str = "constant") -> None:
        super().__init__(encoder, proj_dim, hidden_dim, momentum)
        self._add_predictor(self.out_dim, pred_hidden, predictor)
        if momentum_schedule not in MOMENTUM_SCHEDULES:
            raise ValueError(f"momentum_schedule must be one of {MOMENTUM_SCHEDULES}, got {momentum_schedule!r} "
                             "(cosine: from momentum to 1, as BYOL)")
        self.base_momentum, self.momentum_schedule = self.momentum, momentum_schedule

    def set_progress(self, progress: float) -> None:
        """With the cosine schedule, set ``momentum`` for the next EMA step from the fraction of training done."""
        if self.momentum_schedule == "cosine":
            self.momentum = cosine_momentum(self.base_momentum, progress)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Symmetric negative cosine between each view's prediction and the other view's target."""
        return self.symmetric_loss(self.predictor(self.project(view1, view2)), self.keys(view1, view2))


class Supervised(Method):
    """The supervised baseline: the same encoder, a linear classifier on h (no projection head) and
    ``(CE(W h1 + b, y) + CE(W h2 + b, y)) / 2`` over both views of the batch. Needs the labels."""

    needs_labels = True

    def __init__(self, encoder: nn.Module, num_classes: int = 10) -> None:
        super().__init__(encoder, proj_dim=0)
        if int(num_classes) != num_classes or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2 (labels are 0 .. num_classes - 1), got {num_classes!r}")
        self.classifier = nn.Linear(self.encoder.feature_dim, int(num_classes))

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy of both views' logits against ``labels`` (B,), in float32."""
        if labels is None:
            raise ValueError("Supervised needs the class labels of the batch: call method(view1, view2, labels)")
        logits = self.classifier(self.project(view1, view2)).float()
        return F.cross_entropy(logits, torch.as_tensor(labels, device=logits.device).long().repeat(2))


# ------------------------------------------------------------------------------ redundancy reduction
def expander(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Barlow Twins' projector / VICReg's expander, scaled down: Linear-BN-ReLU, Linear-BN-ReLU, Linear
    (the papers use 8192 units in each of the three layers; here ``hidden_dim`` and ``out_dim``)."""
    for name, value in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive int (a layer width), got {value!r}")
    layers: list[nn.Module] = []
    for a, b in ((int(in_dim), int(hidden_dim)), (int(hidden_dim), int(hidden_dim))):
        layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.Linear(int(hidden_dim), int(out_dim)))


class _RedundancyReduction(Method):
    """Symmetric, no negatives, no momentum network, no predictor: one ``expander`` as the head, and a loss on
    the statistics of the batch's two embeddings (``self.criterion``, a loss object with its options, float32)."""

    def __init__(self, encoder: nn.Module, proj_dim: int, hidden_dim: int, criterion: nn.Module) -> None:
        super().__init__(encoder, proj_dim, hidden_dim)
        if proj_dim:
            self.head = expander(self.encoder.feature_dim, hidden_dim, proj_dim)
        self.criterion = criterion

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of the two views' embeddings z = expander(encoder(view)) (``labels`` is ignored)."""
        z1, z2 = self.project(view1, view2).float().chunk(2)
        return self.criterion(z1, z2)


class BarlowTwins(_RedundancyReduction):
    """Barlow Twins (Zbontar et al., 2021): ``barlow_twins_loss(z1, z2, lambda_offdiag=...)``, the cross-correlation
    of the two views' embeddings pulled towards the identity matrix. ``lambda_offdiag``: the weight of the
    off-diagonal (redundancy) term."""

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, lambda_offdiag: float = 5e-3) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, BarlowTwinsLoss(lambda_offdiag))


class VICReg(_RedundancyReduction):
    """VICReg (Bardes et al., 2022): ``vicreg_loss(z1, z2, sim_weight, var_weight, cov_weight)``: invariance (MSE),
    a hinge keeping each dimension's std >= 1 and a penalty on the off-diagonal covariances."""

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, sim_weight: float = 25.0,
                 var_weight: float = 25.0, cov_weight: float = 1.0) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, VICRegLoss(sim_weight, var_weight, cov_weight))


# ------------------------------------------------------------------------------ registry
METHODS: dict[str, type[Method]] = {"simclr": SimCLR, "simclr-nohead": SimCLRNoHead, "supcon": SupCon, "moco": MoCo,
                                    "simsiam": SimSiam, "byol": BYOL, "supervised": Supervised,
                                    "barlow_twins": BarlowTwins, "vicreg": VICReg}


def method_options(name: str) -> list[str]:
    """The keyword options ``build_method(name, encoder, ...)`` passes on to the method."""
    cls = _method_class(name)
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "encoder")]


def _method_class(name: str) -> type[Method]:
    """``METHODS[name]`` (any case), or a ``ValueError`` listing the names."""
    key = str(name).strip().lower()
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(sorted(METHODS))}")
    return METHODS[key]


def build_method(name: str, encoder: nn.Module, **options: object) -> Method:
    """Build ``METHODS[name](encoder, **accepted)``, where ``accepted`` are the ``options`` the method
    takes (``method_options(name)``); the others are ignored, so one training configuration can
    hold every method's settings (e.g. ``temperature`` is dropped for SimSiam, ``queue_size`` for
    SimCLR). Options set to ``None`` are dropped too (the method's default applies).
    """
    cls = _method_class(name)
    accepted = set(method_options(name))
    return cls(encoder, **{k: v for k, v in options.items() if k in accepted and v is not None})


# ------------------------------------------------------------------------------ false negatives (notebook 07)
class DebiasedSimCLR(SimCLR):
    """SimCLR with the debiased contrastive loss of Chuang et al. (2020): ``debiased_nt_xent(z1, z2, temperature,
    tau_plus=tau_plus)``. No labels: ``tau_plus`` is the assumed chance that a negative is the anchor's class
    (0.1 for 10 balanced classes; 0 is SimCLR)."""

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, temperature: float = 0.2,
                 tau_plus: float = 0.1) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, temperature)
        self.tau_plus = check_tau_plus(tau_plus)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The debiased loss of the two views' projections (``labels`` is ignored)."""
        z1, z2 = self.project(view1, view2).float().chunk(2)
        return debiased_nt_xent(z1, z2, self.temperature, tau_plus=self.tau_plus)


class MaskedSimCLR(SimCLR):
    """SimCLR with the same-class negatives taken out of NT-Xent's denominator: ``nt_xent_masked(z1, z2, labels,
    temperature)``. Needs the batch's labels, so it is not self-supervised (the SupCon view of the negatives,
    without SupCon's extra positives)."""

    needs_labels = True

    def __init__(self, encoder: nn.Module, proj_dim: int = 64, hidden_dim: int = 256, temperature: float = 0.2) -> None:
        super().__init__(encoder, proj_dim, hidden_dim, temperature)

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Masked NT-Xent of the two views' projections, with ``labels`` of shape (B,)."""
        if labels is None:
            raise ValueError("MaskedSimCLR needs the class labels of the batch: call method(view1, view2, labels)")
        z1, z2 = self.project(view1, view2).float().chunk(2)
        return nt_xent_masked(z1, z2, torch.as_tensor(labels, device=z1.device), self.temperature)


METHODS.update({"debiased": DebiasedSimCLR, "simclr-masked": MaskedSimCLR})
__all__ += ["DebiasedSimCLR", "MaskedSimCLR"]
