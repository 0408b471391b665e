import json

import pytest
import torch

from clhelpers.files import atomic_torch_save, atomic_write_json, load_checked

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
