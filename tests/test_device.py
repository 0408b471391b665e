import json
import os
import subprocess
import sys
import random

import numpy as np
import pytest
import torch

from clhelpers import device
from clhelpers.device import BF16_ENV, cpu_has_bf16, machine_description, pick_device, set_seed

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: Example CPU 9000 8-Core Processor
flags\t\t: fpu vme sse sse2 avx2 {extra}

processor\t: 1
model name\t: Example CPU 9000 8-Core Processor
flags\t\t: fpu vme sse sse2 avx2 {extra}
"""


def test_pick_device_auto_and_cpu():
    assert pick_device("cpu") == torch.device("cpu")
    auto = pick_device()
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    assert auto.type in {"cuda", "mps", "cpu"}


def test_pick_device_rejects_unknown_and_unavailable():
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            pick_device("cuda")


def test_set_seed_makes_all_generators_repeat():
    g1 = set_seed(7)
    first = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g1))
    g2 = set_seed(7)
    second = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g2))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])
    set_seed(8)
    assert not torch.equal(torch.rand(3), first[2])


def test_set_seed_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)


# --------------------------------------------------------------------------- the machine
@pytest.mark.parametrize("extra, expected", [("avx512_bf16 avx512f", True), ("amx_bf16 amx_tile", True),
                                             ("avx512f avx512_vnni", False), ("", False)])
def test_cpu_has_bf16_reads_the_flags(monkeypatch, tmp_path, extra, expected):
    monkeypatch.delenv(BF16_ENV, raising=False)
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO.format(extra=extra))
    monkeypatch.setattr(device, "CPUINFO", fake)
    assert cpu_has_bf16() is expected


@pytest.mark.parametrize("value, expected", [("0", False), ("1", True), (" 1 ", True)])
def test_the_environment_overrides_bf16_detection_both_ways(monkeypatch, tmp_path, value, expected):
    """CLHELPERS_BF16 lets one machine run the other CPU kind's path: 0 on a bf16 CPU, 1 on an AVX2-only one."""
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO.format(extra="" if expected else "avx512_bf16"))  # the flags say the opposite
    monkeypatch.setattr(device, "CPUINFO", fake)
    monkeypatch.setenv(BF16_ENV, value)
    assert cpu_has_bf16() is expected
    assert machine_description("cpu")["cpu_bf16"] is expected


def test_a_bad_bf16_override_says_the_valid_values(monkeypatch):
    monkeypatch.setenv(BF16_ENV, "yes")
    with pytest.raises(ValueError, match=r"CLHELPERS_BF16='yes': use 0 .* or 1"):
        cpu_has_bf16()


def test_the_suite_runs_the_float32_path_on_every_cpu_kind():
    """The root conftest.py sets CLHELPERS_BF16=0 (unless a person set it), so no stored output depends on the CPU."""
    import os

    if os.environ.get(BF16_ENV) == "0":
        assert cpu_has_bf16() is False
    else:
        assert os.environ.get(BF16_ENV) == "1" and cpu_has_bf16() is True


def test_machine_description_reads_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.delenv(BF16_ENV, raising=False)
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO.format(extra="amx_bf16"))
    monkeypatch.setattr(device, "CPUINFO", fake)
    info = machine_description("cpu")
    assert info["cpu"] == "Example CPU 9000 8-Core Processor" and info["cpu_bf16"] is True
    assert info["device"] == "cpu" and info["gpu"] is None and info["torch"] == torch.__version__
    assert info["cpu_count"] >= 1 and info["torch_threads"] >= 1
    assert json.loads(json.dumps(info)) == info  # ready for metrics.json


def test_machine_description_without_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.delenv(BF16_ENV, raising=False)
    monkeypatch.setattr(device, "CPUINFO", tmp_path / "absent")
    info = machine_description(torch.device("cpu"))
    assert isinstance(info["cpu"], str) and info["cpu"] and info["cpu_bf16"] is False
    default = machine_description()
    assert default["device"] == pick_device().type
    if default["device"] == "cuda":
        assert default["gpu"] and default["gpu_memory_gib"] > 0


def test_the_compile_cache_gets_a_folder_per_instruction_set_setting(monkeypatch, tmp_path):
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    from clhelpers.device import isolate_compile_cache

    default = os.path.abspath(default_cache_dir())
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    folder = isolate_compile_cache()
    capability = torch.backends.cpu.get_cpu_capability().lower()
    assert folder == os.path.join(default, f"isa-{capability}-avx2") == os.environ["TORCHINDUCTOR_CACHE_DIR"]
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert isolate_compile_cache() == os.path.join(default, f"isa-{capability}-default")  # an earlier call's folder moves
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default)  # inductor's own default (it writes it back): isolated too
    assert isolate_compile_cache().startswith(os.path.join(default, "isa-"))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))  # the user's own choice is kept
    assert isolate_compile_cache() is None and os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path)


def test_compile_encoder_compiles_in_place_with_the_isolated_cache(monkeypatch):
    """Every compile site goes through ``compile_encoder``: the cache moves to this setting's folder first, the module
    is compiled in place (same object, same state-dict names); nothing is compiled until it is first called."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    from clhelpers.device import compile_encoder
    from clhelpers.models import Encoder

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    enc = Encoder((4, 8, 8), depth=1)
    names = list(enc.state_dict())
    assert enc._compiled_call_impl is None
    folder = compile_encoder(enc)
    capability = torch.backends.cpu.get_cpu_capability().lower()
    assert folder == os.path.join(os.path.abspath(default_cache_dir()), f"isa-{capability}-avx2")
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == folder
    assert enc._compiled_call_impl is not None and list(enc.state_dict()) == names


CROSS_ISA = """
import torch
from clhelpers.device import isolate_compile_cache
from clhelpers.models import Encoder
import os
if not os.environ.get("SHARED_CACHE"):
    isolate_compile_cache()
torch.manual_seed(0)
enc = Encoder((4, 8, 8), depth=1).to(memory_format=torch.channels_last).eval()
ref = Encoder((4, 8, 8), depth=1).eval()
ref.load_state_dict(enc.state_dict())
enc.compile()
x = torch.rand(3, 1, 28, 28)
with torch.no_grad():
    print(float((enc(x) - ref(x)).abs().max()))
"""


@pytest.mark.slow
def test_a_compiled_encoder_stays_right_when_the_instruction_set_setting_changes_between_runs(tmp_path):
    """The bug isolate_compile_cache avoids: one machine, one cache, first the native instruction set, then the AVX2
    cap (on an AVX512 CPU the AVX2 run got outputs of about 1e24 from the cached kernels: ``SHARED_CACHE=1`` in the
    script's environment shows it). Both runs must match eager mode."""
    env = {k: v for k, v in os.environ.items() if k not in ("TORCHINDUCTOR_CACHE_DIR", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}
    env["TMPDIR"] = str(tmp_path)  # inductor's default cache folder lives under it
    for cap in ({}, {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}):
        run = subprocess.run([sys.executable, "-c", CROSS_ISA], env={**env, **cap}, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        assert float(run.stdout.split()[-1]) < 1e-4, (cap, run.stdout)
    folders = sorted(p.name for p in tmp_path.glob("torchinductor_*/isa-*"))  # one per setting, on every CPU kind
    assert len(folders) == 2 and folders[0] == "isa-avx2-avx2" and folders[1].endswith("-default"), folders
