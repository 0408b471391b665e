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

from .similarity import _check_temperature, check_positive

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



# =========================================================================== Beyond NT-Xent
# Other contrastive objectives, same conventions as above (rows are samples, embeddings are
# L2-normalized inside each loss, the mean over anchors is returned as a 0-dim tensor).
def _check_margin(margin: float) -> float:
    return check_positive(margin, "margin", hint="distances of unit vectors lie in [0, 2]")


def pair_contrastive_loss(
    x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
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
    _check_embeddings(x1, "x1")
    _check_embeddings(x2, "x2")
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape (N, D), got {tuple(x1.shape)} and {tuple(x2.shape)}")
    m = _check_margin(margin)
    same = torch.as_tensor(same, device=x1.device)
    if same.shape != (x1.shape[0],):
        raise ValueError(f"same must have shape ({x1.shape[0]},), one 0/1 flag per pair, got {tuple(same.shape)}")
    same = same.float()
    if not bool(((same == 0) | (same == 1)).all()):
        raise ValueError("same must contain only 0/1 (or False/True): 1 marks a similar pair, 0 a dissimilar one")
    with torch.autocast(device_type=x1.device.type, enabled=False):
        d = (_unit_rows(x1) - _unit_rows(x2)).norm(dim=1)
        pull = 0.5 * d.pow(2)
        push = 0.5 * torch.clamp(m - d, min=0).pow(2)
        return (same * pull + (1 - same) * push).mean()


def triplet_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.2
) -> torch.Tensor:
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
    _check_embeddings(anchor, "anchor")
    for name, x in (("positive", positive), ("negative", negative)):
        _check_embeddings(x, name)
        if x.shape != anchor.shape:
            raise ValueError(f"{name} must have the same shape as anchor {tuple(anchor.shape)}, got {tuple(x.shape)}")
    alpha = _check_margin(margin)
    with torch.autocast(device_type=anchor.device.type, enabled=False):
        a, p, n = _unit_rows(anchor), _unit_rows(positive), _unit_rows(negative)
        d_ap = (a - p).pow(2).sum(dim=1)
        d_an = (a - n).pow(2).sum(dim=1)
        return torch.clamp(d_ap - d_an + alpha, min=0).mean()


def pair_in_batch(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float | None = None, *, margin: float = 1.0
) -> torch.Tensor:
    """``pair_contrastive_loss`` in the ``loss_fn(z1, z2, temperature)`` form the training loop calls.

    The N similar pairs are ``(z1[i], z2[i])``; the N dissimilar pairs are ``(z1[i], z2[i+1 mod N])``
    (each sample against its neighbour in the batch, which, in a shuffled batch, is a random other
    sample). There is no temperature in this loss: ``temperature`` is accepted and ignored; set the
    margin with ``functools.partial(pair_in_batch, margin=...)``.
    """
    _check_pair(z1, z2)
    n = z1.shape[0]
    same = torch.cat([torch.ones(n, device=z1.device), torch.zeros(n, device=z1.device)])
    return pair_contrastive_loss(
        torch.cat([z1, z1]), torch.cat([z2, torch.roll(z2, shifts=-1, dims=0)]), same, margin=margin
    )


def triplet_in_batch(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float | None = None, *, margin: float = 0.2
) -> torch.Tensor:
    """``triplet_loss`` in the ``loss_fn(z1, z2, temperature)`` form the training loop calls.

    Anchor ``z1[i]``, positive ``z2[i]``, and as negative the *hardest* other sample in the batch
    (the ``z2[j]``, j != i, closest to the anchor; FaceNet mines hard negatives within a batch
    too). There is no temperature in a triplet loss: ``temperature`` is accepted and ignored; set
    the margin with ``functools.partial(triplet_in_batch, margin=...)``.
    """
    _check_pair(z1, z2)
    with torch.no_grad():
        sim = _unit_rows(z1) @ _unit_rows(z2).T
        sim.fill_diagonal_(float("-inf"))
        hardest = sim.argmax(dim=1)
    return triplet_loss(z1, z2, z2[hardest], margin=margin)


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
    _check_embeddings(z, "z", min_rows=2)
    t = _check_temperature(temperature)
    labels = torch.as_tensor(labels, device=z.device)
    if labels.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},), one label per row of z, got {tuple(labels.shape)}")
    if torch.is_floating_point(labels) or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    m = z.shape[0]
    self_mask = torch.eye(m, dtype=torch.bool, device=z.device)
    pos_mask = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos_mask.sum(dim=1)
    has_pos = n_pos > 0
    if not bool(has_pos.any()):
        raise ValueError("no row of z has a positive (every label occurs once); give each sample two views or repeat labels")
    with torch.autocast(device_type=z.device.type, enabled=False):
        u = _unit_rows(z)
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
    _check_pair(z1, z2)
    labels = torch.as_tensor(labels, device=z1.device)
    if labels.shape != (z1.shape[0],):
        raise ValueError(f"labels must have shape ({z1.shape[0]},), one label per pair, got {tuple(labels.shape)}")
    return supcon_loss(torch.cat([z1, z2], dim=0), torch.cat([labels, labels]), temperature)


