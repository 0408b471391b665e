"""Tests for the positive's rank: metrics.positive_rank / topk_positive_accuracy and the engine's rank monitor
(TrainConfig.rank_monitor, train.rank_views / rank_record)."""
import math

import pytest
import torch

from clhelpers.config import TrainConfig
from clhelpers.metrics import positive_rank, topk_positive_accuracy
from clhelpers.methods import build_method
from clhelpers.models import Encoder
from clhelpers.train import rank_record, rank_views, train


def by_loops(z1, z2):
    """The rank by definition: for each of the 2N views, count the negatives at least as similar as the positive."""
    z = torch.nn.functional.normalize(torch.cat([z1, z2]).double(), dim=1)
    n2 = len(z)
    ranks = []
    for i in range(n2):
        p = (i + n2 // 2) % n2
        s_pos = float(z[i] @ z[p])
        ranks.append(1 + sum(float(z[i] @ z[k]) >= s_pos for k in range(n2) if k not in (i, p)))
    return ranks


def angles(*degrees):
    """Unit vectors in the plane at these angles (degrees)."""
    t = torch.tensor(degrees, dtype=torch.float64) * math.pi / 180
    return torch.stack([t.cos(), t.sin()], dim=1)


def test_hand_made_batch():
    # N = 2: views 0, 1 (z1) at 0 and 90 degrees; their positives 2, 3 (z2) at 10 and 200 degrees.
    # view 0: positive at 10 deg (cos 0.98) beats view 1 (cos 0) and view 3 (cos -0.94) -> rank 1
    # view 1 (90 deg): view 2 at 10 deg (cos 0.17) > view 0 (cos 0) > its positive at 200 deg (cos -0.34) -> rank 3
    # view 2 (10 deg): positive view 0 (cos 0.98) first -> rank 1
    # view 3 (200 deg): view 1 is its positive (cos -0.34); view 0 (cos -0.94), view 2 (cos -0.98) -> rank 1
    z1, z2 = angles(0, 90), angles(10, 200)
    assert positive_rank(z1, z2).tolist() == [1, 3, 1, 1] == by_loops(z1, z2)
    assert topk_positive_accuracy(z1, z2, 1) == 0.75
    assert topk_positive_accuracy(z1, z2, 3) == 1.0


def test_anchor_itself_is_never_a_candidate():
    # every view is its own most similar vector (cos 1); a rank that counted it would never be 1
    z1, z2 = torch.eye(4), torch.eye(4)
    assert positive_rank(z1, z2).tolist() == [1] * 8
    assert positive_rank(z1, -z2).tolist() == [7] * 8     # the positive opposite: last of 2N - 1 = 7


def test_ties_count_against_the_positive():
    collapsed = torch.ones(5, 3)
    assert positive_rank(collapsed, collapsed).tolist() == [9] * 10   # all tied: last, never first
    assert topk_positive_accuracy(collapsed, collapsed, 5) == 0.0
    # one negative exactly as similar as the positive: rank 2, deterministically
    z1, z2 = angles(0, 180), angles(30, 180 + 60)
    z1_tie = torch.cat([z1, angles(-30)])   # view 2 at -30 deg ties view 0's positive at 30 deg
    z2_tie = torch.cat([z2, angles(90)])
    assert positive_rank(z1_tie, z2_tie)[0] == 2 == by_loops(z1_tie, z2_tie)[0]


def test_matches_the_definition_on_random_batches():
    g = torch.Generator().manual_seed(0)
    for n, d in ((3, 2), (8, 4), (20, 16)):
        z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
        assert positive_rank(z1, z2).tolist() == by_loops(z1, z2)


def test_scale_invariant_and_symmetric():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    z2 = z2 + 1.5 * z1                                  # related pairs, so the ranks are not all alike
    ranks = positive_rank(z1, z2)
    scales = torch.rand(16, 1, generator=g) * 10 + 0.1
    assert torch.equal(positive_rank(z1 * scales, z2 * 3.0), ranks)
    assert torch.equal(positive_rank(z2, z1), ranks.roll(16))   # swapping the views swaps the halves
    assert ranks.dtype == torch.int64 and ranks.min() >= 1 and ranks.max() <= 31


def test_topk_grows_with_k_and_reaches_one():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g)
    accs = [topk_positive_accuracy(z1, z2, k) for k in range(1, 20)]
    assert all(a <= b for a, b in zip(accs, accs[1:])) and accs[-1] == 1.0


