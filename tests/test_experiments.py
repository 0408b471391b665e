"""Tests for clhelpers.experiments: hardness-awareness measurement, sweeps and their JSON records."""
import json
from dataclasses import replace

import pytest
import torch

from clhelpers.experiments import (
    hard_negative_share,
    load_sweeps,
    main,
    negative_weights,
    representation_quality,
    run_sweep,
    save_sweep,
)
from clhelpers.models import Encoder, SimCLRModel
from clhelpers.train import preset


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- hardness-awareness
def test_negative_weights_match_closed_form_softmax():
    z1, z2, t = rand(5, 8, seed=1), rand(5, 8, seed=2), 0.3
    w = negative_weights(z1, z2, t)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n2 = 10
    for i in range(n2):
        p = (i + 5) % n2
        logits = torch.tensor([(z[i] @ z[k]).item() / t if k != i else float("-inf") for k in range(n2)])
        prob = torch.softmax(logits, dim=0)
        for k in range(n2):
            expected = 0.0 if k in (i, p) else prob[k].item() / (n2 * t)
            assert w[i, k].item() == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_share_grows_as_temperature_falls():
    z1, z2 = rand(16, 8, seed=3), rand(16, 8, seed=4)
    shares = [hard_negative_share(z1, z2, t, k=3) for t in (2.0, 0.5, 0.1, 0.02)]
    assert all(a < b for a, b in zip(shares, shares[1:])), shares
    assert shares[-1] > 0.9  # nearly all the gradient on the 3 hardest of 30 negatives
    # very large temperature: spread evenly, share -> k / (2N - 2)
    assert hard_negative_share(z1, z2, 1e4, k=3) == pytest.approx(3 / 30, rel=1e-3)
    # all negatives: share 1 at any temperature
    assert hard_negative_share(z1, z2, 0.5, k=30) == pytest.approx(1.0)


def test_share_bad_input():
    z1, z2 = rand(4, 3), rand(4, 3, seed=1)
    with pytest.raises(ValueError, match="k must be"):
        hard_negative_share(z1, z2, 0.5, k=0)
    with pytest.raises(ValueError, match="k must be"):
        hard_negative_share(z1, z2, 0.5, k=7)
    with pytest.raises(ValueError, match="temperature"):
        hard_negative_share(z1, z2, -1.0)
    with pytest.raises(ValueError, match="same shape"):
        negative_weights(z1, rand(5, 3), 0.5)


# --------------------------------------------------------------------------- quality, sweeps
def test_representation_quality_ranges():
    torch.manual_seed(0)
    model = SimCLRModel(Encoder((4, 4, 8), 1), proj_dim=8, hidden_dim=16)
    images = (rand(64, 28, 28, seed=5).abs().clamp(0, 1) * 255).to(torch.uint8)
    q = representation_quality(model, images, seed=0)
    assert set(q) == {"alignment", "uniformity", "alignment_h", "uniformity_h"}
    for key in ("alignment", "alignment_h"):
        assert 0.0 <= q[key] <= 4.0
    for key in ("uniformity", "uniformity_h"):
        assert -4.0 <= q[key] <= 0.0
    assert representation_quality(model, images, seed=0) == q  # reproducible


def tiny_config():
    return replace(preset("cpu-sweep"), data="offline", epochs=1, train_size=256, batch_size=128,
                   widths=(4, 8, 8), proj_dim=8, hidden_dim=16, test_size=200)


def test_run_sweep_runs_each_setting_once():
    runs = run_sweep(tiny_config(), temperatures=[0.1, 1.0], batch_sizes=[64], progress=False)
    assert [(r["sweep"], r["temperature"], r["batch_size"]) for r in runs] == [
        ("temperature", 0.1, 128), ("temperature", 1.0, 128), ("batch_size", 0.2, 64)]
    for r in runs:
        assert 0.0 <= r["knn_acc"] <= 1.0 and r["epochs"] == 1 and len(r["history"]) == 1
        assert r["loss"] == "nt_xent" and r["train_s"] > 0
    json.dumps(runs)  # JSON-friendly
    # same settings except the temperature: the losses differ (temperature really reached the loss)
    assert runs[0]["final_loss"] != runs[1]["final_loss"]


def test_run_sweep_bad_input():
    with pytest.raises(ValueError, match="nothing to sweep"):
        run_sweep(tiny_config())
    with pytest.raises(ValueError, match="TrainConfig"):
        run_sweep({"epochs": 1}, temperatures=[0.1])
    with pytest.raises(ValueError, match="temperature"):
        run_sweep(tiny_config(), temperatures=[-0.1])


def test_save_and_load_sweeps(tmp_path):
    runs = [{"sweep": "temperature", "temperature": 0.1, "knn_acc": 0.5}]
    path = save_sweep(tmp_path / "sweep-test.json", runs, "python -m clhelpers.experiments sweep", {"cpu_count": 2})
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temporary file
    (records,) = load_sweeps(tmp_path)
    assert records["file"] == path.name and records["runs"] == runs and records["machine"] == {"cpu_count": 2}
    assert load_sweeps(tmp_path / "missing") == []
    (tmp_path / "sweep-bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="sweep-bad.json"):
        load_sweeps(tmp_path)


def test_cli_rejects_bad_values(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--temperatures", "0", "--batch-sizes"])
    assert "temperature" in capsys.readouterr().err


def test_plots_draw_live_and_recorded_runs():
    import matplotlib.pyplot as plt

    from clhelpers.experiments import plot_alignment_uniformity, plot_hardness, plot_sweep_accuracy

    live = [{"sweep": "temperature", "temperature": t, "batch_size": 256, "knn_acc": a, "alignment": al, "uniformity": u}
            for t, a, al, u in ((0.1, 0.9, 0.3, -3.2), (1.0, 0.8, 0.1, -2.5))]
    live.append({"sweep": "batch_size", "temperature": 0.2, "batch_size": 64, "knn_acc": 0.91, "alignment": 0.2, "uniformity": -3})
    recorded = [{"machine": {"processor": "x86_64", "cpu_count": 2}, "command": "c", "runs": live, "file": "sweep-x.json"}]
    fig = plot_alignment_uniformity(live, recorded)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and "sweep-x.json" in ax.get_legend().get_texts()[1].get_text()
    assert list(ax.lines[0].get_xdata()) == [-3.2, -2.5]
    fig2 = plot_sweep_accuracy(live, recorded)
    assert [len(a.lines) for a in fig2.axes] == [2, 2]
    fig3 = plot_hardness([0.1, 1.0], {1: [0.5, 0.1], 10: [0.9, 0.4]}, n_negatives=30)
    assert len(fig3.axes[0].lines) == 4
    plt.close("all")
