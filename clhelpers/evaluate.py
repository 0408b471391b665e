"""How good are learned features? kNN accuracy, a linear probe, alignment and uniformity.

All functions take plain tensors, so they work on raw pixels as well as on encoder features:
``knn_accuracy(pixels_train, y_train, pixels_test, y_test)`` is the raw-pixel baseline that a
contrastive encoder has to beat.

* ``embed(encoder, images)`` runs an encoder over many images in eval mode, without gradients.
* ``knn_accuracy`` classifies each test row by a similarity-weighted vote of its ``k`` nearest
  training rows (cosine similarity), the usual monitor of self-supervised training.
* ``linear_probe_accuracy`` fits a multinomial logistic regression on frozen, standardized features.
* ``alignment`` and ``uniformity`` are the two properties of Wang & Isola (ICML 2020) that the
  contrastive loss optimizes: positives close together, all features spread over the sphere.

Command line: ``python -m clhelpers.evaluate --encoder runs/cpu/encoder.pt`` prints kNN and
linear-probe accuracy on the test split, next to the raw-pixel kNN baseline.
"""
from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F
from torch import nn

from .data import load_mnist, to_float_images


def _check_features(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, D) with N, D >= 1, got {tuple(x.shape)}; flatten images with x.flatten(1)")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got {x.dtype}; convert with .float()")


def _check_labels(y: torch.Tensor, n: int, name: str) -> None:
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.shape[0] != n:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be a 1-D tensor with one label per feature row ({n}), got {shape}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class labels, got {y.dtype}")
    if n and int(y.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0")


@torch.no_grad()
def embed(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024, device: str | torch.device | None = None) -> torch.Tensor:
    """Features ``encoder(images)`` as float32 (N, D) on the CPU.

    ``images``: uint8 (N, 28, 28) or (N, 1, 28, 28), or float in [0, 1]. Runs in eval mode
    (BatchNorm uses its running statistics) without gradients, ``batch_size`` images at a time on
    ``device`` (default: where the encoder's parameters are), and puts the encoder back in the
    train/eval mode it was in.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 1, 28, 28), got {tuple(images.shape)}")
    if device is None:
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    was_training = encoder.training
    encoder.eval()
    try:
        out = []
        for start in range(0, images.shape[0], batch_size):
            batch = to_float_images(images[start:start + batch_size].to(device))
            out.append(encoder(batch).float().cpu())
    finally:
        encoder.train(was_training)
    if not out:
        raise ValueError("images is empty")
    return torch.cat(out)


def _check_split(train_feats, train_labels, test_feats, test_labels) -> None:
    """The checks shared by the classifiers: 2-D finite features of one width, one label per row."""
    _check_features(train_feats, "train_feats")
    _check_features(test_feats, "test_feats")
    _check_labels(train_labels, train_feats.shape[0], "train_labels")
    _check_labels(test_labels, test_feats.shape[0], "test_labels")
    if train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(f"train_feats and test_feats need the same width, got {train_feats.shape[1]} and {test_feats.shape[1]}")


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
    too (pass ``images.flatten(1).float()``). Test rows are processed ``batch_size`` at a time,
    on the device of ``train_feats``.
    """
    _check_split(train_feats, train_labels, test_feats, test_labels)
    if not isinstance(k, int) or k < 1 or k > train_feats.shape[0]:
        raise ValueError(f"k must be an int between 1 and the number of training rows ({train_feats.shape[0]}), got {k!r}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be positive and finite, got {temperature!r}")
    device = train_feats.device
    train = F.normalize(train_feats.float(), dim=1)
    train_labels = train_labels.to(device)
    test_labels = test_labels.to(device)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    correct = 0
    for start in range(0, test_feats.shape[0], batch_size):
        q = F.normalize(test_feats[start:start + batch_size].to(device).float(), dim=1)
        sims, idx = (q @ train.T).topk(k, dim=1)
        weights = (sims / temperature).exp()
        votes = torch.zeros(q.shape[0], num_classes, device=device)
        votes.scatter_add_(1, train_labels[idx], weights)
        correct += int((votes.argmax(dim=1) == test_labels[start:start + batch_size]).sum())
    return correct / test_feats.shape[0]


def linear_probe_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    test_labels: torch.Tensor,
    weight_decay: float = 1e-4,
    max_iter: int = 200,
) -> float:
    r"""Test accuracy of a linear classifier trained on frozen features, in [0, 1].

    Features are standardized with the training rows' mean and standard deviation, then a
    multinomial logistic regression :math:`\min_{W,b} \mathrm{CE}(XW + b, y) + \lambda \|W\|^2`
    (:math:`\lambda` = ``weight_decay``) is fit full-batch with L-BFGS (``max_iter`` iterations)
    on the features' device. Deterministic, and a few seconds on 60,000 x 128 features on a CPU.
    """
    _check_split(train_feats, train_labels, test_feats, test_labels)
    if weight_decay < 0 or max_iter < 1:
        raise ValueError(f"weight_decay must be >= 0 and max_iter >= 1, got {weight_decay}, {max_iter}")
    device = train_feats.device
    x = train_feats.float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    y = train_labels.to(device)
    num_classes = int(max(y.max(), test_labels.max())) + 1
    with torch.enable_grad():
        linear = nn.Linear(x.shape[1], num_classes).to(device)
        nn.init.zeros_(linear.weight)
        nn.init.zeros_(linear.bias)
        opt = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(linear(x), y) + weight_decay * linear.weight.square().sum()
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        pred = linear((test_feats.to(device).float() - mean) / std).argmax(dim=1)
    return float((pred == test_labels.to(device)).float().mean())


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2) -> float:
    r"""Alignment of positive pairs (Wang & Isola, 2020): lower is better, 0 when pairs coincide.

    .. math:: \mathcal{L}_\text{align} = \frac{1}{N}\sum_i \lVert \hat z_{1,i} - \hat z_{2,i} \rVert_2^\alpha,
              \qquad \hat z = z / \lVert z \rVert_2

    Rows are L2-normalized inside, so the value lies in [0, 2^alpha].
    """
    _check_features(z1, "z1")
    _check_features(z2, "z2")
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape (row i of each is a positive pair), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    d = (F.normalize(z1.float(), dim=1) - F.normalize(z2.float(), dim=1)).norm(dim=1)
    return float(d.pow(alpha).mean())


