"""The notebooks' interactive figures: plain callbacks ``(slider values) -> (figure, values)`` that tests and
static cells call, and ``*_explorer()`` functions that wrap them in ipywidgets.

* ``sliders``: notebooks 01 and 02 (two vectors, the temperature's softmax, each negative's push, gradient steps).
* ``playground``: notebook 02's live 2-D playground (``playground_demo``, ``playground_explorer``).
* ``_ui``: what every widget shares (``_show``, ``_STYLE``, the log-scale slider).

The maths the sliders show (``entropy_nats``, ``infonce_gradient``, ``negative_shares``) lives in
``clhelpers.metrics``; it is re-exported here so that ``widgets.infonce_gradient`` reads as in notebook 01.
Use ``from clhelpers import widgets``, then ``widgets.temperature_explorer()``.
"""
from ..metrics import entropy_nats, infonce_gradient, negative_shares
from .playground import STEP_SIZE, playground_demo, playground_explorer, playground_line, playground_view
from .sliders import (DEFAULT_LABELS, DEFAULT_SIMILARITIES, WEIGHT_SIMILARITIES, WEIGHT_TEMPERATURES, descent_frames,
                      gradient_descent_demo, negative_weight_explorer, negative_weights, temperature_explorer,
                      temperature_line, temperature_softmax, vector_explorer, vector_line, vector_similarity,
                      weights_line)

__all__ = [
    "entropy_nats", "infonce_gradient", "negative_shares",
    "STEP_SIZE", "playground_demo", "playground_explorer", "playground_line", "playground_view",
    "DEFAULT_LABELS", "DEFAULT_SIMILARITIES", "WEIGHT_SIMILARITIES", "WEIGHT_TEMPERATURES", "descent_frames",
    "gradient_descent_demo", "negative_weight_explorer", "negative_weights", "temperature_explorer",
    "temperature_line", "temperature_softmax", "vector_explorer", "vector_line", "vector_similarity", "weights_line",
]
