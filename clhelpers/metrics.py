"""How good are embeddings? Tensors in, numbers out: no data loading, no model code.

* ``knn_accuracy`` classifies each test row by a similarity-weighted vote of its ``k`` nearest
  training rows (cosine similarity), the usual monitor of self-supervised training;
  ``pixel_knn_accuracy`` is the same on raw pixels, the baseline an encoder has to beat.
* ``linear_probe_accuracy`` fits a multinomial logistic regression on frozen, standardized
  features; ``few_label_probe`` does it with only a few labelled examples per class, several draws.
* ``alignment`` and ``uniformity`` are the two properties of Wang & Isola (ICML 2020) that the
  contrastive loss optimizes: positives close together, all features spread over the sphere.
* ``embedding_std`` is SimSiam's collapse diagnostic: about 1/sqrt(D) when spread, 0 when collapsed;
  ``effective_rank`` counts the directions the embeddings use, so it also sees dimensional collapse.
* ``negative_weight_matrix`` and ``hard_negative_share`` measure how NT-Xent's gradient is shared
  between the negatives (the hardness-aware property of Wang & Liu, CVPR 2021); ``infonce_gradient`` and
  ``negative_shares`` do it for one anchor's row of similarities, ``entropy_nats`` says how peaked its softmax is.
* ``positive_rank`` and ``topk_positive_accuracy``: where each view's positive ranks among its 2N - 1 candidates
  (the top-1 / top-5 accuracy that NT-Xent's softmax is a soft version of).
* ``same_class_negative_share``: how much of that push lands on negatives of the anchor's own class (false negatives).
"""
from __future__ import annotations

import operator
import statistics
from typing import Sequence

import torch
import torch.nn.functional as F

from .losses import positive_index
from .similarity import unit_rows
from .validate import check_features, check_labels, check_pair, check_positive, check_temperature

__all__ = [
    "knn_accuracy", "pixel_knn_accuracy", "linear_probe_accuracy", "label_draws", "few_label_probe", "alignment",
    "uniformity", "embedding_std", "effective_rank", "negative_weight_matrix", "hard_negative_share", "entropy_nats",
    "infonce_gradient", "negative_shares", "same_class_negative_share",
    "positive_rank", "topk_positive_accuracy", "map_neighbour_agreement",
]


def _check_split(train_feats, train_labels, test_feats, test_labels) -> None:
    """The checks shared by the classifiers: 2-D finite features of one width, one label per row."""
    check_features(train_feats, "train_feats")
    check_features(test_feats, "test_feats")
    check_labels(train_labels, train_feats.shape[0], "train_labels")
    check_labels(test_labels, test_feats.shape[0], "test_labels")
    if train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(f"train_feats and test_feats need the same width, got {train_feats.shape[1]} and "
                         f"{test_feats.shape[1]}; embed both splits with the same encoder")


def _check_count(value: int, name: str, low: int = 1, high: int | None = None, what: str = "") -> int:
    """``value`` as an int if it is an integer in [low, high], else a ``ValueError`` naming ``name``."""
    try:
        number = operator.index(value)  # ints (also numpy / 0-dim torch ints), not floats or bools
    except TypeError:
        number = None
    if isinstance(value, bool) or number is None or number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bounds}{f' ({what})' if what else ''}, got {value!r}")
    return number


# --------------------------------------------------------------------------- classifiers
def knn_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.1,
    batch_size: int = 1024,
) -> float:
    r"""Accuracy of a weighted k-nearest-neighbour classifier with cosine similarity, in [0, 1].

    For a test row :math:`q`, take the ``k`` training rows :math:`x_j` with the largest cosine
    similarity :math:`s_j = \cos(q, x_j)` and predict

    .. math:: \hat y = \arg\max_c \sum_{j \in \text{top-}k} \exp(s_j / \tau)\,[y_j = c]

    (the weighted vote of Wu et al., 2018, used by most self-supervised papers; ``temperature``
    is :math:`\tau`; a very large :math:`\tau` gives a plain majority vote). Works on raw pixels
    too (see ``pixel_knn_accuracy``). Test rows are processed ``batch_size`` at a time, on the
    device of ``train_feats``.
    """
    _check_split(train_feats, train_labels, test_feats, test_labels)
    k = _check_count(k, "k", 1, train_feats.shape[0], what="the number of neighbours, at most the training rows")
    batch_size = _check_count(batch_size, "batch_size")
    temperature = check_temperature(temperature)
    device = train_feats.device
    train = F.normalize(train_feats.float(), dim=1)
    train_labels, test_labels = train_labels.to(device), test_labels.to(device)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    correct = 0
    for start in range(0, test_feats.shape[0], batch_size):
        q = F.normalize(test_feats[start:start + batch_size].to(device).float(), dim=1)
        sims, idx = (q @ train.T).topk(k, dim=1)
        votes = torch.zeros(q.shape[0], num_classes, device=device)
        votes.scatter_add_(1, train_labels[idx], (sims / temperature).exp())
        correct += int((votes.argmax(dim=1) == test_labels[start:start + batch_size]).sum())
    return correct / test_feats.shape[0]