def test_random_embeddings_sit_near_chance():
    # no information about the pairs: the positive's rank is uniform over 1..2N-1, so top-k is about k / (2N - 1)
    g = torch.Generator().manual_seed(3)
    n = 500
    z1, z2 = torch.randn(n, 64, generator=g), torch.randn(n, 64, generator=g)
    assert abs(positive_rank(z1, z2).float().mean() - n) < 0.1 * n          # the mean of 1..2N-1 is N
    assert abs(topk_positive_accuracy(z1, z2, 50) - 50 / (2 * n - 1)) < 0.02


@pytest.mark.parametrize("k", [0, 8, 1.5, True, "1"])
def test_topk_rejects_bad_k(k):
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="k must be an integer between 1 and 7"):
        topk_positive_accuracy(z, z + 1, k)


def test_rejects_bad_batches():
    with pytest.raises(ValueError, match="same shape"):
        positive_rank(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError):
        positive_rank(torch.randn(1, 3), torch.randn(1, 3))    # N = 1: no negatives
    with pytest.raises(ValueError):
        topk_positive_accuracy(torch.full((3, 2), float("nan")), torch.randn(3, 2))


# --------------------------------------------------------------------------- the engine's monitor
def tiny(**kw):
    base = dict(preset="test", source="offline", device="cpu", epochs=2, batch_size=64, lr=3e-3, widths=(4, 8, 8),
                depth=1, proj_dim=16, hidden_dim=32, train_size=384, test_size=200, knn_k=5)
    return TrainConfig(**{**base, **kw})


def test_rank_monitor_is_off_by_default_and_rejects_non_bools():
    assert TrainConfig().rank_monitor is False
    with pytest.raises(ValueError, match="rank_monitor must be True or False"):
        tiny(rank_monitor="yes")


def test_rank_views_are_fixed_and_leave_the_global_rng_alone():
    x = torch.randint(0, 256, (100, 28, 28), dtype=torch.uint8)
    state = torch.get_rng_state()
    a, b = rank_views(tiny(), x), rank_views(tiny(), x)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(u, v) for u, v in zip(a, b)) and a[0].shape == (64, 1, 28, 28)   # batch_size images
    assert not torch.equal(a[0], a[1])                                                         # two different views
    assert rank_views(tiny(), x[:10])[0].shape[0] == 10
    with pytest.raises(ValueError, match="at least 3 held-out images"):
        rank_views(tiny(), x[:2])


def test_rank_record_restores_the_mode_and_changes_nothing():
    torch.manual_seed(0)
    method = build_method("simclr", Encoder((4, 8, 8), 1), proj_dim=8, hidden_dim=16)
    views = rank_views(tiny(batch_size=8), torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8))
    before = {k: v.clone() for k, v in method.state_dict().items()}
    out = rank_record(method.train(), views)
    assert method.training and set(out) == {"top1_acc", "top5_acc"} and 0 <= out["top1_acc"] <= out["top5_acc"] <= 1
    assert all(torch.equal(before[k], v) for k, v in method.state_dict().items())   # BatchNorm stats included
    rank_record(method.eval(), views)
    assert not method.training


@pytest.mark.slow
def test_training_with_the_monitor_logs_ranks_and_trains_identically():
    plain = train(tiny(), progress=False)
    monitored = train(tiny(rank_monitor=True), progress=False)
    assert [h["loss"] for h in monitored.history] == [h["loss"] for h in plain.history]   # same run, only watched
    assert "top1_acc" not in plain.history[0]
    for h in monitored.history:
        assert 0.0 <= h["top1_acc"] <= h["top5_acc"] <= 1.0
    assert monitored.history[-1]["top5_acc"] > 5 / 127    # chance level at N = 64, after 2 tiny epochs


