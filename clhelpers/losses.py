"""Contrastive losses, written to be read next to their formulas.

Conventions used throughout:

* ``z1`` and ``z2`` have shape (N, D): row i of ``z1`` and row i of ``z2`` are two views of the
  same sample (a *positive pair*). Any D >= 1 works.
* Embeddings are L2-normalized inside the loss, so similarities are cosines in [-1, 1] and the
  loss does not depend on the scale of its inputs.
* ``temperature`` (tau) divides the cosine similarities before the softmax.
* Losses return the mean over anchors as a 0-dim tensor.

Each loss is a function (``nt_xent(z1, z2, 0.2)``); those a training loop uses also come as loss
objects with the options fixed at construction (``NTXentLoss(0.2)(z1, z2)``, ``SupConLoss``,
``InfoNCELoss``, ``PairContrastiveLoss``, ``TripletLoss``) that call the functions.

Faithful reproductions of broken tutorial losses live apart, in ``clhelpers.flawed``.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .similarity import unit_rows
from .validate import check_embeddings, check_labels, check_pair, check_positive, check_same_shape, check_temperature

__all__ = [
    "nt_xent", "nt_xent_by_definition", "info_nce",
    "positive_index", "collapse_value", "nt_xent_floor", "pair_contrastive_loss", "pair_in_batch", "triplet_loss",
    "triplet_in_batch", "supcon_loss", "supcon", "NTXentLoss", "SupConLoss", "InfoNCELoss", "PairContrastiveLoss",
    "TripletLoss", "takes_temperature", "with_temperature",
    "standardize_columns", "cross_correlation", "barlow_twins_loss", "vicreg_terms", "vicreg_loss", "BarlowTwinsLoss",
    "VICRegLoss",
]


def positive_index(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Index of each view's positive among the 2N stacked views: i <-> i + N (mod 2N)."""
    return (torch.arange(2 * n, device=device) + n) % (2 * n)


