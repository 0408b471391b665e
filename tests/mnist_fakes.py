"""Small fake MNIST-like IDX files for the tests of clhelpers.data and clhelpers.download.

``SmallMNIST.install(monkeypatch)`` makes the package expect 60 training and 10 test images with the
fakes' MD5s, so every check (size, header, MD5) runs on a few kilobytes instead of 55 MB.
"""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from clhelpers import data, download
from clhelpers.download import RawFile

N_TRAIN, N_TEST = 60, 10


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    """An IDX file's bytes: magic, dims, then the uint8 payload."""
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    """Write an uncompressed IDX file."""
    path.write_bytes(idx_bytes(magic, array))


class SmallMNIST:
    """Four small, deterministic IDX files (60 train / 10 test) that the package treats as official."""

    def __init__(self, seed: int = 0, n_train: int = N_TRAIN, n_test: int = N_TEST):
        rng = np.random.default_rng(seed)
        self.contents: dict[str, bytes] = {}
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            self.contents[f"{prefix}-images-idx3-ubyte"] = idx_bytes(2051, rng.integers(0, 256, (n, 28, 28)))
            self.contents[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(2049, np.arange(n) % 10)

    def specs(self, with_md5: bool = True) -> tuple[RawFile, ...]:
        """The RawFile entries for these files (MD5s of the fakes; None for a dataset without MD5s)."""
        out = []
        for name, content in self.contents.items():
            ndim = 3 if "images" in name else 1
            dims = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
            md5 = hashlib.md5(content).hexdigest()
            gz_md5 = hashlib.md5(gzip.compress(content, mtime=0)).hexdigest()
            out.append(RawFile(name, 2051 if ndim == 3 else 2049, dims, md5 if with_md5 else None, gz_md5))
        return tuple(out)

    def install(self, monkeypatch, name: str = "mnist") -> None:
        """Make ``name`` expect these files (Fashion-MNIST: without uncompressed MD5s, as for real)."""
        entry = replace(download.RAW_DATASETS[name], files=self.specs(with_md5=(name == "mnist")))
        monkeypatch.setitem(download.RAW_DATASETS, name, entry)

    def write(self, folder: Path, gz: bool = False) -> Path:
        """Write the four files into ``folder`` (created), uncompressed or as ``.gz``; returns it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.contents.items():
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(content, mtime=0))
            else:
                (folder / name).write_bytes(content)
        return folder


def fresh_session(monkeypatch) -> None:
    """Forget what this process verified, fetched and said (each test starts a new session)."""
    monkeypatch.setattr(download, "_VERIFIED", {})
    monkeypatch.setattr(data, "_FAILED_FETCHES", {})
    monkeypatch.setattr(data, "_SAID", set())


def fake_sources(monkeypatch, calls: list, **behaviour) -> None:
    """Replace the download sources: ``behaviour[source]`` is an exception to raise or a SmallMNIST to write."""

    def make(source: str, what):
        def run(name: str, stage: Path) -> Path:
            calls.append(source)
            if isinstance(what, Exception):
                raise what
            return what.write(stage / source)
        return run

    monkeypatch.setattr(download, "SOURCES", {source: make(source, what) for source, what in behaviour.items()})
