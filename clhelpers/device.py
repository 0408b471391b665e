"""Pick a compute device, make runs repeatable, describe the machine, and read/write files safely.

* ``pick_device``, ``set_seed``: where to run, and the same random numbers on every run.
* ``cpu_has_bf16``, ``machine_description``: what the machine is (one version for bench, sweeps
  and train; nothing hard-coded: the CPU comes from ``/proc/cpuinfo`` when there is one).
* ``atomic_write_json``, ``atomic_torch_save``: write to a temporary file in the same folder, then
  ``os.replace`` it, so an interruption never leaves a half-written file behind.
* ``load_checked``: ``torch.load(weights_only=True)`` whose every failure becomes one clear
  ``ValueError`` naming the file and the fix.
"""
from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

CPUINFO = Path("/proc/cpuinfo")  # a module constant so tests can point it at a fake file
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def pick_device(prefer: str = "auto") -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` may be ``"auto"`` (default), ``"cuda"``, ``"mps"`` or ``"cpu"``. Asking for a
    device that is not available raises ``ValueError`` instead of failing later inside torch.
    """
    prefer = prefer.lower()
    if prefer not in {"auto", "cuda", "mps", "cpu"}:
        raise ValueError(f"unknown device {prefer!r}: use 'auto', 'cuda', 'mps' or 'cpu'")
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if prefer == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if prefer == "mps" and not has_mps:
        raise ValueError("device 'mps' was requested but it is not available; use 'auto' or 'cpu'")
    if prefer != "auto":
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if has_mps:
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator`` seeded alike."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ the machine
def _cpuinfo() -> tuple[str | None, set[str]]:
    """(first "model name", the CPU flags) from ``CPUINFO``; ``(None, set())`` where there is none."""
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return None, set()
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip() or None
        elif key in ("flags", "Features") and not flags:  # x86 / ARM spelling
            flags = set(value.split())
    return model, flags


def cpu_has_bf16() -> bool:
    """True on a (Linux) CPU with native bfloat16 instructions (AVX512-BF16 or AMX-BF16 in the
    flags of ``/proc/cpuinfo``), where bf16 autocast roughly doubles this encoder's training speed.
    Elsewhere bf16 is emulated and slower than float32, so the CPU preset leaves it off."""
    return any(flag in _cpuinfo()[1] for flag in BF16_FLAGS)


def machine_description(device: str | torch.device | None = None) -> dict[str, Any]:
    """Where a run happened, as a JSON-ready dict (one version for bench, sweeps and train).

    Keys: ``platform``, ``python``, ``torch``, ``cpu`` (the "model name" of ``/proc/cpuinfo``,
    else ``platform.processor()``), ``cpu_count``, ``torch_threads``, ``cpu_bf16``, ``device``
    (its type), and ``gpu``, ``gpu_memory_gib``, ``cuda`` (``None`` unless ``device`` is CUDA).
    ``device=None`` describes the device ``pick_device()`` would choose.
    """
    device = pick_device() if device is None else torch.device(device)
    model, _ = _cpuinfo()
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": model or platform.processor() or platform.machine() or "unknown",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_bf16(),
        "device": device.type,
        "gpu": None,
        "gpu_memory_gib": None,
        "cuda": None,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda)
    return info


# ------------------------------------------------------------------------------ files
def _atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file next to ``path``, then rename it to ``path``.

    The temporary file is removed if ``write`` fails, so no partial file is ever left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (temporary file, then rename).

    ``obj`` must be plain Python data (dict, list, str, int, float, bool, None); anything else
    raises ``ValueError`` and leaves ``path`` untouched.
    """
    try:
        text = json.dumps(obj, indent=2) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"cannot write {path} as JSON ({err}); convert tensors and arrays to lists or floats first"
        ) from None

    def write(tmp: Path) -> None:
        """Write the text and flush it to disk before the rename."""
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return _atomic_write(path, write)


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save(obj, path)`` atomically (temporary file, then rename).

    Save only tensors and plain Python values, so that ``load_checked`` can read the file back
    with ``weights_only=True``.
    """
    return _atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _short_reason(path: Path, err: BaseException) -> str:
    """A one-line reason why ``torch.load(weights_only=True)`` failed on ``path``."""
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, IsADirectoryError) or path.is_dir():
        return "it is a folder"
    if path.is_file() and path.stat().st_size == 0:
        return "the file is empty"
    text = str(err)
    if "WeightsUnpickler error:" in text:  # torch's long weights_only message: keep only the cause
        cause = next((s.strip() for s in text.split("WeightsUnpickler error:", 1)[1].splitlines() if s.strip()), "")
        if cause.startswith("Unsupported global: GLOBAL "):
            name = cause.split()[3]
            return f"it holds a pickled Python object ({name}), not only tensors and plain values"
        return f"not a torch file: {cause[:100]}"
    first = next((s.strip() for s in text.splitlines() if s.strip()), "")[:100]
    return f"truncated, corrupted or not a torch file: {type(err).__name__} {first}".rstrip()


def load_checked(path: str | os.PathLike, kind: str, fix: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``, with every failure turned into one ``ValueError``.

    A missing file, an empty, truncated or garbage file, a text file, or a pickle that holds more
    than tensors and plain values all give, on one line,
    ``"{path} is not a readable {kind} ({short reason}); {fix}"``. ``kind`` names what was
    expected (e.g. ``"encoder file"``) and ``fix`` says what to do (e.g. how to write a new one).
    Never unpickles arbitrary objects (``weights_only=False`` is not used).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols before failing on garbage
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means "not readable"; the reason is kept
        raise ValueError(f"{path} is not a readable {kind} ({_short_reason(path, err)}); {fix}") from err
