"""The 2-D playground: collapse without negatives, spread with them, the temperature's dilemma, and its widget."""
import math

import pytest
import torch

from clhelpers import playground as pg
from clhelpers import widgets as wp

STEPS = 150  # enough for every effect below at the default learning rate; about 0.3 s per run


@pytest.fixture(scope="module")
def start():
    return pg.init_points(16, 3, noise=0.15, seed=0)


@pytest.fixture(scope="module")
def runs(start):
    """The same start after 300 steps without negatives, and 150 steps of NT-Xent at a small and a large t."""
    return {
        "off": pg.step(start, 0.2, negatives=False, n_steps=2 * STEPS),
        "small": pg.step(start, 0.05, negatives=True, n_steps=STEPS),
        "large": pg.step(start, 5.0, negatives=True, n_steps=STEPS),
    }


def test_init_points_classes_on_arcs_and_seeded(start):
    assert start.features.shape == (16, 2) and start.steps == 0
    assert torch.allclose(start.features.norm(dim=1), torch.ones(16, dtype=torch.float64))
    assert start.labels.tolist() == [i % 3 for i in range(16)]
    m = pg.measures(start)
    assert m["same_class_cos"] > 0.9 and m["other_class_cos"] < -0.3  # classes start as tight, separate arcs
    again = pg.init_points(16, 3, noise=0.15, seed=0)
    assert torch.equal(again.features, start.features) and torch.equal(again.bias, start.bias)
    assert not torch.equal(pg.init_points(16, 3, noise=0.15, seed=1).features, start.features)


def test_step_is_deterministic_pure_and_splits(start):
    a = pg.step(start, 0.2, n_steps=20)
    b = pg.step(pg.step(start, 0.2, n_steps=7), 0.2, n_steps=13)
    assert a.steps == 20 and torch.allclose(a.features, b.features) and torch.allclose(a.head, b.head)
    assert start.steps == 0 and torch.equal(start.head, torch.eye(2, dtype=torch.float64))  # not modified
    z1, z2 = pg.views(a)
    assert torch.equal(z1, pg.views(b)[0]) and not torch.equal(z1, z2)


def test_negatives_off_collapses_to_one_spot(start, runs):
    m = pg.measures(runs["off"], negatives=False)
    assert m["std"] < 0.02 and m["arc"] < 5.0, m  # every sample within a few degrees
    assert m["uniformity"] > -0.01                  # log(1) = 0 is everything at one point
    assert pg.measures(start)["std"] > 0.7          # it did not start there


def test_negatives_on_spreads_and_aligns(start, runs):
    before, after = pg.measures(start), pg.measures(runs["small"], 0.05)
    assert after["uniformity"] < before["uniformity"] - 0.3, (before, after)
    assert after["arc"] > 300 and after["std"] > 0.7
    assert after["alignment"] < 0.05  # the two views of a sample still agree
    off = pg.measures(runs["off"], negatives=False)
    assert after["uniformity"] < off["uniformity"] - 1.5


def test_small_temperature_pushes_same_class_neighbours_apart(runs):
    small, large = pg.measures(runs["small"], 0.05), pg.measures(runs["large"], 5.0)
    assert small["same_class_cos"] < large["same_class_cos"] - 0.2, (small, large)  # tolerance lost at small t
    assert small["uniformity"] < large["uniformity"] - 0.2                          # but more uniform
    assert large["same_class_cos"] > 0.85


def test_demo_values_follow_the_toggle_and_the_temperature():
    _, on = wp.playground_demo(temperature=0.05, steps=STEPS)
    _, off = wp.playground_demo(temperature=0.05, negatives=False, steps=2 * STEPS)
    _, warm = wp.playground_demo(temperature=5.0, steps=STEPS)
    assert on["negatives"] and not off["negatives"]
    assert off["std"] < 0.02 < 0.7 < on["std"]
    assert warm["same_class_cos"] > on["same_class_cos"] + 0.2
    line = wp.playground_line(on)
    assert line.startswith("τ = 0.050 | negatives on | step 150 | alignment = ")
    assert f"same-class cos = {on['same_class_cos']:.3f}" in line
    assert "negatives off" in wp.playground_line(off)


def test_figure_is_small_and_labelled():
    from matplotlib.text import Text

    fig, values = wp.playground_demo(steps=10)
    fig.canvas.draw()
    w, h = fig.get_size_inches()
    assert fig.dpi >= 100 and w <= 10 and h <= 4
    assert [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 8] == []
    assert "step 10" in fig.axes[0].get_title() and values["steps"] == 10
    assert len(fig.axes[0].get_legend().get_texts()) == 3  # one entry per hidden class
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_explorer_toggle_slider_and_buttons(capsys):
    ui = wp.playground_explorer(initial_temperature=0.05, initial_pairs=16, initial_steps=STEPS)
    controls = {getattr(c, "description", ""): c for c in ui.children}
    buttons = {b.description: b for c in ui.children if hasattr(c, "children") for b in c.children}
    assert ui.result["negatives"] and ui.result["std"] > 0.7
    cold = ui.result["same_class_cos"]
    controls["temperature τ"].value = 5.0
    assert math.isclose(ui.result["temperature"], 5.0) and ui.result["same_class_cos"] > cold + 0.2
    controls["negatives off"].value = True
    controls["steps taken"].value = 2 * STEPS
    assert not ui.result["negatives"] and ui.result["std"] < 0.02
    buttons[f"step +{wp.STEP_SIZE}"].click()
    assert ui.result["steps"] == 2 * STEPS + wp.STEP_SIZE
    buttons["reset"].click()
    assert ui.result["steps"] == 0 and ui.result["std"] > 0.7
    assert "negatives off | step 0 |" in capsys.readouterr().out


@pytest.mark.parametrize("call, match", [
    (lambda: pg.init_points(1), "n_pairs"),
    (lambda: pg.init_points(4, n_classes=5), "n_classes"),
    (lambda: pg.init_points(8, noise=-0.1), "noise"),
    (lambda: pg.init_points(8, seed=-1), "seed"),
    (lambda: pg.step(pg.init_points(4), 0.0), "temperature"),
    (lambda: pg.step(pg.init_points(4), 0.2, lr=0), "lr"),
    (lambda: pg.step(pg.init_points(4), 0.2, n_steps=-3), "n_steps"),
    (lambda: pg.step(pg.init_points(4), 0.2, negatives="no"), "negatives"),
    (lambda: wp.playground_demo(n_pairs=2.5), "n_pairs"),
])
def test_bad_inputs_raise_value_errors_that_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
