"""A small CNN encoder for 28x28 images, the projection and prediction heads, and saving/loading.

SimCLR trains ``head(encoder(x))`` with the contrastive loss but evaluates ``encoder(x)``: the
backbone features before the head keep more information about the input (Chen et al., 2020,
section 4.2), so that is what kNN and linear probes use.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .files import atomic_torch_save, load_checked

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
ENCODER_FORMAT = "clhelpers-encoder-v1"
_TRAIN_HINT = "train one first (python -m clhelpers train --out DIR) or save one with clhelpers.models.save_encoder"


def _per_channel(value: float | Sequence[float], channels: int, name: str) -> list[float]:
    """``value`` as a list of ``channels`` floats (a single number is repeated)."""
    values = [float(value)] * channels if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != channels:
        raise ValueError(f"{name} must be one number or {channels} numbers (one per input channel), got {value!r}")
    if name == "std" and min(values) <= 0:
        raise ValueError(f"std must be positive (it divides the input), got {value!r}")
    return values


class Encoder(nn.Module):
    """CNN: three stages of [conv3x3-BN-ReLU] x ``depth``, 2x2 max-pool after stages 1 and 2, then
    global average pooling. Input: (B, ``in_channels``, H, W), float in [0, 1] (uint8 is accepted
    and scaled by 1/255). Output: (B, ``widths[-1]``) features.

    Input standardization ``(x - mean) / std`` is built in; ``mean`` and ``std`` are one number or
    one per channel (the defaults are MNIST's). The arguments are kept in ``self.config`` so that
    ``load_encoder`` can rebuild the same network.
    """

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128),
        depth: int = 2,
        in_channels: int = 1,
        mean: float | Sequence[float] = MNIST_MEAN,
        std: float | Sequence[float] = MNIST_STD,
    ):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"widths must be three positive ints, e.g. (32, 64, 128), got {widths}")
        if int(depth) != depth or depth < 1:
            raise ValueError(f"depth must be an int >= 1 (conv layers per stage), got {depth!r}")
        if int(in_channels) != in_channels or in_channels < 1:
            raise ValueError(f"in_channels must be an int >= 1 (1 for grey images, 3 for RGB), got {in_channels!r}")
        means = _per_channel(mean, int(in_channels), "mean")
        stds = _per_channel(std, int(in_channels), "std")
        self.config = {"widths": list(widths), "depth": int(depth), "in_channels": int(in_channels), "mean": means, "std": stds}
        self.in_channels, self.feature_dim = int(in_channels), widths[-1]
        self.register_buffer("mean", torch.tensor(means).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(stds).view(1, -1, 1, 1), persistent=False)
        layers: list[nn.Module] = []
        c_in = self.in_channels
        for stage, c_out in enumerate(widths):
            for _ in range(int(depth)):
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
                c_in = c_out
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``h`` of shape (B, feature_dim) for images ``x`` of shape (B, in_channels, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected images of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}; "
                "add the channel dimension with x.unsqueeze(1) (or clhelpers.data.to_float_images)"
            )
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        return self.net((x - self.mean) / self.std)


def _mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Linear - BatchNorm - ReLU - Linear (the shape of both heads)."""
    for name, value in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    return nn.Sequential(
        nn.Linear(int(in_dim), int(hidden_dim), bias=False),
        nn.BatchNorm1d(int(hidden_dim)),
        nn.ReLU(inplace=True),
        nn.Linear(int(hidden_dim), int(out_dim)),
    )


class ProjectionHead(nn.Module):
    """SimCLR's MLP head ``g``: Linear - BatchNorm - ReLU - Linear, mapping features h (B, in_dim)
    to the space where the loss is computed, z = g(h) of shape (B, out_dim)."""

    def __init__(self, in_dim: int = 128, hidden_dim: int = 256, out_dim: int = 64):
        super().__init__()
        self.net = _mlp(in_dim, hidden_dim, out_dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """z = g(h)."""
        return self.net(h)


class PredictionHead(nn.Module):
    """SimSiam's / BYOL's predictor ``q``: Linear - BatchNorm - ReLU - Linear from ``dim`` to ``dim``
    through a ``hidden_dim`` bottleneck. p = q(z) is trained to predict the other view's z."""

    def __init__(self, dim: int = 64, hidden_dim: int = 32):
        super().__init__()
        self.net = _mlp(dim, hidden_dim, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """p = q(z), same shape as z."""
        return self.net(z)


class SimCLRModel(nn.Module):
    """Encoder + projection head. ``forward`` returns ``(features h, projections z)``."""

    def __init__(self, encoder: Encoder | None = None, proj_dim: int = 64, hidden_dim: int = 256):
        super().__init__()
        self.encoder = encoder if encoder is not None else Encoder()
        self.head = ProjectionHead(self.encoder.feature_dim, hidden_dim, proj_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h, z) = (encoder(x), head(encoder(x)))."""
        h = self.encoder(x)
        return h, self.head(h)


def save_encoder(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save the encoder of ``model`` (an ``Encoder``, or anything with ``.encoder``, compiled or not)
    with its config, atomically (``files.atomic_torch_save``). Returns the path.

    The file holds only tensors and plain Python values, so ``load_encoder`` reads it with
    ``torch.load(..., weights_only=True)``.
    """
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    encoder = getattr(model, "encoder", model)
    encoder = getattr(encoder, "_orig_mod", encoder)
    if not isinstance(encoder, Encoder):
        raise ValueError(f"expected an Encoder or a model with an .encoder, got {type(model).__name__}; pass model.encoder")
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    return atomic_torch_save(path, {"format": ENCODER_FORMAT, "config": encoder.config, "state_dict": state})


def load_encoder(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Encoder:
    """Load an encoder written by ``save_encoder``; it comes back in eval mode on ``map_location``.

    Files from before ``in_channels``/``mean``/``std`` existed (config ``{widths, depth}``) load
    with MNIST's defaults. A missing, empty, truncated or foreign file raises ``ValueError``
    naming the file and the fix.
    """
    blob = load_checked(path, "encoder file", _TRAIN_HINT, map_location=map_location)
    if not isinstance(blob, dict) or blob.get("format") != ENCODER_FORMAT or not isinstance(blob.get("config"), dict):
        raise ValueError(f"{path} is not an encoder saved by clhelpers.models.save_encoder; {_TRAIN_HINT}")
    try:
        encoder = Encoder(**blob["config"])
        encoder.load_state_dict(blob["state_dict"])
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path} holds an encoder this version cannot rebuild ({reason}); {_TRAIN_HINT}") from None
    return encoder.to(map_location).eval()
