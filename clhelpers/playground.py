"""A 2-D contrastive-learning playground: a few hidden classes on the unit circle, gradient descent on NT-Xent.

The toy is a tiny encoder, small enough to watch. Every sample ``i`` has 2-D *features* ``u_i`` (one free
unit vector per sample: what the earlier layers of a network compute for it) and one *head* shared by all
samples, a linear map ``A`` plus a bias ``b``. A view of sample ``i`` is its features rotated by a fresh random
angle (the augmentation, ``noise`` radians of spread), and its embedding is ``normalize(A v + b)``. Each step
draws two new views per sample, computes ``clhelpers.losses.nt_xent`` on them (or, with ``negatives=False``,
only its pull term ``-cos(z1_i, z2_i) / t``) and takes one gradient step on the features and the head.

What the reader can see:

* **alignment and uniformity** (Wang & Isola, 2020): with negatives the views of a sample agree and the
  samples spread around the circle;
* **collapse without negatives**: the pull term alone is smallest when the shared head ignores its input,
  so every sample lands on one spot (``embedding_std`` -> 0), fresh augmentations keep pushing it there;
* **the uniformity-tolerance dilemma** (Wang & Liu, CVPR 2021): a small temperature pushes each point away
  from its nearest neighbours, which are samples of its own class, so the classes dissolve into an even
  ring; a large temperature tolerates them and the classes stay together.

Steps are scaled by ``t`` (the gradient of ``t * L``), so every temperature moves at a similar speed; the
fixed points are those of the loss itself. Everything is float64 and seeded: the same arguments give the
same numbers on every run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .losses import nt_xent
from .metrics import alignment, embedding_std, uniformity
from .validate import check_positive, check_temperature

__all__ = ["Playground", "init_points", "views", "embed", "step", "run", "measures", "MAX_PAIRS"]

MAX_PAIRS = 256
MAX_STEPS = 100_000
HEAD_LR_SCALE = 60.0  # the shared head learns this much faster than each sample's features
CLASS_WIDTH = 0.3     # each class fills this fraction of its sector of the circle at the start


@dataclass(frozen=True)
class Playground:
    """The playground's state; ``step`` returns a new one (nothing is modified in place).

    ``features`` (N, 2) unit rows, one per sample; ``head`` (2, 2) and ``bias`` (2,) shared by all samples;
    ``labels`` (N,) hidden classes (used only to colour and to measure, never by the loss); ``noise`` the
    spread of the augmentation angle in radians; ``seed`` and ``steps`` fix the augmentations of the next step.
    """
    features: torch.Tensor
    head: torch.Tensor
    bias: torch.Tensor
    labels: torch.Tensor
    noise: float
    seed: int
    steps: int = 0

    @property
    def n_pairs(self) -> int:
        return self.features.shape[0]


def _check_int(value, name: str, low: int, high: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}; {hint}")
    return value


def init_points(n_pairs: int = 16, n_classes: int = 3, noise: float = 0.15, seed: int = 0) -> Playground:
    """``n_pairs`` samples from ``n_classes`` hidden classes, each class a short arc of the circle.

    Class ``c`` starts in the first ``CLASS_WIDTH`` of the sector ``[2 pi c / C, 2 pi (c + 1) / C)`` (plus a
    random rotation); sample ``i`` has class ``i % n_classes``. The head starts as the identity with a small
    random bias, so the embeddings start where the features are.
    """
    _check_int(n_pairs, "n_pairs", 2, MAX_PAIRS, "a contrastive batch needs 2 or more samples, e.g. 16")
    _check_int(n_classes, "n_classes", 1, n_pairs, "use 1 to n_pairs hidden classes, e.g. 3")
    _check_int(seed, "seed", 0, 2**31 - 1, "use a non-negative integer such as 0")
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not 0 <= noise <= math.pi / 2:
        raise ValueError(f"noise must be an angle in radians from 0 to pi/2 (the spread of the augmentation), "
                         f"got {noise!r}; try 0.15")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_pairs) % n_classes
    where = (labels.double() + CLASS_WIDTH * torch.rand(n_pairs, generator=g, dtype=torch.float64)) / n_classes
    angle = 2 * math.pi * (where + torch.rand(1, generator=g, dtype=torch.float64))
    features = torch.stack([angle.cos(), angle.sin()], dim=1)
    bias = 0.3 * F.normalize(torch.randn(2, generator=g, dtype=torch.float64), dim=0)
    return Playground(features, torch.eye(2, dtype=torch.float64), bias, labels, float(noise), seed)


def _rotate(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    c, s = angle.cos(), angle.sin()
    return torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], dim=1)


def _embed(x: torch.Tensor, head: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.normalize(x @ head.T + bias, dim=1)


def _views(state: Playground, features: torch.Tensor, head: torch.Tensor, bias: torch.Tensor):
    g = torch.Generator().manual_seed(state.seed * 1_000_003 + state.steps)
    angle = state.noise * torch.randn(2, state.n_pairs, generator=g, dtype=torch.float64)
    return _embed(_rotate(features, angle[0]), head, bias), _embed(_rotate(features, angle[1]), head, bias)


def views(state: Playground) -> tuple[torch.Tensor, torch.Tensor]:
    """The embeddings ``(z1, z2)``, each (N, 2), of the two views the next step will use."""
    return _views(state, state.features, state.head, state.bias)


def embed(state: Playground) -> torch.Tensor:
    """The (N, 2) unit embeddings of the samples themselves (no augmentation)."""
    return _embed(state.features, state.head, state.bias)


def _loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float, negatives: bool) -> torch.Tensor:
    if negatives:
        return nt_xent(z1, z2, temperature)
    return -(z1 * z2).sum(dim=1).mean() / temperature  # the pull term alone: nothing keeps samples apart


def step(state: Playground, temperature: float = 0.2, negatives: bool = True, lr: float = 0.05,
         n_steps: int = 1) -> Playground:
    """``n_steps`` steps of gradient descent; returns the new state (``state`` is left unchanged).

    Each step draws fresh views, computes the loss (NT-Xent, or only its pull term when ``negatives`` is
    False), and moves the features by ``lr * 2N * t`` times their gradient (then back onto the circle) and
    the head by ``HEAD_LR_SCALE * lr * t`` times its gradient.
    """
    t = check_temperature(temperature)
    lr = check_positive(lr, "lr", hint="the step size, e.g. 0.05")
    _check_int(n_steps, "n_steps", 0, MAX_STEPS, "the number of gradient steps to take, e.g. 25")
    if not isinstance(negatives, bool):
        raise ValueError(f"negatives must be True (NT-Xent) or False (pull term only), got {negatives!r}")
    features, head, bias, n = state.features, state.head, state.bias, state.n_pairs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small only lose time to thread hand-offs (10x on a busy CPU)
    try:
        for k in range(n_steps):
            params = [p.detach().requires_grad_(True) for p in (features, head, bias)]
            z1, z2 = _views(replace(state, steps=state.steps + k), *params)
            grads = torch.autograd.grad(_loss(z1, z2, t, negatives), params)
            features = F.normalize(params[0].detach() - lr * 2 * n * t * grads[0], dim=1)
            head = params[1].detach() - HEAD_LR_SCALE * lr * t * grads[1]
            bias = params[2].detach() - HEAD_LR_SCALE * lr * t * grads[2]
    finally:
        torch.set_num_threads(threads)
    return replace(state, features=features, head=head, bias=bias, steps=state.steps + n_steps)


def run(n_pairs: int = 16, temperature: float = 0.2, negatives: bool = True, steps: int = 150,
        n_classes: int = 3, noise: float = 0.15, lr: float = 0.05, seed: int = 0) -> Playground:
    """``init_points`` then ``steps`` steps: the state after ``steps`` steps, the same on every call."""
    return step(init_points(n_pairs, n_classes, noise, seed), temperature, negatives, lr, steps)


def _arc_degrees(z: torch.Tensor) -> float:
    """The shortest arc of the circle that holds every row of ``z``, in degrees (0 = one spot)."""
    angle = torch.sort(torch.remainder(torch.atan2(z[:, 1], z[:, 0]), 2 * math.pi)).values
    gaps = torch.diff(torch.cat([angle, angle[:1] + 2 * math.pi]))
    return math.degrees(2 * math.pi - float(gaps.max()))


def measures(state: Playground, temperature: float = 0.2, negatives: bool = True) -> dict:
    """Numbers of the current state.

    ``loss`` of the next step's views; ``alignment`` of those views and ``uniformity`` of the samples
    (Wang & Isola; lower is better for both); ``std`` (``embedding_std``: about 0.71 spread in 2-D, 0 when
    collapsed); ``arc`` the shortest arc holding every sample, in degrees; ``same_class_cos`` and
    ``other_class_cos``, mean cosines between distinct samples of the same / different hidden classes
    (``other_class_cos`` is nan with a single class).
    """
    z1, z2 = views(state)
    z = embed(state)
    cos = z @ z.T
    same = (state.labels[:, None] == state.labels[None, :]) & ~torch.eye(state.n_pairs, dtype=torch.bool)
    other = state.labels[:, None] != state.labels[None, :]
    return {
        "steps": state.steps,
        "loss": float(_loss(z1, z2, check_temperature(temperature), negatives)),
        "alignment": alignment(z1, z2),
        "uniformity": uniformity(z),
        "std": embedding_std(z),
        "arc": _arc_degrees(z),
        "same_class_cos": float(cos[same].mean()) if bool(same.any()) else float("nan"),
        "other_class_cos": float(cos[other].mean()) if bool(other.any()) else float("nan"),
    }
