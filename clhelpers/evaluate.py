"""Evaluate a trained encoder on a dataset (the command ``python -m clhelpers evaluate --encoder runs/cpu/encoder.pt``).

* ``embed(encoder, images)`` runs an encoder over many images in eval mode, without gradients
  (``batch_stats=True``: with each batch's BatchNorm statistics, as a training loss sees the outputs).
* ``evaluate_encoder(encoder, ...)`` loads the dataset's train and test splits and reports kNN
  accuracy, the linear probe (all labels and a few labels per class) on the encoder features h,
  each beside the same measurement on raw pixels.
* ``split_scores(encoder, split, k)`` scores an encoder on an in-memory split (``train.load_split``): kNN and a
  10-labels-per-class probe, the two numbers the recorded benchmark scripts compare.

The metrics themselves (tensors in, numbers out) live in ``clhelpers.metrics``.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .data import DATASETS, load_dataset, to_float_images
from .device import pick_device
from .metrics import few_label_probe, knn_accuracy, linear_probe_accuracy


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
    features = {
        "encoder": (embed(encoder, x_train, device=device), embed(encoder, x_test, device=device)),
        "pixels": (to_float_images(x_train).flatten(1), to_float_images(x_test).flatten(1)),
    }
    report: dict = {"train_images": len(x_train), "test_images": len(x_test), "feature_dim": features["encoder"][0].shape[1]}
    for name, (f_train, f_test) in features.items():
        scores = {"knn": knn_accuracy(f_train, y_train, f_test, y_test, k=k),
                  "probe": linear_probe_accuracy(f_train, y_train, f_test, y_test)}
        for n in per_class:
            scores[f"probe_{n}_per_class"] = few_label_probe(f_train, y_train, f_test, y_test, per_class=n, draws=draws)["mean"]
        report[name] = scores
    return report


if __name__ == "__main__":  # the older entry point, python -m clhelpers.evaluate; never imported
    import sys

    from clhelpers.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
