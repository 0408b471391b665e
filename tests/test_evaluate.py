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
    several = split_scores(torch.nn.Flatten(), split, k=5, per_class=(1, 3), draws=2, seed=1)
    assert set(several) == {"knn_acc", "probe1", "probe3"}                        # one key per count, same draws
    assert several["probe3"] == scores["probe3"] and several["knn_acc"] == scores["knn_acc"]
    assert several["probe1"] == few_label_probe(flat[0], split[1], flat[1], split[3], per_class=1, draws=2, seed=1)["mean"]
    with pytest.raises(ValueError, match="load_split"):
        split_scores(torch.nn.Flatten(), split[:3])
    with pytest.raises(ValueError, match="e.g. 10"):
        split_scores(torch.nn.Flatten(), split, per_class=(0, 3))


# --------------------------------------------------------------------------- the unified evaluation
def banded_split(n_train=80, n_test=40, seed=0):
    """Images whose class is the row of a bright band: easy for kNN on pixels, 10 classes."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat((n_train + n_test) // 10)
    images = torch.rand(len(labels), 28, 28, generator=g) * 40
    for i, c in enumerate(labels.tolist()):
        images[i, 2 * c:2 * c + 3] += 200
    images = images.to(torch.uint8)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def test_label_scores_use_few_label_probes_draws_for_the_probe_and_for_knn():
    from clhelpers.evaluate import label_scores
    from clhelpers.metrics import few_label_probe, knn_accuracy, label_draws, linear_probe_accuracy

    x_train, y_train, x_test, y_test = banded_split()
    f_train, f_test = x_train.flatten(1).float() / 255, x_test.flatten(1).float() / 255
    scores = label_scores(f_train, y_train, f_test, y_test, per_class=(1, 3), draws=3, seed=7, k=5)
    assert set(scores["probe"]) == set(scores["knn"]) == {"1", "3", "all"}
    draws = label_draws(y_train, y_test, 3, draws=3, seed=7)
    assert all(torch.bincount(y_train[d], minlength=10).tolist() == [3] * 10 for d in draws)  # 3 of every class
    assert len({tuple(sorted(d.tolist())) for d in draws}) == 3                                 # three different draws
    by_hand = [linear_probe_accuracy(f_train[d], y_train[d], f_test, y_test) for d in draws]
    assert scores["probe"]["3"] == by_hand == few_label_probe(f_train, y_train, f_test, y_test, 3, 3, 7)["accs"]
    assert scores["knn"]["3"] == [knn_accuracy(f_train[d], y_train[d], f_test, y_test, k=3) for d in draws]  # k = min(k, 3)
    assert scores["knn"]["all"] == [knn_accuracy(f_train, y_train, f_test, y_test, k=5)]
    assert scores["probe"]["all"] == [linear_probe_accuracy(f_train, y_train, f_test, y_test)]
    assert scores["knn"]["all"][0] > 0.8  # the band's row gives the class away
    with pytest.raises(ValueError, match="per_class=9"):
        label_draws(y_train, y_test, 9, draws=1)  # 8 training rows per class


def test_knn_monitor_and_pixel_baseline_are_the_metrics_on_h_and_on_pixels():
    from clhelpers.evaluate import PIXELS, knn_monitor, pixel_baseline
    from clhelpers.metrics import knn_accuracy, pixel_knn_accuracy

    split = banded_split()
    enc = Encoder(widths=(4, 8, 8), depth=1).eval()
    expected = knn_accuracy(embed(enc, split[0]), split[1], embed(enc, split[2]), split[3], k=5)
    assert knn_monitor(enc, *split, k=5) == expected
    assert pixel_baseline(*split, k=5) == pixel_knn_accuracy(*split, k=5) == knn_monitor(PIXELS, *split, k=5)
    big = (torch.zeros(10_000, 28, 28, dtype=torch.uint8), torch.zeros(10_000, dtype=torch.long)) * 2
    assert pixel_baseline(*big, k=5) is None  # 10^8 distances on a CPU: skipped


def test_untrained_encoder_is_seeded_and_in_eval_mode():
    from dataclasses import replace

    from clhelpers.config import preset
    from clhelpers.evaluate import untrained_encoder

    cfg = replace(preset("cpu-tiny"), seed=3)
    a, b, c = untrained_encoder(cfg), untrained_encoder(cfg), untrained_encoder(replace(cfg, seed=4))
    assert not a.training
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def tiny_method():
    from clhelpers.methods import build_method

    torch.manual_seed(0)
    return build_method("simclr", Encoder((4, 4, 8), 1), proj_dim=8, hidden_dim=16).eval()


def test_features_h_and_z_and_the_positive_cosine():
    import torch.nn.functional as F

    from clhelpers.augment import make_views
    from clhelpers.evaluate import features, positive_cosine, representation_quality

    method = tiny_method()
    images = (torch.rand(64, 28, 28, generator=torch.Generator().manual_seed(5)) * 255).to(torch.uint8)
    h, z = features(method, images, "h"), features(method, images, "z")
    assert h.shape == (64, 8) and z.shape == (64, 8)
    with torch.no_grad():
        assert torch.allclose(z, method.head(h), atol=1e-5)
    with pytest.raises(ValueError, match="space must be 'h'"):
        features(method, images, "x")
    q = representation_quality(method, images, seed=0)
    v1, v2 = make_views(images, None, generator=torch.Generator().manual_seed(0))  # the views it measured
    cos = float(F.cosine_similarity(features(method, v1, "z"), features(method, v2, "z")).mean())
    assert positive_cosine(q["alignment"]) == pytest.approx(cos, abs=1e-5)  # 1 - alignment / 2
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        positive_cosine(-1.0)


def test_representation_quality_ranges():
    from clhelpers.evaluate import representation_quality

    method = tiny_method()
    images = (torch.rand(64, 28, 28, generator=torch.Generator().manual_seed(5)) * 255).to(torch.uint8)
    q = representation_quality(method, images, seed=0)
    assert set(q) == {"alignment", "uniformity", "alignment_h", "uniformity_h"}
    for key in ("alignment", "alignment_h"):
        assert 0.0 <= q[key] <= 4.0
    for key in ("uniformity", "uniformity_h"):
        assert -4.0 <= q[key] <= 0.0
    assert representation_quality(method, images, seed=0) == q  # reproducible
    assert representation_quality(method, images, seed=1) != q  # other views


def test_features_leave_every_submodule_in_its_mode():
    from clhelpers.evaluate import collapse_stats, features

    method = tiny_method()
    method.head.train()  # encoder in eval mode, head in training mode
    images = torch.randint(0, 256, (16, 28, 28), dtype=torch.uint8)
    features(method, images, "z")
    collapse_stats(method, images, batch_size=8)
    assert not method.encoder.training and method.head.training