def _pixels(images: torch.Tensor, name: str) -> torch.Tensor:
    """(N, ...) images -> (N, pixels) float32 in [0, 1]: uint8 is divided by 255, floats are kept."""
    if not isinstance(images, torch.Tensor) or images.dim() < 2:
        raise ValueError(f"{name} must be an (N, H, W) or (N, C, H, W) image tensor, got {getattr(images, 'shape', type(images))}")
    x = images.flatten(1).float()
    return x / 255.0 if images.dtype == torch.uint8 else x


def pixel_knn_accuracy(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                       test_labels: torch.Tensor, k: int = 20) -> float:
    """The raw-pixel baseline: ``knn_accuracy`` on flattened images scaled to [0, 1] (uint8 / 255)."""
    return knn_accuracy(_pixels(train_images, "train_images"), train_labels,
                        _pixels(test_images, "test_images"), test_labels, k=k)


def linear_probe_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    test_labels: torch.Tensor,
    weight_decay: float = 1e-4,
    max_iter: int = 200,
) -> float:
    r"""Test accuracy of a linear classifier trained on frozen features, in [0, 1].

    Features are standardized with the training rows' mean and (population) standard deviation,
    then a multinomial logistic regression
    :math:`\min_{W,b} \mathrm{CE}(XW + b, y) + \lambda \|W\|^2` (:math:`\lambda` = ``weight_decay``)
    is fit full-batch with L-BFGS from zero weights (at most ``max_iter`` iterations; it stops
    once the loss changes by less than 1e-7) on the features' device. No randomness, and the
    global RNG is left untouched: the same inputs give the same accuracy. About a second on
    60,000 x 128 features on a CPU; milliseconds for a few labelled rows (``few_label_probe``).
    """
    _check_split(train_feats, train_labels, test_feats, test_labels)
    if not (isinstance(weight_decay, (int, float)) and 0 <= weight_decay < float("inf")):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r} (1e-4 is a good default)")
    max_iter = _check_count(max_iter, "max_iter")
    device = train_feats.device
    x = train_feats.float()
    mean, std = x.mean(0), x.std(0, correction=0).clamp_min(1e-6)
    x = (x - mean) / std
    y = train_labels.to(device)
    num_classes = int(max(y.max(), test_labels.max())) + 1
    # zero-initialized parameters made directly: no draw from (and no change to) the global RNG
    weight = torch.zeros(num_classes, x.shape[1], device=device, requires_grad=True)
    bias = torch.zeros(num_classes, device=device, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_change=1e-7, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(F.linear(x, weight, bias), y) + weight_decay * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        pred = F.linear((test_feats.to(device).float() - mean) / std, weight, bias).argmax(dim=1)
    return float((pred == test_labels.to(device)).float().mean())


def label_draws(train_labels: torch.Tensor, test_labels: torch.Tensor, per_class: int, draws: int = 5,
                seed: int = 0) -> list[torch.Tensor]:
    """The labelled training rows of each of ``draws`` draws: ``per_class`` rows of every class (present in
    either split), without replacement, seeded by ``seed`` and different from draw to draw. The one way the
    project draws few labels: ``few_label_probe`` fits on exactly these rows, and a kNN or a supervised run
    given the same arguments sees the same digits (a paired comparison)."""
    for y, name in ((train_labels, "train_labels"), (test_labels, "test_labels")):
        check_labels(y, len(y) if isinstance(y, torch.Tensor) and y.dim() == 1 else 0, name)
    per_class = _check_count(per_class, "per_class")
    draws = _check_count(draws, "draws")
    labels = train_labels.cpu()
    classes = torch.unique(torch.cat([labels, test_labels.cpu()])).tolist()
    members = {c: torch.nonzero(labels == c).flatten() for c in classes}
    short = {c: len(rows) for c, rows in members.items() if len(rows) < per_class}
    if short:
        smallest = min(short.values())
        fix = f"use per_class <= {smallest} or more training rows" if smallest else "give every test class training rows"
        raise ValueError(f"per_class={per_class} but these classes have fewer training rows (class: rows): {short}; {fix}")
    generator = torch.Generator().manual_seed(int(seed))
    return [torch.cat([rows[torch.randperm(len(rows), generator=generator)[:per_class]] for rows in members.values()])
            for _ in range(draws)]


def few_label_probe(train_feats: torch.Tensor, train_labels: torch.Tensor, test_feats: torch.Tensor,
                    test_labels: torch.Tensor, per_class: int, draws: int = 5, seed: int = 0) -> dict:
    """Linear-probe accuracy with only ``per_class`` labelled training rows of every class.

    Each of the ``draws`` draws (``label_draws``: ``per_class`` rows of every class present in either split,
    without replacement, seeded by ``seed`` and different from draw to draw) fits
    ``linear_probe_accuracy`` on those rows only and scores it on all test rows. Returns
    ``{"mean": ..., "sd": ..., "accs": [one accuracy per draw], "per_class": per_class}`` where
    ``sd`` is the sample standard deviation over draws (0.0 for one draw). Same seed, same result.
    """
    _check_split(train_feats, train_labels, test_feats, test_labels)
    accs = []
    for rows in label_draws(train_labels, test_labels, per_class, draws, seed):
        idx = rows.to(train_feats.device)
        accs.append(linear_probe_accuracy(train_feats[idx], train_labels[idx], test_feats, test_labels))
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    return {"mean": statistics.fmean(accs), "sd": sd, "accs": accs, "per_class": int(per_class)}


# --------------------------------------------------------------------------- geometry
def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2) -> float:
    r"""Alignment of positive pairs (Wang & Isola, 2020): lower is better, 0 when pairs coincide.

    .. math:: \mathcal{L}_\text{align} = \frac{1}{N}\sum_i \lVert \hat z_{1,i} - \hat z_{2,i} \rVert_2^\alpha,
              \qquad \hat z = z / \lVert z \rVert_2

    Rows are L2-normalized inside, so the value lies in [0, 2^alpha].
    """
    check_features(z1, "z1")
    check_features(z2, "z2")
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape (row i of each is a positive pair), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    alpha = check_positive(alpha, "alpha", hint="Wang & Isola use 2")
    d = (F.normalize(z1.float(), dim=1) - F.normalize(z2.float(), dim=1)).norm(dim=1)
    return float(d.pow(alpha).mean())


