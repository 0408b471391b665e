import numpy as np
import pytest
import torch

from clhelpers import data
from clhelpers.data import (
    DATASETS, MNISTFileError, load_dataset, load_mnist, offline_split_indices, read_idx, to_float_images,
    write_truncated_mnist,
)


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    """Each test starts a new 'session' for the print-once notices."""
    monkeypatch.setattr(data, "_SAID", set())


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


def test_auto_download_failure_falls_back_and_says_how_to_get_full_set(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)

    def no_network(root, name):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_download", no_network)
    x, y = load_mnist("train", source="auto", root=tmp_path)
    assert len(x) == 4000
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "could not download" in err and "source='torchvision'" in err


def write_idx(path, magic, array):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(root, n_train=60000, n_test=10000, folder="MNIST"):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_idx(raw / "train-images-idx3-ubyte", 2051, rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(raw / "train-labels-idx1-ubyte", 2049, rng.integers(0, 10, n_train))
    write_idx(raw / "t10k-images-idx3-ubyte", 2051, rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(raw / "t10k-labels-idx1-ubyte", 2049, rng.integers(0, 10, n_test))
    return raw


def test_torchvision_files_on_disk_are_read(monkeypatch, tmp_path):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    fake_mnist(tmp_path)
    monkeypatch.setattr(data, "_download", lambda root, name: pytest.fail("must not download when files exist"))
    x, y = load_mnist("test", source="auto", root=tmp_path)
    assert x.shape == (10000, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    x2, _ = load_mnist("train", source="torchvision", root=tmp_path)
    assert x2.shape == (60000, 28, 28)


def test_truncated_file_gives_clear_error(tmp_path):
    raw = fake_mnist(tmp_path)
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


def test_offline_mode_forbids_download(monkeypatch, tmp_path):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    with pytest.raises(ValueError, match="CLHELPERS_OFFLINE"):
        load_mnist("train", source="torchvision", root=tmp_path)


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


def test_failed_download_is_not_retried_in_the_same_session(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []

    def no_network(root, name):
        calls.append((root, name))
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_download", no_network)
    load_mnist("train", source="auto", root=tmp_path)
    load_mnist("test", source="auto", root=tmp_path)
    assert len(calls) == 1
    assert capsys.readouterr().err.count("could not download") == 1  # said once, not per call


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


def test_fashion_mnist_files_on_disk_are_read_even_offline(monkeypatch, tmp_path):
    fake_mnist(tmp_path, folder="FashionMNIST")
    monkeypatch.setattr(data, "_download", lambda root, name: pytest.fail("must not download when files exist"))
    for offline in ("1", "0"):
        monkeypatch.setenv("CLHELPERS_OFFLINE", offline)
        x, y = load_dataset("fashion-mnist", "test", root=tmp_path)
        assert x.shape == (10000, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    x, _ = load_dataset("fashion-mnist", "train", source="torchvision", root=tmp_path)
    assert x.shape == (60000, 28, 28)
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    fake_mnist(tmp_path / "elsewhere", n_train=1, n_test=1)  # MNIST's files are not Fashion-MNIST's
    with pytest.raises(ValueError, match="no offline copy"):
        load_dataset("fashion-mnist", "test", root=tmp_path / "elsewhere")


def test_fashion_mnist_has_no_offline_copy_and_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    for source in ("offline", "auto"):
        with pytest.raises(ValueError) as info:
            load_dataset("fashion-mnist", "train", source=source, root=tmp_path)
        message = str(info.value)
        assert "Fashion-MNIST has no offline copy" in message and "source='torchvision'" in message
        assert str(tmp_path / "FashionMNIST" / "raw") in message and "unset CLHELPERS_OFFLINE" in message
    with pytest.raises(ValueError, match="forbids downloading.*no offline copy"):
        load_dataset("fashion-mnist", "train", source="torchvision", root=tmp_path)


def test_fashion_mnist_download_failure_is_an_error_not_a_fallback(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CLHELPERS_OFFLINE", raising=False)
    calls = []

    def no_network(root, name):
        calls.append(name)
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_download", no_network)
    for _ in range(2):
        with pytest.raises(ValueError, match="could not download Fashion-MNIST \\(OSError\\).*no offline copy"):
            load_dataset("fashion-mnist", "test", root=tmp_path)
    assert calls == ["fashion-mnist"]  # not retried in the same session
    assert capsys.readouterr().err == ""  # no MNIST fallback notice


def test_truncated_fashion_mnist_names_the_file_and_the_fix(tmp_path):
    raw = fake_mnist(tmp_path, n_test=100, folder="FashionMNIST")
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
