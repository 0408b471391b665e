"""Tests for clhelpers.evaluate: embedding many images, and evaluating a saved encoder (CLI)."""
import copy
import math

import pytest
import torch

from clhelpers.evaluate import embed, evaluate_encoder, split_scores
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


def test_embed_with_batch_stats_normalizes_each_batch_and_leaves_the_running_statistics():
    torch.manual_seed(0)
    enc = Encoder(widths=(4, 8, 8), depth=1).eval()
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    running = [b.clone() for b in enc.buffers()]
    feats = embed(enc, images, batch_size=5, batch_stats=True)
    assert all(torch.equal(a, b) for a, b in zip(running, enc.buffers())) and not enc.training
    x = images.unsqueeze(1).float() / 255
    with torch.no_grad():  # by hand: a fresh training-mode copy per batch of 5
        by_hand = torch.cat([copy.deepcopy(enc).train()(x[i:i + 5]) for i in (0, 5)])
    assert torch.allclose(feats, by_hand, atol=1e-5)
    assert not torch.allclose(feats, embed(enc, images), atol=1e-3), "eval mode (running statistics) differs"


@pytest.mark.slow
def test_evaluate_encoder_reports_encoder_beside_pixels():
    torch.manual_seed(0)
    report = evaluate_encoder(Encoder(widths=(4, 8, 8), depth=1), source="offline", per_class=(1,), draws=2, device="cpu")
    assert report["train_images"] == 4000 and report["test_images"] == 1000 and report["feature_dim"] == 8
    for side in ("encoder", "pixels"):
        assert set(report[side]) == {"knn", "probe", "probe_1_per_class"}
    # raw pixels of MNIST: kNN well above chance, 1 label per class far below all labels
    assert report["pixels"]["knn"] > 0.9 and report["pixels"]["probe_1_per_class"] < report["pixels"]["probe"]


@pytest.mark.slow
def test_evaluate_cli(tmp_path, capsys):
    from clhelpers.data import load_mnist
    from clhelpers.cli import main as cli_main
    from clhelpers.metrics import pixel_knn_accuracy
    from clhelpers.models import save_encoder

    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--encoder", str(tmp_path / "missing.pt")])
    save_encoder(Encoder(widths=(4, 8, 8), depth=1), tmp_path / "encoder.pt")
    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--encoder", str(tmp_path / "encoder.pt"), "--k", "0"])
    assert cli_main(["evaluate", "--encoder", str(tmp_path / "encoder.pt"), "--data", "offline", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    expected = pixel_knn_accuracy(*load_mnist("train", source="offline"), *load_mnist("test", source="offline"))
    line = next(line for line in out.splitlines() if line.startswith("kNN accuracy"))
    assert line.split()[-1] == f"{expected:.4f}"  # the raw-pixel column is the real baseline


def test_split_scores_match_the_metrics_on_the_same_features():
    from clhelpers.metrics import few_label_probe, knn_accuracy

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat(12)                                          # 12 images per class
    images = torch.rand(120, 28, 28, generator=g) * 40
    for i, c in enumerate(labels.tolist()):
        images[i, 2 * c:2 * c + 3] += 200                                         # a bright band whose row is the class
    images = images.to(torch.uint8)
    split = (images[:80], labels[:80], images[80:], labels[80:])
    flat = [x.flatten(1).float() / 255 for x in (images[:80], images[80:])]     # what nn.Flatten() "encodes"
    scores = split_scores(torch.nn.Flatten(), split, k=5, per_class=3, draws=2, seed=1)
    assert scores["knn_acc"] == knn_accuracy(flat[0], split[1], flat[1], split[3], k=5)
    assert scores["probe3"] == few_label_probe(flat[0], split[1], flat[1], split[3], per_class=3, draws=2, seed=1)["mean"]
    assert scores["knn_acc"] > 0.5                                                # the classes differ in where the band is
    with pytest.raises(ValueError, match="load_split"):
        split_scores(torch.nn.Flatten(), split[:3])
