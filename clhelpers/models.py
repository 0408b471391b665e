"""A small CNN encoder for 28x28 digits, a projection head, and saving/loading the encoder.

SimCLR trains ``head(encoder(x))`` with the contrastive loss but evaluates ``encoder(x)``: the
backbone features before the head keep more information about the input (Chen et al., 2020,
section 4.2), so that is what kNN and linear probes use.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Encoder(nn.Module):
    """CNN: three stages of [conv3x3-BN-ReLU] x ``depth``, 2x2 max-pool after stages 1 and 2, then
    global average pooling. Input: (B, 1, 28, 28), float in [0, 1] (uint8 is accepted and scaled).
    Output: (B, ``widths[-1]``) features. Input standardization is built in.
    """

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), depth: int = 2):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 3 or min(widths) < 1 or depth < 1:
            raise ValueError(f"widths must be three positive ints and depth >= 1, got {widths}, {depth}")
        self.config = {"widths": list(widths), "depth": int(depth)}
        layers: list[nn.Module] = []
        c_in = 1
        for stage, c_out in enumerate(widths):
            for _ in range(depth):
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
                c_in = c_out
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.feature_dim = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected images of shape (B, 1, H, W), got {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        return self.net((x - MNIST_MEAN) / MNIST_STD)


class ProjectionHead(nn.Module):
    """SimCLR's MLP head: Linear - BatchNorm - ReLU - Linear, mapping features to the loss space."""

    def __init__(self, in_dim: int = 128, hidden_dim: int = 256, out_dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class SimCLRModel(nn.Module):
    """Encoder + projection head. ``forward`` returns ``(features h, projections z)``."""

    def __init__(self, encoder: Encoder | None = None, proj_dim: int = 64, hidden_dim: int = 256):
        super().__init__()
        self.encoder = encoder if encoder is not None else Encoder()
        self.head = ProjectionHead(self.encoder.feature_dim, hidden_dim, proj_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h, self.head(h)


def save_encoder(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save the encoder of ``model`` (an ``Encoder`` or anything with ``.encoder``) with its config.

    The file holds only tensors and plain Python values, so ``load_encoder`` can read it with
    ``torch.load(..., weights_only=True)``. The write goes to a temporary file first and is then
    renamed, so an interruption never leaves a half-written encoder.
    """
    encoder = getattr(model, "encoder", model)
    if not isinstance(encoder, Encoder):
        raise ValueError(f"expected an Encoder or a model with an .encoder, got {type(model).__name__}")
    encoder = getattr(encoder, "_orig_mod", encoder)  # unwrap torch.compile
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": "clhelpers-encoder-v1", "config": encoder.config, "state_dict": state}, tmp)
    os.replace(tmp, path)
    return path


def load_encoder(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Encoder:
    """Load an encoder written by ``save_encoder``; it comes back in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no encoder file at {path}; train one first (python -m clhelpers.train --out DIR)")
    blob = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != "clhelpers-encoder-v1":
        raise ValueError(f"{path} is not an encoder saved by clhelpers.models.save_encoder")
    encoder = Encoder(**blob["config"])
    encoder.load_state_dict(blob["state_dict"])
    return encoder.to(map_location).eval()
