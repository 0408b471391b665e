"""Tests for clhelpers.evaluate: embedding many images, and evaluating a saved encoder (CLI)."""
import math

import pytest
import torch

from clhelpers.evaluate import embed, evaluate_encoder
from clhelpers.models import Encoder


def test_embed_restores_mode_and_shapes():
    enc = Encoder(widths=(4, 8, 8), depth=1)
    enc.train()
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    feats = embed(enc, images, batch_size=3)
    assert feats.shape == (10, 8) and feats.dtype == torch.float32 and enc.training
    enc.eval()
    # batching and mode do not change the result: eval-mode features are per-image
    assert torch.allclose(embed(enc, images, batch_size=10), feats, atol=1e-5) and not enc.training
    assert math.isfinite(float(feats.sum()))
    for bad in (dict(batch_size=0), dict(images=images[:0]), dict(images=images.flatten(1))):
        with pytest.raises(ValueError):
            embed(enc, **{"images": images, **bad})


def test_evaluate_encoder_reports_encoder_beside_pixels():
    torch.manual_seed(0)
    report = evaluate_encoder(Encoder(widths=(4, 8, 8), depth=1), source="offline", per_class=(1,), draws=2, device="cpu")
    assert report["train_images"] == 4000 and report["test_images"] == 1000 and report["feature_dim"] == 8
    for side in ("encoder", "pixels"):
        assert set(report[side]) == {"knn", "probe", "probe_1_per_class"}
    # raw pixels of MNIST: kNN well above chance, 1 label per class far below all labels
    assert report["pixels"]["knn"] > 0.9 and report["pixels"]["probe_1_per_class"] < report["pixels"]["probe"]


def test_evaluate_cli(tmp_path, capsys):
    from clhelpers.data import load_mnist
    from clhelpers.evaluate import main
    from clhelpers.metrics import pixel_knn_accuracy
    from clhelpers.models import save_encoder

    with pytest.raises(SystemExit):
        main(["--encoder", str(tmp_path / "missing.pt")])
    save_encoder(Encoder(widths=(4, 8, 8), depth=1), tmp_path / "encoder.pt")
    with pytest.raises(SystemExit):
        main(["--encoder", str(tmp_path / "encoder.pt"), "--k", "0"])
    assert main(["--encoder", str(tmp_path / "encoder.pt"), "--data", "offline", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    expected = pixel_knn_accuracy(*load_mnist("train", source="offline"), *load_mnist("test", source="offline"))
    line = next(line for line in out.splitlines() if line.startswith("kNN accuracy"))
    assert line.split()[-1] == f"{expected:.4f}"  # the raw-pixel column is the real baseline