def uniformity(z: torch.Tensor, t: float = 2) -> float:
    r"""Uniformity on the unit sphere (Wang & Isola, 2020): lower is better (more spread out).

    .. math:: \mathcal{L}_\text{uniform} = \log \frac{2}{N(N-1)} \sum_{i<j} e^{-t \lVert \hat z_i - \hat z_j \rVert_2^2}

    Rows are L2-normalized inside. All points equal gives log(1) = 0, the maximum; the more spread
    out the points, the more negative the value (Jensen's inequality bounds it below by
    -2t N / (N - 1)). Uses all N(N-1)/2 pairs: pass a subset (a few thousand rows).
    """
    check_features(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"uniformity needs at least 2 rows, got {z.shape[0]}")
    t = check_positive(t, "t", hint="Wang & Isola use 2")
    sq = torch.pdist(F.normalize(z.float(), dim=1)).pow(2)
    return float(sq.mul(-t).exp().mean().log())


def embedding_std(z: torch.Tensor) -> float:
    r"""Mean over dimensions of the per-dimension standard deviation of the L2-normalized rows.

    .. math:: \frac{1}{D} \sum_{d=1}^{D} \operatorname{std}_i\bigl(\hat z_{i,d}\bigr), \qquad \hat z_i = z_i / \lVert z_i \rVert

    SimSiam's collapse diagnostic (Chen & He, 2021): about ``1/sqrt(D)`` when the embeddings are
    spread over the sphere (each coordinate of a random unit vector has variance 1/D), 0 when
    every row points the same way (collapse).
    """
    check_features(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"embedding_std needs at least 2 rows to measure a spread, got {z.shape[0]}")
    return float(unit_rows(z.detach()).std(dim=0).mean())


def effective_rank(z: torch.Tensor, eps: float = 1e-7) -> float:
    r"""How many directions the L2-normalized rows of z (n, d) use: RankMe (Garrido et al., ICML 2023), the
    effective rank of Roy & Vetterli (2007), the exponential of the entropy of the normalized singular values.

    .. math:: \exp\Bigl(-\sum_k p_k \log p_k\Bigr), \qquad p_k = \frac{\sigma_k(\hat Z)}{\sum_j \sigma_j(\hat Z)} + \epsilon

    1 when every row lies on one line (complete collapse), about r when the rows fill an r-dimensional
    subspace evenly (dimensional collapse: ``embedding_std`` can still read near 1/sqrt(d) then), at most
    min(n, d). The rows are normalized first, so one long row cannot dominate.
    """
    check_features(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"effective_rank needs at least 2 rows, got {z.shape[0]}")
    sigma = torch.linalg.svdvals(unit_rows(z.detach()).double())
    p = sigma / sigma.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))