class NegativeQueue:
    """A fixed-size FIFO of past keys to use as extra negatives, as in MoCo (He et al., 2020).

    Keys are stored **detached and L2-normalized** (no gradient flows into the past). Once the
    queue holds ``size`` keys, each ``enqueue`` drops the oldest ones. ``negatives()`` returns the
    stored keys oldest first, shape (len(queue), dim), ready for
    ``info_nce(query, key, queue.negatives(), temperature)``: many more negatives than one batch
    holds, without a bigger batch.
    """

    def __init__(self, dim: int, size: int = 4096) -> None:
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.dim, self.size = int(dim), int(size)
        self._keys: torch.Tensor | None = None  # (count, dim), oldest first

    def __len__(self) -> int:
        return 0 if self._keys is None else self._keys.shape[0]

    def enqueue(self, keys: torch.Tensor) -> None:
        """Append ``keys`` (shape (B, dim)); the oldest keys fall out beyond ``size``."""
        _check_embeddings(keys, "keys")
        if keys.shape[1] != self.dim:
            raise ValueError(f"keys have dimension {keys.shape[1]} but this queue stores dimension {self.dim}")
        new = _unit_rows(keys.detach()).float()
        old = new[:0] if self._keys is None else self._keys.to(new.device)
        self._keys = torch.cat([old, new], dim=0)[-self.size :]

    def dequeue(self, count: int) -> torch.Tensor:
        """Remove and return the ``count`` oldest keys (fewer if the queue holds fewer)."""
        if int(count) != count or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        if self._keys is None:
            return torch.zeros(0, self.dim)
        out, self._keys = self._keys[:count], self._keys[count:]
        return out

    def negatives(self) -> torch.Tensor:
        """The stored keys, oldest first, shape (len(self), dim)."""
        if len(self) == 0:
            raise ValueError("the queue is empty: enqueue some keys before asking for negatives")
        return self._keys


class QueueNTXent:
    """NT-Xent whose negatives are extended with a ``NegativeQueue``: callable as ``loss_fn(z1, z2, t)``.

    For each of the 2N views the candidates are the 2N - 1 other views of the batch (exactly as in
    ``nt_xent``) plus the M keys in the queue, all normalized; the positive is the other view of
    the same sample. After computing the loss, the detached ``z2`` of this batch is enqueued, so
    the next batches see it as negatives. With an empty queue the value equals ``nt_xent``.

    Simplification versus MoCo: there is no momentum encoder, so queued keys come from slightly
    older versions of the same encoder (MoCo's momentum encoder keeps them consistent; see
    ``momentum_update``). Keep the queue a few batches long so the keys stay fresh.
    """

    def __init__(self, dim: int, size: int = 1024) -> None:
        self.queue = NegativeQueue(dim, size)

    def __call__(self, z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
        _check_pair(z1, z2)
        t = _check_temperature(temperature)
        if z1.shape[1] != self.queue.dim:
            raise ValueError(f"embeddings have dimension {z1.shape[1]} but the queue stores dimension {self.queue.dim}")
        n = z1.shape[0]
        with torch.autocast(device_type=z1.device.type, enabled=False):
            z = _unit_rows(torch.cat([z1, z2], dim=0))
            logits = ((z @ z.T) / t).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
            if len(self.queue):
                logits = torch.cat([logits, z @ self.queue.negatives().to(z.device).T / t], dim=1)
            loss = F.cross_entropy(logits, positive_index(n, z.device))
        self.queue.enqueue(z2)
        return loss


@torch.no_grad()
def momentum_update(target: torch.nn.Module, online: torch.nn.Module, momentum: float = 0.99) -> None:
    """MoCo's momentum (EMA) update, in place: ``theta_target <- m theta_target + (1 - m) theta_online``.

    ``target`` and ``online`` must have the same architecture. Buffers (e.g. BatchNorm running
    statistics) are copied from ``online``.
    """
    m = float(momentum)
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r} (0.99 to 0.999 is typical)")
    t_params, o_params = list(target.parameters()), list(online.parameters())
    if len(t_params) != len(o_params) or any(a.shape != b.shape for a, b in zip(t_params, o_params)):
        raise ValueError("target and online must have the same architecture (parameters differ in number or shape)")
    for pt, po in zip(t_params, o_params):
        pt.mul_(m).add_(po.detach(), alpha=1.0 - m)
    for bt, bo in zip(target.buffers(), online.buffers()):
        bt.copy_(bo)


__all__ += [
    "pair_contrastive_loss",
    "pair_in_batch",
    "triplet_loss",
    "triplet_in_batch",
    "supcon_loss",
    "supcon",
    "NegativeQueue",
    "QueueNTXent",
    "momentum_update",
]
