"""The live 2-D playground of notebook 02: the picture of a ``clhelpers.playground`` state and its widget.

As in ``clhelpers.widgets.sliders``, the callback ``playground_demo`` takes the control values and returns
``(figure, values)``; ``playground_explorer()`` wraps it in ``ipywidgets.interactive`` with a temperature
slider, a slider for the number of pairs, a "negatives off" toggle, and "step" and "reset" buttons. The state
after ``steps`` steps is a deterministic function of the controls, so the widget and a static cell that calls
``playground_demo`` with the same values draw the same picture.

Printed line (a browser test reads it; keep it stable)::

    τ = 0.050 | negatives on | step 150 | alignment = 0.027 | uniformity = -1.864 | same-class cos = 0.611 | std = 0.730
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from .. import playground as pg
from .. import plots
from ._ui import _STYLE, _show

if TYPE_CHECKING:
    from ipywidgets import interactive

STEP_SIZE = 25  # steps per click of the step button


def playground_view(state: pg.Playground, temperature: float = 0.2, negatives: bool = True) -> tuple[Figure, dict]:
    """Draw ``state``: the samples' embeddings coloured by hidden class (large dots) and the two views of the
    next step (small circles and squares). Values: ``playground.measures`` plus the controls."""
    values = pg.measures(state, temperature, negatives)
    values.update(temperature=float(temperature), negatives=bool(negatives), n_pairs=state.n_pairs)
    caption = (f"uniformity {values['uniformity']:.2f}\nalignment {values['alignment']:.3f}\n"
               f"same-class cos {values['same_class_cos']:.2f}")
    mode = "NT-Xent" if negatives else "pull term only (negatives off)"
    fig = plots.playground_points(pg.embed(state), pg.views(state), state.labels, caption,
                                  f"{mode}, τ = {temperature:.3g}\n{state.n_pairs} pairs, step {state.steps}")
    return fig, values


def playground_demo(temperature: float = 0.2, n_pairs: int = 16, negatives: bool = True, steps: int = 150,
                    n_classes: int = 3, noise: float = 0.15, seed: int = 0) -> tuple[Figure, dict]:
    """``playground.run`` with these values, drawn by ``playground_view``."""
    state = pg.run(n_pairs, temperature, negatives, steps, n_classes=n_classes, noise=noise, seed=seed)
    return playground_view(state, temperature, negatives)


def playground_line(values: dict) -> str:
    """The printed line, e.g. ``τ = 0.050 | negatives on | step 150 | alignment = 0.027 | ...``."""
    return (f"τ = {values['temperature']:.3f} | negatives {'on' if values['negatives'] else 'off'} | "
            f"step {values['steps']} | alignment = {values['alignment']:.3f} | uniformity = {values['uniformity']:.3f} | "
            f"same-class cos = {values['same_class_cos']:.3f} | std = {values['std']:.3f}")


class _Runner:
    """Keeps the last state, so that the step button continues from it instead of starting over."""

    def __init__(self, seed: int = 0) -> None:
        self.seed, self.key, self.state = seed, None, None

    def state_at(self, temperature: float, n_pairs: int, negatives: bool, steps: int) -> pg.Playground:
        """The state after ``steps`` steps: continued from the last one when only ``steps`` grew, else from step 0."""
        key = (float(temperature), int(n_pairs), bool(negatives))
        if key != self.key or self.state is None or self.state.steps > steps:
            self.key, self.state = key, pg.init_points(n_pairs, seed=self.seed)
        self.state = pg.step(self.state, temperature, negatives, n_steps=steps - self.state.steps)
        return self.state


def playground_explorer(initial_temperature: float = 0.2, initial_pairs: int = 16, initial_steps: int = 100,
                        seed: int = 0) -> interactive:
    """The live playground: a log-scale temperature slider (0.05 to 5), the number of pairs (4 to 48), a
    "negatives off" toggle, a "step" button (``STEP_SIZE`` more steps) and "reset" (back to step 0).

    Prints ``playground_line`` and shows ``playground_view``; ``widget.result`` holds the values. The number
    of steps taken is the disabled "steps taken" box (the buttons set it).
    """
    import ipywidgets as w

    runner = _Runner(seed)

    def update(temperature: float, n_pairs: int, negatives_off: bool, steps: int) -> dict:
        state = runner.state_at(temperature, n_pairs, not negatives_off, steps)
        fig, values = playground_view(state, temperature, not negatives_off)
        _show(fig, playground_line(values))
        return values

    steps = w.IntText(value=initial_steps, description="steps taken", disabled=True, style=_STYLE)
    ui = w.interactive(
        update,
        temperature=w.FloatLogSlider(value=initial_temperature, base=10, min=-1.3, max=0.7, step=0.05,
                                     description="temperature τ", readout_format=".3f", continuous_update=False,
                                     style=_STYLE),
        n_pairs=w.IntSlider(value=initial_pairs, min=4, max=48, step=4, description="pairs", continuous_update=False,
                            style=_STYLE),
        negatives_off=w.ToggleButton(value=False, description="negatives off", tooltip="keep only the pull term"),
        steps=steps,
    )
    step_button = w.Button(description=f"step +{STEP_SIZE}")
    reset_button = w.Button(description="reset")
    step_button.on_click(lambda _: setattr(steps, "value", steps.value + STEP_SIZE))
    reset_button.on_click(lambda _: setattr(steps, "value", 0))
    ui.children = (*ui.children[:-1], w.HBox([step_button, reset_button]), ui.children[-1])
    return ui