# --------------------------------------------------------------------------- hardness
def _negative_mask(n: int, device: torch.device) -> torch.Tensor:
    """(2N, 2N) boolean mask of anchor i's negatives: every k except i itself and its positive p(i)."""
    mask = ~torch.eye(2 * n, dtype=torch.bool, device=device)
    mask[torch.arange(2 * n, device=device), positive_index(n, device)] = False
    return mask


def negative_weight_matrix(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""Size of the NT-Xent gradient on each negative similarity, measured with autograd.

    With the 2N views stacked and normalized, ``s_ik = cos(z_i, z_k)``, the loss is
    ``L = (1/2N) sum_i -log softmax_k(s_ik / tau)[p(i)]``. Returns the (2N, 2N) matrix
    ``W[i, k] = |dL / ds_ik|`` for the negatives k (zero at k = i and k = p(i)), where ``s_ik``
    is treated as anchor i's own similarity (row i of the matrix). In closed form

    .. math:: W_{ik} = \frac{\operatorname{softmax}_{k \ne i}(s_{ik} / \tau)}{2N\tau}

    The harder (more similar) a negative, the larger its weight, and the smaller tau, the more
    the weight concentrates on the hardest ones (the hardness-aware property).
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    n = z1.shape[0]
    with torch.enable_grad():
        z = unit_rows(torch.cat([z1, z2], dim=0).detach())
        sim = (z @ z.T).requires_grad_(True)
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        loss = F.cross_entropy((sim / t).masked_fill(self_mask, float("-inf")), positive_index(n, z.device))
        (grad,) = torch.autograd.grad(loss, sim)
    return grad.abs() * _negative_mask(n, z.device)


def hard_negative_share(z1: torch.Tensor, z2: torch.Tensor, temperature: float, k: int = 1) -> float:
    """Mean over anchors of (gradient on its ``k`` hardest negatives) / (gradient on all its negatives).

    Uses ``negative_weight_matrix``; "hardest" means most similar to the anchor. If the gradient
    were spread evenly the share would be ``k / (2N - 2)``; at small temperatures it approaches 1.
    """
    check_pair(z1, z2)
    n = z1.shape[0]
    k = _check_count(k, "k", 1, 2 * n - 2, what="how many of the 2N - 2 negatives count as hardest")
    w = negative_weight_matrix(z1, z2, temperature)
    with torch.no_grad():
        z = unit_rows(torch.cat([z1, z2], dim=0).detach())
        sim = (z @ z.T).masked_fill(~_negative_mask(n, z.device), float("-inf"))  # negatives only
        top = w.gather(1, sim.topk(k, dim=1).indices).sum(dim=1)
        return float((top / w.sum(dim=1)).mean())


def entropy_nats(p: torch.Tensor) -> float:
    """Shannon entropy ``-sum p log p`` in nats (0 log 0 counted as 0)."""
    p = torch.as_tensor(p, dtype=torch.float64)
    return float(-(p * torch.log(p.clamp_min(1e-300))).sum())


def infonce_gradient(similarities: Sequence[float], temperature: float, positive: int = 0) -> torch.Tensor:
    """Gradient of ``L = -log softmax(s / t)[positive]`` with respect to the similarities ``s``.

    ``dL/ds_k = p_k / t`` for every negative k and ``(p_pos - 1) / t`` for the positive, where
    ``p = softmax(s / t)``: each negative is pushed in proportion to its probability.
    """
    t = check_temperature(temperature)
    s = torch.as_tensor(similarities, dtype=torch.float64)
    if s.dim() != 1 or not 0 <= positive < len(s):
        raise ValueError(f"similarities must be a 1-D list and positive an index into it (0 = first), "
                         f"got shape {tuple(s.shape)} and positive={positive}")
    p = torch.softmax(s / t, dim=0)
    return (p - F.one_hot(torch.tensor(positive), len(s)).double()) / t


def negative_shares(similarities: Sequence[float], temperature: float) -> torch.Tensor:
    """Each negative's share of the total push: ``p_k / sum_j p_j`` over negatives only, which
    is ``softmax(s_neg / t)`` (the positive cancels out)."""
    return torch.softmax(torch.as_tensor(similarities, dtype=torch.float64) / check_temperature(temperature), dim=0)


# --------------------------------------------------------------------------- the positive's rank
def positive_rank(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """The rank of each view's positive among its 2N - 1 candidates, by cosine similarity: a (2N,) int64 tensor.

    The 2N views are stacked as in NT-Xent (row i of ``z1`` is view i, row i of ``z2`` view i + N, and the
    positive of view i is view i + N mod 2N). The candidates of view i are the other 2N - 1 views (never i
    itself); its rank is 1 + the number of negatives k with ``s_ik >= s_i,p(i)``: 1 means the positive is the
    most similar view, 2N - 1 the least. A tie counts against the positive, so collapsed embeddings (every
    cosine equal) rank it last, never first. Rows are normalized inside: scaling a row changes nothing.
    """
    check_pair(z1, z2)
    n = z1.shape[0]
    z = unit_rows(torch.cat([z1, z2], dim=0).detach().float())
    sim = z @ z.T
    pos = sim.gather(1, positive_index(n, z.device)[:, None])
    return ((sim >= pos) & _negative_mask(n, z.device)).sum(dim=1) + 1


def topk_positive_accuracy(z1: torch.Tensor, z2: torch.Tensor, k: int = 1) -> float:
    """The share of the 2N views whose positive is among their ``k`` most similar candidates (``positive_rank``
    <= k), in [0, 1]. Chance level, for embeddings that carry no information about which views belong together,
    is k / (2N - 1): the positive is then equally likely to sit at any of the 2N - 1 ranks."""
    check_pair(z1, z2)
    k = _check_count(k, "k", 1, 2 * z1.shape[0] - 1,
                     what="how many of the 2N - 1 candidates count as top; use k <= 2N - 1 or a bigger batch")
    return float((positive_rank(z1, z2) <= k).float().mean())
# --------------------------------------------------------------------------- false negatives
def same_class_negative_share(z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor, temperature: float) -> dict:
    r"""How much of NT-Xent's push on the negatives lands on negatives of the anchor's own class (false negatives).

    For anchor i of the 2N stacked views, negative k gets the gradient weight ``p_ik / tau`` with
    ``p_ik = softmax_{k != i}(s_ik / tau)`` (see ``negative_weight_matrix``). Its same-class share is

    .. math:: \text{share}_i = \frac{\sum_{k \in F(i)} p_{ik}}{\sum_{k \in \text{neg}(i)} p_{ik}}

    with F(i) the negatives whose sample has anchor i's label. Returns ``{"share": mean_i share_i, "uniform":
    mean_i |F(i)| / (2N - 2)}``: ``uniform`` is the share if every negative got the same weight (tau -> infinity),
    about 1/10 for ten balanced classes. ``share`` above ``uniform``: the same-class negatives are closer to their
    anchors than the others and get more than their number's worth of the push. ``labels``: (N,), one per sample.
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    n = z1.shape[0]
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must be a 1-D tensor with one class per sample (N = {n}; both views share it), got "
                         f"shape {tuple(labels.shape)}; pass the labels of the batch, not of the 2N views")
    check_labels(labels, n, "labels")
    with torch.no_grad():
        z = unit_rows(torch.cat([z1, z2], dim=0).detach().double())
        negatives = _negative_mask(n, z.device)
        both = torch.cat([labels, labels]).to(z.device)
        false_neg = (both[:, None] == both[None, :]) & negatives
        weights = torch.softmax(((z @ z.T) / t).masked_fill(~negatives, float("-inf")), dim=1)
        share = (weights * false_neg).sum(dim=1)
        uniform = false_neg.sum(dim=1).double() / (2 * n - 2)
    return {"share": float(share.mean()), "uniform": float(uniform.mean())}
# --------------------------------------------------------------------------- a 2-D map (notebook 06)
def map_neighbour_agreement(points: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of rows whose nearest OTHER row (Euclidean distance, e.g. in a 2-D t-SNE map) has the same label.

    A number for what a map's colours suggest: how often a point's closest neighbour on the map is of its own
    class. The point itself is excluded (else every point is its own neighbour and the share is 1). Ties go to
    the lower row index. Says nothing about distances between clusters.
    """
    check_features(points, "points")
    check_labels(labels, len(points), "labels")
    if len(points) < 2:
        raise ValueError(f"map_neighbour_agreement needs at least 2 points, got {len(points)}; pass the whole map")
    d = torch.cdist(points.double(), points.double()).fill_diagonal_(float("inf"))
    return float((labels.to(points.device)[d.argmin(dim=1)] == labels.to(points.device)).double().mean())
