"""Widget callbacks return the right numbers; the interactive UIs update when a slider moves."""
import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers import widgets


def test_vector_similarity_dot_and_cosine():
    _, v = widgets.vector_similarity(40, 40, 2.0)
    assert math.isclose(v["cosine"], 1.0, abs_tol=1e-12) and math.isclose(v["dot"], 2.0, abs_tol=1e-12)
    _, v = widgets.vector_similarity(10, 70, 1.7)
    assert math.isclose(v["dot"], 1.7 * math.cos(math.radians(60)), rel_tol=1e-9)
    assert math.isclose(v["cosine"], 0.5, rel_tol=1e-9)
    _, v = widgets.vector_similarity(0, 180, 0.5)
    assert math.isclose(v["cosine"], -1.0, abs_tol=1e-12)
    with pytest.raises(ValueError):
        widgets.vector_similarity(0, 0, 0.0)


def test_temperature_softmax_entropy_monotone_and_limits():
    temps = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    values = [widgets.temperature_softmax(t)[1] for t in temps]
    entropies = [v["entropy"] for v in values]
    assert all(a < b for a, b in zip(entropies, entropies[1:]))
    k = len(widgets.DEFAULT_SIMILARITIES)
    assert values[0]["p_positive"] > 0.99  # argmax-like: the positive has the largest similarity
    assert entropies[-1] > 0.99 * math.log(k)  # nearly uniform
    assert math.isclose(sum(values[2]["probabilities"]), 1.0, rel_tol=1e-9)
    fig, _ = widgets.temperature_softmax(0.5)
    assert len(fig.axes[0].patches) == k


def test_temperature_line_format():
    _, v = widgets.temperature_softmax(0.1)
    line = widgets.temperature_line(v)
    assert line.startswith("τ = 0.100 | entropy = ") and line.endswith(f"p(positive) = {v['p_positive']:.3f}")
    assert f"entropy = {v['entropy']:.3f} nats" in line


def test_infonce_gradient_matches_autograd():
    s = torch.tensor([0.7, 0.2, -0.1, 0.5], dtype=torch.float64, requires_grad=True)
    for t in (0.05, 0.5, 2.0):
        loss = F.cross_entropy((s / t)[None], torch.tensor([0]))
        (g,) = torch.autograd.grad(loss, s)
        assert torch.allclose(widgets.infonce_gradient(s.detach(), t), g)


def test_negative_shares_concentrate_at_small_temperature():
    s = widgets.WEIGHT_SIMILARITIES
    hardest = [widgets.negative_weights(t)[1]["hardest_share"] for t in (1.0, 0.3, 0.1, 0.05)]
    assert all(a < b for a, b in zip(hardest, hardest[1:]))
    assert hardest[-1] > 0.8 and hardest[0] < 0.3
    assert torch.isclose(widgets.negative_shares(s, 0.2).sum(), torch.tensor(1.0, dtype=torch.float64))


def test_descent_frames_align_pairs():
    d = widgets.descent_frames(n_pairs=3, temperature=0.5, steps=(0, 50, 150))
    assert d["steps"] == [0, 50, 150]
    assert d["loss"][-1] < d["loss"][0] and d["positive_cos"][-1] > d["positive_cos"][0]
    assert all(torch.allclose(z.norm(dim=1), torch.ones(6, dtype=z.dtype)) for z in d["positions"])
    fig, v = widgets.gradient_descent_demo(steps=(0, 20))
    assert len(fig.axes) == 2 and v["steps"] == [0, 20]


def test_temperature_explorer_updates_on_slider_change(capsys):
    ui = widgets.temperature_explorer(initial=1.0)
    slider = ui.children[0]
    assert slider.min == -2 and slider.max == 1 and type(slider).__name__ == "FloatLogSlider"
    high = ui.result["entropy"]
    slider.value = 0.02
    assert math.isclose(ui.result["temperature"], 0.02) and ui.result["entropy"] < high
    assert "entropy = " in capsys.readouterr().out


def test_vector_and_weight_explorers_update():
    ui = widgets.vector_explorer()
    ui.children[0].value = 90
    ui.children[1].value = 90
    assert math.isclose(ui.result["cosine"], 1.0, abs_tol=1e-9)
    ui.children[2].value = 2.0
    assert math.isclose(ui.result["dot"], 2.0, abs_tol=1e-9)
    ui = widgets.negative_weight_explorer(initial=1.0)
    before = ui.result["hardest_share"]
    ui.children[0].value = 0.05
    assert ui.result["hardest_share"] > before


@pytest.mark.parametrize("call, match", [
    (lambda: widgets.temperature_softmax(0.0), "temperature"),
    (lambda: widgets.negative_weights(-0.1), "temperature"),
    (lambda: widgets.infonce_gradient([0.5, 0.1], float("nan")), "temperature"),
    (lambda: widgets.infonce_gradient([0.5, 0.1], 0.5, positive=2), "positive"),
    (lambda: widgets.vector_similarity(0, 90, -1.0), "length"),
    (lambda: widgets.descent_frames(n_pairs=1), "n_pairs"),
])
def test_bad_slider_values_raise_value_errors_that_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_widgets_import_only_plots_and_math_modules():
    """The callbacks are plain functions over Math and plots: no training, data or configuration code.
    Every module of the widgets package imports, from the rest of clhelpers, only plots and Math modules."""
    import ast
    from pathlib import Path

    package = Path(widgets.__file__).parent
    used, own = set(), {p.stem for p in package.glob("*.py")}
    for path in package.glob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            if not isinstance(n, ast.ImportFrom) or n.level == 0:
                continue
            names = [n.module] if n.module else [a.name for a in n.names]
            if n.level == 1:   # the package's own modules
                assert set(names) <= own, (path.name, names)
            else:              # clhelpers' modules
                used |= {name.split(".")[0] for name in names}
    assert used <= {"plots", "similarity", "losses", "metrics", "checks", "playground", "validate"}, used
    assert "plots" in used
