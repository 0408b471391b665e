"""The sliders of notebooks 01 and 02 (vectors, temperature, each negative's push, gradient steps): the callbacks
behind the interactive figures, and the ipywidgets that drive them.

Every picture has a plain *callback* that takes slider values and returns ``(figure, values)``,
where ``values`` is a dict of the numbers shown; tests and static notebook cells call these
directly. The ``*_explorer()`` functions wrap a callback in ``ipywidgets.interactive``: they print
the callback's summary line, show its figure, and keep ``values`` in ``widget.result``.

Printed line of the temperature explorer (a browser test reads it; keep it stable)::

    t = 0.100 | entropy = 1.234 nats | p(positive) = 0.567
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .. import plots
from ..losses import nt_xent
from ..metrics import entropy_nats, negative_shares
from ..validate import check_positive, check_temperature
from ._ui import _STYLE, _log_slider, _show

if TYPE_CHECKING:
    from ipywidgets import interactive

#: One anchor's similarities: the positive first, then seven negatives from hard to easy.
DEFAULT_SIMILARITIES = (0.8, 0.6, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7)
DEFAULT_LABELS = ("pos",) + tuple(f"neg{i}" for i in range(1, 8))
#: Negatives spread over [-1, 1] for the gradient-weight picture.
WEIGHT_SIMILARITIES = tuple(round(-0.9 + 0.2 * i, 2) for i in range(10))
WEIGHT_TEMPERATURES = (0.05, 0.1, 0.3, 1.0)


# --------------------------------------------------------------------------- callbacks
def vector_similarity(angle1: float = 30.0, angle2: float = 75.0, length: float = 1.5) -> tuple[Figure, dict]:
    """Vector a at ``angle1`` degrees with the given ``length``, vector b at ``angle2`` with length 1.

    Returns ``(fig, values)`` with values ``dot = |a| |b| cos(angle)`` and ``cosine = cos(angle)``
    (the dot product of the normalized vectors, independent of ``length``).
    """
    length = check_positive(length, "length", hint="a's length, e.g. 1.5")
    r1, r2 = math.radians(angle1), math.radians(angle2)
    a = torch.tensor([length * math.cos(r1), length * math.sin(r1)], dtype=torch.float64)
    b = torch.tensor([math.cos(r2), math.sin(r2)], dtype=torch.float64)
    dot = float(a @ b)
    cosine = float(F.cosine_similarity(a, b, dim=0))
    fig = plots.unit_circle_vectors(torch.stack([a, b]), labels=[f"a (length {length:.2f})", "b (length 1)"],
                                    title=f"dot = {dot:.3f}, cosine = {cosine:.3f}")
    return fig, {"dot": dot, "cosine": cosine, "angle_between": (angle2 - angle1 + 180) % 360 - 180}


def vector_line(values: dict) -> str:
    """The printed line of the vector explorer, e.g. ``dot = 1.061 | cosine = 0.707``."""
    return f"dot = {values['dot']:.3f} | cosine = {values['cosine']:.3f}"


def temperature_softmax(temperature: float = 1.0, similarities: Sequence[float] = DEFAULT_SIMILARITIES,
                        labels: Sequence[str] = DEFAULT_LABELS) -> tuple[Figure, dict]:
    """Softmax of ``similarities / temperature`` (index 0 is the positive) as a bar chart.

    Returns ``(fig, values)`` with ``probabilities`` (list), ``entropy`` (nats; ``log(K)`` is
    uniform, 0 is one-hot), ``p_positive`` and ``temperature``.
    """
    p = torch.softmax(torch.as_tensor(similarities, dtype=torch.float64) / check_temperature(temperature), dim=0)
    h = entropy_nats(p)
    fig = plots.probability_bars(p, labels=labels, highlight=0,
                                 title=f"τ = {temperature:.3g}: entropy {h:.3f} of max {math.log(len(p)):.3f} nats")
    return fig, {"probabilities": p.tolist(), "entropy": h, "p_positive": float(p[0]), "temperature": float(temperature)}


def temperature_line(values: dict) -> str:
    """The printed line, e.g. ``t = 0.100 | entropy = 1.234 nats | p(positive) = 0.567``."""
    return f"τ = {values['temperature']:.3f} | entropy = {values['entropy']:.3f} nats | p(positive) = {values['p_positive']:.3f}"


def negative_weights(temperature: float = 0.1, similarities: Sequence[float] = WEIGHT_SIMILARITIES,
                     temperatures: Sequence[float] = WEIGHT_TEMPERATURES) -> tuple[Figure, dict]:
    """Share of the gradient push per negative vs its similarity, for ``temperatures`` plus the
    selected ``temperature`` (drawn thick). Values: ``shares`` at the selected temperature and
    ``hardest_share``, the share of the most similar negative."""
    curves = {float(t): negative_shares(similarities, t) for t in temperatures}
    curves[float(temperature)] = negative_shares(similarities, temperature)
    shares = curves[float(temperature)]
    fig = plots.negative_weight_curves(similarities, curves, highlight=float(temperature),
                                       title=f"Share of the push per negative (hardest gets {float(shares.max()):.1%} at τ = {temperature:.3g})")
    return fig, {"shares": shares.tolist(), "hardest_share": float(shares[int(torch.as_tensor(similarities).argmax())]),
                 "temperature": float(temperature)}


def weights_line(values: dict) -> str:
    """The printed line of the negative-weight explorer, e.g. ``t = 0.100 | hardest negative's share = 0.865``."""
    return f"τ = {values['temperature']:.3f} | hardest negative's share = {values['hardest_share']:.3f}"


