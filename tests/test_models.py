import pytest
import torch

from clhelpers.models import Encoder, ProjectionHead, SimCLRModel, load_encoder, save_encoder


def test_shapes_and_dtypes():
    model = SimCLRModel(Encoder(widths=(8, 16, 24), depth=1), proj_dim=12, hidden_dim=20)
    x = torch.rand(5, 1, 28, 28)
    h, z = model(x)
    assert h.shape == (5, 24) and z.shape == (5, 12)
    assert isinstance(model.encoder, Encoder) and isinstance(model.head, ProjectionHead)


def test_uint8_input_equals_scaled_float():
    enc = Encoder(widths=(4, 8, 8), depth=1).eval()
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    assert torch.allclose(enc(x), enc(x.float() / 255), atol=1e-6)


def test_bad_input_and_config():
    enc = Encoder(widths=(4, 8, 8), depth=1)
    with pytest.raises(ValueError, match="shape"):
        enc(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match="widths"):
        Encoder(widths=(4, 8))
    with pytest.raises(ValueError, match="depth"):
        Encoder(depth=0)


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = SimCLRModel(Encoder(widths=(4, 8, 16), depth=2))
    model.train()
    for _ in range(2):  # move BatchNorm running stats away from their initial values
        model(torch.rand(8, 1, 28, 28))
    path = save_encoder(model, tmp_path / "sub" / "encoder.pt")
    loaded = load_encoder(path)
    assert not loaded.training
    x = torch.rand(4, 1, 28, 28)
    model.eval()
    assert torch.allclose(loaded(x), model.encoder(x), atol=1e-6)
    assert loaded.config == {"widths": [4, 8, 16], "depth": 2}
    assert not (tmp_path / "sub" / "encoder.pt.tmp").exists()


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(ValueError, match="no encoder file"):
        load_encoder(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an encoder"):
        load_encoder(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="Encoder"):
        save_encoder(torch.nn.Linear(2, 2), tmp_path / "x.pt")
