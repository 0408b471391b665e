import random

import numpy as np
import pytest
import torch

from clhelpers.device import pick_device, set_seed


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