def descent_frames(n_pairs: int = 3, temperature: float = 0.5, steps: Sequence[int] = (0, 10, 40, 150),
                   lr: float = 0.05, seed: int = 0) -> dict:
    """Projected gradient descent of ``nt_xent`` on free 2-D embeddings kept on the unit circle.

    Starts from random unit vectors (rows 0..N-1 are z1, N..2N-1 are z2), takes plain gradient
    steps and renormalizes. Records, at each step in ``steps``: ``positions`` (2N, 2),
    ``directions`` (minus the gradient, projected on the circle's tangent), ``loss`` and
    ``positive_cos`` (mean cosine of the pairs).
    """
    if n_pairs < 2 or not steps or min(steps) < 0:
        raise ValueError(f"n_pairs must be >= 2 and steps a non-empty list of non-negative ints (e.g. (0, 10, 40)), "
                         f"got n_pairs={n_pairs!r}, steps={steps!r}")
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(2 * n_pairs, 2, generator=g, dtype=torch.float64), dim=1)
    out = {"steps": [], "positions": [], "directions": [], "loss": [], "positive_cos": []}
    for step in range(max(steps) + 1):
        z.requires_grad_(True)
        loss = nt_xent(z[:n_pairs], z[n_pairs:], temperature)
        (grad,) = torch.autograd.grad(loss, z)
        z = z.detach()
        tangent = -grad + (grad * z).sum(1, keepdim=True) * z  # remove the radial part
        if step in steps:
            out["steps"].append(step)
            out["positions"].append(z.clone())
            out["directions"].append(tangent.clone())
            out["loss"].append(float(loss.detach()))
            out["positive_cos"].append(float((z[:n_pairs] * z[n_pairs:]).sum(1).mean()))
        z = F.normalize(z - lr * grad, dim=1)
    return out


def gradient_descent_demo(temperature: float = 0.5, n_pairs: int = 3, steps: Sequence[int] = (0, 10, 40, 150),
                          lr: float = 0.05, seed: int = 0) -> tuple[Figure, dict]:
    """``descent_frames`` drawn as small multiples; values are the recorded losses and cosines."""
    d = descent_frames(n_pairs, temperature, steps, lr, seed)
    titles = [f"step {s}: loss {l:.2f}" for s, l in zip(d["steps"], d["loss"])]
    fig = plots.gradient_frames(d["positions"], d["directions"], n_pairs, titles=titles,
                                title=f"NT-Xent, N = {n_pairs} pairs, t = {temperature:g}")
    return fig, {"loss": d["loss"], "positive_cos": d["positive_cos"], "steps": d["steps"]}


# --------------------------------------------------------------------------- interactive UIs
def vector_explorer() -> interactive:
    """Sliders for two angles (degrees) and a's length; prints ``dot = ... | cosine = ...``."""
    import ipywidgets as w

    def update(angle1: float, angle2: float, length: float) -> dict:
        fig, values = vector_similarity(angle1, angle2, length)
        _show(fig, vector_line(values))
        return values

    return w.interactive(
        update,
        angle1=w.IntSlider(value=30, min=0, max=360, step=5, description="angle a", continuous_update=False, style=_STYLE),
        angle2=w.IntSlider(value=75, min=0, max=360, step=5, description="angle b", continuous_update=False, style=_STYLE),
        length=w.FloatSlider(value=1.5, min=0.2, max=2.5, step=0.1, description="length of a", continuous_update=False, style=_STYLE),
    )


def temperature_explorer(initial: float = 1.0) -> interactive:
    """A log-scale temperature slider (0.01 to 10) over ``temperature_softmax``.

    Prints ``temperature_line`` (``t = 0.100 | entropy = 1.234 nats | p(positive) = 0.567``) and
    shows the bar chart; ``widget.result`` holds the values dict.
    """
    import ipywidgets as w

    def update(temperature: float) -> dict:
        fig, values = temperature_softmax(temperature)
        _show(fig, temperature_line(values))
        return values

    return w.interactive(update, temperature=_log_slider(initial))


def negative_weight_explorer(initial: float = 0.1) -> interactive:
    """A log-scale temperature slider over ``negative_weights``; prints ``weights_line``."""
    import ipywidgets as w

    def update(temperature: float) -> dict:
        fig, values = negative_weights(temperature)
        _show(fig, weights_line(values))
        return values

    return w.interactive(update, temperature=_log_slider(initial))