# --------------------------------------------------------------------------- the figure
def test_plot_positive_rank_draws_loss_top1_top5_and_chance():
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from clhelpers.plots import plot_positive_rank

    hist = [{"epoch": e, "loss": 5.0 - e, "top1_acc": 0.1 * e, "top5_acc": 0.2 * e} for e in (1, 2, 3)]
    fig = plot_positive_rank({"τ = 0.2": hist, "τ = 1": hist[:2]}, batch_size=256)
    loss_ax, top1_ax, top5_ax = fig.axes
    assert [len(ax.lines) for ax in fig.axes] == [2, 3, 3]            # two runs, plus chance in the accuracy panels
    assert list(top1_ax.lines[0].get_ydata()) == [0.1, 0.2, 0.30000000000000004]
    assert top1_ax.lines[-1].get_ydata()[0] == pytest.approx(1 / 511)
    assert top5_ax.lines[-1].get_ydata()[0] == pytest.approx(5 / 511)
    assert "chance 5/511" in " ".join(t.get_text() for t in top5_ax.get_legend().get_texts())
    assert "511 candidates" in fig._suptitle.get_text()
    fig.canvas.draw()
    assert fig.dpi == 100 and all(t.get_fontsize() >= 8 for t in fig.findobj(Text) if t.get_text().strip())
    plt.close(fig)


@pytest.mark.parametrize("histories, batch_size, match", [
    ({}, 8, "histories is empty"),
    ({"a": [{"epoch": 1, "loss": 2.0, "knn_acc": 0.5}]}, 8, "rank_monitor=True"),
    ({"a": [{"epoch": 1, "loss": 2.0, "top1_acc": 0.1, "top5_acc": 0.2}]}, 2, "batch_size must be an int >= 3"),
    ({"a": [{"epoch": 1, "loss": 2.0, "top1_acc": 0.1, "top5_acc": 0.2}]}, 8.5, "batch_size must be an int >= 3"),
])
def test_plot_positive_rank_rejects_what_it_cannot_draw(histories, batch_size, match):
    from clhelpers.plots import plot_positive_rank

    with pytest.raises(ValueError, match=match):
        plot_positive_rank(histories, batch_size)


# --------------------------------------------------------------------------- benchmarks/rank_table.py and its record
BENCHMARKS = __import__("pathlib").Path(__file__).resolve().parent.parent / "benchmarks"


def load_rank_table():
    import importlib.util
    import sys

    sys.path.insert(0, str(BENCHMARKS))   # the script imports _driver from its folder
    spec = importlib.util.spec_from_file_location("rank_table", BENCHMARKS / "rank_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_rank_table_is_an_experiment_whose_arms_train_and_report_ranks():
    from clhelpers.train import load_split

    module = load_rank_table()
    exp = module.EXPERIMENT
    assert exp.script == "rank_table.py" and exp.reference in exp.arms and {"top1_acc", "top5_acc", "knn_acc"} == set(exp.metrics)
    assert "benchmarks/rank_table.py" in module.__doc__
    cfg = tiny(train_size=256, batch_size=128, epochs=2, seed=1)
    split = load_split(cfg, torch.device("cpu"))
    row = exp.arms["tau_1"](cfg, split, False)
    assert row["temperature"] == 1.0 and len(row["top1_by_epoch"]) == 2 == len(row["loss_by_epoch"])
    assert 0 <= row["top1_acc"] <= row["top5_acc"] <= 1 and 0 <= row["knn_acc"] <= 1
    start = module.untrained_ranks(cfg, split)
    assert set(start) == {"top1_acc", "top5_acc"} and start == module.untrained_ranks(cfg, split)   # seeded
    with pytest.raises(ValueError, match="unknown kind"):
        module.run_temperature("tau_9", cfg, split, False)


def test_the_rank_record_holds_what_notebook_07_reads():
    import json

    record = json.loads((BENCHMARKS / "rank-cpu-2core.json").read_text())
    assert record["finished"] and len(record["seeds"]) >= 5 and record["config"]["batch_size"] == 256
    for metric in ("top1_acc", "top5_acc", "knn_acc"):
        assert {"random_init", "tau_0.2", "tau_1"} <= set(record["summary"][metric])
    for r in (r for r in record["runs"] if r["kind"] in ("tau_0.2", "tau_1")):
        assert len(r["top1_by_epoch"]) == len(r["top5_by_epoch"]) == len(r["loss_by_epoch"]) == record["config"]["epochs"]