# --------------------------------------------------------------------------- the calling convention
def takes_temperature(loss: Callable) -> bool:
    """True when ``loss`` accepts a ``temperature`` keyword (``nt_xent``, the flawed losses), False for a loss
    object that carries its own (``NTXentLoss(0.2)``) or a loss without one (``pair_in_batch``)."""
    try:  # a module's __call__ reads (*args, **kwargs): what it takes is its forward's signature
        params = inspect.signature(loss.forward if isinstance(loss, nn.Module) else loss).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    return "temperature" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def with_temperature(loss: Callable, temperature: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The project's one loss convention, applied: data at call, options as keywords or at construction.

    A pair loss is ``loss(z1, z2) -> scalar``; its temperature is either a keyword (``nt_xent(z1, z2,
    temperature=0.2)``) or fixed at construction (``NTXentLoss(0.2)(z1, z2)``). This returns
    ``loss(z1, z2, temperature=temperature)`` as a two-argument callable when ``loss`` takes the keyword,
    and ``loss`` itself otherwise. The engine (``SimCLR(loss=...)``) and the check suite both call losses
    through it, so a loss the check suite passes can be handed to ``train(loss=...)`` as it is.
    """
    if not callable(loss):
        raise ValueError(f"loss must be callable as loss(z1, z2) -> scalar tensor, got {type(loss).__name__}")
    check_temperature(temperature)
    if not takes_temperature(loss):
        return loss
    return functools.partial(loss, temperature=temperature)


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
    check_pair(z1, z2)
    t = check_temperature(temperature)
    n = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = unit_rows(torch.cat([z1, z2], dim=0))
        logits = (z @ z.T) / t
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(self_mask, float("-inf"))
        return F.cross_entropy(logits, positive_index(n, z.device))


def nt_xent_by_definition(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent computed term by term with Python loops, exactly as the formula in ``nt_xent`` reads.

    Slow and numerically naive (plain ``exp``; it overflows in float32 below tau of about 0.011):
    it exists so tests and notebooks can check the fast version against the definition.
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
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


def info_nce(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    r"""InfoNCE with explicit negatives (van den Oord et al., 2018).

    ``query`` and ``positive`` have shape (B, D). ``negatives`` is either (M, D), shared by every
    query (as in MoCo's queue), or (B, M, D), one set per query. With normalized vectors,

    .. math::
        \ell_b = -\log \frac{\exp(q_b \cdot k_b^+ / \tau)}
                 {\exp(q_b \cdot k_b^+ / \tau) + \sum_{m} \exp(q_b \cdot k_{b,m}^- / \tau)}

    and the mean over b is returned. It is cross-entropy over M + 1 logits with the positive at
    index 0. NT-Xent is the special case where the negatives are the other views in the batch.
    """
    check_same_shape("query", query, positive=positive)
    if not isinstance(negatives, torch.Tensor) or negatives.dim() not in (2, 3):
        raise ValueError("negatives must be a tensor of shape (M, D) or (B, M, D)")
    b, d = query.shape
    if negatives.shape[-1] != d or negatives.shape[-2] == 0 or (negatives.dim() == 3 and negatives.shape[0] != b):
        raise ValueError(f"negatives must have shape (M, {d}) or ({b}, M, {d}) with M >= 1, got {tuple(negatives.shape)}")
    check_embeddings(negatives.reshape(-1, d), "negatives")
    t = check_temperature(temperature)
    with torch.autocast(device_type=query.device.type, enabled=False):
        q, k = unit_rows(query), unit_rows(positive)
        neg = unit_rows(negatives.reshape(-1, d)).reshape(negatives.shape)
        pos_logit = (q * k).sum(dim=1, keepdim=True)
        neg_logits = q @ neg.T if neg.dim() == 2 else torch.einsum("bd,bmd->bm", q, neg)
        logits = torch.cat([pos_logit, neg_logits], dim=1) / t
        return F.cross_entropy(logits, torch.zeros(b, dtype=torch.long, device=q.device))


def collapse_value(n: int) -> float:
    """NT-Xent of a fully collapsed batch of N pairs: ``log(2N - 1)`` (all 2N - 1 candidates tie)."""
    if n < 2:
        raise ValueError(f"N must be at least 2, got {n}")
    return math.log(2 * n - 1)


def nt_xent_floor(n: int, temperature: float) -> float:
    """The least NT-Xent any N pairs of unit vectors can score: ``log(1 + (2N - 2) exp(-(1 + 1/(N-1)) / t))``.

    Jensen twice: L >= log(1 + (2N - 2) exp((m - a) / t)), m the mean negative and a the mean positive cosine;
    0 <= ``|sum of the 2N vectors|^2`` gives m >= -(1 + a) / (2N - 2), so m - a >= -1 - 1/(N-1) (worst at a = 1).
    Reached when each positive equals its anchor and the N points form a regular simplex (cosines -1/(N-1)).
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n must be an int >= 2 (the number of positive pairs; N = 1 has no negatives), got {n!r}")
    t = check_temperature(temperature)
    n = int(n)
    return math.log1p((2 * n - 2) * math.exp(-(1 + 1 / (n - 1)) / t))


# =========================================================================== Beyond NT-Xent
def _check_margin(margin: float) -> float:
    return check_positive(margin, "margin", hint="distances of unit vectors lie in [0, 2]")


def pair_contrastive_loss(x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    r"""Margin-based pairwise contrastive loss (Hadsell, Chopra & LeCun, 2006).

    Row i of ``x1`` and of ``x2`` form one pair; ``same[i]`` is 1 (or True) for a similar pair
    and 0 for a dissimilar one. Rows are **L2-normalized first**, so the Euclidean distance
    ``d_i = ||u_i - v_i||`` lies in [0, 2] (orthogonal vectors: sqrt(2)), and

    .. math::
        \ell_i = y_i \, \tfrac12 d_i^2 + (1 - y_i) \, \tfrac12 \max(0, m - d_i)^2, \qquad
        L = \frac{1}{N} \sum_i \ell_i

    Similar pairs are pulled together; dissimilar pairs are pushed apart only until they are
    ``m`` apart (the margin), after which they cost nothing. Note the paper's label convention is
    the opposite (its Y = 0 means similar); here ``same = 1`` means similar.
    """
    check_same_shape("x1", x1, x2=x2)
    m = _check_margin(margin)
    same = torch.as_tensor(same, device=x1.device)
    if same.shape != (x1.shape[0],):
        raise ValueError(f"same must have shape ({x1.shape[0]},), one 0/1 flag per pair, got {tuple(same.shape)}")
    same = same.float()
    if not bool(((same == 0) | (same == 1)).all()):
        raise ValueError("same must contain only 0/1 (or False/True): 1 marks a similar pair, 0 a dissimilar one")
    with torch.autocast(device_type=x1.device.type, enabled=False):
        d = (unit_rows(x1) - unit_rows(x2)).norm(dim=1)
        pull = 0.5 * d.pow(2)
        push = 0.5 * torch.clamp(m - d, min=0).pow(2)
        return (same * pull + (1 - same) * push).mean()


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    r"""Triplet loss in the style of FaceNet (Schroff, Kalenichenko & Philbin, 2015).

    Rows are **L2-normalized first** (FaceNet's embeddings live on the unit sphere too). With
    squared distances ``d(a, b) = ||a - b||^2`` (in [0, 4]),

    .. math::
        \ell_i = \max\bigl(0,\; d(a_i, p_i) - d(a_i, n_i) + \alpha\bigr), \qquad
        L = \frac{1}{N} \sum_i \ell_i

    A triplet stops contributing once its negative is at least ``alpha`` (the margin) farther
    from the anchor than its positive. Choosing which negative goes with which anchor (the
    "mining") is the caller's job: see ``triplet_in_batch`` for a ready-made choice.
    """
    check_same_shape("anchor", anchor, positive=positive, negative=negative)
    alpha = _check_margin(margin)
    with torch.autocast(device_type=anchor.device.type, enabled=False):
        a, p, n = unit_rows(anchor), unit_rows(positive), unit_rows(negative)
        d_ap = (a - p).pow(2).sum(dim=1)
        d_an = (a - n).pow(2).sum(dim=1)
        return torch.clamp(d_ap - d_an + alpha, min=0).mean()


def pair_in_batch(z1: torch.Tensor, z2: torch.Tensor, *, margin: float = 1.0) -> torch.Tensor:
    """``pair_contrastive_loss`` on a batch of positive pairs, with in-batch dissimilar pairs.

    The N similar pairs are ``(z1[i], z2[i])``; the N dissimilar pairs are ``(z1[i], z2[i+1 mod N])``
    (each sample against its neighbour in the batch, which, in a shuffled batch, is a random other
    sample). There is no temperature in this loss; ``margin`` is keyword-only.
    """
    check_pair(z1, z2)
    n = z1.shape[0]
    same = torch.cat([torch.ones(n, device=z1.device), torch.zeros(n, device=z1.device)])
    others = torch.roll(z2, shifts=-1, dims=0)  # z2[i + 1 mod N]
    return pair_contrastive_loss(torch.cat([z1, z1]), torch.cat([z2, others]), same, margin=margin)


def triplet_in_batch(z1: torch.Tensor, z2: torch.Tensor, *, margin: float = 0.2, mining: str = "semi-hard") -> torch.Tensor:
    """``triplet_loss`` on a batch of positive pairs: anchor ``z1[i]``, positive ``z2[i]``, a negative
    ``z2[j]`` (j != i) mined in the batch. ``mining="semi-hard"`` (FaceNet, Schroff et al., 2015): the
    closest negative that is still farther from the anchor than the positive (if none is, the farthest
    negative); ``"hardest"``: the closest negative, which FaceNet reports collapses early training.
    There is no temperature in a triplet loss; ``margin`` and ``mining`` are keyword-only.
    """
    check_pair(z1, z2)
    if mining not in ("semi-hard", "hardest"):
        raise ValueError(f"mining must be 'semi-hard' or 'hardest', got {mining!r}")
    with torch.no_grad():
        d = torch.cdist(unit_rows(z1), unit_rows(z2)).pow(2)
        d_pos = d.diagonal().clone()[:, None]
        d.fill_diagonal_(float("inf"))
        if mining == "hardest":
            negative = d.argmin(dim=1)
        else:
            farther = d.masked_fill(d <= d_pos, float("inf"))
            fallback = d.masked_fill(d.isinf(), -1.0).argmax(dim=1)
            negative = torch.where(farther.isfinite().any(dim=1), farther.argmin(dim=1), fallback)
    return triplet_loss(z1, z2, z2[negative], margin=margin)


def supcon_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    r"""Supervised contrastive loss, the L_out variant (Khosla et al., 2020).

    ``z`` has shape (M, D) (all views stacked) and ``labels`` shape (M,). For anchor i, the
    positives P(i) are all *other* rows with the same label and A(i) is every row but i. With
    normalized rows and ``s_ij = z_i . z_j / tau``,

    .. math::
        \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
                 \log \frac{\exp(s_{ip})}{\sum_{a \in A(i)} \exp(s_{ia})}, \qquad
        L = \frac{1}{|I|} \sum_{i \in I} \ell_i

    The average over positives sits *outside* the log (L_out, the variant the paper found to
    train better). I is the set of anchors with at least one positive: a row whose label occurs
    only once has nothing to be pulled towards and is skipped. With two views per sample and all
    labels unique this is exactly NT-Xent (see ``supcon``).
    """
    check_embeddings(z, "z", min_rows=2)
    t = check_temperature(temperature)
    labels = torch.as_tensor(labels, device=z.device)
    check_labels(labels, z.shape[0], "labels")
    m = z.shape[0]
    self_mask = torch.eye(m, dtype=torch.bool, device=z.device)
    pos_mask = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos_mask.sum(dim=1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        raise ValueError("no row of z has a positive (every label occurs once); give each sample two views or repeat labels")
    with torch.autocast(device_type=z.device.type, enabled=False):
        u = unit_rows(z)
        logits = ((u @ u.T) / t).masked_fill(self_mask, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        log_prob = log_prob.masked_fill(~pos_mask, 0.0)  # also removes the -inf diagonal
        per_anchor = -log_prob.sum(dim=1)[has_pos] / n_pos[has_pos]
        return per_anchor.mean()


def supcon(z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """``supcon_loss`` on two views: stacks ``[z1; z2]`` and repeats ``labels`` (shape (N,)).

    Each sample's other view is always a positive, plus every view of every sample with the same
    label. With unique labels (e.g. ``torch.arange(N)``) it equals ``nt_xent(z1, z2, temperature)``.
    """
    check_pair(z1, z2)
    labels = torch.as_tensor(labels, device=z1.device)
    check_labels(labels, z1.shape[0], "labels")
    return supcon_loss(torch.cat([z1, z2], dim=0), torch.cat([labels, labels]), temperature)


# =========================================================================== loss objects
# Options at construction (validated there), data at call; thin nn.Modules over the functions above.
class _OptionsLoss(nn.Module):
    """Base of the loss objects: keeps the options (validated by the subclass) as attributes; ``repr`` shows them."""

    def __init__(self, **options: float) -> None:
        super().__init__()
        self._option_names = tuple(options)
        for name, value in options.items():
            setattr(self, name, value)

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._option_names)


class NTXentLoss(_OptionsLoss):
    r"""NT-Xent (SimCLR) as a module: ``NTXentLoss(temperature=0.5)(z1, z2) == nt_xent(z1, z2, temperature)``.

    .. math:: L = \frac{1}{2N} \sum_{i=1}^{2N} -\log \frac{\exp(s_{i,p(i)})}{\sum_{k \ne i} \exp(s_{ik})},
              \qquad s_{ik} = \hat z_i \cdot \hat z_k / \tau
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__(temperature=check_temperature(temperature))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return nt_xent(z1, z2, self.temperature)


class SupConLoss(_OptionsLoss):
    r"""Supervised contrastive loss (L_out) on two views: ``SupConLoss(0.1)(z1, z2, labels)``, see ``supcon``.

    .. math:: L = \frac{1}{|I|} \sum_{i \in I} \frac{-1}{|P(i)|} \sum_{p \in P(i)}
              \log \frac{\exp(s_{ip})}{\sum_{a \ne i} \exp(s_{ia})}
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__(temperature=check_temperature(temperature))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return supcon(z1, z2, labels, self.temperature)


class InfoNCELoss(_OptionsLoss):
    r"""InfoNCE with explicit negatives: ``InfoNCELoss(0.2)(query, positive, negatives)``, see ``info_nce``.

    .. math:: L = \frac{1}{B} \sum_b -\log \frac{e^{q_b \cdot k_b^+ / \tau}}
              {e^{q_b \cdot k_b^+ / \tau} + \sum_m e^{q_b \cdot k_{b,m}^- / \tau}}
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__(temperature=check_temperature(temperature))

    def forward(self, query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        return info_nce(query, positive, negatives, self.temperature)


class PairContrastiveLoss(_OptionsLoss):
    r"""Margin pair loss with in-batch dissimilar pairs: ``PairContrastiveLoss(1.0)(z1, z2)``, see ``pair_in_batch``.

    Unit rows, ``d_i = ||u_i - v_i||``; similar (y = 1): ``(z1[i], z2[i])``, dissimilar: ``(z1[i], z2[i+1 mod N])``:

    .. math:: \ell_i = y_i \tfrac12 d_i^2 + (1 - y_i) \tfrac12 \max(0, m - d_i)^2
    """

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(margin=_check_margin(margin))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return pair_in_batch(z1, z2, margin=self.margin)


class TripletLoss(_OptionsLoss):
    r"""Triplet loss with an in-batch negative: ``TripletLoss(0.2)(z1, z2)``, see ``triplet_in_batch``.

    Unit rows, ``d(a, b) = ||a - b||^2``, anchor ``z1[i]``, positive ``z2[i]``, negative ``z2[j]`` (j != i, semi-hard):

    .. math:: L = \frac{1}{N} \sum_i \max\bigl(0, d(a_i, p_i) - d(a_i, n_i) + \alpha\bigr)
    """

    def __init__(self, margin: float = 0.2, mining: str = "semi-hard") -> None:
        if mining not in ("semi-hard", "hardest"):
            raise ValueError(f"mining must be 'semi-hard' or 'hardest', got {mining!r}")
        super().__init__(margin=_check_margin(margin), mining=mining)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return triplet_in_batch(z1, z2, margin=self.margin, mining=self.mining)



# =========================================================================== Redundancy reduction
# No negatives and no asymmetry: these losses look at the statistics of the batch's embedding, one column (one
# dimension) at a time, and keep every dimension informative and decorrelated from the others. They take no
# temperature (``takes_temperature`` is False for them); their options are keyword-only or fixed at construction.
BN_EPS = 1e-5  # added to each column's variance before dividing, as BatchNorm does (a constant column stays finite)
VICREG_EPS = 1e-4  # added to each column's variance under VICReg's square root (a constant column has std 0.01)


def _check_redundancy_pair(z1: torch.Tensor, z2: torch.Tensor) -> None:
    """``ValueError`` unless z1, z2 are finite float (N, D) batches of one shape with N >= 2 (batch statistics)."""
    check_same_shape("z1", z1, min_rows=1, z2=z2)
    if z1.shape[0] < 2:
        raise ValueError(f"z1 and z2 have N = {z1.shape[0]} row: these losses use the mean and spread of each "
                         "dimension over the batch, so give a batch of 2 or more samples (dozens in practice)")


def _check_weight(value: float, name: str) -> float:
    """``float(value)`` if it is a finite number >= 0 (0 switches a term off), else a ``ValueError``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if not (0 <= x < float("inf")):
        raise ValueError(f"{name} must be a finite number >= 0 (0 switches its term off), got {value!r}")
    return x


def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 (float64 stays float64): the statistics of the batch are never taken in half precision."""
    return x if x.dtype == torch.float64 else x.float()


def standardize_columns(z: torch.Tensor) -> torch.Tensor:
    """Each column of ``z`` (N, D) minus its batch mean, divided by ``sqrt(var + BN_EPS)`` (biased variance, as
    ``BatchNorm1d(affine=False)`` in training mode): every dimension gets mean 0 and variance (nearly) 1."""
    check_embeddings(z, "z", min_rows=2)
    z = _wide(z)
    centred = z - z.mean(dim=0, keepdim=True)
    return centred / torch.sqrt(centred.pow(2).mean(dim=0, keepdim=True) + BN_EPS)


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    r"""The (D, D) cross-correlation matrix of two batches: ``C_ij = (1/N) sum_b a_bi c_bj`` with a, c the
    column-standardized ``z1``, ``z2`` (``standardize_columns``). Entries lie in [-1, 1]; ``C_ii`` is the
    correlation of dimension i between the two views, ``C_ij`` (i != j) how much dimension i of one view
    predicts dimension j of the other."""
    _check_redundancy_pair(z1, z2)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        return standardize_columns(z1).T @ standardize_columns(z2) / z1.shape[0]


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, *, lambda_offdiag: float = 5e-3) -> torch.Tensor:
    r"""Barlow Twins' redundancy-reduction loss (Zbontar et al., 2021), on the (D, D) cross-correlation C of
    the two views' embeddings (``cross_correlation``: each dimension standardized over the batch):

    .. math:: L = \sum_i (1 - C_{ii})^2 + \lambda \sum_i \sum_{j \ne i} C_{ij}^2

    The first sum (invariance) wants each dimension to agree between the two views; the second (redundancy
    reduction) wants different dimensions to be uncorrelated, so the D dimensions carry different information.
    A collapsed batch (every row the same) has C = 0 and costs D. ``lambda_offdiag``: the paper's 5e-3 (found
    with D = 8192). Computed in float32 with autocast off; invariant to a per-dimension affine change of inputs.
    """
    lam = _check_weight(lambda_offdiag, "lambda_offdiag")
    c = cross_correlation(z1, z2)
    on_diag = (1 - torch.diagonal(c)).pow(2).sum()
    off_diag = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on_diag + lam * off_diag


def vicreg_terms(z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
    r"""VICReg's three unweighted terms (Bardes et al., 2022), each a 0-dim float32 tensor:

    * ``invariance``: ``mean_{b,d} (z1_bd - z2_bd)^2``, the mean squared error between the views;
    * ``variance``: the mean over dimensions d of ``max(0, 1 - sqrt(Var_b(z_bd) + eps))`` (unbiased variance,
      ``eps = VICREG_EPS``), averaged over the two views: a hinge that keeps each dimension's std at 1 or more;
    * ``covariance``: ``(1/D) sum_{i != j} Cov(z)_ij^2`` summed over the two views: pushes the off-diagonal
      covariances (over the batch, unbiased) towards 0, decorrelating the dimensions.
    """
    _check_redundancy_pair(z1, z2)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z1, z2 = _wide(z1), _wide(z2)
        n, d = z1.shape
        variance, covariance = z1.new_zeros(()), z1.new_zeros(())
        for z in (z1, z2):
            centred = z - z.mean(dim=0, keepdim=True)
            std = torch.sqrt(centred.pow(2).sum(dim=0) / (n - 1) + VICREG_EPS)
            variance = variance + F.relu(1 - std).mean() / 2
            cov = centred.T @ centred / (n - 1)
            covariance = covariance + (cov.pow(2).sum() - torch.diagonal(cov).pow(2).sum()) / d
        return {"invariance": F.mse_loss(z1, z2), "variance": variance, "covariance": covariance}


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, *, sim_weight: float = 25.0, var_weight: float = 25.0,
                cov_weight: float = 1.0) -> torch.Tensor:
    r"""VICReg, variance-invariance-covariance regularization (Bardes et al., 2022), with the terms of
    ``vicreg_terms`` and the paper's weights (lambda = mu = 25, nu = 1) as defaults:

    .. math:: L = \lambda\, s(Z, Z') + \mu\, \tfrac12 [v(Z) + v(Z')] + \nu\, [c(Z) + c(Z')]

    s: mean squared error; v: hinge on each dimension's std; c: sum of squared off-diagonal covariances / D.
    The raw embeddings are used (no normalization): the variance term fixes the scale. A collapsed batch
    costs about ``var_weight`` (each std is ~0, each hinge ~1).
    """
    weights = [_check_weight(w, name) for w, name in ((sim_weight, "sim_weight"), (var_weight, "var_weight"),
                                                        (cov_weight, "cov_weight"))]
    terms = vicreg_terms(z1, z2)
    return weights[0] * terms["invariance"] + weights[1] * terms["variance"] + weights[2] * terms["covariance"]


class BarlowTwinsLoss(_OptionsLoss):
    r"""Barlow Twins as a module: ``BarlowTwinsLoss(lambda_offdiag=5e-3)(z1, z2)``, see ``barlow_twins_loss``.

    .. math:: L = \sum_i (1 - C_{ii})^2 + \lambda \sum_{i \ne j} C_{ij}^2
    """

    def __init__(self, lambda_offdiag: float = 5e-3) -> None:
        super().__init__(lambda_offdiag=_check_weight(lambda_offdiag, "lambda_offdiag"))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return barlow_twins_loss(z1, z2, lambda_offdiag=self.lambda_offdiag)


class VICRegLoss(_OptionsLoss):
    r"""VICReg as a module: ``VICRegLoss(sim_weight=25, var_weight=25, cov_weight=1)(z1, z2)``, see ``vicreg_loss``.

    .. math:: L = \lambda\, s(Z, Z') + \mu\, \tfrac12 [v(Z) + v(Z')] + \nu\, [c(Z) + c(Z')]
    """

    def __init__(self, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0) -> None:
        super().__init__(sim_weight=_check_weight(sim_weight, "sim_weight"),
                         var_weight=_check_weight(var_weight, "var_weight"),
                         cov_weight=_check_weight(cov_weight, "cov_weight"))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return vicreg_loss(z1, z2, sim_weight=self.sim_weight, var_weight=self.var_weight, cov_weight=self.cov_weight)
# =========================================================================== False negatives
# Two answers to "some negatives are the anchor's own class": estimate them away (debiased, no labels) or
# remove them with the labels (the SupCon view of the denominator). Both are NT-Xent when the answer is "none".
def check_tau_plus(tau_plus: float) -> float:
    """``float(tau_plus)`` if it is a class prior in [0, 1), else a ``ValueError``."""
    try:
        p = float(tau_plus)
    except (TypeError, ValueError):
        p = float("nan")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"tau_plus must be a probability in [0, 1) (the chance that a random negative is the anchor's "
                         f"class: 0.1 for 10 balanced classes; 0 gives plain NT-Xent), got {tau_plus!r}")
    return p


def debiased_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, *, tau_plus: float = 0.1) -> torch.Tensor:
    r"""The debiased contrastive loss of Chuang et al. (NeurIPS 2020) on NT-Xent's 2N views.

    Without labels, a fraction ``tau_plus`` (the class prior) of the M = 2N - 2 negatives of view i are
    expected to be of its own class. The sum over negatives is replaced by an estimate of the sum over true
    negatives only, from the negatives and the positive, clamped at its least possible value
    (every cosine at -1):

    .. math::
        g_i = \max\Bigl(\frac{1}{1 - \tau^+}\Bigl(\frac1M \sum_{k \ne i, p(i)} e^{s_{ik}}
              - \tau^+ e^{s_{i,p(i)}}\Bigr),\; e^{-1/\tau}\Bigr), \qquad
        \ell_i = -\log \frac{e^{s_{i,p(i)}}}{e^{s_{i,p(i)}} + M g_i}

    with ``s_ik = cos(z_i, z_k) / tau``, and the mean over the 2N views. ``tau_plus = 0`` gives ``nt_xent``.
    Computed in float32 (float64 if given) with every exponential shifted by its row's largest logit, so
    nothing overflows at small tau. ``tau_plus`` is keyword-only (an option, as the temperature).
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    prior = check_tau_plus(tau_plus)
    n = z1.shape[0]
    m = 2 * n - 2
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = unit_rows(torch.cat([z1, z2], dim=0))
        logits = ((z @ z.T) / t).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        shift = logits.max(dim=1, keepdim=True).values.detach()  # exp(logit - shift) <= 1
        scaled = torch.exp(logits - shift)
        rows = torch.arange(2 * n, device=z.device)
        log_pos = logits[rows, positive_index(n, z.device)] - shift.squeeze(1)  # log of the shifted e^{s_ip}
        pos = torch.exp(log_pos)
        neg_sum = scaled.sum(dim=1) - pos
        estimate = (neg_sum - prior * m * pos) / (1 - prior)
        floor = m * torch.exp(-1.0 / t - shift.squeeze(1))
        neg_term = torch.maximum(estimate, floor)
        return (torch.log(pos + neg_term) - log_pos).mean()


def same_class_mask(labels: torch.Tensor) -> torch.Tensor:
    """(2N, 2N) boolean mask of the *false negatives* of NT-Xent's 2N stacked views: ``[i, k]`` is True when view k
    is a negative of view i (k != i, k != p(i)) whose sample has the same label. ``labels``: shape (N,), one per
    sample (both views share it)."""
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] < 2:
        raise ValueError(f"labels must be a 1-D tensor of N >= 2 class labels (one per sample, not per view), "
                         f"got shape {tuple(labels.shape)}")
    check_labels(labels, labels.shape[0], "labels")
    n = labels.shape[0]
    both = torch.cat([labels, labels])
    mask = both[:, None] == both[None, :]
    rows = torch.arange(2 * n, device=labels.device)
    mask[rows, rows] = False
    mask[rows, positive_index(n, labels.device)] = False
    return mask


def nt_xent_masked(z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""NT-Xent with the same-class negatives removed from the denominator (the SupCon view of the negatives).

    As ``nt_xent``, but for anchor i the sum runs only over the positive and the views of *other* classes:

    .. math:: \ell_i = -\log \frac{e^{s_{i,p(i)}}}{e^{s_{i,p(i)}} + \sum_{k:\, y_k \ne y_i} e^{s_{ik}}}

    ``labels`` (shape (N,), one class per sample) is data, so it comes at call like ``z1`` and ``z2``. Unlike
    ``supcon`` the other same-class views are not pulled in as positives, only no longer pushed away. Needs
    labels, so it is not self-supervised. With all labels different it equals ``nt_xent``.
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    n = z1.shape[0]
    labels = torch.as_tensor(labels, device=z1.device)
    check_labels(labels, n, "labels")
    drop = same_class_mask(labels) | torch.eye(2 * n, dtype=torch.bool, device=z1.device)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = unit_rows(torch.cat([z1, z2], dim=0))
        logits = ((z @ z.T) / t).masked_fill(drop, float("-inf"))
        return F.cross_entropy(logits, positive_index(n, z.device))


class DebiasedNTXentLoss(_OptionsLoss):
    r"""The debiased contrastive loss as a module: ``DebiasedNTXentLoss(0.5, tau_plus=0.1)(z1, z2)``, see
    ``debiased_nt_xent``.

    .. math:: \ell_i = -\log \frac{e^{s_{i,p(i)}}}{e^{s_{i,p(i)}} + M \max\bigl(\frac{1}{1-\tau^+}(\frac1M
              \sum_{k \ne i, p(i)} e^{s_{ik}} - \tau^+ e^{s_{i,p(i)}}),\, e^{-1/\tau}\bigr)}
    """

    def __init__(self, temperature: float = 0.5, tau_plus: float = 0.1) -> None:
        super().__init__(temperature=check_temperature(temperature), tau_plus=check_tau_plus(tau_plus))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return debiased_nt_xent(z1, z2, self.temperature, tau_plus=self.tau_plus)


class MaskedNTXentLoss(_OptionsLoss):
    r"""NT-Xent without same-class negatives: ``MaskedNTXentLoss(0.5)(z1, z2, labels)``, see ``nt_xent_masked``.

    .. math:: \ell_i = -\log \frac{e^{s_{i,p(i)}}}{e^{s_{i,p(i)}} + \sum_{k:\, y_k \ne y_i} e^{s_{ik}}}
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__(temperature=check_temperature(temperature))

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nt_xent_masked(z1, z2, labels, self.temperature)


__all__ += ["check_tau_plus", "debiased_nt_xent", "same_class_mask", "nt_xent_masked", "DebiasedNTXentLoss", "MaskedNTXentLoss"]
