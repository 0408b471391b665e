"""Pick a compute device, make runs repeatable, and describe the machine.

* ``pick_device``, ``set_seed``: where to run, and the same random numbers on every run.
* ``cpu_has_bf16``, ``machine_description``: what the machine is (one version for bench, sweeps
  and train; nothing hard-coded: the CPU comes from ``/proc/cpuinfo`` when there is one).
* ``isolate_compile_cache``: one ``torch.compile`` disk cache per CPU instruction-set setting;
  ``compile_encoder``: compile a module in place with that cache (every compile site goes through it).
"""
from __future__ import annotations

import os
import platform
import random
from pathlib import Path
from typing import Any

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


BF16_ENV = "CLHELPERS_BF16"  # "0": act as a CPU without native bf16 (the float32 path), "1": as one with it


def cpu_has_bf16() -> bool:
    """True on a (Linux) CPU with native bfloat16 instructions (AVX512-BF16 or AMX-BF16 in the
    flags of ``/proc/cpuinfo``), where bf16 autocast roughly doubles this encoder's training speed.
    Elsewhere bf16 is emulated and slower than float32, so the CPU preset leaves it off.

    The environment variable ``CLHELPERS_BF16`` overrides the detection: ``0`` runs the float32 path of
    an AVX2-only machine on any CPU (the test suite sets it, so no checked notebook output depends on the
    CPU kind), ``1`` claims native bf16. Any other value is a ``ValueError`` naming the two valid ones.
    """
    forced = os.environ.get(BF16_ENV)
    if forced is not None and forced.strip() != "":
        if forced.strip() not in ("0", "1"):
            raise ValueError(f"{BF16_ENV}={forced!r}: use 0 (float32 path, as on an AVX2-only CPU) or 1 (native bf16), "
                             f"or unset it to detect the CPU")
        return forced.strip() == "1"
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


def isolate_compile_cache() -> str | None:
    """Point ``torch.compile``'s disk cache at a folder of its own for this CPU instruction-set setting; return it.

    Inductor keeps compiled CPU kernels in one folder per user (``/tmp/torchinductor_<user>``), and with torch
    2.14.1 its cache key does not tell apart the instruction sets that ``ATEN_CPU_CAPABILITY`` and
    ``ONEDNN_MAX_CPU_ISA`` select: on one machine, a kernel compiled under one setting and loaded under the other
    returned outputs of 1e32 or crashed the process ("double free or corruption"); with a folder per setting every
    output matched eager mode (2026-12-05, the AVX2 approximation of this project's README on an AVX512-BF16 CPU).
    So the folder becomes ``<default>/isa-<capability>-<onednn isa>``. A ``TORCHINDUCTOR_CACHE_DIR`` the user set
    (anything but inductor's default) is kept as it is and ``None`` is returned.
    """
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    default = os.path.abspath(default_cache_dir())
    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    ours = current is None or os.path.abspath(current) == default or (
        Path(current).parent == Path(default) and Path(current).name.startswith("isa-"))  # set by an earlier call
    if not ours:
        return None
    capability = torch.backends.cpu.get_cpu_capability().lower()
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "default").lower()
    folder = os.path.join(default, f"isa-{capability}-{onednn}")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
    return folder


def compile_encoder(module: torch.nn.Module) -> str | None:
    """Compile ``module`` in place (``module.compile()``: its state dict keeps plain names) after pointing the
    compile cache at this instruction-set setting's folder (``isolate_compile_cache``); return that folder (``None``
    when the user set ``TORCHINDUCTOR_CACHE_DIR``). Compiling happens at the module's first call, not here."""
    folder = isolate_compile_cache()
    module.compile()
    return folder
