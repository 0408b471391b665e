import pytest
import torch

from clhelpers.models import (
    MNIST_MEAN, MNIST_STD, Encoder, PredictionHead, ProjectionHead, SimCLRModel, load_encoder, save_encoder,
)


def tiny(**kwargs):
    return Encoder(widths=(4, 8, 8), depth=1, **kwargs)


def test_shapes_and_dtypes():
    model = SimCLRModel(Encoder(widths=(8, 16, 24), depth=1), proj_dim=12, hidden_dim=20)
    x = torch.rand(5, 1, 28, 28)
    h, z = model(x)
    assert h.shape == (5, 24) and z.shape == (5, 12)
    assert isinstance(model.encoder, Encoder) and isinstance(model.head, ProjectionHead)
    assert PredictionHead(dim=12, hidden_dim=3)(z).shape == (5, 12)


def test_uint8_input_equals_scaled_float():
    enc = tiny().eval()
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    assert torch.allclose(enc(x), enc(x.float() / 255), atol=1e-6)


def test_standardization_uses_mean_and_std():
    torch.manual_seed(0)
    default = tiny().eval()
    raw = tiny(mean=0.0, std=1.0).eval()
    raw.load_state_dict(default.state_dict())  # mean/std are not in the state dict: the config holds them
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(default(x), raw((x - MNIST_MEAN) / MNIST_STD), atol=1e-5)
    assert not torch.allclose(default(x), raw(x), atol=1e-3)


def test_rgb_encoder_with_per_channel_statistics():
    enc = tiny(in_channels=3, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.25)).eval()
    assert enc(torch.rand(2, 3, 32, 32)).shape == (2, 8)
    assert enc.config["mean"] == [0.5, 0.4, 0.3] and enc.config["in_channels"] == 3
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        enc(torch.rand(2, 1, 28, 28))


def test_bad_input_and_config():
    enc = tiny()
    with pytest.raises(ValueError, match="shape.*unsqueeze"):
        enc(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match="widths"):
        Encoder(widths=(4, 8))
    with pytest.raises(ValueError, match="depth"):
        Encoder(depth=0)
    with pytest.raises(ValueError, match="in_channels"):
        Encoder(in_channels=0)
    with pytest.raises(ValueError, match="mean must be one number or 3"):
        Encoder(in_channels=3, mean=(0.1, 0.2))
    with pytest.raises(ValueError, match="std must be positive"):
        Encoder(std=0.0)
    with pytest.raises(ValueError, match="hidden_dim"):
        PredictionHead(dim=8, hidden_dim=0)


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = SimCLRModel(Encoder(widths=(4, 8, 16), depth=2, in_channels=1, mean=0.2, std=0.5))
    model.train()
    for _ in range(2):  # move BatchNorm running stats away from their initial values
        model(torch.rand(8, 1, 28, 28))
    path = save_encoder(model, tmp_path / "sub" / "encoder.pt")
    loaded = load_encoder(path)
    assert not loaded.training
    x = torch.rand(4, 1, 28, 28)
    model.eval()
    assert torch.allclose(loaded(x), model.encoder(x), atol=1e-6)
    assert loaded.config == {"widths": [4, 8, 16], "depth": 2, "in_channels": 1, "mean": [0.2], "std": [0.5]}
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["encoder.pt"]  # no temporary file left


def test_old_encoder_files_still_load(tmp_path):
    """Files written before in_channels/mean/std existed hold config {widths, depth} only."""
    torch.manual_seed(0)
    enc = Encoder(widths=(4, 8, 16), depth=1).eval()
    state = {k: v.detach().clone() for k, v in enc.state_dict().items()}
    path = tmp_path / "old.pt"
    torch.save({"format": "clhelpers-encoder-v1", "config": {"widths": [4, 8, 16], "depth": 1}, "state_dict": state}, path)
    loaded = load_encoder(path)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(loaded(x), enc(x), atol=1e-6)
    assert loaded.config["mean"] == [MNIST_MEAN] and loaded.config["in_channels"] == 1


def _bad_files(tmp_path):
    good = save_encoder(tiny(), tmp_path / "good.pt")
    blob = good.read_bytes()
    files = {
        "missing": (tmp_path / "missing.pt", None),
        "empty": (tmp_path / "empty.pt", b""),
        "garbage": (tmp_path / "garbage.pt", bytes(range(256)) * 4),
        "truncated": (tmp_path / "truncated.pt", blob[: len(blob) // 2]),
        "text": (tmp_path / "notes.pt", b"this is a text file, not an encoder\n"),
    }
    for path, data in files.values():
        if data is not None:
            path.write_bytes(data)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")  # a torch file of the wrong format
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # a pickled object: refused by weights_only
    torch.save({"format": "clhelpers-encoder-v1", "config": {"widths": [4, 8]}, "state_dict": {}}, tmp_path / "badcfg.pt")
    return [p for p, _ in files.values()] + [tmp_path / n for n in ("other.pt", "tensor.pt", "module.pt", "badcfg.pt")]


def test_load_rejects_unreadable_and_foreign_files(tmp_path):
    for path in _bad_files(tmp_path):
        with pytest.raises(ValueError) as info:
            load_encoder(path)
        message = str(info.value)
        assert str(path) in message, message  # names the file
        assert "train one first" in message and "save_encoder" in message, message  # and the fix
        assert "\n" not in message
    with pytest.raises(ValueError, match="no such file"):
        load_encoder(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="empty"):
        load_encoder(tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="not an encoder"):
        load_encoder(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="cannot rebuild"):
        load_encoder(tmp_path / "badcfg.pt")


def test_save_rejects_non_encoders(tmp_path):
    with pytest.raises(ValueError, match="Encoder"):
        save_encoder(torch.nn.Linear(2, 2), tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
