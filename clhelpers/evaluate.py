"""Evaluation, one way: features, scores, baselines and representation quality (``python -m clhelpers evaluate``).

Features:

* ``embed(encoder, images)``: an encoder over many images in eval mode, without gradients
  (``batch_stats=True``: with each batch's BatchNorm statistics, as a training loss sees the outputs).
* ``features(method, images, space="h" | "z")``: the encoder features h (what kNN and the probes evaluate) or the
  projections z = head(h) (the space the loss acts in).

Scores (the maths lives in ``clhelpers.metrics``: tensors in, numbers out):

* ``knn_monitor(encoder, x_train, y_train, x_test, y_test, k)``: kNN accuracy of h, the monitor ``train`` runs.
* ``label_scores(f_train, y_train, f_test, y_test, per_class, draws, seed, k)``: linear probe and kNN with only a
  few labels per class, on the label draws of ``metrics.label_draws`` (the one way labels are drawn; the same
  seed gives every arm and every training seed the same digits: paired), and with all labels.
* ``split_scores(encoder, split, k)``: kNN and a 10-labels-per-class probe of an encoder on an in-memory split.
* ``evaluate_encoder(encoder, ...)``: kNN, probe and few-label probes of an encoder beside raw pixels (the CLI).

Baselines: ``untrained_encoder(cfg)`` (exactly where ``train(cfg)`` starts) and raw pixels (``pixel_baseline``,
``PIXELS``: an ``nn.Flatten`` that ``embed`` hands the images as floats in [0, 1]).

Representation quality: ``representation_quality`` (alignment and uniformity in z and h), ``positive_cosine``
(the mean cosine of two views, = 1 - alignment / 2) and ``collapse_stats`` (spread and effective rank).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from .augment import ViewParams, make_views
from .config import TrainConfig
from .data import load_dataset, to_float_images
from .device import pick_device, set_seed
from .methods import Method
from .metrics import (alignment, effective_rank, embedding_std, few_label_probe, knn_accuracy, label_draws,
                      linear_probe_accuracy, pixel_knn_accuracy, uniformity)
from .models import Encoder

__all__ = ["embed", "features", "knn_monitor", "label_scores", "split_scores", "evaluate_encoder", "untrained_encoder",
           "pixel_baseline", "PIXELS", "representation_quality", "positive_cosine", "collapse_stats"]

PIXELS = nn.Flatten()  # the raw-pixel "encoder": embed() hands it the images as floats in [0, 1]


# ----------------------------------------------------------------------------- features
@torch.no_grad()
def embed(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024, device: str | torch.device | None = None,
          batch_stats: bool = False) -> torch.Tensor:
    """Features ``encoder(images)`` as float32 (N, D) on the CPU.

    ``images``: uint8 (N, H, W) or (N, C, H, W), or float in [0, 1]. Runs in eval mode (BatchNorm uses
    its running statistics) without gradients, ``batch_size`` images at a time on ``device`` (default:
    where the encoder's parameters are), and puts the encoder back in the mode it was in.
    ``batch_stats=True`` runs a copy of ``encoder`` in training mode instead: BatchNorm normalizes each batch
    of ``batch_size`` images with its own statistics, as a training loss sees the outputs, and the
    encoder's running statistics stay as they are.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4):
        raise ValueError(f"images must be a tensor of shape (N, H, W) or (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.shape[0] == 0:
        raise ValueError("images is empty: give at least one image")
    if device is None:
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    if batch_stats:
        encoder = copy.deepcopy(encoder)
    was_training = encoder.training
    encoder.train(batch_stats)
    try:
        out = [encoder(to_float_images(images[i:i + batch_size].to(device))).float().cpu()
               for i in range(0, images.shape[0], batch_size)]
    finally:
        encoder.train(was_training)
    return torch.cat(out)


def features(method: Method, images: torch.Tensor, space: str = "h", batch_stats: bool = False) -> torch.Tensor:
    """``method``'s features of ``images`` (float32, CPU): ``space="h"`` the encoder's output, ``"z"`` the
    projection head's output z = head(h). Eval mode unless ``batch_stats`` (see ``embed``)."""
    if space not in ("h", "z"):
        raise ValueError(f"space must be 'h' (encoder features) or 'z' (projections), got {space!r}")
    if space == "h":
        return embed(method.encoder, images, batch_stats=batch_stats)
    modes = [(m, m.training) for m in method.modules()]  # embed restores the mode of the nn.Sequential it is given,
    try:                                                 # which would set encoder and head alike: restore each
        return embed(nn.Sequential(method.encoder, method.head), images, batch_stats=batch_stats)
    finally:
        for m, mode in modes:
            m.training = mode


# ----------------------------------------------------------------------------- scores
def knn_monitor(encoder: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                y_test: torch.Tensor, k: int) -> float:
    """kNN accuracy of ``encoder``'s features (h) on the test split, neighbours from the training split."""
    device = x_train.device
    f_train = embed(encoder, x_train, device=device).to(device)
    return knn_accuracy(f_train, y_train, embed(encoder, x_test, device=device).to(device), y_test, k=k)


def label_scores(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor,
                 per_class: Sequence[int] = (10,), draws: int = 5, seed: int = 0, k: int = 20) -> dict:
    """``{"probe": {n: [accs]}, "knn": {n: [accs]}}``: for each ``n`` in ``per_class`` (as a string key) one
    accuracy per label draw (``metrics.label_draws(y_train, y_test, n, draws, seed)``; the probe is
    ``metrics.few_label_probe`` on the same draws, kNN uses k = min(k, n)), and ``"all"`` (one value each)."""
    device = f_train.device
    out: dict = {"probe": {}, "knn": {}}
    for n in per_class:
        out["probe"][str(n)] = few_label_probe(f_train, y_train, f_test, y_test, n, draws, seed)["accs"]
        out["knn"][str(n)] = [knn_accuracy(f_train[rows.to(device)], y_train[rows.to(device)], f_test, y_test, k=min(k, n))
                              for rows in label_draws(y_train, y_test, n, draws, seed)]
    out["probe"]["all"] = [linear_probe_accuracy(f_train, y_train, f_test, y_test)]
    out["knn"]["all"] = [knn_accuracy(f_train, y_train, f_test, y_test, k=k)]
    return out


def split_scores(encoder: nn.Module, split: tuple[torch.Tensor, ...], k: int = 20, per_class: int = 10,
                 draws: int = 5, seed: int = 0) -> dict:
    """``{"knn_acc", "probe<per_class>"}`` of ``encoder``'s features h on ``split = (x_train, y_train, x_test,
    y_test)``: kNN accuracy and the few-label probe's mean over ``draws`` label draws (seeded by ``seed``)."""
    if len(split) != 4:
        raise ValueError(f"split must be (x_train, y_train, x_test, y_test), got {len(split)} items; use train.load_split(cfg, device)")
    x_train, y_train, x_test, y_test = split
    f_train, f_test, y_train, y_test = embed(encoder, x_train), embed(encoder, x_test), y_train.cpu(), y_test.cpu()
    probe = few_label_probe(f_train, y_train, f_test, y_test, per_class=per_class, draws=draws, seed=seed)
    return {"knn_acc": knn_accuracy(f_train, y_train, f_test, y_test, k=k), f"probe{per_class}": probe["mean"]}


def evaluate_encoder(encoder: nn.Module, dataset: str = "mnist", source: str = "auto", k: int = 20,
                     per_class: tuple[int, ...] = (1, 10), draws: int = 5, device: str | torch.device = "auto") -> dict:
    """kNN, linear-probe and few-label-probe accuracy of ``encoder`` (features h) and of raw pixels.

    Returns ``{"train_images", "test_images", "feature_dim", "encoder": {...}, "pixels": {...}}`` where
    each inner dict has ``knn``, ``probe`` and ``probe_<n>_per_class`` (mean over ``draws`` label draws)."""
    device = pick_device(device) if isinstance(device, str) else device
    x_train, y_train = load_dataset(dataset, "train", source=source)
    x_test, y_test = load_dataset(dataset, "test", source=source)
    report: dict = {"train_images": len(x_train), "test_images": len(x_test)}
    for name, module in (("encoder", encoder), ("pixels", PIXELS)):
        f_train, f_test = embed(module, x_train, device=device), embed(module, x_test, device=device)
        scores = label_scores(f_train, y_train, f_test, y_test, per_class, draws, seed=0, k=k)
        report[name] = {"knn": scores["knn"]["all"][0], "probe": scores["probe"]["all"][0],
                        **{f"probe_{n}_per_class": sum(scores["probe"][str(n)]) / draws for n in per_class}}
        report.setdefault("feature_dim", f_train.shape[1])
    return report


# ----------------------------------------------------------------------------- baselines
def untrained_encoder(cfg: TrainConfig, device: torch.device | str | None = None) -> Encoder:
    """The random-init baseline: exactly the encoder ``train(cfg)`` starts from (seeded from ``cfg.seed`` as
    ``train`` seeds it; ``tests/test_train.py`` checks the weights are equal), in eval mode, on ``device``."""
    set_seed(cfg.seed)
    encoder = Encoder(cfg.widths, cfg.depth).eval()
    return encoder.to(device) if device is not None else encoder


def pixel_baseline(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                   k: int) -> float | None:
    """Raw-pixel kNN on the same split; ``None`` (skipped) on a CPU where it would take more than a few seconds."""
    if x_train.device.type == "cpu" and len(x_train) * len(x_test) > 5e7:
        return None
    return pixel_knn_accuracy(x_train, y_train, x_test, y_test, k=k)


# ----------------------------------------------------------------------------- representation quality
@torch.no_grad()
def representation_quality(method: Method, images: torch.Tensor, views: ViewParams | None = None, seed: int = 0) -> dict:
    """Alignment and uniformity (Wang & Isola, 2020) of a trained method on two views of ``images``.

    Measured in the loss space (``z``, the projection head's output, where the temperature acts) and on
    the encoder features (``h``, what kNN evaluates; after a ReLU, so h lies in the non-negative orthant).
    Returns ``{"alignment", "uniformity", "alignment_h", "uniformity_h"}``.
    """
    device = next(method.parameters()).device
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(seed)
    v1, v2 = make_views(images.to(device), views, generator=gen)
    h1, h2 = embed(method.encoder, v1), embed(method.encoder, v2)
    was_training = method.training
    method.eval()
    z1, z2 = (method.head(h.to(device)).float().cpu() for h in (h1, h2))
    method.train(was_training)
    return {"alignment": alignment(z1, z2), "uniformity": uniformity(z1),
            "alignment_h": alignment(h1, h2), "uniformity_h": uniformity(h1)}


def positive_cosine(alignment_value: float) -> float:
    """The mean cosine of the positive pairs, from their alignment (exponent 2): for unit vectors
    ||a - b||^2 = 2 - 2 cos(a, b), so mean cos = 1 - alignment / 2. Pass ``representation_quality(...)
    ["alignment"]`` for z (the loss space) or ``["alignment_h"]`` for h."""
    if not 0.0 <= alignment_value <= 4.0 + 1e-6:
        raise ValueError(f"alignment (exponent 2) lies in [0, 4], got {alignment_value!r}; pass metrics.alignment(z1, z2)")
    return 1.0 - alignment_value / 2.0


@torch.no_grad()
def collapse_stats(method: Method, images: torch.Tensor, batch_size: int = 250) -> dict:
    """The collapse diagnostics of ``method`` on ``images``.

    ``embedding_std`` of z = head(encoder(x)) and of h = encoder(x) in eval mode (BatchNorm's running
    statistics, as kNN sees the features), of z in training mode (``"embedding_std_batch"``: BatchNorm
    normalizes with each batch of ``batch_size`` images, as the loss sees z; on a copy, so the running
    statistics stay), the 1/sqrt(d) references, and ``metrics.effective_rank`` of z (training mode) and of h:
    ``{"embedding_std", "embedding_std_h", "embedding_std_batch", "std_reference", "std_reference_h",
    "effective_rank", "effective_rank_h"}``.
    """
    h, z = features(method, images, "h"), features(method, images, "z")
    z_batch = embed(nn.Sequential(method.encoder, method.head), images, batch_size=batch_size, batch_stats=True)  # a copy
    return {"embedding_std": embedding_std(z), "embedding_std_h": embedding_std(h),
            "embedding_std_batch": embedding_std(z_batch), "std_reference": z.shape[1] ** -0.5,
            "std_reference_h": h.shape[1] ** -0.5, "effective_rank": effective_rank(z_batch), "effective_rank_h": effective_rank(h)}


if __name__ == "__main__":  # the older entry point, python -m clhelpers.evaluate; never imported
    import sys

    from clhelpers.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
