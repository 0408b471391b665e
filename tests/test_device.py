import json
import random

import numpy as np
import pytest
import torch

from clhelpers import device
from clhelpers.device import (
    atomic_torch_save, atomic_write_json, cpu_has_bf16, load_checked, machine_description, pick_device, set_seed,
)

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
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO.format(extra=extra))
    monkeypatch.setattr(device, "CPUINFO", fake)
    assert cpu_has_bf16() is expected


def test_machine_description_reads_cpuinfo(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO.format(extra="amx_bf16"))
    monkeypatch.setattr(device, "CPUINFO", fake)
    info = machine_description("cpu")
    assert info["cpu"] == "Example CPU 9000 8-Core Processor" and info["cpu_bf16"] is True
    assert info["device"] == "cpu" and info["gpu"] is None and info["torch"] == torch.__version__
    assert info["cpu_count"] >= 1 and info["torch_threads"] >= 1
    assert json.loads(json.dumps(info)) == info  # ready for metrics.json


def test_machine_description_without_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.setattr(device, "CPUINFO", tmp_path / "absent")
    info = machine_description(torch.device("cpu"))
    assert isinstance(info["cpu"], str) and info["cpu"] and info["cpu_bf16"] is False
    default = machine_description()
    assert default["device"] == pick_device().type
    if default["device"] == "cuda":
        assert default["gpu"] and default["gpu_memory_gib"] > 0


# --------------------------------------------------------------------------- files
def test_atomic_write_json_round_trip_and_no_leftovers(tmp_path):
    path = atomic_write_json(tmp_path / "a" / "metrics.json", {"acc": 0.95, "runs": [1, 2]})
    assert json.loads(path.read_text()) == {"acc": 0.95, "runs": [1, 2]}
    atomic_write_json(path, {"acc": 0.96})
    assert json.loads(path.read_text()) == {"acc": 0.96}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_atomic_write_json_rejects_non_json_and_keeps_the_old_file(tmp_path):
    path = atomic_write_json(tmp_path / "m.json", {"ok": 1})
    with pytest.raises(ValueError, match="m.json.*convert tensors"):
        atomic_write_json(path, {"acc": torch.tensor(0.5)})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_atomic_torch_save_failure_keeps_the_old_file(tmp_path):
    path = atomic_torch_save(tmp_path / "c.pt", {"x": torch.ones(2)})
    with pytest.raises(Exception):
        atomic_torch_save(path, {"f": lambda: 0})  # lambdas cannot be pickled
    assert torch.equal(load_checked(path, "checkpoint", "fix")["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_load_checked_turns_every_failure_into_one_clear_value_error(tmp_path):
    good = atomic_torch_save(tmp_path / "good.pt", {"w": torch.arange(1000.0)})
    data = good.read_bytes()
    cases = {
        "missing.pt": (None, "no such file"),
        "empty.pt": (b"", "the file is empty"),
        "garbage.pt": (bytes(range(256)) * 4, "not a torch file"),
        "truncated.pt": (data[: len(data) // 2], "truncated, corrupted"),
        "text.pt": (b"hello\nworld\n", "not a torch file"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ValueError) as info:
            load_checked(path, "checkpoint file", "delete it and train again")
        message = str(info.value)
        assert message.startswith(f"{path} is not a readable checkpoint file (") and reason in message, message
        assert message.endswith("; delete it and train again") and "\n" not in message
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(ValueError, match=r"module.pt is not a readable checkpoint \(it holds a pickled Python object"):
        load_checked(tmp_path / "module.pt", "checkpoint", "fix")  # never weights_only=False
    with pytest.raises(ValueError, match="folder"):
        load_checked(tmp_path, "checkpoint", "fix")
    assert torch.equal(load_checked(good, "checkpoint", "fix")["w"], torch.arange(1000.0))
