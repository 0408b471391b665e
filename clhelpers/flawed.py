"""Broken on purpose: faithful reproductions, in our own code, of contrastive losses found in tutorials.

Notebook 03 reproduces each one, detects it with ``clhelpers.checks.check_contrastive_loss`` (or a
number that is obviously wrong) and fixes it. Never train with these; the correct losses are in
``clhelpers.losses``. The two correct counterparts kept here, ``SigmoidLossLearnedScale`` and
``noise_contrastive_estimation`` (correct code, wrong name), are marked as such.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .losses import positive_index
from .validate import check_embeddings, check_pair, check_temperature

__all__ = [
    "nt_xent_flawed_targets", "nt_xent_no_positives", "info_nce_sign_flipped", "sigmoid_pair_loss",
    "SigmoidLossUnusedTemperature", "SigmoidLossLearnedScale", "bce_random_labels", "ContrastiveCNN",
    "noise_contrastive_estimation", "nt_xent_garbled_formula", "knn_accuracy_on_test_split",
]


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


def info_nce_sign_flipped(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """A faithful reproduction (our code) of an "InfoNCE" with two mistakes. Do not train with it.

    Over the 2N stacked, normalized views it returns ``-log(exp(-beta * s_ip) / sum_{k != i}
    exp(-beta * s_ik))`` with ``beta = temperature``. (1) The sign: ``exp(-beta * s)`` gives the
    largest weight to the *least* similar view, so minimizing the loss lowers the positive's
    similarity and raises the negatives': it pushes positives apart and pulls negatives together
    (aligned pairs cost more than mismatched ones). (2) ``beta`` multiplies, yet is passed as a
    "temperature": a temperature divides, so a small tau sharpens the softmax; here a small value
    flattens it: at tau = 0.1 every logit lies in [-0.1, 0.1], so no batch can move the loss far
    from log(2N - 1), the value of a loss that knows nothing. The fix is ``nt_xent``: ``exp(+s / tau)``.
    """
    check_pair(z1, z2)
    beta = check_temperature(temperature)  # named a temperature, used as a multiplier
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    e = torch.exp(-beta * (z @ z.T))  # the sign flip
    e = e.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), 0.0)
    positives = e[torch.arange(2 * n, device=z.device), positive_index(n, z.device)]
    return -torch.log(positives / e.sum(dim=1)).mean()


def sigmoid_pair_loss(pos_sim: torch.Tensor, neg_sim: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """The sigmoid loss as a third tutorial defines it: correct *if* it is given similarities.

    ``-mean log sigmoid(pos_sim / t) - mean log sigmoid(-neg_sim / t)``: a binary classification of
    positive pairs (label 1) against negative pairs (label 0), computed with the stable
    ``F.logsigmoid``. Nothing checks that its inputs are similarities: any two tensors will do.
    """
    t = check_temperature(temperature)
    return -(F.logsigmoid(pos_sim / t).mean() + F.logsigmoid(-neg_sim / t).mean())


class SigmoidLossUnusedTemperature(nn.Module):
    """A faithful reproduction (our code) of that tutorial's loss module. Do not train with it.

    Two mistakes. (1) ``forward(z1, z2)`` calls ``sigmoid_pair_loss(z1, z2)``: the *embeddings* go in
    where the positive and negative *similarities* belong. The call runs without an error (the
    shapes are fine for elementwise ops), and the loss then raises every coordinate of z1 and
    lowers every coordinate of z2: no similarity is ever computed, the two views play opposite
    roles, and the minimum is at z1 = +inf, z2 = -inf, positives pointing apart. (2) The
    "learnable" temperature, an ``nn.Parameter``, is created but never passed on (the function's
    default 0.5 is used): it gets no gradient and the optimizer never changes it. The correct
    counterpart is ``SigmoidLossLearnedScale``.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.temperature = nn.Parameter(torch.tensor(check_temperature(temperature)))  # never read

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return sigmoid_pair_loss(z1, z2)  # embeddings as similarities; self.temperature forgotten


class SigmoidLossLearnedScale(nn.Module):
    """CORRECT counterpart of ``SigmoidLossUnusedTemperature``: similarities in, a learnable temperature that works.

    Computes the cosine similarities between the views, positives ``cos(z1_i, z2_i)`` and negatives
    ``cos(z1_i, z2_j)``, j != i, and applies the tutorial's own formula to ``scale * cos + bias``.
    The temperature is learned as CLIP does it (Radford et al., 2021): a log-parameterized scale
    ``scale = exp(log_scale)`` (always positive, whatever the gradient step; 1 / scale is the
    temperature), clamped at ``MAX_SCALE = 100`` as CLIP clips its logit scale to keep training
    stable. The learnable ``bias`` is SigLIP's (Zhai et al., 2023) offset for the N - 1 negatives
    per positive.
    """

    MAX_SCALE = 100.0

    def __init__(self, temperature: float = 0.5, bias: float = 0.0) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / check_temperature(temperature))))
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=self.MAX_SCALE)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        check_pair(z1, z2)
        cos = F.normalize(z1.float(), dim=1) @ F.normalize(z2.float(), dim=1).T
        logits = self.scale * cos + self.bias
        off_diagonal = ~torch.eye(z1.shape[0], dtype=torch.bool, device=z1.device)
        return sigmoid_pair_loss(logits.diagonal(), logits[off_diagonal], temperature=1.0)

    def collapse_value(self) -> float:
        """The loss when every embedding is the same vector (all cosines 1): softplus(-a) + softplus(a)."""
        a = float((self.scale + self.bias).detach())
        return math.log1p(math.exp(-a)) + math.log1p(math.exp(a))