def uniformity(z: torch.Tensor, t: float = 2) -> float:
    r"""Uniformity on the unit sphere (Wang & Isola, 2020): lower is better (more spread out).

    .. math:: \mathcal{L}_\text{uniform} = \log \frac{2}{N(N-1)} \sum_{i<j} e^{-t \lVert \hat z_i - \hat z_j \rVert_2^2}

    Rows are L2-normalized inside. All points equal gives log(1) = 0, the maximum; the more spread
    out the points, the more negative the value (Jensen's inequality bounds it below by
    -2t N / (N - 1)). Uses all N(N-1)/2 pairs: pass a subset (a few thousand rows).
    """
    _check_features(z, "z")
    if z.shape[0] < 2:
        raise ValueError(f"uniformity needs at least 2 rows, got {z.shape[0]}")
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    sq = torch.pdist(F.normalize(z.float(), dim=1)).pow(2)
    return float(sq.mul(-t).exp().mean().log())


def pixel_knn_accuracy(
    train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor, test_labels: torch.Tensor, k: int = 20
) -> float:
    """The raw-pixel baseline: ``knn_accuracy`` on flattened images scaled to [0, 1]."""
    return knn_accuracy(
        to_float_images(train_images).flatten(1), train_labels, to_float_images(test_images).flatten(1), test_labels, k=k
    )


def main(argv: list[str] | None = None) -> None:
    from .models import load_encoder
    from .device import pick_device

    parser = argparse.ArgumentParser(prog="python -m clhelpers.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", required=True, help="encoder.pt written by python -m clhelpers.train --out DIR")
    parser.add_argument("--data", default="auto", choices=["auto", "offline", "torchvision"], help="MNIST source (see clhelpers.data)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--k", type=int, default=20, help="neighbours for kNN (default 20)")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be >= 1")
    try:
        device = pick_device(args.device)
        encoder = load_encoder(args.encoder, map_location=device)
    except ValueError as err:
        parser.error(str(err))
    x_train, y_train = load_mnist("train", source=args.data)
    x_test, y_test = load_mnist("test", source=args.data)
    f_train = embed(encoder, x_train, device=device).to(device)
    f_test = embed(encoder, x_test, device=device).to(device)
    knn = knn_accuracy(f_train, y_train, f_test, y_test, k=args.k)
    probe = linear_probe_accuracy(f_train, y_train, f_test, y_test)
    pixels = pixel_knn_accuracy(x_train.to(device), y_train, x_test.to(device), y_test, k=args.k)
    print(f"train {len(x_train)} / test {len(x_test)} digits, features {f_train.shape[1]}-d, device {device.type}")
    print(f"kNN accuracy (k={args.k}):     {knn:.4f}")
    print(f"linear probe accuracy:  {probe:.4f}")
    print(f"raw-pixel kNN baseline: {pixels:.4f}")


if __name__ == "__main__":
    main()
