"""Notebook 06's additions: the t-SNE map (evaluate.tsne_map, metrics.map_neighbour_agreement,
plots.plot_embedding_maps), fine-tuning on a few labels (evaluate.fine_tune_accuracy, few_label_fine_tune) and the
checkers of exercises 06.3-06.6 (not attempted / typical mistakes / correct)."""
import math
import statistics

import pytest
import torch
from matplotlib.figure import Figure
from scipy.stats import t as scipy_t

from clhelpers import plots
from clhelpers.augment import ViewParams
from clhelpers.evaluate import few_label_fine_tune, fine_tune_accuracy, tsne_map
from clhelpers.exercises import (ENCODER_LR_SCALE, FINE_TUNE_DRAWS, TSNE_STATEMENTS, check_06_map_agreement,
                                 check_06_paired_gain, check_06_param_groups, check_06_tsne_statements,
                                 exercise_06_map)
from clhelpers.metrics import label_draws, map_neighbour_agreement
from clhelpers.models import Encoder
from test_exercises import assert_verdict, unfinished


# --------------------------------------------------------------------------- the map
def blobs(n_per: int = 20, classes: int = 3, dim: int = 8, spread: float = 0.05, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g)
    y = torch.arange(classes).repeat_interleave(n_per)
    return centers[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_tsne_map_is_seeded_and_keeps_clear_clusters_together():
    x, y = blobs()
    a, b = tsne_map(x, perplexity=5, seed=0), tsne_map(x, perplexity=5, seed=0)
    assert a.shape == (60, 2) and a.dtype == torch.float32 and torch.equal(a, b)
    assert map_neighbour_agreement(a, y) == 1.0                     # well-separated blobs stay separated
    assert not torch.equal(a, tsne_map(x, perplexity=5, seed=1)) or not torch.equal(a, tsne_map(x, perplexity=10, seed=0))


@pytest.mark.parametrize("feats, kw, fragment", [
    (torch.zeros(10), {}, "(N, D)"), (torch.randn(3, 4), {}, "4 to"), (torch.randn(20, 4), {"perplexity": 20}, "perplexity"),
    (torch.full((20, 4), float("nan")), {}, "NaN"), (torch.randn(50, 4), {"max_rows": 40}, "max_rows")])
def test_tsne_map_errors_say_the_fix(feats, kw, fragment):
    with pytest.raises(ValueError, match=None) as err:
        tsne_map(feats, **kw)
    assert fragment in str(err.value)


def test_map_neighbour_agreement_excludes_the_point_itself():
    points = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    assert map_neighbour_agreement(points, torch.tensor([0, 0, 1, 1])) == 1.0
    assert map_neighbour_agreement(points, torch.tensor([0, 1, 0, 1])) == 0.0   # itself would make it 1
    assert map_neighbour_agreement(points, torch.tensor([0, 0, 0, 1])) == 0.5
    with pytest.raises(ValueError, match="at least 2"):
        map_neighbour_agreement(points[:1], torch.tensor([0]))
    with pytest.raises(ValueError):
        map_neighbour_agreement(points, torch.tensor([0, 1]))


def test_plot_embedding_maps_panels_colours_and_legend():
    x, y = blobs()
    fig = plots.plot_embedding_maps({"untrained": x[:, :2], "trained": x[:, 2:4]}, y, title="maps")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["untrained", "trained"]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["0", "1", "2"]
    assert fig.get_size_inches()[0] <= 10 and fig.axes[0].get_xticks().size == 0
    colours = fig.axes[0].collections[0].get_facecolors()
    assert len({tuple(c) for c in colours.round(3).tolist()}) == 3     # one colour per class


@pytest.mark.parametrize("maps, labels, fragment", [
    ({}, torch.zeros(3), "empty"), ({"a": torch.zeros(3, 2)}, torch.tensor([0, 1]), "shape (2, 2)"),
    ({"a": torch.zeros(2, 2)}, torch.tensor([0, 12]), "0..9")])
def test_plot_embedding_maps_errors(maps, labels, fragment):
    with pytest.raises(ValueError) as err:
        plots.plot_embedding_maps(maps, labels)
    assert fragment in str(err.value)


# --------------------------------------------------------------------------- fine-tuning
def bright_dark(n: int, seed: int):
    """Tiny images: class 1 has a bright square top-left, class 0 bottom-right; uint8 (n, 28, 28)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = (20 * torch.rand(n, 28, 28, generator=g)).to(torch.uint8)
    for i in range(n):
        r = slice(2, 12) if y[i] else slice(16, 26)
        x[i, r, r] = 250
    return x, y


def test_fine_tune_learns_a_separable_task_without_changing_the_encoder():
    torch.manual_seed(0)
    enc = Encoder((4, 4, 8), depth=1).eval()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    x, y = bright_dark(8, 0)
    xt, yt = bright_dark(40, 1)
    acc = fine_tune_accuracy(enc, x, y, xt, yt, steps=60, lr=0.05, encoder_lr_scale=0.1)
    assert acc >= 0.9
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())     # worked on a copy
    assert acc == fine_tune_accuracy(enc, x, y, xt, yt, steps=60, lr=0.05, encoder_lr_scale=0.1)   # seeded
    rng = torch.get_rng_state()
    fine_tune_accuracy(enc, x, y, xt, yt, steps=2, views=ViewParams(), seed=3)
    assert torch.equal(rng, torch.get_rng_state())                                   # global RNG untouched


def test_fine_tune_with_a_zero_encoder_rate_is_a_probe_and_differs_from_fine_tuning():
    torch.manual_seed(0)
    enc = Encoder((4, 4, 8), depth=1).eval()
    x, y = bright_dark(8, 0)
    g = torch.Generator().manual_seed(2)      # noise images and random labels: any change of a prediction shows
    xt, yt = torch.randint(0, 256, (300, 28, 28), generator=g).to(torch.uint8), torch.randint(0, 2, (300,), generator=g)
    frozen = fine_tune_accuracy(enc, x, y, xt, yt, steps=20, lr=0.05, encoder_lr_scale=0.0)
    tuned = fine_tune_accuracy(enc, x, y, xt, yt, steps=20, lr=0.05, encoder_lr_scale=1.0)
    assert 0.0 <= frozen <= 1.0 and 0.0 <= tuned <= 1.0 and frozen != tuned


@pytest.mark.parametrize("kw, fragment", [({"steps": 0}, "steps"), ({"lr": -1.0}, "lr must"),
                                          ({"encoder_lr_scale": 2.0}, "encoder_lr_scale"), ({"labels": "bad"}, "labels")])
def test_fine_tune_errors_say_the_fix(kw, fragment):
    enc = Encoder((4, 4, 8), depth=1)
    x, y = bright_dark(4, 0)
    args = {"images": x, "labels": kw.pop("labels", y), "test_images": x, "test_labels": y, **kw}
    if args["labels"] == "bad":
        args["labels"] = y.float()
    with pytest.raises(ValueError) as err:
        fine_tune_accuracy(enc, **args)
    assert fragment in str(err.value)


def test_few_label_fine_tune_uses_the_probe_draws():
    torch.manual_seed(0)
    enc = Encoder((4, 4, 8), depth=1).eval()
    x, y = bright_dark(30, 0)
    xt, yt = bright_dark(20, 1)
    out = few_label_fine_tune(enc, x, y, xt, yt, per_class=2, draws=3, seed=5, steps=3, lr=0.05)
    assert out["per_class"] == 2 and len(out["accs"]) == 3
    assert math.isclose(out["mean"], statistics.fmean(out["accs"])) and math.isclose(out["sd"], statistics.stdev(out["accs"]))
    for d, rows in enumerate(label_draws(y, yt, 2, 3, 5)):      # draw d: the probe's rows, fine-tuned with seed 5 + d
        assert out["accs"][d] == fine_tune_accuracy(enc, x[rows], y[rows], xt, yt, steps=3, lr=0.05, seed=5 + d)
    with pytest.raises(ValueError, match="pair up"):
        few_label_fine_tune(enc, x, y[:-1], xt, yt, per_class=1)


# --------------------------------------------------------------------------- 06.3 the map's neighbour agreement
def my_map_agreement(points, labels):
    d = torch.cdist(points, points)
    d.fill_diagonal_(float("inf"))
    return (labels[d.argmin(dim=1)] == labels).float().mean().item()


def test_map_agreement_checker():
    assert_verdict(check_06_map_agreement(None), "not attempted")
    assert_verdict(check_06_map_agreement(unfinished), "not attempted")
    assert_verdict(check_06_map_agreement(my_map_agreement), "correct", "not an accuracy")
    with_itself = lambda p, y: (y[torch.cdist(p, p).argmin(1)] == y).float().mean()   # noqa: E731
    assert_verdict(check_06_map_agreement(with_itself), "wrong", "its own nearest neighbour")
    farthest = lambda p, y: (y[torch.cdist(p, p).argmax(1)] == y).float().mean()   # noqa: E731
    assert_verdict(check_06_map_agreement(farthest), "wrong", "FARTHEST")
    count = lambda p, y: my_map_agreement(p, y) * len(y)   # noqa: E731
    assert_verdict(check_06_map_agreement(count), "wrong", "a count")
    assert_verdict(check_06_map_agreement(lambda p, y: "0.5"), "wrong", "not one number")
    assert_verdict(check_06_map_agreement(lambda p: 0.5), "wrong", "raised TypeError")
    points, labels = exercise_06_map()
    assert points.shape == (200, 2) and 0.3 < map_neighbour_agreement(points, labels) < 1.0   # overlap: not trivial


# --------------------------------------------------------------------------- 06.4 what a t-SNE map shows
def test_tsne_statements_checker():
    assert_verdict(check_06_tsne_statements(None), "not attempted")
    assert_verdict(check_06_tsne_statements("cd"), "correct")
    assert_verdict(check_06_tsne_statements(["d", "c"]), "correct")
    assert_verdict(check_06_tsne_statements("acd"), "wrong", "a is false", "distances between clusters")
    assert_verdict(check_06_tsne_statements("c"), "wrong", "1 true statement is missing")
    assert_verdict(check_06_tsne_statements("cde"), "wrong", "e is false", "not an accuracy")
    assert_verdict(check_06_tsne_statements("xyz"), "wrong", "among a-e")
    assert_verdict(check_06_tsne_statements(3), "wrong", "string of letters")
    assert sorted(k for k, (_, ok, _) in TSNE_STATEMENTS.items() if ok) == ["c", "d"]


# --------------------------------------------------------------------------- 06.5 the fine-tuning optimizer
def my_fine_tune_optimizer(encoder, head, lr):
    return torch.optim.Adam([{"params": encoder.parameters(), "lr": lr * ENCODER_LR_SCALE},
                             {"params": head.parameters(), "lr": lr}])


def test_param_groups_checker():
    assert_verdict(check_06_param_groups(None), "not attempted")
    assert_verdict(check_06_param_groups(unfinished), "not attempted")
    assert_verdict(check_06_param_groups(my_fine_tune_optimizer), "correct", "two parameter groups")
    one = lambda e, h, lr: torch.optim.Adam([*e.parameters(), *h.parameters()], lr=lr)   # noqa: E731
    assert_verdict(check_06_param_groups(one), "wrong", "one learning rate")
    swapped = lambda e, h, lr: my_fine_tune_optimizer(h, e, lr)   # noqa: E731
    assert_verdict(check_06_param_groups(swapped), "wrong", "swapped")
    probe = lambda e, h, lr: torch.optim.Adam(h.parameters(), lr=lr)   # noqa: E731
    assert_verdict(check_06_param_groups(probe), "wrong", "linear probe")
    no_head = lambda e, h, lr: torch.optim.Adam(e.parameters(), lr=lr * 0.1)   # noqa: E731
    assert_verdict(check_06_param_groups(no_head), "wrong", "never learn")
    twice = lambda e, h, lr: torch.optim.SGD([{"params": list(e.parameters())}, {"params": list(e.parameters())[:1]}], lr=lr)  # noqa: E731
    assert_verdict(check_06_param_groups(twice), "wrong")
    hundredth = lambda e, h, lr: my_fine_tune_optimizer(e, h, lr) if False else torch.optim.Adam(  # noqa: E731
        [{"params": e.parameters(), "lr": lr * 0.01}, {"params": h.parameters(), "lr": lr}])
    assert_verdict(check_06_param_groups(hundredth), "wrong", "expected")
    assert_verdict(check_06_param_groups(lambda e, h, lr: None), "wrong", "not an optimizer")


# --------------------------------------------------------------------------- 06.6 fine-tune minus probe, paired
def gain_answer(sign=1, crit=None, spread=statistics.stdev, se=True):
    d = [sign * (a - b) for a, b in zip(FINE_TUNE_DRAWS["fine-tune"], FINE_TUNE_DRAWS["probe"])]
    crit = float(scipy_t.ppf(0.975, len(d) - 1)) if crit is None else crit
    half = crit * spread(d) / (math.sqrt(len(d)) if se else 1)
    return statistics.fmean(d), (statistics.fmean(d) - half, statistics.fmean(d) + half)


def test_paired_gain_checker():
    assert_verdict(check_06_paired_gain(None, None), "not attempted")
    assert_verdict(check_06_paired_gain(0.03, ...), "not attempted", "ci_95")
    assert_verdict(check_06_paired_gain(*gain_answer()), "correct", "Unpaired")
    assert_verdict(check_06_paired_gain(*gain_answer(sign=-1)), "wrong", "sign")
    assert_verdict(check_06_paired_gain(*gain_answer(crit=1.96)), "wrong", "1.96")
    assert_verdict(check_06_paired_gain(*gain_answer(se=False)), "wrong", "standard error")
    assert_verdict(check_06_paired_gain(*gain_answer(spread=statistics.pstdev)), "wrong", "n - 1")
    a, b = FINE_TUNE_DRAWS["fine-tune"], FINE_TUNE_DRAWS["probe"]
    m = statistics.fmean(a) - statistics.fmean(b)
    half = scipy_t.ppf(0.975, 4) * math.sqrt(statistics.variance(a) / 5 + statistics.variance(b) / 5)
    assert_verdict(check_06_paired_gain(m, (m - half, m + half)), "wrong", "unpaired")
    assert m - half < 0 < gain_answer()[1][0]     # unpaired: not resolved; paired: resolved
    assert_verdict(check_06_paired_gain(0.03, 0.01), "wrong", "a pair")
    assert_verdict(check_06_paired_gain(0.5, (0.1, 0.9)), "wrong", "expected a different")