def bce_random_labels(z1: torch.Tensor, z2: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """The PyTorch equivalent (our code) of a TensorFlow tutorial's "contrastive" loss. Do not train with it.

    The tutorial scores each pair with one number (here the cosine of z1_i and z2_i, shape (N, 1),
    as a ``Dense(1)`` output would be), draws *random* 0/1 labels of shape (N,) and applies Keras'
    functional ``binary_crossentropy``, which broadcasts (N, 1) against (N,) to an (N, N) grid
    without a warning (PyTorch's BCE refuses the mismatch; ``torch.broadcast_tensors`` reproduces
    Keras). Two consequences: the labels carry no information about the images, so the loss can
    only learn the label frequency; and because of the broadcast every pair is scored against
    every label, so each pair's target is the fraction of ones in the draw, the same for all.
    Averaged over draws that target is 0.5, whose minimum is a similarity of logit(0.5) = 0:
    aligned positives are pushed toward orthogonal. There are no negatives at all, so nothing
    stops a collapse.
    """
    check_pair(z1, z2)
    score = F.cosine_similarity(z1.float(), z2.float(), dim=1)[:, None]  # (N, 1)
    labels = torch.randint(0, 2, (z1.shape[0],), generator=generator).float().to(z1.device)  # (N,), random
    score, labels = torch.broadcast_tensors(score, labels)  # the shape bug: (N, 1) x (N,) -> (N, N)
    return F.binary_cross_entropy_with_logits(score, labels)


class ContrastiveCNN(nn.Module):
    """A faithful reproduction (our code) of a "contrastive CNN" that is plain supervised classification.

    A small CNN with a class head, trained with ``loss(images, labels) = F.cross_entropy(logits,
    labels)``. Nothing in it is contrastive: it needs a class label for every image, and the loss
    of image i depends on image i and its label only, never on another image. A contrastive loss
    compares embeddings *with each other*: two views of an image are pulled together and other
    images pushed away, so each term depends on the rest of the batch. Supervised contrastive
    learning (``clhelpers.losses.supcon``) also uses labels, but as the definition of which rows
    are positives in that comparison, with no class head. Images: (N, 1, 28, 28) floats.
    """

    def __init__(self, num_classes: int = 10, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))

    def loss(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The "contrastive" loss: cross-entropy of the class logits against the class labels."""
        return F.cross_entropy(self(images), labels)


def noise_contrastive_estimation(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """CORRECT code under a wrong name: this is NT-Xent (SimCLR), not Noise Contrastive Estimation.

    An article names NT-Xent "Noise Contrastive Estimation". NCE (Gutmann & Hyvarinen, 2010) is a
    *binary* logistic classification of data samples against samples from a known noise
    distribution, used to fit unnormalized densities. NT-Xent is a *softmax* cross-entropy that
    picks the positive among the 2N - 1 other views of a batch: InfoNCE (van den Oord et al.,
    2018) with normalized embeddings and a temperature. The values equal ``nt_xent``'s.
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    logits = (z @ z.T / t).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    positive = logits[torch.arange(2 * n, device=z.device), positive_index(n, z.device)]
    return (torch.logsumexp(logits, dim=1) - positive).mean()


def nt_xent_garbled_formula(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """A garbled NT-Xent formula, implemented literally (our code). Do not train with it.

    ``-log(exp(s_ip * tau) / sum_{k=1}^{2N} exp(s_ik * tau))``: the indicator ``1[k != i]`` is
    missing, so the anchor's similarity with itself (always 1) stays in the denominator, and the
    temperature multiplies. The first error moves the collapse value from log(2N - 1) to log(2N)
    and wastes probability on the self-pair; the second makes a small tau flatten the softmax.
    """
    check_pair(z1, z2)
    t = check_temperature(temperature)
    z = F.normalize(torch.cat([z1, z2], dim=0).float(), dim=1)
    return F.cross_entropy(z @ z.T * t, positive_index(z1.shape[0], z.device))


def knn_accuracy_on_test_split(test_feats: torch.Tensor, test_labels: torch.Tensor, k: int = 20,
                               fit_fraction: float = 0.5) -> float:
    """A faithful reproduction (our code) of a tutorial's kNN evaluation. Do not report its numbers.

    It fits a k-nearest-neighbour classifier on the first ``fit_fraction`` of the *test* features
    and scores it on the rest, with a majority vote over Euclidean distances between the raw,
    un-normalized features. Why that differs from this series' ``clhelpers.metrics.knn_accuracy``:
    the test set is used for fitting, so the number depends on the split, rests on a smaller
    labelled memory bank, and is not a held-out measurement (tuning k on it leaks); and Euclidean
    distance on un-normalized features depends on each embedding's length, which a normalized
    contrastive loss never sees or trains. The series fits on the training split and scores every
    test row, with cosine similarity on normalized features: the geometry the loss shaped.
    """
    check_embeddings(test_feats, "test_feats", min_rows=2)
    n_fit = int(test_feats.shape[0] * fit_fraction)
    if not 1 <= n_fit < test_feats.shape[0] or not 1 <= k <= n_fit:
        raise ValueError(f"need 1 <= k <= fitted rows < all rows, got k={k}, {n_fit} of {test_feats.shape[0]} rows")
    bank, bank_labels = test_feats[:n_fit].float(), test_labels[:n_fit]
    queries, query_labels = test_feats[n_fit:].float(), test_labels[n_fit:]
    nearest = torch.cdist(queries, bank).topk(k, dim=1, largest=False).indices  # Euclidean, un-normalized
    votes = F.one_hot(bank_labels[nearest], int(test_labels.max()) + 1).sum(dim=1)  # majority vote
    return float((votes.argmax(dim=1) == query_labels).float().mean())
